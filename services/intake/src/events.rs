//! Intake's events (ids and categories only, never names, numbers or free text), its consumer
//! of `eligibility.assessed`, which records the assessment as a lifecycle step, and its consumer
//! of deadline-monitoring's events, which records the answer deadline in force on the case.

use std::sync::Arc;

use borgerraad_messaging::{EventHandler, EventType, HandlerError, Outbox, new_event};
use borgerraad_platform::convert::{date, from_date, from_timestamp, timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, Utc};
use personal_data::Keyring;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::cases::{StepError, StepTaken, take_step};
use crate::db::{self, InquiryRow};
use crate::domain::lifecycle::{Command, Step};
use crate::domain::{Form, Inquiry};
use inquiry_form::proto::{decode, encode};

const SOURCE: &str = borgerraad_messaging::Producer::Intake.source();

/// `inquiry.received`: the form's structured answers, for the scope rules.
pub fn inquiry_received(inquiry: &Inquiry) -> pb::Event {
    let details = &inquiry.details;
    let mut answers = pb::InquiryReceived {
        inquiry_id: inquiry.inquiry_id.to_string(),
        reference: inquiry.reference.clone(),
        requester_kind: encode::<pb::RequesterKind>(details.requester.kind.as_str()),
        department: details.department.clone(),
        request_type: encode::<pb::RequestType>(details.request_type.as_str()),
        prior_dialogue_held: details.prior_dialogue.held,
        prior_dialogue_date: details.prior_dialogue.date.map(date),
        contact_channel: details
            .contact_channel
            .map_or(0, |c| encode::<pb::ContactChannel>(c.as_str())),
        received_at: Some(timestamp(details.received_at)),
        arrival_channel: encode::<pb::ArrivalChannel>(details.arrival_channel.as_str()),
        has_representative: details.representative.is_some(),
        anonymous: details.requester.anonymous,
        has_description: !details.description.is_empty(),
        ..Default::default()
    };
    add_form_answers(&details.form, &mut answers);
    new_event(
        SOURCE,
        EventType::InquiryReceived,
        inquiry.inquiry_id,
        details.received_at,
        Data::InquiryReceived(answers),
    )
}

