//! Who may say what on the stream: each subject family has one producing service, and an event
//! is taken only from the subject its type names, carrying its producer's source and a payload
//! of that producer's kind. NATS permissions keep other identities off a subject (see
//! `deploy/nats.conf`); this check keeps a producer to its own kind of event, so an event that
//! claims another service's authority is set aside as a dead letter instead of being applied.

use borgerraad_proto::v1::{Event, event::Data};

use crate::envelope::EventType;

/// The services that publish events, each owning one subject family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Producer {
    Intake,
    Eligibility,
    DeadlineMonitoring,
}

impl Producer {
    pub const ALL: [Self; 3] = [Self::Intake, Self::Eligibility, Self::DeadlineMonitoring];

    /// The CloudEvents `source` its events carry.
    pub const fn source(self) -> &'static str {
        match self {
            Self::Intake => "/borgerraad/intake",
            Self::Eligibility => "/borgerraad/eligibility",
            Self::DeadlineMonitoring => "/borgerraad/deadline-monitoring",
        }
    }

    /// The subjects it alone publishes on (a NATS wildcard).
    pub const fn subjects(self) -> &'static str {
        match self {
            Self::Intake => "borgerraad.inquiry.>",
            Self::Eligibility => "borgerraad.eligibility.>",
            Self::DeadlineMonitoring => "borgerraad.deadline.>",
        }
    }

    /// The owner of `subject`, if any service owns it.
    pub fn of_subject(subject: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|producer| {
            let family = producer.subjects().trim_end_matches('>');
            subject.len() > family.len() && subject.starts_with(family)
        })
    }

    /// The producer whose kind of payload `data` is.
    pub const fn of_payload(data: &Data) -> Self {
        match data {
            Data::InquiryReceived(_)
            | Data::InquiryAmended(_)
            | Data::InquiryStepTaken(_)
            | Data::InquiryPersonalDataErased(_) => Self::Intake,
            Data::EligibilityAssessed(_) => Self::Eligibility,
            Data::DeadlineScheduled(_) | Data::DeadlineNotice(_) | Data::DeadlineStopped(_) => {
                Self::DeadlineMonitoring
            }
        }
    }
}

/// Why an event is not taken from the subject it came on. Ids and categories only: the text is
/// logged and kept with the dead letter, and the event's own fields may be anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("no service owns subject {0}")]
    UnownedSubject(String),
    #[error("the event's type differs from the subject {subject} it came on")]
    TypeNotSubject { subject: String },
    #[error("the event's source is not {}, which owns {}", .owner.source(), .owner.subjects())]
    NotFromOwner { owner: Producer },
    #[error("a payload of {}'s kind on {}'s subject", .payload.source(), .owner.source())]
    ForeignPayload { owner: Producer, payload: Producer },
    #[error("the payload does not fit the type on subject {subject}")]
    PayloadNotType { subject: String },
}

