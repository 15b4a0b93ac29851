//! Rebuilding the figures from the start of the stream, while the live projection goes on.
//!
//! The events are replayed with an ordered consumer into fresh tables in a schema of their own
//! (`<schema>_rebuild`, unlogged while filling), in large batches through the same
//! [`apply_facts`] as the live consumer uses. Once the replay has caught up, one transaction
//! locks the live tables (the live consumer waits), replays the last few events, and moves the
//! fresh tables into the service's schema in place of the old ones. The fresh `applied_events` holds every replayed event id, so whatever
//! the live consumer had in hand is recognised as applied and not counted twice; anything newer
//! is applied by it afterwards as usual.
//!
//! A rebuild that must happen (the upgrade to counters, or one asked for) is recorded in
//! `rebuild_required` first; only a swap clears it, so a restart or a failed attempt leaves it
//! standing and the service resumes it at its next start. A session-level advisory lock per
//! schema lets one rebuild run at a time across replicas; a replica that waited for it finds the
//! request satisfied by the other's swap and has nothing left to do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream::{self, consumer::pull};
use borgerraad_messaging::HandlerError;
use borgerraad_messaging::consumer::{decode, record_applied};
use borgerraad_proto::v1::Event;
use futures::StreamExt as _;
use sqlx::{Connection as _, PgConnection, PgPool};
use uuid::Uuid;

use crate::projection::{apply_facts, fact_from};

/// The tables a rebuild replaces.
const TABLES: [&str; 3] = ["applied_events", "inquiry_facts", "counters"];
/// Events per transaction while replaying.
const BATCH: usize = 10_000;
/// Swap once no more than this many events are left, so the live tables are locked briefly.
const SWAP_WHEN_BEHIND: u64 = 2000;
/// How long to wait for the next replayed message before giving up.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Progress of a rebuild, readable while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub events: AtomicU64,
    pub last_sequence: AtomicU64,
}

/// What a finished rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub events: u64,
    pub last_sequence: u64,
}

/// Applies `events` to the tables on the connection's `search_path`, skipping any whose id is
/// already recorded there, and records the new ids; events that can never be applied are
/// recorded but skipped, as the live consumer's dead letters are. Returns how many were new.
pub async fn apply_events(
    connection: &mut PgConnection,
    events: &[(Uuid, Event)],
) -> anyhow::Result<usize> {
    let mut fresh = record_applied(&mut *connection, events)
        .await
        .context("cannot record applied events")?;
    let applied = fresh.len();
    let mut facts = Vec::with_capacity(events.len());
    for (id, event) in events {
        if fresh.remove(id) {
            match fact_from(event) {
                Ok(Some(fact)) => facts.push(fact),
                Ok(None) | Err(HandlerError::Poison(_)) => {}
                Err(HandlerError::Retry(error)) => return Err(error),
            }
        }
    }
    apply_facts(connection, &facts)
        .await
        .map_err(|error| match error {
            HandlerError::Retry(error) => error,
            HandlerError::Poison(reason) => anyhow::anyhow!(reason),
        })?;
    Ok(applied)
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn execute(connection: &mut PgConnection, sql: String) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(connection)
        .await
        .with_context(|| format!("cannot run {sql}"))?;
    Ok(())
}

/// The advisory lock a rebuild of `schema` holds: one rebuild per schema at a time, whichever
/// replica runs it (FNV-1a of a fixed name, the same in every process).
pub fn lock_key(schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "borgerraad.reporting.rebuild/"
        .bytes()
        .chain(schema.bytes())
    {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Replays the whole stream into fresh tables and swaps them in; see the module comment.
pub async fn rebuild(
    pool: &PgPool,
    jetstream: &jetstream::Context,
    progress: Arc<Progress>,
) -> anyhow::Result<Rebuilt> {
    run(pool, jetstream, progress, false)
        .await?
        .context("the rebuild ended without a swap")
}

/// Records that the figures must be rebuilt, for `reason` (ids and categories only). Each call
/// counts as a request of its own: a rebuild that was running already does not clear it.
pub async fn request(pool: &PgPool, reason: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO rebuild_required (requested, reason) VALUES (1, $1) \
         ON CONFLICT (singleton) DO UPDATE SET requested = rebuild_required.requested + 1, \
         reason = EXCLUDED.reason, requested_at = now()",
    )
    .bind(reason)
    .execute(pool)
    .await
    .context("cannot record that the figures need a rebuild")?;
    Ok(())
}

/// Whether a rebuild is required and not yet swapped in.
pub async fn required(pool: &PgPool) -> anyhow::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM rebuild_required)")
        .fetch_one(pool)
        .await
        .context("cannot read whether the figures need a rebuild")
}

