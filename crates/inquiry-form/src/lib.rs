//! The inquiry form: the vocabulary an inquiry is told in (codes shared by proto, Rust and SQL)
//! and the rules a submission or an amendment must meet.
//!
//! Intake applies these rules when it registers or corrects an inquiry, and eligibility's
//! `Evaluate` applies the very same ones to a draft, so a web form's pre-check and the
//! submission can never disagree. Everything here is pure; [`proto`] converts the contract's
//! messages into the inputs the rules take, and [`text`] says which characters a text field may
//! hold, for the form and for every other text a service takes (notes, reasons, actors).

use borgerraad_platform::departments::Departments;
use borgerraad_platform::grpc::FieldViolation;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use personal_data::{Cpr, Cvr};
use serde::{Deserialize, Serialize};

pub mod proto;
pub mod text;

pub use text::{TextKind, checked_text, refused_character};

/// The longest description we store; longer texts belong in an attached document.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// The longest desired outcome, note, answer summary or suggestion.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Names, case numbers, titles and references.
pub const MAX_SHORT_TEXT_CHARS: usize = 500;
pub const MAX_ATTACHMENTS: usize = 20;
pub const MAX_CLIENT_REQUEST_ID_CHARS: usize = 128;

macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The code used in SQL, JSON and logs.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

coded_enum!(
    /// What eligibility made of the inquiry: the outcome in force of its latest assessment.
    EligibilityOutcome {
        Accepted => "accepted",
        AcceptedInPart => "accepted_in_part",
        Referred => "referred",
        OutOfScope => "out_of_scope",
        NeedsReview => "needs_review",
    }
);

coded_enum!(
    /// Who the inquiry is from.
    RequesterKind { Citizen => "citizen", Association => "association", Business => "business" }
);

coded_enum!(
    /// What the person wants help with.
    RequestType {
        Advice => "advice",
        Complaint => "complaint",
        ComplaintGuidance => "complaint_guidance",
        DecisionExplanation => "decision_explanation",
        DialogueOrMediation => "dialogue_or_mediation",
        ImprovementSuggestion => "improvement_suggestion",
    }
);

coded_enum!(
    /// How the office answers. There is deliberately no SMS: the office never answers by SMS.
    ContactChannel { DigitalPost => "digital_post", Email => "email", Letter => "letter", Phone => "phone" }
);

coded_enum!(
    /// How the inquiry reached the office.
    ArrivalChannel {
        WebForm => "web_form",
        Email => "email",
        Letter => "letter",
        Phone => "phone",
        InPerson => "in_person",
        DigitalPost => "digital_post",
    }
);

coded_enum!(
    /// What a complaint is about, as the annual report counts it.
    ComplaintTheme {
        HandlingTime => "handling_time",
        CaseInvestigation => "case_investigation",
        Reasons => "reasons",
        Guidance => "guidance",
        ServiceAndConduct => "service_and_conduct",
        AccessToFiles => "access_to_files",
        PracticalTasks => "practical_tasks",
        DigitalAccessibility => "digital_accessibility",
    }
);

coded_enum!(
    /// Complaint bodies other than the citizens' advisor.
    OtherBody {
        Ankestyrelsen => "ankestyrelsen",
        MunicipalSupervision => "municipal_supervision",
        Ombudsmand => "ombudsmand",
        Court => "court",
    }
);

coded_enum!(
    /// Public authorities other than the municipality that a matter may belong to.
    OtherAuthority {
        UdbetalingDanmark => "udbetaling_danmark",
        Skat => "skat",
        Region => "region",
        Familieretshuset => "familieretshuset",
        NaevnenesHus => "naevnenes_hus",
    }
);

coded_enum!(
    RepresentativeRole { Relative => "relative", Lawyer => "lawyer", Union => "union", Other => "other" }
);

coded_enum!(
    MediationStage { Offered => "offered", Held => "held", Declined => "declined" }
);

coded_enum!(
    MediationResult { Agreement => "agreement", PartialAgreement => "partial_agreement", NoAgreement => "no_agreement" }
);

coded_enum!(
    ClosingOutcome {
        ResolvedThroughDialogue => "resolved_through_dialogue",
        Criticism => "criticism",
        PartialCriticism => "partial_criticism",
        NoCriticism => "no_criticism",
        Referred => "referred",
        Withdrawn => "withdrawn",
    }
);

coded_enum!(
    HandlingMethod {
        Guidance => "guidance",
        ForwardedToDepartment => "forwarded_to_department",
        Investigation => "investigation",
        Mediation => "mediation",
    }
);

/// A channel as the caller asked for it, before the rules have looked at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedChannel {
    Unspecified,
    Sms,
    Allowed(ContactChannel),
    /// A number the contract does not know.
    Unknown,
}

/// A value the caller sent that could not even be read (an impossible date, an unknown enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

/// A date field as it arrived.
pub type DateInput = Result<Option<NaiveDate>, Unreadable>;

#[derive(Debug, Clone, Default)]
pub struct RequesterInput {
    pub name: String,
    pub cpr: String,
    pub cvr: String,
    pub anonymous: bool,
}

#[derive(Debug, Clone)]
pub struct RepresentativeInput {
    pub name: String,
    pub role: Result<Option<RepresentativeRole>, Unreadable>,
    pub power_of_attorney_scope: String,
    pub power_of_attorney_valid_until: DateInput,
}

#[derive(Debug, Clone)]
pub struct RelatedDecisionInput {
    pub decision_date: DateInput,
    pub case_number: String,
    pub appealed: bool,
    pub brought_before: Result<Option<OtherBody>, Unreadable>,
    pub appeal_deadline: DateInput,
}

