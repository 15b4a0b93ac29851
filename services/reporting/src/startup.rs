//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::settings::CommonSettings;
use borgerraad_proto::v1::reporting_service_server::ReportingServiceServer;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::grpc::ReportingApi;
use crate::projection::Projection;

pub const SERVICE_NAME: &str = "reporting";
pub const DEFAULT_PORT: u16 = 50054;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?,
        })
    }
}

pub struct Application {
    core: ServiceCore,
}

impl Application {
    /// The clock is taken for symmetry with the other services; reports will read it for periods.
    pub async fn build(settings: Settings, _clock: SharedClock) -> anyhow::Result<Self> {
        let core =
            ServiceCore::connect(&settings.common, SERVICE_NAME, 32, &crate::db::MIGRATOR).await?;
        Ok(Self { core })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// Serves until `shutdown`; the consumer finishes the messages in hand.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let pool = self.core.pool.clone();
        let consumer = Consumer::new(
            ConsumerSpec {
                durable_name: SERVICE_NAME,
                filter_subject: "borgerraad.>",
                concurrency: 4,
                batch_size: 64,
            },
            pool.clone(),
            self.core.jetstream(),
            Projection,
            None,
        )
        .run(shutdown.clone())
        .boxed();
        let routes =
            tonic::service::Routes::new(ReportingServiceServer::new(ReportingApi { pool }));
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
