//! SQL on the `intake` schema. Personal data arrives here sealed and leaves sealed; rows
//! written before it was sealed are read through [`InquiryRow::personal`] until the upgrade job
//! has sealed them.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use borgerraad_messaging::OutboxRow;
use personal_data::Keyring;

use crate::domain::lifecycle::CaseState;
use crate::domain::personal::{
    self, PersonalRecord, PlainColumns, SealError, form_without_personal_data,
};
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
    /// The keyed fingerprint of what was submitted; `None` for submissions from before it was
    /// kept.
    pub client_request_fingerprint: Option<Vec<u8>>,
}

pub async fn find_submitted(
    pool: &PgPool,
    client_request_id: &str,
) -> sqlx::Result<Option<Submitted>> {
    sqlx::query_as(
        "SELECT inquiry_id, reference, received_at, version, client_request_fingerprint \
         FROM inquiries WHERE client_request_id = $1",
    )
    .bind(client_request_id)
    .fetch_optional(pool)
    .await
}

/// Stores a new inquiry with its representative, consent, first journal entry and
/// `inquiry.received` event in one statement: all or nothing, in one round trip. The personal
/// data arrives sealed (`personal`, the first entry's `details`); the form record without it.
pub async fn insert_inquiry(
    pool: &PgPool,
    inquiry: &Inquiry,
    sealed: SealedSubmission,
    client_request_fingerprint: Option<Vec<u8>>,
    actor: &str,
    event: OutboxRow,
) -> sqlx::Result<()> {
    let details = &inquiry.details;
    let requester = &details.requester;
    let representative = details.representative.as_ref();
    sqlx::query(
        "WITH inquiry AS (\
           INSERT INTO inquiries (inquiry_id, number, reference, requester_kind, department, \
             request_type, prior_dialogue_held, prior_dialogue_date, contact_channel, status, \
             received_at, version, requester_anonymous, personal, requester_cvr, arrival_channel, \
             form, client_request_id, client_request_fingerprint, requester_cpr_fingerprint) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $16, $17, $27, \
             $28) \
           RETURNING inquiry_id), \
         journal_entry AS (\
           INSERT INTO journal (inquiry_id, version, step, actor, at, status_after, details_sealed) \
           SELECT inquiry_id, 1, 'submit', $18, $11, $10, $19 FROM inquiry), \
         representative AS (\
           INSERT INTO representatives (inquiry_id, role, power_of_attorney_valid_until, \
             recorded_at) \
           SELECT inquiry_id, $20, $21, $11 FROM inquiry WHERE $20::text IS NOT NULL), \
         consent AS (\
           INSERT INTO consents (inquiry_id, contact_department, recorded_at) \
           SELECT inquiry_id, $22, $11 FROM inquiry) \
         INSERT INTO outbox (event_id, subject, payload, trace_context) \
         SELECT $23, $24, $25, $26 FROM inquiry",
    )
    .bind(inquiry.inquiry_id)
    .bind(inquiry.number)
    .bind(&inquiry.reference)
    .bind(requester.kind.as_str())
    .bind(&details.department)
    .bind(details.request_type.as_str())
    .bind(details.prior_dialogue.held)
    .bind(details.prior_dialogue.date)
    .bind(details.contact_channel.map(|c| c.as_str()))
    .bind(InquiryStatus::Received.as_str())
    .bind(details.received_at)
    .bind(requester.anonymous)
    .bind(sealed.personal)
    .bind(requester.cvr.as_ref().map(|cvr| cvr.digits().to_owned()))
    .bind(details.arrival_channel.as_str())
    .bind(Json(form_without_personal_data(&details.form)))
    .bind(&details.client_request_id)
    .bind(actor)
    .bind(sealed.first_entry)
    .bind(representative.map(|r| r.role.as_str()))
    .bind(representative.and_then(|r| r.power_of_attorney_valid_until))
    .bind(details.consent_to_contact_department)
    .bind(event.event_id)
    .bind(event.subject)
    .bind(event.payload)
    .bind(event.trace_context)
    .bind(client_request_fingerprint)
    .bind(sealed.cpr_fingerprint)
    .execute(pool)
    .await?;
    Ok(())
}

