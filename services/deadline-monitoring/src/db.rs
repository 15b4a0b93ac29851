//! SQL on the `deadline_monitoring` schema.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Deadline, DeadlineState};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Stores a deadline; returns false when the inquiry already had one (it is kept as it was).
pub async fn insert_deadline(
    connection: &mut PgConnection,
    deadline: &Deadline,
    scheduled_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO deadlines (inquiry_id, department, received_at, working_days, due_date, due_at, \
         state, scheduled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (inquiry_id) DO NOTHING",
    )
    .bind(deadline.inquiry_id)
    .bind(&deadline.department)
    .bind(deadline.received_at)
    .bind(i32::try_from(deadline.working_days).unwrap_or(i32::MAX))
    .bind(deadline.due_date)
    .bind(deadline.due_at)
    .bind(deadline.state.as_str())
    .bind(scheduled_at)
    .execute(connection)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct DeadlineRow {
    inquiry_id: Uuid,
    department: String,
    received_at: DateTime<Utc>,
    working_days: i32,
    due_date: NaiveDate,
    due_at: DateTime<Utc>,
    state: String,
}

pub async fn get_deadline(pool: &PgPool, inquiry_id: Uuid) -> anyhow::Result<Option<Deadline>> {
    let row: Option<DeadlineRow> = sqlx::query_as(
        "SELECT inquiry_id, department, received_at, working_days, due_date, due_at, state \
         FROM deadlines WHERE inquiry_id = $1",
    )
    .bind(inquiry_id)
    .fetch_optional(pool)
    .await
    .context("cannot read deadline")?;
    row.map(|row| {
        Ok(Deadline {
            inquiry_id: row.inquiry_id,
            department: row.department,
            received_at: row.received_at,
            working_days: u32::try_from(row.working_days).context("negative working days")?,
            due_date: row.due_date,
            due_at: row.due_at,
            state: DeadlineState::from_code(&row.state)
                .with_context(|| format!("unknown deadline state {:?}", row.state))?,
        })
    })
    .transpose()
}
