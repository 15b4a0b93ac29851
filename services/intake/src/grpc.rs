//! The `IntakeService` gRPC adapter: converts proto ⇄ domain and writes through [`crate::db`]
//! and [`crate::cases`].

use std::sync::Arc;

use borgerraad_messaging::{Outbox, OutboxRow};
use borgerraad_platform::auth::{self, Principal, Role};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, from_timestamp, timestamp};
use borgerraad_platform::departments::Departments;
use borgerraad_platform::grpc::paging::Page;
use borgerraad_platform::grpc::{FieldViolation, invalid_argument, parse_id, unexpected};
use borgerraad_platform::telemetry::{current_trace_id, trace_id_of};
use borgerraad_proto::v1::{self as pb, intake_service_server::IntakeService};
use chrono::Datelike;
use personal_data::{Keyring, find_cpr_like};
use prost::Message as _;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::audit::{Access, Accessor, DataKind};
use crate::cases::{StepError, take_step};
use crate::db;
use crate::domain::lifecycle::Command;
use crate::domain::personal::{self, FreeTextView, PersonalRecord, cpr_for_display};
use crate::domain::{
    self, ClosingOutcome, ContactChannel, HandlingMethod, Inquiry, InquiryStatus,
    MAX_SHORT_TEXT_CHARS, MAX_TEXT_CHARS, MediationResult, MediationStage, RequestType,
    RequestedChannel, TextKind, Unreadable, checked_text,
};
use crate::error::IntakeError;
use inquiry_form::proto::{decode, encode, requested_channel};

#[derive(Clone)]
pub struct IntakeApi {
    pub pool: PgPool,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub departments: Departments,
    pub keyring: Arc<Keyring>,
}

/// What an answer held that a reveal shows in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shown {
    requester_cpr: bool,
    free_text_cpr: bool,
}

/// Who reads, in what role, with what purpose, in which trace: what the access log records.
struct Caller {
    principal: Principal,
    trace_id: Option<String>,
}

impl Caller {
    fn of<T>(request: &Request<T>) -> Result<Self, Status> {
        // The caller's trace where this process has no tracer of its own.
        let trace_id = current_trace_id().or_else(|| {
            request
                .metadata()
                .get("traceparent")
                .and_then(|value| value.to_str().ok())
                .and_then(trace_id_of)
        });
        Ok(Self {
            principal: auth::principal(request)?,
            trace_id,
        })
    }

