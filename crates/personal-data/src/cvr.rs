//! CVR numbers (det centrale virksomhedsregister): the public register numbers of companies
//! and authorities.

use std::fmt;

use thiserror::Error;

/// A valid CVR number: 8 digits, not starting with 0, passing the modulus-11 check.
///
/// CVR numbers are public, so unlike [`crate::Cpr`] this prints in full.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cvr(String);

/// Why a string is not a valid CVR number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CvrError {
    #[error("the CVR number is empty")]
    Empty,
    #[error("a CVR number may contain only digits and spaces")]
    InvalidCharacter,
    #[error("a CVR number has 8 digits, but {found} were given")]
    WrongLength { found: usize },
    #[error("a CVR number cannot start with 0")]
    LeadingZero,
    #[error("the CVR number fails its modulus-11 check, so a digit is probably mistyped")]
    ChecksumMismatch,
}

const WEIGHTS: [u32; 8] = [2, 7, 6, 5, 4, 3, 2, 1];

impl Cvr {
    /// Parses 8 digits; whitespace anywhere is ignored, as in the common `2980 4516` grouping.
    pub fn parse(input: &str) -> Result<Cvr, CvrError> {
        let mut digits = String::with_capacity(8);
        for c in input.chars().filter(|c| !c.is_whitespace()) {
            if !c.is_ascii_digit() {
                return Err(CvrError::InvalidCharacter);
            }
            digits.push(c);
        }
        if digits.is_empty() {
            return Err(CvrError::Empty);
        }
        if digits.len() != 8 {
            return Err(CvrError::WrongLength {
                found: digits.len(),
            });
        }
        if digits.starts_with('0') {
            return Err(CvrError::LeadingZero);
        }
        let sum: u32 = digits
            .bytes()
            .zip(WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        if !sum.is_multiple_of(11) {
            return Err(CvrError::ChecksumMismatch);
        }
        Ok(Cvr(digits))
    }

    /// The 8 digits without spaces.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Published CVR numbers: Novo Nordisk A/S and Danske Bank A/S.
    const PUBLISHED: [&str; 2] = ["24256790", "61126228"];

    #[test]
    fn published_cvr_numbers_are_accepted() {
        for digits in PUBLISHED {
            assert_eq!(Cvr::parse(digits).expect(digits).digits(), digits);
        }
    }

    #[test]
    fn spaces_in_the_input_are_removed() {
        let cvr = Cvr::parse(" 2980 4516 ").expect("valid");
        assert_eq!(cvr.digits(), "29804516");
        assert_eq!(cvr.to_string(), "29804516");
        assert_eq!(format!("{cvr:?}"), r#"Cvr("29804516")"#);
    }

    #[test]
    fn changing_any_single_digit_of_a_valid_number_fails_the_check() {
        for valid in PUBLISHED {
            for position in 0..8 {
                for replacement in b'0'..=b'9' {
                    let mut bytes = valid.as_bytes().to_vec();
                    if bytes[position] == replacement {
                        continue;
                    }
                    bytes[position] = replacement;
                    let changed = String::from_utf8(bytes).expect("ascii");
                    let result = Cvr::parse(&changed);
                    assert!(
                        matches!(
                            result,
                            Err(CvrError::ChecksumMismatch | CvrError::LeadingZero)
                        ),
                        "{changed}: {result:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_leading_zero_is_rejected_even_with_a_valid_checksum() {
        // 0·2 + 1·7 + 1·6 + 2·5 + 3·4 + 4·3 + 1·2 + 6·1 = 55, divisible by 11.
        assert_eq!(Cvr::parse("01123416"), Err(CvrError::LeadingZero));
    }

    #[test]
    fn wrong_lengths_letters_and_empty_input_are_rejected() {
        assert_eq!(
            Cvr::parse("2425679"),
            Err(CvrError::WrongLength { found: 7 })
        );
        assert_eq!(
            Cvr::parse("242567900"),
            Err(CvrError::WrongLength { found: 9 })
        );
        assert_eq!(Cvr::parse("DK24256790"), Err(CvrError::InvalidCharacter));
        assert_eq!(Cvr::parse("2425-6790"), Err(CvrError::InvalidCharacter));
        assert_eq!(Cvr::parse("   "), Err(CvrError::Empty));
    }

    proptest! {
        #[test]
        fn a_number_is_accepted_exactly_when_its_weighted_sum_is_divisible_by_11(
            digits in "[1-9][0-9]{7}"
        ) {
            let sum: u32 = digits
                .bytes()
                .zip([2, 7, 6, 5, 4, 3, 2, 1])
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            prop_assert_eq!(Cvr::parse(&digits).is_ok(), sum.is_multiple_of(11));
        }
    }
}
