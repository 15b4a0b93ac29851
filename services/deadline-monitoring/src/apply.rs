//! The one path every change of a deadline takes (events and reconciliation alike): under the
//! inquiry's lock, replay the clock from the stored receipt and steps, compare it with the stored
//! deadline, and write the row, its timers and its events (through the outbox) in the caller's
//! transaction.

use std::collections::{HashMap, HashSet};

use borgerraad_messaging::{EventType, Outbox, new_event};
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use working_days::Calendar;

use crate::db::{self, Receipt, StoredDeadline, days};
use crate::domain::{
    NoticePolicy, PlannedNotice, SlaResult, SlaState, Step, StopReason, lay_out, replay,
};

pub const SOURCE: &str = "/borgerraad/deadline-monitoring";

/// The office's deadline rules, from configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    pub calendar: Calendar,
    pub working_days: u32,
    pub policy: NoticePolicy,
}

/// One inquiry's change, as an event or reconciliation brings it.
#[derive(Debug)]
pub struct Change {
    pub inquiry_id: Uuid,
    /// Receipt facts, taken when newer than the stored ones.
    pub receipt: Option<Receipt>,
    /// Lifecycle steps to record first, each with the caseworker at that step.
    pub steps: Vec<(Step, String)>,
    /// The span of the message or run behind the change: its events continue that trace.
    pub span: tracing::Span,
}

/// What a change does to one deadline: pure, from the stored row, receipt and steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub deadline: StoredDeadline,
    /// The row changed and must be written.
    pub save: bool,
    /// The unfired timers of the stored row are obsolete.
    pub cancel_timers: bool,
    /// The clock wants the timers of this revision laid out.
    pub lay_out: bool,
    pub publish: Vec<EventType>,
}

/// Re-derives a deadline from the stored row (if any), the newest receipt and all steps;
/// `None` while no receipt is known (steps that came first wait in `inquiry_steps`).
pub fn decide(
    rules: &Rules,
    stored: Option<&StoredDeadline>,
    receipt: Option<Receipt>,
    steps: &[Step],
    caseworker_id: String,
) -> Option<Decision> {
    let receipt = match (stored.map(|s| &s.receipt), receipt) {
        (Some(old), Some(new)) if new.answers_version > old.answers_version => new,
        (Some(old), _) => old.clone(),
        (None, Some(new)) => new,
        (None, None) => return None,
    };
    let working_days = stored.map_or(rules.working_days, |s| s.working_days);
    let sla = replay(&rules.calendar, working_days, receipt.received_at, steps);

    let mut revision = stored.map_or(0, |s| s.revision);
    let period_changed = stored.is_none_or(|s| s.clock_started_at != sla.period_started_at);
    // Only a new due date is a new revision: a pause begun after the due date adds waited days
    // but moves nothing, and must not lay out (and fire) the chain a second time.
    let due_changed = stored.is_some_and(|s| s.due_date != sla.due_date);
    let stopped = sla.state == SlaState::Stopped;
    let outcome_changed = stored.is_none_or(|s| s.outcome != sla.outcome);
    let mut publish = Vec::new();
    if period_changed {
        revision += 1;
        publish.push(EventType::DeadlineScheduled);
    } else if due_changed && !stopped {
        revision += 1;
        publish.push(EventType::DeadlineRescheduled);
    } else if stopped
        && (due_changed || (outcome_changed && stored.is_some_and(|s| s.outcome.is_some())))
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
    if stored == Some(&deadline) {
        return Some(Decision {
            deadline,
            save: false,
            cancel_timers: false,
            lay_out: false,
            publish: Vec::new(),
        });
    }
    let timers_changed = stored.is_none_or(|s| s.revision != revision || s.state != sla.state);
    Some(Decision {
        deadline,
        save: true,
        // A deadline seen for the first time has no timers yet (they reference its row).
        cancel_timers: timers_changed && stored.is_some(),
        lay_out: timers_changed && sla.wants_timers(),
        publish,
    })
}

/// Re-derives the deadline of one inquiry (see `apply_all`).
pub async fn apply(
    connection: &mut PgConnection,
    rules: &Rules,
    outbox: &Outbox,
    change: Change,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    apply_all(connection, rules, outbox, vec![change], now).await
}

