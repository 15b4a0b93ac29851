//! CPR numbers in free text: masked like the requester's own in every answer, shown in full only
//! to a caseworker who says why, and every read recorded in the access log before the answer.

use borgerraad_e2e::{STAFF, TestSystem, valid_submission, violated_fields};
use borgerraad_proto::v1 as pb;
use tonic::Code;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A citizen's complaint with her own CPR number, her daughter's in the description, and dates,
/// phone and case numbers that are no CPR numbers.
fn complaint_with_cpr_numbers() -> pb::SubmitInquiryRequest {
    pb::SubmitInquiryRequest {
        requester: Some(pb::Requester {
            name: "Karen Jensen".into(),
            cpr: "0101901234".into(),
            ..Default::default()
        }),
        description: "Min datter har cpr 0202124321. Hun har ventet siden 25-11-2025 på \
                      svar i sag 2026-123456; ring på 66 13 13 72."
            .into(),
        desired_outcome: "Et svar til mig, cpr 010190 1234.".into(),
        prior_dialogue: Some(pb::PriorDialogue {
            held: true,
            date: Some(pb::Date {
                year: 2026,
                month: 11,
                day: 2,
            }),
            with_whom: "Skoleafdelingen".into(),
            outcome: "De bad om datterens cpr 020212-4321 og lovede svar.".into(),
            ongoing: false,
        }),
        ..valid_submission()
    }
}

fn reveal(inquiry_id: &str, actor: &str, purpose: &str) -> tonic::Request<pb::GetInquiryRequest> {
    let mut request = tonic::Request::new(pb::GetInquiryRequest {
        inquiry_id: inquiry_id.to_owned(),
        reveal_cpr: true,
        actor: actor.into(),
        purpose: purpose.into(),
        ..Default::default()
    });
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    request
}

/// Every free text of an answer, to look for CPR numbers in.
fn free_texts(inquiry: &pb::Inquiry) -> String {
    let dialogue = inquiry.prior_dialogue.clone().unwrap_or_default();
    let journal: Vec<&str> = inquiry.journal.iter().map(|e| e.details.as_str()).collect();
    format!(
        "{} | {} | {} | {} | {}",
        inquiry.description,
        inquiry.desired_outcome,
        dialogue.with_whom,
        dialogue.outcome,
        journal.join(" | ")
    )
}

/// An access-log entry as the caseworker answering an access request sees it.
type Logged = (String, String, Vec<String>, String);

/// The access log of `inquiry_id`: who, why, which data, in which trace.
async fn access_log(system: &TestSystem, inquiry_id: &str) -> Vec<Logged> {
    system
        .intake
        .clone()
        .list_access_log(pb::ListAccessLogRequest {
            inquiry_id: inquiry_id.to_owned(),
            ..Default::default()
        })
        .await
        .expect("the access log")
        .into_inner()
        .entries
        .into_iter()
        .map(|e| (e.subject, e.purpose, e.data, e.trace_id))
        .collect()
}

/// The entries that showed CPR numbers in full.
async fn reveals(system: &TestSystem, inquiry_id: &str) -> Vec<Logged> {
    access_log(system, inquiry_id)
        .await
        .into_iter()
        .filter(|(_, _, data, _)| data.iter().any(|d| d == "cpr_revealed"))
        .collect()
}

