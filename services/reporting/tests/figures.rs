//! The reporting service against a real nats-server and PostgreSQL: events published to the
//! stream by the test, figures read over gRPC.

use std::time::Duration;

use async_nats::jetstream;
use borgerraad_messaging::{EventType, new_event};
use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_platform::clock::ManualClock;
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_platform::departments::Departments;
use borgerraad_platform::settings::{CommonSettings, LogFormat, Secret};
use borgerraad_proto::v1::{
    self as pb, event::Data, reporting_service_client::ReportingServiceClient,
};
use borgerraad_test_harness::TestIdp;
use borgerraad_test_harness::idp::STAFF;
use borgerraad_test_harness::{NatsServer, TestDatabase, eventually};
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// One reporting service with its own NATS and database.
struct Reporting {
    nats: NatsServer,
    database: TestDatabase,
    events: jetstream::Context,
    client: ReportingServiceClient<AuthorizedChannel>,
    /// The client's channel, for calls the generated client cannot make.
    channel: AuthorizedChannel,
    tables: sqlx::PgPool,
    shutdown: CancellationToken,
    service: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// The departments the tests' events name, as configured: "social" with a name of its own.
fn departments() -> Departments {
    Departments::parse("by-og-kultur,boern-og-unge,social=Social- og Sundhedsforvaltningen")
        .expect("departments")
}

/// The service on `nats` and `database`, serving until the token is cancelled.
async fn serve(
    nats: &NatsServer,
    database: &TestDatabase,
    departments: Departments,
) -> (
    AuthorizedChannel,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    // The Wednesday after the last inquiry below was received.
    let clock = ManualClock::new(at(2026, 11, 25));
    let settings = reporting::Settings {
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
        departments,
    };
    let application = reporting::Application::build(settings, clock)
        .await
        .expect("build");
    let port = application.port();
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(application.run_until(shutdown.clone()));
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("url")
        .connect_lazy();
    (idp.channel(channel, STAFF), shutdown, service)
}

impl Reporting {
    async fn start() -> Self {
        Self::start_after(&[]).await
    }

    /// Starts the service once `waiting` is on the stream, so it takes them in full chunks.
    async fn start_after(waiting: &[pb::Event]) -> Self {
        let nats = NatsServer::start().await.expect("nats-server");
        let database = TestDatabase::create().await.expect("database");
        let events = jetstream::new(nats.client().await.expect("client"));
        borgerraad_messaging::stream::ensure_stream(&events)
            .await
            .expect("stream");
        for event in waiting {
            publish_on(&events, event, &event.id).await;
        }
        let (channel, shutdown, service) = serve(&nats, &database, departments()).await;
        let tables = database.pool("reporting").await.expect("pool");
        Self {
            nats,
            database,
            events,
            client: ReportingServiceClient::new(channel.clone()),
            channel,
            tables,
            shutdown,
            service,
        }
    }

    async fn publish_as(&self, event: &pb::Event, message_id: &str) {
        publish_on(&self.events, event, message_id).await;
    }

    async fn publish(&self, events: &[pb::Event]) {
        for event in events {
            self.publish_as(event, &event.id).await;
        }
    }

    /// Waits until the service's consumer has taken and acknowledged every message on the stream.
    async fn settled(&self) {
        let events = self.events.clone();
        eventually("the consumer to catch up", WAIT, || {
            let events = events.clone();
            async move {
                let stream = events.get_stream("BORGERRAAD").await.ok()?;
                let last = stream.get_info().await.ok()?.state.last_sequence;
                let mut consumer: jetstream::consumer::PullConsumer =
                    stream.get_consumer("reporting").await.ok()?;
                let info = consumer.info().await.ok()?;
                (info.delivered.stream_sequence >= last
                    && info.num_ack_pending == 0
                    && info.num_pending == 0)
                    .then_some(())
            }
        })
        .await;
    }

    async fn summary(&self, request: pb::GetSummaryRequest) -> pb::Summary {
        let mut summary = self
            .client
            .clone()
            .get_summary(request)
            .await
            .expect("summary")
            .into_inner();
        summary.as_of = None;
        summary
    }

    async fn year(&self, year: i32, department: &str) -> pb::Summary {
        self.summary(pb::GetSummaryRequest {
            period: Some(range((year, 1), (year, 12))),
            department: department.into(),
        })
        .await
    }

    async fn trend(&self, year: i32) -> pb::Trend {
        self.client
            .clone()
            .get_trend(pb::GetTrendRequest {
                period: Some(range((year, 1), (year, 12))),
                department: String::new(),
            })
            .await
            .expect("trend")
            .into_inner()
    }

    /// Every counter, for comparing two projections exactly.
    async fn counters(&self) -> Vec<(NaiveDate, String, String, String, i64)> {
        sqlx::query_as(
            "SELECT month, department, dimension, value, count FROM counters WHERE count <> 0 \
             ORDER BY 1, 2, 3, 4",
        )
        .fetch_all(&self.tables)
        .await
        .expect("counters")
    }

    /// Stops the service and starts it again on the same NATS and database.
    async fn restart(&mut self) {
        self.restart_with(departments()).await;
    }

