//! Which characters a text field may hold: every text a person or a caseworker types, checked by
//! the one function [`refused_character`] (through [`checked_text`]) wherever it arrives, so a
//! name cannot carry a terminal escape sequence, text that renders in another order than it is
//! stored, or characters nobody can see.

use std::fmt;

use borgerraad_platform::grpc::FieldViolation;

/// What kind of text a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Names, codes, ids, titles, references: one line, no line breaks or tabs.
    OneLine,
    /// A description, a note, a reason: line breaks (`\n`, `\r`) and tabs allowed.
    FreeText,
}

/// Why a character is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// C0 and C1 control characters (and DEL): terminal escape sequences start with one.
    Control,
    /// A line break or tab in a one-line field.
    LineBreak,
    /// Bidirectional controls, which make text show in another order than it is stored.
    Bidirectional,
    /// Characters of no width, which hide text or make two equal-looking names differ.
    ZeroWidth,
    /// Code points Unicode reserves never to be characters.
    NonCharacter,
}

/// The first refused character of a text: which, where (counting characters from 1) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedCharacter {
    pub character: char,
    pub position: usize,
    pub reason: Refusal,
}

impl fmt::Display for RefusedCharacter {
    /// E.g. "must not contain control characters (U+001B at character 5)": the code point, never
    /// the text around it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self.reason {
            Refusal::Control => "must not contain control characters",
            Refusal::LineBreak => "must be one line, without line breaks or tabs",
            Refusal::Bidirectional => "must not contain bidirectional control characters",
            Refusal::ZeroWidth => "must not contain zero-width characters",
            Refusal::NonCharacter => "must not contain Unicode non-characters",
        };
        write!(
            f,
            "{rule} (U+{:04X} at character {})",
            u32::from(self.character),
            self.position
        )
    }
}

/// Why `c` may not appear in a text of `kind`, if it may not.
pub fn refusal(c: char, kind: TextKind) -> Option<Refusal> {
    match c {
        // U+2028 and U+2029 are not controls, but they break a line as much as `\n` does.
        '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => {
            (kind == TextKind::OneLine).then_some(Refusal::LineBreak)
        }
        c if c.is_control() => Some(Refusal::Control),
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => Some(Refusal::Bidirectional),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => Some(Refusal::ZeroWidth),
        '\u{FDD0}'..='\u{FDEF}' => Some(Refusal::NonCharacter),
        // The last two code points of every plane: U+FFFE, U+FFFF, U+1FFFE, … U+10FFFF.
        c if u32::from(c) & 0xFFFE == 0xFFFE => Some(Refusal::NonCharacter),
        _ => None,
    }
}

/// The first character of `value` that a text of `kind` may not hold, if any.
pub fn refused_character(value: &str, kind: TextKind) -> Option<RefusedCharacter> {
    value.chars().enumerate().find_map(|(at, character)| {
        refusal(character, kind).map(|reason| RefusedCharacter {
            character,
            position: at + 1,
            reason,
        })
    })
}

