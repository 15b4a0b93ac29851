//! Personal data at rest and on the way out: what an inquiry's one sealed record holds, how each
//! sealed value is bound to its inquiry, and how CPR numbers are shown (masked unless revealed).
//!
//! One record per inquiry holds the requester's name and CPR number, the description, the
//! form's other free text and the representative's name and power of attorney, so a submission
//! costs one seal however many fields it fills. Each journal entry's details are sealed on their
//! own, bound to the entry's version. Pure: the keyring is a parameter.

use std::borrow::Cow;

use personal_data::{CryptoError, FormatError, Keyring, Sealed, mask_cpr_like};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use inquiry_form::{Attachment, CaseFacts, Form, NewInquiry, PriorDialogueDetails};

/// The personal data of one inquiry. No `Debug`: it would print all of it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonalRecord {
    pub requester_name: Option<String>,
    /// Ten digits.
    pub requester_cpr: Option<String>,
    pub description: String,
    pub desired_outcome: Option<String>,
    pub unit: Option<String>,
    pub prior_dialogue_with_whom: Option<String>,
    pub prior_dialogue_outcome: Option<String>,
    pub attachments: Vec<Attachment>,
    pub representative_name: Option<String>,
    pub power_of_attorney_scope: Option<String>,
}

impl PersonalRecord {
    /// The personal data of a new inquiry.
    pub fn of(inquiry: &NewInquiry) -> Self {
        let form = &inquiry.form;
        let representative = inquiry.representative.as_ref();
        Self {
            requester_name: inquiry.requester.name.clone(),
            requester_cpr: inquiry
                .requester
                .cpr
                .as_ref()
                .map(|c| c.digits().to_owned()),
            description: inquiry.description.clone(),
            desired_outcome: form.desired_outcome.clone(),
            unit: form.unit.clone(),
            prior_dialogue_with_whom: form.prior_dialogue.with_whom.clone(),
            prior_dialogue_outcome: form.prior_dialogue.outcome.clone(),
            attachments: form.attachments.clone(),
            representative_name: representative.map(|r| r.name.clone()),
            power_of_attorney_scope: representative.map(|r| r.power_of_attorney_scope.clone()),
        }
    }

    /// The record read from a row written before personal data was sealed: the form record's
    /// free text and the plain columns, with the CPR number already opened.
    pub fn from_plain(form: &Form, plain: PlainColumns) -> Self {
        Self {
            requester_name: plain.requester_name,
            requester_cpr: plain.requester_cpr,
            description: plain.description,
            desired_outcome: form.desired_outcome.clone(),
            unit: form.unit.clone(),
            prior_dialogue_with_whom: form.prior_dialogue.with_whom.clone(),
            prior_dialogue_outcome: form.prior_dialogue.outcome.clone(),
            attachments: form.attachments.clone(),
            representative_name: plain.representative_name,
            power_of_attorney_scope: plain.power_of_attorney_scope,
        }
    }

    /// The record after a caseworker's correction of the case facts.
    pub fn amend(&mut self, facts: &CaseFacts) {
        self.description = facts.description.clone();
        self.unit = facts.unit.clone();
        self.prior_dialogue_with_whom = facts.prior_dialogue_details.with_whom.clone();
        self.prior_dialogue_outcome = facts.prior_dialogue_details.outcome.clone();
    }
}

/// The columns that held personal data in plain text before it was sealed.
pub struct PlainColumns {
    pub requester_name: Option<String>,
    pub requester_cpr: Option<String>,
    pub description: String,
    pub representative_name: Option<String>,
    pub power_of_attorney_scope: Option<String>,
}

/// The form record as stored beside the sealed record: its structured answers, without the free
/// text the sealed record holds.
pub fn form_without_personal_data(form: &Form) -> Form {
    Form {
        unit: None,
        desired_outcome: None,
        prior_dialogue: PriorDialogueDetails {
            with_whom: None,
            outcome: None,
            ongoing: form.prior_dialogue.ongoing,
        },
        attachments: Vec::new(),
        ..form.clone()
    }
}

/// The form record after a caseworker's correction of the case facts, without free text (the
/// corrected free text goes into the sealed record, see [`PersonalRecord::amend`]).
pub fn amended_form(form: &Form, facts: &CaseFacts) -> Form {
    form_without_personal_data(&Form {
        complaint_themes: facts.complaint_themes.clone(),
        prior_dialogue: facts.prior_dialogue_details.clone(),
        related_decision: facts.related_decision.clone(),
        scope: facts.scope,
        ..form.clone()
    })
}

