//! Delivers fired notices by e-mail (SMTP) and webhook (HTTPS POST) from the `deliveries` queue,
//! which the scheduler writes in the same transaction as the firing, so a crash never loses a
//! notice. Each delivery is claimed with `FOR UPDATE SKIP LOCKED`, tried, and marked delivered,
//! rescheduled with a growing delay, or set aside as a dead letter after the last attempt.
//!
//! - [`smtp`]: e-mail through the relay with STARTTLS or implicit TLS and authentication.
//! - [`webhook`]: a signed JSON POST over HTTPS.
//! - [`tls`]: which certificates the two channels trust.

pub mod smtp;
pub mod tls;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_platform::clock::SharedClock;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use working_days::Calendar;

use crate::domain::{NoticeKind, Recipient, earliest_delivery, render};

/// Where staff notices go by e-mail, by role (`NOTICE_EMAIL_*`). Staff addresses only: the
/// requester is never e-mailed.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    /// `{caseworker_id}` is replaced by the caseworker's id, e.g. `{caseworker_id}@odense.dk`.
    pub caseworker_pattern: Option<String>,
    pub head_of_office: Option<String>,
    /// Department code -> the director's address.
    pub directors: HashMap<String, String>,
}

/// Which channels are on.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// E-mail is on when an SMTP server is configured.
    pub email: bool,
    pub addresses: Addresses,
    /// `NOTICE_WEBHOOK_URL`: every notice is POSTed there as JSON.
    pub webhook_url: Option<String>,
}

impl Addresses {
    /// The e-mail address for a notice, falling back to the head of office when the caseworker
    /// or director has none (an unassigned inquiry, an unlisted department), so no notice is
    /// dropped for want of an address.
    pub fn email_for(
        &self,
        recipient: Recipient,
        department: &str,
        caseworker_id: &str,
    ) -> Option<String> {
        let personal = match recipient {
            Recipient::Requester => return None,
            Recipient::Caseworker => self.caseworker_pattern.as_ref().and_then(|pattern| {
                let safe = !caseworker_id.is_empty()
                    && caseworker_id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                safe.then(|| pattern.replace("{caseworker_id}", caseworker_id))
            }),
            Recipient::DepartmentDirector => self.directors.get(department).cloned(),
            Recipient::HeadOfOffice => None,
        };
        personal.or_else(|| self.head_of_office.clone())
    }
}

/// What a fired notice is about (ids and the reference only).
#[derive(Debug, Clone)]
pub struct NoticeFacts<'a> {
    /// The notice event's id: the id receivers deduplicate by.
    pub notice_id: Uuid,
    pub event_type: &'a str,
    pub inquiry_id: Uuid,
    pub reference: &'a str,
    pub department: &'a str,
    pub caseworker_id: &'a str,
    pub step: &'a str,
    pub kind: NoticeKind,
    pub recipient: Recipient,
    pub working_days: u32,
    pub due_date: NaiveDate,
    pub fired_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub notice_id: Uuid,
    pub channel: &'static str,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub not_before: DateTime<Utc>,
}

/// The deliveries of one notice: an e-mail to a staff recipient, and the webhook.
pub fn planned_deliveries(
    channels: &Channels,
    calendar: &Calendar,
    facts: &NoticeFacts<'_>,
) -> Vec<PlannedDelivery> {
    let text = render(
        facts.kind,
        facts.recipient,
        facts.reference,
        facts.working_days,
        facts.due_date,
    );
    let not_before = earliest_delivery(calendar, facts.recipient, facts.fired_at);
    let mut planned = Vec::new();
    if channels.email
        && let Some(address) =
            channels
                .addresses
                .email_for(facts.recipient, facts.department, facts.caseworker_id)
    {
        planned.push(PlannedDelivery {
            notice_id: facts.notice_id,
            channel: "email",
            address,
            subject: text.subject.clone(),
            body: text.body.clone(),
            not_before,
        });
    }
    if let Some(url) = &channels.webhook_url {
        let payload = serde_json::json!({
            "notice_id": facts.notice_id.to_string(),
            "type": facts.event_type,
            "inquiry_id": facts.inquiry_id.to_string(),
            "reference": facts.reference,
            "department": facts.department,
            "caseworker_id": facts.caseworker_id,
            "step": facts.step,
            "recipient": facts.recipient.as_str(),
            "working_days": facts.working_days,
            "due_date": facts.due_date.to_string(),
            "fired_at": facts.fired_at.to_rfc3339(),
            "subject": text.subject,
            "text": text.body,
        });
        planned.push(PlannedDelivery {
            notice_id: facts.notice_id,
            channel: "webhook",
            address: url.clone(),
            subject: String::new(),
            body: payload.to_string(),
            not_before,
        });
    }
    planned
}

