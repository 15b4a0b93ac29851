//! The event bus is not a back door: with authentication on, the system works as before; an
//! event that claims another service's authority is set aside; and a receipt of an inquiry
//! intake never had (forged by someone with full rights on the server) loses its deadline after
//! the grace period and leaves the figures.

use borgerraad_e2e::{SETTLE, TestSystem, valid_submission};
use borgerraad_messaging::{EventType, new_event};
use borgerraad_platform::convert::timestamp;
use borgerraad_proto::v1::{self as pb, event::Data};
use borgerraad_test_harness::eventually;
use prost::Message as _;
use uuid::Uuid;

fn received_count(summary: &pb::Summary) -> i64 {
    summary.figures.as_ref().map_or(0, |f| f.received)
}

/// An `inquiry.received` for an inquiry intake never had, claiming to come from intake.
fn forged_receipt(system: &TestSystem, source: &str) -> (Uuid, pb::Event) {
    use borgerraad_platform::clock::Clock as _;
    let inquiry_id = Uuid::now_v7();
    let now = system.clock.now();
    let event = new_event(
        source,
        EventType::InquiryReceived,
        inquiry_id,
        now,
        Data::InquiryReceived(pb::InquiryReceived {
            inquiry_id: inquiry_id.to_string(),
            reference: "BR-2026-999999".into(),
            requester_kind: pb::RequesterKind::Citizen.into(),
            department: "by-og-kultur".into(),
            request_type: pb::RequestType::Complaint.into(),
            prior_dialogue_held: true,
            contact_channel: pb::ContactChannel::DigitalPost.into(),
            received_at: Some(timestamp(now)),
            arrival_channel: pb::ArrivalChannel::WebForm.into(),
            complaint_themes: vec![pb::ComplaintTheme::HandlingTime.into()],
            ..Default::default()
        }),
    );
    (inquiry_id, event)
}

async fn publish(system: &TestSystem, event: &pb::Event) {
    system
        .jetstream()
        .await
        .expect("jetstream")
        .publish(event.r#type.clone(), event.encode_to_vec().into())
        .await
        .expect("sent")
        .await
        .expect("stored by JetStream");
}

#[tokio::test]
async fn with_every_service_logged_in_as_its_own_user_an_inquiry_flows_through_all_four() {
    let system = TestSystem::start_secured().await.expect("system starts");
    let submitted = system
        .intake
        .clone()
        .submit_inquiry(valid_submission())
        .await
        .expect("submission accepted")
        .into_inner();

    let assessment = system.assessment(&submitted.inquiry_id).await;
    assert_eq!(assessment.outcome(), pb::EligibilityOutcome::Accepted);
    let deadline = system.deadline(&submitted.inquiry_id).await;
    assert_eq!(deadline.state(), pb::DeadlineState::Running);
    let summary = system
        .summary_when("the summary to count the assessed inquiry", |summary| {
            received_count(summary) == 1
                && summary.figures.as_ref().is_some_and(|figures| {
                    figures
                        .by_eligibility_outcome
                        .iter()
                        .map(|c| c.count)
                        .sum::<i64>()
                        == 1
                })
        })
        .await;
    assert_eq!(summary.open_now, 1);
    eventually("every consumer to acknowledge", SETTLE, || async {
        system.settled().await.ok()?.then_some(())
    })
    .await;
    system.stop().await.expect("stops cleanly");
}

#[tokio::test]
async fn an_event_claiming_another_source_than_the_owner_of_its_subject_is_set_aside() {
    // Published by a connection with every right, as on a server without authentication.
    let system = TestSystem::start_open().await.expect("system starts");
    let (inquiry_id, forged) = forged_receipt(&system, "/borgerraad/eligibility");
    publish(&system, &forged).await;

    let tables = system.database.pool("public").await.expect("a pool");
    let dead_letters = eventually("the consumers to set it aside", SETTLE, || async {
        let mut reasons = Vec::new();
        for schema in ["eligibility", "deadline_monitoring", "reporting"] {
            let reason: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT reason FROM {schema}.dead_letters WHERE subject = 'borgerraad.inquiry.received'"
            )))
            .fetch_optional(&tables)
            .await
            .ok()?;
            reasons.push(reason?);
        }
        Some(reasons)
    })
    .await;
    for reason in dead_letters {
        assert!(reason.contains("/borgerraad/intake"), "{reason}");
    }
    let deadline = system
        .deadlines
        .clone()
        .get_deadline(pb::GetDeadlineRequest {
            inquiry_id: inquiry_id.to_string(),
        })
        .await;
    assert_eq!(
        deadline.expect_err("no deadline").code(),
        tonic::Code::NotFound
    );
    let summary = system
        .reporting
        .clone()
        .get_summary(pb::GetSummaryRequest::default())
        .await
        .expect("a summary")
        .into_inner();
    assert_eq!(received_count(&summary), 0);
    system.stop().await.expect("stops cleanly");
}

