//! The one path every change of a deadline takes (events and reconciliation alike): under the
//! inquiry's lock, replay the clock from the stored receipt and steps, compare it with the stored
//! deadline, and write the row, its timers and its events (through the outbox) in the caller's
//! transaction.

use borgerraad_messaging::{EventType, Outbox, new_event};
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
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
    // Only a new due date is a new revision: a pause begun after the due date adds waited days
    // but moves nothing, and must not lay out (and fire) the chain a second time.
    let due_changed = stored.as_ref().is_some_and(|s| s.due_date != sla.due_date);
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

    let revision_changed = stored.as_ref().is_none_or(|s| s.revision != revision);
    let state_changed = stored.as_ref().is_none_or(|s| s.state != deadline.state);
    if revision_changed || state_changed {
        // A deadline seen for the first time has no timers yet (they reference its row).
        if stored.is_some() {
            db::cancel_timers(connection, inquiry_id).await?;
        }
        if sla.wants_timers() {
            lay_out_timers(connection, rules, &deadline, now).await?;
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

/// Lays out the current revision's timers (steps fired already, in this revision or an earlier
/// one with the same due date, are not laid again).
async fn lay_out_timers(
    connection: &mut PgConnection,
    rules: &Rules,
    deadline: &StoredDeadline,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let plan = lay_out(
        &rules.calendar,
        &rules.policy,
        deadline.start_day,
        deadline.due_date,
        Some(now),
    );
    db::insert_timers(
        connection,
        deadline.receipt.inquiry_id,
        deadline.revision,
        deadline.due_date,
        &plan,
    )
    .await?;
    Ok(())
}

/// Lays out the timers of every deadline that should have some and has none for its current
/// revision (deadlines written before timers existed, migration 0001); returns how many.
pub async fn lay_out_missing_timers(
    pool: &PgPool,
    rules: &Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let candidates = db::deadlines_without_timers(pool).await?;
    let mut laid = 0;
    for inquiry_id in candidates {
        let mut transaction = pool.begin().await?;
        db::lock_inquiry(&mut transaction, inquiry_id).await?;
        let Some(deadline) = db::load_deadline(&mut transaction, inquiry_id).await? else {
            continue;
        };
        let (steps, _) = db::load_steps(&mut transaction, inquiry_id).await?;
        let sla = replay(
            &rules.calendar,
            deadline.working_days,
            deadline.receipt.received_at,
            &steps,
        );
        if deadline.state != sla.state
            || !sla.wants_timers()
            || db::has_timers(&mut transaction, inquiry_id, deadline.revision).await?
        {
            continue;
        }
        lay_out_timers(&mut transaction, rules, &deadline, now).await?;
        transaction.commit().await?;
        laid += 1;
        tracing::info!(%inquiry_id, revision = deadline.revision, "timers laid out");
    }
    Ok(laid)
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
