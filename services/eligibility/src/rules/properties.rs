//! Properties of [`assess`] over arbitrary facts: it never panics, a non-accepted outcome is
//! always explained by at least one fired rule of its category, an accepted one never has a
//! referral, out-of-scope or review rule behind it, and fired rules come in stable order.

use chrono::NaiveDate;
use proptest::prelude::*;
use working_days::Calendar;

use super::config::{RuleId, RuleSet};
use super::engine::{Category, assess};
use super::facts::{ComplaintTheme, Facts, OtherAuthority, OtherBody, RequestType};
use crate::domain::Outcome;

fn any_date() -> impl Strategy<Value = NaiveDate> {
    // Wide enough to reach far past and future, including dates near the calendar's ends.
    prop_oneof![
        (-200_000i32..200_000).prop_map(|offset| {
            NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(i64::from(offset))))
                .unwrap_or(NaiveDate::MIN)
        }),
        Just(NaiveDate::MIN),
        Just(NaiveDate::MAX),
    ]
}

fn near_date() -> impl Strategy<Value = NaiveDate> {
    (-800i64..800).prop_map(|offset| {
        NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(offset)))
            .unwrap_or(NaiveDate::MIN)
    })
}

fn maybe_date() -> impl Strategy<Value = Option<NaiveDate>> {
    prop_oneof![
        Just(None),
        near_date().prop_map(Some),
        any_date().prop_map(Some)
    ]
}

fn request_type() -> impl Strategy<Value = Option<RequestType>> {
    prop_oneof![
        Just(None),
        Just(Some(RequestType::Advice)),
        Just(Some(RequestType::Complaint)),
        Just(Some(RequestType::ComplaintGuidance)),
        Just(Some(RequestType::DecisionExplanation)),
        Just(Some(RequestType::DialogueOrMediation)),
        Just(Some(RequestType::ImprovementSuggestion)),
    ]
}

fn other_body() -> impl Strategy<Value = Option<OtherBody>> {
    prop_oneof![
        Just(None),
        Just(Some(OtherBody::Ankestyrelsen)),
        Just(Some(OtherBody::MunicipalSupervision)),
        Just(Some(OtherBody::Ombudsmand)),
        Just(Some(OtherBody::Court)),
    ]
}

fn other_authority() -> impl Strategy<Value = Option<OtherAuthority>> {
    prop_oneof![
        Just(None),
        Just(Some(OtherAuthority::UdbetalingDanmark)),
        Just(Some(OtherAuthority::Skat)),
        Just(Some(OtherAuthority::Regionen)),
        Just(Some(OtherAuthority::Familieretshuset)),
        Just(Some(OtherAuthority::NaevnenesHus)),
    ]
}

fn themes() -> impl Strategy<Value = Vec<ComplaintTheme>> {
    prop::collection::vec(
        prop_oneof![
            Just(ComplaintTheme::HandlingTime),
            Just(ComplaintTheme::CaseInvestigation),
            Just(ComplaintTheme::ServiceAndConduct),
            Just(ComplaintTheme::DigitalAccessibility),
        ],
        0..3,
    )
}

/// Free text mixing signal words, CPR-like numbers and arbitrary Unicode.
fn description() -> impl Strategy<Value = Option<String>> {
    let piece = prop_oneof![
        Just("min chef".to_owned()),
        Just("Byrådet".to_owned()),
        Just("lønsom".to_owned()),
        Just("Ankestyrelsen".to_owned()),
        Just("advokat har stævnet".to_owned()),
        Just("010190-1234".to_owned()),
        Just("{department}".to_owned()),
        "\\PC{0,20}",
    ];
    prop_oneof![
        Just(None),
        prop::collection::vec(piece, 0..6).prop_map(|pieces| Some(pieces.join(" "))),
    ]
}

prop_compose! {
    fn any_facts()(
        department in prop_oneof![Just("by-og-kultur".to_owned()), "\\PC{0,12}"],
        request_type in request_type(),
        flags in prop::array::uniform8(any::<bool>()),
        prior_dialogue_date in maybe_date(),
        brought_before in other_body(),
        about_other_authority in other_authority(),
        decision_date in maybe_date(),
        appeal_deadline in maybe_date(),
        complaint_themes in themes(),
        department_closed_matter_on in maybe_date(),
        description in description(),
    ) -> Facts {
        Facts {
            department,
            request_type,
            prior_dialogue_held: flags[0],
            prior_dialogue_ongoing: flags[1],
            prior_dialogue_date,
            about_employment: flags[2],
            about_political_decision: flags[3],
            wants_decision_changed: flags[4],
            brought_before,
            about_other_authority,
            decision_appealed: flags[5],
            decision_date,
            appeal_deadline,
            complaint_themes,
            anonymous: flags[6],
            department_closed_matter_on,
            description,
        }
    }
}

fn category_of(rule_id: &str) -> Option<Category> {
    RuleId::from_id(rule_id).map(Category::of)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn assess_never_panics_and_its_outcome_is_explained_by_its_fired_rules(
        facts in any_facts(),
        today in prop_oneof![near_date(), any_date()],
        danish in any::<bool>(),
    ) {
        let rules = RuleSet::default_rules().unwrap();
        let calendar = if danish { Calendar::danish_default() } else { Calendar::weekends_only() };
        let got = assess(&rules, &facts, today, &calendar);

        let categories: Vec<Category> = got
            .fired_rules
            .iter()
            .map(|rule| category_of(&rule.rule_id))
            .collect::<Option<_>>()
            .unwrap();

        if got.outcome != Outcome::Accepted {
            prop_assert!(!got.fired_rules.is_empty());
        }
        match got.outcome {
            Outcome::Accepted => prop_assert!(categories.iter().all(|c| *c == Category::Notice)),
            Outcome::AcceptedInPart => {
                prop_assert!(categories.contains(&Category::AcceptedInPart));
                prop_assert!(categories.iter().all(|c| *c >= Category::AcceptedInPart));
            }
            Outcome::Referred => prop_assert!(
                categories.contains(&Category::ExternalReferral)
                    || categories.contains(&Category::DepartmentReferral)
            ),
            Outcome::OutOfScope => prop_assert!(categories.contains(&Category::OutOfScope)),
            Outcome::NeedsReview => prop_assert!(categories.contains(&Category::NeedsReview)),
        }
        if got.outcome == Outcome::Referred {
            prop_assert!(got.referral_target.is_some());
        }
        if matches!(got.outcome, Outcome::Accepted | Outcome::AcceptedInPart | Outcome::OutOfScope) {
            prop_assert!(got.referral_target.is_none());
        }

        // Stable order, each rule at most once.
        let order: Vec<RuleId> = got
            .fired_rules
            .iter()
            .filter_map(|rule| RuleId::from_id(&rule.rule_id))
            .collect();
        prop_assert!(order.windows(2).all(|pair| pair[0] < pair[1]));

        prop_assert_eq!(got.urgent, got.fired_rule_ids().contains(&"appeal-deadline-urgent"));
        for rule in &got.fired_rules {
            prop_assert!(!rule.explanation_da.is_empty() && !rule.explanation_en.is_empty());
        }
        prop_assert_eq!(&got.rule_set_version, &rules.version);
    }
}
