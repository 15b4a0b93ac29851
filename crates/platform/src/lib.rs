//! Wiring that every Borgerraad service shares, so each service holds only its domain and adapters.
//!
//! - [`settings`]: configuration from environment variables with working local defaults.
//! - [`departments`]: the configured departments, their codes and Danish names.
//! - [`telemetry`]: `tracing` logs, OpenTelemetry traces and metrics over OTLP, and W3C trace
//!   context in and out of gRPC metadata and message headers.
//! - [`shutdown`]: one cancellation token per process, tripped by SIGTERM or Ctrl-C.
//! - [`convert`]: timestamps and dates between protobuf and chrono.
//! - [`clock`]: the injectable clock that deadlines, timers and reports read time through.
//! - [`db`]: a connection pool on the service's own schema, with its migrations applied.
//! - [`auth`]: bearer tokens verified against the identity provider, and the roles each method
//!   needs.
//! - [`grpc`]: serving with health, reflection and tracing; precise error statuses.
//! - [`tls`]: encrypted gRPC for servers and clients, trusting only configured CAs.

pub mod auth;
pub mod clock;
pub mod convert;
pub mod db;
pub mod departments;
pub mod grpc;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod tls;

/// The body of every service's `main`: telemetry on, run the application until SIGTERM/Ctrl-C,
/// log a failure, flush telemetry. `application` receives the shutdown token.
pub async fn run_service<F, Fut>(
    settings: &settings::CommonSettings,
    application: F,
) -> anyhow::Result<()>
where
    F: FnOnce(tokio_util::sync::CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let telemetry = telemetry::init(settings)?;
    let outcome = application(shutdown::on_signal()).await;
    if let Err(error) = &outcome {
        tracing::error!(
            error = format!("{error:#}"),
            "{} stopped with an error",
            settings.service_name
        );
    }
    telemetry.shutdown();
    outcome
}
