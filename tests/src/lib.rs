//! End-to-end tests of Borgerraad: the four services run in this process, each on its own port,
//! against a private nats-server and a fresh PostgreSQL database per test, talking to each other
//! only through NATS as in production, and serving gRPC over TLS with a certificate from a CA
//! of the test's own, which every client trusts. [`TestSystem`] starts and stops them; the tests
//! live in `tests/`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_platform::clock::ManualClock;
use borgerraad_platform::settings::{CommonSettings, LogFormat, Secret};
use borgerraad_platform::tls::{ClientTls, ServerTls, ServerTransport, client_endpoint};
use borgerraad_proto::v1::{
    deadline_monitoring_service_client::DeadlineMonitoringServiceClient,
    eligibility_service_client::EligibilityServiceClient,
    intake_service_client::IntakeServiceClient, reporting_service_client::ReportingServiceClient,
};
pub use borgerraad_test_harness::valid_submission;
use borgerraad_test_harness::{NatsServer, TestDatabase, TestPki};
use chrono::{TimeZone, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// How long a test waits for the system to settle before it fails.
pub const SETTLE: Duration = Duration::from_secs(20);

/// The four services, their dependencies and a client for each.
pub struct TestSystem {
    pub nats: NatsServer,
    pub database: TestDatabase,
    /// Starts at Wednesday 25 November 2026, 10:00 UTC, and moves only when a test moves it.
    pub clock: Arc<ManualClock>,
    pub intake: IntakeServiceClient<Channel>,
    pub eligibility: EligibilityServiceClient<Channel>,
    pub deadlines: DeadlineMonitoringServiceClient<Channel>,
    pub reporting: ReportingServiceClient<Channel>,
    pub ports: Ports,
    /// The CA the services' certificate comes from, and its files (`pki.ca_file`).
    pub pki: TestPki,
    shutdown: CancellationToken,
    services: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    /// One client for the test's own looks at the stream; it reconnects across NATS restarts.
    events: async_nats::jetstream::Context,
    /// One pool for the test's own looks at the services' tables (schema-qualified).
    tables: sqlx::PgPool,
}

#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub intake: u16,
    pub eligibility: u16,
    pub deadlines: u16,
    pub reporting: u16,
}

fn settings(
    name: &str,
    database: &TestDatabase,
    nats: &NatsServer,
    pki: &TestPki,
    port: u16,
) -> anyhow::Result<CommonSettings> {
    Ok(CommonSettings {
        service_name: name.to_owned(),
        grpc_addr: ([127, 0, 0, 1], port).into(),
        transport: ServerTransport::Tls(ServerTls::from_pem(
            pki.server.cert_pem.clone(),
            pki.server.key_pem.clone(),
            None,
        )?),
        database_url: Secret::new(database.url()),
        nats_url: nats.url(),
        otlp_endpoint: None,
        log_format: LogFormat::Pretty,
    })
}