/// Why a sealed value cannot be made or read. Messages never contain the value.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("a sealed value is not in the storage layout: {0}")]
    Format(#[from] FormatError),
    #[error("an opened value is not the {0} it should be")]
    Shape(&'static str),
}

/// The associated data of an inquiry's record: it opens only on that inquiry's row.
fn record_binding(inquiry_id: Uuid) -> Vec<u8> {
    format!("{inquiry_id}/personal").into_bytes()
}

/// The associated data of a journal entry's details: they open only on that entry.
fn journal_binding(inquiry_id: Uuid, version: i64) -> Vec<u8> {
    format!("{inquiry_id}/journal/{version}").into_bytes()
}

pub fn seal_record(
    keyring: &Keyring,
    inquiry_id: Uuid,
    record: &PersonalRecord,
) -> Result<Vec<u8>, SealError> {
    // Serializing plain strings and vectors cannot fail.
    let plain = serde_json::to_vec(record).map_err(|_| SealError::Shape("record"))?;
    Ok(keyring
        .seal(&plain, &record_binding(inquiry_id))?
        .to_bytes()?)
}

pub fn open_record(
    keyring: &Keyring,
    inquiry_id: Uuid,
    sealed: &[u8],
) -> Result<PersonalRecord, SealError> {
    let plain = keyring.open(&Sealed::from_bytes(sealed)?, &record_binding(inquiry_id))?;
    // serde_json's error would quote the text; say only what failed.
    serde_json::from_slice(&plain).map_err(|_| SealError::Shape("record"))
}

pub fn seal_details(
    keyring: &Keyring,
    inquiry_id: Uuid,
    version: i64,
    details: &str,
) -> Result<Vec<u8>, SealError> {
    Ok(keyring
        .seal(details.as_bytes(), &journal_binding(inquiry_id, version))?
        .to_bytes()?)
}

pub fn open_details(
    keyring: &Keyring,
    inquiry_id: Uuid,
    version: i64,
    sealed: &[u8],
) -> Result<String, SealError> {
    let plain = keyring.open(
        &Sealed::from_bytes(sealed)?,
        &journal_binding(inquiry_id, version),
    )?;
    String::from_utf8(plain).map_err(|_| SealError::Shape("text"))
}

/// Opens a CPR number sealed on its own, as rows written before the record were: bound to the
/// inquiry id's 16 bytes.
pub fn open_legacy_cpr(
    keyring: &Keyring,
    inquiry_id: Uuid,
    sealed: &[u8],
) -> Result<String, SealError> {
    let plain = keyring.open(&Sealed::from_bytes(sealed)?, inquiry_id.as_bytes())?;
    String::from_utf8(plain).map_err(|_| SealError::Shape("CPR number"))
}

/// A CPR number as an answer shows it: `DDMMYY-XXXX`, or in full when revealed.
pub fn cpr_for_display(digits: &str, reveal: bool) -> String {
    match digits.get(..6) {
        Some(birth) if reveal => format!("{birth}-{}", digits.get(6..).unwrap_or_default()),
        Some(birth) => format!("{birth}-XXXX"),
        None => String::new(),
    }
}

/// Shows free text with its CPR numbers masked like the requester's, or as written when
/// revealed, and notes whether any text held one (which a reveal then showed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeTextView {
    reveal: bool,
    held_cpr: bool,
}

impl FreeTextView {
    pub fn new(reveal: bool) -> Self {
        Self {
            reveal,
            held_cpr: false,
        }
    }

    pub fn show(&mut self, text: String) -> String {
        match mask_cpr_like(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(masked) => {
                self.held_cpr = true;
                if self.reveal { text } else { masked }
            }
        }
    }

    pub fn show_optional(&mut self, text: Option<String>) -> Option<String> {
        text.map(|text| self.show(text))
    }

