//! Erasure of personal data: one code path for the retention job and for `ErasePersonData`.
//!
//! [`erase_inquiry`] erases one inquiry in the caller's transaction (personal data gone, its
//! journal entry, the ledger row and `inquiry.personal_data_erased` in the outbox), so it is all
//! or nothing, and doing it again is harmless. [`run_retention`] is the periodic job: each batch
//! is one transaction that claims due inquiries with `FOR UPDATE SKIP LOCKED`, so replicas share
//! the work and a crash mid-batch leaves the batch to the next round. Each round also repeats the
//! erasures of the ledger (`erasures`) that data restored from an older backup no longer shows
//! ([`replay_ledger_batch`]). What goes and what stays is listed in the README ("Data
//! lifecycle", "Backups").

use std::time::Duration;

use borgerraad_messaging::Outbox;
use borgerraad_platform::clock::SharedClock;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db;
use crate::domain::InquiryStatus;
use crate::domain::retention::{self, ErasureReason, RetentionFacts, RetentionPeriod};

/// The journal's actor of erasures by the retention rule.
pub const RETENTION_ACTOR: &str = "intake-retention";

/// Inquiries per batch: small enough to hold locks briefly, big enough to be quick.
pub const BATCH_SIZE: i64 = 200;

/// One inquiry erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub inquiry_id: Uuid,
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("no inquiry has that id")]
    NotFound,
    #[error("inquiry {reference} is still open")]
    Open { reference: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for EraseError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

/// Erases the personal data of `inquiry_id` in the caller's transaction; an open inquiry is
/// refused (checked under the row lock, so no step can reopen it meanwhile).
pub async fn erase_inquiry(
    connection: &mut PgConnection,
    outbox: &Outbox,
    inquiry_id: Uuid,
    reason: ErasureReason,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Erased, EraseError> {
    let target = db::lock_for_erasure(connection, inquiry_id)
        .await?
        .ok_or(EraseError::NotFound)?;
    let status = status_of(&target)?;
    if retention::is_open(status) {
        return Err(EraseError::Open {
            reference: target.reference,
        });
    }
    erase_locked(connection, outbox, target, status, reason, actor, at).await
}

fn status_of(target: &db::ErasureTarget) -> Result<InquiryStatus, EraseError> {
    InquiryStatus::from_code(&target.status).ok_or_else(|| {
        EraseError::Unexpected(anyhow::anyhow!(
            "unknown status {:?} in the case record",
            target.status
        ))
    })
}

/// The erasure itself, on a row the caller has locked.
async fn erase_locked(
    connection: &mut PgConnection,
    outbox: &Outbox,
    target: db::ErasureTarget,
    status: InquiryStatus,
    reason: ErasureReason,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Erased, EraseError> {
    let version = target.version + 1;
    db::erase_personal_data(
        connection,
        target.inquiry_id,
        version,
        status.as_str(),
        &retention::erased_form(&target.form.0),
        actor,
        at,
        reason.as_str(),
    )
    .await?;
    let event = crate::events::personal_data_erased(
        target.inquiry_id,
        &target.department,
        version,
        at,
        reason,
    );
    outbox.enqueue(connection, &event).await?;
    Ok(Erased {
        inquiry_id: target.inquiry_id,
        reference: target.reference,
    })
}

/// The journal's actor of erasures repeated from the ledger after a restore.
pub const REPLAY_ACTOR: &str = "intake-ledger-replay";

/// Erases again, in one transaction, up to `batch_size` inquiries whose latest ledger entry is
/// newer than their data's last erasure: data restored from a backup taken before the erasure
/// (or before a later one), with the ledger kept across the restore (README, "Backups").
///
/// The status is not checked: a backup may hold an inquiry as open that was closed and erased
/// later, and the person's data must go all the same. The repeated erasure is dated no earlier
/// than the entry it repeats, so a clock behind the ledger's cannot make it due again.
pub async fn replay_ledger_batch(
    pool: &PgPool,
    outbox: &Outbox,
    now: DateTime<Utc>,
    batch_size: i64,
) -> Result<Batch, EraseError> {
    let mut transaction = pool.begin().await?;
    let candidates = db::claim_unerased_in_ledger(&mut transaction, batch_size).await?;
    let mut batch = Batch {
        claimed: candidates.len(),
        erased: 0,
    };
    for candidate in candidates {
        let reason = match candidate.reason.as_str() {
            "retention" => ErasureReason::Retention,
            _ => ErasureReason::Request,
        };
        let Some(target) = db::lock_for_erasure(&mut transaction, candidate.inquiry_id).await?
        else {
            continue;
        };
        let status = status_of(&target)?;
        erase_locked(
            &mut transaction,
            outbox,
            target,
            status,
            reason,
            REPLAY_ACTOR,
            now.max(candidate.erased_at),
        )
        .await?;
        batch.erased += 1;
    }
    transaction.commit().await?;
    Ok(batch)
}

/// What one batch of the retention job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    pub claimed: usize,
    pub erased: usize,
}

/// Erases one batch of inquiries whose retention time has run out at `now`, in one transaction.
pub async fn purge_batch(
    pool: &PgPool,
    outbox: &Outbox,
    period: RetentionPeriod,
    now: DateTime<Utc>,
    batch_size: i64,
) -> Result<Batch, EraseError> {
    let mut transaction = pool.begin().await?;
    let candidates =
        db::claim_due_for_erasure(&mut transaction, period.cutoff(now), batch_size).await?;
    let mut batch = Batch {
        claimed: candidates.len(),
        erased: 0,
    };
    for candidate in candidates {
        let Some(status) = InquiryStatus::from_code(&candidate.status) else {
            continue;
        };
        let facts = RetentionFacts {
            status,
            ended_at: candidate.ended_at,
            erased_at: candidate.personal_data_erased_at,
        };
        // The query selects by the same rule; the rule itself decides.
        if !retention::is_due(facts, period, now) {
            continue;
        }
        erase_inquiry(
            &mut transaction,
            outbox,
            candidate.inquiry_id,
            ErasureReason::Retention,
            RETENTION_ACTOR,
            now,
        )
        .await?;
        batch.erased += 1;
    }
    transaction.commit().await?;
    Ok(batch)
}

/// The retention job's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// `RETENTION_MONTHS`, default 60.
    pub period: RetentionPeriod,
    /// `RETENTION_INTERVAL_SECS`, default one hour: how often due inquiries are looked for.
    pub interval: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            period: RetentionPeriod::default(),
            interval: Duration::from_secs(3600),
        }
    }
}

