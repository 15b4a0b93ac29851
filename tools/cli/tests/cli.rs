//! The real `borgerraad` binary against the four services running in this process on a private
//! NATS and a fresh database, over TLS: it finds them from `PORT_BASE` as `scripts/run-local.sh`
//! places them, trusts the CA in `GRPC_TLS_CA_FILE` and no other, explicit addresses win, an
//! inquiry can be named by its reference, and the annual report's format follows the file
//! name.

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use borgerraad_e2e::{TestSystem, valid_submission};
use borgerraad_test_harness::TestIdp;
use tokio::process::Command;

/// The variables the CLI reads its addresses and TLS settings from, cleared so the test's own
/// environment cannot point it anywhere.
const ADDRESS_VARIABLES: [&str; 9] = [
    "PORT_BASE",
    "INTAKE_URL",
    "ELIGIBILITY_URL",
    "DEADLINE_MONITORING_URL",
    "REPORTING_URL",
    "GRPC_TLS_CA_FILE",
    "GRPC_TLS_CLIENT_CERT_FILE",
    "GRPC_TLS_CLIENT_KEY_FILE",
    "GRPC_PLAINTEXT",
];

/// The variables the CLI finds its tokens by, cleared for the same reason.
const TOKEN_VARIABLES: [&str; 6] = [
    "BORGERRAAD_TOKEN",
    "BORGERRAAD_AS",
    "BORGERRAAD_IDP_FILE",
    "AUTH_ISSUER",
    "AUTH_CLIENT_ID",
    "AUTH_CLIENT_SECRET",
];

