//! End-to-end tests of Borgerraad: the four services run in this process, each on its own port,
//! against a private nats-server and a fresh PostgreSQL database per test, talking to each other
//! only through NATS as in production, and serving gRPC over TLS with a certificate from a CA
//! of the test's own, which every client trusts. [`TestSystem`] starts and stops them; the tests
//! live in `tests/`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_platform::clock::ManualClock;
use borgerraad_platform::settings::{
    CommonSettings, LogFormat, NatsCredentials, NatsSettings, Secret,
};
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

pub use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_test_harness::TestIdp;
pub use borgerraad_test_harness::idp::{OTHER_CASEWORKER, STAFF};

/// How long a test waits for the system to settle before it fails.
pub const SETTLE: Duration = Duration::from_secs(20);

/// The four services, their dependencies and a client for each.
pub struct TestSystem {
    pub nats: NatsServer,
    pub database: TestDatabase,
    /// Starts at Wednesday 25 November 2026, 10:00 UTC, and moves only when a test moves it.
    pub clock: Arc<ManualClock>,
    /// The clients act as the advisor's staff ([`STAFF`]: caseworker, report reader and
    /// operator); `intake_as` and its siblings act as another client of the provider.
    pub intake: IntakeServiceClient<AuthorizedChannel>,
    pub eligibility: EligibilityServiceClient<AuthorizedChannel>,
    pub deadlines: DeadlineMonitoringServiceClient<AuthorizedChannel>,
    pub reporting: ReportingServiceClient<AuthorizedChannel>,
    /// The identity provider whose tokens the services accept.
    pub idp: &'static TestIdp,
    pub ports: Ports,
    /// Deadline-monitoring's reconciliation with intake, to run a round now.
    pub reconciler: deadline_monitoring::reconcile::Reconciler,
    /// The CA the services' certificate comes from, and its files (`pki.ca_file`).
    pub pki: TestPki,
    /// The key intake seals personal data with.
    pub keys: Arc<personal_data::Keyring>,
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
    idp: &TestIdp,
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
        // On a secured server each service logs in as its own user, as deployed.
        nats: NatsSettings {
            credentials: nats
                .identity(name)
                .map_or(NatsCredentials::None, |identity| {
                    NatsCredentials::UserPassword {
                        user: identity.user.clone(),
                        password: Secret::new(identity.password()),
                    }
                }),
            ..Default::default()
        },
        otlp_endpoint: None,
        log_format: LogFormat::Pretty,
        // Each service acts as itself towards the others, as in production.
        auth: idp.auth_settings_as(name),
    })
}

