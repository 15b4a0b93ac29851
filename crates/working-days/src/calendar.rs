//! Which dates are working days, why the others are not, and counting working days.

use chrono::{Datelike, NaiveDate, Weekday};

use crate::holidays::{ClosingDay, ClosingDays, Holiday};

/// How an office's calendar differs from the plain Danish one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalendarConfig {
    /// Which of the public sector's closing days are non-working days; all three by default.
    pub closing_days: ClosingDays,
    /// Further dates the office is closed, such as a local holiday or a move.
    pub extra_closing_days: Vec<NaiveDate>,
}

/// Why a date is not a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// A Saturday or Sunday that is nothing else.
    Weekend,
    /// A public holiday, whatever the weekday.
    PublicHoliday(Holiday),
    /// One of the public sector's closing days that the calendar observes.
    ClosingDay(ClosingDay),
    /// One of the calendar's extra closing days.
    LocalClosingDay,
}

/// A non-working day with its names, for listing to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NonWorkingDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// "lørdag", "søndag", the holiday's or closing day's name, or "lokal lukkedag".
    pub name_da: &'static str,
    /// "Saturday", "Sunday", the holiday's or closing day's name, or "local closing day".
    pub name_en: &'static str,
}

/// Which dates are working days.
///
/// Cheap to clone, and holds no cache: whether a date is a working day is worked out from the
/// date alone in a few dozen integer operations, so deadlines stay in microseconds without
/// shared mutable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    rules: Rules,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rules {
    WeekendsOnly,
    Danish {
        closing_days: ClosingDays,
        /// Sorted and without duplicates, for binary search.
        local_closing_days: Vec<NaiveDate>,
    },
}

/// The weekends-only calendar, kept as the default so existing callers see no change.
impl Default for Calendar {
    fn default() -> Self {
        Self::weekends_only()
    }
}

impl Calendar {
    /// Monday to Friday are working days, holidays included.
    pub fn weekends_only() -> Self {
        Self {
            rules: Rules::WeekendsOnly,
        }
    }

    /// The Danish calendar: weekends, public holidays, the observed closing days and the extra
    /// local closing days are non-working days.
    pub fn danish(config: CalendarConfig) -> Self {
        let mut local_closing_days = config.extra_closing_days;
        local_closing_days.sort_unstable();
        local_closing_days.dedup();
        Self {
            rules: Rules::Danish {
                closing_days: config.closing_days,
                local_closing_days,
            },
        }
    }

    /// The Danish calendar with all three closing days and no local ones.
    pub fn danish_default() -> Self {
        Self::danish(CalendarConfig::default())
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        // Most non-working days are weekends, and that check is the cheapest.
        !is_weekend(date) && self.kind_of(date).is_none()
    }

    /// Why `date` is not a working day, or `None` when it is one.
    pub fn non_working_day(&self, date: NaiveDate) -> Option<NonWorkingDay> {
        let kind = self.kind_of(date)?;
        let (name_da, name_en) = match kind {
            DayKind::PublicHoliday(holiday) => (holiday.name_da(), holiday.name_en()),
            DayKind::ClosingDay(day) => (day.name_da(), day.name_en()),
            DayKind::LocalClosingDay => ("lokal lukkedag", "local closing day"),
            DayKind::Weekend if date.weekday() == Weekday::Sat => ("lørdag", "Saturday"),
            DayKind::Weekend => ("søndag", "Sunday"),
        };
        Some(NonWorkingDay {
            date,
            kind,
            name_da,
            name_en,
        })
    }

    /// Every non-working day from `from` to `to`, both included, in date order; each date once,
    /// under its most specific reason (a holiday on a Sunday is listed as the holiday).
    pub fn non_working_days(&self, from: NaiveDate, to: NaiveDate) -> Vec<NonWorkingDay> {
        from.iter_days()
            .take_while(|day| *day <= to)
            .filter_map(|day| self.non_working_day(day))
            .collect()
    }

    /// The first working day on or after `date`. Saturates at [`NaiveDate::MAX`].
    pub fn next_working_day_from(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        day
    }