/// The scope answers as they arrived.
#[derive(Debug, Clone)]
pub struct ScopeAnswersInput {
    pub about_employment: bool,
    pub about_political_decision: bool,
    pub wants_decision_changed: bool,
    pub other_authority: Result<Option<OtherAuthority>, Unreadable>,
    pub matter_closed_on: DateInput,
}

impl Default for ScopeAnswersInput {
    fn default() -> Self {
        Self {
            about_employment: false,
            about_political_decision: false,
            wants_decision_changed: false,
            other_authority: Ok(None),
            matter_closed_on: Ok(None),
        }
    }
}

/// The case facts as they arrived: what the scope rules look at, and what a caseworker may
/// correct later with an amendment.
#[derive(Debug, Clone)]
pub struct CaseFactsInput {
    pub department: String,
    pub unit: String,
    pub request_type: Result<Option<RequestType>, Unreadable>,
    pub complaint_themes: Result<Vec<ComplaintTheme>, Unreadable>,
    pub description: String,
    pub prior_dialogue_held: bool,
    pub prior_dialogue_ongoing: bool,
    pub prior_dialogue_date: DateInput,
    pub prior_dialogue_with_whom: String,
    pub prior_dialogue_outcome: String,
    pub related_decision: Option<RelatedDecisionInput>,
    pub scope: ScopeAnswersInput,
}

/// Case facts that met every rule; an amendment replaces all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub department: String,
    pub unit: Option<String>,
    pub request_type: RequestType,
    pub complaint_themes: Vec<ComplaintTheme>,
    pub description: String,
    pub prior_dialogue: PriorDialogue,
    pub prior_dialogue_details: PriorDialogueDetails,
    pub related_decision: Option<RelatedDecision>,
    pub scope: ScopeAnswers,
}

/// A submission as it arrived, before any rule has looked at it.
#[derive(Debug, Clone)]
pub struct Submission {
    pub requester_kind: Result<Option<RequesterKind>, Unreadable>,
    pub requester: RequesterInput,
    pub representative: Option<RepresentativeInput>,
    pub consent_to_contact_department: bool,
    pub arrival_channel: Result<Option<ArrivalChannel>, Unreadable>,
    pub department: String,
    pub unit: String,
    pub request_type: Result<Option<RequestType>, Unreadable>,
    pub complaint_themes: Result<Vec<ComplaintTheme>, Unreadable>,
    pub description: String,
    pub desired_outcome: String,
    pub prior_dialogue_held: bool,
    pub prior_dialogue_ongoing: bool,
    pub prior_dialogue_date: DateInput,
    pub prior_dialogue_with_whom: String,
    pub prior_dialogue_outcome: String,
    pub related_decision: Option<RelatedDecisionInput>,
    pub scope: ScopeAnswersInput,
    pub attachments: Vec<Attachment>,
    pub received_at: Result<Option<DateTime<Utc>>, Unreadable>,
    pub client_request_id: String,
    pub contains_sensitive_data: bool,
    pub contact_channel: RequestedChannel,
}

impl Submission {
    /// The fields holding a value the contract cannot read (an unknown enum number, an
    /// impossible date or time), as opposed to readable values that break a rule: a caller's
    /// programming error rather than a person's typing.
    pub fn unreadable_fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        let mut check = |field: &'static str, unreadable: bool| {
            if unreadable {
                fields.push(field);
            }
        };
        check("requester_kind", self.requester_kind.is_err());
        check("request_type", self.request_type.is_err());
        check(
            "contact_channel",
            self.contact_channel == RequestedChannel::Unknown,
        );
        check("arrival_channel", self.arrival_channel.is_err());
        check("complaint_themes", self.complaint_themes.is_err());
        check("prior_dialogue.date", self.prior_dialogue_date.is_err());
        check("received_at", self.received_at.is_err());
        if let Some(decision) = &self.related_decision {
            check(
                "related_decision.decision_date",
                decision.decision_date.is_err(),
            );
            check(
                "related_decision.brought_before",
                decision.brought_before.is_err(),
            );
            check(
                "related_decision.appeal_deadline",
                decision.appeal_deadline.is_err(),
            );
        }
        check("scope.other_authority", self.scope.other_authority.is_err());
        check(
            "scope.matter_closed_on",
            self.scope.matter_closed_on.is_err(),
        );
        if let Some(representative) = &self.representative {
            check("representative.role", representative.role.is_err());
            check(
                "representative.power_of_attorney_valid_until",
                representative.power_of_attorney_valid_until.is_err(),
            );
        }
        fields
    }
}

