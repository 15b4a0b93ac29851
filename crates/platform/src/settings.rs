//! Settings every service reads from its environment. Defaults work on a developer machine with
//! PostgreSQL and NATS on their standard local ports; transport security has no default (see
//! [`crate::tls`]). Secrets are read with [`secret_var`], so each can come from a mounted file.

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
    /// TLS or (in development, explicitly) plain text for the gRPC port.
    pub transport: crate::tls::ServerTransport,
    pub database_url: Secret,
    pub nats_url: String,
    /// How to prove who we are to NATS, and whether and how to check its certificate.
    pub nats: NatsSettings,
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    /// The identity provider whose access tokens this service accepts.
    pub auth: crate::auth::AuthSettings,
}

impl CommonSettings {
    /// Reads `GRPC_ADDR`, the transport settings (`GRPC_TLS_*`, `GRPC_PLAINTEXT`),
    /// `DATABASE_URL` (or `DATABASE_URL_FILE`; `sslmode=verify-full&sslrootcert=…` in it for TLS
    /// to PostgreSQL), `NATS_URL` (and [`NatsSettings`]), `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_SERVICE_NAME`, `LOG_FORMAT` (`json` or `pretty`) and the identity provider's
    /// `AUTH_*` settings ([`crate::auth::AuthSettings::from_env`]).
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
        #[cfg(feature = "unauthenticated-baseline")]
        crate::auth::baseline::check_acknowledged(
            var(crate::auth::baseline::ACKNOWLEDGEMENT.0).as_deref(),
        )?;
        Ok(Self {
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.to_owned()),
            grpc_addr,
            transport: crate::tls::ServerTransport::from_env()?,
            database_url: Secret::new(
                secret_var("DATABASE_URL")?
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/borgerraad".into()),
            ),
            nats_url: var("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            nats: NatsSettings::from_env()?,
            otlp_endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            log_format,
            auth: crate::auth::AuthSettings::from_env()?,
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

/// An environment variable, treating an empty value as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A secret from the environment: `NAME` itself, or the content of the file `NAME_FILE` names
/// (as container secrets are mounted), without its trailing newline. Both set is an error, as
/// is an unreadable or empty file; neither set is `None`.
pub fn secret_var(name: &str) -> anyhow::Result<Option<String>> {
    secret_var_from(name, &var)
}

fn secret_var_from(
    name: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<String>> {
    let file_variable = format!("{name}_FILE");
    match (get(name), get(&file_variable)) {
        (Some(_), Some(_)) => {
            anyhow::bail!("both {name} and {file_variable} are set: set one of them")
        }
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {file_variable} {path}"))?;
            let value = content.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(!value.is_empty(), "{file_variable} {path} is empty");
            Ok(Some(value.to_owned()))
        }
        (None, None) => Ok(None),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_secret_is_read_from_its_variable() {
        let get = lookup(&[("DATABASE_URL", "postgres://a:b@db/x".into())]);
        assert_eq!(
            secret_var_from("DATABASE_URL", &get).unwrap().as_deref(),
            Some("postgres://a:b@db/x")
        );
    }

    #[test]
    fn a_secret_is_read_from_the_file_its_file_variable_names_without_the_trailing_newline() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("keys");
        std::fs::write(&path, "k1:c2VjcmV0\n").unwrap();
        let get = lookup(&[("PERSONAL_DATA_KEYS_FILE", path.display().to_string())]);
        assert_eq!(
            secret_var_from("PERSONAL_DATA_KEYS", &get)
                .unwrap()
                .as_deref(),
            Some("k1:c2VjcmV0")
        );
    }

    #[test]
    fn an_unset_secret_is_none() {
        assert_eq!(secret_var_from("NOPE", &lookup(&[])).unwrap(), None);
    }

    #[test]
    fn a_secret_set_both_ways_is_refused() {
        let get = lookup(&[("X", "a".into()), ("X_FILE", "/run/secrets/x".into())]);
        let error = secret_var_from("X", &get).unwrap_err().to_string();
        assert_eq!(error, "both X and X_FILE are set: set one of them");
    }

    #[test]
    fn a_missing_or_empty_secret_file_is_named() {
        let folder = tempfile::tempdir().unwrap();
        let empty = folder.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let get = lookup(&[("X_FILE", empty.display().to_string())]);
        let error = secret_var_from("X", &get).unwrap_err().to_string();
        assert!(error.ends_with("is empty"), "{error}");
        let get = lookup(&[("X_FILE", "/nonexistent/x".into())]);
        let error = secret_var_from("X", &get).unwrap_err().to_string();
        assert_eq!(error, "cannot read X_FILE /nonexistent/x");
    }
}
