//! The case lifecycle of an inquiry, as a pure state machine: which step is allowed in which
//! status, and where it leads. The adapters check every request against [`transition`] before
//! writing, so a refused step changes nothing.
//!
//! ```text
//! received ─assess→ assessed ─assign→ assigned ─start→ in_progress ⇄ awaiting_requester
//!     │                 │                 │                │
//!     └────────── answer (a referral or advice answered at once) ──→ answered ─close→ closed
//! any open status ─withdraw→ withdrawn;   closed | withdrawn ─reopen→ in_progress
//! ```
//! Notes, improvement suggestions and mediation records do not move the status.

/// Where an inquiry is in its case flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Received,
    Assessed,
    Assigned,
    InProgress,
    AwaitingRequester,
    Answered,
    Closed,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Received,
        Status::Assessed,
        Status::Assigned,
        Status::InProgress,
        Status::AwaitingRequester,
        Status::Answered,
        Status::Closed,
        Status::Withdrawn,
    ];

    /// The code used in SQL, events and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Assessed => "assessed",
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::AwaitingRequester => "awaiting_requester",
            Self::Answered => "answered",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == code)
    }

    /// Closed and withdrawn inquiries take no further steps but reopening.
    pub const fn is_finished(self) -> bool {
        matches!(self, Self::Closed | Self::Withdrawn)
    }
}

/// A step a caseworker, the requester or the eligibility service takes on an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The eligibility service assessed (or re-assessed) the inquiry.
    Assess,
    /// A caseworker takes the case, or it is handed to another caseworker.
    Assign,
    StartWork,
    /// Mediation offered, held, or its result; recorded while the case is worked on.
    RecordMediation,
    RequestInformation,
    ReceiveInformation,
    Answer,
    Close,
    Withdraw,
    Reopen,
    AddNote,
    RecordImprovementSuggestion,
    /// A caseworker corrects the case facts of the form; the scope rules run again.
    Amend,
}

impl Step {
    pub const ALL: [Step; 13] = [
        Step::Assess,
        Step::Assign,
        Step::StartWork,
        Step::RecordMediation,
        Step::RequestInformation,
        Step::ReceiveInformation,
        Step::Answer,
        Step::Close,
        Step::Withdraw,
        Step::Reopen,
        Step::AddNote,
        Step::RecordImprovementSuggestion,
        Step::Amend,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Assess => "assess",
            Self::Assign => "assign",
            Self::StartWork => "start_work",
            Self::RecordMediation => "record_mediation",
            Self::RequestInformation => "request_information",
            Self::ReceiveInformation => "receive_information",
            Self::Answer => "answer",
            Self::Close => "close",
            Self::Withdraw => "withdraw",
            Self::Reopen => "reopen",
            Self::AddNote => "add_note",
            Self::RecordImprovementSuggestion => "record_improvement_suggestion",
            Self::Amend => "amend",
        }
    }
}

/// Why a step is refused, in words a caseworker understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("'{step}' is not allowed while the inquiry is {status}", step = .step.as_str().replace('_', " "), status = .status.as_str().replace('_', " "))]
pub struct Refused {
    pub step: Step,
    pub status: Status,
}

/// The status after `step` in `status`, or why the step is not allowed there.
pub fn transition(status: Status, step: Step) -> Result<Status, Refused> {
    use Status::*;
    use Step::*;
    let next = match (step, status) {
        // A re-assessment after the case has moved on is recorded without moving it back.
        (Assess, Received | Assessed) => Assessed,
        (Assess, s) if !s.is_finished() => s,
        (Assign, Received | Assessed) => Assigned,
        (Assign, s @ (Assigned | InProgress | AwaitingRequester)) => s,
        (StartWork, Assigned) => InProgress,
        (RecordMediation, InProgress) => InProgress,
        (RequestInformation, InProgress) => AwaitingRequester,
        (ReceiveInformation, AwaitingRequester) => InProgress,
        // Advice and referrals are often answered at once, before any case work.
        (Answer, Received | Assessed | Assigned | InProgress) => Answered,
        (Close, Answered) => Closed,
        (Withdraw, s) if !s.is_finished() => Withdrawn,
        (Reopen, Closed | Withdrawn) => InProgress,
        (AddNote, s) => s,
        (RecordImprovementSuggestion, s) if s != Withdrawn => s,
        // Once answered, the facts the answer rests on stay as they were.
        (Amend, s @ (Received | Assessed | Assigned | InProgress | AwaitingRequester)) => s,
        _ => return Err(Refused { step, status }),
    };
    Ok(next)
}

