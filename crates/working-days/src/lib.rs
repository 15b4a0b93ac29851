//! Danish working-day arithmetic for answer deadlines, as pure functions over plain dates.
//!
//! All dates are Europe/Copenhagen calendar dates: [`copenhagen_date`] turns an instant into one,
//! [`Calendar`] says which dates are working days and counts them, and [`answer_deadline`] applies
//! the office's rule: the deadline is the end of the Nth working day after the day of receipt.
//!
//! For now only Saturdays and Sundays are non-working days; public holidays and the public
//! sector's closing days come with the full calendar.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Copenhagen;

/// Which dates are working days.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    _private: (),
}

impl Calendar {
    /// Monday to Friday are working days.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The first working day on or after `date`.
    pub fn next_working_day_from(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            day = next_day(day);
        }
        day
    }

    /// The `n`th working day strictly after `date` (`date` itself never counts).
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        let mut counted = 0;
        while counted < n {
            day = next_day(day);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        day
    }

    /// The number of working days in the half-open range `(from, to]`; zero when `to <= from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|day| *day <= to)
            .filter(|day| self.is_working_day(*day))
            .count() as u32
    }
}

/// The date an instant falls on in Copenhagen: 23:30 UTC on 31 March is already 1 April there.
pub fn copenhagen_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Copenhagen).date_naive()
}

/// The instant a Copenhagen date ends, that is, the midnight that starts the next day.
pub fn end_of_copenhagen_day(date: NaiveDate) -> DateTime<Utc> {
    let next_midnight = next_day(date).and_time(chrono::NaiveTime::MIN);
    // Danish clocks change at 02:00/03:00, so midnight always exists exactly once.
    Copenhagen
        .from_local_datetime(&next_midnight)
        .earliest()
        .map(|local| local.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&next_midnight))
}

/// When an answer is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerDeadline {
    /// The last working day of the answer period.
    pub due_date: NaiveDate,
    /// The end of `due_date` in Copenhagen; an answer at or after this instant is late.
    pub due_at: DateTime<Utc>,
}

/// The deadline for an inquiry received at `received_at`: the end of the `working_days`th working
/// day after the day of receipt. The day of receipt does not count, and a receipt on a
/// non-working day is treated as a receipt on the next working day.
pub fn answer_deadline(
    calendar: &Calendar,
    received_at: DateTime<Utc>,
    working_days: u32,
) -> AnswerDeadline {
    let receipt_day = calendar.next_working_day_from(copenhagen_date(received_at));
    let due_date = calendar.add_working_days(receipt_day, working_days);
    AnswerDeadline {
        due_date,
        due_at: end_of_copenhagen_day(due_date),
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid test instant")
    }

    #[test]
    fn saturdays_and_sundays_are_not_working_days() {
        let calendar = Calendar::weekends_only();
        assert!(calendar.is_working_day(date(2026, 11, 27))); // Friday
        assert!(!calendar.is_working_day(date(2026, 11, 28)));
        assert!(!calendar.is_working_day(date(2026, 11, 29)));
        assert!(calendar.is_working_day(date(2026, 11, 30))); // Monday
    }

    #[test]
    fn a_receipt_on_a_wednesday_is_due_three_weeks_later() {
        let deadline = answer_deadline(&Calendar::weekends_only(), utc(2026, 11, 25, 10, 0), 15);
        assert_eq!(deadline.due_date, date(2026, 12, 16));
    }

    #[test]
    fn a_receipt_on_a_saturday_counts_from_monday() {
        let calendar = Calendar::weekends_only();
        let saturday = answer_deadline(&calendar, utc(2026, 11, 28, 10, 0), 15);
        let monday = answer_deadline(&calendar, utc(2026, 11, 30, 10, 0), 15);
        assert_eq!(saturday, monday);
        assert_eq!(monday.due_date, date(2026, 12, 21));
    }

    #[test]
    fn late_evening_utc_is_already_the_next_day_in_copenhagen() {
        assert_eq!(copenhagen_date(utc(2026, 3, 31, 23, 30)), date(2026, 4, 1));
        assert_eq!(
            copenhagen_date(utc(2026, 12, 31, 22, 59)),
            date(2026, 12, 31)
        );
        assert_eq!(copenhagen_date(utc(2026, 12, 31, 23, 0)), date(2027, 1, 1));
    }

    #[test]
    fn a_day_ends_at_copenhagen_midnight_in_summer_and_winter() {
        assert_eq!(
            end_of_copenhagen_day(date(2026, 7, 1)),
            utc(2026, 7, 1, 22, 0)
        );
        assert_eq!(
            end_of_copenhagen_day(date(2026, 12, 1)),
            utc(2026, 12, 1, 23, 0)
        );
        // The day the clocks go forward still ends at local midnight.
        assert_eq!(
            end_of_copenhagen_day(date(2026, 3, 29)),
            utc(2026, 3, 29, 22, 0)
        );
    }

    proptest! {
        #[test]
        fn the_due_date_is_a_working_day_exactly_n_working_days_after_receipt(
            days_since_2000 in 0u64..80_000, n in 1u32..60
        ) {
            let calendar = Calendar::weekends_only();
            let received = date(2000, 1, 1) + Days::new(days_since_2000);
            let receipt_day = calendar.next_working_day_from(received);
            let due = calendar.add_working_days(receipt_day, n);
            prop_assert!(calendar.is_working_day(due));
            prop_assert_eq!(calendar.working_days_between(receipt_day, due), n);
        }
    }
}
