//! The warning and escalation chain of one deadline revision, laid out as timers.
//!
//! - `warning-K` (to the caseworker): at the start of the working day that leaves K working days
//!   up to and including the due date; only when that day lies after the period's first day.
//! - `due-today` (to the caseworker): at the start of the due date.
//! - `breach` (to the head of office): at the end of the due date.
//! - `escalation-I` (to the configured recipient, by default the department's director after 5
//!   working days): at the end of the D-th working day after the due date.
//! - `breach-requester` (optional): the requester is told at the breach that the answer is late.
//!
//! Each step's name is unique within a revision, so a step fires once per revision.

use chrono::{DateTime, NaiveDate, Utc};
use working_days::{Calendar, end_of_copenhagen_day};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    Warning,
    DueToday,
    Breached,
    Escalated,
}

impl NoticeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::DueToday => "due_today",
            Self::Breached => "breached",
            Self::Escalated => "escalated",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Warning,
            Self::DueToday,
            Self::Breached,
            Self::Escalated,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    Caseworker,
    HeadOfOffice,
    DepartmentDirector,
    Requester,
}

impl Recipient {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Caseworker => "caseworker",
            Self::HeadOfOffice => "head_of_office",
            Self::DepartmentDirector => "department_director",
            Self::Requester => "requester",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Caseworker,
            Self::HeadOfOffice,
            Self::DepartmentDirector,
            Self::Requester,
        ]
        .into_iter()
        .find(|recipient| recipient.as_str() == code)
    }

    /// Staff are told at any hour; the requester only on working days.
    pub const fn is_staff(self) -> bool {
        !matches!(self, Self::Requester)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// Working days after the due date.
    pub after_working_days: u32,
    pub recipient: Recipient,
}

/// Which notices a deadline gets (`WARNING_WORKING_DAYS`, `ESCALATIONS`,
/// `NOTIFY_REQUESTER_ON_BREACH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePolicy {
    /// Working days before the due date; zero and repeats are ignored.
    pub warnings: Vec<u32>,
    pub escalations: Vec<Escalation>,
    pub notify_requester_on_breach: bool,
}

impl Default for NoticePolicy {
    fn default() -> Self {
        Self {
            warnings: vec![5, 2],
            escalations: vec![Escalation {
                after_working_days: 5,
                recipient: Recipient::DepartmentDirector,
            }],
            notify_requester_on_breach: false,
        }
    }
}

impl NoticePolicy {
    /// Parses `5,2` for warnings and `5:department_director,10:head_of_office` for escalations.
    pub fn parse(warnings: &str, escalations: &str) -> Result<Self, String> {
        let warnings = warnings
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<u32>()
                    .ok()
                    .filter(|days| (1..=60).contains(days))
                    .ok_or_else(|| format!("warning {part:?} is not a number of working days 1-60"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let escalations = escalations
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (days, recipient) = part
                    .split_once(':')
                    .ok_or_else(|| format!("escalation {part:?} is not DAYS:RECIPIENT"))?;
                let after_working_days = days
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|days| (1..=250).contains(days))
                    .ok_or_else(|| format!("escalation {part:?}: days must be 1-250"))?;
                let recipient = Recipient::from_code(recipient.trim())
                    .filter(|recipient| recipient.is_staff())
                    .ok_or_else(|| {
                        format!(
                            "escalation {part:?}: recipient must be caseworker, head_of_office or department_director"
                        )
                    })?;
                Ok(Escalation {
                    after_working_days,
                    recipient,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            warnings,
            escalations,
            notify_requester_on_breach: false,
        })
    }
}

/// One timer of a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotice {
    pub step: String,
    pub kind: NoticeKind,
    pub recipient: Recipient,
    pub fire_at: DateTime<Utc>,
    /// Warnings: working days left; escalations: working days since the due date; else 0.
    pub working_days: u32,
}

