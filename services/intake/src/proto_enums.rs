//! One name for one thing: every proto enum value is its prefix plus the upper-cased code that
//! Rust and SQL use (`CLOSING_OUTCOME_PARTIAL_CRITICISM` ⇄ `partial_criticism`), so the
//! conversion is one rule instead of a match per enum.

use borgerraad_proto::v1 as pb;

use crate::domain::Unreadable;

pub trait ProtoEnum: TryFrom<i32> + Copy + Into<i32> {
    const PREFIX: &'static str;
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! proto_enum {
    ($($ty:ty => $prefix:literal),+ $(,)?) => {$(
        impl ProtoEnum for $ty {
            const PREFIX: &'static str = $prefix;
            fn name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        }
    )+};
}

proto_enum!(
    pb::RequesterKind => "REQUESTER_KIND_",
    pb::RequestType => "REQUEST_TYPE_",
    pb::ContactChannel => "CONTACT_CHANNEL_",
    pb::ArrivalChannel => "ARRIVAL_CHANNEL_",
    pb::ComplaintTheme => "COMPLAINT_THEME_",
    pb::OtherBody => "OTHER_BODY_",
    pb::OtherAuthority => "OTHER_AUTHORITY_",
    pb::InquiryStatus => "INQUIRY_STATUS_",
    pb::MediationStage => "MEDIATION_STAGE_",
    pb::MediationResult => "MEDIATION_RESULT_",
    pb::ClosingOutcome => "CLOSING_OUTCOME_",
    pb::HandlingMethod => "HANDLING_METHOD_",
    pb::RepresentativeRole => "REPRESENTATIVE_ROLE_",
);

/// A proto enum value as a domain value: `Ok(None)` for UNSPECIFIED, `Err` for a number the
/// contract does not know.
pub fn decode<P: ProtoEnum, D>(
    value: i32,
    from_code: impl Fn(&str) -> Option<D>,
) -> Result<Option<D>, Unreadable> {
    let proto = P::try_from(value).map_err(|_| Unreadable)?;
    let code = proto
        .name()
        .strip_prefix(P::PREFIX)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if code == "unspecified" {
        return Ok(None);
    }
    from_code(&code).map(Some).ok_or(Unreadable)
}

/// A domain code as the proto enum's number; 0 (UNSPECIFIED) for a code the contract lacks.
pub fn encode<P: ProtoEnum>(code: &str) -> i32 {
    P::from_name(&format!("{}{}", P::PREFIX, code.to_ascii_uppercase())).map_or(0, Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClosingOutcome, ComplaintTheme, ContactChannel, InquiryStatus};

    #[test]
    fn every_domain_code_has_its_proto_value_and_back() {
        for outcome in [
            "resolved_through_dialogue",
            "criticism",
            "partial_criticism",
            "no_criticism",
            "referred",
            "withdrawn",
        ] {
            let number = encode::<pb::ClosingOutcome>(outcome);
            assert_ne!(number, 0, "{outcome}");
            assert_eq!(
                decode::<pb::ClosingOutcome, _>(number, ClosingOutcome::from_code),
                Ok(ClosingOutcome::from_code(outcome))
            );
        }
        for status in InquiryStatus::ALL {
            assert_ne!(
                encode::<pb::InquiryStatus>(status.as_str()),
                0,
                "{status:?}"
            );
        }
        assert_ne!(
            encode::<pb::ComplaintTheme>(ComplaintTheme::DigitalAccessibility.as_str()),
            0
        );
    }

    #[test]
    fn unspecified_is_none_and_unknown_numbers_are_unreadable() {
        assert_eq!(
            decode::<pb::ContactChannel, _>(0, ContactChannel::from_code),
            Ok(None)
        );
        assert_eq!(
            decode::<pb::ContactChannel, _>(99, ContactChannel::from_code),
            Err(Unreadable)
        );
        // SMS exists in the contract but not among the channels the office answers by.
        assert_eq!(
            decode::<pb::ContactChannel, _>(
                pb::ContactChannel::Sms.into(),
                ContactChannel::from_code
            ),
            Err(Unreadable)
        );
    }
}
