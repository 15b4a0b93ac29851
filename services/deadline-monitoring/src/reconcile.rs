//! Periodic reconciliation with intake, so a lost or late event cannot hide a breach: open
//! deadlines are compared with the inquiry as intake has it (`GetInquiry`, its journal giving
//! every step), and open inquiries intake lists (`ListInquiries`) without a deadline here get
//! one. Repairs take the same path as events ([`crate::apply`]) and publish the same events.
//! A deadline whose inquiry intake does not know (an event about an inquiry never received, or
//! one forged) is stopped with the reason `inquiry_unknown` once intake has not known it for a
//! grace period, so it leaves no running clock and, through `deadline.stopped`, no figure.
//! Never reads intake's tables.

use std::time::Duration;

use anyhow::Context as _;
use borgerraad_messaging::Outbox;
use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::from_timestamp;
use borgerraad_proto::v1::{self as pb, intake_service_client::IntakeServiceClient};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::apply::{Change, Rules, apply};
use crate::db::Receipt;
use crate::domain::{InquiryStatus, Step, StepKind, StopReason, step_kind};
use crate::events::status_of;

#[derive(Clone)]
pub struct Reconciler {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub outbox: Outbox,
    pub rules: Rules,
    pub intake: IntakeServiceClient<AuthorizedChannel>,
    pub interval: Duration,
    /// How long intake must not know an inquiry before its deadline is stopped: covers an
    /// intake restored from a backup a little older than the stream, or a lagging replica.
    pub unknown_grace: chrono::Duration,
    /// Open deadlines checked per round, least recently checked first.
    pub batch_size: i64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub checked: usize,
    pub created: usize,
    /// Inquiries that could not be checked (logged; tried again in a later round).
    pub failed: usize,
}

const OPEN_STATUSES: [pb::InquiryStatus; 5] = [
    pb::InquiryStatus::Received,
    pb::InquiryStatus::Assessed,
    pb::InquiryStatus::Assigned,
    pb::InquiryStatus::InProgress,
    pb::InquiryStatus::AwaitingRequester,
];

