//! The retention rule: an inquiry's personal data is erased a set number of whole months after it
//! was last closed or withdrawn (the municipality's decision under its records-management rules,
//! `RETENTION_MONTHS`). Open inquiries are never due; a reopened inquiry counts again from its
//! latest close or withdrawal. Also what an erased inquiry keeps of its form. Pure: time is a
//! parameter.

use chrono::{DateTime, Months, Utc};

use inquiry_form::Form;

use super::lifecycle::Status;
use super::personal::form_without_personal_data;

/// How long personal data is kept after an inquiry ended, in whole months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPeriod {
    months: u32,
}

impl RetentionPeriod {
    /// Five years: the default until the municipality decides otherwise.
    pub const DEFAULT_MONTHS: u32 = 60;

    /// `None` for zero months: data would go the moment a case closed, before anyone could
    /// reopen it.
    pub fn months(months: u32) -> Option<Self> {
        (months > 0).then_some(Self { months })
    }

    pub fn in_months(self) -> u32 {
        self.months
    }

    /// The latest end that is due at `now`: an inquiry that ended at or before it is due.
    pub fn cutoff(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_months(Months::new(self.months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Default for RetentionPeriod {
    fn default() -> Self {
        Self {
            months: Self::DEFAULT_MONTHS,
        }
    }
}

/// Why personal data was erased, as the ledger and the event record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureReason {
    /// The retention time ran out.
    Retention,
    /// The person asked for it before (`ErasePersonData`).
    Request,
}

impl ErasureReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Retention => "retention",
            Self::Request => "request",
        }
    }
}

/// Whether an inquiry in `status` is still being handled: its data is never erased then.
pub fn is_open(status: Status) -> bool {
    !matches!(status, Status::Closed | Status::Withdrawn)
}

/// What the retention rule needs to know of an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionFacts {
    pub status: Status,
    /// The latest close or withdrawal, if any.
    pub ended_at: Option<DateTime<Utc>>,
    /// The latest erasure of its personal data, if any.
    pub erased_at: Option<DateTime<Utc>>,
}

/// Whether the inquiry's personal data is due for erasure at `now`: it has ended, its latest end
/// is `period` or longer ago, and nothing was erased since that end.
pub fn is_due(facts: RetentionFacts, period: RetentionPeriod, now: DateTime<Utc>) -> bool {
    match facts.ended_at {
        Some(ended_at) if !is_open(facts.status) => {
            ended_at <= period.cutoff(now) && facts.erased_at.is_none_or(|erased| erased < ended_at)
        }
        _ => false,
    }
}

/// The form record of an erased inquiry: its structured answers (themes, scope answers, dates,
/// whether a decision was appealed and where), without free text or the department's case
/// number, which ties the inquiry to the person in another system.
pub fn erased_form(form: &Form) -> Form {
    let mut kept = form_without_personal_data(form);
    if let Some(decision) = kept.related_decision.as_mut() {
        decision.case_number = None;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use inquiry_form::{PriorDialogueDetails, RelatedDecision};

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn ended(status: Status, ended_at: DateTime<Utc>) -> RetentionFacts {
        RetentionFacts {
            status,
            ended_at: Some(ended_at),
            erased_at: None,
        }
    }

    fn five_years() -> RetentionPeriod {
        RetentionPeriod::default()
    }

    #[test]
    fn a_closed_inquiry_is_due_when_the_whole_months_have_passed_and_not_a_moment_before() {
        let closed = ended(Status::Closed, at(2021, 3, 15));
        assert!(!is_due(
            closed,
            five_years(),
            at(2026, 3, 15) - chrono::Duration::seconds(1)
        ));
        assert!(is_due(closed, five_years(), at(2026, 3, 15)));
        assert!(is_due(closed, five_years(), at(2030, 1, 1)));
    }

    #[test]
    fn a_withdrawn_inquiry_counts_like_a_closed_one() {
        let withdrawn = ended(Status::Withdrawn, at(2025, 1, 10));
        let six_months = RetentionPeriod::months(6).unwrap();
        assert!(!is_due(withdrawn, six_months, at(2025, 7, 9)));
        assert!(is_due(withdrawn, six_months, at(2025, 7, 10)));
    }

    #[test]
    fn an_open_inquiry_is_never_due_however_old_its_last_close() {
        for status in Status::ALL.into_iter().filter(|s| is_open(*s)) {
            // Reopened long ago: its old close does not count while it is open.
            let reopened = ended(status, at(2000, 1, 1));
            assert!(
                !is_due(reopened, five_years(), at(2026, 1, 1)),
                "{status:?}"
            );
        }
        let never_ended = RetentionFacts {
            status: Status::Closed,
            ended_at: None,
            erased_at: None,
        };
        assert!(!is_due(never_ended, five_years(), at(2026, 1, 1)));
    }

    #[test]
    fn a_reopened_and_closed_again_inquiry_counts_from_its_latest_close() {
        // Closed 2020, reopened and closed again 2024: the count starts in 2024.
        let closed_again = ended(Status::Closed, at(2024, 6, 1));
        assert!(!is_due(closed_again, five_years(), at(2026, 1, 1)));
        assert!(is_due(closed_again, five_years(), at(2029, 6, 1)));
    }

    #[test]
    fn an_erased_inquiry_is_due_again_only_after_a_later_end() {
        let erased = RetentionFacts {
            erased_at: Some(at(2026, 1, 1)),
            ..ended(Status::Closed, at(2020, 1, 1))
        };
        assert!(!is_due(erased, five_years(), at(2030, 1, 1)));
        let ended_after_erasure = RetentionFacts {
            ended_at: Some(at(2026, 2, 1)),
            ..erased
        };
        assert!(is_due(ended_after_erasure, five_years(), at(2031, 2, 1)));
    }

    #[test]
    fn month_ends_are_clamped_and_zero_months_is_refused() {
        let one = RetentionPeriod::months(1).unwrap();
        assert_eq!(one.cutoff(at(2026, 3, 31)), at(2026, 2, 28));
        assert!(RetentionPeriod::months(0).is_none());
        assert_eq!(RetentionPeriod::default().in_months(), 60);
    }

    #[test]
    fn an_erased_form_keeps_its_answers_and_loses_free_text_and_the_case_number() {
        let form = Form {
            unit: Some("Team Nord".into()),
            desired_outcome: Some("Hjælp".into()),
            prior_dialogue: PriorDialogueDetails {
                with_whom: Some("Grethe".into()),
                outcome: Some("Intet".into()),
                ongoing: true,
            },
            related_decision: Some(RelatedDecision {
                decision_date: Some(at(2026, 1, 5).date_naive()),
                case_number: Some("2026-123".into()),
                appealed: true,
                brought_before: None,
                appeal_deadline: None,
            }),
            contains_sensitive_data: true,
            ..Form::default()
        };
        let kept = erased_form(&form);
        assert_eq!(kept.unit, None);
        assert_eq!(kept.desired_outcome, None);
        assert_eq!(kept.prior_dialogue.with_whom, None);
        assert!(kept.prior_dialogue.ongoing);
        let decision = kept.related_decision.expect("the decision's facts stay");
        assert_eq!(decision.case_number, None);
        assert!(decision.appealed);
        assert!(kept.contains_sensitive_data);
    }
}