/// A text field as every service checks it: trimmed, free of refused characters, at most
/// `max_chars` long; `Ok(None)` when it is empty. The violation names `field` and never repeats
/// the text.
pub fn checked_text(
    field: &str,
    value: &str,
    max_chars: usize,
    kind: TextKind,
) -> Result<Option<String>, FieldViolation> {
    let value = value.trim();
    if let Some(refused) = refused_character(value, kind) {
        Err(FieldViolation::new(field, refused.to_string()))
    } else if value.chars().count() > max_chars {
        Err(FieldViolation::new(
            field,
            format!("must be at most {max_chars} characters"),
        ))
    } else {
        Ok((!value.is_empty()).then(|| value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_danish_text_with_line_breaks_is_free_text_but_not_one_line() {
        let text = "Kære Borgerrådgiver\r\n\nJeg har\tventet på svar fra Børn og Unge. Æøå «»–—…";
        assert_eq!(refused_character(text, TextKind::FreeText), None);
        assert_eq!(
            refused_character(text, TextKind::OneLine),
            Some(RefusedCharacter {
                character: '\r',
                position: 20,
                reason: Refusal::LineBreak
            })
        );
        assert_eq!(
            refused_character("Søren Ærø-Ågesen", TextKind::OneLine),
            None
        );
    }

    #[test]
    fn each_refused_kind_of_character_is_named_with_its_code_point() {
        for (text, message) in [
            (
                "Karen\u{1b}[31m",
                "must not contain control characters (U+001B at character 6)",
            ),
            (
                "før\0efter",
                "must not contain control characters (U+0000 at character 4)",
            ),
            (
                "C1 \u{9b}",
                "must not contain control characters (U+009B at character 4)",
            ),
            (
                "DEL\u{7f}",
                "must not contain control characters (U+007F at character 4)",
            ),
            (
                "abc\u{202E}fdp.exe",
                "must not contain bidirectional control characters (U+202E at character 4)",
            ),
            (
                "\u{2067}x",
                "must not contain bidirectional control characters (U+2067 at character 1)",
            ),
            (
                "a\u{061C}",
                "must not contain bidirectional control characters (U+061C at character 2)",
            ),
            (
                "Ka\u{200B}ren",
                "must not contain zero-width characters (U+200B at character 3)",
            ),
            (
                "\u{FEFF}Karen",
                "must not contain zero-width characters (U+FEFF at character 1)",
            ),
            (
                "x\u{FDD0}",
                "must not contain Unicode non-characters (U+FDD0 at character 2)",
            ),
            (
                "x\u{10FFFF}",
                "must not contain Unicode non-characters (U+10FFFF at character 2)",
            ),
        ] {
            let refused = refused_character(text, TextKind::FreeText).expect(text);
            assert_eq!(refused.to_string(), message, "{text:?}");
        }
        assert_eq!(
            refused_character("Karen\nJensen", TextKind::OneLine)
                .expect("refused")
                .to_string(),
            "must be one line, without line breaks or tabs (U+000A at character 6)"
        );
    }

    #[test]
    fn a_checked_text_is_trimmed_bounded_and_named_by_its_field() {
        assert_eq!(
            checked_text("description", "  Hej\n", 10, TextKind::FreeText),
            Ok(Some("Hej".to_owned()))
        );
        assert_eq!(
            checked_text("unit", " \n ", 10, TextKind::OneLine),
            Ok(None)
        );
        let long = checked_text("unit", "abcdefghijk", 10, TextKind::OneLine).expect_err("long");
        assert_eq!(
            (long.field.as_str(), long.description.as_str()),
            ("unit", "must be at most 10 characters")
        );
        let escape = checked_text("requester.name", "\u{1b}]0;x\u{7}", 100, TextKind::OneLine)
            .expect_err("escape sequence");
        assert_eq!(escape.field, "requester.name");
        assert!(escape.description.contains("U+001B"), "{escape:?}");
    }

    /// Characters of each refused kind, from every range the rules name.
    fn refused_char() -> impl Strategy<Value = char> {
        let plane_end = (0u32..=0x10, 0xFFFEu32..=0xFFFF)
            .prop_filter_map("a code point", |(plane, low)| {
                char::from_u32(plane << 16 | low)
            });
        prop_oneof![
            (0u32..=0x08).prop_filter_map("C0", char::from_u32),
            (0x0Bu32..=0x0C).prop_filter_map("C0", char::from_u32),
            (0x0Eu32..=0x1F).prop_filter_map("C0", char::from_u32),
            (0x7Fu32..=0x9F).prop_filter_map("DEL and C1", char::from_u32),
            (0x202Au32..=0x202E).prop_filter_map("bidi", char::from_u32),
            (0x2066u32..=0x2069).prop_filter_map("bidi", char::from_u32),
            prop::sample::select(vec!['\u{200E}', '\u{200F}', '\u{061C}']),
            (0x200Bu32..=0x200D).prop_filter_map("zero width", char::from_u32),
            prop::sample::select(vec!['\u{2060}', '\u{FEFF}']),
            (0xFDD0u32..=0xFDEF).prop_filter_map("non-character", char::from_u32),
            plane_end,
        ]
    }

    /// Text made of characters every field takes.
    fn readable_text() -> impl Strategy<Value = String> {
        any::<String>().prop_map(|text| {
            text.chars()
                .filter(|&c| refusal(c, TextKind::OneLine).is_none())
                .collect()
        })
    }

    proptest! {
        #[test]
        fn readable_text_passes_both_kinds(text in readable_text()) {
            prop_assert_eq!(refused_character(&text, TextKind::OneLine), None);
            prop_assert_eq!(refused_character(&text, TextKind::FreeText), None);
        }

        #[test]
        fn a_refused_character_anywhere_is_found_where_it_is(
            text in readable_text(),
            at in any::<prop::sample::Index>(),
            refused in refused_char(),
        ) {
            let mut chars: Vec<char> = text.chars().collect();
            let position = at.index(chars.len() + 1);
            chars.insert(position, refused);
            let text: String = chars.into_iter().collect();
            for kind in [TextKind::OneLine, TextKind::FreeText] {
                let found = refused_character(&text, kind).expect("refused");
                prop_assert_eq!((found.character, found.position), (refused, position + 1));
            }
        }

        #[test]
        fn line_breaks_and_tabs_are_free_text_only(
            text in readable_text(),
            at in any::<prop::sample::Index>(),
            line_break in prop::sample::select(vec!['\n', '\r', '\t', '\u{2028}', '\u{2029}']),
        ) {
            let mut chars: Vec<char> = text.chars().collect();
            chars.insert(at.index(chars.len() + 1), line_break);
            let text: String = chars.into_iter().collect();
            prop_assert_eq!(refused_character(&text, TextKind::FreeText), None);
            prop_assert_eq!(
                refused_character(&text, TextKind::OneLine).map(|r| r.reason),
                Some(Refusal::LineBreak)
            );
        }

        #[test]
        fn one_line_is_stricter_than_free_text_and_the_finding_is_true(text in any::<String>()) {
            let one_line = refused_character(&text, TextKind::OneLine);
            let free_text = refused_character(&text, TextKind::FreeText);
            if one_line.is_none() {
                prop_assert_eq!(free_text, None);
            }
            for found in [one_line, free_text].into_iter().flatten() {
                prop_assert_eq!(text.chars().nth(found.position - 1), Some(found.character));
                // The message names the code point, never the text.
                let code_point = format!("U+{:04X}", u32::from(found.character));
                prop_assert!(found.to_string().contains(&code_point));
            }
        }
    }
}