    fn accessor(&self) -> Accessor {
        let principal = &self.principal;
        Accessor {
            subject: principal.subject.clone(),
            client_id: principal.client.clone(),
            role: principal.role_names(),
            department: principal.department_scoped().then(|| {
                principal
                    .departments
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        }
    }

    /// How much personal data this caller's role lets it see.
    fn view(&self) -> View {
        let principal = &self.principal;
        if principal.has_any(&[Role::Caseworker, Role::DepartmentSystem]) {
            View::Full
        } else if principal.has(Role::EligibilityService) {
            View::Description
        } else {
            View::NoPersonalData
        }
    }

    /// The person who acts: the token's subject; an `actor` field must agree or stay empty.
    fn actor(&self, requested: &str) -> Result<String, FieldViolation> {
        // Checked as every text is first, so an unreadable one is named as such.
        let requested = checked_text("actor", requested, MAX_SHORT_TEXT_CHARS, TextKind::OneLine)?
            .unwrap_or_default();
        auth::acting_subject(&self.principal, &requested, "actor")
    }
}

/// What of an inquiry's personal data a role sees. Each service identity gets only what its
/// work needs: eligibility the description it assesses, deadline-monitoring the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Full,
    Description,
    NoPersonalData,
}

/// Clears what `view` does not show.
fn redact(inquiry: &mut pb::Inquiry, view: View) {
    if view == View::Full {
        return;
    }
    inquiry.requester = inquiry.requester.take().map(|requester| pb::Requester {
        anonymous: requester.anonymous,
        ..Default::default()
    });
    inquiry.representative = None;
    if let Some(dialogue) = inquiry.prior_dialogue.as_mut() {
        dialogue.with_whom.clear();
        dialogue.outcome.clear();
    }
    inquiry.unit.clear();
    inquiry.desired_outcome.clear();
    inquiry.attachments.clear();
    // The steps stay (reconciliation follows the states), their free text goes.
    for entry in &mut inquiry.journal {
        entry.details.clear();
    }
    if view == View::NoPersonalData {
        inquiry.description.clear();
    }
}

/// The kinds of personal data an answer carries, for its access-log entry.
fn data_shown(inquiry: &pb::Inquiry, shown: Shown, revealed: bool) -> Vec<DataKind> {
    let mut data = Vec::new();
    let requester = inquiry.requester.as_ref();
    if requester.is_some_and(|r| !r.name.is_empty() || !r.cvr.is_empty())
        || inquiry.representative.is_some()
        || !inquiry.desired_outcome.is_empty()
        || !inquiry.attachments.is_empty()
    {
        data.push(DataKind::Requester);
    }
    let requester_cpr = requester.is_some_and(|r| !r.cpr.is_empty()) && shown.requester_cpr;
    // Conservative: a CPR number in any free text counts while any free text is shown.
    let text_cpr = shown.free_text_cpr
        && (!inquiry.description.is_empty()
            || inquiry
                .journal
                .iter()
                .any(|entry| !entry.details.is_empty()));
    if requester_cpr || text_cpr {
        data.push(if revealed {
            DataKind::CprRevealed
        } else {
            DataKind::CprMasked
        });
    }
    if !inquiry.description.is_empty() {
        data.push(DataKind::Description);
    }
    if inquiry
        .journal
        .iter()
        .any(|entry| !entry.details.is_empty())
    {
        data.push(DataKind::Notes);
    }
    data
}

impl IntakeApi {
    /// The inquiry as the API shows it: personal data opened, CPR numbers (the requester's and
    /// any in free text) masked unless `reveal`.
    fn to_proto(
        &self,
        row: db::InquiryRow,
        journal: Vec<db::JournalRow>,
        reveal: bool,
    ) -> Result<(pb::Inquiry, Shown), IntakeError> {
        let record: PersonalRecord = row.personal(&self.keyring)?;
        let mut text = FreeTextView::new(reveal);
        let journal = journal
            .into_iter()
            .map(|entry| {
                let details = entry.details(&self.keyring, row.inquiry_id)?;
                Ok(pb::JournalEntry {
                    version: entry.version,
                    step: entry.step,
                    actor: entry.actor,
                    at: Some(timestamp(entry.at)),
                    status_after: encode::<pb::InquiryStatus>(&entry.status_after),
                    details: text.show(details),
                })
            })
            .collect::<Result<Vec<_>, IntakeError>>()?;
        let form = row.form.0;
        let decision = form.related_decision.as_ref();
        let inquiry = pb::Inquiry {
            inquiry_id: row.inquiry_id.to_string(),
            reference: row.reference,
            requester_kind: encode::<pb::RequesterKind>(&row.requester_kind),
            department: row.department,
            request_type: encode::<pb::RequestType>(&row.request_type),
            description: text.show(record.description),
            prior_dialogue: Some(pb::PriorDialogue {
                held: row.prior_dialogue_held,
                date: row.prior_dialogue_date.map(date),
                with_whom: text
                    .show_optional(record.prior_dialogue_with_whom)
                    .unwrap_or_default(),
                outcome: text
                    .show_optional(record.prior_dialogue_outcome)
                    .unwrap_or_default(),
                ongoing: form.prior_dialogue.ongoing,
            }),
            contact_channel: row
                .contact_channel
                .as_deref()
                .map_or(0, encode::<pb::ContactChannel>),
            received_at: Some(timestamp(row.received_at)),
            status: encode::<pb::InquiryStatus>(&row.status),
            version: row.version,
            requester: Some(pb::Requester {
                name: text
                    .show_optional(record.requester_name)
                    .unwrap_or_default(),
                cpr: record
                    .requester_cpr
                    .as_deref()
                    .map(|digits| cpr_for_display(digits, reveal))
                    .unwrap_or_default(),
                cvr: row.requester_cvr.unwrap_or_default(),
                anonymous: row.requester_anonymous,
            }),
            representative: row.representative_role.map(|role| pb::Representative {
                name: text
                    .show_optional(record.representative_name)
                    .unwrap_or_default(),
                role: encode::<pb::RepresentativeRole>(&role),
                power_of_attorney_scope: text
                    .show_optional(record.power_of_attorney_scope)
                    .unwrap_or_default(),
                power_of_attorney_valid_until: row.representative_valid_until.map(date),
            }),
            consent_to_contact_department: row.consent_to_contact_department.unwrap_or(false),
            arrival_channel: encode::<pb::ArrivalChannel>(&row.arrival_channel),
            unit: text.show_optional(record.unit).unwrap_or_default(),
            complaint_themes: form
                .complaint_themes
                .iter()
                .map(|t| encode::<pb::ComplaintTheme>(t.as_str()))
                .collect(),
            related_decision: decision.map(|d| pb::RelatedDecision {
                decision_date: d.decision_date.map(date),
                case_number: d.case_number.clone().unwrap_or_default(),
                appealed: d.appealed,
                brought_before: d
                    .brought_before
                    .map_or(0, |b| encode::<pb::OtherBody>(b.as_str())),
                appeal_deadline: d.appeal_deadline.map(date),
            }),
            scope: Some(pb::ScopeAnswers {
                about_employment: form.scope.about_employment,
                about_political_decision: form.scope.about_political_decision,
                wants_decision_changed: form.scope.wants_decision_changed,
                other_authority: form
                    .scope
                    .other_authority
                    .map_or(0, |a| encode::<pb::OtherAuthority>(a.as_str())),
                matter_closed_on: form.scope.matter_closed_on.map(date),
            }),
            desired_outcome: text
                .show_optional(record.desired_outcome)
                .unwrap_or_default(),
            attachments: record
                .attachments
                .into_iter()
                .map(|a| pb::Attachment {
                    title: text.show(a.title),
                    document_ref: a.document_ref,
                })
                .collect(),
            contains_sensitive_data: form.contains_sensitive_data,
            caseworker_id: row.caseworker_id.unwrap_or_default(),
            closing_outcome: row
                .closing_outcome
                .as_deref()
                .map_or(0, encode::<pb::ClosingOutcome>),
            handling_method: row
                .handling_method
                .as_deref()
                .map_or(0, encode::<pb::HandlingMethod>),
            journal,
            eligibility_outcome: row
                .eligibility_outcome
                .as_deref()
                .map_or(0, encode::<pb::EligibilityOutcome>),
            referral_target: row.referral_target.unwrap_or_default(),
            fired_rule_ids: row.fired_rule_ids,
            assessment_revision: row.assessment_revision,
            deadline: row.deadline_due_date.map(|due_date| pb::DeadlineInForce {
                due_date: Some(date(due_date)),
                working_days: row.deadline_working_days.unwrap_or_default(),
                paused_working_days: row.deadline_paused_working_days,
                state: row
                    .deadline_state
                    .as_deref()
                    .map_or(0, encode::<pb::DeadlineInForceState>),
                working_days_over: row.deadline_working_days_over,
                revision: row.deadline_revision,
            }),
        };
        let shown = Shown {
            requester_cpr: record.requester_cpr.is_some(),
            free_text_cpr: text.held_cpr(),
        };
        Ok((inquiry, shown))
    }

    /// The inquiry with its journal as `caller` may see it, CPR numbers masked unless
    /// `reveal` (which needs the purpose). The access is logged in the transaction of the read:
    /// no record, no answer. An inquiry of another department is not found for a department
    /// system, as if it did not exist.
    async fn read(
        &self,
        inquiry_id: Uuid,
        caller: &Caller,
        reveal: bool,
        purpose: Option<String>,
    ) -> Result<pb::Inquiry, IntakeError> {
        let mut transaction = self.pool.begin().await?;
        let row = db::get_inquiry(&mut *transaction, inquiry_id)
            .await?
            .filter(|row| caller.principal.may_see_department(&row.department))
            .ok_or(IntakeError::NotFound)?;
        let journal = db::journal(&mut *transaction, inquiry_id).await?;
        let (mut inquiry, shown) = self.to_proto(row, journal, reveal)?;
        redact(&mut inquiry, caller.view());
        let data = data_shown(&inquiry, shown, reveal);
        if !data.is_empty() {
            let access = Access::new(
                self.clock.now(),
                caller.accessor(),
                inquiry_id,
                data,
                purpose,
                caller.trace_id.clone(),
            );
            crate::audit::store::append_in(&mut transaction, vec![access]).await?;
        }
        transaction.commit().await?;
        if reveal {
            tracing::info!(
                subject = %caller.principal.subject,
                requester_cpr = shown.requester_cpr,
                free_text_cpr = shown.free_text_cpr,
                "CPR numbers shown in full"
            );
        }
        Ok(inquiry)
    }

