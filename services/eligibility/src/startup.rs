//! Settings and wiring: `Application::build` binds and connects, `run_until` serves until shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_messaging::service::ServiceCore;
use borgerraad_messaging::{Consumer, ConsumerSpec, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::departments::Departments;
use borgerraad_platform::grpc::TraceContextInterceptor;
use borgerraad_platform::settings::{CommonSettings, var};
use borgerraad_platform::tls::{ClientTls, client_endpoint};
use borgerraad_proto::v1::eligibility_service_server::EligibilityServiceServer;
use borgerraad_proto::v1::intake_service_client::IntakeServiceClient;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;
use working_days::{Calendar, CalendarConfig};

use crate::events::{AssessInquiry, IntakeClient};
use crate::grpc::EligibilityApi;
use crate::rules::RuleSet;

pub const SERVICE_NAME: &str = "eligibility";
pub const DEFAULT_PORT: u16 = 50052;
/// Intake's local address; `http://` instead of `https://` for a client that only speaks plain
/// text (`GRPC_PLAINTEXT=true` without `GRPC_TLS_CA_FILE`).
pub const DEFAULT_INTAKE_ADDRESS: &str = "127.0.0.1:50051";

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// The rule set in force: `ELIGIBILITY_RULES_FILE`, or the one built in.
    pub rules: Arc<RuleSet>,
    /// Where the description is read from (`INTAKE_URL`, `https://…`).
    pub intake_url: String,
    /// What the call to intake trusts and presents (`GRPC_TLS_CA_FILE`,
    /// `GRPC_TLS_CLIENT_CERT_FILE`/`GRPC_TLS_CLIENT_KEY_FILE`; `GRPC_PLAINTEXT` for `http://`).
    pub intake_tls: ClientTls,
    /// `CLOSING_DAYS` and `EXTRA_CLOSING_DAYS`, as deadline-monitoring reads them, so an appeal
    /// deadline is urgent by the same working days the office counts.
    pub calendar: CalendarConfig,
    /// The departments a draft may name (`DEPARTMENTS`, as intake reads it), so `Evaluate`
    /// checks a draft exactly as submission will.
    pub departments: Departments,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let rules = match var("ELIGIBILITY_RULES_FILE") {
            Some(path) => load_rules(&PathBuf::from(path))?,
            None => RuleSet::default_rules().context("the built-in rule file is broken")?,
        };
        let intake_tls = ClientTls::from_env()?;
        Ok(Self {
            common: CommonSettings::from_env(SERVICE_NAME, DEFAULT_PORT)?,
            rules: Arc::new(rules),
            intake_url: var("INTAKE_URL").unwrap_or_else(|| {
                format!("{}://{DEFAULT_INTAKE_ADDRESS}", intake_tls.default_scheme())
            }),
            intake_tls,
            calendar: CalendarConfig::from_env().map_err(anyhow::Error::msg)?,
            departments: Departments::from_env()?,
        })
    }
}

/// A referral back to a department names it in the person's words: the rule set must name
/// every department a submission may be about.
fn check_departments_named(rules: &RuleSet, departments: &Departments) -> anyhow::Result<()> {
    let unnamed: Vec<&str> = departments
        .codes()
        .filter(|code| !rules.departments.contains_key(*code))
        .collect();
    anyhow::ensure!(
        unnamed.is_empty(),
        "the rule set (version {}) has no names for the departments {}: add them under \
         `departments` in the rule file, or remove them from DEPARTMENTS",
        rules.version,
        unnamed.join(", ")
    );
    Ok(())
}

/// Reads and validates a rule file as a whole: a broken file stops the service with the field
/// or rule at fault, rather than letting it run with half the rules.
pub fn load_rules(path: &std::path::Path) -> anyhow::Result<RuleSet> {
    let yaml = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the rule file {}", path.display()))?;
    RuleSet::from_yaml(&yaml)
        .with_context(|| format!("the rule file {} is not valid", path.display()))
}

pub struct Application {
    core: ServiceCore,
    clock: SharedClock,
    rules: Arc<RuleSet>,
    calendar: Arc<Calendar>,
    intake: IntakeClient,
    departments: Departments,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        check_departments_named(&settings.rules, &settings.departments)?;
        let core =
            ServiceCore::connect(&settings.common, SERVICE_NAME, 32, &crate::db::MIGRATOR).await?;
        // Connects on first use, so the services can start in any order.
        let channel = client_endpoint("INTAKE_URL", &settings.intake_url, &settings.intake_tls)?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        tracing::info!(
            rule_set_version = %settings.rules.version,
            intake_url = %settings.intake_url,
            "rules loaded"
        );
        Ok(Self {
            core,
            clock,
            rules: settings.rules,
            calendar: Arc::new(Calendar::danish(settings.calendar)),
            intake: IntakeServiceClient::with_interceptor(
                settings.common.auth.authorized(channel)?,
                TraceContextInterceptor,
            ),
            departments: settings.departments,
        })
    }

    pub fn port(&self) -> u16 {
        self.core.port()
    }

    /// Serves until `shutdown`; the consumer finishes the messages in hand, the relay its batch.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let outbox = Outbox::new();
        let pool = self.core.pool.clone();
        let calendar = self.calendar;
        let relay = outbox
            .relay(pool.clone(), self.core.jetstream())
            .run(shutdown.clone())
            .boxed();
        let consumer = Consumer::new(
            ConsumerSpec {
                // Received and amended inquiries; the other lifecycle steps are passed over.
                // Named after its filter: a durable consumer keeps the filter it was made with.
                durable_name: "eligibility-inquiries",
                filter_subject: "borgerraad.inquiry.>",
                // Each assessment waits on a few round trips rather than the CPU: more lanes.
                concurrency: 12,
                batch_size: 64,
            },
            pool.clone(),
            self.core.jetstream(),
            AssessInquiry::new(
                outbox.clone(),
                self.clock.clone(),
                self.rules.clone(),
                calendar.clone(),
                self.intake,
            ),
            Some(outbox.clone()),
        )
        .run(shutdown.clone())
        .boxed();
        let routes = tonic::service::Routes::new(EligibilityServiceServer::new(EligibilityApi {
            pool,
            outbox,
            clock: self.clock,
            rules: self.rules,
            calendar,
            departments: self.departments,
        }));
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
