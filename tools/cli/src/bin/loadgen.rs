//! Load generator: submits N inquiries at concurrency C and reports intake throughput and the
//! end-to-end latency from submission until the inquiry is both assessed and has a deadline
//! (observed as the `eligibility.assessed` and `deadline.scheduled` events on NATS, which are
//! published only after the services committed them).
//!
//! `--bare-publish` instead measures the baseline: plain JetStream publishes of a similar size,
//! each awaited for its acknowledgement, at the same concurrency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use borgerraad_platform::tls::{ClientTls, client_endpoint};
use borgerraad_proto::v1 as pb;
use clap::Parser;
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use prost::Message as _;

#[derive(Parser)]
#[command(name = "loadgen")]
struct Args {
    #[arg(long, short = 'n', default_value_t = 10_000)]
    requests: usize,
    #[arg(long, short = 'c', default_value_t = 32)]
    concurrency: usize,
    /// Intake is on PORT_BASE + 1 unless --intake / INTAKE_URL says otherwise.
    #[arg(long, env = "PORT_BASE", default_value_t = borgerraad_cli::DEFAULT_PORT_BASE)]
    port_base: u16,
    /// Intake's address [default: https://127.0.0.1:<PORT_BASE + 1>; TLS as the borgerraad CLI:
    /// GRPC_TLS_CA_FILE, GRPC_TLS_CLIENT_CERT_FILE/GRPC_TLS_CLIENT_KEY_FILE, GRPC_PLAINTEXT]
    #[arg(long, env = "INTAKE_URL")]
    intake: Option<String>,
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Measure bare JetStream publishes instead of the system.
    #[arg(long)]
    bare_publish: bool,
    /// Only submit: measure intake without waiting for the rest of the pipeline.
    #[arg(long)]
    submit_only: bool,
    /// Give up waiting for the pipeline after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.bare_publish {
        bare_publish(&args).await
    } else {
        system(&args).await
    }
}

/// When each inquiry was submitted, and when its two downstream events were seen.
#[derive(Default)]
struct Progress {
    submitted: HashMap<String, Instant>,
    assessed: HashMap<String, Instant>,
    scheduled: HashMap<String, Instant>,
}

