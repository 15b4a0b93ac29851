//! SQL on the `reporting` schema.

use anyhow::Context as _;
use sqlx::{PgConnection, PgPool};

use crate::projection::FactsUpdate;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Merges one event's facts into the inquiry's row; columns the event does not know are kept.
pub async fn apply(connection: &mut PgConnection, update: &FactsUpdate) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO inquiry_facts (inquiry_id, department, request_type, requester_kind, \
         received_at, eligibility_outcome, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (inquiry_id) DO UPDATE SET \
         department = COALESCE(EXCLUDED.department, inquiry_facts.department), \
         request_type = COALESCE(EXCLUDED.request_type, inquiry_facts.request_type), \
         requester_kind = COALESCE(EXCLUDED.requester_kind, inquiry_facts.requester_kind), \
         received_at = COALESCE(EXCLUDED.received_at, inquiry_facts.received_at), \
         eligibility_outcome = COALESCE(EXCLUDED.eligibility_outcome, inquiry_facts.eligibility_outcome), \
         due_at = COALESCE(EXCLUDED.due_at, inquiry_facts.due_at), updated_at = now()",
    )
    .bind(update.inquiry_id)
    .bind(&update.department)
    .bind(&update.request_type)
    .bind(&update.requester_kind)
    .bind(update.received_at)
    .bind(&update.eligibility_outcome)
    .bind(update.due_at)
    .execute(connection)
    .await?;
    Ok(())
}

/// Counts by a key, sorted by the key.
pub type Counts = Vec<(String, i64)>;

pub struct SummaryRows {
    pub total_inquiries: i64,
    pub by_department: Counts,
    pub by_eligibility_outcome: Counts,
}

/// The figures over every received inquiry.
pub async fn summary(pool: &PgPool) -> anyhow::Result<SummaryRows> {
    let mut transaction = pool.begin().await?;
    // One snapshot for all three queries, so the figures add up.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *transaction)
        .await?;
    let by_department: Counts = sqlx::query_as(
        "SELECT department, count(*) FROM inquiry_facts WHERE received_at IS NOT NULL \
         GROUP BY department ORDER BY department",
    )
    .fetch_all(&mut *transaction)
    .await
    .context("cannot count by department")?;
    let by_eligibility_outcome: Counts = sqlx::query_as(
        "SELECT eligibility_outcome, count(*) FROM inquiry_facts \
         WHERE received_at IS NOT NULL AND eligibility_outcome IS NOT NULL \
         GROUP BY eligibility_outcome ORDER BY eligibility_outcome",
    )
    .fetch_all(&mut *transaction)
    .await
    .context("cannot count by outcome")?;
    transaction.commit().await?;
    Ok(SummaryRows {
        total_inquiries: by_department.iter().map(|(_, count)| count).sum(),
        by_department,
        by_eligibility_outcome,
    })
}
