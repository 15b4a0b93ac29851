//! Erasure of personal data: the retention job and `ErasePersonData` leave no name, CPR number or
//! free text behind, in intake or downstream, while every figure stays the same; open inquiries
//! are never touched, and a reopened one counts from its latest close; the replay of the erasure
//! ledger (for restored backups) finds nothing to repeat where nothing was restored.

use std::time::Duration;

use borgerraad_e2e::{STAFF, TestSystem, valid_submission, violated_fields};
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::eventually;
use futures::StreamExt as _;
use tonic::Code;

/// How many inquiries the purge test erases.
const PURGED: usize = 2000;
/// Long enough for the whole pipeline to take the purge test's thousands of events.
const LONG: Duration = Duration::from_secs(180);

/// Five years and a month: past the default retention time of 60 months.
fn past_retention() -> chrono::Duration {
    chrono::Duration::days(5 * 366 + 31)
}

/// A valid CPR number of the 20th century, different for every `i` below 13,440.
fn cpr_of(i: usize) -> String {
    let day = 1 + i % 28;
    let month = 1 + (i / 28) % 12;
    let year = 50 + (i / 336) % 40;
    format!("{day:02}{month:02}{year:02}0{:03}", i % 1000)
}

fn name_of(i: usize) -> String {
    format!("Erasmine Purgesen {i:04}")
}

fn description_of(i: usize) -> String {
    format!("Slettemærke {i:04}: naboens hæk skygger for min have, og kommunen svarer ikke.")
}

fn submission_of(i: usize) -> pb::SubmitInquiryRequest {
    pb::SubmitInquiryRequest {
        requester: Some(pb::Requester {
            name: name_of(i),
            cpr: cpr_of(i),
            ..Default::default()
        }),
        description: description_of(i),
        desired_outcome: format!("Ønskemærke {i:04}"),
        ..valid_submission()
    }
}

async fn withdraw(system: &TestSystem, inquiry_id: &str, reason: &str) {
    let version = system.inquiry(inquiry_id).await.version;
    system
        .intake
        .clone()
        .withdraw_inquiry(pb::WithdrawInquiryRequest {
            inquiry_id: inquiry_id.to_owned(),
            expected_version: version,
            actor: String::new(),
            reason: reason.to_owned(),
        })
        .await
        .expect("withdrawn");
}

async fn reopen(system: &TestSystem, inquiry_id: &str) {
    let version = system.inquiry(inquiry_id).await.version;
    system
        .intake
        .clone()
        .reopen_inquiry(pb::ReopenInquiryRequest {
            inquiry_id: inquiry_id.to_owned(),
            expected_version: version,
            actor: String::new(),
            reason: "Borgeren vendte tilbage".into(),
        })
        .await
        .expect("reopened");
}

/// When intake last erased the inquiry's personal data, if it did.
async fn erased_at(system: &TestSystem, inquiry_id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar(
        "SELECT personal_data_erased_at FROM intake.inquiries WHERE inquiry_id = $1::uuid",
    )
    .bind(inquiry_id)
    .fetch_one(system.tables())
    .await
    .expect("the inquiry's row")
}

async fn erasures(system: &TestSystem, reason: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM intake.erasures WHERE reason = $1")
        .bind(reason)
        .fetch_one(system.tables())
        .await
        .expect("the ledger")
}

/// Reporting's figures over every month, without the time they were read at (the clock moves).
async fn summary(system: &TestSystem) -> pb::Summary {
    pb::Summary {
        as_of: None,
        ..system
            .reporting
            .clone()
            .get_summary(pb::GetSummaryRequest::default())
            .await
            .expect("the summary")
            .into_inner()
    }
}

async fn annual_report(system: &TestSystem) -> Vec<u8> {
    let mut chunks = system
        .reporting
        .clone()
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 2026,
            format: pb::ReportFormat::Csv.into(),
            department: String::new(),
        })
        .await
        .expect("the report")
        .into_inner();
    let mut report = Vec::new();
    while let Some(chunk) = chunks.next().await {
        report.extend(chunk.expect("a chunk").data);
    }
    report
}

