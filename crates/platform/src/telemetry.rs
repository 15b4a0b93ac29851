//! Logs, traces and metrics, and the W3C trace context that ties one inquiry's work together
//! across gRPC calls and NATS messages.
//!
//! A tracer provider is always installed so every span has a trace id that propagates; spans
//! and metrics are exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::collections::HashMap;

use anyhow::Context as _;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter};

use crate::settings::{CommonSettings, LogFormat};

const DEFAULT_FILTER: &str = "info,sqlx=warn,async_nats=warn,h2=warn,hyper=warn,tower=warn";

/// Flushes and stops the exporters when the service ends.
#[must_use = "dropping the guard at once would stop exporting telemetry"]
pub struct TelemetryGuard {
    tracer_provider: SdkTracerProvider,
    meter_provider: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    pub fn shutdown(self) {
        if let Err(error) = self.tracer_provider.shutdown() {
            eprintln!("trace export did not shut down cleanly: {error}");
        }
        if let Some(meters) = self.meter_provider
            && let Err(error) = meters.shutdown()
        {
            eprintln!("metric export did not shut down cleanly: {error}");
        }
    }
}

/// Installs the global subscriber, tracer and meter providers and the W3C propagator.
pub fn init(settings: &CommonSettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();

    let mut tracer_builder = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut meter_provider = None;
    if let Some(endpoint) = &settings.otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        // "collector:4317" would be taken as https, which this build does not speak.
        let endpoint = if endpoint.contains("://") {
            endpoint.clone()
        } else {
            format!("http://{endpoint}")
        };
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .context("cannot build the OTLP span exporter")?;
        tracer_builder = tracer_builder.with_batch_exporter(spans);
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .context("cannot build the OTLP metric exporter")?;
        let meters = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_periodic_exporter(metrics)
            .build();
        opentelemetry::global::set_meter_provider(meters.clone());
        meter_provider = Some(meters);
    }
    let tracer_provider = tracer_builder.build();
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());

    let tracer = tracer_provider.tracer(settings.service_name.clone());
    install_subscriber(settings.log_format, tracer)?;
    Ok(TelemetryGuard {
        tracer_provider,
        meter_provider,
    })
}

/// The subscriber: an env filter, a fmt layer, and an OpenTelemetry layer that leaves out the
/// exporter's own stack so that exporting never produces more spans to export.
pub fn install_subscriber(
    format: LogFormat,
    tracer: opentelemetry_sdk::trace::SdkTracer,
) -> anyhow::Result<()> {
    let env_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    let otel_filter = filter::filter_fn(|meta| {
        let target = meta.target();
        !["opentelemetry", "h2", "hyper", "tonic", "tower"]
            .iter()
            .any(|prefix| target.starts_with(prefix))
    });
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(otel_filter);
    let fmt = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    tracing_subscriber::registry()
        .with(env_filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .context("a global tracing subscriber is already installed")
}

/// Writes the current span's trace context into `carrier`.
pub fn inject_current_context(carrier: &mut dyn Injector) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, carrier);
}

/// Reads a trace context from `carrier`; empty when it holds none.
pub fn extract_context(carrier: &dyn Extractor) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(carrier)
}

/// Makes `span` a child of the trace context found in `carrier`, if any.
pub fn set_parent_from(span: &tracing::Span, carrier: &dyn Extractor) {
    // An error means the span is disabled; there is then nothing to link.
    let _ = span.set_parent(extract_context(carrier));
}

/// Links `span` to `to`: a span for a batch of messages to the span of each message, which
/// continues its own trace.
pub fn link(span: &tracing::Span, to: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt as _;
    let context = to.context();
    let target = context.span().span_context().clone();
    if target.is_valid() {
        span.add_link(target);
    }
}

/// The current trace context as a small map (`traceparent`, `tracestate`), for storing beside an
/// outbox row so the event is published in the trace of the request that caused it.
pub fn current_context_map() -> HashMap<String, String> {
    let mut map = HashMap::new();
    inject_current_context(&mut map);
    map
}

/// The trace id of the current span (32 lowercase hex digits), if it belongs to a trace.
pub fn current_trace_id() -> Option<String> {
    trace_id_of(current_context_map().get("traceparent")?)
}

/// The trace id in a W3C `traceparent` value (`00-<trace id>-<span id>-<flags>`), if it is a
/// valid one: 32 lowercase hex digits, not all zero.
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.trim().split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    let valid = trace_id.len() == 32
        && trace_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && trace_id.bytes().any(|b| b != b'0');
    valid.then(|| trace_id.to_owned())
}

/// Carries trace context in HTTP/2 headers (gRPC metadata is HTTP headers on the wire).
pub struct HeaderCarrier<'a>(pub &'a mut http::HeaderMap);

impl Injector for HeaderCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Reads trace context from incoming HTTP/2 headers.
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_is_read_from_a_valid_traceparent_only() {
        assert_eq!(
            trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for invalid in [
            "",
            "00",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-Karen Jensen 0101901234 xxxxxxxx-00f067aa0ba902b7-01",
        ] {
            assert_eq!(trace_id_of(invalid), None, "{invalid}");
        }
    }
}
