//! SQL on the `deadline_monitoring` schema.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{
    NoticeKind, Outcome, PlannedNotice, Recipient, SlaResult, SlaState, Step, StepKind, StopReason,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The facts of receipt, from `inquiry.received`, `inquiry.amended` or intake itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub inquiry_id: Uuid,
    pub department: String,
    pub reference: String,
    pub received_at: DateTime<Utc>,
    /// 0 for the receipt, the inquiry's version for an amendment; the highest wins.
    pub answers_version: i64,
}

/// A deadline as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeadline {
    pub receipt: Receipt,
    pub caseworker_id: String,
    pub working_days: u32,
    pub revision: i64,
    pub clock_started_at: DateTime<Utc>,
    pub start_day: NaiveDate,
    pub due_date: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub state: SlaState,
    pub paused_working_days: u32,
    pub outcome: Option<Outcome>,
}

#[derive(sqlx::FromRow)]
struct DeadlineRow {
    inquiry_id: Uuid,
    department: String,
    reference: String,
    received_at: DateTime<Utc>,
    answers_version: i64,
    caseworker_id: String,
    working_days: i32,
    revision: i64,
    clock_started_at: DateTime<Utc>,
    start_day: NaiveDate,
    due_date: NaiveDate,
    due_at: DateTime<Utc>,
    state: String,
    paused_working_days: i32,
    stop_reason: Option<String>,
    stopped_at: Option<DateTime<Utc>>,
    result: Option<String>,
    working_days_over: Option<i32>,
    working_days_used: Option<i32>,
}

const DEADLINE_COLUMNS: &str = "inquiry_id, department, reference, received_at, answers_version, \
    caseworker_id, working_days, revision, clock_started_at, start_day, due_date, due_at, state, \
    paused_working_days, stop_reason, stopped_at, result, working_days_over, working_days_used";

/// A count of working days as SQL and proto hold it.
pub fn days(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn non_negative(value: i32) -> anyhow::Result<u32> {
    u32::try_from(value).context("negative count of working days")
}

impl TryFrom<DeadlineRow> for StoredDeadline {
    type Error = anyhow::Error;

    fn try_from(row: DeadlineRow) -> anyhow::Result<Self> {
        let outcome = match (row.stop_reason, row.stopped_at, row.result) {
            (Some(reason), Some(stopped_at), Some(result)) => Some(Outcome {
                reason: StopReason::from_code(&reason)
                    .with_context(|| format!("unknown stop reason {reason:?}"))?,
                stopped_at,
                result: SlaResult::from_code(&result)
                    .with_context(|| format!("unknown result {result:?}"))?,
                working_days_over: non_negative(row.working_days_over.unwrap_or(0))?,
                working_days_used: non_negative(row.working_days_used.unwrap_or(0))?,
            }),
            _ => None,
        };
        Ok(Self {
            receipt: Receipt {
                inquiry_id: row.inquiry_id,
                department: row.department,
                reference: row.reference,
                received_at: row.received_at,
                answers_version: row.answers_version,
            },
            caseworker_id: row.caseworker_id,
            working_days: non_negative(row.working_days)?,
            revision: row.revision,
            clock_started_at: row.clock_started_at,
            start_day: row.start_day,
            due_date: row.due_date,
            due_at: row.due_at,
            state: SlaState::from_code(&row.state)
                .with_context(|| format!("unknown deadline state {:?}", row.state))?,
            paused_working_days: non_negative(row.paused_working_days)?,
            outcome,
        })
    }
}

/// Serialises every change of one inquiry's deadline (consumer chunks, reconciliation) for the
/// rest of the transaction, also before the deadline row exists.
pub async fn lock_inquiry(connection: &mut PgConnection, inquiry_id: Uuid) -> sqlx::Result<()> {
    lock_inquiries(connection, &[inquiry_id]).await
}

/// `lock_inquiry` for several inquiries, taken in the order of their lock keys, so two
/// transactions locking overlapping sets cannot deadlock.
pub async fn lock_inquiries(
    connection: &mut PgConnection,
    inquiry_ids: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT \
         hashtextextended(inquiry_id::text, 7) AS k FROM unnest($1::uuid[]) AS i(inquiry_id) \
         ORDER BY k) AS keys",
    )
    .bind(inquiry_ids)
    .execute(connection)
    .await?;
    Ok(())
}

pub async fn load_deadline(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
) -> anyhow::Result<Option<StoredDeadline>> {
    Ok(load_deadlines(connection, &[inquiry_id])
        .await?
        .remove(&inquiry_id))
}

