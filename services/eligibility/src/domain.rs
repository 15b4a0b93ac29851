//! The office's scope rules. For now one rule: the office handles an inquiry only after the person
//! has been in dialogue with the department concerned; otherwise it refers them back there.

use chrono::{DateTime, Utc};

/// Stored with every assessment, so an outcome can be traced to the rules that made it.
pub const RULE_SET_VERSION: &str = "2026.11-1";

/// What the rules look at: the form's structured answers, never free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InquiryFacts {
    pub department: String,
    pub prior_dialogue_held: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Accepted,
    AcceptedInPart,
    Referred,
    OutOfScope,
    NeedsReview,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::AcceptedInPart => "accepted_in_part",
            Self::Referred => "referred",
            Self::OutOfScope => "out_of_scope",
            Self::NeedsReview => "needs_review",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Accepted,
            Self::AcceptedInPart,
            Self::Referred,
            Self::OutOfScope,
            Self::NeedsReview,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == code)
    }
}

/// A rule that decided the outcome, explained to the person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FiredRule {
    pub rule_id: String,
    pub explanation_da: String,
    pub explanation_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: Outcome,
    pub fired_rules: Vec<FiredRule>,
    /// Where the person is sent: a department code when referred back to the department.
    pub referral_target: Option<String>,
}

/// An assessment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssessment {
    pub inquiry_id: uuid::Uuid,
    pub department: String,
    pub assessment: Assessment,
    pub rule_set_version: String,
    pub assessed_at: DateTime<Utc>,
}

pub fn assess(facts: &InquiryFacts) -> Assessment {
    if !facts.prior_dialogue_held {
        return Assessment {
            outcome: Outcome::Referred,
            fired_rules: vec![FiredRule {
                rule_id: "no-prior-dialogue".into(),
                explanation_da: format!(
                    "Borgerrådgiveren kan først behandle din henvendelse, når du har været i dialog \
                     med forvaltningen ({}) og ikke kan komme videre. Kontakt forvaltningen først; \
                     de kender din sag og kan ofte løse problemet hurtigst.",
                    facts.department
                ),
                explanation_en: format!(
                    "The citizens' advisor can only handle your inquiry once you have been in \
                     dialogue with the department ({}) and see no way forward. Please contact the \
                     department first; it knows your case and can often solve the problem fastest.",
                    facts.department
                ),
            }],
            referral_target: Some(facts.department.clone()),
        };
    }
    Assessment {
        outcome: Outcome::Accepted,
        fired_rules: Vec::new(),
        referral_target: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_prior_dialogue_the_person_is_referred_back_to_the_department() {
        let assessment = assess(&InquiryFacts {
            department: "by-og-kultur".into(),
            prior_dialogue_held: false,
        });
        assert_eq!(assessment.outcome, Outcome::Referred);
        assert_eq!(assessment.referral_target.as_deref(), Some("by-og-kultur"));
        assert_eq!(assessment.fired_rules[0].rule_id, "no-prior-dialogue");
        assert!(
            assessment.fired_rules[0]
                .explanation_da
                .contains("by-og-kultur")
        );
    }

    #[test]
    fn after_prior_dialogue_the_inquiry_is_accepted() {
        let assessment = assess(&InquiryFacts {
            department: "by-og-kultur".into(),
            prior_dialogue_held: true,
        });
        assert_eq!(assessment.outcome, Outcome::Accepted);
        assert!(assessment.fired_rules.is_empty());
        assert_eq!(assessment.referral_target, None);
    }

    #[test]
    fn outcome_codes_round_trip() {
        for outcome in [Outcome::Accepted, Outcome::NeedsReview] {
            assert_eq!(Outcome::from_code(outcome.as_str()), Some(outcome));
        }
    }
}
