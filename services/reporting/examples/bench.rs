//! The reporting benchmark (not a test): publishes the events of N inquiries (default 1,000,000)
//! to a private nats-server, rebuilds the figures from the stream into a fresh database on the
//! local PostgreSQL, and times GetSummary for a year over gRPC. Same-run baselines: the bare
//! JetStream publish rate of those very events (awaited acks, 256 in flight) and pgbench
//! single-row INSERT transactions on the same PostgreSQL.
//!
//!   cargo run --release -p reporting --example bench -- [N]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use borgerraad_messaging::{EventType, new_event};
use borgerraad_platform::clock::ManualClock;
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_platform::departments::Departments;
use borgerraad_platform::settings::{CommonSettings, LogFormat, Secret};
use borgerraad_proto::v1::{self as pb, event::Data};
use borgerraad_test_harness::{NatsServer, TestDatabase};
use chrono::{DateTime, Duration as Days, TimeZone as _, Utc};
use futures::StreamExt as _;
use prost::Message as _;
use uuid::Uuid;

const DEPARTMENTS: [&str; 5] = [
    "beskaeftigelse",
    "boern-og-unge",
    "by-og-kultur",
    "social-og-sundhed",
    "aeldre-og-handicap",
];
/// The departments above as configured, with their Danish names.
fn departments() -> anyhow::Result<Departments> {
    Departments::parse(
        "beskaeftigelse=Beskæftigelsesforvaltningen,boern-og-unge,by-og-kultur,\
         social-og-sundhed=Social- og Sundhedsforvaltningen,aeldre-og-handicap",
    )
}

/// Inquiries whose events are interleaved, as weeks of a real stream would interleave them.
const WAVE: usize = 20_000;

/// A cheap deterministic generator, so every run replays the same stream.
struct Mix(u64);

