//! Serving gRPC the same way in every service: health (grpc.health.v1) and reflection (v1 and
//! v1alpha, for grpcurl and probes) of this port's own service, a precise UNIMPLEMENTED for
//! another service's methods, a span per call continuing the caller's trace, each call's failure
//! logged at the level its status code deserves ([`log_level`]), a graceful drain on shutdown,
//! every call but health and reflection authenticated and authorised ([`crate::auth`]), and
//! helpers for precise error statuses.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use prost::Message as _;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::{Interceptor, Routes};
use tonic::{Code, Status};
use tonic_health::ServingStatus;
use tonic_types::{ErrorDetails, StatusExt};
use tower_http::classify::GrpcFailureClass;
use tower_http::trace::{MakeSpan, OnFailure, OnResponse, TraceLayer};
use tracing::{Level, Span};

use crate::auth::{AuthLayer, Verifier};
use crate::telemetry::{HeaderExtractor, set_parent_from};

/// How long calls in flight may take to finish after shutdown began.
const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

/// The services reflection lists besides the port's own.
const SHARED_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Serves `routes` (the service `service_name`, e.g. "borgerraad.v1.IntakeService") plus health
/// and reflection on `listener`, over `transport` (TLS, or plain text in development), until
/// `shutdown` is cancelled; then reports NOT_SERVING, stops
/// accepting calls and lets calls in flight finish, for at most [`DRAIN_DEADLINE`] (a health
/// Watch stream, for one, would otherwise never end).
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    service_name: &'static str,
    verifier: Arc<Verifier>,
    transport: &crate::tls::ServerTransport,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(service_name, ServingStatus::Serving)
        .await;
    let own = own_descriptors(borgerraad_proto::FILE_DESCRIPTOR_SET, service_name)?;
    let reflection = || {
        let builder = tonic_reflection::server::Builder::configure()
            .register_file_descriptor_set(own.clone())
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(borgerraad_proto::GOOGLE_RPC_FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .with_service_name(service_name);
        SHARED_SERVICES
            .into_iter()
            .fold(builder, |builder, name| builder.with_service_name(name))
    };
    let reflection_v1 = reflection()
        .build_v1()
        .context("cannot build the reflection service")?;
    // grpcurl 1.8 only speaks the v1alpha protocol.
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("cannot build the reflection service")?;
    let mut routes = routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    // Any other path is another service's method (or none): say which service this port serves.
    let router = std::mem::take(routes.axum_router_mut());
    *routes.axum_router_mut() = router.fallback(move |uri: http::Uri| async move {
        not_served_here(service_name, uri.path()).into_http::<tonic::body::Body>()
    });

    let deadline = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            tokio::time::sleep(DRAIN_DEADLINE).await;
        }
    };
    let drain = async move {
        shutdown.cancelled().await;
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        health
            .set_service_status(service_name, ServingStatus::NotServing)
            .await;
    };
    #[cfg(feature = "unauthenticated-baseline")]
    crate::auth::baseline::warn_at_start();
    let server = transport
        .server_builder()?
        .timeout(Duration::from_secs(30))
        .layer(
            TraceLayer::new_for_grpc()
                .make_span_with(GrpcSpan)
                .on_response(GrpcStatus)
                .on_failure(GrpcFailure),
        )
        // Inside the trace layer, so a refused call is traced and logged like any other.
        .layer(AuthLayer::new(verifier))
        .add_routes(routes)
        // tonic applies TCP_NODELAY only to listeners it binds itself; without it, Nagle's
        // algorithm meets delayed ACKs and a small response waits some 40 ms.
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            drain,
        );
    tokio::select! {
        served = server => served.context("the gRPC server failed"),
        () = deadline => {
            tracing::warn!("calls still open after the drain deadline; stopping anyway");
            Ok(())
        }
    }
}

/// A server span per call, named like OpenTelemetry's RPC conventions, child of the caller's.
#[derive(Clone, Copy)]
struct GrpcSpan;