/// A submission's personal data, sealed: the inquiry's record and its first journal entry.
pub struct SealedSubmission {
    pub personal: Vec<u8>,
    pub first_entry: Vec<u8>,
    /// The keyed fingerprint of the requester's CPR number, to find a person's inquiries.
    pub cpr_fingerprint: Option<Vec<u8>>,
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
    /// Plain only on rows written before personal data was sealed; see [`InquiryRow::personal`].
    pub description: Option<String>,
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
    pub eligibility_outcome: Option<String>,
    pub referral_target: Option<String>,
    pub fired_rule_ids: Vec<String>,
    pub assessment_revision: i64,
    pub deadline_due_date: Option<NaiveDate>,
    pub deadline_working_days: Option<i32>,
    pub deadline_paused_working_days: i32,
    pub deadline_state: Option<String>,
    pub deadline_working_days_over: i32,
    pub deadline_revision: i64,
    /// The sealed record of the inquiry's personal data.
    pub personal: Option<Vec<u8>>,
}

impl InquiryRow {
    /// The inquiry's personal data: its sealed record opened or, on a row written before
    /// personal data was sealed, the plain columns.
    pub fn personal(&self, keyring: &Keyring) -> Result<PersonalRecord, SealError> {
        if let Some(sealed) = &self.personal {
            return personal::open_record(keyring, self.inquiry_id, sealed);
        }
        let requester_cpr = self
            .requester_cpr
            .as_deref()
            .map(|sealed| personal::open_legacy_cpr(keyring, self.inquiry_id, sealed))
            .transpose()?;
        Ok(PersonalRecord::from_plain(
            &self.form.0,
            PlainColumns {
                requester_name: self.requester_name.clone(),
                requester_cpr,
                description: self.description.clone().unwrap_or_default(),
                representative_name: self.representative_name.clone(),
                power_of_attorney_scope: self.representative_scope.clone(),
            },
        ))
    }
}

const SELECT_INQUIRY: &str = "SELECT i.inquiry_id, i.number, i.reference, i.requester_kind, \
     i.department, i.request_type, i.description, i.prior_dialogue_held, i.prior_dialogue_date, \
     i.contact_channel, i.status, i.received_at, i.version, i.requester_anonymous, \
     i.requester_name, i.requester_cpr, i.requester_cvr, i.arrival_channel, i.form, \
     i.caseworker_id, i.closing_outcome, i.handling_method, \
     c.contact_department AS consent_to_contact_department, r.name AS representative_name, \
     r.role AS representative_role, r.power_of_attorney_scope AS representative_scope, \
     r.power_of_attorney_valid_until AS representative_valid_until, i.eligibility_outcome, \
     i.referral_target, i.fired_rule_ids, i.assessment_revision, i.deadline_due_date, \
     i.deadline_working_days, i.deadline_paused_working_days, i.deadline_state, \
     i.deadline_working_days_over, i.deadline_revision, i.personal \
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

/// Replaces the case facts of an inquiry with `form` (without its free text) and `personal`
/// (sealed); its state and journal are written by `record_step`. A row still in plain text is
/// sealed whole on the way, its representative's plain columns cleared.
pub async fn amend_case_facts(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    facts: &CaseFacts,
    form: &Form,
    personal: Vec<u8>,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH representative AS (\
           UPDATE representatives SET name = NULL, power_of_attorney_scope = NULL \
           WHERE inquiry_id = $1 AND (name IS NOT NULL OR power_of_attorney_scope IS NOT NULL)) \
         UPDATE inquiries SET department = $2, request_type = $3, prior_dialogue_held = $4, \
           prior_dialogue_date = $5, form = $6, personal = $7, description = NULL, \
           requester_name = NULL, requester_cpr = NULL \
         WHERE inquiry_id = $1",
    )
    .bind(inquiry_id)
    .bind(&facts.department)
    .bind(facts.request_type.as_str())
    .bind(facts.prior_dialogue.held)
    .bind(facts.prior_dialogue.date)
    .bind(Json(form))
    .bind(personal)
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
    /// Plain only on entries written before personal data was sealed.
    pub details: Option<String>,
    pub details_sealed: Option<Vec<u8>>,
}

