//! A secured private nats-server: the services' users with the permissions of
//! `deploy/nats-permissions.conf` (the very file the deployment includes), random passwords,
//! an [`OBSERVER`] that may publish and read everything, for a test's own looks and forgeries,
//! and the backups' user [`BACKUP`] with `deploy/nats-backup-permissions.conf`.
//!
//! The passwords reach the server as environment variables of its process, referred to from the
//! configuration as `deploy/nats.conf` refers to them, so the file written holds no secret.

use std::fmt;
use std::process::Command;

use anyhow::Context as _;

use crate::NatsServer;

/// The permissions the deployment gives each service, compiled in so tests check the real file.
const PERMISSIONS: &str = include_str!("../../../deploy/nats-permissions.conf");

/// The permissions of the backups' user, from the file an operator includes beside them.
const BACKUP_PERMISSIONS: &str = include_str!("../../../deploy/nats-backup-permissions.conf");

/// Each service's NATS user, the variable its password comes from and the permissions it gets,
/// as in `deploy/nats.conf`.
pub const SERVICE_USERS: [(&str, &str, &str); 4] = [
    ("intake", "NATS_INTAKE_PASSWORD", "INTAKE_PERMISSIONS"),
    (
        "eligibility",
        "NATS_ELIGIBILITY_PASSWORD",
        "ELIGIBILITY_PERMISSIONS",
    ),
    (
        "deadline-monitoring",
        "NATS_DEADLINE_MONITORING_PASSWORD",
        "DEADLINE_MONITORING_PERMISSIONS",
    ),
    (
        "reporting",
        "NATS_REPORTING_PASSWORD",
        "REPORTING_PERMISSIONS",
    ),
];

/// The test's own user on a secured server: every subject, both ways.
pub const OBSERVER: &str = "observer";
const OBSERVER_PASSWORD_VAR: &str = "NATS_OBSERVER_PASSWORD";

/// The user of `scripts/backup.sh`, with the deployment's `BACKUP_PERMISSIONS`.
pub const BACKUP: &str = "backup";
const BACKUP_PASSWORD_VAR: &str = "NATS_BACKUP_PASSWORD";

/// A user of a secured server and its password.
#[derive(Clone)]
pub struct NatsIdentity {
    pub user: String,
    password: String,
}

impl fmt::Debug for NatsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsIdentity")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl NatsIdentity {
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Options that log in as this user, with the user's own inbox prefix (`_INBOX.<user>`), as
    /// a service configured with `NATS_USER`/`NATS_PASSWORD` connects.
    pub fn connect_options(&self) -> async_nats::ConnectOptions {
        async_nats::ConnectOptions::new()
            .user_and_password(self.user.clone(), self.password.clone())
            .custom_inbox_prefix(format!("_INBOX.{}", self.user))
    }

    /// A client logged in as this user.
    pub async fn connect(&self, url: &str) -> anyhow::Result<async_nats::Client> {
        self.connect_options()
            .connect(url)
            .await
            .with_context(|| format!("cannot connect to NATS as {}", self.user))
    }
}

/// The configuration of a secured server: a folder with its file, and the passwords.
pub(crate) struct Secured {
    dir: tempfile::TempDir,
    identities: Vec<(NatsIdentity, &'static str)>,
}

impl Secured {
    fn new() -> anyhow::Result<Self> {
        let password = || format!("p{}", uuid::Uuid::new_v4().simple());
        let mut identities: Vec<(NatsIdentity, &'static str)> = SERVICE_USERS
            .iter()
            .map(|(user, variable, _)| {
                (
                    NatsIdentity {
                        user: (*user).to_owned(),
                        password: password(),
                    },
                    *variable,
                )
            })
            .collect();
        for (user, variable) in [
            (OBSERVER, OBSERVER_PASSWORD_VAR),
            (BACKUP, BACKUP_PASSWORD_VAR),
        ] {
            identities.push((
                NatsIdentity {
                    user: user.to_owned(),
                    password: password(),
                },
                variable,
            ));
        }
        let mut users = String::new();
        for (user, variable, permissions) in SERVICE_USERS {
            users.push_str(&format!(
                "    {{ user: \"{user}\", password: ${variable}, permissions: ${permissions} }}\n"
            ));
        }
        users.push_str(&format!(
            "    {{ user: \"{OBSERVER}\", password: ${OBSERVER_PASSWORD_VAR} }}\n"
        ));
        users.push_str(&format!(
            "    {{ user: \"{BACKUP}\", password: ${BACKUP_PASSWORD_VAR}, permissions: $BACKUP_PERMISSIONS }}\n"
        ));
        let config = format!(
            "{PERMISSIONS}\n{BACKUP_PERMISSIONS}\nauthorization {{\n  users = [\n{users}  ]\n}}\n"
        );
        let dir = tempfile::tempdir().context("cannot create a folder for nats.conf")?;
        std::fs::write(dir.path().join("nats.conf"), config).context("cannot write nats.conf")?;
        Ok(Self { dir, identities })
    }

    /// Points the server at the configuration and hands it the passwords.
    pub(crate) fn configure(&self, command: &mut Command) {
        command.arg("-c").arg(self.dir.path().join("nats.conf"));
        for (identity, variable) in &self.identities {
            command.env(variable, &identity.password);
        }
    }

    fn identity(&self, user: &str) -> Option<NatsIdentity> {
        self.identities
            .iter()
            .find(|(identity, _)| identity.user == user)
            .map(|(identity, _)| identity.clone())
    }
}

impl NatsServer {
    /// A private server that lets in only the services' users (each with the deployment's
    /// permissions) and [`OBSERVER`]; [`NatsServer::client`] logs in as the observer.
    pub async fn start_secured() -> anyhow::Result<Self> {
        Self::start_with(Some(Secured::new()?)).await
    }

    /// The user `name` (a service's name, or [`OBSERVER`]) of a secured server; `None` on an
    /// open server.
    pub fn identity(&self, name: &str) -> Option<NatsIdentity> {
        self.secured.as_ref()?.identity(name)
    }

    pub fn is_secured(&self) -> bool {
        self.secured.is_some()
    }
}
