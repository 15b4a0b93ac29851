//! Rule file validation: the shipped file loads, and each kind of breakage is refused with an
//! error that names the rule or field at fault. Breakages are made by editing the shipped file
//! as data (YAML read into a JSON value, edited, written back as YAML), so each test changes
//! exactly one thing.

use serde_json::Value;

use super::config::{DEFAULT_RULES_YAML, Language, RuleId, RuleSet, RuleSetError};
use super::signals::SignalError;

fn default_as_value() -> Value {
    serde_saphyr::from_str(DEFAULT_RULES_YAML).unwrap()
}

/// The error from loading the shipped file after `edit`.
fn broken(edit: impl FnOnce(&mut Value)) -> RuleSetError {
    let mut value = default_as_value();
    edit(&mut value);
    let yaml = serde_saphyr::to_string(&value).unwrap();
    RuleSet::from_yaml(&yaml).unwrap_err()
}

fn rules_mut(value: &mut Value) -> &mut Vec<Value> {
    value["rules"].as_array_mut().unwrap()
}

fn rule_mut<'a>(value: &'a mut Value, id: &str) -> &'a mut Value {
    rules_mut(value)
        .iter_mut()
        .find(|rule| rule["id"].as_str() == Some(id))
        .unwrap()
}

fn remove(value: &mut Value, key: &str) {
    value.as_object_mut().unwrap().remove(key);
}

#[test]
fn the_shipped_rule_file_parses_with_every_rule_and_the_documented_defaults() {
    let rules = RuleSet::default_rules().unwrap();
    assert!(!rules.version.is_empty());
    assert_eq!(rules.thresholds.closed_matter_max_age_days, 365);
    assert_eq!(rules.thresholds.urgent_appeal_working_days, 3);
    for rule in RuleId::ALL {
        let text = rules.text(rule).unwrap();
        assert!(!text.da.render(&[]).is_empty(), "{rule}");
        assert!(!text.en.render(&[]).is_empty(), "{rule}");
    }
    assert_eq!(
        rules.department_names("by-og-kultur").da,
        "By- og Kulturforvaltningen"
    );
}

#[test]
fn the_shipped_file_survives_a_round_trip_through_yaml() {
    let yaml = serde_saphyr::to_string(&default_as_value()).unwrap();
    assert_eq!(
        RuleSet::from_yaml(&yaml).unwrap(),
        RuleSet::default_rules().unwrap()
    );
}

#[test]
fn an_unknown_department_is_shown_by_its_code() {
    let rules = RuleSet::default_rules().unwrap();
    assert_eq!(
        rules.department_names("ny-forvaltning").en,
        "ny-forvaltning"
    );
}

#[test]
fn a_missing_version_is_named() {
    let error = broken(|v| remove(v, "version"));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "version".into()
        }
    );
    assert_eq!(error.to_string(), "`version` is missing or empty");
}

#[test]
fn a_blank_version_counts_as_missing() {
    let error = broken(|v| v["version"] = Value::String("  ".into()));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "version".into()
        }
    );
}

#[test]
fn an_unknown_rule_id_is_named() {
    let error = broken(|v| rule_mut(v, "employment")["id"] = Value::String("ansættelse".into()));
    assert_eq!(
        error,
        RuleSetError::UnknownRule {
            id: "ansættelse".into()
        }
    );
}

#[test]
fn a_rule_listed_twice_is_named() {
    let error = broken(|v| {
        let copy = rule_mut(v, "political-decision").clone();
        rules_mut(v).push(copy);
    });
    assert_eq!(
        error,
        RuleSetError::DuplicateRule {
            id: "political-decision".into()
        }
    );
}

#[test]
fn a_rule_left_out_is_named() {
    let error =
        broken(|v| rules_mut(v).retain(|rule| rule["id"].as_str() != Some("appeal-pending")));
    assert_eq!(
        error,
        RuleSetError::MissingRule {
            id: "appeal-pending".into()
        }
    );
}

#[test]
fn a_rule_without_an_id_is_named_by_position() {
    let error = broken(|v| remove(&mut rules_mut(v)[2], "id"));
    assert_eq!(error, RuleSetError::RuleWithoutId { position: 3 });
}

