//! SQL on the `intake` schema.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use borgerraad_messaging::OutboxRow;

use crate::domain::lifecycle::CaseState;
use crate::domain::{CaseFacts, Form, Inquiry, InquiryStatus};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The next inquiry number. A number taken by a submission that then fails is skipped.
pub async fn next_number(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT nextval('inquiry_number')")
        .fetch_one(pool)
        .await
}

/// What a submission returns, also to a retry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Submitted {
    pub inquiry_id: Uuid,
    pub reference: String,
    pub received_at: DateTime<Utc>,
    pub version: i64,
}

pub async fn find_submitted(
    pool: &PgPool,
    client_request_id: &str,
) -> sqlx::Result<Option<Submitted>> {
    sqlx::query_as(
        "SELECT inquiry_id, reference, received_at, version FROM inquiries WHERE client_request_id = $1",
    )
    .bind(client_request_id)
    .fetch_optional(pool)
    .await
}

/// Stores a new inquiry with its representative, consent, first journal entry and
/// `inquiry.received` event in one statement: all or nothing, in one round trip.
pub async fn insert_inquiry(
    pool: &PgPool,
    inquiry: &Inquiry,
    sealed_cpr: Option<Vec<u8>>,
    actor: &str,
    event: OutboxRow,
) -> sqlx::Result<()> {
    let details = &inquiry.details;
    let requester = &details.requester;
    let representative = details.representative.as_ref();
    sqlx::query(
        "WITH inquiry AS (\
           INSERT INTO inquiries (inquiry_id, number, reference, requester_kind, department, \
             request_type, description, prior_dialogue_held, prior_dialogue_date, contact_channel, \
             status, received_at, version, requester_anonymous, requester_name, requester_cpr, \
             requester_cvr, arrival_channel, form, client_request_id) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $15, $16, $17, $18, $19) \
           RETURNING inquiry_id), \
         journal_entry AS (\
           INSERT INTO journal (inquiry_id, version, step, actor, at, status_after, details) \
           SELECT inquiry_id, 1, 'submit', $20, $12, $11, 'received' FROM inquiry), \
         representative AS (\
           INSERT INTO representatives (inquiry_id, name, role, power_of_attorney_scope, \
             power_of_attorney_valid_until, recorded_at) \
           SELECT inquiry_id, $21, $22, $23, $24, $12 FROM inquiry WHERE $21::text IS NOT NULL), \
         consent AS (\
           INSERT INTO consents (inquiry_id, contact_department, recorded_at) \
           SELECT inquiry_id, $25, $12 FROM inquiry) \
         INSERT INTO outbox (event_id, subject, payload, trace_context) \
         SELECT $26, $27, $28, $29 FROM inquiry",
    )
    .bind(inquiry.inquiry_id)
    .bind(inquiry.number)
    .bind(&inquiry.reference)
    .bind(requester.kind.as_str())
    .bind(&details.department)
    .bind(details.request_type.as_str())
    .bind(&details.description)
    .bind(details.prior_dialogue.held)
    .bind(details.prior_dialogue.date)
    .bind(details.contact_channel.map(|c| c.as_str()))
    .bind(InquiryStatus::Received.as_str())
    .bind(details.received_at)
    .bind(requester.anonymous)
    .bind(&requester.name)
    .bind(sealed_cpr)
    .bind(requester.cvr.as_ref().map(|cvr| cvr.digits().to_owned()))
    .bind(details.arrival_channel.as_str())
    .bind(Json(&details.form))
    .bind(&details.client_request_id)
    .bind(actor)
    .bind(representative.map(|r| r.name.clone()))
    .bind(representative.map(|r| r.role.as_str()))
    .bind(representative.map(|r| r.power_of_attorney_scope.clone()))
    .bind(representative.and_then(|r| r.power_of_attorney_valid_until))
    .bind(details.consent_to_contact_department)
    .bind(event.event_id)
    .bind(event.subject)
    .bind(event.payload)
    .bind(event.trace_context)
    .execute(pool)
    .await?;
    Ok(())
}

/// An inquiry as stored, for reading.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InquiryRow {
    pub inquiry_id: Uuid,
    pub number: i64,
    pub reference: String,
    pub requester_kind: String,
    pub department: String,
    pub request_type: String,
    pub description: String,
    pub prior_dialogue_held: bool,
    pub prior_dialogue_date: Option<NaiveDate>,
    pub contact_channel: Option<String>,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub version: i64,
    pub requester_anonymous: bool,
    pub requester_name: Option<String>,
    pub requester_cpr: Option<Vec<u8>>,
    pub requester_cvr: Option<String>,
    pub arrival_channel: String,
    pub form: Json<Form>,
    pub caseworker_id: Option<String>,
    pub closing_outcome: Option<String>,
    pub handling_method: Option<String>,
    pub consent_to_contact_department: Option<bool>,
    pub representative_name: Option<String>,
    pub representative_role: Option<String>,
    pub representative_scope: Option<String>,
    pub representative_valid_until: Option<NaiveDate>,
}

const SELECT_INQUIRY: &str = "SELECT i.inquiry_id, i.number, i.reference, i.requester_kind, \
     i.department, i.request_type, i.description, i.prior_dialogue_held, i.prior_dialogue_date, \
     i.contact_channel, i.status, i.received_at, i.version, i.requester_anonymous, \
     i.requester_name, i.requester_cpr, i.requester_cvr, i.arrival_channel, i.form, \
     i.caseworker_id, i.closing_outcome, i.handling_method, \
     c.contact_department AS consent_to_contact_department, r.name AS representative_name, \
     r.role AS representative_role, r.power_of_attorney_scope AS representative_scope, \
     r.power_of_attorney_valid_until AS representative_valid_until \
     FROM inquiries i LEFT JOIN consents c USING (inquiry_id) \
     LEFT JOIN representatives r USING (inquiry_id)";