/// Who the inquiry is from, checked. Debug never shows a full CPR number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub kind: RequesterKind,
    pub anonymous: bool,
    pub name: Option<String>,
    pub cpr: Option<Cpr>,
    pub cvr: Option<Cvr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representative {
    pub name: String,
    pub role: RepresentativeRole,
    pub power_of_attorney_scope: String,
    pub power_of_attorney_valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PriorDialogue {
    pub held: bool,
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PriorDialogueDetails {
    pub with_whom: Option<String>,
    pub outcome: Option<String>,
    /// The dialogue has started but is not finished yet.
    #[serde(default)]
    pub ongoing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedDecision {
    pub decision_date: Option<NaiveDate>,
    pub case_number: Option<String>,
    pub appealed: bool,
    pub brought_before: Option<OtherBody>,
    pub appeal_deadline: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScopeAnswers {
    pub about_employment: bool,
    pub about_political_decision: bool,
    pub wants_decision_changed: bool,
    #[serde(default)]
    pub other_authority: Option<OtherAuthority>,
    #[serde(default)]
    pub matter_closed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub title: String,
    pub document_ref: String,
}

/// The parts of the form that are kept together as one record (a JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Form {
    pub unit: Option<String>,
    pub complaint_themes: Vec<ComplaintTheme>,
    pub desired_outcome: Option<String>,
    pub prior_dialogue: PriorDialogueDetails,
    pub related_decision: Option<RelatedDecision>,
    pub scope: ScopeAnswers,
    pub attachments: Vec<Attachment>,
    pub contains_sensitive_data: bool,
}

/// A submission that met every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInquiry {
    pub requester: Requester,
    pub representative: Option<Representative>,
    pub consent_to_contact_department: bool,
    pub arrival_channel: ArrivalChannel,
    pub department: String,
    pub request_type: RequestType,
    pub description: String,
    pub prior_dialogue: PriorDialogue,
    /// `None` for an anonymous inquiry, which gets no answer.
    pub contact_channel: Option<ContactChannel>,
    pub received_at: DateTime<Utc>,
    pub client_request_id: Option<String>,
    pub form: Form,
}

/// Collects violations so that a form can mark every field at once.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }

    /// A trimmed, bounded text of readable characters; `None` when empty.
    fn text(
        &mut self,
        field: &str,
        value: &str,
        max_chars: usize,
        kind: TextKind,
    ) -> Option<String> {
        checked_text(field, value, max_chars, kind).unwrap_or_else(|violation| {
            self.0.push(violation);
            None
        })
    }

    /// A readable date, not after `latest` when given.
    fn date(
        &mut self,
        field: &str,
        value: DateInput,
        latest: Option<NaiveDate>,
    ) -> Option<NaiveDate> {
        match value {
            Err(Unreadable) => {
                self.add(field, "is not a valid date");
                None
            }
            Ok(Some(date)) if latest.is_some_and(|latest| date > latest) => {
                self.add(field, "must not be in the future");
                None
            }
            Ok(Some(date)) if date.year() < 1900 => {
                self.add(field, "must be after 1900");
                None
            }
            Ok(date) => date,
        }
    }
}

/// Checks every rule and reports every violation at once. `now` is the time of submission.
pub fn validate(
    submission: Submission,
    departments: &Departments,
    now: DateTime<Utc>,
) -> Result<NewInquiry, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let today = working_days::copenhagen_date(now);

    let requester_kind = match submission.requester_kind {
        Ok(Some(kind)) => Some(kind),
        Ok(None) => {
            v.add(
                "requester_kind",
                "say whether the inquiry is from a citizen, an association or a business",
            );
            None
        }
        Err(Unreadable) => {
            v.add("requester_kind", "is not a known kind of requester");
            None
        }
    };
    let subject = subject(
        &mut v,
        SubjectInput {
            department: submission.department,
            unit: &submission.unit,
            request_type: submission.request_type,
            complaint_themes: submission.complaint_themes,
            description: &submission.description,
        },
        departments,
    );
    let desired_outcome = v.text(
        "desired_outcome",
        &submission.desired_outcome,
        MAX_TEXT_CHARS,
        TextKind::FreeText,
    );

    let requester = requester(
        &mut v,
        requester_kind,
        &submission.requester,
        subject.request_type,
        today,
    );
    let representative = submission
        .representative
        .and_then(|input| representative(&mut v, input, today));

    let circumstances = circumstances(
        &mut v,
        CircumstancesInput {
            held: submission.prior_dialogue_held,
            ongoing: submission.prior_dialogue_ongoing,
            date: submission.prior_dialogue_date,
            with_whom: &submission.prior_dialogue_with_whom,
            outcome: &submission.prior_dialogue_outcome,
            related_decision: submission.related_decision,
            scope: submission.scope,
        },
        today,
    );

    if submission.attachments.len() > MAX_ATTACHMENTS {
        v.add(
            "attachments",
            format!("at most {MAX_ATTACHMENTS} attachments"),
        );
    }
    let mut attachments = Vec::new();
    for (i, attachment) in submission
        .attachments
        .iter()
        .enumerate()
        .take(MAX_ATTACHMENTS)
    {
        let title = v.text(
            &format!("attachments[{i}].title"),
            &attachment.title,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
        );
        let document_ref = v.text(
            &format!("attachments[{i}].document_ref"),
            &attachment.document_ref,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
        );
        match (title, document_ref) {
            (Some(title), Some(document_ref)) => attachments.push(Attachment {
                title,
                document_ref,
            }),
            (title, document_ref) => {
                if title.is_none() && !v.has(&format!("attachments[{i}].title")) {
                    v.add(format!("attachments[{i}].title"), "must not be empty");
                }
                if document_ref.is_none() && !v.has(&format!("attachments[{i}].document_ref")) {
                    v.add(
                        format!("attachments[{i}].document_ref"),
                        "must name the document where it is held",
                    );
                }
            }
        }
    }

    let received_at = match submission.received_at {
        Err(Unreadable) => {
            v.add("received_at", "is not a valid time");
            now
        }
        Ok(Some(at)) if at > now => {
            v.add("received_at", "must not be in the future");
            now
        }
        Ok(Some(at)) if at.year() < 2000 => {
            v.add("received_at", "must be after 2000");
            now
        }
        Ok(Some(at)) => at,
        Ok(None) => now,
    };
    let arrival_channel = match submission.arrival_channel {
        Ok(channel) => channel.unwrap_or(ArrivalChannel::WebForm),
        Err(Unreadable) => {
            v.add("arrival_channel", "is not a known channel");
            ArrivalChannel::WebForm
        }
    };
    let client_request_id = v.text(
        "client_request_id",
        &submission.client_request_id,
        MAX_CLIENT_REQUEST_ID_CHARS,
        TextKind::OneLine,
    );

    let anonymous = submission.requester.anonymous;
    let contact_channel = match submission.contact_channel {
        RequestedChannel::Unknown => {
            v.add("contact_channel", "is not a known channel");
            None
        }
        _ if anonymous => None,
        RequestedChannel::Sms => {
            v.add(
                "contact_channel",
                "Borgerrådgiveren svarer ikke på SMS; vælg Digital Post, e-mail, brev eller telefon \
                 (the office does not answer by SMS; choose Digital Post, e-mail, letter or phone)",
            );
            None
        }
        RequestedChannel::Allowed(channel)
            if submission.contains_sensitive_data && channel != ContactChannel::DigitalPost =>
        {
            v.add(
                "contact_channel",
                "an inquiry with sensitive personal data is answered by Digital Post only",
            );
            None
        }
        RequestedChannel::Allowed(channel) => Some(channel),
        // Digital Post is the default answer channel of Danish public authorities.
        RequestedChannel::Unspecified => Some(ContactChannel::DigitalPost),
    };

    match (requester, subject.request_type, subject.description) {
        (Some(requester), Some(request_type), Some(description)) if v.0.is_empty() => {
            Ok(NewInquiry {
                requester,
                representative,
                consent_to_contact_department: submission.consent_to_contact_department,
                arrival_channel,
                department: subject.department,
                request_type,
                description,
                prior_dialogue: circumstances.prior_dialogue,
                contact_channel,
                received_at,
                client_request_id,
                form: Form {
                    unit: subject.unit,
                    complaint_themes: subject.complaint_themes,
                    desired_outcome,
                    prior_dialogue: circumstances.prior_dialogue_details,
                    related_decision: circumstances.related_decision,
                    scope: circumstances.scope,
                    attachments,
                    contains_sensitive_data: submission.contains_sensitive_data,
                },
            })
        }
        _ => Err(v.0),
    }
}

