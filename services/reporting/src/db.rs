//! SQL on the reporting schema: per-inquiry state rows, pre-aggregated counters per (month,
//! department, dimension, value), and the queries the figures are read with. Statements name
//! tables without a schema, so the rebuild can point them at its fresh tables.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::figures::CounterRow;
use crate::domain::state::{CounterKey, Dimension, InquiryState};
use crate::domain::{Month, MonthRange};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The inquiries' states, locked for this transaction; an inquiry seen for the first time gets
/// an empty state row first, so that it too is locked.
///
/// `FOR UPDATE` alone locks nothing for a row that does not exist yet: two transactions applying
/// the first facts of one inquiry at once would both start from nothing, and the second write
/// would overwrite the first. `INSERT ... ON CONFLICT DO UPDATE` instead waits for a concurrent
/// inserter to commit, then locks the row and returns its latest committed state (the no-op
/// update keeps the state as it is); in id order, so concurrent writers lock alike.
pub async fn lock_states(
    connection: &mut PgConnection,
    ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, InquiryState>> {
    let empty =
        serde_json::to_string(&InquiryState::default()).context("cannot serialise a state")?;
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "INSERT INTO inquiry_facts (inquiry_id, state, department, open, due_date) \
         SELECT id, $2, NULL, false, NULL FROM unnest($1::uuid[]) AS s(id) ORDER BY id \
         ON CONFLICT (inquiry_id) DO UPDATE SET state = inquiry_facts.state \
         RETURNING inquiry_id, state",
    )
    .bind(ids)
    .bind(&empty)
    .fetch_all(connection)
    .await
    .context("cannot lock inquiry states")?;
    rows.into_iter()
        .map(|(id, state)| {
            let state = serde_json::from_str(&state)
                .with_context(|| format!("stored state of inquiry {id} is unreadable"))?;
            Ok((id, state))
        })
        .collect()
}

/// Writes the states, with the columns "open now" and "overdue now" are counted from, and adds
/// each change to its counter; one statement (one round trip) for both. Counters are changed in
/// key order, so concurrent writers lock alike.
pub async fn save_states_and_counters(
    connection: &mut PgConnection,
    states: &[(Uuid, InquiryState)],
    changes: &BTreeMap<CounterKey, i64>,
) -> anyhow::Result<()> {
    if states.is_empty() && changes.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(states.len());
    let mut json = Vec::with_capacity(states.len());
    let mut departments = Vec::with_capacity(states.len());
    let mut open = Vec::with_capacity(states.len());
    let mut due = Vec::with_capacity(states.len());
    for (id, state) in states {
        ids.push(*id);
        json.push(serde_json::to_string(state).context("cannot serialise a state")?);
        departments.push(state.department().map(str::to_owned));
        open.push(state.is_open());
        due.push(state.latest_due_date());
    }
    let mut months = Vec::with_capacity(changes.len());
    let mut counter_departments = Vec::with_capacity(changes.len());
    let mut dimensions = Vec::with_capacity(changes.len());
    let mut values = Vec::with_capacity(changes.len());
    let mut counts = Vec::with_capacity(changes.len());
    for (key, change) in changes {
        months.push(key.month.first_day());
        counter_departments.push(key.department.clone());
        dimensions.push(key.dimension.code());
        values.push(key.value.clone());
        counts.push(*change);
    }
    // A data-modifying WITH runs to completion whether or not its rows are read.
    sqlx::query(
        "WITH saved AS ( \
             INSERT INTO inquiry_facts (inquiry_id, state, department, open, due_date) \
             SELECT id, state, department, open, due_date \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bool[], $5::date[]) \
                  AS s(id, state, department, open, due_date) ORDER BY id \
             ON CONFLICT (inquiry_id) DO UPDATE SET state = EXCLUDED.state, \
             department = EXCLUDED.department, open = EXCLUDED.open, \
             due_date = EXCLUDED.due_date \
         ) \
         INSERT INTO counters (month, department, dimension, value, count) \
         SELECT * FROM unnest($6::date[], $7::text[], $8::text[], $9::text[], $10::bigint[]) \
         ORDER BY 1, 2, 3, 4 \
         ON CONFLICT (month, department, dimension, value) \
         DO UPDATE SET count = counters.count + EXCLUDED.count",
    )
    .bind(&ids)
    .bind(&json)
    .bind(&departments)
    .bind(&open)
    .bind(&due)
    .bind(&months)
    .bind(&counter_departments)
    .bind(&dimensions)
    .bind(&values)
    .bind(&counts)
    .execute(connection)
    .await
    .context("cannot save inquiry states and counters")?;
    Ok(())
}