impl<B> MakeSpan<B> for GrpcSpan {
    fn make_span(&mut self, request: &http::Request<B>) -> Span {
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        set_parent_from(&span, &HeaderExtractor(request.headers()));
        span
    }
}

#[derive(Clone, Copy)]
struct GrpcStatus;

impl<B> OnResponse<B> for GrpcStatus {
    fn on_response(self, response: &http::Response<B>, latency: Duration, span: &Span) {
        // Error replies are trailers-only, so the status sits in the headers.
        let code = response
            .headers()
            .get("grpc-status")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i32>().ok())
            .unwrap_or(0);
        span.record("rpc.grpc.status_code", code);
        tracing::debug!(
            latency_ms = latency.as_millis() as u64,
            code,
            "call finished"
        );
    }
}

/// Emits a `tracing` event at a level chosen at run time (the macros want a constant).
macro_rules! log_at {
    ($level:expr, $($event:tt)+) => {{
        let level = $level;
        if level == Level::ERROR {
            tracing::error!($($event)+)
        } else if level == Level::WARN {
            tracing::warn!($($event)+)
        } else if level == Level::INFO {
            tracing::info!($($event)+)
        } else if level == Level::DEBUG {
            tracing::debug!($($event)+)
        } else {
            tracing::trace!($($event)+)
        }
    }};
}

/// Logs a failed call once, at the level its status code deserves. (tower-http's default logs
/// every non-OK status at ERROR, so a caller's typo would look like a fault of the service.)
#[derive(Clone, Copy)]
struct GrpcFailure;

impl OnFailure<GrpcFailureClass> for GrpcFailure {
    fn on_failure(&mut self, failure: GrpcFailureClass, latency: Duration, span: &Span) {
        let latency_ms = latency.as_millis() as u64;
        match failure {
            GrpcFailureClass::Code(code) => {
                // A streamed reply carries its status in the trailers, after on_response.
                span.record("rpc.grpc.status_code", code.get());
                let code = Code::from_i32(code.get());
                log_at!(
                    log_level(code),
                    latency_ms,
                    grpc_code = ?code,
                    "call failed"
                );
            }
            // The reply could not be sent as the service made it.
            GrpcFailureClass::Error(error) => {
                tracing::error!(latency_ms, %error, "call failed: the response broke off");
            }
        }
    }
}

/// How loudly a call that ended with `code` is logged. ERROR means the service is at fault and
/// someone should look. A caller's mistake, or a state the caller must deal with, is routine:
/// INFO. WARN is for what is still not the service's fault but worth an operator's eye: access
/// refused, calls to methods this port does not serve (a misconfigured client), deadlines and
/// limits hit, and a dependency out of reach (UNAVAILABLE; its cause is logged where it happens).
pub fn log_level(code: Code) -> Level {
    match code {
        Code::Ok => Level::DEBUG,
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::OutOfRange
        | Code::Cancelled => Level::INFO,
        Code::Unauthenticated
        | Code::PermissionDenied
        | Code::Unimplemented
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Unavailable => Level::WARN,
        Code::Unknown | Code::Internal | Code::DataLoss => Level::ERROR,
    }
}

/// UNIMPLEMENTED for a call to `path` on a port that serves `service_name` only.
fn not_served_here(service_name: &str, path: &str) -> Status {
    let asked: String = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Status::unimplemented(format!(
        "this port serves {service_name}; {asked} is not served here"
    ))
}

