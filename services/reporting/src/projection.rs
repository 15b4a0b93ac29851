//! Turns events into facts about inquiries. Each event fills only the columns it knows, so the
//! same facts result whichever order the events arrive in.

use borgerraad_messaging::{EventHandler, HandlerError};
use borgerraad_platform::convert::from_timestamp;
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;

/// One event's contribution to an inquiry's facts; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsUpdate {
    pub inquiry_id: Uuid,
    pub department: Option<String>,
    pub request_type: Option<String>,
    pub requester_kind: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub eligibility_outcome: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

/// A proto enum's name as the code used everywhere else: `REQUEST_TYPE_COMPLAINT` → `complaint`.
pub fn code(enum_name: &str, prefix: &str) -> String {
    enum_name
        .strip_prefix(prefix)
        .unwrap_or(enum_name)
        .to_ascii_lowercase()
}

fn enum_code<E>(value: i32, prefix: &str) -> Option<String>
where
    E: TryFrom<i32> + EnumName,
{
    E::try_from(value).ok().map(|e| code(e.name(), prefix))
}

/// The prost enums' `as_str_name`, behind a trait so [`enum_code`] can take any of them.
pub trait EnumName {
    fn name(&self) -> &'static str;
}

impl EnumName for pb::RequestType {
    fn name(&self) -> &'static str {
        self.as_str_name()
    }
}

impl EnumName for pb::RequesterKind {
    fn name(&self) -> &'static str {
        self.as_str_name()
    }
}

impl EnumName for pb::EligibilityOutcome {
    fn name(&self) -> &'static str {
        self.as_str_name()
    }
}

/// What `event` says about its inquiry; `Ok(None)` for events reporting does not count.
pub fn facts_from(event: &pb::Event) -> Result<Option<FactsUpdate>, HandlerError> {
    let inquiry_id = |raw: &str| {
        Uuid::parse_str(raw).map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))
    };
    let update = match &event.data {
        Some(Data::InquiryReceived(received)) => FactsUpdate {
            inquiry_id: inquiry_id(&received.inquiry_id)?,
            department: Some(received.department.clone()),
            request_type: enum_code::<pb::RequestType>(received.request_type, "REQUEST_TYPE_"),
            requester_kind: enum_code::<pb::RequesterKind>(
                received.requester_kind,
                "REQUESTER_KIND_",
            ),
            received_at: Some(
                received
                    .received_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .ok_or_else(|| HandlerError::Poison("received_at is missing".into()))?,
            ),
            ..FactsUpdate::default()
        },
        Some(Data::EligibilityAssessed(assessed)) => FactsUpdate {
            inquiry_id: inquiry_id(&assessed.inquiry_id)?,
            eligibility_outcome: enum_code::<pb::EligibilityOutcome>(
                assessed.outcome,
                "ELIGIBILITY_OUTCOME_",
            ),
            ..FactsUpdate::default()
        },
        Some(Data::DeadlineScheduled(scheduled)) => FactsUpdate {
            inquiry_id: inquiry_id(&scheduled.inquiry_id)?,
            due_at: scheduled.due_at.as_ref().and_then(from_timestamp),
            ..FactsUpdate::default()
        },
        // Lifecycle steps are counted once reporting grows its case figures.
        Some(Data::InquiryStepTaken(_)) | None => return Ok(None),
    };
    Ok(Some(update))
}

pub struct Projection;

impl EventHandler for Projection {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        if let Some(update) = facts_from(event)? {
            db::apply(transaction, &update).await?;
        }
        Ok(())
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
            code("ELIGIBILITY_OUTCOME_REFERRED", "ELIGIBILITY_OUTCOME_"),
            "referred"
        );
    }

    #[test]
    fn an_assessment_fills_only_the_outcome() {
        let inquiry_id = Uuid::now_v7();
        let event = pb::Event {
            data: Some(Data::EligibilityAssessed(pb::EligibilityAssessed {
                inquiry_id: inquiry_id.to_string(),
                outcome: pb::EligibilityOutcome::Accepted.into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let update = facts_from(&event).expect("valid").expect("counted");
        assert_eq!(
            update,
            FactsUpdate {
                inquiry_id,
                eligibility_outcome: Some("accepted".into()),
                ..FactsUpdate::default()
            }
        );
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
        assert!(matches!(facts_from(&event), Err(HandlerError::Poison(_))));
    }
}