#[test]
fn a_missing_danish_text_names_the_rule_and_the_language() {
    let error = broken(|v| remove(rule_mut(v, "employment"), "da"));
    assert_eq!(
        error,
        RuleSetError::MissingText {
            id: "employment".into(),
            language: Language::Danish
        }
    );
    assert_eq!(
        error.to_string(),
        "rule `employment`: the Danish (da) text is missing or empty"
    );
}

#[test]
fn a_blank_english_text_names_the_rule_and_the_language() {
    let error = broken(|v| rule_mut(v, "cpr-in-free-text")["en"] = Value::String(" \n".into()));
    assert_eq!(
        error,
        RuleSetError::MissingText {
            id: "cpr-in-free-text".into(),
            language: Language::English
        }
    );
}

#[test]
fn a_placeholder_the_rule_does_not_fill_in_is_refused() {
    let error = broken(|v| {
        rule_mut(v, "no-prior-dialogue")["da"] =
            Value::String("Kontakt {department}, {borger}.".into());
    });
    assert_eq!(
        error,
        RuleSetError::UnknownPlaceholder {
            id: "no-prior-dialogue".into(),
            language: Language::Danish,
            placeholder: "borger".into()
        }
    );
}

#[test]
fn a_text_that_leaves_out_a_required_placeholder_is_refused() {
    let error = broken(|v| {
        rule_mut(v, "other-authority")["en"] = Value::String("Contact {authority}.".into());
    });
    assert_eq!(
        error,
        RuleSetError::MissingPlaceholder {
            id: "other-authority".into(),
            language: Language::English,
            placeholder: "url"
        }
    );
}

#[test]
fn an_unclosed_brace_is_refused() {
    let error = broken(|v| {
        rule_mut(v, "employment")["da"] = Value::String("Kontakt HR {department".into());
    });
    assert_eq!(
        error,
        RuleSetError::UnclosedBrace {
            id: "employment".into(),
            language: Language::Danish
        }
    );
}

#[test]
fn a_web_address_without_https_is_named() {
    let error = broken(|v| {
        v["complaint_bodies"]["ankestyrelsen"]["url"] = Value::String("http://ast.dk".into());
    });
    assert_eq!(
        error,
        RuleSetError::BadUrl {
            field: "complaint_bodies.ankestyrelsen.url".into(),
            url: "http://ast.dk".into()
        }
    );
}

#[test]
fn a_bare_scheme_is_not_a_web_address() {
    let error = broken(|v| {
        v["other_authorities"]["skat"]["url"] = Value::String("https://".into());
    });
    assert!(
        matches!(error, RuleSetError::BadUrl { field, .. } if field == "other_authorities.skat.url")
    );
}

#[test]
fn a_zero_threshold_is_named() {
    let error = broken(|v| v["thresholds"]["urgent_appeal_working_days"] = Value::from(0));
    assert_eq!(
        error,
        RuleSetError::NonPositiveThreshold {
            field: "thresholds.urgent_appeal_working_days".into(),
            value: 0
        }
    );
}

#[test]
fn a_negative_threshold_is_named() {
    let error = broken(|v| v["thresholds"]["closed_matter_max_age_days"] = Value::from(-365));
    assert_eq!(
        error,
        RuleSetError::NonPositiveThreshold {
            field: "thresholds.closed_matter_max_age_days".into(),
            value: -365
        }
    );
}

#[test]
fn an_absurdly_large_threshold_is_named() {
    let error = broken(|v| v["thresholds"]["urgent_appeal_working_days"] = Value::from(3000));
    assert!(matches!(
        error,
        RuleSetError::ThresholdTooLarge { field, value: 3000, .. }
            if field == "thresholds.urgent_appeal_working_days"
    ));
}

#[test]
fn a_missing_threshold_is_named() {
    let error = broken(|v| remove(&mut v["thresholds"], "closed_matter_max_age_days"));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "thresholds.closed_matter_max_age_days".into()
        }
    );
}

#[test]
fn an_empty_keyword_list_is_named() {
    let error = broken(|v| v["signals"]["lawsuit"]["keywords"] = Value::Array(Vec::new()));
    assert_eq!(
        error,
        RuleSetError::EmptySignalList {
            list: "signals.lawsuit.keywords".into()
        }
    );
}

#[test]
fn a_topic_without_english_keywords_is_named() {
    let error = broken(|v| remove(&mut v["signals"]["other_body"], "keywords_en"));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "signals.other_body.keywords_en".into()
        }
    );
    let error = broken(|v| v["signals"]["sms_answer"]["keywords_en"] = Value::Array(Vec::new()));
    assert_eq!(
        error,
        RuleSetError::EmptySignalList {
            list: "signals.sms_answer.keywords_en".into()
        }
    );
}

