//! A real OpenID Connect provider for tests: the development provider in `deploy/dev-idp` (the
//! npm `oidc-provider`), one per test process, with a client per role. Its tokens are verified
//! by the services exactly as the municipality's would be.
//!
//! `NODE_BIN` names the Node.js binary (default `node`). The provider's packages are installed
//! with `npm ci` the first time they are missing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use borgerraad_platform::auth::{
    AuthSettings, AuthorizedChannel, Bearer, ClientCredentials, Credentials, Role, TokenSource,
};
use borgerraad_platform::settings::Secret;
use tokio::sync::OnceCell;

/// The client every test uses unless it tests access itself: the advisor's staff with the
/// caseworker's, the report reader's and the operator's roles.
pub const STAFF: &str = "test-staff";
/// A second caseworker, for tests where who acts matters.
pub const OTHER_CASEWORKER: &str = "test-caseworker-2";

static SHARED: OnceCell<TestIdp> = OnceCell::const_new();

/// A client id and the department it acts for.
type SourceKey = (String, Option<String>);

pub struct TestIdp {
    issuer: String,
    secrets: HashMap<String, String>,
    /// Token sources by client and department, so tokens are fetched once and renewed.
    sources: Mutex<HashMap<SourceKey, Arc<TokenSource>>>,
    child: Mutex<Option<Child>>,
    _config: tempfile::TempDir,
}

impl TestIdp {
    /// The provider of this test process, started on first use. It exits with the process.
    pub async fn shared() -> anyhow::Result<&'static TestIdp> {
        SHARED.get_or_try_init(Self::start).await
    }

    async fn start() -> anyhow::Result<TestIdp> {
        let dir = dev_idp_dir();
        install(&dir).await?;
        let config = tempfile::tempdir()?;
        let mut clients = Vec::new();
        let mut secrets = HashMap::new();
        let mut client = |id: &str, roles: &[&str], departments: &[&str]| {
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            clients.push(serde_json::json!({
                "client_id": id, "client_secret": secret,
                "roles": roles, "departments": departments,
            }));
            secrets.insert(id.to_owned(), secret);
        };
        for role in Role::ALL {
            let departments: &[&str] = if role == Role::DepartmentSystem {
                &["*"]
            } else {
                &[]
            };
            client(role.as_str(), &[role.as_str()], departments);
        }
        client(STAFF, &["caseworker", "report-reader", "operator"], &[]);
        client(OTHER_CASEWORKER, &["caseworker"], &[]);

        for _ in 0..5 {
            let port = crate::free_port()?;
            let issuer = format!("http://127.0.0.1:{port}");
            let path = config.path().join("idp.json");
            std::fs::write(
                &path,
                serde_json::to_vec(&serde_json::json!({
                    "port": port, "issuer": issuer, "audience": "borgerraad",
                    "token_ttl_seconds": 3600, "clients": clients,
                }))?,
            )?;
            let child = Command::new(node_bin())
                .arg(dir.join("server.js"))
                .arg(&path)
                .env("DEV_IDP_PARENT_PID", std::process::id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot run node for the development identity provider (NODE_BIN)")?;
            match wait_for(child, port).await {
                Ok(child) => {
                    return Ok(TestIdp {
                        issuer,
                        secrets,
                        sources: Mutex::default(),
                        child: Mutex::new(Some(child)),
                        _config: config,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, port, "the identity provider did not start; another port")
                }
            }
        }
        bail!("the development identity provider did not start after 5 attempts")
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What a service needs to accept this provider's tokens, checked against the system clock.
    pub fn auth_settings(&self) -> AuthSettings {
        AuthSettings::new(self.issuer.clone())
    }

    /// The same for a service that also calls others as the client `client_id` (the role
    /// names `eligibility` and `deadline-monitoring` are the service identities; any other name
    /// gets no client, as intake and reporting need none).
    pub fn auth_settings_as(&self, client_id: &str) -> AuthSettings {
        AuthSettings {
            client: self
                .secrets
                .contains_key(client_id)
                .then(|| self.client_credentials(client_id)),
            ..self.auth_settings()
        }
    }

    /// The credentials of one of the provider's clients (a role name, [`STAFF`] or
    /// [`OTHER_CASEWORKER`]), e.g. for a service identity.
    pub fn client_credentials(&self, client_id: &str) -> ClientCredentials {
        ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret: Secret::new(self.secrets.get(client_id).cloned().unwrap_or_default()),
        }
    }

    /// Tokens of `client_id`, fetched and renewed as a service would.
    pub fn credentials(&self, client_id: &str) -> Credentials {
        self.source(client_id, None)
    }

    /// Tokens of a department system acting for `department`.
    pub fn department_credentials(&self, department: &str) -> Credentials {
        self.source(Role::DepartmentSystem.as_str(), Some(department))
    }

    /// One token of `client_id`, for a test that sends it by hand.
    pub async fn token(&self, client_id: &str) -> anyhow::Result<String> {
        match self.credentials(client_id) {
            Credentials::Source(source) => source.token().await,
            Credentials::Token(token) => Ok(token.to_string()),
        }
    }

    /// `channel` sending the tokens of `client_id`.
    pub fn channel(
        &self,
        channel: tonic::transport::Channel,
        client_id: &str,
    ) -> AuthorizedChannel {
        Bearer::new(channel, self.credentials(client_id))
    }

    fn source(&self, client_id: &str, department: Option<&str>) -> Credentials {
        let mut sources = self
            .sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (client_id.to_owned(), department.map(str::to_owned));
        let source = sources.entry(key).or_insert_with(|| {
            let extra = department
                .map(|code| vec![("department".to_owned(), code.to_owned())])
                .unwrap_or_default();
            TokenSource::with_parameters(
                &self.issuer,
                self.client_credentials(client_id),
                None,
                extra,
            )
            .expect("the test provider's issuer is a loopback URL")
        });
        Credentials::Source(source.clone())
    }

    /// Writes the file the command-line client reads to act as a role (as
    /// `scripts/run-local.sh` writes `.local/dev-idp/cli.json`): the issuer and every client's
    /// secret.
    pub fn write_cli_file(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let clients: serde_json::Map<String, serde_json::Value> = self
            .secrets
            .iter()
            .map(|(id, secret)| (id.clone(), secret.clone().into()))
            .collect();
        std::fs::write(
            path,
            serde_json::to_vec(&serde_json::json!({"issuer": self.issuer, "clients": clients}))?,
        )?;
        Ok(())
    }

    /// Stops the provider, as an outage would (tests of a provider that does not answer).
    pub fn stop(&self) {
        if let Some(mut child) = self
            .child
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `deploy/dev-idp` of this checkout.
pub fn dev_idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dev-idp")
}

fn node_bin() -> PathBuf {
    std::env::var_os("NODE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "node".into())
}

/// Installs the provider's packages (as pinned in its package-lock.json) when they are missing.
async fn install(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.join("node_modules/oidc-provider").is_dir() {
        return Ok(());
    }
    let output = tokio::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .await
        .context("cannot run npm to install the development identity provider")?;
    if !output.status.success() {
        bail!(
            "npm ci in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

async fn wait_for(mut child: Child, port: u16) -> anyhow::Result<Child> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the identity provider exited with {status}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the identity provider did not listen within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