/// Checks a caseworker's correction of the case facts by the same rules as a submission.
pub fn validate_amendment(
    input: CaseFactsInput,
    departments: &Departments,
    now: DateTime<Utc>,
) -> Result<CaseFacts, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let today = working_days::copenhagen_date(now);
    let subject = subject(
        &mut v,
        SubjectInput {
            department: input.department,
            unit: &input.unit,
            request_type: input.request_type,
            complaint_themes: input.complaint_themes,
            description: &input.description,
        },
        departments,
    );
    let circumstances = circumstances(
        &mut v,
        CircumstancesInput {
            held: input.prior_dialogue_held,
            ongoing: input.prior_dialogue_ongoing,
            date: input.prior_dialogue_date,
            with_whom: &input.prior_dialogue_with_whom,
            outcome: &input.prior_dialogue_outcome,
            related_decision: input.related_decision,
            scope: input.scope,
        },
        today,
    );
    match (subject.request_type, subject.description) {
        (Some(request_type), Some(description)) if v.0.is_empty() => Ok(CaseFacts {
            department: subject.department,
            unit: subject.unit,
            request_type,
            complaint_themes: subject.complaint_themes,
            description,
            prior_dialogue: circumstances.prior_dialogue,
            prior_dialogue_details: circumstances.prior_dialogue_details,
            related_decision: circumstances.related_decision,
            scope: circumstances.scope,
        }),
        _ => Err(v.0),
    }
}

/// What the inquiry is about, as it arrived.
struct SubjectInput<'a> {
    department: String,
    unit: &'a str,
    request_type: Result<Option<RequestType>, Unreadable>,
    complaint_themes: Result<Vec<ComplaintTheme>, Unreadable>,
    description: &'a str,
}

struct Subject {
    department: String,
    unit: Option<String>,
    request_type: Option<RequestType>,
    complaint_themes: Vec<ComplaintTheme>,
    description: Option<String>,
}

fn subject(v: &mut Violations, input: SubjectInput<'_>, departments: &Departments) -> Subject {
    if !departments.contains(&input.department) {
        v.add(
            "department",
            format!("must be one of: {}", departments.codes_joined()),
        );
    }
    let unit = v.text("unit", input.unit, MAX_SHORT_TEXT_CHARS, TextKind::OneLine);
    let request_type = match input.request_type {
        Ok(Some(request_type)) => Some(request_type),
        Ok(None) => {
            v.add("request_type", "say what the person wants help with");
            None
        }
        Err(Unreadable) => {
            v.add("request_type", "is not a known request type");
            None
        }
    };
    let complaint_themes = match input.complaint_themes {
        Err(Unreadable) => {
            v.add("complaint_themes", "holds an unknown theme");
            Vec::new()
        }
        Ok(themes) => {
            // Judged only against a known request type: without one, the request type's own
            // violation says what is wrong.
            match request_type {
                Some(RequestType::Complaint) if themes.is_empty() => v.add(
                    "complaint_themes",
                    "name at least one theme for a complaint",
                ),
                Some(t) if t != RequestType::Complaint && !themes.is_empty() => {
                    v.add("complaint_themes", "themes are given for complaints only")
                }
                _ => {}
            }
            let mut unique = themes;
            unique.sort_by_key(|theme| theme.as_str());
            unique.dedup();
            unique
        }
    };
    let description = v.text(
        "description",
        input.description,
        MAX_DESCRIPTION_CHARS,
        TextKind::FreeText,
    );
    if description.is_none() && !v.has("description") {
        v.add("description", "must not be empty");
    }
    Subject {
        department: input.department,
        unit,
        request_type,
        complaint_themes,
        description,
    }
}

/// The person's dealings with the department and other bodies, as they arrived.
struct CircumstancesInput<'a> {
    held: bool,
    ongoing: bool,
    date: DateInput,
    with_whom: &'a str,
    outcome: &'a str,
    related_decision: Option<RelatedDecisionInput>,
    scope: ScopeAnswersInput,
}

