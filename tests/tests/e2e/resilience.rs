use async_nats::jetstream::message::PublishMessage;
use borgerraad_e2e::{SETTLE, TestSystem, valid_submission};
use borgerraad_messaging::stream::STREAM_NAME;
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::eventually;

#[tokio::test]
async fn a_redelivered_event_is_applied_once_and_fires_nothing_twice() {
    let mut system = TestSystem::start().await.expect("system starts");
    system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("accepted");
    let settled = |expected: usize| {
        let system = &system;
        move || async move {
            let counts = system.event_counts().await.ok()?;
            let all_there = [
                "borgerraad.inquiry.received",
                "borgerraad.eligibility.assessed",
                "borgerraad.deadline.scheduled",
            ]
            .iter()
            .all(|subject| counts.get(*subject).copied() == Some(expected));
            (all_there && system.settled().await.ok()?).then_some(())
        }
    };
    eventually("the first delivery to settle", SETTLE, settled(1)).await;

    // Redeliver the inquiry.received event as a broker or relay would after the dedupe window:
    // the same event under a new message id, so JetStream stores and delivers it again.
    let jetstream = system.jetstream().await.expect("jetstream");
    let stream = jetstream.get_stream(STREAM_NAME).await.expect("stream");
    let original = stream
        .get_last_raw_message_by_subject("borgerraad.inquiry.received")
        .await
        .expect("the received event is on the stream");
    jetstream
        .send_publish(
            "borgerraad.inquiry.received",
            PublishMessage::build()
                .payload(original.payload.clone())
                .message_id(uuid::Uuid::new_v4().to_string()),
        )
        .await
        .expect("publish")
        .await
        .expect("stored");
    eventually("every consumer to take the redelivery", SETTLE, || {
        let system = &system;
        async move { system.settled().await.ok()?.then_some(()) }
    })
    .await;

    let counts = system.event_counts().await.expect("counts");
    assert_eq!(
        counts.get("borgerraad.inquiry.received"),
        Some(&2),
        "the redelivery is on the stream"
    );
    assert_eq!(
        counts.get("borgerraad.eligibility.assessed"),
        Some(&1),
        "assessed once"
    );
    assert_eq!(
        counts.get("borgerraad.deadline.scheduled"),
        Some(&1),
        "scheduled once"
    );
    let summary = system
        .reporting
        .get_summary(pb::GetSummaryRequest::default())
        .await
        .expect("summary")
        .into_inner();
    assert_eq!(summary.figures.expect("figures").received, 1);
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_inquiry_submitted_while_nats_is_down_reaches_every_service_after_nats_returns() {
    let mut system = TestSystem::start().await.expect("system starts");
    // Let the services declare the stream and their consumers before the outage.
    eventually("the consumers to exist", SETTLE, || {
        let system = &system;
        async move { system.settled().await.ok()?.then_some(()) }
    })
    .await;

    system.nats.stop();
    let submitted = system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("intake accepts submissions while NATS is down")
        .into_inner();
    assert_eq!(
        system
            .unpublished_outbox_rows("intake")
            .await
            .expect("outbox"),
        1,
        "the event waits in the outbox"
    );

    system.nats.restart().await.expect("NATS restarts");
    let assessment = system.assessment(&submitted.inquiry_id).await;
    assert_eq!(assessment.outcome(), pb::EligibilityOutcome::Accepted);
    system.deadline(&submitted.inquiry_id).await;
    system
        .summary_when("the summary to count it", |summary| {
            summary.figures.as_ref().is_some_and(|figures| {
                figures.received == 1 && !figures.by_eligibility_outcome.is_empty()
            })
        })
        .await;
    let counts = system.event_counts().await.expect("counts");
    assert_eq!(
        counts.get("borgerraad.inquiry.received"),
        Some(&1),
        "published exactly once"
    );
    system.stop().await.expect("clean shutdown");
}
