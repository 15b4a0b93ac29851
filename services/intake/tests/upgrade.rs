//! Upgrading a database whose personal data was written in plain text: at start, intake seals
//! every such row and clears its plain columns, two replicas sharing the work; until then a
//! plain row reads as before, and an amendment seals it on the way.

mod common;

use std::sync::Arc;
use std::time::Duration;

use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_platform::departments::Departments;
use borgerraad_proto::v1::{self as pb, intake_service_client::IntakeServiceClient};
use borgerraad_test_harness::{NatsServer, TestDatabase, eventually};
use chrono::{TimeZone, Utc};
use intake::domain::{Attachment, Form, PriorDialogueDetails};
use personal_data::{DataKey, Keyring};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use common::Replica;

const NAME: &str = "Karen Gammeldags-Hansen";
const CPR: &str = "0101901234";
const DESCRIPTION: &str = "Min datter (cpr 0202124321) fik afslag paa hjemmehjaelp";
const UNIT: &str = "Visitationen v. Bodil Bagergaard";
const DESIRED: &str = "Hjaelp til rengoering hver uge";
const WITH_WHOM: &str = "sagsbehandler Grethe Gaardhund";
const OUTCOME: &str = "Hun sagde at reglerne er strenge";
const ATTACHMENT: &str = "Laegeerklaering om Karens knae";
const REPRESENTATIVE: &str = "Holger Gammel-Danske";
const SCOPE: &str = "Fuldmagt til sagen om Karens hjemmehjaelp";
const NOTE: &str = "Datteren ringede fra 66 13 13 72 om sagen";

/// The plain texts of the `n`th old inquiry, each made unique so one row cannot pass for another.
fn texts(n: usize) -> [String; 10] {
    [
        format!("{NAME} {n}"),
        format!("{DESCRIPTION} nr. {n}"),
        format!("{UNIT} {n}"),
        format!("{DESIRED} {n}"),
        format!("{WITH_WHOM} {n}"),
        format!("{OUTCOME} {n}"),
        format!("{ATTACHMENT} {n}"),
        format!("{REPRESENTATIVE} {n}"),
        format!("{SCOPE} {n}"),
        format!("{NOTE} {n}"),
    ]
}

fn keyring() -> Arc<Keyring> {
    Arc::new(Keyring::new(
        DataKey::from_bytes("k1", [42; 32]).expect("valid key"),
    ))
}

/// The intake schema as it stood before personal data was sealed (migrations 1 and 2).
async fn old_schema(database: &TestDatabase) -> PgPool {
    let admin = database.pool("public").await.expect("pool");
    sqlx::query("CREATE SCHEMA intake")
        .execute(&admin)
        .await
        .expect("schema");
    admin.close().await;
    let pool = database.pool("intake").await.expect("pool");
    intake::db::MIGRATOR
        .run_to(2, &pool)
        .await
        .expect("migrations 1 and 2");
    pool
}

