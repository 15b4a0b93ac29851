//! Benchmark (not a test): with 1,000,000 open deadlines in the table, how fast does the
//! scheduler find and fire 10,000 due timers (events to the outbox, two deliveries each to the
//! queue)? Prints the due-timer query's plan and same-run baselines.
//!
//! `cargo run --release -p deadline-monitoring --example scheduler_bench [deadlines] [due]`
//! (uses a fresh database on `TEST_DATABASE_URL`, default the local PostgreSQL; dropped after).

use std::sync::Arc;
use std::time::{Duration, Instant};

use borgerraad_messaging::Outbox;
use borgerraad_platform::clock::ManualClock;
use borgerraad_test_harness::TestDatabase;
use chrono::Utc;
use deadline_monitoring::delivery::{Addresses, Channels};
use deadline_monitoring::scheduler::Scheduler;
use tokio::sync::Notify;
use working_days::Calendar;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let deadlines: i64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let due: i64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    // The scheduler's `SCHEDULER_BATCH_SIZE`.
    let batch_size: i64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);
    let database = TestDatabase::create().await?;
    let pool = borgerraad_platform::db::connect_and_migrate(
        &database.url(),
        deadline_monitoring::startup::SCHEMA,
        8,
        &deadline_monitoring::db::MIGRATOR,
    )
    .await?;
    let now = Utc::now();

    let started = Instant::now();
    sqlx::query(
        "INSERT INTO deadlines (inquiry_id, department, reference, received_at, working_days, \
         due_date, due_at, state, scheduled_at, clock_started_at, start_day) \
         SELECT gen_random_uuid(), 'by-og-kultur', 'BR-2026-' || i, $1, 15, \
                ($1 + make_interval(days => 21))::date, $1 + make_interval(days => 21), 'running', \
                $1, $1, $1::date \
         FROM generate_series(1, $2) AS i",
    )
    .bind(now)
    .bind(deadlines)
    .execute(&pool)
    .await?;
    // One pending timer per open deadline; `due` of them (distinct inquiries) are due now.
    sqlx::query(
        "INSERT INTO timers (inquiry_id, revision, step, kind, recipient, working_days, due_date, fire_at) \
         SELECT inquiry_id, 1, 'warning-5', 'warning', 'caseworker', 5, due_date, \
                CASE WHEN n <= $2 THEN $1 - make_interval(secs => n) \
                     ELSE $1 + make_interval(secs => n) END \
         FROM (SELECT inquiry_id, due_date, row_number() OVER () AS n FROM deadlines) AS d",
    )
    .bind(now)
    .bind(due)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let loaded = started.elapsed();
    println!(
        "loaded {deadlines} open deadlines and their timers in {:.1} s ({:.0} rows/s incl. indexes)",
        loaded.as_secs_f64(),
        (2 * deadlines) as f64 / loaded.as_secs_f64()
    );

    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN {}",
        deadline_monitoring::scheduler::DUE_TIMERS
    )))
    .bind(now)
    .bind(1000i64)
    .bind(deadline_monitoring::scheduler::ALL_KINDS)
    .fetch_all(&pool)
    .await?;
    println!("\nthe due-timer query's plan:\n{}\n", plan.join("\n"));

    // Same-run baselines: a bare indexed SELECT of as many rows, and a plain bulk INSERT.
    let started = Instant::now();
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT timer_id FROM timers WHERE fired_at IS NULL AND fire_at <= $1 ORDER BY fire_at LIMIT $2",
    )
    .bind(now)
    .bind(due)
    .fetch_all(&pool)
    .await?;
    let select = started.elapsed();
    sqlx::query("CREATE TABLE baseline (id bigint, payload text)")
        .execute(&pool)
        .await?;
    let started = Instant::now();
    sqlx::query("INSERT INTO baseline SELECT i, repeat('x', 300) FROM generate_series(1, $1) AS i")
        .bind(due * 3)
        .execute(&pool)
        .await?;
    let insert = started.elapsed();
    println!(
        "baseline: bare SELECT of {} due timer ids: {:.1} ms; plain INSERT of {} rows: {:.1} ms",
        rows.len(),
        select.as_secs_f64() * 1e3,
        due * 3,
        insert.as_secs_f64() * 1e3
    );

    let scheduler = Scheduler {
        pool: pool.clone(),
        clock: ManualClock::new(now),
        outbox: Outbox::new(),
        calendar: Calendar::danish_default(),
        channels: Channels {
            email: true,
            addresses: Addresses {
                caseworker_pattern: Some("{caseworker_id}@borgerraad.example".into()),
                head_of_office: Some("leder@borgerraad.example".into()),
                directors: Default::default(),
            },
            webhook_url: Some("https://127.0.0.1:9/frister".into()),
        },
        poll_interval: Duration::from_secs(1),
        batch_size,
        wake: Arc::new(Notify::new()),
        deliveries_wake: Arc::new(Notify::new()),
        backlog: None,
    };
    let started = Instant::now();
    let mut fired = 0;
    loop {
        let batch = scheduler.fire_due().await?;
        if batch == 0 {
            break;
        }
        fired += batch;
    }
    let elapsed = started.elapsed();
    let (events, deliveries): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM deliveries)")
            .fetch_one(&pool)
            .await?;
    println!(
        "scheduler: fired {fired} due timers among {deadlines} open deadlines in {:.0} ms \
         ({:.0} timers/s); wrote {events} events and {deliveries} deliveries",
        elapsed.as_secs_f64() * 1e3,
        fired as f64 / elapsed.as_secs_f64()
    );
    pool.close().await;
    Ok(())
}