/// The rebuild itself; with `only_if_required`, once it holds the lock it does nothing (`None`)
/// when no rebuild is required any more (another replica's swap satisfied the request).
async fn run(
    pool: &PgPool,
    jetstream: &jetstream::Context,
    progress: Arc<Progress>,
    only_if_required: bool,
) -> anyhow::Result<Option<Rebuilt>> {
    let live: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await
        .context("cannot read the schema")?;
    let fresh = format!("{live}_rebuild");
    let replaced = format!("{live}_replaced");
    // A connection of its own, closed afterwards: its statements were prepared on other tables.
    // It holds the advisory lock for the whole rebuild; the lock goes with the session, so a
    // crashed or stopped rebuild releases it too.
    let mut connection = PgConnection::connect_with(&pool.connect_options())
        .await
        .context("cannot connect for the rebuild")?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(lock_key(&live))
        .execute(&mut connection)
        .await
        .context("cannot take the rebuild lock")?;
    // The request this rebuild answers; one made after this is left standing by the swap.
    let answering: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT requested FROM {}.rebuild_required",
        quote(&live)
    )))
    .fetch_optional(&mut connection)
    .await
    .context("cannot read whether the figures need a rebuild")?;
    if only_if_required && answering.is_none() {
        connection.close().await.ok();
        tracing::info!("no rebuild required any more: another one was swapped in");
        return Ok(None);
    }
    {
        execute(
            &mut connection,
            format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(&fresh)),
        )
        .await?;
        execute(&mut connection, format!("CREATE SCHEMA {}", quote(&fresh))).await?;
        for table in TABLES {
            execute(
                &mut connection,
                format!(
                    // Unlogged while filling: no WAL per batch; made logged before the swap.
                    "CREATE UNLOGGED TABLE {}.{table} (LIKE {}.{table} INCLUDING ALL)",
                    quote(&fresh),
                    quote(&live)
                ),
            )
            .await?;
        }
    }

    let stream = borgerraad_messaging::stream::ensure_stream(jetstream).await?;
    let mut messages = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: "borgerraad.>".into(),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .context("cannot create the replay consumer")?
        .messages()
        .await
        .context("cannot replay the stream")?;
    let last_in_stream = || async {
        anyhow::Ok(
            stream
                .get_info()
                .await
                .context("cannot read the stream's state")?
                .state
                .last_sequence,
        )
    };

    let mut replayed = 0u64;
    let mut position = 0u64;
    let mut batch: Vec<(Uuid, Event)> = Vec::with_capacity(BATCH);
    // Reads messages up to stream sequence `target` and applies them, a batch at a time, to the
    // fresh tables within the transaction given.
    macro_rules! replay_to {
        ($target:expr, $connection:expr) => {{
            let target: u64 = $target;
            while position < target {
                let message = tokio::time::timeout(MESSAGE_TIMEOUT, messages.next())
                    .await
                    .context("the replay stalled")?
                    .context("the replay ended early")?
                    .context("cannot read the stream")?;
                let sequence = message
                    .info()
                    .map(|i| i.stream_sequence)
                    .unwrap_or(position + 1);
                position = sequence;
                // As the live consumer: only events from the owner of their subject count.
                if let Ok((id, event)) = decode(&message.subject, &message.payload) {
                    batch.push((id, event));
                }
                if batch.len() >= BATCH || position >= target {
                    let connection: &mut PgConnection = $connection;
                    execute(
                        connection,
                        format!("SET LOCAL search_path = {}", quote(&fresh)),
                    )
                    .await?;
                    replayed += apply_events(connection, &batch).await? as u64;
                    batch.clear();
                    progress.events.store(replayed, Ordering::Relaxed);
                    progress.last_sequence.store(position, Ordering::Relaxed);
                }
            }
        }};
    }

    // Catch up while the live projection goes on, until only a few events are left; then make
    // the tables crash-safe (one pass each) and catch up again.
    let mut logged = false;
    loop {
        let target = last_in_stream().await?;
        if target <= position + SWAP_WHEN_BEHIND {
            if logged {
                break;
            }
            for table in TABLES {
                execute(
                    &mut connection,
                    format!("ALTER TABLE {}.{table} SET LOGGED", quote(&fresh)),
                )
                .await?;
            }
            logged = true;
            continue;
        }
        let mut transaction_target = position;
        while transaction_target < target {
            transaction_target = (position + BATCH as u64 * 8).min(target);
            let mut transaction = connection.begin().await?;
            replay_to!(transaction_target, &mut *transaction);
            transaction.commit().await?;
        }
    }

    // The swap: the live tables are locked, the rest replayed, the tables exchanged.
    let mut transaction = connection.begin().await?;
    let locked: Vec<String> = TABLES
        .iter()
        .map(|table| format!("{}.{table}", quote(&live)))
        .collect();
    execute(
        &mut transaction,
        format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", locked.join(", ")),
    )
    .await?;
    let target = last_in_stream().await?;
    replay_to!(target, &mut *transaction);
    if !batch.is_empty() {
        bail!("replayed events left unapplied");
    }
    execute(
        &mut transaction,
        format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(&replaced)),
    )
    .await?;
    execute(
        &mut transaction,
        format!("CREATE SCHEMA {}", quote(&replaced)),
    )
    .await?;
    for table in TABLES {
        execute(
            &mut transaction,
            format!(
                "ALTER TABLE {}.{table} SET SCHEMA {}",
                quote(&live),
                quote(&replaced)
            ),
        )
        .await?;
        execute(
            &mut transaction,
            format!(
                "ALTER TABLE {}.{table} SET SCHEMA {}",
                quote(&fresh),
                quote(&live)
            ),
        )
        .await?;
    }
    execute(
        &mut transaction,
        format!("DROP SCHEMA {} CASCADE", quote(&replaced)),
    )
    .await?;
    execute(
        &mut transaction,
        format!("DROP SCHEMA {} CASCADE", quote(&fresh)),
    )
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {}.rebuild_required WHERE requested <= $1",
        quote(&live)
    )))
    .bind(answering.unwrap_or(0))
    .execute(&mut *transaction)
    .await
    .context("cannot clear the rebuild request")?;
    transaction
        .commit()
        .await
        .context("cannot swap the rebuilt tables in")?;
    connection.close().await.ok();
    tracing::info!(
        events = replayed,
        last_sequence = position,
        "figures rebuilt from the stream"
    );
    Ok(Some(Rebuilt {
        events: replayed,
        last_sequence: position,
    }))
}

