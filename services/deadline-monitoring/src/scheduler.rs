//! Fires due timers: each exactly once, even with several replicas, and in order per inquiry.
//!
//! A batch claims due, unfired timers with `FOR UPDATE SKIP LOCKED` (so replicas take disjoint
//! rows) and only the earliest unfired timer of each inquiry (so a later step never overtakes an
//! earlier one held by another replica); in one transaction it marks them fired, writes each
//! notice's event to the outbox and its deliveries to the delivery queue. After downtime the
//! missed timers are simply due: they fire once each, oldest first, one step per inquiry per
//! batch. Time is read from the injected clock; the loop polls at a configurable interval and
//! can be woken.
//!
//! Timers are held while intake's events are not all applied (the durable consumer reports
//! pending or unacknowledged messages): an inquiry answered on its due date whose answer is
//! still queued after downtime must not get a breach notice. While NATS cannot be asked, only
//! reminders to the caseworker fire. A hold ends after `max_hold`, so a stuck consumer cannot
//! silence breaches. An inquiry whose deadline is being changed right now (its lock is held) is
//! left for the next batch, so a stop racing the claim wins. A missed warning whose chain has a
//! later step due as well is marked fired but skipped: no event, no delivery.

use std::sync::{Arc, Mutex};
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
use crate::domain::{Backlog, NoticeKind, Recipient, Release, release, superseded};

/// The durable consumer whose backlog holds the timers.
pub const CONSUMER: &str = "deadline-monitoring-inquiries";
/// How long the scheduler waits for JetStream's consumer info before it counts as unknown.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Every notice kind, and those that fire while NATS cannot be asked.
pub const ALL_KINDS: [&str; 4] = ["warning", "due_today", "breached", "escalated"];
const CASEWORKER_KINDS: [&str; 2] = ["warning", "due_today"];

/// Asks JetStream whether every event of intake's has been applied, and keeps the hold's start.
#[derive(Clone)]
pub struct BacklogProbe {
    pub nats: async_nats::Client,
    pub jetstream: async_nats::jetstream::Context,
    /// The longest timers are held (`SCHEDULER_MAX_HOLD_SECS`).
    pub max_hold: Duration,
    held_since: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl BacklogProbe {
    pub fn new(nats: async_nats::Client, max_hold: Duration) -> Self {
        Self {
            jetstream: borgerraad_messaging::stream::jetstream(nats.clone()),
            nats,
            max_hold,
            held_since: Arc::default(),
        }
    }

    fn connected(&self) -> bool {
        self.nats.connection_state() == async_nats::connection::State::Connected
    }

    /// The consumer's backlog now.
    pub async fn backlog(&self) -> Backlog {
        if !self.connected() {
            return Backlog::Unknown;
        }
        let asked = tokio::time::timeout(
            PROBE_TIMEOUT,
            self.jetstream
                .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                    CONSUMER,
                    borgerraad_messaging::stream::STREAM_NAME,
                ),
        )
        .await;
        match asked {
            Ok(Ok(consumer)) => {
                let info = consumer.cached_info();
                if info.num_pending > 0 || info.num_ack_pending > 0 {
                    Backlog::Pending
                } else {
                    Backlog::Clear
                }
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "cannot read the consumer's backlog");
                Backlog::Unknown
            }
            Err(_) => Backlog::Unknown,
        }
    }

    fn reset(&self) {
        *self
            .held_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Which timers may fire at `now`, given `backlog`; remembers when the hold began.
    fn release(&self, backlog: Backlog, now: DateTime<Utc>) -> Release {
        let max_hold = chrono::Duration::from_std(self.max_hold).unwrap_or(chrono::Duration::MAX);
        let mut held_since = self
            .held_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let was_held = held_since.is_some();
        let (release, since) = release(backlog, *held_since, now, max_hold);
        match (was_held, since, release) {
            (false, Some(_), _) => {
                tracing::info!(?backlog, "holding timers until intake's events are applied");
            }
            (true, Some(since), Release::All) => tracing::warn!(
                ?backlog,
                held_since = %since,
                "timers held too long: firing them although events may be unapplied"
            ),
            (true, None, _) => tracing::info!("intake's events applied: timers fire again"),
            _ => {}
        }
        *held_since = since;
        release
    }
}

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
    /// Holds timers while intake's events are unapplied; `None` fires regardless (benchmarks).
    pub backlog: Option<BacklogProbe>,
}

