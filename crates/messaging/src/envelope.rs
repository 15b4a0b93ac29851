//! The event envelope: CloudEvents attributes around one domain payload.

use borgerraad_proto::v1::{Event, event::Data};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The types of event, which are also their NATS subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    InquiryReceived,
    EligibilityAssessed,
    DeadlineScheduled,
    /// A pause for the requester's information moved the due date (`DeadlineScheduled`).
    DeadlineRescheduled,
    /// Steps of the warning and escalation chain, all carrying `DeadlineNotice`.
    DeadlineWarning,
    DeadlineDueToday,
    DeadlineBreached,
    DeadlineEscalated,
    DeadlineStopped,
    /// A caseworker corrected the form's answers (`InquiryAmended`).
    InquiryAmended,
    /// Lifecycle steps of an inquiry, all carrying `InquiryStepTaken`.
    InquiryAssessed,
    InquiryAssigned,
    InquiryWorkStarted,
    InquiryMediationRecorded,
    InquiryInformationRequested,
    InquiryInformationReceived,
    InquiryAnswered,
    InquiryClosed,
    InquiryWithdrawn,
    InquiryReopened,
    InquiryNoteAdded,
    InquiryImprovementSuggested,
    /// The inquiry's personal data was erased (`InquiryPersonalDataErased`).
    InquiryPersonalDataErased,
}

impl EventType {
    /// Every subject of the domain's stream starts with this.
    pub const PREFIX: &'static str = "borgerraad";

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InquiryReceived => "borgerraad.inquiry.received",
            Self::EligibilityAssessed => "borgerraad.eligibility.assessed",
            Self::DeadlineScheduled => "borgerraad.deadline.scheduled",
            Self::DeadlineRescheduled => "borgerraad.deadline.rescheduled",
            Self::DeadlineWarning => "borgerraad.deadline.warning",
            Self::DeadlineDueToday => "borgerraad.deadline.due_today",
            Self::DeadlineBreached => "borgerraad.deadline.breached",
            Self::DeadlineEscalated => "borgerraad.deadline.escalated",
            Self::DeadlineStopped => "borgerraad.deadline.stopped",
            Self::InquiryAmended => "borgerraad.inquiry.amended",
            Self::InquiryAssessed => "borgerraad.inquiry.assessed",
            Self::InquiryAssigned => "borgerraad.inquiry.assigned",
            Self::InquiryWorkStarted => "borgerraad.inquiry.work_started",
            Self::InquiryMediationRecorded => "borgerraad.inquiry.mediation_recorded",
            Self::InquiryInformationRequested => "borgerraad.inquiry.information_requested",
            Self::InquiryInformationReceived => "borgerraad.inquiry.information_received",
            Self::InquiryAnswered => "borgerraad.inquiry.answered",
            Self::InquiryClosed => "borgerraad.inquiry.closed",
            Self::InquiryWithdrawn => "borgerraad.inquiry.withdrawn",
            Self::InquiryReopened => "borgerraad.inquiry.reopened",
            Self::InquiryNoteAdded => "borgerraad.inquiry.note_added",
            Self::InquiryImprovementSuggested => "borgerraad.inquiry.improvement_suggested",
            Self::InquiryPersonalDataErased => "borgerraad.inquiry.personal_data_erased",
        }
    }

    /// The service that publishes events of this type (the owner of its subject).
    pub const fn producer(self) -> crate::origin::Producer {
        use crate::origin::Producer;
        match self {
            Self::EligibilityAssessed => Producer::Eligibility,
            Self::DeadlineScheduled
            | Self::DeadlineRescheduled
            | Self::DeadlineWarning
            | Self::DeadlineDueToday
            | Self::DeadlineBreached
            | Self::DeadlineEscalated
            | Self::DeadlineStopped => Producer::DeadlineMonitoring,
            Self::InquiryReceived
            | Self::InquiryAmended
            | Self::InquiryAssessed
            | Self::InquiryAssigned
            | Self::InquiryWorkStarted
            | Self::InquiryMediationRecorded
            | Self::InquiryInformationRequested
            | Self::InquiryInformationReceived
            | Self::InquiryAnswered
            | Self::InquiryClosed
            | Self::InquiryWithdrawn
            | Self::InquiryReopened
            | Self::InquiryNoteAdded
            | Self::InquiryImprovementSuggested
            | Self::InquiryPersonalDataErased => Producer::Intake,
        }
    }

    /// The type of a payload that has only one, or `None` for a payload shared by several types
    /// (a lifecycle step, a deadline notice, a (re)scheduled deadline), whose type names which.
    pub fn of(data: &Data) -> Option<Self> {
        match data {
            Data::InquiryReceived(_) => Some(Self::InquiryReceived),
            Data::EligibilityAssessed(_) => Some(Self::EligibilityAssessed),
            Data::InquiryAmended(_) => Some(Self::InquiryAmended),
            Data::DeadlineStopped(_) => Some(Self::DeadlineStopped),
            Data::InquiryPersonalDataErased(_) => Some(Self::InquiryPersonalDataErased),
            Data::DeadlineScheduled(_) | Data::DeadlineNotice(_) | Data::InquiryStepTaken(_) => {
                None
            }
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new event about `inquiry_id` from `source` (e.g. "/borgerraad/intake"), with a fresh id.
pub fn new_event(
    source: &str,
    event_type: EventType,
    inquiry_id: Uuid,
    time: DateTime<Utc>,
    data: Data,
) -> Event {
    debug_assert!(EventType::of(&data).is_none_or(|only| only == event_type));
    Event {
        id: Uuid::now_v7().to_string(),
        source: source.to_owned(),
        r#type: event_type.as_str().to_owned(),
        time: Some(borgerraad_platform::convert::timestamp(time)),
        subject: inquiry_id.to_string(),
        data: Some(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borgerraad_proto::v1::InquiryReceived;

    #[test]
    fn a_new_event_names_its_type_after_its_payload_and_has_a_unique_id() {
        let inquiry = Uuid::now_v7();
        let data = Data::InquiryReceived(InquiryReceived::default());
        let first = new_event(
            "/borgerraad/intake",
            EventType::InquiryReceived,
            inquiry,
            Utc::now(),
            data.clone(),
        );
        let second = new_event(
            "/borgerraad/intake",
            EventType::InquiryReceived,
            inquiry,
            Utc::now(),
            data,
        );
        assert_eq!(first.r#type, "borgerraad.inquiry.received");
        assert_eq!(first.subject, inquiry.to_string());
        assert_ne!(first.id, second.id);
    }
}
