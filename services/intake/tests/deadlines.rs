//! The deadline in force on the case record, as intake's consumer `intake-deadlines` records it
//! from deadline-monitoring's events: the latest revision wins, a stop closes its revision
//! whichever of the two arrives first, and an event claiming deadline-monitoring's subject from
//! another source is set aside.

mod common;

use std::time::Duration;

use borgerraad_messaging::{EventType, new_event};
use borgerraad_platform::convert::date;
use borgerraad_proto::v1::{self as pb, event::Data};
use borgerraad_test_harness::{NatsServer, TestDatabase, eventually};
use chrono::{NaiveDate, Utc};
use common::{Replica, ring};
use prost::Message as _;
use uuid::Uuid;

const SETTLE: Duration = Duration::from_secs(15);
const DEADLINE_MONITORING: &str = "/borgerraad/deadline-monitoring";

fn due(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, day).expect("a December date")
}

fn scheduled(inquiry_id: Uuid, due_date: NaiveDate, paused: i32, revision: i64) -> pb::Event {
    new_event(
        DEADLINE_MONITORING,
        if revision == 1 {
            EventType::DeadlineScheduled
        } else {
            EventType::DeadlineRescheduled
        },
        inquiry_id,
        Utc::now(),
        Data::DeadlineScheduled(pb::DeadlineScheduled {
            inquiry_id: inquiry_id.to_string(),
            department: "by-og-kultur".into(),
            due_date: Some(date(due_date)),
            working_days: 15,
            paused_working_days: paused,
            revision,
            ..Default::default()
        }),
    )
}

fn stopped(inquiry_id: Uuid, due_date: NaiveDate, revision: i64) -> pb::Event {
    new_event(
        DEADLINE_MONITORING,
        EventType::DeadlineStopped,
        inquiry_id,
        Utc::now(),
        Data::DeadlineStopped(pb::DeadlineStopped {
            inquiry_id: inquiry_id.to_string(),
            department: "by-og-kultur".into(),
            reason: pb::DeadlineStopReason::Answered.into(),
            due_date: Some(date(due_date)),
            result: pb::SlaResult::Met.into(),
            paused_working_days: 3,
            revision,
            ..Default::default()
        }),
    )
}

struct Bus(async_nats::jetstream::Context);

impl Bus {
    async fn publish(&self, event: &pb::Event) {
        self.0
            .publish(event.r#type.clone(), event.encode_to_vec().into())
            .await
            .expect("sent")
            .await
            .expect("stored by JetStream");
    }

    /// Waits until intake's deadline consumer has been handed and has acknowledged everything.
    async fn consumed(&self) {
        eventually("intake-deadlines caught up", SETTLE, || async {
            let info = self
                .0
                .get_stream(borgerraad_messaging::stream::STREAM_NAME)
                .await
                .ok()?
                .consumer_info("intake-deadlines")
                .await
                .ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        })
        .await
    }
}

async fn deadline_of(intake: &Replica, inquiry_id: Uuid) -> Option<pb::DeadlineInForce> {
    intake
        .client
        .clone()
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: inquiry_id.to_string(),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner()
        .deadline
}

#[tokio::test]
async fn the_latest_revision_wins_and_a_stop_closes_its_revision_whichever_arrives_first() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let intake = Replica::start(&database, &nats, ring(&["k1"])).await;
    let inquiry_id: Uuid = intake
        .submit("010190-1234", "Min byggesag")
        .await
        .parse()
        .expect("a UUID");
    let bus = Bus(async_nats::jetstream::new(
        nats.client().await.expect("client"),
    ));

    // The move arrives before the first schedule, then the stop before a repeat of its own
    // revision's schedule.
    bus.publish(&scheduled(inquiry_id, due(21), 3, 2)).await;
    bus.publish(&scheduled(inquiry_id, due(16), 0, 1)).await;
    bus.consumed().await;
    let moved = deadline_of(&intake, inquiry_id).await.expect("recorded");
    assert_eq!(moved.due_date, Some(date(due(21))));
    assert_eq!(moved.working_days, 15);
    assert_eq!(moved.paused_working_days, 3);
    assert_eq!(moved.state(), pb::DeadlineInForceState::Running);
    assert_eq!(moved.revision, 2);

    bus.publish(&stopped(inquiry_id, due(21), 2)).await;
    bus.publish(&scheduled(inquiry_id, due(21), 3, 2)).await;
    bus.consumed().await;
    let met = deadline_of(&intake, inquiry_id).await.expect("recorded");
    assert_eq!(met.state(), pb::DeadlineInForceState::Met);
    assert_eq!(met.due_date, Some(date(due(21))));
    assert_eq!(met.revision, 2);

    // A forgery on deadline-monitoring's subject from another source changes nothing and is
    // recorded as a dead letter.
    let mut forged = scheduled(inquiry_id, due(30), 0, 9);
    forged.source = "/borgerraad/intake".into();
    bus.publish(&forged).await;
    bus.consumed().await;
    assert_eq!(deadline_of(&intake, inquiry_id).await, Some(met));
    let tables = database.pool("intake").await.expect("pool");
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dead_letters WHERE consumer = 'intake-deadlines'")
            .fetch_one(&tables)
            .await
            .expect("counted");
    assert_eq!(dead, 1);

    intake.stop().await;
}
