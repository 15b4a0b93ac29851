//! SQL on the `intake` schema.

use anyhow::Context as _;
use borgerraad_messaging::OutboxRow;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{
    ContactChannel, Inquiry, InquiryStatus, NewInquiry, PriorDialogue, RequestType, RequesterKind,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The next inquiry number. A number taken by a submission that then fails is skipped.
pub async fn next_number(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT nextval('inquiry_number')")
        .fetch_one(pool)
        .await
}

/// Stores a new inquiry and its `inquiry.received` event in one statement, so both or neither
/// are written, in a single round trip.
pub async fn insert_inquiry(
    pool: &PgPool,
    inquiry: &Inquiry,
    event: OutboxRow,
) -> sqlx::Result<()> {
    let details = &inquiry.details;
    sqlx::query(
        "WITH inquiry AS (INSERT INTO inquiries (inquiry_id, number, reference, requester_kind, \
         department, request_type, description, prior_dialogue_held, prior_dialogue_date, \
         contact_channel, status, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING inquiry_id) \
         INSERT INTO outbox (event_id, subject, payload, trace_context) \
         SELECT $13, $14, $15, $16 FROM inquiry",
    )
    .bind(inquiry.inquiry_id)
    .bind(inquiry.number)
    .bind(&inquiry.reference)
    .bind(details.requester_kind.as_str())
    .bind(&details.department)
    .bind(details.request_type.as_str())
    .bind(&details.description)
    .bind(details.prior_dialogue.held)
    .bind(details.prior_dialogue.date)
    .bind(details.contact_channel.as_str())
    .bind(inquiry.status.as_str())
    .bind(inquiry.received_at)
    .bind(event.event_id)
    .bind(event.subject)
    .bind(event.payload)
    .bind(event.trace_context)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct InquiryRow {
    inquiry_id: Uuid,
    number: i64,
    reference: String,
    requester_kind: String,
    department: String,
    request_type: String,
    description: String,
    prior_dialogue_held: bool,
    prior_dialogue_date: Option<NaiveDate>,
    contact_channel: String,
    status: String,
    received_at: DateTime<Utc>,
}

impl TryFrom<InquiryRow> for Inquiry {
    type Error = anyhow::Error;

    fn try_from(row: InquiryRow) -> anyhow::Result<Self> {
        let unknown = |column: &str, code: &str| {
            anyhow::anyhow!("unknown {column} {code:?} in inquiry {}", row.inquiry_id)
        };
        Ok(Inquiry {
            inquiry_id: row.inquiry_id,
            number: row.number,
            reference: row.reference.clone(),
            details: NewInquiry {
                requester_kind: RequesterKind::from_code(&row.requester_kind)
                    .ok_or_else(|| unknown("requester_kind", &row.requester_kind))?,
                department: row.department.clone(),
                request_type: RequestType::from_code(&row.request_type)
                    .ok_or_else(|| unknown("request_type", &row.request_type))?,
                description: row.description.clone(),
                prior_dialogue: PriorDialogue {
                    held: row.prior_dialogue_held,
                    date: row.prior_dialogue_date,
                },
                contact_channel: ContactChannel::from_code(&row.contact_channel)
                    .ok_or_else(|| unknown("contact_channel", &row.contact_channel))?,
            },
            status: InquiryStatus::from_code(&row.status)
                .ok_or_else(|| unknown("status", &row.status))?,
            received_at: row.received_at,
        })
    }
}

const SELECT_INQUIRY: &str = "SELECT inquiry_id, number, reference, requester_kind, department, \
     request_type, description, prior_dialogue_held, prior_dialogue_date, contact_channel, status, \
     received_at FROM inquiries";

pub async fn get_inquiry(pool: &PgPool, inquiry_id: Uuid) -> anyhow::Result<Option<Inquiry>> {
    let row: Option<InquiryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INQUIRY} WHERE inquiry_id = $1"
    )))
    .bind(inquiry_id)
    .fetch_optional(pool)
    .await
    .context("cannot read inquiry")?;
    row.map(Inquiry::try_from).transpose()
}

/// Up to `limit` inquiries registered after inquiry number `after`, oldest first.
pub async fn list_inquiries(pool: &PgPool, after: i64, limit: i64) -> anyhow::Result<Vec<Inquiry>> {
    let rows: Vec<InquiryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INQUIRY} WHERE number > $1 ORDER BY number LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("cannot list inquiries")?;
    rows.into_iter().map(Inquiry::try_from).collect()
}