    /// Stops the service and starts it again, configured with `departments`.
    async fn restart_with(&mut self, departments: Departments) {
        self.shutdown.cancel();
        (&mut self.service)
            .await
            .expect("joined")
            .expect("stopped cleanly");
        let (channel, shutdown, service) = serve(&self.nats, &self.database, departments).await;
        self.client = ReportingServiceClient::new(channel.clone());
        (self.channel, self.shutdown, self.service) = (channel, shutdown, service);
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.service
            .await
            .expect("joined")
            .expect("stopped cleanly");
    }
}

async fn publish_on(events: &jetstream::Context, event: &pb::Event, message_id: &str) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", message_id);
    events
        .publish_with_headers(event.r#type.clone(), headers, event.encode_to_vec().into())
        .await
        .expect("publish")
        .await
        .expect("acknowledged");
}

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 30, 0)
        .single()
        .expect("a time")
}

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a date")
}

fn range(first: (i32, i32), last: (i32, i32)) -> pb::MonthRange {
    pb::MonthRange {
        first: Some(pb::YearMonth {
            year: first.0,
            month: first.1,
        }),
        last: Some(pb::YearMonth {
            year: last.0,
            month: last.1,
        }),
    }
}

/// Builds one inquiry's events the way the other services publish them.
struct Case {
    id: Uuid,
    department: &'static str,
    events: Vec<pb::Event>,
}

impl Case {
    fn received(
        department: &'static str,
        request_type: pb::RequestType,
        requester_kind: pb::RequesterKind,
        arrival_channel: pb::ArrivalChannel,
        themes: &[pb::ComplaintTheme],
        when: DateTime<Utc>,
    ) -> Self {
        let id = Uuid::now_v7();
        let mut case = Self {
            id,
            department,
            events: vec![],
        };
        let received = case.answers(request_type, requester_kind, arrival_channel, themes, when);
        case.push(
            EventType::InquiryReceived,
            when,
            Data::InquiryReceived(received),
        );
        case
    }

    fn answers(
        &self,
        request_type: pb::RequestType,
        requester_kind: pb::RequesterKind,
        arrival_channel: pb::ArrivalChannel,
        themes: &[pb::ComplaintTheme],
        when: DateTime<Utc>,
    ) -> pb::InquiryReceived {
        pb::InquiryReceived {
            inquiry_id: self.id.to_string(),
            reference: "BR-2026-0001".into(),
            department: self.department.into(),
            request_type: request_type.into(),
            requester_kind: requester_kind.into(),
            arrival_channel: arrival_channel.into(),
            complaint_themes: themes.iter().map(|t| (*t).into()).collect(),
            received_at: Some(timestamp(when)),
            ..Default::default()
        }
    }

    fn push(&mut self, event_type: EventType, when: DateTime<Utc>, data: Data) {
        self.events.push(new_event(
            event_type.producer().source(),
            event_type,
            self.id,
            when,
            data,
        ));
    }

    fn assessed(mut self, revision: i64, outcome: pb::EligibilityOutcome, target: &str) -> Self {
        let data = Data::EligibilityAssessed(pb::EligibilityAssessed {
            inquiry_id: self.id.to_string(),
            department: self.department.into(),
            outcome: outcome.into(),
            referral_target: target.into(),
            revision,
            ..Default::default()
        });
        self.push(EventType::EligibilityAssessed, at(2026, 1, 1), data);
        self
    }

    fn due(mut self, revision: i64, due: NaiveDate) -> Self {
        let data = Data::DeadlineScheduled(pb::DeadlineScheduled {
            inquiry_id: self.id.to_string(),
            department: self.department.into(),
            due_date: Some(date(due)),
            working_days: 15,
            revision,
            ..Default::default()
        });
        self.push(EventType::DeadlineScheduled, at(2026, 1, 1), data);
        self
    }

    fn step(
        mut self,
        event_type: EventType,
        version: i64,
        when: DateTime<Utc>,
        step: pb::InquiryStepTaken,
    ) -> Self {
        let data = Data::InquiryStepTaken(pb::InquiryStepTaken {
            inquiry_id: self.id.to_string(),
            department: self.department.into(),
            version,
            at: Some(timestamp(when)),
            ..step
        });
        self.push(event_type, when, data);
        self
    }

    fn answered(self, version: i64, when: DateTime<Utc>) -> Self {
        self.step(
            EventType::InquiryAnswered,
            version,
            when,
            pb::InquiryStepTaken {
                status_after: pb::InquiryStatus::Answered.into(),
                ..Default::default()
            },
        )
    }

    fn closed(
        self,
        version: i64,
        when: DateTime<Utc>,
        outcome: pb::ClosingOutcome,
        method: pb::HandlingMethod,
    ) -> Self {
        self.step(
            EventType::InquiryClosed,
            version,
            when,
            pb::InquiryStepTaken {
                status_after: pb::InquiryStatus::Closed.into(),
                closing_outcome: outcome.into(),
                handling_method: method.into(),
                ..Default::default()
            },
        )
    }

    fn breached(mut self, when: DateTime<Utc>) -> Self {
        let data = Data::DeadlineNotice(pb::DeadlineNotice {
            inquiry_id: self.id.to_string(),
            department: self.department.into(),
            kind: pb::DeadlineNoticeKind::Breached.into(),
            recipient: pb::NoticeRecipient::HeadOfOffice.into(),
            fired_at: Some(timestamp(when)),
            step: "breached".into(),
            ..Default::default()
        });
        self.push(EventType::DeadlineBreached, when, data);
        self
    }

