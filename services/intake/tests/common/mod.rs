//! One intake replica on a fresh database and a private NATS, for the service tests of the
//! export and of re-sealing.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_platform::clock::ManualClock;
use borgerraad_platform::departments::Departments;
use borgerraad_platform::settings::{CommonSettings, LogFormat, Secret};
use borgerraad_proto::v1::{self as pb, intake_service_client::IntakeServiceClient};
use borgerraad_test_harness::idp::STAFF;
use borgerraad_test_harness::{NatsServer, TestDatabase, TestIdp};
use chrono::{TimeZone, Utc};
use personal_data::{DataKey, Keyring};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A key ring of the named keys, the first current; each id has its own key material.
pub fn ring(ids: &[&str]) -> Arc<Keyring> {
    let mut keys = ids.iter().map(|id| {
        let material = [id
            .bytes()
            .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b)); 32];
        DataKey::from_bytes(id, material).expect("valid key")
    });
    let current = keys.next().expect("a key");
    Arc::new(keys.fold(Keyring::new(current), |ring, key| {
        ring.with_previous(key).expect("distinct ids")
    }))
}

/// One intake replica, serving until stopped; its client acts as the staff (caseworker and
/// operator).
pub struct Replica {
    pub client: IntakeServiceClient<AuthorizedChannel>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    pub async fn start(database: &TestDatabase, nats: &NatsServer, keyring: Arc<Keyring>) -> Self {
        let idp = TestIdp::shared()
            .await
            .expect("the identity provider starts");
        let settings = intake::Settings {
            common: CommonSettings {
                service_name: "intake".into(),
                grpc_addr: ([127, 0, 0, 1], 0).into(),
                transport: borgerraad_platform::tls::ServerTransport::Plaintext,
                database_url: Secret::new(database.url()),
                nats_url: nats.url(),
                nats: Default::default(),
                otlp_endpoint: None,
                log_format: LogFormat::Pretty,
                auth: idp.auth_settings(),
            },
            departments: Departments::odense(),
            personal_data_keys: keyring,
            retention: Default::default(),
        };
        let clock = ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
                .single()
                .expect("valid time"),
        );
        let application = intake::Application::build(settings, clock)
            .await
            .expect("intake starts");
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", application.port()))
            .expect("url")
            .connect_lazy();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(application.run_until(shutdown.clone()));
        Self {
            client: IntakeServiceClient::new(idp.channel(channel, STAFF)),
            shutdown,
            task,
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("stopped in time")
            .expect("no panic")
            .expect("clean stop");
    }

    /// Submits a citizen's inquiry with this CPR number and description; its id.
    pub async fn submit(&self, cpr: &str, description: &str) -> String {
        let mut submission = borgerraad_test_harness::valid_submission();
        if let Some(requester) = submission.requester.as_mut() {
            requester.cpr = cpr.into();
        }
        submission.description = description.into();
        submission.desired_outcome = "Et svar inden jul".into();
        self.client
            .clone()
            .submit_inquiry(submission)
            .await
            .expect("submitted")
            .into_inner()
            .inquiry_id
    }

    /// Adds a note to the inquiry at `version`.
    pub async fn note(&self, inquiry_id: &str, version: i64, text: &str) {
        self.client
            .clone()
            .add_note(pb::AddNoteRequest {
                inquiry_id: inquiry_id.into(),
                expected_version: version,
                text: text.into(),
                ..Default::default()
            })
            .await
            .expect("note added");
    }
}

/// The fields an INVALID_ARGUMENT status names.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt as _;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
