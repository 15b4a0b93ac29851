//! One trace follows an inquiry from the caller through every service. This test owns the
//! process's global tracing subscriber, so it lives in a test binary of its own.

use std::collections::HashSet;

use borgerraad_e2e::{SETTLE, TestSystem, valid_submission};
use borgerraad_platform::grpc::TraceContextInterceptor;
use borgerraad_platform::settings::LogFormat;
use borgerraad_proto::v1::intake_service_client::IntakeServiceClient;
use borgerraad_test_harness::eventually;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test]
async fn one_trace_follows_an_inquiry_from_submission_through_every_service() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    borgerraad_platform::telemetry::install_subscriber(LogFormat::Pretty, provider.tracer("e2e"))
        .expect("the only subscriber in this binary");
    let system = TestSystem::start().await.expect("system starts");

    let web_form = tracing::info_span!("web form submits an inquiry");
    let trace_id = web_form.context().span().span_context().trace_id();
    let mut intake = IntakeServiceClient::with_interceptor(
        system.idp.channel(
            system.channel(system.ports.intake).expect("channel"),
            "web-form",
        ),
        TraceContextInterceptor,
    );
    intake
        .submit_inquiry(valid_submission())
        .instrument(web_form)
        .await
        .expect("accepted");

    // Each (span name, consumer group) that must appear in the caller's trace.
    let expected: HashSet<(String, String)> = [
        ("borgerraad.v1.IntakeService/SubmitInquiry", ""),
        ("publish borgerraad.inquiry.received", ""),
        (
            "process borgerraad.inquiry.received",
            "eligibility-inquiries",
        ),
        // Eligibility reads the description from intake within the same trace.
        ("borgerraad.v1.IntakeService/GetInquiry", ""),
        (
            "process borgerraad.inquiry.received",
            "deadline-monitoring-inquiries",
        ),
        ("process borgerraad.inquiry.received", "reporting"),
        ("publish borgerraad.eligibility.assessed", ""),
        ("process borgerraad.eligibility.assessed", "reporting"),
        ("publish borgerraad.deadline.scheduled", ""),
        ("process borgerraad.deadline.scheduled", "reporting"),
    ]
    .into_iter()
    .map(|(name, group)| (name.to_owned(), group.to_owned()))
    .collect();
    let seen = eventually("every service's span in the caller's trace", SETTLE, || {
        let exporter = exporter.clone();
        let expected = expected.clone();
        async move {
            let seen: HashSet<(String, String)> = exporter
                .get_finished_spans()
                .ok()?
                .iter()
                .filter(|span| span.span_context.trace_id() == trace_id)
                .map(|span| {
                    let group =
                        attribute(span, "messaging.consumer.group.name").unwrap_or_default();
                    (span.name.to_string(), group)
                })
                .collect();
            expected.is_subset(&seen).then_some(seen)
        }
    })
    .await;
    assert!(expected.is_subset(&seen));
    system.stop().await.expect("clean shutdown");
}
