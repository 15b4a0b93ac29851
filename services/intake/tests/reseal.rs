//! Retiring a sealing key: after `k2` is put in front of `k1`, the job at start moves every
//! sealed record, journal entry and CPR fingerprint to `k2`; a second rotation while the job is
//! half way still ends with everything under the newest key; and a service started with only
//! that key reads everything and still finds a person's inquiries.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use borgerraad_proto::v1 as pb;
use borgerraad_test_harness::{NatsServer, TestDatabase, eventually};
use common::{Replica, ring};

const PEOPLE: [&str; 3] = ["010190-1234", "020285-4321", "150372-1111"];
/// Inquiries per person: 12 in all, each with a note, so 24 journal entries.
const EACH: usize = 4;

/// Submits `EACH` inquiries with a note for every person; their ids and texts.
async fn seed(intake: &Replica) -> Vec<(String, String, String)> {
    let mut seeded = Vec::new();
    for (p, cpr) in PEOPLE.iter().enumerate() {
        for n in 0..EACH {
            let description = format!("Beskrivelse {p}-{n} fra borgeren");
            let note = format!("Notat {p}-{n}");
            let id = intake.submit(cpr, &description).await;
            intake.note(&id, 1, &note).await;
            seeded.push((id, description, note));
        }
    }
    seeded
}

async fn status(intake: &Replica) -> pb::GetResealStatusResponse {
    intake
        .client
        .clone()
        .get_reseal_status(pb::GetResealStatusRequest::default())
        .await
        .expect("status")
        .into_inner()
}

/// Per key id: (inquiries, journal entries, CPR fingerprints), keys that seal nothing left out.
fn counts(status: &pb::GetResealStatusResponse) -> BTreeMap<String, (i64, i64, i64)> {
    status
        .keys
        .iter()
        .filter(|k| k.inquiries + k.journal_entries + k.cpr_fingerprints > 0)
        .map(|k| {
            (
                k.key_id.clone(),
                (k.inquiries, k.journal_entries, k.cpr_fingerprints),
            )
        })
        .collect()
}

fn all_under(key: &str) -> BTreeMap<String, (i64, i64, i64)> {
    let total = (PEOPLE.len() * EACH) as i64;
    BTreeMap::from([(key.to_owned(), (total, 2 * total, total))])
}

async fn wait_until_done(intake: &Replica) -> pb::GetResealStatusResponse {
    eventually("re-sealing is done", Duration::from_secs(30), || async {
        let status = status(intake).await;
        status.done.then_some(status)
    })
    .await
}

/// Every inquiry reads with its texts, and every person's export finds all of theirs.
async fn assert_everything_reads(intake: &Replica, seeded: &[(String, String, String)]) {
    for (id, description, note) in seeded {
        let inquiry = intake
            .client
            .clone()
            .get_inquiry(pb::GetInquiryRequest {
                inquiry_id: id.clone(),
                ..Default::default()
            })
            .await
            .expect("readable")
            .into_inner();
        assert_eq!(&inquiry.description, description);
        assert_eq!(
            inquiry.journal.last().map(|e| e.details.as_str()),
            Some(note.as_str())
        );
    }
    for cpr in PEOPLE {
        let export = intake
            .client
            .clone()
            .export_person_data(pb::ExportPersonDataRequest {
                cpr: cpr.into(),
                purpose: "Kontrol efter nøgleskift".into(),
                ..Default::default()
            })
            .await
            .expect("exported")
            .into_inner();
        assert_eq!(export.inquiries.len(), EACH, "{cpr} is still found");
    }
}

#[tokio::test]
async fn after_a_rotation_the_job_reseals_everything_and_the_old_key_can_be_removed() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let first = Replica::start(&database, &nats, ring(&["k1"])).await;
    let seeded = seed(&first).await;
    assert_eq!(counts(&status(&first).await), all_under("k1"));
    first.stop().await;

    let rotated = Replica::start(&database, &nats, ring(&["k2", "k1"])).await;
    let done = wait_until_done(&rotated).await;
    assert_eq!(done.current_key_id, "k2");
    assert_eq!(counts(&done), all_under("k2"));
    rotated.stop().await;

    let retired = Replica::start(&database, &nats, ring(&["k2"])).await;
    assert!(status(&retired).await.done);
    assert_everything_reads(&retired, &seeded).await;
    retired.stop().await;
}

#[tokio::test]
async fn rotating_again_half_way_still_ends_with_everything_under_the_newest_key() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let first = Replica::start(&database, &nats, ring(&["k1"])).await;
    let seeded = seed(&first).await;
    first.stop().await;

    // The job of a replica with k2,k1 gets half way: one batch of 6 of each kind.
    let pool = database.pool("intake").await.expect("pool");
    let half = intake::reseal::reseal_batch(&pool, &ring(&["k2", "k1"]), 6)
        .await
        .expect("a batch");
    assert_eq!((half.inquiries, half.journal_entries), (6, 6));

    let newest = Replica::start(&database, &nats, ring(&["k3", "k2", "k1"])).await;
    let done = wait_until_done(&newest).await;
    assert_eq!(done.current_key_id, "k3");
    assert_eq!(counts(&done), all_under("k3"));
    newest.stop().await;

    // A replica that does not know k3 yet leaves k3's values alone rather than failing on them.
    let behind = intake::reseal::reseal_batch(&pool, &ring(&["k2", "k1"]), 100)
        .await
        .expect("nothing to do");
    assert_eq!((behind.inquiries, behind.journal_entries), (0, 0));

    let retired = Replica::start(&database, &nats, ring(&["k3"])).await;
    let status = status(&retired).await;
    assert!(status.done);
    assert_eq!(counts(&status), all_under("k3"));
    assert_everything_reads(&retired, &seeded).await;
    retired.stop().await;
}
