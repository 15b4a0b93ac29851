//! The service against a real nats-server and PostgreSQL: intake's events in, the SLA clock,
//! timers fired as a manual clock moves, deliveries to a real SMTP server (aiosmtpd, STARTTLS and
//! AUTH) and an HTTPS webhook receiver the test starts, two replicas, downtime, reconciliation
//! with a real intake, and the gRPC API.

use std::process::Stdio;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use borgerraad_messaging::{EventType, new_event};
use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_platform::clock::{ManualClock, SharedClock};
use borgerraad_platform::convert::{from_date, timestamp};
use borgerraad_platform::settings::{CommonSettings, LogFormat, Secret};
use borgerraad_proto::v1::{
    self as pb, deadline_monitoring_service_client::DeadlineMonitoringServiceClient, event::Data,
};
use borgerraad_test_harness::TestIdp;
use borgerraad_test_harness::idp::STAFF;
use borgerraad_test_harness::tls::{CertifiedKey as ServerCert, TestPki as TestCa};
use borgerraad_test_harness::{NatsServer, TestDatabase, eventually, free_port, valid_submission};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use deadline_monitoring::delivery::smtp::SmtpSettings;
use deadline_monitoring::delivery::webhook::WebhookSettings;
use deadline_monitoring::{Application, Settings};
use prost::Message as _;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use uuid::Uuid;

const SETTLE: Duration = Duration::from_secs(20);

fn cph(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Copenhagen
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid test instant")
        .with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

async fn common(name: &str, database: &TestDatabase, nats: &NatsServer) -> CommonSettings {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    CommonSettings {
        service_name: name.to_owned(),
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        transport: borgerraad_platform::tls::ServerTransport::Plaintext,
        database_url: Secret::new(database.url()),
        nats_url: nats.url(),
        nats: Default::default(),
        otlp_endpoint: None,
        log_format: LogFormat::Pretty,
        // The service calls intake as itself.
        auth: idp.auth_settings_as(name),
    }
}

/// `channel` with the tokens of the advisor's staff.
async fn staff(channel: Channel) -> AuthorizedChannel {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    idp.channel(channel, STAFF)
}

/// One running replica of the service.
struct Replica {
    port: u16,
    app_scheduler: deadline_monitoring::scheduler::Scheduler,
    reconciler: deadline_monitoring::reconcile::Reconciler,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    async fn start(
        database: &TestDatabase,
        nats: &NatsServer,
        clock: SharedClock,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = Settings::new(common("deadline-monitoring", database, nats).await);
        settings.poll_interval = Duration::from_millis(25);
        settings.delivery.poll_interval = Duration::from_millis(25);
        settings.delivery.retry_base = Duration::from_secs(60);
        settings.delivery.timeout = Duration::from_secs(5);
        // Reconciliation runs only when a test asks for it, against an intake of its own in
        // plain text (the transport is tested in intake's and the end-to-end tests).
        settings.reconcile_interval = Duration::from_secs(3600);
        settings.intake_url = "http://127.0.0.1:50051".into();
        settings.intake_tls = borgerraad_platform::tls::ClientTls::plaintext();
        configure(&mut settings);
        let app = Application::build(settings, clock)
            .await
            .expect("the service starts");
        let shutdown = CancellationToken::new();
        Self {
            port: app.port(),
            app_scheduler: app.scheduler(),
            reconciler: app.reconciler(),
            shutdown: shutdown.clone(),
            task: tokio::spawn(app.run_until(shutdown)),
        }
    }

    async fn client(&self) -> DeadlineMonitoringServiceClient<AuthorizedChannel> {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", self.port))
            .expect("url")
            .connect_lazy();
        DeadlineMonitoringServiceClient::new(staff(channel).await)
    }

    /// Wakes the scheduler after the test moved the clock.
    fn tick(&self) {
        self.app_scheduler.wake.notify_one();
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("no panic").expect("clean stop");
    }
}

async fn jetstream(nats: &NatsServer) -> async_nats::jetstream::Context {
    let js = async_nats::jetstream::new(nats.client().await.expect("nats"));
    borgerraad_messaging::stream::ensure_stream(&js)
        .await
        .expect("stream");
    js
}

async fn publish(js: &async_nats::jetstream::Context, event: &pb::Event) {
    js.publish(event.r#type.clone(), event.encode_to_vec().into())
        .await
        .expect("publish")
        .await
        .expect("ack");
}

fn received(inquiry_id: Uuid, received_at: DateTime<Utc>) -> pb::Event {
    new_event(
        "/borgerraad/intake",
        EventType::InquiryReceived,
        inquiry_id,
        received_at,
        Data::InquiryReceived(pb::InquiryReceived {
            inquiry_id: inquiry_id.to_string(),
            reference: "BR-2026-000042".into(),
            department: "by-og-kultur".into(),
            received_at: Some(timestamp(received_at)),
            ..Default::default()
        }),
    )
}

fn step(
    event_type: EventType,
    inquiry_id: Uuid,
    version: i64,
    before: pb::InquiryStatus,
    after: pb::InquiryStatus,
    at: DateTime<Utc>,
) -> pb::Event {
    new_event(
        "/borgerraad/intake",
        event_type,
        inquiry_id,
        at,
        Data::InquiryStepTaken(pb::InquiryStepTaken {
            inquiry_id: inquiry_id.to_string(),
            department: "by-og-kultur".into(),
            version,
            status_before: before.into(),
            status_after: after.into(),
            at: Some(timestamp(at)),
            caseworker_id: "cw-17".into(),
            ..Default::default()
        }),
    )
}

/// Events the service wrote to its outbox, in order.
async fn published(pool: &PgPool) -> Vec<pb::Event> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM outbox ORDER BY position")
        .fetch_all(pool)
        .await
        .expect("outbox");
    rows.iter()
        .map(|payload| pb::Event::decode(payload.as_slice()).expect("an event"))
        .collect()
}

fn notice_steps(events: &[pb::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match &event.data {
            Some(Data::DeadlineNotice(notice)) => Some(notice.step.clone()),
            _ => None,
        })
        .collect()
}

async fn wait_for_events(pool: &PgPool, what: &str, count: usize) -> Vec<pb::Event> {
    eventually(what, SETTLE, || async {
        let events = published(pool).await;
        (events.len() >= count).then_some(events)
    })
    .await
}

async fn wait_for_applied(pool: &PgPool, count: i64) {
    eventually("every event applied", SETTLE, || async {
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM applied_events")
            .fetch_one(pool)
            .await
            .ok()?;
        (applied == count).then_some(())
    })
    .await;
}

async fn deadline(
    client: &mut DeadlineMonitoringServiceClient<AuthorizedChannel>,
    inquiry_id: Uuid,
) -> pb::Deadline {
    client
        .get_deadline(pb::GetDeadlineRequest {
            inquiry_id: inquiry_id.to_string(),
        })
        .await
        .expect("a deadline")
        .into_inner()
}

async fn wait_for_revision(
    client: &mut DeadlineMonitoringServiceClient<AuthorizedChannel>,
    inquiry_id: Uuid,
    state: pb::DeadlineState,
    revision: i64,
) -> pb::Deadline {
    eventually("the deadline's state", SETTLE, || {
        let mut client = client.clone();
        async move {
            let reply = client
                .get_deadline(pb::GetDeadlineRequest {
                    inquiry_id: inquiry_id.to_string(),
                })
                .await
                .ok()?
                .into_inner();
            (reply.state() == state && reply.revision >= revision).then_some(reply)
        }
    })
    .await
}

/// One replica on its own NATS and database, and one inquiry received on Wednesday 25 November
/// 2026 at 10:00 (due Wednesday 16 December), its deadline running; the clock at the receipt.
struct OneInquiry {
    nats: NatsServer,
    database: TestDatabase,
    clock: Arc<ManualClock>,
    replica: Replica,
    pool: PgPool,
    js: async_nats::jetstream::Context,
    client: DeadlineMonitoringServiceClient<AuthorizedChannel>,
    id: Uuid,
    received_at: DateTime<Utc>,
    /// The deadline as first scheduled.
    fresh: pb::Deadline,
}

impl OneInquiry {
    async fn running() -> Self {
        let (nats, database) = (
            NatsServer::start().await.expect("nats"),
            TestDatabase::create().await.expect("db"),
        );
        let received_at = cph(2026, 11, 25, 10);
        let clock = ManualClock::new(received_at);
        let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
        let pool = database.pool("deadline_monitoring").await.expect("pool");
        let js = jetstream(&nats).await;
        let id = Uuid::now_v7();
        publish(&js, &received(id, received_at)).await;
        let mut client = replica.client().await;
        let fresh = wait_for_revision(&mut client, id, pb::DeadlineState::Running, 1).await;
        Self {
            nats,
            database,
            clock,
            replica,
            pool,
            js,
            client,
            id,
            received_at,
            fresh,
        }
    }
}

#[tokio::test]
async fn the_chain_warns_then_due_today_then_breach_then_escalation_as_time_passes() {
    let OneInquiry {
        nats: _nats,
        database: _database,
        clock,
        replica,
        pool,
        js,
        mut client,
        id,
        received_at: _received_at,
        fresh,
    } = OneInquiry::running().await;
    assert_eq!(
        fresh.due_date.as_ref().and_then(from_date),
        Some(date(2026, 12, 16))
    );
    assert_eq!(fresh.working_days, 15);
    assert_eq!(fresh.working_days_left, 15);
    assert_eq!(fresh.notices.len(), 5, "the whole chain is laid out");

    // (moment, the steps fired by then)
    let moments = [
        (cph(2026, 12, 8, 23), vec![]),
        (cph(2026, 12, 9, 7), vec!["warning-5"]),
        (cph(2026, 12, 14, 7), vec!["warning-5", "warning-2"]),
        (
            cph(2026, 12, 16, 7),
            vec!["warning-5", "warning-2", "due-today"],
        ),
        (
            cph(2026, 12, 17, 7),
            vec!["warning-5", "warning-2", "due-today", "breach"],
        ),
        (
            cph(2026, 12, 24, 7),
            vec![
                "warning-5",
                "warning-2",
                "due-today",
                "breach",
                "escalation-1",
            ],
        ),
    ];
    for (moment, expected) in moments {
        clock.set(moment);
        replica.tick();
        let fired = eventually("the notices due by now", SETTLE, || async {
            let fired = notice_steps(&published(&pool).await);
            (fired.len() >= expected.len()).then_some(fired)
        })
        .await;
        assert_eq!(fired, expected, "at {moment}");
    }
    let events = published(&pool).await;
    let types: Vec<_> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types,
        [
            "borgerraad.deadline.scheduled",
            "borgerraad.deadline.warning",
            "borgerraad.deadline.warning",
            "borgerraad.deadline.due_today",
            "borgerraad.deadline.breached",
            "borgerraad.deadline.escalated"
        ]
    );
    let Some(Data::DeadlineNotice(escalation)) = &events[5].data else {
        panic!("a notice");
    };
    assert_eq!(
        escalation.recipient(),
        pb::NoticeRecipient::DepartmentDirector
    );
    assert_eq!(escalation.reference, "BR-2026-000042");
    assert_eq!(escalation.working_days, 5);
    let Some(Data::DeadlineNotice(breach)) = &events[4].data else {
        panic!("a notice");
    };
    assert_eq!(breach.recipient(), pb::NoticeRecipient::HeadOfOffice);
    let late = deadline(&mut client, id).await;
    // 24-27 December are closed: the 24th counts as Monday 28th, the 6th working day over.
    assert_eq!(late.working_days_overdue, 6);
    assert!(late.notices.iter().all(|n| n.fired_at.is_some()));
    // The events reach NATS through the outbox relay.
    eventually("the notices on NATS", SETTLE, || async {
        let info = js
            .get_stream(borgerraad_messaging::stream::STREAM_NAME)
            .await
            .ok()?
            .info()
            .await
            .ok()?
            .state
            .messages;
        (info >= 7).then_some(())
    })
    .await;
    replica.stop().await;
}

