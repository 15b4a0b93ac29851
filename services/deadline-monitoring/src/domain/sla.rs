//! The SLA clock of one inquiry, replayed from its receipt and its lifecycle steps.
//!
//! The rules (also in the README):
//! - The clock starts at receipt: the deadline is the end of the Nth working day strictly after
//!   the Copenhagen date of receipt. The day of receipt never counts, whether or not it is a
//!   working day, and the first working day after it is day 1: a receipt on Saturday is due on
//!   the same day as one on the Friday before.
//! - **Pause rule.** The clock pauses when the office asks the requester for information and
//!   resumes when it arrives. The pause lasts the working days *after* the day of the request up
//!   to and including the day the information arrives, that is `(request day, arrival day]`,
//!   counted like receipt: the request day never counts, working day or not. A request and an
//!   answer on the same day cost nothing; a request on Monday answered on Wednesday costs 2, and
//!   so does one on Saturday answered on Tuesday. Those days move the due date by as many
//!   working days. A pause that begins after the due date has passed moves nothing: a breach
//!   stands.
//! - The clock stops when the inquiry is answered, closed or withdrawn (the first of them counts).
//!   A stop during a pause first ends the pause at the stop. The promise is **met** when the
//!   stop comes before the end of the due date, else **breached**, by the working days after
//!   the due date up to and including the stop day (a stop on a non-working day counts as on the
//!   next working day). Working days used are those after the period's start date up to and
//!   including the stop day, minus the days paused.
//! - Reopening a stopped inquiry starts a new answer period from the reopening, counted as a
//!   receipt on that date.
//!
//! Steps are applied in the inquiry's version order, whatever order they arrived in, so a late or
//! repeated event yields the same clock as an orderly stream.

use chrono::{DateTime, NaiveDate, Utc};
use working_days::{Calendar, answer_deadline, copenhagen_date};

/// Where an inquiry is in intake's case flow (the subset of intake's statuses the clock needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InquiryStatus {
    Received,
    Assessed,
    Assigned,
    InProgress,
    AwaitingRequester,
    Answered,
    Closed,
    Withdrawn,
    Unknown,
}

impl InquiryStatus {
    fn stop_reason(self) -> Option<StopReason> {
        match self {
            Self::Answered => Some(StopReason::Answered),
            Self::Closed => Some(StopReason::Closed),
            Self::Withdrawn => Some(StopReason::Withdrawn),
            _ => None,
        }
    }

    fn is_open(self) -> bool {
        self.stop_reason().is_none() && self != Self::Unknown
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Answered,
    Closed,
    Withdrawn,
    /// Intake has no such inquiry: the deadline came from an event about an inquiry never
    /// received (set by reconciliation after a grace period, never by an event).
    InquiryUnknown,
}

impl StopReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
            Self::InquiryUnknown => "inquiry_unknown",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Answered,
            Self::Closed,
            Self::Withdrawn,
            Self::InquiryUnknown,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == code)
    }
}

/// What a lifecycle step means for the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Pause,
    Resume,
    Stop(StopReason),
    Reopen,
    /// Anything else (assignment, notes…): the clock does not change.
    Other,
}

impl StepKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Stop(reason) => reason.as_str(),
            Self::Reopen => "reopen",
            Self::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "pause" => Some(Self::Pause),
            "resume" => Some(Self::Resume),
            "reopen" => Some(Self::Reopen),
            "other" => Some(Self::Other),
            other => StopReason::from_code(other).map(Self::Stop),
        }
    }
}

/// The step a status change is, judged by the statuses alone so that events and intake's
/// journal (which has only the status after each step) classify alike.
pub fn step_kind(before: InquiryStatus, after: InquiryStatus) -> StepKind {
    use InquiryStatus::AwaitingRequester;
    if before == after {
        return StepKind::Other;
    }
    if let Some(reason) = after.stop_reason() {
        return StepKind::Stop(reason);
    }
    if before.stop_reason().is_some() && after.is_open() {
        return StepKind::Reopen;
    }
    if after == AwaitingRequester {
        return StepKind::Pause;
    }
    if before == AwaitingRequester && after.is_open() {
        return StepKind::Resume;
    }
    StepKind::Other
}

