//! The full intake form and the case lifecycle: every step is checked against the inquiry's
//! status and version, journaled, and published as an `InquiryStepTaken` event.

use std::collections::{HashMap, HashSet};

use borgerraad_e2e::{OTHER_CASEWORKER, SETTLE, STAFF, TestSystem, violated_fields};
use borgerraad_messaging::stream::STREAM_NAME;
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::eventually;
use chrono::TimeZone as _;
use pb::InquiryStatus::{
    Answered, Assessed, Assigned, AwaitingRequester, Closed, InProgress, Received, Withdrawn,
};
use prost::Message as _;
use tonic::Code;
use tonic_types::StatusExt as _;

/// The caseworker the tests act as: the subject of the staff client's tokens.
const ACTOR: &str = STAFF;

/// One lifecycle call with plausible field values, so a test names only what matters to it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Assign(&'static str),
    StartWork,
    Mediation(pb::MediationStage, pb::MediationResult),
    RequestInformation,
    ReceiveInformation,
    Answer(pb::ContactChannel),
    Close(pb::ClosingOutcome, pb::HandlingMethod),
    Withdraw,
    Reopen,
    Note(&'static str),
    /// For a department, with a suggestion text.
    Suggestion(&'static str, &'static str),
}

const ANSWER: Step = Step::Answer(pb::ContactChannel::Letter);
const CLOSE: Step = Step::Close(
    pb::ClosingOutcome::ResolvedThroughDialogue,
    pb::HandlingMethod::Guidance,
);
const OFFER_MEDIATION: Step = Step::Mediation(
    pb::MediationStage::Offered,
    pb::MediationResult::Unspecified,
);
const NOTE: Step = Step::Note("Ringede til forvaltningen; de vender tilbage.");
const SUGGESTION: Step = Step::Suggestion(
    "boern-og-unge",
    "Skriv afgørelser i et sprog, forældre forstår.",
);

/// One example of every step, each valid in some status.
const EVERY_STEP: [Step; 11] = [
    Step::Assign(ACTOR),
    Step::StartWork,
    OFFER_MEDIATION,
    Step::RequestInformation,
    Step::ReceiveInformation,
    ANSWER,
    CLOSE,
    Step::Withdraw,
    Step::Reopen,
    NOTE,
    SUGGESTION,
];

impl Step {
    /// The step's name in the journal.
    fn journal_name(self) -> &'static str {
        match self {
            Step::Assign(_) => "assign",
            Step::StartWork => "start_work",
            Step::Mediation(..) => "record_mediation",
            Step::RequestInformation => "request_information",
            Step::ReceiveInformation => "receive_information",
            Step::Answer(_) => "answer",
            Step::Close(..) => "close",
            Step::Withdraw => "withdraw",
            Step::Reopen => "reopen",
            Step::Note(_) => "add_note",
            Step::Suggestion(..) => "record_improvement_suggestion",
        }
    }

    /// The type of the event the step publishes.
    fn event_type(self) -> String {
        let kind = match self {
            Step::Assign(_) => "assigned",
            Step::StartWork => "work_started",
            Step::Mediation(..) => "mediation_recorded",
            Step::RequestInformation => "information_requested",
            Step::ReceiveInformation => "information_received",
            Step::Answer(_) => "answered",
            Step::Close(..) => "closed",
            Step::Withdraw => "withdrawn",
            Step::Reopen => "reopened",
            Step::Note(_) => "note_added",
            Step::Suggestion(..) => "improvement_suggested",
        };
        format!("borgerraad.inquiry.{kind}")
    }
}

/// Takes `step` on `inquiry` as [`ACTOR`], against the version the caller last saw.
async fn take(
    system: &TestSystem,
    inquiry: &pb::Inquiry,
    step: Step,
) -> Result<pb::Inquiry, tonic::Status> {
    take_as(system, &inquiry.inquiry_id, inquiry.version, ACTOR, step).await
}

/// Takes `step` exactly as given.
async fn take_as(
    system: &TestSystem,
    inquiry_id: &str,
    expected_version: i64,
    actor: &str,
    step: Step,
) -> Result<pb::Inquiry, tonic::Status> {
    // The journal records the token's subject: another caseworker acts with tokens of their own.
    let mut intake = if actor == OTHER_CASEWORKER {
        system.intake_as(OTHER_CASEWORKER).await
    } else {
        system.intake.clone()
    };
    let (inquiry_id, actor) = (inquiry_id.to_owned(), actor.to_owned());
    let response = match step {
        Step::Assign(caseworker) => {
            intake
                .assign_caseworker(pb::AssignCaseworkerRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    caseworker_id: caseworker.into(),
                })
                .await
        }
        Step::StartWork => {
            intake
                .start_work(pb::StartWorkRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                })
                .await
        }
        Step::Mediation(stage, result) => {
            intake
                .record_mediation(pb::RecordMediationRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    stage: stage.into(),
                    result: result.into(),
                    note: "Møde med forvaltningen den 3. december.".into(),
                })
                .await
        }
        Step::RequestInformation => {
            intake
                .request_information(pb::RequestInformationRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    what: "En kopi af afgørelsen.".into(),
                })
                .await
        }
        Step::ReceiveInformation => {
            intake
                .receive_information(pb::ReceiveInformationRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    note: "Kopien er modtaget.".into(),
                })
                .await
        }
        Step::Answer(channel) => {
            intake
                .record_answer(pb::RecordAnswerRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    channel: channel.into(),
                    summary: "Vi har forklaret, hvad afgørelsen betyder.".into(),
                })
                .await
        }
        Step::Close(outcome, handling) => {
            intake
                .close_inquiry(pb::CloseInquiryRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    outcome: outcome.into(),
                    handling: handling.into(),
                })
                .await
        }
        Step::Withdraw => {
            intake
                .withdraw_inquiry(pb::WithdrawInquiryRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    reason: "Borgeren har fået svar.".into(),
                })
                .await
        }
        Step::Reopen => {
            intake
                .reopen_inquiry(pb::ReopenInquiryRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    reason: "Borgeren har skrevet igen.".into(),
                })
                .await
        }
        Step::Note(text) => {
            intake
                .add_note(pb::AddNoteRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    text: text.into(),
                })
                .await
        }
        Step::Suggestion(department, suggestion) => {
            intake
                .record_improvement_suggestion(pb::RecordImprovementSuggestionRequest {
                    inquiry_id,
                    expected_version,
                    actor,
                    department: department.into(),
                    suggestion: suggestion.into(),
                })
                .await
        }
    };
    response.map(tonic::Response::into_inner)
}

