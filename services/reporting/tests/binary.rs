//! The real `reporting` binary, logging JSON as in production: a caller's mistakes are logged
//! below ERROR, so ERROR stays for faults of the service, and a fault of the service is.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use borgerraad_proto::v1::{self as pb, reporting_service_client::ReportingServiceClient};
use borgerraad_test_harness::idp::STAFF;
use borgerraad_test_harness::{NatsServer, TestDatabase, TestIdp, eventually, free_port};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const WAIT: Duration = Duration::from_secs(30);

/// The binary with its standard output (the JSON log) read line by line as it comes.
struct Service {
    child: Child,
    log: Arc<Mutex<Vec<serde_json::Value>>>,
    port: u16,
}

impl Service {
    fn start(database: &TestDatabase, nats: &NatsServer, idp: &TestIdp) -> Self {
        let port = free_port().expect("port");
        let mut child = Command::new(env!("CARGO_BIN_EXE_reporting"))
            .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
            .env("AUTH_ISSUER", idp.issuer())
            .env("DATABASE_URL", database.url())
            .env("NATS_URL", nats.url())
            .env("LOG_FORMAT", "json")
            .env("GRPC_PLAINTEXT", "true")
            .env_remove("RUST_LOG")
            .env_remove("DEPARTMENTS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("reporting starts");
        let stdout = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let entry = serde_json::from_str(&line)
                        .unwrap_or_else(|_| serde_json::json!({ "unparsed": line }));
                    log.lock().expect("lock").push(entry);
                }
            }
        });
        Self { child, log, port }
    }

    fn lines(&self) -> Vec<serde_json::Value> {
        self.log.lock().expect("lock").clone()
    }

    /// The log's "call failed" lines: one per call that did not end OK.
    fn failed_calls(&self) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|line| line["message"] == "call failed")
            .collect()
    }

    async fn channel(&self) -> Channel {
        let port = self.port;
        eventually("reporting to report SERVING", WAIT, || async move {
            let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .ok()?
                .connect()
                .await
                .ok()?;
            let status = HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: "borgerraad.v1.ReportingService".into(),
                })
                .await
                .ok()?
                .into_inner()
                .status();
            (status == tonic_health::pb::health_check_response::ServingStatus::Serving)
                .then_some(channel)
        })
        .await
    }

    /// SIGTERM, then waits for a clean exit; polling, so the test's own connections can close.
    async fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let exit = eventually("reporting to exit after SIGTERM", WAIT, || {
            let exited = self.child.try_wait().expect("wait");
            async move { exited }
        })
        .await;
        assert!(exit.success(), "reporting exited with {exit}");
    }
}

/// `GetSummaryRequest` with `department` (field 2) as bytes, to send what no real client would.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSummaryRequest {
    #[prost(bytes = "vec", tag = "2")]
    department: Vec<u8>,
}

#[tokio::test]
async fn a_callers_mistakes_are_logged_below_error_and_a_fault_of_the_service_at_error() {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    let nats = NatsServer::start().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let service = Service::start(&database, &nats, idp);
    let channel = service.channel().await;
    let authed = idp.channel(channel.clone(), STAFF);
    let mut reporting = ReportingServiceClient::new(authed.clone());

    // One person's typos and wrong turns, each refused.
    let mut refused = Vec::new();
    let backwards = pb::MonthRange {
        first: Some(pb::YearMonth {
            year: 2026,
            month: 6,
        }),
        last: Some(pb::YearMonth {
            year: 2026,
            month: 13,
        }),
    };
    refused.push(
        reporting
            .get_summary(pb::GetSummaryRequest {
                period: Some(backwards),
                department: String::new(),
            })
            .await
            .expect_err("a month 13"),
    );
    refused.push(
        reporting
            .get_summary(pb::GetSummaryRequest {
                period: None,
                department: "by-og-kultru".into(),
            })
            .await
            .expect_err("a misspelt department"),
    );
    refused.push(
        reporting
            .get_trend(pb::GetTrendRequest {
                period: None,
                department: "BY-OG-KULTUR".into(),
            })
            .await
            .expect_err("a department in capitals"),
    );
    let Err(status) = reporting
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 2026,
            format: 77,
            department: String::new(),
        })
        .await
    else {
        panic!("an unknown format")
    };
    refused.push(status);
    let mut raw = tonic::client::Grpc::new(authed.clone());
    raw.ready().await.expect("ready");
    refused.push(
        raw.unary::<_, pb::Summary, _>(
            tonic::Request::new(RawSummaryRequest {
                department: vec![0xc3, 0x28],
            }),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/borgerraad.v1.ReportingService/GetSummary",
            ),
            borgerraad_proto::codec::ProtoCodec::default(),
        )
        .await
        .expect_err("a department that is not UTF-8"),
    );
    refused.push(
        pb::intake_service_client::IntakeServiceClient::new(authed.clone())
            .list_inquiries(pb::ListInquiriesRequest::default())
            .await
            .expect_err("intake's method on reporting's port"),
    );
    refused.push(
        HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: "borgerraad.v1.IntakeService".into(),
            })
            .await
            .expect_err("another service's health"),
    );
    let codes: Vec<_> = refused.iter().map(tonic::Status::code).collect();
    use tonic::Code::{InvalidArgument, NotFound, Unimplemented};
    assert_eq!(
        codes,
        [
            InvalidArgument,
            InvalidArgument,
            InvalidArgument,
            InvalidArgument,
            InvalidArgument,
            Unimplemented,
            NotFound
        ]
    );

    let failed = eventually("every refusal logged", WAIT, || {
        let failed = service.failed_calls();
        async move { (failed.len() >= 7).then_some(failed) }
    })
    .await;
    let levels: Vec<_> = failed
        .iter()
        .map(|line| line["level"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        levels,
        ["INFO", "INFO", "INFO", "INFO", "INFO", "WARN", "INFO"],
        "{failed:#?}"
    );
    let errors: Vec<_> = service
        .lines()
        .into_iter()
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert!(
        errors.is_empty(),
        "no ERROR for a caller's mistake: {errors:#?}"
    );

    // A fault of the service: its figures table is gone.
    let tables = database.pool("reporting").await.expect("pool");
    sqlx::query("ALTER TABLE counters RENAME TO counters_lost")
        .execute(&tables)
        .await
        .expect("renamed");
    let status = reporting
        .get_summary(pb::GetSummaryRequest::default())
        .await
        .expect_err("the service cannot read its figures");
    assert_eq!(status.code(), tonic::Code::Internal);
    let fault = eventually("the fault logged", WAIT, || {
        let failed = service.failed_calls();
        async move { failed.get(7).cloned() }
    })
    .await;
    assert_eq!(fault["level"], "ERROR", "{fault:#}");
    assert_eq!(fault["grpc_code"], "Internal", "{fault:#}");
    assert!(
        service
            .lines()
            .iter()
            .any(|line| line["level"] == "ERROR" && line["message"] == "request failed"),
        "the cause is logged at ERROR too"
    );
    tables.close().await;
    drop((reporting, raw, channel));
    service.stop().await;
}