    /// Whether any text shown held a CPR number.
    pub fn held_cpr(&self) -> bool {
        self.held_cpr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use personal_data::DataKey;

    fn keyring() -> Keyring {
        Keyring::new(DataKey::from_bytes("k1", [7; 32]).expect("valid key"))
    }

    fn record() -> PersonalRecord {
        PersonalRecord {
            requester_name: Some("Karen Blixen".into()),
            requester_cpr: Some("0101901234".into()),
            description: "Min datter (cpr 0202124321) får ikke hjælp.".into(),
            desired_outcome: Some("Hjælp".into()),
            unit: Some("Team Nord".into()),
            prior_dialogue_with_whom: Some("Grethe".into()),
            prior_dialogue_outcome: Some("Intet".into()),
            attachments: vec![Attachment {
                title: "Lægeerklæring".into(),
                document_ref: "dp://1".into(),
            }],
            representative_name: Some("Holger Danske".into()),
            power_of_attorney_scope: Some("Sagen om skolebussen".into()),
        }
    }

    #[test]
    fn a_record_round_trips_and_its_sealed_bytes_hold_none_of_its_text() {
        let id = Uuid::now_v7();
        let sealed = seal_record(&keyring(), id, &record()).expect("sealed");
        for text in [
            "Karen",
            "0101901234",
            "datter",
            "Grethe",
            "Holger",
            "Lægeerklæring",
        ] {
            assert!(
                !sealed.windows(text.len()).any(|w| w == text.as_bytes()),
                "{text}"
            );
        }
        assert!(open_record(&keyring(), id, &sealed).expect("opened") == record());
    }

    #[test]
    fn sealed_values_open_only_where_they_were_written() {
        let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = seal_record(&keyring(), id, &record()).expect("sealed");
        assert!(open_record(&keyring(), other, &sealed).is_err());
        let details = seal_details(&keyring(), id, 3, "information requested: x").expect("sealed");
        assert_eq!(
            open_details(&keyring(), id, 3, &details).expect("opened"),
            "information requested: x"
        );
        assert!(open_details(&keyring(), id, 4, &details).is_err());
        assert!(open_details(&keyring(), other, 3, &details).is_err());
        // A journal entry's sealed details are no record, even on the right inquiry.
        assert!(open_record(&keyring(), id, &details).is_err());
    }

    #[test]
    fn an_error_never_repeats_the_text() {
        let id = Uuid::now_v7();
        let not_a_record = keyring()
            .seal(b"\"Karen Blixen 0101901234\"", &record_binding(id))
            .expect("sealed")
            .to_bytes()
            .expect("bytes");
        let error = open_record(&keyring(), id, &not_a_record)
            .err()
            .expect("not a record");
        assert!(!error.to_string().contains("Karen"), "{error}");
    }

    #[test]
    fn the_form_record_keeps_its_answers_and_loses_its_free_text() {
        let form = Form {
            unit: Some("Team Nord".into()),
            desired_outcome: Some("Hjælp".into()),
            prior_dialogue: PriorDialogueDetails {
                with_whom: Some("Grethe".into()),
                outcome: Some("Intet".into()),
                ongoing: true,
            },
            attachments: record().attachments,
            contains_sensitive_data: true,
            ..Form::default()
        };
        let stripped = form_without_personal_data(&form);
        assert_eq!(
            stripped,
            Form {
                prior_dialogue: PriorDialogueDetails {
                    ongoing: true,
                    ..Default::default()
                },
                contains_sensitive_data: true,
                ..Form::default()
            }
        );
    }

    #[test]
    fn free_text_shows_cpr_numbers_masked_unless_revealed_and_notes_that_it_held_one() {
        let mut masked = FreeTextView::new(false);
        assert_eq!(
            masked.show("Ingen numre her, sag 2026-123456".into()),
            "Ingen numre her, sag 2026-123456"
        );
        assert!(!masked.held_cpr());
        assert_eq!(
            masked.show("Min datter (cpr 0202124321)".into()),
            "Min datter (cpr 020212-XXXX)"
        );
        assert!(masked.held_cpr());
        let mut revealed = FreeTextView::new(true);
        assert_eq!(
            revealed.show_optional(Some("cpr 010190 1234".into())),
            Some("cpr 010190 1234".into())
        );
        assert!(revealed.held_cpr());
    }

    #[test]
    fn a_cpr_number_is_shown_masked_unless_revealed() {
        assert_eq!(cpr_for_display("0101901234", false), "010190-XXXX");
        assert_eq!(cpr_for_display("0101901234", true), "010190-1234");
    }
}
