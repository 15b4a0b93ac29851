//! The report logic, pure: plain structs in, figures, CSV and HTML out; no I/O, no clock.
//!
//! - [`state`]: what the events say about one inquiry, merged so that order and repetition do
//!   not matter, and the counters that inquiry contributes.
//! - [`figures`]: counters of a period summed into figures, percentiles, the previous period,
//!   the monthly trend.
//! - [`export`]: the annual report as CSV and as self-contained HTML with SVG charts.
//! - [`labels`]: Danish names of months and category codes.

pub mod export;
pub mod figures;
pub mod labels;
pub mod state;

use chrono::{Datelike as _, NaiveDate};

/// A calendar month, ordered in time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// `None` for a month that does not exist.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|_| Self { year, month })
    }

    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn from_first_day(date: NaiveDate) -> Self {
        Self::of(date)
    }

    /// Months since year 0, so ranges can be counted and shifted.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(index: i64) -> Self {
        Self {
            year: i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX),
            month: u32::try_from(index.rem_euclid(12) + 1).unwrap_or(1),
        }
    }

    pub fn plus(self, months: i64) -> Self {
        Self::from_index(self.index() + months)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Whole months, both ends included; never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthRange {
    pub first: Month,
    pub last: Month,
}

impl MonthRange {
    /// `None` when `last` comes before `first`.
    pub fn new(first: Month, last: Month) -> Option<Self> {
        (first <= last).then_some(Self { first, last })
    }

    pub fn year(year: i32) -> Option<Self> {
        Self::new(Month::new(year, 1)?, Month::new(year, 12)?)
    }

    pub fn month_count(self) -> i64 {
        self.last.index() - self.first.index() + 1
    }

    pub fn contains(self, month: Month) -> bool {
        self.first <= month && month <= self.last
    }

    /// The period of the same length immediately before this one.
    pub fn previous(self) -> Self {
        Self {
            first: self.first.plus(-self.month_count()),
            last: self.first.plus(-1),
        }
    }

    pub fn months(self) -> impl Iterator<Item = Month> {
        (self.first.index()..=self.last.index()).map(Month::from_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(year: i32, month: u32) -> Month {
        Month::new(year, month).expect("a month")
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_just_before() {
        let year = MonthRange::year(2026).expect("a year");
        assert_eq!(year.previous(), MonthRange::year(2025).expect("a year"));
        let quarter = MonthRange::new(month(2026, 1), month(2026, 3)).expect("a range");
        assert_eq!(
            quarter.previous(),
            MonthRange::new(month(2025, 10), month(2025, 12)).expect("a range")
        );
    }

    #[test]
    fn a_range_lists_every_month_across_the_new_year() {
        let range = MonthRange::new(month(2025, 11), month(2026, 2)).expect("a range");
        let months: Vec<String> = range.months().map(|m| m.to_string()).collect();
        assert_eq!(months, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(range.month_count(), 4);
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused_and_month_13_does_not_exist() {
        assert!(MonthRange::new(month(2026, 5), month(2026, 4)).is_none());
        assert!(Month::new(2026, 13).is_none());
    }
}