struct Circumstances {
    prior_dialogue: PriorDialogue,
    prior_dialogue_details: PriorDialogueDetails,
    related_decision: Option<RelatedDecision>,
    scope: ScopeAnswers,
}

fn circumstances(
    v: &mut Violations,
    input: CircumstancesInput<'_>,
    today: NaiveDate,
) -> Circumstances {
    let dialogue_date = v.date("prior_dialogue.date", input.date, Some(today));
    if input.held && dialogue_date.is_none() && !v.has("prior_dialogue.date") {
        v.add(
            "prior_dialogue.date",
            "say when the dialogue with the department took place",
        );
    }
    let prior_dialogue_details = PriorDialogueDetails {
        with_whom: v.text(
            "prior_dialogue.with_whom",
            input.with_whom,
            MAX_SHORT_TEXT_CHARS,
            TextKind::OneLine,
        ),
        outcome: v.text(
            "prior_dialogue.outcome",
            input.outcome,
            MAX_TEXT_CHARS,
            TextKind::FreeText,
        ),
        ongoing: input.ongoing,
    };
    let related_decision = input.related_decision.map(|input| {
        let brought_before = match input.brought_before {
            Ok(body) => body,
            Err(Unreadable) => {
                v.add(
                    "related_decision.brought_before",
                    "is not a known complaint body",
                );
                None
            }
        };
        RelatedDecision {
            decision_date: v.date(
                "related_decision.decision_date",
                input.decision_date,
                Some(today),
            ),
            case_number: v.text(
                "related_decision.case_number",
                &input.case_number,
                MAX_SHORT_TEXT_CHARS,
                TextKind::OneLine,
            ),
            appealed: input.appealed,
            brought_before,
            appeal_deadline: v.date(
                "related_decision.appeal_deadline",
                input.appeal_deadline,
                None,
            ),
        }
    });
    let other_authority = match input.scope.other_authority {
        Ok(authority) => authority,
        Err(Unreadable) => {
            v.add("scope.other_authority", "is not a known authority");
            None
        }
    };
    let scope = ScopeAnswers {
        about_employment: input.scope.about_employment,
        about_political_decision: input.scope.about_political_decision,
        wants_decision_changed: input.scope.wants_decision_changed,
        other_authority,
        matter_closed_on: v.date(
            "scope.matter_closed_on",
            input.scope.matter_closed_on,
            Some(today),
        ),
    };
    Circumstances {
        prior_dialogue: PriorDialogue {
            held: input.held,
            date: if input.held { dialogue_date } else { None },
        },
        prior_dialogue_details,
        related_decision,
        scope,
    }
}

fn requester(
    v: &mut Violations,
    kind: Option<RequesterKind>,
    input: &RequesterInput,
    request_type: Option<RequestType>,
    today: NaiveDate,
) -> Option<Requester> {
    let name = v.text(
        "requester.name",
        &input.name,
        MAX_SHORT_TEXT_CHARS,
        TextKind::OneLine,
    );
    let has_cpr = !input.cpr.trim().is_empty();
    let has_cvr = !input.cvr.trim().is_empty();
    if input.anonymous {
        if request_type.is_some_and(|t| t != RequestType::Advice) {
            v.add(
                "requester.anonymous",
                "anonymous inquiries are taken for advice only",
            );
        }
        if name.is_some() || has_cpr || has_cvr {
            v.add(
                "requester.anonymous",
                "an anonymous inquiry holds no name, CPR or CVR number",
            );
        }
    } else if name.is_none() && !v.has("requester.name") {
        v.add(
            "requester.name",
            "say who the inquiry is from, or mark it anonymous",
        );
    }
    let cpr = if has_cpr {
        if kind != Some(RequesterKind::Citizen) {
            v.add("requester.cpr", "a CPR number belongs to a citizen");
            None
        } else {
            match Cpr::parse(&input.cpr, today) {
                Ok(cpr) => Some(cpr),
                Err(error) => {
                    v.add(
                        "requester.cpr",
                        format!("is not a valid CPR number: {error}"),
                    );
                    None
                }
            }
        }
    } else {
        None
    };
    let cvr = if has_cvr {
        if kind == Some(RequesterKind::Citizen) {
            v.add(
                "requester.cvr",
                "a CVR number belongs to a business or an association",
            );
            None
        } else {
            match Cvr::parse(&input.cvr) {
                Ok(cvr) => Some(cvr),
                Err(error) => {
                    v.add(
                        "requester.cvr",
                        format!("is not a valid CVR number: {error}"),
                    );
                    None
                }
            }
        }
    } else {
        None
    };
    kind.map(|kind| Requester {
        kind,
        anonymous: input.anonymous,
        name,
        cpr,
        cvr,
    })
}