/// How deliveries are tried.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub smtp: Option<smtp::SmtpSettings>,
    /// Required when a webhook URL is configured: webhook notices are always signed.
    pub webhook: Option<webhook::WebhookSettings>,
    /// Attempts before a delivery becomes a dead letter (`DELIVERY_MAX_ATTEMPTS`).
    pub max_attempts: i32,
    /// The first retry delay; it doubles per attempt, at most an hour (`DELIVERY_RETRY_BASE_MS`).
    pub retry_base: Duration,
    pub poll_interval: Duration,
    pub concurrency: usize,
    pub timeout: Duration,
}

/// The delay before attempt `attempts + 1`: base, 2 × base, 4 × base … at most an hour.
pub fn retry_delay(base: Duration, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    base.saturating_mul(2u32.saturating_pow(exponent))
        .min(Duration::from_secs(3600))
}

#[derive(Clone)]
pub struct DeliveryWorker {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub calendar: Calendar,
    pub settings: DeliverySettings,
    /// Built from `settings.smtp` and `settings.webhook` by [`DeliveryWorker::new`].
    mailer: Option<smtp::Mailer>,
    webhook: Option<webhook::WebhookClient>,
    pub wake: Arc<Notify>,
}

#[derive(sqlx::FromRow)]
struct PendingDelivery {
    delivery_id: i64,
    notice_id: Uuid,
    channel: String,
    address: String,
    subject: String,
    body: String,
    attempts: i32,
    recipient: String,
}

impl DeliveryWorker {
    /// Prepares the channels: reads the CA files, checks the signing secret. Connects to
    /// nothing yet.
    pub fn new(
        pool: PgPool,
        clock: SharedClock,
        calendar: Calendar,
        settings: DeliverySettings,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let mailer = settings.smtp.as_ref().map(smtp::Mailer::new).transpose()?;
        let webhook = settings
            .webhook
            .as_ref()
            .map(webhook::WebhookClient::new)
            .transpose()?;
        Ok(Self {
            pool,
            clock,
            calendar,
            settings,
            mailer,
            webhook,
            wake,
        })
    }

    /// Runs `concurrency` delivery loops until `shutdown`; each finishes its delivery in hand.
    pub async fn run(self, shutdown: CancellationToken) {
        let loops = (0..self.settings.concurrency.max(1)).map(|_| {
            let worker = self.clone();
            let shutdown = shutdown.clone();
            async move { worker.run_one(shutdown).await }
        });
        futures::future::join_all(loops).await;
        tracing::info!("delivery stopped");
    }

