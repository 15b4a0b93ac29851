//! SQL of the access log: appending under the head's lock, reading by inquiry, and walking the
//! whole chain for verification.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Access, Accessor, DataKind, Entry, Verdict, Verifier, chain};

/// Entries read per page when the whole log is verified.
const VERIFY_PAGE: i64 = 5_000;

/// Appends the accesses, chained after the newest entry, in one transaction of its own: the
/// caller answers only once this has committed (no record, no data).
pub async fn append(pool: &PgPool, accesses: Vec<Access>) -> anyhow::Result<()> {
    if accesses.is_empty() {
        return Ok(());
    }
    let mut transaction = pool.begin().await?;
    append_in(&mut transaction, accesses).await?;
    transaction
        .commit()
        .await
        .context("cannot commit the access log")
}

/// Appends in the caller's transaction (for a read that is itself transactional).
pub async fn append_in(connection: &mut PgConnection, accesses: Vec<Access>) -> anyhow::Result<()> {
    if accesses.is_empty() {
        return Ok(());
    }
    // The head's row lock orders concurrent appends: each chains after the one before it.
    let (position, hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT position, hash FROM access_log_head FOR UPDATE")
            .fetch_one(&mut *connection)
            .await
            .context("cannot read the access log's head")?;
    let head = <[u8; 32]>::try_from(hash.as_slice()).context("the access log's head is damaged")?;
    let entries = chain((position, head), accesses);

    let mut positions = Vec::with_capacity(entries.len());
    let mut ats = Vec::with_capacity(entries.len());
    let mut subjects = Vec::with_capacity(entries.len());
    let mut client_ids = Vec::with_capacity(entries.len());
    let mut roles = Vec::with_capacity(entries.len());
    let mut departments = Vec::with_capacity(entries.len());
    let mut inquiry_ids = Vec::with_capacity(entries.len());
    // text[] per row does not unnest from a 2-D array of uneven rows: the kinds travel joined.
    let mut data = Vec::with_capacity(entries.len());
    let mut purposes = Vec::with_capacity(entries.len());
    let mut trace_ids = Vec::with_capacity(entries.len());
    let mut previous_hashes = Vec::with_capacity(entries.len());
    let mut hashes = Vec::with_capacity(entries.len());
    for entry in &entries {
        let access = &entry.access;
        positions.push(entry.position);
        ats.push(access.at);
        subjects.push(access.accessor.subject.clone());
        client_ids.push(access.accessor.client_id.clone());
        roles.push(access.accessor.role.clone());
        departments.push(access.accessor.department.clone());
        inquiry_ids.push(access.inquiry_id);
        data.push(
            access
                .data
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        purposes.push(access.purpose.clone());
        trace_ids.push(access.trace_id.clone());
        previous_hashes.push(entry.previous_hash.to_vec());
        hashes.push(entry.hash.to_vec());
    }
    sqlx::query(
        "INSERT INTO access_log (position, at, subject, client_id, role, department, inquiry_id, \
           data, purpose, trace_id, previous_hash, hash) \
         SELECT position, at, subject, client_id, role, department, inquiry_id, \
           CASE WHEN data = '' THEN '{}'::text[] ELSE string_to_array(data, ',') END, \
           purpose, trace_id, previous_hash, hash \
         FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
           $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::bytea[], $12::bytea[]) \
           AS e(position, at, subject, client_id, role, department, inquiry_id, data, purpose, \
                trace_id, previous_hash, hash)",
    )
    .bind(&positions)
    .bind(&ats)
    .bind(&subjects)
    .bind(&client_ids)
    .bind(&roles)
    .bind(&departments)
    .bind(&inquiry_ids)
    .bind(&data)
    .bind(&purposes)
    .bind(&trace_ids)
    .bind(&previous_hashes)
    .bind(&hashes)
    .execute(&mut *connection)
    .await
    .context("cannot append to the access log")?;
    let last = entries.last().context("entries were chained")?;
    sqlx::query("UPDATE access_log_head SET position = $1, hash = $2")
        .bind(last.position)
        .bind(last.hash.to_vec())
        .execute(&mut *connection)
        .await
        .context("cannot move the access log's head")?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    position: i64,
    at: DateTime<Utc>,
    subject: String,
    client_id: Option<String>,
    role: String,
    department: Option<String>,
    inquiry_id: Uuid,
    data: Vec<String>,
    purpose: Option<String>,
    trace_id: Option<String>,
    previous_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl EntryRow {
    /// The entry as stored. Unknown data kinds or damaged hashes cannot be read back as an
    /// entry: they are reported as a broken chain by the caller, never silently dropped.
    fn into_entry(self) -> Result<Entry, String> {
        let data = self
            .data
            .iter()
            .map(|code| DataKind::from_code(code).ok_or_else(|| format!("unknown data {code:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        let hash = |bytes: &[u8]| {
            <[u8; 32]>::try_from(bytes).map_err(|_| "a hash is not 32 bytes".to_owned())
        };
        Ok(Entry {
            position: self.position,
            access: Access {
                at: self.at,
                accessor: Accessor {
                    subject: self.subject,
                    client_id: self.client_id,
                    role: self.role,
                    department: self.department,
                },
                inquiry_id: self.inquiry_id,
                data,
                purpose: self.purpose,
                trace_id: self.trace_id,
            },
            previous_hash: hash(&self.previous_hash)?,
            hash: hash(&self.hash)?,
        })
    }
}

const SELECT_ENTRY: &str = "SELECT position, at, subject, client_id, role, department, \
     inquiry_id, data, purpose, trace_id, previous_hash, hash FROM access_log";

/// One entry as the access log lists it, with the inquiry's reference.
pub struct Listed {
    pub entry: Entry,
    pub reference: String,
}

/// Up to `limit` entries about the given inquiries after position `after`, oldest first.
pub async fn list_for_inquiries<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    inquiry_ids: &[Uuid],
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<Listed>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        entry: EntryRow,
        reference: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.position, a.at, a.subject, a.client_id, a.role, a.department, a.inquiry_id, \
           a.data, a.purpose, a.trace_id, a.previous_hash, a.hash, i.reference \
         FROM access_log a JOIN inquiries i USING (inquiry_id) \
         WHERE a.inquiry_id = ANY($1) AND a.position > $2 ORDER BY a.position LIMIT $3",
    )
    .bind(inquiry_ids)
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await
    .context("cannot read the access log")?;
    rows.into_iter()
        .map(|row| {
            Ok(Listed {
                entry: row
                    .entry
                    .into_entry()
                    .map_err(|problem| anyhow::anyhow!("the access log is damaged: {problem}"))?,
                reference: row.reference,
            })
        })
        .collect()
}

/// The inquiries of one person: by the keyed fingerprints of their CPR number (one per key of
/// the ring) or by their CVR number.
pub async fn inquiries_of_person<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    cpr_fingerprints: &[Vec<u8>],
    cvr: Option<&str>,
) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT inquiry_id FROM inquiries \
         WHERE requester_cpr_fingerprint = ANY($1) OR ($2::text IS NOT NULL AND requester_cvr = $2) \
         ORDER BY number",
    )
    .bind(cpr_fingerprints)
    .bind(cvr)
    .fetch_all(executor)
    .await
    .context("cannot look up the person's inquiries")
}

