//! The inquiry as the office registers it, and the rules a submission must meet.
//! [`lifecycle`] holds the case flow that follows.

pub mod lifecycle;

use borgerraad_platform::grpc::FieldViolation;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use uuid::Uuid;

/// The longest description we store; longer texts belong in an attached document.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// Odense Kommune's departments (forvaltninger), by code.
pub const DEFAULT_DEPARTMENTS: &[&str] = &[
    "borgmesterforvaltningen",
    "boern-og-unge",
    "beskaeftigelse-og-social",
    "aeldre-og-handicap",
    "by-og-kultur",
];

macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The code used in SQL and logs.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

coded_enum!(
    /// Who the inquiry is from.
    RequesterKind { Citizen => "citizen", Association => "association", Business => "business" }
);

coded_enum!(
    /// What the person wants help with.
    RequestType {
        Advice => "advice",
        Complaint => "complaint",
        ComplaintGuidance => "complaint_guidance",
        DecisionExplanation => "decision_explanation",
        DialogueOrMediation => "dialogue_or_mediation",
        ImprovementSuggestion => "improvement_suggestion",
    }
);

coded_enum!(
    /// How the office answers. There is deliberately no SMS: the office never answers by SMS.
    ContactChannel { DigitalPost => "digital_post", Email => "email", Letter => "letter", Phone => "phone" }
);

coded_enum!(
    /// Where the inquiry is in its case flow.
    InquiryStatus { Received => "received" }
);

/// A channel as the caller asked for it, before the rules have looked at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedChannel {
    Unspecified,
    Sms,
    Allowed(ContactChannel),
}

/// A submission as it arrived, with the enums still possibly unspecified.
#[derive(Debug, Clone)]
pub struct Submission {
    pub requester_kind: Option<RequesterKind>,
    pub department: String,
    pub request_type: Option<RequestType>,
    pub description: String,
    pub prior_dialogue_held: bool,
    /// `Err(())` when the caller sent a date that does not exist.
    pub prior_dialogue_date: Result<Option<NaiveDate>, ()>,
    pub contact_channel: RequestedChannel,
}

/// A submission that met every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInquiry {
    pub requester_kind: RequesterKind,
    pub department: String,
    pub request_type: RequestType,
    pub description: String,
    pub prior_dialogue: PriorDialogue,
    pub contact_channel: ContactChannel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorDialogue {
    pub held: bool,
    pub date: Option<NaiveDate>,
}

/// A registered inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    pub inquiry_id: Uuid,
    pub number: i64,
    pub reference: String,
    pub details: NewInquiry,
    pub status: InquiryStatus,
    pub received_at: DateTime<Utc>,
}

/// Checks every rule and reports every violation at once, so a form can mark all fields.
/// `today` is the Copenhagen date of receipt.
pub fn validate(
    submission: Submission,
    departments: &[String],
    today: NaiveDate,
) -> Result<NewInquiry, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    if submission.requester_kind.is_none() {
        violations.push(FieldViolation::new(
            "requester_kind",
            "say whether the inquiry is from a citizen, an association or a business",
        ));
    }
    if !departments.contains(&submission.department) {
        violations.push(FieldViolation::new(
            "department",
            format!("must be one of: {}", departments.join(", ")),
        ));
    }
    if submission.request_type.is_none() {
        violations.push(FieldViolation::new(
            "request_type",
            "say what the person wants help with",
        ));
    }
    let description = submission.description.trim();
    if description.is_empty() {
        violations.push(FieldViolation::new("description", "must not be empty"));
    } else if description.contains('\0') {
        violations.push(FieldViolation::new(
            "description",
            "must not contain NUL characters",
        ));
    } else if description.chars().count() > MAX_DESCRIPTION_CHARS {
        violations.push(FieldViolation::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters; attach longer texts as documents"),
        ));
    }
    let dialogue_date = match submission.prior_dialogue_date {
        Err(()) => {
            violations.push(FieldViolation::new(
                "prior_dialogue.date",
                "is not a valid date",
            ));
            None
        }
        Ok(Some(date)) if date > today => {
            violations.push(FieldViolation::new(
                "prior_dialogue.date",
                "must not be in the future",
            ));
            None
        }
        Ok(Some(date)) if date.year() < 1900 => {
            violations.push(FieldViolation::new(
                "prior_dialogue.date",
                "must be after 1900",
            ));
            None
        }
        Ok(date) => date,
    };
    if submission.prior_dialogue_held
        && dialogue_date.is_none()
        && violations.iter().all(|v| v.field != "prior_dialogue.date")
    {
        violations.push(FieldViolation::new(
            "prior_dialogue.date",
            "say when the dialogue with the department took place",
        ));
    }
    let contact_channel = match submission.contact_channel {
        RequestedChannel::Allowed(channel) => Some(channel),
        RequestedChannel::Sms => {
            violations.push(FieldViolation::new(
                "contact_channel",
                "Borgerrådgiveren svarer ikke på SMS; vælg Digital Post, e-mail, brev eller telefon \
                 (the office does not answer by SMS; choose Digital Post, e-mail, letter or phone)",
            ));
            None
        }
        RequestedChannel::Unspecified => {
            violations.push(FieldViolation::new(
                "contact_channel",
                "say how the person wants the answer: Digital Post, e-mail, letter or phone",
            ));
            None
        }
    };

    match (
        submission.requester_kind,
        submission.request_type,
        contact_channel,
    ) {
        (Some(requester_kind), Some(request_type), Some(contact_channel))
            if violations.is_empty() =>
        {
            Ok(NewInquiry {
                requester_kind,
                department: submission.department,
                request_type,
                description: description.to_owned(),
                prior_dialogue: PriorDialogue {
                    held: submission.prior_dialogue_held,
                    date: if submission.prior_dialogue_held {
                        dialogue_date
                    } else {
                        None
                    },
                },
                contact_channel,
            })
        }
        _ => Err(violations),
    }
}

