//! Turns events into facts about inquiries ([`fact_from`]) and applies them: each inquiry's
//! state is merged (see [`crate::domain::state`]) and the counters change by the difference
//! between what the inquiry contributed before and after, in the same transaction. The live
//! consumer and the rebuild use the same [`apply_facts`].

use std::collections::HashMap;

use borgerraad_messaging::{EventHandler, HandlerError};
use borgerraad_platform::convert::{from_date, from_timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;
use crate::domain::state::{Answers, Fact, InquiryState, Step, StepKind, delta};

/// A proto enum's name as the code used everywhere else: `REQUEST_TYPE_COMPLAINT` → `complaint`.
pub fn code(enum_name: &str, prefix: &str) -> String {
    enum_name
        .strip_prefix(prefix)
        .unwrap_or(enum_name)
        .to_ascii_lowercase()
}

/// The code of a known, specified enum value; `None` for unspecified or unknown numbers.
fn enum_code<E>(value: i32, prefix: &str) -> Option<String>
where
    E: TryFrom<i32> + EnumName,
{
    E::try_from(value)
        .ok()
        .map(|e| code(e.name(), prefix))
        .filter(|code| code != "unspecified")
}

/// The prost enums' `as_str_name`, behind a trait so [`enum_code`] can take any of them.
pub trait EnumName {
    fn name(&self) -> &'static str;
}

macro_rules! enum_names {
    ($($enum:ty),*) => {$(
        impl EnumName for $enum {
            fn name(&self) -> &'static str {
                self.as_str_name()
            }
        }
    )*};
}

enum_names!(
    pb::RequestType,
    pb::RequesterKind,
    pb::EligibilityOutcome,
    pb::ArrivalChannel,
    pb::ComplaintTheme,
    pb::InquiryStatus,
    pb::ClosingOutcome,
    pb::HandlingMethod,
    pb::MediationStage,
    pb::MediationResult,
    pb::SlaResult
);

fn poison(reason: &str) -> HandlerError {
    HandlerError::Poison(reason.to_owned())
}

fn inquiry_id(raw: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(raw).map_err(|_| poison("inquiry_id is not a UUID"))
}

fn answers(received: &pb::InquiryReceived) -> Result<Answers, HandlerError> {
    Ok(Answers {
        department: received.department.clone(),
        request_type: enum_code::<pb::RequestType>(received.request_type, "REQUEST_TYPE_"),
        requester_kind: enum_code::<pb::RequesterKind>(received.requester_kind, "REQUESTER_KIND_"),
        arrival_channel: enum_code::<pb::ArrivalChannel>(
            received.arrival_channel,
            "ARRIVAL_CHANNEL_",
        ),
        complaint_themes: received
            .complaint_themes
            .iter()
            .filter_map(|theme| enum_code::<pb::ComplaintTheme>(*theme, "COMPLAINT_THEME_"))
            .collect(),
        received_at: received
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| poison("received_at is missing"))?,
    })
}

fn step_kind(event_type: &str) -> StepKind {
    match event_type.rsplit('.').next().unwrap_or_default() {
        "answered" => StepKind::Answered,
        "closed" => StepKind::Closed,
        "reopened" => StepKind::Reopened,
        "mediation_recorded" => StepKind::MediationRecorded,
        "improvement_suggested" => StepKind::ImprovementSuggested,
        _ => StepKind::Other,
    }
}

