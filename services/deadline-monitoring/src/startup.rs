//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::settings::{CommonSettings, Secret, parsed_var, secret_var, var};
use borgerraad_platform::tls::{ClientTls, client_endpoint};
use borgerraad_proto::v1::deadline_monitoring_service_server::DeadlineMonitoringServiceServer;
use borgerraad_proto::v1::intake_service_client::IntakeServiceClient;
use futures::FutureExt as _;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use working_days::{Calendar, CalendarConfig};

use crate::apply::{REDERIVE_BATCH_SIZE, Rules, lay_out_missing_timers, rederive_open_deadlines};
use crate::delivery::smtp::{SmtpSecurity, SmtpSettings};
use crate::delivery::webhook::{self, WebhookSettings};
use crate::delivery::{Addresses, Channels, DeliverySettings, DeliveryWorker};
use crate::domain::{DEFAULT_WORKING_DAYS, NoticePolicy};
use crate::events::TrackInquiries;
use crate::grpc::DeadlineApi;
use crate::reconcile::Reconciler;
use crate::scheduler::{BacklogProbe, CONSUMER, Scheduler};

pub const SERVICE_NAME: &str = "deadline-monitoring";
/// The service's schema; SQL identifiers cannot hold a dash.
pub const SCHEMA: &str = "deadline_monitoring";
pub const DEFAULT_PORT: u16 = 50053;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Working days to answer in (`ANSWER_WORKING_DAYS`, default 15).
    pub working_days: u32,
    /// `CLOSING_DAYS` (observed closing days: `constitution_day,christmas_eve,new_years_eve`,
    /// the default, or `none`) and `EXTRA_CLOSING_DAYS` (`YYYY-MM-DD,…`).
    pub calendar: CalendarConfig,
    /// `WARNING_WORKING_DAYS` (default `5,2`), `ESCALATIONS` (default `5:department_director`),
    /// `NOTIFY_REQUESTER_ON_BREACH` (default false).
    pub policy: NoticePolicy,
    /// How often the scheduler looks for due timers (`SCHEDULER_POLL_INTERVAL_MS`, default 1000).
    pub poll_interval: Duration,
    /// Timers fired per transaction (`SCHEDULER_BATCH_SIZE`, default 1000).
    pub scheduler_batch_size: i64,
    /// The longest the scheduler holds due timers while intake's events are unapplied or NATS
    /// cannot be asked (`SCHEDULER_MAX_HOLD_SECS`, default 900); then they fire anyway.
    pub scheduler_max_hold: Duration,
    /// Intake's gRPC address for reconciliation (`INTAKE_URL`, default https://127.0.0.1:50051,
    /// or http:// for a client that only speaks plain text).
    pub intake_url: String,
    /// What the call to intake trusts and presents (`GRPC_TLS_CA_FILE`,
    /// `GRPC_TLS_CLIENT_CERT_FILE`/`GRPC_TLS_CLIENT_KEY_FILE`; `GRPC_PLAINTEXT` for `http://`).
    /// The default trusts nothing: set it, or intake cannot be reached.
    pub intake_tls: ClientTls,
    /// `RECONCILE_INTERVAL_SECS` (default 300).
    pub reconcile_interval: Duration,
    /// How long intake must not know an inquiry before its deadline is stopped as
    /// `inquiry_unknown` (`RECONCILE_UNKNOWN_GRACE_SECS`, default 3600), by the service's clock.
    pub unknown_inquiry_grace: Duration,
    /// `NOTICE_EMAIL_CASEWORKER` (pattern with `{caseworker_id}`), `NOTICE_EMAIL_HEAD_OF_OFFICE`,
    /// `NOTICE_EMAIL_DIRECTORS` (`department=address,…`), `NOTICE_WEBHOOK_URL`.
    pub channels: Channels,
    /// `SMTP_URL` (`smtp://host:port` with STARTTLS, `smtps://host:port` with implicit TLS;
    /// unset: no e-mail), `SMTP_FROM`, `SMTP_USER`, `SMTP_PASSWORD(_FILE)`, `SMTP_TLS_CA_FILE`,
    /// `SMTP_PLAINTEXT` (development); `WEBHOOK_SIGNING_SECRET(_FILE)` (required with a webhook),
    /// `WEBHOOK_TLS_CA_FILE`, `WEBHOOK_PLAINTEXT` (development); `DELIVERY_MAX_ATTEMPTS`
    /// (default 8), `DELIVERY_RETRY_BASE_MS` (default 30000).
    pub delivery: DeliverySettings,
}