    fn stopped(
        mut self,
        revision: i64,
        when: DateTime<Utc>,
        result: pb::SlaResult,
        days: i32,
    ) -> Self {
        let data = Data::DeadlineStopped(pb::DeadlineStopped {
            inquiry_id: self.id.to_string(),
            department: self.department.into(),
            reason: pb::DeadlineStopReason::Answered.into(),
            stopped_at: Some(timestamp(when)),
            result: result.into(),
            working_days_used: days,
            revision,
            ..Default::default()
        });
        self.push(EventType::DeadlineStopped, when, data);
        self
    }
}

/// Six inquiries across two years and three departments, every kind of event among them.
fn a_realistic_mix() -> Vec<pb::Event> {
    use pb::{
        ArrivalChannel as Arrival, ComplaintTheme as Theme, RequestType as Type,
        RequesterKind as Kind,
    };
    let a = Case::received(
        "social",
        Type::Complaint,
        Kind::Citizen,
        Arrival::WebForm,
        &[Theme::HandlingTime, Theme::Reasons],
        at(2026, 2, 10),
    )
    .assessed(1, pb::EligibilityOutcome::Accepted, "")
    .due(1, day(2026, 3, 3))
    .step(
        EventType::InquiryAssessed,
        2,
        at(2026, 2, 10),
        pb::InquiryStepTaken {
            status_after: pb::InquiryStatus::Assessed.into(),
            ..Default::default()
        },
    )
    .answered(5, at(2026, 2, 24))
    .stopped(1, at(2026, 2, 24), pb::SlaResult::Met, 10)
    .closed(
        6,
        at(2026, 2, 25),
        pb::ClosingOutcome::Criticism,
        pb::HandlingMethod::Investigation,
    );
    let mut b = Case::received(
        "social",
        Type::Advice,
        Kind::Citizen,
        Arrival::Phone,
        &[],
        at(2026, 3, 5),
    )
    .assessed(1, pb::EligibilityOutcome::Referred, "ankestyrelsen")
    .due(1, day(2026, 3, 26))
    .answered(3, at(2026, 3, 6))
    .stopped(1, at(2026, 3, 6), pb::SlaResult::Met, 1)
    .closed(
        4,
        at(2026, 3, 6),
        pb::ClosingOutcome::Referred,
        pb::HandlingMethod::ForwardedToDepartment,
    );
    // A caseworker corrected the arrival channel: a letter, not a call.
    let amended = b.answers(
        Type::Advice,
        Kind::Citizen,
        Arrival::Letter,
        &[],
        at(2026, 3, 5),
    );
    b.push(
        EventType::InquiryAmended,
        at(2026, 3, 6),
        Data::InquiryAmended(pb::InquiryAmended {
            answers: Some(amended),
            version: 2,
            amended_at: Some(timestamp(at(2026, 3, 6))),
        }),
    );
    let c = Case::received(
        "by-og-kultur",
        Type::Complaint,
        Kind::Association,
        Arrival::Email,
        &[Theme::Guidance],
        at(2026, 3, 20),
    )
    .assessed(1, pb::EligibilityOutcome::NeedsReview, "")
    .assessed(2, pb::EligibilityOutcome::Accepted, "")
    .due(1, day(2026, 4, 13))
    .step(
        EventType::InquiryMediationRecorded,
        4,
        at(2026, 4, 2),
        pb::InquiryStepTaken {
            status_after: pb::InquiryStatus::InProgress.into(),
            mediation_stage: pb::MediationStage::Held.into(),
            mediation_result: pb::MediationResult::Agreement.into(),
            ..Default::default()
        },
    )
    .breached(at(2026, 4, 14))
    .answered(6, at(2026, 4, 20))
    .stopped(1, at(2026, 4, 20), pb::SlaResult::Breached, 19)
    .closed(
        7,
        at(2026, 4, 21),
        pb::ClosingOutcome::PartialCriticism,
        pb::HandlingMethod::Mediation,
    )
    .step(
        EventType::InquiryImprovementSuggested,
        8,
        at(2026, 4, 21),
        pb::InquiryStepTaken {
            status_after: pb::InquiryStatus::Closed.into(),
            suggestion_department: "by-og-kultur".into(),
            ..Default::default()
        },
    );
    let d = Case::received(
        "boern-og-unge",
        Type::DialogueOrMediation,
        Kind::Business,
        Arrival::Letter,
        &[],
        at(2025, 3, 15),
    )
    .due(1, day(2025, 4, 7))
    .answered(3, at(2025, 3, 22))
    .stopped(1, at(2025, 3, 22), pb::SlaResult::Met, 5);
    let e = Case::received(
        "social",
        Type::Complaint,
        Kind::Citizen,
        Arrival::WebForm,
        &[],
        at(2026, 11, 2),
    )
    .due(1, day(2026, 11, 23))
    .breached(at(2026, 11, 24));
    let f = Case::received(
        "by-og-kultur",
        Type::Advice,
        Kind::Citizen,
        Arrival::DigitalPost,
        &[],
        at(2026, 11, 20),
    )
    .due(1, day(2026, 12, 11));
    [a, b, c, d, e, f]
        .into_iter()
        .flat_map(|case| case.events)
        .collect()
}

fn codes(counts: &[pb::CategoryCount]) -> Vec<(&str, i64)> {
    counts.iter().map(|c| (c.code.as_str(), c.count)).collect()
}