/// Applies changes of distinct inquiries under their locks, with a few statements for all of
/// them: records the steps, re-derives each deadline from its stored receipt and steps, and
/// writes the rows, their timers and their events (through the outbox).
pub async fn apply_all(
    connection: &mut PgConnection,
    rules: &Rules,
    outbox: &Outbox,
    changes: Vec<Change>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = changes.iter().map(|c| c.inquiry_id).collect();
    let distinct: HashSet<Uuid> = ids.iter().copied().collect();
    anyhow::ensure!(
        distinct.len() == ids.len(),
        "one change per inquiry at a time"
    );
    db::lock_inquiries(connection, &ids).await?;
    let new_steps: Vec<(Uuid, &Step, &str)> = changes
        .iter()
        .flat_map(|c| {
            c.steps
                .iter()
                .map(|(step, caseworker)| (c.inquiry_id, step, caseworker.as_str()))
        })
        .collect();
    db::insert_steps(connection, &new_steps).await?;
    let mut stored = db::load_deadlines(connection, &ids).await?;
    let mut steps = db::load_steps_of(connection, &ids).await?;

    let mut decisions = Vec::with_capacity(changes.len());
    let mut events = Vec::new();
    for change in changes {
        let stored = stored.remove(&change.inquiry_id);
        let (steps, caseworker_id) = steps.remove(&change.inquiry_id).unwrap_or_default();
        let Some(decision) = decide(
            rules,
            stored.as_ref(),
            change.receipt,
            &steps,
            caseworker_id,
        ) else {
            continue;
        };
        for event_type in &decision.publish {
            let event = deadline_event(&decision.deadline, *event_type, now);
            let trace_context = change
                .span
                .in_scope(borgerraad_platform::telemetry::current_context_map);
            events.push((event, trace_context));
        }
        decisions.push((decision, change.span));
    }

    let saved: Vec<&StoredDeadline> = decisions
        .iter()
        .filter(|(d, _)| d.save)
        .map(|(d, _)| &d.deadline)
        .collect();
    db::save_deadlines(connection, &saved, now).await?;
    let obsolete: Vec<Uuid> = decisions
        .iter()
        .filter(|(d, _)| d.cancel_timers)
        .map(|(d, _)| d.deadline.receipt.inquiry_id)
        .collect();
    db::cancel_timers(connection, &obsolete).await?;
    let plans: Vec<(&StoredDeadline, Vec<PlannedNotice>)> = decisions
        .iter()
        .filter(|(d, _)| d.lay_out)
        .map(|(d, _)| (&d.deadline, plan_of(rules, &d.deadline, now)))
        .collect();
    lay_out_timers(connection, &plans).await?;
    let queued: Vec<(&pb::Event, &HashMap<String, String>)> =
        events.iter().map(|(e, c)| (e, c)).collect();
    outbox.enqueue_all(connection, &queued).await?;

    // Told once all is written (a failed chunk is applied again one event at a time).
    for (decision, span) in &decisions {
        let deadline = &decision.deadline;
        for event_type in &decision.publish {
            span.in_scope(|| {
                tracing::info!(
                    inquiry_id = %deadline.receipt.inquiry_id,
                    revision = deadline.revision,
                    due_date = %deadline.due_date,
                    event = event_type.as_str(),
                    "deadline changed"
                );
            });
        }
    }
    Ok(())
}

/// The timers of the deadline's current revision, as from `now`.
fn plan_of(rules: &Rules, deadline: &StoredDeadline, now: DateTime<Utc>) -> Vec<PlannedNotice> {
    lay_out(
        &rules.calendar,
        &rules.policy,
        deadline.start_day,
        deadline.due_date,
        Some(now),
    )
}

/// Lays out the planned timers (steps fired already, in this revision or an earlier one with
/// the same due date, are not laid again).
async fn lay_out_timers(
    connection: &mut PgConnection,
    plans: &[(&StoredDeadline, Vec<PlannedNotice>)],
) -> sqlx::Result<()> {
    let plans: Vec<db::TimerPlan<'_>> = plans
        .iter()
        .map(|(deadline, plan)| db::TimerPlan {
            inquiry_id: deadline.receipt.inquiry_id,
            revision: deadline.revision,
            due_date: deadline.due_date,
            plan,
        })
        .collect();
    db::insert_timers(connection, &plans).await
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
        let plan = plan_of(rules, &deadline, now);
        lay_out_timers(&mut transaction, &[(&deadline, plan)]).await?;
        transaction.commit().await?;
        laid += 1;
        tracing::info!(%inquiry_id, revision = deadline.revision, "timers laid out");
    }
    Ok(laid)
}

pub fn reason_to_proto(reason: StopReason) -> pb::DeadlineStopReason {
    match reason {
        StopReason::Answered => pb::DeadlineStopReason::Answered,
        StopReason::Closed => pb::DeadlineStopReason::Closed,
        StopReason::Withdrawn => pb::DeadlineStopReason::Withdrawn,
    }
}