#[test]
fn an_upper_case_keyword_is_named() {
    let error = broken(|v| {
        v["signals"]["employment"]["keywords"]
            .as_array_mut()
            .unwrap()
            .push(Value::String("Min Chef".into()));
    });
    assert_eq!(
        error,
        RuleSetError::BadSignal {
            list: "signals.employment.keywords".into(),
            keyword: "Min Chef".into(),
            reason: SignalError::NotLowerCase
        }
    );
    assert_eq!(
        error.to_string(),
        "signal list `signals.employment.keywords`: `Min Chef` must be lower-case"
    );
}

#[test]
fn a_missing_complaint_body_is_named() {
    let error = broken(|v| remove(&mut v["complaint_bodies"], "ombudsmand"));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "complaint_bodies.ombudsmand".into()
        }
    );
}

#[test]
fn a_missing_authority_name_is_named() {
    let error = broken(|v| remove(&mut v["other_authorities"]["familieretshuset"], "name_en"));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "other_authorities.familieretshuset.name_en".into()
        }
    );
}

#[test]
fn a_department_without_a_danish_name_is_named() {
    let error = broken(|v| remove(&mut v["departments"]["boern-og-unge"], "name_da"));
    assert_eq!(
        error,
        RuleSetError::MissingField {
            field: "departments.boern-og-unge.name_da".into()
        }
    );
}

#[test]
fn a_misspelt_field_is_refused_by_name_rather_than_ignored() {
    let error = broken(|v| {
        let thresholds = v["thresholds"].as_object_mut().unwrap();
        thresholds.insert("urgent_apeal_working_days".into(), Value::from(5));
    });
    assert!(
        matches!(&error, RuleSetError::Yaml(message) if message.contains("urgent_apeal_working_days")),
        "{error}"
    );
}

#[test]
fn text_that_is_not_yaml_is_refused() {
    assert!(matches!(
        RuleSet::from_yaml("version: [unclosed"),
        Err(RuleSetError::Yaml(_))
    ));
    assert!(matches!(
        RuleSet::from_yaml(""),
        Err(RuleSetError::Yaml(_)) | Err(RuleSetError::MissingField { .. })
    ));
}

/// The shipped file with one line replaced, as an operator's edit in a text editor would be.
fn edited(line: &str, replacement: &str) -> String {
    assert!(DEFAULT_RULES_YAML.contains(line), "{line}");
    DEFAULT_RULES_YAML.replace(line, replacement)
}

#[test]
fn a_mistake_is_shown_at_its_line_with_the_lines_around_it() {
    let yaml = edited(
        "  urgent_appeal_working_days: 3",
        "  urgent_apeal_working_days: 3",
    );
    let message = RuleSet::from_yaml(&yaml).unwrap_err().to_string();
    let line = 1 + yaml
        .lines()
        .position(|l| l.starts_with("  urgent_apeal"))
        .unwrap();
    assert!(
        message.contains(&format!(
            "line {line} column 3: unknown field `urgent_apeal_working_days`"
        )),
        "{message}"
    );
    assert!(
        message.contains("  urgent_apeal_working_days: 3\n"),
        "{message}"
    );
}

#[test]
fn a_key_written_twice_is_refused_rather_than_the_last_one_winning() {
    let yaml = edited(
        "version: \"2026.12-1\"",
        "version: \"2026.12-1\"\nversion: \"2026.12-2\"",
    );
    let message = RuleSet::from_yaml(&yaml).unwrap_err().to_string();
    assert!(
        message.contains("duplicate mapping key: version"),
        "{message}"
    );
}

#[test]
fn a_version_written_as_a_number_is_kept_as_written() {
    let yaml = edited("version: \"2026.12-1\"", "version: 2026.10");
    assert_eq!(RuleSet::from_yaml(&yaml).unwrap().version, "2026.10");
}

#[test]
fn a_threshold_that_is_not_a_number_is_shown_at_its_line() {
    let yaml = edited(
        "  closed_matter_max_age_days: 365",
        "  closed_matter_max_age_days: a year",
    );
    let message = RuleSet::from_yaml(&yaml).unwrap_err().to_string();
    assert!(
        message.contains("closed_matter_max_age_days: a year"),
        "{message}"
    );
}