/// A lifecycle step with what it records. Built by the adapters from checked input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Eligibility's assessment in force, as its event told it.
    Assess {
        outcome: super::EligibilityOutcome,
        referral_target: Option<String>,
        fired_rule_ids: Vec<String>,
    },
    Assign {
        caseworker_id: String,
    },
    StartWork,
    RecordMediation {
        stage: super::MediationStage,
        result: Option<super::MediationResult>,
        note: Option<String>,
    },
    RequestInformation {
        what: String,
    },
    ReceiveInformation {
        note: Option<String>,
    },
    Answer {
        channel: super::ContactChannel,
        summary: Option<String>,
    },
    Close {
        outcome: super::ClosingOutcome,
        handling: super::HandlingMethod,
    },
    Withdraw {
        reason: Option<String>,
    },
    Reopen {
        reason: Option<String>,
    },
    AddNote {
        text: String,
    },
    RecordImprovementSuggestion {
        department: String,
        suggestion: String,
    },
    Amend(Box<super::CaseFacts>),
}

impl Command {
    pub fn step(&self) -> Step {
        match self {
            Self::Assess { .. } => Step::Assess,
            Self::Assign { .. } => Step::Assign,
            Self::StartWork => Step::StartWork,
            Self::RecordMediation { .. } => Step::RecordMediation,
            Self::RequestInformation { .. } => Step::RequestInformation,
            Self::ReceiveInformation { .. } => Step::ReceiveInformation,
            Self::Answer { .. } => Step::Answer,
            Self::Close { .. } => Step::Close,
            Self::Withdraw { .. } => Step::Withdraw,
            Self::Reopen { .. } => Step::Reopen,
            Self::AddNote { .. } => Step::AddNote,
            Self::RecordImprovementSuggestion { .. } => Step::RecordImprovementSuggestion,
            Self::Amend(_) => Step::Amend,
        }
    }

    /// The journal's words for the step: what was recorded, free text included (the journal
    /// stays in intake's own tables).
    pub fn journal_details(&self) -> String {
        let with = |prefix: String, text: &Option<String>| match text {
            Some(text) => format!("{prefix}: {text}"),
            None => prefix,
        };
        match self {
            Self::Assess {
                outcome,
                referral_target,
                fired_rule_ids,
            } => {
                let mut details =
                    format!("assessed by the eligibility service: {}", outcome.as_str());
                if let Some(target) = referral_target {
                    details.push_str(&format!(" to {target}"));
                }
                if !fired_rule_ids.is_empty() {
                    details.push_str(&format!(" (rules {})", fired_rule_ids.join(", ")));
                }
                details
            }
            Self::Assign { caseworker_id } => format!("caseworker {caseworker_id}"),
            Self::StartWork => "work started".into(),
            Self::RecordMediation {
                stage,
                result,
                note,
            } => with(
                match result {
                    Some(result) => format!("mediation {}: {}", stage.as_str(), result.as_str()),
                    None => format!("mediation {}", stage.as_str()),
                },
                note,
            ),
            Self::RequestInformation { what } => format!("information requested: {what}"),
            Self::ReceiveInformation { note } => with("information received".into(), note),
            Self::Answer { channel, summary } => {
                with(format!("answered by {}", channel.as_str()), summary)
            }
            Self::Close { outcome, handling } => format!(
                "closed: {}, handled by {}",
                outcome.as_str(),
                handling.as_str()
            ),
            Self::Withdraw { reason } => with("withdrawn by the requester".into(), reason),
            Self::Reopen { reason } => with("reopened".into(), reason),
            Self::AddNote { text } => text.clone(),
            Self::RecordImprovementSuggestion {
                department,
                suggestion,
            } => {
                format!("improvement suggestion to {department}: {suggestion}")
            }
            // The entry names the fields changed, which takes the inquiry as it was: see
            // `domain::amendment`, which the step uses instead.
            Self::Amend(_) => "case facts amended".into(),
        }
    }
}