impl JournalRow {
    /// What the step recorded, opened.
    pub fn details(&self, keyring: &Keyring, inquiry_id: Uuid) -> Result<String, SealError> {
        match &self.details_sealed {
            Some(sealed) => personal::open_details(keyring, inquiry_id, self.version, sealed),
            None => Ok(self.details.clone().unwrap_or_default()),
        }
    }
}

pub async fn journal<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    inquiry_id: Uuid,
) -> sqlx::Result<Vec<JournalRow>> {
    sqlx::query_as(
        "SELECT version, step, actor, at, status_after, details, details_sealed FROM journal \
         WHERE inquiry_id = $1 ORDER BY version",
    )
    .bind(inquiry_id)
    .fetch_all(executor)
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
    /// Only these departments' inquiries (a department system's own), when set.
    pub within_departments: Option<Vec<String>>,
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
         AND ($10::text[] IS NULL OR i.department = ANY($10)) \
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
    .bind(&filter.within_departments)
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

/// Writes a step: the case's new state and its journal entry, whose details arrive sealed.
pub async fn record_step(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    next: &CaseState,
    step: &str,
    actor: &str,
    at: DateTime<Utc>,
    details_sealed: Vec<u8>,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH updated AS (\
           UPDATE inquiries SET status = $2, version = $3, caseworker_id = $4, \
             closing_outcome = $5, handling_method = $6 WHERE inquiry_id = $1 RETURNING inquiry_id) \
         INSERT INTO journal (inquiry_id, version, step, actor, at, status_after, details_sealed) \
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
    .bind(details_sealed)
    .execute(connection)
    .await?;
    Ok(())
}

/// Up to `limit` inquiries still holding personal data in plain text (an erased one holds none),
/// locked; rows another transaction holds are skipped, so replicas sealing at the same time share the work.
pub async fn claim_plain_inquiries(
    connection: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<InquiryRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INQUIRY} WHERE i.personal IS NULL AND i.personal_data_erased_at IS NULL \
         ORDER BY i.number LIMIT $1 \
         FOR UPDATE OF i SKIP LOCKED"
    )))
    .bind(limit)
    .fetch_all(connection)
    .await
}

/// One claimed inquiry, sealed: its record and its form record without free text.
pub struct SealedInquiry {
    pub inquiry_id: Uuid,
    pub personal: Vec<u8>,
    pub form: Form,
    /// The keyed fingerprint of the requester's CPR number, if any.
    pub cpr_fingerprint: Option<Vec<u8>>,
}

/// Stores the sealed records of claimed inquiries and clears their plain columns.
pub async fn store_sealed_inquiries(
    connection: &mut PgConnection,
    sealed: Vec<SealedInquiry>,
) -> sqlx::Result<()> {
    let mut ids = Vec::with_capacity(sealed.len());
    let mut records = Vec::with_capacity(sealed.len());
    let mut forms = Vec::with_capacity(sealed.len());
    let mut fingerprints = Vec::with_capacity(sealed.len());
    for inquiry in sealed {
        ids.push(inquiry.inquiry_id);
        records.push(inquiry.personal);
        forms.push(Json(inquiry.form));
        fingerprints.push(inquiry.cpr_fingerprint);
    }
    sqlx::query(
        "WITH representative AS (\
           UPDATE representatives SET name = NULL, power_of_attorney_scope = NULL \
           WHERE inquiry_id = ANY($1)) \
         UPDATE inquiries i SET personal = s.personal, form = s.form, description = NULL, \
           requester_name = NULL, requester_cpr = NULL, \
           requester_cpr_fingerprint = s.cpr_fingerprint \
         FROM UNNEST($1::uuid[], $2::bytea[], $3::jsonb[], $4::bytea[]) \
           AS s(inquiry_id, personal, form, cpr_fingerprint) \
         WHERE i.inquiry_id = s.inquiry_id",
    )
    .bind(ids)
    .bind(records)
    .bind(forms)
    .bind(fingerprints)
    .execute(connection)
    .await?;
    Ok(())
}