    /// Inquiries as `caller` may see them, each access logged first (one entry per inquiry).
    async fn shown(
        &self,
        rows: Vec<db::InquiryRow>,
        caller: &Caller,
    ) -> Result<Vec<pb::Inquiry>, IntakeError> {
        let now = self.clock.now();
        let view = caller.view();
        let mut accesses = Vec::new();
        let mut inquiries = Vec::with_capacity(rows.len());
        for row in rows {
            let inquiry_id = row.inquiry_id;
            let (mut inquiry, shown) = self.to_proto(row, Vec::new(), false)?;
            redact(&mut inquiry, view);
            let data = data_shown(&inquiry, shown, false);
            if !data.is_empty() {
                accesses.push(Access::new(
                    now,
                    caller.accessor(),
                    inquiry_id,
                    data,
                    None,
                    caller.trace_id.clone(),
                ));
            }
            inquiries.push(inquiry);
        }
        crate::audit::store::append(&self.pool, accesses).await?;
        Ok(inquiries)
    }

    /// Every inquiry of `person` with all its personal data (CPR numbers revealed: it is the
    /// person's own access request) and the access log of those inquiries. Each inquiry's
    /// access is recorded in the transaction of the read, before anything is returned, and the
    /// log read after it, so the export lists its own entries too.
    async fn export(
        &self,
        caller: &Caller,
        person: &Person,
        purpose: Option<String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Exported, IntakeError> {
        /// Access-log entries read per round trip.
        const PAGE: i64 = 1_000;
        let mut transaction = self.pool.begin().await?;
        let ids = person.inquiries(&mut *transaction, &self.keyring).await?;
        let mut inquiries = Vec::with_capacity(ids.len());
        let mut accesses = Vec::with_capacity(ids.len());
        for id in &ids {
            // Only caseworkers may export, but a token may carry a department scope too.
            let Some(row) = db::get_inquiry(&mut *transaction, *id)
                .await?
                .filter(|row| caller.principal.may_see_department(&row.department))
            else {
                continue;
            };
            let journal = db::journal(&mut *transaction, *id).await?;
            let (inquiry, shown) = self.to_proto(row, journal, true)?;
            let mut data = data_shown(&inquiry, shown, true);
            data.push(DataKind::AccessLog);
            accesses.push(Access::new(
                now,
                caller.accessor(),
                *id,
                data,
                purpose.clone(),
                caller.trace_id.clone(),
            ));
            inquiries.push(inquiry);
        }
        crate::audit::store::append_in(&mut transaction, accesses).await?;
        let mut access_log = Vec::new();
        let mut after = 0;
        loop {
            let page =
                crate::audit::store::list_for_inquiries(&mut *transaction, &ids, after, PAGE)
                    .await?;
            let full = page.len() as i64 == PAGE;
            if let Some(last) = page.last() {
                after = last.entry.position;
            }
            access_log.extend(page.into_iter().map(access_log_entry));
            if !full {
                break;
            }
        }
        transaction.commit().await?;
        Ok(Exported {
            inquiries,
            access_log,
        })
    }

    async fn submit(
        &self,
        request: pb::SubmitInquiryRequest,
    ) -> Result<pb::SubmitInquiryResponse, IntakeError> {
        let now = self.clock.now();
        let client_request_id = request.client_request_id.trim().to_owned();
        // What the request holds, the idempotency key aside, fingerprinted under the key ring:
        // a retry must hold exactly the same.
        let content = pb::SubmitInquiryRequest {
            client_request_id: String::new(),
            ..request.clone()
        }
        .encode_to_vec();
        if !client_request_id.is_empty()
            && let Some(first) = db::find_submitted(&self.pool, &client_request_id).await?
        {
            return self.replay(first, &content);
        }
        let fingerprint =
            (!client_request_id.is_empty()).then(|| self.keyring.fingerprint(&content).to_bytes());
        let details = domain::validate(
            inquiry_form::proto::submission(request),
            &self.departments,
            now,
        )
        .map_err(IntakeError::Invalid)?;
        let number = db::next_number(&self.pool).await?;
        let year = working_days::copenhagen_date(details.received_at).year();
        let inquiry = Inquiry {
            inquiry_id: Uuid::now_v7(),
            number,
            reference: domain::reference(year, number),
            details,
        };
        tracing::Span::current().record("inquiry_id", tracing::field::display(inquiry.inquiry_id));
        // Two seals for all of it: the record of personal data and the first journal entry, each
        // bound to this inquiry so it cannot be moved to another row.
        let sealed = db::SealedSubmission {
            personal: personal::seal_record(
                &self.keyring,
                inquiry.inquiry_id,
                &PersonalRecord::of(&inquiry.details),
            )?,
            first_entry: personal::seal_details(&self.keyring, inquiry.inquiry_id, 1, "received")?,
            cpr_fingerprint: inquiry.details.requester.cpr.as_ref().map(|cpr| {
                self.keyring
                    .fingerprint(&crate::audit::person_key(cpr.digits()))
                    .to_bytes()
            }),
        };
        let event = OutboxRow::new(&crate::events::inquiry_received(&inquiry))?;
        match db::insert_inquiry(
            &self.pool,
            &inquiry,
            sealed,
            fingerprint,
            "submitter",
            event,
        )
        .await
        {
            Ok(()) => {}
            // A concurrent retry with the same client request id won: answer as it did.
            Err(error)
                if is_unique_violation(&error) && inquiry.details.client_request_id.is_some() =>
            {
                if let Some(first) = db::find_submitted(&self.pool, &client_request_id).await? {
                    return self.replay(first, &content);
                }
                return Err(error.into());
            }
            Err(error) => return Err(error.into()),
        }
        self.outbox.wake();
        tracing::info!(
            reference = %inquiry.reference,
            department = %inquiry.details.department,
            request_type = inquiry.details.request_type.as_str(),
            "inquiry received"
        );
        Ok(pb::SubmitInquiryResponse {
            inquiry_id: inquiry.inquiry_id.to_string(),
            reference: inquiry.reference,
            received_at: Some(timestamp(inquiry.details.received_at)),
            version: 1,
        })
    }

    /// The answer to a submission whose client_request_id was used before: the first answer when
    /// the content is the same, ALREADY_EXISTS naming the inquiry when it is not (or when the key
    /// that fingerprinted the first one is no longer in the key ring, so nobody can tell).
    fn replay(
        &self,
        first: db::Submitted,
        content: &[u8],
    ) -> Result<pb::SubmitInquiryResponse, IntakeError> {
        let same = match &first.client_request_fingerprint {
            None => true,
            Some(stored) => personal_data::Fingerprint::from_bytes(stored)
                .ok()
                .and_then(|stored| self.keyring.matches(&stored, content).ok())
                .unwrap_or(false),
        };
        if same {
            Ok(submitted(first))
        } else {
            Err(IntakeError::ClientRequestReused {
                inquiry_id: first.inquiry_id,
                reference: first.reference,
            })
        }
    }

    /// Takes one lifecycle step and returns the inquiry as it is afterwards.
    async fn step(
        &self,
        inquiry_id: &str,
        expected_version: i64,
        caller: &Caller,
        actor: &str,
        command: Result<Command, Vec<FieldViolation>>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let mut violations = Vec::new();
        let id = Uuid::parse_str(inquiry_id).ok();
        if id.is_none() {
            violations.push(FieldViolation::new("inquiry_id", "must be a UUID"));
        }
        if expected_version < 1 {
            violations.push(FieldViolation::new(
                "expected_version",
                "send the version you last read",
            ));
        }
        // The journal records the token's subject; an actor field may only repeat it.
        let actor = match caller.actor(actor) {
            Ok(actor) => actor,
            Err(violation) => {
                violations.push(violation);
                String::new()
            }
        };
        let command = match command {
            Ok(command) => Some(command),
            Err(more) => {
                violations.extend(more);
                None
            }
        };
        let (Some(id), Some(command), true) = (id, command, violations.is_empty()) else {
            return Err(invalid_argument(&violations));
        };
        tracing::Span::current().record("inquiry_id", tracing::field::display(id));

        let mut transaction = self.pool.begin().await.map_err(|e| unexpected(&e.into()))?;
        let taken = take_step(
            &mut transaction,
            &self.outbox,
            &self.keyring,
            id,
            Some(expected_version),
            &command,
            &actor,
            self.clock.now(),
        )
        .await;
        match taken {
            Ok(taken) => {
                transaction
                    .commit()
                    .await
                    .map_err(|e| unexpected(&e.into()))?;
                self.outbox.wake();
                tracing::info!(
                    step = command.step().as_str(),
                    status = taken.after.status.as_str(),
                    version = taken.after.version,
                    "step taken"
                );
            }
            Err(StepError::NotFound) => return Err(Status::not_found("no inquiry has that id")),
            Err(error @ StepError::Stale { .. }) => return Err(Status::aborted(error.to_string())),
            Err(StepError::Refused(refused)) => {
                return Err(Status::failed_precondition(refused.to_string()));
            }
            Err(StepError::Unexpected(error)) => return Err(unexpected(&error)),
        }
        Ok(Response::new(self.read(id, caller, false, None).await?))
    }
}

/// The person an access request names: a CPR or a CVR number.
enum Person {
    Cpr(personal_data::Cpr),
    Cvr(personal_data::Cvr),
}

impl Person {
    /// Every inquiry of the person, oldest first: by the CPR number's fingerprint under each key
    /// of the ring (fingerprints made before a rotation still match), or by the CVR number.
    async fn inquiries<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
        keyring: &Keyring,
    ) -> anyhow::Result<Vec<Uuid>> {
        let (fingerprints, cvr): (Vec<Vec<u8>>, Option<&str>) = match self {
            Self::Cpr(cpr) => (
                keyring
                    .fingerprints(&crate::audit::person_key(cpr.digits()))
                    .iter()
                    .map(personal_data::Fingerprint::to_bytes)
                    .collect(),
                None,
            ),
            Self::Cvr(cvr) => (Vec::new(), Some(cvr.digits())),
        };
        crate::audit::store::inquiries_of_person(executor, &fingerprints, cvr).await
    }

