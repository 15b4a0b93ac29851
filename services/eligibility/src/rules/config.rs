//! The rule set: everything about the rules that the office may want to change without a code
//! change (texts in Danish and English, signal words, the names and web addresses of other
//! bodies and authorities, thresholds, and the version stamped on every assessment), loaded from
//! YAML and validated as a whole.
//!
//! Loading is all or nothing: [`RuleSet::from_yaml`] either returns a complete, checked rule
//! set or a [`RuleSetError`] naming the rule or field that is wrong, so a broken file can never
//! put a half rule set in front of citizens.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::facts::{OtherAuthority, OtherBody};
use super::signals::{Signal, SignalError};

/// The rule file shipped with the service.
pub const DEFAULT_RULES_YAML: &str = include_str!("../../rules/borgerraad-rules.yaml");

/// Upper bounds that catch a slipped digit in the file, not policy.
const MAX_CLOSED_MATTER_AGE_DAYS: i64 = 36_500;
const MAX_URGENT_APPEAL_WORKING_DAYS: i64 = 250;

/// Every rule the engine knows, in the stable order fired rules are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    NoPriorDialogue,
    DialogueOngoing,
    DecisionChangeInPart,
    DecisionChangeOutOfScope,
    OtherComplaintBody,
    AppealPending,
    AppealDeadline,
    AppealDeadlineUrgent,
    Employment,
    OtherAuthority,
    MatterClosedLongAgo,
    PoliticalDecision,
    FreeTextContradictsForm,
    CprInFreeText,
    SmsRequested,
}

impl RuleId {
    pub const ALL: [Self; 15] = [
        Self::NoPriorDialogue,
        Self::DialogueOngoing,
        Self::DecisionChangeInPart,
        Self::DecisionChangeOutOfScope,
        Self::OtherComplaintBody,
        Self::AppealPending,
        Self::AppealDeadline,
        Self::AppealDeadlineUrgent,
        Self::Employment,
        Self::OtherAuthority,
        Self::MatterClosedLongAgo,
        Self::PoliticalDecision,
        Self::FreeTextContradictsForm,
        Self::CprInFreeText,
        Self::SmsRequested,
    ];

    /// The id in the rule file, in events and in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoPriorDialogue => "no-prior-dialogue",
            Self::DialogueOngoing => "dialogue-ongoing",
            Self::DecisionChangeInPart => "decision-change-in-part",
            Self::DecisionChangeOutOfScope => "decision-change-out-of-scope",
            Self::OtherComplaintBody => "other-complaint-body",
            Self::AppealPending => "appeal-pending",
            Self::AppealDeadline => "appeal-deadline",
            Self::AppealDeadlineUrgent => "appeal-deadline-urgent",
            Self::Employment => "employment",
            Self::OtherAuthority => "other-authority",
            Self::MatterClosedLongAgo => "matter-closed-long-ago",
            Self::PoliticalDecision => "political-decision",
            Self::FreeTextContradictsForm => "free-text-contradicts-form",
            Self::CprInFreeText => "cpr-in-free-text",
            Self::SmsRequested => "sms-requested",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.as_str() == id)
    }

    /// The placeholders a rule's texts must use, and those they may use, because the engine
    /// fills exactly these in for the rule.
    const fn placeholders(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::NoPriorDialogue | Self::DialogueOngoing | Self::AppealPending => {
                (&["department"], &[])
            }
            Self::DecisionChangeInPart
            | Self::DecisionChangeOutOfScope
            | Self::PoliticalDecision => (&[], &["department"]),
            Self::OtherComplaintBody => (&["body", "url"], &[]),
            Self::AppealDeadline => (&["deadline"], &[]),
            Self::AppealDeadlineUrgent => (&["deadline"], &["working_days"]),
            Self::OtherAuthority => (&["authority", "url"], &[]),
            Self::MatterClosedLongAgo => (&["closed_on"], &["department"]),
            Self::FreeTextContradictsForm => (&["signals"], &[]),
            Self::Employment | Self::CprInFreeText | Self::SmsRequested => (&[], &[]),
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Danish,
    English,
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Danish => "Danish (da)",
            Self::English => "English (en)",
        })
    }
}

