//! Moves personal data sealed with an older key of `PERSONAL_DATA_KEYS` to the current one, so
//! the older key can be retired: a job that runs at start, after [`crate::upgrade`], until no
//! value the ring's older keys made is left.
//!
//! What a key made: inquiries' sealed records, journal entries' sealed details and the keyed
//! fingerprints of requesters' CPR numbers (made again from the opened record, so a person's
//! inquiries are still found once the old key is gone). Idempotency fingerprints of submissions
//! cannot be made again (the request is not kept); one made by a retired key makes a retry of
//! that submission count as new content, which is refused like any reuse.
//!
//! Each batch is one transaction that claims its rows with `FOR UPDATE SKIP LOCKED`, so the job
//! can stop anywhere and resume at the next start, and replicas share the rows. A replica claims
//! only what its ring's *older* keys made: during a rolling rotation a replica that does not yet
//! know the newest key leaves that key's values alone instead of failing on them. What such a
//! replica moves to its own (no longer newest) key after the newest replicas finished is moved
//! on when it is restarted with the newest key, as a rolling restart does.

use std::sync::Arc;
use std::time::Duration;

use personal_data::Keyring;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::db;
use crate::domain::personal;
use crate::upgrade::UpgradeError;

/// Rows per batch and kind, as for the upgrade job.
pub const BATCH_SIZE: i64 = 500;

/// What one batch moved to the current key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub inquiries: usize,
    pub journal_entries: usize,
}

impl Resealed {
    fn add(&mut self, other: Resealed) {
        self.inquiries += other.inquiries;
        self.journal_entries += other.journal_entries;
    }
}

/// The ids of the ring's keys other than the current one: what to move away from.
pub fn older_key_ids(keyring: &Keyring) -> Vec<String> {
    keyring
        .keys()
        .skip(1)
        .map(|key| key.id().to_owned())
        .collect()
}

/// Moves one batch of inquiries and one of journal entries to the current key, in one
/// transaction.
pub async fn reseal_batch(
    pool: &PgPool,
    keyring: &Keyring,
    batch_size: i64,
) -> Result<Resealed, UpgradeError> {
    let older = older_key_ids(keyring);
    if older.is_empty() {
        return Ok(Resealed::default());
    }
    let mut transaction = pool.begin().await?;
    let rows = db::claim_inquiries_sealed_with(&mut transaction, &older, batch_size).await?;
    let inquiries = rows
        .iter()
        .map(|row| {
            let record = personal::open_record(keyring, row.inquiry_id, &row.personal)?;
            let fingerprint = record.requester_cpr.as_deref().map(|digits| {
                keyring
                    .fingerprint(&crate::audit::person_key(digits))
                    .to_bytes()
            });
            let sealed = personal::seal_record(keyring, row.inquiry_id, &record)?;
            Ok((row.inquiry_id, sealed, fingerprint))
        })
        .collect::<Result<Vec<_>, personal::SealError>>()?;
    let entries = db::claim_entries_sealed_with(&mut transaction, &older, batch_size).await?;
    let journal_entries = entries
        .iter()
        .map(|entry| {
            let details = personal::open_details(
                keyring,
                entry.inquiry_id,
                entry.version,
                &entry.details_sealed,
            )?;
            let sealed =
                personal::seal_details(keyring, entry.inquiry_id, entry.version, &details)?;
            Ok((entry.inquiry_id, entry.version, sealed))
        })
        .collect::<Result<Vec<_>, personal::SealError>>()?;
    let resealed = Resealed {
        inquiries: inquiries.len(),
        journal_entries: journal_entries.len(),
    };
    if !inquiries.is_empty() {
        db::store_resealed_inquiries(&mut transaction, inquiries).await?;
    }
    if !journal_entries.is_empty() {
        db::store_sealed_entries(&mut transaction, journal_entries).await?;
    }
    transaction.commit().await?;
    Ok(resealed)
}

/// Re-seals batch after batch until none is left or `shutdown`; a failed database is waited
/// for, a value that cannot be opened stops the job (the service's fault, logged so). Logs at
/// start and end with counts; progress in between is [`status`] (`GetResealStatus`).
pub async fn reseal_older_keys(pool: PgPool, keyring: Arc<Keyring>, shutdown: CancellationToken) {
    let older = older_key_ids(&keyring);
    if older.is_empty() {
        return;
    }
    let current = keyring.current().id().to_owned();
    let mut total = Resealed::default();
    let mut started = false;
    let mut delay = Duration::from_millis(500);
    while !shutdown.is_cancelled() {
        match reseal_batch(&pool, &keyring, BATCH_SIZE).await {
            Ok(Resealed {
                inquiries: 0,
                journal_entries: 0,
            }) => {
                if started {
                    tracing::info!(
                        current_key = %current,
                        inquiries = total.inquiries,
                        journal_entries = total.journal_entries,
                        "personal data sealed with older keys is now sealed with the current key"
                    );
                }
                return;
            }
            Ok(resealed) => {
                if !started {
                    started = true;
                    tracing::info!(
                        current_key = %current,
                        older_keys = %older.join(","),
                        "moving personal data sealed with older keys to the current key"
                    );
                }
                total.add(resealed);
                delay = Duration::from_millis(500);
            }
            Err(UpgradeError::Database(error)) => {
                tracing::warn!(%error, ?delay, "cannot re-seal now; trying again");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(UpgradeError::Seal(error)) => {
                tracing::error!(
                    %error,
                    inquiries = total.inquiries,
                    journal_entries = total.journal_entries,
                    "cannot re-seal personal data; the older keys stay needed until this is fixed"
                );
                return;
            }
        }
    }
}

/// How many values one key seals or fingerprinted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCount {
    pub key_id: String,
    pub inquiries: i64,
    pub journal_entries: i64,
    pub cpr_fingerprints: i64,
    pub in_key_ring: bool,
}

