//! The `IntakeService` gRPC adapter: converts proto ⇄ domain and writes through [`crate::db`]
//! and [`crate::cases`].

use std::sync::Arc;

use borgerraad_messaging::{Outbox, OutboxRow};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, from_date, from_timestamp, timestamp};
use borgerraad_platform::departments::Departments;
use borgerraad_platform::grpc::paging::Page;
use borgerraad_platform::grpc::{FieldViolation, invalid_argument, parse_id, unexpected};
use borgerraad_proto::v1::{self as pb, intake_service_server::IntakeService};
use chrono::Datelike;
use personal_data::{Keyring, Sealed};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::cases::{StepError, take_step};
use crate::db;
use crate::domain::lifecycle::Command;
use crate::domain::{
    self, ArrivalChannel, Attachment, CaseFactsInput, ClosingOutcome, ComplaintTheme,
    ContactChannel, DateInput, HandlingMethod, Inquiry, InquiryStatus, MAX_SHORT_TEXT_CHARS,
    MAX_TEXT_CHARS, MediationResult, MediationStage, OtherAuthority, OtherBody,
    RelatedDecisionInput, RepresentativeInput, RepresentativeRole, RequestType, RequestedChannel,
    RequesterInput, RequesterKind, ScopeAnswersInput, Submission, Unreadable,
};
use crate::error::IntakeError;
use crate::proto_enums::{decode, encode};

#[derive(Clone)]
pub struct IntakeApi {
    pub pool: PgPool,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub departments: Departments,
    pub keyring: Arc<Keyring>,
}

fn date_input(value: Option<&pb::Date>) -> DateInput {
    match value {
        None => Ok(None),
        Some(value) => from_date(value).map(Some).ok_or(Unreadable),
    }
}

fn related_decision_input(d: pb::RelatedDecision) -> RelatedDecisionInput {
    RelatedDecisionInput {
        decision_date: date_input(d.decision_date.as_ref()),
        case_number: d.case_number,
        appealed: d.appealed,
        brought_before: decode::<pb::OtherBody, _>(d.brought_before, OtherBody::from_code),
        appeal_deadline: date_input(d.appeal_deadline.as_ref()),
    }
}

fn scope_input(scope: Option<pb::ScopeAnswers>) -> ScopeAnswersInput {
    scope.map_or_else(ScopeAnswersInput::default, |s| ScopeAnswersInput {
        about_employment: s.about_employment,
        about_political_decision: s.about_political_decision,
        wants_decision_changed: s.wants_decision_changed,
        other_authority: decode::<pb::OtherAuthority, _>(
            s.other_authority,
            OtherAuthority::from_code,
        ),
        matter_closed_on: date_input(s.matter_closed_on.as_ref()),
    })
}

fn complaint_themes_input(themes: &[i32]) -> Result<Vec<ComplaintTheme>, Unreadable> {
    themes
        .iter()
        .map(|theme| {
            decode::<pb::ComplaintTheme, _>(*theme, ComplaintTheme::from_code)?.ok_or(Unreadable)
        })
        .collect()
}

/// An amendment as it arrived.
fn case_facts_input(r: &pb::AmendInquiryRequest) -> CaseFactsInput {
    let dialogue = r.prior_dialogue.clone().unwrap_or_default();
    CaseFactsInput {
        department: r.department.clone(),
        unit: r.unit.clone(),
        request_type: decode::<pb::RequestType, _>(r.request_type, RequestType::from_code)
            .ok()
            .flatten(),
        complaint_themes: complaint_themes_input(&r.complaint_themes),
        description: r.description.clone(),
        prior_dialogue_held: dialogue.held,
        prior_dialogue_ongoing: dialogue.ongoing,
        prior_dialogue_date: date_input(dialogue.date.as_ref()),
        prior_dialogue_with_whom: dialogue.with_whom,
        prior_dialogue_outcome: dialogue.outcome,
        related_decision: r.related_decision.clone().map(related_decision_input),
        scope: scope_input(r.scope),
    }
}

