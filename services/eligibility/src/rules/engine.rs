//! The rule engine: a pure function from a [`RuleSet`], the inquiry's [`Facts`], today's date
//! and the working-day calendar to an [`Assessment`]. No I/O, no clock, no randomness, so the
//! same inputs always give the same assessment.
//!
//! Every rule that applies fires and is listed, in the stable order of [`RuleId::ALL`]; the
//! outcome is then chosen by precedence over the rules' categories, strongest first:
//!
//! 1. **needs review** (`free-text-contradicts-form`, `cpr-in-free-text`): the person's own words
//!    contradict the form, or contain a CPR number, so a caseworker looks before anything is
//!    decided; the suggested referral target is still given.
//! 2. **referred to another body or authority** (`other-complaint-body`, `other-authority`):
//!    when the matter lies elsewhere, sending the person there helps more than any refusal.
//! 3. **out of scope** (`employment`, `political-decision`, `matter-closed-long-ago`,
//!    `decision-change-out-of-scope`): no point sending the person back to the department for
//!    something the office could not take afterwards either.
//! 4. **referred back to the department** (`no-prior-dialogue`, `dialogue-ongoing`,
//!    `appeal-pending`): the department gets the first go, even at the part the office could
//!    take.
//! 5. **accepted in part** (`decision-change-in-part`).
//! 6. **accepted**: nothing above fired. The notices `appeal-deadline` and
//!    `appeal-deadline-urgent` may fire with any outcome, accepted included; they only tell the
//!    person the deadline and set [`Assessment::urgent`]. The notice `sms-requested` tells the
//!    person the office does not answer by SMS and shows the caseworker the wish among the
//!    review signals.
//!
//! The referral target is given only for the outcomes referred and needs review, and is the
//! most relevant one: a complaint body before another authority before the department.

use chrono::NaiveDate;
use working_days::{Calendar, date_da, date_en};

use super::config::{Names, RuleId, RuleSet, SignalTopic};
use super::facts::{Facts, RequestType};
use super::signals::{first_match, words_of};
use crate::domain::{self, FiredRule, Outcome};

/// How a fired rule weighs in the outcome; declared strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    NeedsReview,
    ExternalReferral,
    OutOfScope,
    DepartmentReferral,
    AcceptedInPart,
    /// Information for the person that does not change the outcome.
    Notice,
}

impl Category {
    pub const fn of(rule: RuleId) -> Self {
        match rule {
            RuleId::FreeTextContradictsForm | RuleId::CprInFreeText => Self::NeedsReview,
            RuleId::OtherComplaintBody | RuleId::OtherAuthority => Self::ExternalReferral,
            RuleId::Employment
            | RuleId::PoliticalDecision
            | RuleId::MatterClosedLongAgo
            | RuleId::DecisionChangeOutOfScope => Self::OutOfScope,
            RuleId::NoPriorDialogue | RuleId::DialogueOngoing | RuleId::AppealPending => {
                Self::DepartmentReferral
            }
            RuleId::DecisionChangeInPart => Self::AcceptedInPart,
            RuleId::AppealDeadline | RuleId::AppealDeadlineUrgent | RuleId::SmsRequested => {
                Self::Notice
            }
        }
    }

    const fn outcome(self) -> Outcome {
        match self {
            Self::NeedsReview => Outcome::NeedsReview,
            Self::ExternalReferral | Self::DepartmentReferral => Outcome::Referred,
            Self::OutOfScope => Outcome::OutOfScope,
            Self::AcceptedInPart => Outcome::AcceptedInPart,
            Self::Notice => Outcome::Accepted,
        }
    }
}

/// A topic of free-text signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    Employment,
    PoliticalDecision,
    OtherBody,
    Lawsuit,
    /// The person asks to be answered by SMS, which the office never does.
    SmsAnswer,
}

/// A signal found in the free text for the caseworker: one that contradicts the form, or a
/// wish to be answered by SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalHit {
    pub kind: SignalKind,
    /// The signal as written in the rule file, not the person's text.
    pub signal: String,
}