/// One lifecycle step of the inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The inquiry's version after the step; orders the steps.
    pub version: i64,
    pub at: DateTime<Utc>,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    Running,
    Paused,
    Stopped,
}

impl SlaState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Running, Self::Paused, Self::Stopped]
            .into_iter()
            .find(|state| state.as_str() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaResult {
    Met,
    Breached,
}

impl SlaResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Breached => "breached",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Met, Self::Breached]
            .into_iter()
            .find(|result| result.as_str() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub paused_at: DateTime<Utc>,
    pub resumed_at: Option<DateTime<Utc>>,
    /// Working days waited, counted as `(request day, arrival day]`; 0 while it lasts.
    pub working_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub reason: StopReason,
    pub stopped_at: DateTime<Utc>,
    pub result: SlaResult,
    pub working_days_over: u32,
    pub working_days_used: u32,
}

/// The clock of the current answer period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    /// Receipt, or the last reopening.
    pub period_started_at: DateTime<Utc>,
    /// The Copenhagen date the period started on (receipt or reopening): counting starts after
    /// it, whether or not it is a working day.
    pub start_day: NaiveDate,
    pub due_date: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub state: SlaState,
    pub pauses: Vec<Pause>,
    /// Every working day waited in this period.
    pub paused_working_days: u32,
    /// The waited days that moved the due date (pauses begun before it passed).
    pub extension_working_days: u32,
    pub outcome: Option<Outcome>,
}

impl Sla {
    fn start(calendar: &Calendar, working_days: u32, at: DateTime<Utc>) -> Self {
        let due = answer_deadline(calendar, at, working_days);
        Self {
            period_started_at: at,
            start_day: due.receipt_date,
            due_date: due.due_date,
            due_at: due.due_at,
            state: SlaState::Running,
            pauses: Vec::new(),
            paused_working_days: 0,
            extension_working_days: 0,
            outcome: None,
        }
    }

    fn apply(&mut self, calendar: &Calendar, working_days: u32, step: &Step) {
        match (self.state, step.kind) {
            (SlaState::Running, StepKind::Pause) => {
                self.state = SlaState::Paused;
                self.pauses.push(Pause {
                    paused_at: step.at,
                    resumed_at: None,
                    working_days: 0,
                });
            }
            (SlaState::Paused, StepKind::Resume) => self.resume(calendar, working_days, step.at),
            (SlaState::Running | SlaState::Paused, StepKind::Stop(reason)) => {
                if self.state == SlaState::Paused {
                    self.resume(calendar, working_days, step.at);
                }
                self.stop(calendar, reason, step.at);
            }
            (SlaState::Stopped, StepKind::Reopen) => {
                *self = Self::start(calendar, working_days, step.at);
            }
            _ => {}
        }
    }

    /// Paused by a pause that began after the due date had passed: the breach stands.
    pub fn breach_stands(&self) -> bool {
        self.state == SlaState::Paused
            && self
                .pauses
                .last()
                .is_some_and(|pause| pause.resumed_at.is_none() && pause.paused_at >= self.due_at)
    }

    /// A running clock has its chain of timers; so has a clock whose breach stands, as its
    /// escalations stay due while the office waits for the requester.
    pub fn wants_timers(&self) -> bool {
        match self.state {
            SlaState::Running => true,
            SlaState::Paused => self.breach_stands(),
            SlaState::Stopped => false,
        }
    }

    fn resume(&mut self, calendar: &Calendar, working_days: u32, at: DateTime<Utc>) {
        let Some(pause) = self.pauses.last_mut() else {
            return;
        };
        let waited = pause_working_days(calendar, pause.paused_at, at);
        pause.resumed_at = Some(at);
        pause.working_days = waited;
        self.paused_working_days += waited;
        if pause.paused_at < self.due_at {
            self.extension_working_days += waited;
            self.due_date = calendar.add_working_days(
                self.start_day,
                working_days.saturating_add(self.extension_working_days),
            );
            self.due_at = working_days::end_of_copenhagen_day(self.due_date);
        }
        self.state = SlaState::Running;
    }