#[tokio::test]
async fn a_pause_moves_the_due_date_and_the_stop_says_met_or_breached() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(received_at);
    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let js = jetstream(&nats).await;
    let mut client = replica.client().await;
    use pb::InquiryStatus as S;

    // Met: paused Monday 30 Nov to Wednesday 2 Dec (2 working days), answered 17 Dec.
    let met = Uuid::now_v7();
    publish(&js, &received(met, received_at)).await;
    wait_for_revision(&mut client, met, pb::DeadlineState::Running, 1).await;
    clock.set(cph(2026, 11, 30, 9));
    publish(
        &js,
        &step(
            EventType::InquiryInformationRequested,
            met,
            5,
            S::InProgress,
            S::AwaitingRequester,
            cph(2026, 11, 30, 9),
        ),
    )
    .await;
    let paused = wait_for_revision(&mut client, met, pb::DeadlineState::Paused, 1).await;
    assert_eq!(
        paused
            .notices
            .iter()
            .filter(|n| n.fired_at.is_none())
            .count(),
        0,
        "no timers while paused"
    );
    publish(
        &js,
        &step(
            EventType::InquiryInformationReceived,
            met,
            6,
            S::AwaitingRequester,
            S::InProgress,
            cph(2026, 12, 2, 9),
        ),
    )
    .await;
    let resumed = wait_for_revision(&mut client, met, pb::DeadlineState::Running, 2).await;
    assert_eq!(
        resumed.due_date.as_ref().and_then(from_date),
        Some(date(2026, 12, 18))
    );
    assert_eq!(resumed.paused_working_days, 2);
    assert_eq!(resumed.pauses.len(), 1);
    assert_eq!(resumed.pauses[0].working_days, 2);
    publish(
        &js,
        &step(
            EventType::InquiryAnswered,
            met,
            7,
            S::InProgress,
            S::Answered,
            cph(2026, 12, 17, 9),
        ),
    )
    .await;
    let answered = wait_for_revision(&mut client, met, pb::DeadlineState::Stopped, 2).await;
    let outcome = answered.outcome.expect("an outcome");
    assert_eq!(outcome.result(), pb::SlaResult::Met);
    assert_eq!(outcome.working_days_used, 16 - 2);

    // Breached: answered Friday 18 December, 2 working days late.
    let late = Uuid::now_v7();
    publish(&js, &received(late, received_at)).await;
    wait_for_revision(&mut client, late, pb::DeadlineState::Running, 1).await;
    publish(
        &js,
        &step(
            EventType::InquiryAnswered,
            late,
            7,
            S::InProgress,
            S::Answered,
            cph(2026, 12, 18, 9),
        ),
    )
    .await;
    let breached = wait_for_revision(&mut client, late, pb::DeadlineState::Stopped, 1).await;
    let outcome = breached.outcome.expect("an outcome");
    assert_eq!(outcome.result(), pb::SlaResult::Breached);
    assert_eq!(outcome.working_days_over, 2);

    let events = published(&pool).await;
    let stops: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.data {
            Some(Data::DeadlineStopped(stopped)) => Some(stopped.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(stops.len(), 2);
    let met_stop = stops
        .iter()
        .find(|s| s.inquiry_id == met.to_string())
        .expect("met");
    assert_eq!(
        (
            met_stop.result(),
            met_stop.paused_working_days,
            met_stop.revision,
            met_stop.reason()
        ),
        (pb::SlaResult::Met, 2, 2, pb::DeadlineStopReason::Answered)
    );
    assert!(
        events
            .iter()
            .any(|e| e.r#type == "borgerraad.deadline.rescheduled")
    );
    replica.stop().await;
}

#[tokio::test]
async fn redelivered_and_out_of_order_events_change_nothing() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(cph(2026, 12, 3, 10));
    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let js = jetstream(&nats).await;
    let mut client = replica.client().await;
    use pb::InquiryStatus as S;
    let id = Uuid::now_v7();
    let resume = step(
        EventType::InquiryInformationReceived,
        id,
        6,
        S::AwaitingRequester,
        S::InProgress,
        cph(2026, 12, 2, 9),
    );
    let pause = step(
        EventType::InquiryInformationRequested,
        id,
        5,
        S::InProgress,
        S::AwaitingRequester,
        cph(2026, 11, 30, 9),
    );
    let receipt = received(id, received_at);
    // Resume before pause before receipt, each twice.
    for event in [&resume, &pause, &resume, &receipt, &pause, &receipt] {
        publish(&js, event).await;
    }
    wait_for_applied(&pool, 3).await;
    let after = deadline(&mut client, id).await;
    assert_eq!(after.state(), pb::DeadlineState::Running);
    assert_eq!(
        after.due_date.as_ref().and_then(from_date),
        Some(date(2026, 12, 18)),
        "the pause counted"
    );
    assert_eq!(after.paused_working_days, 2);
    let events_before = published(&pool).await.len();
    // The same events once more, long after: nothing changes.
    for event in [&receipt, &pause, &resume] {
        publish(&js, event).await;
    }
    eventually("the redeliveries consumed", SETTLE, || async {
        let info = js
            .get_stream(borgerraad_messaging::stream::STREAM_NAME)
            .await
            .ok()?
            .consumer_info("deadline-monitoring-inquiries")
            .await
            .ok()?
            .clone();
        (info.num_pending == 0 && info.num_ack_pending == 0 && info.delivered.stream_sequence >= 9)
            .then_some(())
    })
    .await;
    let again = deadline(&mut client, id).await;
    assert_eq!(
        (again.revision, again.due_date),
        (after.revision, after.due_date)
    );
    assert_eq!(published(&pool).await.len(), events_before);
    let scheduled = published(&pool)
        .await
        .iter()
        .filter(|e| e.r#type == "borgerraad.deadline.scheduled")
        .count();
    assert_eq!(
        scheduled, 1,
        "one scheduled event however often the receipt came"
    );
    replica.stop().await;
}

/// What one run of the service made of the events: each inquiry's deadline events (type and
/// payload), its deadline row and its timers.
type Outcome = Vec<(Uuid, Vec<(String, Option<Data>)>, String, Vec<String>)>;

async fn outcome_of(pool: &PgPool, ids: &[Uuid]) -> Outcome {
    let events = published(pool).await;
    let mut outcome = Vec::new();
    for id in ids {
        let of_inquiry = events
            .iter()
            .filter(|e| e.subject == id.to_string())
            .map(|e| (e.r#type.clone(), e.data.clone()))
            .collect();
        let row: String = sqlx::query_scalar(
            "SELECT concat_ws(' ', revision, state, due_date, paused_working_days, result, \
             working_days_used) FROM deadlines WHERE inquiry_id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("deadline");
        let timers: Vec<String> = sqlx::query_scalar(
            "SELECT concat_ws(' ', revision, step, fire_at) FROM timers \
             WHERE inquiry_id = $1 ORDER BY fire_at, step",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .expect("timers");
        outcome.push((*id, of_inquiry, row, timers));
    }
    outcome
}

#[tokio::test]
async fn events_taken_in_one_chunk_end_as_when_taken_one_at_a_time() {
    use pb::InquiryStatus as S;
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    // Three inquiries, several events each, interleaved: a is paused and resumed, b answered,
    // c amended after a pause began.
    let amended = new_event(
        "/borgerraad/intake",
        EventType::InquiryAmended,
        c,
        cph(2026, 11, 27, 12),
        Data::InquiryAmended(pb::InquiryAmended {
            version: 4,
            answers: Some(pb::InquiryReceived {
                inquiry_id: c.to_string(),
                reference: "BR-2026-000042".into(),
                department: "social-og-sundhed".into(),
                received_at: Some(timestamp(cph(2026, 11, 24, 15))),
                ..Default::default()
            }),
            amended_at: Some(timestamp(cph(2026, 11, 27, 12))),
        }),
    );
    let events = [
        received(a, cph(2026, 11, 25, 10)),
        received(b, cph(2026, 11, 25, 11)),
        step(
            EventType::InquiryInformationRequested,
            a,
            5,
            S::InProgress,
            S::AwaitingRequester,
            cph(2026, 11, 26, 9),
        ),
        received(c, cph(2026, 11, 25, 12)),
        step(
            EventType::InquiryInformationRequested,
            c,
            3,
            S::InProgress,
            S::AwaitingRequester,
            cph(2026, 11, 26, 10),
        ),
        step(
            EventType::InquiryAnswered,
            b,
            7,
            S::InProgress,
            S::Answered,
            cph(2026, 12, 1, 14),
        ),
        amended,
        step(
            EventType::InquiryInformationReceived,
            a,
            6,
            S::AwaitingRequester,
            S::InProgress,
            cph(2026, 12, 2, 9),
        ),
    ];
    let now = cph(2026, 12, 3, 10);

    // One at a time: each event applied before the next is published.
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let replica = Replica::start(&database, &nats, ManualClock::new(now), |_| {}).await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let js = jetstream(&nats).await;
    for (applied, event) in (1..).zip(&events) {
        publish(&js, event).await;
        wait_for_applied(&pool, applied).await;
    }
    let one_at_a_time = outcome_of(&pool, &[a, b, c]).await;
    replica.stop().await;

    // All waiting on the stream when the service starts, so they come in one chunk.
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let js = jetstream(&nats).await;
    for event in &events {
        publish(&js, event).await;
    }
    let replica = Replica::start(&database, &nats, ManualClock::new(now), |_| {}).await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    wait_for_applied(&pool, events.len() as i64).await;
    let in_one_chunk = outcome_of(&pool, &[a, b, c]).await;
    replica.stop().await;

    assert_eq!(in_one_chunk, one_at_a_time);
    let types = |id: Uuid| -> Vec<String> {
        let (_, events, _, _) = one_at_a_time
            .iter()
            .find(|(i, ..)| *i == id)
            .expect("inquiry");
        events.iter().map(|(t, _)| t.clone()).collect()
    };
    assert_eq!(
        types(a),
        ["scheduled", "rescheduled"].map(|t| format!("borgerraad.deadline.{t}")),
        "a: scheduled, and moved by the waiting once the information came"
    );
    assert_eq!(
        types(b),
        ["scheduled", "stopped"].map(|t| format!("borgerraad.deadline.{t}"))
    );
}

#[tokio::test]
async fn two_replicas_fire_each_timer_exactly_once() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(received_at);
    let first = Replica::start(&database, &nats, clock.clone(), |s| {
        s.scheduler_batch_size = 7
    })
    .await;
    let second = Replica::start(&database, &nats, clock.clone(), |s| {
        s.scheduler_batch_size = 7
    })
    .await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let js = jetstream(&nats).await;
    let ids: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    for id in &ids {
        publish(&js, &received(*id, received_at)).await;
    }
    eventually("every deadline scheduled", SETTLE, || async {
        let timers: i64 = sqlx::query_scalar("SELECT count(*) FROM timers")
            .fetch_one(&pool)
            .await
            .ok()?;
        (timers == 40 * 5).then_some(())
    })
    .await;
    // Everything is due at once; both replicas race for it. The warnings are skipped (the
    // deadline has passed), but still fire (are marked) once.
    clock.set(cph(2027, 1, 15, 12));
    first.tick();
    second.tick();
    let events = wait_for_events(&pool, "every notice", 40 + 40 * 3).await;
    eventually("every timer fired", SETTLE, || async {
        let unfired: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE fired_at IS NULL")
            .fetch_one(&pool)
            .await
            .ok()?;
        (unfired == 0).then_some(())
    })
    .await;
    let fired: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(fired, 200);
    let mut seen = std::collections::HashSet::new();
    for event in &events {
        if let Some(Data::DeadlineNotice(notice)) = &event.data {
            assert!(
                seen.insert((notice.inquiry_id.clone(), notice.step.clone())),
                "{} fired twice",
                notice.step
            );
        }
    }
    assert_eq!(seen.len(), 120);
    // And in order per inquiry, whichever replica fired which.
    for id in &ids {
        let order: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.data {
                Some(Data::DeadlineNotice(n)) if n.inquiry_id == id.to_string() => {
                    Some(n.step.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(order, ["due-today", "breach", "escalation-1"]);
    }
    let skipped: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE skipped")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(skipped, 80);
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn after_downtime_every_missed_timer_fires_once_in_order() {
    let OneInquiry {
        nats,
        database,
        clock,
        replica,
        pool,
        js: _js,
        client: _client,
        id,
        received_at: _received_at,
        fresh: _fresh,
    } = OneInquiry::running().await;
    clock.set(cph(2026, 12, 9, 9));
    replica.tick();
    wait_for_events(&pool, "warning-5", 2).await;
    replica.stop().await;

    // Down from 9 to 18 December: warning-2, due-today and breach are missed. "2 working days
    // left" would come after the deadline passed: it is skipped, and shown so.
    clock.set(cph(2026, 12, 18, 9));
    let restarted = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let events = wait_for_events(&pool, "the missed notices", 4).await;
    assert_eq!(notice_steps(&events), ["warning-5", "due-today", "breach"]);
    // Nothing more fires until the escalation is due.
    restarted.tick();
    restarted.app_scheduler.fire_due().await.expect("a round");
    assert_eq!(published(&pool).await.len(), 4);
    let mut client = restarted.client().await;
    let shown = deadline(&mut client, id).await;
    let warning_2 = shown
        .notices
        .iter()
        .find(|n| n.step == "warning-2")
        .expect("warning-2 in the history");
    assert!(warning_2.fired_at.is_some());
    assert_eq!(warning_2.deliveries.len(), 1);
    assert_eq!(warning_2.deliveries[0].status, "skipped");
    let skipped: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deliveries d JOIN timers t USING (timer_id) WHERE t.skipped",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(skipped, 0, "nothing delivered for a skipped warning");
    restarted.stop().await;
}

/// Waits until the service's consumer has applied every event in the stream.
async fn wait_for_consumer_idle(js: &async_nats::jetstream::Context) {
    eventually("every event consumed", SETTLE, || async {
        let info = js
            .get_stream(borgerraad_messaging::stream::STREAM_NAME)
            .await
            .ok()?
            .consumer_info("deadline-monitoring-inquiries")
            .await
            .ok()?;
        (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
    })
    .await;
}

/// Holds the inquiry's lock (as every change of its deadline takes it) until committed.
async fn hold_inquiry_lock(pool: &PgPool, id: Uuid) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut lock = pool.begin().await.expect("transaction");
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
        .bind(id)
        .execute(&mut *lock)
        .await
        .expect("lock");
    lock
}

#[tokio::test]
async fn an_answer_still_queued_after_downtime_holds_the_breach_and_then_stops_it() {
    let OneInquiry {
        nats,
        database,
        clock,
        replica,
        pool,
        js,
        client: _client,
        id,
        received_at: _received_at,
        fresh: _fresh,
    } = OneInquiry::running().await;
    replica.stop().await;

    // Down over midnight: the inquiry was answered in time on its due date, and the answer
    // waits in the stream. The test holds the inquiry's lock, so it cannot be applied yet.
    publish(
        &js,
        &step(
            EventType::InquiryAnswered,
            id,
            7,
            pb::InquiryStatus::InProgress,
            pb::InquiryStatus::Answered,
            cph(2026, 12, 16, 15),
        ),
    )
    .await;
    clock.set(cph(2026, 12, 17, 9));
    let lock = hold_inquiry_lock(&pool, id).await;
    let restarted = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    assert_eq!(
        restarted.app_scheduler.fire_due().await.expect("a round"),
        0,
        "held while an event waits"
    );
    lock.commit().await.expect("released");
    let mut client = restarted.client().await;
    let stopped = wait_for_revision(&mut client, id, pb::DeadlineState::Stopped, 1).await;
    assert_eq!(
        stopped.outcome.expect("an outcome").result(),
        pb::SlaResult::Met
    );
    wait_for_consumer_idle(&js).await;
    restarted.app_scheduler.fire_due().await.expect("a round");
    assert!(
        notice_steps(&published(&pool).await).is_empty(),
        "no breach for an inquiry answered in time"
    );
    restarted.stop().await;
}

#[tokio::test]
async fn without_nats_only_caseworker_reminders_fire_until_the_hold_runs_out() {
    let (mut nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let received_at = cph(2026, 11, 25, 10); // due Wednesday 16 December
    let clock = ManualClock::new(received_at);
    let replica = Replica::start(&database, &nats, clock.clone(), |s| {
        s.scheduler_max_hold = Duration::from_secs(600);
    })
    .await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let js = jetstream(&nats).await;
    let id = Uuid::now_v7();
    publish(&js, &received(id, received_at)).await;
    let mut client = replica.client().await;
    wait_for_revision(&mut client, id, pb::DeadlineState::Running, 1).await;
    nats.stop();

    // NATS is gone, so whether an answer waits cannot be known: due today reaches the
    // caseworker, the breach waits.
    clock.set(cph(2026, 12, 17, 9));
    replica.tick();
    let fired = |step: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT fired_at IS NOT NULL FROM timers WHERE inquiry_id = $1 AND step = $2",
            )
            .bind(id)
            .bind(step)
            .fetch_one(&pool)
            .await
            .expect("timer")
        }
    };
    eventually("due today fired", SETTLE, || async {
        fired("due-today").await.then_some(())
    })
    .await;
    replica.app_scheduler.fire_due().await.expect("a round");
    assert!(!fired("breach").await, "the breach is held");
    assert_eq!(notice_steps(&published(&pool).await), ["due-today"]);

    // Held at most 10 minutes: then the breach goes out anyway.
    clock.advance(chrono::Duration::minutes(11));
    replica.tick();
    let events = wait_for_events(&pool, "the breach", 3).await;
    assert_eq!(notice_steps(&events), ["due-today", "breach"]);
    replica.stop().await;
}

#[tokio::test]
async fn a_pause_after_the_due_date_keeps_the_breach_escalates_once_and_lists_it_overdue() {
    let OneInquiry {
        nats: _nats,
        database: _database,
        clock,
        replica,
        pool,
        js,
        mut client,
        id,
        received_at: _received_at,
        fresh: _fresh,
    } = OneInquiry::running().await;
    clock.set(cph(2026, 12, 17, 7));
    replica.tick();
    wait_for_events(&pool, "the breach", 3).await;
    use pb::InquiryStatus as S;

    clock.set(cph(2026, 12, 17, 9));
    publish(
        &js,
        &step(
            EventType::InquiryInformationRequested,
            id,
            5,
            S::InProgress,
            S::AwaitingRequester,
            cph(2026, 12, 17, 9),
        ),
    )
    .await;
    let paused = wait_for_revision(&mut client, id, pb::DeadlineState::Paused, 1).await;
    assert_eq!(paused.working_days_overdue, 1, "the breach stands");
    let escalation = paused
        .notices
        .iter()
        .find(|n| n.step == "escalation-1")
        .expect("the escalation stays due while paused");
    assert!(escalation.fired_at.is_none());
    let listed = client
        .list_at_risk(pb::ListAtRiskRequest::default())
        .await
        .expect("list")
        .into_inner()
        .deadlines;
    assert_eq!(listed.len(), 1, "a paused breach is still at risk");
    assert_eq!(listed[0].working_days_overdue, 1);

    // Resumed on Monday 21st: the due date does not move, so nothing fires again.
    clock.set(cph(2026, 12, 21, 9));
    publish(
        &js,
        &step(
            EventType::InquiryInformationReceived,
            id,
            6,
            S::AwaitingRequester,
            S::InProgress,
            cph(2026, 12, 21, 9),
        ),
    )
    .await;
    let resumed = wait_for_revision(&mut client, id, pb::DeadlineState::Running, 1).await;
    assert_eq!(resumed.revision, 1);
    assert_eq!(resumed.paused_working_days, 2);
    wait_for_consumer_idle(&js).await;
    while replica.app_scheduler.fire_due().await.expect("a round") > 0 {}
    assert_eq!(
        notice_steps(&published(&pool).await),
        ["due-today", "breach"]
    );
    // The escalation fires once, when due.
    clock.set(cph(2026, 12, 24, 7));
    replica.tick();
    let events = wait_for_events(&pool, "the escalation", 4).await;
    assert_eq!(
        notice_steps(&events),
        ["due-today", "breach", "escalation-1"]
    );
    replica.stop().await;
}

#[tokio::test]
async fn deadlines_without_timers_after_an_upgrade_get_them_at_startup() {
    let OneInquiry {
        nats,
        database,
        clock,
        replica,
        pool,
        js: _js,
        client: _client,
        id,
        received_at: _received_at,
        fresh: _fresh,
    } = OneInquiry::running().await;
    replica.stop().await;
    // As migration 0001 left running deadlines: no timers at all.
    sqlx::query("DELETE FROM timers")
        .execute(&pool)
        .await
        .expect("deleted");

    let restarted = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let client = restarted.client().await;
    let steps: Vec<String> = eventually("the timers laid out", SETTLE, || {
        let mut client = client.clone();
        async move {
            let notices = deadline(&mut client, id).await.notices;
            (!notices.is_empty()).then(|| notices.into_iter().map(|n| n.step).collect())
        }
    })
    .await;
    assert_eq!(
        steps,
        [
            "warning-5",
            "warning-2",
            "due-today",
            "breach",
            "escalation-1"
        ]
    );
    clock.set(cph(2026, 12, 9, 9));
    restarted.tick();
    let events = wait_for_events(&pool, "warning-5", 2).await;
    assert_eq!(notice_steps(&events), ["warning-5"]);
    restarted.stop().await;
}

/// Stores a running deadline and its timers as an earlier version did, counting from
/// `start_day`; the timers due by `now` as fired.
async fn store_as_before(
    pool: &PgPool,
    id: Uuid,
    received_at: DateTime<Utc>,
    start_day: NaiveDate,
    due_date: NaiveDate,
    now: DateTime<Utc>,
) {
    sqlx::query(
        "INSERT INTO deadlines (inquiry_id, department, reference, received_at, answers_version, \
         caseworker_id, working_days, revision, clock_started_at, start_day, due_date, due_at, \
         state, paused_working_days, scheduled_at, updated_at) \
         VALUES ($1, 'by-og-kultur', 'BR-2026-000042', $2, 0, '', 15, 1, $2, $3, $4, $5, \
         'running', 0, $2, $2)",
    )
    .bind(id)
    .bind(received_at)
    .bind(start_day)
    .bind(due_date)
    .bind(working_days::end_of_copenhagen_day(due_date))
    .execute(pool)
    .await
    .expect("a deadline stored");
    let plan = deadline_monitoring::domain::lay_out(
        &working_days::Calendar::danish_default(),
        &deadline_monitoring::domain::NoticePolicy::default(),
        start_day,
        due_date,
        None,
    );
    for notice in plan {
        sqlx::query(
            "INSERT INTO timers (inquiry_id, revision, step, kind, recipient, working_days, \
             due_date, fire_at, fired_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(&notice.step)
        .bind(notice.kind.as_str())
        .bind(notice.recipient.as_str())
        .bind(i32::try_from(notice.working_days).expect("a few days"))
        .bind(due_date)
        .bind(notice.fire_at)
        .bind((notice.fire_at <= now).then_some(notice.fire_at))
        .execute(pool)
        .await
        .expect("a timer stored");
    }
}

/// (step, revision, fire_at, fired) of an inquiry's timers in firing order.
async fn timers_of(pool: &PgPool, id: Uuid) -> Vec<(String, i64, DateTime<Utc>, bool)> {
    sqlx::query_as(
        "SELECT step, revision, fire_at, fired_at IS NOT NULL FROM timers WHERE inquiry_id = $1 \
         ORDER BY fire_at, timer_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("timers")
}

/// `deadline.rescheduled` events on the stream.
async fn rescheduled_on_the_stream(js: &async_nats::jetstream::Context) -> Option<usize> {
    use futures::TryStreamExt as _;
    let stream = js
        .get_stream(borgerraad_messaging::stream::STREAM_NAME)
        .await
        .ok()?;
    let counts: std::collections::HashMap<String, usize> = stream
        .info_with_subjects("borgerraad.deadline.rescheduled")
        .await
        .ok()?
        .try_collect()
        .await
        .ok()?;
    Some(counts.values().sum())
}

#[tokio::test]
async fn deadlines_counted_from_the_monday_after_a_saturday_receipt_are_corrected_at_startup() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    // Tuesday 8 December 2026, 10:00, when the new version starts.
    let now = cph(2026, 12, 8, 10);
    let clock = ManualClock::new(now);
    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    replica.stop().await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let js = jetstream(&nats).await;

    // Received Saturday 28 November: an earlier version counted from Monday 30 November and
    // stored Monday 21 December; by the rule it is due Friday 18 December. Nothing has fired.
    let upcoming = Uuid::now_v7();
    store_as_before(
        &pool,
        upcoming,
        cph(2026, 11, 28, 10),
        date(2026, 11, 30),
        date(2026, 12, 21),
        now,
    )
    .await;
    // Received Saturday 14 November: stored Monday 7 December (counted from Monday 16: Nov 17-20,
    // 23-27, Nov 30 - Dec 4, Dec 7); by the rule Friday 4 December (Nov 16-20, 23-27,
    // Nov 30 - Dec 4). Both warnings, due-today and the breach went out for 7 December.
    let overdue = Uuid::now_v7();
    store_as_before(
        &pool,
        overdue,
        cph(2026, 11, 14, 10),
        date(2026, 11, 16),
        date(2026, 12, 7),
        now,
    )
    .await;
    assert_eq!(
        timers_of(&pool, overdue)
            .await
            .iter()
            .filter(|t| t.3)
            .count(),
        4
    );

    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let mut client = replica.client().await;
    let corrected = deadline(&mut client, upcoming).await;
    assert_eq!(
        corrected.due_date.as_ref().and_then(from_date),
        Some(date(2026, 12, 18))
    );
    assert_eq!(corrected.due_at, Some(timestamp(cph(2026, 12, 19, 0))));
    assert_eq!(corrected.revision, 2);
    assert_eq!(corrected.state(), pb::DeadlineState::Running);
    // The old unfired timers are gone; the new ones fire as for Friday 18 December: warnings 5
    // and 2 working days before (Fri 11 and Wed 16 Dec), due today, the breach at its end, and
    // the director 5 working days later (21-23, 28, 29 Dec; 24-27 Dec are closed).
    let upcoming_timers = vec![
        ("warning-5".to_owned(), 2, cph(2026, 12, 11, 0), false),
        ("warning-2".to_owned(), 2, cph(2026, 12, 16, 0), false),
        ("due-today".to_owned(), 2, cph(2026, 12, 18, 0), false),
        ("breach".to_owned(), 2, cph(2026, 12, 19, 0), false),
        ("escalation-1".to_owned(), 2, cph(2026, 12, 30, 0), false),
    ];
    assert_eq!(timers_of(&pool, upcoming).await, upcoming_timers);

    let moved_back = deadline(&mut client, overdue).await;
    assert_eq!(
        moved_back.due_date.as_ref().and_then(from_date),
        Some(date(2026, 12, 4))
    );
    assert_eq!(moved_back.revision, 2);
    // Monday 7 and Tuesday 8 December are past the due date.
    assert_eq!(moved_back.working_days_overdue, 2);
    // What went out for 7 December is not sent again for 4 December (its moments have passed
    // too); only the escalation, 5 working days after 4 December (7-11 Dec), is still to come.
    let overdue_timers = vec![
        ("warning-5".to_owned(), 1, cph(2026, 11, 30, 0), true),
        ("warning-2".to_owned(), 1, cph(2026, 12, 3, 0), true),
        ("due-today".to_owned(), 1, cph(2026, 12, 7, 0), true),
        ("breach".to_owned(), 1, cph(2026, 12, 8, 0), true),
        ("escalation-1".to_owned(), 2, cph(2026, 12, 12, 0), false),
    ];
    assert_eq!(timers_of(&pool, overdue).await, overdue_timers);
    // Nothing is due now, so nothing can fire at start.
    let due_now: i64 =
        sqlx::query_scalar("SELECT count(*) FROM timers WHERE fired_at IS NULL AND fire_at <= $1")
            .bind(now)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(due_now, 0);

    // One `deadline.rescheduled` each, written with the correction and relayed to NATS.
    let events = published(&pool).await;
    let rescheduled: Vec<_> = events
        .iter()
        .filter_map(|event| match &event.data {
            Some(Data::DeadlineScheduled(scheduled))
                if event.r#type == "borgerraad.deadline.rescheduled" =>
            {
                Some((
                    scheduled.inquiry_id.clone(),
                    scheduled.due_date.as_ref().and_then(from_date),
                    scheduled.revision,
                ))
            }
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2, "nothing but the corrections: {events:?}");
    assert_eq!(
        rescheduled,
        [
            (upcoming.to_string(), Some(date(2026, 12, 18)), 2),
            (overdue.to_string(), Some(date(2026, 12, 4)), 2),
        ]
    );
    eventually("the corrections on NATS", SETTLE, || async {
        (rescheduled_on_the_stream(&js).await? == 2).then_some(())
    })
    .await;

    // A second start finds nothing to correct.
    replica.stop().await;
    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let mut client = replica.client().await;
    assert_eq!(deadline(&mut client, upcoming).await.revision, 2);
    assert_eq!(deadline(&mut client, overdue).await.revision, 2);
    assert_eq!(timers_of(&pool, upcoming).await, upcoming_timers);
    assert_eq!(timers_of(&pool, overdue).await, overdue_timers);
    assert_eq!(published(&pool).await.len(), 2);
    assert_eq!(rescheduled_on_the_stream(&js).await, Some(2));

    // The timers fire at the new times: Friday 11 December, 00:00, the first warning for
    // 18 December; Saturday 12 December, 00:00, the escalation for 4 December, and nothing else.
    clock.set(cph(2026, 12, 11, 0) + chrono::Duration::seconds(30));
    replica.tick();
    let events = wait_for_events(&pool, "the first warning", 3).await;
    let Some(Data::DeadlineNotice(warning)) = &events[2].data else {
        panic!("a notice");
    };
    assert_eq!(
        (warning.inquiry_id.as_str(), warning.step.as_str()),
        (upcoming.to_string().as_str(), "warning-5")
    );
    assert_eq!(
        warning.due_date.as_ref().and_then(from_date),
        Some(date(2026, 12, 18))
    );
    clock.set(cph(2026, 12, 12, 0) + chrono::Duration::seconds(30));
    replica.tick();
    let events = wait_for_events(&pool, "the escalation", 4).await;
    let Some(Data::DeadlineNotice(escalation)) = &events[3].data else {
        panic!("a notice");
    };
    assert_eq!(
        (escalation.inquiry_id.as_str(), escalation.step.as_str()),
        (overdue.to_string().as_str(), "escalation-1")
    );
    assert_eq!(notice_steps(&events), ["warning-5", "escalation-1"]);
    replica.stop().await;
}

#[tokio::test]
async fn two_replicas_starting_together_correct_each_deadline_once() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let now = cph(2026, 12, 8, 10);
    let clock = ManualClock::new(now);
    Replica::start(&database, &nats, clock.clone(), |_| {})
        .await
        .stop()
        .await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    // Forty receipts on Saturday 28 November, stored as due Monday 21 December.
    let mut ids = Vec::new();
    for minute in 0..40 {
        let id = Uuid::now_v7();
        let received_at = cph(2026, 11, 28, 9) + chrono::Duration::minutes(minute);
        store_as_before(
            &pool,
            id,
            received_at,
            date(2026, 11, 30),
            date(2026, 12, 21),
            now,
        )
        .await;
        ids.push(id);
    }

    let (first, second) = tokio::join!(
        Replica::start(&database, &nats, clock.clone(), |_| {}),
        Replica::start(&database, &nats, clock.clone(), |_| {}),
    );
    // Each replica serves only after its own pass over the open deadlines.
    for replica in [&first, &second] {
        let mut client = replica.client().await;
        for id in &ids {
            let corrected = deadline(&mut client, *id).await;
            assert_eq!(
                (
                    corrected.revision,
                    corrected.due_date.as_ref().and_then(from_date)
                ),
                (2, Some(date(2026, 12, 18)))
            );
        }
    }
    let events = published(&pool).await;
    assert_eq!(events.len(), ids.len());
    assert!(
        events
            .iter()
            .all(|e| e.r#type == "borgerraad.deadline.rescheduled")
    );
    let mut subjects: Vec<_> = events.iter().map(|e| e.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), ids.len(), "one correction per inquiry");
    let timers: (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE revision = 2) FROM timers")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(
        timers,
        (5 * 40, 5 * 40),
        "one chain per inquiry, of revision 2"
    );
    first.stop().await;
    second.stop().await;
}

/// A real SMTP server (aiosmtpd, tests/support/smtp_server.py) on a free port: STARTTLS and AUTH
/// required, its certificate from `cert`; records each message as its reader sees it.
struct SmtpServer {
    port: u16,
    messages: Arc<Mutex<Vec<serde_json::Value>>>,
    acks: tokio::sync::mpsc::UnboundedReceiver<String>,
    stdin: tokio::process::ChildStdin,
    _child: tokio::process::Child,
}

impl SmtpServer {
    async fn start(cert: &ServerCert, user: &str, password: &str) -> Self {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
        let port = free_port().expect("free port");
        let mut child = tokio::process::Command::new(&python)
            .arg(script)
            .arg(port.to_string())
            .arg(&cert.cert_file)
            .arg(&cert.key_file)
            .args([user, password])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot run {python} for the test SMTP server: {error}")
            });
        let stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(SETTLE, lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref line))) if line == "ready"),
            "the test SMTP server (aiosmtpd) did not start: is it installed? \
             `pip install aiosmtpd` (scripts/test.sh installs it); its error is above"
        );
        let messages = Arc::<Mutex<Vec<serde_json::Value>>>::default();
        let (ack, acks) = tokio::sync::mpsc::unbounded_channel();
        let recorded = messages.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with('{') {
                    let message = serde_json::from_str(&line).expect("a message as JSON");
                    recorded.lock().expect("lock").push(message);
                } else {
                    let _ = ack.send(line);
                }
            }
        });
        Self {
            port,
            messages,
            acks,
            stdin,
            _child: child,
        }
    }

    /// From now on every recipient is refused with 451 (or accepted again).
    async fn refuse(&mut self, refuse: bool) {
        let command = if refuse { "refuse" } else { "accept" };
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("command");
        let ack = self.acks.recv().await.expect("an answer");
        assert_eq!(ack, format!("ok {command}"));
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        self.messages.lock().expect("lock").clone()
    }

    /// Settings for a service that trusts `ca` and logs in as `user`.
    fn settings(&self, ca: &TestCa, user: &str, password: &str) -> SmtpSettings {
        let mut smtp = SmtpSettings::parse(
            &format!("smtp://127.0.0.1:{}", self.port),
            "frist@borgerraad.example".into(),
            false,
        )
        .expect("smtp settings");
        smtp.credentials = Some((user.to_owned(), Secret::new(password)));
        smtp.ca_file = Some(ca.ca_file.clone());
        smtp.timeout = Duration::from_secs(5);
        smtp
    }
}