#[tokio::test]
async fn a_forged_receipt_loses_its_deadline_after_the_grace_period_and_leaves_the_figures() {
    // Published by a connection with every right, as on a server without authentication.
    let system = TestSystem::start_open().await.expect("system starts");
    // A genuine inquiry beside it, which must stay counted.
    let genuine = system
        .intake
        .clone()
        .submit_inquiry(valid_submission())
        .await
        .expect("submission accepted")
        .into_inner();
    let (forged_id, forged) = forged_receipt(&system, "/borgerraad/intake");
    publish(&system, &forged).await;

    // Taken for real at first: assessed, a running deadline, counted.
    let deadline = system.deadline(&forged_id.to_string()).await;
    assert_eq!(deadline.state(), pb::DeadlineState::Running);
    system.assessment(&forged_id.to_string()).await;
    system
        .summary_when("both inquiries counted", |s| received_count(s) == 2)
        .await;
    system.deadline(&genuine.inquiry_id).await;

    // Reconciliation finds intake does not know it; within the grace period nothing changes.
    system.reconciler.check(forged_id).await.expect("checked");
    system.clock.advance(chrono::Duration::minutes(59));
    system.reconciler.check(forged_id).await.expect("checked");
    let still = system.deadline(&forged_id.to_string()).await;
    assert_eq!(
        still.state(),
        pb::DeadlineState::Running,
        "within the grace period"
    );

    // Past it, the deadline stops as unknown, and the figures forget the inquiry.
    system.clock.advance(chrono::Duration::minutes(1));
    let done = system.reconciler.reconcile_once().await.expect("a round");
    assert_eq!(done.failed, 0);
    let stopped = eventually("the forged deadline to stop", SETTLE, || {
        let mut client = system.deadlines.clone();
        async move {
            let deadline = client
                .get_deadline(pb::GetDeadlineRequest {
                    inquiry_id: forged_id.to_string(),
                })
                .await
                .ok()?
                .into_inner();
            (deadline.state() == pb::DeadlineState::Stopped).then_some(deadline)
        }
    })
    .await;
    assert_eq!(
        stopped.outcome.as_ref().map(|o| o.reason()),
        Some(pb::DeadlineStopReason::InquiryUnknown)
    );
    let summary = system
        .summary_when("only the genuine inquiry counted", |s| {
            received_count(s) == 1 && s.open_now == 1
        })
        .await;
    let figures = summary.figures.expect("figures");
    assert_eq!(
        figures
            .by_eligibility_outcome
            .iter()
            .map(|c| c.count)
            .sum::<i64>(),
        1,
        "the forged inquiry's assessment is gone too"
    );
    let genuine_deadline = system.deadline(&genuine.inquiry_id).await;
    assert_eq!(genuine_deadline.state(), pb::DeadlineState::Running);

    // The stop went out as an event saying why.
    let counts = system.event_counts().await.expect("counts");
    assert_eq!(counts.get("borgerraad.deadline.stopped"), Some(&1));
    system.stop().await.expect("stops cleanly");
}
