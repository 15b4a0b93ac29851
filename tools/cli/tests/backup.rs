//! `scripts/backup.sh` and `scripts/restore.sh` (with the real `borgerraad stream-backup` and
//! `stream-restore`) between two systems on real PostgreSQL and NATS: what the backup held comes
//! back in a fresh system, and an erasure done after the backup is done again after the restore;
//! the stream's messages come back with their headers, over a stream that holds messages only
//! when asked.

use std::path::{Path, PathBuf};

use borgerraad_e2e::{SETTLE, TestSystem, valid_submission};
use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::{BACKUP, NatsServer, OBSERVER, TestDatabase, eventually};

const KEPT_NAME: &str = "Bevarine Backupsen";
const KEPT_CPR: &str = "0101500123";
const ERASED_NAME: &str = "Glemmine Sletsen";
const ERASED_CPR: &str = "0202600456";
const ERASED_DESCRIPTION: &str = "Glemmemærke: min nabos garage står på min grund.";

fn submission(name: &str, cpr: &str, description: &str) -> pb::SubmitInquiryRequest {
    pb::SubmitInquiryRequest {
        requester: Some(pb::Requester {
            name: name.into(),
            cpr: cpr.into(),
            ..Default::default()
        }),
        description: description.into(),
        ..valid_submission()
    }
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// Runs `scripts/<script> args` against `database` and `nats` as an operator would: the backup
/// logged in to NATS as the deployment's backup user (who may only read the stream), the
/// restore as the harness's observer (who may also declare, delete and publish).
async fn run(
    script: &str,
    args: &[&Path],
    env: &[(&str, &str)],
    database: &TestDatabase,
    nats: &NatsServer,
) {
    let user = if script == "restore.sh" {
        OBSERVER
    } else {
        BACKUP
    };
    let identity = nats.identity(user).expect("a secured server");
    let mut command = tokio::process::Command::new(scripts().join(script));
    for variable in [
        "NATS_PASSWORD_FILE",
        "NATS_NKEY_SEED",
        "NATS_NKEY_SEED_FILE",
        "NATS_TLS_CA_FILE",
        "NATS_TLS_REQUIRED",
        "REPLACE_STREAM",
    ] {
        command.env_remove(variable);
    }
    let output = command
        .args(args)
        .env("DATABASE_URL", database.url())
        .env("NATS_URL", nats.url())
        .env("NATS_USER", &identity.user)
        .env("NATS_PASSWORD", identity.password())
        .env("BORGERRAAD_CLI", env!("CARGO_BIN_EXE_borgerraad"))
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the script runs");
    assert!(
        output.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

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

/// Whether intake's row of the inquiry still holds anything personal.
async fn holds_personal_data(system: &TestSystem, inquiry_id: &str) -> bool {
    sqlx::query_scalar(
        "SELECT personal IS NOT NULL OR description IS NOT NULL OR requester_name IS NOT NULL \
           OR requester_cpr IS NOT NULL OR requester_cpr_fingerprint IS NOT NULL \
           OR EXISTS (SELECT 1 FROM intake.journal j WHERE j.inquiry_id = i.inquiry_id \
                      AND (j.details IS NOT NULL OR j.details_sealed IS NOT NULL)) \
         FROM intake.inquiries i WHERE inquiry_id = $1::uuid",
    )
    .bind(inquiry_id)
    .fetch_one(system.tables())
    .await
    .expect("the inquiry's row")
}

/// What a test reads to compare before and after: the kept inquiry, both assessments and
/// deadlines, and the figures.
type Snapshot = (
    pb::Inquiry,
    pb::Assessment,
    pb::Assessment,
    pb::Deadline,
    pb::Deadline,
    pb::Summary,
);

async fn snapshot(system: &TestSystem, kept: &str, erased: &str) -> Snapshot {
    (
        system.inquiry(kept).await,
        system.assessment(kept).await,
        system.assessment(erased).await,
        system.deadline(kept).await,
        system.deadline(erased).await,
        summary(system).await,
    )
}

/// What a system held when it was backed up to `backup()`: two inquiries assessed, scheduled
/// and counted, one of them withdrawn, and (after the backup) erased at the person's request.
struct BackedUp {
    kept: String,
    erased: pb::SubmitInquiryResponse,
    before: Snapshot,
    events: std::collections::HashMap<String, usize>,
    folder: tempfile::TempDir,
}

impl BackedUp {
    fn backup(&self) -> PathBuf {
        self.folder.path().join("backup")
    }
}

async fn backed_up_then_erased() -> (TestSystem, BackedUp) {
    let system = TestSystem::start().await.expect("the system starts");
    let mut intake = system.intake.clone();
    let kept = intake
        .submit_inquiry(submission(
            KEPT_NAME,
            KEPT_CPR,
            "Bevaremærke: kommunen svarer ikke.",
        ))
        .await
        .expect("submitted")
        .into_inner();
    let erased = intake
        .submit_inquiry(submission(ERASED_NAME, ERASED_CPR, ERASED_DESCRIPTION))
        .await
        .expect("submitted")
        .into_inner();
    for id in [&kept.inquiry_id, &erased.inquiry_id] {
        system.assessment(id).await;
        system.deadline(id).await;
    }
    let version = system.settled_version(&erased.inquiry_id).await;
    intake
        .withdraw_inquiry(pb::WithdrawInquiryRequest {
            inquiry_id: erased.inquiry_id.clone(),
            expected_version: version,
            actor: String::new(),
            reason: "Trukket tilbage".into(),
        })
        .await
        .expect("withdrawn");
    system.settle_within(SETTLE).await;
    let before = snapshot(&system, &kept.inquiry_id, &erased.inquiry_id).await;
    let events = system.event_counts().await.expect("the stream");

    let folder = tempfile::tempdir().expect("a folder");
    let backup = folder.path().join("backup");
    run("backup.sh", &[&backup], &[], &system.database, &system.nats).await;
    let erased_now = intake
        .erase_person_data(pb::ErasePersonDataRequest {
            cpr: ERASED_CPR.into(),
            reason: "Anmodning om sletning".into(),
            ..Default::default()
        })
        .await
        .expect("erased")
        .into_inner()
        .erased;
    assert_eq!(erased_now.len(), 1);
    system.settle_within(SETTLE).await;
    let record = BackedUp {
        kept: kept.inquiry_id,
        erased,
        before,
        events,
        folder,
    };
    (system, record)
}

/// What every restore must show: the erased inquiry erased again (once, downstream too, nothing
/// of it in a dump), everything else as the backup held it, every event back on the stream.
async fn assert_restored(restored: &TestSystem, original: &BackedUp) {
    let erased = &original.erased;
    eventually("the erasure is done again", SETTLE, || async {
        (!holds_personal_data(restored, &erased.inquiry_id).await).then_some(())
    })
    .await;
    restored.settle_within(SETTLE).await;
    let before = &original.before;
    let after = snapshot(restored, &original.kept, &erased.inquiry_id).await;
    assert_eq!(after.0, before.0, "the kept inquiry");
    assert_eq!(
        after.0.requester.clone().unwrap_or_default().name,
        KEPT_NAME
    );
    assert_eq!(after.1, before.1, "the kept inquiry's assessment");
    assert_eq!(
        after.2.outcome, before.2.outcome,
        "the erased one's assessment"
    );
    assert_eq!(after.3, before.3, "the kept inquiry's deadline");
    assert_eq!(after.4.state, before.4.state, "the erased one's deadline");
    assert_eq!(after.5, before.5, "the figures");

    let gone = restored.inquiry(&erased.inquiry_id).await;
    assert_eq!(gone.reference, erased.reference);
    assert_eq!(gone.requester.unwrap_or_default().name, "");
    assert_eq!(gone.description, "");
    let replayed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM intake.journal WHERE inquiry_id = $1::uuid \
         AND step = 'erase_personal_data' AND actor = 'intake-ledger-replay'",
    )
    .bind(&erased.inquiry_id)
    .fetch_one(restored.tables())
    .await
    .expect("the journal");
    assert_eq!(replayed, 1, "erased again once");
    let dump = restored.database.dump().await.expect("a dump");
    for personal in [ERASED_NAME, ERASED_CPR, ERASED_DESCRIPTION] {
        assert!(
            !dump.contains(personal),
            "{personal:?} is in the restored database"
        );
    }
    let restored_events = restored.event_counts().await.expect("the stream");
    for (subject, count) in &original.events {
        assert!(
            restored_events.get(subject).copied().unwrap_or_default() >= *count,
            "{subject}: {count} before, {restored_events:?} after"
        );
    }
    let manifest =
        std::fs::read_to_string(original.backup().join("manifest.txt")).expect("the manifest");
    let total: usize = original.events.values().sum();
    assert!(
        manifest.contains(&format!("stream messages: {total}\n")),
        "{manifest}"
    );
    assert!(
        manifest.contains("rows intake.inquiries: 2\n"),
        "{manifest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_into_a_fresh_system_brings_back_the_backup_and_the_exported_ledgers_erasures() {
    let (system, original) = backed_up_then_erased().await;
    let ledger = original.folder.path().join("erasures.csv");
    run(
        "export-ledger.sh",
        &[&ledger],
        &[],
        &system.database,
        &system.nats,
    )
    .await;
    let keys = system.keys.clone();
    system.stop().await.expect("stopped");

    let database = TestDatabase::create().await.expect("a database");
    let nats = NatsServer::start_secured().await.expect("a NATS");
    run(
        "restore.sh",
        &[&original.backup(), &ledger],
        &[],
        &database,
        &nats,
    )
    .await;
    let restored = TestSystem::start_with(database, nats, keys)
        .await
        .expect("the restored system starts");

    assert_restored(&restored, &original).await;
    restored.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_over_the_running_database_keeps_its_ledger_and_erases_again() {
    let (system, original) = backed_up_then_erased().await;
    let keys = system.keys.clone();
    let (database, nats) = system.stop_keeping_state().await.expect("stopped");

    run(
        "restore.sh",
        &[&original.backup()],
        &[("REPLACE_STREAM", "true")],
        &database,
        &nats,
    )
    .await;
    let restored = TestSystem::start_with(database, nats, keys)
        .await
        .expect("the restored system starts");

    assert_restored(&restored, &original).await;
    let kept_ledgers = std::fs::read_dir(original.backup())
        .expect("the backup folder")
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("erasures-before-restore-")
        })
        .count();
    assert_eq!(kept_ledgers, 1, "the overwritten database's ledger is kept");
    restored.stop().await.expect("stopped");
}

/// `borgerraad ARGS` logged in to `nats` as `user`.
async fn borgerraad_on(nats: &NatsServer, user: &str, args: &[&str]) -> std::process::Output {
    let identity = nats.identity(user).expect("a secured server");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_borgerraad"))
        .args(args)
        .env_remove("NATS_PASSWORD_FILE")
        .env_remove("NATS_NKEY_SEED")
        .env_remove("NATS_NKEY_SEED_FILE")
        .env("NATS_URL", nats.url())
        .env("NATS_USER", &identity.user)
        .env("NATS_PASSWORD", identity.password())
        .output()
        .await
        .expect("borgerraad runs")
}

#[tokio::test]
async fn the_stream_comes_back_with_its_headers_and_a_stream_holding_messages_is_replaced_only_when_asked()
 {
    // Arrange: one event on the stream, with its id in Nats-Msg-Id.
    let nats = NatsServer::start_secured().await.expect("a NATS");
    let observer = async_nats::jetstream::new(nats.client().await.expect("the observer"));
    borgerraad_messaging::stream::ensure_stream(&observer)
        .await
        .expect("the stream");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "event-1");
    observer
        .publish_with_headers("borgerraad.inquiry.received", headers, "payload".into())
        .await
        .expect("published")
        .await
        .expect("stored");
    let folder = tempfile::tempdir().expect("a folder");
    let dir = folder.path().to_str().expect("a UTF-8 path");
    let saved = borgerraad_on(&nats, BACKUP, &["stream-backup", dir]).await;
    assert!(saved.status.success(), "{saved:?}");
    assert!(String::from_utf8_lossy(&saved.stdout).contains("messages: 1\n"));

    // Act and assert: refused over the stream that holds it, done when told to replace it.
    let refused = borgerraad_on(&nats, OBSERVER, &["stream-restore", dir]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already holds 1 messages"),
        "{refused:?}"
    );
    let replaced = borgerraad_on(&nats, OBSERVER, &["stream-restore", "--replace", dir]).await;
    assert!(replaced.status.success(), "{replaced:?}");
    let stream = observer
        .get_stream(borgerraad_messaging::stream::STREAM_NAME)
        .await
        .expect("the stream");
    let message = stream.get_raw_message(1).await.expect("the message again");
    assert_eq!(message.subject.as_str(), "borgerraad.inquiry.received");
    assert_eq!(message.payload.as_ref(), b"payload");
    assert_eq!(
        message.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
        Some("event-1")
    );
}
