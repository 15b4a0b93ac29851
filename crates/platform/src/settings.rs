//! Settings every service reads from its environment. Defaults work on a developer machine with
//! PostgreSQL and NATS on their standard local ports.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// A value that must never reach a log line, such as a database URL with a password.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// The name in traces and logs, e.g. "intake".
    pub service_name: String,
    pub grpc_addr: SocketAddr,
    pub database_url: Secret,
    pub nats_url: String,
    /// How to prove who we are to NATS, and whether and how to check its certificate.
    pub nats: NatsSettings,
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
}

impl CommonSettings {
    /// Reads `GRPC_ADDR`, `DATABASE_URL`, `NATS_URL` (and [`NatsSettings`]), `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_SERVICE_NAME` and `LOG_FORMAT` (`json` or `pretty`).
    pub fn from_env(service_name: &str, default_grpc_port: u16) -> anyhow::Result<Self> {
        let grpc_addr = var("GRPC_ADDR")
            .unwrap_or_else(|| format!("127.0.0.1:{default_grpc_port}"))
            .parse()
            .context("GRPC_ADDR must be a socket address such as 0.0.0.0:50051")?;
        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => anyhow::bail!("LOG_FORMAT must be json or pretty, not {other:?}"),
        };
        Ok(Self {
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.to_owned()),
            grpc_addr,
            database_url: Secret::new(
                var("DATABASE_URL")
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/borgerraad".into()),
            ),
            nats_url: var("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            nats: NatsSettings::from_env()?,
            otlp_endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            log_format,
        })
    }
}

/// Who a service is to NATS. The server's configuration gives each service's user its own
/// publish and subscribe permissions (see `deploy/nats.conf`), so the credentials decide which
/// events a process may publish.
#[derive(Debug, Clone, Default)]
pub enum NatsCredentials {
    /// No credentials: only for a server without authentication (development, tests).
    #[default]
    None,
    /// `NATS_USER` and `NATS_PASSWORD(_FILE)`.
    UserPassword { user: String, password: Secret },
    /// `NATS_NKEY_SEED(_FILE)`: the seed signs the server's nonce; it never leaves the process.
    NKey { seed: Secret },
}

/// The connection to NATS beyond its URL.
#[derive(Debug, Clone, Default)]
pub struct NatsSettings {
    pub credentials: NatsCredentials,
    /// `NATS_TLS_CA_FILE`: the CA (PEM) that signed the server's certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// `NATS_TLS_REQUIRED=true`: refuse a connection that is not TLS (also implied by `tls://`).
    pub tls_required: bool,
}

impl NatsSettings {
    /// Reads `NATS_USER` + `NATS_PASSWORD(_FILE)` or `NATS_NKEY_SEED(_FILE)`, `NATS_TLS_CA_FILE`
    /// and `NATS_TLS_REQUIRED`.
    pub fn from_env() -> anyhow::Result<Self> {
        let user = var("NATS_USER");
        let password = secret_var("NATS_PASSWORD")?;
        let seed = secret_var("NATS_NKEY_SEED")?;
        let credentials = match (user, password, seed) {
            (None, None, None) => NatsCredentials::None,
            (Some(user), Some(password), None) => NatsCredentials::UserPassword {
                user,
                password: Secret::new(password),
            },
            (None, None, Some(seed)) => NatsCredentials::NKey {
                seed: Secret::new(seed),
            },
            (Some(_), None, None) => anyhow::bail!("NATS_USER is set without NATS_PASSWORD"),
            (None, Some(_), None) => anyhow::bail!("NATS_PASSWORD is set without NATS_USER"),
            _ => {
                anyhow::bail!("set either NATS_USER and NATS_PASSWORD or NATS_NKEY_SEED, not both")
            }
        };
        Ok(Self {
            credentials,
            tls_ca_file: var("NATS_TLS_CA_FILE").map(PathBuf::from),
            tls_required: parsed_var("NATS_TLS_REQUIRED", false)?,
        })
    }
}

/// A secret from the environment: `NAME`, or the content of the file named by `NAME_FILE` (for
/// container secrets), without its trailing newline. Both set is an error; neither is `None`.
pub fn secret_var(name: &str) -> anyhow::Result<Option<String>> {
    let file_name = format!("{name}_FILE");
    match (var(name), var(&file_name)) {
        (Some(_), Some(_)) => anyhow::bail!("set {name} or {file_name}, not both"),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {file_name} ({path})"))?;
            let value = content
                .strip_suffix('\n')
                .map(|v| v.strip_suffix('\r').unwrap_or(v))
                .unwrap_or(&content);
            Ok(Some(value.to_owned()))
        }
        (None, None) => Ok(None),
    }
}

/// An environment variable, treating an empty value as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A parsed environment variable, or the default when unset.
pub fn parsed_var<T>(name: &str, default: T) -> anyhow::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .with_context(|| format!("{name} has an invalid value {raw:?}")),
    }
}