/// The descriptors reflection serves for `service_name`: the file that declares it and every
/// file it imports, out of the encoded set `all`, so a port describes its own service only.
fn own_descriptors(all: &[u8], service_name: &str) -> anyhow::Result<FileDescriptorSet> {
    let all = FileDescriptorSet::decode(all).context("the descriptor set is unreadable")?;
    let declares = |file: &FileDescriptorProto| {
        file.service
            .iter()
            .any(|service| format!("{}.{}", file.package(), service.name()) == service_name)
    };
    let own = all
        .file
        .iter()
        .find(|file| declares(file))
        .with_context(|| format!("no proto file declares {service_name}"))?;
    let mut wanted = vec![own.name().to_owned()];
    let mut next = 0;
    while let Some(name) = wanted.get(next).cloned() {
        next += 1;
        let file = all
            .file
            .iter()
            .find(|file| file.name() == name)
            .with_context(|| format!("the descriptor set lacks {name}"))?;
        for dependency in &file.dependency {
            if !wanted.contains(dependency) {
                wanted.push(dependency.clone());
            }
        }
    }
    Ok(FileDescriptorSet {
        file: all
            .file
            .into_iter()
            .filter(|file| wanted.iter().any(|name| name == file.name()))
            .collect(),
    })
}

/// Adds the current trace context to outgoing calls, so the callee continues our trace.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceContextInterceptor;

impl Interceptor for TraceContextInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        crate::telemetry::inject_current_context(&mut crate::telemetry::HeaderCarrier(
            &mut headers,
        ));
        *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
        Ok(request)
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// INVALID_ARGUMENT with a `google.rpc.BadRequest` listing every violation.
pub fn invalid_argument(violations: &[FieldViolation]) -> Status {
    let message = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    let details = ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|v| tonic_types::FieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// Parses an id field, or explains which field is wrong.
pub fn parse_id(field: &str, value: &str) -> Result<uuid::Uuid, Status> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| invalid_argument(&[FieldViolation::new(field, "must be a UUID")]))
}

/// The status for a failure the caller cannot fix: UNAVAILABLE (safe to retry) when the database
/// is out of reach, INTERNAL otherwise. The cause goes to the log, never to the caller.
pub fn unexpected(error: &anyhow::Error) -> Status {
    if crate::db::is_outage(error) {
        tracing::warn!(
            error = format!("{error:#}"),
            "request failed: database unavailable"
        );
        Status::unavailable("the service cannot reach its database; try again shortly")
    } else {
        tracing::error!(error = format!("{error:#}"), "request failed");
        Status::internal("internal error; the incident has been logged")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_unavailable_and_other_failures_are_internal() {
        let outage = anyhow::Error::from(sqlx::Error::PoolTimedOut).context("cannot read inquiry");
        assert_eq!(unexpected(&outage).code(), Code::Unavailable);
        let bug = anyhow::anyhow!("unknown status \"x\"");
        let status = unexpected(&bug);
        assert_eq!(status.code(), Code::Internal);
        assert!(
            !status.message().contains("unknown status"),
            "no internal detail to callers"
        );
    }

    #[test]
    fn a_callers_mistakes_are_logged_below_error_and_faults_of_the_service_at_error() {
        for code in [
            Code::InvalidArgument,
            Code::NotFound,
            Code::AlreadyExists,
            Code::FailedPrecondition,
            Code::Aborted,
            Code::OutOfRange,
            Code::Cancelled,
        ] {
            assert_eq!(log_level(code), Level::INFO, "{code:?}");
        }
        for code in [
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::Unimplemented,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Unavailable,
        ] {
            assert_eq!(log_level(code), Level::WARN, "{code:?}");
        }
        for code in [Code::Internal, Code::Unknown, Code::DataLoss] {
            assert_eq!(log_level(code), Level::ERROR, "{code:?}");
        }
        assert_eq!(log_level(Code::Ok), Level::DEBUG);
    }

    #[test]
    fn a_call_to_another_service_names_the_one_served_here() {
        let status = not_served_here(
            "borgerraad.v1.IntakeService",
            "/borgerraad.v1.ReportingService/GetSummary",
        );
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(
            status.message(),
            "this port serves borgerraad.v1.IntakeService; borgerraad.v1.ReportingService is \
             not served here"
        );
    }

    #[test]
    fn reflection_describes_a_services_own_file_and_what_it_imports_only() {
        let own = own_descriptors(
            borgerraad_proto::FILE_DESCRIPTOR_SET,
            "borgerraad.v1.ReportingService",
        )
        .expect("found");
        let mut names: Vec<_> = own.file.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "borgerraad/v1/common.proto",
                "borgerraad/v1/reporting.proto",
                "google/protobuf/timestamp.proto"
            ]
        );
        assert!(own_descriptors(borgerraad_proto::FILE_DESCRIPTOR_SET, "x.Nope").is_err());
    }

    #[test]
    fn every_violation_is_listed_in_the_bad_request_details() {
        let status = invalid_argument(&[
            FieldViolation::new("department", "unknown"),
            FieldViolation::new("description", "empty"),
        ]);
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<_> = status
            .get_details_bad_request()
            .expect("details")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["department", "description"]);
    }
}