/// `inquiry.amended`: the answers as they stand after a correction, in the shape of
/// `inquiry.received`.
pub fn inquiry_amended(
    row: &InquiryRow,
    has_description: bool,
    version: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<pb::Event> {
    let mut answers = pb::InquiryReceived {
        inquiry_id: row.inquiry_id.to_string(),
        reference: row.reference.clone(),
        requester_kind: encode::<pb::RequesterKind>(&row.requester_kind),
        department: row.department.clone(),
        request_type: encode::<pb::RequestType>(&row.request_type),
        prior_dialogue_held: row.prior_dialogue_held,
        prior_dialogue_date: row.prior_dialogue_date.map(date),
        contact_channel: row
            .contact_channel
            .as_deref()
            .map_or(0, encode::<pb::ContactChannel>),
        received_at: Some(timestamp(row.received_at)),
        arrival_channel: encode::<pb::ArrivalChannel>(&row.arrival_channel),
        has_representative: row.representative_role.is_some(),
        anonymous: row.requester_anonymous,
        has_description,
        ..Default::default()
    };
    add_form_answers(&row.form.0, &mut answers);
    Ok(new_event(
        SOURCE,
        EventType::InquiryAmended,
        row.inquiry_id,
        at,
        Data::InquiryAmended(pb::InquiryAmended {
            answers: Some(answers),
            version,
            amended_at: Some(timestamp(at)),
        }),
    ))
}

/// The structured answers kept in the form record; never its free text (the unit included).
fn add_form_answers(form: &Form, answers: &mut pb::InquiryReceived) {
    let decision = form.related_decision.as_ref();
    answers.complaint_themes = form
        .complaint_themes
        .iter()
        .map(|t| encode::<pb::ComplaintTheme>(t.as_str()))
        .collect();
    answers.about_employment = form.scope.about_employment;
    answers.about_political_decision = form.scope.about_political_decision;
    answers.wants_decision_changed = form.scope.wants_decision_changed;
    answers.other_authority = form
        .scope
        .other_authority
        .map_or(0, |a| encode::<pb::OtherAuthority>(a.as_str()));
    answers.matter_closed_on = form.scope.matter_closed_on.map(date);
    answers.prior_dialogue_ongoing = form.prior_dialogue.ongoing;
    answers.brought_before = decision
        .and_then(|d| d.brought_before)
        .map_or(0, |b| encode::<pb::OtherBody>(b.as_str()));
    answers.decision_appealed = decision.is_some_and(|d| d.appealed);
    answers.decision_date = decision.and_then(|d| d.decision_date).map(date);
    answers.appeal_deadline = decision.and_then(|d| d.appeal_deadline).map(date);
    answers.contains_sensitive_data = form.contains_sensitive_data;
}

/// The event of a lifecycle step, typed after the step.
pub fn step_taken(taken: &StepTaken, command: &Command) -> pb::Event {
    let event_type = match command.step() {
        Step::Assess => EventType::InquiryAssessed,
        Step::Assign => EventType::InquiryAssigned,
        Step::StartWork => EventType::InquiryWorkStarted,
        Step::RecordMediation => EventType::InquiryMediationRecorded,
        Step::RequestInformation => EventType::InquiryInformationRequested,
        Step::ReceiveInformation => EventType::InquiryInformationReceived,
        Step::Answer => EventType::InquiryAnswered,
        Step::Close => EventType::InquiryClosed,
        Step::Withdraw => EventType::InquiryWithdrawn,
        Step::Reopen => EventType::InquiryReopened,
        Step::AddNote => EventType::InquiryNoteAdded,
        Step::RecordImprovementSuggestion => EventType::InquiryImprovementSuggested,
        // Amendments publish `inquiry.amended` instead (see `cases::take_step`).
        Step::Amend => EventType::InquiryAmended,
    };
    let mut data = pb::InquiryStepTaken {
        inquiry_id: taken.inquiry_id.to_string(),
        department: taken.department.clone(),
        version: taken.after.version,
        status_before: encode::<pb::InquiryStatus>(taken.before.status.as_str()),
        status_after: encode::<pb::InquiryStatus>(taken.after.status.as_str()),
        at: Some(timestamp(taken.at)),
        caseworker_id: taken.after.caseworker_id.clone().unwrap_or_default(),
        closing_outcome: taken
            .after
            .closing_outcome
            .map_or(0, |o| encode::<pb::ClosingOutcome>(o.as_str())),
        handling_method: taken
            .after
            .handling_method
            .map_or(0, |h| encode::<pb::HandlingMethod>(h.as_str())),
        ..Default::default()
    };
    match command {
        Command::RecordMediation { stage, result, .. } => {
            data.mediation_stage = encode::<pb::MediationStage>(stage.as_str());
            data.mediation_result = result.map_or(0, |r| encode::<pb::MediationResult>(r.as_str()));
        }
        Command::Answer { channel, .. } => {
            data.answer_channel = encode::<pb::ContactChannel>(channel.as_str())
        }
        Command::RecordImprovementSuggestion { department, .. } => {
            data.suggestion_department = department.clone()
        }
        _ => {}
    }
    new_event(
        SOURCE,
        event_type,
        taken.inquiry_id,
        taken.at,
        Data::InquiryStepTaken(data),
    )
}

/// Records eligibility's assessments on the case.
pub struct RecordAssessment {
    pub outbox: Outbox,
    pub keyring: Arc<Keyring>,
}

impl EventHandler for RecordAssessment {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let Some(Data::EligibilityAssessed(assessed)) = &event.data else {
            return Ok(());
        };
        let inquiry_id = Uuid::parse_str(&assessed.inquiry_id)
            .map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))?;
        let at = assessed
            .assessed_at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| HandlerError::Poison("assessed_at is missing".into()))?;
        let outcome = decode::<pb::EligibilityOutcome, _>(
            assessed.outcome,
            crate::domain::EligibilityOutcome::from_code,
        )
        .ok()
        .flatten()
        .ok_or_else(|| HandlerError::Poison("the outcome is unknown".into()))?;
        let in_force = db::AssessmentInForce {
            outcome,
            referral_target: Some(assessed.referral_target.clone()).filter(|t| !t.is_empty()),
            fired_rule_ids: assessed.fired_rule_ids.clone(),
            revision: assessed.revision,
        };
        // A late event of an older revision changes neither the record nor the journal.
        if !db::record_assessment(transaction, inquiry_id, &in_force)
            .await
            .map_err(|e| HandlerError::Retry(e.into()))?
        {
            return match db::lock_case(transaction, inquiry_id)
                .await
                .map_err(|e| HandlerError::Retry(e.into()))?
            {
                Some(_) => Ok(()),
                None => Err(HandlerError::Poison(
                    "assessment of an unknown inquiry".into(),
                )),
            };
        }
        let command = Command::Assess {
            outcome: in_force.outcome,
            referral_target: in_force.referral_target,
            fired_rule_ids: in_force.fired_rule_ids,
        };
        match take_step(
            transaction,
            &self.outbox,
            &self.keyring,
            inquiry_id,
            None,
            &command,
            "eligibility",
            at,
        )
        .await
        {
            Ok(_) => Ok(()),
            // A case finished before its assessment arrived keeps its status; nothing to record.
            Err(StepError::Refused(_)) => Ok(()),
            Err(StepError::NotFound) => Err(HandlerError::Poison(
                "assessment of an unknown inquiry".into(),
            )),
            Err(StepError::Stale { .. }) => {
                Err(HandlerError::Retry(anyhow::anyhow!("concurrent change")))
            }
            Err(StepError::Unexpected(error)) => Err(HandlerError::Retry(error)),
        }
    }
}

