//! The facts the rule engine looks at: the inquiry form's structured answers as plain Rust
//! values, plus the free-text description (read only for review signals) and what the office
//! knows about the matter. Deliberately free of protobuf and database types, so the engine can
//! be tested and reasoned about on its own; mapping from `InquiryReceived` happens at the edge.

use chrono::NaiveDate;

/// What the person wants the office to help with (mirrors `borgerraad.v1.RequestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// Advice on questions arising from dealing with the municipality.
    Advice,
    /// Dissatisfaction with the municipality's case handling or practical work.
    Complaint,
    /// Guidance on which complaint options exist.
    ComplaintGuidance,
    /// Help to understand a decision.
    DecisionExplanation,
    /// Help with dialogue with the department, or mediation.
    DialogueOrMediation,
    /// An improvement suggestion to pass on to a department.
    ImprovementSuggestion,
}

/// A complaint body the matter may have been brought before (mirrors `borgerraad.v1.OtherBody`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtherBody {
    Ankestyrelsen,
    /// Ankestyrelsen's supervision of the municipalities (kommunetilsynet).
    MunicipalSupervision,
    /// Folketingets Ombudsmand.
    Ombudsmand,
    /// The courts.
    Court,
}

/// Another public authority the matter may belong to instead of the municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtherAuthority {
    UdbetalingDanmark,
    /// SKAT / Skattestyrelsen.
    Skat,
    /// The region (for Odense: Region Syddanmark).
    Regionen,
    Familieretshuset,
    NaevnenesHus,
}

/// What the complaint is about (mirrors `borgerraad.v1.ComplaintTheme`); all of these are about
/// case handling or conduct, which the office may look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComplaintTheme {
    HandlingTime,
    CaseInvestigation,
    Reasons,
    Guidance,
    ServiceAndConduct,
    AccessToFiles,
    PracticalTasks,
    DigitalAccessibility,
}

/// The inquiry as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The department's code, e.g. `by-og-kultur`.
    pub department: String,
    /// `None` when the form left it unspecified.
    pub request_type: Option<RequestType>,
    pub prior_dialogue_held: bool,
    /// The dialogue with the department has started but is not finished. Not yet carried by
    /// `InquiryReceived`; the wiring sets it to `false` until the form asks.
    pub prior_dialogue_ongoing: bool,
    pub prior_dialogue_date: Option<NaiveDate>,
    pub about_employment: bool,
    pub about_political_decision: bool,
    pub wants_decision_changed: bool,
    pub brought_before: Option<OtherBody>,
    pub about_other_authority: Option<OtherAuthority>,
    pub decision_appealed: bool,
    pub decision_date: Option<NaiveDate>,
    pub appeal_deadline: Option<NaiveDate>,
    pub complaint_themes: Vec<ComplaintTheme>,
    pub anonymous: bool,
    /// When the department closed the matter, if known.
    pub department_closed_matter_on: Option<NaiveDate>,
    /// The person's own description; only scanned for signals, never decides on its own.
    pub description: Option<String>,
}
