//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec, EventType, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::settings::{CommonSettings, parsed_var};
use borgerraad_proto::v1::deadline_monitoring_service_server::DeadlineMonitoringServiceServer;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;
use working_days::Calendar;

use crate::domain::DEFAULT_WORKING_DAYS;
use crate::events::ScheduleOnReceipt;
use crate::grpc::DeadlineApi;

pub const SERVICE_NAME: &str = "deadline-monitoring";
/// The service's schema; SQL identifiers cannot hold a dash.
pub const SCHEMA: &str = "deadline_monitoring";
pub const DEFAULT_PORT: u16 = 50053;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Working days to answer in (`ANSWER_WORKING_DAYS`, default 15).
    pub working_days: u32,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let working_days = parsed_var("ANSWER_WORKING_DAYS", DEFAULT_WORKING_DAYS)?;
        anyhow::ensure!(working_days > 0, "ANSWER_WORKING_DAYS must be at least 1");
        Ok(Self {
            common: CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?,
            working_days,
        })
    }
}

pub struct Application {
    core: ServiceCore,
    clock: SharedClock,
    working_days: u32,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let core = ServiceCore::connect(&settings.common, SCHEMA, 32, &crate::db::MIGRATOR).await?;
        Ok(Self {
            core,
            clock,
            working_days: settings.working_days,
        })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// Serves until `shutdown`; the consumer finishes the messages in hand, the relay its batch.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let outbox = Outbox::new();
        let pool = self.core.pool.clone();
        let relay = outbox
            .relay(pool.clone(), self.core.jetstream())
            .run(shutdown.clone())
            .boxed();
        let consumer = Consumer::new(
            ConsumerSpec {
                durable_name: SERVICE_NAME,
                filter_subject: EventType::InquiryReceived.as_str(),
                concurrency: 4,
                batch_size: 64,
            },
            pool.clone(),
            self.core.jetstream(),
            ScheduleOnReceipt {
                outbox: outbox.clone(),
                clock: self.clock,
                calendar: Calendar::danish_default(),
                working_days: self.working_days,
            },
            Some(outbox),
        )
        .run(shutdown.clone())
        .boxed();
        let routes =
            tonic::service::Routes::new(DeadlineMonitoringServiceServer::new(DeadlineApi { pool }));
        self.core
            .run(
                routes,
                "borgerraad.v1.DeadlineMonitoringService",
                vec![relay, consumer],
                shutdown,
            )
            .await
    }
}
