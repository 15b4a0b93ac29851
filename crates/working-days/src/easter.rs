//! Easter Sunday by computus: every movable Danish holiday is a fixed number of days from it, so
//! computing it (rather than keeping a table) makes the calendar correct for any year.

use chrono::NaiveDate;

/// Easter Sunday of `year` in the Gregorian calendar, by the anonymous Gregorian algorithm
/// (Meeus/Jones/Butcher). It always falls between 22 March and 25 April.
///
/// Years chrono cannot represent (beyond about ±262,000) saturate to [`NaiveDate::MIN`] or
/// [`NaiveDate::MAX`] rather than panic.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let (month, day) = easter_month_day(year);
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(if year < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// Month and day of Easter Sunday. Euclidean division keeps the arithmetic meaningful for
/// proleptic years before year 0 too, so no input can make it misbehave.
fn easter_month_day(year: i32) -> (u32, u32) {
    let y = i64::from(year);
    let golden = y.rem_euclid(19);
    let century = y.div_euclid(100);
    let year_of_century = y.rem_euclid(100);
    let leap_centuries = century.div_euclid(4);
    let century_rest = century.rem_euclid(4);
    let lunar_correction = (century + 8).div_euclid(25);
    let moon_shift = (century - lunar_correction + 1).div_euclid(3);
    let epact = (19 * golden + century - leap_centuries - moon_shift + 15).rem_euclid(30);
    let leap_years = year_of_century / 4;
    let year_rest = year_of_century % 4;
    let to_sunday = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest).rem_euclid(7);
    let correction = (golden + 11 * epact + 22 * to_sunday) / 451;
    let n = epact + to_sunday - 7 * correction + 114;
    // `n` lies in 113..=149, so both values are small and positive.
    ((n / 31) as u32, (n % 31 + 1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    /// Gauss's Easter algorithm, written independently of the one under test so that the two
    /// can check each other.
    fn gauss_easter(year: i32) -> NaiveDate {
        let a = year % 19;
        let b = year % 4;
        let c = year % 7;
        let k = year / 100;
        let p = (13 + 8 * k) / 25;
        let q = k / 4;
        let m = (15 - p + k - q) % 30;
        let n = (4 + k - q) % 7;
        let d = (19 * a + m) % 30;
        let e = (2 * b + 4 * c + 6 * d + n) % 7;
        let march_day = 22 + d + e;
        let (month, day) = if march_day <= 31 {
            (3, march_day)
        } else {
            (4, march_day - 31)
        };
        // Gauss's two exceptions keep Easter on or before 25 April.
        let day = if d == 29 && e == 6 {
            19
        } else if d == 28 && e == 6 && (11 * m + 11) % 30 < 19 {
            18
        } else {
            day
        };
        date(year, month, day as u32)
    }

    #[test]
    fn easter_sunday_falls_on_the_known_dates_from_1900_to_2200() {
        // Checked against python-dateutil's `easter()`, a third, independent implementation.
        let known = [
            date(1900, 4, 15),
            date(1913, 3, 23),
            date(1943, 4, 25), // the latest possible date
            date(1954, 4, 18), // Gauss's second exception
            date(1961, 4, 2),
            date(1981, 4, 19), // Gauss's first exception
            date(2000, 4, 23),
            date(2008, 3, 23),
            date(2011, 4, 24),
            date(2019, 4, 21),
            date(2023, 4, 9),
            date(2024, 3, 31),
            date(2025, 4, 20),
            date(2026, 4, 5),
            date(2027, 3, 28),
            date(2038, 4, 25),
            date(2049, 4, 18),
            date(2076, 4, 19),
            date(2100, 3, 28),
            date(2200, 4, 6),
            date(2285, 3, 22), // the earliest possible date, just outside the supported range
        ];
        for expected in known {
            assert_eq!(easter_sunday(expected.year()), expected);
        }
    }

    #[test]
    fn the_anonymous_gregorian_algorithm_agrees_with_gauss_for_every_year_from_1583_to_9999() {
        for year in 1583..=9999 {
            assert_eq!(easter_sunday(year), gauss_easter(year), "year {year}");
        }
    }

    #[test]
    fn years_chrono_cannot_represent_saturate_instead_of_panicking() {
        assert_eq!(easter_sunday(i32::MAX), NaiveDate::MAX);
        assert_eq!(easter_sunday(i32::MIN), NaiveDate::MIN);
    }

    proptest! {
        #[test]
        fn easter_is_a_sunday_between_22_march_and_25_april(year in 1900i32..=2200) {
            let easter = easter_sunday(year);
            prop_assert_eq!(easter.year(), year);
            prop_assert_eq!(easter.weekday(), Weekday::Sun);
            prop_assert!(easter >= date(year, 3, 22));
            prop_assert!(easter <= date(year, 4, 25));
        }
    }
}