/// Writes inquiry `n` as intake wrote it before: texts in plain columns and the form record, the
/// CPR number sealed on its own, two plain journal entries, a representative and a consent.
async fn insert_plain(pool: &PgPool, keyring: &Keyring, n: usize) -> Uuid {
    let [
        name,
        description,
        unit,
        desired,
        with_whom,
        outcome,
        attachment,
        representative,
        scope,
        note,
    ] = texts(n);
    let id = Uuid::now_v7();
    let at = Utc
        .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("valid time");
    let cpr = keyring
        .seal(CPR.as_bytes(), id.as_bytes())
        .expect("sealed")
        .to_bytes()
        .expect("bytes");
    let form = Form {
        unit: Some(unit),
        desired_outcome: Some(desired),
        prior_dialogue: PriorDialogueDetails {
            with_whom: Some(with_whom),
            outcome: Some(outcome),
            ongoing: false,
        },
        attachments: vec![Attachment {
            title: attachment,
            document_ref: format!("dp://dokument/{n}"),
        }],
        contains_sensitive_data: true,
        ..Form::default()
    };
    let mut transaction = pool.begin().await.expect("transaction");
    sqlx::query(
        "INSERT INTO inquiries (inquiry_id, number, reference, requester_kind, department, \
           request_type, description, prior_dialogue_held, prior_dialogue_date, contact_channel, \
           status, received_at, version, requester_anonymous, requester_name, requester_cpr, \
           arrival_channel, form) \
         SELECT $1, number, 'BR-2026-' || lpad(number::text, 6, '0'), 'citizen', \
           'beskaeftigelse-og-social', 'advice', $2, true, '2026-11-01', 'digital_post', \
           'received', $3, 2, false, $4, $5, 'web_form', $6 \
         FROM (SELECT nextval('inquiry_number') AS number) AS next",
    )
    .bind(id)
    .bind(description)
    .bind(at)
    .bind(name)
    .bind(cpr)
    .bind(Json(form))
    .execute(&mut *transaction)
    .await
    .expect("inquiry");
    sqlx::query(
        "INSERT INTO journal (inquiry_id, version, step, actor, at, status_after, details) \
         VALUES ($1, 1, 'submit', 'submitter', $2, 'received', 'received'), \
                ($1, 2, 'add_note', 'cw-17', $2, 'received', $3)",
    )
    .bind(id)
    .bind(at)
    .bind(note)
    .execute(&mut *transaction)
    .await
    .expect("journal");
    sqlx::query(
        "INSERT INTO representatives (inquiry_id, name, role, power_of_attorney_scope, \
           recorded_at) VALUES ($1, $2, 'relative', $3, $4)",
    )
    .bind(id)
    .bind(representative)
    .bind(scope)
    .bind(at)
    .execute(&mut *transaction)
    .await
    .expect("representative");
    sqlx::query(
        "INSERT INTO consents (inquiry_id, contact_department, recorded_at) VALUES ($1, true, $2)",
    )
    .bind(id)
    .bind(at)
    .execute(&mut *transaction)
    .await
    .expect("consent");
    transaction.commit().await.expect("committed");
    id
}

async fn plain_rows(pool: &PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM inquiries WHERE personal IS NULL), \
                (SELECT count(*) FROM journal WHERE details_sealed IS NULL), \
                (SELECT count(*) FROM representatives WHERE name IS NOT NULL)",
    )
    .fetch_one(pool)
    .await
    .expect("counted")
}

async fn read(
    client: &IntakeServiceClient<AuthorizedChannel>,
    id: Uuid,
    reveal: bool,
) -> pb::Inquiry {
    client
        .clone()
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: id.to_string(),
            reveal_cpr: reveal,
            purpose: "Kontrol efter opgradering".into(),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner()
}

/// Asserts that the answer shows inquiry `n`'s texts exactly as written, CPR numbers masked.
fn assert_shows(inquiry: &pb::Inquiry, n: usize) {
    let [
        name,
        description,
        unit,
        desired,
        with_whom,
        outcome,
        attachment,
        representative,
        scope,
        note,
    ] = texts(n);
    let requester = inquiry.requester.clone().unwrap_or_default();
    assert_eq!(
        (requester.name, requester.cpr),
        (name, "010190-XXXX".to_owned())
    );
    assert_eq!(
        inquiry.description,
        description.replace("0202124321", "020212-XXXX")
    );
    assert_eq!((&inquiry.unit, &inquiry.desired_outcome), (&unit, &desired));
    let dialogue = inquiry.prior_dialogue.clone().unwrap_or_default();
    assert_eq!((dialogue.with_whom, dialogue.outcome), (with_whom, outcome));
    assert_eq!(
        inquiry
            .attachments
            .iter()
            .map(|a| (a.title.clone(), a.document_ref.clone()))
            .collect::<Vec<_>>(),
        [(attachment, format!("dp://dokument/{n}"))]
    );
    let representative_shown = inquiry.representative.clone().unwrap_or_default();
    assert_eq!(
        (
            representative_shown.name,
            representative_shown.power_of_attorney_scope
        ),
        (representative, scope)
    );
    assert_eq!(
        inquiry
            .journal
            .iter()
            .map(|e| e.details.clone())
            .collect::<Vec<_>>(),
        ["received".to_owned(), note]
    );
    assert!(inquiry.contains_sensitive_data);
}

