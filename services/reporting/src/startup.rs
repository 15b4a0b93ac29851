//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::departments::Departments;
use borgerraad_platform::settings::CommonSettings;
use borgerraad_proto::v1::reporting_service_server::ReportingServiceServer;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::grpc::ReportingApi;
use crate::projection::Projection;
use crate::rebuild::Rebuilder;

pub const SERVICE_NAME: &str = "reporting";
pub const DEFAULT_PORT: u16 = 50054;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// The departments requests may name, and the Danish names reports show (`DEPARTMENTS`).
    pub departments: Departments,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?,
            departments: Departments::from_env()?,
        })
    }
}

pub struct Application {
    core: ServiceCore,
    clock: SharedClock,
    departments: Departments,
}

impl Application {
    /// The clock decides "now" for open and overdue inquiries and the report's date.
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let core =
            ServiceCore::connect(&settings.common, SERVICE_NAME, 32, &crate::db::MIGRATOR).await?;
        Ok(Self {
            core,
            clock,
            departments: settings.departments,
        })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// Serves until `shutdown`; the consumer finishes the messages in hand. Resumes a rebuild
    /// that is required and not yet swapped in (after the upgrade to counters, after a restart
    /// or a failure during one), and requires one when events were applied but no figures kept.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let pool = self.core.pool.clone();
        let rebuilder = Rebuilder::new(
            pool.clone(),
            self.core.jetstream(),
            self.clock.clone(),
            shutdown.clone(),
        );
        if crate::rebuild::require_if_figures_missing(&pool).await? {
            tracing::info!("events applied but no figures kept: a rebuild is required");
        }
        if crate::rebuild::required(&pool).await? {
            tracing::info!("a rebuild is required: rebuilding from the stream");
            rebuilder.resume();
        }
        let consumer = Consumer::new(
            ConsumerSpec {
                durable_name: SERVICE_NAME,
                filter_subject: "borgerraad.>",
                // One chunk at a time: every event adds to the same few counters, so parallel
                // chunks would only wait on each other's row locks.
                concurrency: 1,
                batch_size: 256,
            },
            pool.clone(),
            self.core.jetstream(),
            Projection,
            None,
        )
        .run(shutdown.clone())
        .boxed();
        let routes = tonic::service::Routes::new(ReportingServiceServer::new(ReportingApi {
            pool,
            clock: self.clock,
            rebuilder,
            departments: self.departments,
        }));
        self.core
            .run(
                routes,
                "borgerraad.v1.ReportingService",
                vec![consumer],
                shutdown,
            )
            .await
    }
}
