use borgerraad_e2e::{TestSystem, valid_submission};
use borgerraad_proto::v1 as pb;

#[tokio::test]
async fn one_inquiry_flows_through_all_four_services_and_every_read_api_shows_it() {
    let mut system = TestSystem::start().await.expect("system starts");

    let submitted = system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("submission accepted")
        .into_inner();
    assert!(
        submitted.reference.starts_with("BR-2026-"),
        "reference {}",
        submitted.reference
    );

    let inquiry = system
        .intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: submitted.inquiry_id.clone(),
            ..Default::default()
        })
        .await
        .expect("inquiry stored")
        .into_inner();
    assert_eq!(inquiry.reference, submitted.reference);
    assert_eq!(inquiry.department, "by-og-kultur");
    assert_eq!(inquiry.status(), pb::InquiryStatus::Received);

    let assessment = system.assessment(&submitted.inquiry_id).await;
    assert_eq!(assessment.outcome(), pb::EligibilityOutcome::Accepted);
    assert!(!assessment.rule_set_version.is_empty());

    let deadline = system.deadline(&submitted.inquiry_id).await;
    // Received Wednesday 25 November 2026: 15 working days later is Wednesday 16 December.
    assert_eq!(
        deadline.due_date,
        Some(pb::Date {
            year: 2026,
            month: 12,
            day: 16
        })
    );
    assert_eq!(deadline.working_days, 15);
    assert_eq!(deadline.state(), pb::DeadlineState::Running);

    let summary = system
        .summary_when("the summary to count the assessed inquiry", |summary| {
            summary.figures.as_ref().is_some_and(|figures| {
                figures
                    .by_eligibility_outcome
                    .iter()
                    .map(|c| c.count)
                    .sum::<i64>()
                    == 1
            })
        })
        .await;
    let figures = summary.figures.expect("figures");
    assert_eq!(figures.received, 1);
    assert_eq!(
        figures.by_department,
        vec![pb::CategoryCount {
            code: "by-og-kultur".into(),
            count: 1,
            name: "By- og Kulturforvaltningen".into(),
        }]
    );
    assert_eq!(
        figures.by_eligibility_outcome,
        vec![pb::CategoryCount {
            code: "accepted".into(),
            count: 1,
            name: "Inden for kompetence".into(),
        }]
    );

    let listed = system
        .intake
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.inquiries.len(), 1);
    assert!(listed.next_page_token.is_empty());

    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_inquiry_without_prior_dialogue_is_referred_back_to_its_department() {
    let mut system = TestSystem::start().await.expect("system starts");
    let mut request = valid_submission();
    request.department = "aeldre-og-handicap".into();
    request.prior_dialogue = Some(pb::PriorDialogue {
        held: false,
        date: None,
        ..Default::default()
    });
    let submitted = system
        .intake
        .submit_inquiry(request)
        .await
        .expect("accepted")
        .into_inner();

    let assessment = system.assessment(&submitted.inquiry_id).await;
    assert_eq!(assessment.outcome(), pb::EligibilityOutcome::Referred);
    assert_eq!(assessment.referral_target, "aeldre-og-handicap");
    assert_eq!(assessment.fired_rules.len(), 1);
    let rule = &assessment.fired_rules[0];
    assert_eq!(rule.rule_id, "no-prior-dialogue");
    assert!(
        rule.explanation_da
            .contains("Ældre- og Handicapforvaltningen"),
        "the department is named: {rule:?}"
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn inquiries_are_listed_in_registration_order_in_stable_pages() {
    let mut system = TestSystem::start().await.expect("system starts");
    let mut references = Vec::new();
    for _ in 0..5 {
        let submitted = system
            .intake
            .submit_inquiry(valid_submission())
            .await
            .expect("accepted");
        references.push(submitted.into_inner().reference);
    }

    let mut listed = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = system
            .intake
            .list_inquiries(pb::ListInquiriesRequest {
                page_size: 2,
                page_token,
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        pages += 1;
        listed.extend(page.inquiries.into_iter().map(|inquiry| inquiry.reference));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, references);
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_deadline_across_christmas_skips_the_holidays_and_closing_days() {
    let mut system = TestSystem::start().await.expect("system starts");
    // Tuesday 15 December 2026, 09:00 in Copenhagen. Working days after it skip 24, 25 and
    // 31 December, 1 January and the weekends: the 15th is Monday 11 January 2027.
    system.clock.set(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 15, 8, 0, 0)
            .single()
            .expect("valid"),
    );
    let submitted = system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("accepted")
        .into_inner();

    let deadline = system.deadline(&submitted.inquiry_id).await;
    assert_eq!(
        deadline.due_date,
        Some(pb::Date {
            year: 2027,
            month: 1,
            day: 11
        })
    );
    system.stop().await.expect("clean shutdown");
}
