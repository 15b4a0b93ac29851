//! The one path every change of a deadline takes (events, reconciliation and the re-derivation
//! of open deadlines at start alike): under the inquiry's lock, replay the clock from the stored
//! receipt and steps, compare it with the stored deadline, and write the row, its timers and its
//! events (through the outbox) in the caller's transaction.

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

pub const SOURCE: &str = borgerraad_messaging::Producer::DeadlineMonitoring.source();

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
    for change in changes {
        let stored = stored.remove(&change.inquiry_id);
        let (steps, caseworker_id) = steps.remove(&change.inquiry_id).unwrap_or_default();
        if let Some(decision) = decide(
            rules,
            stored.as_ref(),
            change.receipt,
            &steps,
            caseworker_id,
        ) {
            decisions.push((decision, change.span));
        }
    }
    write(connection, rules, outbox, &decisions, now).await
}

/// Writes decisions taken under the inquiries' locks: the rows, their timers (unfired ones of
/// an obsolete revision cancelled, the new revision's laid out) and their events (through the
/// outbox), each event continuing the trace of its decision's span.
async fn write(
    connection: &mut PgConnection,
    rules: &Rules,
    outbox: &Outbox,
    decisions: &[(Decision, tracing::Span)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut events = Vec::new();
    for (decision, span) in decisions {
        for event_type in &decision.publish {
            let event = deadline_event(&decision.deadline, *event_type, now);
            let trace_context = span.in_scope(borgerraad_platform::telemetry::current_context_map);
            events.push((event, trace_context));
        }
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
    for (decision, span) in decisions {
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

/// Open deadlines re-derived per transaction by [`rederive_open_deadlines`].
pub const REDERIVE_BATCH_SIZE: i64 = 500;

/// What [`rederive_open_deadlines`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rederived {
    /// Open deadlines replayed.
    pub checked: usize,
    /// Of those, the ones whose stored row differed and was rewritten.
    pub changed: usize,
    /// Of those, the ones that got a new due date (a new revision, `deadline.rescheduled`).
    pub rescheduled: usize,
}

/// Replays every open (running or paused) deadline by the rule and calendar in force (each keeps
/// the working days it was given) and writes those that differ from the stored row the way any
/// change is written: a new due date is a new revision with `deadline.rescheduled` through the
/// outbox, its unfired timers replaced by the new revision's. So deadlines an earlier version
/// counted by another rule, or under another calendar configuration, follow the rule in force
/// once this version starts; stopped deadlines are left as they are. Batches of `batch_size` in
/// id order, each in one transaction under the inquiries' locks (those the consumer takes), so
/// a second replica doing the same, or the consumer, sees the corrected row and changes nothing
/// more; a second run finds nothing to do.
pub async fn rederive_open_deadlines(
    pool: &PgPool,
    rules: &Rules,
    outbox: &Outbox,
    now: DateTime<Utc>,
    batch_size: i64,
) -> anyhow::Result<Rederived> {
    let span = tracing::info_span!("rederive open deadlines");
    let mut done = Rederived::default();
    let mut after = Uuid::nil();
    loop {
        let ids = db::open_deadlines_after(pool, after, batch_size).await?;
        let Some(&last) = ids.last() else {
            break;
        };
        after = last;
        let mut transaction = pool.begin().await?;
        db::lock_inquiries(&mut transaction, &ids).await?;
        let stored = db::load_deadlines(&mut transaction, &ids).await?;
        let mut steps = db::load_steps_of(&mut transaction, &ids).await?;
        let mut decisions = Vec::new();
        for id in &ids {
            // Judged under the lock: a deadline stopped meanwhile keeps its outcome.
            let Some(stored) = stored.get(id).filter(|s| s.state != SlaState::Stopped) else {
                continue;
            };
            done.checked += 1;
            let (steps, caseworker_id) = steps.remove(id).unwrap_or_default();
            let decision = decide(rules, Some(stored), None, &steps, caseworker_id);
            if let Some(decision) = decision.filter(|d| d.save) {
                done.changed += 1;
                if decision.publish.contains(&EventType::DeadlineRescheduled) {
                    done.rescheduled += 1;
                }
                decisions.push((decision, span.clone()));
            }
        }
        write(&mut transaction, rules, outbox, &decisions, now).await?;
        transaction.commit().await?;
    }
    if done.changed > 0 {
        outbox.wake();
    }
    Ok(done)
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

/// Lays out the planned timers (steps fired already for the same or a later due date, in this
/// revision or an earlier one, are not laid again).
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
        StopReason::InquiryUnknown => pb::DeadlineStopReason::InquiryUnknown,
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
            // An inquiry never received had no promise to keep: no verdict.
            result: if outcome.reason == StopReason::InquiryUnknown {
                pb::SlaResult::Unspecified.into()
            } else {
                result_to_proto(outcome.result).into()
            },
            working_days_over: if outcome.reason == StopReason::InquiryUnknown {
                0
            } else {
                days(outcome.working_days_over)
            },
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
    fn a_deadline_counted_from_the_monday_after_a_saturday_receipt_is_rescheduled_once() {
        // Received Saturday 28 November: due Friday 18 December. An earlier version counted
        // from Monday 30 November and stored Monday 21 December.
        let id = Uuid::now_v7();
        let counted_before = StoredDeadline {
            start_day: date(11, 30),
            due_date: date(12, 21),
            due_at: working_days::end_of_copenhagen_day(date(12, 21)),
            ..decide(
                &rules(),
                None,
                Some(receipt(id, at(11, 28), 0)),
                &[],
                "".into(),
            )
            .expect("a deadline")
            .deadline
        };
        let corrected =
            decide(&rules(), Some(&counted_before), None, &[], "".into()).expect("a deadline");
        assert_eq!(corrected.deadline.due_date, date(12, 18));
        assert_eq!(corrected.deadline.start_day, date(11, 28));
        assert_eq!(corrected.deadline.revision, 2);
        assert_eq!(corrected.publish, vec![EventType::DeadlineRescheduled]);
        assert!(corrected.save && corrected.cancel_timers && corrected.lay_out);

        let again =
            decide(&rules(), Some(&corrected.deadline), None, &[], "".into()).expect("a deadline");
        assert!(!again.save && again.publish.is_empty());
        assert!(!again.cancel_timers && !again.lay_out);
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