/// The parts of an inquiry that lifecycle steps read and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub status: Status,
    pub version: i64,
    pub caseworker_id: Option<String>,
    pub closing_outcome: Option<super::ClosingOutcome>,
    pub handling_method: Option<super::HandlingMethod>,
}

/// The case after `command`, or why the command is refused in the case's status.
pub fn apply(case: &CaseState, command: &Command) -> Result<CaseState, Refused> {
    let status = transition(case.status, command.step())?;
    let mut next = CaseState {
        status,
        version: case.version + 1,
        ..case.clone()
    };
    match command {
        Command::Assign { caseworker_id } => next.caseworker_id = Some(caseworker_id.clone()),
        Command::Close { outcome, handling } => {
            next.closing_outcome = Some(*outcome);
            next.handling_method = Some(*handling);
        }
        Command::Withdraw { .. } => next.closing_outcome = Some(super::ClosingOutcome::Withdrawn),
        // A reopened case is open again: its earlier outcome stays in the journal only.
        Command::Reopen { .. } => {
            next.closing_outcome = None;
            next.handling_method = None;
        }
        _ => {}
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;
    use Step::*;

    /// Every allowed (status, step) → next status; everything not listed must be refused.
    const ALLOWED: &[(Status, Step, Status)] = &[
        (Received, Assess, Assessed),
        (Assessed, Assess, Assessed),
        (Assigned, Assess, Assigned),
        (InProgress, Assess, InProgress),
        (AwaitingRequester, Assess, AwaitingRequester),
        (Answered, Assess, Answered),
        (Received, Assign, Assigned),
        (Assessed, Assign, Assigned),
        (Assigned, Assign, Assigned),
        (InProgress, Assign, InProgress),
        (AwaitingRequester, Assign, AwaitingRequester),
        (Assigned, StartWork, InProgress),
        (InProgress, RecordMediation, InProgress),
        (InProgress, RequestInformation, AwaitingRequester),
        (AwaitingRequester, ReceiveInformation, InProgress),
        (Received, Answer, Answered),
        (Assessed, Answer, Answered),
        (Assigned, Answer, Answered),
        (InProgress, Answer, Answered),
        (Answered, Close, Closed),
        (Received, Withdraw, Withdrawn),
        (Assessed, Withdraw, Withdrawn),
        (Assigned, Withdraw, Withdrawn),
        (InProgress, Withdraw, Withdrawn),
        (AwaitingRequester, Withdraw, Withdrawn),
        (Answered, Withdraw, Withdrawn),
        (Closed, Reopen, InProgress),
        (Withdrawn, Reopen, InProgress),
        (Received, AddNote, Received),
        (Assessed, AddNote, Assessed),
        (Assigned, AddNote, Assigned),
        (InProgress, AddNote, InProgress),
        (AwaitingRequester, AddNote, AwaitingRequester),
        (Answered, AddNote, Answered),
        (Closed, AddNote, Closed),
        (Withdrawn, AddNote, Withdrawn),
        (Received, RecordImprovementSuggestion, Received),
        (Assessed, RecordImprovementSuggestion, Assessed),
        (Assigned, RecordImprovementSuggestion, Assigned),
        (InProgress, RecordImprovementSuggestion, InProgress),
        (
            AwaitingRequester,
            RecordImprovementSuggestion,
            AwaitingRequester,
        ),
        (Answered, RecordImprovementSuggestion, Answered),
        (Closed, RecordImprovementSuggestion, Closed),
        (Received, Amend, Received),
        (Assessed, Amend, Assessed),
        (Assigned, Amend, Assigned),
        (InProgress, Amend, InProgress),
        (AwaitingRequester, Amend, AwaitingRequester),
    ];

    #[test]
    fn every_step_in_every_status_is_allowed_exactly_as_the_table_says() {
        for status in Status::ALL {
            for step in Step::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(from, s, _)| *from == status && *s == step)
                    .map(|(_, _, to)| *to);
                match (transition(status, step), expected) {
                    (Ok(next), Some(to)) => assert_eq!(next, to, "{step:?} in {status:?}"),
                    (Err(refused), None) => assert_eq!(refused, Refused { step, status }),
                    (got, want) => panic!("{step:?} in {status:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn a_whole_case_runs_from_receipt_to_closing_and_can_be_reopened() {
        let steps = [
            Assess,
            Assign,
            StartWork,
            RecordMediation,
            RequestInformation,
            ReceiveInformation,
            Answer,
            Close,
            Reopen,
        ];
        let end = steps
            .iter()
            .try_fold(Received, |status, step| transition(status, *step));
        assert_eq!(end, Ok(InProgress));
    }

    #[test]
    fn the_requester_can_withdraw_at_any_time_until_the_case_is_finished() {
        for status in Status::ALL {
            assert_eq!(
                transition(status, Withdraw).is_ok(),
                !status.is_finished(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_refusal_says_what_was_tried_and_where_the_case_stands() {
        let refused = transition(Closed, StartWork).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "'start work' is not allowed while the inquiry is closed"
        );
    }

    #[test]
    fn closing_records_the_outcome_and_reopening_clears_it() {
        use super::super::{ClosingOutcome, HandlingMethod};
        let answered = CaseState {
            status: Answered,
            version: 7,
            caseworker_id: Some("cw-1".into()),
            closing_outcome: None,
            handling_method: None,
        };
        let close = Command::Close {
            outcome: ClosingOutcome::PartialCriticism,
            handling: HandlingMethod::Investigation,
        };
        let closed = apply(&answered, &close).expect("allowed");
        assert_eq!((closed.status, closed.version), (Closed, 8));
        assert_eq!(
            closed.closing_outcome,
            Some(ClosingOutcome::PartialCriticism)
        );
        let reopened = apply(&closed, &Command::Reopen { reason: None }).expect("allowed");
        assert_eq!(
            (
                reopened.status,
                reopened.closing_outcome,
                reopened.caseworker_id.as_deref()
            ),
            (InProgress, None, Some("cw-1"))
        );
    }

    #[test]
    fn a_refused_command_changes_nothing() {
        let received = CaseState {
            status: Received,
            version: 1,
            caseworker_id: None,
            closing_outcome: None,
            handling_method: None,
        };
        assert!(apply(&received, &Command::StartWork).is_err());
    }

    #[test]
    fn status_codes_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::from_code(status.as_str()), Some(status));
        }
    }

    #[test]
    fn an_assessment_is_journaled_with_its_outcome_target_and_rules() {
        let assessed = Command::Assess {
            outcome: crate::domain::EligibilityOutcome::Referred,
            referral_target: Some("ankestyrelsen".into()),
            fired_rule_ids: vec!["other-complaint-body".into(), "appeal-deadline".into()],
        };
        assert_eq!(
            assessed.journal_details(),
            "assessed by the eligibility service: referred to ankestyrelsen \
             (rules other-complaint-body, appeal-deadline)"
        );
    }
}