    /// The `n`th working day strictly after `date` (`date` itself never counts). Saturates at
    /// [`NaiveDate::MAX`].
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        let mut counted = 0;
        while counted < n {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
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

    /// The most specific reason `date` is not a working day: holiday, closing day, local
    /// closing day, weekend.
    fn kind_of(&self, date: NaiveDate) -> Option<DayKind> {
        if let Rules::Danish {
            closing_days,
            local_closing_days,
        } = &self.rules
        {
            if let Some(holiday) = Holiday::on(date) {
                return Some(DayKind::PublicHoliday(holiday));
            }
            if let Some(day) = ClosingDay::on(date).filter(|day| closing_days.contains(*day)) {
                return Some(DayKind::ClosingDay(day));
            }
            if local_closing_days.binary_search(&date).is_ok() {
                return Some(DayKind::LocalClosingDay);
            }
        }
        is_weekend(date).then_some(DayKind::Weekend)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::holidays::public_holidays;
    use chrono::Days;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn holidays_and_closing_days(
        calendar: &Calendar,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<NonWorkingDay> {
        calendar
            .non_working_days(from, to)
            .into_iter()
            .filter(|day| day.kind != DayKind::Weekend)
            .collect()
    }

    #[test]
    fn saturdays_and_sundays_are_not_working_days() {
        for calendar in [Calendar::weekends_only(), Calendar::danish_default()] {
            assert!(calendar.is_working_day(date(2026, 11, 27))); // Friday
            assert!(!calendar.is_working_day(date(2026, 11, 28)));
            assert!(!calendar.is_working_day(date(2026, 11, 29)));
            assert!(calendar.is_working_day(date(2026, 11, 30))); // Monday
        }
    }

    #[test]
    fn the_weekends_only_calendar_still_works_on_holidays() {
        let calendar = Calendar::weekends_only();
        assert!(calendar.is_working_day(date(2026, 1, 1))); // Thursday
        assert!(calendar.is_working_day(date(2026, 12, 24)));
        assert_eq!(Calendar::default(), calendar);
    }

    #[test]
    fn the_danish_non_working_days_of_2026_besides_plain_weekends_are_exactly_these() {
        let listed: Vec<_> = holidays_and_closing_days(
            &Calendar::danish_default(),
            date(2026, 1, 1),
            date(2026, 12, 31),
        )
        .into_iter()
        .map(|day| (day.date, day.name_da))
        .collect();
        assert_eq!(
            listed,
            vec![
                (date(2026, 1, 1), "nytårsdag"),
                (date(2026, 4, 2), "skærtorsdag"),
                (date(2026, 4, 3), "langfredag"),
                (date(2026, 4, 5), "påskedag"),
                (date(2026, 4, 6), "2. påskedag"),
                (date(2026, 5, 14), "Kristi himmelfartsdag"),
                (date(2026, 5, 24), "pinsedag"),
                (date(2026, 5, 25), "2. pinsedag"),
                (date(2026, 6, 5), "grundlovsdag"),
                (date(2026, 12, 24), "juleaftensdag"),
                (date(2026, 12, 25), "juledag"),
                (date(2026, 12, 26), "2. juledag"),
                (date(2026, 12, 31), "nytårsaftensdag"),
            ]
        );
    }

    #[test]
    fn store_bededag_is_a_day_off_in_2023_and_a_working_day_in_2024() {
        let calendar = Calendar::danish_default();
        assert!(!calendar.is_working_day(date(2023, 5, 5)));
        assert_eq!(
            calendar
                .non_working_day(date(2023, 5, 5))
                .map(|day| day.kind),
            Some(DayKind::PublicHoliday(Holiday::GreatPrayerDay))
        );
        assert!(calendar.is_working_day(date(2024, 4, 26)));
    }

    #[test]
    fn a_holiday_on_a_weekend_is_listed_once_under_its_own_name() {
        // 26 December 2026 is a Saturday.
        let listed =
            Calendar::danish_default().non_working_days(date(2026, 12, 26), date(2026, 12, 27));
        assert_eq!(
            listed,
            vec![
                NonWorkingDay {
                    date: date(2026, 12, 26),
                    kind: DayKind::PublicHoliday(Holiday::BoxingDay),
                    name_da: "2. juledag",
                    name_en: "Boxing Day",
                },
                NonWorkingDay {
                    date: date(2026, 12, 27),
                    kind: DayKind::Weekend,
                    name_da: "søndag",
                    name_en: "Sunday",
                },
            ]
        );
    }

    #[test]
    fn whit_monday_on_constitution_day_is_listed_once_as_the_holiday() {
        // Easter 2006 was 16 April, so Whit Monday was 5 June; in 2022 Whit Sunday was.
        let calendar = Calendar::danish_default();
        let listed = calendar.non_working_days(date(2006, 6, 5), date(2006, 6, 5));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].kind, DayKind::PublicHoliday(Holiday::WhitMonday));
        let listed = calendar.non_working_days(date(2022, 6, 5), date(2022, 6, 5));
        assert_eq!(listed[0].kind, DayKind::PublicHoliday(Holiday::WhitSunday));
    }

    #[test]
    fn with_the_closing_days_switched_off_they_are_working_days() {
        let calendar = Calendar::danish(CalendarConfig {
            closing_days: ClosingDays::NONE,
            extra_closing_days: Vec::new(),
        });
        assert!(calendar.is_working_day(date(2026, 12, 24))); // Thursday
        assert!(calendar.is_working_day(date(2026, 12, 31))); // Thursday
        assert!(calendar.is_working_day(date(2026, 6, 5))); // Friday
        assert!(!calendar.is_working_day(date(2026, 12, 25)));
    }

    #[test]
    fn one_closing_day_can_be_switched_off_alone() {
        let calendar = Calendar::danish(CalendarConfig {
            closing_days: ClosingDays::ALL.with(ClosingDay::ConstitutionDay, false),
            extra_closing_days: Vec::new(),
        });
        assert!(calendar.is_working_day(date(2026, 6, 5)));
        assert!(!calendar.is_working_day(date(2026, 12, 24)));
    }

    #[test]
    fn an_extra_local_closing_day_is_not_a_working_day() {
        let friday = date(2026, 5, 15); // the day after Ascension Day
        let sunday = date(2026, 11, 29);
        let calendar = Calendar::danish(CalendarConfig {
            extra_closing_days: vec![sunday, friday, friday],
            ..CalendarConfig::default()
        });
        assert!(Calendar::danish_default().is_working_day(friday));
        assert!(!calendar.is_working_day(friday));
        let listed = calendar.non_working_day(friday).expect("closed");
        assert_eq!(listed.kind, DayKind::LocalClosingDay);
        assert_eq!(
            (listed.name_da, listed.name_en),
            ("lokal lukkedag", "local closing day")
        );
        // The reason the office chose wins over the weekend.
        assert_eq!(
            calendar.non_working_day(sunday).map(|d| d.kind),
            Some(DayKind::LocalClosingDay)
        );
    }

    #[test]
    fn a_non_working_day_range_includes_both_ends_and_is_empty_when_reversed() {
        let calendar = Calendar::danish_default();
        let listed = calendar.non_working_days(date(2026, 11, 28), date(2026, 11, 29));
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].name_en, "Saturday");
        assert_eq!(listed[1].name_da, "søndag");
        assert!(
            calendar
                .non_working_days(date(2026, 11, 29), date(2026, 11, 28))
                .is_empty()
        );
    }

    #[test]
    fn working_days_are_not_listed_as_non_working_days() {
        assert_eq!(
            Calendar::danish_default().non_working_day(date(2026, 4, 7)),
            None
        );
    }

    #[test]
    fn counting_stops_at_the_last_date_chrono_can_represent() {
        // The last representable date is 31 December, a closing day, so there is no next working
        // day; counting must saturate rather than loop.
        let calendar = Calendar::danish_default();
        assert_eq!(
            calendar.next_working_day_from(NaiveDate::MAX),
            NaiveDate::MAX
        );
        assert_eq!(calendar.add_working_days(NaiveDate::MAX, 5), NaiveDate::MAX);
    }

    #[test]
    fn a_calendar_can_be_shared_between_threads() {
        fn shareable<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
        shareable::<Calendar>();
        shareable::<NonWorkingDay>();
    }

    fn any_config() -> impl Strategy<Value = CalendarConfig> {
        (
            any::<[bool; 3]>(),
            proptest::collection::vec(0u64..110_000, 0..20),
        )
            .prop_map(|(flags, offsets)| CalendarConfig {
                closing_days: ClosingDays {
                    constitution_day: flags[0],
                    christmas_eve: flags[1],
                    new_years_eve: flags[2],
                },
                extra_closing_days: offsets
                    .into_iter()
                    .map(|offset| date(1900, 1, 1) + Days::new(offset))
                    .collect(),
            })
    }

    /// The number of days from 1 January 1900 to 31 December 2200, both included.
    const SUPPORTED_DAYS: u64 = 109_938;

    #[test]
    fn the_supported_range_spans_1900_to_2200() {
        assert_eq!(
            date(1900, 1, 1) + Days::new(SUPPORTED_DAYS - 1),
            date(2200, 12, 31)
        );
    }

    proptest! {
        #[test]
        fn the_due_date_is_a_working_day_exactly_n_working_days_after_the_receipt_date(
            config in any_config(), days_since_1900 in 0u64..SUPPORTED_DAYS, n in 1u32..60
        ) {
            let calendar = Calendar::danish(config);
            let received = date(1900, 1, 1) + Days::new(days_since_1900);
            // The receipt date itself never counts, working day or not.
            let due = calendar.add_working_days(received, n);
            prop_assert!(calendar.is_working_day(due));
            prop_assert_eq!(calendar.working_days_between(received, due), n);
            // And no earlier day would do.
            prop_assert_eq!(calendar.working_days_between(received, due - Days::new(1)), n - 1);
            // Day 1 is the first working day strictly after the receipt date.
            let first = calendar.add_working_days(received, 1);
            prop_assert!(first > received);
            prop_assert_eq!(first, calendar.next_working_day_from(received + Days::new(1)));
        }

        #[test]
        fn a_year_lists_every_weekend_day_and_exactly_the_expected_holidays(
            config in any_config(), year in 1900i32..=2200
        ) {
            let calendar = Calendar::danish(config.clone());
            let (first, last) = (date(year, 1, 1), date(year, 12, 31));
            let listed = calendar.non_working_days(first, last);

            let holidays: BTreeSet<_> = public_holidays(year).into_iter().map(|(d, _)| d).collect();
            let closing: BTreeSet<_> = ClosingDay::ALL
                .into_iter()
                .filter(|day| config.closing_days.contains(*day))
                .filter_map(|day| day.date_in(year))
                .collect();
            let weekends: BTreeSet<_> = first.iter_days().take_while(|d| *d <= last).filter(|d| is_weekend(*d)).collect();
            let local: BTreeSet<_> = config.extra_closing_days.iter().copied().filter(|d| d.year() == year).collect();
            let expected: BTreeSet<_> = holidays.iter().chain(&closing).chain(&weekends).chain(&local).copied().collect();

            let listed_dates: Vec<_> = listed.iter().map(|day| day.date).collect();
            prop_assert!(listed_dates.windows(2).all(|pair| pair[0] < pair[1]), "sorted, each date once");
            prop_assert_eq!(&listed_dates.iter().copied().collect::<BTreeSet<_>>(), &expected);
            prop_assert!(weekends.iter().all(|d| listed_dates.contains(d)));

            let holiday_count = listed.iter().filter(|d| matches!(d.kind, DayKind::PublicHoliday(_))).count();
            prop_assert_eq!(holiday_count, if year <= 2023 { 11 } else { 10 });
            let closing_count = listed.iter().filter(|d| matches!(d.kind, DayKind::ClosingDay(_))).count();
            prop_assert_eq!(closing_count, closing.difference(&holidays).count());

            for day in first.iter_days().take_while(|d| *d <= last) {
                prop_assert_eq!(calendar.is_working_day(day), !expected.contains(&day));
            }
        }
    }
}
