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
    /// The identity provider whose access tokens this service accepts.
    pub auth: crate::auth::AuthSettings,
}

impl CommonSettings {
    /// Reads `GRPC_ADDR`, `DATABASE_URL`, `NATS_URL` (and [`NatsSettings`]),
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, `LOG_FORMAT` (`json` or `pretty`) and
    /// the identity provider's `AUTH_*` settings ([`crate::auth::AuthSettings::from_env`]).
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

/// A secret from the environment: `NAME`, or the content of the file named by `NAME_FILE` (as
/// container secrets are mounted), without its trailing newline. `None` when neither is set;
/// both set is an error, since it is unclear which one the operator meant.
pub fn secret_var(name: &str) -> anyhow::Result<Option<String>> {
    let file_name = format!("{name}_FILE");
    match (var(name), var(&file_name)) {
        (Some(_), Some(_)) => {
            anyhow::bail!("both {name} and {file_name} are set; set only one of them")
        }
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(&path)
                .with_context(|| format!("{file_name}: cannot read {path}"))?;
            let value = content
                .strip_suffix('\n')
                .map(|value| value.strip_suffix('\r').unwrap_or(value))
                .unwrap_or(&content);
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

    /// Environment variables are process-wide: each test uses names of its own.
    fn set(name: &str, value: &str) {
        // SAFETY: the names are unique to one test, and no other thread reads them.
        unsafe { std::env::set_var(name, value) };
    }

    #[test]
    fn a_secret_is_read_from_its_variable() {
        set("SECRET_VAR_TEST_PLAIN", "s3cret");
        assert_eq!(
            secret_var("SECRET_VAR_TEST_PLAIN")
                .expect("read")
                .as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn a_secret_is_read_from_the_named_file_without_its_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("secret-var-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let unix = dir.join("unix");
        let windows = dir.join("windows");
        std::fs::write(&unix, "line one\nline two\n").expect("write");
        std::fs::write(&windows, "pass word\r\n").expect("write");
        set("SECRET_VAR_TEST_UNIX_FILE", &unix.to_string_lossy());
        set("SECRET_VAR_TEST_WINDOWS_FILE", &windows.to_string_lossy());
        assert_eq!(
            secret_var("SECRET_VAR_TEST_UNIX").expect("read").as_deref(),
            Some("line one\nline two")
        );
        assert_eq!(
            secret_var("SECRET_VAR_TEST_WINDOWS")
                .expect("read")
                .as_deref(),
            Some("pass word")
        );
        std::fs::remove_dir_all(dir).expect("clean up");
    }

    #[test]
    fn an_unset_secret_is_none_and_a_missing_file_an_error_naming_the_variable() {
        assert_eq!(secret_var("SECRET_VAR_TEST_UNSET").expect("read"), None);
        set("SECRET_VAR_TEST_MISSING_FILE", "/nonexistent/secret");
        let error = secret_var("SECRET_VAR_TEST_MISSING").expect_err("no such file");
        assert!(
            format!("{error:#}").contains("SECRET_VAR_TEST_MISSING_FILE"),
            "{error:#}"
        );
    }

    #[test]
    fn a_secret_set_both_ways_is_refused() {
        set("SECRET_VAR_TEST_BOTH", "one");
        set("SECRET_VAR_TEST_BOTH_FILE", "/dev/null");
        let error = secret_var("SECRET_VAR_TEST_BOTH").expect_err("ambiguous");
        assert!(error.to_string().contains("only one"), "{error}");
    }
}