/// What `event` says about its inquiry; `Ok(None)` for events that change no figure.
pub fn fact_from(event: &pb::Event) -> Result<Option<(Uuid, Fact)>, HandlerError> {
    let fact = match &event.data {
        Some(Data::InquiryReceived(received)) => (
            inquiry_id(&received.inquiry_id)?,
            Fact::Answers {
                version: 1,
                answers: answers(received)?,
            },
        ),
        Some(Data::InquiryAmended(amended)) => {
            let received = amended
                .answers
                .as_ref()
                .ok_or_else(|| poison("answers are missing"))?;
            (
                inquiry_id(&received.inquiry_id)?,
                Fact::Answers {
                    version: amended.version,
                    answers: answers(received)?,
                },
            )
        }
        Some(Data::InquiryStepTaken(step)) => (
            inquiry_id(&step.inquiry_id)?,
            Fact::Step(Step {
                kind: step_kind(&event.r#type),
                version: step.version,
                department: step.department.clone(),
                status_after: enum_code::<pb::InquiryStatus>(step.status_after, "INQUIRY_STATUS_"),
                at: step
                    .at
                    .as_ref()
                    .and_then(from_timestamp)
                    .ok_or_else(|| poison("at is missing"))?,
                closing_outcome: enum_code::<pb::ClosingOutcome>(
                    step.closing_outcome,
                    "CLOSING_OUTCOME_",
                ),
                handling_method: enum_code::<pb::HandlingMethod>(
                    step.handling_method,
                    "HANDLING_METHOD_",
                ),
                mediation_stage: enum_code::<pb::MediationStage>(
                    step.mediation_stage,
                    "MEDIATION_STAGE_",
                ),
                mediation_result: enum_code::<pb::MediationResult>(
                    step.mediation_result,
                    "MEDIATION_RESULT_",
                ),
                suggestion_department: Some(step.suggestion_department.clone())
                    .filter(|d| !d.is_empty()),
            }),
        ),
        Some(Data::EligibilityAssessed(assessed)) => (
            inquiry_id(&assessed.inquiry_id)?,
            Fact::Eligibility {
                revision: assessed.revision,
                outcome: enum_code::<pb::EligibilityOutcome>(
                    assessed.outcome,
                    "ELIGIBILITY_OUTCOME_",
                ),
                referral_target: Some(assessed.referral_target.clone()).filter(|t| !t.is_empty()),
            },
        ),
        Some(Data::DeadlineScheduled(scheduled)) => (
            inquiry_id(&scheduled.inquiry_id)?,
            Fact::DeadlineScheduled {
                revision: scheduled.revision,
                due_date: scheduled
                    .due_date
                    .as_ref()
                    .and_then(from_date)
                    .ok_or_else(|| poison("due_date is missing"))?,
            },
        ),
        // Erasure removes personal data, which the figures never held: every count stays.
        Some(Data::InquiryPersonalDataErased(_)) => return Ok(None),
        Some(Data::DeadlineNotice(notice)) => {
            if notice.kind() != pb::DeadlineNoticeKind::Breached
                && !event.r#type.ends_with(".breached")
            {
                return Ok(None);
            }
            (
                inquiry_id(&notice.inquiry_id)?,
                Fact::DeadlineBreached {
                    at: notice
                        .fired_at
                        .as_ref()
                        .and_then(from_timestamp)
                        .ok_or_else(|| poison("fired_at is missing"))?,
                },
            )
        }
        Some(Data::DeadlineStopped(stopped))
            if stopped.reason() == pb::DeadlineStopReason::InquiryUnknown =>
        {
            (
                inquiry_id(&stopped.inquiry_id)?,
                Fact::InquiryUnknown {
                    revision: stopped.revision,
                },
            )
        }
        Some(Data::DeadlineStopped(stopped)) => (
            inquiry_id(&stopped.inquiry_id)?,
            Fact::DeadlineStopped {
                revision: stopped.revision,
                result: enum_code::<pb::SlaResult>(stopped.result, "SLA_RESULT_"),
                working_days_used: stopped.working_days_used,
                stopped_at: stopped
                    .stopped_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .ok_or_else(|| poison("stopped_at is missing"))?,
            },
        ),
        None => return Ok(None),
    };
    Ok(Some(fact))
}

/// Applies `facts` (in any order, repeated or not) to the tables on the connection's
/// `search_path`: each inquiry's state is merged and the counters change by the difference.
pub async fn apply_facts(
    connection: &mut PgConnection,
    facts: &[(Uuid, Fact)],
) -> Result<(), HandlerError> {
    if facts.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = facts.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let before: HashMap<Uuid, InquiryState> = db::lock_states(&mut *connection, &ids).await?;
    let mut after = before.clone();
    for (id, fact) in facts {
        after.entry(*id).or_default().apply(fact);
    }
    let mut counters = std::collections::BTreeMap::new();
    let mut changed = Vec::with_capacity(ids.len());
    let empty = InquiryState::default();
    for id in ids {
        let Some(state) = after.remove(&id) else {
            continue;
        };
        let old = before.get(&id).unwrap_or(&empty);
        if *old == state {
            continue;
        }
        for (key, change) in delta(old, &state) {
            *counters.entry(key).or_insert(0) += change;
        }
        changed.push((id, state));
    }
    counters.retain(|_, change: &mut i64| *change != 0);
    db::save_states_and_counters(&mut *connection, &changed, &counters).await?;
    Ok(())
}

/// The live projection: the service's durable consumer hands it a chunk of events at a time,
/// applied as one merge (two statements), as the rebuild does.
pub struct Projection;

impl EventHandler for Projection {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        self.handle_all(&[(event, tracing::Span::current())], transaction)
            .await
    }

    async fn handle_all(
        &self,
        events: &[(&pb::Event, tracing::Span)],
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let mut facts = Vec::with_capacity(events.len());
        for (event, span) in events {
            let _in_span = span.enter();
            facts.extend(fact_from(event)?);
        }
        apply_facts(transaction, &facts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_enum_names_become_the_codes_used_in_sql() {
        assert_eq!(
            code("REQUEST_TYPE_COMPLAINT_GUIDANCE", "REQUEST_TYPE_"),
            "complaint_guidance"
        );
        assert_eq!(
            enum_code::<pb::EligibilityOutcome>(0, "ELIGIBILITY_OUTCOME_"),
            None,
            "unspecified is no category"
        );
    }

    #[test]
    fn an_assessment_becomes_its_outcome_and_referral_target() {
        let inquiry_id = Uuid::now_v7();
        let event = pb::Event {
            data: Some(Data::EligibilityAssessed(pb::EligibilityAssessed {
                inquiry_id: inquiry_id.to_string(),
                outcome: pb::EligibilityOutcome::Referred.into(),
                referral_target: "ankestyrelsen".into(),
                revision: 3,
                ..Default::default()
            })),
            ..Default::default()
        };
        let (id, fact) = fact_from(&event).expect("valid").expect("counted");
        assert_eq!(id, inquiry_id);
        assert_eq!(
            fact,
            Fact::Eligibility {
                revision: 3,
                outcome: Some("referred".into()),
                referral_target: Some("ankestyrelsen".into()),
            }
        );
    }

    #[test]
    fn a_step_is_known_by_its_event_type_and_a_warning_changes_no_figure() {
        let step = pb::Event {
            r#type: "borgerraad.inquiry.closed".into(),
            data: Some(Data::InquiryStepTaken(pb::InquiryStepTaken {
                inquiry_id: Uuid::now_v7().to_string(),
                version: 7,
                at: Some(prost_types::Timestamp::default()),
                closing_outcome: pb::ClosingOutcome::Criticism.into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let Some((_, Fact::Step(step))) = fact_from(&step).expect("valid") else {
            panic!("a step")
        };
        assert_eq!(step.kind, StepKind::Closed);
        assert_eq!(step.closing_outcome.as_deref(), Some("criticism"));
        let warning = pb::Event {
            r#type: "borgerraad.deadline.warning".into(),
            data: Some(Data::DeadlineNotice(pb::DeadlineNotice {
                kind: pb::DeadlineNoticeKind::Warning.into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(fact_from(&warning).expect("valid"), None);
    }

    #[test]
    fn an_event_with_a_broken_inquiry_id_is_poison() {
        let event = pb::Event {
            data: Some(Data::DeadlineScheduled(pb::DeadlineScheduled {
                inquiry_id: "nope".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert!(matches!(fact_from(&event), Err(HandlerError::Poison(_))));
    }
}