    async fn run_one(&self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let wait = match self.deliver_next().await {
                Ok(true) => continue,
                Ok(false) => self.settings.poll_interval,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "cannot deliver notices yet");
                    self.settings.poll_interval.max(Duration::from_secs(1))
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Tries the next due delivery; false when none is due.
    pub async fn deliver_next(&self) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let mut transaction = self.pool.begin().await.context("no connection")?;
        let pending: Option<PendingDelivery> = sqlx::query_as(
            "SELECT d.delivery_id, d.notice_id, d.channel, d.address, d.subject, d.body, d.attempts, t.recipient \
             FROM deliveries d JOIN timers t ON t.timer_id = d.timer_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             ORDER BY d.next_attempt_at, d.delivery_id LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
        )
        .bind(now)
        .fetch_optional(&mut *transaction)
        .await
        .context("cannot claim a delivery")?;
        let Some(pending) = pending else {
            return Ok(false);
        };
        let sent = tokio::time::timeout(self.settings.timeout, self.send(&pending))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out")));
        let attempts = pending.attempts + 1;
        match sent {
            Ok(()) => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'delivered', attempts = $2, delivered_at = $3, \
                     last_error = NULL WHERE delivery_id = $1",
                )
                .bind(pending.delivery_id)
                .bind(attempts)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
                tracing::info!(delivery_id = pending.delivery_id, channel = %pending.channel, "notice delivered");
            }
            Err(error) if attempts >= self.settings.max_attempts => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'dead_letter', attempts = $2, \
                     dead_lettered_at = $3, last_error = $4 WHERE delivery_id = $1",
                )
                .bind(pending.delivery_id)
                .bind(attempts)
                .bind(now)
                .bind(format!("{error:#}"))
                .execute(&mut *transaction)
                .await?;
                tracing::error!(delivery_id = pending.delivery_id, channel = %pending.channel, attempts, error = format!("{error:#}"), "notice set aside as dead letter");
            }
            Err(error) => {
                let recipient =
                    Recipient::from_code(&pending.recipient).unwrap_or(Recipient::Requester);
                let delay =
                    chrono::Duration::from_std(retry_delay(self.settings.retry_base, attempts))
                        .unwrap_or(chrono::Duration::hours(1));
                let next = earliest_delivery(&self.calendar, recipient, now + delay);
                sqlx::query(
                    "UPDATE deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4 \
                     WHERE delivery_id = $1",
                )
                .bind(pending.delivery_id)
                .bind(attempts)
                .bind(next)
                .bind(format!("{error:#}"))
                .execute(&mut *transaction)
                .await?;
                tracing::warn!(delivery_id = pending.delivery_id, channel = %pending.channel, attempts, error = format!("{error:#}"), "notice delivery failed; will retry");
            }
        }
        transaction.commit().await?;
        Ok(true)
    }

    async fn send(&self, delivery: &PendingDelivery) -> anyhow::Result<()> {
        match delivery.channel.as_str() {
            "email" => {
                let mailer = self.mailer.as_ref().context("no SMTP server configured")?;
                mailer
                    .send(
                        delivery.notice_id,
                        &delivery.address,
                        &delivery.subject,
                        &delivery.body,
                    )
                    .await
            }
            "webhook" => {
                let client = self
                    .webhook
                    .as_ref()
                    .context("no webhook signing secret configured")?;
                client
                    .post_json(&delivery.address, &delivery.body, delivery.notice_id)
                    .await
            }
            other => anyhow::bail!("unknown channel {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses() -> Addresses {
        Addresses {
            caseworker_pattern: Some("{caseworker_id}@borgerraad.example".into()),
            head_of_office: Some("leder@borgerraad.example".into()),
            directors: HashMap::from([("by-og-kultur".into(), "direktor.bkf@example".into())]),
        }
    }

    #[test]
    fn each_role_gets_its_configured_address_and_falls_back_to_the_head_of_office() {
        let a = addresses();
        let cases = [
            (
                Recipient::Caseworker,
                "by-og-kultur",
                "cw-17",
                Some("cw-17@borgerraad.example"),
            ),
            (
                Recipient::Caseworker,
                "by-og-kultur",
                "",
                Some("leder@borgerraad.example"),
            ),
            (
                Recipient::Caseworker,
                "by-og-kultur",
                "a b@x",
                Some("leder@borgerraad.example"),
            ),
            (
                Recipient::HeadOfOffice,
                "by-og-kultur",
                "cw-17",
                Some("leder@borgerraad.example"),
            ),
            (
                Recipient::DepartmentDirector,
                "by-og-kultur",
                "",
                Some("direktor.bkf@example"),
            ),
            (
                Recipient::DepartmentDirector,
                "social",
                "",
                Some("leder@borgerraad.example"),
            ),
            (Recipient::Requester, "by-og-kultur", "cw-17", None),
        ];
        for (recipient, department, caseworker, expected) in cases {
            assert_eq!(
                a.email_for(recipient, department, caseworker).as_deref(),
                expected,
                "{recipient:?} {department} {caseworker:?}"
            );
        }
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let base = Duration::from_secs(30);
        let delays: Vec<_> = (1..=9).map(|a| retry_delay(base, a).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