#[tokio::test]
async fn cpr_numbers_in_free_text_are_masked_unless_revealed_with_a_purpose_and_each_reveal_is_recorded()
 {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    let submitted = intake
        .submit_inquiry(complaint_with_cpr_numbers())
        .await
        .expect("accepted")
        .into_inner();
    let id = submitted.inquiry_id.clone();
    let version = system.settled_version(&id).await;
    intake
        .add_note(pb::AddNoteRequest {
            inquiry_id: id.clone(),
            expected_version: version,
            actor: String::new(),
            text: "Faderen (0303854321) ringede og bad om aktindsigt.".into(),
        })
        .await
        .expect("noted");

    // Masked in every answer: GetInquiry, ListInquiries, BatchGetInquiries.
    let masked = intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(
        masked.description,
        "Min datter har cpr 020212-XXXX. Hun har ventet siden 25-11-2025 på svar i sag \
         2026-123456; ring på 66 13 13 72.",
        "dates, case and phone numbers stay as written"
    );
    assert_eq!(masked.desired_outcome, "Et svar til mig, cpr 010190-XXXX.");
    assert_eq!(
        masked.prior_dialogue.clone().unwrap_or_default().outcome,
        "De bad om datterens cpr 020212-XXXX og lovede svar."
    );
    assert_eq!(
        masked.journal.last().map(|e| e.details.as_str()),
        Some("Faderen (030385-XXXX) ringede og bad om aktindsigt.")
    );
    assert_eq!(
        masked.requester.clone().unwrap_or_default().cpr,
        "010190-XXXX"
    );
    let listed = intake
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("listed")
        .into_inner()
        .inquiries;
    let batch = intake
        .batch_get_inquiries(pb::BatchGetInquiriesRequest {
            inquiry_ids: vec![id.clone()],
        })
        .await
        .expect("batch")
        .into_inner()
        .inquiries;
    for other in listed.iter().chain(&batch) {
        assert_eq!(
            (&other.description, &other.desired_outcome),
            (&masked.description, &masked.desired_outcome)
        );
    }
    for number in [
        "0202124321",
        "0101901234",
        "010190 1234",
        "020212-4321",
        "0303854321",
    ] {
        let texts = [&masked, &listed[0], &batch[0]].map(free_texts).join(" ");
        assert!(!texts.contains(number), "{number} shown: {texts}");
    }

    // No reveal without a reader and a purpose, and none recorded.
    for (actor, purpose, fields) in [
        (STAFF, "", vec!["purpose"]),
        ("", "  ", vec!["purpose"]),
        (STAFF, "Kontakt til forælderen 0303854321", vec!["purpose"]),
        ("cw\n17", "Aktindsigt", vec!["actor"]),
        // The reader is the token's subject, not whoever the request names.
        ("cw-17", "Aktindsigt", vec!["actor"]),
    ] {
        let status = intake
            .get_inquiry(reveal(&id, actor, purpose))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(violated_fields(&status), fields, "{actor:?} {purpose:?}");
    }
    assert!(reveals(&system, &id).await.is_empty());

    let revealed = intake
        .get_inquiry(reveal(&id, "", "Aktindsigt til faderen"))
        .await
        .expect("revealed")
        .into_inner();
    assert_eq!(
        revealed.requester.clone().unwrap_or_default().cpr,
        "010190-1234"
    );
    let texts = free_texts(&revealed);
    for written in [
        "cpr 0202124321.",
        "cpr 010190 1234.",
        "cpr 020212-4321 og",
        "(0303854321)",
    ] {
        assert!(texts.contains(written), "{written} not shown: {texts}");
    }
    assert_eq!(
        reveals(&system, &id).await,
        [(
            STAFF.to_owned(),
            "Aktindsigt til faderen".to_owned(),
            ["requester", "cpr_revealed", "description", "notes"]
                .map(str::to_owned)
                .to_vec(),
            TRACE_ID.to_owned()
        )]
    );

    // A reveal of an inquiry without any CPR number is recorded as showing none.
    let plain = intake
        .submit_inquiry(valid_submission())
        .await
        .expect("accepted")
        .into_inner();
    intake
        .get_inquiry(reveal(&plain.inquiry_id, "", "Kontrol"))
        .await
        .expect("revealed");
    let recorded = access_log(&system, &plain.inquiry_id).await;
    assert_eq!(
        recorded
            .iter()
            .filter(|(subject, ..)| subject == STAFF)
            .map(|(_, purpose, data, _)| (purpose.as_str(), data.join(",")))
            .collect::<Vec<_>>(),
        // The journal holds the assessment's reasons: free text, shown and so logged.
        [("Kontrol", "requester,description,notes".to_owned())]
    );
    system.stop().await.expect("clean shutdown");
}
