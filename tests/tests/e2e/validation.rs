use borgerraad_e2e::{TestSystem, valid_submission, violated_fields};
use borgerraad_proto::v1 as pb;
use tonic::Code;

#[tokio::test]
async fn invalid_submissions_are_rejected_with_field_violations_and_store_nothing() {
    let mut system = TestSystem::start().await.expect("system starts");

    let mut sms = valid_submission();
    sms.contact_channel = pb::ContactChannel::Sms.into();
    let status = system
        .intake
        .submit_inquiry(sms)
        .await
        .expect_err("SMS refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["contact_channel"]);
    assert!(status.message().contains("SMS"));

    let status = system
        .intake
        .submit_inquiry(pb::SubmitInquiryRequest::default())
        .await
        .expect_err("empty refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "requester_kind",
            "department",
            "request_type",
            "description",
            "requester.name"
        ]
    );

    let mut unknown_enum = valid_submission();
    unknown_enum.requester_kind = 99;
    unknown_enum.prior_dialogue = Some(pb::PriorDialogue {
        held: true,
        date: Some(pb::Date {
            year: 2026,
            month: 2,
            day: 30,
        }),
        ..Default::default()
    });
    let status = system
        .intake
        .submit_inquiry(unknown_enum)
        .await
        .expect_err("refused");
    assert_eq!(
        violated_fields(&status),
        ["requester_kind", "prior_dialogue.date"]
    );

    let mut future_dialogue = valid_submission();
    future_dialogue.prior_dialogue = Some(pb::PriorDialogue {
        held: true,
        date: Some(pb::Date {
            year: 2027,
            month: 1,
            day: 1,
        }),
        ..Default::default()
    });
    let status = system
        .intake
        .submit_inquiry(future_dialogue)
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["prior_dialogue.date"]);

    let pool = system.database.pool("intake").await.expect("pool");
    let inquiries: i64 = sqlx::query_scalar("SELECT count(*) FROM inquiries")
        .fetch_one(&pool)
        .await
        .expect("count");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        (inquiries, events),
        (0, 0),
        "nothing stored, nothing to publish"
    );
    let listed = system
        .intake
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(listed.inquiries.is_empty());
    pool.close().await;
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn reads_of_unknown_or_malformed_ids_and_pages_get_precise_statuses() {
    let mut system = TestSystem::start().await.expect("system starts");
    let unknown = uuid::Uuid::now_v7().to_string();

    let status = system
        .intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: unknown.clone(),
            ..Default::default()
        })
        .await
        .expect_err("none");
    assert_eq!(status.code(), Code::NotFound);
    let status = system
        .intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: "BR-2026-1".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["inquiry_id"]);
    let status = system
        .eligibility
        .get_assessment(pb::GetAssessmentRequest {
            inquiry_id: unknown.clone(),
        })
        .await
        .expect_err("none");
    assert_eq!(status.code(), Code::NotFound);
    let status = system
        .deadlines
        .get_deadline(pb::GetDeadlineRequest {
            inquiry_id: "".into(),
        })
        .await
        .expect_err("bad");
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = system
        .intake
        .list_inquiries(pb::ListInquiriesRequest {
            page_size: -1,
            page_token: String::new(),
            ..Default::default()
        })
        .await
        .expect_err("negative page size");
    assert_eq!(violated_fields(&status), ["page_size"]);
    let status = system
        .intake
        .list_inquiries(pb::ListInquiriesRequest {
            page_size: 10,
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .expect_err("forged token");
    assert_eq!(violated_fields(&status), ["page_token"]);
    system.stop().await.expect("clean shutdown");
}