pub fn result_to_proto(result: SlaResult) -> pb::SlaResult {
    match result {
        SlaResult::Met => pb::SlaResult::Met,
        SlaResult::Breached => pb::SlaResult::Breached,
    }
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
            reason: reason_to_proto(outcome.reason).into(),
            stopped_at: Some(timestamp(outcome.stopped_at)),
            due_date: Some(date(deadline.due_date)),
            result: result_to_proto(outcome.result).into(),
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

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _};

    use crate::domain::StepKind;

    use super::*;

    fn rules() -> Rules {
        Rules {
            calendar: Calendar::danish_default(),
            working_days: 15,
            policy: NoticePolicy::default(),
        }
    }

    /// 10:00 in Copenhagen (UTC+1 in winter).
    fn at(month: u32, day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, month, day, 9, 0, 0)
            .single()
            .expect("a time")
    }

    fn date(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).expect("a date")
    }

    fn receipt(id: Uuid, received_at: DateTime<Utc>, answers_version: i64) -> Receipt {
        Receipt {
            inquiry_id: id,
            department: "by-og-kultur".into(),
            reference: "BR-2026-000042".into(),
            received_at,
            answers_version,
        }
    }

    fn step(version: i64, kind: StepKind, at: DateTime<Utc>) -> Step {
        Step { version, at, kind }
    }

    fn first(id: Uuid) -> Decision {
        decide(
            &rules(),
            None,
            Some(receipt(id, at(11, 25), 0)),
            &[],
            "".into(),
        )
        .expect("a receipt gives a deadline")
    }

    #[test]
    fn nothing_is_decided_before_the_receipt() {
        let pause = step(3, StepKind::Pause, at(11, 26));
        assert_eq!(decide(&rules(), None, None, &[pause], "cw".into()), None);
    }

    #[test]
    fn a_first_receipt_schedules_revision_one_and_lays_out_its_timers() {
        let decision = first(Uuid::now_v7());
        assert_eq!(decision.deadline.revision, 1);
        assert_eq!(decision.deadline.due_date, date(12, 16));
        assert_eq!(decision.deadline.state, SlaState::Running);
        assert_eq!(decision.publish, vec![EventType::DeadlineScheduled]);
        assert!(decision.save && decision.lay_out);
        assert!(
            !decision.cancel_timers,
            "a new deadline has no timers to cancel"
        );
    }

    #[test]
    fn the_same_facts_again_change_nothing() {
        let id = Uuid::now_v7();
        let stored = first(id).deadline;
        let again = decide(
            &rules(),
            Some(&stored),
            Some(receipt(id, at(11, 25), 0)),
            &[],
            "".into(),
        )
        .expect("a deadline");
        assert_eq!(again.deadline, stored);
        assert!(!again.save && !again.cancel_timers && !again.lay_out);
        assert!(again.publish.is_empty());
    }

    #[test]
    fn an_older_amendment_is_ignored_and_a_newer_one_restarts_the_period() {
        let id = Uuid::now_v7();
        let mut stored = first(id).deadline;
        stored.receipt.answers_version = 5;
        let older = decide(
            &rules(),
            Some(&stored),
            Some(receipt(id, at(11, 20), 4)),
            &[],
            "".into(),
        )
        .expect("a deadline");
        assert!(
            !older.save,
            "answers older than the stored ones change nothing"
        );

        let newer = decide(
            &rules(),
            Some(&stored),
            Some(receipt(id, at(11, 20), 6)),
            &[],
            "".into(),
        )
        .expect("a deadline");
        assert_eq!(newer.deadline.revision, 2);
        assert_eq!(newer.deadline.due_date, date(12, 11));
        assert_eq!(newer.publish, vec![EventType::DeadlineScheduled]);
        assert!(newer.cancel_timers && newer.lay_out);
    }

    #[test]
    fn a_pause_keeps_the_revision_and_drops_the_timers_until_the_resumption_moves_the_due_date() {
        let id = Uuid::now_v7();
        let stored = first(id).deadline;
        let pause = step(3, StepKind::Pause, at(11, 26));
        let paused =
            decide(&rules(), Some(&stored), None, &[pause], "cw".into()).expect("a deadline");
        assert_eq!(paused.deadline.state, SlaState::Paused);
        assert_eq!(paused.deadline.revision, 1);
        assert!(paused.publish.is_empty());
        assert!(paused.save && paused.cancel_timers && !paused.lay_out);

        let resume = step(4, StepKind::Resume, at(11, 30));
        let resumed = decide(
            &rules(),
            Some(&paused.deadline),
            None,
            &[pause, resume],
            "cw".into(),
        )
        .expect("a deadline");
        assert_eq!(resumed.deadline.state, SlaState::Running);
        assert_eq!(resumed.deadline.revision, 2);
        assert!(resumed.deadline.due_date > stored.due_date);
        assert_eq!(resumed.publish, vec![EventType::DeadlineRescheduled]);
        assert!(resumed.cancel_timers && resumed.lay_out);
    }

    #[test]
    fn an_answer_stops_the_clock_met_without_a_new_revision() {
        let id = Uuid::now_v7();
        let stored = first(id).deadline;
        let answered = step(7, StepKind::Stop(StopReason::Answered), at(12, 1));
        let stopped =
            decide(&rules(), Some(&stored), None, &[answered], "cw".into()).expect("a deadline");
        assert_eq!(stopped.deadline.state, SlaState::Stopped);
        assert_eq!(stopped.deadline.revision, 1);
        assert_eq!(
            stopped.deadline.outcome.as_ref().map(|o| o.result),
            Some(SlaResult::Met)
        );
        assert_eq!(stopped.publish, vec![EventType::DeadlineStopped]);
        assert!(stopped.cancel_timers && !stopped.lay_out);
    }
}
