//! The answer deadline follows the case as intake's steps reach deadline-monitoring: a wait for
//! the requester's information moves the due date, warnings fire as the clock moves, and the
//! answer stops the clock with the promise kept; intake's case record, and so a person's export,
//! shows the deadline in force as deadline-monitoring publishes it.

use borgerraad_e2e::{SETTLE, TestSystem, date, valid_submission};
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::eventually;
use chrono::TimeZone as _;

/// The caseworker the tests act as: the subject of the staff client's tokens.
const ACTOR: &str = borgerraad_e2e::STAFF;

async fn deadline_when(
    system: &TestSystem,
    inquiry_id: &str,
    what: &str,
    ready: impl Fn(&pb::Deadline) -> bool,
) -> pb::Deadline {
    let ready = &ready;
    eventually(what, SETTLE, || {
        let mut client = system.deadlines.clone();
        let request = pb::GetDeadlineRequest {
            inquiry_id: inquiry_id.to_owned(),
        };
        async move {
            let deadline = client.get_deadline(request).await.ok()?.into_inner();
            ready(&deadline).then_some(deadline)
        }
    })
    .await
}

/// The deadline in force on intake's case record once `ready` holds for it.
async fn recorded_deadline_when(
    system: &TestSystem,
    inquiry_id: &str,
    what: &str,
    ready: impl Fn(&pb::DeadlineInForce) -> bool,
) -> pb::DeadlineInForce {
    let ready = &ready;
    eventually(what, SETTLE, || {
        let mut client = system.intake.clone();
        let request = pb::GetInquiryRequest {
            inquiry_id: inquiry_id.to_owned(),
            ..Default::default()
        };
        async move {
            let deadline = client
                .get_inquiry(request)
                .await
                .ok()?
                .into_inner()
                .deadline?;
            ready(&deadline).then_some(deadline)
        }
    })
    .await
}

