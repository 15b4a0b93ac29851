//! Intake served over TLS: a client trusting the service's CA is answered; a plain-text client
//! and a client trusting another CA get no answer; with a client CA configured, only a client
//! presenting a certificate from that CA is answered.

use std::sync::Arc;
use std::time::Duration;

use borgerraad_platform::clock::SystemClock;
use borgerraad_platform::departments::Departments;
use borgerraad_platform::settings::{CommonSettings, LogFormat, Secret};
use borgerraad_platform::tls::{ClientTls, ServerTls, ServerTransport, client_endpoint};
use borgerraad_test_harness::{NatsServer, TestDatabase, TestIdp, TestPki};
use personal_data::{DataKey, Keyring};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// Intake on a free port over `tls`, until the token is cancelled.
struct Intake {
    port: u16,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    _nats: NatsServer,
    _database: TestDatabase,
}

impl Intake {
    async fn start(tls: ServerTls) -> Self {
        let nats = NatsServer::start().await.expect("nats");
        let database = TestDatabase::create().await.expect("database");
        let settings = intake::Settings {
            common: CommonSettings {
                service_name: "intake".into(),
                grpc_addr: ([127, 0, 0, 1], 0).into(),
                transport: ServerTransport::Tls(tls),
                database_url: Secret::new(database.url()),
                nats_url: nats.url(),
                nats: Default::default(),
                otlp_endpoint: None,
                log_format: LogFormat::Pretty,
                auth: TestIdp::shared()
                    .await
                    .expect("the identity provider starts")
                    .auth_settings(),
            },
            departments: Departments::odense(),
            personal_data_keys: Arc::new(Keyring::new(
                DataKey::generate("test").expect("random key"),
            )),
            retention: Default::default(),
        };
        let application = intake::Application::build(settings, Arc::new(SystemClock))
            .await
            .expect("intake starts");
        let port = application.port();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(application.run_until(shutdown.clone()));
        Self {
            port,
            shutdown,
            task,
            _nats: nats,
            _database: database,
        }
    }

    /// Intake's health as `client` sees it: the status, or the error that stopped the call.
    async fn health(&self, scheme: &str, client: &ClientTls) -> Result<ServingStatus, String> {
        let url = format!("{scheme}://127.0.0.1:{}", self.port);
        let channel = client_endpoint("INTAKE_URL", &url, client)
            .map_err(|error| format!("{error:#}"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|error| format!("connect: {error:?}"))?;
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: "borgerraad.v1.IntakeService".into(),
            })
            .await
            .map(|response| response.into_inner().status())
            .map_err(|status| format!("call: {status:?}"))
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("stopped in time")
            .expect("no panic")
            .expect("clean stop");
    }
}

fn server_tls(pki: &TestPki, client_ca: Option<&TestPki>) -> ServerTls {
    ServerTls::from_pem(
        pki.server.cert_pem.clone(),
        pki.server.key_pem.clone(),
        client_ca.map(|ca| ca.ca_pem.clone()),
    )
    .expect("usable certificate")
}

#[tokio::test]
async fn intake_over_tls_answers_only_clients_that_trust_its_ca_and_speak_tls() {
    let pki = TestPki::new("intake").expect("certificates");
    let other = TestPki::new("someone else").expect("certificates");
    let intake = Intake::start(server_tls(&pki, None)).await;

    let trusting = ClientTls::trusting(pki.ca_pem.clone());
    assert_eq!(
        intake.health("https", &trusting).await,
        Ok(ServingStatus::Serving)
    );

    let plain = intake.health("http", &ClientTls::plaintext()).await;
    assert!(plain.is_err(), "a plain-text client is not answered");

    let deceived = intake
        .health("https", &ClientTls::trusting(other.ca_pem.clone()))
        .await;
    let error = deceived.expect_err("another CA's client does not trust intake");
    assert!(error.starts_with("connect:"), "{error}");

    // The refused connections did not stop the server.
    assert_eq!(
        intake.health("https", &trusting).await,
        Ok(ServingStatus::Serving)
    );
    intake.stop().await;
}

#[tokio::test]
async fn with_a_client_ca_intake_answers_only_clients_presenting_a_certificate_from_it() {
    let pki = TestPki::new("intake").expect("certificates");
    let clients = TestPki::new("clients").expect("certificates");
    let stranger = TestPki::new("strangers").expect("certificates");
    let intake = Intake::start(server_tls(&pki, Some(&clients))).await;

    let member = clients.client("eligibility").expect("client certificate");
    let with_certificate = ClientTls::trusting(pki.ca_pem.clone())
        .with_identity(member.cert_pem.clone(), member.key_pem.clone());
    assert_eq!(
        intake.health("https", &with_certificate).await,
        Ok(ServingStatus::Serving)
    );

    let without = intake
        .health("https", &ClientTls::trusting(pki.ca_pem.clone()))
        .await;
    assert!(
        without.is_err(),
        "a client without a certificate is refused"
    );

    let outsider = stranger.client("eligibility").expect("client certificate");
    let foreign = intake
        .health(
            "https",
            &ClientTls::trusting(pki.ca_pem.clone())
                .with_identity(outsider.cert_pem.clone(), outsider.key_pem.clone()),
        )
        .await;
    assert!(
        foreign.is_err(),
        "a certificate from another CA is refused: {foreign:?}"
    );
    intake.stop().await;
}

#[test]
fn a_key_that_does_not_belong_to_the_certificate_is_refused_at_start() {
    let pki = TestPki::new("intake").expect("certificates");
    let other = TestPki::new("other").expect("certificates");
    let mismatched = ServerTls::from_pem(
        pki.server.cert_pem.clone(),
        other.server.key_pem.clone(),
        None,
    );
    assert!(mismatched.is_err());
}