/// One POST as the webhook receiver saw it.
#[derive(Debug, Clone)]
struct Post {
    body: String,
    delivery_id: Option<String>,
    /// The `Borgerraad-Signature` checked here, independently of the service's code.
    signature_valid: bool,
}

/// A real HTTPS server (hyper over tokio-rustls, certificate `cert`) on a free port answering
/// every POST with `status`, recording what arrives.
#[derive(Clone)]
struct WebhookSink {
    posts: Arc<Mutex<Vec<Post>>>,
    status: Arc<AtomicU16>,
}

const WEBHOOK_SECRET: &str = "delt-hemmelighed-til-test";

/// Checks `t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">` as a receiver would: the
/// MAC with the shared secret, and a timestamp within five minutes of now.
fn signature_valid(header: &str, body: &[u8]) -> bool {
    use hmac::{KeyInit as _, Mac as _};
    let mut timestamp = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(v1)) = (timestamp, v1) else {
        return false;
    };
    let fresh = (Utc::now().timestamp() - timestamp).abs() < 300;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fresh && expected == v1
}

impl WebhookSink {
    async fn start(status: u16, cert: &ServerCert) -> (Self, u16) {
        use http_body_util::BodyExt as _;
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate");
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let sink = Self {
            posts: Arc::default(),
            status: Arc::new(AtomicU16::new(status)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = server.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust this certificate ends here.
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |request: http::Request<hyper::body::Incoming>| {
                            let sink = sink.clone();
                            async move {
                                let header = |name: &str| {
                                    request
                                        .headers()
                                        .get(name)
                                        .and_then(|v| v.to_str().ok())
                                        .map(str::to_owned)
                                };
                                let signature = header("borgerraad-signature").unwrap_or_default();
                                let delivery_id = header("borgerraad-delivery-id");
                                let body = request.into_body().collect().await?.to_bytes();
                                sink.posts.lock().expect("lock").push(Post {
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                    delivery_id,
                                    signature_valid: signature_valid(&signature, &body),
                                });
                                let mut response = http::Response::new(http_body_util::Full::new(
                                    bytes::Bytes::new(),
                                ));
                                *response.status_mut() =
                                    http::StatusCode::from_u16(sink.status.load(Ordering::SeqCst))
                                        .expect("status");
                                Ok::<_, hyper::Error>(response)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (sink, port)
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("lock").clone()
    }
}

fn webhook_settings(ca: &TestCa) -> WebhookSettings {
    WebhookSettings {
        signing_secret: Secret::new(WEBHOOK_SECRET),
        ca_file: Some(ca.ca_file.clone()),
        plaintext: false,
    }
}

const SMTP_USER: &str = "fristovervaagning";
const SMTP_PASSWORD: &str = "kodeord-kun-til-test";

/// Publishes a received and assigned inquiry (caseworker cw-17) and waits until the service
/// knows the caseworker.
async fn assigned_inquiry(
    nats: &NatsServer,
    replica: &Replica,
    received_at: DateTime<Utc>,
) -> Uuid {
    let js = jetstream(nats).await;
    let id = Uuid::now_v7();
    publish(&js, &received(id, received_at)).await;
    publish(
        &js,
        &step(
            EventType::InquiryAssigned,
            id,
            3,
            pb::InquiryStatus::Assessed,
            pb::InquiryStatus::Assigned,
            received_at,
        ),
    )
    .await;
    let client = replica.client().await;
    eventually("the caseworker known", SETTLE, || {
        let mut client = client.clone();
        async move {
            let d = client
                .get_deadline(pb::GetDeadlineRequest {
                    inquiry_id: id.to_string(),
                })
                .await
                .ok()?
                .into_inner();
            (d.caseworker_id == "cw-17").then_some(())
        }
    })
    .await;
    id
}

#[tokio::test]
async fn notices_are_delivered_by_smtp_and_webhook_and_failures_end_as_dead_letters() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let ca = TestCa::new("notices").expect("ca");
    let mut smtp = SmtpServer::start(&ca.server, SMTP_USER, SMTP_PASSWORD).await;
    let (webhook, webhook_port) = WebhookSink::start(200, &ca.server).await;
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(received_at);
    let replica = Replica::start(&database, &nats, clock.clone(), |s| {
        s.delivery.smtp = Some(smtp.settings(&ca, SMTP_USER, SMTP_PASSWORD));
        s.delivery.webhook = Some(webhook_settings(&ca));
        s.delivery.max_attempts = 3;
        s.channels.email = true;
        s.channels.addresses.caseworker_pattern = Some("{caseworker_id}@borgerraad.example".into());
        s.channels.addresses.head_of_office = Some("leder@borgerraad.example".into());
        s.channels.webhook_url = Some(format!("https://127.0.0.1:{webhook_port}/frister"));
    })
    .await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let id = assigned_inquiry(&nats, &replica, received_at).await;
    let mut client = replica.client().await;

    // warning-5: delivered on both channels.
    clock.set(cph(2026, 12, 9, 9));
    replica.tick();
    eventually("the e-mail and the webhook", SETTLE, || async {
        (smtp.messages().len() == 1 && webhook.posts().len() == 1).then_some(())
    })
    .await;
    let mail = smtp.messages()[0].clone();
    assert_eq!(mail["encrypted"], true, "STARTTLS before the message");
    assert_eq!(mail["authenticated_as"], SMTP_USER);
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["cw-17@borgerraad.example"])
    );
    assert_eq!(mail["to"], "cw-17@borgerraad.example");
    assert_eq!(
        mail["subject"],
        "Frist om 5 arbejdsdage: henvendelse BR-2026-000042"
    );
    let text = mail["body"].as_str().expect("body");
    assert!(text.contains("Henvendelse BR-2026-000042 skal besvares senest den 16. december 2026"));
    assert!(!text.contains("Karen"), "never a name");
    let post = webhook.posts()[0].clone();
    assert!(post.signature_valid, "the webhook is signed: {post:?}");
    let payload: serde_json::Value = serde_json::from_str(&post.body).expect("json");
    assert_eq!(payload["step"], "warning-5");
    assert_eq!(payload["reference"], "BR-2026-000042");
    assert_eq!(payload["type"], "borgerraad.deadline.warning");
    let notice_id = payload["notice_id"].as_str().expect("notice id");
    assert_eq!(post.delivery_id.as_deref(), Some(notice_id));
    Uuid::parse_str(notice_id).expect("a UUID");
    assert_eq!(
        mail["message_id"],
        format!("<{notice_id}@deadline-monitoring.borgerraad>"),
        "the e-mail carries the same notice id"
    );

    // Both channels fail from now on: retried with backoff, then set aside.
    smtp.refuse(true).await;
    webhook.status.store(503, Ordering::SeqCst);
    clock.set(cph(2026, 12, 14, 9));
    replica.tick();
    let failing = |status: &'static str| {
        let pool = pool.clone();
        async move {
            let rows: Vec<(String, i32)> = sqlx::query_as(
                "SELECT d.channel, d.attempts FROM deliveries d JOIN timers t USING (timer_id) \
                 WHERE t.step = 'warning-2' AND d.status = $1 ORDER BY d.channel",
            )
            .bind(status)
            .fetch_all(&pool)
            .await
            .ok()?;
            (rows.len() == 2).then_some(rows)
        }
    };
    let first_try = eventually("a first failed attempt", SETTLE, || async {
        failing("pending")
            .await
            .filter(|rows| rows.iter().all(|r| r.1 == 1))
    })
    .await;
    assert_eq!(first_try.len(), 2);
    // The retry waits: nothing more happens until the clock passes the backoff.
    replica.app_scheduler.fire_due().await.expect("a round");
    for minutes in [2, 6] {
        clock.set(cph(2026, 12, 14, 9) + chrono::Duration::minutes(minutes));
        replica.app_scheduler.deliveries_wake.notify_waiters();
        let attempts = if minutes == 2 { 2 } else { 3 };
        eventually("the next attempt", SETTLE, || async {
            let pending = failing("pending")
                .await
                .filter(|rows| rows.iter().all(|r| r.1 == attempts));
            let dead = failing("dead_letter")
                .await
                .filter(|rows| rows.iter().all(|r| r.1 == attempts));
            pending.or(dead)
        })
        .await;
    }
    let dead = failing("dead_letter").await.expect("dead letters");
    assert_eq!(dead, [("email".to_owned(), 3), ("webhook".to_owned(), 3)]);
    let shown = deadline(&mut client, id).await;
    let warning_2 = shown
        .notices
        .iter()
        .find(|n| n.step == "warning-2")
        .expect("warning-2");
    assert!(
        warning_2
            .deliveries
            .iter()
            .all(|d| d.status == "dead_letter")
    );
    assert_eq!(smtp.messages().len(), 1, "no mail delivered twice");
    assert!(
        webhook.posts().iter().all(|p| p.signature_valid),
        "every attempt signed"
    );
    replica.stop().await;
}