impl Settings {
    /// The defaults around `common`, as when no further variable is set.
    pub fn new(common: CommonSettings) -> Self {
        Self {
            common,
            working_days: DEFAULT_WORKING_DAYS,
            calendar: CalendarConfig::default(),
            policy: NoticePolicy::default(),
            poll_interval: Duration::from_secs(1),
            scheduler_batch_size: 1000,
            scheduler_max_hold: Duration::from_secs(900),
            intake_url: "https://127.0.0.1:50051".into(),
            intake_tls: ClientTls::default(),
            reconcile_interval: Duration::from_secs(300),
            unknown_inquiry_grace: Duration::from_secs(3600),
            channels: Channels::default(),
            delivery: DeliverySettings {
                smtp: None,
                webhook: None,
                max_attempts: 8,
                retry_base: Duration::from_secs(30),
                poll_interval: Duration::from_secs(1),
                concurrency: 4,
                timeout: Duration::from_secs(30),
            },
        }
    }

    pub fn from_env() -> anyhow::Result<Self> {
        let mut settings = Self::new(CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?);
        settings.working_days = parsed_var("ANSWER_WORKING_DAYS", DEFAULT_WORKING_DAYS)?;
        anyhow::ensure!(
            (1..=250).contains(&settings.working_days),
            "ANSWER_WORKING_DAYS must be 1-250"
        );
        // Parsed as eligibility parses it, so both services count the same working days.
        settings.calendar = CalendarConfig::from_env().map_err(anyhow::Error::msg)?;
        let mut policy = NoticePolicy::parse(
            &var("WARNING_WORKING_DAYS").unwrap_or_else(|| "5,2".into()),
            &var("ESCALATIONS").unwrap_or_else(|| "5:department_director".into()),
        )
        .map_err(|problem| anyhow::anyhow!("WARNING_WORKING_DAYS/ESCALATIONS: {problem}"))?;
        policy.notify_requester_on_breach = parsed_var("NOTIFY_REQUESTER_ON_BREACH", false)?;
        settings.policy = policy;
        settings.poll_interval =
            Duration::from_millis(parsed_var("SCHEDULER_POLL_INTERVAL_MS", 1000u64)?.max(10));
        settings.delivery.poll_interval = settings.poll_interval;
        settings.scheduler_batch_size =
            parsed_var("SCHEDULER_BATCH_SIZE", 1000i64)?.clamp(1, 10_000);
        settings.scheduler_max_hold =
            Duration::from_secs(parsed_var("SCHEDULER_MAX_HOLD_SECS", 900u64)?);
        settings.intake_tls = ClientTls::from_env()?;
        settings.intake_url = var("INTAKE_URL").unwrap_or_else(|| {
            format!("{}://127.0.0.1:50051", settings.intake_tls.default_scheme())
        });
        settings.reconcile_interval =
            Duration::from_secs(parsed_var("RECONCILE_INTERVAL_SECS", 300u64)?.max(1));
        settings.unknown_inquiry_grace =
            Duration::from_secs(parsed_var("RECONCILE_UNKNOWN_GRACE_SECS", 3600u64)?);
        settings.channels.addresses = Addresses {
            caseworker_pattern: var("NOTICE_EMAIL_CASEWORKER"),
            head_of_office: var("NOTICE_EMAIL_HEAD_OF_OFFICE"),
            directors: directors(&var("NOTICE_EMAIL_DIRECTORS").unwrap_or_default())?,
        };
        settings.channels.webhook_url = var("NOTICE_WEBHOOK_URL");
        if let Some(url) = &settings.channels.webhook_url {
            let plaintext = parsed_var("WEBHOOK_PLAINTEXT", false)?;
            webhook::check_url(url, plaintext)?;
            let signing_secret = secret_var("WEBHOOK_SIGNING_SECRET")?.context(
                "NOTICE_WEBHOOK_URL is set but WEBHOOK_SIGNING_SECRET (or \
                 WEBHOOK_SIGNING_SECRET_FILE) is not: webhook notices are always signed; set a \
                 secret shared with the receiver",
            )?;
            settings.delivery.webhook = Some(WebhookSettings {
                signing_secret: Secret::new(signing_secret),
                ca_file: var("WEBHOOK_TLS_CA_FILE").map(Into::into),
                plaintext,
            });
        }
        if let Some(url) = var("SMTP_URL") {
            let from = var("SMTP_FROM").unwrap_or_else(|| "fristovervaagning@localhost".into());
            let mut smtp = SmtpSettings::parse(&url, from, parsed_var("SMTP_PLAINTEXT", false)?)?;
            smtp.ca_file = var("SMTP_TLS_CA_FILE").map(Into::into);
            smtp.credentials = match (var("SMTP_USER"), secret_var("SMTP_PASSWORD")?) {
                (Some(user), Some(password)) => Some((user, Secret::new(password))),
                (None, None) if smtp.security == SmtpSecurity::Plaintext => None,
                (None, None) => anyhow::bail!(
                    "SMTP_URL is set but SMTP_USER and SMTP_PASSWORD (or SMTP_PASSWORD_FILE) are \
                     not: notices are sent to the relay authenticated"
                ),
                (Some(_), None) => anyhow::bail!(
                    "SMTP_USER is set but SMTP_PASSWORD (or SMTP_PASSWORD_FILE) is not"
                ),
                (None, Some(_)) => anyhow::bail!("SMTP_PASSWORD is set but SMTP_USER is not"),
            };
            settings.delivery.smtp = Some(smtp);
            settings.channels.email = true;
        }
        settings.delivery.max_attempts = parsed_var("DELIVERY_MAX_ATTEMPTS", 8i32)?.clamp(1, 100);
        settings.delivery.retry_base =
            Duration::from_millis(parsed_var("DELIVERY_RETRY_BASE_MS", 30_000u64)?);
        Ok(settings)
    }
}

