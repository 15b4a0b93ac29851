//! Finding signal words and phrases in the person's free text.
//!
//! The text and the signals are split into lower-case words (runs of letters and digits, so
//! æ, ø and å count as letters), and a signal matches a run of whole words. That makes matching
//! case-insensitive and word-boundary aware: the signal `løn` finds "Løn" and "løn," but not
//! "lønsom", and the phrase `min chef` finds "MIN  Chef" but not "mine chefer". A signal may end
//! in `*` to match any word starting with its last word (`besparelse*` finds "besparelserne"),
//! for the Danish inflections a list would otherwise have to spell out.

use std::fmt;

/// A validated signal: one or more words, the last optionally a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// As written in the rule file, for reports to caseworkers.
    source: String,
    words: Vec<String>,
    last_is_prefix: bool,
}

/// Why a keyword from the rule file is not a usable signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalError {
    Empty,
    NotLowerCase,
    /// Only letters, digits, single spaces and a final `*` are allowed, so that what the file
    /// says is exactly what is matched.
    BadCharacter(char),
    MisplacedWildcard,
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::NotLowerCase => f.write_str("must be lower-case"),
            Self::BadCharacter(c) => write!(
                f,
                "contains {c:?}; only letters, digits, spaces and a final * are allowed"
            ),
            Self::MisplacedWildcard => f.write_str("may only have * at its very end"),
        }
    }
}

impl Signal {
    pub fn parse(keyword: &str) -> Result<Self, SignalError> {
        if keyword.trim().is_empty() {
            return Err(SignalError::Empty);
        }
        if keyword.to_lowercase() != keyword {
            return Err(SignalError::NotLowerCase);
        }
        let (body, last_is_prefix) = match keyword.strip_suffix('*') {
            Some(body) => (body, true),
            None => (keyword, false),
        };
        if let Some(c) = body
            .chars()
            .find(|c| !c.is_alphanumeric() && *c != ' ' && *c != '*')
        {
            return Err(SignalError::BadCharacter(c));
        }
        if body.contains('*') || body.ends_with(' ') {
            return Err(SignalError::MisplacedWildcard);
        }
        let words = words_of(body);
        if words.is_empty() {
            return Err(SignalError::Empty);
        }
        Ok(Self {
            source: keyword.to_owned(),
            words,
            last_is_prefix,
        })
    }

    /// The signal as written in the rule file.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the signal occurs as a run of whole words in `text_words` (from [`words_of`]).
    pub fn matches(&self, text_words: &[String]) -> bool {
        let n = self.words.len();
        if n == 0 || text_words.len() < n {
            return false;
        }
        text_words.windows(n).any(|window| {
            window
                .iter()
                .zip(&self.words)
                .enumerate()
                .all(|(i, (got, want))| {
                    if self.last_is_prefix && i == n - 1 {
                        got.starts_with(want.as_str())
                    } else {
                        got == want
                    }
                })
        })
    }
}

/// The lower-case words of `text`: maximal runs of letters and digits.
pub fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The first signal of `signals` found in `text_words`.
pub fn first_match<'a>(signals: &'a [Signal], text_words: &[String]) -> Option<&'a Signal> {
    signals.iter().find(|signal| signal.matches(text_words))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(signal: &str, text: &str) -> bool {
        Signal::parse(signal)
            .map(|s| s.matches(&words_of(text)))
            .unwrap_or(false)
    }

    #[test]
    fn a_whole_word_signal_matches_regardless_of_case_and_punctuation() {
        assert!(found(
            "løn",
            "Jeg har ikke fået min LØN, og det er for galt"
        ));
        assert!(found("min chef", "Min  chef sagde nej."));
    }

    #[test]
    fn a_whole_word_signal_does_not_match_inside_a_longer_word() {
        assert!(!found("løn", "Det er ikke lønsomt at tage arbejde"));
        assert!(!found("byrådet", "Et byrådsmedlem ringede til mig"));
        assert!(!found("min chef", "mine chefer"));
    }

    #[test]
    fn a_signal_ending_in_a_star_matches_inflections() {
        assert!(found("besparelse*", "Besparelserne rammer hjemmeplejen"));
        assert!(found(
            "klaget til ankestyrelse*",
            "jeg har klaget til Ankestyrelsen"
        ));
        assert!(!found("besparelse*", "sparet"));
    }

    #[test]
    fn danish_letters_are_part_of_words() {
        assert_eq!(
            words_of("Ældre-og Handicap: ØV!"),
            ["ældre", "og", "handicap", "øv"]
        );
    }

    #[test]
    fn unusable_signals_are_refused_with_a_reason() {
        assert_eq!(Signal::parse(""), Err(SignalError::Empty));
        assert_eq!(Signal::parse("   "), Err(SignalError::Empty));
        assert_eq!(Signal::parse("Min chef"), Err(SignalError::NotLowerCase));
        assert_eq!(
            Signal::parse("min-chef"),
            Err(SignalError::BadCharacter('-'))
        );
        assert_eq!(
            Signal::parse("be*sparelse"),
            Err(SignalError::MisplacedWildcard)
        );
        assert_eq!(Signal::parse("chef *"), Err(SignalError::MisplacedWildcard));
        assert_eq!(Signal::parse("*"), Err(SignalError::Empty));
    }
}
