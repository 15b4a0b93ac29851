//! Protobuf to rule-engine facts and back: the edge between the contract and [`crate::rules`].

use borgerraad_platform::convert::{date, from_date};
use borgerraad_proto::v1 as pb;
use chrono::NaiveDate;

use crate::domain::{Outcome, StoredAssessment};
use crate::rules::{ComplaintTheme, Facts, OtherAuthority, OtherBody, RequestType};

/// A proto enum number the contract does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unknown;

fn request_type(value: i32) -> Result<Option<RequestType>, Unknown> {
    use pb::RequestType as P;
    Ok(match P::try_from(value).map_err(|_| Unknown)? {
        P::Unspecified => None,
        P::Advice => Some(RequestType::Advice),
        P::Complaint => Some(RequestType::Complaint),
        P::ComplaintGuidance => Some(RequestType::ComplaintGuidance),
        P::DecisionExplanation => Some(RequestType::DecisionExplanation),
        P::DialogueOrMediation => Some(RequestType::DialogueOrMediation),
        P::ImprovementSuggestion => Some(RequestType::ImprovementSuggestion),
    })
}

fn other_body(value: i32) -> Result<Option<OtherBody>, Unknown> {
    use pb::OtherBody as P;
    Ok(match P::try_from(value).map_err(|_| Unknown)? {
        P::Unspecified => None,
        P::Ankestyrelsen => Some(OtherBody::Ankestyrelsen),
        P::MunicipalSupervision => Some(OtherBody::MunicipalSupervision),
        P::Ombudsmand => Some(OtherBody::Ombudsmand),
        P::Court => Some(OtherBody::Court),
    })
}

fn other_authority(value: i32) -> Result<Option<OtherAuthority>, Unknown> {
    use pb::OtherAuthority as P;
    Ok(match P::try_from(value).map_err(|_| Unknown)? {
        P::Unspecified => None,
        P::UdbetalingDanmark => Some(OtherAuthority::UdbetalingDanmark),
        P::Skat => Some(OtherAuthority::Skat),
        P::Region => Some(OtherAuthority::Regionen),
        P::Familieretshuset => Some(OtherAuthority::Familieretshuset),
        P::NaevnenesHus => Some(OtherAuthority::NaevnenesHus),
    })
}

fn complaint_themes(values: &[i32]) -> Result<Vec<ComplaintTheme>, Unknown> {
    use pb::ComplaintTheme as P;
    values
        .iter()
        .filter_map(|value| match P::try_from(*value) {
            Err(_) => Some(Err(Unknown)),
            Ok(P::Unspecified) => None,
            Ok(P::HandlingTime) => Some(Ok(ComplaintTheme::HandlingTime)),
            Ok(P::CaseInvestigation) => Some(Ok(ComplaintTheme::CaseInvestigation)),
            Ok(P::Reasons) => Some(Ok(ComplaintTheme::Reasons)),
            Ok(P::Guidance) => Some(Ok(ComplaintTheme::Guidance)),
            Ok(P::ServiceAndConduct) => Some(Ok(ComplaintTheme::ServiceAndConduct)),
            Ok(P::AccessToFiles) => Some(Ok(ComplaintTheme::AccessToFiles)),
            Ok(P::PracticalTasks) => Some(Ok(ComplaintTheme::PracticalTasks)),
            Ok(P::DigitalAccessibility) => Some(Ok(ComplaintTheme::DigitalAccessibility)),
        })
        .collect()
}

fn optional_date(value: Option<&pb::Date>) -> Result<Option<NaiveDate>, Unknown> {
    value.map(|d| from_date(d).ok_or(Unknown)).transpose()
}

/// The facts of an inquiry as intake published them; `description` was read from intake.
pub fn facts_from_answers(
    answers: &pb::InquiryReceived,
    description: Option<String>,
) -> Result<Facts, String> {
    let field = |name: &'static str| {
        move |_: Unknown| format!("{name} holds a value this service cannot read")
    };
    Ok(Facts {
        department: answers.department.clone(),
        request_type: request_type(answers.request_type).map_err(field("request_type"))?,
        prior_dialogue_held: answers.prior_dialogue_held,
        prior_dialogue_ongoing: answers.prior_dialogue_ongoing,
        prior_dialogue_date: optional_date(answers.prior_dialogue_date.as_ref())
            .map_err(field("prior_dialogue_date"))?,
        about_employment: answers.about_employment,
        about_political_decision: answers.about_political_decision,
        wants_decision_changed: answers.wants_decision_changed,
        brought_before: other_body(answers.brought_before).map_err(field("brought_before"))?,
        about_other_authority: other_authority(answers.other_authority)
            .map_err(field("other_authority"))?,
        decision_appealed: answers.decision_appealed,
        decision_date: optional_date(answers.decision_date.as_ref())
            .map_err(field("decision_date"))?,
        appeal_deadline: optional_date(answers.appeal_deadline.as_ref())
            .map_err(field("appeal_deadline"))?,
        complaint_themes: complaint_themes(&answers.complaint_themes)
            .map_err(field("complaint_themes"))?,
        anonymous: answers.anonymous,
        department_closed_matter_on: optional_date(answers.matter_closed_on.as_ref())
            .map_err(field("matter_closed_on"))?,
        description,
    })
}