fn directors(value: &str) -> anyhow::Result<HashMap<String, String>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (department, address) = part
                .split_once('=')
                .filter(|(_, address)| address.contains('@'))
                .with_context(|| {
                    format!("NOTICE_EMAIL_DIRECTORS: {part:?} is not department=address")
                })?;
            Ok((department.trim().to_owned(), address.trim().to_owned()))
        })
        .collect()
}

/// Refuses a webhook without a signing secret or with a plain URL not explicitly allowed, and
/// says loudly when a channel runs unencrypted.
fn check_notice_channels(settings: &Settings) -> anyhow::Result<()> {
    if let Some(url) = &settings.channels.webhook_url {
        let webhook = settings.delivery.webhook.as_ref().context(
            "a webhook URL is configured without WEBHOOK_SIGNING_SECRET (or \
             WEBHOOK_SIGNING_SECRET_FILE): webhook notices are always signed",
        )?;
        webhook::check_url(url, webhook.plaintext)?;
        if !url.starts_with("https://") {
            tracing::warn!(
                "WEBHOOK_PLAINTEXT=true: webhook notices travel unencrypted; for development only"
            );
        }
    }
    if let Some(smtp) = &settings.delivery.smtp
        && smtp.security == SmtpSecurity::Plaintext
    {
        tracing::warn!(
            "SMTP_PLAINTEXT=true: notice e-mails and SMTP credentials travel unencrypted; for \
             development only"
        );
    }
    Ok(())
}