/// `borgerraad` with no address settings from the environment, only those in `env`, and the
/// test provider's clients in the file run-local.sh would write (its token cache in a folder of
/// its own).
async fn borgerraad(args: &[&str], env: &[(&str, String)]) -> Output {
    let idp = TestIdp::shared()
        .await
        .expect("the identity provider starts");
    let home = tempfile::tempdir().expect("a folder");
    let idp_file = home.path().join("cli.json");
    idp.write_cli_file(&idp_file).expect("written");
    let mut command = Command::new(env!("CARGO_BIN_EXE_borgerraad"));
    for variable in ADDRESS_VARIABLES.iter().chain(&TOKEN_VARIABLES) {
        command.env_remove(variable);
    }
    command
        .args(args)
        .env("BORGERRAAD_IDP_FILE", &idp_file)
        .env("XDG_CACHE_HOME", home.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("borgerraad runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `PORT_BASE` whose four service ports are free right now.
fn free_port_base() -> u16 {
    for _ in 0..100 {
        let first = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = first.local_addr().expect("bound").port();
        if !(2..=65532).contains(&port) {
            continue;
        }
        let rest: Result<Vec<_>, _> = (1..4)
            .map(|offset| TcpListener::bind(("127.0.0.1", port + offset)))
            .collect();
        if rest.is_ok() {
            return port - 1;
        }
    }
    panic!("no four consecutive free ports found")
}

/// The four services on `PORT_BASE + 1 … + 4`; another test may take a port between the probe
/// and the bind, so a few bases are tried.
async fn system_on_a_port_base() -> (TestSystem, u16) {
    let mut last_error = None;
    for _ in 0..5 {
        let base = free_port_base();
        match TestSystem::start_on_port_base(base).await {
            Ok(system) => return (system, base),
            Err(error) => last_error = Some(error),
        }
    }
    panic!("the system did not start on a port base: {last_error:?}")
}

fn url(port: u16) -> String {
    format!("https://127.0.0.1:{port}")
}

/// The CA the CLI is told to trust: the one that signed `system`'s certificates.
fn trusting(system: &TestSystem) -> (&'static str, String) {
    ("GRPC_TLS_CA_FILE", system.pki.ca_file.display().to_string())
}

/// Explicit addresses of every service of `system`, and the CA to trust.
fn explicit_addresses(system: &TestSystem) -> Vec<(&'static str, String)> {
    vec![
        trusting(system),
        ("INTAKE_URL", url(system.ports.intake)),
        ("ELIGIBILITY_URL", url(system.ports.eligibility)),
        ("DEADLINE_MONITORING_URL", url(system.ports.deadlines)),
        ("REPORTING_URL", url(system.ports.reporting)),
    ]
}

#[tokio::test]
async fn the_example_call_reaches_all_four_services_from_port_base_alone() {
    let (system, base) = system_on_a_port_base().await;
    // The example dates its prior dialogue today, which must not lie after the receipt.
    system.clock.set(chrono::Utc::now());

    let output = borgerraad(
        &["example"],
        &[("PORT_BASE", base.to_string()), trusting(&system)],
    )
    .await;

    let printed = stdout(&output);
    assert!(output.status.success(), "{printed}\n{}", stderr(&output));
    assert!(printed.contains("Submitted inquiry BR-"), "{printed}");
    assert!(printed.contains("Assessment: "), "{printed}");
    assert!(!printed.contains("Assessment: not yet"), "{printed}");
    assert!(printed.contains("Answer due: "), "{printed}");
    assert!(!printed.contains("not yet scheduled"), "{printed}");
    assert!(printed.contains("Inquiries in total: 1"), "{printed}");
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_service_out_of_reach_is_named_with_how_to_point_the_cli_at_it() {
    let base = free_port_base();
    let pki = borgerraad_test_harness::TestPki::new("cli").expect("certificates");

    let output = borgerraad(
        &["summary"],
        &[
            ("PORT_BASE", base.to_string()),
            ("GRPC_TLS_CA_FILE", pki.ca_file.display().to_string()),
        ],
    )
    .await;

    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains(&format!("cannot reach reporting at {}", url(base + 4))),
        "{error}"
    );
    assert!(
        error.contains("set PORT_BASE (or REPORTING_URL, or --reporting)"),
        "{error}"
    );
}

#[tokio::test]
async fn show_finds_an_inquiry_by_its_reference_and_explicit_addresses_win_over_port_base() {
    let mut system = TestSystem::start().await.expect("system starts");
    let submitted = system
        .intake
        .submit_inquiry(valid_submission())
        .await
        .expect("submission accepted")
        .into_inner();
    // Wait until it is assessed and scheduled, so `show` has everything to print.
    system.assessment(&submitted.inquiry_id).await;
    system.deadline(&submitted.inquiry_id).await;
    // PORT_BASE points where nothing listens: only the explicit addresses can work.
    let mut env = explicit_addresses(&system);
    env.push(("PORT_BASE", free_port_base().to_string()));

    let by_reference = borgerraad(&["show", &submitted.reference], &env).await;
    let printed = stdout(&by_reference);
    assert!(
        by_reference.status.success(),
        "{printed}\n{}",
        stderr(&by_reference)
    );
    assert!(
        printed.starts_with(&format!("Inquiry {}:", submitted.reference)),
        "{printed}"
    );
    assert!(printed.contains("Assessment: Accepted"), "{printed}");
    // Received Wednesday 25 November 2026: 15 working days later is Wednesday 16 December.
    assert!(
        printed.contains("Answer due: 2026-12-16 (15 working days)"),
        "{printed}"
    );

    let typed_in_lower_case =
        borgerraad(&["show", &submitted.reference.to_lowercase()], &env).await;
    assert_eq!(stdout(&typed_in_lower_case), printed);
    let by_id = borgerraad(&["show", &submitted.inquiry_id], &env).await;
    assert_eq!(stdout(&by_id), printed);

    // A flag wins over its environment variable.
    let mut dead_intake = env.clone();
    dead_intake.retain(|(name, _)| *name != "INTAKE_URL");
    dead_intake.push(("INTAKE_URL", url(free_port_base() + 1)));
    let intake_flag = url(system.ports.intake);
    let by_flag = borgerraad(
        &["show", &submitted.reference, "--intake", &intake_flag],
        &dead_intake,
    )
    .await;
    assert_eq!(stdout(&by_flag), printed, "{}", stderr(&by_flag));

    let unknown = borgerraad(&["show", "BR-2026-999999"], &env).await;
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("intake has no inquiry with the reference BR-2026-999999"),
        "{}",
        stderr(&unknown)
    );
    let malformed = borgerraad(&["show", "sag-3"], &env).await;
    assert!(!malformed.status.success());
    assert!(
        stderr(&malformed).contains(
            "`SAG-3` is neither a reference such as BR-2026-000123 nor an inquiry id (a UUID)"
        ),
        "{}",
        stderr(&malformed)
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_annual_report_is_written_in_the_format_its_file_name_says() {
    let system = TestSystem::start().await.expect("system starts");
    let env = explicit_addresses(&system);
    let folder = tempfile::tempdir().expect("a folder");
    let path = |name: &str| folder.path().join(name);
    let report = |out: &Path, format: Option<&'static str>| {
        let env = env.clone();
        let out = out.to_str().expect("UTF-8 path").to_owned();
        async move {
            let mut args = vec!["annual-report", "--year", "2026", "--out", out.as_str()];
            if let Some(format) = format {
                args.extend(["--format", format]);
            }
            borgerraad(&args, &env).await
        }
    };

    let csv = report(&path("aarsberetning.csv"), None).await;
    assert!(csv.status.success(), "{}", stderr(&csv));
    let written = std::fs::read_to_string(path("aarsberetning.csv")).expect("written");
    assert!(
        written.starts_with("section,department,department_name,month,code,label,value,previous"),
        "{written}"
    );

    for name in ["aarsberetning.html", "aarsberetning.htm"] {
        let html = report(&path(name), None).await;
        assert!(html.status.success(), "{}", stderr(&html));
        let written = std::fs::read_to_string(path(name)).expect("written");
        assert!(written.starts_with("<!DOCTYPE html>"), "{name}");
    }

    let mismatch = report(&path("tal.csv"), Some("html")).await;
    assert!(!mismatch.status.success());
    assert!(
        stderr(&mismatch).contains("--format html does not match the file name"),
        "{}",
        stderr(&mismatch)
    );
    assert!(
        !path("tal.csv").exists(),
        "nothing is written on a mismatch"
    );

    let unknown = report(&path("aarsberetning.pdf"), None).await;
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("cannot tell the report format from the file name"),
        "{}",
        stderr(&unknown)
    );
    assert!(!path("aarsberetning.pdf").exists());

    let explicit = report(&path("aarsberetning"), Some("csv")).await;
    assert!(explicit.status.success(), "{}", stderr(&explicit));
    let written = std::fs::read_to_string(path("aarsberetning")).expect("written");
    assert!(written.starts_with("section,"), "{written}");
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_cli_acts_as_the_role_it_is_asked_to_and_reads_and_checks_the_access_log() {
    let system = TestSystem::start().await.expect("system starts");
    // `submit` dates the prior dialogue today, which must not lie after the receipt.
    system.clock.set(chrono::Utc::now());
    let env = explicit_addresses(&system);
    let submitted = borgerraad(&["submit"], &env).await;
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let reference = stdout(&submitted)
        .lines()
        .find_map(|line| line.strip_prefix("reference:"))
        .map(|r| r.trim().to_owned())
        .expect("a reference");

    // A web form reads nothing back: the refusal names the role that would do.
    let as_form = borgerraad(&["--as", "web-form", "show", &reference], &env).await;
    assert!(!as_form.status.success());
    assert!(
        stderr(&as_form).contains("needs the role caseworker, department-system"),
        "{}",
        stderr(&as_form)
    );
    let shown = borgerraad(&["show", &reference], &env).await;
    assert!(shown.status.success(), "{}", stderr(&shown));

    // The caseworker's look is in the access log, and the log is intact.
    let logged = borgerraad(&["access-log", "--inquiry", &reference], &env).await;
    assert!(logged.status.success(), "{}", stderr(&logged));
    assert!(
        stdout(&logged)
            .lines()
            .any(|line| line.contains(&reference) && line.contains("\tcaseworker\t")),
        "{}",
        stdout(&logged)
    );
    let verified = borgerraad(&["verify-audit-log"], &env).await;
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(stdout(&verified).starts_with("the access log is intact: "));

    // A token for scripts and grpcurl: three base64url parts.
    let token = borgerraad(&["token", "--as", "report-reader"], &env).await;
    assert!(token.status.success(), "{}", stderr(&token));
    assert_eq!(stdout(&token).trim().split('.').count(), 3);
    let department = borgerraad(
        &[
            "token",
            "--as",
            "department-system",
            "--department",
            "by-og-kultur",
        ],
        &env,
    )
    .await;
    assert!(department.status.success(), "{}", stderr(&department));
    // A department system reads its own department's inquiry, CPR masked.
    let as_department = borgerraad(
        &[
            "--as",
            "department-system",
            "--department",
            "by-og-kultur",
            "show",
            &reference,
        ],
        &env,
    )
    .await;
    assert!(as_department.status.success(), "{}", stderr(&as_department));
    assert!(stdout(&as_department).starts_with(&format!("Inquiry {reference}:")));
    // Parts of the inquiry its role may not see are said to be withheld, not missing.
    assert!(
        !stdout(&as_department).contains("not yet"),
        "{}",
        stdout(&as_department)
    );
    let no_role = borgerraad(&["token"], &env).await;
    assert!(!no_role.status.success());
    assert!(
        stderr(&no_role).contains("--as ROLE"),
        "{}",
        stderr(&no_role)
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn export_person_data_writes_the_letter_and_reseal_status_shows_the_keys() {
    let system = TestSystem::start().await.expect("system starts");
    let env = explicit_addresses(&system);
    let mut submission = borgerraad_test_harness::valid_submission();
    if let Some(requester) = submission.requester.as_mut() {
        requester.cpr = "010190-1234".into();
    }
    submission.description = "Hej <script>alert(1)</script>".into();
    system
        .intake_as(borgerraad_test_harness::idp::STAFF)
        .await
        .submit_inquiry(submission)
        .await
        .expect("submitted");
    let dir = tempfile::tempdir().expect("temporary directory");
    let letter = dir.path().join("indsigt.html");
    let letter_arg = letter.to_string_lossy().into_owned();

    let exported = borgerraad(
        &[
            "export-person-data",
            "--cpr",
            "010190-1234",
            "--purpose",
            "Indsigtsanmodning",
            "--format",
            "html",
            "--out",
            &letter_arg,
        ],
        &env,
    )
    .await;

    assert!(exported.status.success(), "{}", stderr(&exported));
    let html = std::fs::read_to_string(&letter).expect("written");
    assert!(html.contains("Indsigt i dine personoplysninger"));
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    let json = borgerraad(
        &[
            "export-person-data",
            "--cpr",
            "010190-1234",
            "--purpose",
            "Indsigtsanmodning",
        ],
        &env,
    )
    .await;
    assert!(json.status.success(), "{}", stderr(&json));
    let document: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    assert_eq!(document["inquiries"][0]["requester_cpr"], "010190-1234");
    let refused = borgerraad(&["export-person-data", "--cpr", "010190-1234"], &env).await;
    assert!(!refused.status.success(), "--purpose is required");

    let status = borgerraad(&["reseal-status"], &env).await;
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("done: only the current key"),
        "{}",
        stdout(&status)
    );
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_cli_trusts_only_the_ca_it_is_given_and_says_how_to_give_one() {
    let system = TestSystem::start().await.expect("system starts");
    let reporting = ("REPORTING_URL", url(system.ports.reporting));

    let trusted = borgerraad(&["summary"], &[reporting.clone(), trusting(&system)]).await;
    assert!(trusted.status.success(), "{}", stderr(&trusted));

    let no_ca = borgerraad(&["summary"], std::slice::from_ref(&reporting)).await;
    assert!(!no_ca.status.success());
    assert!(
        stderr(&no_ca).contains("no CA is configured: set GRPC_TLS_CA_FILE"),
        "{}",
        stderr(&no_ca)
    );

    let stranger = borgerraad_test_harness::TestPki::new("stranger").expect("certificates");
    let deceived = borgerraad(
        &["summary"],
        &[
            reporting.clone(),
            ("GRPC_TLS_CA_FILE", stranger.ca_file.display().to_string()),
        ],
    )
    .await;
    assert!(!deceived.status.success());
    assert!(
        stderr(&deceived).contains("cannot reach reporting"),
        "{}",
        stderr(&deceived)
    );

    let plain = borgerraad(
        &["summary"],
        &[
            (
                "REPORTING_URL",
                format!("http://127.0.0.1:{}", system.ports.reporting),
            ),
            ("GRPC_PLAINTEXT", "true".into()),
        ],
    )
    .await;
    assert!(
        !plain.status.success(),
        "a TLS port does not answer plain text"
    );

    let health = borgerraad(
        &["health", "--addr", &url(system.ports.intake)],
        &[trusting(&system)],
    )
    .await;
    assert!(health.status.success(), "{}", stderr(&health));
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn erase_person_data_is_refused_while_an_inquiry_is_open_and_then_names_what_it_erased() {
    use borgerraad_proto::v1 as pb;
    let system = TestSystem::start().await.expect("system starts");
    let env = explicit_addresses(&system);
    let mut intake = system.intake.clone();
    let submitted = intake
        .submit_inquiry(pb::SubmitInquiryRequest {
            requester: Some(pb::Requester {
                name: "Karen Jensen".into(),
                cpr: "0101901234".into(),
                ..Default::default()
            }),
            ..valid_submission()
        })
        .await
        .expect("accepted")
        .into_inner();
    let erase = [
        "erase-person-data",
        "--cpr",
        "010190-1234",
        "--reason",
        "Anmodning om sletning",
    ];

    let refused = borgerraad(&erase, &env).await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains(&submitted.reference),
        "{}",
        stderr(&refused)
    );

    let version = system.settled_version(&submitted.inquiry_id).await;
    intake
        .withdraw_inquiry(pb::WithdrawInquiryRequest {
            inquiry_id: submitted.inquiry_id.clone(),
            expected_version: version,
            actor: String::new(),
            reason: "Trukket tilbage".into(),
        })
        .await
        .expect("withdrawn");
    let erased = borgerraad(&erase, &env).await;
    assert!(erased.status.success(), "{}", stderr(&erased));
    assert_eq!(
        stdout(&erased).trim(),
        format!("erased\t{}\t{}", submitted.reference, submitted.inquiry_id)
    );
    system.stop().await.expect("clean shutdown");
}
