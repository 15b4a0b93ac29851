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
//!   office's rule: the deadline is the end of the Nth working day after the day of receipt.
//!
//! The rules are correct for 1900 to 2200 and computed, not tabulated, so they extend beyond.
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use working_days::{Calendar, answer_deadline};
//!
//! let calendar = Calendar::danish_default();
//! // Received on Maundy Thursday 2026: counted from Tuesday 7 April, after Easter.
//! let received_at = Utc.with_ymd_and_hms(2026, 4, 2, 10, 0, 0).single().expect("valid");
//! let deadline = answer_deadline(&calendar, received_at, 15);
//! assert_eq!(deadline.due_date, NaiveDate::from_ymd_opt(2026, 4, 28).expect("valid"));
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
