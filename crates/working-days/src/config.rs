//! The calendar's configuration as operators write it, shared by every service that counts
//! working days, so they all count alike.

use chrono::NaiveDate;

use crate::calendar::CalendarConfig;
use crate::holidays::{ClosingDay, ClosingDays};

impl CalendarConfig {
    /// Reads `CLOSING_DAYS` (`constitution_day,christmas_eve,new_years_eve`, a subset, or
    /// `none`; all three when unset) and `EXTRA_CLOSING_DAYS` (`YYYY-MM-DD,…`). The error names
    /// the variable and the value at fault.
    pub fn parse(
        closing_days: Option<&str>,
        extra_closing_days: Option<&str>,
    ) -> Result<Self, String> {
        Ok(Self {
            closing_days: parse_closing_days(closing_days)?,
            extra_closing_days: extra_closing_days
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|day| !day.is_empty())
                .map(|day| {
                    NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .map_err(|_| format!("EXTRA_CLOSING_DAYS: {day:?} is not YYYY-MM-DD"))
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// The same, from the process environment.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::parse(
            var("CLOSING_DAYS").as_deref(),
            var("EXTRA_CLOSING_DAYS").as_deref(),
        )
    }
}

fn parse_closing_days(value: Option<&str>) -> Result<ClosingDays, String> {
    let Some(value) = value else {
        return Ok(ClosingDays::ALL);
    };
    let mut days = ClosingDays::NONE;
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let day = match part {
            "none" => continue,
            "constitution_day" => ClosingDay::ConstitutionDay,
            "christmas_eve" => ClosingDay::ChristmasEve,
            "new_years_eve" => ClosingDay::NewYearsEve,
            other => {
                return Err(format!(
                    "CLOSING_DAYS: {other:?} is not constitution_day, christmas_eve, \
                     new_years_eve or none"
                ));
            }
        };
        days = days.with(day, true);
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_days_and_extra_days_parse_as_operators_write_them() {
        let default = CalendarConfig::parse(None, None).expect("default");
        assert_eq!(default, CalendarConfig::default());
        assert_eq!(default.closing_days, ClosingDays::ALL);
        let none =
            CalendarConfig::parse(Some("none"), Some("2026-06-04, 2026-08-14")).expect("valid");
        assert_eq!(none.closing_days, ClosingDays::NONE);
        assert_eq!(none.extra_closing_days.len(), 2);
        let christmas = CalendarConfig::parse(Some("christmas_eve"), None).expect("valid");
        assert_eq!(
            christmas.closing_days,
            ClosingDays::NONE.with(ClosingDay::ChristmasEve, true)
        );
        let easter = CalendarConfig::parse(Some("easter"), None).expect_err("refused");
        assert!(
            easter.contains("CLOSING_DAYS") && easter.contains("easter"),
            "{easter}"
        );
        let bad = CalendarConfig::parse(None, Some("4 June")).expect_err("refused");
        assert!(bad.contains("EXTRA_CLOSING_DAYS"), "{bad}");
    }
}
