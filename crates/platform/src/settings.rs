//! Settings every service reads from its environment. Defaults work on a developer machine with
//! PostgreSQL and NATS on their standard local ports.

use std::net::SocketAddr;

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
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    /// The identity provider whose access tokens this service accepts.
    pub auth: crate::auth::AuthSettings,
}

impl CommonSettings {
    /// Reads `GRPC_ADDR`, `DATABASE_URL`, `NATS_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
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
        Ok(Self {
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.to_owned()),
            grpc_addr,
            database_url: Secret::new(
                var("DATABASE_URL")
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/borgerraad".into()),
            ),
            nats_url: var("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            otlp_endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            log_format,
            auth: crate::auth::AuthSettings::from_env()?,
        })
    }
}

/// An environment variable, treating an empty value as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A secret from `NAME`, or from the file `NAME_FILE` names (as Docker and Kubernetes mount
/// secrets; one trailing line break is dropped). Both set is a mistake, not a choice.
pub fn secret_var(name: &str) -> anyhow::Result<Option<String>> {
    let file_var = format!("{name}_FILE");
    match (var(name), var(&file_var)) {
        (Some(_), Some(_)) => anyhow::bail!("set {name} or {file_var}, not both"),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(&path)
                .with_context(|| format!("{file_var}: cannot read {path}"))?;
            let content = content
                .strip_suffix('\n')
                .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
                .unwrap_or(&content);
            anyhow::ensure!(!content.trim().is_empty(), "{file_var}: {path} is empty");
            Ok(Some(content.to_owned()))
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