/// Every maximal run of digits in `text`, and each run joined with the next across one dash
/// (`DDMMYY-SSSS`), to look CPR numbers up in.
fn digit_runs(text: &str) -> std::collections::HashSet<String> {
    let mut runs = std::collections::HashSet::new();
    let mut previous = String::new();
    let mut current = String::new();
    let mut dashed = false;
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            if dashed {
                runs.insert(format!("{previous}{current}"));
            }
            runs.insert(current.clone());
            previous = std::mem::take(&mut current);
            dashed = c == '-';
        } else {
            dashed = false;
        }
    }
    runs
}

#[tokio::test]
async fn a_purge_of_thousands_keeps_every_figure_and_leaves_no_name_number_or_text_in_a_dump() {
    let system = TestSystem::start().await.expect("system starts");
    let submitted: Vec<String> = futures::stream::iter(0..PURGED)
        .map(|i| {
            let mut intake = system.intake.clone();
            async move {
                intake
                    .submit_inquiry(submission_of(i))
                    .await
                    .expect("accepted")
                    .into_inner()
                    .inquiry_id
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    system.settle_within(LONG).await;
    futures::stream::iter(submitted.iter().enumerate())
        .for_each_concurrent(16, |(i, id)| {
            let system = &system;
            async move { withdraw(system, id, &format!("Begrundelsesmærke {i:04}")).await }
        })
        .await;
    system.settle_within(LONG).await;
    let figures_before = summary(&system).await;
    let report_before = annual_report(&system).await;

    // Past the retention time: the job erases them all.
    system.clock.advance(past_retention());
    eventually("every inquiry is erased", LONG, || async {
        (erasures(&system, "retention").await == PURGED as i64).then_some(())
    })
    .await;
    system.settle_within(LONG).await;

    assert_eq!(summary(&system).await, figures_before);
    assert_eq!(annual_report(&system).await, report_before);
    // A rebuild from the stream, erasure events included, gives the same figures again.
    let stream_end = system
        .jetstream()
        .await
        .expect("jetstream")
        .get_stream(borgerraad_messaging::stream::STREAM_NAME)
        .await
        .expect("the stream")
        .cached_info()
        .state
        .last_sequence;
    let mut reporting = system.reporting.clone();
    reporting
        .rebuild_projection(pb::RebuildProjectionRequest {})
        .await
        .expect("rebuild started");
    eventually("the rebuild is done", LONG, || {
        let mut reporting = reporting.clone();
        async move {
            let status = reporting
                .get_rebuild_status(pb::GetRebuildStatusRequest {})
                .await
                .ok()?
                .into_inner();
            assert_ne!(
                status.state(),
                pb::RebuildState::Failed,
                "the rebuild failed"
            );
            (status.state() == pb::RebuildState::Succeeded
                && status.last_sequence >= stream_end as i64)
                .then_some(())
        }
    })
    .await;
    assert_eq!(summary(&system).await, figures_before);
    assert_eq!(annual_report(&system).await, report_before);

    // Nothing personal is left, sealed or plain.
    let (left_sealed, left_fingerprints, left_details, left_representatives): (i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM intake.inquiries WHERE personal IS NOT NULL \
                 OR description IS NOT NULL OR requester_name IS NOT NULL), \
               (SELECT count(*) FROM intake.inquiries WHERE requester_cpr_fingerprint IS NOT NULL), \
               (SELECT count(*) FROM intake.journal WHERE details IS NOT NULL \
                 OR details_sealed IS NOT NULL), \
               (SELECT count(*) FROM intake.representatives) + (SELECT count(*) FROM intake.consents)",
        )
        .fetch_one(system.tables())
        .await
        .expect("counts");
    assert_eq!(
        (
            left_sealed,
            left_fingerprints,
            left_details,
            left_representatives
        ),
        (0, 0, 0, 0)
    );
    let dump = system.database.dump().await.expect("pg_dump");
    for marker in ["Purgesen", "Slettemærke", "Ønskemærke", "Begrundelsesmærke"] {
        assert!(!dump.contains(marker), "{marker} is in the dump");
    }
    let numbers = digit_runs(&dump);
    for i in 0..PURGED {
        assert!(
            !numbers.contains(&cpr_of(i)),
            "CPR number {i} is in the dump"
        );
    }
    // The access log stays whole.
    let verdict = system
        .intake
        .clone()
        .verify_audit_log(pb::VerifyAuditLogRequest {})
        .await
        .expect("verified")
        .into_inner();
    assert!(verdict.intact, "{}", verdict.problem);
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn open_inquiries_are_never_erased_and_a_reopened_one_counts_from_its_latest_close() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    let mut submit = async |i: usize| {
        intake
            .submit_inquiry(submission_of(i))
            .await
            .expect("accepted")
            .into_inner()
            .inquiry_id
    };
    let (open, ended, reopened) = (submit(1).await, submit(2).await, submit(3).await);
    system.settle_within(Duration::from_secs(20)).await;
    withdraw(&system, &ended, "Trukket tilbage").await;
    withdraw(&system, &reopened, "Trukket tilbage").await;
    // Three years on the third is reopened and withdrawn again: its count starts then.
    system.clock.advance(chrono::Duration::days(3 * 365));
    system.settle_within(Duration::from_secs(20)).await;
    reopen(&system, &reopened).await;
    system.settle_within(Duration::from_secs(20)).await;
    withdraw(&system, &reopened, "Trukket tilbage igen").await;

    // Five years after the first withdrawal.
    system
        .clock
        .advance(past_retention() - chrono::Duration::days(3 * 365));
    eventually(
        "the ended inquiry is erased",
        Duration::from_secs(20),
        || async { erased_at(&system, &ended).await },
    )
    .await;
    // The batch that erased it saw the others too and left them alone.
    assert_eq!(erased_at(&system, &open).await, None);
    assert_eq!(erased_at(&system, &reopened).await, None);
    let kept = system.inquiry(&open).await;
    assert_eq!(kept.requester.expect("requester").name, name_of(1));
    assert_eq!(kept.description, description_of(1));
    assert_eq!(
        system.inquiry(&reopened).await.description,
        description_of(3)
    );
    let gone = system.inquiry(&ended).await;
    assert_eq!(gone.requester.clone().unwrap_or_default().name, "");
    assert_eq!(gone.requester.clone().unwrap_or_default().cpr, "");
    assert_eq!(gone.description, "");
    assert_eq!(gone.desired_outcome, "");
    assert_eq!(gone.status(), pb::InquiryStatus::Withdrawn);
    assert!(gone.journal.iter().all(|entry| entry.details.is_empty()));
    assert_eq!(
        gone.journal.last().map(|entry| entry.step.as_str()),
        Some("erase_personal_data")
    );

    // Five years after its latest withdrawal the reopened one goes too; the open one never.
    system.clock.advance(chrono::Duration::days(3 * 366));
    eventually(
        "the reopened inquiry is erased",
        Duration::from_secs(20),
        || async { erased_at(&system, &reopened).await },
    )
    .await;
    assert_eq!(erased_at(&system, &open).await, None);
    assert_eq!(system.inquiry(&open).await.description, description_of(1));
    system.stop().await.expect("system stops");
}

/// Eligibility's stored review signals of an inquiry: (topic, the words that matched).
async fn review_signals(system: &TestSystem, inquiry_id: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT s->>'topic', s->>'signal' FROM eligibility.assessments, \
           jsonb_array_elements(review_signals) s WHERE inquiry_id = $1::uuid",
    )
    .bind(inquiry_id)
    .fetch_all(system.tables())
    .await
    .expect("the review signals")
}

#[tokio::test]
async fn a_person_s_data_is_erased_on_request_only_once_every_inquiry_of_theirs_has_ended() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    // Words of the rule file's signals in the description: eligibility keeps which matched.
    let first = intake
        .submit_inquiry(pb::SubmitInquiryRequest {
            description: format!(
                "{} Min chef siger, det er min egen skyld.",
                description_of(7)
            ),
            ..submission_of(7)
        })
        .await
        .expect("accepted")
        .into_inner();
    let second = intake
        .submit_inquiry(submission_of(7))
        .await
        .expect("accepted")
        .into_inner();
    let other = intake
        .submit_inquiry(submission_of(8))
        .await
        .expect("accepted")
        .into_inner();
    system.settle_within(Duration::from_secs(20)).await;
    assert_eq!(
        review_signals(&system, &first.inquiry_id).await,
        [("employment".to_owned(), "min chef".to_owned())]
    );
    // A caseworker's override with a reason: eligibility's own copy of text about the case.
    system
        .eligibility
        .clone()
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: first.inquiry_id.clone(),
            outcome: pb::EligibilityOutcome::Accepted.into(),
            reason: "Overstyringsmærke: talt med Erasmine i telefonen".into(),
            ..Default::default()
        })
        .await
        .expect("overridden");
    system.settle_within(Duration::from_secs(20)).await;
    withdraw(&system, &first.inquiry_id, "Trukket tilbage").await;
    withdraw(&system, &other.inquiry_id, "Trukket tilbage").await;
    system.settle_within(Duration::from_secs(20)).await;
    let request = |cpr: &str, reason: &str| pb::ErasePersonDataRequest {
        cpr: cpr.into(),
        reason: reason.into(),
        ..Default::default()
    };

    let invalid = intake
        .erase_person_data(pb::ErasePersonDataRequest {
            cpr: cpr_of(7),
            cvr: "12345674".into(),
            reason: String::new(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&invalid), ["cpr", "cvr", "reason"]);

    // One of the person's inquiries is open: refused, naming it, and nothing erased.
    let refused = intake
        .erase_person_data(request(&cpr_of(7), "Anmodning om sletning"))
        .await
        .expect_err("refused while open");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains(&second.reference),
        "{}",
        refused.message()
    );
    assert!(
        !refused.message().contains(&first.reference),
        "{}",
        refused.message()
    );
    assert_eq!(erased_at(&system, &first.inquiry_id).await, None);

    withdraw(&system, &second.inquiry_id, "Trukket tilbage").await;
    let erased = intake
        .erase_person_data(request(&cpr_of(7), "Anmodning om sletning"))
        .await
        .expect("erased")
        .into_inner()
        .erased;
    let mut references: Vec<_> = erased.iter().map(|e| e.reference.clone()).collect();
    references.sort();
    assert_eq!(
        references,
        [first.reference.clone(), second.reference.clone()]
    );
    for id in [&first.inquiry_id, &second.inquiry_id] {
        let gone = system.inquiry(id).await;
        assert_eq!(gone.requester.unwrap_or_default().name, "");
        assert_eq!(gone.description, "");
        let entry = gone.journal.last().expect("the erasure's entry");
        assert_eq!(entry.step, "erase_personal_data");
        assert_eq!(entry.actor, STAFF);
    }
    // Another person's inquiry is left alone.
    assert_eq!(
        system.inquiry(&other.inquiry_id).await.description,
        description_of(8)
    );
    assert_eq!(erasures(&system, "request").await, 2);
    // The erasure is in the access log, with its reason; the log stays whole.
    let logged = intake
        .list_access_log(pb::ListAccessLogRequest {
            inquiry_id: first.inquiry_id.clone(),
            ..Default::default()
        })
        .await
        .expect("the access log")
        .into_inner()
        .entries;
    assert!(
        logged.iter().any(|e| e.data == ["erasure"]
            && e.purpose == "Anmodning om sletning"
            && e.subject == STAFF),
        "{logged:?}"
    );
    assert!(
        intake
            .verify_audit_log(pb::VerifyAuditLogRequest {})
            .await
            .expect("verified")
            .into_inner()
            .intact
    );
    // Asked again: nothing of the person is left to find.
    let again = intake
        .erase_person_data(request(&cpr_of(7), "Anmodning om sletning"))
        .await
        .expect("nothing left")
        .into_inner();
    assert!(again.erased.is_empty());

    // Downstream copies go too: eligibility's override reason, deadline-monitoring's notices.
    eventually(
        "eligibility and deadline-monitoring erase their copies",
        Duration::from_secs(20),
        || async {
            let (eligibility, deadlines): (
                Option<chrono::DateTime<chrono::Utc>>,
                Option<chrono::DateTime<chrono::Utc>>,
            ) = sqlx::query_as(
                "SELECT (SELECT personal_data_erased_at FROM eligibility.assessments \
                   WHERE inquiry_id = $1::uuid), \
                 (SELECT personal_data_erased_at FROM deadline_monitoring.deadlines \
                   WHERE inquiry_id = $1::uuid)",
            )
            .bind(&first.inquiry_id)
            .fetch_one(system.tables())
            .await
            .ok()?;
            (eligibility.is_some() && deadlines.is_some()).then_some(())
        },
    )
    .await;
    let (reasons, notices): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM eligibility.assessments WHERE inquiry_id = $1::uuid \
             AND override_reason IS NOT NULL) \
           + (SELECT count(*) FROM eligibility.assessment_history WHERE inquiry_id = $1::uuid \
             AND reason IS NOT NULL), \
         (SELECT count(*) FROM deadline_monitoring.deliveries d JOIN deadline_monitoring.timers t \
             USING (timer_id) WHERE t.inquiry_id = $1::uuid AND (d.body <> '' OR d.address <> ''))",
    )
    .bind(&first.inquiry_id)
    .fetch_one(system.tables())
    .await
    .expect("counts");
    assert_eq!((reasons, notices), (0, 0));
    // Which topic matched stays; the words that matched in the person's text go.
    assert_eq!(
        review_signals(&system, &first.inquiry_id).await,
        [("employment".to_owned(), String::new())]
    );
    let dump = system.database.dump().await.expect("pg_dump");
    assert!(!dump.contains("Overstyringsmærke"));
    // The outcome the caseworker decided stays.
    assert_eq!(
        system.assessment(&first.inquiry_id).await.outcome(),
        pb::EligibilityOutcome::Accepted
    );
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn replicas_purging_at_once_erase_each_due_inquiry_exactly_once() {
    let system = TestSystem::start().await.expect("system starts");
    let submitted: Vec<String> = futures::stream::iter(100..160)
        .map(|i| {
            let mut intake = system.intake.clone();
            async move {
                intake
                    .submit_inquiry(submission_of(i))
                    .await
                    .expect("accepted")
                    .into_inner()
                    .inquiry_id
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    system.settle_within(Duration::from_secs(30)).await;
    for id in &submitted {
        withdraw(&system, id, "Trukket tilbage").await;
    }
    system.settle_within(Duration::from_secs(30)).await;

    // Two replicas' jobs, each with its own pool, in small batches, at a time past retention
    // (the service's own job still sees the clock before it, so it takes none).
    let later = borgerraad_platform::clock::Clock::now(&*system.clock) + past_retention();
    let replica = || async {
        let pool = system.database.pool("intake").await.expect("pool");
        let outbox = borgerraad_messaging::Outbox::new();
        let mut erased = 0;
        loop {
            let batch = intake::erasure::purge_batch(
                &pool,
                &outbox,
                intake::domain::retention::RetentionPeriod::default(),
                later,
                7,
            )
            .await
            .expect("a batch");
            erased += batch.erased;
            if batch.claimed == 0 {
                return erased;
            }
        }
    };
    let (first, second) = tokio::join!(replica(), replica());
    assert_eq!(first + second, submitted.len());
    assert_eq!(erasures(&system, "retention").await, submitted.len() as i64);
    // Once erased, an inquiry is not due again.
    assert_eq!(
        replica().await,
        0,
        "nothing is left to erase after both replicas finished"
    );
    system.stop().await.expect("system stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_replay_leaves_alone_what_an_inquiry_reopened_after_its_erasure_holds_since() {
    // Arrange: an inquiry erased at the person's request, then reopened with a new reason.
    let system = TestSystem::start().await.expect("the system starts");
    let submitted = system
        .intake
        .clone()
        .submit_inquiry(submission_of(41))
        .await
        .expect("submitted")
        .into_inner();
    system.settle_within(Duration::from_secs(20)).await;
    withdraw(&system, &submitted.inquiry_id, "Trukket tilbage").await;
    system
        .intake
        .clone()
        .erase_person_data(pb::ErasePersonDataRequest {
            cpr: cpr_of(41),
            reason: "Anmodning om sletning".into(),
            ..Default::default()
        })
        .await
        .expect("erased");
    reopen(&system, &submitted.inquiry_id).await;

    // Act: a round of the replay, as intake runs it.
    let pool = system.database.pool("intake").await.expect("a pool");
    let batch = intake::erasure::replay_ledger_batch(
        &pool,
        &borgerraad_messaging::Outbox::new(),
        borgerraad_platform::clock::Clock::now(system.clock.as_ref()),
        intake::erasure::BATCH_SIZE,
    )
    .await
    .expect("a round of the replay");

    // Assert: nothing to repeat; the reopening's reason is still there.
    assert_eq!(batch, intake::erasure::Batch::default());
    let reopened = system.inquiry(&submitted.inquiry_id).await;
    let last = reopened.journal.last().expect("the reopening");
    assert_eq!(last.step, "reopen");
    assert!(
        last.details.contains("Borgeren vendte tilbage"),
        "{:?}",
        last.details
    );
    system.stop().await.expect("stopped");
}