/// The engine's result: the service's [`domain::Assessment`] plus what the rule engine adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: Outcome,
    /// Every rule that applied, in [`RuleId::ALL`] order.
    pub fired_rules: Vec<FiredRule>,
    /// A department code, complaint body code or authority code.
    pub referral_target: Option<String>,
    /// An open appeal deadline runs out within the configured number of working days.
    pub urgent: bool,
    /// The open appeal deadline stated to the person, if any.
    pub appeal_deadline: Option<NaiveDate>,
    /// What the caseworker should look at in the free text: why it contradicts the form, and a
    /// wish to be answered by SMS.
    pub review_signals: Vec<SignalHit>,
    pub rule_set_version: String,
}

impl Assessment {
    pub fn fired_rule_ids(&self) -> Vec<&str> {
        self.fired_rules
            .iter()
            .map(|rule| rule.rule_id.as_str())
            .collect()
    }
}

impl From<Assessment> for domain::Assessment {
    fn from(assessment: Assessment) -> Self {
        Self {
            outcome: assessment.outcome,
            fired_rules: assessment.fired_rules,
            referral_target: assessment.referral_target,
        }
    }
}

/// A referral target and how relevant it is; lower ranks win.
struct Target {
    rank: u8,
    code: String,
}

const RANK_BODY: u8 = 0;
const RANK_AUTHORITY: u8 = 1;
const RANK_DEPARTMENT: u8 = 2;

/// A rule that applies, with the values for its placeholders in both languages.
struct Firing {
    rule: RuleId,
    values: Vec<(&'static str, Names)>,
    target: Option<Target>,
}

impl Firing {
    fn new(rule: RuleId) -> Self {
        Self {
            rule,
            values: Vec::new(),
            target: None,
        }
    }

    fn with(mut self, name: &'static str, value: Names) -> Self {
        self.values.push((name, value));
        self
    }

