//! The Danish public holidays and the public sector's closing days, with their names.
//!
//! Public holidays are fixed by law and the same for everyone; closing days are days the public
//! sector closes by agreement, so each office may switch them off in its [`ClosingDays`].

use chrono::{Datelike, NaiveDate};

use crate::easter::easter_sunday;

/// The last year Store Bededag was a public holiday; it was abolished from 2024.
const LAST_GREAT_PRAYER_DAY_YEAR: i32 = 2023;

/// A Danish public holiday (helligdag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holiday {
    /// Nytårsdag, 1 January.
    NewYearsDay,
    /// Skærtorsdag, the Thursday before Easter.
    MaundyThursday,
    /// Langfredag, the Friday before Easter.
    GoodFriday,
    /// Påskedag.
    EasterSunday,
    /// 2. påskedag.
    EasterMonday,
    /// Store bededag, the fourth Friday after Easter; only up to and including 2023.
    GreatPrayerDay,
    /// Kristi himmelfartsdag, 39 days after Easter.
    AscensionDay,
    /// Pinsedag, 49 days after Easter.
    WhitSunday,
    /// 2. pinsedag.
    WhitMonday,
    /// Juledag, 25 December.
    ChristmasDay,
    /// 2. juledag, 26 December.
    BoxingDay,
}

impl Holiday {
    /// Every holiday, in the order they fall within a year.
    pub const ALL: [Holiday; 11] = [
        Holiday::NewYearsDay,
        Holiday::MaundyThursday,
        Holiday::GoodFriday,
        Holiday::EasterSunday,
        Holiday::EasterMonday,
        Holiday::GreatPrayerDay,
        Holiday::AscensionDay,
        Holiday::WhitSunday,
        Holiday::WhitMonday,
        Holiday::ChristmasDay,
        Holiday::BoxingDay,
    ];

    /// The Danish name, in lower case as written mid-sentence.
    pub fn name_da(self) -> &'static str {
        match self {
            Holiday::NewYearsDay => "nytårsdag",
            Holiday::MaundyThursday => "skærtorsdag",
            Holiday::GoodFriday => "langfredag",
            Holiday::EasterSunday => "påskedag",
            Holiday::EasterMonday => "2. påskedag",
            Holiday::GreatPrayerDay => "store bededag",
            Holiday::AscensionDay => "Kristi himmelfartsdag",
            Holiday::WhitSunday => "pinsedag",
            Holiday::WhitMonday => "2. pinsedag",
            Holiday::ChristmasDay => "juledag",
            Holiday::BoxingDay => "2. juledag",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Holiday::NewYearsDay => "New Year's Day",
            Holiday::MaundyThursday => "Maundy Thursday",
            Holiday::GoodFriday => "Good Friday",
            Holiday::EasterSunday => "Easter Sunday",
            Holiday::EasterMonday => "Easter Monday",
            Holiday::GreatPrayerDay => "Great Prayer Day",
            Holiday::AscensionDay => "Ascension Day",
            Holiday::WhitSunday => "Whit Sunday",
            Holiday::WhitMonday => "Whit Monday",
            Holiday::ChristmasDay => "Christmas Day",
            Holiday::BoxingDay => "Boxing Day",
        }
    }

    /// The date of this holiday in `year`, or `None` when it is not a holiday that year
    /// (Store Bededag from 2024) or chrono cannot represent the year.
    pub fn date_in(self, year: i32) -> Option<NaiveDate> {
        match self {
            Holiday::NewYearsDay => NaiveDate::from_ymd_opt(year, 1, 1),
            Holiday::ChristmasDay => NaiveDate::from_ymd_opt(year, 12, 25),
            Holiday::BoxingDay => NaiveDate::from_ymd_opt(year, 12, 26),
            movable => {
                if movable == Holiday::GreatPrayerDay && year > LAST_GREAT_PRAYER_DAY_YEAR {
                    return None;
                }
                // Rule out saturated Easter dates from years chrono cannot represent.
                NaiveDate::from_ymd_opt(year, 1, 1)?;
                let offset = movable.days_after_easter()?;
                // The movable holidays all fall in March to June, so the ordinal stays in `year`.
                let ordinal = i64::from(easter_sunday(year).ordinal()) + offset;
                NaiveDate::from_yo_opt(year, u32::try_from(ordinal).ok()?)
            }
        }
    }

    /// Days from Easter Sunday for the movable holidays.
    fn days_after_easter(self) -> Option<i64> {
        match self {
            Holiday::MaundyThursday => Some(-3),
            Holiday::GoodFriday => Some(-2),
            Holiday::EasterSunday => Some(0),
            Holiday::EasterMonday => Some(1),
            Holiday::GreatPrayerDay => Some(26),
            Holiday::AscensionDay => Some(39),
            Holiday::WhitSunday => Some(49),
            Holiday::WhitMonday => Some(50),
            Holiday::NewYearsDay | Holiday::ChristmasDay | Holiday::BoxingDay => None,
        }
    }

    /// The movable holiday that falls `offset` days after Easter Sunday in `year`.
    fn after_easter(offset: i64, year: i32) -> Option<Holiday> {
        match offset {
            -3 => Some(Holiday::MaundyThursday),
            -2 => Some(Holiday::GoodFriday),
            0 => Some(Holiday::EasterSunday),
            1 => Some(Holiday::EasterMonday),
            26 if year <= LAST_GREAT_PRAYER_DAY_YEAR => Some(Holiday::GreatPrayerDay),
            39 => Some(Holiday::AscensionDay),
            49 => Some(Holiday::WhitSunday),
            50 => Some(Holiday::WhitMonday),
            _ => None,
        }
    }

    /// The public holiday falling on `date`, if any. This is on the hot path of every working-day
    /// count, so it looks at Easter only for dates that a movable holiday can fall on.
    pub(crate) fn on(date: NaiveDate) -> Option<Holiday> {
        match (date.month(), date.day()) {
            (1, 1) => Some(Holiday::NewYearsDay),
            (12, 25) => Some(Holiday::ChristmasDay),
            (12, 26) => Some(Holiday::BoxingDay),
            // Maundy Thursday is 19 March at the earliest, Whit Monday 14 June at the latest.
            (3..=6, _) => {
                let offset =
                    i64::from(date.ordinal()) - i64::from(easter_sunday(date.year()).ordinal());
                Holiday::after_easter(offset, date.year())
            }
            _ => None,
        }
    }
}

