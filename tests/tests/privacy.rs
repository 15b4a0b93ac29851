//! Personal data stays inside intake, sealed: no name, CPR number or free text from the form or
//! from a caseworker reaches an event on the stream, a log line or a dump of the database. This
//! test owns the process's global tracing subscriber, so it lives in a test binary of its own.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use borgerraad_e2e::{SETTLE, STAFF, TestSystem};
use borgerraad_messaging::stream::STREAM_NAME;
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::eventually;
use prost::Message as _;
use tonic::Code;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

const CPR: &str = "0101901234";
/// A CPR number that is refused (31 February), so it appears only in a rejected request.
const REFUSED_CPR: &str = "3102905678";
const NAME: &str = "Karen Blixen-Testesen";
const REPRESENTATIVE: &str = "Holger Danske-Fuldmagtsen";
const DESCRIPTION: &str = "Min hemmelige sag om naboens hund";
const DESIRED_OUTCOME: &str = "Hunden skal flytte til Langeland";
const DIALOGUE_WITH: &str = "sagsbehandler Grethe Gaardhund";
const DIALOGUE_OUTCOME: &str = "Hun lovede at ringe tilbage om hundegaarden";
const POWER_OF_ATTORNEY: &str = "Fuldmagt til sagen om Blixens hund";
const ATTACHMENT: &str = "Laegeerklaering om Karens ryg";
const NOTE: &str = "Naboen Ole Gnavpot truer med politiet";
const WHAT: &str = "Send kopi af dyrlaegens journal om Fido";
const RECEIVED: &str = "Dyrlaegens journal om Fido modtaget";
const ANSWER: &str = "Svaret om hundegaarden i Tarup";
/// A name typed into the form's unit, beside the requester's CPR number.
const UNIT_NAME: &str = "Bodil Bagergaard";

/// Free text and names from the form and the caseworkers.
const TEXTS: [&str; 13] = [
    NAME,
    UNIT_NAME,
    REPRESENTATIVE,
    DESCRIPTION,
    DESIRED_OUTCOME,
    DIALOGUE_WITH,
    DIALOGUE_OUTCOME,
    POWER_OF_ATTORNEY,
    ATTACHMENT,
    NOTE,
    WHAT,
    RECEIVED,
    ANSWER,
];

/// Log lines, captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs a JSON log subscriber at debug level (our crates, not the chattiest dependencies),
/// with every span's fields, writing into memory.
fn capture_logs() -> Captured {
    let captured = Captured::default();
    tracing_subscriber::registry()
        .with(EnvFilter::new(
            "debug,h2=info,hyper=info,tower=info,sqlx=info,async_nats=info",
        ))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_ansi(false)
                .with_writer(captured.clone()),
        )
        .try_init()
        .expect("the only subscriber in this binary");
    captured
}