/// Where re-sealing stands, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub current_key_id: String,
    pub keys: Vec<KeyCount>,
    pub plain_inquiries: i64,
    pub plain_journal_entries: i64,
}

impl Status {
    /// Counts joined with the ring: every key of the ring is listed, with nothing if it seals
    /// nothing, and so is a key the data names but the ring lacks.
    pub fn of(keyring: &Keyring, counts: db::SealCounts) -> Self {
        let mut keys: Vec<KeyCount> = counts
            .by_key
            .into_iter()
            .map(
                |(key_id, inquiries, journal_entries, cpr_fingerprints)| KeyCount {
                    in_key_ring: keyring.key(&key_id).is_some(),
                    key_id,
                    inquiries,
                    journal_entries,
                    cpr_fingerprints,
                },
            )
            .collect();
        for key in keyring.keys() {
            if !keys.iter().any(|count| count.key_id == key.id()) {
                keys.push(KeyCount {
                    key_id: key.id().to_owned(),
                    inquiries: 0,
                    journal_entries: 0,
                    cpr_fingerprints: 0,
                    in_key_ring: true,
                });
            }
        }
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Self {
            current_key_id: keyring.current().id().to_owned(),
            keys,
            plain_inquiries: counts.plain_inquiries,
            plain_journal_entries: counts.plain_journal_entries,
        }
    }

    /// Nothing is sealed with a key but the current one, and nothing is plain.
    pub fn done(&self) -> bool {
        self.plain_inquiries == 0
            && self.plain_journal_entries == 0
            && self.keys.iter().all(|key| {
                key.key_id == self.current_key_id
                    || key.inquiries + key.journal_entries + key.cpr_fingerprints == 0
            })
    }
}

pub async fn status(pool: &PgPool, keyring: &Keyring) -> anyhow::Result<Status> {
    use anyhow::Context as _;
    let counts = db::seal_counts(pool)
        .await
        .context("cannot count sealed values by key")?;
    Ok(Status::of(keyring, counts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use personal_data::DataKey;

    fn ring(ids: &[&str]) -> Keyring {
        let mut keys = ids
            .iter()
            .map(|id| DataKey::from_bytes(id, [1; 32]).expect("valid id"));
        let current = keys.next().expect("a key");
        keys.fold(Keyring::new(current), |ring, key| {
            ring.with_previous(key).expect("distinct ids")
        })
    }

    #[test]
    fn only_the_rings_older_keys_are_moved_away_from() {
        assert_eq!(older_key_ids(&ring(&["k3", "k2", "k1"])), ["k2", "k1"]);
        assert!(older_key_ids(&ring(&["k1"])).is_empty());
    }

    #[test]
    fn the_status_lists_every_key_and_is_done_when_only_the_current_one_seals() {
        let counts = db::SealCounts {
            by_key: vec![("k1".into(), 0, 2, 0), ("k2".into(), 5, 7, 3)],
            plain_inquiries: 0,
            plain_journal_entries: 0,
        };
        let status = Status::of(&ring(&["k2", "k1", "k0"]), counts.clone());
        assert_eq!(
            status
                .keys
                .iter()
                .map(|k| k.key_id.as_str())
                .collect::<Vec<_>>(),
            ["k0", "k1", "k2"]
        );
        assert!(!status.done(), "k1 still seals two journal entries");

        let done = Status::of(
            &ring(&["k2", "k1"]),
            db::SealCounts {
                by_key: vec![("k2".into(), 5, 9, 3)],
                ..counts
            },
        );
        assert!(done.done());
    }

    #[test]
    fn a_key_the_data_names_but_the_ring_lacks_is_shown_as_such() {
        let status = Status::of(
            &ring(&["k3"]),
            db::SealCounts {
                by_key: vec![("k1".into(), 1, 0, 0)],
                plain_inquiries: 0,
                plain_journal_entries: 0,
            },
        );
        let k1 = status.keys.iter().find(|k| k.key_id == "k1").expect("k1");
        assert!(!k1.in_key_ring);
        assert!(!status.done());
    }
}
