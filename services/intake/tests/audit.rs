//! The access log in PostgreSQL: concurrent appends form one gapless chain, the database refuses
//! to change or remove entries, a change made behind the trigger's back is found by verification,
//! and a person's inquiries are found by their CPR number's fingerprint.

use borgerraad_test_harness::TestDatabase;
use chrono::{TimeZone, Utc};
use intake::audit::{self, Access, Accessor, DataKind, Verdict, store};
use personal_data::{DataKey, Keyring};
use sqlx::PgPool;
use uuid::Uuid;

async fn intake_schema(database: &TestDatabase) -> PgPool {
    let admin = database.pool("public").await.expect("pool");
    sqlx::query("CREATE SCHEMA intake")
        .execute(&admin)
        .await
        .expect("schema");
    let pool = database.pool("intake").await.expect("pool");
    intake::db::MIGRATOR.run(&pool).await.expect("migrations");
    pool
}

/// A bare inquiry row (its sealed record is a stand-in: the log only refers to the id).
async fn inquiry(pool: &PgPool, number: i64, cpr_fingerprint: Option<Vec<u8>>) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO inquiries (inquiry_id, number, reference, requester_kind, department, \
           request_type, prior_dialogue_held, status, received_at, personal, \
           requester_cpr_fingerprint) \
         VALUES ($1, $2, $3, 'citizen', 'by-og-kultur', 'complaint', true, 'received', now(), \
           '\\x00', $4)",
    )
    .bind(id)
    .bind(number)
    .bind(format!("BR-2026-{number:06}"))
    .bind(cpr_fingerprint)
    .execute(pool)
    .await
    .expect("inquiry row");
    id
}

fn read_by(subject: &str, inquiry_id: Uuid, purpose: Option<&str>) -> Access {
    Access::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0)
            .single()
            .expect("valid"),
        Accessor {
            subject: subject.into(),
            client_id: Some("sagssystem".into()),
            role: "caseworker".into(),
            department: None,
        },
        inquiry_id,
        [DataKind::Requester, DataKind::Description, DataKind::Notes],
        purpose.map(str::to_owned),
        Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
    )
}

#[tokio::test]
async fn concurrent_reads_are_chained_one_after_another_without_gaps() {
    let database = TestDatabase::create().await.expect("database");
    let pool = intake_schema(&database).await;
    let ids = [inquiry(&pool, 1, None).await, inquiry(&pool, 2, None).await];
    let appends = (0..20).map(|n| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let accesses = (0..5)
                .map(|i| read_by(&format!("cw-{n}"), ids[(n + i) % 2], None))
                .collect();
            store::append(&pool, accesses).await
        })
    });
    for append in futures::future::join_all(appends).await {
        append.expect("no panic").expect("appended");
    }
    match store::verify(&pool).await.expect("verified") {
        Verdict::Intact { entries, .. } => assert_eq!(entries, 100),
        broken => panic!("{broken:?}"),
    }
    let listed = store::list_for_inquiries(&pool, &ids[..1], 0, 1_000)
        .await
        .expect("listed");
    assert_eq!(listed.len(), 50);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].entry.position < w[1].entry.position)
    );
    assert!(listed.iter().all(|l| l.reference == "BR-2026-000001"));
}

#[tokio::test]
async fn the_database_refuses_to_change_or_remove_an_entry() {
    let database = TestDatabase::create().await.expect("database");
    let pool = intake_schema(&database).await;
    let id = inquiry(&pool, 1, None).await;
    store::append(&pool, vec![read_by("cw-1", id, Some("Sagsbehandling"))])
        .await
        .expect("appended");
    for statement in [
        "UPDATE access_log SET purpose = 'noget andet'",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ] {
        let error = sqlx::query(statement)
            .execute(&pool)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert!(matches!(
        store::verify(&pool).await.expect("verified"),
        Verdict::Intact { entries: 1, .. }
    ));
}

#[tokio::test]
async fn a_change_made_behind_the_triggers_back_is_found_where_it_was_made() {
    let database = TestDatabase::create().await.expect("database");
    let pool = intake_schema(&database).await;
    let id = inquiry(&pool, 1, None).await;
    for n in 0..10 {
        store::append(&pool, vec![read_by(&format!("cw-{n}"), id, None)])
            .await
            .expect("appended");
    }
    // Someone with the database owner's rights switches the trigger off and edits entry 7.
    sqlx::query("ALTER TABLE access_log DISABLE TRIGGER USER")
        .execute(&pool)
        .await
        .expect("trigger off");
    sqlx::query("UPDATE access_log SET subject = 'cw-nobody' WHERE position = 7")
        .execute(&pool)
        .await
        .expect("edited");
    assert_eq!(
        store::verify(&pool).await.expect("verified"),
        Verdict::Broken {
            position: 7,
            problem: "its content does not match its hash".into()
        }
    );

    // Removing the newest entries instead is found against the head.
    sqlx::query("UPDATE access_log SET subject = 'cw-6' WHERE position = 7")
        .execute(&pool)
        .await
        .expect("restored");
    assert!(matches!(
        store::verify(&pool).await.expect("verified"),
        Verdict::Intact { entries: 10, .. }
    ));
    sqlx::query("DELETE FROM access_log WHERE position > 8")
        .execute(&pool)
        .await
        .expect("tail removed");
    assert_eq!(
        store::verify(&pool).await.expect("verified"),
        Verdict::Broken {
            position: 9,
            problem: "the log ends at entry 8, but its head records entry 10".into()
        }
    );
}

#[tokio::test]
async fn a_persons_inquiries_are_found_by_their_cpr_number_under_every_key() {
    let database = TestDatabase::create().await.expect("database");
    let pool = intake_schema(&database).await;
    let old_ring = Keyring::new(DataKey::from_bytes("k1", [1; 32]).expect("key"));
    let person = audit::person_key("0101901234");
    let before_rotation = inquiry(&pool, 1, Some(old_ring.fingerprint(&person).to_bytes())).await;
    let ring = Keyring::new(DataKey::from_bytes("k2", [2; 32]).expect("key"))
        .with_previous(DataKey::from_bytes("k1", [1; 32]).expect("key"))
        .expect("ring");
    let after_rotation = inquiry(&pool, 2, Some(ring.fingerprint(&person).to_bytes())).await;
    let someone_else = inquiry(
        &pool,
        3,
        Some(
            ring.fingerprint(&audit::person_key("0202902345"))
                .to_bytes(),
        ),
    )
    .await;
    let fingerprints: Vec<Vec<u8>> = ring
        .fingerprints(&person)
        .iter()
        .map(|f| f.to_bytes())
        .collect();
    let found = store::inquiries_of_person(&pool, &fingerprints, None)
        .await
        .expect("found");
    assert_eq!(found, [before_rotation, after_rotation]);
    assert!(!found.contains(&someone_else));
}