fn submission(request: pb::SubmitInquiryRequest) -> Submission {
    let dialogue = request.prior_dialogue.unwrap_or_default();
    let requester = request.requester.unwrap_or_default();
    Submission {
        requester_kind: decode::<pb::RequesterKind, _>(
            request.requester_kind,
            RequesterKind::from_code,
        )
        .ok()
        .flatten(),
        requester: RequesterInput {
            name: requester.name,
            cpr: requester.cpr,
            cvr: requester.cvr,
            anonymous: requester.anonymous,
        },
        representative: request.representative.map(|r| RepresentativeInput {
            name: r.name,
            role: decode::<pb::RepresentativeRole, _>(r.role, RepresentativeRole::from_code)
                .ok()
                .flatten(),
            power_of_attorney_scope: r.power_of_attorney_scope,
            power_of_attorney_valid_until: date_input(r.power_of_attorney_valid_until.as_ref()),
        }),
        consent_to_contact_department: request.consent_to_contact_department,
        arrival_channel: decode::<pb::ArrivalChannel, _>(
            request.arrival_channel,
            ArrivalChannel::from_code,
        ),
        department: request.department,
        unit: request.unit,
        request_type: decode::<pb::RequestType, _>(request.request_type, RequestType::from_code)
            .ok()
            .flatten(),
        complaint_themes: complaint_themes_input(&request.complaint_themes),
        description: request.description,
        desired_outcome: request.desired_outcome,
        prior_dialogue_held: dialogue.held,
        prior_dialogue_ongoing: dialogue.ongoing,
        prior_dialogue_date: date_input(dialogue.date.as_ref()),
        prior_dialogue_with_whom: dialogue.with_whom,
        prior_dialogue_outcome: dialogue.outcome,
        related_decision: request.related_decision.map(related_decision_input),
        scope: scope_input(request.scope),
        attachments: request
            .attachments
            .into_iter()
            .map(|a| Attachment {
                title: a.title,
                document_ref: a.document_ref,
            })
            .collect(),
        received_at: match &request.received_at {
            None => Ok(None),
            Some(at) => from_timestamp(at).map(Some).ok_or(Unreadable),
        },
        client_request_id: request.client_request_id,
        contains_sensitive_data: request.contains_sensitive_data,
        contact_channel: requested_channel(request.contact_channel),
    }
}

fn requested_channel(value: i32) -> RequestedChannel {
    if value == i32::from(pb::ContactChannel::Sms) {
        return RequestedChannel::Sms;
    }
    match decode::<pb::ContactChannel, _>(value, ContactChannel::from_code) {
        Ok(Some(channel)) => RequestedChannel::Allowed(channel),
        // An unknown number is treated like no choice: Digital Post, the safe default.
        _ => RequestedChannel::Unspecified,
    }
}

/// Masks a CPR number's serial unless the caller asked to see it: "010190-XXXX".
fn cpr_for_display(digits: &str, reveal: bool) -> String {
    match digits.get(..6) {
        Some(birth) if reveal => format!("{birth}-{}", digits.get(6..).unwrap_or_default()),
        Some(birth) => format!("{birth}-XXXX"),
        None => String::new(),
    }
}

impl IntakeApi {
    fn open_cpr(&self, row: &db::InquiryRow) -> Result<Option<String>, IntakeError> {
        let Some(bytes) = &row.requester_cpr else {
            return Ok(None);
        };
        let sealed = Sealed::from_bytes(bytes)
            .map_err(|e| anyhow::anyhow!("stored CPR cannot be read: {e}"))?;
        let digits = self
            .keyring
            .open(&sealed, row.inquiry_id.as_bytes())
            .map_err(|e| anyhow::anyhow!("stored CPR cannot be opened: {e}"))?;
        Ok(Some(
            String::from_utf8(digits).map_err(|_| anyhow::anyhow!("stored CPR is not text"))?,
        ))
    }