pub struct Application {
    core: ServiceCore,
    outbox: Outbox,
    tracker: TrackInquiries,
    api: DeadlineApi,
    scheduler: Scheduler,
    deliveries: DeliveryWorker,
    reconciler: Reconciler,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        check_notice_channels(&settings)?;
        let core = ServiceCore::connect(&settings.common, SCHEMA, 32, &crate::db::MIGRATOR).await?;
        let pool = core.pool.clone();
        let outbox = Outbox::new();
        let rules = Rules {
            calendar: Calendar::danish(settings.calendar.clone()),
            working_days: settings.working_days,
            policy: settings.policy.clone(),
        };
        let deliveries_wake = Arc::new(Notify::new());
        let deliveries = DeliveryWorker::new(
            pool.clone(),
            clock.clone(),
            rules.calendar.clone(),
            settings.delivery.clone(),
            deliveries_wake.clone(),
        )?;
        let intake = client_endpoint("INTAKE_URL", &settings.intake_url, &settings.intake_tls)?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .connect_lazy();
        Ok(Self {
            tracker: TrackInquiries {
                outbox: outbox.clone(),
                clock: clock.clone(),
                rules: rules.clone(),
            },
            api: DeadlineApi {
                pool: pool.clone(),
                clock: clock.clone(),
                calendar: rules.calendar.clone(),
                working_days: settings.working_days,
            },
            scheduler: Scheduler {
                pool: pool.clone(),
                clock: clock.clone(),
                outbox: outbox.clone(),
                calendar: rules.calendar.clone(),
                channels: settings.channels.clone(),
                poll_interval: settings.poll_interval,
                batch_size: settings.scheduler_batch_size,
                wake: Arc::new(Notify::new()),
                deliveries_wake: deliveries_wake.clone(),
                backlog: Some(BacklogProbe::new(
                    core.nats.clone(),
                    settings.scheduler_max_hold,
                )),
            },
            deliveries,
            reconciler: Reconciler {
                pool,
                clock,
                outbox: outbox.clone(),
                rules,
                intake: IntakeServiceClient::new(settings.common.auth.authorized(intake)?),
                interval: settings.reconcile_interval,
                unknown_grace: chrono::Duration::from_std(settings.unknown_inquiry_grace)
                    .context("RECONCILE_UNKNOWN_GRACE_SECS is too large")?,
                batch_size: 200,
            },
            outbox,
            core,
        })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// The timer scheduler (to fire due timers now, or wake the loop after moving a clock).
    pub fn scheduler(&self) -> Scheduler {
        self.scheduler.clone()
    }

    /// The reconciliation with intake (to run a round now).
    pub fn reconciler(&self) -> Reconciler {
        self.reconciler.clone()
    }

