//! The real `intake` binary: configured from its environment (secrets from files, TLS from
//! certificate files), it applies its migrations, serves health over TLS, and on SIGTERM stops
//! taking work and exits cleanly. Without a key or without transport security it refuses to
//! start; in plain text it says so at start.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use borgerraad_platform::tls::{ClientTls, client_endpoint};
use borgerraad_test_harness::idp::STAFF;
use borgerraad_test_harness::{NatsServer, TestDatabase, TestIdp, TestPki, eventually, free_port};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A test key (32 bytes of 0x2a), configured as an operator would.
const KEYS: &str = "k1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

#[tokio::test]
async fn the_binary_refuses_to_start_without_a_key_for_personal_data() {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    let output = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env_remove("PERSONAL_DATA_KEYS")
        .env_remove("PERSONAL_DATA_KEYS_FILE")
        .env("GRPC_PLAINTEXT", "true")
        .env("GRPC_ADDR", "127.0.0.1:0")
        .env("AUTH_ISSUER", idp.issuer())
        .output()
        .expect("intake runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PERSONAL_DATA_KEYS"), "{stderr}");
}

#[tokio::test]
async fn the_binary_refuses_to_start_without_transport_security() {
    let output = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env("PERSONAL_DATA_KEYS", KEYS)
        .env_remove("GRPC_PLAINTEXT")
        // Any issuer: the transport is checked whatever the provider.
        .env("AUTH_ISSUER", "http://127.0.0.1:9")
        .env_remove("GRPC_TLS_CERT_FILE")
        .env_remove("GRPC_TLS_KEY_FILE")
        .env("GRPC_ADDR", "127.0.0.1:0")
        .output()
        .expect("intake runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no transport security configured: set GRPC_TLS_CERT_FILE"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_binary_serves_health_over_tls_from_its_environment_and_exits_cleanly_on_sigterm() {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let pki = TestPki::new("intake").expect("certificates");
    // The secrets come from files, as mounted container secrets do.
    let keys_file = pki.folder().join("personal-data-keys");
    std::fs::write(&keys_file, format!("{KEYS}\n")).expect("written");
    let url_file = pki.folder().join("database-url");
    std::fs::write(&url_file, database.url()).expect("written");
    let port = free_port().expect("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_ISSUER", idp.issuer())
        .env_remove("DATABASE_URL")
        .env("DATABASE_URL_FILE", &url_file)
        .env("NATS_URL", nats.url())
        .env_remove("PERSONAL_DATA_KEYS")
        .env("PERSONAL_DATA_KEYS_FILE", &keys_file)
        .env_remove("GRPC_PLAINTEXT")
        .env("GRPC_TLS_CERT_FILE", &pki.server.cert_file)
        .env("GRPC_TLS_KEY_FILE", &pki.server.key_file)
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("intake starts");

    let tls = ClientTls::trusting(pki.ca_pem.clone());
    let status = eventually("intake to report SERVING", Duration::from_secs(30), || {
        let tls = tls.clone();
        async move {
            let channel = client_endpoint("INTAKE_URL", &format!("https://127.0.0.1:{port}"), &tls)
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
        }
    })
    .await;
    assert_eq!(status, ServingStatus::Serving);
    let pool = database.pool("intake").await.expect("pool");
    let migrated: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .expect("migrations table in the intake schema");
    assert_eq!(
        migrated,
        i64::try_from(intake::db::MIGRATOR.iter().count()).expect("few migrations"),
        "every migration applied"
    );
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

/// A stand-in OpenTelemetry collector that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received
            .lock()
            .expect("lock")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    /// Names of the spans received from the service called `service_name`.
    fn span_names_from(&self, service_name: &str) -> Vec<String> {
        let received = self.received.lock().expect("lock");
        received
            .iter()
            .flat_map(|request| &request.resource_spans)
            .filter(|resource_spans| {
                resource_spans.resource.as_ref().is_some_and(|resource| {
                    resource.attributes.iter().any(|kv| {
                        kv.key == "service.name"
                            && format!("{:?}", kv.value).contains(&format!("\"{service_name}\""))
                    })
                })
            })
            .flat_map(|resource_spans| &resource_spans.scope_spans)
            .flat_map(|scope_spans| &scope_spans.spans)
            .map(|span| span.name.clone())
            .collect()
    }
}

#[tokio::test]
async fn the_binary_exports_its_spans_over_otlp_when_an_endpoint_is_set() {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_port = listener.local_addr().expect("addr").port();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let port = free_port().expect("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_ISSUER", idp.issuer())
        .env("DATABASE_URL", database.url())
        .env("NATS_URL", nats.url())
        .env("PERSONAL_DATA_KEYS", KEYS)
        .env("GRPC_PLAINTEXT", "true")
        // No scheme on purpose: operators write it both ways.
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("127.0.0.1:{collector_port}"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("intake starts");

    let client = eventually("intake to answer", Duration::from_secs(30), || async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .ok()?
            .connect()
            .await
            .ok()?;
        Some(
            borgerraad_proto::v1::intake_service_client::IntakeServiceClient::new(
                idp.channel(channel, STAFF),
            ),
        )
    })
    .await;
    let status = client
        .clone()
        .get_inquiry(borgerraad_proto::v1::GetInquiryRequest {
            inquiry_id: uuid::Uuid::nil().to_string(),
            ..Default::default()
        })
        .await
        .expect_err("no such inquiry");
    assert_eq!(status.code(), tonic::Code::NotFound);

    // Shutting down flushes the batch exporter.
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    eventually("intake to exit", Duration::from_secs(15), || {
        let exited = child.try_wait().expect("wait");
        async move { exited }
    })
    .await;
    let names = eventually(
        "the call's span at the collector",
        Duration::from_secs(10),
        || {
            let names = collector.span_names_from("intake");
            async move {
                names
                    .iter()
                    .any(|n| n == "borgerraad.v1.IntakeService/GetInquiry")
                    .then_some(names)
            }
        },
    )
    .await;
    assert!(
        names.contains(&"get_inquiry".to_owned()),
        "handler span exported too: {names:?}"
    );
}

#[tokio::test]
async fn the_binary_serving_plain_text_warns_at_start() {
    use std::io::BufRead as _;
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let port = free_port().expect("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database.url())
        .env("NATS_URL", nats.url())
        .env("PERSONAL_DATA_KEYS", KEYS)
        .env("AUTH_ISSUER", "http://127.0.0.1:9")
        .env("GRPC_PLAINTEXT", "true")
        .env_remove("GRPC_TLS_CERT_FILE")
        .env("LOG_FORMAT", "json")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("intake starts");
    let stdout = child.stdout.take().expect("stdout");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    std::thread::spawn({
        let lines = lines.clone();
        move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().expect("lock").push(line);
            }
        }
    });

    let warning = eventually("the plain-text warning", Duration::from_secs(30), || {
        let found = lines
            .lock()
            .expect("lock")
            .iter()
            .find(|line| line.contains("serving gRPC in plain text"))
            .cloned();
        async move { found }
    })
    .await;
    assert!(warning.contains("\"level\":\"WARN\""), "{warning}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    eventually("intake to exit", Duration::from_secs(15), || {
        let exited = child.try_wait().expect("wait");
        async move { exited }
    })
    .await;
}
