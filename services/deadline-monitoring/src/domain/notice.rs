//! The Danish texts of the notices, and when a notice may be delivered.
//!
//! Texts name the inquiry by its reference only (never a name, a CPR number or free text), so
//! they are safe in any inbox and any log.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use working_days::{Calendar, copenhagen_date, date_da};

use super::plan::{NoticeKind, Recipient};

/// When a notice to the requester is delivered on a working day.
const REQUESTER_HOUR: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeText {
    pub subject: String,
    pub body: String,
}

fn days(n: u32) -> String {
    if n == 1 {
        "1 arbejdsdag".into()
    } else {
        format!("{n} arbejdsdage")
    }
}

/// The notice's text for `recipient`.
pub fn render(
    kind: NoticeKind,
    recipient: Recipient,
    reference: &str,
    working_days: u32,
    due_date: NaiveDate,
) -> NoticeText {
    let due = date_da(due_date);
    if recipient == Recipient::Requester {
        return NoticeText {
            subject: format!("Din henvendelse {reference} til Borgerrådgiveren"),
            body: format!(
                "Borgerrådgiveren har ikke nået at besvare din henvendelse {reference} inden \
                 fristen den {due}. Vi beklager og svarer dig så hurtigt som muligt.\n\n\
                 Med venlig hilsen\nBorgerrådgiveren"
            ),
        };
    }
    let (subject, lead) = match kind {
        NoticeKind::Warning => (
            format!("Frist om {}: henvendelse {reference}", days(working_days)),
            format!(
                "Henvendelse {reference} skal besvares senest den {due}. Der er {} tilbage.",
                days(working_days)
            ),
        ),
        NoticeKind::DueToday => (
            format!("Fristen udløber i dag: henvendelse {reference}"),
            format!("Henvendelse {reference} skal besvares i dag, den {due}."),
        ),
        NoticeKind::Breached => (
            format!("Fristen er overskredet: henvendelse {reference}"),
            format!(
                "Svarfristen for henvendelse {reference} udløb den {due}, uden at henvendelsen \
                 er besvaret."
            ),
        ),
        NoticeKind::Escalated => (
            format!(
                "Eskalering: henvendelse {reference} er {} over fristen",
                days(working_days)
            ),
            format!(
                "Henvendelse {reference} er fortsat ikke besvaret. Fristen udløb den {due}, og \
                 der er nu gået {} siden.",
                days(working_days)
            ),
        ),
    };
    NoticeText {
        subject,
        body: format!(
            "{lead}\n\nSe sagen i Borgerrådgiverens sagssystem under referencen {reference}.\n\n\
             Denne besked er sendt automatisk af fristovervågningen."
        ),
    }
}

/// The earliest moment a notice to `recipient`, due at `at`, may be delivered: staff at any
/// time, the requester only on a working day from 08:00 Copenhagen time (before 08:00 on a
/// working day: 08:00 that day; on a non-working day: 08:00 of the next working day).
pub fn earliest_delivery(
    calendar: &Calendar,
    recipient: Recipient,
    at: DateTime<Utc>,
) -> DateTime<Utc> {
    if recipient.is_staff() {
        return at;
    }
    let today = copenhagen_date(at);
    let opening =
        |day: NaiveDate| {
            Copenhagen
                .from_local_datetime(&day.and_time(
                    NaiveTime::from_hms_opt(REQUESTER_HOUR, 0, 0).unwrap_or(NaiveTime::MIN),
                ))
                .earliest()
                .map(|local| local.with_timezone(&Utc))
        };
    if calendar.is_working_day(today) {
        match opening(today) {
            Some(open) if at < open => open,
            _ => at,
        }
    } else {
        opening(calendar.next_working_day_from(today)).unwrap_or(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cph(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Copenhagen
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn every_text_names_the_reference_and_the_due_date_in_danish() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 16).expect("valid");
        for kind in [
            NoticeKind::Warning,
            NoticeKind::DueToday,
            NoticeKind::Breached,
            NoticeKind::Escalated,
        ] {
            for recipient in [
                Recipient::Caseworker,
                Recipient::HeadOfOffice,
                Recipient::DepartmentDirector,
                Recipient::Requester,
            ] {
                let text = render(kind, recipient, "BR-2026-000042", 5, due);
                assert!(text.subject.contains("BR-2026-000042"), "{kind:?}");
                assert!(text.body.contains("16. december 2026"), "{kind:?}");
            }
        }
        let warning = render(NoticeKind::Warning, Recipient::Caseworker, "BR-1", 1, due);
        assert_eq!(warning.subject, "Frist om 1 arbejdsdag: henvendelse BR-1");
    }

    #[test]
    fn staff_are_told_at_any_time_and_the_requester_only_on_working_days() {
        let calendar = Calendar::danish_default();
        let cases = [
            // (recipient, due at, delivered from)
            (
                Recipient::Caseworker,
                cph(2026, 12, 19, 0),
                cph(2026, 12, 19, 0),
            ),
            (
                Recipient::HeadOfOffice,
                cph(2026, 12, 25, 3),
                cph(2026, 12, 25, 3),
            ),
            // A breach at midnight on a working day -> 08:00 that day
            (
                Recipient::Requester,
                cph(2026, 12, 17, 0),
                cph(2026, 12, 17, 8),
            ),
            // A retry due at 07:30 -> 08:00; one due in office hours stays
            (
                Recipient::Requester,
                cph(2026, 12, 17, 7) + chrono::Duration::minutes(30),
                cph(2026, 12, 17, 8),
            ),
            (
                Recipient::Requester,
                cph(2026, 12, 17, 8),
                cph(2026, 12, 17, 8),
            ),
            (
                Recipient::Requester,
                cph(2026, 12, 17, 22),
                cph(2026, 12, 17, 22),
            ),
            // Midnight of a closing day before a weekend -> Monday 08:00
            (
                Recipient::Requester,
                cph(2026, 12, 31, 0),
                cph(2027, 1, 4, 8),
            ),
            // Saturday -> Monday 08:00
            (
                Recipient::Requester,
                cph(2026, 12, 19, 0),
                cph(2026, 12, 21, 8),
            ),
            // Christmas Eve (closing day) -> Monday 28 December 08:00
            (
                Recipient::Requester,
                cph(2026, 12, 24, 10),
                cph(2026, 12, 28, 8),
            ),
        ];
        for (recipient, at, expected) in cases {
            assert_eq!(
                earliest_delivery(&calendar, recipient, at),
                expected,
                "{recipient:?} at {at}"
            );
        }
    }
}
