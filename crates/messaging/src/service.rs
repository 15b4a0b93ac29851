//! What every service process holds and how it stops, so each service only adds its own API and
//! workers: bind the port, migrate the schema, connect to NATS, then serve until shutdown.

use std::sync::Arc;

use borgerraad_platform::auth::Verifier;
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use borgerraad_platform::settings::CommonSettings;

pub struct ServiceCore {
    pub listener: TcpListener,
    pub pool: PgPool,
    pub nats: async_nats::Client,
    /// Checks the access token of every call.
    pub verifier: Arc<Verifier>,
    /// TLS or plain text for the gRPC port.
    pub transport: borgerraad_platform::tls::ServerTransport,
}

impl ServiceCore {
    /// Binds the gRPC port first (so tests can ask for port 0 and read it back), then connects to
    /// PostgreSQL with the service's schema migrated, and to NATS without waiting for it.
    pub async fn connect(
        settings: &CommonSettings,
        schema: &str,
        max_connections: u32,
        migrator: &sqlx::migrate::Migrator,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.grpc_addr).await?;
        let pool = borgerraad_platform::db::connect_and_migrate(
            settings.database_url.expose(),
            schema,
            max_connections,
            migrator,
        )
        .await?;
        let nats =
            crate::stream::connect(&settings.nats_url, &settings.service_name, &settings.nats)
                .await?;
        let verifier = Verifier::new(settings.auth.clone())?;
        verifier.prefetch().await;
        Ok(Self {
            listener,
            pool,
            nats,
            verifier,
            transport: settings.transport.clone(),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or(0)
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        crate::stream::jetstream(self.nats.clone())
    }

    /// Serves `routes` and runs `workers` (each watching `shutdown`) until `shutdown` is cancelled
    /// or the server fails; then waits for every worker to finish its message or batch in hand,
    /// flushes NATS and closes the pool.
    pub async fn run(
        self,
        routes: tonic::service::Routes,
        grpc_service_name: &'static str,
        workers: Vec<BoxFuture<'static, ()>>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let workers: Vec<_> = workers.into_iter().map(tokio::spawn).collect();
        let served = borgerraad_platform::grpc::serve(
            self.listener,
            routes,
            grpc_service_name,
            self.verifier,
            &self.transport,
            shutdown.clone(),
        )
        .await;
        // A failed server stops the workers too: one process, one fate.
        shutdown.cancel();
        for worker in workers {
            if let Err(error) = worker.await {
                tracing::error!(%error, "a worker panicked");
            }
        }
        // While NATS is down a flush would wait for it to return; nothing unsent is lost anyway,
        // as unacknowledged messages are redelivered and unpublished events stay in the outbox.
        match tokio::time::timeout(std::time::Duration::from_secs(2), self.nats.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cannot flush NATS on shutdown"),
            Err(_) => tracing::warn!("NATS flush timed out on shutdown"),
        }
        self.pool.close().await;
        tracing::info!("stopped");
        served
    }
}