impl TestSystem {
    /// The four services, each on a free port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(None).await
    }

    /// The four services where `PORT_BASE=base` puts them: intake on `base + 1`, eligibility
    /// `+ 2`, deadline-monitoring `+ 3`, reporting `+ 4` (for the command-line client's tests).
    pub async fn start_on_port_base(base: u16) -> anyhow::Result<Self> {
        Self::start_on(Some(base)).await
    }

    async fn start_on(port_base: Option<u16>) -> anyhow::Result<Self> {
        let port = |offset: u16| port_base.map_or(0, |base| base + offset);
        let nats = NatsServer::start().await?;
        let database = TestDatabase::create().await?;
        let pki = TestPki::new("borgerraad")?;
        let clients = ClientTls::trusting(pki.ca_pem.clone());
        let clock = ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
                .single()
                .context("valid start time")?,
        );
        let shutdown = CancellationToken::new();

        let intake = intake::Application::build(
            intake::Settings {
                common: settings("intake", &database, &nats, &pki, port(1))?,
                departments: borgerraad_platform::departments::Departments::odense(),
                personal_data_keys: Arc::new(test_keyring()),
            },
            clock.clone(),
        )
        .await?;
        let eligibility = eligibility::Application::build(
            eligibility::Settings {
                common: settings("eligibility", &database, &nats, &pki, port(2))?,
                rules: Arc::new(eligibility::rules::RuleSet::default_rules()?),
                intake_url: format!("https://127.0.0.1:{}", intake.port()),
                intake_tls: clients.clone(),
                calendar: Default::default(),
                departments: borgerraad_platform::departments::Departments::odense(),
            },
            clock.clone(),
        )
        .await?;
        let deadlines = deadline_monitoring::Application::build(
            deadline_monitoring::Settings {
                working_days: 15,
                intake_url: format!("https://127.0.0.1:{}", intake.port()),
                intake_tls: clients.clone(),
                // Timers fire within a tenth of a second of the test moving the clock.
                poll_interval: Duration::from_millis(100),
                ..deadline_monitoring::Settings::new(settings(
                    "deadline-monitoring",
                    &database,
                    &nats,
                    &pki,
                    port(3),
                )?)
            },
            clock.clone(),
        )
        .await?;
        let reporting = reporting::Application::build(
            reporting::Settings {
                common: settings("reporting", &database, &nats, &pki, port(4))?,
                departments: borgerraad_platform::departments::Departments::odense(),
            },
            clock.clone(),
        )
        .await?;
        let ports = Ports {
            intake: intake.port(),
            eligibility: eligibility.port(),
            deadlines: deadlines.port(),
            reporting: reporting.port(),
        };
        let services = vec![
            ("intake", tokio::spawn(intake.run_until(shutdown.clone()))),
            (
                "eligibility",
                tokio::spawn(eligibility.run_until(shutdown.clone())),
            ),
            (
                "deadline-monitoring",
                tokio::spawn(deadlines.run_until(shutdown.clone())),
            ),
            (
                "reporting",
                tokio::spawn(reporting.run_until(shutdown.clone())),
            ),
        ];
        let events = async_nats::jetstream::new(nats.client().await?);
        let tables = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&database.url())
            .await?;
        Ok(Self {
            events,
            tables,
            intake: IntakeServiceClient::new(channel(&clients, ports.intake)?),
            eligibility: EligibilityServiceClient::new(channel(&clients, ports.eligibility)?),
            deadlines: DeadlineMonitoringServiceClient::new(channel(&clients, ports.deadlines)?),
            reporting: ReportingServiceClient::new(channel(&clients, ports.reporting)?),
            pki,
            nats,
            database,
            clock,
            ports,
            shutdown,
            services,
        })
    }

    /// Stops every service as SIGTERM would and checks each one stopped cleanly and in time.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        for (name, service) in self.services {
            tokio::time::timeout(Duration::from_secs(15), service)
                .await
                .with_context(|| format!("{name} did not stop within 15 s"))?
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} stopped with an error"))?;
        }
        self.tables.close().await;
        Ok(())
    }

    /// JetStream on this test's NATS.
    pub async fn jetstream(&self) -> anyhow::Result<async_nats::jetstream::Context> {
        Ok(self.events.clone())
    }
}

/// A fresh key for sealing personal data, as an operator would configure one.
pub fn test_keyring() -> personal_data::Keyring {
    personal_data::Keyring::new(personal_data::DataKey::generate("test").expect("random key"))
}

impl TestSystem {
    /// What a client of these services trusts: the test's CA.
    pub fn client_tls(&self) -> ClientTls {
        ClientTls::trusting(self.pki.ca_pem.clone())
    }

    /// A TLS channel to a local port of this system.
    pub fn channel(&self, port: u16) -> anyhow::Result<Channel> {
        channel(&self.client_tls(), port)
    }
}

/// A TLS channel to a local port; connects lazily so a test can start before the server accepts.
fn channel(tls: &ClientTls, port: u16) -> anyhow::Result<Channel> {
    Ok(
        client_endpoint("the test's URL", &format!("https://127.0.0.1:{port}"), tls)?
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy(),
    )
}

/// A valid submission from a citizen who has talked to By- og Kulturforvaltningen first.
/// A date as the protos carry it.
pub fn date(year: i32, month: i32, day: i32) -> Option<borgerraad_proto::v1::Date> {
    Some(borgerraad_proto::v1::Date { year, month, day })
}

/// The fields an INVALID_ARGUMENT status names, in its order.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt as _;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

