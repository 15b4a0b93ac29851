//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use std::sync::Arc;

use anyhow::Context as _;
use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec, EventType, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::departments::Departments;
use borgerraad_platform::settings::{CommonSettings, parsed_var, secret_var};
use borgerraad_proto::v1::intake_service_server::IntakeServiceServer;
use futures::FutureExt as _;
use personal_data::{DataKey, Keyring};
use tokio_util::sync::CancellationToken;

use crate::domain::retention::RetentionPeriod;
use crate::erasure::RetentionSettings;
use crate::events::{RecordAssessment, RecordDeadline};
use crate::grpc::IntakeApi;

pub const SERVICE_NAME: &str = "intake";
/// The durable consumer of deadline-monitoring's events (the assessments' is `SERVICE_NAME`).
pub const DEADLINE_CONSUMER: &str = "intake-deadlines";
pub const DEFAULT_PORT: u16 = 50051;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// The departments a submission may name (`DEPARTMENTS`).
    pub departments: Departments,
    /// Keys that seal personal data at rest (`PERSONAL_DATA_KEYS`, or the file
    /// `PERSONAL_DATA_KEYS_FILE` names: `id:base64,…`, the first one current, older ones kept to
    /// open what they sealed). Required: there is no default key. `Debug` shows key ids only.
    pub personal_data_keys: Arc<Keyring>,
    /// When personal data is erased (`RETENTION_MONTHS`) and how often the job looks
    /// (`RETENTION_INTERVAL_SECS`).
    pub retention: RetentionSettings,
}

/// Parses `id:base64,id:base64,…`; the first key seals, all of them open.
pub fn parse_keyring(value: &str) -> anyhow::Result<Keyring> {
    let mut keys = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (id, material) = entry
                .split_once(':')
                .context("each key is written id:base64, e.g. k1:3q2+7w…")?;
            DataKey::from_base64(id.trim(), material.trim())
                .with_context(|| format!("key {:?} is not usable", id.trim()))
        });
    let current = keys.next().context("PERSONAL_DATA_KEYS holds no key")??;
    keys.try_fold(Keyring::new(current), |ring, key| {
        Ok(ring.with_previous(key?)?)
    })
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let departments = Departments::from_env()?;
        let keys = secret_var("PERSONAL_DATA_KEYS")?.context(
            "PERSONAL_DATA_KEYS (or PERSONAL_DATA_KEYS_FILE) must hold the key that seals \
             personal data at rest (id:base64 of 32 random bytes, e.g. \
             k1:$(head -c32 /dev/urandom | base64)); there is no default key",
        )?;
        let months = parsed_var("RETENTION_MONTHS", RetentionPeriod::DEFAULT_MONTHS)?;
        let period = RetentionPeriod::months(months).context(
            "RETENTION_MONTHS must be a whole number of months above 0 (the municipality's \
             retention time after an inquiry closed, e.g. 60)",
        )?;
        let interval_secs: u64 = parsed_var("RETENTION_INTERVAL_SECS", 3600)?;
        anyhow::ensure!(interval_secs > 0, "RETENTION_INTERVAL_SECS must be above 0");
        Ok(Self {
            common: CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?,
            retention: RetentionSettings {
                period,
                interval: std::time::Duration::from_secs(interval_secs),
            },
            departments,
            personal_data_keys: Arc::new(
                parse_keyring(&keys).context("PERSONAL_DATA_KEYS is invalid")?,
            ),
        })
    }
}

pub struct Application {
    core: ServiceCore,
    api: IntakeApi,
    retention: RetentionSettings,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let core =
            ServiceCore::connect(&settings.common, SERVICE_NAME, 32, &crate::db::MIGRATOR).await?;
        let api = IntakeApi {
            pool: core.pool.clone(),
            outbox: Outbox::new(),
            clock,
            departments: settings.departments,
            keyring: settings.personal_data_keys,
        };
        Ok(Self {
            core,
            api,
            retention: settings.retention,
        })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// Serves until `shutdown`; then drains calls, finishes the assessments and deadlines in hand
    /// and lets the
    /// outbox relay finish its batch. Rows written before personal data was sealed are sealed
    /// meanwhile (see [`crate::upgrade`]), then values sealed with older keys re-sealed with the
    /// current one ([`crate::reseal`]); personal data past its retention time is erased
    /// periodically (see [`crate::erasure`]).
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let relay = self
            .api
            .outbox
            .relay(self.core.pool.clone(), self.core.jetstream())
            .run(shutdown.clone())
            .boxed();
        let assessments = Consumer::new(
            ConsumerSpec {
                durable_name: SERVICE_NAME,
                filter_subject: EventType::EligibilityAssessed.as_str(),
                concurrency: 2,
                batch_size: 64,
            },
            self.core.pool.clone(),
            self.core.jetstream(),
            RecordAssessment {
                outbox: self.api.outbox.clone(),
                keyring: self.api.keyring.clone(),
            },
            Some(self.api.outbox.clone()),
        )
        .run(shutdown.clone())
        .boxed();
        // A consumer of its own, so deadline-monitoring's events neither wait behind
        // assessments nor hold them up; it takes every deadline subject and ignores the notices
        // the record has no use for.
        let deadlines = Consumer::new(
            ConsumerSpec {
                durable_name: DEADLINE_CONSUMER,
                filter_subject: "borgerraad.deadline.>",
                concurrency: 1,
                batch_size: 64,
            },
            self.core.pool.clone(),
            self.core.jetstream(),
            RecordDeadline,
            None,
        )
        .run(shutdown.clone())
        .boxed();
        // Plain rows first: the upgrade seals them with the current key, and until then they
        // may hold a CPR number sealed with an older one.
        let sealing = {
            let (pool, keyring, shutdown) = (
                self.core.pool.clone(),
                self.api.keyring.clone(),
                shutdown.clone(),
            );
            async move {
                crate::upgrade::seal_plain_rows(pool.clone(), keyring.clone(), shutdown.clone())
                    .await;
                crate::reseal::reseal_older_keys(pool, keyring, shutdown).await;
            }
            .boxed()
        };
        let retention = crate::erasure::run_retention(
            self.core.pool.clone(),
            self.api.outbox.clone(),
            self.api.clock.clone(),
            self.retention,
            shutdown.clone(),
        )
        .boxed();
        let routes = tonic::service::Routes::new(IntakeServiceServer::new(self.api));
        self.core
            .run(
                routes,
                "borgerraad.v1.IntakeService",
                vec![relay, assessments, deadlines, sealing, retention],
                shutdown,
            )
            .await
    }
}
