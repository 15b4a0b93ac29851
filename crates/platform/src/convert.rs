//! Timestamps and dates between protobuf and chrono, in one place.

use borgerraad_proto::v1::Date;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// `None` for a timestamp outside chrono's range or with invalid nanoseconds.
pub fn from_timestamp(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

pub fn date(date: NaiveDate) -> Date {
    Date {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    }
}

/// `None` for a date that does not exist, such as 30 February.
pub fn from_date(date: &Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        date.year,
        u32::try_from(date.month).ok()?,
        u32::try_from(date.day).ok()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_to_the_nanosecond() {
        let now = Utc::now();
        assert_eq!(from_timestamp(&timestamp(now)), Some(now));
    }

    #[test]
    fn impossible_dates_and_negative_nanos_are_refused() {
        assert_eq!(
            from_date(&Date {
                year: 2026,
                month: 2,
                day: 30
            }),
            None
        );
        assert_eq!(
            from_date(&Date {
                year: 2026,
                month: -1,
                day: 1
            }),
            None
        );
        let bad = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(from_timestamp(&bad), None);
    }
}