/// The stored deadlines of `inquiry_ids` that have one.
pub async fn load_deadlines(
    connection: &mut PgConnection,
    inquiry_ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, StoredDeadline>> {
    let rows: Vec<DeadlineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE inquiry_id = ANY($1)"
    )))
    .bind(inquiry_ids)
    .fetch_all(connection)
    .await
    .context("cannot read deadlines")?;
    rows.into_iter()
        .map(|row| Ok((row.inquiry_id, StoredDeadline::try_from(row)?)))
        .collect()
}

pub async fn get_deadline(
    pool: &PgPool,
    inquiry_id: Uuid,
) -> anyhow::Result<Option<StoredDeadline>> {
    let mut connection = pool.acquire().await.context("no connection")?;
    load_deadline(&mut connection, inquiry_id).await
}

/// Writes the whole rows of `deadlines`.
pub async fn save_deadlines(
    connection: &mut PgConnection,
    deadlines: &[&StoredDeadline],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    if deadlines.is_empty() {
        return Ok(());
    }
    let text =
        |f: fn(&StoredDeadline) -> &str| -> Vec<&str> { deadlines.iter().map(|d| f(d)).collect() };
    let outcomes: Vec<Option<&Outcome>> = deadlines.iter().map(|d| d.outcome.as_ref()).collect();
    sqlx::query(
        "INSERT INTO deadlines (inquiry_id, department, reference, received_at, answers_version, \
         caseworker_id, working_days, revision, clock_started_at, start_day, due_date, due_at, \
         state, paused_working_days, stop_reason, stopped_at, result, working_days_over, \
         working_days_used, scheduled_at, updated_at) \
         SELECT *, $20, $20 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], \
             $5::bigint[], $6::text[], $7::int[], $8::bigint[], $9::timestamptz[], $10::date[], \
             $11::date[], $12::timestamptz[], $13::text[], $14::int[], $15::text[], \
             $16::timestamptz[], $17::text[], $18::int[], $19::int[]) \
         ON CONFLICT (inquiry_id) DO UPDATE SET department = EXCLUDED.department, \
         reference = EXCLUDED.reference, received_at = EXCLUDED.received_at, \
         answers_version = EXCLUDED.answers_version, caseworker_id = EXCLUDED.caseworker_id, \
         working_days = EXCLUDED.working_days, revision = EXCLUDED.revision, \
         clock_started_at = EXCLUDED.clock_started_at, start_day = EXCLUDED.start_day, \
         due_date = EXCLUDED.due_date, due_at = EXCLUDED.due_at, state = EXCLUDED.state, \
         paused_working_days = EXCLUDED.paused_working_days, stop_reason = EXCLUDED.stop_reason, \
         stopped_at = EXCLUDED.stopped_at, result = EXCLUDED.result, \
         working_days_over = EXCLUDED.working_days_over, \
         working_days_used = EXCLUDED.working_days_used, updated_at = EXCLUDED.updated_at",
    )
    .bind(
        deadlines
            .iter()
            .map(|d| d.receipt.inquiry_id)
            .collect::<Vec<_>>(),
    )
    .bind(text(|d| &d.receipt.department))
    .bind(text(|d| &d.receipt.reference))
    .bind(
        deadlines
            .iter()
            .map(|d| d.receipt.received_at)
            .collect::<Vec<_>>(),
    )
    .bind(
        deadlines
            .iter()
            .map(|d| d.receipt.answers_version)
            .collect::<Vec<_>>(),
    )
    .bind(text(|d| &d.caseworker_id))
    .bind(
        deadlines
            .iter()
            .map(|d| days(d.working_days))
            .collect::<Vec<_>>(),
    )
    .bind(deadlines.iter().map(|d| d.revision).collect::<Vec<_>>())
    .bind(
        deadlines
            .iter()
            .map(|d| d.clock_started_at)
            .collect::<Vec<_>>(),
    )
    .bind(deadlines.iter().map(|d| d.start_day).collect::<Vec<_>>())
    .bind(deadlines.iter().map(|d| d.due_date).collect::<Vec<_>>())
    .bind(deadlines.iter().map(|d| d.due_at).collect::<Vec<_>>())
    .bind(text(|d| d.state.as_str()))
    .bind(
        deadlines
            .iter()
            .map(|d| days(d.paused_working_days))
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.map(|o| o.reason.as_str()))
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.map(|o| o.stopped_at))
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.map(|o| o.result.as_str()))
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.map(|o| days(o.working_days_over)))
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.map(|o| days(o.working_days_used)))
            .collect::<Vec<_>>(),
    )
    .bind(now)
    .execute(connection)
    .await?;
    Ok(())
}

