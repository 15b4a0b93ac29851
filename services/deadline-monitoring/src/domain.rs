//! The answer deadline: the end of the Nth working day after the day of receipt.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use working_days::{Calendar, answer_deadline};

/// The office's promise: an answer within 15 working days.
pub const DEFAULT_WORKING_DAYS: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineState {
    Running,
}

impl DeadlineState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        (code == "running").then_some(Self::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub inquiry_id: Uuid,
    pub department: String,
    pub received_at: DateTime<Utc>,
    pub working_days: u32,
    pub due_date: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub state: DeadlineState,
}

/// The deadline of an inquiry received at `received_at`.
pub fn schedule(
    calendar: &Calendar,
    inquiry_id: Uuid,
    department: String,
    received_at: DateTime<Utc>,
    working_days: u32,
) -> Deadline {
    let due = answer_deadline(calendar, received_at, working_days);
    Deadline {
        inquiry_id,
        department,
        received_at,
        working_days,
        due_date: due.due_date,
        due_at: due.due_at,
        state: DeadlineState::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_inquiry_received_on_a_friday_evening_is_due_fifteen_working_days_later() {
        // 17:00 UTC on Friday 27 November 2026 is 18:00 in Copenhagen, still Friday.
        let received_at = Utc
            .with_ymd_and_hms(2026, 11, 27, 17, 0, 0)
            .single()
            .expect("valid");
        let deadline = schedule(
            &Calendar::weekends_only(),
            Uuid::nil(),
            "by-og-kultur".into(),
            received_at,
            15,
        );
        assert_eq!(
            deadline.due_date,
            NaiveDate::from_ymd_opt(2026, 12, 18).expect("valid")
        );
        assert_eq!(
            deadline.due_at,
            Utc.with_ymd_and_hms(2026, 12, 18, 23, 0, 0)
                .single()
                .expect("valid")
        );
        assert_eq!(deadline.state, DeadlineState::Running);
    }
}