/// Records a rebuild as required when events were applied but no state is kept (the tables
/// were emptied); a request standing already is left as it is.
pub async fn require_if_figures_missing(pool: &PgPool) -> anyhow::Result<bool> {
    let recorded = sqlx::query(
        "INSERT INTO rebuild_required (requested, reason) \
         SELECT 1, 'events applied but no figures kept' \
         WHERE EXISTS (SELECT 1 FROM applied_events) AND NOT EXISTS (SELECT 1 FROM inquiry_facts) \
         ON CONFLICT (singleton) DO NOTHING",
    )
    .execute(pool)
    .await
    .context("cannot check whether the figures need a rebuild")?;
    Ok(recorded.rows_affected() > 0)
}

/// Where the latest rebuild of this process stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildState {
    Idle,
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone)]
pub struct RebuildStatus {
    pub state: RebuildState,
    pub events: u64,
    pub last_sequence: u64,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

struct Record {
    state: RebuildState,
    progress: Arc<Progress>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Runs at most one rebuild at a time in the background, until it ends or the service stops.
#[derive(Clone)]
pub struct Rebuilder {
    pool: PgPool,
    jetstream: jetstream::Context,
    clock: borgerraad_platform::clock::SharedClock,
    shutdown: tokio_util::sync::CancellationToken,
    record: Arc<std::sync::Mutex<Record>>,
}

impl Rebuilder {
    pub fn new(
        pool: PgPool,
        jetstream: jetstream::Context,
        clock: borgerraad_platform::clock::SharedClock,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self {
            pool,
            jetstream,
            clock,
            shutdown,
            record: Arc::new(std::sync::Mutex::new(Record {
                state: RebuildState::Idle,
                progress: Arc::default(),
                started_at: None,
                finished_at: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn status(&self) -> RebuildStatus {
        let record = self.lock();
        RebuildStatus {
            state: record.state,
            events: record.progress.events.load(Ordering::Relaxed),
            last_sequence: record.progress.last_sequence.load(Ordering::Relaxed),
            started_at: record.started_at,
            finished_at: record.finished_at,
        }
    }

    fn running(&self) -> bool {
        self.lock().state == RebuildState::Running
    }

    /// Asks for a rebuild: records it as required (so a restart resumes it), then starts it;
    /// `None` when one is running in this process already.
    pub async fn request(&self) -> anyhow::Result<Option<RebuildStatus>> {
        if self.running() {
            return Ok(None);
        }
        request(&self.pool, "asked for").await?;
        Ok(self.resume())
    }

    /// Runs the rebuild that is required, once this process holds the rebuild lock, unless
    /// another replica's swap has satisfied it by then; `None` when one is running already.
    pub fn resume(&self) -> Option<RebuildStatus> {
        let progress = {
            let mut record = self.lock();
            if record.state == RebuildState::Running {
                return None;
            }
            record.state = RebuildState::Running;
            record.progress = Arc::default();
            record.started_at = Some(self.clock.now());
            record.finished_at = None;
            record.progress.clone()
        };
        let this = self.clone();
        tokio::spawn(async move {
            let outcome = tokio::select! {
                outcome = run(&this.pool, &this.jetstream, progress, true) => outcome,
                () = this.shutdown.cancelled() => Err(anyhow::anyhow!("the service stopped")),
            };
            let state = match outcome {
                Ok(_) => RebuildState::Succeeded,
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "rebuild failed; it stays required and resumes at the next start"
                    );
                    RebuildState::Failed
                }
            };
            let mut record = this.lock();
            record.state = state;
            record.finished_at = Some(this.clock.now());
        });
        Some(self.status())
    }
}