/// The human reference of inquiry `number` received in `year`, e.g. `BR-2026-000123`.
pub fn reference(year: i32, number: i64) -> String {
    format!("BR-{year}-{number:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn departments() -> Vec<String> {
        DEFAULT_DEPARTMENTS.iter().map(|d| d.to_string()).collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
    }

    fn valid() -> Submission {
        Submission {
            requester_kind: Some(RequesterKind::Citizen),
            department: "by-og-kultur".into(),
            request_type: Some(RequestType::Complaint),
            description: "  Min ansøgning om byggetilladelse har ligget i et år.  ".into(),
            prior_dialogue_held: true,
            prior_dialogue_date: Ok(NaiveDate::from_ymd_opt(2026, 11, 1)),
            contact_channel: RequestedChannel::Allowed(ContactChannel::DigitalPost),
        }
    }

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn a_complete_submission_is_accepted_with_its_description_trimmed() {
        let inquiry = validate(valid(), &departments(), today()).expect("valid");
        assert_eq!(
            inquiry.description,
            "Min ansøgning om byggetilladelse har ligget i et år."
        );
        assert_eq!(
            inquiry.prior_dialogue.date,
            NaiveDate::from_ymd_opt(2026, 11, 1)
        );
    }

    #[test]
    fn an_answer_by_sms_is_refused_with_a_clear_message() {
        let submission = Submission {
            contact_channel: RequestedChannel::Sms,
            ..valid()
        };
        let violations = validate(submission, &departments(), today()).expect_err("sms refused");
        assert_eq!(fields(&violations), ["contact_channel"]);
        assert!(violations[0].description.contains("SMS"));
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let submission = Submission {
            requester_kind: None,
            department: "".into(),
            request_type: None,
            description: "   ".into(),
            prior_dialogue_held: true,
            prior_dialogue_date: Ok(None),
            contact_channel: RequestedChannel::Unspecified,
        };
        let violations = validate(submission, &departments(), today()).expect_err("invalid");
        assert_eq!(
            fields(&violations),
            [
                "requester_kind",
                "department",
                "request_type",
                "description",
                "prior_dialogue.date",
                "contact_channel"
            ]
        );
    }

    #[test]
    fn an_unknown_department_is_refused_with_the_list_of_known_ones() {
        let submission = Submission {
            department: "skattevaesenet".into(),
            ..valid()
        };
        let violations = validate(submission, &departments(), today()).expect_err("invalid");
        assert_eq!(fields(&violations), ["department"]);
        assert!(violations[0].description.contains("by-og-kultur"));
    }

    #[test]
    fn a_dialogue_in_the_future_or_on_an_impossible_date_is_refused() {
        let future = Submission {
            prior_dialogue_date: Ok(today().succ_opt()),
            ..valid()
        };
        assert_eq!(
            fields(&validate(future, &departments(), today()).expect_err("future")),
            ["prior_dialogue.date"]
        );
        let impossible = Submission {
            prior_dialogue_date: Err(()),
            ..valid()
        };
        assert_eq!(
            fields(&validate(impossible, &departments(), today()).expect_err("bad date")),
            ["prior_dialogue.date"]
        );
    }

    #[test]
    fn without_prior_dialogue_no_date_is_needed_and_none_is_kept() {
        let submission = Submission {
            prior_dialogue_held: false,
            ..valid()
        };
        let inquiry = validate(submission, &departments(), today()).expect("valid");
        assert_eq!(
            inquiry.prior_dialogue,
            PriorDialogue {
                held: false,
                date: None
            }
        );
    }

    #[test]
    fn an_overlong_description_is_refused() {
        let submission = Submission {
            description: "x".repeat(MAX_DESCRIPTION_CHARS + 1),
            ..valid()
        };
        assert_eq!(
            fields(&validate(submission, &departments(), today()).expect_err("long")),
            ["description"]
        );
    }

    #[test]
    fn a_description_with_a_nul_character_is_refused_rather_than_failing_in_the_database() {
        let submission = Submission {
            description: "før\0efter".into(),
            ..valid()
        };
        assert_eq!(
            fields(&validate(submission, &departments(), today()).expect_err("nul")),
            ["description"]
        );
    }

    #[test]
    fn references_are_zero_padded_to_six_digits_and_grow_beyond() {
        assert_eq!(reference(2026, 123), "BR-2026-000123");
        assert_eq!(reference(2026, 1_234_567), "BR-2026-1234567");
    }

    #[test]
    fn codes_round_trip() {
        for kind in [RequestType::Advice, RequestType::ImprovementSuggestion] {
            assert_eq!(RequestType::from_code(kind.as_str()), Some(kind));
        }
        assert_eq!(ContactChannel::from_code("sms"), None);
    }
}