/// The public holidays of `year` in date order. A holiday on a weekend is still listed.
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, Holiday)> {
    Holiday::ALL
        .into_iter()
        .filter_map(|holiday| holiday.date_in(year).map(|date| (date, holiday)))
        .collect()
}

/// A day the public sector closes although it is not a public holiday (lukkedag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClosingDay {
    /// Grundlovsdag, 5 June.
    ConstitutionDay,
    /// Juleaftensdag, 24 December.
    ChristmasEve,
    /// Nytårsaftensdag, 31 December.
    NewYearsEve,
}

impl ClosingDay {
    /// Every closing day, in the order they fall within a year.
    pub const ALL: [ClosingDay; 3] = [
        ClosingDay::ConstitutionDay,
        ClosingDay::ChristmasEve,
        ClosingDay::NewYearsEve,
    ];

    /// The Danish name, in lower case as written mid-sentence.
    pub fn name_da(self) -> &'static str {
        match self {
            ClosingDay::ConstitutionDay => "grundlovsdag",
            ClosingDay::ChristmasEve => "juleaftensdag",
            ClosingDay::NewYearsEve => "nytårsaftensdag",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            ClosingDay::ConstitutionDay => "Constitution Day",
            ClosingDay::ChristmasEve => "Christmas Eve",
            ClosingDay::NewYearsEve => "New Year's Eve",
        }
    }

    /// The date of this closing day in `year`, or `None` when chrono cannot represent the year.
    pub fn date_in(self, year: i32) -> Option<NaiveDate> {
        let (month, day) = match self {
            ClosingDay::ConstitutionDay => (6, 5),
            ClosingDay::ChristmasEve => (12, 24),
            ClosingDay::NewYearsEve => (12, 31),
        };
        NaiveDate::from_ymd_opt(year, month, day)
    }

    /// The closing day falling on `date`, if any, whether or not an office observes it.
    pub(crate) fn on(date: NaiveDate) -> Option<ClosingDay> {
        match (date.month(), date.day()) {
            (6, 5) => Some(ClosingDay::ConstitutionDay),
            (12, 24) => Some(ClosingDay::ChristmasEve),
            (12, 31) => Some(ClosingDay::NewYearsEve),
            _ => None,
        }
    }
}

/// Which of the public sector's closing days an office observes. The default observes all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClosingDays {
    /// Grundlovsdag, 5 June.
    pub constitution_day: bool,
    /// Juleaftensdag, 24 December.
    pub christmas_eve: bool,
    /// Nytårsaftensdag, 31 December.
    pub new_years_eve: bool,
}

impl ClosingDays {
    /// All three closing days are non-working days.
    pub const ALL: ClosingDays = ClosingDays {
        constitution_day: true,
        christmas_eve: true,
        new_years_eve: true,
    };

    /// The office works on all three closing days.
    pub const NONE: ClosingDays = ClosingDays {
        constitution_day: false,
        christmas_eve: false,
        new_years_eve: false,
    };