#[tokio::test]
async fn receivers_whose_certificates_are_not_trusted_get_nothing_and_the_delivery_is_retried() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    // The service trusts `ca`; both receivers present certificates of another CA.
    let ca = TestCa::new("trusted").expect("ca");
    let stranger = TestCa::new("stranger").expect("ca");
    let smtp = SmtpServer::start(&stranger.server, SMTP_USER, SMTP_PASSWORD).await;
    let (webhook, webhook_port) = WebhookSink::start(200, &stranger.server).await;
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(received_at);
    let replica = Replica::start(&database, &nats, clock.clone(), |s| {
        s.delivery.smtp = Some(smtp.settings(&ca, SMTP_USER, SMTP_PASSWORD));
        s.delivery.webhook = Some(webhook_settings(&ca));
        s.channels.email = true;
        s.channels.addresses.head_of_office = Some("leder@borgerraad.example".into());
        s.channels.webhook_url = Some(format!("https://127.0.0.1:{webhook_port}/frister"));
    })
    .await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    assigned_inquiry(&nats, &replica, received_at).await;

    clock.set(cph(2026, 12, 9, 9));
    replica.tick();
    let failed: Vec<(String, String, i32, String)> =
        eventually("both deliveries tried once", SETTLE, || async {
            let rows: Vec<(String, String, i32, String)> = sqlx::query_as(
                "SELECT channel, status, attempts, coalesce(last_error, '') FROM deliveries \
                 ORDER BY channel",
            )
            .fetch_all(&pool)
            .await
            .ok()?;
            (rows.len() == 2 && rows.iter().all(|r| r.2 == 1)).then_some(rows)
        })
        .await;
    for (channel, status, _, error) in &failed {
        assert_eq!(status, "pending", "{channel} is retried later");
        assert!(
            error.contains("UnknownIssuer") || error.contains("certificate"),
            "{channel}: {error}"
        );
    }
    assert!(smtp.messages().is_empty(), "no mail to an untrusted relay");
    assert!(
        webhook.posts().is_empty(),
        "no POST to an untrusted receiver"
    );
    replica.stop().await;
}