/// Records steps once each; a repeated version of an inquiry is the same step.
pub async fn insert_steps(
    connection: &mut PgConnection,
    steps: &[(Uuid, &Step, &str)],
) -> sqlx::Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO inquiry_steps (inquiry_id, version, kind, at, caseworker_id) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[]) \
         ON CONFLICT (inquiry_id, version) DO NOTHING",
    )
    .bind(steps.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
    .bind(steps.iter().map(|(_, s, _)| s.version).collect::<Vec<_>>())
    .bind(
        steps
            .iter()
            .map(|(_, s, _)| s.kind.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(steps.iter().map(|(_, s, _)| s.at).collect::<Vec<_>>())
    .bind(steps.iter().map(|(_, _, c)| *c).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

/// The inquiry's steps in version order, and the caseworker of the latest one.
pub async fn load_steps(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
) -> anyhow::Result<(Vec<Step>, String)> {
    Ok(load_steps_of(connection, &[inquiry_id])
        .await?
        .remove(&inquiry_id)
        .unwrap_or_default())
}

/// `load_steps` for each of `inquiry_ids` that has steps.
pub async fn load_steps_of(
    connection: &mut PgConnection,
    inquiry_ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, (Vec<Step>, String)>> {
    let rows: Vec<(Uuid, i64, String, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT inquiry_id, version, kind, at, caseworker_id FROM inquiry_steps \
         WHERE inquiry_id = ANY($1) ORDER BY inquiry_id, version",
    )
    .bind(inquiry_ids)
    .fetch_all(connection)
    .await
    .context("cannot read steps")?;
    let mut steps: HashMap<Uuid, (Vec<Step>, String)> = HashMap::new();
    for (inquiry_id, version, kind, at, caseworker) in rows {
        let kind =
            StepKind::from_code(&kind).with_context(|| format!("unknown step kind {kind:?}"))?;
        let (of_inquiry, latest_caseworker) = steps.entry(inquiry_id).or_default();
        of_inquiry.push(Step { version, at, kind });
        *latest_caseworker = caseworker;
    }
    Ok(steps)
}

/// Up to `limit` open deadlines with an id greater than `after`, in id order (one page of a
/// walk over all of them).
pub async fn open_deadlines_after(
    pool: &PgPool,
    after: Uuid,
    limit: i64,
) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT inquiry_id FROM deadlines WHERE state <> 'stopped' AND inquiry_id > $1 \
         ORDER BY inquiry_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("cannot list open deadlines")
}

/// Open deadlines without a timer of their current revision (candidates; the caller checks
/// under the inquiry's lock whether the clock wants timers).
pub async fn deadlines_without_timers(pool: &PgPool) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT d.inquiry_id FROM deadlines d WHERE d.state <> 'stopped' AND NOT EXISTS \
         (SELECT 1 FROM timers t WHERE t.inquiry_id = d.inquiry_id AND t.revision = d.revision) \
         ORDER BY d.due_at",
    )
    .fetch_all(pool)
    .await
    .context("cannot list deadlines without timers")
}

pub async fn has_timers(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    revision: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM timers WHERE inquiry_id = $1 AND revision = $2)",
    )
    .bind(inquiry_id)
    .bind(revision)
    .fetch_one(connection)
    .await
}

/// Drops the unfired timers of inquiries (a pause, a stop or a new revision).
pub async fn cancel_timers(
    connection: &mut PgConnection,
    inquiry_ids: &[Uuid],
) -> sqlx::Result<()> {
    if inquiry_ids.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM timers WHERE inquiry_id = ANY($1) AND fired_at IS NULL")
        .bind(inquiry_ids)
        .execute(connection)
        .await?;
    Ok(())
}

/// The timers of one deadline revision.
pub struct TimerPlan<'a> {
    pub inquiry_id: Uuid,
    pub revision: i64,
    pub due_date: NaiveDate,
    pub plan: &'a [PlannedNotice],
}

