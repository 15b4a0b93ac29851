//! Seals the personal data of rows written before it was sealed at rest, and clears their plain
//! columns: a job that runs at start, beside the API, until no plain row is left.
//!
//! Each batch is one transaction that claims its rows with `FOR UPDATE SKIP LOCKED`, so the job
//! can stop anywhere and resume at the next start, a row is sealed once, and replicas starting
//! together share the rows instead of waiting on each other. Reads and steps meanwhile take a
//! row in either form (`db::InquiryRow::personal`); an amendment seals its row itself.

use std::sync::Arc;
use std::time::Duration;

use personal_data::Keyring;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::db;
use crate::domain::personal::{self, SealError, form_without_personal_data};

/// Rows per batch and kind: small enough to hold locks briefly, big enough to be quick.
pub const BATCH_SIZE: i64 = 500;

/// What one batch sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sealed {
    pub inquiries: usize,
    pub journal_entries: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The database failed; the batch is rolled back and tried again.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored value cannot be opened (e.g. its key is missing): trying again will not help.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Seals one batch of plain inquiries and one of plain journal entries, in one transaction.
pub async fn seal_batch(
    pool: &PgPool,
    keyring: &Keyring,
    batch_size: i64,
) -> Result<Sealed, UpgradeError> {
    let mut transaction = pool.begin().await?;
    let rows = db::claim_plain_inquiries(&mut transaction, batch_size).await?;
    let inquiries = rows
        .iter()
        .map(|row| {
            let record = row.personal(keyring)?;
            Ok(db::SealedInquiry {
                inquiry_id: row.inquiry_id,
                personal: personal::seal_record(keyring, row.inquiry_id, &record)?,
                form: form_without_personal_data(&row.form.0),
                cpr_fingerprint: record.requester_cpr.as_deref().map(|digits| {
                    keyring
                        .fingerprint(&crate::audit::person_key(digits))
                        .to_bytes()
                }),
            })
        })
        .collect::<Result<Vec<_>, SealError>>()?;
    let entries = db::claim_plain_entries(&mut transaction, batch_size).await?;
    let journal_entries = entries
        .iter()
        .map(|entry| {
            let details = entry.details.as_deref().unwrap_or_default();
            let sealed = personal::seal_details(keyring, entry.inquiry_id, entry.version, details)?;
            Ok((entry.inquiry_id, entry.version, sealed))
        })
        .collect::<Result<Vec<_>, SealError>>()?;
    let sealed = Sealed {
        inquiries: inquiries.len(),
        journal_entries: journal_entries.len(),
    };
    if !inquiries.is_empty() {
        db::store_sealed_inquiries(&mut transaction, inquiries).await?;
    }
    if !journal_entries.is_empty() {
        db::store_sealed_entries(&mut transaction, journal_entries).await?;
    }
    transaction.commit().await?;
    Ok(sealed)
}

/// Seals batch after batch until none is left or `shutdown`; a failed database is waited for,
/// a value that cannot be opened stops the job (it is the service's fault and is logged so).
pub async fn seal_plain_rows(pool: PgPool, keyring: Arc<Keyring>, shutdown: CancellationToken) {
    let mut total = Sealed::default();
    let mut delay = Duration::from_millis(500);
    while !shutdown.is_cancelled() {
        match seal_batch(&pool, &keyring, BATCH_SIZE).await {
            Ok(Sealed {
                inquiries: 0,
                journal_entries: 0,
            }) => {
                if total != Sealed::default() {
                    tracing::info!(
                        inquiries = total.inquiries,
                        journal_entries = total.journal_entries,
                        "personal data written in plain text is now sealed"
                    );
                }
                return;
            }
            Ok(sealed) => {
                total.inquiries += sealed.inquiries;
                total.journal_entries += sealed.journal_entries;
                delay = Duration::from_millis(500);
            }
            Err(UpgradeError::Database(error)) => {
                tracing::warn!(%error, ?delay, "cannot seal plain rows now; trying again");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(UpgradeError::Seal(error)) => {
                tracing::error!(%error, "cannot seal plain rows; they stay plain until this is fixed");
                return;
            }
        }
    }
}
