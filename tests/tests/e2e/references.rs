//! An inquiry is read by the reference people have (`BR-2026-000123`) as well as by its id.

use borgerraad_e2e::{TestSystem, valid_submission, violated_fields};
use borgerraad_proto::v1 as pb;
use tonic::Code;

#[tokio::test]
async fn get_inquiry_finds_an_inquiry_by_its_reference_and_refuses_ambiguous_or_malformed_asks() {
    let mut system = TestSystem::start().await.expect("system starts");
    let first = system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("submission accepted")
        .into_inner();
    let second = system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("submission accepted")
        .into_inner();

    let by_reference = |reference: &str| pb::GetInquiryRequest {
        reference: reference.into(),
        ..Default::default()
    };
    let found = system
        .intake
        .get_inquiry(by_reference(&second.reference))
        .await
        .expect("found by reference")
        .into_inner();
    assert_eq!(found.inquiry_id, second.inquiry_id);
    assert_eq!(found.reference, second.reference);
    assert!(!found.journal.is_empty(), "the journal comes along");
    assert_ne!(found.inquiry_id, first.inquiry_id);

    let status = system
        .intake
        .get_inquiry(by_reference("BR-2026-999999"))
        .await
        .expect_err("no such reference");
    assert_eq!(status.code(), Code::NotFound);

    for malformed in [
        "BR-2026-3",
        "br-2026-000001",
        "2026-000001",
        "BR-2026-000001 ",
    ] {
        let status = system
            .intake
            .get_inquiry(by_reference(malformed))
            .await
            .expect_err("malformed");
        assert_eq!(status.code(), Code::InvalidArgument, "{malformed:?}");
        assert_eq!(violated_fields(&status), ["reference"], "{malformed:?}");
    }

    let both = pb::GetInquiryRequest {
        inquiry_id: first.inquiry_id.clone(),
        reference: first.reference.clone(),
        ..Default::default()
    };
    let status = system.intake.get_inquiry(both).await.expect_err("both");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["inquiry_id", "reference"]);

    let status = system
        .intake
        .get_inquiry(pb::GetInquiryRequest::default())
        .await
        .expect_err("neither");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["inquiry_id", "reference"]);

    system.stop().await.expect("clean shutdown");
}
