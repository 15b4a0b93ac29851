//! The contract's messages as the rules' inputs, and enum values both ways.
//!
//! One name for one thing: every proto enum value is its prefix plus the upper-cased code that
//! Rust and SQL use (`CLOSING_OUTCOME_PARTIAL_CRITICISM` ⇄ `partial_criticism`), so the
//! conversion is one rule instead of a match per enum. A number the contract does not know is
//! [`Unreadable`] and ends as a field violation, never as a silent default.

use borgerraad_platform::convert::{from_date, from_timestamp};
use borgerraad_proto::v1 as pb;

use crate::{
    ArrivalChannel, Attachment, CaseFactsInput, ComplaintTheme, ContactChannel, DateInput,
    OtherAuthority, OtherBody, RelatedDecisionInput, RepresentativeInput, RepresentativeRole,
    RequestType, RequestedChannel, RequesterInput, RequesterKind, ScopeAnswersInput, Submission,
    Unreadable,
};

pub trait ProtoEnum: TryFrom<i32> + Copy + Into<i32> {
    const PREFIX: &'static str;
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! proto_enum {
    ($($ty:ty => $prefix:literal),+ $(,)?) => {$(
        impl ProtoEnum for $ty {
            const PREFIX: &'static str = $prefix;
            fn name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        }
    )+};
}

proto_enum!(
    pb::RequesterKind => "REQUESTER_KIND_",
    pb::RequestType => "REQUEST_TYPE_",
    pb::ContactChannel => "CONTACT_CHANNEL_",
    pb::ArrivalChannel => "ARRIVAL_CHANNEL_",
    pb::ComplaintTheme => "COMPLAINT_THEME_",
    pb::OtherBody => "OTHER_BODY_",
    pb::OtherAuthority => "OTHER_AUTHORITY_",
    pb::InquiryStatus => "INQUIRY_STATUS_",
    pb::MediationStage => "MEDIATION_STAGE_",
    pb::MediationResult => "MEDIATION_RESULT_",
    pb::ClosingOutcome => "CLOSING_OUTCOME_",
    pb::HandlingMethod => "HANDLING_METHOD_",
    pb::RepresentativeRole => "REPRESENTATIVE_ROLE_",
    pb::EligibilityOutcome => "ELIGIBILITY_OUTCOME_",
    pb::DeadlineInForceState => "DEADLINE_IN_FORCE_STATE_",
);

/// A proto enum value as a domain value: `Ok(None)` for UNSPECIFIED, `Err` for a number the
/// contract does not know.
pub fn decode<P: ProtoEnum, D>(
    value: i32,
    from_code: impl Fn(&str) -> Option<D>,
) -> Result<Option<D>, Unreadable> {
    let proto = P::try_from(value).map_err(|_| Unreadable)?;
    let code = proto
        .name()
        .strip_prefix(P::PREFIX)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if code == "unspecified" {
        return Ok(None);
    }
    from_code(&code).map(Some).ok_or(Unreadable)
}

/// A domain code as the proto enum's number; 0 (UNSPECIFIED) for a code the contract lacks.
pub fn encode<P: ProtoEnum>(code: &str) -> i32 {
    P::from_name(&format!("{}{}", P::PREFIX, code.to_ascii_uppercase())).map_or(0, Into::into)
}

pub fn date_input(value: Option<&pb::Date>) -> DateInput {
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

/// The answer channel as asked for: SMS is told apart from a number the contract lacks.
pub fn requested_channel(value: i32) -> RequestedChannel {
    if value == i32::from(pb::ContactChannel::Sms) {
        return RequestedChannel::Sms;
    }
    match decode::<pb::ContactChannel, _>(value, ContactChannel::from_code) {
        Ok(Some(channel)) => RequestedChannel::Allowed(channel),
        Ok(None) => RequestedChannel::Unspecified,
        Err(Unreadable) => RequestedChannel::Unknown,
    }
}

/// An amendment as it arrived.
pub fn case_facts_input(r: &pb::AmendInquiryRequest) -> CaseFactsInput {
    let dialogue = r.prior_dialogue.clone().unwrap_or_default();
    CaseFactsInput {
        department: r.department.clone(),
        unit: r.unit.clone(),
        request_type: decode::<pb::RequestType, _>(r.request_type, RequestType::from_code),
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

/// A submission as it arrived.
pub fn submission(request: pb::SubmitInquiryRequest) -> Submission {
    let dialogue = request.prior_dialogue.unwrap_or_default();
    let requester = request.requester.unwrap_or_default();
    Submission {
        requester_kind: decode::<pb::RequesterKind, _>(
            request.requester_kind,
            RequesterKind::from_code,
        ),
        requester: RequesterInput {
            name: requester.name,
            cpr: requester.cpr,
            cvr: requester.cvr,
            anonymous: requester.anonymous,
        },
        representative: request.representative.map(representative_input),
        consent_to_contact_department: request.consent_to_contact_department,
        arrival_channel: decode::<pb::ArrivalChannel, _>(
            request.arrival_channel,
            ArrivalChannel::from_code,
        ),
        department: request.department,
        unit: request.unit,
        request_type: decode::<pb::RequestType, _>(request.request_type, RequestType::from_code),
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
        attachments: attachments(request.attachments),
        received_at: received_at(request.received_at.as_ref()),
        client_request_id: request.client_request_id,
        contains_sensitive_data: request.contains_sensitive_data,
        contact_channel: requested_channel(request.contact_channel),
    }
}

/// A web form's draft as the submission it would be; `anonymous` may be given on the draft or
/// on its requester.
pub fn draft(request: &pb::EvaluateRequest) -> Submission {
    let request = request.clone();
    let requester = request.requester.unwrap_or_default();
    submission(pb::SubmitInquiryRequest {
        requester_kind: request.requester_kind,
        department: request.department,
        request_type: request.request_type,
        description: request.description,
        prior_dialogue: request.prior_dialogue,
        contact_channel: request.contact_channel,
        requester: Some(pb::Requester {
            anonymous: requester.anonymous || request.anonymous,
            ..requester
        }),
        representative: request.representative,
        consent_to_contact_department: request.consent_to_contact_department,
        arrival_channel: request.arrival_channel,
        unit: request.unit,
        complaint_themes: request.complaint_themes,
        related_decision: request.related_decision,
        scope: request.scope,
        desired_outcome: request.desired_outcome,
        attachments: request.attachments,
        received_at: request.received_at,
        client_request_id: String::new(),
        contains_sensitive_data: request.contains_sensitive_data,
    })
}

fn representative_input(r: pb::Representative) -> RepresentativeInput {
    RepresentativeInput {
        name: r.name,
        role: decode::<pb::RepresentativeRole, _>(r.role, RepresentativeRole::from_code),
        power_of_attorney_scope: r.power_of_attorney_scope,
        power_of_attorney_valid_until: date_input(r.power_of_attorney_valid_until.as_ref()),
    }
}

fn attachments(attachments: Vec<pb::Attachment>) -> Vec<Attachment> {
    attachments
        .into_iter()
        .map(|a| Attachment {
            title: a.title,
            document_ref: a.document_ref,
        })
        .collect()
}

fn received_at(
    at: Option<&prost_types::Timestamp>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Unreadable> {
    match at {
        None => Ok(None),
        Some(at) => from_timestamp(at).map(Some).ok_or(Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClosingOutcome;

    #[test]
    fn every_domain_code_has_its_proto_value_and_back() {
        for outcome in [
            "resolved_through_dialogue",
            "criticism",
            "partial_criticism",
            "no_criticism",
            "referred",
            "withdrawn",
        ] {
            let number = encode::<pb::ClosingOutcome>(outcome);
            assert_ne!(number, 0, "{outcome}");
            assert_eq!(
                decode::<pb::ClosingOutcome, _>(number, ClosingOutcome::from_code),
                Ok(ClosingOutcome::from_code(outcome))
            );
        }
        assert_ne!(
            encode::<pb::ComplaintTheme>(ComplaintTheme::DigitalAccessibility.as_str()),
            0
        );
    }

    #[test]
    fn unspecified_is_none_and_unknown_numbers_are_unreadable() {
        assert_eq!(
            decode::<pb::ContactChannel, _>(0, ContactChannel::from_code),
            Ok(None)
        );
        assert_eq!(
            decode::<pb::ContactChannel, _>(99, ContactChannel::from_code),
            Err(Unreadable)
        );
        // SMS exists in the contract but not among the channels the office answers by.
        assert_eq!(
            decode::<pb::ContactChannel, _>(
                pb::ContactChannel::Sms.into(),
                ContactChannel::from_code
            ),
            Err(Unreadable)
        );
    }

    #[test]
    fn sms_an_unknown_number_and_no_choice_are_three_different_answers() {
        assert_eq!(
            requested_channel(pb::ContactChannel::Sms.into()),
            RequestedChannel::Sms
        );
        assert_eq!(requested_channel(77), RequestedChannel::Unknown);
        assert_eq!(requested_channel(0), RequestedChannel::Unspecified);
        assert_eq!(
            requested_channel(pb::ContactChannel::Letter.into()),
            RequestedChannel::Allowed(ContactChannel::Letter)
        );
    }

    #[test]
    fn a_draft_is_the_submission_it_would_be() {
        let draft = pb::EvaluateRequest {
            department: "by-og-kultur".into(),
            request_type: pb::RequestType::Complaint.into(),
            anonymous: true,
            contact_channel: pb::ContactChannel::Sms.into(),
            requester_kind: pb::RequesterKind::Citizen.into(),
            ..Default::default()
        };
        let submission = super::draft(&draft);
        assert!(submission.requester.anonymous);
        assert_eq!(submission.contact_channel, RequestedChannel::Sms);
        assert_eq!(submission.request_type, Ok(Some(RequestType::Complaint)));
        assert_eq!(submission.requester_kind, Ok(Some(RequesterKind::Citizen)));
    }
}