/// Whether `event`, delivered on `subject`, comes from the service that owns the subject: its
/// type is the subject, its source the owner's, and its payload of the owner's kind (and of
/// the type's payload where only one fits).
pub fn check_origin(subject: &str, event: &Event) -> Result<(), OriginError> {
    let owner =
        Producer::of_subject(subject).ok_or_else(|| OriginError::UnownedSubject(subject.into()))?;
    if event.r#type != subject {
        return Err(OriginError::TypeNotSubject {
            subject: subject.into(),
        });
    }
    if event.source != owner.source() {
        return Err(OriginError::NotFromOwner { owner });
    }
    if let Some(data) = &event.data {
        let payload = Producer::of_payload(data);
        if payload != owner {
            return Err(OriginError::ForeignPayload { owner, payload });
        }
        if EventType::of(data).is_some_and(|only| only.as_str() != subject) {
            return Err(OriginError::PayloadNotType {
                subject: subject.into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use borgerraad_proto::v1 as pb;

    use super::*;

    fn event(subject: &str, source: &str, data: Data) -> Event {
        Event {
            id: uuid::Uuid::now_v7().to_string(),
            source: source.into(),
            r#type: subject.into(),
            subject: uuid::Uuid::now_v7().to_string(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn received() -> Data {
        Data::InquiryReceived(pb::InquiryReceived::default())
    }

    #[test]
    fn each_subject_family_has_exactly_one_owner() {
        assert_eq!(
            Producer::of_subject("borgerraad.inquiry.received"),
            Some(Producer::Intake)
        );
        assert_eq!(
            Producer::of_subject("borgerraad.eligibility.assessed"),
            Some(Producer::Eligibility)
        );
        assert_eq!(
            Producer::of_subject("borgerraad.deadline.stopped"),
            Some(Producer::DeadlineMonitoring)
        );
        for unowned in [
            "borgerraad.inquiry",
            "borgerraad.inquiry.",
            "borgerraad.reporting.x",
            "borgerraad.inquiryx.received",
            "other.inquiry.received",
        ] {
            assert_eq!(Producer::of_subject(unowned), None, "{unowned}");
        }
    }

    #[test]
    fn every_event_type_is_owned_by_the_producer_of_its_payload_kind() {
        let samples = [
            (EventType::InquiryReceived, received()),
            (
                EventType::InquiryClosed,
                Data::InquiryStepTaken(Default::default()),
            ),
            (
                EventType::EligibilityAssessed,
                Data::EligibilityAssessed(Default::default()),
            ),
            (
                EventType::DeadlineBreached,
                Data::DeadlineNotice(Default::default()),
            ),
            (
                EventType::DeadlineStopped,
                Data::DeadlineStopped(Default::default()),
            ),
            (
                EventType::InquiryPersonalDataErased,
                Data::InquiryPersonalDataErased(Default::default()),
            ),
        ];
        for (event_type, data) in samples {
            assert_eq!(
                Producer::of_subject(event_type.as_str()),
                Some(Producer::of_payload(&data)),
                "{event_type}"
            );
        }
    }

    #[test]
    fn each_event_type_names_the_owner_of_its_subject() {
        use EventType::*;
        for event_type in [
            InquiryReceived,
            EligibilityAssessed,
            DeadlineScheduled,
            DeadlineRescheduled,
            DeadlineWarning,
            DeadlineDueToday,
            DeadlineBreached,
            DeadlineEscalated,
            DeadlineStopped,
            InquiryAmended,
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
            InquiryPersonalDataErased,
        ] {
            assert_eq!(
                Producer::of_subject(event_type.as_str()),
                Some(event_type.producer()),
                "{event_type}"
            );
        }
    }

    #[test]
    fn an_event_from_the_owner_of_its_subject_is_taken() {
        let subject = EventType::InquiryReceived.as_str();
        let genuine = event(subject, "/borgerraad/intake", received());
        assert_eq!(check_origin(subject, &genuine), Ok(()));
        let stopped = EventType::DeadlineStopped.as_str();
        let stop = event(
            stopped,
            "/borgerraad/deadline-monitoring",
            Data::DeadlineStopped(Default::default()),
        );
        assert_eq!(check_origin(stopped, &stop), Ok(()));
    }

    #[test]
    fn an_event_claiming_another_source_than_the_subjects_owner_is_refused() {
        let subject = EventType::InquiryReceived.as_str();
        let forged = event(subject, "/borgerraad/eligibility", received());
        assert_eq!(
            check_origin(subject, &forged),
            Err(OriginError::NotFromOwner {
                owner: Producer::Intake
            })
        );
    }

    #[test]
    fn an_owner_cannot_carry_another_services_payload_on_its_own_subject() {
        // Eligibility may publish on borgerraad.eligibility.>, but not a receipt dressed as one.
        let subject = "borgerraad.eligibility.assessed";
        let smuggled = event(subject, "/borgerraad/eligibility", received());
        assert_eq!(
            check_origin(subject, &smuggled),
            Err(OriginError::ForeignPayload {
                owner: Producer::Eligibility,
                payload: Producer::Intake
            })
        );
    }

    #[test]
    fn the_type_must_be_the_subject_it_came_on_and_fit_the_payload() {
        let genuine = event(
            EventType::InquiryReceived.as_str(),
            "/borgerraad/intake",
            received(),
        );
        assert!(matches!(
            check_origin("borgerraad.inquiry.closed", &genuine),
            Err(OriginError::TypeNotSubject { .. })
        ));
        let amended_as_received = event(
            EventType::InquiryReceived.as_str(),
            "/borgerraad/intake",
            Data::InquiryAmended(Default::default()),
        );
        assert!(matches!(
            check_origin(EventType::InquiryReceived.as_str(), &amended_as_received),
            Err(OriginError::PayloadNotType { .. })
        ));
        assert!(matches!(
            check_origin("borgerraad.reporting.x", &genuine),
            Err(OriginError::UnownedSubject(_))
        ));
    }
}