/// A fixed permutation without a random number generator: the same order on every run.
fn shuffled(events: &[pb::Event], seed: u64) -> Vec<pb::Event> {
    let mut events = events.to_vec();
    let mut state = seed;
    for i in (1..events.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (state >> 33) as usize % (i + 1);
        events.swap(i, j);
    }
    events
}

#[tokio::test]
async fn a_years_figures_count_every_category_beside_the_year_before() {
    let reporting = Reporting::start().await;
    let events = a_realistic_mix();
    reporting.publish(&events).await;
    reporting.settled().await;

    let summary = reporting.year(2026, "").await;
    let figures = summary.figures.clone().expect("figures");
    assert_eq!(figures.received, 5);
    assert_eq!(
        figures.by_department,
        vec![
            pb::CategoryCount {
                code: "by-og-kultur".into(),
                count: 2,
                name: "By- og Kulturforvaltningen".into(),
            },
            pb::CategoryCount {
                code: "social".into(),
                count: 3,
                name: "Social- og Sundhedsforvaltningen".into(),
            },
        ]
    );
    assert_eq!(
        codes(&figures.by_request_type),
        [("advice", 2), ("complaint", 3)]
    );
    assert_eq!(
        codes(&figures.by_complaint_theme),
        [("guidance", 1), ("handling_time", 1), ("reasons", 1)]
    );
    assert_eq!(
        codes(&figures.by_requester_kind),
        [("association", 1), ("citizen", 4)]
    );
    assert_eq!(
        codes(&figures.by_arrival_channel),
        [
            ("digital_post", 1),
            ("email", 1),
            ("letter", 1),
            ("web_form", 2)
        ],
        "the amended channel counts, not the first one"
    );
    assert_eq!(
        codes(&figures.by_eligibility_outcome),
        [("accepted", 2), ("referred", 1)]
    );
    assert_eq!(codes(&figures.by_referral_target), [("ankestyrelsen", 1)]);
    assert_eq!(
        codes(&figures.by_closing_outcome),
        [("criticism", 1), ("partial_criticism", 1), ("referred", 1)]
    );
    assert_eq!(figures.criticism, 2);
    assert_eq!(
        codes(&figures.by_handling_method),
        [
            ("forwarded_to_department", 1),
            ("investigation", 1),
            ("mediation", 1)
        ]
    );
    assert_eq!(figures.answered, 3);
    assert_eq!((figures.deadline_met, figures.deadline_breached), (2, 1));
    assert_eq!(figures.share_within_deadline, Some(2.0 / 3.0));
    assert_eq!(figures.median_handling_working_days, Some(10));
    assert_eq!(figures.p90_handling_working_days, Some(19));
    assert_eq!(figures.overdue, 2);
    assert_eq!(codes(&figures.mediations_by_stage), [("held", 1)]);
    assert_eq!(codes(&figures.mediations_by_result), [("agreement", 1)]);
    assert_eq!(
        codes(&figures.improvement_suggestions_by_department),
        [("by-og-kultur", 1)]
    );
    let names: Vec<_> = figures
        .by_eligibility_outcome
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["Inden for kompetence", "Henvist"]);
    // Now is 25 November 2026: E is past its due date of the 23rd, F is not yet due.
    assert_eq!((summary.open_now, summary.overdue_now), (2, 1));

    let previous = summary.previous.expect("the year before");
    assert_eq!(summary.previous_period, Some(range((2025, 1), (2025, 12))));
    assert_eq!(previous.received, 1);
    assert_eq!(codes(&previous.by_department), [("boern-og-unge", 1)]);
    assert_eq!(previous.median_handling_working_days, Some(5));

    // An empty request still means everything, and has no previous period.
    let everything = reporting.summary(pb::GetSummaryRequest::default()).await;
    assert_eq!(everything.figures.expect("figures").received, 6);
    assert_eq!(everything.previous, None);
    reporting.stop().await;
}

#[tokio::test]
async fn a_department_and_a_shorter_period_are_compared_with_the_period_just_before() {
    let reporting = Reporting::start().await;
    reporting.publish(&a_realistic_mix()).await;
    reporting.settled().await;

    let march = reporting
        .summary(pb::GetSummaryRequest {
            period: Some(range((2026, 3), (2026, 3))),
            department: String::new(),
        })
        .await;
    assert_eq!(
        march.figures.expect("figures").received,
        2,
        "B and C were received in March"
    );
    assert_eq!(march.previous_period, Some(range((2026, 2), (2026, 2))));
    assert_eq!(march.previous.expect("February").received, 1);

    let social = reporting.year(2026, "social").await;
    let figures = social.figures.expect("figures");
    assert_eq!(figures.received, 3);
    assert_eq!(figures.criticism, 1);
    assert_eq!(figures.deadline_met, 2);
    assert_eq!(figures.share_within_deadline, Some(1.0));
    assert_eq!((social.open_now, social.overdue_now), (1, 1));
    assert!(figures.improvement_suggestions_by_department.is_empty());

    let trend = reporting.trend(2026).await;
    assert_eq!(trend.total.len(), 12);
    let month = |points: &[pb::TrendPoint], m: usize| points[m - 1];
    let april = month(&trend.total, 4);
    assert_eq!(
        (april.answered, april.overdue, april.deadline_breached),
        (1, 1, 1)
    );
    assert_eq!(april.share_within_deadline, Some(0.0));
    let departments: Vec<(&str, &str)> = trend
        .departments
        .iter()
        .map(|d| (d.department.as_str(), d.name.as_str()))
        .collect();
    assert_eq!(
        departments,
        [
            ("by-og-kultur", "By- og Kulturforvaltningen"),
            ("social", "Social- og Sundhedsforvaltningen")
        ]
    );
    let social_trend = &trend.departments[1].months;
    assert_eq!(month(social_trend, 2).received, 1);
    assert_eq!(month(social_trend, 2).share_within_deadline, Some(1.0));
    assert_eq!(month(social_trend, 11).overdue, 1);
    assert_eq!(
        month(social_trend, 6),
        pb::TrendPoint {
            month: Some(pb::YearMonth {
                year: 2026,
                month: 6
            }),
            ..Default::default()
        }
    );
    reporting.stop().await;
}