    fn stop(&mut self, calendar: &Calendar, reason: StopReason, at: DateTime<Utc>) {
        let stop_day = copenhagen_date(at);
        let result = if at < self.due_at {
            SlaResult::Met
        } else {
            SlaResult::Breached
        };
        self.outcome = Some(Outcome {
            reason,
            stopped_at: at,
            result,
            working_days_over: match result {
                SlaResult::Met => 0,
                SlaResult::Breached => calendar
                    .working_days_between(self.due_date, calendar.next_working_day_from(stop_day)),
            },
            working_days_used: calendar
                .working_days_between(self.start_day, stop_day)
                .saturating_sub(self.paused_working_days),
        });
        self.state = SlaState::Stopped;
    }
}

/// The working days a pause from `paused_at` to `resumed_at` lasted: `(request day, arrival day]`.
pub fn pause_working_days(
    calendar: &Calendar,
    paused_at: DateTime<Utc>,
    resumed_at: DateTime<Utc>,
) -> u32 {
    calendar.working_days_between(copenhagen_date(paused_at), copenhagen_date(resumed_at))
}

/// The clock after receipt at `received_at` and `steps` (in any order; applied by version).
pub fn replay(
    calendar: &Calendar,
    working_days: u32,
    received_at: DateTime<Utc>,
    steps: &[Step],
) -> Sla {
    let mut ordered = steps.to_vec();
    ordered.sort_by_key(|step| step.version);
    let mut sla = Sla::start(calendar, working_days, received_at);
    for step in &ordered {
        sla.apply(calendar, working_days, step);
    }
    sla
}