impl Reconciler {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.interval) => {}
            }
            match self.reconcile_until(&shutdown).await {
                Ok(done) => tracing::info!(
                    checked = done.checked,
                    created = done.created,
                    failed = done.failed,
                    "reconciled with intake"
                ),
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot reconcile with intake yet"
                ),
            }
        }
        tracing::info!("reconciliation stopped");
    }

    /// One round: checks a batch of open deadlines and creates missing ones.
    pub async fn reconcile_once(&self) -> anyhow::Result<Reconciled> {
        self.reconcile_until(&CancellationToken::new()).await
    }

    /// One round that ends early at `shutdown` (checked between inquiries). One inquiry that
    /// cannot be checked is logged and set back in the queue; it never ends the round.
    pub async fn reconcile_until(
        &self,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Reconciled> {
        let mut done = Reconciled::default();
        let open: Vec<Uuid> = sqlx::query_scalar(
            "SELECT inquiry_id FROM deadlines WHERE state <> 'stopped' \
             ORDER BY reconciled_at NULLS FIRST LIMIT $1",
        )
        .bind(self.batch_size)
        .fetch_all(&self.pool)
        .await
        .context("cannot list open deadlines")?;
        for inquiry_id in open {
            if shutdown.is_cancelled() {
                return Ok(done);
            }
            if self.check_or_set_aside(inquiry_id).await {
                done.checked += 1;
            } else {
                done.failed += 1;
            }
        }
        for status in OPEN_STATUSES {
            if shutdown.is_cancelled() {
                return Ok(done);
            }
            let mut page_token = String::new();
            loop {
                let page = self
                    .intake
                    .clone()
                    .list_inquiries(pb::ListInquiriesRequest {
                        page_size: 500,
                        page_token: page_token.clone(),
                        status: status.into(),
                        ..Default::default()
                    })
                    .await
                    .context("intake ListInquiries failed")?
                    .into_inner();
                let ids: Vec<Uuid> = page
                    .inquiries
                    .iter()
                    .filter_map(|inquiry| Uuid::parse_str(&inquiry.inquiry_id).ok())
                    .collect();
                let known: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT inquiry_id FROM deadlines WHERE inquiry_id = ANY($1)",
                )
                .bind(&ids)
                .fetch_all(&self.pool)
                .await
                .context("cannot look up deadlines")?;
                for id in ids.into_iter().filter(|id| !known.contains(id)) {
                    if shutdown.is_cancelled() {
                        return Ok(done);
                    }
                    if self.check_or_set_aside(id).await {
                        done.created += 1;
                    } else {
                        done.failed += 1;
                    }
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        Ok(done)
    }

    /// Checks one inquiry; on failure logs it and marks it reconciled now, so it goes to the
    /// back of the queue instead of blocking every later round. True when it was checked.
    async fn check_or_set_aside(&self, inquiry_id: Uuid) -> bool {
        let Err(error) = self.check(inquiry_id).await else {
            return true;
        };
        tracing::warn!(%inquiry_id, error = format!("{error:#}"), "cannot reconcile inquiry");
        let set_aside =
            sqlx::query("UPDATE deadlines SET reconciled_at = $2 WHERE inquiry_id = $1")
                .bind(inquiry_id)
                .bind(self.clock.now())
                .execute(&self.pool)
                .await;
        if let Err(error) = set_aside {
            tracing::warn!(%inquiry_id, %error, "cannot set the inquiry back in the queue");
        }
        false
    }

    /// Brings one deadline in line with intake's record of the inquiry.
    pub async fn check(&self, inquiry_id: Uuid) -> anyhow::Result<()> {
        let now = self.clock.now();
        let inquiry = match self
            .intake
            .clone()
            .get_inquiry(pb::GetInquiryRequest {
                inquiry_id: inquiry_id.to_string(),
                ..Default::default()
            })
            .await
        {
            Ok(response) => Some(response.into_inner()),
            Err(status) if status.code() == tonic::Code::NotFound => None,
            Err(status) => return Err(status).context("intake GetInquiry failed"),
        };
        let mut transaction = self.pool.begin().await.context("no connection")?;
        if let Some(inquiry) = inquiry {
            let mut before = InquiryStatus::Unknown;
            let last_version = inquiry.journal.iter().map(|e| e.version).max();
            let mut steps = Vec::with_capacity(inquiry.journal.len());
            for entry in &inquiry.journal {
                let after = status_of(entry.status_after());
                let Some(at) = entry.at.as_ref().and_then(from_timestamp) else {
                    continue;
                };
                let step = Step {
                    version: entry.version,
                    at,
                    kind: step_kind(before, after),
                };
                let caseworker = if Some(entry.version) == last_version {
                    inquiry.caseworker_id.clone()
                } else {
                    String::new()
                };
                steps.push((step, caseworker));
                before = after;
            }
            let receipt =
                inquiry
                    .received_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .map(|received_at| Receipt {
                        inquiry_id,
                        department: inquiry.department.clone(),
                        reference: inquiry.reference.clone(),
                        received_at,
                        answers_version: inquiry.version,
                    });
            let change = Change {
                inquiry_id,
                receipt,
                steps,
                span: tracing::Span::current(),
            };
            apply(&mut transaction, &self.rules, &self.outbox, change, now).await?;
            sqlx::query("UPDATE deadlines SET unknown_since = NULL WHERE inquiry_id = $1")
                .bind(inquiry_id)
                .execute(&mut *transaction)
                .await?;
        } else {
            self.stop_when_unknown_too_long(&mut transaction, inquiry_id, now)
                .await?;
        }
        sqlx::query("UPDATE deadlines SET reconciled_at = $2 WHERE inquiry_id = $1")
            .bind(inquiry_id)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        self.outbox.wake();
        Ok(())
    }
    /// Intake does not know `inquiry_id`: notes since when, and once that is longer ago than
    /// the grace period, stops its deadline with the reason `inquiry_unknown` (a step after
    /// every real one), which cancels its timers and publishes `deadline.stopped`.
    async fn stop_when_unknown_too_long(
        &self,
        transaction: &mut sqlx::PgConnection,
        inquiry_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<()> {
        let unknown_since: Option<Option<chrono::DateTime<chrono::Utc>>> = sqlx::query_scalar(
            "UPDATE deadlines SET unknown_since = COALESCE(unknown_since, $2) \
             WHERE inquiry_id = $1 AND state <> 'stopped' RETURNING unknown_since",
        )
        .bind(inquiry_id)
        .bind(now)
        .fetch_optional(&mut *transaction)
        .await
        .context("cannot note an unknown inquiry")?;
        let Some(Some(since)) = unknown_since else {
            // No open deadline: listed by intake a moment ago, or stopped meanwhile.
            return Ok(());
        };
        if !unknown_long_enough(since, now, self.unknown_grace) {
            tracing::warn!(%inquiry_id, %since, "intake does not know an inquiry with a deadline");
            return Ok(());
        }
        tracing::warn!(
            %inquiry_id,
            %since,
            "intake has not known an inquiry with a deadline for the grace period: stopping it"
        );
        let change = Change {
            inquiry_id,
            receipt: None,
            steps: vec![(unknown_inquiry_step(now), String::new())],
            span: tracing::Span::current(),
        };
        apply(transaction, &self.rules, &self.outbox, change, now).await
    }
}

/// Whether an inquiry intake has not known since `since` has been unknown for `grace` at `now`.
pub fn unknown_long_enough(
    since: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    grace: chrono::Duration,
) -> bool {
    now - since >= grace
}

/// The step that stops the deadline of an inquiry intake does not know: ordered after any step
/// intake could have taken, so nothing replays past it.
pub fn unknown_inquiry_step(at: chrono::DateTime<chrono::Utc>) -> Step {
    Step {
        version: i64::MAX,
        at,
        kind: StepKind::Stop(StopReason::InquiryUnknown),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn an_unknown_inquiry_is_stopped_only_once_the_grace_period_has_passed() {
        let since = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
            .single()
            .expect("a time");
        let grace = chrono::Duration::hours(1);
        assert!(!unknown_long_enough(since, since, grace));
        assert!(!unknown_long_enough(
            since,
            since + chrono::Duration::minutes(59),
            grace
        ));
        assert!(unknown_long_enough(since, since + grace, grace));
    }

    #[test]
    fn the_stop_of_an_unknown_inquiry_comes_after_every_real_step() {
        let step = unknown_inquiry_step(chrono::Utc::now());
        assert_eq!(step.version, i64::MAX);
        assert_eq!(step.kind.as_str(), "inquiry_unknown");
        assert_eq!(StepKind::from_code("inquiry_unknown"), Some(step.kind));
    }
}