#[tokio::test]
async fn a_redelivered_or_republished_event_changes_nothing() {
    let reporting = Reporting::start().await;
    let events = a_realistic_mix();
    reporting.publish(&events).await;
    reporting.settled().await;
    let before = (reporting.year(2026, "").await, reporting.counters().await);

    // The same message again (JetStream drops it), and the same events under new message ids
    // (delivered again; the service must recognise them).
    reporting.publish(&events[..3]).await;
    for event in &events {
        reporting
            .publish_as(event, &Uuid::now_v7().to_string())
            .await;
    }
    reporting.settled().await;

    assert_eq!(
        (reporting.year(2026, "").await, reporting.counters().await),
        before
    );
    reporting.stop().await;
}

#[tokio::test]
async fn a_broken_event_among_waiting_ones_is_set_aside_and_the_rest_are_counted() {
    let events = a_realistic_mix();
    let live = Reporting::start().await;
    live.publish(&events).await;
    live.settled().await;
    let expected = (live.year(2026, "").await, live.counters().await);
    live.stop().await;

    // A deadline event whose inquiry id is broken, in the middle of events that wait on the
    // stream, so the service takes them in one chunk.
    let broken = new_event(
        EventType::DeadlineScheduled.producer().source(),
        EventType::DeadlineScheduled,
        Uuid::now_v7(),
        at(2026, 3, 1),
        Data::DeadlineScheduled(pb::DeadlineScheduled {
            inquiry_id: "not-an-id".into(),
            department: "social".into(),
            ..Default::default()
        }),
    );
    let mut waiting = events.clone();
    waiting.insert(events.len() / 2, broken.clone());
    let reporting = Reporting::start_after(&waiting).await;
    reporting.settled().await;

    assert_eq!(
        (reporting.year(2026, "").await, reporting.counters().await),
        expected,
        "every other event counted once"
    );
    let dead: Vec<String> = sqlx::query_scalar("SELECT subject FROM dead_letters")
        .fetch_all(&reporting.tables)
        .await
        .expect("dead letters");
    assert_eq!(dead, vec![broken.r#type]);
    reporting.stop().await;
}

#[tokio::test]
async fn events_in_any_order_give_the_same_figures() {
    let events = a_realistic_mix();
    let natural = Reporting::start().await;
    natural.publish(&events).await;
    natural.settled().await;
    let expected = (
        natural.year(2026, "").await,
        natural.trend(2026).await,
        natural.counters().await,
    );
    natural.stop().await;

    for seed in [7, 2026] {
        let shuffled_events = shuffled(&events, seed);
        assert_ne!(shuffled_events, events);
        let reporting = Reporting::start().await;
        reporting.publish(&shuffled_events).await;
        reporting.settled().await;
        let figures = (
            reporting.year(2026, "").await,
            reporting.trend(2026).await,
            reporting.counters().await,
        );
        assert_eq!(figures, expected, "order {seed}");
        reporting.stop().await;
    }
}

#[tokio::test]
async fn a_rebuild_from_the_stream_gives_the_live_figures_and_counts_nothing_twice() {
    let reporting = Reporting::start().await;
    let events = a_realistic_mix();
    let (first, rest) = events.split_at(events.len() / 2);
    reporting.publish(first).await;
    reporting.settled().await;
    // Wreck the live figures, as a bug would; the rebuild must not rely on them.
    sqlx::query("UPDATE counters SET count = count + 100")
        .execute(&reporting.tables)
        .await
        .expect("wrecked");

    let mut client = reporting.client.clone();
    let started = client
        .rebuild_projection(pb::RebuildProjectionRequest {})
        .await
        .expect("started")
        .into_inner();
    assert_eq!(started.state(), pb::RebuildState::Running);
    // Events go on arriving during the rebuild.
    reporting.publish(rest).await;
    let done = rebuild_finished(&client).await;
    assert_eq!(done.state(), pb::RebuildState::Succeeded);
    assert!(done.events_replayed >= first.len() as i64);
    reporting.settled().await;
    let rebuilt = (
        reporting.year(2026, "").await,
        reporting.trend(2026).await,
        reporting.counters().await,
    );

    let live = Reporting::start().await;
    live.publish(&events).await;
    live.settled().await;
    let expected = (
        live.year(2026, "").await,
        live.trend(2026).await,
        live.counters().await,
    );
    assert_eq!(rebuilt, expected);

    // And a second rebuild on quiet figures changes nothing.
    client
        .rebuild_projection(pb::RebuildProjectionRequest {})
        .await
        .expect("started again");
    assert_eq!(
        rebuild_finished(&client).await.state(),
        pb::RebuildState::Succeeded
    );
    assert_eq!(reporting.counters().await, expected.2);
    live.stop().await;
    reporting.stop().await;
}

/// A minimal RFC 4180 reader.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let (mut row, mut field, mut quoted) = (vec![], String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

async fn export(
    client: &mut ReportingServiceClient<AuthorizedChannel>,
    format: pb::ReportFormat,
) -> (String, String) {
    let mut stream = client
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 2026,
            format: format.into(),
            department: String::new(),
        })
        .await
        .expect("export")
        .into_inner();
    let (mut bytes, mut name) = (vec![], String::new());
    while let Some(chunk) = stream.message().await.expect("chunk") {
        if name.is_empty() {
            name = chunk.file_name.clone();
        }
        bytes.extend(chunk.data);
    }
    (name, String::from_utf8(bytes).expect("UTF-8"))
}