/// Records the answer deadline in force from deadline-monitoring's events (`deadline.scheduled`,
/// `deadline.rescheduled`, `deadline.stopped`, and `deadline.breached` for an overdue one); the
/// other notices carry nothing the record keeps and are acknowledged unchanged. The latest
/// revision wins, so late or repeated events change nothing. No journal entry: the deadline is
/// deadline-monitoring's fact, not a step of the case.
pub struct RecordDeadline;

impl EventHandler for RecordDeadline {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let (inquiry_id, recorded) = match &event.data {
            Some(Data::DeadlineScheduled(scheduled)) => {
                let inquiry_id = inquiry_id_of(&scheduled.inquiry_id)?;
                let deadline = db::DeadlineScheduled {
                    due_date: scheduled
                        .due_date
                        .as_ref()
                        .and_then(from_date)
                        .ok_or_else(|| HandlerError::Poison("due_date is missing".into()))?,
                    working_days: scheduled.working_days,
                    paused_working_days: scheduled.paused_working_days,
                    revision: scheduled.revision,
                };
                let recorded =
                    db::record_deadline_scheduled(transaction, inquiry_id, &deadline).await?;
                (inquiry_id, recorded)
            }
            Some(Data::DeadlineStopped(stopped)) => {
                let inquiry_id = inquiry_id_of(&stopped.inquiry_id)?;
                let state = match pb::SlaResult::try_from(stopped.result) {
                    Ok(pb::SlaResult::Met) => "met",
                    Ok(pb::SlaResult::Breached) => "breached",
                    // No promise to judge (the inquiry was unknown to deadline-monitoring).
                    Ok(pb::SlaResult::Unspecified) => "stopped",
                    Err(_) => return Err(HandlerError::Poison("the result is unknown".into())),
                };
                let stop = db::DeadlineStopped {
                    due_date: stopped.due_date.as_ref().and_then(from_date),
                    state,
                    paused_working_days: stopped.paused_working_days,
                    working_days_over: stopped.working_days_over,
                    revision: stopped.revision,
                };
                let recorded = db::record_deadline_stopped(transaction, inquiry_id, &stop).await?;
                (inquiry_id, recorded)
            }
            Some(Data::DeadlineNotice(notice))
                if notice.kind == i32::from(pb::DeadlineNoticeKind::Breached) =>
            {
                let inquiry_id = inquiry_id_of(&notice.inquiry_id)?;
                let due_date = notice
                    .due_date
                    .as_ref()
                    .and_then(from_date)
                    .ok_or_else(|| HandlerError::Poison("due_date is missing".into()))?;
                let recorded =
                    db::record_deadline_overdue(transaction, inquiry_id, due_date).await?;
                (inquiry_id, recorded)
            }
            _ => return Ok(()),
        };
        if recorded || db::lock_case(transaction, inquiry_id).await?.is_some() {
            Ok(())
        } else {
            Err(HandlerError::Poison(
                "deadline of an unknown inquiry".into(),
            ))
        }
    }
}

fn inquiry_id_of(text: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(text).map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))
}

/// `inquiry.personal_data_erased`: ids and the reason only.
pub fn personal_data_erased(
    inquiry_id: Uuid,
    department: &str,
    version: i64,
    at: DateTime<Utc>,
    reason: crate::domain::retention::ErasureReason,
) -> pb::Event {
    use crate::domain::retention::ErasureReason;
    let reason = match reason {
        ErasureReason::Retention => pb::ErasureReason::Retention,
        ErasureReason::Request => pb::ErasureReason::Request,
    };
    new_event(
        SOURCE,
        EventType::InquiryPersonalDataErased,
        inquiry_id,
        at,
        Data::InquiryPersonalDataErased(pb::InquiryPersonalDataErased {
            inquiry_id: inquiry_id.to_string(),
            department: department.to_owned(),
            version,
            erased_at: Some(timestamp(at)),
            reason: reason.into(),
        }),
    )
}
