//! CPR numbers (det centrale personregister): parsing, masking and detection in free text.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use chrono::NaiveDate;
use thiserror::Error;

/// A valid CPR number, `DDMMYYSSSS`.
///
/// `Debug` and `Display` print only the masked form (`DDMMYY-XXXX`), so a `Cpr` that ends up in
/// a log line or an error message does not reveal the serial. Use [`Cpr::digits`] when the full
/// number is really needed, e.g. to encrypt it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cpr {
    digits: String,
    // Kept alongside the digits because it was derived during parsing; recomputing it would
    // need a fallible path for a case that cannot happen.
    birth_date: NaiveDate,
}

/// Why a string is not a valid CPR number. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CprError {
    #[error("the CPR number is empty")]
    Empty,
    #[error("a CPR number may contain only digits and one dash after the sixth digit")]
    InvalidCharacter,
    #[error("a CPR number has 10 digits, but {found} were given")]
    WrongLength { found: usize },
    #[error("the dash in a CPR number must come after the sixth digit (DDMMYY-SSSS)")]
    MisplacedDash,
    #[error("the first six digits of the CPR number are not a real date of birth")]
    InvalidBirthDate,
    #[error("the date of birth in the CPR number is in the future")]
    BirthDateInFuture,
}

/// Weights of the (no longer mandatory) CPR modulus-11 check.
const MODULUS_11_WEIGHTS: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];

impl Cpr {
    /// Parses `DDMMYYSSSS` or `DDMMYY-SSSS`, ignoring surrounding whitespace.
    ///
    /// The date of birth must exist in the century given by the 7th digit and must not be after
    /// `today`. The modulus-11 check is not applied, because the CPR office has issued numbers
    /// that fail it since 2007; see [`Cpr::passes_modulus_11`].
    pub fn parse(input: &str, today: NaiveDate) -> Result<Cpr, CprError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(CprError::Empty);
        }
        let mut digits = String::with_capacity(10);
        let mut dash_after = None;
        for c in input.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if c == '-' && dash_after.is_none() {
                dash_after = Some(digits.len());
            } else {
                return Err(CprError::InvalidCharacter);
            }
        }
        if digits.len() != 10 {
            return Err(CprError::WrongLength {
                found: digits.len(),
            });
        }
        if dash_after.is_some_and(|position| position != 6) {
            return Err(CprError::MisplacedDash);
        }
        let birth_date = birth_date_of(digits.as_bytes()).ok_or(CprError::InvalidBirthDate)?;
        if birth_date > today {
            return Err(CprError::BirthDateInFuture);
        }
        Ok(Cpr { digits, birth_date })
    }

    /// The date of birth, with the century resolved from the 7th digit.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// All 10 digits without a dash. This is the only way to get the serial out of a `Cpr`.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// `DDMMYY-XXXX`: the date of birth shown, the serial hidden.
    pub fn masked(&self) -> String {
        format!("{}-XXXX", &self.digits[..6])
    }

    /// Whether the number passes the old modulus-11 check (weights 4,3,2,7,6,5,4,3,2,1).
    ///
    /// For information only: numbers issued since 2007 may fail it and are still valid.
    pub fn passes_modulus_11(&self) -> bool {
        let sum: u32 = self
            .digits
            .bytes()
            .zip(MODULUS_11_WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        sum.is_multiple_of(11)
    }
}

impl fmt::Debug for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cpr").field(&self.masked()).finish()
    }
}

