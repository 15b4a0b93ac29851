//! What the service keeps around the rule engine ([`crate::rules`]): outcome codes, an
//! assessment as stored with a caseworker's override, and the pure decisions of re-assessing an
//! amended inquiry and of overriding. No I/O; the adapters store and publish what these return.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::rules;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Accepted,
    AcceptedInPart,
    Referred,
    OutOfScope,
    NeedsReview,
}

impl Outcome {
    pub const ALL: [Self; 5] = [
        Self::Accepted,
        Self::AcceptedInPart,
        Self::Referred,
        Self::OutOfScope,
        Self::NeedsReview,
    ];

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
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == code)
    }
}

/// A rule that fired, explained to the person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FiredRule {
    pub rule_id: String,
    pub explanation_da: String,
    pub explanation_en: String,
}

/// The outcome, the rules behind it and where the person is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: Outcome,
    pub fired_rules: Vec<FiredRule>,
    /// A department, complaint body or authority code.
    pub referral_target: Option<String>,
}

/// Free text that contradicts the form: the topic and the rule file's signal, never the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReviewSignal {
    pub topic: String,
    pub signal: String,
}

/// What the rules decided about one version of an inquiry's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub assessment: Assessment,
    pub urgent: bool,
    pub appeal_deadline: Option<NaiveDate>,
    pub review_signals: Vec<ReviewSignal>,
    pub rule_set_version: String,
}

impl From<rules::Assessment> for Verdict {
    fn from(assessment: rules::Assessment) -> Self {
        let review_signals = assessment
            .review_signals
            .iter()
            .map(|hit| ReviewSignal {
                topic: match hit.kind {
                    rules::SignalKind::Employment => "employment",
                    rules::SignalKind::PoliticalDecision => "political_decision",
                    rules::SignalKind::OtherBody => "other_body",
                    rules::SignalKind::Lawsuit => "lawsuit",
                    rules::SignalKind::SmsAnswer => "sms_answer",
                }
                .to_owned(),
                signal: hit.signal.clone(),
            })
            .collect();
        Self {
            urgent: assessment.urgent,
            appeal_deadline: assessment.appeal_deadline,
            rule_set_version: assessment.rule_set_version.clone(),
            review_signals,
            assessment: assessment.into(),
        }
    }
}

/// A caseworker's decision in place of the rules'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub outcome: Outcome,
    pub referral_target: Option<String>,
    pub reason: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// An inquiry's assessment as stored: the latest verdict of the rules and the override in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssessment {
    pub inquiry_id: Uuid,
    pub department: String,
    /// The inquiry version whose answers the verdict is about (1 on receipt).
    pub inquiry_version: i64,
    pub verdict: Verdict,
    pub override_: Option<Override>,
    /// Grows with every assessment and override.
    pub revision: i64,
    pub assessed_at: DateTime<Utc>,
}

impl StoredAssessment {
    /// The outcome in force: a caseworker's override wins over the rules.
    pub fn outcome(&self) -> Outcome {
        self.override_
            .as_ref()
            .map_or(self.verdict.assessment.outcome, |o| o.outcome)
    }

    pub fn referral_target(&self) -> Option<&str> {
        match &self.override_ {
            Some(o) => o.referral_target.as_deref(),
            None => self.verdict.assessment.referral_target.as_deref(),
        }
    }
}

/// One line of an assessment's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub revision: i64,
    pub kind: HistoryKind,
    pub outcome: Outcome,
    pub referral_target: Option<String>,
    pub fired_rule_ids: Vec<String>,
    pub rule_set_version: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    Assessment,
    Override,
    OverrideCleared,
}

impl HistoryKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Assessment => "assessment",
            Self::Override => "override",
            Self::OverrideCleared => "override_cleared",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Assessment, Self::Override, Self::OverrideCleared]
            .into_iter()
            .find(|kind| kind.as_str() == code)
    }
}

/// The rules' new verdict on the answers at `inquiry_version`, or `None` when the stored
/// assessment is already about these answers or newer ones (a late or repeated event). An
/// override in force survives: the caseworker decided with the case in view, and clears it
/// explicitly when the new facts change that.
pub fn reassess(
    previous: Option<&StoredAssessment>,
    inquiry_id: Uuid,
    department: String,
    inquiry_version: i64,
    verdict: Verdict,
    at: DateTime<Utc>,
) -> Option<StoredAssessment> {
    if previous.is_some_and(|p| p.inquiry_version >= inquiry_version) {
        return None;
    }
    Some(StoredAssessment {
        inquiry_id,
        department,
        inquiry_version,
        verdict,
        override_: previous.and_then(|p| p.override_.clone()),
        revision: previous.map_or(1, |p| p.revision + 1),
        assessed_at: at,
    })
}

