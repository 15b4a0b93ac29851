//! Real dependencies for tests, one set per test so tests run in parallel and leave nothing:
//!
//! - [`NatsServer`]: a private `nats-server` with JetStream on a free port and a temporary store,
//!   which a test can stop and start again on the same port and store; open, or secured with
//!   the services' users and permissions ([`nats_auth`]).
//! - [`TestDatabase`]: a fresh PostgreSQL database, dropped when the test ends, and its
//!   `pg_dump`.
//! - [`TestIdp`]: the development OpenID Connect provider, one per test process, with a client
//!   per role.
//! - [`eventually`]: polls a condition until it holds or a deadline passes (no sleeps as sync).
//! - [`tls`]: a fresh CA per test with server and client certificates in a temporary folder.
//!
//! `NATS_SERVER_BIN` names the nats-server binary (default: `nats-server` on PATH, then
//! `/usr/sbin/nats-server`); `TEST_DATABASE_URL` the server to create databases on (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

pub mod idp;
pub mod tls;

pub use idp::TestIdp;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{Connection, Executor};

pub mod nats_auth;

pub use nats_auth::{BACKUP, NatsIdentity, OBSERVER};
pub use tls::TestPki;

/// A nats-server child process owned by one test.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    /// Users, permissions and passwords of a secured server; `None` for an open one.
    secured: Option<nats_auth::Secured>,
}

impl NatsServer {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    pub(crate) async fn start_with(
        mut secured: Option<nats_auth::Secured>,
    ) -> anyhow::Result<Self> {
        let mut store = tempfile::tempdir().context("cannot create a JetStream store directory")?;
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = Self {
                child: None,
                port,
                store,
                secured,
            };
            match server.spawn().await {
                Ok(()) => return Ok(server),
                // Another test may have taken the port between our probe and the server's bind.
                Err(error) => {
                    tracing::warn!(%error, port, "nats-server did not start; trying another port");
                    store = std::mem::replace(&mut server.store, tempfile::tempdir()?);
                    secured = server.secured.take();
                }
            }
        }
        bail!("nats-server did not start after 5 attempts; is it installed (see NATS_SERVER_BIN)?")
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once, as a crash or an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn().await
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(nats_server_bin());
        if let Some(secured) = &self.secured {
            secured.configure(&mut command);
        }
        let mut child = command
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run nats-server")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("nats-server exited with {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("nats-server did not listen within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client of this server, once it answers; on a secured server, as [`OBSERVER`], who may
    /// publish and read everything.
    pub async fn client(&self) -> anyhow::Result<async_nats::Client> {
        match self.identity(OBSERVER) {
            Some(observer) => observer.connect(&self.url()).await,
            None => Ok(async_nats::connect(self.url()).await?),
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn nats_server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return bin.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
}

/// A port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A database of its own for one test; dropped (with any open connections) when this is dropped.
pub struct TestDatabase {
    name: String,
    server_url: String,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let server_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("borgerraad_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server_url)
            .await
            .with_context(|| format!("cannot reach PostgreSQL at {server_url}"))?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        admin.close().await?;
        Ok(Self { name, server_url })
    }

    /// The URL of this test's database.
    pub fn url(&self) -> String {
        match self.server_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{}", self.name),
            None => format!("{}/{}", self.server_url, self.name),
        }
    }

    /// A `pg_dump` of the whole database (schema and data, as plain SQL), as an operator's
    /// backup would hold it. `PG_DUMP` names the binary (default: `pg_dump` on PATH).
    pub async fn dump(&self) -> anyhow::Result<String> {
        let bin = std::env::var_os("PG_DUMP").unwrap_or_else(|| "pg_dump".into());
        let output = tokio::process::Command::new(&bin)
            .arg("--no-owner")
            .arg(format!("--dbname={}", self.url()))
            .output()
            .await
            .with_context(|| format!("cannot run {}", bin.to_string_lossy()))?;
        if !output.status.success() {
            bail!(
                "pg_dump failed with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    /// A pool on one schema of this database, for a test's assertions.
    pub async fn pool(&self, schema: &str) -> anyhow::Result<sqlx::PgPool> {
        use sqlx::postgres::PgConnectOptions;
        let options: PgConnectOptions = self.url().parse()?;
        Ok(sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.options([("search_path", schema)]))
            .await?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server_url = self.server_url.clone();
        // Drop cannot be async and may run inside a runtime: use a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Polls `check` every 20 ms until it returns `Some`, or fails after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A complete, valid submission: a citizen's complaint about handling time, after dialogue
/// with the department.
pub fn valid_submission() -> borgerraad_proto::v1::SubmitInquiryRequest {
    use borgerraad_proto::v1 as pb;
    pb::SubmitInquiryRequest {
        requester_kind: pb::RequesterKind::Citizen.into(),
        requester: Some(pb::Requester {
            name: "Karen Jensen".into(),
            ..Default::default()
        }),
        department: "by-og-kultur".into(),
        request_type: pb::RequestType::Complaint.into(),
        complaint_themes: vec![pb::ComplaintTheme::HandlingTime.into()],
        description: "Jeg har ventet otte måneder på svar om min byggetilladelse.".into(),
        prior_dialogue: Some(pb::PriorDialogue {
            held: true,
            date: Some(pb::Date {
                year: 2026,
                month: 11,
                day: 2,
            }),
            ..Default::default()
        }),
        contact_channel: pb::ContactChannel::DigitalPost.into(),
        ..Default::default()
    }
}
