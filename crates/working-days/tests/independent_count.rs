//! `answer_deadline` checked against an independent count. The other side shares no code with
//! the crate: Denmark's public holidays come from another implementation (PyPI `holidays`,
//! committed as `fixtures/danish_public_holidays.tsv` by `fixtures/danish_public_holidays.py`),
//! the closing days (5 June, 24 and 31 December) and weekends are written out here, the
//! Copenhagen date follows the EU summer-time rule by hand, and the working days after the
//! receipt date are walked one by one.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use proptest::prelude::*;
use working_days::{Calendar, answer_deadline};

const FIXTURE: &str = include_str!("fixtures/danish_public_holidays.tsv");
/// The fixture ends with 2100, so receipts end with 2099 and 40 working days stay inside it.
/// (chrono-tz, under `answer_deadline`, knows no summer time from 2100 on.)
const LAST_YEAR: i32 = 2100;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn public_holidays() -> &'static BTreeSet<NaiveDate> {
    static HOLIDAYS: OnceLock<BTreeSet<NaiveDate>> = OnceLock::new();
    HOLIDAYS.get_or_init(|| {
        FIXTURE
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let (day, _name) = line.split_once('\t').expect("YYYY-MM-DD<TAB>name");
                NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("a date")
            })
            .collect()
    })
}

fn is_working_day(day: NaiveDate) -> bool {
    assert!(day.year() <= LAST_YEAR, "{day} is past the fixture");
    let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    let closing_day = matches!((day.month(), day.day()), (6, 5) | (12, 24) | (12, 31));
    !weekend && !closing_day && !public_holidays().contains(&day)
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let mut day = date(year, month, 31);
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt().expect("a day before");
    }
    day
}

/// Copenhagen's offset from UTC in hours: summer time (+2) from 01:00 UTC on the last Sunday of
/// March until 01:00 UTC on the last Sunday of October, else +1.
fn copenhagen_offset(instant: DateTime<Utc>) -> i64 {
    let at_one = |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).expect("01:00"));
    let year = instant.year();
    let summer = at_one(last_sunday(year, 3)) <= instant && instant < at_one(last_sunday(year, 10));
    if summer { 2 } else { 1 }
}

fn copenhagen_date(instant: DateTime<Utc>) -> NaiveDate {
    (instant + TimeDelta::hours(copenhagen_offset(instant))).date_naive()
}

/// Copenhagen midnight at the start of `day`, in UTC (clocks never change at midnight).
fn copenhagen_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"));
    let summer = local - TimeDelta::hours(2);
    if copenhagen_offset(summer) == 2 {
        summer
    } else {
        local - TimeDelta::hours(1)
    }
}

/// (first counted day, due date, due instant), counted day by day.
fn counted(received_at: DateTime<Utc>, working_days: u32) -> (NaiveDate, NaiveDate, DateTime<Utc>) {
    let mut day = copenhagen_date(received_at);
    let mut first = None;
    let mut count = 0;
    while count < working_days {
        day = day.succ_opt().expect("a next day");
        if is_working_day(day) {
            count += 1;
            first.get_or_insert(day);
        }
    }
    let due_at = copenhagen_midnight(day.succ_opt().expect("a next day"));
    (first.expect("at least one working day"), day, due_at)
}

fn check(received_at: DateTime<Utc>, working_days: u32) -> Result<(), TestCaseError> {
    let deadline = answer_deadline(&Calendar::danish_default(), received_at, working_days);
    let (first, due_date, due_at) = counted(received_at, working_days);
    let what = format!("received {received_at}, {working_days} working days");
    prop_assert_eq!(
        deadline.receipt_date,
        copenhagen_date(received_at),
        "{}",
        what
    );
    prop_assert_eq!(deadline.first_counted_day, first, "{}", what);
    prop_assert_eq!(deadline.due_date, due_date, "{}", what);
    prop_assert_eq!(deadline.due_at, due_at, "{}", what);
    Ok(())
}

fn first_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

/// Receipts from 2000 to 2099.
const RECEIPT_DAYS: i64 = 36_525;

fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0..RECEIPT_DAYS * 86_400).prop_map(|second| first_instant() + TimeDelta::seconds(second))
}

/// 20:00 to midnight UTC: in Copenhagen, often the next day already.
fn late_evening_utc() -> impl Strategy<Value = DateTime<Utc>> {
    (0..RECEIPT_DAYS, 20 * 3600..24 * 3600i64).prop_map(|(day, second)| {
        first_instant() + TimeDelta::days(day) + TimeDelta::seconds(second)
    })
}

/// Within two days either side of a clock change.
fn around_a_clock_change() -> impl Strategy<Value = DateTime<Utc>> {
    (
        2000..=2099i32,
        prop_oneof![Just(3u32), Just(10u32)],
        -172_800..172_800i64,
    )
        .prop_map(|(year, month, second)| {
            Utc.from_utc_datetime(
                &last_sunday(year, month)
                    .and_hms_opt(1, 0, 0)
                    .expect("01:00"),
            ) + TimeDelta::seconds(second)
        })
}

/// Within three days either side of a public holiday of the fixture.
fn around_a_holiday() -> impl Strategy<Value = DateTime<Utc>> {
    let holidays: Vec<NaiveDate> = public_holidays()
        .iter()
        .copied()
        .filter(|day| day.year() < LAST_YEAR)
        .collect();
    (
        proptest::sample::select(holidays),
        -3 * 86_400..4 * 86_400i64,
    )
        .prop_map(|(day, second)| {
            Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
                + TimeDelta::seconds(second)
        })
}

#[test]
fn the_fixture_has_store_bededag_up_to_2023_only_and_every_other_holiday_every_year() {
    let holidays = public_holidays();
    assert!(holidays.contains(&date(2023, 5, 5)));
    assert!(!holidays.contains(&date(2024, 4, 26)));
    for year in 2000..=LAST_YEAR {
        let in_year = holidays.iter().filter(|day| day.year() == year).count();
        assert_eq!(in_year, if year <= 2023 { 11 } else { 10 }, "{year}");
    }
}

#[test]
fn the_binding_examples_agree_with_the_independent_count() {
    let cph = |y, m, d, h: i64, min: i64| {
        copenhagen_midnight(date(y, m, d)) + TimeDelta::minutes(h * 60 + min)
    };
    for (received_at, due) in [
        (cph(2026, 11, 28, 0, 0), date(2026, 12, 18)),
        (cph(2026, 11, 28, 10, 0), date(2026, 12, 18)),
        (cph(2026, 11, 28, 23, 59), date(2026, 12, 18)),
        (cph(2026, 11, 27, 10, 0), date(2026, 12, 18)),
        (cph(2026, 11, 30, 10, 0), date(2026, 12, 21)),
        (cph(2025, 12, 31, 10, 0), date(2026, 1, 22)),
        (cph(2028, 4, 13, 10, 0), date(2028, 5, 8)),
    ] {
        assert_eq!(counted(received_at, 15).1, due, "{received_at}");
        check(received_at, 15).expect("the crate agrees");
    }
}

#[test]
fn every_receipt_date_from_2000_to_2099_is_due_as_counted_day_by_day() {
    for day in 0..RECEIPT_DAYS {
        let start = first_instant() + TimeDelta::days(day);
        // Midday, and 22:30 UTC, which is the next day in Copenhagen in summer.
        for at in [
            start + TimeDelta::hours(11),
            start + TimeDelta::minutes(22 * 60 + 30),
        ] {
            check(at, 15).expect("the same due date");
        }
    }
    assert_eq!(
        (first_instant() + TimeDelta::days(RECEIPT_DAYS - 1)).date_naive(),
        date(2099, 12, 31)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn a_random_receipt_is_due_as_counted_day_by_day(
        received_at in prop_oneof![
            any_instant(),
            late_evening_utc(),
            around_a_clock_change(),
            around_a_holiday(),
        ],
        working_days in prop_oneof![3 => Just(15u32), 1 => 1u32..=40],
    ) {
        check(received_at, working_days)?;
    }
}