/// Takes `step`, which must succeed, and checks it moved the inquiry to `status`, one version on.
async fn step(
    system: &TestSystem,
    inquiry: &pb::Inquiry,
    step: Step,
    status: pb::InquiryStatus,
) -> pb::Inquiry {
    let after = take(system, inquiry, step)
        .await
        .unwrap_or_else(|error| panic!("{step:?} in {:?} refused: {error:?}", inquiry.status()));
    assert_eq!(after.status(), status, "status after {step:?}");
    assert_eq!(after.version, inquiry.version + 1, "version after {step:?}");
    after
}

/// Checks every one of `steps` is refused with FAILED_PRECONDITION and changes nothing.
async fn assert_refused(system: &TestSystem, inquiry: &pb::Inquiry, steps: &[Step]) {
    let before = system.inquiry(&inquiry.inquiry_id).await;
    assert_eq!(
        before.version, inquiry.version,
        "the test's view is current"
    );
    for &step in steps {
        let error = take(system, &before, step)
            .await
            .expect_err(&format!("{step:?} refused in {:?}", before.status()));
        assert_eq!(
            error.code(),
            Code::FailedPrecondition,
            "{step:?} in {:?}: {error:?}",
            before.status()
        );
    }
    assert_unchanged(system, &before, "a refused step").await;
}

/// Checks the stored inquiry still has the status, version, journal and caseworker of `before`.
async fn assert_unchanged(system: &TestSystem, before: &pb::Inquiry, what: &str) {
    let after = system.inquiry(&before.inquiry_id).await;
    assert_eq!(
        (
            after.status(),
            after.version,
            after.journal.len(),
            &after.caseworker_id
        ),
        (
            before.status(),
            before.version,
            before.journal.len(),
            &before.caseworker_id
        ),
        "{what} changed the inquiry"
    );
}

/// A valid inquiry of `request_type` from a named citizen who has talked to the department first.
fn submission(request_type: pb::RequestType) -> pb::SubmitInquiryRequest {
    pb::SubmitInquiryRequest {
        requester_kind: pb::RequesterKind::Citizen.into(),
        department: "by-og-kultur".into(),
        request_type: request_type.into(),
        description: "Jeg har ventet otte måneder på svar om min byggetilladelse.".into(),
        prior_dialogue: Some(pb::PriorDialogue {
            held: true,
            date: Some(pb::Date {
                year: 2026,
                month: 11,
                day: 2,
            }),
            with_whom: "Byggesagsafdelingen".into(),
            outcome: "Ingen afklaring".into(),
            ongoing: false,
        }),
        contact_channel: pb::ContactChannel::DigitalPost.into(),
        requester: Some(pb::Requester {
            name: "Jens Hansen".into(),
            ..Default::default()
        }),
        arrival_channel: pb::ArrivalChannel::WebForm.into(),
        complaint_themes: if request_type == pb::RequestType::Complaint {
            vec![pb::ComplaintTheme::HandlingTime.into()]
        } else {
            Vec::new()
        },
        ..Default::default()
    }
}

fn complaint() -> pb::SubmitInquiryRequest {
    submission(pb::RequestType::Complaint)
}

/// 2026-11-`day` at `hour`:00 UTC; the test clock stands at 25 November, 10:00.
fn november(day: u32, hour: u32) -> prost_types::Timestamp {
    let time = chrono::Utc
        .with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .expect("valid time");
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: 0,
    }
}

async fn submit(
    system: &TestSystem,
    request: pb::SubmitInquiryRequest,
) -> pb::SubmitInquiryResponse {
    system
        .intake
        .clone()
        .submit_inquiry(request)
        .await
        .expect("submission accepted")
        .into_inner()
}