/// Lays out revisions' timers; a step that already fired for the same due date or a later one
/// (in this revision or an earlier one) is not laid again: for a due date that moved earlier,
/// its moment has passed as well, and the notice was given.
pub async fn insert_timers(
    connection: &mut PgConnection,
    plans: &[TimerPlan<'_>],
) -> sqlx::Result<()> {
    let notices = || {
        plans
            .iter()
            .flat_map(|p| p.plan.iter().map(move |notice| (p, notice)))
    };
    if notices().next().is_none() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO timers (inquiry_id, revision, step, kind, recipient, working_days, due_date, fire_at) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
              $6::int[], $7::date[], $8::timestamptz[]) \
              AS t(inquiry_id, revision, step, kind, recipient, days, due_date, fire_at) \
         WHERE NOT EXISTS (SELECT 1 FROM timers f WHERE f.inquiry_id = t.inquiry_id \
               AND f.step = t.step AND f.due_date >= t.due_date AND f.fired_at IS NOT NULL) \
         ON CONFLICT (inquiry_id, revision, step) DO NOTHING",
    )
    .bind(notices().map(|(p, _)| p.inquiry_id).collect::<Vec<_>>())
    .bind(notices().map(|(p, _)| p.revision).collect::<Vec<_>>())
    .bind(notices().map(|(_, n)| n.step.as_str()).collect::<Vec<_>>())
    .bind(notices().map(|(_, n)| n.kind.as_str()).collect::<Vec<_>>())
    .bind(notices().map(|(_, n)| n.recipient.as_str()).collect::<Vec<_>>())
    .bind(notices().map(|(_, n)| days(n.working_days)).collect::<Vec<_>>())
    .bind(notices().map(|(p, _)| p.due_date).collect::<Vec<_>>())
    .bind(notices().map(|(_, n)| n.fire_at).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

/// One notice of the history, with its deliveries.
#[derive(Debug, Clone)]
pub struct NoticeRecord {
    pub step: String,
    pub kind: NoticeKind,
    pub recipient: Recipient,
    pub revision: i64,
    pub fire_at: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
    /// Fired but told to no one: a later step of its chain was due too.
    pub skipped: bool,
    /// (channel, status, attempts)
    pub deliveries: Vec<(String, String, i32)>,
}

pub async fn notices(pool: &PgPool, inquiry_id: Uuid) -> anyhow::Result<Vec<NoticeRecord>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        String,
        String,
        String,
        i64,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        bool,
    )> = sqlx::query_as(
        "SELECT timer_id, step, kind, recipient, revision, fire_at, fired_at, skipped FROM timers \
         WHERE inquiry_id = $1 ORDER BY fire_at, timer_id",
    )
    .bind(inquiry_id)
    .fetch_all(pool)
    .await
    .context("cannot read notices")?;
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    let deliveries: Vec<(i64, String, String, i32)> = sqlx::query_as(
        "SELECT timer_id, channel, status, attempts FROM deliveries WHERE timer_id = ANY($1) \
         ORDER BY delivery_id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .context("cannot read deliveries")?;
    rows.into_iter()
        .map(
            |(timer_id, step, kind, recipient, revision, fire_at, fired_at, skipped)| {
                Ok(NoticeRecord {
                    kind: NoticeKind::from_code(&kind)
                        .with_context(|| format!("unknown notice kind {kind:?}"))?,
                    recipient: Recipient::from_code(&recipient)
                        .with_context(|| format!("unknown recipient {recipient:?}"))?,
                    step,
                    revision,
                    fire_at,
                    fired_at,
                    skipped,
                    deliveries: deliveries
                        .iter()
                        .filter(|d| d.0 == timer_id)
                        .map(|d| (d.1.clone(), d.2.clone(), d.3))
                        .collect(),
                })
            },
        )
        .collect()
}

/// Running deadlines due on or before `due_by`, and paused ones whose pause began after the due
/// date had passed (the breach stands), soonest first.
pub async fn at_risk(
    pool: &PgPool,
    due_by: NaiveDate,
    now: DateTime<Utc>,
    department: Option<&str>,
    caseworker_id: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<StoredDeadline>> {
    let rows: Vec<DeadlineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DEADLINE_COLUMNS} FROM deadlines d \
         WHERE ((state = 'running' AND due_date <= $1) \
             OR (state = 'paused' AND due_at <= $5 AND EXISTS (SELECT 1 FROM inquiry_steps s \
                 WHERE s.inquiry_id = d.inquiry_id AND s.kind = 'pause' AND s.at >= d.due_at))) \
         AND ($2::text IS NULL OR department = $2) AND ($3::text IS NULL OR caseworker_id = $3) \
         ORDER BY due_at, inquiry_id LIMIT $4"
    )))
    .bind(due_by)
    .bind(department)
    .bind(caseworker_id)
    .bind(limit)
    .bind(now)
    .fetch_all(pool)
    .await
    .context("cannot list deadlines at risk")?;
    rows.into_iter().map(StoredDeadline::try_from).collect()
}

/// Drops the notices' addresses and texts of an erased inquiry; a delivery still pending is set
/// aside as a dead letter rather than sent without its text. The deadline and its result stay.
pub async fn erase_personal_data(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH notices AS (\
           UPDATE deliveries d SET address = '', subject = '', body = '', \
             last_error = CASE WHEN d.status = 'pending' \
               THEN 'personal data erased before delivery' END, \
             dead_lettered_at = CASE WHEN d.status = 'pending' THEN $2 ELSE d.dead_lettered_at END, \
             status = CASE WHEN d.status = 'pending' THEN 'dead_letter' ELSE d.status END \
           FROM timers t WHERE t.timer_id = d.timer_id AND t.inquiry_id = $1) \
         UPDATE deadlines SET personal_data_erased_at = $2 WHERE inquiry_id = $1",
    )
    .bind(inquiry_id)
    .bind(at)
    .execute(connection)
    .await?;
    Ok(())
}