/// A journal entry still in plain text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlainEntry {
    pub inquiry_id: Uuid,
    pub version: i64,
    pub details: Option<String>,
}

/// Up to `limit` journal entries still in plain text (an erased one has no details at all),
/// locked, skipping those others hold.
pub async fn claim_plain_entries(
    connection: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<PlainEntry>> {
    sqlx::query_as(
        "SELECT inquiry_id, version, details FROM journal WHERE details_sealed IS NULL AND details IS NOT NULL \
         ORDER BY inquiry_id, version LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(connection)
    .await
}

/// Stores sealed details for claimed entries (`(inquiry, version, sealed)`) and clears the plain.
pub async fn store_sealed_entries(
    connection: &mut PgConnection,
    sealed: Vec<(Uuid, i64, Vec<u8>)>,
) -> sqlx::Result<()> {
    let mut ids = Vec::with_capacity(sealed.len());
    let mut versions = Vec::with_capacity(sealed.len());
    let mut details = Vec::with_capacity(sealed.len());
    for (inquiry_id, version, sealed) in sealed {
        ids.push(inquiry_id);
        versions.push(version);
        details.push(sealed);
    }
    sqlx::query(
        "UPDATE journal j SET details_sealed = s.details, details = NULL \
         FROM UNNEST($1::uuid[], $2::bigint[], $3::bytea[]) AS s(inquiry_id, version, details) \
         WHERE j.inquiry_id = s.inquiry_id AND j.version = s.version",
    )
    .bind(ids)
    .bind(versions)
    .bind(details)
    .execute(connection)
    .await?;
    Ok(())
}

/// Records eligibility's assessment in force, unless a later revision is already recorded (events
/// may arrive out of order). False when the inquiry is unknown or the revision is not newer.
pub async fn record_assessment(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    assessment: &AssessmentInForce,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE inquiries SET eligibility_outcome = $2, referral_target = $3, \
         fired_rule_ids = $4, assessment_revision = $5 \
         WHERE inquiry_id = $1 AND assessment_revision < $5",
    )
    .bind(inquiry_id)
    .bind(assessment.outcome.as_str())
    .bind(&assessment.referral_target)
    .bind(&assessment.fired_rule_ids)
    .bind(assessment.revision)
    .execute(connection)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// A deadline scheduled or moved by deadline-monitoring, as `deadline.scheduled` or
/// `deadline.rescheduled` carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineScheduled {
    pub due_date: NaiveDate,
    pub working_days: i32,
    pub paused_working_days: i32,
    pub revision: i64,
}

/// Records a (re)scheduled deadline as the one in force if its revision is newer than the one
/// recorded; false if the inquiry is unknown or already holds that revision or a newer one (a
/// stop of the same revision included, which came first).
pub async fn record_deadline_scheduled(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    deadline: &DeadlineScheduled,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE inquiries SET deadline_due_date = $2, deadline_working_days = $3, \
         deadline_paused_working_days = $4, deadline_state = 'running', \
         deadline_working_days_over = 0, deadline_revision = $5 \
         WHERE inquiry_id = $1 AND deadline_revision < $5",
    )
    .bind(inquiry_id)
    .bind(deadline.due_date)
    .bind(deadline.working_days)
    .bind(deadline.paused_working_days)
    .bind(deadline.revision)
    .execute(connection)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// A stopped deadline, as `deadline.stopped` carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineStopped {
    pub due_date: Option<NaiveDate>,
    /// `met`, `breached` or `stopped` (no promise to judge).
    pub state: &'static str,
    pub paused_working_days: i32,
    pub working_days_over: i32,
    pub revision: i64,
}

