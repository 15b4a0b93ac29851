//! One inquiry's facts as the events tell them, and the counters it contributes.
//!
//! Every fact is kept with the version or revision its event carries and merged by taking the
//! greatest (ties broken by the value itself), or the earliest time for a breach. Merging is
//! therefore commutative, associative and idempotent: any order of the events, and any
//! repetition, gives the same state and so the same counters.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::Month;

/// The form's answers (version 1 on receipt, later versions from amendments).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Answers {
    pub department: String,
    pub request_type: Option<String>,
    pub requester_kind: Option<String>,
    pub arrival_channel: Option<String>,
    pub complaint_themes: Vec<String>,
    pub received_at: DateTime<Utc>,
}

/// Which lifecycle step an `InquiryStepTaken` reports, from its event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Answered,
    Closed,
    Reopened,
    MediationRecorded,
    ImprovementSuggested,
    Other,
}

/// One event's facts, already decoded from the wire; codes are lower-case category names.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Answers {
        version: i64,
        answers: Answers,
    },
    Step(Step),
    Eligibility {
        revision: i64,
        outcome: Option<String>,
        referral_target: Option<String>,
    },
    DeadlineScheduled {
        revision: i64,
        due_date: NaiveDate,
    },
    DeadlineBreached {
        at: DateTime<Utc>,
    },
    /// Deadline-monitoring stopped the deadline of this revision because intake does not know
    /// the inquiry: it was never received (a forged or stray event), and counts nowhere.
    InquiryUnknown {
        revision: i64,
    },
    DeadlineStopped {
        revision: i64,
        /// "met" or "breached"; `None` when the clock stopped without a verdict.
        result: Option<String>,
        working_days_used: i32,
        stopped_at: DateTime<Utc>,
    },
}