#[tokio::test]
async fn the_annual_report_streams_as_csv_and_as_self_contained_danish_html() {
    let reporting = Reporting::start().await;
    let events = a_realistic_mix();
    reporting.publish(&events).await;
    reporting.settled().await;
    let mut client = reporting.client.clone();

    let (name, csv) = export(&mut client, pb::ReportFormat::Csv).await;
    assert_eq!(name, "borgerraadgiver-2026.csv");
    let rows = parse_csv(&csv);
    assert!(rows.iter().all(|r| r.len() == 8));
    let row = |section: &str, code: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[4] == code)
            .expect("row")
            .clone()
    };
    let value = |section: &str, code: &str| {
        let row = row(section, code);
        (row[6].clone(), row[7].clone())
    };
    assert_eq!(value("key_figures", "received"), ("5".into(), "1".into()));
    assert_eq!(value("key_figures", "criticism").0, "2");
    assert_eq!(value("now", "overdue_now").0, "1");
    // A department by its code and, for the city council, its Danish name.
    let social = row("department", "social");
    assert_eq!(social[5..7], ["Social- og Sundhedsforvaltningen", "3"]);
    let social_march = rows
        .iter()
        .find(|r| r[0] == "trend" && r[1] == "social" && r[3] == "2026-03" && r[4] == "received")
        .expect("social's March");
    assert_eq!(social_march[2], "Social- og Sundhedsforvaltningen");

    let (name, html) = export(&mut client, pb::ReportFormat::Html).await;
    assert_eq!(name, "borgerraadgiver-2026.html");
    assert!(html.contains("<svg") && html.contains("Borgerrådgiverens årsberetning 2026"));
    assert!(html.contains("november 2026") && html.contains("Kritik"));
    assert!(
        html.contains("<h3>Social- og Sundhedsforvaltningen</h3>")
            && html.contains(">By- og Kulturforvaltningen<"),
        "departments by their Danish names"
    );
    assert!(!html.contains(">social<") && !html.contains(">by-og-kultur<"));
    assert!(
        !html.contains("http") && !html.contains("<script"),
        "self-contained"
    );
    assert!(
        !html.contains("BR-2026-0001"),
        "no references, let alone names"
    );
    reporting.stop().await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_fields_named() {
    use tonic_types::StatusExt as _;
    let reporting = Reporting::start().await;
    let mut client = reporting.client.clone();
    let fields = |status: tonic::Status| -> Vec<String> {
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        status
            .get_details_bad_request()
            .expect("details")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect()
    };

    let backwards = client
        .get_summary(pb::GetSummaryRequest {
            period: Some(range((2026, 6), (2026, 1))),
            department: String::new(),
        })
        .await
        .expect_err("refused");
    assert_eq!(fields(backwards), ["period.last"]);
    let no_month = client
        .get_trend(pb::GetTrendRequest {
            period: Some(range((2026, 0), (2026, 13))),
            department: String::new(),
        })
        .await
        .expect_err("refused");
    assert_eq!(fields(no_month), ["period.first", "period.last"]);
    let Err(no_format) = client
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 20260,
            format: pb::ReportFormat::Unspecified.into(),
            department: String::new(),
        })
        .await
    else {
        panic!("refused")
    };
    assert_eq!(fields(no_format), ["year", "format"]);
    let Err(unknown_format) = client
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 2026,
            format: 77,
            department: "no-such-department".into(),
        })
        .await
    else {
        panic!("refused")
    };
    assert!(
        unknown_format
            .message()
            .contains("77 is not a known report format")
    );
    assert_eq!(fields(unknown_format), ["format", "department"]);

    // A second rebuild while one runs is refused too (the stream is empty, so it may be done).
    client
        .rebuild_projection(pb::RebuildProjectionRequest {})
        .await
        .expect("first");
    if let Err(status) = client
        .rebuild_projection(pb::RebuildProjectionRequest {})
        .await
    {
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    }
    reporting.stop().await;
}

#[tokio::test]
async fn a_service_that_finds_events_applied_but_no_figures_rebuilds_them_at_start() {
    let mut reporting = Reporting::start().await;
    reporting.publish(&a_realistic_mix()).await;
    reporting.settled().await;
    let expected = (reporting.year(2026, "").await, reporting.counters().await);

    // As after the migration that replaced the old facts table: event ids kept, figures gone.
    sqlx::query("TRUNCATE inquiry_facts, counters")
        .execute(&reporting.tables)
        .await
        .expect("emptied");
    reporting.restart().await;

    let client = reporting.client.clone();
    assert_eq!(
        rebuild_finished(&client).await.state(),
        pb::RebuildState::Succeeded
    );
    assert_eq!(
        (reporting.year(2026, "").await, reporting.counters().await),
        expected
    );
    reporting.stop().await;
}