impl fmt::Display for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// The date of birth encoded in 10 ASCII digits, or `None` if there is no such date.
fn birth_date_of(digits: &[u8]) -> Option<NaiveDate> {
    let number = |at: usize| u32::from(digits[at] - b'0') * 10 + u32::from(digits[at + 1] - b'0');
    let (day, month, yy) = (number(0), number(2), number(4));
    let year = birth_year(yy, u32::from(digits[6] - b'0'));
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The CPR office's century rule: the 7th digit (first of the serial) fixes the century.
fn birth_year(yy: u32, seventh_digit: u32) -> i32 {
    let century = match seventh_digit {
        0..=3 => 1900,
        4 | 9 if yy <= 36 => 2000,
        4 | 9 => 1900,
        _ if yy <= 57 => 2000,
        _ => 1800,
    };
    // yy < 100, so the cast cannot truncate.
    century + yy as i32
}

/// Whether `text` holds a CPR number, or one already masked as `DDMMYY-XXXX`.
///
/// A CPR number in free text is ten digits, `DDMMYYSSSS`, or six and four digits with a dash or
/// a space between them (`DDMMYY-SSSS`, `DDMMYY SSSS`), not touching further digits on either
/// side, whose first six digits are a real date in the century the seventh digit gives (as
/// [`Cpr::parse`] reads it). The serial is not checked: numbers that fail the old modulus-11
/// check are valid, and a missed number costs more than a false alarm. So dates
/// (`25-11-2026`), phone numbers (`66 13 13 72`) and case numbers (`2026-123456`) do not match.
///
/// A masked number counts too, so masking a text keeps what it says about itself:
/// `find_cpr_like(&mask_cpr_like(text)) == find_cpr_like(text)`.
pub fn find_cpr_like(text: &str) -> bool {
    !cpr_like_spans(text).is_empty()
}

/// `text` with every CPR number in it shown as [`Cpr::masked`] shows one, `DDMMYY-XXXX`; the
/// text itself (borrowed) when it holds none. Numbers already masked are left as they are.
pub fn mask_cpr_like(text: &str) -> Cow<'_, str> {
    let mut numbers = cpr_like_spans(text)
        .into_iter()
        .filter(|span| span.kind == SpanKind::Number)
        .peekable();
    if numbers.peek().is_none() {
        return Cow::Borrowed(text);
    }
    let mut masked = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for span in numbers {
        masked.push_str(&text[copied_up_to..span.range.start]);
        masked.push_str(&span.birth);
        masked.push_str("-XXXX");
        copied_up_to = span.range.end;
    }
    masked.push_str(&text[copied_up_to..]);
    Cow::Owned(masked)
}

/// `text` with every CPR number (as [`find_cpr_like`] finds them, masked ones included)
/// replaced by `[CPR]`.
pub fn redact_cpr_like(text: &str) -> String {
    let mut redacted = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for span in cpr_like_spans(text) {
        redacted.push_str(&text[copied_up_to..span.range.start]);
        redacted.push_str("[CPR]");
        copied_up_to = span.range.end;
    }
    redacted.push_str(&text[copied_up_to..]);
    redacted
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanKind {
    /// The whole number, serial included.
    Number,
    /// `DDMMYY-XXXX`, as [`mask_cpr_like`] writes it.
    Masked,
}

/// A CPR number found in a text.
struct Span {
    /// Byte range in the text.
    range: Range<usize>,
    /// `DDMMYY`.
    birth: String,
    kind: SpanKind,
}

/// The CPR numbers in `text`, in order and not overlapping.
fn cpr_like_spans(text: &str) -> Vec<Span> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let char_at = |at: usize| chars.get(at).map(|&(_, c)| c);
    let is_digit = |at: usize| char_at(at).is_some_and(|c| c.is_ascii_digit());
    let run_length = |from: usize| (from..).take_while(|&at| is_digit(at)).count();
    let byte_offset = |at: usize| chars.get(at).map_or(text.len(), |&(offset, _)| offset);
    // Only ever called on ASCII digits, so each char is one byte.
    let digits = |range: Range<usize>| -> Vec<u8> {
        chars[range]
            .iter()
            .map(|&(_, c)| u8::try_from(c).unwrap_or(b'0'))
            .collect()
    };
    let is_mask = |from: usize| (from..from + 4).all(|at| char_at(at) == Some('X'));

    let mut spans = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        if !is_digit(at) {
            at += 1;
            continue;
        }
        // `at` is always the start of a digit run, so a match never continues an earlier number.
        let run = run_length(at);
        let separated = run == 6 && char_at(at + 6).is_some_and(is_cpr_separator);
        let found = if run == 10 {
            let number = digits(at..at + 10);
            birth_date_of(&number).map(|_| (at + 10, number, SpanKind::Number))
        } else if separated && run_length(at + 7) == 4 {
            let mut number = digits(at..at + 6);
            number.extend(digits(at + 7..at + 11));
            birth_date_of(&number).map(|_| (at + 11, number, SpanKind::Number))
        } else if separated && char_at(at + 6) == Some('-') && is_mask(at + 7) {
            let birth = digits(at..at + 6);
            is_date_in_some_century(&birth).then_some((at + 11, birth, SpanKind::Masked))
        } else {
            None
        };
        match found {
            Some((end, number, kind)) => {
                spans.push(Span {
                    range: byte_offset(at)..byte_offset(end),
                    birth: String::from_utf8_lossy(&number[..6]).into_owned(),
                    kind,
                });
                at = end;
            }
            None => at += run,
        }
    }
    spans
}