#[tokio::test]
async fn a_wait_for_the_requester_moves_the_deadline_and_an_answer_in_time_keeps_the_promise() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    // Wednesday 25 November 2026: due 15 working days later, on Wednesday 16 December.
    let inquiry_id = intake
        .submit_inquiry(valid_submission())
        .await
        .expect("submitted")
        .into_inner()
        .inquiry_id;
    let scheduled = deadline_when(&system, &inquiry_id, "scheduled", |d| d.revision == 1).await;
    assert_eq!(scheduled.due_date, date(2026, 12, 16));
    assert_eq!(scheduled.state(), pb::DeadlineState::Running);

    let started = assign_and_start(&system, &inquiry_id).await;
    let waiting = intake
        .request_information(pb::RequestInformationRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: started.version,
            actor: ACTOR.into(),
            what: "Kopi af afgørelsen".into(),
        })
        .await
        .expect("requested")
        .into_inner();
    let paused = deadline_when(&system, &inquiry_id, "paused", |d| {
        d.state() == pb::DeadlineState::Paused
    })
    .await;
    assert_eq!(paused.caseworker_id, ACTOR);

    // The information arrives on Monday 30 November: Thursday, Friday and Monday were spent
    // waiting, so the due date moves three working days, to Monday 21 December.
    system.clock.set(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 30, 9, 0, 0)
            .single()
            .expect("valid"),
    );
    let resumed = intake
        .receive_information(pb::ReceiveInformationRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: waiting.version,
            actor: ACTOR.into(),
            note: String::new(),
        })
        .await
        .expect("received")
        .into_inner();
    let moved = deadline_when(&system, &inquiry_id, "resumed", |d| {
        d.state() == pb::DeadlineState::Running && d.revision >= 2
    })
    .await;
    assert_eq!(moved.due_date, date(2026, 12, 21));
    assert_eq!(moved.paused_working_days, 3);
    assert_eq!(moved.pauses.len(), 1);
    assert_eq!(moved.pauses[0].working_days, 3);
    // Intake's record follows the move: the latest revision is the one in force.
    let recorded = recorded_deadline_when(&system, &inquiry_id, "intake records the move", |d| {
        d.revision == moved.revision
    })
    .await;
    assert_eq!(recorded.due_date, date(2026, 12, 21));
    assert_eq!(recorded.paused_working_days, 3);

    // Monday 14 December, five working days before the due date: the caseworker is warned.
    system.clock.set(
        chrono::Utc
            .with_ymd_and_hms(2026, 12, 14, 9, 0, 0)
            .single()
            .expect("valid"),
    );
    let warned = deadline_when(&system, &inquiry_id, "the first warning", |d| {
        d.notices
            .iter()
            .any(|n| n.kind() == pb::DeadlineNoticeKind::Warning && n.fired_at.is_some())
    })
    .await;
    let warning = warned
        .notices
        .iter()
        .find(|n| n.fired_at.is_some())
        .expect("fired");
    assert_eq!(warning.recipient(), pb::NoticeRecipient::Caseworker);
    assert_eq!(warned.working_days_left, 5);

    let answered = intake
        .record_answer(pb::RecordAnswerRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: resumed.version,
            actor: ACTOR.into(),
            channel: pb::ContactChannel::DigitalPost.into(),
            summary: String::new(),
        })
        .await
        .expect("answered")
        .into_inner();
    assert_eq!(answered.status(), pb::InquiryStatus::Answered);
    let stopped = deadline_when(&system, &inquiry_id, "stopped", |d| {
        d.state() == pb::DeadlineState::Stopped
    })
    .await;
    let outcome = stopped.outcome.expect("an outcome");
    assert_eq!(outcome.result(), pb::SlaResult::Met);
    assert_eq!(outcome.reason(), pb::DeadlineStopReason::Answered);
    assert_eq!(outcome.working_days_over, 0);
    // 26 November to 14 December is 13 working days, 3 of them spent waiting.
    assert_eq!(outcome.working_days_used, 10);

    // Reporting counts the kept promise and the handling time from deadline-monitoring's events.
    let summary = system
        .summary_when("the stop counted", |s| {
            s.figures.as_ref().is_some_and(|f| f.deadline_met == 1)
        })
        .await;
    let figures = summary.figures.expect("figures");
    assert_eq!(figures.answered, 1);
    assert_eq!(figures.deadline_breached, 0);
    assert_eq!(figures.share_within_deadline, Some(1.0));
    assert_eq!(figures.median_handling_working_days, Some(10));
    assert_eq!((summary.open_now, summary.overdue_now), (0, 0));

    eventually("the stop is published once", SETTLE, || async {
        let counts = system.event_counts().await.ok()?;
        (counts.get("borgerraad.deadline.stopped") == Some(&1)
            && counts.get("borgerraad.deadline.rescheduled") == Some(&1)
            && counts.get("borgerraad.deadline.warning") == Some(&1))
        .then_some(())
    })
    .await;
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn an_unanswered_inquiry_is_breached_at_the_end_of_its_due_date_and_escalated_once() {
    let system = TestSystem::start().await.expect("system starts");
    let inquiry_id = system
        .intake
        .clone()
        .submit_inquiry(valid_submission())
        .await
        .expect("submitted")
        .into_inner()
        .inquiry_id;
    deadline_when(&system, &inquiry_id, "scheduled", |d| d.revision == 1).await;

    // The chain fires step by step as the days pass: warnings five and two working days before
    // the due date (Wednesday 16 December), the due day itself, and the breach at its end.
    let steps = [
        (
            (12, 9),
            pb::DeadlineNoticeKind::Warning,
            pb::NoticeRecipient::Caseworker,
        ),
        (
            (12, 14),
            pb::DeadlineNoticeKind::Warning,
            pb::NoticeRecipient::Caseworker,
        ),
        (
            (12, 16),
            pb::DeadlineNoticeKind::DueToday,
            pb::NoticeRecipient::Caseworker,
        ),
        (
            (12, 17),
            pb::DeadlineNoticeKind::Breached,
            pb::NoticeRecipient::HeadOfOffice,
        ),
    ];
    let mut breached = None;
    for (i, ((month, day), _, _)) in steps.iter().enumerate() {
        system.clock.set(
            chrono::Utc
                .with_ymd_and_hms(2026, *month, *day, 9, 0, 0)
                .single()
                .expect("valid"),
        );
        let deadline = deadline_when(&system, &inquiry_id, "the next step fired", |d| {
            d.notices.iter().filter(|n| n.fired_at.is_some()).count() == i + 1
        })
        .await;
        breached = Some(deadline);
    }
    let breached = breached.expect("four steps");
    assert_eq!(breached.working_days_overdue, 1);
    let fired: Vec<_> = breached
        .notices
        .iter()
        .filter(|n| n.fired_at.is_some())
        .map(|n| (n.kind(), n.recipient()))
        .collect();
    assert_eq!(
        fired,
        steps
            .iter()
            .map(|(_, kind, recipient)| (*kind, *recipient))
            .collect::<Vec<_>>()
    );
    let at_risk = system
        .deadlines
        .clone()
        .list_at_risk(pb::ListAtRiskRequest {
            department: "by-og-kultur".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(
        at_risk
            .deadlines
            .iter()
            .map(|d| d.inquiry_id.as_str())
            .collect::<Vec<_>>(),
        [inquiry_id.as_str()]
    );
    // Overdue now follows the clock; the month's overdue figure follows the breach notice's
    // event, which reporting may apply a moment later.
    system
        .summary_when("the breach counted", |s| {
            s.overdue_now == 1 && s.figures.as_ref().is_some_and(|f| f.overdue == 1)
        })
        .await;
    // Intake's record follows the breach notice: overdue, still the same due date.
    let overdue = recorded_deadline_when(&system, &inquiry_id, "intake records it overdue", |d| {
        d.state() == pb::DeadlineInForceState::Overdue
    })
    .await;
    assert_eq!(overdue.due_date, date(2026, 12, 16));

    // Five working days after the breach the department's director is told, once.
    system.clock.set(
        chrono::Utc
            .with_ymd_and_hms(2026, 12, 28, 9, 0, 0)
            .single()
            .expect("valid"),
    );
    deadline_when(&system, &inquiry_id, "escalated", |d| {
        d.notices.iter().any(|n| {
            n.kind() == pb::DeadlineNoticeKind::Escalated
                && n.recipient() == pb::NoticeRecipient::DepartmentDirector
                && n.fired_at.is_some()
        })
    })
    .await;
    eventually("each step published once", SETTLE, || async {
        let counts = system.event_counts().await.ok()?;
        let count = |kind: &str| counts.get(&format!("borgerraad.deadline.{kind}")).copied();
        (count("warning") == Some(2)
            && count("due_today") == Some(1)
            && count("breached") == Some(1)
            && count("escalated") == Some(1)
            && system.settled().await.ok()?)
        .then_some(())
    })
    .await;
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn an_inquiry_received_on_a_saturday_is_due_with_one_received_on_the_friday_before() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    // 10:00 in Copenhagen (UTC+1 in November).
    let ten_oclock = |day| {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, day, 9, 0, 0)
            .single()
            .expect("valid")
    };
    // Saturday 28 November 2026: a web form is sent.
    system.clock.set(ten_oclock(28));
    let saturday = intake
        .submit_inquiry(valid_submission())
        .await
        .expect("submitted")
        .into_inner()
        .inquiry_id;
    // A letter that arrived on Friday 27 November, registered the next day.
    let mut letter = valid_submission();
    letter.arrival_channel = pb::ArrivalChannel::Letter.into();
    letter.received_at = Some(borgerraad_platform::convert::timestamp(ten_oclock(27)));
    let friday = intake
        .submit_inquiry(letter)
        .await
        .expect("submitted")
        .into_inner()
        .inquiry_id;

    // The day of receipt never counts: for both, Monday 30 November is the first working day
    // counted, and 15 working days (30 Nov - 4 Dec, 7-11 Dec, 14-18 Dec) end on Friday
    // 18 December, with all 15 still left on the Saturday.
    for inquiry_id in [&saturday, &friday] {
        let deadline = deadline_when(&system, inquiry_id, "scheduled", |d| d.revision == 1).await;
        assert_eq!(deadline.due_date, date(2026, 12, 18));
        assert_eq!(deadline.working_days_left, 15);
    }
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn the_case_record_and_the_persons_export_show_the_deadline_deadline_monitoring_scheduled() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    let mut submission = valid_submission();
    submission.requester = Some(pb::Requester {
        name: "Karen Jensen".into(),
        cpr: "010190-1234".into(),
        ..Default::default()
    });
    // Wednesday 25 November 2026: due 15 working days later, on Wednesday 16 December.
    let inquiry_id = intake
        .submit_inquiry(submission)
        .await
        .expect("submitted")
        .into_inner()
        .inquiry_id;

    let recorded =
        recorded_deadline_when(&system, &inquiry_id, "intake records the deadline", |_| {
            true
        })
        .await;
    assert_eq!(recorded.due_date, date(2026, 12, 16));
    assert_eq!(recorded.working_days, 15);
    assert_eq!(recorded.state(), pb::DeadlineInForceState::Running);
    let scheduled = deadline_when(&system, &inquiry_id, "scheduled", |d| d.revision >= 1).await;
    assert_eq!(recorded.revision, scheduled.revision);

    let export = |format: pb::ExportFormat| {
        let mut client = system.intake.clone();
        async move {
            client
                .export_person_data(pb::ExportPersonDataRequest {
                    cpr: "010190-1234".into(),
                    purpose: "Indsigtsanmodning".into(),
                    format: format.into(),
                    ..Default::default()
                })
                .await
                .expect("exported")
                .into_inner()
        }
    };
    let json = export(pb::ExportFormat::Json).await;
    assert_eq!(json.inquiries.len(), 1);
    assert_eq!(json.inquiries[0].deadline.as_ref(), Some(&recorded));
    let document: serde_json::Value = serde_json::from_str(&json.document).expect("JSON");
    assert_eq!(
        document["inquiries"][0]["deadline"]["due_date"],
        "2026-12-16"
    );
    assert_eq!(document["inquiries"][0]["deadline"]["state"], "running");
    let letter = export(pb::ExportFormat::Html).await;
    assert!(
        letter
            .document
            .contains("<th scope=\"row\">Svarfrist</th><td>16. december 2026</td>"),
        "{}",
        letter.document
    );

    // The answer in time stops the clock: the record says the promise was kept.
    let started = assign_and_start(&system, &inquiry_id).await;
    intake
        .record_answer(pb::RecordAnswerRequest {
            inquiry_id: inquiry_id.clone(),
            expected_version: started.version,
            actor: ACTOR.into(),
            channel: pb::ContactChannel::DigitalPost.into(),
            summary: String::new(),
        })
        .await
        .expect("answered");
    let met = recorded_deadline_when(
        &system,
        &inquiry_id,
        "intake records the promise kept",
        |d| d.state() == pb::DeadlineInForceState::Met,
    )
    .await;
    assert_eq!(met.due_date, date(2026, 12, 16));
    assert_eq!(met.working_days_over, 0);
    system.stop().await.expect("clean shutdown");
}

/// The inquiry assigned to the caseworker and work started on it, once its assessment settled.
async fn assign_and_start(system: &TestSystem, inquiry_id: &str) -> pb::Inquiry {
    let mut intake = system.intake.clone();
    let version = system.settled_version(inquiry_id).await;
    let assigned = intake
        .assign_caseworker(pb::AssignCaseworkerRequest {
            inquiry_id: inquiry_id.to_owned(),
            expected_version: version,
            actor: ACTOR.into(),
            caseworker_id: ACTOR.into(),
        })
        .await
        .expect("assigned")
        .into_inner();
    intake
        .start_work(pb::StartWorkRequest {
            inquiry_id: inquiry_id.to_owned(),
            expected_version: assigned.version,
            actor: ACTOR.into(),
        })
        .await
        .expect("started")
        .into_inner()
}