/// Records a stop as the deadline in force: it closes the revision it names, so it wins over a
/// schedule of that revision and is only replaced by a newer revision. False if the inquiry is
/// unknown or nothing changed.
pub async fn record_deadline_stopped(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    stop: &DeadlineStopped,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE inquiries SET deadline_due_date = COALESCE($2, deadline_due_date), \
         deadline_state = $3, deadline_paused_working_days = $4, \
         deadline_working_days_over = $5, deadline_revision = $6 \
         WHERE inquiry_id = $1 AND (deadline_revision < $6 \
           OR (deadline_revision = $6 AND deadline_state IN ('running', 'overdue')))",
    )
    .bind(inquiry_id)
    .bind(stop.due_date)
    .bind(stop.state)
    .bind(stop.paused_working_days)
    .bind(stop.working_days_over)
    .bind(stop.revision)
    .execute(connection)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks the running deadline overdue when deadline-monitoring announces its breach. The notice
/// names no revision, so it counts only for the due date in force: a notice for a due date
/// since moved, or one arriving after the stop, changes nothing.
pub async fn record_deadline_overdue(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    due_date: NaiveDate,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE inquiries SET deadline_state = 'overdue' \
         WHERE inquiry_id = $1 AND deadline_state = 'running' AND deadline_due_date = $2",
    )
    .bind(inquiry_id)
    .bind(due_date)
    .execute(connection)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Eligibility's decision on an inquiry, as its `eligibility.assessed` event carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentInForce {
    pub outcome: crate::domain::EligibilityOutcome,
    pub referral_target: Option<String>,
    pub fired_rule_ids: Vec<String>,
    pub revision: i64,
}

/// An inquiry whose retention time may have run out, locked for erasure.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetentionCandidate {
    pub inquiry_id: Uuid,
    pub status: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub personal_data_erased_at: Option<DateTime<Utc>>,
}

