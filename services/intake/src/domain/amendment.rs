//! What an amendment changed, for its journal entry: the fields by the names `AmendInquiry`
//! gives them, categories with their new value, free text by name only. The journal thus shows
//! what changed without repeating what the inquiry said before (rectification under the GDPR
//! keeps no copy of the data it corrects), nor the new text, which the record holds.

use inquiry_form::{CaseFacts, Form, PriorDialogue};

use super::personal::PersonalRecord;

/// The case facts an inquiry holds before an amendment.
pub struct CurrentFacts<'a> {
    pub department: &'a str,
    pub request_type: &'a str,
    pub prior_dialogue: PriorDialogue,
    pub form: &'a Form,
    pub record: &'a PersonalRecord,
}

/// The fields `facts` changes, in the request's order.
pub fn amended_fields(current: &CurrentFacts, facts: &CaseFacts) -> Vec<String> {
    let mut changed = Vec::new();
    if current.department != facts.department {
        changed.push(format!("department (now {})", facts.department));
    }
    if current.request_type != facts.request_type.as_str() {
        changed.push(format!(
            "request_type (now {})",
            facts.request_type.as_str()
        ));
    }
    if current.record.description != facts.description {
        changed.push("description".into());
    }
    let details = &facts.prior_dialogue_details;
    if current.prior_dialogue != facts.prior_dialogue
        || current.form.prior_dialogue.ongoing != details.ongoing
    {
        changed.push("prior_dialogue".into());
    }
    if current.record.prior_dialogue_with_whom != details.with_whom {
        changed.push("prior_dialogue.with_whom".into());
    }
    if current.record.prior_dialogue_outcome != details.outcome {
        changed.push("prior_dialogue.outcome".into());
    }
    if current.form.related_decision != facts.related_decision {
        changed.push("related_decision".into());
    }
    if current.form.scope != facts.scope {
        changed.push("scope".into());
    }
    if current.form.complaint_themes != facts.complaint_themes {
        changed.push("complaint_themes".into());
    }
    if current.record.unit != facts.unit {
        changed.push("unit".into());
    }
    changed
}

/// The journal entry's text for an amendment.
pub fn journal_details(changed: &[String]) -> String {
    if changed.is_empty() {
        "case facts amended: nothing changed".into()
    } else {
        format!("case facts amended: {}", changed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inquiry_form::{ComplaintTheme, PriorDialogueDetails, RequestType, ScopeAnswers};

    fn record() -> PersonalRecord {
        PersonalRecord {
            requester_name: Some("Karen Jensen".into()),
            requester_cpr: Some("0101901234".into()),
            description: "Jeg har ventet længe på svar.".into(),
            desired_outcome: None,
            unit: None,
            prior_dialogue_with_whom: Some("Sagsbehandler Hansen".into()),
            prior_dialogue_outcome: None,
            attachments: Vec::new(),
            representative_name: None,
            power_of_attorney_scope: None,
        }
    }

    fn form() -> Form {
        Form {
            unit: None,
            complaint_themes: vec![ComplaintTheme::HandlingTime],
            desired_outcome: None,
            prior_dialogue: PriorDialogueDetails::default(),
            related_decision: None,
            scope: ScopeAnswers::default(),
            attachments: Vec::new(),
            contains_sensitive_data: false,
        }
    }

    fn same_facts(record: &PersonalRecord, form: &Form) -> CaseFacts {
        CaseFacts {
            department: "boern-og-unge".into(),
            unit: record.unit.clone(),
            request_type: RequestType::Complaint,
            complaint_themes: form.complaint_themes.clone(),
            description: record.description.clone(),
            prior_dialogue: PriorDialogue {
                held: true,
                date: None,
            },
            prior_dialogue_details: PriorDialogueDetails {
                with_whom: record.prior_dialogue_with_whom.clone(),
                outcome: record.prior_dialogue_outcome.clone(),
                ongoing: false,
            },
            related_decision: None,
            scope: form.scope,
        }
    }

    fn current<'a>(form: &'a Form, record: &'a PersonalRecord) -> CurrentFacts<'a> {
        CurrentFacts {
            department: "boern-og-unge",
            request_type: RequestType::Complaint.as_str(),
            prior_dialogue: PriorDialogue {
                held: true,
                date: None,
            },
            form,
            record,
        }
    }

    #[test]
    fn an_amendment_that_repeats_the_facts_changes_nothing() {
        let (record, form) = (record(), form());
        let changed = amended_fields(&current(&form, &record), &same_facts(&record, &form));
        assert!(changed.is_empty(), "{changed:?}");
        assert_eq!(
            journal_details(&changed),
            "case facts amended: nothing changed"
        );
    }

    #[test]
    fn changed_free_text_is_named_without_its_old_or_new_words() {
        let (record, form) = (record(), form());
        let mut facts = same_facts(&record, &form);
        facts.description = "Jeg har nu fået et afslag.".into();
        facts.prior_dialogue_details.with_whom = Some("Afdelingsleder Berg".into());
        let details = journal_details(&amended_fields(&current(&form, &record), &facts));
        assert_eq!(
            details,
            "case facts amended: description, prior_dialogue.with_whom"
        );
        for words in ["ventet", "afslag", "Hansen", "Berg"] {
            assert!(!details.contains(words), "{details}");
        }
    }

    #[test]
    fn a_changed_category_is_named_with_its_new_value() {
        let (record, form) = (record(), form());
        let mut facts = same_facts(&record, &form);
        facts.department = "by-og-kultur".into();
        facts.request_type = RequestType::Advice;
        facts.complaint_themes = Vec::new();
        facts.scope.about_employment = true;
        facts.prior_dialogue_details.ongoing = true;
        assert_eq!(
            amended_fields(&current(&form, &record), &facts),
            [
                "department (now by-og-kultur)",
                "request_type (now advice)",
                "prior_dialogue",
                "scope",
                "complaint_themes",
            ]
        );
    }
}