impl Mix {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// One inquiry's events in the order they happen; about six on average.
fn inquiry(mix: &mut Mix) -> Vec<pb::Event> {
    let id = Uuid::now_v7();
    let department = DEPARTMENTS[mix.next(5) as usize];
    let start = Utc
        .with_ymd_and_hms(2025, 1, 2, 8, 0, 0)
        .single()
        .unwrap_or_default();
    // Received from January 2025 to early December 2026; "now" is 15 December 2026.
    let received_at = start + Days::minutes(mix.next(700 * 24 * 60) as i64);
    let mut events = vec![];
    let mut push = |event_type: EventType, at: DateTime<Utc>, data| {
        events.push(new_event(
            event_type.producer().source(),
            event_type,
            id,
            at,
            data,
        ));
    };
    let request_type = 1 + mix.next(6) as i32;
    push(
        EventType::InquiryReceived,
        received_at,
        Data::InquiryReceived(pb::InquiryReceived {
            inquiry_id: id.to_string(),
            department: department.into(),
            request_type,
            requester_kind: 1 + mix.next(3) as i32,
            arrival_channel: 1 + mix.next(6) as i32,
            complaint_themes: if request_type == 2 {
                vec![1 + mix.next(8) as i32, 1 + mix.next(8) as i32]
            } else {
                vec![]
            },
            received_at: Some(timestamp(received_at)),
            ..Default::default()
        }),
    );
    let outcome = 1 + mix.next(5) as i32;
    push(
        EventType::EligibilityAssessed,
        received_at,
        Data::EligibilityAssessed(pb::EligibilityAssessed {
            inquiry_id: id.to_string(),
            department: department.into(),
            outcome,
            referral_target: if outcome == 3 {
                "ankestyrelsen".into()
            } else {
                String::new()
            },
            revision: 1,
            ..Default::default()
        }),
    );
    let due = working_days::copenhagen_date(received_at) + Days::days(21);
    push(
        EventType::DeadlineScheduled,
        received_at,
        Data::DeadlineScheduled(pb::DeadlineScheduled {
            inquiry_id: id.to_string(),
            department: department.into(),
            due_date: Some(date(due)),
            working_days: 15,
            revision: 1,
            ..Default::default()
        }),
    );
    let step = |version, status: pb::InquiryStatus, at: DateTime<Utc>| pb::InquiryStepTaken {
        inquiry_id: id.to_string(),
        department: department.into(),
        version,
        status_after: status.into(),
        at: Some(timestamp(at)),
        ..Default::default()
    };
    // All but the last few weeks' inquiries are answered, after 1 to 30 working days.
    let recent = received_at > start + Days::days(680);
    if !recent || mix.next(10) < 3 {
        let days = 1 + mix.next(30) as i32;
        let answered_at = received_at + Days::days(i64::from(days) * 7 / 5);
        if days > 15 {
            push(
                EventType::DeadlineBreached,
                received_at + Days::days(22),
                Data::DeadlineNotice(pb::DeadlineNotice {
                    inquiry_id: id.to_string(),
                    department: department.into(),
                    kind: pb::DeadlineNoticeKind::Breached.into(),
                    fired_at: Some(timestamp(received_at + Days::days(22))),
                    ..Default::default()
                }),
            );
        }
        if mix.next(30) == 0 {
            push(
                EventType::InquiryMediationRecorded,
                answered_at,
                Data::InquiryStepTaken(pb::InquiryStepTaken {
                    mediation_stage: pb::MediationStage::Held.into(),
                    mediation_result: 1 + mix.next(3) as i32,
                    ..step(4, pb::InquiryStatus::InProgress, answered_at)
                }),
            );
        }
        push(
            EventType::InquiryAnswered,
            answered_at,
            Data::InquiryStepTaken(step(5, pb::InquiryStatus::Answered, answered_at)),
        );
        push(
            EventType::DeadlineStopped,
            answered_at,
            Data::DeadlineStopped(pb::DeadlineStopped {
                inquiry_id: id.to_string(),
                department: department.into(),
                reason: pb::DeadlineStopReason::Answered.into(),
                stopped_at: Some(timestamp(answered_at)),
                result: if days > 15 { 2 } else { 1 },
                working_days_used: days,
                revision: 1,
                ..Default::default()
            }),
        );
        if mix.next(10) < 8 {
            let closed_at = answered_at + Days::days(1);
            push(
                EventType::InquiryClosed,
                closed_at,
                Data::InquiryStepTaken(pb::InquiryStepTaken {
                    closing_outcome: 1 + mix.next(6) as i32,
                    handling_method: 1 + mix.next(4) as i32,
                    ..step(6, pb::InquiryStatus::Closed, closed_at)
                }),
            );
        }
    }
    events
}

async fn publish_baseline(
    events: &jetstream::Context,
    inquiries: usize,
    seed: u64,
) -> anyhow::Result<(u64, Duration)> {
    let mut mix = Mix(seed);
    let started = Instant::now();
    let mut published = 0u64;
    let mut done = 0;
    while done < inquiries {
        let wave = WAVE.min(inquiries - done);
        let cases: Vec<Vec<pb::Event>> = (0..wave).map(|_| inquiry(&mut mix)).collect();
        done += wave;
        // Round by round: first every inquiry's first event, then every second event, ...
        let rounds = cases.iter().map(Vec::len).max().unwrap_or(0);
        let ordered: Vec<pb::Event> = (0..rounds)
            .flat_map(|round| {
                cases
                    .iter()
                    .filter_map(move |case| case.get(round).cloned())
            })
            .collect();
        published += ordered.len() as u64;
        futures::stream::iter(ordered)
            .map(|event| {
                let events = events.clone();
                async move {
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Nats-Msg-Id", event.id.as_str());
                    events
                        .publish_with_headers(
                            event.r#type.clone(),
                            headers,
                            event.encode_to_vec().into(),
                        )
                        .await?
                        .await?;
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(256)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<()>>>()?;
    }
    Ok((published, started.elapsed()))
}

fn pgbench(database: &TestDatabase) -> Option<String> {
    let url = database.url();
    let setup = Command::new("psql")
        .args([
            &url,
            "-qc",
            "CREATE TABLE pgbench_t (id bigserial PRIMARY KEY, payload text NOT NULL)",
        ])
        .output()
        .ok()?;
    if !setup.status.success() {
        return None;
    }
    let script = std::env::temp_dir().join(format!("reporting-bench-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        "INSERT INTO pgbench_t (payload) VALUES (repeat('x', 200));\n",
    )
    .ok()?;
    let output = Command::new("pgbench")
        .args(["-n", "-c", "32", "-j", "2", "-T", "10", "-f"])
        .arg(&script)
        .arg(&url)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&script);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|line| line.starts_with("tps"))
        .map(str::to_owned)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let inquiries: usize = std::env::args()
        .nth(1)
        .map(|n| n.replace('_', "").parse())
        .transpose()?
        .unwrap_or(1_000_000);
    println!(
        "machine: {} cores; {} inquiries; {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        inquiries,
        Utc::now().format("%Y-%m-%dT%H:%MZ")
    );
    let nats = NatsServer::start().await?;
    let database = TestDatabase::create().await?;

    println!("--- baseline: pgbench, single-row INSERT transactions, 32 clients, 10 s");
    println!(
        "{}",
        pgbench(&database).unwrap_or_else(|| "pgbench not available".into())
    );

    let events = borgerraad_messaging::stream::jetstream(nats.client().await?);
    borgerraad_messaging::stream::ensure_stream(&events).await?;
    println!("--- baseline: bare JetStream publish of the events, awaited acks, 256 in flight");
    let (published, took) = publish_baseline(&events, inquiries, 2026).await?;
    println!(
        "{published} events in {:.1} s = {:.0} events/s",
        took.as_secs_f64(),
        published as f64 / took.as_secs_f64()
    );

    let pool = borgerraad_platform::db::connect_and_migrate(
        &database.url(),
        "reporting",
        8,
        &reporting::db::MIGRATOR,
    )
    .await?;
    println!("--- rebuild: replay the whole stream into fresh tables and swap them in");
    let started = Instant::now();
    let progress = Arc::new(reporting::rebuild::Progress::default());
    let rebuilt = reporting::rebuild::rebuild(&pool, &events, progress).await?;
    let took = started.elapsed();
    println!(
        "{} events in {:.1} s = {:.0} events/s",
        rebuilt.events,
        took.as_secs_f64(),
        rebuilt.events as f64 / took.as_secs_f64()
    );
    // What autovacuum would do by itself after such a load.
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    let (rows, counters): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM inquiry_facts), (SELECT count(*) FROM counters)",
    )
    .fetch_one(&pool)
    .await?;
    println!("tables: {rows} inquiries, {counters} counters");

    // The service itself, its live consumer placed at the end of the stream as after catching up.
    let stream = events
        .get_stream(borgerraad_messaging::stream::STREAM_NAME)
        .await?;
    stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("reporting".into()),
            filter_subject: "borgerraad.>".into(),
            deliver_policy: jetstream::consumer::DeliverPolicy::New,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 15, 12, 0, 0)
            .single()
            .unwrap_or_default(),
    );
    let idp = borgerraad_test_harness::TestIdp::shared().await?;
    let application = reporting::Application::build(
        reporting::Settings {
            common: CommonSettings {
                service_name: "reporting".into(),
                grpc_addr: ([127, 0, 0, 1], 0).into(),
                transport: borgerraad_platform::tls::ServerTransport::Plaintext,
                database_url: Secret::new(database.url()),
                nats_url: nats.url(),
                nats: Default::default(),
                otlp_endpoint: None,
                log_format: LogFormat::Pretty,
                auth: idp.auth_settings(),
            },
            departments: departments()?,
        },
        clock,
    )
    .await?;
    let port = application.port();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let service = tokio::spawn(application.run_until(shutdown.clone()));
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))?
        .connect()
        .await?;
    let mut client = pb::reporting_service_client::ReportingServiceClient::new(
        idp.channel(channel, borgerraad_test_harness::idp::STAFF),
    );
    let year = |department: &str| pb::GetSummaryRequest {
        period: Some(pb::MonthRange {
            first: Some(pb::YearMonth {
                year: 2026,
                month: 1,
            }),
            last: Some(pb::YearMonth {
                year: 2026,
                month: 12,
            }),
        }),
        department: department.into(),
    };
    for (what, department) in [
        ("every department", ""),
        ("one department", "social-og-sundhed"),
    ] {
        client.get_summary(year(department)).await?; // warm-up
        let mut timings = vec![];
        let mut total = 0;
        for _ in 0..50 {
            let started = Instant::now();
            total = client
                .get_summary(year(department))
                .await?
                .into_inner()
                .figures
                .unwrap_or_default()
                .received;
            timings.push(started.elapsed());
        }
        timings.sort();
        println!(
            "--- GetSummary for 2026 and 2025 beside it, {what} ({total} inquiries in 2026): \
             p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms over 50 calls",
            timings[24].as_secs_f64() * 1e3,
            timings[44].as_secs_f64() * 1e3,
            timings[49].as_secs_f64() * 1e3,
        );
    }

    // The same handler called in-process, to tell the query's time from the transport's.
    let api = reporting::grpc::ReportingApi {
        pool: pool.clone(),
        clock: ManualClock::new(
            Utc.with_ymd_and_hms(2026, 12, 15, 12, 0, 0)
                .single()
                .unwrap_or_default(),
        ),
        rebuilder: reporting::rebuild::Rebuilder::new(
            pool.clone(),
            events.clone(),
            Arc::new(borgerraad_platform::clock::SystemClock),
            shutdown.clone(),
        ),
        departments: departments()?,
    };
    {
        use pb::reporting_service_server::ReportingService as _;
        let mut timings = vec![];
        for _ in 0..50 {
            let started = Instant::now();
            api.get_summary(tonic::Request::new(year(""))).await?;
            timings.push(started.elapsed());
        }
        timings.sort();
        println!(
            "--- the same, every department, handler called in-process: p50 {:.1} ms, max {:.1} ms",
            timings[24].as_secs_f64() * 1e3,
            timings[49].as_secs_f64() * 1e3,
        );
    }

    // The service's own server leaves TCP_NODELAY off on accepted sockets (tonic ignores its
    // setting with `serve_with_incoming`); the same API on a server that sets it shows the cost.
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let stop = shutdown.child_token();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(pb::reporting_service_server::ReportingServiceServer::new(
                    api.clone(),
                ))
                .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned()),
        );
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))?
            .connect()
            .await?;
        let mut client = pb::reporting_service_client::ReportingServiceClient::new(channel);
        client.get_summary(year("")).await?;
        let mut timings = vec![];
        for _ in 0..50 {
            let started = Instant::now();
            client.get_summary(year("")).await?;
            timings.push(started.elapsed());
        }
        timings.sort();
        println!(
            "--- the same, every department, over gRPC with TCP_NODELAY on the accepted socket: \
             p50 {:.1} ms, max {:.1} ms",
            timings[24].as_secs_f64() * 1e3,
            timings[49].as_secs_f64() * 1e3,
        );
        stop.cancel();
        server.await??;
    }

    let more = (inquiries / 10).clamp(1, 20_000);
    println!("--- live projection: {more} more inquiries' events through the service's consumer");
    let started = Instant::now();
    let (published, _) = publish_baseline(&events, more, 7).await?;
    let mut consumer: jetstream::consumer::PullConsumer = stream
        .get_consumer("reporting")
        .await
        .map_err(|error| anyhow::anyhow!("cannot read the consumer: {error}"))?;
    loop {
        let info = consumer.info().await?;
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    println!(
        "{published} events published and applied in {:.1} s = {:.0} events/s",
        took.as_secs_f64(),
        published as f64 / took.as_secs_f64()
    );
    shutdown.cancel();
    service.await??;
    Ok(())
}