    fn to_proto(
        &self,
        row: db::InquiryRow,
        journal: Vec<db::JournalRow>,
        reveal_cpr: bool,
    ) -> Result<pb::Inquiry, IntakeError> {
        let cpr = self.open_cpr(&row)?;
        let form = row.form.0;
        let decision = form.related_decision.as_ref();
        Ok(pb::Inquiry {
            inquiry_id: row.inquiry_id.to_string(),
            reference: row.reference,
            requester_kind: encode::<pb::RequesterKind>(&row.requester_kind),
            department: row.department,
            request_type: encode::<pb::RequestType>(&row.request_type),
            description: row.description,
            prior_dialogue: Some(pb::PriorDialogue {
                held: row.prior_dialogue_held,
                date: row.prior_dialogue_date.map(date),
                with_whom: form.prior_dialogue.with_whom.clone().unwrap_or_default(),
                outcome: form.prior_dialogue.outcome.clone().unwrap_or_default(),
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
                name: row.requester_name.unwrap_or_default(),
                cpr: cpr
                    .map(|digits| cpr_for_display(&digits, reveal_cpr))
                    .unwrap_or_default(),
                cvr: row.requester_cvr.unwrap_or_default(),
                anonymous: row.requester_anonymous,
            }),
            representative: row.representative_name.map(|name| pb::Representative {
                name,
                role: row
                    .representative_role
                    .as_deref()
                    .map_or(0, encode::<pb::RepresentativeRole>),
                power_of_attorney_scope: row.representative_scope.unwrap_or_default(),
                power_of_attorney_valid_until: row.representative_valid_until.map(date),
            }),
            consent_to_contact_department: row.consent_to_contact_department.unwrap_or(false),
            arrival_channel: encode::<pb::ArrivalChannel>(&row.arrival_channel),
            unit: form.unit.clone().unwrap_or_default(),
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
            desired_outcome: form.desired_outcome.clone().unwrap_or_default(),
            attachments: form
                .attachments
                .iter()
                .map(|a| pb::Attachment {
                    title: a.title.clone(),
                    document_ref: a.document_ref.clone(),
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
            journal: journal
                .into_iter()
                .map(|entry| pb::JournalEntry {
                    version: entry.version,
                    step: entry.step,
                    actor: entry.actor,
                    at: Some(timestamp(entry.at)),
                    status_after: encode::<pb::InquiryStatus>(&entry.status_after),
                    details: entry.details,
                })
                .collect(),
        })
    }

    async fn read(&self, inquiry_id: Uuid, reveal_cpr: bool) -> Result<pb::Inquiry, IntakeError> {
        let row = db::get_inquiry(&self.pool, inquiry_id)
            .await?
            .ok_or(IntakeError::NotFound)?;
        let journal = db::journal(&self.pool, inquiry_id).await?;
        self.to_proto(row, journal, reveal_cpr)
    }

    async fn submit(
        &self,
        request: pb::SubmitInquiryRequest,
    ) -> Result<pb::SubmitInquiryResponse, IntakeError> {
        let now = self.clock.now();
        let client_request_id = request.client_request_id.trim().to_owned();
        if !client_request_id.is_empty()
            && let Some(first) = db::find_submitted(&self.pool, &client_request_id).await?
        {
            return Ok(submitted(first));
        }
        let details = domain::validate(submission(request), &self.departments, now)
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
        // Sealed with the inquiry id as associated data: the value cannot be moved to another row.
        let sealed_cpr = match &inquiry.details.requester.cpr {
            None => None,
            Some(cpr) => {
                let sealed = self
                    .keyring
                    .seal(cpr.digits().as_bytes(), inquiry.inquiry_id.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot seal the CPR number: {e}"))?;
                Some(sealed.to_bytes()?)
            }
        };
        let event = OutboxRow::new(&crate::events::inquiry_received(&inquiry))?;
        match db::insert_inquiry(&self.pool, &inquiry, sealed_cpr, "submitter", event).await {
            Ok(()) => {}
            // A concurrent retry with the same client request id won: answer as it did.
            Err(error)
                if is_unique_violation(&error) && inquiry.details.client_request_id.is_some() =>
            {
                if let Some(first) = db::find_submitted(&self.pool, &client_request_id).await? {
                    return Ok(submitted(first));
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

    /// Takes one lifecycle step and returns the inquiry as it is afterwards.
    async fn step(
        &self,
        inquiry_id: &str,
        expected_version: i64,
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
        let actor = actor.trim();
        if actor.is_empty() || actor.chars().count() > MAX_SHORT_TEXT_CHARS {
            violations.push(FieldViolation::new(
                "actor",
                "say who takes the step (at most 500 characters)",
            ));
        }
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
            id,
            Some(expected_version),
            &command,
            actor,
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
        Ok(Response::new(self.read(id, false).await?))
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
    fn text(&mut self, field: &str, value: &str, max: usize, required: bool) -> Option<String> {
        let value = value.trim();
        if value.contains('\0') {
            self.0.push(FieldViolation::new(
                field,
                "must not contain NUL characters",
            ));
        } else if value.chars().count() > max {
            self.0.push(FieldViolation::new(
                field,
                format!("must be at most {max} characters"),
            ));
        } else if value.is_empty() && required {
            self.0.push(FieldViolation::new(field, "must not be empty"));
        } else if !value.is_empty() {
            return Some(value.to_owned());
        }
        None
    }

    fn required<D>(
        &mut self,
        field: &str,
        decoded: Result<Option<D>, Unreadable>,
        what: &str,
    ) -> Option<D> {
        match decoded {
            Ok(Some(value)) => Some(value),
            _ => {
                self.0.push(FieldViolation::new(field, what));
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
        if request.reveal_cpr {
            tracing::info!("full CPR number shown to the caller");
        }
        Ok(Response::new(
            self.read(inquiry_id, request.reveal_cpr).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(count = tracing::field::Empty), err(level = "info", Display))]
    async fn batch_get_inquiries(
        &self,
        request: Request<pb::BatchGetInquiriesRequest>,
    ) -> Result<Response<pb::BatchGetInquiriesResponse>, Status> {
        const MAX_IDS: usize = 500;
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
        let mut rows: std::collections::HashMap<Uuid, db::InquiryRow> =
            db::get_inquiries(&self.pool, &ids)
                .await
                .map_err(IntakeError::from)?
                .into_iter()
                .map(|row| (row.inquiry_id, row))
                .collect();
        let inquiries = ids
            .iter()
            .filter_map(|id| rows.remove(id))
            .map(|row| self.to_proto(row, Vec::new(), false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::BatchGetInquiriesResponse { inquiries }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_inquiries(
        &self,
        request: Request<pb::ListInquiriesRequest>,
    ) -> Result<Response<pb::ListInquiriesResponse>, Status> {
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
        };
        let mut rows = db::list_inquiries(&self.pool, &filter, page.after, page.fetch_limit())
            .await
            .map_err(IntakeError::from)?;
        let next_page_token = page.finish(&mut rows, |row| row.number);
        let inquiries = rows
            .into_iter()
            .map(|row| self.to_proto(row, Vec::new(), false))
            .collect::<Result<Vec<_>, _>>()?;
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let caseworker_id = f.text(
            "caseworker_id",
            &r.caseworker_id,
            MAX_SHORT_TEXT_CHARS,
            true,
        );
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let note = f.text("note", &r.note, MAX_TEXT_CHARS, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let what = f.text("what", &r.what, MAX_TEXT_CHARS, true);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let note = f.text("note", &r.note, MAX_TEXT_CHARS, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        };
        let summary = f.text("summary", &r.summary, MAX_TEXT_CHARS, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let reason = f.text("reason", &r.reason, MAX_TEXT_CHARS, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let reason = f.text("reason", &r.reason, MAX_TEXT_CHARS, false);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let text = f.text("text", &r.text, MAX_TEXT_CHARS, true);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let mut f = Fields::default();
        let department = r.department.trim().to_owned();
        if !self.departments.contains(&department) {
            f.0.push(FieldViolation::new(
                "department",
                format!("must be one of: {}", self.departments.codes_joined()),
            ));
        }
        let suggestion = f.text("suggestion", &r.suggestion, MAX_TEXT_CHARS, true);
        self.step(
            &r.inquiry_id,
            r.expected_version,
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
        let r = request.into_inner();
        let facts =
            domain::validate_amendment(case_facts_input(&r), &self.departments, self.clock.now())
                .map(|facts| Command::Amend(Box::new(facts)));
        self.step(&r.inquiry_id, r.expected_version, &r.actor, facts)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpr_number_is_shown_masked_unless_revealed() {
        assert_eq!(cpr_for_display("0101901234", false), "010190-XXXX");
        assert_eq!(cpr_for_display("0101901234", true), "010190-1234");
    }

    #[test]
    fn sms_is_told_apart_from_an_unknown_channel() {
        assert_eq!(
            requested_channel(pb::ContactChannel::Sms.into()),
            RequestedChannel::Sms
        );
        assert_eq!(requested_channel(99), RequestedChannel::Unspecified);
        assert_eq!(
            requested_channel(pb::ContactChannel::Letter.into()),
            RequestedChannel::Allowed(ContactChannel::Letter)
        );
    }
}
