//! The one path every change of a deadline takes (events and reconciliation alike): under the
//! inquiry's lock, replay the clock from the stored receipt and steps, compare it with the stored
//! deadline, and write the row, its timers and its events (through the outbox) in the caller's
//! transaction.

use borgerraad_messaging::{EventType, Outbox, new_event};
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use working_days::Calendar;

use crate::db::{self, Receipt, StoredDeadline};
use crate::domain::{NoticePolicy, SlaResult, SlaState, StopReason, lay_out, replay};

pub const SOURCE: &str = "/borgerraad/deadline-monitoring";

/// The office's deadline rules, from configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    pub calendar: Calendar,
    pub working_days: u32,
    pub policy: NoticePolicy,
}

/// Re-derives the deadline of `inquiry_id`, taking `receipt` when it is newer than the stored
/// one. Returns the deadline as now stored, or `None` while no receipt is known (steps that came
/// first wait in `inquiry_steps`).
pub async fn apply(
    connection: &mut PgConnection,
    rules: &Rules,
    outbox: &Outbox,
    inquiry_id: Uuid,
    receipt: Option<Receipt>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<StoredDeadline>> {
    db::lock_inquiry(connection, inquiry_id).await?;
    let stored = db::load_deadline(connection, inquiry_id).await?;
    let receipt = match (stored.as_ref().map(|s| &s.receipt), receipt) {
        (Some(old), Some(new)) if new.answers_version > old.answers_version => new,
        (Some(old), _) => old.clone(),
        (None, Some(new)) => new,
        (None, None) => return Ok(None),
    };
    let (steps, caseworker_id) = db::load_steps(connection, inquiry_id).await?;
    let working_days = stored
        .as_ref()
        .map_or(rules.working_days, |s| s.working_days);
    let sla = replay(&rules.calendar, working_days, receipt.received_at, &steps);

    let mut revision = stored.as_ref().map_or(0, |s| s.revision);
    let period_changed = stored
        .as_ref()
        .is_none_or(|s| s.clock_started_at != sla.period_started_at);
    let due_changed = stored.as_ref().is_some_and(|s| {
        s.due_date != sla.due_date || s.paused_working_days != sla.paused_working_days
    });
    let stopped = sla.state == SlaState::Stopped;
    let outcome_changed = stored.as_ref().is_none_or(|s| s.outcome != sla.outcome);
    let mut publish = Vec::new();
    if period_changed {
        revision += 1;
        publish.push(EventType::DeadlineScheduled);
    } else if due_changed && !stopped {
        revision += 1;
        publish.push(EventType::DeadlineRescheduled);
    } else if stopped
        && (due_changed
            || (outcome_changed && stored.as_ref().is_some_and(|s| s.outcome.is_some())))
    {
        // A stop that corrects an earlier one (a late step changed the history) is a new revision.
        revision += 1;
    }
    if stopped && (outcome_changed || period_changed) {
        publish.push(EventType::DeadlineStopped);
    }

    let deadline = StoredDeadline {
        receipt,
        caseworker_id,
        working_days,
        revision,
        clock_started_at: sla.period_started_at,
        start_day: sla.start_day,
        due_date: sla.due_date,
        due_at: sla.due_at,
        state: sla.state,
        paused_working_days: sla.paused_working_days,
        outcome: sla.outcome,
    };
    if stored.as_ref() == Some(&deadline) {
        return Ok(stored);
    }
    db::save_deadline(connection, &deadline, now).await?;

    let was_running = stored
        .as_ref()
        .is_some_and(|s| s.state == SlaState::Running);
    let revision_changed = stored.as_ref().is_none_or(|s| s.revision != revision);
    if revision_changed || was_running != (deadline.state == SlaState::Running) {
        db::cancel_timers(connection, inquiry_id).await?;
        if deadline.state == SlaState::Running {
            let plan = lay_out(
                &rules.calendar,
                &rules.policy,
                deadline.start_day,
                deadline.due_date,
                Some(now),
            );
            db::insert_timers(connection, inquiry_id, revision, deadline.due_date, &plan).await?;
        }
    }
    for event_type in publish {
        outbox
            .enqueue(connection, &deadline_event(&deadline, event_type, now))
            .await?;
        tracing::info!(
            %inquiry_id,
            revision,
            due_date = %deadline.due_date,
            event = event_type.as_str(),
            "deadline changed"
        );
    }
    Ok(Some(deadline))
}

fn days(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn deadline_event(
    deadline: &StoredDeadline,
    event_type: EventType,
    now: DateTime<Utc>,
) -> pb::Event {
    let inquiry_id = deadline.receipt.inquiry_id;
    let data = match (event_type, &deadline.outcome) {
        (EventType::DeadlineStopped, Some(outcome)) => Data::DeadlineStopped(pb::DeadlineStopped {
            inquiry_id: inquiry_id.to_string(),
            department: deadline.receipt.department.clone(),
            reason: match outcome.reason {
                StopReason::Answered => pb::DeadlineStopReason::Answered,
                StopReason::Closed => pb::DeadlineStopReason::Closed,
                StopReason::Withdrawn => pb::DeadlineStopReason::Withdrawn,
            }
            .into(),
            stopped_at: Some(timestamp(outcome.stopped_at)),
            due_date: Some(date(deadline.due_date)),
            result: match outcome.result {
                SlaResult::Met => pb::SlaResult::Met,
                SlaResult::Breached => pb::SlaResult::Breached,
            }
            .into(),
            working_days_over: days(outcome.working_days_over),
            working_days_used: days(outcome.working_days_used),
            paused_working_days: days(deadline.paused_working_days),
            revision: deadline.revision,
        }),
        _ => Data::DeadlineScheduled(pb::DeadlineScheduled {
            inquiry_id: inquiry_id.to_string(),
            department: deadline.receipt.department.clone(),
            received_at: Some(timestamp(deadline.receipt.received_at)),
            due_date: Some(date(deadline.due_date)),
            due_at: Some(timestamp(deadline.due_at)),
            working_days: days(deadline.working_days),
            paused_working_days: days(deadline.paused_working_days),
            revision: deadline.revision,
        }),
    };
    new_event(SOURCE, event_type, inquiry_id, now, data)
}
