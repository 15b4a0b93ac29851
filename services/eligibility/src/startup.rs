//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec, EventType, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::settings::CommonSettings;
use borgerraad_proto::v1::eligibility_service_server::EligibilityServiceServer;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::events::AssessOnReceipt;
use crate::grpc::EligibilityApi;

pub const SERVICE_NAME: &str = "eligibility";
pub const DEFAULT_PORT: u16 = 50052;

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
    clock: SharedClock,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let core =
            ServiceCore::connect(&settings.common, SERVICE_NAME, 32, &crate::db::MIGRATOR).await?;
        Ok(Self { core, clock })
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
            AssessOnReceipt {
                outbox: outbox.clone(),
                clock: self.clock,
            },
            Some(outbox),
        )
        .run(shutdown.clone())
        .boxed();
        let routes =
            tonic::service::Routes::new(EligibilityServiceServer::new(EligibilityApi { pool }));
        self.core
            .run(
                routes,
                "borgerraad.v1.EligibilityService",
                vec![relay, consumer],
                shutdown,
            )
            .await
    }
}