/// A complaint full of personal data, from a citizen with a representative.
fn submission() -> pb::SubmitInquiryRequest {
    pb::SubmitInquiryRequest {
        requester_kind: pb::RequesterKind::Citizen.into(),
        department: "beskaeftigelse-og-social".into(),
        request_type: pb::RequestType::Complaint.into(),
        description: format!("{DESCRIPTION}. Den gor hele natten, og ingen hjaelper mig."),
        prior_dialogue: Some(pb::PriorDialogue {
            held: true,
            date: Some(pb::Date {
                year: 2026,
                month: 11,
                day: 2,
            }),
            with_whom: DIALOGUE_WITH.into(),
            outcome: DIALOGUE_OUTCOME.into(),
            ongoing: false,
        }),
        contact_channel: pb::ContactChannel::DigitalPost.into(),
        requester: Some(pb::Requester {
            name: NAME.into(),
            cpr: CPR.into(),
            ..Default::default()
        }),
        representative: Some(pb::Representative {
            name: REPRESENTATIVE.into(),
            role: pb::RepresentativeRole::Relative.into(),
            power_of_attorney_scope: POWER_OF_ATTORNEY.into(),
            power_of_attorney_valid_until: Some(pb::Date {
                year: 2027,
                month: 6,
                day: 30,
            }),
        }),
        consent_to_contact_department: true,
        arrival_channel: pb::ArrivalChannel::WebForm.into(),
        complaint_themes: vec![pb::ComplaintTheme::CaseInvestigation.into()],
        unit: format!("Team Nord v. {UNIT_NAME}, cpr {CPR}"),
        desired_outcome: DESIRED_OUTCOME.into(),
        attachments: vec![pb::Attachment {
            title: ATTACHMENT.into(),
            document_ref: "dp://dokument/8f2c".into(),
        }],
        contains_sensitive_data: true,
        ..Default::default()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn no_name_cpr_number_or_free_text_reaches_an_event_or_a_log_line() {
    let logs = capture_logs();
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();

    let mut refused = submission();
    refused.requester = Some(pb::Requester {
        name: NAME.into(),
        cpr: REFUSED_CPR.into(),
        ..Default::default()
    });
    let status = intake
        .submit_inquiry(refused)
        .await
        .expect_err("an invalid CPR number is refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let submitted = intake
        .submit_inquiry(submission())
        .await
        .expect("accepted")
        .into_inner();
    let id = submitted.inquiry_id.clone();
    let inquiry = eventually("the inquiry to be assessed", SETTLE, || {
        let mut intake = intake.clone();
        let request = pb::GetInquiryRequest {
            inquiry_id: id.clone(),
            ..Default::default()
        };
        async move {
            let inquiry = intake.get_inquiry(request).await.ok()?.into_inner();
            (inquiry.status() == pb::InquiryStatus::Assessed).then_some(inquiry)
        }
    })
    .await;

    let actor = || STAFF.to_owned();
    let inquiry = intake
        .assign_caseworker(pb::AssignCaseworkerRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
            caseworker_id: "cw-17".into(),
        })
        .await
        .expect("assigned")
        .into_inner();
    let inquiry = intake
        .start_work(pb::StartWorkRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
        })
        .await
        .expect("started")
        .into_inner();
    let inquiry = intake
        .add_note(pb::AddNoteRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
            text: NOTE.into(),
        })
        .await
        .expect("noted")
        .into_inner();
    let inquiry = intake
        .request_information(pb::RequestInformationRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
            what: WHAT.into(),
        })
        .await
        .expect("information requested")
        .into_inner();
    let inquiry = intake
        .receive_information(pb::ReceiveInformationRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
            note: RECEIVED.into(),
        })
        .await
        .expect("information received")
        .into_inner();
    let inquiry = intake
        .record_answer(pb::RecordAnswerRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
            channel: pb::ContactChannel::DigitalPost.into(),
            summary: ANSWER.into(),
        })
        .await
        .expect("answered")
        .into_inner();
    let inquiry = intake
        .close_inquiry(pb::CloseInquiryRequest {
            inquiry_id: id.clone(),
            expected_version: inquiry.version,
            actor: actor(),
            outcome: pb::ClosingOutcome::PartialCriticism.into(),
            handling: pb::HandlingMethod::Investigation.into(),
        })
        .await
        .expect("closed")
        .into_inner();
    assert_eq!(
        (inquiry.status(), inquiry.version),
        (pb::InquiryStatus::Closed, 9)
    );

    // Intake itself keeps everything, so the checks below look for data that really exists.
    let stored = intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: id.clone(),
            reveal_cpr: true,
            actor: STAFF.into(),
            purpose: "Kontrol af sagens oplysninger".into(),
            ..Default::default()
        })
        .await
        .expect("stored")
        .into_inner();
    let requester = stored.requester.clone().unwrap_or_default();
    assert_eq!(
        (requester.name.as_str(), requester.cpr.as_str()),
        (NAME, "010190-1234")
    );
    assert!(stored.description.contains(DESCRIPTION));
    assert!(stored.unit.contains(UNIT_NAME) && stored.unit.contains(CPR));
    let details: String = stored.journal.iter().map(|e| e.details.as_str()).collect();
    assert!(
        details.contains(NOTE) && details.contains(ANSWER),
        "the journal keeps the caseworkers' texts: {:?}",
        stored.journal
    );

    eventually("every event to be published and consumed", SETTLE, || {
        let system = &system;
        async move {
            let counts = system.event_counts().await.ok()?;
            let closed = counts.get("borgerraad.inquiry.closed") == Some(&1);
            (closed && system.settled().await.ok()?).then_some(())
        }
    })
    .await;

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
    assert!(
        last >= 11,
        "every step is on the stream, but only {last} events"
    );
    let cpr_forms = [CPR, "010190-1234", "010190 1234", "010190", REFUSED_CPR];
    for sequence in 1..=last {
        let message = stream.get_raw_message(sequence).await.expect("message");
        let event = pb::Event::decode(message.payload.as_ref()).expect("an Event");
        let headers = format!("{:?}", message.headers);
        for secret in TEXTS.iter().chain(&cpr_forms) {
            assert!(
                !contains(&message.payload, secret.as_bytes()) && !headers.contains(secret),
                "event {sequence} ({}) carries {secret:?}: {event:?}",
                event.r#type
            );
        }
    }

    let logs = logs.text();
    assert!(
        logs.contains("inquiry received"),
        "the services log at all: {} bytes captured",
        logs.len()
    );
    // The masked form DDMMYY-XXXX may appear in a log; the serial may not.
    let cpr_forms = [
        CPR,
        "010190-1234",
        "010190 1234",
        REFUSED_CPR,
        "310290-5678",
    ];
    for secret in TEXTS.iter().chain(&cpr_forms) {
        let line = logs.lines().find(|line| line.contains(secret));
        assert!(line.is_none(), "the log carries {secret:?}: {line:?}");
    }

    // A backup of the database holds the personal data sealed only.
    let dump = system.database.dump().await.expect("pg_dump");
    assert!(
        dump.contains("COPY intake.inquiries") && dump.contains(&stored.reference),
        "the dump holds the inquiry"
    );
    for secret in TEXTS.iter().chain(&cpr_forms) {
        let line = dump.lines().find(|line| line.contains(secret));
        assert!(line.is_none(), "the dump carries {secret:?}: {line:?}");
    }
    system.stop().await.expect("clean shutdown");
}