    fn to(mut self, rank: u8, code: &str) -> Self {
        self.target = Some(Target {
            rank,
            code: code.to_owned(),
        });
        self
    }
}

pub fn assess(rules: &RuleSet, facts: &Facts, today: NaiveDate, calendar: &Calendar) -> Assessment {
    let department = rules.department_names(&facts.department);
    let mut firings: Vec<Firing> = Vec::new();

    // Rule 1: the department gets the first go. Advice and improvement suggestions need no
    // earlier dialogue: there is nothing for the department to have resolved first.
    let needs_dialogue_first = !matches!(
        facts.request_type,
        Some(RequestType::Advice | RequestType::ImprovementSuggestion)
    );
    if needs_dialogue_first {
        if !facts.prior_dialogue_held {
            firings.push(
                Firing::new(RuleId::NoPriorDialogue)
                    .with("department", department.clone())
                    .to(RANK_DEPARTMENT, &facts.department),
            );
        } else if facts.prior_dialogue_ongoing {
            firings.push(
                Firing::new(RuleId::DialogueOngoing)
                    .with("department", department.clone())
                    .to(RANK_DEPARTMENT, &facts.department),
            );
        }
    }

    // Rule 2: the office never changes decisions, but explains them, guides on complaints and
    // looks at case handling; an inquiry that also asks for that is taken for that part.
    if facts.wants_decision_changed {
        let also_asks_for_what_we_do = match facts.request_type {
            Some(RequestType::DecisionExplanation | RequestType::ComplaintGuidance) => true,
            Some(RequestType::Complaint) => !facts.complaint_themes.is_empty(),
            _ => false,
        };
        let rule = if also_asks_for_what_we_do {
            RuleId::DecisionChangeInPart
        } else {
            RuleId::DecisionChangeOutOfScope
        };
        firings.push(Firing::new(rule).with("department", department.clone()));
    }

    // Rule 3: another complaint body has the matter, or it is under appeal.
    if let Some(body) = facts.brought_before {
        let place = rules.body(body);
        firings.push(
            Firing::new(RuleId::OtherComplaintBody)
                .with("body", place.name.clone())
                .with("url", same(&place.url))
                .to(RANK_BODY, &place.code),
        );
    }
    if facts.decision_appealed && facts.brought_before.is_none() {
        // An appeal goes to the deciding department first (genvurdering), so that is where
        // the person can follow it.
        firings.push(
            Firing::new(RuleId::AppealPending)
                .with("department", department.clone())
                .to(RANK_DEPARTMENT, &facts.department),
        );
    }
    let mut urgent = false;
    let mut appeal_deadline = None;
    if let Some(deadline) = facts
        .appeal_deadline
        .filter(|deadline| *deadline >= today && !facts.decision_appealed)
    {
        appeal_deadline = Some(deadline);
        let dates = Names {
            da: date_da(deadline),
            en: date_en(deadline),
        };
        // Comparing with the Nth working day keeps the work bounded by the threshold, however
        // far away the deadline is.
        let last_urgent_day =
            calendar.add_working_days(today, rules.thresholds.urgent_appeal_working_days);
        if deadline <= last_urgent_day {
            urgent = true;
            let left = calendar.working_days_between(today, deadline).to_string();
            firings.push(
                Firing::new(RuleId::AppealDeadlineUrgent)
                    .with("deadline", dates)
                    .with("working_days", same(&left)),
            );
        } else {
            firings.push(Firing::new(RuleId::AppealDeadline).with("deadline", dates));
        }
    }

    // Rule 4.
    if facts.about_employment {
        firings.push(Firing::new(RuleId::Employment));
    }

    // Rule 5.
    if let Some(authority) = facts.about_other_authority {
        let place = rules.authority(authority);
        firings.push(
            Firing::new(RuleId::OtherAuthority)
                .with("authority", place.name.clone())
                .with("url", same(&place.url))
                .to(RANK_AUTHORITY, &place.code),
        );
    }

    // Rule 6: reported only; a caseworker's override comes later.
    if let Some(closed_on) = facts.department_closed_matter_on {
        let age_days = (today - closed_on).num_days();
        if age_days > i64::from(rules.thresholds.closed_matter_max_age_days) {
            firings.push(
                Firing::new(RuleId::MatterClosedLongAgo)
                    .with(
                        "closed_on",
                        Names {
                            da: date_da(closed_on),
                            en: date_en(closed_on),
                        },
                    )
                    .with("department", department.clone()),
            );
        }
    }

    // Rule 7.
    if facts.about_political_decision {
        firings.push(Firing::new(RuleId::PoliticalDecision).with("department", department));
    }

    // Rule 8: free text may only send the inquiry to a person, never decide on its own.
    let mut review_signals = contradictions(rules, facts);
    if !review_signals.is_empty() {
        let labels: Vec<&Names> = review_signals
            .iter()
            .map(|hit| &topic(rules, hit.kind).label)
            .collect();
        firings.push(Firing::new(RuleId::FreeTextContradictsForm).with(
            "signals",
            Names {
                da: list(labels.iter().map(|l| l.da.as_str()), "og"),
                en: list(labels.iter().map(|l| l.en.as_str()), "and"),
            },
        ));
    }
    if facts
        .description
        .as_deref()
        .is_some_and(personal_data::find_cpr_like)
    {
        firings.push(Firing::new(RuleId::CprInFreeText));
    }
    // The office never answers by SMS: the person is told so, and the caseworker sees the wish.
    if let Some(description) = facts.description.as_deref()
        && let Some(signal) = first_match(&rules.signals.sms_answer.signals, &words_of(description))
    {
        firings.push(Firing::new(RuleId::SmsRequested));
        review_signals.push(SignalHit {
            kind: SignalKind::SmsAnswer,
            signal: signal.as_str().to_owned(),
        });
    }

    firings.sort_by_key(|firing| firing.rule);
    let outcome = firings
        .iter()
        .map(|firing| Category::of(firing.rule))
        .min()
        .map_or(Outcome::Accepted, Category::outcome);
    let referral_target = if matches!(outcome, Outcome::Referred | Outcome::NeedsReview) {
        firings
            .iter()
            .filter_map(|firing| firing.target.as_ref())
            .min_by_key(|target| target.rank)
            .map(|target| target.code.clone())
    } else {
        None
    };
    let fired_rules = firings
        .iter()
        .map(|firing| explain(rules, firing))
        .collect();

    Assessment {
        outcome,
        fired_rules,
        referral_target,
        urgent,
        appeal_deadline,
        review_signals,
        rule_set_version: rules.version.clone(),
    }
}

/// The signal topics whose words appear in the free text although the form says otherwise.
fn contradictions(rules: &RuleSet, facts: &Facts) -> Vec<SignalHit> {
    let Some(description) = facts.description.as_deref() else {
        return Vec::new();
    };
    let words = words_of(description);
    let candidates = [
        (SignalKind::Employment, !facts.about_employment),
        (
            SignalKind::PoliticalDecision,
            !facts.about_political_decision,
        ),
        // Words about an appeal are expected when the form says the decision was appealed.
        (
            SignalKind::OtherBody,
            facts.brought_before.is_none() && !facts.decision_appealed,
        ),
        (
            SignalKind::Lawsuit,
            facts.brought_before != Some(super::facts::OtherBody::Court),
        ),
    ];
    candidates
        .into_iter()
        .filter(|(_, form_says_no)| *form_says_no)
        .filter_map(|(kind, _)| {
            first_match(&topic(rules, kind).signals, &words).map(|signal| SignalHit {
                kind,
                signal: signal.as_str().to_owned(),
            })
        })
        .collect()
}

fn topic(rules: &RuleSet, kind: SignalKind) -> &SignalTopic {
    match kind {
        SignalKind::Employment => &rules.signals.employment,
        SignalKind::PoliticalDecision => &rules.signals.political_decision,
        SignalKind::OtherBody => &rules.signals.other_body,
        SignalKind::Lawsuit => &rules.signals.lawsuit,
        SignalKind::SmsAnswer => &rules.signals.sms_answer,
    }
}

fn explain(rules: &RuleSet, firing: &Firing) -> FiredRule {
    let values = |pick: fn(&Names) -> &str| -> Vec<(&str, &str)> {
        firing
            .values
            .iter()
            .map(|(name, value)| (*name, pick(value)))
            .collect()
    };
    let (explanation_da, explanation_en) = match rules.text(firing.rule) {
        Some(text) => (
            text.da.render(&values(|n| n.da.as_str())),
            text.en.render(&values(|n| n.en.as_str())),
        ),
        // A validated rule set has every text; the id is better than nothing if not.
        None => (
            firing.rule.as_str().to_owned(),
            firing.rule.as_str().to_owned(),
        ),
    };
    FiredRule {
        rule_id: firing.rule.as_str().to_owned(),
        explanation_da,
        explanation_en,
    }
}

/// The same value in both languages, for URLs and numbers.
fn same(value: &str) -> Names {
    Names {
        da: value.to_owned(),
        en: value.to_owned(),
    }
}

/// "a", "a og b", "a, b og c".
fn list<'a>(items: impl Iterator<Item = &'a str>, and: &str) -> String {
    let items: Vec<&str> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} {and} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_joined_with_the_language_s_and() {
        assert_eq!(list(["a"].into_iter(), "og"), "a");
        assert_eq!(list(["a", "b"].into_iter(), "og"), "a og b");
        assert_eq!(list(["a", "b", "c"].into_iter(), "and"), "a, b and c");
    }

    #[test]
    fn categories_are_declared_strongest_first() {
        assert!(Category::NeedsReview < Category::ExternalReferral);
        assert!(Category::ExternalReferral < Category::OutOfScope);
        assert!(Category::OutOfScope < Category::DepartmentReferral);
        assert!(Category::DepartmentReferral < Category::AcceptedInPart);
        assert!(Category::AcceptedInPart < Category::Notice);
    }
}
