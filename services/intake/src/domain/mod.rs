//! The inquiry as the office registers it. The form's vocabulary and the rules a submission
//! must meet live in the `inquiry-form` crate, shared with eligibility's pre-check, and are
//! re-exported here; [`lifecycle`] holds the case flow that follows, [`personal`] how the
//! personal data is sealed at rest and shown, [`export`] a person's access request as a
//! document, and [`retention`] when personal data is erased.

pub mod amendment;
pub mod export;
pub mod lifecycle;
pub mod personal;
pub mod retention;

pub use inquiry_form::*;
use uuid::Uuid;

pub use lifecycle::Status as InquiryStatus;

/// A newly registered inquiry, at version 1 and status received; what changes later is the
/// case's [`lifecycle::CaseState`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    pub inquiry_id: Uuid,
    pub number: i64,
    pub reference: String,
    pub details: NewInquiry,
}

/// The human reference of inquiry `number` received in `year`, e.g. `BR-2026-000123`.
pub fn reference(year: i32, number: i64) -> String {
    format!("BR-{year}-{number:06}")
}

/// Whether `text` has the shape [`reference`] gives: `BR-`, a four-digit year, `-`, and the
/// number in at least six digits (at most 19, an `i64`).
pub fn is_reference(text: &str) -> bool {
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    match text
        .strip_prefix("BR-")
        .and_then(|rest| rest.split_once('-'))
    {
        Some((year, number)) => {
            year.len() == 4
                && all_digits(year)
                && (6..=19).contains(&number.len())
                && all_digits(number)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_zero_padded_to_six_digits_and_grow_beyond() {
        assert_eq!(reference(2026, 123), "BR-2026-000123");
        assert_eq!(reference(2026, 1_234_567), "BR-2026-1234567");
    }

    #[test]
    fn every_status_has_its_proto_value() {
        use borgerraad_proto::v1 as pb;
        for status in InquiryStatus::ALL {
            assert_ne!(
                proto::encode::<pb::InquiryStatus>(status.as_str()),
                0,
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_reference_is_recognised_by_its_shape() {
        assert!(is_reference(&reference(2026, 3)));
        assert!(is_reference("BR-2026-1234567"));
        for malformed in [
            "",
            "BR-2026-00003",
            "br-2026-000003",
            "BR-26-000003",
            "BR-2026-000003 ",
            "BR-2026-00000a",
            "BR-2026-000003-1",
            "BR-2026-12345678901234567890",
            "0196e7c2-0000-7000-8000-000000000000",
        ] {
            assert!(!is_reference(malformed), "{malformed:?}");
        }
    }
}