/// Working days left before the due date (today excluded) and working days overdue at `now`
/// (up to and including today, a non-working day counting as the next working day).
pub fn standing(
    calendar: &Calendar,
    due_date: NaiveDate,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (u32, u32) {
    let today = copenhagen_date(now);
    if now < due_at {
        (calendar.working_days_between(today, due_date), 0)
    } else {
        (
            0,
            calendar.working_days_between(due_date, calendar.next_working_day_from(today)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cal() -> Calendar {
        Calendar::danish_default()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    /// A Copenhagen wall-clock time.
    fn cph(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Copenhagen
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    fn step(version: i64, at: DateTime<Utc>, kind: StepKind) -> Step {
        Step { version, at, kind }
    }

    #[test]
    fn status_changes_are_classified_alike_from_events_and_journals() {
        use InquiryStatus::*;
        let cases = [
            (InProgress, AwaitingRequester, StepKind::Pause),
            (AwaitingRequester, InProgress, StepKind::Resume),
            (InProgress, Answered, StepKind::Stop(StopReason::Answered)),
            (Answered, Closed, StepKind::Stop(StopReason::Closed)),
            (
                AwaitingRequester,
                Withdrawn,
                StepKind::Stop(StopReason::Withdrawn),
            ),
            (Received, Withdrawn, StepKind::Stop(StopReason::Withdrawn)),
            (Closed, InProgress, StepKind::Reopen),
            (Withdrawn, InProgress, StepKind::Reopen),
            (Received, Assessed, StepKind::Other),
            (Assessed, Assigned, StepKind::Other),
            (InProgress, InProgress, StepKind::Other),
        ];
        for (before, after, expected) in cases {
            assert_eq!(
                step_kind(before, after),
                expected,
                "{before:?} -> {after:?}"
            );
        }
    }

    #[test]
    fn a_fresh_inquiry_runs_with_the_fifteen_working_day_deadline() {
        // Wednesday 25 November 2026 -> Wednesday 16 December.
        let sla = replay(&cal(), 15, cph(2026, 11, 25, 11), &[]);
        assert_eq!(sla.state, SlaState::Running);
        assert_eq!(sla.due_date, date(2026, 12, 16));
        assert_eq!(sla.paused_working_days, 0);
    }

    #[test]
    fn a_receipt_on_saturday_starts_counting_on_monday_and_is_due_with_the_friday_before() {
        // Saturday 28 November 2026 does not count; Monday 30 November is day 1 and Friday
        // 18 December day 15, as for a receipt on Friday 27 November.
        let saturday = cph(2026, 11, 28, 10);
        let sla = replay(&cal(), 15, saturday, &[]);
        assert_eq!(sla.start_day, date(2026, 11, 28));
        assert_eq!(sla.due_date, date(2026, 12, 18));
        let friday = replay(&cal(), 15, cph(2026, 11, 27, 10), &[]);
        assert_eq!(friday.due_date, sla.due_date);

        // An answer on Monday has used one working day; one at the end of the due date, 15.
        let answered = |at| {
            replay(
                &cal(),
                15,
                saturday,
                &[step(4, at, StepKind::Stop(StopReason::Answered))],
            )
            .outcome
            .expect("stopped")
        };
        let monday = answered(cph(2026, 11, 30, 9));
        assert_eq!(
            (monday.result, monday.working_days_used),
            (SlaResult::Met, 1)
        );
        let last_hour = answered(cph(2026, 12, 18, 23));
        assert_eq!(
            (last_hour.result, last_hour.working_days_used),
            (SlaResult::Met, 15)
        );
        let late = answered(cph(2026, 12, 19, 0));
        assert_eq!(
            (late.result, late.working_days_over),
            (SlaResult::Breached, 1)
        );
    }

    #[test]
    fn a_pause_requested_on_the_saturday_of_receipt_costs_the_working_days_after_it() {
        // Received and asked on Saturday 28 November, answered Tuesday 1 December: Monday and
        // Tuesday were waited, so Friday 18 December moves two working days, to Tuesday 22.
        let sla = replay(
            &cal(),
            15,
            cph(2026, 11, 28, 10),
            &[
                step(3, cph(2026, 11, 28, 14), StepKind::Pause),
                step(4, cph(2026, 12, 1, 9), StepKind::Resume),
            ],
        );
        assert_eq!(sla.paused_working_days, 2);
        assert_eq!(sla.due_date, date(2026, 12, 22));
    }

    #[test]
    fn a_reopening_on_a_saturday_counts_as_a_receipt_on_that_saturday() {
        // Reopened on Saturday 5 December 2026. Working days after it: 7-11 Dec (5),
        // 14-18 Dec (10), 21-23 Dec (13), 24-27 Dec closed, Mon 28 (14), Tue 29 Dec (15).
        let sla = replay(
            &cal(),
            15,
            cph(2026, 11, 25, 11),
            &[
                step(
                    5,
                    cph(2026, 11, 30, 9),
                    StepKind::Stop(StopReason::Answered),
                ),
                step(6, cph(2026, 12, 1, 9), StepKind::Stop(StopReason::Closed)),
                step(7, cph(2026, 12, 5, 10), StepKind::Reopen),
            ],
        );
        assert_eq!(sla.state, SlaState::Running);
        assert_eq!(sla.start_day, date(2026, 12, 5));
        assert_eq!(sla.due_date, date(2026, 12, 29));
    }

    /// The pause rule, table-driven: (request, arrival) -> working days added.
    #[test]
    fn a_pause_moves_the_due_date_by_the_working_days_after_the_request_day_up_to_the_arrival_day()
    {
        let received = cph(2026, 11, 25, 11); // due Wed 16 Dec
        let cases = [
            // same day: nothing
            (
                cph(2026, 11, 26, 9),
                cph(2026, 11, 26, 15),
                0,
                date(2026, 12, 16),
            ),
            // Thursday -> Friday: 1
            (
                cph(2026, 11, 26, 9),
                cph(2026, 11, 27, 9),
                1,
                date(2026, 12, 17),
            ),
            // Friday -> Monday: the weekend costs nothing, Monday 1
            (
                cph(2026, 11, 27, 9),
                cph(2026, 11, 30, 9),
                1,
                date(2026, 12, 17),
            ),
            // Monday -> Wednesday: 2
            (
                cph(2026, 11, 30, 9),
                cph(2026, 12, 2, 9),
                2,
                date(2026, 12, 18),
            ),
            // Monday 14 -> Monday 21 December: 15, 16, 17, 18, 21 (and 24-27 Dec are closed)
            (
                cph(2026, 12, 14, 9),
                cph(2026, 12, 21, 9),
                5,
                date(2026, 12, 23),
            ),
            // requested on a Saturday, answered Monday: Monday counts
            (
                cph(2026, 11, 28, 9),
                cph(2026, 11, 30, 9),
                1,
                date(2026, 12, 17),
            ),
        ];
        for (requested, arrived, days, due) in cases {
            let sla = replay(
                &cal(),
                15,
                received,
                &[
                    step(5, requested, StepKind::Pause),
                    step(6, arrived, StepKind::Resume),
                ],
            );
            assert_eq!(
                sla.paused_working_days, days,
                "{requested} -> {arrived}: days"
            );
            assert_eq!(sla.due_date, due, "{requested} -> {arrived}: due date");
            assert_eq!(sla.state, SlaState::Running);
        }
    }

    #[test]
    fn a_pause_that_begins_after_the_due_date_passed_does_not_undo_the_breach() {
        let received = cph(2026, 11, 25, 11); // due Wed 16 Dec
        let sla = replay(
            &cal(),
            15,
            received,
            &[
                step(5, cph(2026, 12, 17, 9), StepKind::Pause),
                step(6, cph(2026, 12, 21, 9), StepKind::Resume),
            ],
        );
        assert_eq!(sla.due_date, date(2026, 12, 16));
        assert_eq!(sla.paused_working_days, 2, "Fri 18 and Mon 21 were waited");
        assert_eq!(sla.extension_working_days, 0);
    }

    #[test]
    fn only_a_pause_begun_after_the_due_date_keeps_the_chain_of_timers() {
        let received = cph(2026, 11, 25, 11); // due Wed 16 Dec
        let late = replay(
            &cal(),
            15,
            received,
            &[step(5, cph(2026, 12, 17, 9), StepKind::Pause)],
        );
        assert!(late.breach_stands() && late.wants_timers());
        let early = replay(
            &cal(),
            15,
            received,
            &[step(5, cph(2026, 12, 10, 9), StepKind::Pause)],
        );
        assert!(!early.breach_stands() && !early.wants_timers());
        let resumed = replay(
            &cal(),
            15,
            received,
            &[
                step(5, cph(2026, 12, 17, 9), StepKind::Pause),
                step(6, cph(2026, 12, 21, 9), StepKind::Resume),
            ],
        );
        assert!(!resumed.breach_stands() && resumed.wants_timers());
        let stopped = replay(
            &cal(),
            15,
            received,
            &[step(
                5,
                cph(2026, 12, 17, 9),
                StepKind::Stop(StopReason::Answered),
            )],
        );
        assert!(!stopped.wants_timers());
    }

    #[test]
    fn the_stop_decides_met_or_breached_and_by_how_many_working_days() {
        let received = cph(2026, 11, 25, 11); // due Wed 16 Dec, end 23:00 UTC
        let cases = [
            // (stop at, result, over, used)
            (cph(2026, 11, 25, 15), SlaResult::Met, 0, 0),
            (cph(2026, 12, 1, 12), SlaResult::Met, 0, 4),
            (cph(2026, 12, 16, 23), SlaResult::Met, 0, 15),
            (cph(2026, 12, 17, 0), SlaResult::Breached, 1, 16),
            (cph(2026, 12, 18, 12), SlaResult::Breached, 2, 17),
            // Saturday counts as Monday for the days over
            (cph(2026, 12, 19, 12), SlaResult::Breached, 3, 17),
            // 24-27 Dec are closed: Monday 28 is the 6th working day over
            (cph(2026, 12, 28, 12), SlaResult::Breached, 6, 21),
        ];
        for reason in [
            StopReason::Answered,
            StopReason::Closed,
            StopReason::Withdrawn,
        ] {
            for (at, result, over, used) in cases {
                let sla = replay(&cal(), 15, received, &[step(9, at, StepKind::Stop(reason))]);
                assert_eq!(sla.state, SlaState::Stopped);
                let outcome = sla.outcome.expect("stopped");
                assert_eq!(
                    (
                        outcome.reason,
                        outcome.result,
                        outcome.working_days_over,
                        outcome.working_days_used
                    ),
                    (reason, result, over, used),
                    "stopped at {at}"
                );
            }
        }
    }

    #[test]
    fn days_waited_do_not_count_as_used_and_a_stop_during_a_pause_ends_it() {
        let received = cph(2026, 11, 25, 11);
        let sla = replay(
            &cal(),
            15,
            received,
            &[
                step(4, cph(2026, 11, 30, 9), StepKind::Pause),
                // withdrawn while waiting, Wednesday 2 December
                step(
                    5,
                    cph(2026, 12, 2, 9),
                    StepKind::Stop(StopReason::Withdrawn),
                ),
            ],
        );
        let outcome = sla.outcome.expect("stopped");
        assert_eq!(sla.paused_working_days, 2);
        assert_eq!(outcome.working_days_used, 5 - 2);
        assert_eq!(outcome.result, SlaResult::Met);
        assert_eq!(sla.pauses[0].resumed_at, Some(cph(2026, 12, 2, 9)));
    }

    #[test]
    fn steps_arriving_out_of_order_or_twice_give_the_same_clock() {
        let received = cph(2026, 11, 25, 11);
        let steps = [
            step(4, cph(2026, 11, 30, 9), StepKind::Pause),
            step(5, cph(2026, 12, 2, 9), StepKind::Resume),
            step(
                6,
                cph(2026, 12, 17, 9),
                StepKind::Stop(StopReason::Answered),
            ),
        ];
        let orderly = replay(&cal(), 15, received, &steps);
        let shuffled = [steps[2], steps[0], steps[1], steps[2], steps[0]];
        // A repeated version is the same step: replay dedupes by applying in version order, and
        // a second pause while paused or a second stop while stopped changes nothing.
        assert_eq!(replay(&cal(), 15, received, &shuffled), orderly);
        assert_eq!(orderly.due_date, date(2026, 12, 18));
        assert_eq!(
            orderly.outcome.map(|o| o.result),
            Some(SlaResult::Met),
            "the pause moved the due date past the answer"
        );
    }

    #[test]
    fn reopening_starts_a_new_answer_period_from_the_reopening() {
        let received = cph(2026, 11, 25, 11);
        let sla = replay(
            &cal(),
            15,
            received,
            &[
                step(
                    5,
                    cph(2026, 11, 30, 9),
                    StepKind::Stop(StopReason::Answered),
                ),
                step(6, cph(2026, 12, 1, 9), StepKind::Stop(StopReason::Closed)),
                step(7, cph(2026, 12, 3, 9), StepKind::Reopen),
            ],
        );
        assert_eq!(sla.state, SlaState::Running);
        assert_eq!(sla.period_started_at, cph(2026, 12, 3, 9));
        // Thursday 3 Dec + 15 working days, 24-27 Dec closed: Mon 28 Dec.
        assert_eq!(sla.due_date, date(2026, 12, 28));
        assert_eq!(sla.outcome, None);
    }

    #[test]
    fn standing_counts_days_left_and_days_overdue() {
        let due_date = date(2026, 12, 16);
        let due_at = working_days::end_of_copenhagen_day(due_date);
        let cases = [
            (cph(2026, 12, 9, 10), (5, 0)),
            (cph(2026, 12, 15, 10), (1, 0)),
            (cph(2026, 12, 16, 10), (0, 0)),
            (cph(2026, 12, 17, 10), (0, 1)),
            (cph(2026, 12, 19, 10), (0, 3)),
        ];
        for (now, expected) in cases {
            assert_eq!(standing(&cal(), due_date, due_at, now), expected, "{now}");
        }
    }
}
