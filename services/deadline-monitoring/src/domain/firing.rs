//! Whether due timers may fire now: held while intake's events are still being applied (an
//! answer still queued must not turn into a breach notice), but never for longer than a bound,
//! so a stuck consumer cannot silence breaches; and whether a missed warning is still worth
//! sending when a later step of the same chain is already due.

use chrono::{DateTime, Duration, Utc};

use super::plan::NoticeKind;

/// What the durable consumer of intake's events says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlog {
    /// Every event in the stream is applied (nothing pending, nothing unacknowledged).
    Clear,
    /// Events wait to be applied.
    Pending,
    /// NATS cannot be asked (down, or no answer in time).
    Unknown,
}

/// Which due timers fire now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    All,
    /// Reminders to the caseworker only (warnings, due today): a needless one costs a glance,
    /// a missing one may cost the deadline. Breaches and escalations wait for certainty.
    CaseworkerOnly,
    None,
}

impl Release {
    pub fn lets(self, kind: NoticeKind) -> bool {
        match self {
            Self::All => true,
            Self::CaseworkerOnly => matches!(kind, NoticeKind::Warning | NoticeKind::DueToday),
            Self::None => false,
        }
    }
}

/// The release for `backlog` at `now`, and since when timers have been held (carried to the
/// next round). A hold lasting `max_hold` ends: from then on everything fires until the backlog
/// clears.
pub fn release(
    backlog: Backlog,
    held_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_hold: Duration,
) -> (Release, Option<DateTime<Utc>>) {
    if backlog == Backlog::Clear {
        return (Release::All, None);
    }
    let since = held_since.unwrap_or(now).min(now);
    if now - since >= max_hold {
        return (Release::All, Some(since));
    }
    let release = match backlog {
        Backlog::Pending => Release::None,
        _ => Release::CaseworkerOnly,
    };
    (release, Some(since))
}

/// A warning is skipped (marked fired, told to no one) when a later step of its chain is due
/// too: after downtime "5 working days left" must not arrive beside "the deadline has passed".
pub fn superseded(kind: NoticeKind, later_step_due: bool) -> bool {
    kind == NoticeKind::Warning && later_step_due
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 17, 9, minute, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn a_clear_backlog_fires_everything_and_ends_the_hold() {
        let hold = Duration::minutes(15);
        assert_eq!(
            release(Backlog::Clear, Some(at(0)), at(5), hold),
            (Release::All, None)
        );
    }

    #[test]
    fn pending_events_hold_every_timer_and_an_unreachable_nats_holds_breaches_only() {
        let hold = Duration::minutes(15);
        assert_eq!(
            release(Backlog::Pending, None, at(0), hold),
            (Release::None, Some(at(0)))
        );
        assert_eq!(
            release(Backlog::Unknown, Some(at(0)), at(14), hold),
            (Release::CaseworkerOnly, Some(at(0)))
        );
        for kind in [NoticeKind::Warning, NoticeKind::DueToday] {
            assert!(Release::CaseworkerOnly.lets(kind));
            assert!(!Release::None.lets(kind));
        }
        for kind in [NoticeKind::Breached, NoticeKind::Escalated] {
            assert!(!Release::CaseworkerOnly.lets(kind));
            assert!(Release::All.lets(kind));
        }
    }

    #[test]
    fn a_hold_ends_after_the_bound_so_a_stuck_consumer_cannot_silence_breaches() {
        let hold = Duration::minutes(15);
        for backlog in [Backlog::Pending, Backlog::Unknown] {
            assert_eq!(
                release(backlog, Some(at(0)), at(15), hold),
                (Release::All, Some(at(0))),
                "{backlog:?}"
            );
            assert_eq!(
                release(backlog, Some(at(0)), at(40), hold).0,
                Release::All,
                "{backlog:?}"
            );
        }
    }

    #[test]
    fn only_a_warning_with_a_later_step_due_is_skipped() {
        assert!(superseded(NoticeKind::Warning, true));
        assert!(!superseded(NoticeKind::Warning, false));
        for kind in [
            NoticeKind::DueToday,
            NoticeKind::Breached,
            NoticeKind::Escalated,
        ] {
            assert!(!superseded(kind, true), "{kind:?}");
        }
    }
}
