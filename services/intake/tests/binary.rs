//! The real `intake` binary: configured from its environment, it applies its migrations, serves
//! health, and on SIGTERM stops taking work and exits cleanly.

use std::process::{Command, Stdio};
use std::time::Duration;

use borgerraad_test_harness::{NatsServer, TestDatabase, eventually, free_port};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[tokio::test]
async fn the_binary_serves_health_from_its_environment_and_exits_cleanly_on_sigterm() {
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let port = free_port().expect("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database.url())
        .env("NATS_URL", nats.url())
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("intake starts");

    let status = eventually(
        "intake to report SERVING",
        Duration::from_secs(30),
        || async move {
            let channel =
                tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
                    .ok()?
                    .connect()
                    .await
                    .ok()?;
            let mut client = HealthClient::new(channel);
            let response = client
                .check(HealthCheckRequest {
                    service: "borgerraad.v1.IntakeService".into(),
                })
                .await
                .ok()?;
            Some(response.into_inner().status())
        },
    )
    .await;
    assert_eq!(status, ServingStatus::Serving);
    let pool = database.pool("intake").await.expect("pool");
    let migrated: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .expect("migrations table in the intake schema");
    assert_eq!(migrated, 1);
    pool.close().await;

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let exit = eventually(
        "intake to exit after SIGTERM",
        Duration::from_secs(15),
        || {
            let exited = child.try_wait().expect("wait");
            async move { exited }
        },
    )
    .await;
    assert!(exit.success(), "intake exited with {exit}");
}