/// Up to `limit` inquiries that ended at or before `cutoff` and were not erased since, oldest
/// first, locked; rows another transaction holds are skipped, so replicas share the work.
pub async fn claim_due_for_erasure(
    connection: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<RetentionCandidate>> {
    sqlx::query_as(
        "SELECT i.inquiry_id, i.status, e.ended_at, i.personal_data_erased_at \
         FROM inquiries i CROSS JOIN LATERAL (\
           SELECT max(j.at) AS ended_at FROM journal j \
           WHERE j.inquiry_id = i.inquiry_id AND j.step IN ('close', 'withdraw')) e \
         WHERE i.status IN ('closed', 'withdrawn') AND e.ended_at <= $1 \
           AND (i.personal_data_erased_at IS NULL OR i.personal_data_erased_at < e.ended_at) \
         ORDER BY i.number LIMIT $2 FOR UPDATE OF i SKIP LOCKED",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(connection)
    .await
}

/// An inquiry the erasure ledger names whose data was not erased since its latest entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerCandidate {
    pub inquiry_id: Uuid,
    pub erased_at: DateTime<Utc>,
    pub reason: String,
}

/// Claims inquiries whose latest ledger entry is newer than their `personal_data_erased_at`
/// (or which show no erasure at all), oldest first, skipping rows another replica holds.
pub async fn claim_unerased_in_ledger(
    connection: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<LedgerCandidate>> {
    sqlx::query_as(
        "SELECT i.inquiry_id, l.erased_at, l.reason \
         FROM (SELECT DISTINCT ON (inquiry_id) inquiry_id, erased_at, reason FROM erasures \
               ORDER BY inquiry_id, erased_at DESC) l \
         JOIN inquiries i ON i.inquiry_id = l.inquiry_id \
         WHERE i.personal_data_erased_at IS NULL OR i.personal_data_erased_at < l.erased_at \
         ORDER BY i.number LIMIT $1 FOR UPDATE OF i SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(connection)
    .await
}

/// What erasure needs of an inquiry, locked until the transaction ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ErasureTarget {
    pub inquiry_id: Uuid,
    pub reference: String,
    pub department: String,
    pub status: String,
    pub version: i64,
    pub form: Json<Form>,
}

pub async fn lock_for_erasure(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
) -> sqlx::Result<Option<ErasureTarget>> {
    sqlx::query_as(
        "SELECT inquiry_id, reference, department, status, version, form FROM inquiries \
         WHERE inquiry_id = $1 FOR UPDATE",
    )
    .bind(inquiry_id)
    .fetch_optional(connection)
    .await
}

/// Erases an inquiry's personal data in one statement: the sealed record and any plain columns,
/// the CPR fingerprint, the CVR number, the request fingerprint and key, the form's free text,
/// the representative, the consent and every journal entry's details; then writes the erasure's
/// own journal entry (no details) at `version` and its ledger row.
#[allow(clippy::too_many_arguments)]
pub async fn erase_personal_data(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    version: i64,
    status: &str,
    form: &Form,
    actor: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH representative AS (DELETE FROM representatives WHERE inquiry_id = $1), \
         consent AS (DELETE FROM consents WHERE inquiry_id = $1), \
         details AS (\
           UPDATE journal SET details = NULL, details_sealed = NULL \
           WHERE inquiry_id = $1 AND (details IS NOT NULL OR details_sealed IS NOT NULL)), \
         inquiry AS (\
           UPDATE inquiries SET personal = NULL, description = NULL, requester_name = NULL, \
             requester_cpr = NULL, requester_cvr = NULL, requester_cpr_fingerprint = NULL, \
             client_request_id = NULL, client_request_fingerprint = NULL, form = $4, \
             version = $2, personal_data_erased_at = $6 \
           WHERE inquiry_id = $1 RETURNING inquiry_id), \
         entry AS (\
           INSERT INTO journal (inquiry_id, version, step, actor, at, status_after) \
           SELECT inquiry_id, $2, 'erase_personal_data', $5, $6, $3 FROM inquiry) \
         INSERT INTO erasures (inquiry_id, erased_at, reason) SELECT inquiry_id, $6, $7 FROM inquiry",
    )
    .bind(inquiry_id)
    .bind(version)
    .bind(status)
    .bind(Json(form))
    .bind(actor)
    .bind(at)
    .bind(reason)
    .execute(connection)
    .await?;
    Ok(())
}

/// The id of the key that sealed a `bytea` value in the storage layout of
/// `personal_data::Sealed::to_bytes` (version, key id length, key id, …).
const SEALED_KEY_ID: &str = "convert_from(substring({col} from 3 for get_byte({col}, 1)), 'UTF8')";
/// The id of the key that made a fingerprint (`personal_data::Fingerprint::to_bytes`: key id
/// length, key id, MAC).
const FINGERPRINT_KEY_ID: &str =
    "convert_from(substring({col} from 2 for get_byte({col}, 0)), 'UTF8')";

fn key_id_of(layout: &str, column: &str) -> String {
    layout.replace("{col}", column)
}

/// A sealed inquiry whose record or CPR fingerprint a key to retire made.
#[derive(sqlx::FromRow)]
pub struct ResealInquiry {
    pub inquiry_id: Uuid,
    pub personal: Vec<u8>,
}

/// Up to `limit` sealed inquiries whose record or CPR fingerprint one of `key_ids` made,
/// locked; rows another transaction holds are skipped, so replicas share the work.
pub async fn claim_inquiries_sealed_with(
    connection: &mut PgConnection,
    key_ids: &[String],
    limit: i64,
) -> sqlx::Result<Vec<ResealInquiry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT inquiry_id, personal FROM inquiries \
         WHERE personal IS NOT NULL AND ({record} = ANY($1) \
           OR (requester_cpr_fingerprint IS NOT NULL AND {fingerprint} = ANY($1))) \
         ORDER BY number LIMIT $2 FOR UPDATE SKIP LOCKED",
        record = key_id_of(SEALED_KEY_ID, "personal"),
        fingerprint = key_id_of(FINGERPRINT_KEY_ID, "requester_cpr_fingerprint"),
    )))
    .bind(key_ids)
    .bind(limit)
    .fetch_all(connection)
    .await
}