/// Submits `request`, which must be refused as INVALID_ARGUMENT, and returns the violated fields.
async fn refused_fields(
    system: &TestSystem,
    request: pb::SubmitInquiryRequest,
) -> (Vec<String>, tonic::Status) {
    let status = system
        .intake
        .clone()
        .submit_inquiry(request)
        .await
        .expect_err("submission refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    (violated_fields(&status), status)
}

/// The inquiry once intake has recorded the eligibility assessment.
async fn assessed(system: &TestSystem, inquiry_id: &str) -> pb::Inquiry {
    eventually("the inquiry to be assessed", SETTLE, || {
        let mut intake = system.intake.clone();
        let request = pb::GetInquiryRequest {
            inquiry_id: inquiry_id.to_owned(),
            ..Default::default()
        };
        async move {
            let inquiry = intake.get_inquiry(request).await.ok()?.into_inner();
            (inquiry.status() == Assessed).then_some(inquiry)
        }
    })
    .await
}

async fn submit_and_wait_assessed(
    system: &TestSystem,
    request: pb::SubmitInquiryRequest,
) -> pb::Inquiry {
    let submitted = submit(system, request).await;
    assert_eq!(submitted.version, 1, "a new inquiry is at version 1");
    let inquiry = assessed(system, &submitted.inquiry_id).await;
    assert_eq!(inquiry.version, 2, "the assessment is the second version");
    inquiry
}

/// The references ListInquiries returns for `filter`, walking every page.
async fn listed(system: &TestSystem, filter: pb::ListInquiriesRequest) -> Vec<String> {
    let mut intake = system.intake.clone();
    let mut request = filter;
    let mut references = Vec::new();
    for _ in 0..20 {
        let page = intake
            .list_inquiries(request.clone())
            .await
            .expect("a page")
            .into_inner();
        references.extend(page.inquiries.into_iter().map(|inquiry| inquiry.reference));
        if page.next_page_token.is_empty() {
            return references;
        }
        request.page_token = page.next_page_token;
    }
    panic!("more than 20 pages for {request:?}; so far {references:?}");
}

/// How many events of each `borgerraad.inquiry.*` type the stream holds.
async fn inquiry_event_counts(system: &TestSystem) -> Option<HashMap<String, usize>> {
    let counts = system.event_counts().await.ok()?;
    Some(
        counts
            .into_iter()
            .filter(|(kind, _)| kind.starts_with("borgerraad.inquiry."))
            .collect(),
    )
}

/// Waits until the stream holds the `expected` inquiry events (by the part of the type after
/// `borgerraad.inquiry.`) and every consumer has taken them, then checks there are no others.
async fn assert_inquiry_events(system: &TestSystem, expected: &[(&str, usize)]) {
    let expected: HashMap<String, usize> = expected
        .iter()
        .map(|(kind, count)| (format!("borgerraad.inquiry.{kind}"), *count))
        .collect();
    let counts = eventually(
        "the inquiry events to be published and consumed",
        SETTLE,
        || {
            let expected = &expected;
            async move {
                let counts = inquiry_event_counts(system).await?;
                let all_there = expected
                    .iter()
                    .all(|(kind, count)| counts.get(kind).is_some_and(|n| n >= count));
                (all_there && system.settled().await.ok()?).then_some(counts)
            }
        },
    )
    .await;
    assert_eq!(counts, expected, "inquiry events on the stream");
}

/// Every lifecycle event about `inquiry_id` on the stream, with its type, by version.
async fn step_events(system: &TestSystem, inquiry_id: &str) -> Vec<(String, pb::InquiryStepTaken)> {
    let mut stream = system
        .jetstream()
        .await
        .expect("jetstream")
        .get_stream(STREAM_NAME)
        .await
        .expect("stream");
    let last = stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let mut steps = Vec::new();
    for sequence in 1..=last {
        let message = stream.get_raw_message(sequence).await.expect("message");
        let event = pb::Event::decode(message.payload.as_ref()).expect("an Event");
        assert_eq!(
            event.r#type,
            message.subject.as_str(),
            "type is the subject"
        );
        if let Some(pb::event::Data::InquiryStepTaken(step)) = event.data
            && step.inquiry_id == inquiry_id
        {
            steps.push((event.r#type, step));
        }
    }
    steps.sort_by_key(|(_, step)| step.version);
    steps
}

#[tokio::test]
async fn a_submitted_inquiry_is_at_version_1_and_its_assessment_is_journaled_as_version_2() {
    let system = TestSystem::start().await.expect("system starts");

    let submitted = submit(&system, complaint()).await;
    assert_eq!(submitted.version, 1);
    let inquiry = assessed(&system, &submitted.inquiry_id).await;

    assert_eq!(inquiry.version, 2);
    let journal: Vec<_> = inquiry
        .journal
        .iter()
        .map(|entry| (entry.version, entry.step.as_str(), entry.status_after()))
        .collect();
    assert_eq!(journal, [(1, "submit", Received), (2, "assess", Assessed)]);
    assert_inquiry_events(&system, &[("received", 1), ("assessed", 1)]).await;
    let events = step_events(&system, &submitted.inquiry_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, assessed) = &events[0];
    assert_eq!(kind, "borgerraad.inquiry.assessed");
    assert_eq!(
        (
            assessed.version,
            assessed.status_before(),
            assessed.status_after(),
            assessed.department.as_str()
        ),
        (2, Received, Assessed, "by-og-kultur")
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_inquiry_runs_its_whole_lifecycle_and_every_step_is_journaled_and_published() {
    let system = TestSystem::start().await.expect("system starts");
    let mut inquiry = submit_and_wait_assessed(&system, complaint()).await;
    let id = inquiry.inquiry_id.clone();

    use pb::{ClosingOutcome, ContactChannel, HandlingMethod, MediationResult, MediationStage};
    let close = Step::Close(
        ClosingOutcome::ResolvedThroughDialogue,
        HandlingMethod::Mediation,
    );
    let steps = [
        (Step::Assign("cw-17"), Assigned),
        (Step::StartWork, InProgress),
        (OFFER_MEDIATION, InProgress),
        (
            Step::Mediation(MediationStage::Held, MediationResult::Agreement),
            InProgress,
        ),
        (Step::RequestInformation, AwaitingRequester),
        (Step::ReceiveInformation, InProgress),
        (Step::Answer(ContactChannel::Letter), Answered),
        (close, Closed),
        (Step::Reopen, InProgress),
        (Step::Withdraw, Withdrawn),
    ];
    let mut journal = vec![
        (1, "submit".to_owned(), Received),
        (2, "assess".to_owned(), Assessed),
    ];
    let mut events = vec![(
        "borgerraad.inquiry.assessed".to_owned(),
        2,
        Received,
        Assessed,
    )];
    for (next, status) in steps {
        let before = inquiry.status();
        inquiry = step(&system, &inquiry, next, status).await;
        assert_eq!(inquiry.caseworker_id, "cw-17", "after {next:?}");
        if next == close {
            assert_eq!(
                (inquiry.closing_outcome(), inquiry.handling_method()),
                (
                    ClosingOutcome::ResolvedThroughDialogue,
                    HandlingMethod::Mediation
                )
            );
        }
        journal.push((inquiry.version, next.journal_name().to_owned(), status));
        events.push((next.event_type(), inquiry.version, before, status));
    }

    let stored = system.inquiry(&id).await;
    assert_eq!((stored.status(), stored.version), (Withdrawn, 12));
    let stored_journal: Vec<_> = stored
        .journal
        .iter()
        .map(|entry| (entry.version, entry.step.clone(), entry.status_after()))
        .collect();
    assert_eq!(stored_journal, journal, "the journal, oldest first");
    assert!(
        stored.journal[2..].iter().all(|entry| entry.actor == ACTOR),
        "every step names who took it: {:?}",
        stored.journal
    );

    assert_inquiry_events(
        &system,
        &[
            ("received", 1),
            ("assessed", 1),
            ("assigned", 1),
            ("work_started", 1),
            ("mediation_recorded", 2),
            ("information_requested", 1),
            ("information_received", 1),
            ("answered", 1),
            ("closed", 1),
            ("reopened", 1),
            ("withdrawn", 1),
        ],
    )
    .await;
    let published = step_events(&system, &id).await;
    let published_steps: Vec<_> = published
        .iter()
        .map(|(kind, e)| (kind.clone(), e.version, e.status_before(), e.status_after()))
        .collect();
    assert_eq!(published_steps, events, "one event per step, in step order");
    let payload = |version: i64| &published[version as usize - 2].1;
    assert!(
        published[1..]
            .iter()
            .all(|(_, e)| e.caseworker_id == "cw-17")
    );
    assert_eq!(
        (payload(5).mediation_stage(), payload(6).mediation_stage()),
        (MediationStage::Offered, MediationStage::Held)
    );
    assert_eq!(payload(6).mediation_result(), MediationResult::Agreement);
    assert_eq!(payload(9).answer_channel(), ContactChannel::Letter);
    assert_eq!(
        (payload(10).closing_outcome(), payload(10).handling_method()),
        (
            ClosingOutcome::ResolvedThroughDialogue,
            HandlingMethod::Mediation
        )
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_case_is_handed_to_another_caseworker_without_moving_it() {
    let system = TestSystem::start().await.expect("system starts");
    let inquiry = submit_and_wait_assessed(&system, complaint()).await;

    let inquiry = step(&system, &inquiry, Step::Assign("cw-17"), Assigned).await;
    assert_eq!(inquiry.caseworker_id, "cw-17");
    let inquiry = step(&system, &inquiry, Step::Assign("cw-42"), Assigned).await;
    assert_eq!(inquiry.caseworker_id, "cw-42");
    let inquiry = step(&system, &inquiry, Step::StartWork, InProgress).await;
    let inquiry = step(&system, &inquiry, Step::Assign("cw-17"), InProgress).await;
    assert_eq!(inquiry.caseworker_id, "cw-17");
    let inquiry = step(
        &system,
        &inquiry,
        Step::RequestInformation,
        AwaitingRequester,
    )
    .await;
    let inquiry = step(&system, &inquiry, Step::Assign("cw-42"), AwaitingRequester).await;
    assert_eq!(inquiry.caseworker_id, "cw-42");

    let stored = system.inquiry(&inquiry.inquiry_id).await;
    assert_eq!(
        (
            stored.status(),
            stored.version,
            stored.caseworker_id.as_str()
        ),
        (AwaitingRequester, 8, "cw-42")
    );
    let steps: Vec<_> = stored.journal.iter().map(|e| e.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "submit",
            "assess",
            "assign",
            "assign",
            "start_work",
            "assign",
            "request_information",
            "assign"
        ]
    );
    assert_inquiry_events(
        &system,
        &[
            ("received", 1),
            ("assessed", 1),
            ("assigned", 4),
            ("work_started", 1),
            ("information_requested", 1),
        ],
    )
    .await;
    let events = step_events(&system, &inquiry.inquiry_id).await;
    let handed_over = &events.last().expect("events").1;
    assert_eq!(
        (
            handed_over.caseworker_id.as_str(),
            handed_over.status_before(),
            handed_over.status_after()
        ),
        ("cw-42", AwaitingRequester, AwaitingRequester)
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_advice_inquiry_is_answered_at_once_by_digital_post_when_no_channel_is_named() {
    let system = TestSystem::start().await.expect("system starts");
    let inquiry = submit_and_wait_assessed(&system, submission(pb::RequestType::Advice)).await;

    let answered = step(
        &system,
        &inquiry,
        Step::Answer(pb::ContactChannel::Unspecified),
        Answered,
    )
    .await;
    let closed = step(
        &system,
        &answered,
        Step::Close(
            pb::ClosingOutcome::NoCriticism,
            pb::HandlingMethod::Guidance,
        ),
        Closed,
    )
    .await;

    assert_eq!(
        (closed.closing_outcome(), closed.handling_method()),
        (
            pb::ClosingOutcome::NoCriticism,
            pb::HandlingMethod::Guidance
        )
    );
    assert_eq!(closed.caseworker_id, "", "nobody was assigned");
    assert_inquiry_events(
        &system,
        &[
            ("received", 1),
            ("assessed", 1),
            ("answered", 1),
            ("closed", 1),
        ],
    )
    .await;
    let events = step_events(&system, &inquiry.inquiry_id).await;
    let (kind, answer) = &events[1];
    assert_eq!(kind, "borgerraad.inquiry.answered");
    assert_eq!(
        (answer.status_before(), answer.answer_channel()),
        (Assessed, pb::ContactChannel::DigitalPost),
        "an answer without a channel goes by Digital Post"
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn notes_and_improvement_suggestions_are_recorded_without_moving_the_case() {
    let system = TestSystem::start().await.expect("system starts");
    let inquiry = submit_and_wait_assessed(&system, complaint()).await;

    let noted = step(&system, &inquiry, NOTE, Assessed).await;
    let suggested = step(&system, &noted, SUGGESTION, Assessed).await;
    let stored = system.inquiry(&inquiry.inquiry_id).await;
    let note = &stored.journal[2];
    assert_eq!(
        (note.step.as_str(), note.actor.as_str()),
        ("add_note", ACTOR)
    );
    assert!(
        note.details.contains("Ringede til forvaltningen"),
        "the note is kept in the journal: {note:?}"
    );
    assert_eq!(stored.journal[3].step, "record_improvement_suggestion");

    let withdrawn = step(&system, &suggested, Step::Withdraw, Withdrawn).await;
    let noted = step(&system, &withdrawn, NOTE, Withdrawn).await;
    assert_refused(&system, &noted, &[SUGGESTION]).await;

    assert_inquiry_events(
        &system,
        &[
            ("received", 1),
            ("assessed", 1),
            ("note_added", 2),
            ("improvement_suggested", 1),
            ("withdrawn", 1),
        ],
    )
    .await;
    let events = step_events(&system, &inquiry.inquiry_id).await;
    let (kind, suggestion) = &events[2];
    assert_eq!(kind, "borgerraad.inquiry.improvement_suggested");
    assert_eq!(suggestion.suggestion_department, "boern-og-unge");
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_step_not_allowed_in_the_current_status_is_refused_and_changes_nothing() {
    let system = TestSystem::start().await.expect("system starts");
    let inquiry = submit_and_wait_assessed(&system, complaint()).await;
    use Step::*;

    assert_refused(
        &system,
        &inquiry,
        &[
            StartWork,
            OFFER_MEDIATION,
            RequestInformation,
            ReceiveInformation,
            CLOSE,
            Reopen,
        ],
    )
    .await;
    let inquiry = step(&system, &inquiry, Assign(ACTOR), Assigned).await;
    assert_refused(
        &system,
        &inquiry,
        &[
            OFFER_MEDIATION,
            RequestInformation,
            ReceiveInformation,
            CLOSE,
            Reopen,
        ],
    )
    .await;
    let inquiry = step(&system, &inquiry, StartWork, InProgress).await;
    assert_refused(
        &system,
        &inquiry,
        &[StartWork, ReceiveInformation, CLOSE, Reopen],
    )
    .await;
    let inquiry = step(&system, &inquiry, RequestInformation, AwaitingRequester).await;
    assert_refused(
        &system,
        &inquiry,
        &[
            StartWork,
            OFFER_MEDIATION,
            RequestInformation,
            ANSWER,
            CLOSE,
            Reopen,
        ],
    )
    .await;
    let inquiry = step(&system, &inquiry, ReceiveInformation, InProgress).await;
    let inquiry = step(&system, &inquiry, ANSWER, Answered).await;
    assert_refused(
        &system,
        &inquiry,
        &[
            Assign(ACTOR),
            StartWork,
            OFFER_MEDIATION,
            RequestInformation,
            ANSWER,
            Reopen,
        ],
    )
    .await;
    let inquiry = step(&system, &inquiry, CLOSE, Closed).await;
    assert_refused(
        &system,
        &inquiry,
        &[Withdraw, CLOSE, ANSWER, Assign(ACTOR), StartWork],
    )
    .await;
    // A closed case still takes notes and improvement suggestions.
    let inquiry = step(&system, &inquiry, NOTE, Closed).await;
    let inquiry = step(&system, &inquiry, SUGGESTION, Closed).await;
    let inquiry = step(&system, &inquiry, Reopen, InProgress).await;
    let inquiry = step(&system, &inquiry, Withdraw, Withdrawn).await;
    assert_refused(
        &system,
        &inquiry,
        &[
            Withdraw,
            SUGGESTION,
            Assign(ACTOR),
            StartWork,
            ANSWER,
            CLOSE,
        ],
    )
    .await;
    step(&system, &inquiry, Reopen, InProgress).await;

    assert_inquiry_events(
        &system,
        &[
            ("received", 1),
            ("assessed", 1),
            ("assigned", 1),
            ("work_started", 1),
            ("information_requested", 1),
            ("information_received", 1),
            ("answered", 1),
            ("closed", 1),
            ("note_added", 1),
            ("improvement_suggested", 1),
            ("reopened", 2),
            ("withdrawn", 1),
        ],
    )
    .await;
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_step_against_a_stale_version_is_aborted_and_changes_nothing() {
    let system = TestSystem::start().await.expect("system starts");
    let seen = submit_and_wait_assessed(&system, complaint()).await;
    let id = seen.inquiry_id.as_str();

    // Two caseworkers take the case from the same view; the second one is too late.
    take_as(&system, id, seen.version, ACTOR, Step::Assign("cw-17"))
        .await
        .expect("the first one wins");
    let current = system.inquiry(id).await;
    for (version, step) in [(seen.version, Step::Assign("cw-42")), (99, NOTE)] {
        let error = take_as(&system, id, version, OTHER_CASEWORKER, step)
            .await
            .expect_err("stale");
        assert_eq!(
            error.code(),
            Code::Aborted,
            "{step:?} at version {version}: {error:?}"
        );
    }
    assert_unchanged(&system, &current, "a stale step").await;
    assert_eq!(
        (current.version, current.caseworker_id.as_str()),
        (3, "cw-17")
    );

    // With the version it reads now, the second caseworker gets through.
    let reassigned = take_as(
        &system,
        id,
        current.version,
        OTHER_CASEWORKER,
        Step::Assign("cw-42"),
    )
    .await
    .expect("current version");
    assert_eq!(
        (reassigned.version, reassigned.caseworker_id.as_str()),
        (4, "cw-42")
    );
    assert_inquiry_events(
        &system,
        &[("received", 1), ("assessed", 1), ("assigned", 2)],
    )
    .await;
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn steps_on_unknown_or_malformed_inquiry_ids_are_not_found_or_invalid() {
    let system = TestSystem::start().await.expect("system starts");
    let unknown = uuid::Uuid::now_v7().to_string();

    for step in EVERY_STEP {
        let error = take_as(&system, &unknown, 2, ACTOR, step)
            .await
            .expect_err("unknown");
        assert_eq!(error.code(), Code::NotFound, "{step:?}: {error:?}");
        let error = take_as(&system, "BR-2026-000001", 2, ACTOR, step)
            .await
            .expect_err("malformed");
        assert_eq!(error.code(), Code::InvalidArgument, "{step:?}: {error:?}");
        assert_eq!(violated_fields(&error), ["inquiry_id"], "{step:?}");
    }
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn lifecycle_requests_with_missing_or_refused_fields_get_field_violations_and_change_nothing()
{
    let system = TestSystem::start().await.expect("system starts");
    let inquiry = submit_and_wait_assessed(&system, complaint()).await;
    let id = inquiry.inquiry_id.as_str();
    let invalid = |version: i64, actor: &'static str, step: Step| {
        let system = &system;
        async move {
            let error = take_as(system, id, version, actor, step)
                .await
                .expect_err("invalid");
            assert_eq!(error.code(), Code::InvalidArgument, "{step:?}: {error:?}");
            violated_fields(&error)
        }
    };

    // The person who acts is the token's subject: a request naming someone else is refused.
    assert_eq!(invalid(2, "cw-99", Step::Assign("cw-17")).await, ["actor"]);
    assert_eq!(invalid(2, "cw-99", NOTE).await, ["actor"]);
    let sms = invalid(2, ACTOR, Step::Answer(pb::ContactChannel::Sms)).await;
    assert_eq!(sms, ["channel"], "the office never answers by SMS");
    assert_eq!(invalid(2, ACTOR, Step::Note("")).await, ["text"]);
    let unknown = Step::Suggestion("skatteforvaltningen", "Kortere svartider.");
    assert_eq!(invalid(2, ACTOR, unknown).await, ["department"]);
    let empty = Step::Suggestion("boern-og-unge", "");
    assert_eq!(invalid(2, ACTOR, empty).await, ["suggestion"]);
    assert_unchanged(&system, &inquiry, "an invalid step").await;

    step(&system, &inquiry, ANSWER, Answered).await;
    let answered = system.inquiry(id).await;
    use pb::{ClosingOutcome, HandlingMethod};
    let no_outcome = Step::Close(ClosingOutcome::Unspecified, HandlingMethod::Guidance);
    assert_eq!(invalid(3, ACTOR, no_outcome).await, ["outcome"]);
    let no_handling = Step::Close(ClosingOutcome::Criticism, HandlingMethod::Unspecified);
    assert_eq!(invalid(3, ACTOR, no_handling).await, ["handling"]);
    assert_unchanged(&system, &answered, "an invalid close").await;
    assert_inquiry_events(
        &system,
        &[("received", 1), ("assessed", 1), ("answered", 1)],
    )
    .await;
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_retried_submission_with_the_same_client_request_id_creates_one_inquiry() {
    let system = TestSystem::start().await.expect("system starts");
    let mut request = complaint();
    request.client_request_id = "webform-3f9c2a".into();

    let first = submit(&system, request.clone()).await;
    let retry = submit(&system, request.clone()).await;
    assert_eq!(
        (&retry.inquiry_id, &retry.reference, &retry.received_at),
        (&first.inquiry_id, &first.reference, &first.received_at)
    );
    assessed(&system, &first.inquiry_id).await;
    assert_inquiry_events(&system, &[("received", 1), ("assessed", 1)]).await;
    assert_eq!(
        listed(&system, Default::default()).await,
        std::slice::from_ref(&first.reference)
    );

    // The same key with other content is not a retry: refused, naming the first inquiry, and
    // nothing is stored.
    let mut changed = request.clone();
    changed.description = "Jeg har ventet ni måneder nu.".into();
    let refused = system
        .intake
        .clone()
        .submit_inquiry(changed)
        .await
        .expect_err("other content under the same key");
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert!(
        refused.message().contains(&first.reference)
            && refused.message().contains(&first.inquiry_id),
        "{}",
        refused.message()
    );
    let resource = refused
        .get_details_resource_info()
        .expect("the inquiry is named in the details");
    assert_eq!(
        (
            resource.resource_type.as_str(),
            resource.resource_name.as_str()
        ),
        ("borgerraad.v1.Inquiry", first.inquiry_id.as_str())
    );
    assert_eq!(
        listed(&system, Default::default()).await,
        std::slice::from_ref(&first.reference)
    );
    // And the first content still gets the first answer.
    let again = submit(&system, request.clone()).await;
    assert_eq!(again.inquiry_id, first.inquiry_id);

    request.client_request_id = "webform-77d01b".into();
    let other = submit(&system, request).await;
    assert_ne!(
        other.inquiry_id, first.inquiry_id,
        "another request id is another inquiry"
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_cpr_number_is_masked_unless_revealed_and_an_invalid_one_is_refused() {
    let system = TestSystem::start().await.expect("system starts");
    let mut request = complaint();
    request.requester = Some(pb::Requester {
        name: "Søren Kierkegaard".into(),
        cpr: "0101901234".into(),
        ..Default::default()
    });

    let submitted = submit(&system, request.clone()).await;
    let masked = system.inquiry(&submitted.inquiry_id).await;
    let requester = masked.requester.expect("requester");
    assert_eq!(
        (requester.name.as_str(), requester.cpr.as_str()),
        ("Søren Kierkegaard", "010190-XXXX")
    );
    let revealed = system
        .intake
        .clone()
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: submitted.inquiry_id.clone(),
            reveal_cpr: true,
            actor: ACTOR.into(),
            purpose: "Partshøring efter forvaltningslovens § 19".into(),
            ..Default::default()
        })
        .await
        .expect("revealed")
        .into_inner();
    assert_eq!(revealed.requester.expect("requester").cpr, "010190-1234");
    let list = system
        .intake
        .clone()
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        list.inquiries[0].requester.as_ref().map(|r| r.cpr.as_str()),
        Some("010190-XXXX"),
        "lists show the masked number"
    );

    // 31 February 1990 was never anybody's birthday.
    if let Some(requester) = request.requester.as_mut() {
        requester.cpr = "3102901234".into();
    }
    let (fields, status) = refused_fields(&system, request).await;
    assert_eq!(fields, ["requester.cpr"]);
    assert!(!status.message().contains("3102901234"), "{status:?}");
    assert_eq!(
        listed(&system, Default::default()).await,
        [submitted.reference]
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_business_needs_a_valid_cvr_number() {
    let system = TestSystem::start().await.expect("system starts");
    let business = |cvr: &str| pb::SubmitInquiryRequest {
        requester_kind: pb::RequesterKind::Business.into(),
        requester: Some(pb::Requester {
            name: "Odense Cykelværksted ApS".into(),
            cvr: cvr.into(),
            ..Default::default()
        }),
        ..complaint()
    };

    let (fields, _) = refused_fields(&system, business("12345678")).await;
    assert_eq!(fields, ["requester.cvr"]);
    let submitted = submit(&system, business("24256790")).await;
    let stored = system.inquiry(&submitted.inquiry_id).await;
    assert_eq!(stored.requester_kind(), pb::RequesterKind::Business);
    assert_eq!(stored.requester.expect("requester").cvr, "24256790");
    assert_eq!(
        listed(&system, Default::default()).await,
        [submitted.reference]
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_requester_gives_a_name_unless_asking_anonymously_for_advice() {
    let system = TestSystem::start().await.expect("system starts");
    let mut nameless = complaint();
    nameless.requester = Some(pb::Requester {
        cpr: "0101901234".into(),
        ..Default::default()
    });
    let (fields, _) = refused_fields(&system, nameless).await;
    assert_eq!(fields, ["requester.name"]);
    let mut nobody = complaint();
    nobody.requester = None;
    let (fields, _) = refused_fields(&system, nobody).await;
    assert_eq!(fields, ["requester.name"]);

    let anonymous = |request_type| pb::SubmitInquiryRequest {
        requester: Some(pb::Requester {
            anonymous: true,
            ..Default::default()
        }),
        contact_channel: pb::ContactChannel::Unspecified.into(),
        ..submission(request_type)
    };
    let (fields, _) = refused_fields(&system, anonymous(pb::RequestType::Complaint)).await;
    assert_eq!(
        fields,
        ["requester.anonymous"],
        "anonymous complaints are refused"
    );
    let submitted = submit(&system, anonymous(pb::RequestType::Advice)).await;
    let stored = system.inquiry(&submitted.inquiry_id).await;
    let requester = stored.requester.unwrap_or_default();
    assert!(
        requester.anonymous && requester.name.is_empty(),
        "{requester:?}"
    );
    assert_eq!(
        listed(&system, Default::default()).await,
        [submitted.reference]
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_answer_channel_is_never_sms_and_only_digital_post_for_sensitive_data() {
    let system = TestSystem::start().await.expect("system starts");
    let with = |channel: pb::ContactChannel, sensitive: bool| pb::SubmitInquiryRequest {
        contact_channel: channel.into(),
        contains_sensitive_data: sensitive,
        ..complaint()
    };

    let (fields, status) = refused_fields(&system, with(pb::ContactChannel::Sms, false)).await;
    assert_eq!(fields, ["contact_channel"]);
    assert!(status.message().contains("SMS"), "{status:?}");
    let (fields, _) = refused_fields(&system, with(pb::ContactChannel::Email, true)).await;
    assert_eq!(
        fields,
        ["contact_channel"],
        "sensitive data never by e-mail"
    );

    let mut stored = Vec::new();
    for (channel, sensitive) in [
        (pb::ContactChannel::Unspecified, false),
        (pb::ContactChannel::DigitalPost, true),
        (pb::ContactChannel::Email, false),
    ] {
        let submitted = submit(&system, with(channel, sensitive)).await;
        let inquiry = system.inquiry(&submitted.inquiry_id).await;
        stored.push((inquiry.contact_channel(), inquiry.contains_sensitive_data));
    }
    assert_eq!(
        stored,
        [
            (pb::ContactChannel::DigitalPost, false),
            (pb::ContactChannel::DigitalPost, true),
            (pb::ContactChannel::Email, false),
        ]
    );
    assert_eq!(listed(&system, Default::default()).await.len(), 3);
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_complaint_names_its_themes_and_a_late_registered_letter_keeps_its_arrival_time() {
    let system = TestSystem::start().await.expect("system starts");
    let mut themeless = complaint();
    themeless.complaint_themes.clear();
    let (fields, _) = refused_fields(&system, themeless).await;
    assert_eq!(fields, ["complaint_themes"]);
    let mut from_the_future = complaint();
    from_the_future.received_at = Some(november(26, 10));
    let (fields, _) = refused_fields(&system, from_the_future).await;
    assert_eq!(fields, ["received_at"]);

    let mut letter = complaint();
    letter.arrival_channel = pb::ArrivalChannel::Letter.into();
    letter.received_at = Some(november(20, 9));
    letter.complaint_themes = vec![
        pb::ComplaintTheme::HandlingTime.into(),
        pb::ComplaintTheme::Reasons.into(),
    ];
    let submitted = submit(&system, letter).await;
    assert_eq!(submitted.received_at, Some(november(20, 9)));
    let stored = system.inquiry(&submitted.inquiry_id).await;
    assert_eq!(stored.received_at, Some(november(20, 9)));
    assert_eq!(
        stored.complaint_themes,
        [
            i32::from(pb::ComplaintTheme::HandlingTime),
            i32::from(pb::ComplaintTheme::Reasons)
        ]
    );
    assert_eq!(
        listed(&system, Default::default()).await,
        [submitted.reference]
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn inquiries_are_listed_by_status_department_caseworker_type_arrival_and_reference() {
    let system = TestSystem::start().await.expect("system starts");
    let mut a = complaint();
    a.received_at = Some(november(20, 9));
    let mut b = submission(pb::RequestType::Advice);
    b.department = "boern-og-unge".into();
    b.received_at = Some(november(23, 9));
    let c = submission(pb::RequestType::Advice);
    let mut d = submission(pb::RequestType::DecisionExplanation);
    d.department = "aeldre-og-handicap".into();
    let mut inquiries = Vec::new();
    for request in [a, b, c, d] {
        inquiries.push(submit_and_wait_assessed(&system, request).await);
    }
    step(&system, &inquiries[1], Step::Assign("cw-17"), Assigned).await;
    use pb::RequestType::Advice;
    let references = |which: &[usize]| -> Vec<String> {
        which
            .iter()
            .map(|&i| inquiries[i].reference.clone())
            .collect()
    };

    use pb::ListInquiriesRequest as Filter;
    let filter = |edit: &dyn Fn(&mut Filter)| {
        let mut filter = Filter::default();
        edit(&mut filter);
        filter
    };
    let third = inquiries[2].reference.clone();
    let cases: [(&str, Filter, &[usize]); 12] = [
        ("everything", Filter::default(), &[0, 1, 2, 3]),
        ("assigned", filter(&|f| f.status = Assigned.into()), &[1]),
        (
            "assessed",
            filter(&|f| f.status = Assessed.into()),
            &[0, 2, 3],
        ),
        (
            "by-og-kultur",
            filter(&|f| f.department = "by-og-kultur".into()),
            &[0, 2],
        ),
        (
            "mayor's",
            filter(&|f| f.department = "borgmesterforvaltningen".into()),
            &[],
        ),
        (
            "cw-17's",
            filter(&|f| f.caseworker_id = "cw-17".into()),
            &[1],
        ),
        (
            "advice",
            filter(&|f| f.request_type = Advice.into()),
            &[1, 2],
        ),
        (
            "advice in by-og-kultur",
            filter(&|f| {
                f.request_type = Advice.into();
                f.department = "by-og-kultur".into();
            }),
            &[2],
        ),
        (
            "from the 23rd",
            filter(&|f| f.received_from = Some(november(23, 9))),
            &[1, 2, 3],
        ),
        (
            "before the 23rd",
            filter(&|f| f.received_before = Some(november(23, 9))),
            &[0],
        ),
        (
            "from the 23rd until now",
            filter(&|f| {
                f.received_from = Some(november(23, 9));
                f.received_before = Some(november(25, 10));
            }),
            &[1],
        ),
        (
            "by reference",
            filter(&|f| f.reference = third.clone()),
            &[2],
        ),
    ];
    for (what, filter, which) in cases {
        let expected = references(which);
        assert_eq!(listed(&system, filter.clone()).await, expected, "{what}");
        let one_per_page = listed(
            &system,
            Filter {
                page_size: 1,
                ..filter
            },
        )
        .await;
        let distinct: HashSet<_> = one_per_page.iter().collect();
        assert_eq!(distinct.len(), one_per_page.len(), "{what}: no duplicates");
        assert_eq!(one_per_page, expected, "{what}, one per page");
    }
    system.stop().await.expect("clean shutdown");
}
