//! Danish working-day arithmetic for answer deadlines, as pure functions over plain dates.
//!
//! All dates are Europe/Copenhagen calendar dates, and nothing here does I/O or keeps state:
//!
//! - [`easter_sunday`] computes Easter by computus, since every movable holiday follows it;
//! - [`Holiday`] and [`public_holidays`] give the public holidays of any year with Danish and
//!   English names (Store Bededag up to and including 2023), and [`ClosingDay`] the public
//!   sector's closing days (Grundlovsdag, juleaftensdag, nytårsaftensdag);
//! - [`Calendar`] says which dates are working days, names the others ([`NonWorkingDay`]) and
//!   counts working days; [`Calendar::danish`] takes a [`CalendarConfig`] choosing the closing
//!   days and any local ones, while [`Calendar::weekends_only`] ignores holidays;
//! - [`copenhagen_date`] turns an instant into a date, and [`answer_deadline`] applies the
//!   office's rule: the deadline is the end of the Nth working day strictly after the Copenhagen
//!   date of receipt. The day of receipt never counts, whether or not it is a working day, and
//!   the first working day after it is day 1.
//!
//! The rules are correct for 1900 to 2200 and computed, not tabulated, so they extend beyond.
//! `tests/independent_count.rs` checks the deadlines against a plain day-by-day count over a
//! holiday table made by another implementation (`tests/fixtures/`).
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use working_days::{Calendar, answer_deadline};
//!
//! let calendar = Calendar::danish_default();
//! let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("valid");
//! // Received on Saturday 28 November 2026 at 10:00 UTC: Saturday does not count, Monday
//! // 30 November is day 1, and Friday 18 December day 15, as for a receipt on the Friday before.
//! let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).single().expect("valid");
//! let deadline = answer_deadline(&calendar, saturday, 15);
//! assert_eq!(deadline.first_counted_day, day(11, 30));
//! assert_eq!(deadline.due_date, day(12, 18));
//! let friday = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).single().expect("valid");
//! assert_eq!(answer_deadline(&calendar, friday, 15).due_date, day(12, 18));
//! ```

mod calendar;
mod config;
mod deadline;
mod easter;
mod holidays;
mod words;

pub use calendar::{Calendar, CalendarConfig, DayKind, NonWorkingDay};
pub use deadline::{AnswerDeadline, answer_deadline, copenhagen_date, end_of_copenhagen_day};
pub use easter::easter_sunday;
pub use holidays::{ClosingDay, ClosingDays, Holiday, public_holidays};
pub use words::{MONTHS_DA, MONTHS_EN, date_da, date_en, month_da};
