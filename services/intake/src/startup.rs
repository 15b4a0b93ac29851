//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use std::sync::Arc;

use borgerraad_messaging::Outbox;
use borgerraad_messaging::service::ServiceCore;
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::settings::{CommonSettings, var};
use borgerraad_proto::v1::intake_service_server::IntakeServiceServer;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::domain::DEFAULT_DEPARTMENTS;
use crate::grpc::IntakeApi;

pub const SERVICE_NAME: &str = "intake";
pub const DEFAULT_PORT: u16 = 50051;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Department codes a submission may name (`DEPARTMENTS`, comma-separated).
    pub departments: Vec<String>,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let departments = match var("DEPARTMENTS") {
            Some(list) => list
                .split(',')
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .collect(),
            None => DEFAULT_DEPARTMENTS.iter().map(|d| d.to_string()).collect(),
        };
        Ok(Self {
            common: CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?,
            departments,
        })
    }
}

pub struct Application {
    core: ServiceCore,
    api: IntakeApi,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let core =
            ServiceCore::connect(&settings.common, SERVICE_NAME, 32, &crate::db::MIGRATOR).await?;
        let api = IntakeApi {
            pool: core.pool.clone(),
            outbox: Outbox::new(),
            clock,
            departments: Arc::from(settings.departments),
        };
        Ok(Self { core, api })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// Serves until `shutdown`; then drains calls and lets the outbox relay finish its batch.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let relay = self
            .api
            .outbox
            .relay(self.core.pool.clone(), self.core.jetstream())
            .run(shutdown.clone())
            .boxed();
        let routes = tonic::service::Routes::new(IntakeServiceServer::new(self.api));
        self.core
            .run(routes, "borgerraad.v1.IntakeService", vec![relay], shutdown)
            .await
    }
}