    /// Serves until `shutdown`; the consumer finishes the messages in hand, the relay, the
    /// scheduler and the delivery workers their batch.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let pool = self.core.pool.clone();
        // Open deadlines counted by an earlier version's rule or another calendar configuration
        // follow the rule in force before this replica fires any of their timers.
        match rederive_open_deadlines(
            &pool,
            &self.reconciler.rules,
            &self.outbox,
            self.scheduler.clock.now(),
            REDERIVE_BATCH_SIZE,
        )
        .await
        {
            Ok(done) if done.changed == 0 => {
                tracing::info!(
                    checked = done.checked,
                    "open deadlines follow the rule in force"
                );
            }
            Ok(done) => tracing::info!(
                checked = done.checked,
                changed = done.changed,
                rescheduled = done.rescheduled,
                "open deadlines re-derived with the rule in force"
            ),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "cannot re-derive open deadlines; they stay as stored until the next start"
            ),
        }
        // Deadlines from before timers existed (an upgrade from migration 0001) get theirs.
        match lay_out_missing_timers(&pool, &self.reconciler.rules, self.scheduler.clock.now())
            .await
        {
            Ok(0) => {}
            Ok(laid) => tracing::info!(laid, "timers laid out for deadlines that had none"),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "cannot lay out missing timers; running on"
            ),
        }
        let relay = self
            .outbox
            .relay(pool.clone(), self.core.jetstream())
            .run(shutdown.clone())
            .boxed();
        let consumer = Consumer::new(
            ConsumerSpec {
                // Named after its filter: a durable consumer keeps the filter it was made with, so
                // an upgrade from receipts only starts a new one (its replay is deduplicated).
                durable_name: CONSUMER,
                filter_subject: "borgerraad.inquiry.>",
                // Waits on round trips and per-inquiry locks rather than the CPU: more lanes.
                concurrency: 12,
                batch_size: 64,
            },
            pool,
            self.core.jetstream(),
            self.tracker,
            Some(self.outbox),
        )
        .run(shutdown.clone())
        .boxed();
        let scheduler = self.scheduler.run(shutdown.clone()).boxed();
        let deliveries = self.deliveries.run(shutdown.clone()).boxed();
        let reconciler = self.reconciler.run(shutdown.clone()).boxed();
        let routes = tonic::service::Routes::new(DeadlineMonitoringServiceServer::new(self.api));
        self.core
            .run(
                routes,
                "borgerraad.v1.DeadlineMonitoringService",
                vec![relay, consumer, scheduler, deliveries, reconciler],
                shutdown,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_with_webhook(url: &str, webhook: Option<WebhookSettings>) -> Settings {
        // Only the notice channels matter here; the rest is a development machine's.
        let mut settings = Settings::new(CommonSettings {
            service_name: SERVICE_NAME.into(),
            grpc_addr: ([127, 0, 0, 1], DEFAULT_PORT).into(),
            transport: borgerraad_platform::tls::ServerTransport::Plaintext,
            database_url: Secret::new("postgres://127.0.0.1/borgerraad"),
            nats_url: "nats://127.0.0.1:4222".into(),
            nats: Default::default(),
            otlp_endpoint: None,
            log_format: borgerraad_platform::settings::LogFormat::Pretty,
            auth: borgerraad_platform::auth::AuthSettings::new("http://127.0.0.1:8080"),
        });
        settings.channels.webhook_url = Some(url.into());
        settings.delivery.webhook = webhook;
        settings
    }

    #[test]
    fn a_webhook_without_a_signing_secret_keeps_the_service_from_starting() {
        let error = check_notice_channels(&settings_with_webhook("https://hooks.example/x", None))
            .expect_err("refused");
        assert!(
            error.to_string().contains("WEBHOOK_SIGNING_SECRET"),
            "{error}"
        );
    }

    #[test]
    fn a_plain_http_webhook_needs_the_explicit_development_setting() {
        let webhook = |plaintext| {
            Some(WebhookSettings {
                signing_secret: Secret::new("s"),
                ca_file: None,
                plaintext,
            })
        };
        let url = "http://127.0.0.1:8080/x";
        assert!(check_notice_channels(&settings_with_webhook(url, webhook(false))).is_err());
        assert!(check_notice_channels(&settings_with_webhook(url, webhook(true))).is_ok());
        let https = "https://hooks.example/x";
        assert!(check_notice_channels(&settings_with_webhook(https, webhook(false))).is_ok());
    }

    #[test]
    fn directors_parse_from_configuration() {
        let map = directors("by-og-kultur=d1@x.dk, social=d2@x.dk").expect("valid");
        assert_eq!(map.get("social").map(String::as_str), Some("d2@x.dk"));
        assert!(directors("social").is_err());
        assert!(directors("social=nobody").is_err());
    }
}