/// Stores claimed inquiries' records and CPR fingerprints made again with the current key.
pub async fn store_resealed_inquiries(
    connection: &mut PgConnection,
    resealed: Vec<(Uuid, Vec<u8>, Option<Vec<u8>>)>,
) -> sqlx::Result<()> {
    let mut ids = Vec::with_capacity(resealed.len());
    let mut records = Vec::with_capacity(resealed.len());
    let mut fingerprints = Vec::with_capacity(resealed.len());
    for (id, record, fingerprint) in resealed {
        ids.push(id);
        records.push(record);
        fingerprints.push(fingerprint);
    }
    sqlx::query(
        "UPDATE inquiries i SET personal = s.personal, \
           requester_cpr_fingerprint = s.cpr_fingerprint \
         FROM UNNEST($1::uuid[], $2::bytea[], $3::bytea[]) \
           AS s(inquiry_id, personal, cpr_fingerprint) \
         WHERE i.inquiry_id = s.inquiry_id",
    )
    .bind(ids)
    .bind(records)
    .bind(fingerprints)
    .execute(connection)
    .await?;
    Ok(())
}

/// A journal entry whose details a key to retire sealed.
#[derive(sqlx::FromRow)]
pub struct ResealEntry {
    pub inquiry_id: Uuid,
    pub version: i64,
    pub details_sealed: Vec<u8>,
}

/// Up to `limit` journal entries whose details one of `key_ids` sealed, locked, skipping
/// entries another transaction holds.
pub async fn claim_entries_sealed_with(
    connection: &mut PgConnection,
    key_ids: &[String],
    limit: i64,
) -> sqlx::Result<Vec<ResealEntry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT inquiry_id, version, details_sealed FROM journal \
         WHERE details_sealed IS NOT NULL AND {key} = ANY($1) \
         ORDER BY inquiry_id, version LIMIT $2 FOR UPDATE SKIP LOCKED",
        key = key_id_of(SEALED_KEY_ID, "details_sealed"),
    )))
    .bind(key_ids)
    .bind(limit)
    .fetch_all(connection)
    .await
}

/// How many values each key seals (or fingerprinted), per kind, and what is still plain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealCounts {
    /// (key id, inquiries' records, journal entries' details, CPR fingerprints), by key id.
    pub by_key: Vec<(String, i64, i64, i64)>,
    pub plain_inquiries: i64,
    pub plain_journal_entries: i64,
}

pub async fn seal_counts(pool: &PgPool) -> sqlx::Result<SealCounts> {
    let by_key: Vec<(String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT key_id, count(*) FILTER (WHERE kind = 'record'), \
           count(*) FILTER (WHERE kind = 'journal'), count(*) FILTER (WHERE kind = 'fingerprint') \
         FROM (SELECT 'record' AS kind, {record} AS key_id FROM inquiries WHERE personal IS NOT NULL \
           UNION ALL SELECT 'fingerprint', {fingerprint} FROM inquiries \
             WHERE requester_cpr_fingerprint IS NOT NULL \
           UNION ALL SELECT 'journal', {journal} FROM journal WHERE details_sealed IS NOT NULL) AS v \
         GROUP BY key_id ORDER BY key_id",
        record = key_id_of(SEALED_KEY_ID, "personal"),
        fingerprint = key_id_of(FINGERPRINT_KEY_ID, "requester_cpr_fingerprint"),
        journal = key_id_of(SEALED_KEY_ID, "details_sealed"),
    )))
    .fetch_all(pool)
    .await?;
    let (plain_inquiries, plain_journal_entries): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM inquiries WHERE personal IS NULL), \
           (SELECT count(*) FROM journal WHERE details_sealed IS NULL)",
    )
    .fetch_one(pool)
    .await?;
    Ok(SealCounts {
        by_key,
        plain_inquiries,
        plain_journal_entries,
    })
}
