//! The scope rules end to end: every new or amended inquiry is assessed from intake's events,
//! with the description read from intake over gRPC; caseworkers override with a reason, and an
//! override survives re-assessment until cleared. Evaluate stores nothing.

use borgerraad_e2e::{SETTLE, STAFF, TestSystem, date, valid_submission, violated_fields};
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::eventually;
use pb::EligibilityOutcome as O;
use tonic::Code;

async fn submit(system: &TestSystem, request: pb::SubmitInquiryRequest) -> String {
    system
        .intake
        .clone()
        .submit_inquiry(request)
        .await
        .expect("submitted")
        .into_inner()
        .inquiry_id
}

/// The assessment once it has reached `revision`.
async fn assessment_at(system: &TestSystem, inquiry_id: &str, revision: i64) -> pb::Assessment {
    let client = system.eligibility.clone();
    eventually(&format!("assessment revision {revision}"), SETTLE, || {
        let mut client = client.clone();
        let request = pb::GetAssessmentRequest {
            inquiry_id: inquiry_id.to_owned(),
        };
        async move {
            let assessment = client.get_assessment(request).await.ok()?.into_inner();
            (assessment.revision >= revision).then_some(assessment)
        }
    })
    .await
}

async fn review_queue(system: &TestSystem) -> Vec<String> {
    system
        .eligibility
        .clone()
        .list_assessments(pb::ListAssessmentsRequest {
            needs_review_queue: true,
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .assessments
        .into_iter()
        .map(|a| a.inquiry_id)
        .collect()
}

fn override_to(inquiry_id: &str, outcome: O, reason: &str) -> pb::OverrideAssessmentRequest {
    pb::OverrideAssessmentRequest {
        inquiry_id: inquiry_id.to_owned(),
        actor: STAFF.into(),
        outcome: outcome.into(),
        reason: reason.into(),
        ..Default::default()
    }
}

fn history_kinds(assessment: &pb::Assessment) -> Vec<(i64, &str, O)> {
    assessment
        .history
        .iter()
        .map(|h| (h.revision, h.kind.as_str(), h.outcome()))
        .collect()
}

#[tokio::test]
async fn a_matter_before_ankestyrelsen_is_referred_there_by_name_and_address_with_an_urgent_deadline()
 {
    let system = TestSystem::start().await.expect("system starts");
    // The clock stands at Wednesday 25 November 2026: Friday the 27th is two working days away.
    let inquiry_id = submit(
        &system,
        pb::SubmitInquiryRequest {
            request_type: pb::RequestType::DecisionExplanation.into(),
            complaint_themes: Vec::new(),
            description: "Jeg forstår ikke afgørelsen om min boligstøtte.".into(),
            related_decision: Some(pb::RelatedDecision {
                decision_date: date(2026, 10, 30),
                // Not appealed yet: the deadline is still open.
                appealed: false,
                brought_before: pb::OtherBody::Ankestyrelsen.into(),
                appeal_deadline: date(2026, 11, 27),
                ..Default::default()
            }),
            ..valid_submission()
        },
    )
    .await;

    let assessment = system.assessment(&inquiry_id).await;
    assert_eq!(assessment.outcome(), O::Referred);
    assert_eq!(assessment.referral_target, "ankestyrelsen");
    assert_eq!(assessment.rule_set_version, "2026.12-1");
    assert!(
        assessment.urgent,
        "a deadline two working days away is urgent"
    );
    assert_eq!(assessment.appeal_deadline, date(2026, 11, 27));
    let rule = assessment
        .fired_rules
        .iter()
        .find(|r| r.rule_id == "other-complaint-body")
        .expect("the other-body rule fired");
    assert!(rule.explanation_da.contains("Ankestyrelsen"), "{rule:?}");
    assert!(rule.explanation_da.contains("https://ast.dk"), "{rule:?}");
    assert!(!rule.explanation_en.is_empty());
    assert!(
        assessment
            .fired_rules
            .iter()
            .any(|r| r.rule_id == "appeal-deadline-urgent" && r.explanation_da.contains("2026")),
        "the answer states the deadline: {:?}",
        assessment.fired_rules
    );
    assert_eq!(history_kinds(&assessment), [(1, "assessment", O::Referred)]);

    // The case record shows the outcome, the target and the rules, as recorded from the event.
    let inquiry = inquiry_at_assessment(&system, &inquiry_id, 1).await;
    assert_eq!(inquiry.eligibility_outcome(), O::Referred);
    assert_eq!(inquiry.referral_target, "ankestyrelsen");
    assert_eq!(
        inquiry.fired_rule_ids,
        ["other-complaint-body", "appeal-deadline-urgent"]
    );
    let journaled = inquiry
        .journal
        .iter()
        .find(|entry| entry.step == "assess")
        .expect("the assessment is journaled");
    assert_eq!(
        journaled.details,
        "assessed by the eligibility service: referred to ankestyrelsen \
         (rules other-complaint-body, appeal-deadline-urgent)"
    );
    system.stop().await.expect("system stops");
}

/// The inquiry once intake has recorded the assessment of `revision`.
async fn inquiry_at_assessment(
    system: &TestSystem,
    inquiry_id: &str,
    revision: i64,
) -> pb::Inquiry {
    let client = system.intake.clone();
    eventually(&format!("assessment {revision} recorded"), SETTLE, || {
        let mut client = client.clone();
        let request = pb::GetInquiryRequest {
            inquiry_id: inquiry_id.to_owned(),
            ..Default::default()
        };
        async move {
            let inquiry = client.get_inquiry(request).await.ok()?.into_inner();
            (inquiry.assessment_revision >= revision).then_some(inquiry)
        }
    })
    .await
}

#[tokio::test]
async fn free_text_that_contradicts_the_form_waits_in_the_review_queue_until_a_caseworker_decides()
{
    let system = TestSystem::start().await.expect("system starts");
    let plain = submit(&system, valid_submission()).await;
    // The form says nothing about employment; the person's own words do.
    let contradicting = submit(
        &system,
        pb::SubmitInquiryRequest {
            description: "Min chef på plejecentret har givet mig en advarsel, og jeg er blevet \
                          behandlet dårligt af kommunen i sagen om min datters skolebus."
                .into(),
            ..valid_submission()
        },
    )
    .await;

    let assessment = system.assessment(&contradicting).await;
    assert_eq!(assessment.outcome(), O::NeedsReview);
    assert_eq!(
        assessment
            .review_signals
            .iter()
            .map(|s| (s.topic.as_str(), s.signal.as_str()))
            .collect::<Vec<_>>(),
        [("employment", "min chef")]
    );
    assert_eq!(system.assessment(&plain).await.outcome(), O::Accepted);
    assert_eq!(review_queue(&system).await, [contradicting.as_str()]);

    let decided = system
        .eligibility
        .clone()
        .override_assessment(pb::OverrideAssessmentRequest {
            expected_revision: 1,
            ..override_to(
                &contradicting,
                O::Accepted,
                "Sagen handler om skolebussen; ansættelsen er kun baggrund.",
            )
        })
        .await
        .expect("overridden")
        .into_inner();
    assert_eq!(decided.outcome(), O::Accepted);
    assert_eq!(decided.rules_outcome(), O::NeedsReview);
    assert_eq!(decided.revision, 2);
    let decision = decided.r#override.as_ref().expect("the override is shown");
    assert_eq!(
        (decision.actor.as_str(), decision.outcome()),
        (STAFF, O::Accepted)
    );
    assert_eq!(
        history_kinds(&decided),
        [
            (1, "assessment", O::NeedsReview),
            (2, "override", O::Accepted)
        ]
    );
    assert!(review_queue(&system).await.is_empty());
    let recorded = inquiry_at_assessment(&system, &contradicting, 2).await;
    assert_eq!(
        (
            recorded.eligibility_outcome(),
            recorded.fired_rule_ids.clone()
        ),
        (O::Accepted, vec!["free-text-contradicts-form".to_owned()]),
        "the case record follows the override, and keeps the rules that fired"
    );

    // The override is published for intake and reporting, as the latest revision.
    eventually("both assessments published", SETTLE, || async {
        let counts = system.event_counts().await.ok()?;
        (counts.get("borgerraad.eligibility.assessed") == Some(&3)).then_some(())
    })
    .await;
    let mut eligibility = system.eligibility.clone();
    let accepted = eligibility
        .list_assessments(pb::ListAssessmentsRequest {
            outcome: O::Accepted.into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    // Listed in the order first assessed; the two were assessed concurrently, in either order.
    let mut listed: Vec<&str> = accepted
        .assessments
        .iter()
        .map(|a| a.inquiry_id.as_str())
        .collect();
    listed.sort_unstable();
    let mut expected = [plain.as_str(), contradicting.as_str()];
    expected.sort_unstable();
    assert_eq!(listed, expected);
    for (department, expected) in [("by-og-kultur", 2), ("boern-og-unge", 0)] {
        let listed = eligibility
            .list_assessments(pb::ListAssessmentsRequest {
                department: department.into(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("listed")
            .into_inner();
        assert_eq!(listed.assessments.len(), expected.min(1), "{department}");
        assert_eq!(
            listed.next_page_token.is_empty(),
            expected < 2,
            "{department}"
        );
    }
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn an_amended_inquiry_is_assessed_again_and_an_override_holds_until_cleared() {
    let system = TestSystem::start().await.expect("system starts");
    let submitted = system
        .intake
        .clone()
        .submit_inquiry(pb::SubmitInquiryRequest {
            prior_dialogue: Some(pb::PriorDialogue::default()),
            ..valid_submission()
        })
        .await
        .expect("submitted")
        .into_inner();
    let inquiry_id = submitted.inquiry_id;
    let first = system.assessment(&inquiry_id).await;
    assert_eq!(first.outcome(), O::Referred);
    assert_eq!(first.referral_target, "by-og-kultur");
    assert_eq!(first.fired_rules[0].rule_id, "no-prior-dialogue");

    let mut eligibility = system.eligibility.clone();
    eligibility
        .override_assessment(override_to(
            &inquiry_id,
            O::Accepted,
            "Forvaltningen har selv bedt borgeren gå til os.",
        ))
        .await
        .expect("overridden");

    // The caseworker corrects the form: the matter turns out to be the service level.
    let mut intake = system.intake.clone();
    // Intake records each assessment and override as a step; amend on the settled version.
    let version = system.settled_version(&inquiry_id).await;
    let amended = intake
        .amend_inquiry(pb::AmendInquiryRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            department: "by-og-kultur".into(),
            request_type: pb::RequestType::Complaint.into(),
            description: "Byrådet har skåret i vintervedligeholdelsen på min vej.".into(),
            prior_dialogue: Some(pb::PriorDialogue {
                held: true,
                date: date(2026, 11, 2),
                ..Default::default()
            }),
            scope: Some(pb::ScopeAnswers {
                about_political_decision: true,
                ..Default::default()
            }),
            complaint_themes: vec![pb::ComplaintTheme::PracticalTasks.into()],
            ..Default::default()
        })
        .await
        .expect("amended")
        .into_inner();
    assert_eq!(amended.status(), pb::InquiryStatus::Assessed);
    let amendment = amended
        .journal
        .iter()
        .find(|entry| entry.version == version + 1)
        .expect("the amendment is journaled");
    assert_eq!(
        (amendment.step.as_str(), amendment.actor.as_str()),
        ("amend", STAFF)
    );
    // The entry names what changed, not the words before or after.
    for field in ["description", "prior_dialogue", "scope", "complaint_themes"] {
        assert!(amendment.details.contains(field), "{}", amendment.details);
    }
    let before = valid_submission().description;
    assert!(
        !amendment.details.contains(before.as_str())
            && !amendment.details.contains("vintervedligeholdelsen"),
        "{}",
        amendment.details
    );

    let reassessed = assessment_at(&system, &inquiry_id, 3).await;
    assert_eq!(reassessed.rules_outcome(), O::OutOfScope);
    assert!(
        reassessed
            .fired_rules
            .iter()
            .any(|r| r.rule_id == "political-decision"),
        "{:?}",
        reassessed.fired_rules
    );
    assert_eq!(reassessed.outcome(), O::Accepted, "the override survives");
    assert_eq!(
        history_kinds(&reassessed),
        [
            (1, "assessment", O::Referred),
            (2, "override", O::Accepted),
            (3, "assessment", O::OutOfScope),
        ]
    );

    let cleared = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: inquiry_id.clone(),
            actor: STAFF.into(),
            reason: "Nye oplysninger: det er et spørgsmål om serviceniveau.".into(),
            clear: true,
            expected_revision: 3,
            ..Default::default()
        })
        .await
        .expect("cleared")
        .into_inner();
    assert_eq!((cleared.outcome(), cleared.revision), (O::OutOfScope, 4));
    assert_eq!(cleared.r#override, None);
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn evaluate_warns_a_web_form_before_submission_and_stores_nothing() {
    let system = TestSystem::start().await.expect("system starts");
    let mut eligibility = system.eligibility.clone();
    let draft = eligibility
        .evaluate(pb::EvaluateRequest {
            department: "beskaeftigelse-og-social".into(),
            request_type: pb::RequestType::Complaint.into(),
            description: "Jeg vil klage over, at min leder har nægtet mig ferie.".into(),
            prior_dialogue: Some(pb::PriorDialogue {
                held: true,
                date: date(2026, 11, 10),
                ..Default::default()
            }),
            scope: Some(pb::ScopeAnswers {
                about_employment: true,
                ..Default::default()
            }),
            complaint_themes: vec![pb::ComplaintTheme::ServiceAndConduct.into()],
            ..Default::default()
        })
        .await
        .expect("evaluated")
        .into_inner();
    assert_eq!(draft.outcome(), O::OutOfScope);
    assert_eq!(draft.inquiry_id, "");
    assert_eq!(draft.fired_rules[0].rule_id, "employment");
    assert!(!draft.fired_rules[0].explanation_da.is_empty());

    // Written in English, with a form that says nothing of employment: a caseworker looks.
    let english = eligibility
        .evaluate(pb::EvaluateRequest {
            department: "aeldre-og-handicap".into(),
            request_type: pb::RequestType::Complaint.into(),
            description: "I was dismissed from my job at the nursing home and nobody explains \
                          why. Please answer by SMS."
                .into(),
            prior_dialogue: Some(pb::PriorDialogue {
                held: true,
                date: date(2026, 11, 10),
                ..Default::default()
            }),
            complaint_themes: vec![pb::ComplaintTheme::Reasons.into()],
            ..Default::default()
        })
        .await
        .expect("evaluated")
        .into_inner();
    assert_eq!(english.outcome(), O::NeedsReview);
    let topics: Vec<&str> = english
        .review_signals
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert_eq!(topics, ["employment", "sms_answer"]);

    let listed = eligibility
        .list_assessments(pb::ListAssessmentsRequest::default())
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.assessments.is_empty());
    assert!(system.event_counts().await.expect("counts").is_empty());

    let refused = eligibility
        .evaluate(pb::EvaluateRequest {
            department: String::new(),
            request_type: 99,
            scope: Some(pb::ScopeAnswers {
                matter_closed_on: date(2026, 2, 30),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    // Values the contract cannot read are refused; an empty department is only a violation of
    // the form's rules, returned with the outcome.
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&refused),
        ["request_type", "scope.matter_closed_on"]
    );

    let rules = eligibility
        .list_rules(pb::ListRulesRequest {})
        .await
        .expect("rules")
        .into_inner();
    assert_eq!(rules.rule_set_version, "2026.12-1");
    assert_eq!(rules.rules.len(), 15);
    assert!(
        rules
            .rules
            .iter()
            .all(|r| !r.text_da.is_empty() && !r.text_en.is_empty() && !r.category.is_empty())
    );
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn bad_overrides_and_amendments_are_refused_precisely_and_change_nothing() {
    let system = TestSystem::start().await.expect("system starts");
    let inquiry_id = submit(&system, valid_submission()).await;
    let before = system.assessment(&inquiry_id).await;
    let mut eligibility = system.eligibility.clone();

    let invalid = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: "not-an-id".into(),
            outcome: O::Referred.into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&invalid),
        ["inquiry_id", "reason", "referral_target"]
    );
    // A referral target is a code from the rule set, never a caseworker's free text.
    for (outcome, target) in [
        (O::Referred, "henvist til Jens Hansen"),
        (O::Accepted, "ankestyrelsen"),
    ] {
        let refused = eligibility
            .override_assessment(pb::OverrideAssessmentRequest {
                referral_target: target.into(),
                ..override_to(&inquiry_id, outcome, "r")
            })
            .await
            .expect_err("refused");
        assert_eq!(violated_fields(&refused), ["referral_target"], "{target}");
    }
    let unknown = eligibility
        .override_assessment(override_to(
            "0195f0f0-0000-7000-8000-000000000000",
            O::Accepted,
            "r",
        ))
        .await
        .expect_err("refused");
    assert_eq!(unknown.code(), Code::NotFound);
    let stale = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            expected_revision: 7,
            ..override_to(&inquiry_id, O::OutOfScope, "r")
        })
        .await
        .expect_err("refused");
    assert_eq!(stale.code(), Code::Aborted);
    let nothing_to_clear = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: inquiry_id.clone(),
            actor: STAFF.into(),
            reason: "r".into(),
            clear: true,
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(nothing_to_clear.code(), Code::FailedPrecondition);
    assert_eq!(system.assessment(&inquiry_id).await, before);

    // Intake: an amendment is checked as a submission is, and refused once answered.
    let mut intake = system.intake.clone();
    let version = system.settled_version(&inquiry_id).await;
    let bad = intake
        .amend_inquiry(pb::AmendInquiryRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            department: "skatteforvaltningen".into(),
            request_type: pb::RequestType::Advice.into(),
            description: "x".into(),
            scope: Some(pb::ScopeAnswers {
                other_authority: 42,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&bad),
        ["department", "scope.other_authority"]
    );
    let answered = intake
        .record_answer(pb::RecordAnswerRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: version,
            actor: STAFF.into(),
            channel: pb::ContactChannel::DigitalPost.into(),
            summary: String::new(),
        })
        .await
        .expect("answered")
        .into_inner();
    let too_late = intake
        .amend_inquiry(pb::AmendInquiryRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: answered.version,
            actor: STAFF.into(),
            department: "by-og-kultur".into(),
            request_type: pb::RequestType::Advice.into(),
            description: "Rettet beskrivelse.".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(too_late.code(), Code::FailedPrecondition);
    system.stop().await.expect("system stops");
}

/// The draft a web form would send to `Evaluate` for the submission it is about to make.
fn draft_of(submission: &pb::SubmitInquiryRequest) -> pb::EvaluateRequest {
    let s = submission.clone();
    pb::EvaluateRequest {
        department: s.department,
        request_type: s.request_type,
        description: s.description,
        prior_dialogue: s.prior_dialogue,
        related_decision: s.related_decision,
        scope: s.scope,
        complaint_themes: s.complaint_themes,
        anonymous: false,
        requester_kind: s.requester_kind,
        requester: s.requester,
        contact_channel: s.contact_channel,
        contains_sensitive_data: s.contains_sensitive_data,
        arrival_channel: s.arrival_channel,
        unit: s.unit,
        representative: s.representative,
        consent_to_contact_department: s.consent_to_contact_department,
        desired_outcome: s.desired_outcome,
        attachments: s.attachments,
        received_at: s.received_at,
    }
}

#[tokio::test]
async fn evaluate_and_submission_agree_on_every_draft() {
    let system = TestSystem::start().await.expect("system starts");
    let mut eligibility = system.eligibility.clone();
    let mut intake = system.intake.clone();
    let anonymous_complaint = pb::SubmitInquiryRequest {
        requester: Some(pb::Requester {
            anonymous: true,
            ..Default::default()
        }),
        ..valid_submission()
    };
    let by_sms = pb::SubmitInquiryRequest {
        contact_channel: pb::ContactChannel::Sms.into(),
        ..valid_submission()
    };
    let sensitive_by_email = pb::SubmitInquiryRequest {
        contains_sensitive_data: true,
        contact_channel: pb::ContactChannel::Email.into(),
        ..valid_submission()
    };
    let nameless_with_a_bad_cpr = pb::SubmitInquiryRequest {
        requester: Some(pb::Requester {
            cpr: "320190-1234".into(),
            ..Default::default()
        }),
        ..valid_submission()
    };
    let unknown_department = pb::SubmitInquiryRequest {
        department: "teknik".into(),
        ..valid_submission()
    };
    let cases = [
        ("valid", valid_submission(), vec![]),
        (
            "anonymous complaint",
            anonymous_complaint,
            vec!["requester.anonymous"],
        ),
        ("answer by SMS", by_sms, vec!["contact_channel"]),
        (
            "sensitive data by e-mail",
            sensitive_by_email,
            vec!["contact_channel"],
        ),
        (
            "no name, an invalid CPR number",
            nameless_with_a_bad_cpr,
            vec!["requester.name", "requester.cpr"],
        ),
        ("unknown department", unknown_department, vec!["department"]),
    ];
    for (case, submission, expected) in cases {
        let evaluated = eligibility
            .evaluate(draft_of(&submission))
            .await
            .unwrap_or_else(|e| panic!("{case}: evaluated: {e}"))
            .into_inner();
        let warned: Vec<&str> = evaluated
            .violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(warned, expected, "{case}: Evaluate's violations");
        assert_ne!(
            evaluated.outcome(),
            O::Unspecified,
            "{case}: the outcome comes with the violations"
        );
        match intake.submit_inquiry(submission).await {
            Ok(_) => assert!(expected.is_empty(), "{case}: submission took the draft"),
            Err(refused) => {
                assert_eq!(refused.code(), Code::InvalidArgument, "{case}");
                assert_eq!(violated_fields(&refused), expected, "{case}: submission");
                let warned_texts: Vec<String> = evaluated
                    .violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect();
                assert_eq!(
                    refused.message(),
                    warned_texts.join("; "),
                    "{case}: the same words"
                );
            }
        }
    }
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn a_cpr_number_in_the_description_sends_the_inquiry_to_review_though_eligibility_sees_it_masked()
 {
    let system = TestSystem::start().await.expect("system starts");
    let with_cpr = |n: usize| pb::SubmitInquiryRequest {
        description: format!(
            "Min søn har cpr 0202124321, og vi har ventet på svar i {n} måneder. Sag 2026-123456."
        ),
        ..valid_submission()
    };
    // Several at once, so eligibility reads descriptions both in one call and one by one.
    let mut with_cpr_ids = Vec::new();
    for n in 1..=4 {
        with_cpr_ids.push(submit(&system, with_cpr(n)).await);
    }
    let plain = submit(&system, valid_submission()).await;

    for inquiry_id in &with_cpr_ids {
        let assessment = system.assessment(inquiry_id).await;
        assert_eq!(assessment.outcome(), O::NeedsReview, "{assessment:?}");
        assert!(
            assessment
                .fired_rules
                .iter()
                .any(|rule| rule.rule_id == "cpr-in-free-text"),
            "{:?}",
            assessment.fired_rules
        );
    }
    assert_eq!(system.assessment(&plain).await.outcome(), O::Accepted);

    // What eligibility reads from intake holds the number masked, and nothing stores it but
    // intake, sealed.
    let read = system
        .intake
        .clone()
        .batch_get_inquiries(pb::BatchGetInquiriesRequest {
            inquiry_ids: with_cpr_ids.clone(),
        })
        .await
        .expect("read")
        .into_inner()
        .inquiries;
    assert_eq!(read.len(), 4);
    for inquiry in &read {
        assert!(
            inquiry
                .description
                .starts_with("Min søn har cpr 020212-XXXX, og vi"),
            "{}",
            inquiry.description
        );
    }
    let dump = system.database.dump().await.expect("pg_dump");
    assert!(!dump.contains("0202124321"), "a dump shows the CPR number");
    system.stop().await.expect("system stops");
}
