//! Taking a lifecycle step: lock the case, check the version and the transition, write the new
//! state, the journal entry (its details sealed) and the step's event in the caller's
//! transaction.

use borgerraad_messaging::Outbox;
use chrono::{DateTime, Utc};
use personal_data::Keyring;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;
use crate::domain::amendment;
use crate::domain::lifecycle::{self, CaseState, Command, Refused, Status};
use crate::domain::personal::{self, SealError};
use crate::domain::{ClosingOutcome, HandlingMethod};

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("no inquiry has that id")]
    NotFound,
    #[error("the inquiry is at version {current}; read it again and retry")]
    Stale { current: i64 },
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StepError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

impl From<SealError> for StepError {
    fn from(error: SealError) -> Self {
        Self::Unexpected(error.into())
    }
}

/// The step as it happened, for its event.
#[derive(Debug, Clone)]
pub struct StepTaken {
    pub inquiry_id: Uuid,
    pub department: String,
    pub before: CaseState,
    pub after: CaseState,
    pub at: DateTime<Utc>,
}

/// Takes `command` on the inquiry. `expected_version` is the caller's last-read version (`None`
/// for steps the system takes, such as recording an assessment).
#[allow(clippy::too_many_arguments)]
pub async fn take_step(
    connection: &mut PgConnection,
    outbox: &Outbox,
    keyring: &Keyring,
    inquiry_id: Uuid,
    expected_version: Option<i64>,
    command: &Command,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<StepTaken, StepError> {
    let row = db::lock_case(connection, inquiry_id)
        .await?
        .ok_or(StepError::NotFound)?;
    let before = case_state(&row)?;
    if let Some(expected) = expected_version
        && expected != before.version
    {
        return Err(StepError::Stale {
            current: before.version,
        });
    }
    let after = lifecycle::apply(&before, command)?;
    // An amendment's entry names what it changed, so the inquiry as it was is read first.
    let current = match command {
        Command::Amend(_) => {
            let row = db::get_inquiry(&mut *connection, inquiry_id)
                .await?
                .ok_or(StepError::NotFound)?;
            let record = row.personal(keyring)?;
            Some((row, record))
        }
        _ => None,
    };
    let journal_details = match (command, &current) {
        (Command::Amend(facts), Some((row, record))) => {
            let current = amendment::CurrentFacts {
                department: &row.department,
                request_type: &row.request_type,
                prior_dialogue: inquiry_form::PriorDialogue {
                    held: row.prior_dialogue_held,
                    date: row.prior_dialogue_date,
                },
                form: &row.form.0,
                record,
            };
            amendment::journal_details(&amendment::amended_fields(&current, facts))
        }
        _ => command.journal_details(),
    };
    let details = personal::seal_details(keyring, inquiry_id, after.version, &journal_details)?;
    db::record_step(
        connection,
        inquiry_id,
        &after,
        command.step().as_str(),
        actor,
        at,
        details,
    )
    .await?;
    let taken = StepTaken {
        inquiry_id,
        department: row.department,
        before,
        after,
        at,
    };
    let event = match (command, current) {
        (Command::Amend(facts), Some((row, mut record))) => {
            record.amend(facts);
            let sealed = personal::seal_record(keyring, inquiry_id, &record)?;
            let form = personal::amended_form(&row.form.0, facts);
            db::amend_case_facts(connection, inquiry_id, facts, &form, sealed).await?;
            let row = db::get_inquiry(&mut *connection, inquiry_id)
                .await?
                .ok_or(StepError::NotFound)?;
            crate::events::inquiry_amended(
                &row,
                !facts.description.is_empty(),
                taken.after.version,
                at,
            )?
        }
        _ => crate::events::step_taken(&taken, command),
    };
    outbox.enqueue(connection, &event).await?;
    Ok(taken)
}

fn case_state(row: &db::CaseRow) -> anyhow::Result<CaseState> {
    let unknown =
        |what: &str, code: &str| anyhow::anyhow!("unknown {what} {code:?} in the case record");
    Ok(CaseState {
        status: Status::from_code(&row.status).ok_or_else(|| unknown("status", &row.status))?,
        version: row.version,
        caseworker_id: row.caseworker_id.clone(),
        closing_outcome: row
            .closing_outcome
            .as_deref()
            .map(|code| {
                ClosingOutcome::from_code(code).ok_or_else(|| unknown("closing outcome", code))
            })
            .transpose()?,
        handling_method: row
            .handling_method
            .as_deref()
            .map(|code| {
                HandlingMethod::from_code(code).ok_or_else(|| unknown("handling method", code))
            })
            .transpose()?,
    })
}
