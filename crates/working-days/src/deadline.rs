//! Instants and Copenhagen dates, and the answer deadline built from them.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;

use crate::calendar::Calendar;

/// The date an instant falls on in Copenhagen: 23:30 UTC on 31 March is already 1 April there.
/// The offsets come from chrono-tz, whose tables end with 2099: later instants are taken as
/// winter time (UTC+1) all year.
pub fn copenhagen_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Copenhagen).date_naive()
}

/// The instant a Copenhagen date ends, that is, the midnight that starts the next day.
pub fn end_of_copenhagen_day(date: NaiveDate) -> DateTime<Utc> {
    let next_midnight = date
        .succ_opt()
        .unwrap_or(NaiveDate::MAX)
        .and_time(NaiveTime::MIN);
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
    /// The Copenhagen date of receipt: counting starts after it.
    pub receipt_date: NaiveDate,
    /// Day 1 of the answer period: the first working day strictly after the receipt date.
    pub first_counted_day: NaiveDate,
    /// The last working day of the answer period.
    pub due_date: NaiveDate,
    /// The end of `due_date` in Copenhagen; an answer at or after this instant is late.
    pub due_at: DateTime<Utc>,
}

/// The deadline for an inquiry received at `received_at`: the end of the `working_days`th working
/// day strictly after the Copenhagen date of receipt. The day of receipt never counts, whether or
/// not it is a working day, and the first working day after it is day 1: a receipt on Saturday
/// is due on the same day as one on the Friday before.
pub fn answer_deadline(
    calendar: &Calendar,
    received_at: DateTime<Utc>,
    working_days: u32,
) -> AnswerDeadline {
    let receipt_date = copenhagen_date(received_at);
    let due_date = calendar.add_working_days(receipt_date, working_days);
    AnswerDeadline {
        receipt_date,
        first_counted_day: calendar.add_working_days(receipt_date, 1),
        due_date,
        due_at: end_of_copenhagen_day(due_date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid test instant")
    }

    #[test]
    fn a_receipt_on_a_wednesday_is_due_three_weeks_later() {
        let deadline = answer_deadline(&Calendar::weekends_only(), utc(2026, 11, 25, 10, 0), 15);
        assert_eq!(deadline.due_date, date(2026, 12, 16));
        let deadline = answer_deadline(&Calendar::danish_default(), utc(2026, 11, 25, 10, 0), 15);
        assert_eq!(deadline.due_date, date(2026, 12, 16));
    }

    /// A Copenhagen wall-clock time.
    fn cph(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Copenhagen
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_receipt_on_saturday_at_any_hour_is_due_the_same_day_as_one_on_the_friday_before() {
        // Saturday 28 November 2026 never counts; working days after it:
        //  1-5  Mon 30 Nov - Fri 4 Dec
        //  6-10 Mon 7 - Fri 11 Dec
        // 11-15 Mon 14 - Fri 18 Dec
        // Friday 27 November counts the same days, as the weekend after it does not count.
        for calendar in [Calendar::danish_default(), Calendar::weekends_only()] {
            for (hour, minute) in [(0, 0), (10, 0), (23, 59)] {
                let saturday = answer_deadline(&calendar, cph(2026, 11, 28, hour, minute), 15);
                assert_eq!(saturday.receipt_date, date(2026, 11, 28), "{hour}:{minute}");
                assert_eq!(
                    saturday.first_counted_day,
                    date(2026, 11, 30),
                    "{hour}:{minute}"
                );
                assert_eq!(saturday.due_date, date(2026, 12, 18), "{hour}:{minute}");
                assert_eq!(saturday.due_at, cph(2026, 12, 19, 0, 0), "{hour}:{minute}");
            }
            let friday = answer_deadline(&calendar, cph(2026, 11, 27, 10, 0), 15);
            assert_eq!(friday.first_counted_day, date(2026, 11, 30));
            assert_eq!(friday.due_date, date(2026, 12, 18));
            // Monday 30 November: Tue 1 - Fri 4 Dec (4), 7-11 Dec (9), 14-18 Dec (14), Mon 21 (15).
            let monday = answer_deadline(&calendar, cph(2026, 11, 30, 10, 0), 15);
            assert_eq!(monday.first_counted_day, date(2026, 12, 1));
            assert_eq!(monday.due_date, date(2026, 12, 21));
        }
    }

    #[test]
    fn a_receipt_on_new_years_eve_a_closing_day_is_due_on_22_january() {
        // Wednesday 31 December 2025 is a closing day and does not count, nor does New Year's
        // Day. Working days after it: Fri 2 Jan (1), 5-9 Jan (6), 12-16 Jan (11), 19-22 Jan (15).
        let deadline = answer_deadline(&Calendar::danish_default(), cph(2025, 12, 31, 10, 0), 15);
        assert_eq!(deadline.first_counted_day, date(2026, 1, 2));
        assert_eq!(deadline.due_date, date(2026, 1, 22));
    }

    #[test]
    fn a_receipt_on_maundy_thursday_2028_is_due_on_8_may() {
        // Easter 2028 is 16 April: Thursday 13, Friday 14 and Monday 17 April are holidays.
        // Working days after the receipt: Tue 18 - Fri 21 Apr (4), 24-28 Apr (9), 1-5 May (14),
        // Mon 8 May (15).
        let deadline = answer_deadline(&Calendar::danish_default(), cph(2028, 4, 13, 10, 0), 15);
        assert_eq!(deadline.first_counted_day, date(2028, 4, 18));
        assert_eq!(deadline.due_date, date(2028, 5, 8));
    }

    #[test]
    fn a_deadline_across_christmas_and_new_year_skips_the_holidays_and_closing_days() {
        // Received Tuesday 15 December 2026. Working days after it:
        //  1-3  Wed 16 - Fri 18 Dec
        //  4-6  Mon 21 - Wed 23 Dec   (Thu 24 closing day, Fri 25 holiday, Sat 26 holiday)
        //  7-9  Mon 28 - Wed 30 Dec   (Thu 31 closing day, Fri 1 Jan holiday)
        // 10-14 Mon 4 - Fri 8 Jan 2027
        // 15    Mon 11 Jan 2027
        let deadline = answer_deadline(&Calendar::danish_default(), utc(2026, 12, 15, 9, 0), 15);
        assert_eq!(deadline.due_date, date(2027, 1, 11));
        assert_eq!(deadline.due_at, utc(2027, 1, 11, 23, 0));
        // Without holidays the same receipt would be due on Tuesday 5 January.
        let weekends_only =
            answer_deadline(&Calendar::weekends_only(), utc(2026, 12, 15, 9, 0), 15);
        assert_eq!(weekends_only.due_date, date(2027, 1, 5));
    }

    #[test]
    fn a_receipt_on_maundy_thursday_2026_is_due_with_one_on_the_wednesday_before() {
        // Easter 2026 is 5 April: Thursday 2, Friday 3 and Monday 6 April are holidays. Working
        // days after the receipt on Thursday 2 April:
        //  1-4  Tue 7 - Fri 10 Apr
        //  5-9  Mon 13 - Fri 17 Apr
        // 10-14 Mon 20 - Fri 24 Apr
        // 15    Mon 27 Apr
        let calendar = Calendar::danish_default();
        let maundy_thursday = answer_deadline(&calendar, utc(2026, 4, 2, 10, 0), 15);
        assert_eq!(maundy_thursday.first_counted_day, date(2026, 4, 7));
        assert_eq!(maundy_thursday.due_date, date(2026, 4, 27));
        // Wednesday 1 April counts the same days, as nothing between it and Tuesday 7 counts.
        let wednesday = answer_deadline(&calendar, utc(2026, 4, 1, 10, 0), 15);
        assert_eq!(wednesday.due_date, date(2026, 4, 27));
        // A receipt on Tuesday 7 April starts counting on Wednesday 8: due Tuesday 28.
        let tuesday = answer_deadline(&calendar, utc(2026, 4, 7, 10, 0), 15);
        assert_eq!(tuesday.due_date, date(2026, 4, 28));
    }

    #[test]
    fn store_bededag_lengthens_a_deadline_in_2023_but_not_in_2024() {
        let calendar = Calendar::danish_default();
        // Monday 24 April 2023: Apr 25-28 (4), May 1-4 (8), Fri 5 May off, May 8-12 (13),
        // May 15-16 (15).
        let in_2023 = answer_deadline(&calendar, utc(2023, 4, 24, 10, 0), 15);
        assert_eq!(in_2023.due_date, date(2023, 5, 16));
        // Monday 15 April 2024: Apr 16-19 (4), Apr 22-26 (9) including the former Store
        // Bededag, Apr 29 - May 3 (14), May 6 (15).
        let in_2024 = answer_deadline(&calendar, utc(2024, 4, 15, 10, 0), 15);
        assert_eq!(in_2024.due_date, date(2024, 5, 6));
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
    fn receipts_around_the_spring_clock_change_land_on_the_copenhagen_date() {
        // Clocks go forward on Sunday 29 March 2026 at 01:00 UTC (02:00 CET becomes 03:00 CEST).
        assert_eq!(copenhagen_date(utc(2026, 3, 28, 22, 59)), date(2026, 3, 28));
        assert_eq!(copenhagen_date(utc(2026, 3, 28, 23, 0)), date(2026, 3, 29));
        assert_eq!(copenhagen_date(utc(2026, 3, 29, 0, 59)), date(2026, 3, 29));
        assert_eq!(copenhagen_date(utc(2026, 3, 29, 1, 0)), date(2026, 3, 29));
        assert_eq!(copenhagen_date(utc(2026, 3, 29, 21, 59)), date(2026, 3, 29));
        assert_eq!(copenhagen_date(utc(2026, 3, 29, 22, 0)), date(2026, 3, 30));
    }

    #[test]
    fn receipts_around_the_autumn_clock_change_land_on_the_copenhagen_date() {
        // Clocks go back on Sunday 25 October 2026 at 01:00 UTC (03:00 CEST becomes 02:00 CET),
        // so 02:30 local happens twice; both are 25 October.
        assert_eq!(
            copenhagen_date(utc(2026, 10, 24, 21, 59)),
            date(2026, 10, 24)
        );
        assert_eq!(
            copenhagen_date(utc(2026, 10, 24, 22, 0)),
            date(2026, 10, 25)
        );
        assert_eq!(
            copenhagen_date(utc(2026, 10, 25, 0, 30)),
            date(2026, 10, 25)
        );
        assert_eq!(
            copenhagen_date(utc(2026, 10, 25, 1, 30)),
            date(2026, 10, 25)
        );
        assert_eq!(
            copenhagen_date(utc(2026, 10, 25, 22, 59)),
            date(2026, 10, 25)
        );
        assert_eq!(
            copenhagen_date(utc(2026, 10, 25, 23, 0)),
            date(2026, 10, 26)
        );
    }

    #[test]
    fn a_friday_night_receipt_around_a_clock_change_counts_from_the_right_day() {
        let calendar = Calendar::danish_default();
        // 23:59 CET on Friday 27 March is still Friday: Mar 30 - Apr 1 (3), Easter, Apr 7-10 (7),
        // Apr 13-17 (12), Apr 20-22 (15).
        let friday = answer_deadline(&calendar, utc(2026, 3, 27, 22, 59), 15);
        assert_eq!(friday.due_date, date(2026, 4, 22));
        // A minute later it is Saturday 28 March, which does not count either: the same days.
        let saturday = answer_deadline(&calendar, utc(2026, 3, 27, 23, 0), 15);
        assert_eq!(saturday.receipt_date, date(2026, 3, 28));
        assert_eq!(saturday.due_date, date(2026, 4, 22));
        // The Sunday the clocks go forward, and Monday 30 March (Mar 31 - Apr 1 (2), Easter,
        // Apr 7-10 (6), Apr 13-17 (11), Apr 20-23 (15)).
        let sunday = answer_deadline(&calendar, utc(2026, 3, 29, 21, 59), 15);
        assert_eq!(sunday.due_date, date(2026, 4, 22));
        let monday = answer_deadline(&calendar, utc(2026, 3, 29, 22, 0), 15);
        assert_eq!(monday.receipt_date, date(2026, 3, 30));
        assert_eq!(monday.due_date, date(2026, 4, 23));

        // 23:59 CEST on Friday 23 October: Oct 26-30 (5), Nov 2-6 (10), Nov 9-13 (15).
        let friday = answer_deadline(&calendar, utc(2026, 10, 23, 21, 59), 15);
        assert_eq!(friday.due_date, date(2026, 11, 13));
        // Saturday 24 October and the Sunday the clocks go back count the same days.
        let saturday = answer_deadline(&calendar, utc(2026, 10, 23, 22, 0), 15);
        assert_eq!(saturday.due_date, date(2026, 11, 13));
        let sunday = answer_deadline(&calendar, utc(2026, 10, 25, 22, 59), 15);
        assert_eq!(sunday.receipt_date, date(2026, 10, 25));
        assert_eq!(sunday.due_date, date(2026, 11, 13));
        // An hour later it is Monday 26 October there: Oct 27-30 (4), Nov 2-6 (9), Nov 9-13
        // (14), Mon 16 Nov (15).
        let monday = answer_deadline(&calendar, utc(2026, 10, 25, 23, 0), 15);
        assert_eq!(monday.due_date, date(2026, 11, 16));
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

    #[test]
    fn the_days_of_the_clock_changes_are_23_and_25_hours_long() {
        let length = |d: NaiveDate| {
            end_of_copenhagen_day(d)
                - end_of_copenhagen_day(d.pred_opt().expect("has a previous day"))
        };
        assert_eq!(length(date(2026, 3, 29)), TimeDelta::hours(23));
        assert_eq!(length(date(2026, 10, 25)), TimeDelta::hours(25));
        assert_eq!(length(date(2026, 10, 26)), TimeDelta::hours(24));
        assert_eq!(
            end_of_copenhagen_day(date(2026, 10, 25)),
            utc(2026, 10, 25, 23, 0)
        );
    }
}