/// Keyset paging shared by the list RPCs: position tokens are opaque to callers.
pub mod paging {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::FieldViolation;

    pub const DEFAULT_PAGE_SIZE: i32 = 50;
    pub const MAX_PAGE_SIZE: i32 = 500;

    /// Where a page starts and how long it is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Page {
        /// The position of the last item of the previous page (0 before the first).
        pub after: i64,
        pub size: usize,
    }

    impl Page {
        /// Reads `page_size` (0 means the default, capped at the maximum) and `page_token`,
        /// adding a violation for each that is wrong.
        pub fn read(
            page_size: i32,
            page_token: &str,
            violations: &mut Vec<FieldViolation>,
        ) -> Self {
            let size = match page_size {
                size if size < 0 => {
                    violations.push(FieldViolation::new("page_size", "must not be negative"));
                    DEFAULT_PAGE_SIZE
                }
                0 => DEFAULT_PAGE_SIZE,
                size => size.min(MAX_PAGE_SIZE),
            };
            let after = decode_token(page_token).unwrap_or_else(|| {
                violations.push(FieldViolation::new(
                    "page_token",
                    "is not a token from a previous page",
                ));
                0
            });
            Self {
                after,
                size: usize::try_from(size).unwrap_or(50),
            }
        }

        /// How many rows to fetch: one extra tells whether another page follows.
        pub fn fetch_limit(&self) -> i64 {
            i64::try_from(self.size).unwrap_or(i64::MAX) + 1
        }

        /// Cuts `rows` to the page and gives the token of the next page (empty on the last).
        pub fn finish<T>(&self, rows: &mut Vec<T>, position: impl Fn(&T) -> i64) -> String {
            if rows.len() > self.size {
                rows.truncate(self.size);
                rows.last()
                    .map(|last| encode_token(position(last)))
                    .unwrap_or_default()
            } else {
                String::new()
            }
        }
    }

    pub fn encode_token(after: i64) -> String {
        URL_SAFE_NO_PAD.encode(format!("after:{after}"))
    }

    /// `Some(0)` for the empty token; `None` for anything no page handed out.
    pub fn decode_token(token: &str) -> Option<i64> {
        if token.is_empty() {
            return Some(0);
        }
        let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        decoded
            .strip_prefix("after:")?
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn tokens_round_trip_and_forged_ones_are_refused() {
            assert_eq!(decode_token(&encode_token(42)), Some(42));
            assert_eq!(decode_token(""), Some(0));
            assert_eq!(decode_token("not a token"), None);
            assert_eq!(decode_token(&URL_SAFE_NO_PAD.encode("after:-5")), None);
        }

        #[test]
        fn a_page_is_cut_to_size_and_points_past_its_last_row() {
            let mut violations = Vec::new();
            let page = Page::read(2, "", &mut violations);
            let mut rows = vec![1, 2, 3];
            assert_eq!(page.finish(&mut rows, |r| *r), encode_token(2));
            assert_eq!(rows, vec![1, 2]);
            let mut last = vec![4];
            assert_eq!(page.finish(&mut last, |r| *r), "");
            Page::read(-1, "forged", &mut violations);
            let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
            assert_eq!(fields, ["page_size", "page_token"]);
        }
    }
}