async fn system(args: &Args) -> anyhow::Result<()> {
    let tls = ClientTls::from_env()?;
    let intake = borgerraad_cli::Addresses::resolve(
        args.port_base,
        tls.default_scheme(),
        borgerraad_cli::Explicit {
            intake: args.intake.clone(),
            ..Default::default()
        },
    )?
    .intake;
    let nats = async_nats::connect(&args.nats)
        .await
        .context("cannot reach NATS")?;
    let mut events = nats.subscribe("borgerraad.>").await?;
    let progress = Arc::new(Mutex::new(Progress::default()));
    let watcher = {
        let progress = progress.clone();
        tokio::spawn(async move {
            while let Some(message) = events.next().await {
                let seen = Instant::now();
                let Ok(event) = pb::Event::decode(message.payload) else {
                    continue;
                };
                let mut progress = progress.lock().unwrap_or_else(|p| p.into_inner());
                match event.r#type.as_str() {
                    "borgerraad.eligibility.assessed" => {
                        progress.assessed.entry(event.subject).or_insert(seen)
                    }
                    "borgerraad.deadline.scheduled" => {
                        progress.scheduled.entry(event.subject).or_insert(seen)
                    }
                    _ => continue,
                };
            }
        })
    };
    nats.flush().await?;

    // A web form's token (see borgerraad_cli::token), asked for once like a real form would.
    let token = borgerraad_cli::token::TokenOrigin::from_env()?
        .token("web-form", None)
        .await
        .context("cannot get a web form's access token")?;
    // Several HTTP/2 connections, as several web-form backends would use.
    let mut channels = Vec::new();
    for _ in 0..args.concurrency.div_ceil(8) {
        channels.push(borgerraad_platform::auth::Bearer::new(
            client_endpoint("INTAKE_URL", &intake, &tls)?
                .connect()
                .await
                .context("cannot reach intake")?,
            borgerraad_platform::auth::Credentials::token(token.clone()),
        ));
    }
    let submit_latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let started = Instant::now();
    let failures = futures::stream::iter(0..args.requests)
        .map(|i| {
            let mut client = pb::intake_service_client::IntakeServiceClient::new(
                channels[i % channels.len()].clone(),
            );
            let progress = progress.clone();
            let submit_latency = submit_latency.clone();
            async move {
                let sent = Instant::now();
                let response = client.submit_inquiry(sample(i)).await;
                let took = sent.elapsed();
                match response {
                    Ok(response) => {
                        submit_latency
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .record(took.as_micros() as u64)
                            .ok();
                        progress
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .submitted
                            .insert(response.into_inner().inquiry_id, sent);
                        0
                    }
                    Err(status) => {
                        eprintln!("submission failed: {status}");
                        1
                    }
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .fold(0usize, |failed, outcome| async move { failed + outcome })
        .await;
    let submit_elapsed = started.elapsed();
    if args.submit_only {
        let latency = submit_latency.lock().unwrap_or_else(|p| p.into_inner());
        println!(
            "intake alone: {:.0} submissions/s ({failures} failed); submit latency ms p50 {:.2} p90 {:.2} p99 {:.2}",
            (args.requests - failures) as f64 / submit_elapsed.as_secs_f64(),
            ms(latency.value_at_quantile(0.5)),
            ms(latency.value_at_quantile(0.9)),
            ms(latency.value_at_quantile(0.99)),
        );
        watcher.abort();
        return Ok(());
    }

    let give_up = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let done = {
            let p = progress.lock().unwrap_or_else(|p| p.into_inner());
            p.submitted
                .keys()
                .filter(|id| p.assessed.contains_key(*id) && p.scheduled.contains_key(*id))
                .count()
        };
        if done == args.requests - failures || Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watcher.abort();

    let p = progress.lock().unwrap_or_else(|p| p.into_inner());
    let mut end_to_end = Histogram::<u64>::new(3)?;
    let mut last_done = started;
    let mut completed = 0;
    for (id, sent) in &p.submitted {
        if let (Some(a), Some(s)) = (p.assessed.get(id), p.scheduled.get(id)) {
            let done = (*a).max(*s);
            last_done = last_done.max(done);
            end_to_end
                .record(done.duration_since(*sent).as_micros() as u64)
                .ok();
            completed += 1;
        }
    }
    let submit_latency = submit_latency.lock().unwrap_or_else(|p| p.into_inner());
    let pipeline_elapsed = last_done.duration_since(started);
    println!(
        "requests {} concurrency {} failed {failures}",
        args.requests, args.concurrency
    );
    println!(
        "intake: {:.0} submissions/s; submit latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        (args.requests - failures) as f64 / submit_elapsed.as_secs_f64(),
        ms(submit_latency.value_at_quantile(0.5)),
        ms(submit_latency.value_at_quantile(0.9)),
        ms(submit_latency.value_at_quantile(0.99)),
        ms(submit_latency.max()),
    );
    println!(
        "pipeline: {completed} completed, {:.0} inquiries/s; end-to-end ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        completed as f64 / pipeline_elapsed.as_secs_f64(),
        ms(end_to_end.value_at_quantile(0.5)),
        ms(end_to_end.value_at_quantile(0.9)),
        ms(end_to_end.value_at_quantile(0.99)),
        ms(end_to_end.max()),
    );
    anyhow::ensure!(
        completed == args.requests,
        "only {completed} of {} inquiries completed",
        args.requests
    );
    Ok(())
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn sample(i: usize) -> pb::SubmitInquiryRequest {
    const DEPARTMENTS: [&str; 5] = [
        "borgmesterforvaltningen",
        "boern-og-unge",
        "beskaeftigelse-og-social",
        "aeldre-og-handicap",
        "by-og-kultur",
    ];
    let held = !i.is_multiple_of(4);
    pb::SubmitInquiryRequest {
        requester_kind: pb::RequesterKind::Citizen.into(),
        requester: Some(pb::Requester {
            name: format!("Borger {i}"),
            cpr: "0101901234".into(),
            ..Default::default()
        }),
        department: DEPARTMENTS[i % DEPARTMENTS.len()].into(),
        request_type: pb::RequestType::Complaint.into(),
        complaint_themes: vec![pb::ComplaintTheme::HandlingTime.into()],
        description:
            "Jeg har ventet længe på svar på min ansøgning og ved ikke, hvad jeg skal gøre.".into(),
        prior_dialogue: Some(pb::PriorDialogue {
            held,
            date: held.then_some(pb::Date {
                year: 2026,
                month: 11,
                day: 2,
            }),
            ..Default::default()
        }),
        contact_channel: pb::ContactChannel::DigitalPost.into(),
        ..Default::default()
    }
}

async fn bare_publish(args: &Args) -> anyhow::Result<()> {
    use async_nats::jetstream::{self, message::PublishMessage, stream};
    let client = async_nats::connect(&args.nats)
        .await
        .context("cannot reach NATS")?;
    let context = jetstream::new(client);
    let name = format!("LOADGEN_BASELINE_{}", std::process::id());
    let subject = format!("loadgen.baseline.{}", std::process::id());
    context
        .create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    // About the size of an inquiry.received event.
    let payload = bytes::Bytes::from(vec![b'x'; 220]);
    let started = Instant::now();
    let context_ref = &context;
    let failures = futures::stream::iter(0..args.requests)
        .map(|i| {
            let subject = subject.clone();
            let payload = payload.clone();
            async move {
                let publish = PublishMessage::build()
                    .payload(payload)
                    .message_id(format!("{i}"));
                match context_ref.send_publish(subject, publish).await {
                    Ok(ack) => usize::from(ack.await.is_err()),
                    Err(_) => 1,
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .fold(0usize, |failed, outcome| async move { failed + outcome })
        .await;
    let elapsed = started.elapsed();
    context.delete_stream(&name).await.ok();
    println!(
        "bare JetStream publish: {} messages at concurrency {}, {failures} failed, {:.0} publishes/s",
        args.requests,
        args.concurrency,
        (args.requests - failures) as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