    /// As the person knows it, for their own letter: the CPR number in full.
    fn shown(&self) -> String {
        match self {
            Self::Cpr(cpr) => cpr_for_display(cpr.digits(), true),
            Self::Cvr(cvr) => cvr.digits().to_owned(),
        }
    }
}

/// Exactly one of `cpr` and `cvr`, valid; what is wrong goes to `violations`.
fn person_of(
    cpr: &str,
    cvr: &str,
    today: chrono::NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<Person> {
    match (cpr.trim().is_empty(), cvr.trim().is_empty()) {
        (false, true) => personal_data::Cpr::parse(cpr, today)
            .map(Person::Cpr)
            .map_err(|error| {
                violations.push(FieldViolation::new(
                    "cpr",
                    format!("is not a valid CPR number: {error}"),
                ));
            })
            .ok(),
        (true, false) => personal_data::Cvr::parse(cvr)
            .map(Person::Cvr)
            .map_err(|error| {
                violations.push(FieldViolation::new(
                    "cvr",
                    format!("is not a valid CVR number: {error}"),
                ));
            })
            .ok(),
        _ => {
            for field in ["cpr", "cvr"] {
                violations.push(FieldViolation::new(
                    field,
                    "give exactly one of cpr and cvr",
                ));
            }
            None
        }
    }
}

/// What an export holds, as the API shows it.
struct Exported {
    inquiries: Vec<pb::Inquiry>,
    access_log: Vec<pb::AccessLogEntry>,
}

/// A proto enum's value as the code Rust and SQL use; `None` for UNSPECIFIED.
fn code<P: inquiry_form::proto::ProtoEnum>(value: i32) -> Option<String> {
    decode::<P, String>(value, |code| Some(code.to_owned()))
        .ok()
        .flatten()
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn access_log_entry(listed: crate::audit::store::Listed) -> pb::AccessLogEntry {
    let access = listed.entry.access;
    pb::AccessLogEntry {
        position: listed.entry.position,
        at: Some(timestamp(access.at)),
        inquiry_id: access.inquiry_id.to_string(),
        reference: listed.reference,
        subject: access.accessor.subject,
        client_id: access.accessor.client_id.unwrap_or_default(),
        role: access.accessor.role,
        department: access.accessor.department.unwrap_or_default(),
        data: access.data.iter().map(|d| d.as_str().to_owned()).collect(),
        purpose: access.purpose.unwrap_or_default(),
        trace_id: access.trace_id.unwrap_or_default(),
    }
}

/// An inquiry as the export document shows it.
fn exported_inquiry(
    inquiry: &pb::Inquiry,
    departments: &Departments,
) -> crate::domain::export::InquiryExport {
    use crate::domain::export::{
        AttachmentExport, InquiryExport, JournalExport, RepresentativeExport,
    };
    let requester = inquiry.requester.clone().unwrap_or_default();
    let dialogue = inquiry.prior_dialogue.clone().unwrap_or_default();
    InquiryExport {
        reference: inquiry.reference.clone(),
        received_at: inquiry
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or_default(),
        status: code::<pb::InquiryStatus>(inquiry.status).unwrap_or_default(),
        request_type: code::<pb::RequestType>(inquiry.request_type).unwrap_or_default(),
        requester_kind: code::<pb::RequesterKind>(inquiry.requester_kind).unwrap_or_default(),
        department: inquiry.department.clone(),
        department_name: departments.name_da(&inquiry.department).to_owned(),
        unit: non_empty(&inquiry.unit),
        requester_name: non_empty(&requester.name),
        requester_cpr: non_empty(&requester.cpr),
        requester_cvr: non_empty(&requester.cvr),
        anonymous: requester.anonymous,
        contact_channel: code::<pb::ContactChannel>(inquiry.contact_channel),
        representative: inquiry
            .representative
            .as_ref()
            .map(|r| RepresentativeExport {
                name: non_empty(&r.name),
                role: code::<pb::RepresentativeRole>(r.role).unwrap_or_default(),
                power_of_attorney_scope: non_empty(&r.power_of_attorney_scope),
                power_of_attorney_valid_until: r
                    .power_of_attorney_valid_until
                    .as_ref()
                    .and_then(borgerraad_platform::convert::from_date),
            }),
        consent_to_contact_department: inquiry.consent_to_contact_department,
        description: inquiry.description.clone(),
        desired_outcome: non_empty(&inquiry.desired_outcome),
        prior_dialogue_held: dialogue.held,
        prior_dialogue_date: dialogue
            .date
            .as_ref()
            .and_then(borgerraad_platform::convert::from_date),
        prior_dialogue_with_whom: non_empty(&dialogue.with_whom),
        prior_dialogue_outcome: non_empty(&dialogue.outcome),
        attachments: inquiry
            .attachments
            .iter()
            .map(|a| AttachmentExport {
                title: a.title.clone(),
                document_ref: a.document_ref.clone(),
            })
            .collect(),
        eligibility_outcome: code::<pb::EligibilityOutcome>(inquiry.eligibility_outcome),
        referral_target: non_empty(&inquiry.referral_target),
        caseworker_id: non_empty(&inquiry.caseworker_id),
        closing_outcome: code::<pb::ClosingOutcome>(inquiry.closing_outcome),
        deadline: inquiry.deadline.as_ref().and_then(|deadline| {
            Some(crate::domain::export::DeadlineExport {
                due_date: deadline
                    .due_date
                    .as_ref()
                    .and_then(borgerraad_platform::convert::from_date)?,
                working_days: deadline.working_days,
                paused_working_days: deadline.paused_working_days,
                state: code::<pb::DeadlineInForceState>(deadline.state).unwrap_or_default(),
                working_days_over: deadline.working_days_over,
            })
        }),
        journal: inquiry
            .journal
            .iter()
            .map(|entry| JournalExport {
                version: entry.version,
                at: entry
                    .at
                    .as_ref()
                    .and_then(from_timestamp)
                    .unwrap_or_default(),
                step: entry.step.clone(),
                actor: entry.actor.clone(),
                status_after: code::<pb::InquiryStatus>(entry.status_after).unwrap_or_default(),
                details: entry.details.clone(),
            })
            .collect(),
    }
}

fn exported_access(entry: &pb::AccessLogEntry) -> crate::domain::export::AccessExport {
    crate::domain::export::AccessExport {
        at: entry
            .at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or_default(),
        reference: entry.reference.clone(),
        subject: entry.subject.clone(),
        role: entry.role.clone(),
        department: non_empty(&entry.department),
        data: entry.data.clone(),
        purpose: non_empty(&entry.purpose),
    }
}

fn submitted(first: db::Submitted) -> pb::SubmitInquiryResponse {
    pb::SubmitInquiryResponse {
        inquiry_id: first.inquiry_id.to_string(),
        reference: first.reference,
        received_at: Some(timestamp(first.received_at)),
        version: first.version,
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "23505")
}

/// Checks for a step's own fields.
#[derive(Default)]
struct Fields(Vec<FieldViolation>);

impl Fields {
    /// A text checked as every text field is (`inquiry_form::checked_text`).
    fn text(
        &mut self,
        field: &str,
        value: &str,
        max: usize,
        kind: TextKind,
        required: bool,
    ) -> Option<String> {
        match checked_text(field, value, max, kind) {
            Ok(None) if required => {
                self.0.push(FieldViolation::new(field, "must not be empty"));
                None
            }
            Ok(value) => value,
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    fn required<D>(
        &mut self,
        field: &str,
        decoded: Result<Option<D>, Unreadable>,
        what: &str,
    ) -> Option<D> {
        match decoded {
            Ok(Some(value)) => Some(value),
            Ok(None) => {
                self.0.push(FieldViolation::new(field, what));
                None
            }
            Err(Unreadable) => {
                self.0
                    .push(FieldViolation::new(field, "is not a known value"));
                None
            }
        }
    }

    fn done(
        self,
        command: impl FnOnce() -> Option<Command>,
    ) -> Result<Command, Vec<FieldViolation>> {
        if self.0.is_empty() {
            command().ok_or(self.0)
        } else {
            Err(self.0)
        }
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn submit_inquiry(
        &self,
        request: Request<pb::SubmitInquiryRequest>,
    ) -> Result<Response<pb::SubmitInquiryResponse>, Status> {
        Ok(Response::new(self.submit(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn get_inquiry(
        &self,
        request: Request<pb::GetInquiryRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let request = request.into_inner();
        let inquiry_id = match (request.inquiry_id.is_empty(), request.reference.is_empty()) {
            (false, true) => parse_id("inquiry_id", &request.inquiry_id)?,
            (true, false) => {
                if !domain::is_reference(&request.reference) {
                    return Err(invalid_argument(&[FieldViolation::new(
                        "reference",
                        "must be a reference such as BR-2026-000123",
                    )]));
                }
                db::inquiry_id_by_reference(&self.pool, &request.reference)
                    .await
                    .map_err(IntakeError::from)?
                    .ok_or_else(|| Status::not_found("no inquiry has that reference"))?
            }
            (neither, _) => {
                let why = if neither {
                    "give the inquiry_id or the reference"
                } else {
                    "give the inquiry_id or the reference, not both"
                };
                return Err(invalid_argument(&[
                    FieldViolation::new("inquiry_id", why),
                    FieldViolation::new("reference", why),
                ]));
            }
        };
        tracing::Span::current().record("inquiry_id", tracing::field::display(inquiry_id));
        let mut f = Fields::default();
        if let Err(violation) = caller.actor(&request.actor) {
            f.0.push(violation);
        }
        // A stated purpose is recorded with any read; revealing CPR numbers needs one.
        let purpose = f.text(
            "purpose",
            &request.purpose,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
            false,
        );
        match &purpose {
            None if request.reveal_cpr && !f.0.iter().any(|v| v.field == "purpose") => f.0.push(
                FieldViolation::new("purpose", "say why the CPR numbers are needed in full"),
            ),
            // The access log never holds a CPR number.
            Some(purpose) if find_cpr_like(purpose) => f.0.push(FieldViolation::new(
                "purpose",
                "must not contain a CPR number",
            )),
            _ => {}
        }
        if !f.0.is_empty() {
            return Err(invalid_argument(&f.0));
        }
        if request.reveal_cpr && !caller.principal.has(Role::Caseworker) {
            return Err(Status::permission_denied(format!(
                "revealing CPR numbers needs the role caseworker; the token has {}",
                caller.principal.role_names()
            )));
        }
        Ok(Response::new(
            self.read(inquiry_id, &caller, request.reveal_cpr, purpose)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(count = tracing::field::Empty), err(level = "info", Display))]
    async fn batch_get_inquiries(
        &self,
        request: Request<pb::BatchGetInquiriesRequest>,
    ) -> Result<Response<pb::BatchGetInquiriesResponse>, Status> {
        const MAX_IDS: usize = 500;
        let caller = Caller::of(&request)?;
        let request = request.into_inner();
        let mut violations = Vec::new();
        if request.inquiry_ids.len() > MAX_IDS {
            violations.push(FieldViolation::new(
                "inquiry_ids",
                format!("at most {MAX_IDS} ids per call"),
            ));
        }
        let ids: Vec<Uuid> = request
            .inquiry_ids
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| {
                Uuid::parse_str(raw)
                    .map_err(|_| {
                        violations.push(FieldViolation::new(
                            format!("inquiry_ids[{i}]"),
                            "must be a UUID",
                        ))
                    })
                    .ok()
            })
            .collect();
        if !violations.is_empty() {
            return Err(invalid_argument(&violations));
        }
        tracing::Span::current().record("count", ids.len());
        // Another department's inquiry is left out like an unknown id.
        let mut rows: std::collections::HashMap<Uuid, db::InquiryRow> =
            db::get_inquiries(&self.pool, &ids)
                .await
                .map_err(IntakeError::from)?
                .into_iter()
                .filter(|row| caller.principal.may_see_department(&row.department))
                .map(|row| (row.inquiry_id, row))
                .collect();
        let rows = ids.iter().filter_map(|id| rows.remove(id)).collect();
        let inquiries = self.shown(rows, &caller).await?;
        Ok(Response::new(pb::BatchGetInquiriesResponse { inquiries }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_inquiries(
        &self,
        request: Request<pb::ListInquiriesRequest>,
    ) -> Result<Response<pb::ListInquiriesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let request = request.into_inner();
        let mut violations = Vec::new();
        let page = Page::read(request.page_size, &request.page_token, &mut violations);
        let mut fields = Fields::default();
        let status = decode::<pb::InquiryStatus, _>(request.status, InquiryStatus::from_code)
            .unwrap_or_else(|_| {
                fields
                    .0
                    .push(FieldViolation::new("status", "is not a known status"));
                None
            });
        let request_type =
            decode::<pb::RequestType, _>(request.request_type, RequestType::from_code)
                .unwrap_or_else(|_| {
                    fields.0.push(FieldViolation::new(
                        "request_type",
                        "is not a known request type",
                    ));
                    None
                });
        let received = |field: &str,
                        value: &Option<prost_types::Timestamp>,
                        fields: &mut Fields| match value {
            None => None,
            Some(at) => from_timestamp(at).or_else(|| {
                fields
                    .0
                    .push(FieldViolation::new(field, "is not a valid time"));
                None
            }),
        };
        let received_from = received("received_from", &request.received_from, &mut fields);
        let received_before = received("received_before", &request.received_before, &mut fields);
        violations.extend(fields.0);
        if !violations.is_empty() {
            return Err(invalid_argument(&violations));
        }
        let non_empty = |value: String| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        let filter = db::Filter {
            status,
            department: non_empty(request.department),
            caseworker_id: non_empty(request.caseworker_id),
            request_type: request_type.map(|t| t.as_str().to_owned()),
            received_from,
            received_before,
            reference: non_empty(request.reference),
            within_departments: caller
                .principal
                .department_scoped()
                .then(|| caller.principal.departments.iter().cloned().collect()),
        };
        let mut rows = db::list_inquiries(&self.pool, &filter, page.after, page.fetch_limit())
            .await
            .map_err(IntakeError::from)?;
        let next_page_token = page.finish(&mut rows, |row| row.number);
        let inquiries = self.shown(rows, &caller).await?;
        Ok(Response::new(pb::ListInquiriesResponse {
            inquiries,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn assign_caseworker(
        &self,
        request: Request<pb::AssignCaseworkerRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let caseworker_id = f.text(
            "caseworker_id",
            &r.caseworker_id,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
            true,
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| {
                Some(Command::Assign {
                    caseworker_id: caseworker_id?,
                })
            }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn start_work(
        &self,
        request: Request<pb::StartWorkRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            Ok(Command::StartWork),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn record_mediation(
        &self,
        request: Request<pb::RecordMediationRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let stage = f.required(
            "stage",
            decode::<pb::MediationStage, _>(r.stage, MediationStage::from_code),
            "say whether mediation was offered, held or declined",
        );
        let result = match decode::<pb::MediationResult, _>(r.result, MediationResult::from_code) {
            Ok(result) => result,
            Err(Unreadable) => {
                f.0.push(FieldViolation::new("result", "is not a known result"));
                None
            }
        };
        if stage == Some(MediationStage::Held)
            && result.is_none()
            && !f.0.iter().any(|v| v.field == "result")
        {
            f.0.push(FieldViolation::new("result", "say how the mediation ended"));
        }
        if stage.is_some_and(|s| s != MediationStage::Held) && result.is_some() {
            f.0.push(FieldViolation::new(
                "result",
                "only a held mediation has a result",
            ));
        }
        let note = f.text("note", &r.note, MAX_TEXT_CHARS, TextKind::FreeText, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| {
                Some(Command::RecordMediation {
                    stage: stage?,
                    result,
                    note,
                })
            }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn request_information(
        &self,
        request: Request<pb::RequestInformationRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let what = f.text("what", &r.what, MAX_TEXT_CHARS, TextKind::FreeText, true);
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| Some(Command::RequestInformation { what: what? })),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn receive_information(
        &self,
        request: Request<pb::ReceiveInformationRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let note = f.text("note", &r.note, MAX_TEXT_CHARS, TextKind::FreeText, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| Some(Command::ReceiveInformation { note })),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn record_answer(
        &self,
        request: Request<pb::RecordAnswerRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let channel = match requested_channel(r.channel) {
            RequestedChannel::Sms => {
                f.0.push(FieldViolation::new(
                    "channel",
                    "the office does not answer by SMS",
                ));
                None
            }
            RequestedChannel::Allowed(channel) => Some(channel),
            RequestedChannel::Unspecified => Some(ContactChannel::DigitalPost),
            RequestedChannel::Unknown => {
                f.0.push(FieldViolation::new("channel", "is not a known channel"));
                None
            }
        };
        let summary = f.text(
            "summary",
            &r.summary,
            MAX_TEXT_CHARS,
            TextKind::FreeText,
            false,
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| {
                Some(Command::Answer {
                    channel: channel?,
                    summary,
                })
            }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn close_inquiry(
        &self,
        request: Request<pb::CloseInquiryRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let outcome = f.required(
            "outcome",
            decode::<pb::ClosingOutcome, _>(r.outcome, ClosingOutcome::from_code),
            "say how the inquiry ended",
        );
        let handling = f.required(
            "handling",
            decode::<pb::HandlingMethod, _>(r.handling, HandlingMethod::from_code),
            "say how the inquiry was handled",
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| {
                Some(Command::Close {
                    outcome: outcome?,
                    handling: handling?,
                })
            }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn withdraw_inquiry(
        &self,
        request: Request<pb::WithdrawInquiryRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let reason = f.text(
            "reason",
            &r.reason,
            MAX_TEXT_CHARS,
            TextKind::FreeText,
            false,
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| Some(Command::Withdraw { reason })),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn reopen_inquiry(
        &self,
        request: Request<pb::ReopenInquiryRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let reason = f.text(
            "reason",
            &r.reason,
            MAX_TEXT_CHARS,
            TextKind::FreeText,
            false,
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| Some(Command::Reopen { reason })),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn add_note(
        &self,
        request: Request<pb::AddNoteRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let text = f.text("text", &r.text, MAX_TEXT_CHARS, TextKind::FreeText, true);
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| Some(Command::AddNote { text: text? })),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn record_improvement_suggestion(
        &self,
        request: Request<pb::RecordImprovementSuggestionRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let department = r.department.trim().to_owned();
        if !self.departments.contains(&department) {
            f.0.push(FieldViolation::new(
                "department",
                format!("must be one of: {}", self.departments.codes_joined()),
            ));
        }
        let suggestion = f.text(
            "suggestion",
            &r.suggestion,
            MAX_TEXT_CHARS,
            TextKind::FreeText,
            true,
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
            &caller,
            &r.actor,
            f.done(|| {
                Some(Command::RecordImprovementSuggestion {
                    department,
                    suggestion: suggestion?,
                })
            }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn amend_inquiry(
        &self,
        request: Request<pb::AmendInquiryRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let facts = domain::validate_amendment(
            inquiry_form::proto::case_facts_input(&r),
            &self.departments,
            self.clock.now(),
        )
        .map(|facts| Command::Amend(Box::new(facts)));
        self.step(&r.inquiry_id, r.expected_version, &caller, &r.actor, facts)
            .await
    }

    /// Never logs the CPR or CVR number it is given.
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_access_log(
        &self,
        request: Request<pb::ListAccessLogRequest>,
    ) -> Result<Response<pb::ListAccessLogResponse>, Status> {
        let caller = Caller::of(&request)?;
        let accessor = caller.accessor();
        let trace_id = caller.trace_id.clone();
        let r = request.into_inner();
        let mut violations = Vec::new();
        let page = Page::read(r.page_size, &r.page_token, &mut violations);
        let mut f = Fields(violations);
        let given = [&r.inquiry_id, &r.cpr, &r.cvr]
            .iter()
            .filter(|value| !value.trim().is_empty())
            .count();
        if given != 1 {
            for field in ["inquiry_id", "cpr", "cvr"] {
                f.0.push(FieldViolation::new(
                    field,
                    "give exactly one of inquiry_id, cpr and cvr",
                ));
            }
        }
        let today = working_days::copenhagen_date(self.clock.now());
        let person = !r.cpr.trim().is_empty() || !r.cvr.trim().is_empty();
        let purpose = f.text(
            "purpose",
            &r.purpose,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
            person,
        );
        let inquiry_id = (!r.inquiry_id.trim().is_empty())
            .then(|| Uuid::parse_str(r.inquiry_id.trim()))
            .transpose()
            .unwrap_or_else(|_| {
                f.0.push(FieldViolation::new("inquiry_id", "must be a UUID"));
                None
            });
        let cpr = (!r.cpr.trim().is_empty())
            .then(|| personal_data::Cpr::parse(&r.cpr, today))
            .transpose()
            .unwrap_or_else(|error| {
                f.0.push(FieldViolation::new(
                    "cpr",
                    format!("is not a valid CPR number: {error}"),
                ));
                None
            });
        let cvr = (!r.cvr.trim().is_empty())
            .then(|| personal_data::Cvr::parse(&r.cvr))
            .transpose()
            .unwrap_or_else(|error| {
                f.0.push(FieldViolation::new(
                    "cvr",
                    format!("is not a valid CVR number: {error}"),
                ));
                None
            });
        if !f.0.is_empty() {
            return Err(invalid_argument(&f.0));
        }
        let inquiries = match inquiry_id {
            Some(id) => {
                db::get_inquiry(&self.pool, id)
                    .await
                    .map_err(IntakeError::from)?
                    .ok_or(IntakeError::NotFound)?;
                vec![id]
            }
            None => {
                let fingerprints: Vec<Vec<u8>> = cpr
                    .as_ref()
                    .map(|cpr| {
                        self.keyring
                            .fingerprints(&crate::audit::person_key(cpr.digits()))
                            .iter()
                            .map(personal_data::Fingerprint::to_bytes)
                            .collect()
                    })
                    .unwrap_or_default();
                let cvr_digits = cvr.as_ref().map(|cvr| cvr.digits().to_owned());
                let found = crate::audit::store::inquiries_of_person(
                    &self.pool,
                    &fingerprints,
                    cvr_digits.as_deref(),
                )
                .await
                .map_err(IntakeError::from)?;
                // Looking a person up is itself a use of their data: recorded first.
                let at = self.clock.now();
                let lookups = found
                    .iter()
                    .map(|id| {
                        crate::audit::Access::new(
                            at,
                            accessor.clone(),
                            *id,
                            [crate::audit::DataKind::AccessLog],
                            purpose.clone(),
                            trace_id.clone(),
                        )
                    })
                    .collect();
                crate::audit::store::append(&self.pool, lookups)
                    .await
                    .map_err(IntakeError::from)?;
                found
            }
        };
        let mut listed = crate::audit::store::list_for_inquiries(
            &self.pool,
            &inquiries,
            page.after,
            page.fetch_limit(),
        )
        .await
        .map_err(IntakeError::from)?;
        let next_page_token = page.finish(&mut listed, |l| l.entry.position);
        let entries = listed.into_iter().map(access_log_entry).collect();
        Ok(Response::new(pb::ListAccessLogResponse {
            entries,
            next_page_token,
        }))
    }

    /// Never logs the CPR or CVR number it is given, nor what it exports.
    #[tracing::instrument(skip_all, fields(count = tracing::field::Empty), err(level = "info", Display))]
    async fn export_person_data(
        &self,
        request: Request<pb::ExportPersonDataRequest>,
    ) -> Result<Response<pb::ExportPersonDataResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let now = self.clock.now();
        let mut f = Fields::default();
        let person = person_of(&r.cpr, &r.cvr, working_days::copenhagen_date(now), &mut f.0);
        let purpose = f.text(
            "purpose",
            &r.purpose,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
            true,
        );
        if purpose.as_deref().is_some_and(find_cpr_like) {
            // The access log never holds a CPR number.
            f.0.push(FieldViolation::new(
                "purpose",
                "must not contain a CPR number",
            ));
        }
        let format = match pb::ExportFormat::try_from(r.format) {
            Ok(format) => format,
            Err(_) => {
                f.0.push(FieldViolation::new("format", "is not a known value"));
                pb::ExportFormat::Unspecified
            }
        };
        let (Some(person), true) = (person, f.0.is_empty()) else {
            return Err(invalid_argument(&f.0));
        };
        let export = self
            .export(&caller, &person, purpose, now)
            .await
            .map_err(Status::from)?;
        tracing::Span::current().record("count", export.inquiries.len());
        tracing::info!(
            subject = %caller.principal.subject,
            inquiries = export.inquiries.len(),
            "personal data exported"
        );
        let plain = crate::domain::export::PersonExport {
            exported_at: now,
            person: person.shown(),
            inquiries: export
                .inquiries
                .iter()
                .map(|inquiry| exported_inquiry(inquiry, &self.departments))
                .collect(),
            access_log: export.access_log.iter().map(exported_access).collect(),
        };
        let (media_type, document) = match format {
            pb::ExportFormat::Html => (
                "text/html; charset=utf-8",
                crate::domain::export::render_html(&plain),
            ),
            pb::ExportFormat::Json | pb::ExportFormat::Unspecified => (
                "application/json",
                crate::domain::export::render_json(&plain),
            ),
        };
        Ok(Response::new(pb::ExportPersonDataResponse {
            exported_at: Some(timestamp(now)),
            data_held: !export.inquiries.is_empty(),
            inquiries: export.inquiries,
            access_log: export.access_log,
            media_type: media_type.to_owned(),
            document,
        }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn get_reseal_status(
        &self,
        _request: Request<pb::GetResealStatusRequest>,
    ) -> Result<Response<pb::GetResealStatusResponse>, Status> {
        let status = crate::reseal::status(&self.pool, &self.keyring)
            .await
            .map_err(IntakeError::from)?;
        let done = status.done();
        Ok(Response::new(pb::GetResealStatusResponse {
            current_key_id: status.current_key_id,
            done,
            keys: status
                .keys
                .into_iter()
                .map(|key| pb::SealedByKey {
                    key_id: key.key_id,
                    inquiries: key.inquiries,
                    journal_entries: key.journal_entries,
                    cpr_fingerprints: key.cpr_fingerprints,
                    in_key_ring: key.in_key_ring,
                })
                .collect(),
            plain_inquiries: status.plain_inquiries,
            plain_journal_entries: status.plain_journal_entries,
        }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn verify_audit_log(
        &self,
        _request: Request<pb::VerifyAuditLogRequest>,
    ) -> Result<Response<pb::VerifyAuditLogResponse>, Status> {
        let verdict = crate::audit::store::verify(&self.pool)
            .await
            .map_err(IntakeError::from)?;
        let hex = |bytes: &[u8; 32]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        Ok(Response::new(match verdict {
            crate::audit::Verdict::Intact { entries, head } => pb::VerifyAuditLogResponse {
                intact: true,
                entries,
                head_hash: hex(&head),
                ..Default::default()
            },
            crate::audit::Verdict::Broken { position, problem } => {
                // The service is not at fault, but whoever runs it must know at once.
                tracing::error!(position, problem = %problem, "the access log is broken");
                pb::VerifyAuditLogResponse {
                    intact: false,
                    entries: position - 1,
                    first_broken_position: position,
                    problem,
                    head_hash: String::new(),
                }
            }
        }))
    }
    #[tracing::instrument(skip_all, fields(count = tracing::field::Empty), err(level = "info", Display))]
    async fn erase_person_data(
        &self,
        request: Request<pb::ErasePersonDataRequest>,
    ) -> Result<Response<pb::ErasePersonDataResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        let mut f = Fields::default();
        let today = working_days::copenhagen_date(self.clock.now());
        let person = person_of(&r.cpr, &r.cvr, today, &mut f.0);
        let actor = caller.actor(&r.actor).unwrap_or_else(|violation| {
            f.0.push(violation);
            String::new()
        });
        let reason = f.text(
            "reason",
            &r.reason,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
            true,
        );
        // The reason is kept in the access log, which never holds a CPR number.
        if reason.as_deref().is_some_and(find_cpr_like) {
            f.0.push(FieldViolation::new(
                "reason",
                "must not contain a CPR number",
            ));
        }
        let (Some(person), true) = (person, f.0.is_empty()) else {
            return Err(invalid_argument(&f.0));
        };
        let found = person
            .inquiries(&self.pool, &self.keyring)
            .await
            .map_err(IntakeError::from)?;
        tracing::Span::current().record("count", found.len());
        let at = self.clock.now();
        let mut transaction = self.pool.begin().await.map_err(IntakeError::from)?;
        let mut erased = Vec::with_capacity(found.len());
        let mut open = Vec::new();
        for &inquiry_id in &found {
            match crate::erasure::erase_inquiry(
                &mut transaction,
                &self.outbox,
                inquiry_id,
                crate::domain::retention::ErasureReason::Request,
                &actor,
                at,
            )
            .await
            {
                Ok(done) => erased.push(done),
                Err(crate::erasure::EraseError::Open { reference }) => open.push(reference),
                // Gone since the lookup: nothing of it is left to erase.
                Err(crate::erasure::EraseError::NotFound) => {}
                Err(crate::erasure::EraseError::Unexpected(error)) => {
                    return Err(unexpected(&error));
                }
            }
        }
        if !open.is_empty() {
            // Dropping the transaction rolls back what was erased so far: all or nothing.
            return Err(Status::failed_precondition(format!(
                "the person's inquiries {} are still open; close or withdraw them first",
                open.join(", ")
            )));
        }
        // Erasing is a use of the person's data: recorded with the reason, in the same
        // transaction as the erasure.
        let accesses = erased
            .iter()
            .map(|done| {
                Access::new(
                    at,
                    caller.accessor(),
                    done.inquiry_id,
                    [DataKind::Erasure],
                    reason.clone(),
                    caller.trace_id.clone(),
                )
            })
            .collect();
        crate::audit::store::append_in(&mut transaction, accesses)
            .await
            .map_err(IntakeError::from)?;
        transaction.commit().await.map_err(IntakeError::from)?;
        Ok(Response::new(pb::ErasePersonDataResponse {
            erased: erased
                .into_iter()
                .map(|done| pb::ErasedInquiry {
                    inquiry_id: done.inquiry_id.to_string(),
                    reference: done.reference,
                })
                .collect(),
        }))
    }
}