#[tokio::test]
async fn rows_written_in_plain_text_are_sealed_at_start_by_two_replicas_sharing_the_work() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let keyring = keyring();
    let pool = old_schema(&database).await;
    // More than two batches, so both replicas find work.
    let count = 2 * intake::upgrade::BATCH_SIZE as usize + 100;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        ids.push(insert_plain(&pool, &keyring, n).await);
    }
    let written: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM inquiries WHERE description IS NOT NULL), \
                (SELECT count(*) FROM journal WHERE details IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .expect("counted");
    assert_eq!(written, (count as i64, 2 * count as i64));

    let (first, second) = tokio::join!(
        Replica::start(&database, &nats, keyring.clone()),
        Replica::start(&database, &nats, keyring.clone()),
    );
    eventually("every plain row sealed", Duration::from_secs(60), || {
        let pool = &pool;
        async move { (plain_rows(pool).await == (0, 0, 0)).then_some(()) }
    })
    .await;

    // Every row reads as it was written, from either replica.
    for (n, id) in ids.iter().enumerate().step_by(97) {
        let replica = if n % 2 == 0 { &first } else { &second };
        assert_shows(&read(&replica.client, *id, false).await, n);
    }
    let revealed = read(&first.client, ids[3], true).await;
    assert_eq!(revealed.requester.unwrap_or_default().cpr, "010190-1234");
    assert!(revealed.description.contains("0202124321"));
    let unreadable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM inquiries WHERE description IS NOT NULL OR requester_name IS NOT NULL \
           OR requester_cpr IS NOT NULL OR form ? 'unit' AND form->>'unit' IS NOT NULL \
           OR jsonb_array_length(form->'attachments') > 0",
    )
    .fetch_one(&pool)
    .await
    .expect("counted");
    assert_eq!(unreadable, 0, "no plain column holds personal data");
    // The requester is found again by their CPR number, for an access request.
    let fingerprint = keyring
        .fingerprint(&intake::audit::person_key(CPR))
        .to_bytes();
    let found = intake::audit::store::inquiries_of_person(&pool, &[fingerprint], None)
        .await
        .expect("looked up");
    assert_eq!(found.len(), count);

    // Idempotent: nothing is left to seal, and sealing again changes nothing.
    let again = intake::upgrade::seal_batch(&pool, &keyring, 100)
        .await
        .expect("sealed");
    assert_eq!(again, intake::upgrade::Sealed::default());
    assert_shows(&read(&second.client, ids[0], false).await, 0);

    let dump = database.dump().await.expect("pg_dump");
    assert!(dump.contains("COPY intake.inquiries"));
    for secret in texts(count - 1).iter().map(String::as_str).chain([
        NAME,
        CPR,
        "010190-1234",
        "0202124321",
        UNIT,
        DESIRED,
        WITH_WHOM,
        OUTCOME,
        ATTACHMENT,
        REPRESENTATIVE,
        SCOPE,
        NOTE,
    ]) {
        let line = dump.lines().find(|line| line.contains(secret));
        assert!(line.is_none(), "the dump carries {secret:?}: {line:?}");
    }
    first.stop().await;
    second.stop().await;
    pool.close().await;
}