/// Walks the whole chain, a page at a time, against the recorded head.
pub async fn verify(pool: &PgPool) -> anyhow::Result<Verdict> {
    // The head first: entries appended while the walk runs lie beyond it and are left for the
    // next verification.
    let (head_position, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT position, hash FROM access_log_head")
            .fetch_one(pool)
            .await
            .context("cannot read the access log's head")?;
    let Ok(head_hash) = <[u8; 32]>::try_from(head_hash.as_slice()) else {
        return Ok(Verdict::Broken {
            position: head_position,
            problem: "the recorded head is damaged".into(),
        });
    };
    let mut verifier = Verifier::default();
    let mut after = 0;
    loop {
        let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_ENTRY} WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
        )))
        .bind(after)
        .bind(head_position)
        .bind(VERIFY_PAGE)
        .fetch_all(pool)
        .await
        .context("cannot read the access log")?;
        let Some(last) = rows.last().map(|row| row.position) else {
            break;
        };
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let position = row.position;
            match row.into_entry() {
                Ok(entry) => entries.push(entry),
                Err(problem) => {
                    verifier.feed(&entries);
                    return Ok(verifier
                        .broken()
                        .unwrap_or(Verdict::Broken { position, problem }));
                }
            }
        }
        verifier.feed(&entries);
        after = last;
    }
    Ok(verifier.finish((head_position, head_hash)))
}
