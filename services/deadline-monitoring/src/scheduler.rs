//! Fires due timers: each exactly once, even with several replicas, and in order per inquiry.
//!
//! A batch claims due, unfired timers with `FOR UPDATE SKIP LOCKED` (so replicas take disjoint
//! rows) and only the earliest unfired timer of each inquiry (so a later step never overtakes an
//! earlier one held by another replica); in one transaction it marks them fired, writes each
//! notice's event to the outbox and its deliveries to the delivery queue. After downtime the
//! missed timers are simply due: they fire once each, oldest first, one step per inquiry per
//! batch. Time is read from the injected clock; the loop polls at a configurable interval and
//! can be woken.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_messaging::{EventType, Outbox, new_event};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message as _;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use working_days::Calendar;

use crate::apply::SOURCE;
use crate::delivery::{Channels, NoticeFacts, planned_deliveries};
use crate::domain::{NoticeKind, Recipient};

#[derive(Clone)]
pub struct Scheduler {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub outbox: Outbox,
    pub calendar: Calendar,
    pub channels: Channels,
    pub poll_interval: Duration,
    pub batch_size: i64,
    /// Wakes the loop at once (a test that moved the clock, or a delivery worker).
    pub wake: Arc<Notify>,
    /// Woken after a batch wrote deliveries.
    pub deliveries_wake: Arc<Notify>,
}

/// Claims due timers in firing order straight off the `timers_due` index (the LIMIT makes the
/// ordered index scan and per-row anti-join probes the cheap plan); the earliest unfired timer
/// of each inquiry only, and none another replica holds.
pub const DUE_TIMERS: &str = "SELECT t.timer_id FROM timers t \
     WHERE t.fired_at IS NULL AND t.fire_at <= $1 \
       AND NOT EXISTS (SELECT 1 FROM timers e WHERE e.inquiry_id = t.inquiry_id \
           AND e.fired_at IS NULL AND (e.fire_at, e.timer_id) < (t.fire_at, t.timer_id)) \
     ORDER BY t.fire_at, t.timer_id LIMIT $2 FOR UPDATE OF t SKIP LOCKED";

#[derive(sqlx::FromRow)]
struct DueTimer {
    timer_id: i64,
    inquiry_id: Uuid,
    step: String,
    kind: String,
    recipient: String,
    working_days: i32,
    due_date: NaiveDate,
    reference: String,
    department: String,
    caseworker_id: String,
}