#[tokio::test]
async fn the_api_previews_lists_and_refuses_bad_input_precisely() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(cph(2026, 12, 10, 10));
    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let js = jetstream(&nats).await;
    let mut client = replica.client().await;

    let preview = client
        .preview_deadline(pb::PreviewDeadlineRequest {
            received_at: Some(timestamp(cph(2026, 12, 22, 10))),
        })
        .await
        .expect("a preview")
        .into_inner();
    assert_eq!(
        preview.due_date.as_ref().and_then(from_date),
        Some(date(2027, 1, 18))
    );
    assert_eq!(preview.working_days, 15);

    let days = client
        .list_non_working_days(pb::ListNonWorkingDaysRequest {
            from: Some(borgerraad_platform::convert::date(date(2026, 12, 24))),
            to: Some(borgerraad_platform::convert::date(date(2026, 12, 27))),
        })
        .await
        .expect("days")
        .into_inner()
        .days;
    let names: Vec<_> = days.iter().map(|d| d.name_da.as_str()).collect();
    assert_eq!(names, ["juleaftensdag", "juledag", "2. juledag", "søndag"]);

    let id = Uuid::now_v7();
    publish(&js, &received(id, received_at)).await;
    wait_for_revision(&mut client, id, pb::DeadlineState::Running, 1).await;
    let at_risk = |within: i32, department: &str| pb::ListAtRiskRequest {
        within_working_days: within,
        department: department.into(),
        ..Default::default()
    };
    // On 10 December the deadline (16 December) is 4 working days away.
    let near = client
        .list_at_risk(at_risk(4, ""))
        .await
        .expect("list")
        .into_inner()
        .deadlines;
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].working_days_left, 4);
    assert!(
        client
            .list_at_risk(at_risk(3, ""))
            .await
            .expect("list")
            .into_inner()
            .deadlines
            .is_empty()
    );
    assert!(
        client
            .list_at_risk(at_risk(10, "social"))
            .await
            .expect("list")
            .into_inner()
            .deadlines
            .is_empty()
    );

    use tonic_types::StatusExt as _;
    let fields = |status: tonic::Status| -> Vec<String> {
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default()
    };
    let bad = client
        .get_deadline(pb::GetDeadlineRequest {
            inquiry_id: "nope".into(),
        })
        .await
        .expect_err("bad id");
    assert_eq!(fields(bad), ["inquiry_id"]);
    let missing = client
        .get_deadline(pb::GetDeadlineRequest {
            inquiry_id: Uuid::now_v7().to_string(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let bad = client
        .list_at_risk(pb::ListAtRiskRequest {
            within_working_days: -1,
            page_size: 5000,
            ..Default::default()
        })
        .await
        .expect_err("bad");
    assert_eq!(fields(bad), ["within_working_days", "page_size"]);
    let bad = client
        .preview_deadline(pb::PreviewDeadlineRequest { received_at: None })
        .await
        .expect_err("bad");
    assert_eq!(fields(bad), ["received_at"]);
    let bad = client
        .preview_deadline(pb::PreviewDeadlineRequest {
            received_at: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
        })
        .await
        .expect_err("1970");
    assert_eq!(fields(bad), ["received_at"]);
    let bad = client
        .list_non_working_days(pb::ListNonWorkingDaysRequest {
            from: Some(pb::Date {
                year: 2026,
                month: 2,
                day: 30,
            }),
            to: None,
        })
        .await
        .expect_err("bad");
    assert_eq!(fields(bad), ["from", "to"]);
    let bad = client
        .list_non_working_days(pb::ListNonWorkingDaysRequest {
            from: Some(borgerraad_platform::convert::date(date(2026, 12, 24))),
            to: Some(borgerraad_platform::convert::date(date(2026, 12, 1))),
        })
        .await
        .expect_err("reversed");
    assert_eq!(fields(bad), ["to"]);
    let bad = client
        .list_non_working_days(pb::ListNonWorkingDaysRequest {
            from: Some(borgerraad_platform::convert::date(date(2020, 1, 1))),
            to: Some(borgerraad_platform::convert::date(date(2026, 1, 1))),
        })
        .await
        .expect_err("too wide");
    assert_eq!(fields(bad), ["to"]);
    replica.stop().await;
}

#[tokio::test]
async fn a_preview_counts_from_the_first_working_day_after_the_receipt_date() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let clock = ManualClock::new(cph(2026, 11, 25, 10));
    let replica = Replica::start(&database, &nats, clock.clone(), |_| {}).await;
    let mut client = replica.client().await;
    let local = |y, m, d, h, min| {
        Copenhagen
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid test instant")
            .with_timezone(&Utc)
    };
    // (received, first counted day, due date). Derived in crates/working-days:
    // Saturday 28 November 2026 does not count: Mon 30 Nov is day 1, Fri 18 Dec day 15, as for
    // Friday 27; Monday 30 Nov counts from Tue 1 Dec to Mon 21 Dec; New Year's Eve 2025 from
    // Fri 2 Jan to Thu 22 Jan 2026; Maundy Thursday 2028 from Tue 18 Apr (after Easter) to
    // Mon 8 May.
    let cases = [
        (
            local(2026, 11, 28, 0, 0),
            date(2026, 11, 30),
            date(2026, 12, 18),
        ),
        (
            local(2026, 11, 28, 10, 0),
            date(2026, 11, 30),
            date(2026, 12, 18),
        ),
        (
            local(2026, 11, 28, 23, 59),
            date(2026, 11, 30),
            date(2026, 12, 18),
        ),
        (
            local(2026, 11, 27, 10, 0),
            date(2026, 11, 30),
            date(2026, 12, 18),
        ),
        (
            local(2026, 11, 30, 10, 0),
            date(2026, 12, 1),
            date(2026, 12, 21),
        ),
        (
            local(2025, 12, 31, 10, 0),
            date(2026, 1, 2),
            date(2026, 1, 22),
        ),
        (
            local(2028, 4, 13, 10, 0),
            date(2028, 4, 18),
            date(2028, 5, 8),
        ),
    ];
    for (received_at, first, due) in cases {
        let preview = client
            .preview_deadline(pb::PreviewDeadlineRequest {
                received_at: Some(timestamp(received_at)),
            })
            .await
            .expect("a preview")
            .into_inner();
        assert_eq!(
            (
                preview.first_counted_day.as_ref().and_then(from_date),
                preview.due_date.as_ref().and_then(from_date),
            ),
            (Some(first), Some(due)),
            "received {received_at}"
        );
        assert_eq!(
            preview.due_at,
            Some(timestamp(working_days::end_of_copenhagen_day(due)))
        );
        assert_eq!(preview.working_days, 15);
    }
    replica.stop().await;
}

/// A real intake service for reconciliation to ask: its port, its stop token, its task and a
/// client.
async fn start_intake(
    database: &TestDatabase,
    nats: &NatsServer,
    clock: Arc<ManualClock>,
) -> (
    u16,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
    borgerraad_proto::v1::intake_service_client::IntakeServiceClient<AuthorizedChannel>,
) {
    let intake = intake::Application::build(
        intake::Settings {
            common: common("intake", database, nats).await,
            departments: borgerraad_platform::departments::Departments::odense(),
            personal_data_keys: Arc::new(personal_data::Keyring::new(
                personal_data::DataKey::generate("test").expect("key"),
            )),
            retention: Default::default(),
        },
        clock,
    )
    .await
    .expect("intake");
    let port = intake.port();
    let stop = CancellationToken::new();
    let task = tokio::spawn(intake.run_until(stop.clone()));
    let client = borgerraad_proto::v1::intake_service_client::IntakeServiceClient::new(
        staff(
            Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .expect("url")
                .connect_lazy(),
        )
        .await,
    );
    (port, stop, task, client)
}

#[tokio::test]
async fn reconciliation_repairs_a_deadline_whose_stop_event_was_lost() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let clock = ManualClock::new(cph(2026, 11, 25, 10));
    let (intake_port, intake_stop, intake_task, mut intake_client) =
        start_intake(&database, &nats, clock.clone()).await;
    let configure = |s: &mut Settings| s.intake_url = format!("http://127.0.0.1:{intake_port}");
    let replica = Replica::start(&database, &nats, clock.clone(), configure).await;
    let mut client = replica.client().await;
    let submitted = intake_client
        .submit_inquiry(valid_submission())
        .await
        .expect("submitted")
        .into_inner();
    let id = Uuid::parse_str(&submitted.inquiry_id).expect("id");
    wait_for_revision(&mut client, id, pb::DeadlineState::Running, 1).await;
    replica.stop().await;

    // While the service is down the inquiry is answered, and the answer's event is lost.
    let mut version = intake_client
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: id.to_string(),
            ..Default::default()
        })
        .await
        .expect("inquiry")
        .into_inner()
        .version;
    clock.set(cph(2026, 11, 27, 10));
    let withdrawn = intake_client
        .withdraw_inquiry(pb::WithdrawInquiryRequest {
            inquiry_id: id.to_string(),
            expected_version: version,
            actor: STAFF.into(),
            reason: "Borgeren har trukket henvendelsen tilbage".into(),
        })
        .await
        .expect("withdrawn")
        .into_inner();
    version = withdrawn.version;
    assert_eq!(withdrawn.status(), pb::InquiryStatus::Withdrawn);
    let intake_pool = database.pool("intake").await.expect("intake pool");
    eventually("the withdrawal published", SETTLE, || async {
        let unpublished: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&intake_pool)
                .await
                .ok()?;
        (unpublished == 0).then_some(())
    })
    .await;
    let js = jetstream(&nats).await;
    let stream = js
        .get_stream(borgerraad_messaging::stream::STREAM_NAME)
        .await
        .expect("stream");
    stream
        .purge()
        .filter("borgerraad.inquiry.withdrawn")
        .await
        .expect("purged");

    let replica = Replica::start(&database, &nats, clock.clone(), configure).await;
    let mut client = replica.client().await;
    assert_eq!(
        deadline(&mut client, id).await.state(),
        pb::DeadlineState::Running,
        "the stop was lost"
    );
    replica.reconciler.reconcile_once().await.expect("a round");
    let repaired = deadline(&mut client, id).await;
    assert_eq!(repaired.state(), pb::DeadlineState::Stopped);
    let outcome = repaired.outcome.expect("an outcome");
    assert_eq!(
        (
            outcome.reason(),
            outcome.result(),
            outcome.working_days_used
        ),
        (pb::DeadlineStopReason::Withdrawn, pb::SlaResult::Met, 2)
    );
    assert!(version > 1);
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    assert!(
        published(&pool)
            .await
            .iter()
            .any(|e| e.r#type == "borgerraad.deadline.stopped")
    );
    replica.stop().await;
    intake_stop.cancel();
    let _ = intake_task.await;
}