    /// Whether `day` is observed as a non-working day.
    pub fn contains(self, day: ClosingDay) -> bool {
        match day {
            ClosingDay::ConstitutionDay => self.constitution_day,
            ClosingDay::ChristmasEve => self.christmas_eve,
            ClosingDay::NewYearsEve => self.new_years_eve,
        }
    }

    /// These closing days with `day` switched on or off.
    pub fn with(mut self, day: ClosingDay, observed: bool) -> Self {
        match day {
            ClosingDay::ConstitutionDay => self.constitution_day = observed,
            ClosingDay::ChristmasEve => self.christmas_eve = observed,
            ClosingDay::NewYearsEve => self.new_years_eve = observed,
        }
        self
    }
}

impl Default for ClosingDays {
    fn default() -> Self {
        Self::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn the_public_holidays_of_2026_are_exactly_these() {
        assert_eq!(
            public_holidays(2026),
            vec![
                (date(2026, 1, 1), Holiday::NewYearsDay),
                (date(2026, 4, 2), Holiday::MaundyThursday),
                (date(2026, 4, 3), Holiday::GoodFriday),
                (date(2026, 4, 5), Holiday::EasterSunday),
                (date(2026, 4, 6), Holiday::EasterMonday),
                (date(2026, 5, 14), Holiday::AscensionDay),
                (date(2026, 5, 24), Holiday::WhitSunday),
                (date(2026, 5, 25), Holiday::WhitMonday),
                (date(2026, 12, 25), Holiday::ChristmasDay),
                (date(2026, 12, 26), Holiday::BoxingDay),
            ]
        );
    }

    #[test]
    fn store_bededag_is_a_holiday_in_2023_but_not_in_2024() {
        assert_eq!(
            Holiday::GreatPrayerDay.date_in(2023),
            Some(date(2023, 5, 5))
        );
        assert_eq!(Holiday::on(date(2023, 5, 5)), Some(Holiday::GreatPrayerDay));
        assert_eq!(Holiday::GreatPrayerDay.date_in(2024), None);
        assert_eq!(Holiday::on(date(2024, 4, 26)), None);
        assert_eq!(public_holidays(2023).len(), 11);
        assert_eq!(public_holidays(2024).len(), 10);
    }

    #[test]
    fn every_holiday_has_its_own_danish_and_english_name() {
        let danish: HashSet<_> = Holiday::ALL.iter().map(|h| h.name_da()).collect();
        let english: HashSet<_> = Holiday::ALL.iter().map(|h| h.name_en()).collect();
        assert_eq!(danish.len(), Holiday::ALL.len());
        assert_eq!(english.len(), Holiday::ALL.len());
        assert_eq!(Holiday::AscensionDay.name_da(), "Kristi himmelfartsdag");
        assert_eq!(Holiday::WhitMonday.name_en(), "Whit Monday");
        assert_eq!(ClosingDay::ConstitutionDay.name_da(), "grundlovsdag");
        assert_eq!(ClosingDay::NewYearsEve.name_en(), "New Year's Eve");
    }

    #[test]
    fn every_year_from_1900_to_2200_lists_its_holidays_in_date_order_and_finds_each_by_date() {
        for year in 1900..=2200 {
            let holidays = public_holidays(year);
            assert_eq!(holidays.len(), if year <= 2023 { 11 } else { 10 });
            assert!(holidays.windows(2).all(|pair| pair[0].0 < pair[1].0));
            for (date, holiday) in holidays {
                assert_eq!(date.year(), year);
                assert_eq!(Holiday::on(date), Some(holiday), "{date}");
            }
        }
    }

    #[test]
    fn the_days_around_easter_that_are_not_holidays_are_not_found_as_holidays() {
        // Holy Saturday and the Saturday before Whitsun are ordinary weekend days.
        assert_eq!(Holiday::on(date(2026, 4, 4)), None);
        assert_eq!(Holiday::on(date(2026, 5, 23)), None);
        assert_eq!(Holiday::on(date(2026, 4, 7)), None);
        assert_eq!(Holiday::on(date(2026, 5, 1)), None); // Easter + 26 after abolition
    }

    #[test]
    fn closing_days_can_be_switched_off_one_by_one() {
        let days = ClosingDays::default().with(ClosingDay::ChristmasEve, false);
        assert!(days.contains(ClosingDay::ConstitutionDay));
        assert!(!days.contains(ClosingDay::ChristmasEve));
        assert!(days.contains(ClosingDay::NewYearsEve));
        assert!(
            ClosingDay::ALL
                .iter()
                .all(|d| !ClosingDays::NONE.contains(*d))
        );
        assert_eq!(
            ClosingDay::ChristmasEve.date_in(2026),
            Some(date(2026, 12, 24))
        );
    }

    #[test]
    fn years_chrono_cannot_represent_have_no_holidays() {
        assert!(public_holidays(i32::MAX).is_empty());
        assert!(public_holidays(i32::MIN).is_empty());
    }
}