/// The status of the latest rebuild once it has ended, well or not.
async fn rebuild_finished(client: &ReportingServiceClient<AuthorizedChannel>) -> pb::RebuildStatus {
    eventually("the rebuild to finish", WAIT, || async move {
        let status = rebuild_status(client).await?;
        matches!(
            status.state(),
            pb::RebuildState::Succeeded | pb::RebuildState::Failed
        )
        .then_some(status)
    })
    .await
}

async fn rebuild_status(
    client: &ReportingServiceClient<AuthorizedChannel>,
) -> Option<pb::RebuildStatus> {
    Some(
        client
            .clone()
            .get_rebuild_status(pb::GetRebuildStatusRequest {})
            .await
            .ok()?
            .into_inner(),
    )
}

#[tokio::test]
async fn a_required_rebuild_survives_an_interrupted_attempt_and_runs_once_across_replicas() {
    let mut reporting = Reporting::start().await;
    let before_upgrade = a_realistic_mix();
    reporting.publish(&before_upgrade).await;
    reporting.settled().await;

    // As a deployment that applied these events before the upgrade to counters: migration 2
    // came after them and emptied the figures; migration 3 is still to run.
    for statement in [
        "DROP TABLE rebuild_required",
        "DELETE FROM _sqlx_migrations WHERE version = 3",
        "UPDATE _sqlx_migrations SET installed_on = now() WHERE version = 2",
        "TRUNCATE inquiry_facts, counters",
    ] {
        sqlx::query(statement)
            .execute(&reporting.tables)
            .await
            .expect(statement);
    }
    // Another replica's rebuild holds the lock, so this one's cannot get to the swap.
    let other = reporting.database.pool("reporting").await.expect("pool");
    let mut holder = other.acquire().await.expect("connection");
    let key = reporting::rebuild::lock_key("reporting");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .expect("locked");
    reporting.restart().await;
    let reason: String = sqlx::query_scalar("SELECT reason FROM rebuild_required")
        .fetch_one(&reporting.tables)
        .await
        .expect("the upgrade requires a rebuild");
    assert_eq!(reason, "upgrade to counters");

    // The live consumer goes on meanwhile, and the service is restarted before the rebuild ran.
    let after_upgrade = Case::received(
        "social",
        pb::RequestType::Complaint,
        pb::RequesterKind::Citizen,
        pb::ArrivalChannel::WebForm,
        &[pb::ComplaintTheme::Guidance],
        at(2026, 11, 23),
    )
    .assessed(1, pb::EligibilityOutcome::Accepted, "")
    .due(1, day(2026, 12, 14))
    .events;
    reporting.publish(&after_upgrade).await;
    reporting.settled().await;
    reporting.restart().await;
    // A second replica starts too; both find the rebuild required.
    let (second, second_shutdown, second_service) =
        serve(&reporting.nats, &reporting.database, departments()).await;
    let second = ReportingServiceClient::new(second);
    for client in [&reporting.client, &second] {
        eventually("the rebuild to be resumed", WAIT, || async move {
            let status = rebuild_status(client).await?;
            (status.state() == pb::RebuildState::Running).then_some(())
        })
        .await;
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .expect("unlocked");

    let mut replayed = vec![];
    for client in [&reporting.client, &second] {
        let status = rebuild_finished(client).await;
        assert_eq!(status.state(), pb::RebuildState::Succeeded);
        replayed.push(status.events_replayed);
    }
    assert_eq!(
        replayed.iter().filter(|events| **events > 0).count(),
        1,
        "one replica rebuilt, the other found it done: {replayed:?}"
    );
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM rebuild_required")
        .fetch_one(&reporting.tables)
        .await
        .expect("requests");
    assert_eq!(requests, 0, "the swap cleared the request");

    // The figures hold the events from before the upgrade as well as after.
    let live = Reporting::start().await;
    live.publish(&before_upgrade).await;
    live.publish(&after_upgrade).await;
    live.settled().await;
    reporting.settled().await;
    assert_eq!(
        (reporting.year(2026, "").await, reporting.counters().await),
        (live.year(2026, "").await, live.counters().await)
    );
    second_shutdown.cancel();
    second_service
        .await
        .expect("joined")
        .expect("stopped cleanly");
    live.stop().await;
    reporting.stop().await;
}

#[tokio::test]
async fn an_unknown_department_is_refused_with_the_known_codes_and_one_merged_away_stays_readable()
{
    let mut reporting = Reporting::start().await;
    reporting.publish(&a_realistic_mix()).await;
    reporting.settled().await;
    let mut client = reporting.client.clone();
    let refused = |status: tonic::Status| {
        use tonic_types::StatusExt as _;
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let violations = status
            .get_details_bad_request()
            .expect("details")
            .field_violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "department");
        violations[0].description.clone()
    };

    // A typo is refused everywhere, and the caller learns which codes there are.
    let typo = "socail";
    let summary = client
        .get_summary(pb::GetSummaryRequest {
            period: Some(range((2026, 1), (2026, 12))),
            department: typo.into(),
        })
        .await
        .expect_err("refused");
    assert!(
        refused(summary).contains("by-og-kultur, boern-og-unge, social"),
        "the known codes are listed"
    );
    let trend = client
        .get_trend(pb::GetTrendRequest {
            period: None,
            department: typo.into(),
        })
        .await
        .expect_err("refused");
    refused(trend);
    let Err(export) = client
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 2026,
            format: pb::ReportFormat::Csv.into(),
            department: typo.into(),
        })
        .await
    else {
        panic!("refused")
    };
    refused(export);
    // Text no department code could be, down to a NUL the database would refuse.
    for nonsense in [
        "so\0cial",
        "Social- og Sundhedsforvaltningen",
        &"x".repeat(10_000),
    ] {
        let status = client
            .get_summary(pb::GetSummaryRequest {
                period: None,
                department: nonsense.into(),
            })
            .await
            .expect_err("refused");
        refused(status);
    }

    // "social" is merged away: no longer configured, its figures stay readable under its code.
    reporting.restart_with(Departments::odense()).await;
    let social = reporting.year(2026, "social").await;
    let figures = social.figures.expect("figures");
    assert_eq!(figures.received, 3);
    assert_eq!(
        figures.by_department,
        [pb::CategoryCount {
            code: "social".into(),
            count: 3,
            name: "social".into(),
        }]
    );
    let everything = reporting.year(2026, "").await.figures.expect("figures");
    assert_eq!(
        everything.by_department[0].name, "By- og Kulturforvaltningen",
        "configured names still apply"
    );
    let mut client = reporting.client.clone();
    let trend = client
        .get_trend(pb::GetTrendRequest {
            period: Some(range((2026, 1), (2026, 12))),
            department: "social".into(),
        })
        .await
        .expect("trend")
        .into_inner();
    assert_eq!(trend.departments[0].name, "social");
    // A department Odense has but these figures never held is still a known code.
    let unknown_here = reporting.year(2026, "aeldre-og-handicap").await;
    assert_eq!(unknown_here.figures.expect("figures").received, 0);
    let description = refused(
        client
            .get_summary(pb::GetSummaryRequest {
                period: None,
                department: "miljoe".into(),
            })
            .await
            .expect_err("refused"),
    );
    assert!(description.contains("borgmesterforvaltningen, boern-og-unge"));
    reporting.stop().await;
}