/// A lifecycle step (`InquiryStepTaken`).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub kind: StepKind,
    pub version: i64,
    pub department: String,
    pub status_after: Option<String>,
    pub at: DateTime<Utc>,
    pub closing_outcome: Option<String>,
    pub handling_method: Option<String>,
    pub mediation_stage: Option<String>,
    pub mediation_result: Option<String>,
    pub suggestion_department: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Closing {
    pub outcome: Option<String>,
    pub handling_method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mediation {
    pub stage: Option<String>,
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Assessment {
    pub outcome: Option<String>,
    pub referral_target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stop {
    pub result: Option<String>,
    pub working_days_used: i32,
    pub stopped_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Suggestion {
    pub department: String,
    pub month: Month,
}

/// A fact with the version (or revision) that orders it.
pub type Versioned<T> = (i64, T);

/// Everything reporting knows about one inquiry; no personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryState {
    pub answers: Option<Versioned<Answers>>,
    pub status: Option<Versioned<String>>,
    pub answered_at: Option<Versioned<DateTime<Utc>>>,
    pub closing: Option<Versioned<Closing>>,
    pub reopened: Option<i64>,
    pub handling_method: Option<Versioned<String>>,
    pub mediation: Option<Versioned<Mediation>>,
    pub suggestions: BTreeSet<Versioned<Suggestion>>,
    pub assessment: Option<Versioned<Assessment>>,
    pub due_date: Option<Versioned<NaiveDate>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub stop: Option<Versioned<Stop>>,
    /// The deadline revision stopped because intake does not know the inquiry.
    #[serde(default)]
    pub unknown: Option<i64>,
}

fn keep_max<T: Ord>(slot: &mut Option<T>, candidate: T) {
    if slot.as_ref().is_none_or(|current| candidate > *current) {
        *slot = Some(candidate);
    }
}

/// Statuses after which an inquiry no longer waits for the office.
const DONE: [&str; 3] = ["answered", "closed", "withdrawn"];

impl InquiryState {
    pub fn apply(&mut self, fact: &Fact) {
        match fact.clone() {
            Fact::Answers { version, answers } => keep_max(&mut self.answers, (version, answers)),
            Fact::Step(Step {
                kind,
                version,
                department,
                status_after,
                at,
                closing_outcome,
                handling_method,
                mediation_stage,
                mediation_result,
                suggestion_department,
            }) => {
                if let Some(status) = status_after {
                    keep_max(&mut self.status, (version, status));
                }
                if let Some(method) = handling_method.clone() {
                    keep_max(&mut self.handling_method, (version, method));
                }
                match kind {
                    StepKind::Answered => keep_max(&mut self.answered_at, (version, at)),
                    StepKind::Closed => keep_max(
                        &mut self.closing,
                        (
                            version,
                            Closing {
                                outcome: closing_outcome,
                                handling_method,
                            },
                        ),
                    ),
                    StepKind::Reopened => keep_max(&mut self.reopened, version),
                    StepKind::MediationRecorded => keep_max(
                        &mut self.mediation,
                        (
                            version,
                            Mediation {
                                stage: mediation_stage,
                                result: mediation_result,
                            },
                        ),
                    ),
                    StepKind::ImprovementSuggested => {
                        self.suggestions.insert((
                            version,
                            Suggestion {
                                department: suggestion_department
                                    .filter(|d| !d.is_empty())
                                    .unwrap_or(department),
                                month: copenhagen_month(at),
                            },
                        ));
                    }
                    StepKind::Other => {}
                }
            }
            Fact::Eligibility {
                revision,
                outcome,
                referral_target,
            } => keep_max(
                &mut self.assessment,
                (
                    revision,
                    Assessment {
                        outcome,
                        referral_target,
                    },
                ),
            ),
            Fact::InquiryUnknown { revision } => keep_max(&mut self.unknown, revision),
            Fact::DeadlineScheduled { revision, due_date } => {
                keep_max(&mut self.due_date, (revision, due_date));
            }
            Fact::DeadlineBreached { at } => {
                if self.breached_at.is_none_or(|earlier| at < earlier) {
                    self.breached_at = Some(at);
                }
            }
            Fact::DeadlineStopped {
                revision,
                result,
                working_days_used,
                stopped_at,
            } => keep_max(
                &mut self.stop,
                (
                    revision,
                    Stop {
                        result,
                        working_days_used,
                        stopped_at,
                    },
                ),
            ),
        }
    }

    /// The department the inquiry is counted under, once its form is known.
    pub fn department(&self) -> Option<&str> {
        self.answers.as_ref().map(|(_, a)| a.department.as_str())
    }

    /// Intake does not know the inquiry, and no later deadline says otherwise: it was never
    /// received, so it counts in no figure and is not open.
    pub fn is_unknown(&self) -> bool {
        self.unknown.is_some_and(|unknown| {
            self.due_date
                .as_ref()
                .is_none_or(|(due_revision, _)| unknown >= *due_revision)
        })
    }

    /// Received and not yet answered, closed or withdrawn.
    pub fn is_open(&self) -> bool {
        self.answers.is_some()
            && !self.is_unknown()
            && self
                .status
                .as_ref()
                .is_none_or(|(_, status)| !DONE.contains(&status.as_str()))
    }

    /// The latest due date, for "overdue now".
    pub fn latest_due_date(&self) -> Option<NaiveDate> {
        self.due_date.as_ref().map(|(_, date)| *date)
    }

    /// Open and past its latest due date on `today` (a Copenhagen date).
    pub fn is_overdue_on(&self, today: NaiveDate) -> bool {
        self.is_open() && self.latest_due_date().is_some_and(|due| due < today)
    }

    /// The counters this inquiry adds to; nothing until its form is known, so an event that
    /// arrives before `inquiry.received` waits in the state without counting.
    pub fn contributions(&self) -> BTreeMap<CounterKey, i64> {
        let mut counters = BTreeMap::new();
        let Some((_, answers)) = &self.answers else {
            return counters;
        };
        if self.is_unknown() {
            return counters;
        }
        let department = answers.department.as_str();
        let received = copenhagen_month(answers.received_at);
        let mut add = |month: Month, department: &str, dimension: Dimension, value: &str| {
            *counters
                .entry(CounterKey {
                    month,
                    department: department.to_owned(),
                    dimension,
                    value: value.to_owned(),
                })
                .or_insert(0) += 1;
        };
        add(received, department, Dimension::Received, "");
        let categories = [
            (Dimension::RequestType, &answers.request_type),
            (Dimension::RequesterKind, &answers.requester_kind),
            (Dimension::ArrivalChannel, &answers.arrival_channel),
        ];
        for (dimension, value) in categories {
            if let Some(value) = value {
                add(received, department, dimension, value);
            }
        }
        let themes: BTreeSet<&String> = answers.complaint_themes.iter().collect();
        for theme in themes {
            add(received, department, Dimension::ComplaintTheme, theme);
        }
        if let Some((_, assessment)) = &self.assessment {
            if let Some(outcome) = &assessment.outcome {
                add(received, department, Dimension::EligibilityOutcome, outcome);
            }
            if let Some(target) = assessment
                .referral_target
                .as_ref()
                .filter(|t| !t.is_empty())
            {
                add(received, department, Dimension::ReferralTarget, target);
            }
        }
        // A reopened case's earlier closing no longer stands.
        let closing = self
            .closing
            .as_ref()
            .filter(|(version, _)| self.reopened.is_none_or(|reopened| *version > reopened));
        if let Some(outcome) = closing.and_then(|(_, closing)| closing.outcome.as_ref()) {
            add(received, department, Dimension::ClosingOutcome, outcome);
        }
        if let Some((_, method)) = &self.handling_method {
            add(received, department, Dimension::HandlingMethod, method);
        }
        if let Some((_, mediation)) = &self.mediation {
            if let Some(stage) = &mediation.stage {
                add(received, department, Dimension::MediationStage, stage);
            }
            if let Some(result) = &mediation.result {
                add(received, department, Dimension::MediationResult, result);
            }
        }
        if let Some((_, at)) = &self.answered_at {
            add(copenhagen_month(*at), department, Dimension::Answered, "");
        }
        // A stop counts while it stands: a later deadline (reopened) means the clock runs again.
        let stop = self.stop.as_ref().filter(|(revision, _)| {
            self.due_date
                .as_ref()
                .is_none_or(|(due_revision, _)| revision >= due_revision)
        });
        if let Some(month) = self.overdue_month(stop.map(|(_, stop)| stop)) {
            add(month, department, Dimension::Overdue, "");
        }
        if let Some((_, stop)) = stop
            && let Some(result) = stop
                .result
                .as_deref()
                .filter(|r| *r == "met" || *r == "breached")
        {
            let month = copenhagen_month(stop.stopped_at);
            add(month, department, Dimension::DeadlineResult, result);
            let days = stop.working_days_used.max(0).to_string();
            add(month, department, Dimension::HandlingDays, &days);
        }
        for (_, suggestion) in &self.suggestions {
            add(
                suggestion.month,
                &suggestion.department,
                Dimension::ImprovementSuggestion,
                "",
            );
        }
        counters
    }
}

impl InquiryState {
    /// The month the inquiry went overdue in, if it did. The verdict of the stop that stands
    /// decides: a breach notice can go out on stale state (after downtime) for an inquiry
    /// answered in time, so with a stop saying "met" the inquiry is not overdue, and with one
    /// saying "breached" it is, even without a notice. It falls in the month of the first
    /// breach notice, or without one in the month of the first day past the due date (or, with
    /// no due date known, the month the clock stopped). Without a verdict, the notice decides.
    fn overdue_month(&self, standing_stop: Option<&Stop>) -> Option<Month> {
        let notice = self.breached_at.map(copenhagen_month);
        match standing_stop.and_then(|stop| stop.result.as_deref().map(|result| (stop, result))) {
            Some((_, "met")) => None,
            Some((stop, "breached")) => notice.or_else(|| {
                Some(
                    match self.latest_due_date().and_then(|due| due.succ_opt()) {
                        Some(day_after) => Month::of(day_after),
                        None => copenhagen_month(stop.stopped_at),
                    },
                )
            }),
            _ => notice,
        }
    }
}

/// What `after` adds to the counters minus what `before` added: the change an event makes.
pub fn delta(before: &InquiryState, after: &InquiryState) -> BTreeMap<CounterKey, i64> {
    let mut changes = after.contributions();
    for (key, count) in before.contributions() {
        *changes.entry(key).or_insert(0) -= count;
    }
    changes.retain(|_, count| *count != 0);
    changes
}

/// The month of an instant in Copenhagen, where the office is.
pub fn copenhagen_month(at: DateTime<Utc>) -> Month {
    Month::of(working_days::copenhagen_date(at))
}

/// What a counter counts; stored by [`Dimension::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Received,
    RequestType,
    ComplaintTheme,
    RequesterKind,
    ArrivalChannel,
    EligibilityOutcome,
    ReferralTarget,
    ClosingOutcome,
    HandlingMethod,
    MediationStage,
    MediationResult,
    Answered,
    Overdue,
    DeadlineResult,
    HandlingDays,
    ImprovementSuggestion,
}

impl Dimension {
    pub const ALL: [Dimension; 16] = [
        Self::Received,
        Self::RequestType,
        Self::ComplaintTheme,
        Self::RequesterKind,
        Self::ArrivalChannel,
        Self::EligibilityOutcome,
        Self::ReferralTarget,
        Self::ClosingOutcome,
        Self::HandlingMethod,
        Self::MediationStage,
        Self::MediationResult,
        Self::Answered,
        Self::Overdue,
        Self::DeadlineResult,
        Self::HandlingDays,
        Self::ImprovementSuggestion,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::RequestType => "request_type",
            Self::ComplaintTheme => "complaint_theme",
            Self::RequesterKind => "requester_kind",
            Self::ArrivalChannel => "arrival_channel",
            Self::EligibilityOutcome => "eligibility_outcome",
            Self::ReferralTarget => "referral_target",
            Self::ClosingOutcome => "closing_outcome",
            Self::HandlingMethod => "handling_method",
            Self::MediationStage => "mediation_stage",
            Self::MediationResult => "mediation_result",
            Self::Answered => "answered",
            Self::Overdue => "overdue",
            Self::DeadlineResult => "deadline_result",
            Self::HandlingDays => "handling_days",
            Self::ImprovementSuggestion => "improvement_suggestion",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Whether this dimension's values are department codes: inquiries received per department,
    /// improvement suggestions per department they are for.
    pub const fn counts_departments(self) -> bool {
        matches!(self, Self::Received | Self::ImprovementSuggestion)
    }
}

/// One pre-aggregated counter: (month, department, dimension, value).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CounterKey {
    pub month: Month,
    pub department: String,
    pub dimension: Dimension,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 10, 0, 0)
            .single()
            .expect("a time")
    }

    fn received(department: &str, when: DateTime<Utc>) -> Fact {
        Fact::Answers {
            version: 1,
            answers: Answers {
                department: department.into(),
                request_type: Some("complaint".into()),
                requester_kind: Some("citizen".into()),
                arrival_channel: Some("web_form".into()),
                complaint_themes: vec!["guidance".into(), "reasons".into()],
                received_at: when,
            },
        }
    }

    fn step(kind: StepKind, version: i64, status: &str, when: DateTime<Utc>) -> Step {
        Step {
            kind,
            version,
            department: "social".into(),
            status_after: Some(status.into()),
            at: when,
            closing_outcome: None,
            handling_method: None,
            mediation_stage: None,
            mediation_result: None,
            suggestion_department: None,
        }
    }

    fn count(state: &InquiryState, dimension: Dimension, value: &str) -> i64 {
        state
            .contributions()
            .iter()
            .filter(|(k, _)| k.dimension == dimension && k.value == value)
            .map(|(_, c)| c)
            .sum()
    }

    fn a_case() -> Vec<Fact> {
        vec![
            received("social", at(2026, 3, 2)),
            Fact::Eligibility {
                revision: 1,
                outcome: Some("needs_review".into()),
                referral_target: None,
            },
            Fact::Eligibility {
                revision: 2,
                outcome: Some("accepted".into()),
                referral_target: None,
            },
            Fact::DeadlineScheduled {
                revision: 1,
                due_date: NaiveDate::from_ymd_opt(2026, 3, 23).expect("date"),
            },
            Fact::Step(step(StepKind::Other, 2, "assessed", at(2026, 3, 3))),
            Fact::Step(step(StepKind::Answered, 5, "answered", at(2026, 4, 1))),
            Fact::DeadlineBreached {
                at: at(2026, 3, 24),
            },
            Fact::DeadlineStopped {
                revision: 1,
                result: Some("breached".into()),
                working_days_used: 21,
                stopped_at: at(2026, 4, 1),
            },
            Fact::Step(Step {
                closing_outcome: Some("partial_criticism".into()),
                handling_method: Some("investigation".into()),
                ..step(StepKind::Closed, 6, "closed", at(2026, 4, 2))
            }),
            Fact::Step(Step {
                suggestion_department: Some("children".into()),
                ..step(StepKind::ImprovementSuggested, 7, "closed", at(2026, 5, 4))
            }),
        ]
    }

    fn project(facts: &[Fact]) -> InquiryState {
        let mut state = InquiryState::default();
        for fact in facts {
            state.apply(fact);
        }
        state
    }

    #[test]
    fn any_order_and_any_repetition_give_the_same_state() {
        let facts = a_case();
        let natural = project(&facts);
        let mut reversed = facts.clone();
        reversed.reverse();
        let mut twice = facts.clone();
        twice.extend(facts.iter().rev().cloned());
        let mut rotated = facts.clone();
        rotated.rotate_left(4);
        for other in [reversed, twice, rotated] {
            assert_eq!(project(&other), natural);
        }
    }

    #[test]
    fn each_figure_falls_in_the_month_of_its_own_event() {
        let state = project(&a_case());
        let months: BTreeMap<(Dimension, String), Month> = state
            .contributions()
            .into_keys()
            .map(|k| ((k.dimension, k.value), k.month))
            .collect();
        let march = Month::new(2026, 3).expect("month");
        let april = Month::new(2026, 4).expect("month");
        assert_eq!(months[&(Dimension::Received, String::new())], march);
        assert_eq!(
            months[&(Dimension::ClosingOutcome, "partial_criticism".into())],
            march
        );
        assert_eq!(months[&(Dimension::Answered, String::new())], april);
        assert_eq!(months[&(Dimension::Overdue, String::new())], march);
        assert_eq!(
            months[&(Dimension::DeadlineResult, "breached".into())],
            april
        );
        assert_eq!(months[&(Dimension::HandlingDays, "21".into())], april);
        assert_eq!(
            months[&(Dimension::ImprovementSuggestion, String::new())],
            Month::new(2026, 5).expect("month")
        );
        assert_eq!(count(&state, Dimension::EligibilityOutcome, "accepted"), 1);
        assert_eq!(
            count(&state, Dimension::EligibilityOutcome, "needs_review"),
            0
        );
        assert_eq!(count(&state, Dimension::ComplaintTheme, "guidance"), 1);
        assert!(!state.is_open(), "closed");
    }

    #[test]
    fn nothing_counts_before_the_form_is_known() {
        let mut state = InquiryState::default();
        state.apply(&Fact::Step(step(
            StepKind::Answered,
            3,
            "answered",
            at(2026, 4, 1),
        )));
        assert!(state.contributions().is_empty());
        assert!(!state.is_open());
        state.apply(&received("social", at(2026, 3, 2)));
        assert_eq!(count(&state, Dimension::Answered, ""), 1);
    }

    #[test]
    fn an_amendment_moves_every_count_to_the_new_department() {
        let mut state = project(&a_case());
        let before = state.clone();
        let Fact::Answers { answers, .. } = received("children", at(2026, 3, 2)) else {
            unreachable!()
        };
        state.apply(&Fact::Answers {
            version: 4,
            answers,
        });
        let changes = delta(&before, &state);
        assert_eq!(
            changes
                .iter()
                .filter(|(k, _)| k.department == "social")
                .map(|(_, c)| c)
                .sum::<i64>(),
            -changes
                .iter()
                .filter(|(k, _)| k.department == "children"
                    && k.dimension != Dimension::ImprovementSuggestion)
                .map(|(_, c)| c)
                .sum::<i64>()
        );
        // An older version arriving late changes nothing.
        let settled = state.clone();
        state.apply(&received("social", at(2026, 3, 2)));
        assert_eq!(state, settled);
    }

    #[test]
    fn a_reopened_case_is_open_again_and_its_old_closing_and_stop_no_longer_count() {
        let mut state = project(&a_case());
        state.apply(&Fact::Step(step(
            StepKind::Reopened,
            8,
            "in_progress",
            at(2026, 6, 1),
        )));
        state.apply(&Fact::DeadlineScheduled {
            revision: 2,
            due_date: NaiveDate::from_ymd_opt(2026, 6, 22).expect("date"),
        });
        assert!(state.is_open());
        assert_eq!(
            count(&state, Dimension::ClosingOutcome, "partial_criticism"),
            0
        );
        assert_eq!(count(&state, Dimension::DeadlineResult, "breached"), 0);
        assert!(state.is_overdue_on(NaiveDate::from_ymd_opt(2026, 6, 23).expect("date")));
        assert!(!state.is_overdue_on(NaiveDate::from_ymd_opt(2026, 6, 22).expect("date")));
    }

    #[test]
    fn a_breach_notice_on_stale_state_is_not_overdue_when_the_stop_says_met() {
        let mut state = project(&a_case()[..4]);
        state.apply(&Fact::DeadlineBreached {
            at: at(2026, 3, 25),
        });
        assert_eq!(count(&state, Dimension::Overdue, ""), 1, "no verdict yet");
        let before = state.clone();
        state.apply(&Fact::DeadlineStopped {
            revision: 1,
            result: Some("met".into()),
            working_days_used: 14,
            stopped_at: at(2026, 3, 20),
        });
        assert_eq!(count(&state, Dimension::Overdue, ""), 0);
        assert_eq!(count(&state, Dimension::DeadlineResult, "met"), 1);
        let overdue_change: i64 = delta(&before, &state)
            .iter()
            .filter(|(key, _)| key.dimension == Dimension::Overdue)
            .map(|(_, change)| change)
            .sum();
        assert_eq!(overdue_change, -1, "the earlier count is taken back");
    }

    #[test]
    fn a_stop_saying_breached_is_overdue_from_the_day_after_the_due_date_without_a_notice() {
        let mut state = project(&a_case()[..4]);
        state.apply(&Fact::DeadlineStopped {
            revision: 1,
            result: Some("breached".into()),
            working_days_used: 23,
            stopped_at: at(2026, 4, 3),
        });
        let overdue: Vec<Month> = state
            .contributions()
            .into_keys()
            .filter(|key| key.dimension == Dimension::Overdue)
            .map(|key| key.month)
            .collect();
        // Due 23 March: overdue from 24 March, in March, though the clock stopped in April.
        assert_eq!(overdue, [Month::new(2026, 3).expect("month")]);
    }

    #[test]
    fn after_a_reopening_the_old_met_verdict_no_longer_hides_a_new_breach() {
        let mut state = project(&a_case()[..4]);
        state.apply(&Fact::DeadlineStopped {
            revision: 1,
            result: Some("met".into()),
            working_days_used: 10,
            stopped_at: at(2026, 3, 16),
        });
        state.apply(&Fact::DeadlineScheduled {
            revision: 2,
            due_date: NaiveDate::from_ymd_opt(2026, 6, 22).expect("date"),
        });
        state.apply(&Fact::DeadlineBreached {
            at: at(2026, 6, 23),
        });
        assert_eq!(count(&state, Dimension::Overdue, ""), 1);
    }

    #[test]
    fn an_inquiry_intake_does_not_know_leaves_every_figure_whatever_the_order() {
        let facts = [
            received("social", at(2026, 3, 2)),
            Fact::Eligibility {
                revision: 1,
                outcome: Some("accepted".into()),
                referral_target: None,
            },
            Fact::DeadlineScheduled {
                revision: 1,
                due_date: NaiveDate::from_ymd_opt(2026, 3, 23).expect("date"),
            },
            Fact::DeadlineBreached {
                at: at(2026, 3, 24),
            },
        ];
        let counted = project(&facts);
        assert_eq!(count(&counted, Dimension::Received, ""), 1);
        let unknown = Fact::InquiryUnknown { revision: 1 };
        let mut after = counted.clone();
        after.apply(&unknown);
        assert!(after.contributions().is_empty());
        assert!(!after.is_open());
        assert!(!after.is_overdue_on(NaiveDate::from_ymd_opt(2026, 4, 1).expect("date")));
        let taken_back: i64 = delta(&counted, &after).values().sum();
        assert_eq!(taken_back, -counted.contributions().values().sum::<i64>());

        let mut first = vec![unknown];
        first.extend(facts.iter().cloned());
        assert_eq!(project(&first), after, "the stop may come first");
    }

    #[test]
    fn the_delta_of_an_event_already_applied_is_empty() {
        let state = project(&a_case());
        let mut again = state.clone();
        for fact in a_case() {
            again.apply(&fact);
        }
        assert!(delta(&state, &again).is_empty());
    }
}