#[tokio::test]
async fn one_inquiry_that_cannot_be_reconciled_does_not_stop_the_others() {
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let clock = ManualClock::new(cph(2026, 11, 25, 10));
    let (intake_port, intake_stop, intake_task, mut intake_client) =
        start_intake(&database, &nats, clock.clone()).await;
    let configure = |s: &mut Settings| s.intake_url = format!("http://127.0.0.1:{intake_port}");
    let replica = Replica::start(&database, &nats, clock.clone(), configure).await;
    let mut client = replica.client().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let submitted = intake_client
            .submit_inquiry(valid_submission())
            .await
            .expect("submitted")
            .into_inner();
        let id = Uuid::parse_str(&submitted.inquiry_id).expect("id");
        wait_for_revision(&mut client, id, pb::DeadlineState::Running, 1).await;
        ids.push(id);
    }
    let (broken, lost) = (ids[0], ids[1]);
    replica.stop().await;

    // The second inquiry is withdrawn while the service is down, and the event is lost.
    let version = intake_client
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: lost.to_string(),
            ..Default::default()
        })
        .await
        .expect("inquiry")
        .into_inner()
        .version;
    clock.set(cph(2026, 11, 27, 10));
    intake_client
        .withdraw_inquiry(pb::WithdrawInquiryRequest {
            inquiry_id: lost.to_string(),
            expected_version: version,
            actor: STAFF.into(),
            reason: "Borgeren har trukket henvendelsen tilbage".into(),
        })
        .await
        .expect("withdrawn");
    let intake_pool = database.pool("intake").await.expect("intake pool");
    eventually("the withdrawal published", SETTLE, || async {
        let unpublished: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&intake_pool)
                .await
                .ok()?;
        (unpublished == 0).then_some(())
    })
    .await;
    let js = jetstream(&nats).await;
    js.get_stream(borgerraad_messaging::stream::STREAM_NAME)
        .await
        .expect("stream")
        .purge()
        .filter("borgerraad.inquiry.withdrawn")
        .await
        .expect("purged");
    // The first one cannot be checked (its row is damaged) and comes first in the queue.
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    sqlx::query(
        "UPDATE deadlines SET paused_working_days = -1, reconciled_at = NULL WHERE inquiry_id = $1",
    )
    .bind(broken)
    .execute(&pool)
    .await
    .expect("damaged");
    sqlx::query("UPDATE deadlines SET reconciled_at = '2026-01-01' WHERE inquiry_id = $1")
        .bind(lost)
        .execute(&pool)
        .await
        .expect("later in the queue");

    let replica = Replica::start(&database, &nats, clock.clone(), configure).await;
    let mut client = replica.client().await;
    // A round asked to stop before it starts checks nothing.
    let cancelled = CancellationToken::new();
    cancelled.cancel();
    let nothing = replica
        .reconciler
        .reconcile_until(&cancelled)
        .await
        .expect("a round");
    assert_eq!((nothing.checked, nothing.failed), (0, 0));

    let done = replica.reconciler.reconcile_once().await.expect("a round");
    assert_eq!((done.checked, done.failed), (1, 1));
    let repaired = deadline(&mut client, lost).await;
    assert_eq!(repaired.state(), pb::DeadlineState::Stopped);
    let broken_reconciled: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT reconciled_at FROM deadlines WHERE inquiry_id = $1")
            .bind(broken)
            .fetch_one(&pool)
            .await
            .expect("row");
    assert_eq!(
        broken_reconciled,
        Some(cph(2026, 11, 27, 10)),
        "set back in the queue, not first forever"
    );
    replica.stop().await;
    intake_stop.cancel();
    let _ = intake_task.await;
}