/// What is wrong with a rule file. Field paths are written as in the file, e.g.
/// `complaint_bodies.ombudsmand.url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    #[error("the rule file is not valid YAML of the expected shape: {0}")]
    Yaml(String),
    #[error("`{field}` is missing or empty")]
    MissingField { field: String },
    #[error("rule `{id}` is not a rule this engine knows")]
    UnknownRule { id: String },
    #[error("rule `{id}` appears more than once")]
    DuplicateRule { id: String },
    #[error("rule `{id}` is missing from the file")]
    MissingRule { id: String },
    #[error("rule #{position} (counting from 1) has no `id`")]
    RuleWithoutId { position: usize },
    #[error("rule `{id}`: the {language} text is missing or empty")]
    MissingText { id: String, language: Language },
    #[error(
        "rule `{id}`: the {language} text uses {{{placeholder}}}, which this rule does not fill in"
    )]
    UnknownPlaceholder {
        id: String,
        language: Language,
        placeholder: String,
    },
    #[error("rule `{id}`: the {language} text must mention {{{placeholder}}}")]
    MissingPlaceholder {
        id: String,
        language: Language,
        placeholder: &'static str,
    },
    #[error("rule `{id}`: the {language} text has a `{{` without a matching `}}`")]
    UnclosedBrace { id: String, language: Language },
    #[error("`{field}` must start with https://, but is `{url}`")]
    BadUrl { field: String, url: String },
    #[error("`{field}` must be a positive whole number, but is {value}")]
    NonPositiveThreshold { field: String, value: i64 },
    #[error("`{field}` is {value}, more than the sane maximum {max}")]
    ThresholdTooLarge { field: String, value: i64, max: i64 },
    #[error("signal list `{list}` is empty")]
    EmptySignalList { list: String },
    #[error("signal list `{list}`: `{keyword}` {reason}")]
    BadSignal {
        list: String,
        keyword: String,
        reason: SignalError,
    },
}

/// A name in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub da: String,
    pub en: String,
}

/// A body or authority the person can be referred to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The referral target, e.g. `ankestyrelsen`.
    pub code: String,
    pub name: Names,
    pub url: String,
}

/// One topic of free-text signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalTopic {
    /// How the topic is named to the person ("dit ansættelsesforhold").
    pub label: Names,
    /// The Danish signals, then the English ones: people write to the office in either
    /// language, and a text is scanned for both.
    pub signals: Vec<Signal>,
    /// How many of `signals` are the Danish ones.
    pub danish_count: usize,
}

impl SignalTopic {
    pub fn danish(&self) -> &[Signal] {
        &self.signals[..self.danish_count]
    }

    pub fn english(&self) -> &[Signal] {
        &self.signals[self.danish_count..]
    }
}

/// The signal topics: four that can contradict the form, and a wish to be answered by SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalTopics {
    pub employment: SignalTopic,
    pub political_decision: SignalTopic,
    pub other_body: SignalTopic,
    pub lawsuit: SignalTopic,
    pub sms_answer: SignalTopic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// A matter the department closed more than this many days ago is out of scope.
    pub closed_matter_max_age_days: u32,
    /// An open appeal deadline at most this many working days away is urgent.
    pub urgent_appeal_working_days: u32,
}

/// A rule text with `{placeholder}`s, checked against the rule's placeholders at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    /// The template as written, with its `{placeholders}`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text with each `{name}` replaced by its value from `values`, in one pass so that a
    /// value containing braces is never expanded again.
    pub fn render(&self, values: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.0.len() + 64);
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match values.iter().find(|(key, _)| *key == name) {
                        Some((_, value)) => out.push_str(value),
                        // Validation makes this unreachable; keep the text readable anyway.
                        None => out.push_str(&rest[open..open + close + 2]),
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A rule's explanation to the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    pub da: Template,
    pub en: Template,
}

