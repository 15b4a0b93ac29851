//! Each service owns one PostgreSQL schema: its pool runs with `search_path` set to that schema,
//! so its tables, and sqlx's migration history, live there and nowhere else.

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Connects to the database at `url` with `search_path = schema`, creating the database and the
/// schema when missing, and applies the service's migrations.
pub async fn connect_and_migrate(
    url: &str,
    schema: &str,
    max_connections: u32,
    migrator: &sqlx::migrate::Migrator,
) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid URL")?;
    ensure_database(&options).await?;

    let mut admin = connect_with_retry(&options).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        quote_ident(schema)
    )))
    .execute(&mut admin)
    .await
    .with_context(|| format!("cannot create schema {schema}"))?;
    admin.close().await.ok();

    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.options([("search_path", schema)]))
        .await
        .context("cannot open the connection pool")?;
    migrator
        .run(&pool)
        .await
        .with_context(|| format!("cannot apply the migrations of schema {schema}"))?;
    Ok(pool)
}

/// Creates the database named in `options` when it does not exist, so a fresh server works.
async fn ensure_database(options: &PgConnectOptions) -> anyhow::Result<()> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut maintenance = connect_with_retry(&options.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut maintenance)
            .await?;
    if !exists {
        let created = sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {}",
            quote_ident(&name)
        )))
        .execute(&mut maintenance)
        .await;
        // Another service may have created it in the meantime (duplicate_database).
        if let Err(error) = created {
            let duplicate = error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "42P04" || code == "23505");
            if !duplicate {
                return Err(error).with_context(|| format!("cannot create database {name}"));
            }
        }
    }
    maintenance.close().await.ok();
    Ok(())
}

/// Postgres may still be starting (docker-compose, a fresh machine): try for about 30 seconds.
async fn connect_with_retry(options: &PgConnectOptions) -> anyhow::Result<sqlx::PgConnection> {
    let mut delay = Duration::from_millis(100);
    let mut attempts = 0;
    loop {
        match options.connect().await {
            Ok(connection) => return Ok(connection),
            Err(error) if attempts < 12 => {
                tracing::warn!(%error, attempt = attempts, "PostgreSQL not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempts += 1;
            }
            Err(error) => return Err(error).context("cannot connect to PostgreSQL"),
        }
    }
}

/// Whether a failure is the database being out of reach (worth retrying, UNAVAILABLE to callers)
/// rather than something about the request or the data: no connection to be had (pool timed out
/// or closed, TLS), a connection that broke (I/O errors: reset, closed, cut off mid-reply), or
/// PostgreSQL ending or refusing the session (SQLSTATE class 08, connection exception;
/// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now). A fresh connection
/// may well succeed, so the call is worth repeating.
pub fn is_outage(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            Some(sqlx::Error::Database(error)) => {
                error.code().is_some_and(|code| is_outage_state(&code))
            }
            _ => false,
        })
}

/// SQLSTATEs that mean the session ended or could not begin, not that the statement was wrong.
fn is_outage_state(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// Quotes an SQL identifier; schema names come from our own code, but quoting costs nothing.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_an_outage_but_a_constraint_violation_is_not() {
        assert!(is_outage(&anyhow::Error::from(sqlx::Error::PoolTimedOut)));
        assert!(is_outage(
            &anyhow::Error::from(sqlx::Error::PoolTimedOut).context("while applying")
        ));
        assert!(!is_outage(&anyhow::Error::from(sqlx::Error::RowNotFound)));
    }

    #[test]
    fn a_broken_connection_is_an_outage() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_outage(
            &anyhow::Error::from(sqlx::Error::Io(reset)).context("cannot read")
        ));
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(is_outage(&anyhow::Error::from(sqlx::Error::Io(eof))));
        assert!(is_outage(&anyhow::Error::from(sqlx::Error::PoolClosed)));
    }

    #[test]
    fn sessions_ended_by_the_server_are_outages_and_statement_errors_are_not() {
        for code in ["08000", "08003", "08006", "57P01", "57P02", "57P03"] {
            assert!(is_outage_state(code), "{code}");
        }
        // unique_violation, undefined_table, query_canceled, serialization_failure.
        for code in ["23505", "42P01", "57014", "40001"] {
            assert!(!is_outage_state(code), "{code}");
        }
    }
}