#[tokio::test]
async fn an_erased_inquiry_s_notices_lose_their_addresses_and_texts_and_a_pending_one_is_set_aside()
{
    let (nats, database) = (
        NatsServer::start().await.expect("nats"),
        TestDatabase::create().await.expect("db"),
    );
    let ca = TestCa::new("erasure").expect("ca");
    let (webhook, webhook_port) = WebhookSink::start(200, &ca.server).await;
    let received_at = cph(2026, 11, 25, 10);
    let clock = ManualClock::new(received_at);
    let replica = Replica::start(&database, &nats, clock.clone(), |s| {
        s.delivery.webhook = Some(webhook_settings(&ca));
        s.channels.webhook_url = Some(format!("https://127.0.0.1:{webhook_port}/frister"));
    })
    .await;
    let pool = database.pool("deadline_monitoring").await.expect("pool");
    let id = assigned_inquiry(&nats, &replica, received_at).await;
    // warning-5 is delivered; warning-2 meets a failing receiver and waits for its retry.
    clock.set(cph(2026, 12, 9, 9));
    replica.tick();
    eventually("the first notice delivered", SETTLE, || async {
        (webhook.posts().len() == 1).then_some(())
    })
    .await;
    webhook.status.store(503, Ordering::SeqCst);
    clock.set(cph(2026, 12, 14, 9));
    replica.tick();
    let attempts = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i32>(
            "SELECT d.attempts FROM deliveries d JOIN timers t USING (timer_id) \
             WHERE t.step = 'warning-2' AND d.status = 'pending'",
        )
        .fetch_optional(&pool)
        .await
        .ok()
        .flatten()
    };
    eventually(
        "the second notice pending after a failure",
        SETTLE,
        || async { attempts(pool.clone()).await.filter(|a| *a >= 1) },
    )
    .await;

    let js = jetstream(&nats).await;
    let at = cph(2026, 12, 14, 10);
    publish(
        &js,
        &step(
            EventType::InquiryWithdrawn,
            id,
            4,
            pb::InquiryStatus::Assigned,
            pb::InquiryStatus::Withdrawn,
            at,
        ),
    )
    .await;
    let erased = new_event(
        "/borgerraad/intake",
        EventType::InquiryPersonalDataErased,
        id,
        at,
        Data::InquiryPersonalDataErased(pb::InquiryPersonalDataErased {
            inquiry_id: id.to_string(),
            department: "by-og-kultur".into(),
            version: 5,
            erased_at: Some(timestamp(at)),
            reason: pb::ErasureReason::Request.into(),
        }),
    );
    publish(&js, &erased).await;
    eventually("the erasure applied", SETTLE, || async {
        sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
            "SELECT personal_data_erased_at FROM deadlines WHERE inquiry_id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .ok()
        .flatten()
    })
    .await;

    let deliveries: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT t.step, d.status, d.address, d.subject || d.body FROM deliveries d \
         JOIN timers t USING (timer_id) WHERE t.inquiry_id = $1 ORDER BY t.step DESC",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("deliveries");
    assert_eq!(
        deliveries,
        [
            (
                "warning-5".into(),
                "delivered".into(),
                String::new(),
                String::new()
            ),
            (
                "warning-2".into(),
                "dead_letter".into(),
                String::new(),
                String::new()
            ),
        ]
    );
    // The deadline and its result stay.
    let deadline = replica
        .client()
        .await
        .get_deadline(pb::GetDeadlineRequest {
            inquiry_id: id.to_string(),
        })
        .await
        .expect("the deadline stays")
        .into_inner();
    assert_eq!(deadline.reference, "BR-2026-000042");
    replica.stop().await;
}