/// The facts of a draft from a web form, as far as they can be read: the rules assess a draft
/// whatever else is wrong with it, so the form can show the outcome beside the violations.
pub fn facts_from_draft(draft: &pb::EvaluateRequest) -> Facts {
    let dialogue = draft.prior_dialogue.clone().unwrap_or_default();
    let decision = draft.related_decision.clone().unwrap_or_default();
    let scope = draft.scope.unwrap_or_default();
    let description = draft.description.trim();
    Facts {
        department: draft.department.trim().to_owned(),
        request_type: request_type(draft.request_type).unwrap_or(None),
        prior_dialogue_held: dialogue.held,
        prior_dialogue_ongoing: dialogue.ongoing,
        prior_dialogue_date: optional_date(dialogue.date.as_ref()).unwrap_or(None),
        about_employment: scope.about_employment,
        about_political_decision: scope.about_political_decision,
        wants_decision_changed: scope.wants_decision_changed,
        brought_before: other_body(decision.brought_before).unwrap_or(None),
        about_other_authority: other_authority(scope.other_authority).unwrap_or(None),
        decision_appealed: decision.appealed,
        decision_date: optional_date(decision.decision_date.as_ref()).unwrap_or(None),
        appeal_deadline: optional_date(decision.appeal_deadline.as_ref()).unwrap_or(None),
        complaint_themes: complaint_themes(&draft.complaint_themes).unwrap_or_default(),
        anonymous: draft.anonymous || draft.requester.as_ref().is_some_and(|r| r.anonymous),
        department_closed_matter_on: optional_date(scope.matter_closed_on.as_ref()).unwrap_or(None),
        description: (!description.is_empty()).then(|| description.to_owned()),
    }
}

pub fn outcome(outcome: Outcome) -> pb::EligibilityOutcome {
    match outcome {
        Outcome::Accepted => pb::EligibilityOutcome::Accepted,
        Outcome::AcceptedInPart => pb::EligibilityOutcome::AcceptedInPart,
        Outcome::Referred => pb::EligibilityOutcome::Referred,
        Outcome::OutOfScope => pb::EligibilityOutcome::OutOfScope,
        Outcome::NeedsReview => pb::EligibilityOutcome::NeedsReview,
    }
}

/// `None` for UNSPECIFIED or a number the contract does not know.
pub fn outcome_from_proto(value: i32) -> Option<Outcome> {
    match pb::EligibilityOutcome::try_from(value).ok()? {
        pb::EligibilityOutcome::Unspecified => None,
        pb::EligibilityOutcome::Accepted => Some(Outcome::Accepted),
        pb::EligibilityOutcome::AcceptedInPart => Some(Outcome::AcceptedInPart),
        pb::EligibilityOutcome::Referred => Some(Outcome::Referred),
        pb::EligibilityOutcome::OutOfScope => Some(Outcome::OutOfScope),
        pb::EligibilityOutcome::NeedsReview => Some(Outcome::NeedsReview),
    }
}

/// The stored assessment as the API shows it (without history).
pub fn assessment(stored: &StoredAssessment) -> pb::Assessment {
    let verdict = &stored.verdict;
    pb::Assessment {
        inquiry_id: stored.inquiry_id.to_string(),
        outcome: outcome(stored.outcome()).into(),
        fired_rules: verdict
            .assessment
            .fired_rules
            .iter()
            .map(|rule| pb::FiredRule {
                rule_id: rule.rule_id.clone(),
                explanation_da: rule.explanation_da.clone(),
                explanation_en: rule.explanation_en.clone(),
            })
            .collect(),
        referral_target: stored.referral_target().unwrap_or_default().to_owned(),
        rule_set_version: verdict.rule_set_version.clone(),
        assessed_at: Some(borgerraad_platform::convert::timestamp(stored.assessed_at)),
        urgent: verdict.urgent,
        appeal_deadline: verdict.appeal_deadline.map(date),
        review_signals: verdict
            .review_signals
            .iter()
            .map(|s| pb::ReviewSignal {
                topic: s.topic.clone(),
                signal: s.signal.clone(),
            })
            .collect(),
        department: stored.department.clone(),
        r#override: stored.override_.as_ref().map(|o| pb::Override {
            outcome: outcome(o.outcome).into(),
            referral_target: o.referral_target.clone().unwrap_or_default(),
            reason: o.reason.clone(),
            actor: o.actor.clone(),
            at: Some(borgerraad_platform::convert::timestamp(o.at)),
        }),
        rules_outcome: outcome(verdict.assessment.outcome).into(),
        rules_referral_target: verdict
            .assessment
            .referral_target
            .clone()
            .unwrap_or_default(),
        revision: stored.revision,
        history: Vec::new(),
        violations: Vec::new(),
    }
}