/// Dashes and spaces people put between the date and the serial, including the en dash and
/// non-breaking space that word processors and web forms substitute.
fn is_cpr_separator(c: char) -> bool {
    matches!(
        c,
        '-' | ' ' | '\u{00A0}' | '\u{202F}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}'
    )
}

/// Whether six ASCII digits `DDMMYY` are a date in 1800–2099: the seventh digit that fixes the
/// century is hidden in a masked number.
fn is_date_in_some_century(ddmmyy: &[u8]) -> bool {
    let number = |at: usize| i32::from(ddmmyy[at] - b'0') * 10 + i32::from(ddmmyy[at + 1] - b'0');
    let (day, month, yy) = (number(0), number(2), number(4));
    [1800, 1900, 2000].into_iter().any(|century| {
        let (Ok(month), Ok(day)) = (u32::try_from(month), u32::try_from(day)) else {
            return false;
        };
        NaiveDate::from_ymd_opt(century + yy, month, day).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn today() -> NaiveDate {
        date(2026, 11, 25)
    }

    fn parse(input: &str) -> Result<Cpr, CprError> {
        Cpr::parse(input, today())
    }

    #[test]
    fn a_cpr_number_with_or_without_a_dash_parses_to_the_same_digits() {
        let with_dash = parse("010190-1234").expect("valid");
        let without_dash = parse("0101901234").expect("valid");
        assert_eq!(with_dash, without_dash);
        assert_eq!(with_dash.digits(), "0101901234");
        assert_eq!(with_dash.birth_date(), date(1990, 1, 1));
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let cpr = parse("  \t010190-1234\n").expect("valid");
        assert_eq!(cpr.digits(), "0101901234");
    }

    #[test]
    fn an_empty_or_blank_input_is_rejected_as_empty() {
        assert_eq!(parse(""), Err(CprError::Empty));
        assert_eq!(parse("   "), Err(CprError::Empty));
    }

    #[test]
    fn letters_are_rejected() {
        assert_eq!(parse("01019O1234"), Err(CprError::InvalidCharacter));
        assert_eq!(parse("abcdefghij"), Err(CprError::InvalidCharacter));
    }

    #[test]
    fn inner_spaces_and_a_second_dash_are_rejected() {
        assert_eq!(parse("010190 1234"), Err(CprError::InvalidCharacter));
        assert_eq!(parse("010190--1234"), Err(CprError::InvalidCharacter));
    }

    #[test]
    fn nine_or_eleven_digits_are_rejected_with_the_count() {
        assert_eq!(parse("010190123"), Err(CprError::WrongLength { found: 9 }));
        assert_eq!(
            parse("010190-12345"),
            Err(CprError::WrongLength { found: 11 })
        );
    }

    #[test]
    fn a_dash_anywhere_but_after_the_sixth_digit_is_rejected() {
        assert_eq!(parse("0101-901234"), Err(CprError::MisplacedDash));
        assert_eq!(parse("0101901234-"), Err(CprError::MisplacedDash));
    }

    #[test]
    fn a_date_that_does_not_exist_is_rejected() {
        // 31 February 1999 and 30 February 2000.
        assert_eq!(parse("310299-1234"), Err(CprError::InvalidBirthDate));
        assert_eq!(parse("300200-4234"), Err(CprError::InvalidBirthDate));
        assert_eq!(parse("320190-1234"), Err(CprError::InvalidBirthDate));
        assert_eq!(parse("011390-1234"), Err(CprError::InvalidBirthDate));
        assert_eq!(parse("000190-1234"), Err(CprError::InvalidBirthDate));
    }

    #[test]
    fn the_29th_of_february_depends_on_the_century_from_the_seventh_digit() {
        // 1900 was not a leap year, 2000 was.
        assert_eq!(parse("290200-1234"), Err(CprError::InvalidBirthDate));
        let cpr = parse("290200-4234").expect("valid");
        assert_eq!(cpr.birth_date(), date(2000, 2, 29));
    }

    #[test]
    fn a_seventh_digit_from_0_to_3_means_the_1900s() {
        for (input, year) in [
            ("010100-0123", 1900),
            ("010136-1123", 1936),
            ("010157-2123", 1957),
            ("311299-3123", 1999),
        ] {
            assert_eq!(parse(input).expect(input).birth_date().year(), year);
        }
    }

    #[test]
    fn a_seventh_digit_of_4_or_9_means_the_2000s_up_to_year_36_and_the_1900s_after() {
        for (input, year) in [
            ("010100-4123", 2000),
            ("010124-9123", 2024),
            ("010137-4123", 1937),
            ("010199-9123", 1999),
        ] {
            assert_eq!(parse(input).expect(input).birth_date().year(), year);
        }
        // 2036 is in the future on our test date.
        assert_eq!(parse("010136-4123"), Err(CprError::BirthDateInFuture));
    }

    #[test]
    fn a_seventh_digit_from_5_to_8_means_the_2000s_up_to_year_57_and_the_1800s_after() {
        for (input, year) in [
            ("010100-5123", 2000),
            ("010126-8123", 2026),
            ("010158-6123", 1858),
            ("311299-7123", 1899),
        ] {
            assert_eq!(parse(input).expect(input).birth_date().year(), year);
        }
        assert_eq!(parse("010157-5123"), Err(CprError::BirthDateInFuture));
    }

    #[test]
    fn a_birth_date_after_today_is_rejected_but_today_itself_is_accepted() {
        assert_eq!(parse("261126-4123"), Err(CprError::BirthDateInFuture));
        assert_eq!(
            parse("251126-4123").expect("born today").birth_date(),
            today()
        );
    }

    #[test]
    fn a_number_failing_modulus_11_is_still_valid_and_reports_it() {
        // 0707614285 is the classic example that passes; changing the last digit breaks it.
        assert!(parse("070761-4285").expect("valid").passes_modulus_11());
        let issued_after_2007 = parse("070761-4286").expect("valid without modulus 11");
        assert!(!issued_after_2007.passes_modulus_11());
    }

    #[test]
    fn masked_shows_the_birth_date_and_hides_the_serial() {
        assert_eq!(parse("0101901234").expect("valid").masked(), "010190-XXXX");
    }

    #[test]
    fn debug_and_display_never_contain_the_serial() {
        let cpr = parse("010190-5678").expect("valid");
        let debug = format!("{cpr:?}");
        let pretty_debug = format!("{cpr:#?}");
        let display = format!("{cpr}");
        assert_eq!(debug, r#"Cpr("010190-XXXX")"#);
        assert_eq!(display, "010190-XXXX");
        for printed in [debug, pretty_debug, display] {
            assert!(!printed.contains("5678"), "{printed}");
            assert!(!printed.contains("0101905678"), "{printed}");
        }
        // Also when wrapped in other types, as in a logged struct or a failed assertion.
        assert!(!format!("{:?}", Some(&cpr)).contains("5678"));
    }

    #[test]
    fn error_messages_do_not_repeat_the_input() {
        for input in ["310299-1234", "261126-4123", "0101-901234", "01019012345"] {
            let message = parse(input).expect_err(input).to_string();
            assert!(!message.contains("1234"), "{message}");
            assert!(!message.contains("4123"), "{message}");
            assert!(!message.contains("0101"), "{message}");
        }
    }

    #[test]
    fn a_cpr_number_in_a_danish_sentence_is_found_and_redacted() {
        let text = "Mit cpr er 010190-1234 og jeg bor i Odense";
        assert!(find_cpr_like(text));
        assert_eq!(
            redact_cpr_like(text),
            "Mit cpr er [CPR] og jeg bor i Odense"
        );
    }

    #[test]
    fn ten_digits_without_a_dash_and_with_a_space_are_found() {
        assert!(find_cpr_like("0101901234"));
        assert!(find_cpr_like("cpr: 010190 1234."));
        assert_eq!(redact_cpr_like("(0101901234)"), "([CPR])");
    }

    #[test]
    fn an_en_dash_or_non_breaking_space_from_a_word_processor_still_counts() {
        assert_eq!(redact_cpr_like("cpr 010190–1234"), "cpr [CPR]");
        assert_eq!(redact_cpr_like("cpr 010190\u{00A0}1234"), "cpr [CPR]");
    }

    #[test]
    fn phone_case_and_account_numbers_are_not_mistaken_for_cpr_numbers() {
        for text in [
            "ring på 12345678",
            "ring på +45 12 34 56 78",
            "sagsnr. 2024-123456",
            "kontonummer 1234-5678901234",
            "beløb 1.234.567,89 kr.",
            "",
        ] {
            assert!(!find_cpr_like(text), "{text}");
            assert_eq!(redact_cpr_like(text), text);
        }
    }

    #[test]
    fn digits_inside_a_longer_number_are_not_a_match() {
        assert!(!find_cpr_like("01019012345"));
        assert!(!find_cpr_like("9010190-1234"));
        assert!(!find_cpr_like("010190-12345"));
    }

    #[test]
    fn an_impossible_date_is_not_a_match() {
        assert!(!find_cpr_like("320190-1234"));
        assert!(!find_cpr_like("011390-1234"));
        assert!(!find_cpr_like("300290-1234"));
        // 29 February exists only in leap years, and the 7th digit gives the century.
        assert!(!find_cpr_like("290290-1234"));
        assert!(find_cpr_like("290292-1234"));
        assert!(!find_cpr_like("290200-1234"));
        assert!(find_cpr_like("290200-4234"));
    }

    #[test]
    fn a_cpr_number_in_free_text_is_masked_like_the_requesters_own() {
        for (text, masked) in [
            (
                "Jeg hedder Karen, og mit CPR-nummer er 010190-1234.",
                "Jeg hedder Karen, og mit CPR-nummer er 010190-XXXX.",
            ),
            (
                "Min søn (cpr 0202124321) går i 3. klasse på Tarup Skole.",
                "Min søn (cpr 020212-XXXX) går i 3. klasse på Tarup Skole.",
            ),
            ("CPR: 010190 1234", "CPR: 010190-XXXX"),
            (
                "cpr.nr. 010190–1234, tlf. 66131372",
                "cpr.nr. 010190-XXXX, tlf. 66131372",
            ),
            ("cpr\u{00A0}010190\u{00A0}1234", "cpr\u{00A0}010190-XXXX"),
            (
                "Mor 0101601234 og far 020258-1234 bor sammen.",
                "Mor 010160-XXXX og far 020258-XXXX bor sammen.",
            ),
        ] {
            assert_eq!(mask_cpr_like(text), masked, "{text}");
            assert!(find_cpr_like(text) && find_cpr_like(masked), "{text}");
        }
    }

    #[test]
    fn dates_phone_numbers_amounts_and_case_numbers_are_left_as_they_are() {
        for text in [
            "Sagsnr. 2026-123456 blev oprettet den 25-11-2026.",
            "Mødet var den 25.11.2026 kl. 10.30 på rådhuset.",
            "Afgørelsen er dateret 2026-11-25 og modtaget 251126.",
            "Ring på 66 13 13 72, +45 66131372 eller 12345678.",
            "Journalnr. 26/012345 og 26-012345, CVR 24256790.",
            "Beløbet var 12.345,67 kr. om måneden fra 01-01-2026.",
            "Perioden 010126-311226 og kontonummer 1234-5678901234.",
            "EAN 5798000012345 og faktura 2026000123.",
            "",
        ] {
            assert_eq!(mask_cpr_like(text), text, "{text}");
            assert!(
                matches!(mask_cpr_like(text), Cow::Borrowed(_)),
                "nothing to mask in {text:?}"
            );
            assert!(!find_cpr_like(text), "{text}");
        }
    }

    #[test]
    fn a_masked_number_is_found_but_not_masked_again() {
        let text = "Mit cpr er 010190-XXXX, ikke 320190-XXXX eller 010190-XXX.";
        assert!(find_cpr_like("010190-XXXX"));
        assert!(!find_cpr_like("320190-XXXX"));
        assert!(!find_cpr_like("010190-XXX"));
        assert!(matches!(mask_cpr_like(text), Cow::Borrowed(_)));
        assert_eq!(
            redact_cpr_like(text),
            "Mit cpr er [CPR], ikke 320190-XXXX eller 010190-XXX."
        );
        // Masking a number written against a word still leaves a masked number behind.
        assert!(find_cpr_like(&mask_cpr_like("cpr:0101901234abc")));
        // The century is hidden, so any leap year will do for 29 February.
        assert!(find_cpr_like("290200-XXXX"));
        assert!(!find_cpr_like("290201-XXXX"));
    }

    #[test]
    fn every_cpr_number_in_a_text_is_redacted_and_the_rest_is_kept() {
        let text = "Søn 0101101234, datter 020212-4321 — sag 2024-123456, æøå.";
        assert_eq!(
            redact_cpr_like(text),
            "Søn [CPR], datter [CPR] — sag 2024-123456, æøå."
        );
    }

    /// Which 7th digits give a date of birth in `year`, written out from the CPR office's table
    /// rather than derived from the code under test.
    fn seventh_digits_for(year: i32) -> Vec<u8> {
        match year {
            1858..=1899 => vec![5, 6, 7, 8],
            1900..=1936 => vec![0, 1, 2, 3],
            1937..=1999 => vec![0, 1, 2, 3, 4, 9],
            2000..=2036 => vec![4, 5, 6, 7, 8, 9],
            2037..=2057 => vec![5, 6, 7, 8],
            _ => vec![],
        }
    }

    /// A valid CPR string with its birth date and digits.
    fn valid_cpr() -> impl Strategy<Value = (String, NaiveDate, String)> {
        let first = date(1858, 1, 1);
        let span = (today() - first).num_days();
        (0..=span)
            .prop_map(move |days| first + chrono::Days::new(days as u64))
            .prop_flat_map(|birth| {
                (
                    Just(birth),
                    prop::sample::select(seventh_digits_for(birth.year())),
                    0u32..1000,
                    any::<bool>(),
                )
            })
            .prop_map(|(birth, seventh, rest, dashed)| {
                let date_part = birth.format("%d%m%y").to_string();
                let serial = format!("{seventh}{rest:03}");
                let digits = format!("{date_part}{serial}");
                let input = if dashed {
                    format!("{date_part}-{serial}")
                } else {
                    digits.clone()
                };
                (input, birth, digits)
            })
    }

    proptest! {
        #[test]
        fn any_valid_cpr_round_trips_and_masked_never_shows_the_serial(
            (input, birth, digits) in valid_cpr()
        ) {
            let cpr = Cpr::parse(&input, today()).expect("valid by construction");
            prop_assert_eq!(cpr.digits(), digits.as_str());
            prop_assert_eq!(cpr.birth_date(), birth);
            let masked = cpr.masked();
            let serial = &digits[6..];
            prop_assert_eq!(&masked, &format!("{}-XXXX", &digits[..6]));
            // The serial can only appear by coincidence inside the shown birth date.
            prop_assert!(!masked.contains(serial) || digits[..6].contains(serial));
            prop_assert!(!masked[6..].chars().any(|c| c.is_ascii_digit()));
            prop_assert_eq!(format!("{cpr:?}"), format!("Cpr({masked:?})"));
            prop_assert_eq!(cpr.to_string(), masked);
        }

        #[test]
        fn any_valid_cpr_in_text_is_found_and_redacted((input, _birth, _digits) in valid_cpr()) {
            let text = format!("Borgerens cpr-nr. er {input}, oplyst pr. telefon.");
            prop_assert!(find_cpr_like(&text));
            prop_assert_eq!(
                redact_cpr_like(&text),
                "Borgerens cpr-nr. er [CPR], oplyst pr. telefon."
            );
        }

        #[test]
        fn any_valid_cpr_in_text_is_masked_to_its_birth_date((input, _birth, digits) in valid_cpr()) {
            let text = format!("Borgerens cpr-nr. er {input}, oplyst pr. telefon.");
            let masked = mask_cpr_like(&text);
            prop_assert_eq!(
                masked.as_ref(),
                format!("Borgerens cpr-nr. er {}-XXXX, oplyst pr. telefon.", &digits[..6])
            );
            prop_assert!(!masked.contains(&digits[6..]) || digits[..6].contains(&digits[6..]));
        }

        #[test]
        fn masking_keeps_the_finding_and_changes_nothing_a_second_time(
            pieces in prop::collection::vec(
                prop_oneof![
                    Just("010190-1234".to_owned()),
                    Just("0202124321".to_owned()),
                    Just("290292 1234".to_owned()),
                    Just("2026-123456".to_owned()),
                    Just("66 13 13 72".to_owned()),
                    "[0-9 -]{0,14}",
                    "\\PC{0,12}",
                    "[a-zX]{0,5}",
                ],
                0..6,
            )
        ) {
            let text = pieces.concat();
            let masked = mask_cpr_like(&text);
            prop_assert_eq!(find_cpr_like(&masked), find_cpr_like(&text));
            prop_assert_eq!(mask_cpr_like(&masked), masked.clone());
        }

        #[test]
        fn parsing_and_scanning_arbitrary_text_never_panics(text in any::<String>()) {
            let _ = Cpr::parse(&text, today());
            let redacted = redact_cpr_like(&text);
            prop_assert_eq!(find_cpr_like(&text), redacted != text);
            let _ = mask_cpr_like(&text);
        }
    }
}