/// The working day that leaves `k` working days up to and including `due_date`.
fn working_days_before(calendar: &Calendar, due_date: NaiveDate, k: u32) -> Option<NaiveDate> {
    let mut day = due_date;
    let mut counted = 0;
    while counted < k {
        day = day.pred_opt()?;
        if calendar.is_working_day(day) {
            counted += 1;
        }
    }
    Some(day)
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.pred_opt()
        .map(end_of_copenhagen_day)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The timers of a revision whose period's first day is `start_day`, in firing order. When
/// `now` is given (a reschedule, or a receipt registered late), warnings whose moment has passed
/// are left out: the next notice says more; due-today, breach and escalations always stay, and
/// fire at once when already due.
pub fn lay_out(
    calendar: &Calendar,
    policy: &NoticePolicy,
    start_day: NaiveDate,
    due_date: NaiveDate,
    now: Option<DateTime<Utc>>,
) -> Vec<PlannedNotice> {
    let mut warnings = policy.warnings.clone();
    warnings.retain(|k| *k > 0);
    warnings.sort_unstable_by(|a, b| b.cmp(a));
    warnings.dedup();
    let mut plan = Vec::new();
    for k in warnings {
        let Some(day) = working_days_before(calendar, due_date, k) else {
            continue;
        };
        let fire_at = start_of(day);
        if day > start_day && now.is_none_or(|now| fire_at > now) {
            plan.push(PlannedNotice {
                step: format!("warning-{k}"),
                kind: NoticeKind::Warning,
                recipient: Recipient::Caseworker,
                fire_at,
                working_days: k,
            });
        }
    }
    plan.push(PlannedNotice {
        step: "due-today".into(),
        kind: NoticeKind::DueToday,
        recipient: Recipient::Caseworker,
        fire_at: start_of(due_date),
        working_days: 0,
    });
    let due_at = end_of_copenhagen_day(due_date);
    plan.push(PlannedNotice {
        step: "breach".into(),
        kind: NoticeKind::Breached,
        recipient: Recipient::HeadOfOffice,
        fire_at: due_at,
        working_days: 0,
    });
    if policy.notify_requester_on_breach {
        plan.push(PlannedNotice {
            step: "breach-requester".into(),
            kind: NoticeKind::Breached,
            recipient: Recipient::Requester,
            fire_at: due_at,
            working_days: 0,
        });
    }
    for (i, escalation) in policy.escalations.iter().enumerate() {
        let day = calendar.add_working_days(due_date, escalation.after_working_days);
        plan.push(PlannedNotice {
            step: format!("escalation-{}", i + 1),
            kind: NoticeKind::Escalated,
            recipient: escalation.recipient,
            fire_at: end_of_copenhagen_day(day),
            working_days: escalation.after_working_days,
        });
    }
    // Stable: steps at the same instant keep the chain's order.
    plan.sort_by_key(|notice| notice.fire_at);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use working_days::copenhagen_date;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn steps(plan: &[PlannedNotice]) -> Vec<&str> {
        plan.iter().map(|notice| notice.step.as_str()).collect()
    }

    #[test]
    fn the_default_chain_warns_twice_then_due_today_breach_and_the_director_after_five_days() {
        let calendar = Calendar::danish_default();
        // Received Wednesday 25 November 2026, due Wednesday 16 December.
        let plan = lay_out(
            &calendar,
            &NoticePolicy::default(),
            date(2026, 11, 25),
            date(2026, 12, 16),
            None,
        );
        assert_eq!(
            steps(&plan),
            [
                "warning-5",
                "warning-2",
                "due-today",
                "breach",
                "escalation-1"
            ]
        );
        let days: Vec<_> = plan
            .iter()
            .map(|n| copenhagen_date(n.fire_at - chrono::Duration::seconds(1)))
            .collect();
        // warning-5 at 00:00 on Wed 9 Dec (the instant belongs to that day; one second before
        // is the 8th), warning-2 on Mon 14, due today on Wed 16, breach at the end of Wed 16,
        // escalation at the end of the 5th working day after: Wed 23 Dec.
        assert_eq!(
            days,
            [
                date(2026, 12, 8),
                date(2026, 12, 13),
                date(2026, 12, 15),
                date(2026, 12, 16),
                date(2026, 12, 23)
            ]
        );
        let recipients: Vec<_> = plan.iter().map(|n| n.recipient).collect();
        assert_eq!(
            recipients,
            [
                Recipient::Caseworker,
                Recipient::Caseworker,
                Recipient::Caseworker,
                Recipient::HeadOfOffice,
                Recipient::DepartmentDirector
            ]
        );
    }

    /// Exhaustive over thresholds 1..=20 for a 15-day deadline: a warning exists exactly when it
    /// falls after the first day, on a working day leaving exactly K working days.
    #[test]
    fn every_threshold_warns_on_the_working_day_that_leaves_that_many_days() {
        let calendar = Calendar::danish_default();
        let start = date(2026, 11, 25);
        let due = calendar.add_working_days(start, 15);
        for k in 1..=20 {
            let policy = NoticePolicy {
                warnings: vec![k],
                escalations: vec![],
                notify_requester_on_breach: false,
            };
            let plan = lay_out(&calendar, &policy, start, due, None);
            let warning = plan.iter().find(|n| n.kind == NoticeKind::Warning);
            if k >= 15 {
                assert!(warning.is_none(), "k={k}: at or before receipt");
                continue;
            }
            let warning = warning.expect("a warning");
            let day = copenhagen_date(warning.fire_at);
            assert!(calendar.is_working_day(day), "k={k}");
            assert_eq!(calendar.working_days_between(day, due), k, "k={k}");
            assert_eq!(warning.step, format!("warning-{k}"));
            assert_eq!(warning.working_days, k);
        }
    }

    #[test]
    fn every_escalation_delay_fires_at_the_end_of_that_many_working_days_after_the_due_date() {
        let calendar = Calendar::danish_default();
        let due = date(2026, 12, 16);
        for d in 1..=15 {
            let policy = NoticePolicy {
                warnings: vec![],
                escalations: vec![
                    Escalation {
                        after_working_days: d,
                        recipient: Recipient::DepartmentDirector,
                    },
                    Escalation {
                        after_working_days: d + 5,
                        recipient: Recipient::HeadOfOffice,
                    },
                ],
                notify_requester_on_breach: false,
            };
            let plan = lay_out(&calendar, &policy, date(2026, 11, 25), due, None);
            assert_eq!(
                steps(&plan),
                ["due-today", "breach", "escalation-1", "escalation-2"]
            );
            let day = copenhagen_date(plan[2].fire_at - chrono::Duration::seconds(1));
            assert_eq!(calendar.working_days_between(due, day), d, "d={d}");
            assert!(calendar.is_working_day(day));
        }
    }

    #[test]
    fn warnings_already_past_are_left_out_of_a_late_layout_but_the_rest_stays() {
        let calendar = Calendar::danish_default();
        let now = Utc
            .with_ymd_and_hms(2026, 12, 14, 12, 0, 0)
            .single()
            .expect("valid");
        let plan = lay_out(
            &calendar,
            &NoticePolicy::default(),
            date(2026, 11, 25),
            date(2026, 12, 16),
            Some(now),
        );
        assert_eq!(steps(&plan), ["due-today", "breach", "escalation-1"]);
    }

    #[test]
    fn repeated_unsorted_thresholds_give_one_warning_each_in_order() {
        let calendar = Calendar::danish_default();
        let policy = NoticePolicy {
            warnings: vec![2, 5, 2, 0],
            ..NoticePolicy::default()
        };
        let plan = lay_out(
            &calendar,
            &policy,
            date(2026, 11, 25),
            date(2026, 12, 16),
            None,
        );
        assert_eq!(&steps(&plan)[..2], ["warning-5", "warning-2"]);
    }

    #[test]
    fn the_requester_is_told_of_a_breach_only_when_configured() {
        let calendar = Calendar::danish_default();
        let policy = NoticePolicy {
            notify_requester_on_breach: true,
            ..NoticePolicy::default()
        };
        let plan = lay_out(
            &calendar,
            &policy,
            date(2026, 11, 25),
            date(2026, 12, 16),
            None,
        );
        let told = plan
            .iter()
            .find(|n| n.recipient == Recipient::Requester)
            .expect("requester notice");
        assert_eq!(told.step, "breach-requester");
    }

    #[test]
    fn policies_parse_from_configuration_and_bad_values_are_refused() {
        let policy =
            NoticePolicy::parse("5, 2", "5:department_director,10:head_of_office").expect("valid");
        assert_eq!(policy.warnings, [5, 2]);
        assert_eq!(policy.escalations.len(), 2);
        assert_eq!(policy.escalations[1].recipient, Recipient::HeadOfOffice);
        for (warnings, escalations) in [
            ("x", ""),
            ("0", ""),
            ("61", ""),
            ("5", "5"),
            ("5", "0:head_of_office"),
            ("5", "5:requester"),
            ("5", "5:mayor"),
        ] {
            assert!(
                NoticePolicy::parse(warnings, escalations).is_err(),
                "{warnings:?} {escalations:?}"
            );
        }
        assert_eq!(
            NoticePolicy::parse("", "").expect("none").warnings,
            Vec::<u32>::new()
        );
    }
}
