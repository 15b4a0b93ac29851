//! Dates as Danish and English letters write them, for texts to people and reports.

use chrono::{Datelike, NaiveDate};

pub const MONTHS_DA: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];

pub const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The Danish name of month 1–12, or `None` for any other number.
pub fn month_da(month: u32) -> Option<&'static str> {
    MONTHS_DA.get(month.checked_sub(1)? as usize).copied()
}

/// "2. december 2026".
pub fn date_da(date: NaiveDate) -> String {
    format!(
        "{}. {} {}",
        date.day(),
        MONTHS_DA[date.month0() as usize],
        date.year()
    )
}

/// "2 December 2026".
pub fn date_en(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        MONTHS_EN[date.month0() as usize],
        date.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_letters_write_them() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 2).expect("valid");
        assert_eq!(date_da(date), "2. december 2026");
        assert_eq!(date_en(date), "2 December 2026");
        assert_eq!(month_da(3), Some("marts"));
        assert_eq!((month_da(0), month_da(13)), (None, None));
    }
}