impl TestSystem {
    /// How many events of each type the stream holds, e.g. `{"borgerraad.inquiry.received": 1}`.
    pub async fn event_counts(&self) -> anyhow::Result<std::collections::HashMap<String, usize>> {
        use futures::TryStreamExt as _;
        let stream = self
            .jetstream()
            .await?
            .get_stream(borgerraad_messaging::stream::STREAM_NAME)
            .await?;
        let counts = stream.info_with_subjects("borgerraad.>").await?;
        Ok(counts.try_collect().await?)
    }

    /// True once every service's consumer has been handed and has acknowledged every message on
    /// the stream it is interested in, and nothing waits in any outbox. The checks are not one
    /// snapshot, so they count only if nothing was published while they ran.
    pub async fn settled(&self) -> anyhow::Result<bool> {
        let jetstream = self.jetstream().await?;
        let stream = jetstream
            .get_stream(borgerraad_messaging::stream::STREAM_NAME)
            .await?;
        let published_before = stream.cached_info().state.last_sequence;
        for consumer in [
            "intake",
            "eligibility-inquiries",
            "deadline-monitoring-inquiries",
            "reporting",
        ] {
            let info = stream.consumer_info(consumer).await?;
            if info.num_pending > 0 || info.num_ack_pending > 0 {
                return Ok(false);
            }
        }
        for schema in ["intake", "eligibility", "deadline_monitoring"] {
            if self.unpublished_outbox_rows(schema).await? > 0 {
                return Ok(false);
            }
        }
        let published_after = jetstream
            .get_stream(borgerraad_messaging::stream::STREAM_NAME)
            .await?
            .cached_info()
            .state
            .last_sequence;
        Ok(published_before == published_after)
    }

    /// The inquiry's version once every service has caught up: intake records each assessment
    /// as a step, so a caseworker's next step must wait for them to avoid a stale version.
    pub async fn settled_version(&self, inquiry_id: &str) -> i64 {
        borgerraad_test_harness::eventually("the system settles", SETTLE, || async {
            self.settled().await.ok()?.then_some(())
        })
        .await;
        self.intake
            .clone()
            .get_inquiry(borgerraad_proto::v1::GetInquiryRequest {
                inquiry_id: inquiry_id.to_owned(),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner().version)
            .unwrap_or_default()
    }

    /// Events a service has written but not yet published.
    pub async fn unpublished_outbox_rows(&self, schema: &str) -> anyhow::Result<i64> {
        let count = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}.outbox WHERE published_at IS NULL",
            borgerraad_platform::db::quote_ident(schema)
        )))
        .fetch_one(&self.tables)
        .await?;
        Ok(count)
    }
}

impl TestSystem {
    /// The assessment of `inquiry_id`, once eligibility has made it.
    pub async fn assessment(&self, inquiry_id: &str) -> borgerraad_proto::v1::Assessment {
        let client = self.eligibility.clone();
        borgerraad_test_harness::eventually("the assessment", SETTLE, || {
            let mut client = client.clone();
            let request = borgerraad_proto::v1::GetAssessmentRequest {
                inquiry_id: inquiry_id.to_owned(),
            };
            async move {
                client
                    .get_assessment(request)
                    .await
                    .ok()
                    .map(|r| r.into_inner())
            }
        })
        .await
    }

    /// The deadline of `inquiry_id`, once deadline-monitoring has scheduled it.
    pub async fn deadline(&self, inquiry_id: &str) -> borgerraad_proto::v1::Deadline {
        let client = self.deadlines.clone();
        borgerraad_test_harness::eventually("the deadline", SETTLE, || {
            let mut client = client.clone();
            let request = borgerraad_proto::v1::GetDeadlineRequest {
                inquiry_id: inquiry_id.to_owned(),
            };
            async move {
                client
                    .get_deadline(request)
                    .await
                    .ok()
                    .map(|r| r.into_inner())
            }
        })
        .await
    }

    /// The reporting summary, once it satisfies `ready`.
    pub async fn summary_when(
        &self,
        what: &str,
        ready: impl Fn(&borgerraad_proto::v1::Summary) -> bool,
    ) -> borgerraad_proto::v1::Summary {
        let client = self.reporting.clone();
        let ready = &ready;
        borgerraad_test_harness::eventually(what, SETTLE, || {
            let mut client = client.clone();
            async move {
                let summary = client
                    .get_summary(borgerraad_proto::v1::GetSummaryRequest::default())
                    .await
                    .ok()?
                    .into_inner();
                ready(&summary).then_some(summary)
            }
        })
        .await
    }
}