impl TestSystem {
    /// The four services, each on a free port.
    ///
    /// The NATS lets each service in only as its own user, with the deployment's permissions
    /// (`deploy/nats-permissions.conf`); the test's own client is the harness's observer, who
    /// may publish and read anything.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(None, NatsServer::start_secured().await?).await
    }

    /// [`TestSystem::start`] under its other name, for a test about authentication itself.
    pub async fn start_secured() -> anyhow::Result<Self> {
        Self::start().await
    }

    /// The four services on a NATS without authentication, where anyone may publish anything.
    pub async fn start_open() -> anyhow::Result<Self> {
        Self::start_on(None, NatsServer::start().await?).await
    }

    /// The four services where `PORT_BASE=base` puts them: intake on `base + 1`, eligibility
    /// `+ 2`, deadline-monitoring `+ 3`, reporting `+ 4` (for the command-line client's tests).
    pub async fn start_on_port_base(base: u16) -> anyhow::Result<Self> {
        Self::start_on(Some(base), NatsServer::start_secured().await?).await
    }

    /// The four services on a database and a NATS prepared beforehand (a restored backup, say),
    /// sealing personal data with `keys` (those of the system the backup came from).
    pub async fn start_with(
        database: TestDatabase,
        nats: NatsServer,
        keys: Arc<personal_data::Keyring>,
    ) -> anyhow::Result<Self> {
        Self::start_prepared(None, nats, database, keys).await
    }

    async fn start_on(port_base: Option<u16>, nats: NatsServer) -> anyhow::Result<Self> {
        let database = TestDatabase::create().await?;
        Self::start_prepared(port_base, nats, database, Arc::new(test_keyring())).await
    }

    async fn start_prepared(
        port_base: Option<u16>,
        nats: NatsServer,
        database: TestDatabase,
        keys: Arc<personal_data::Keyring>,
    ) -> anyhow::Result<Self> {
        let port = |offset: u16| port_base.map_or(0, |base| base + offset);
        let idp = TestIdp::shared().await?;
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
                common: settings("intake", &database, &nats, idp, &pki, port(1))?,
                departments: borgerraad_platform::departments::Departments::odense(),
                personal_data_keys: keys.clone(),
                // Due personal data goes within a fifth of a second of the test moving the clock
                // past the retention time.
                retention: intake::erasure::RetentionSettings {
                    interval: Duration::from_millis(200),
                    ..Default::default()
                },
            },
            clock.clone(),
        )
        .await?;
        let eligibility = eligibility::Application::build(
            eligibility::Settings {
                common: settings("eligibility", &database, &nats, idp, &pki, port(2))?,
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
                    idp,
                    &pki,
                    port(3),
                )?)
            },
            clock.clone(),
        )
        .await?;
        let reporting = reporting::Application::build(
            reporting::Settings {
                common: settings("reporting", &database, &nats, idp, &pki, port(4))?,
                departments: borgerraad_platform::departments::Departments::odense(),
            },
            clock.clone(),
        )
        .await?;
        let reconciler = deadlines.reconciler();
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
            intake: IntakeServiceClient::new(idp.channel(channel(&clients, ports.intake)?, STAFF)),
            eligibility: EligibilityServiceClient::new(
                idp.channel(channel(&clients, ports.eligibility)?, STAFF),
            ),
            deadlines: DeadlineMonitoringServiceClient::new(
                idp.channel(channel(&clients, ports.deadlines)?, STAFF),
            ),
            reporting: ReportingServiceClient::new(
                idp.channel(channel(&clients, ports.reporting)?, STAFF),
            ),
            idp,
            pki,
            keys,
            nats,
            database,
            clock,
            ports,
            reconciler,
            shutdown,
            services,
        })
    }

    /// Stops every service as SIGTERM would and checks each one stopped cleanly and in time.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_keeping_state().await.map(drop)
    }

    /// [`TestSystem::stop`], handing back the database and the NATS (still running) for a test
    /// that works on them with the services stopped and starts them again
    /// ([`TestSystem::start_with`]).
    pub async fn stop_keeping_state(self) -> anyhow::Result<(TestDatabase, NatsServer)> {
        self.shutdown.cancel();
        for (name, service) in self.services {
            tokio::time::timeout(Duration::from_secs(15), service)
                .await
                .with_context(|| format!("{name} did not stop within 15 s"))?
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} stopped with an error"))?;
        }
        self.tables.close().await;
        Ok((self.database, self.nats))
    }

    /// The settings of one more replica of service `name` on this system's NATS and database, on
    /// a free port.
    pub fn common_settings(&self, name: &str) -> anyhow::Result<CommonSettings> {
        settings(name, &self.database, &self.nats, self.idp, &self.pki, 0)
    }

    /// Intake as `client` of the provider (a role name, [`STAFF`], [`OTHER_CASEWORKER`]).
    pub async fn intake_as(&self, client: &str) -> IntakeServiceClient<AuthorizedChannel> {
        IntakeServiceClient::new(
            self.idp
                .channel(self.plain(self.ports.intake).await, client),
        )
    }

    /// Intake as a department system acting for `department`.
    pub async fn intake_for_department(
        &self,
        department: &str,
    ) -> IntakeServiceClient<AuthorizedChannel> {
        let channel = self.plain(self.ports.intake).await;
        IntakeServiceClient::new(borgerraad_platform::auth::Bearer::new(
            channel,
            self.idp.department_credentials(department),
        ))
    }

    pub async fn eligibility_as(
        &self,
        client: &str,
    ) -> EligibilityServiceClient<AuthorizedChannel> {
        EligibilityServiceClient::new(
            self.idp
                .channel(self.plain(self.ports.eligibility).await, client),
        )
    }

    pub async fn deadlines_as(
        &self,
        client: &str,
    ) -> DeadlineMonitoringServiceClient<AuthorizedChannel> {
        DeadlineMonitoringServiceClient::new(
            self.idp
                .channel(self.plain(self.ports.deadlines).await, client),
        )
    }

    pub async fn reporting_as(&self, client: &str) -> ReportingServiceClient<AuthorizedChannel> {
        ReportingServiceClient::new(
            self.idp
                .channel(self.plain(self.ports.reporting).await, client),
        )
    }

    async fn plain(&self, port: u16) -> Channel {
        self.channel(port).expect("a local URL")
    }

    /// JetStream on this test's NATS.
    pub async fn jetstream(&self) -> anyhow::Result<async_nats::jetstream::Context> {
        Ok(self.events.clone())
    }

    /// The test's own pool on the services' database, for looks at their tables
    /// (schema-qualified).
    pub fn tables(&self) -> &sqlx::PgPool {
        &self.tables
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
            "intake-deadlines",
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

    /// The inquiry as intake shows it to the staff now.
    pub async fn inquiry(&self, inquiry_id: &str) -> borgerraad_proto::v1::Inquiry {
        self.intake
            .clone()
            .get_inquiry(borgerraad_proto::v1::GetInquiryRequest {
                inquiry_id: inquiry_id.to_owned(),
                ..Default::default()
            })
            .await
            .expect("the inquiry")
            .into_inner()
    }

    /// Waits until every consumer has caught up and the outboxes are empty ([`Self::settled`]).
    pub async fn settle_within(&self, within: std::time::Duration) {
        borgerraad_test_harness::eventually("the system settles", within, || async {
            self.settled().await.ok()?.then_some(())
        })
        .await;
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