pub async fn get_inquiry<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    inquiry_id: Uuid,
) -> sqlx::Result<Option<InquiryRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INQUIRY} WHERE i.inquiry_id = $1"
    )))
    .bind(inquiry_id)
    .fetch_optional(executor)
    .await
}

/// The id of the inquiry with this human reference, if there is one.
pub async fn inquiry_id_by_reference(pool: &PgPool, reference: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT inquiry_id FROM inquiries WHERE reference = $1")
        .bind(reference)
        .fetch_optional(pool)
        .await
}

/// The inquiries among `ids` that exist, in no particular order.
pub async fn get_inquiries(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<InquiryRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INQUIRY} WHERE i.inquiry_id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// The parts of the form record an amendment replaces; the rest of it stays.
#[derive(serde::Serialize)]
struct AmendedForm<'a> {
    unit: &'a Option<String>,
    complaint_themes: &'a [crate::domain::ComplaintTheme],
    prior_dialogue: &'a crate::domain::PriorDialogueDetails,
    related_decision: &'a Option<crate::domain::RelatedDecision>,
    scope: &'a crate::domain::ScopeAnswers,
}

/// Replaces the case facts of an inquiry (its state and journal are written by `record_step`).
pub async fn amend_case_facts(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    facts: &CaseFacts,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE inquiries SET department = $2, request_type = $3, description = $4, \
         prior_dialogue_held = $5, prior_dialogue_date = $6, form = form || $7 \
         WHERE inquiry_id = $1",
    )
    .bind(inquiry_id)
    .bind(&facts.department)
    .bind(facts.request_type.as_str())
    .bind(&facts.description)
    .bind(facts.prior_dialogue.held)
    .bind(facts.prior_dialogue.date)
    .bind(Json(AmendedForm {
        unit: &facts.unit,
        complaint_themes: &facts.complaint_themes,
        prior_dialogue: &facts.prior_dialogue_details,
        related_decision: &facts.related_decision,
        scope: &facts.scope,
    }))
    .execute(connection)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JournalRow {
    pub version: i64,
    pub step: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub status_after: String,
    pub details: String,
}

pub async fn journal(pool: &PgPool, inquiry_id: Uuid) -> sqlx::Result<Vec<JournalRow>> {
    sqlx::query_as(
        "SELECT version, step, actor, at, status_after, details FROM journal \
         WHERE inquiry_id = $1 ORDER BY version",
    )
    .bind(inquiry_id)
    .fetch_all(pool)
    .await
}

/// Which inquiries a listing shows; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<InquiryStatus>,
    pub department: Option<String>,
    pub caseworker_id: Option<String>,
    pub request_type: Option<String>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
    pub reference: Option<String>,
}

/// Up to `limit` matching inquiries registered after inquiry number `after`, oldest first.
pub async fn list_inquiries(
    pool: &PgPool,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<InquiryRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INQUIRY} WHERE i.number > $1 \
         AND ($3::text IS NULL OR i.status = $3) \
         AND ($4::text IS NULL OR i.department = $4) \
         AND ($5::text IS NULL OR i.caseworker_id = $5) \
         AND ($6::text IS NULL OR i.request_type = $6) \
         AND ($7::timestamptz IS NULL OR i.received_at >= $7) \
         AND ($8::timestamptz IS NULL OR i.received_at < $8) \
         AND ($9::text IS NULL OR i.reference = $9) \
         ORDER BY i.number LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(&filter.department)
    .bind(&filter.caseworker_id)
    .bind(&filter.request_type)
    .bind(filter.received_from)
    .bind(filter.received_before)
    .bind(&filter.reference)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub department: String,
    pub status: String,
    pub version: i64,
    pub caseworker_id: Option<String>,
    pub closing_outcome: Option<String>,
    pub handling_method: Option<String>,
}

/// The case's current state, locked until the transaction ends so steps happen one at a time.
pub async fn lock_case(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
) -> sqlx::Result<Option<CaseRow>> {
    sqlx::query_as(
        "SELECT department, status, version, caseworker_id, closing_outcome, handling_method \
         FROM inquiries WHERE inquiry_id = $1 FOR UPDATE",
    )
    .bind(inquiry_id)
    .fetch_optional(connection)
    .await
}

/// Writes a step: the case's new state and its journal entry.
pub async fn record_step(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    next: &CaseState,
    step: &str,
    actor: &str,
    at: DateTime<Utc>,
    details: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH updated AS (\
           UPDATE inquiries SET status = $2, version = $3, caseworker_id = $4, \
             closing_outcome = $5, handling_method = $6 WHERE inquiry_id = $1 RETURNING inquiry_id) \
         INSERT INTO journal (inquiry_id, version, step, actor, at, status_after, details) \
         SELECT inquiry_id, $3, $7, $8, $9, $2, $10 FROM updated",
    )
    .bind(inquiry_id)
    .bind(next.status.as_str())
    .bind(next.version)
    .bind(&next.caseworker_id)
    .bind(next.closing_outcome.map(|o| o.as_str()))
    .bind(next.handling_method.map(|h| h.as_str()))
    .bind(step)
    .bind(actor)
    .bind(at)
    .bind(details)
    .execute(connection)
    .await?;
    Ok(())
}