/// Claims due timers in firing order straight off the `timers_due` index (the LIMIT makes the
/// ordered index scan and per-row anti-join probes the cheap plan); the earliest unfired timer
/// of each inquiry only, and none another replica holds; of the kinds in `$3`.
pub const DUE_TIMERS: &str = "SELECT t.timer_id FROM timers t \
     WHERE t.fired_at IS NULL AND t.fire_at <= $1 AND t.kind = ANY($3) \
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
    /// A later step of the same chain is due too.
    later_step_due: bool,
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

    /// Fires one batch of due timers; returns how many fired (skipped warnings included).
    pub async fn fire_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        // Known to be cut off from NATS: only caseworker reminders are even claimed, so held
        // breaches cannot fill the batch.
        let cut_off = self
            .backlog
            .as_ref()
            .filter(|probe| !probe.connected())
            .map(|probe| probe.release(Backlog::Unknown, now));
        let kinds: &[&str] = match cut_off {
            Some(Release::CaseworkerOnly) => &CASEWORKER_KINDS,
            _ => &ALL_KINDS,
        };
        let mut transaction = self.pool.begin().await.context("no connection")?;
        let claimed: Vec<DueTimer> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH due AS ({DUE_TIMERS}) \
             SELECT t.timer_id, t.inquiry_id, t.step, t.kind, t.recipient, t.working_days, \
                    t.due_date, d.reference, d.department, d.caseworker_id, \
                    EXISTS (SELECT 1 FROM timers l WHERE l.inquiry_id = t.inquiry_id \
                        AND l.fired_at IS NULL AND l.fire_at <= $1 \
                        AND (l.fire_at, l.timer_id) > (t.fire_at, t.timer_id)) AS later_step_due \
             FROM due JOIN timers t ON t.timer_id = due.timer_id \
             JOIN deadlines d ON d.inquiry_id = t.inquiry_id \
             ORDER BY t.fire_at, t.timer_id"
        )))
        .bind(now)
        .bind(self.batch_size)
        .bind(kinds)
        .fetch_all(&mut *transaction)
        .await
        .context("cannot claim due timers")?;
        if claimed.is_empty() {
            if let (Some(probe), true) = (&self.backlog, kinds.len() == ALL_KINDS.len()) {
                // Nothing is due, so nothing is held: a later hold starts afresh.
                probe.reset();
            }
            return Ok(0);
        }
        // The inquiry's lock, as every change of its deadline takes it: a change under way (a
        // stop whose DELETE waits on our row lock) goes first, and its timers are left alone;
        // a change that comes later waits for this batch.
        let inquiry_ids: Vec<Uuid> = claimed.iter().map(|t| t.inquiry_id).collect();
        let free: std::collections::HashSet<Uuid> = sqlx::query_scalar::<_, Uuid>(
            "SELECT inquiry_id FROM unnest($1::uuid[]) AS i(inquiry_id) \
             WHERE pg_try_advisory_xact_lock(hashtextextended(inquiry_id::text, 7))",
        )
        .bind(&inquiry_ids)
        .fetch_all(&mut *transaction)
        .await
        .context("cannot lock inquiries")?
        .into_iter()
        .collect();
        // Asked after the claim and the locks, so an event that reached the consumer before
        // them is seen as pending.
        let release = match (&self.backlog, cut_off) {
            (_, Some(release)) => release,
            (Some(probe), None) => probe.release(probe.backlog().await, now),
            (None, None) => Release::All,
        };
        let mut due = Vec::with_capacity(claimed.len());
        for timer in claimed {
            let kind = NoticeKind::from_code(&timer.kind)
                .with_context(|| format!("unknown notice kind {:?}", timer.kind))?;
            if free.contains(&timer.inquiry_id) && release.lets(kind) {
                due.push((timer, kind));
            }
        }
        if due.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = due.iter().map(|(t, _)| t.timer_id).collect();
        let skipped: Vec<i64> = due
            .iter()
            .filter(|(t, kind)| superseded(*kind, t.later_step_due))
            .map(|(t, _)| t.timer_id)
            .collect();
        sqlx::query(
            "UPDATE timers SET fired_at = $1, skipped = (timer_id = ANY($3)) \
             WHERE timer_id = ANY($2)",
        )
        .bind(now)
        .bind(&ids)
        .bind(&skipped)
        .execute(&mut *transaction)
        .await
        .context("cannot mark timers fired")?;

        let mut event_ids = Vec::with_capacity(due.len());
        let mut subjects = Vec::with_capacity(due.len());
        let mut payloads = Vec::with_capacity(due.len());
        let mut deliveries = DeliveryRows::default();
        for (timer, kind) in &due {
            let kind = *kind;
            if skipped.contains(&timer.timer_id) {
                tracing::info!(
                    inquiry_id = %timer.inquiry_id,
                    step = %timer.step,
                    "warning skipped: a later step is due too"
                );
                continue;
            }
            let recipient = Recipient::from_code(&timer.recipient)
                .with_context(|| format!("unknown recipient {:?}", timer.recipient))?;
            let working_days = u32::try_from(timer.working_days).unwrap_or(0);
            let event = notice_event(timer, kind, recipient, now);
            let notice_id = Uuid::parse_str(&event.id).context("event id")?;
            let facts = NoticeFacts {
                notice_id,
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
                deliveries.notice_ids.push(planned.notice_id);
                deliveries.channels.push(planned.channel);
                deliveries.addresses.push(planned.address);
                deliveries.subjects.push(planned.subject);
                deliveries.bodies.push(planned.body);
                deliveries.not_before.push(planned.not_before);
            }
            event_ids.push(notice_id);
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
        if !event_ids.is_empty() {
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
        }
        if !deliveries.timer_ids.is_empty() {
            sqlx::query(
                "INSERT INTO deliveries (timer_id, channel, address, subject, body, next_attempt_at, \
                 notice_id) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::timestamptz[], $7::uuid[])",
            )
            .bind(&deliveries.timer_ids)
            .bind(&deliveries.channels)
            .bind(&deliveries.addresses)
            .bind(&deliveries.subjects)
            .bind(&deliveries.bodies)
            .bind(&deliveries.not_before)
            .bind(&deliveries.notice_ids)
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
    notice_ids: Vec<Uuid>,
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