/// A caseworker's change to the decision in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideChange {
    Set(Override),
    Clear {
        actor: String,
        reason: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideRefused {
    #[error("the assessment is at revision {current}; read it again and retry")]
    Stale { current: i64 },
    #[error("there is no override to clear")]
    NothingToClear,
}

/// The assessment after `change`; `expected_revision` 0 skips the staleness check.
pub fn apply_override(
    current: &StoredAssessment,
    change: OverrideChange,
    expected_revision: i64,
) -> Result<StoredAssessment, OverrideRefused> {
    if expected_revision != 0 && expected_revision != current.revision {
        return Err(OverrideRefused::Stale {
            current: current.revision,
        });
    }
    let override_ = match change {
        OverrideChange::Set(o) => Some(o),
        OverrideChange::Clear { .. } if current.override_.is_none() => {
            return Err(OverrideRefused::NothingToClear);
        }
        OverrideChange::Clear { .. } => None,
    };
    Ok(StoredAssessment {
        override_,
        revision: current.revision + 1,
        ..current.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, hour, 0, 0)
            .single()
            .expect("valid time")
    }

    fn verdict(outcome: Outcome) -> Verdict {
        Verdict {
            assessment: Assessment {
                outcome,
                fired_rules: Vec::new(),
                referral_target: None,
            },
            urgent: false,
            appeal_deadline: None,
            review_signals: Vec::new(),
            rule_set_version: "test".into(),
        }
    }

    fn first(outcome: Outcome) -> StoredAssessment {
        reassess(
            None,
            Uuid::nil(),
            "by-og-kultur".into(),
            1,
            verdict(outcome),
            at(10),
        )
        .expect("first assessment")
    }

    fn override_to(outcome: Outcome) -> OverrideChange {
        OverrideChange::Set(Override {
            outcome,
            referral_target: None,
            reason: "talked to the department".into(),
            actor: "cw-7".into(),
            at: at(11),
        })
    }

    #[test]
    fn a_first_assessment_is_revision_one_and_the_rules_decide() {
        let stored = first(Outcome::NeedsReview);
        assert_eq!(stored.revision, 1);
        assert_eq!(stored.outcome(), Outcome::NeedsReview);
    }

    #[test]
    fn an_override_decides_and_survives_reassessment_of_amended_answers() {
        let overridden = apply_override(
            &first(Outcome::OutOfScope),
            override_to(Outcome::Accepted),
            1,
        )
        .expect("allowed");
        assert_eq!(
            (overridden.outcome(), overridden.revision),
            (Outcome::Accepted, 2)
        );
        let reassessed = reassess(
            Some(&overridden),
            Uuid::nil(),
            "by-og-kultur".into(),
            3,
            verdict(Outcome::Referred),
            at(12),
        )
        .expect("newer answers");
        assert_eq!(reassessed.revision, 3);
        assert_eq!(reassessed.verdict.assessment.outcome, Outcome::Referred);
        assert_eq!(reassessed.outcome(), Outcome::Accepted);
    }

    #[test]
    fn clearing_the_override_gives_the_rules_back_the_decision() {
        let overridden = apply_override(
            &first(Outcome::OutOfScope),
            override_to(Outcome::Accepted),
            0,
        )
        .expect("allowed");
        let cleared = apply_override(
            &overridden,
            OverrideChange::Clear {
                actor: "cw-7".into(),
                reason: "new facts".into(),
                at: at(13),
            },
            2,
        )
        .expect("allowed");
        assert_eq!(
            (cleared.outcome(), cleared.revision),
            (Outcome::OutOfScope, 3)
        );
    }

    #[test]
    fn a_stale_override_and_clearing_nothing_are_refused() {
        let stored = first(Outcome::Accepted);
        assert_eq!(
            apply_override(&stored, override_to(Outcome::Referred), 5),
            Err(OverrideRefused::Stale { current: 1 })
        );
        assert_eq!(
            apply_override(
                &stored,
                OverrideChange::Clear {
                    actor: "cw".into(),
                    reason: "r".into(),
                    at: at(12)
                },
                0
            ),
            Err(OverrideRefused::NothingToClear)
        );
    }

    #[test]
    fn answers_older_than_or_as_old_as_the_assessed_ones_change_nothing() {
        let stored = reassess(
            None,
            Uuid::nil(),
            "x".into(),
            4,
            verdict(Outcome::Accepted),
            at(10),
        )
        .expect("first");
        for version in [1, 3, 4] {
            assert_eq!(
                reassess(
                    Some(&stored),
                    Uuid::nil(),
                    "x".into(),
                    version,
                    verdict(Outcome::Referred),
                    at(11)
                ),
                None,
                "version {version}"
            );
        }
    }

    #[test]
    fn outcome_and_history_codes_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_code(outcome.as_str()), Some(outcome));
        }
        for kind in [
            HistoryKind::Assessment,
            HistoryKind::Override,
            HistoryKind::OverrideCleared,
        ] {
            assert_eq!(HistoryKind::from_code(kind.as_str()), Some(kind));
        }
    }
}