/// `GetSummaryRequest` with its `department` (field 2) as raw bytes, to send what no client
/// generated from the proto would.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSummaryRequest {
    #[prost(bytes = "vec", tag = "2")]
    department: Vec<u8>,
}

#[tokio::test]
async fn a_string_field_that_is_not_utf8_is_refused_as_the_callers_mistake() {
    let reporting = Reporting::start().await;
    let mut grpc = tonic::client::Grpc::new(reporting.channel.clone());
    grpc.ready().await.expect("ready");
    let status = grpc
        .unary::<_, pb::Summary, _>(
            tonic::Request::new(RawSummaryRequest {
                department: vec![b's', 0xff, 0xfe],
            }),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/borgerraad.v1.ReportingService/GetSummary",
            ),
            borgerraad_proto::codec::ProtoCodec::default(),
        )
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("GetSummaryRequest.department")
            && status.message().contains("UTF-8"),
        "names the field: {status:?}"
    );
    reporting.stop().await;
}

/// Every connection of the test's database but the caller's: what a PostgreSQL restart or a
/// failover does to the service's pool.
async fn cut_connections(connection: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(connection)
    .await
    .expect("connections cut")
}

#[tokio::test]
async fn a_lost_database_connection_is_unavailable_to_the_caller_never_internal() {
    let reporting = Reporting::start().await;
    reporting.publish(&a_realistic_mix()).await;
    reporting.settled().await;
    let mut client = reporting.client.clone();
    let year = pb::GetSummaryRequest {
        period: Some(range((2026, 1), (2026, 12))),
        department: String::new(),
    };

    // Connections cut while idle in the pool: the next call gets a fresh one, or is told to
    // try again.
    let mut admin = reporting.tables.acquire().await.expect("connection");
    assert!(cut_connections(&mut admin).await > 0);
    drop(admin);
    match client.get_summary(year.clone()).await {
        Ok(summary) => assert_eq!(summary.into_inner().figures.expect("figures").received, 5),
        Err(status) => assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}"),
    }

    // A connection cut in the middle of a call: the call waits on a lock the test holds.
    let mut blocker = reporting.tables.begin().await.expect("begin");
    sqlx::query("LOCK TABLE counters IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("locked");
    let call = tokio::spawn({
        let mut client = client.clone();
        let year = year.clone();
        async move { client.get_summary(year).await }
    });
    let tables = reporting.tables.clone();
    eventually("the call to wait on the lock", WAIT, || {
        let tables = tables.clone();
        async move {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&tables)
            .await
            .ok()?;
            (waiting > 0).then_some(())
        }
    })
    .await;
    assert!(cut_connections(&mut blocker).await > 0);
    let status = call
        .await
        .expect("joined")
        .expect_err("the call lost its connection");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        !status.message().contains("terminating"),
        "no internal detail to callers"
    );
    blocker.rollback().await.expect("rolled back");

    // Once the database answers again, so does the service.
    let summary = eventually("the service to read again", WAIT, || {
        let mut client = client.clone();
        let year = year.clone();
        async move { client.get_summary(year).await.ok() }
    })
    .await;
    assert_eq!(summary.into_inner().figures.expect("figures").received, 5);
    reporting.stop().await;
}