/// A complete, validated rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub version: String,
    pub thresholds: Thresholds,
    /// Department names by code; a code not listed is shown as the code itself.
    pub departments: BTreeMap<String, Names>,
    pub signals: SignalTopics,
    bodies: [Place; 4],
    authorities: [Place; 5],
    texts: BTreeMap<RuleId, RuleText>,
}

impl RuleSet {
    /// Parses and validates a rule file; see [`RuleSetError`] for what is checked.
    pub fn from_yaml(yaml: &str) -> Result<Self, RuleSetError> {
        let raw: RawRuleSet =
            serde_saphyr::from_str(yaml).map_err(|e| RuleSetError::Yaml(e.to_string()))?;
        raw.validate()
    }

    /// The rule set embedded in the binary from `rules/borgerraad-rules.yaml`.
    pub fn default_rules() -> Result<Self, RuleSetError> {
        Self::from_yaml(DEFAULT_RULES_YAML)
    }

    pub fn body(&self, body: OtherBody) -> &Place {
        let index = match body {
            OtherBody::Ankestyrelsen => 0,
            OtherBody::MunicipalSupervision => 1,
            OtherBody::Ombudsmand => 2,
            OtherBody::Court => 3,
        };
        &self.bodies[index]
    }

    pub fn authority(&self, authority: OtherAuthority) -> &Place {
        let index = match authority {
            OtherAuthority::UdbetalingDanmark => 0,
            OtherAuthority::Skat => 1,
            OtherAuthority::Regionen => 2,
            OtherAuthority::Familieretshuset => 3,
            OtherAuthority::NaevnenesHus => 4,
        };
        &self.authorities[index]
    }

    /// Every code a person can be referred to: the departments, complaint bodies and other
    /// authorities the file names. A caseworker's override may name only these, so no free text
    /// reaches the events or the reports.
    pub fn is_referral_target(&self, code: &str) -> bool {
        self.departments.contains_key(code)
            || self.bodies.iter().any(|place| place.code == code)
            || self.authorities.iter().any(|place| place.code == code)
    }

    /// The rule's texts; `None` cannot happen for a validated set, which has every rule.
    pub fn text(&self, rule: RuleId) -> Option<&RuleText> {
        self.texts.get(&rule)
    }

    /// The department's name in both languages, or its code when the file does not name it.
    pub fn department_names(&self, code: &str) -> Names {
        self.departments
            .get(code)
            .cloned()
            .unwrap_or_else(|| Names {
                da: code.to_owned(),
                en: code.to_owned(),
            })
    }
}