/// Erases due inquiries batch after batch, then waits `interval`, until `shutdown`. Time comes
/// from `clock`. A failing database is logged and tried again at the next round; the batch in
/// hand is rolled back, so nothing is half erased.
pub async fn run_retention(
    pool: PgPool,
    outbox: Outbox,
    clock: SharedClock,
    settings: RetentionSettings,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let mut erased = 0;
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            match purge_batch(&pool, &outbox, settings.period, clock.now(), BATCH_SIZE).await {
                Ok(batch) => {
                    erased += batch.erased;
                    if batch.claimed < BATCH_SIZE as usize || batch.erased == 0 {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot erase due personal data now; trying at the next round");
                    break;
                }
            }
        }
        let replayed = replay_ledger(&pool, &outbox, &clock, &shutdown).await;
        if replayed > 0 {
            tracing::info!(
                inquiries = replayed,
                "personal data erased again as the erasure ledger records"
            );
        }
        if erased > 0 {
            tracing::info!(
                inquiries = erased,
                retention_months = settings.period.in_months(),
                "personal data erased after its retention time"
            );
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}

/// Runs [`replay_ledger_batch`] until nothing is left; the number erased again.
async fn replay_ledger(
    pool: &PgPool,
    outbox: &Outbox,
    clock: &SharedClock,
    shutdown: &CancellationToken,
) -> usize {
    let mut erased = 0;
    while !shutdown.is_cancelled() {
        match replay_ledger_batch(pool, outbox, clock.now(), BATCH_SIZE).await {
            Ok(batch) => {
                erased += batch.erased;
                if batch.claimed < BATCH_SIZE as usize || batch.erased == 0 {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot repeat the ledger's erasures now; trying at the next round");
                break;
            }
        }
    }
    erased
}