#[tokio::test]
async fn a_plain_row_reads_as_before_and_an_amendment_seals_it() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let keyring = keyring();
    let pool = old_schema(&database).await;
    intake::db::MIGRATOR.run(&pool).await.expect("migrated");
    // A row as a replica of the old version writes it after the upgrade job has run.
    let id = insert_plain(&pool, &keyring, 7).await;
    let row = intake::db::get_inquiry(&pool, id)
        .await
        .expect("read")
        .expect("found");
    let record = row.personal(&keyring).expect("plain columns read");
    assert_eq!(
        (record.requester_cpr.as_deref(), record.description),
        (Some(CPR), texts(7)[1].clone())
    );

    let now = Utc
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .single()
        .expect("valid time");
    let facts = intake::domain::validate_amendment(
        intake::domain::CaseFactsInput {
            department: "beskaeftigelse-og-social".into(),
            unit: "Visitationen".into(),
            request_type: Ok(Some(intake::domain::RequestType::Advice)),
            complaint_themes: Ok(Vec::new()),
            description: "Rettet: min datter (cpr 0202124321) fik afslag".into(),
            prior_dialogue_held: true,
            prior_dialogue_ongoing: false,
            prior_dialogue_date: Ok(chrono::NaiveDate::from_ymd_opt(2026, 11, 1)),
            prior_dialogue_with_whom: "Visitator Grethe".into(),
            prior_dialogue_outcome: "Ingen aendring".into(),
            related_decision: None,
            scope: Default::default(),
        },
        &Departments::odense(),
        now,
    )
    .expect("valid amendment");
    let mut transaction = pool.begin().await.expect("transaction");
    let taken = intake::cases::take_step(
        &mut transaction,
        &borgerraad_messaging::Outbox::new(),
        &keyring,
        id,
        Some(2),
        &intake::domain::lifecycle::Command::Amend(Box::new(facts)),
        "cw-17",
        now,
    )
    .await
    .expect("amended");
    transaction.commit().await.expect("committed");
    assert_eq!(taken.after.version, 3);

    // The row now holds its personal data sealed only; its old journal waits for the job.
    assert_eq!(plain_rows(&pool).await, (0, 2, 0));
    let stored: (Option<String>, Option<String>, bool) = sqlx::query_as(
        "SELECT description, requester_name, form->>'unit' IS NULL FROM inquiries \
         WHERE inquiry_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("stored");
    assert_eq!(stored, (None, None, true));

    // Sealing the rest at the next start; then every answer shows what stands.
    let replica = Replica::start(&database, &nats, keyring.clone()).await;
    eventually("the old journal sealed", Duration::from_secs(10), || {
        let pool = &pool;
        async move { (plain_rows(pool).await == (0, 0, 0)).then_some(()) }
    })
    .await;
    let amended = read(&replica.client, id, false).await;
    assert_eq!(
        amended.description,
        "Rettet: min datter (cpr 020212-XXXX) fik afslag"
    );
    let [
        name,
        _,
        _,
        desired,
        _,
        _,
        attachment,
        representative,
        scope,
        note,
    ] = texts(7);
    let requester = amended.requester.clone().unwrap_or_default();
    assert_eq!(
        (requester.name, requester.cpr.as_str()),
        (name, "010190-XXXX")
    );
    assert_eq!(
        (
            amended.unit.as_str(),
            amended.desired_outcome.clone(),
            amended.attachments[0].title.clone()
        ),
        ("Visitationen", desired, attachment)
    );
    let dialogue = amended.prior_dialogue.clone().unwrap_or_default();
    assert_eq!(
        (dialogue.with_whom.as_str(), dialogue.outcome.as_str()),
        ("Visitator Grethe", "Ingen aendring")
    );
    let shown = amended.representative.clone().unwrap_or_default();
    assert_eq!(
        (shown.name, shown.power_of_attorney_scope),
        (representative, scope)
    );
    assert_eq!(
        amended
            .journal
            .iter()
            .map(|e| e.details.as_str())
            .collect::<Vec<_>>(),
        [
            "received",
            note.as_str(),
            // What the amendment changed, without the words it replaced.
            "case facts amended: description, prior_dialogue.with_whom, prior_dialogue.outcome, unit"
        ]
    );
    replica.stop().await;
    pool.close().await;
}