// The file as written, with every field optional so that a missing one is reported by its
// path rather than by serde's positional message.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSet {
    version: Option<String>,
    thresholds: Option<RawThresholds>,
    #[serde(default)]
    departments: BTreeMap<String, RawNames>,
    complaint_bodies: Option<RawBodies>,
    other_authorities: Option<RawAuthorities>,
    signals: Option<RawSignals>,
    rules: Option<Vec<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    closed_matter_max_age_days: Option<i64>,
    urgent_appeal_working_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNames {
    name_da: Option<String>,
    name_en: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    code: Option<String>,
    name_da: Option<String>,
    name_en: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBodies {
    ankestyrelsen: Option<RawPlace>,
    municipal_supervision: Option<RawPlace>,
    ombudsmand: Option<RawPlace>,
    court: Option<RawPlace>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthorities {
    udbetaling_danmark: Option<RawPlace>,
    skat: Option<RawPlace>,
    regionen: Option<RawPlace>,
    familieretshuset: Option<RawPlace>,
    naevnenes_hus: Option<RawPlace>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignals {
    employment: Option<RawTopic>,
    political_decision: Option<RawTopic>,
    other_body: Option<RawTopic>,
    lawsuit: Option<RawTopic>,
    sms_answer: Option<RawTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    label_da: Option<String>,
    label_en: Option<String>,
    keywords: Option<Vec<String>>,
    keywords_en: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    da: Option<String>,
    en: Option<String>,
}

/// A present, non-blank string, trimmed.
fn required(value: Option<String>, field: &str) -> Result<String, RuleSetError> {
    match value {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(RuleSetError::MissingField {
            field: field.to_owned(),
        }),
    }
}

fn present<T>(value: Option<T>, field: &str) -> Result<T, RuleSetError> {
    value.ok_or_else(|| RuleSetError::MissingField {
        field: field.to_owned(),
    })
}

fn threshold(value: Option<i64>, field: &str, max: i64) -> Result<u32, RuleSetError> {
    let value = present(value, field)?;
    if value <= 0 {
        return Err(RuleSetError::NonPositiveThreshold {
            field: field.to_owned(),
            value,
        });
    }
    if value > max {
        return Err(RuleSetError::ThresholdTooLarge {
            field: field.to_owned(),
            value,
            max,
        });
    }
    u32::try_from(value).map_err(|_| RuleSetError::ThresholdTooLarge {
        field: field.to_owned(),
        value,
        max,
    })
}

fn names(da: Option<String>, en: Option<String>, path: &str) -> Result<Names, RuleSetError> {
    Ok(Names {
        da: required(da, &format!("{path}.name_da"))?,
        en: required(en, &format!("{path}.name_en"))?,
    })
}

fn place(raw: Option<RawPlace>, path: &str) -> Result<Place, RuleSetError> {
    let raw = present(raw, path)?;
    let code = required(raw.code, &format!("{path}.code"))?;
    let name = names(raw.name_da, raw.name_en, path)?;
    let url_field = format!("{path}.url");
    let url = required(raw.url, &url_field)?;
    // Citizens follow these links, so only encrypted ones with something after the scheme.
    if !url.starts_with("https://") || url.len() <= "https://".len() || url.contains(' ') {
        return Err(RuleSetError::BadUrl {
            field: url_field,
            url,
        });
    }
    Ok(Place { code, name, url })
}

fn topic(raw: Option<RawTopic>, path: &str) -> Result<SignalTopic, RuleSetError> {
    let raw = present(raw, path)?;
    let label = Names {
        da: required(raw.label_da, &format!("{path}.label_da"))?,
        en: required(raw.label_en, &format!("{path}.label_en"))?,
    };
    let mut signals = signal_list(raw.keywords, &format!("{path}.keywords"))?;
    let danish_count = signals.len();
    signals.extend(signal_list(
        raw.keywords_en,
        &format!("{path}.keywords_en"),
    )?);
    Ok(SignalTopic {
        label,
        signals,
        danish_count,
    })
}

/// A required, non-empty list of signals.
fn signal_list(keywords: Option<Vec<String>>, list: &str) -> Result<Vec<Signal>, RuleSetError> {
    let keywords = present(keywords, list)?;
    if keywords.is_empty() {
        return Err(RuleSetError::EmptySignalList {
            list: list.to_owned(),
        });
    }
    keywords
        .into_iter()
        .map(|keyword| {
            Signal::parse(&keyword).map_err(|reason| RuleSetError::BadSignal {
                list: list.to_owned(),
                keyword,
                reason,
            })
        })
        .collect()
}

/// The `{name}`s in a text, or `None` for an unclosed brace.
fn placeholders_in(text: &str) -> Option<Vec<&str>> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        found.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Some(found)
}

fn template(
    rule: RuleId,
    text: Option<String>,
    language: Language,
) -> Result<Template, RuleSetError> {
    let id = rule.as_str().to_owned();
    let text = match text {
        Some(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => return Err(RuleSetError::MissingText { id, language }),
    };
    let Some(used) = placeholders_in(&text) else {
        return Err(RuleSetError::UnclosedBrace { id, language });
    };
    let (must, may) = rule.placeholders();
    if let Some(unknown) = used
        .iter()
        .find(|name| !must.contains(name) && !may.contains(name))
    {
        return Err(RuleSetError::UnknownPlaceholder {
            id,
            language,
            placeholder: (*unknown).to_owned(),
        });
    }
    if let Some(missing) = must.iter().find(|name| !used.contains(name)) {
        return Err(RuleSetError::MissingPlaceholder {
            id,
            language,
            placeholder: missing,
        });
    }
    Ok(Template(text))
}

impl RawRuleSet {
    fn validate(self) -> Result<RuleSet, RuleSetError> {
        let version = required(self.version, "version")?;

        let thresholds = present(self.thresholds, "thresholds")?;
        let thresholds = Thresholds {
            closed_matter_max_age_days: threshold(
                thresholds.closed_matter_max_age_days,
                "thresholds.closed_matter_max_age_days",
                MAX_CLOSED_MATTER_AGE_DAYS,
            )?,
            urgent_appeal_working_days: threshold(
                thresholds.urgent_appeal_working_days,
                "thresholds.urgent_appeal_working_days",
                MAX_URGENT_APPEAL_WORKING_DAYS,
            )?,
        };

        let departments = self
            .departments
            .into_iter()
            .map(|(code, raw)| {
                let names = names(raw.name_da, raw.name_en, &format!("departments.{code}"))?;
                Ok((code, names))
            })
            .collect::<Result<BTreeMap<_, _>, RuleSetError>>()?;

        let bodies = present(self.complaint_bodies, "complaint_bodies")?;
        let bodies = [
            place(bodies.ankestyrelsen, "complaint_bodies.ankestyrelsen")?,
            place(
                bodies.municipal_supervision,
                "complaint_bodies.municipal_supervision",
            )?,
            place(bodies.ombudsmand, "complaint_bodies.ombudsmand")?,
            place(bodies.court, "complaint_bodies.court")?,
        ];

        let authorities = present(self.other_authorities, "other_authorities")?;
        let authorities = [
            place(
                authorities.udbetaling_danmark,
                "other_authorities.udbetaling_danmark",
            )?,
            place(authorities.skat, "other_authorities.skat")?,
            place(authorities.regionen, "other_authorities.regionen")?,
            place(
                authorities.familieretshuset,
                "other_authorities.familieretshuset",
            )?,
            place(authorities.naevnenes_hus, "other_authorities.naevnenes_hus")?,
        ];

        let signals = present(self.signals, "signals")?;
        let signals = SignalTopics {
            employment: topic(signals.employment, "signals.employment")?,
            political_decision: topic(signals.political_decision, "signals.political_decision")?,
            other_body: topic(signals.other_body, "signals.other_body")?,
            lawsuit: topic(signals.lawsuit, "signals.lawsuit")?,
            sms_answer: topic(signals.sms_answer, "signals.sms_answer")?,
        };

        let rules = present(self.rules, "rules")?;
        let mut texts = BTreeMap::new();
        for (index, raw) in rules.into_iter().enumerate() {
            let Some(id) = raw.id.filter(|id| !id.trim().is_empty()) else {
                return Err(RuleSetError::RuleWithoutId {
                    position: index + 1,
                });
            };
            let Some(rule) = RuleId::from_id(id.trim()) else {
                return Err(RuleSetError::UnknownRule { id });
            };
            if texts.contains_key(&rule) {
                return Err(RuleSetError::DuplicateRule { id });
            }
            let text = RuleText {
                da: template(rule, raw.da, Language::Danish)?,
                en: template(rule, raw.en, Language::English)?,
            };
            texts.insert(rule, text);
        }
        if let Some(missing) = RuleId::ALL.iter().find(|rule| !texts.contains_key(rule)) {
            return Err(RuleSetError::MissingRule {
                id: missing.as_str().to_owned(),
            });
        }

        Ok(RuleSet {
            version,
            thresholds,
            departments,
            signals,
            bodies,
            authorities,
            texts,
        })
    }
}
