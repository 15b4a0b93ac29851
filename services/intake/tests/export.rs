//! A person's access request answered in one call: every inquiry of the person with all the
//! personal data held, its journal and the access log, as JSON or a Danish letter; the export
//! recorded in the access log first; bad requests refused with field violations.

mod common;

use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::{NatsServer, TestDatabase};
use common::{Replica, ring, violated_fields};

const KAREN: &str = "010190-1234";
const OTHER: &str = "020285-4321";
const PURPOSE: &str = "Indsigtsanmodning";

fn request(cpr: &str, format: pb::ExportFormat) -> pb::ExportPersonDataRequest {
    pb::ExportPersonDataRequest {
        cpr: cpr.into(),
        purpose: PURPOSE.into(),
        format: format.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_persons_inquiries_come_with_all_their_data_the_journal_and_the_access_log() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let intake = Replica::start(&database, &nats, ring(&["k1"])).await;
    let first = intake
        .submit(KAREN, "Min byggesag har ventet i otte måneder.")
        .await;
    let second = intake
        .submit(KAREN, "Hej <script>alert('x')</script> & farvel")
        .await;
    intake.submit(OTHER, "En andens sag").await;
    intake.note(&first, 1, "Ringede til Karen om sagen").await;
    // An earlier read, to be found in the log.
    intake
        .client
        .clone()
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: first.clone(),
            purpose: "Sagsbehandling".into(),
            ..Default::default()
        })
        .await
        .expect("read");

    let export = intake
        .client
        .clone()
        .export_person_data(request(KAREN, pb::ExportFormat::Json))
        .await
        .expect("exported")
        .into_inner();

    assert!(export.data_held);
    let ids: Vec<&str> = export
        .inquiries
        .iter()
        .map(|i| i.inquiry_id.as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let karen = &export.inquiries[0];
    let requester = karen.requester.clone().unwrap_or_default();
    assert_eq!(
        (requester.name.as_str(), requester.cpr.as_str()),
        ("Karen Jensen", KAREN)
    );
    assert_eq!(karen.desired_outcome, "Et svar inden jul");
    assert_eq!(
        karen
            .journal
            .iter()
            .map(|e| e.details.as_str())
            .collect::<Vec<_>>()
            .last()
            .copied(),
        Some("Ringede til Karen om sagen")
    );
    // The earlier read and this export, each recorded with who, when and why.
    let log: Vec<(&str, &str)> = export
        .access_log
        .iter()
        .filter(|e| e.inquiry_id == first)
        .map(|e| (e.purpose.as_str(), e.role.as_str()))
        .collect();
    assert!(
        log.iter()
            .any(|(purpose, role)| *purpose == "Sagsbehandling" && role.contains("caseworker")),
        "{log:?}"
    );
    let own = export
        .access_log
        .iter()
        .filter(|e| e.purpose == PURPOSE)
        .collect::<Vec<_>>();
    assert_eq!(own.len(), 2, "one entry per inquiry exported");
    for entry in own {
        for kind in ["cpr_revealed", "requester", "description", "access_log"] {
            assert!(entry.data.iter().any(|d| d == kind), "{kind}: {entry:?}");
        }
        assert!(entry.at.is_some());
    }
    assert_eq!(export.media_type, "application/json");
    let document: serde_json::Value = serde_json::from_str(&export.document).expect("JSON");
    assert_eq!(document["inquiries"][0]["requester_cpr"], KAREN);
    assert_eq!(
        document["inquiries"][1]["description"],
        "Hej <script>alert('x')</script> & farvel"
    );
    intake.stop().await;
}

#[tokio::test]
async fn the_letter_is_danish_html_with_the_persons_text_escaped() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let intake = Replica::start(&database, &nats, ring(&["k1"])).await;
    intake
        .submit(KAREN, "Hej <script>alert('x')</script> & farvel")
        .await;

    let export = intake
        .client
        .clone()
        .export_person_data(request(KAREN, pb::ExportFormat::Html))
        .await
        .expect("exported")
        .into_inner();

    assert_eq!(export.media_type, "text/html; charset=utf-8");
    let html = export.document;
    assert!(html.contains("<h1>Indsigt i dine personoplysninger</h1>"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("Hej &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; farvel"));
    // The test clock stands at 25 November 2026, 10:00 UTC: 11.00 in Copenhagen.
    assert!(html.contains("25. november 2026 kl. 11.00"), "{html}");
    assert!(html.contains(KAREN));
    intake.stop().await;
}

#[tokio::test]
async fn a_person_without_inquiries_gets_an_export_saying_no_data_is_held() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let intake = Replica::start(&database, &nats, ring(&["k1"])).await;
    intake.submit(OTHER, "En andens sag").await;

    let export = intake
        .client
        .clone()
        .export_person_data(request(KAREN, pb::ExportFormat::Html))
        .await
        .expect("an answer, not NOT_FOUND")
        .into_inner();

    assert!(!export.data_held);
    assert!(export.inquiries.is_empty() && export.access_log.is_empty());
    assert!(
        export
            .document
            .contains("Vi behandler ingen personoplysninger om dig")
    );
    intake.stop().await;
}

#[tokio::test]
async fn no_identifier_an_invalid_one_or_no_purpose_is_an_invalid_argument() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let intake = Replica::start(&database, &nats, ring(&["k1"])).await;
    let cases = [
        (
            pb::ExportPersonDataRequest {
                purpose: PURPOSE.into(),
                ..Default::default()
            },
            vec!["cpr", "cvr"],
        ),
        (request("311390-1234", pb::ExportFormat::Json), vec!["cpr"]),
        (
            pb::ExportPersonDataRequest {
                cvr: "12345678".into(),
                purpose: PURPOSE.into(),
                ..Default::default()
            },
            vec!["cvr"],
        ),
        (
            pb::ExportPersonDataRequest {
                cpr: KAREN.into(),
                ..Default::default()
            },
            vec!["purpose"],
        ),
        (
            pb::ExportPersonDataRequest {
                cpr: KAREN.into(),
                purpose: PURPOSE.into(),
                format: 99,
                ..Default::default()
            },
            vec!["format"],
        ),
    ];
    for (request, fields) in cases {
        let status = intake
            .client
            .clone()
            .export_person_data(request)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert_eq!(violated_fields(&status), fields);
    }
    intake.stop().await;
}
