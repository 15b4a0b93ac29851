use borgerraad_e2e::{STAFF, TestSystem, valid_submission, violated_fields};
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

/// The field violation's description for `field`.
fn described(status: &tonic::Status, field: &str) -> String {
    use tonic_types::StatusExt as _;
    status
        .get_details_bad_request()
        .and_then(|bad| {
            bad.field_violations
                .into_iter()
                .find(|v| v.field == field)
                .map(|v| v.description)
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn escape_sequences_bidirectional_overrides_and_invisible_characters_are_refused_by_field() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();

    // The form: each field named, the code point told, nothing stored.
    let mut form = valid_submission();
    form.requester = Some(pb::Requester {
        name: "Karen\u{1b}[2J Jensen".into(),
        ..Default::default()
    });
    form.description = "Faktura\u{202E}fdp.exe".into();
    form.unit = "Team\nNord".into();
    form.desired_outcome = "Svar\u{200B}".into();
    form.attachments = vec![pb::Attachment {
        title: "Afgørelse\u{FFFE}".into(),
        document_ref: "dp://dokument/1".into(),
    }];
    let status = intake
        .submit_inquiry(form.clone())
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "unit",
            "description",
            "desired_outcome",
            "requester.name",
            "attachments[0].title"
        ]
    );
    assert_eq!(
        described(&status, "requester.name"),
        "must not contain control characters (U+001B at character 6)"
    );
    assert_eq!(
        described(&status, "description"),
        "must not contain bidirectional control characters (U+202E at character 8)"
    );
    assert_eq!(
        described(&status, "unit"),
        "must be one line, without line breaks or tabs (U+000A at character 5)"
    );
    assert!(described(&status, "desired_outcome").contains("zero-width"));
    assert!(described(&status, "attachments[0].title").contains("non-characters"));

    // Eligibility's pre-check warns about the very same fields.
    let mut eligibility = system.eligibility.clone();
    let evaluated = eligibility
        .evaluate(pb::EvaluateRequest {
            requester_kind: form.requester_kind,
            requester: form.requester.clone(),
            department: form.department.clone(),
            request_type: form.request_type,
            complaint_themes: form.complaint_themes.clone(),
            description: form.description.clone(),
            prior_dialogue: form.prior_dialogue.clone(),
            unit: form.unit.clone(),
            desired_outcome: form.desired_outcome.clone(),
            attachments: form.attachments.clone(),
            ..Default::default()
        })
        .await
        .expect("evaluated")
        .into_inner();
    let warned: Vec<&str> = evaluated
        .violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(
        warned,
        [
            "unit",
            "description",
            "desired_outcome",
            "requester.name",
            "attachments[0].title"
        ]
    );

    // Line breaks and tabs are welcome in free text.
    let mut letter = valid_submission();
    letter.description = "Kære Borgerrådgiver\r\n\n\tJeg har ventet otte måneder.".into();
    let submitted = intake
        .submit_inquiry(letter)
        .await
        .expect("accepted")
        .into_inner();
    let id = submitted.inquiry_id;
    let version = system.settled_version(&id).await;

    // Lifecycle steps: notes and reasons are free text, actors and ids one line.
    let status = intake
        .add_note(pb::AddNoteRequest {
            inquiry_id: id.clone(),
            expected_version: version,
            actor: "cw-17\u{2066}".into(),
            text: "Ringede\u{7}".into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["actor", "text"]);
    assert!(described(&status, "actor").contains("U+2066"));
    let status = intake
        .assign_caseworker(pb::AssignCaseworkerRequest {
            inquiry_id: id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            caseworker_id: "cw-18\tcw-19".into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["caseworker_id"]);
    let status = intake
        .withdraw_inquiry(pb::WithdrawInquiryRequest {
            inquiry_id: id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            reason: "Borgeren\u{9b}2J trak den".into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["reason"]);
    let status = intake
        .amend_inquiry(pb::AmendInquiryRequest {
            inquiry_id: id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            department: "by-og-kultur".into(),
            request_type: pb::RequestType::Advice.into(),
            description: "Rettet\u{FEFF} beskrivelse".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["description"]);
    let noted = intake
        .add_note(pb::AddNoteRequest {
            inquiry_id: id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            text: "Ringede til forvaltningen.\nDe vender tilbage\tfredag.".into(),
        })
        .await
        .expect("a note on two lines")
        .into_inner();
    assert_eq!(noted.version, version + 1, "only the valid note was taken");

    // Eligibility's overrides: the caseworker one line, the reason free text.
    let status = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: id.clone(),
            actor: format!("{STAFF}\n"),
            outcome: pb::EligibilityOutcome::Accepted.into(),
            reason: "Sagen\u{202A} er inden for rammerne".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["reason"]);
    let status = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: id.clone(),
            actor: "cw\u{85}17".into(),
            outcome: pb::EligibilityOutcome::Accepted.into(),
            reason: "Sagen er\ninden for rammerne".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["actor"]);
    assert!(described(&status, "actor").contains("U+0085"));
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn unknown_enum_numbers_are_refused_never_taken_for_a_default() {
    let mut system = TestSystem::start().await.expect("system starts");
    let mut unknown = valid_submission();
    unknown.contact_channel = 77;
    unknown.arrival_channel = 77;
    unknown.request_type = 77;
    unknown.representative = Some(pb::Representative {
        name: "Advokat Hansen".into(),
        role: 77,
        power_of_attorney_scope: "Klagesagen".into(),
        ..Default::default()
    });
    let status = system
        .intake
        .submit_inquiry(unknown)
        .await
        .expect_err("unknown numbers refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "request_type",
            "representative.role",
            "arrival_channel",
            "contact_channel"
        ]
    );
    assert!(
        status
            .message()
            .contains("contact_channel: is not a known channel"),
        "{}",
        status.message()
    );

    // An anonymous inquiry has no answer channel, but an unreadable one is still refused.
    let mut anonymous = valid_submission();
    anonymous.request_type = pb::RequestType::Advice.into();
    anonymous.complaint_themes.clear();
    anonymous.requester = Some(pb::Requester {
        anonymous: true,
        ..Default::default()
    });
    anonymous.contact_channel = 77;
    let status = system
        .intake
        .submit_inquiry(anonymous)
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), ["contact_channel"]);

    let listed = system
        .intake
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.inquiries.is_empty(), "nothing was stored");
    system.stop().await.expect("system stops");
}