fn representative(
    v: &mut Violations,
    input: RepresentativeInput,
    today: NaiveDate,
) -> Option<Representative> {
    let name = v.text(
        "representative.name",
        &input.name,
        MAX_SHORT_TEXT_CHARS,
        TextKind::OneLine,
    );
    if name.is_none() && !v.has("representative.name") {
        v.add("representative.name", "say who represents the requester");
    }
    let role = match input.role {
        Ok(Some(role)) => Some(role),
        Ok(None) => {
            v.add(
                "representative.role",
                "say whether the representative is a relative, a lawyer, a union or other",
            );
            None
        }
        Err(Unreadable) => {
            v.add("representative.role", "is not a known role");
            None
        }
    };
    let scope = v.text(
        "representative.power_of_attorney_scope",
        &input.power_of_attorney_scope,
        MAX_TEXT_CHARS,
        TextKind::FreeText,
    );
    if scope.is_none() && !v.has("representative.power_of_attorney_scope") {
        v.add(
            "representative.power_of_attorney_scope",
            "say what the power of attorney covers",
        );
    }
    let valid_until = match input.power_of_attorney_valid_until {
        Err(Unreadable) => {
            v.add(
                "representative.power_of_attorney_valid_until",
                "is not a valid date",
            );
            None
        }
        Ok(Some(until)) if until < today => {
            v.add(
                "representative.power_of_attorney_valid_until",
                "the power of attorney has expired",
            );
            None
        }
        Ok(until) => until,
    };
    Some(Representative {
        name: name?,
        role: role?,
        power_of_attorney_scope: scope?,
        power_of_attorney_valid_until: valid_until,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn departments() -> Departments {
        Departments::odense()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
            .single()
            .expect("valid time")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn valid() -> Submission {
        Submission {
            requester_kind: Ok(Some(RequesterKind::Citizen)),
            requester: RequesterInput {
                name: "Karen Jensen".into(),
                cpr: "010190-1234".into(),
                ..Default::default()
            },
            representative: None,
            consent_to_contact_department: true,
            arrival_channel: Ok(None),
            department: "by-og-kultur".into(),
            unit: String::new(),
            request_type: Ok(Some(RequestType::Complaint)),
            complaint_themes: Ok(vec![ComplaintTheme::HandlingTime]),
            description: "  Min ansøgning om byggetilladelse har ligget i et år.  ".into(),
            desired_outcome: String::new(),
            prior_dialogue_held: true,
            prior_dialogue_ongoing: false,
            prior_dialogue_date: Ok(Some(date(2026, 11, 1))),
            prior_dialogue_with_whom: String::new(),
            prior_dialogue_outcome: String::new(),
            related_decision: None,
            scope: ScopeAnswersInput::default(),
            attachments: Vec::new(),
            received_at: Ok(None),
            client_request_id: String::new(),
            contains_sensitive_data: false,
            contact_channel: RequestedChannel::Allowed(ContactChannel::DigitalPost),
        }
    }

    fn refused(submission: Submission) -> Vec<String> {
        validate(submission, &departments(), now())
            .expect_err("refused")
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn a_complete_submission_is_accepted_with_its_texts_trimmed_and_defaults_filled_in() {
        let inquiry = validate(valid(), &departments(), now()).expect("valid");
        assert_eq!(
            inquiry.description,
            "Min ansøgning om byggetilladelse har ligget i et år."
        );
        assert_eq!(inquiry.arrival_channel, ArrivalChannel::WebForm);
        assert_eq!(inquiry.received_at, now());
        assert_eq!(
            inquiry.requester.cpr.as_ref().map(|c| c.masked()),
            Some("010190-XXXX".into())
        );
    }

    #[test]
    fn an_answer_by_sms_is_refused_with_a_clear_message() {
        let submission = Submission {
            contact_channel: RequestedChannel::Sms,
            ..valid()
        };
        let violations = validate(submission, &departments(), now()).expect_err("sms refused");
        assert_eq!(violations[0].field, "contact_channel");
        assert!(violations[0].description.contains("SMS"));
    }

    #[test]
    fn without_a_chosen_channel_the_answer_goes_by_digital_post() {
        let submission = Submission {
            contact_channel: RequestedChannel::Unspecified,
            ..valid()
        };
        let inquiry = validate(submission, &departments(), now()).expect("valid");
        assert_eq!(inquiry.contact_channel, Some(ContactChannel::DigitalPost));
    }

    #[test]
    fn sensitive_data_is_answered_by_digital_post_only() {
        let email = Submission {
            contains_sensitive_data: true,
            contact_channel: RequestedChannel::Allowed(ContactChannel::Email),
            ..valid()
        };
        assert_eq!(refused(email), ["contact_channel"]);
        let digital_post = Submission {
            contains_sensitive_data: true,
            ..valid()
        };
        assert!(validate(digital_post, &departments(), now()).is_ok());
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let submission = Submission {
            requester_kind: Ok(None),
            requester: RequesterInput::default(),
            department: "".into(),
            request_type: Ok(None),
            complaint_themes: Ok(Vec::new()),
            description: "   ".into(),
            prior_dialogue_date: Ok(None),
            ..valid()
        };
        assert_eq!(
            refused(submission),
            [
                "requester_kind",
                "department",
                "request_type",
                "description",
                "requester.name",
                "prior_dialogue.date"
            ]
        );
    }

    #[test]
    fn an_unknown_department_is_refused_with_the_list_of_known_ones() {
        let violations = validate(
            Submission {
                department: "skat".into(),
                ..valid()
            },
            &departments(),
            now(),
        )
        .expect_err("refused");
        assert_eq!(violations[0].field, "department");
        assert!(violations[0].description.contains("by-og-kultur"));
    }

    #[test]
    fn a_complaint_needs_a_theme_and_other_requests_take_none() {
        assert_eq!(
            refused(Submission {
                complaint_themes: Ok(Vec::new()),
                ..valid()
            }),
            ["complaint_themes"]
        );
        let advice_with_theme = Submission {
            request_type: Ok(Some(RequestType::Advice)),
            ..valid()
        };
        assert_eq!(refused(advice_with_theme), ["complaint_themes"]);
        assert_eq!(
            refused(Submission {
                complaint_themes: Err(Unreadable),
                ..valid()
            }),
            ["complaint_themes"]
        );
    }

    #[test]
    fn an_invalid_cpr_number_is_refused_without_echoing_it() {
        let submission = Submission {
            requester: RequesterInput {
                name: "Karen".into(),
                cpr: "3102901234".into(),
                ..Default::default()
            },
            ..valid()
        };
        let violations = validate(submission, &departments(), now()).expect_err("refused");
        assert_eq!(violations[0].field, "requester.cpr");
        assert!(!violations[0].description.contains("3102901234"));
    }

    #[test]
    fn cpr_numbers_belong_to_citizens_and_cvr_numbers_to_businesses_and_associations() {
        let business_with_cpr = Submission {
            requester_kind: Ok(Some(RequesterKind::Business)),
            ..valid()
        };
        assert_eq!(refused(business_with_cpr), ["requester.cpr"]);
        let citizen_with_cvr = Submission {
            requester: RequesterInput {
                name: "Karen".into(),
                cvr: "24256790".into(),
                ..Default::default()
            },
            ..valid()
        };
        assert_eq!(refused(citizen_with_cvr), ["requester.cvr"]);
        let business = Submission {
            requester_kind: Ok(Some(RequesterKind::Business)),
            requester: RequesterInput {
                name: "Novo Nordisk A/S".into(),
                cvr: "24256790".into(),
                ..Default::default()
            },
            ..valid()
        };
        assert!(validate(business, &departments(), now()).is_ok());
        let bad_cvr = Submission {
            requester_kind: Ok(Some(RequesterKind::Association)),
            requester: RequesterInput {
                name: "Grundejerforeningen".into(),
                cvr: "12345678".into(),
                ..Default::default()
            },
            ..valid()
        };
        assert_eq!(refused(bad_cvr), ["requester.cvr"]);
    }

    #[test]
    fn anonymous_inquiries_are_for_advice_only_hold_no_identity_and_get_no_answer_channel() {
        let anonymous_advice = Submission {
            requester: RequesterInput {
                anonymous: true,
                ..Default::default()
            },
            request_type: Ok(Some(RequestType::Advice)),
            complaint_themes: Ok(Vec::new()),
            ..valid()
        };
        let inquiry = validate(anonymous_advice.clone(), &departments(), now()).expect("valid");
        assert_eq!(inquiry.contact_channel, None);
        let anonymous_complaint = Submission {
            request_type: Ok(Some(RequestType::Complaint)),
            complaint_themes: Ok(vec![ComplaintTheme::Reasons]),
            ..anonymous_advice.clone()
        };
        assert_eq!(refused(anonymous_complaint), ["requester.anonymous"]);
        let anonymous_with_name = Submission {
            requester: RequesterInput {
                anonymous: true,
                name: "Karen".into(),
                ..Default::default()
            },
            ..anonymous_advice
        };
        assert_eq!(refused(anonymous_with_name), ["requester.anonymous"]);
    }

    #[test]
    fn a_representative_needs_a_name_a_role_a_scope_and_a_power_of_attorney_still_valid() {
        let complete = RepresentativeInput {
            name: "Advokat Hansen".into(),
            role: Ok(Some(RepresentativeRole::Lawyer)),
            power_of_attorney_scope: "Klagesagen om byggetilladelse".into(),
            power_of_attorney_valid_until: Ok(Some(date(2027, 6, 30))),
        };
        let ok = Submission {
            representative: Some(complete.clone()),
            ..valid()
        };
        assert_eq!(
            validate(ok, &departments(), now())
                .expect("valid")
                .representative
                .map(|r| r.role),
            Some(RepresentativeRole::Lawyer)
        );
        let expired = RepresentativeInput {
            power_of_attorney_valid_until: Ok(Some(date(2026, 1, 1))),
            ..complete.clone()
        };
        assert_eq!(
            refused(Submission {
                representative: Some(expired),
                ..valid()
            }),
            ["representative.power_of_attorney_valid_until"]
        );
        let empty = RepresentativeInput {
            name: "".into(),
            role: Ok(None),
            power_of_attorney_scope: "".into(),
            ..complete
        };
        assert_eq!(
            refused(Submission {
                representative: Some(empty),
                ..valid()
            }),
            [
                "representative.name",
                "representative.role",
                "representative.power_of_attorney_scope"
            ]
        );
    }

    #[test]
    fn a_dialogue_in_the_future_or_on_an_impossible_date_is_refused() {
        let future = Submission {
            prior_dialogue_date: Ok(Some(date(2026, 11, 26))),
            ..valid()
        };
        assert_eq!(refused(future), ["prior_dialogue.date"]);
        let impossible = Submission {
            prior_dialogue_date: Err(Unreadable),
            ..valid()
        };
        assert_eq!(refused(impossible), ["prior_dialogue.date"]);
    }

    #[test]
    fn without_prior_dialogue_no_date_is_needed_and_none_is_kept() {
        let submission = Submission {
            prior_dialogue_held: false,
            ..valid()
        };
        let inquiry = validate(submission, &departments(), now()).expect("valid");
        assert_eq!(
            inquiry.prior_dialogue,
            PriorDialogue {
                held: false,
                date: None
            }
        );
    }

    #[test]
    fn a_letter_can_be_registered_with_its_earlier_receipt_but_never_a_future_one() {
        let earlier = Utc
            .with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
            .single()
            .expect("valid");
        let letter = Submission {
            received_at: Ok(Some(earlier)),
            ..valid()
        };
        assert_eq!(
            validate(letter, &departments(), now())
                .expect("valid")
                .received_at,
            earlier
        );
        let future = Submission {
            received_at: Ok(Some(now() + chrono::Duration::minutes(1))),
            ..valid()
        };
        assert_eq!(refused(future), ["received_at"]);
    }

    #[test]
    fn texts_are_bounded_and_free_of_nul_characters() {
        assert_eq!(
            refused(Submission {
                description: "x".repeat(MAX_DESCRIPTION_CHARS + 1),
                ..valid()
            }),
            ["description"]
        );
        assert_eq!(
            refused(Submission {
                description: "før\0efter".into(),
                ..valid()
            }),
            ["description"]
        );
        assert_eq!(
            refused(Submission {
                desired_outcome: "x".repeat(MAX_TEXT_CHARS + 1),
                ..valid()
            }),
            ["desired_outcome"]
        );
        assert_eq!(
            refused(Submission {
                client_request_id: "x".repeat(MAX_CLIENT_REQUEST_ID_CHARS + 1),
                ..valid()
            }),
            ["client_request_id"]
        );
    }

    #[test]
    fn every_text_field_refuses_unreadable_characters_and_names_itself() {
        let escape = "\u{1b}[2J";
        let with_representative = |scope: &str, name: &str| Submission {
            representative: Some(RepresentativeInput {
                name: name.into(),
                role: Ok(Some(RepresentativeRole::Relative)),
                power_of_attorney_scope: scope.into(),
                power_of_attorney_valid_until: Ok(None),
            }),
            ..valid()
        };
        let cases: Vec<(Submission, &str)> = vec![
            (
                Submission {
                    description: format!("Hej{escape}"),
                    ..valid()
                },
                "description",
            ),
            (
                Submission {
                    desired_outcome: "svar\u{202E}gnilb".into(),
                    ..valid()
                },
                "desired_outcome",
            ),
            (
                Submission {
                    unit: "Team\nNord".into(),
                    ..valid()
                },
                "unit",
            ),
            (
                Submission {
                    requester: RequesterInput {
                        name: "Ka\u{200B}ren".into(),
                        ..Default::default()
                    },
                    ..valid()
                },
                "requester.name",
            ),
            (
                Submission {
                    prior_dialogue_with_whom: "Grethe\tG".into(),
                    ..valid()
                },
                "prior_dialogue.with_whom",
            ),
            (
                Submission {
                    prior_dialogue_outcome: "intet\u{FFFF}".into(),
                    ..valid()
                },
                "prior_dialogue.outcome",
            ),
            (
                Submission {
                    related_decision: Some(RelatedDecisionInput {
                        decision_date: Ok(None),
                        case_number: "2026\u{85}1".into(),
                        appealed: false,
                        brought_before: Ok(None),
                        appeal_deadline: Ok(None),
                    }),
                    ..valid()
                },
                "related_decision.case_number",
            ),
            (
                Submission {
                    attachments: vec![Attachment {
                        title: "Afgørelse\u{2066}".into(),
                        document_ref: "dp://1".into(),
                    }],
                    ..valid()
                },
                "attachments[0].title",
            ),
            (
                Submission {
                    attachments: vec![Attachment {
                        title: "Afgørelse".into(),
                        document_ref: "dp://1\r\nx".into(),
                    }],
                    ..valid()
                },
                "attachments[0].document_ref",
            ),
            (
                Submission {
                    client_request_id: "web\u{FEFF}form".into(),
                    ..valid()
                },
                "client_request_id",
            ),
            (
                with_representative("Fuldmagt\u{7}", "Holger"),
                "representative.power_of_attorney_scope",
            ),
            (
                with_representative("Fuldmagt", "Hol\u{200D}ger"),
                "representative.name",
            ),
        ];
        for (submission, field) in cases {
            let violations = validate(submission, &departments(), now()).expect_err(field);
            assert_eq!(
                violations
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect::<Vec<_>>(),
                [field]
            );
            assert!(violations[0].description.contains("U+"), "{violations:?}");
        }
        // Line breaks and tabs belong in free text.
        let letter = Submission {
            description: "Kære Borgerrådgiver\r\n\n\tJeg har ventet.".into(),
            desired_outcome: "Et svar.\nTak.".into(),
            prior_dialogue_outcome: "Ingen\taftale".into(),
            ..valid()
        };
        assert!(validate(letter, &departments(), now()).is_ok());
    }

    #[test]
    fn an_amendment_refuses_unreadable_characters_as_a_submission_does() {
        let input = CaseFactsInput {
            department: "by-og-kultur".into(),
            unit: "Byggesag\u{202D}".into(),
            request_type: Ok(Some(RequestType::Advice)),
            complaint_themes: Ok(Vec::new()),
            description: "Hej\u{9b}".into(),
            prior_dialogue_held: false,
            prior_dialogue_ongoing: false,
            prior_dialogue_date: Ok(None),
            prior_dialogue_with_whom: String::new(),
            prior_dialogue_outcome: String::new(),
            related_decision: None,
            scope: ScopeAnswersInput::default(),
        };
        let fields: Vec<String> = validate_amendment(input, &departments(), now())
            .expect_err("refused")
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["unit", "description"]);
    }

    #[test]
    fn attachments_are_references_with_a_title_and_at_most_twenty() {
        let attachment = Attachment {
            title: "Afgørelse".into(),
            document_ref: "sbsys://sag/2026-1234/dok/7".into(),
        };
        let ok = Submission {
            attachments: vec![attachment.clone()],
            ..valid()
        };
        assert_eq!(
            validate(ok, &departments(), now())
                .expect("valid")
                .form
                .attachments,
            vec![attachment.clone()]
        );
        let unnamed = Submission {
            attachments: vec![Attachment {
                title: "".into(),
                ..attachment.clone()
            }],
            ..valid()
        };
        assert_eq!(refused(unnamed), ["attachments[0].title"]);
        let too_many = Submission {
            attachments: vec![attachment; MAX_ATTACHMENTS + 1],
            ..valid()
        };
        assert_eq!(refused(too_many), ["attachments"]);
    }

    #[test]
    fn codes_round_trip() {
        for kind in [RequestType::Advice, RequestType::ImprovementSuggestion] {
            assert_eq!(RequestType::from_code(kind.as_str()), Some(kind));
        }
        assert_eq!(ContactChannel::from_code("sms"), None);
        assert_eq!(
            ClosingOutcome::from_code("partial_criticism"),
            Some(ClosingOutcome::PartialCriticism)
        );
    }
}