impl Scheduler {
    /// Runs until `shutdown`; the batch in hand is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            let wait = match self.fire_due().await {
                Ok(fired) if fired > 0 => {
                    backoff = Duration::from_millis(100);
                    // More may be due (the next step of the same inquiries): go again at once.
                    continue;
                }
                Ok(_) => self.poll_interval,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "cannot fire timers yet");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("scheduler stopped");
    }

    /// Fires one batch of due timers; returns how many fired.
    pub async fn fire_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let mut transaction = self.pool.begin().await.context("no connection")?;
        let due: Vec<DueTimer> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH due AS ({DUE_TIMERS}) \
             SELECT t.timer_id, t.inquiry_id, t.step, t.kind, t.recipient, t.working_days, \
                    t.due_date, d.reference, d.department, d.caseworker_id \
             FROM due JOIN timers t ON t.timer_id = due.timer_id \
             JOIN deadlines d ON d.inquiry_id = t.inquiry_id \
             ORDER BY t.fire_at, t.timer_id"
        )))
        .bind(now)
        .bind(self.batch_size)
        .fetch_all(&mut *transaction)
        .await
        .context("cannot claim due timers")?;
        if due.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = due.iter().map(|t| t.timer_id).collect();
        sqlx::query("UPDATE timers SET fired_at = $1 WHERE timer_id = ANY($2)")
            .bind(now)
            .bind(&ids)
            .execute(&mut *transaction)
            .await
            .context("cannot mark timers fired")?;

        let mut event_ids = Vec::with_capacity(due.len());
        let mut subjects = Vec::with_capacity(due.len());
        let mut payloads = Vec::with_capacity(due.len());
        let mut deliveries = DeliveryRows::default();
        for timer in &due {
            let kind = NoticeKind::from_code(&timer.kind)
                .with_context(|| format!("unknown notice kind {:?}", timer.kind))?;
            let recipient = Recipient::from_code(&timer.recipient)
                .with_context(|| format!("unknown recipient {:?}", timer.recipient))?;
            let working_days = u32::try_from(timer.working_days).unwrap_or(0);
            let event = notice_event(timer, kind, recipient, now);
            let facts = NoticeFacts {
                event_type: event_type(kind).as_str(),
                inquiry_id: timer.inquiry_id,
                reference: &timer.reference,
                department: &timer.department,
                caseworker_id: &timer.caseworker_id,
                step: &timer.step,
                kind,
                recipient,
                working_days,
                due_date: timer.due_date,
                fired_at: now,
            };
            for planned in planned_deliveries(&self.channels, &self.calendar, &facts) {
                deliveries.timer_ids.push(timer.timer_id);
                deliveries.channels.push(planned.channel);
                deliveries.addresses.push(planned.address);
                deliveries.subjects.push(planned.subject);
                deliveries.bodies.push(planned.body);
                deliveries.not_before.push(planned.not_before);
            }
            event_ids.push(Uuid::parse_str(&event.id).context("event id")?);
            subjects.push(event.r#type.clone());
            payloads.push(event.encode_to_vec());
            tracing::info!(
                inquiry_id = %timer.inquiry_id,
                step = %timer.step,
                recipient = recipient.as_str(),
                "deadline.{}", kind.as_str()
            );
        }
        // One statement each for all events and all deliveries: a batch costs a few round trips.
        sqlx::query(
            "INSERT INTO outbox (event_id, subject, payload) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[])",
        )
        .bind(&event_ids)
        .bind(&subjects)
        .bind(&payloads)
        .execute(&mut *transaction)
        .await
        .context("cannot write notice events")?;
        if !deliveries.timer_ids.is_empty() {
            sqlx::query(
                "INSERT INTO deliveries (timer_id, channel, address, subject, body, next_attempt_at) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::timestamptz[])",
            )
            .bind(&deliveries.timer_ids)
            .bind(&deliveries.channels)
            .bind(&deliveries.addresses)
            .bind(&deliveries.subjects)
            .bind(&deliveries.bodies)
            .bind(&deliveries.not_before)
            .execute(&mut *transaction)
            .await
            .context("cannot queue deliveries")?;
        }
        transaction
            .commit()
            .await
            .context("cannot commit fired timers")?;
        self.outbox.wake();
        if !deliveries.timer_ids.is_empty() {
            self.deliveries_wake.notify_waiters();
        }
        Ok(due.len())
    }
}

#[derive(Default)]
struct DeliveryRows {
    timer_ids: Vec<i64>,
    channels: Vec<&'static str>,
    addresses: Vec<String>,
    subjects: Vec<String>,
    bodies: Vec<String>,
    not_before: Vec<DateTime<Utc>>,
}

pub fn event_type(kind: NoticeKind) -> EventType {
    match kind {
        NoticeKind::Warning => EventType::DeadlineWarning,
        NoticeKind::DueToday => EventType::DeadlineDueToday,
        NoticeKind::Breached => EventType::DeadlineBreached,
        NoticeKind::Escalated => EventType::DeadlineEscalated,
    }
}

pub fn kind_to_proto(kind: NoticeKind) -> pb::DeadlineNoticeKind {
    match kind {
        NoticeKind::Warning => pb::DeadlineNoticeKind::Warning,
        NoticeKind::DueToday => pb::DeadlineNoticeKind::DueToday,
        NoticeKind::Breached => pb::DeadlineNoticeKind::Breached,
        NoticeKind::Escalated => pb::DeadlineNoticeKind::Escalated,
    }
}

pub fn recipient_to_proto(recipient: Recipient) -> pb::NoticeRecipient {
    match recipient {
        Recipient::Caseworker => pb::NoticeRecipient::Caseworker,
        Recipient::HeadOfOffice => pb::NoticeRecipient::HeadOfOffice,
        Recipient::DepartmentDirector => pb::NoticeRecipient::DepartmentDirector,
        Recipient::Requester => pb::NoticeRecipient::Requester,
    }
}

fn notice_event(
    timer: &DueTimer,
    kind: NoticeKind,
    recipient: Recipient,
    now: DateTime<Utc>,
) -> pb::Event {
    new_event(
        SOURCE,
        event_type(kind),
        timer.inquiry_id,
        now,
        Data::DeadlineNotice(pb::DeadlineNotice {
            inquiry_id: timer.inquiry_id.to_string(),
            reference: timer.reference.clone(),
            department: timer.department.clone(),
            caseworker_id: timer.caseworker_id.clone(),
            kind: kind_to_proto(kind).into(),
            recipient: recipient_to_proto(recipient).into(),
            working_days: timer.working_days,
            due_date: Some(date(timer.due_date)),
            fired_at: Some(timestamp(now)),
            step: timer.step.clone(),
        }),
    )
}