type RawCounter = (NaiveDate, String, String, String, i64);

fn counter_rows(raw: Vec<RawCounter>) -> Vec<CounterRow> {
    raw.into_iter()
        .filter_map(|(month, department, dimension, value, count)| {
            Some(CounterRow {
                month: Month::from_first_day(month),
                department,
                dimension: Dimension::from_code(&dimension)?,
                value,
                count,
            })
        })
        .collect()
}

/// The first and last month with any figure, or `None` when there are none yet.
pub async fn months_with_figures(
    connection: &mut PgConnection,
) -> anyhow::Result<Option<MonthRange>> {
    let (first, last): (Option<NaiveDate>, Option<NaiveDate>) =
        sqlx::query_as("SELECT min(month), max(month) FROM counters WHERE count <> 0")
            .fetch_one(connection)
            .await
            .context("cannot read the months with figures")?;
    Ok(first
        .zip(last)
        .and_then(|(first, last)| MonthRange::new(Month::of(first), Month::of(last))))
}

/// The counters of `periods` (each summed over its months, dated to its first month), of one
/// department or all.
pub async fn counters_by_period(
    connection: &mut PgConnection,
    periods: &[MonthRange],
    department: Option<&str>,
) -> anyhow::Result<Vec<CounterRow>> {
    let mut rows = Vec::new();
    for period in periods {
        let raw: Vec<RawCounter> = sqlx::query_as(
            "SELECT $1::date, department, dimension, value, sum(count)::bigint FROM counters \
             WHERE month BETWEEN $1 AND $2 AND ($3::text IS NULL OR department = $3) \
             GROUP BY department, dimension, value HAVING sum(count) <> 0",
        )
        .bind(period.first.first_day())
        .bind(period.last.first_day())
        .bind(department)
        .fetch_all(&mut *connection)
        .await
        .context("cannot read the counters")?;
        rows.extend(counter_rows(raw));
    }
    Ok(rows)
}

/// The counters of the monthly trend, month by month.
pub async fn trend_counters(
    connection: &mut PgConnection,
    period: MonthRange,
    department: Option<&str>,
) -> anyhow::Result<Vec<CounterRow>> {
    let raw: Vec<RawCounter> = sqlx::query_as(
        "SELECT month, department, dimension, value, count FROM counters \
         WHERE month BETWEEN $1 AND $2 AND ($3::text IS NULL OR department = $3) \
         AND dimension IN ('received', 'answered', 'overdue', 'deadline_result') AND count <> 0",
    )
    .bind(period.first.first_day())
    .bind(period.last.first_day())
    .bind(department)
    .fetch_all(connection)
    .await
    .context("cannot read the trend counters")?;
    Ok(counter_rows(raw))
}

/// Whether any figure is kept for `department`: a code configuration no longer lists stays
/// readable while its history is.
pub async fn department_has_figures(pool: &PgPool, department: &str) -> anyhow::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM counters WHERE department = $1 AND count <> 0) \
         OR EXISTS (SELECT 1 FROM inquiry_facts WHERE department = $1 AND open)",
    )
    .bind(department)
    .fetch_one(pool)
    .await
    .context("cannot look for the department's figures")
}

/// Open inquiries now, and those among them past their latest due date on `today`.
pub async fn open_and_overdue(
    connection: &mut PgConnection,
    today: NaiveDate,
    department: Option<&str>,
) -> anyhow::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE due_date < $1) FROM inquiry_facts \
         WHERE open AND ($2::text IS NULL OR department = $2)",
    )
    .bind(today)
    .bind(department)
    .fetch_one(connection)
    .await
    .context("cannot count open inquiries")
}

/// A read-only transaction on one snapshot, so the figures of one answer add up.
pub async fn snapshot(pool: &PgPool) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut transaction = pool.begin().await.context("cannot begin a snapshot")?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *transaction)
        .await
        .context("cannot begin a snapshot")?;
    Ok(transaction)
}
