//! The shell scripts under `scripts/`: they parse, and the logic of `scripts/lib.sh` that needs
//! no build (ports, the hints printed after start, the example call, where the private
//! PostgreSQL lives, the per-checkout key and TLS certificates) does what
//! `scripts/run-local.sh` relies on.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deploy/ has a parent directory")
        .to_path_buf()
}

/// Runs `script` in bash, strict as the scripts are, after sourcing `lib.sh` of `checkout`.
fn with_lib(checkout: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    let lib = checkout.join("scripts/lib.sh");
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail\n. '{}'\n{script}",
            lib.display()
        ))
        .env_remove("PORT_BASE")
        .env_remove("GRPC_HOST")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("GRPC_TLS_CA_FILE")
        .env_remove("GRPC_TLS_CERT_FILE")
        .env_remove("GRPC_TLS_KEY_FILE")
        .env_remove("GRPC_TLS_CLIENT_CA_FILE")
        .env_remove("GRPC_PLAINTEXT")
        .env_remove("PERSONAL_DATA_KEYS")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A throw-away checkout holding only `scripts/lib.sh`, so `.local/` lands in it.
fn checkout_in(parent: &Path, name: &str) -> PathBuf {
    let checkout = parent.join(name);
    fs::create_dir_all(checkout.join("scripts")).expect("scripts folder");
    fs::copy(
        repo_root().join("scripts/lib.sh"),
        checkout.join("scripts/lib.sh"),
    )
    .expect("lib.sh copied");
    checkout
}

fn is_root() -> bool {
    let id = Command::new("id").arg("-u").output().expect("id runs");
    text(&id.stdout).trim() == "0"
}

#[test]
fn every_script_parses() {
    let mut checked = 0;
    for entry in fs::read_dir(repo_root().join("scripts")).expect("scripts/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "sh") {
            let output = Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("bash runs");
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                text(&output.stderr)
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 7,
        "run-local.sh, test.sh, bench.sh, backup.sh, restore.sh, export-ledger.sh and lib.sh"
    );
}

/// The files that build or run the services: nothing but the benchmark may build the baseline
/// that admits calls without a token.
#[test]
fn only_the_benchmark_builds_the_unauthenticated_baseline() {
    let root = repo_root();
    let mut places = vec![root.join("deploy/Dockerfile"), root.join(".ci/run")];
    places.extend(
        fs::read_dir(root.join("scripts"))
            .expect("scripts/")
            .map(|entry| entry.expect("entry").path()),
    );
    for path in places {
        let content = fs::read_to_string(&path).expect("readable");
        let builds_it = content
            .lines()
            .any(|line| line.contains("cargo build") && line.contains("unauthenticated-baseline"));
        let is_bench = path.ends_with("scripts/bench.sh");
        assert_eq!(builds_it, is_bench, "{}", path.display());
    }
}

#[test]
fn port_base_moves_the_four_services_and_the_hints_show_the_real_ports() {
    let output = with_lib(
        &repo_root(),
        r#"for s in "${SERVICES[@]}"; do echo "$s $(service_port "$s")"; done
           EXAMPLE_REFERENCE=BR-2026-000007
           print_hints "$ROOT/target/release""#,
        &[("PORT_BASE", "50150")],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    for line in [
        "intake 50151",
        "eligibility 50152",
        "deadline-monitoring 50153",
        "reporting 50154",
        "intake on port 50151, eligibility 50152, deadline-monitoring 50153, reporting 50154",
        "  export PORT_BASE=50150",
        "  target/release/borgerraad show BR-2026-000007",
        "  grpcurl -plaintext 127.0.0.1:50151 list",
    ] {
        assert!(printed.contains(line), "{line:?} in\n{printed}");
    }
    assert!(!printed.contains("5005"), "no default port in\n{printed}");
}

#[test]
fn at_the_default_ports_the_hints_need_no_settings() {
    let output = with_lib(&repo_root(), r#"print_hints "$ROOT/target/release""#, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    assert!(!printed.contains("export"), "{printed}");
    assert!(
        printed.contains("grpcurl -plaintext 127.0.0.1:50051 list"),
        "{printed}"
    );
}

#[test]
fn the_cli_is_pointed_at_this_checkouts_services_whatever_the_shell_had_set() {
    let output = with_lib(
        &repo_root(),
        r#"export_service_addresses
           echo "$INTAKE_URL $ELIGIBILITY_URL $DEADLINE_MONITORING_URL $REPORTING_URL""#,
        &[
            ("PORT_BASE", "50150"),
            ("ELIGIBILITY_URL", "http://another-checkout:50052"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim(),
        "http://127.0.0.1:50151 http://127.0.0.1:50152 http://127.0.0.1:50153 \
         http://127.0.0.1:50154"
    );
}

#[test]
fn a_port_in_use_is_named_before_the_build_with_a_port_base_to_use_instead() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("bound").port();
    // Deadline-monitoring (PORT_BASE + 3) would need the taken port.
    let base = (port - 3).to_string();
    let output = with_lib(
        &repo_root(),
        "check_service_ports_free",
        &[("PORT_BASE", base.as_str())],
    );
    assert!(!output.status.success());
    let said = text(&output.stderr);
    assert!(
        said.contains(&format!(
            "port {port}, where deadline-monitoring would listen, is already in use"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("PORT_BASE={}", port - 3 + 100)),
        "{said}"
    );
    drop(taken);

    let free = with_lib(
        &repo_root(),
        "check_service_ports_free",
        &[("PORT_BASE", base.as_str())],
    );
    assert!(free.status.success(), "{}", text(&free.stderr));
}

#[test]
fn a_failed_example_call_is_said_clearly_and_leaves_the_system_running() {
    let folder = tempfile::tempdir().expect("a folder");
    let checkout = checkout_in(folder.path(), "borgerraad");
    let bin = folder.path().join("bin");
    fs::create_dir_all(&bin).expect("bin");
    let cli = bin.join("borgerraad");
    let fake = |exit: u8| {
        fs::write(
            &cli,
            format!(
                "#!/bin/sh\necho 'Submitted inquiry BR-2026-000042 (0196e7c2)'\n\
                 echo 'cannot reach eligibility' >&2\nexit {exit}\n"
            ),
        )
        .expect("fake CLI");
        fs::set_permissions(&cli, fs::Permissions::from_mode(0o755)).expect("executable");
    };
    let script = format!(
        r#"run_example '{}' || echo "the script carries on"
           echo "reference $EXAMPLE_REFERENCE""#,
        bin.display()
    );

    fake(1);
    let failed = with_lib(&checkout, &script, &[]);
    assert!(failed.status.success(), "{}", text(&failed.stderr));
    let (printed, said) = (text(&failed.stdout), text(&failed.stderr));
    assert!(printed.contains("the script carries on"), "{printed}");
    assert!(printed.contains("reference BR-2026-000042"), "{printed}");
    assert!(
        said.contains("THE EXAMPLE CALL FAILED (exit status 1"),
        "{said}"
    );
    assert!(said.contains("The services keep running"), "{said}");
    let kept = fs::read_to_string(checkout.join(".local/logs/example.txt")).expect("kept");
    assert!(kept.contains("cannot reach eligibility"), "{kept}");

    fake(0);
    let succeeded = with_lib(&checkout, &script, &[]);
    assert!(!text(&succeeded.stdout).contains("carries on"));
    assert!(!text(&succeeded.stderr).contains("FAILED"));

    // run-local.sh goes on to the hints and waits, whatever the example call did.
    let run_local = fs::read_to_string(repo_root().join("scripts/run-local.sh")).expect("read");
    assert!(run_local.contains(r#"run_example "$BIN" || true"#));
}

#[test]
fn each_checkout_keeps_its_own_private_postgresql() {
    let folder = tempfile::tempdir().expect("a folder");
    let dir_of = |checkout: &Path| {
        let output = with_lib(checkout, "pg_private_dir", &[]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        PathBuf::from(text(&output.stdout).trim())
    };
    let first = checkout_in(folder.path(), "first");
    let second = checkout_in(folder.path(), "second");

    if !is_root() {
        assert_eq!(dir_of(&first), first.join(".local/postgres"));
        assert_eq!(dir_of(&second), second.join(".local/postgres"));
        return;
    }
    // As root the server runs as the postgres user. In a folder private to root the postgres
    // user cannot reach these checkouts: the cluster goes to /var/tmp, per checkout.
    fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
    let (a, b) = (dir_of(&first), dir_of(&second));
    for dir in [&a, &b] {
        assert!(
            dir.starts_with("/var/tmp") && dir.to_string_lossy().contains("borgerraad-postgres-"),
            "{}",
            dir.display()
        );
    }
    assert_ne!(a, b, "two checkouts, two clusters");
    assert_eq!(
        dir_of(&first),
        a,
        "the same checkout finds its cluster again"
    );

    // Once the postgres user can reach the checkout, the cluster stays inside it.
    let postgres_user = Command::new("id")
        .arg("postgres")
        .output()
        .expect("id runs");
    if postgres_user.status.success() {
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(dir_of(&first), first.join(".local/postgres"));
    }
}

#[test]
fn each_checkout_generates_its_nats_passwords_once_letters_and_digits_only() {
    let folder = tempfile::tempdir().expect("a folder");
    let checkout = checkout_in(folder.path(), "borgerraad");
    let passwords = |checkout: &Path| {
        let output = with_lib(
            checkout,
            r#"ensure_nats_passwords
               for s in "${SERVICES[@]}"; do v="$(nats_password_var "$s")"; echo "$s ${!v}"; done"#,
            &[],
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let first = passwords(&checkout);
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 4, "{first}");
    for line in &lines {
        let (_, password) = line.split_once(' ').expect("service and password");
        assert!(password.len() >= 40, "{line}");
        assert!(
            password.starts_with(|c: char| c.is_ascii_alphabetic()),
            "{line}"
        );
        assert!(
            password.chars().all(|c| c.is_ascii_alphanumeric()),
            "{line}"
        );
    }
    assert_eq!(passwords(&checkout), first, "kept for the checkout");
    let other = checkout_in(folder.path(), "other");
    assert_ne!(passwords(&other), first, "another checkout has its own");
    let mode = fs::metadata(checkout.join(".local/nats/passwords.env"))
        .expect("kept in .local/nats")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "readable by the owner only");
}

#[test]
fn with_tls_the_cli_and_grpcurl_are_told_the_https_addresses_and_the_ca_to_trust() {
    let ca = repo_root().join(".local/tls/ca.pem");
    let ca = ca.to_str().expect("UTF-8 path");
    let output = with_lib(
        &repo_root(),
        r#"export_service_addresses
           echo "$INTAKE_URL $REPORTING_URL"
           print_hints "$ROOT/target/release""#,
        &[("PORT_BASE", "50150"), ("GRPC_TLS_CA_FILE", ca)],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    for line in [
        "https://127.0.0.1:50151 https://127.0.0.1:50154",
        &format!("  export GRPC_TLS_CA_FILE={ca}"),
        "  export PORT_BASE=50150",
        "  grpcurl -cacert .local/tls/ca.pem 127.0.0.1:50151 list",
    ] {
        assert!(printed.contains(line), "{line:?} in\n{printed}");
    }
    assert!(!printed.contains("http://"), "{printed}");
}

#[test]
fn in_plain_text_the_hints_say_so_explicitly() {
    let output = with_lib(
        &repo_root(),
        r#"print_hints "$ROOT/target/release""#,
        &[("GRPC_PLAINTEXT", "true")],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    assert!(
        printed.contains("  export GRPC_PLAINTEXT=true"),
        "{printed}"
    );
    assert!(
        printed.contains("grpcurl -plaintext 127.0.0.1:50051 list"),
        "{printed}"
    );
}

fn openssl_installed() -> bool {
    Command::new("sh")
        .args(["-c", "command -v openssl"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn each_checkout_makes_its_own_ca_once_and_its_services_serve_tls_with_it() {
    let folder = tempfile::tempdir().expect("a folder");
    let checkout = checkout_in(folder.path(), "borgerraad");
    let script = r#"configure_local_transport
        echo "$GRPC_TLS_CERT_FILE $GRPC_TLS_KEY_FILE $GRPC_TLS_CA_FILE ${GRPC_PLAINTEXT:-}""#;
    if !openssl_installed() {
        let output = with_lib(&checkout, script, &[]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(text(&output.stdout).trim(), "true");
        return;
    }
    let output = with_lib(&checkout, script, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let tls = checkout.join(".local/tls");
    let (cert, key, ca) = (
        tls.join("server.pem"),
        tls.join("server-key.pem"),
        tls.join("ca.pem"),
    );
    assert_eq!(
        text(&output.stdout).trim(),
        format!("{} {} {}", cert.display(), key.display(), ca.display())
    );
    let verified = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&ca)
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    let shown = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl runs");
    let names = text(&shown.stdout);
    assert!(
        names.contains("DNS:localhost") && names.contains("IP Address:127.0.0.1"),
        "{names}"
    );
    for secret in [&key, &tls.join("ca-key.pem")] {
        let mode = fs::metadata(secret).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", secret.display());
    }

    // Run again: the same CA and certificate.
    let before = fs::read(&ca).expect("ca");
    let cert_before = fs::read(&cert).expect("cert");
    let again = with_lib(&checkout, script, &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(fs::read(&ca).expect("ca"), before);
    assert_eq!(fs::read(&cert).expect("cert"), cert_before);

    // Another checkout, another CA.
    let other = checkout_in(folder.path(), "other");
    assert!(with_lib(&other, script, &[]).status.success());
    assert_ne!(
        fs::read(other.join(".local/tls/ca.pem")).expect("ca"),
        before
    );
}

#[test]
fn without_openssl_the_services_run_in_plain_text_and_say_so() {
    let folder = tempfile::tempdir().expect("a folder");
    let checkout = checkout_in(folder.path(), "borgerraad");
    let empty = folder.path().join("no-tools");
    fs::create_dir_all(&empty).expect("folder");
    let output = with_lib(
        &checkout,
        &format!(
            r#"PATH='{}' configure_local_transport
               echo "${{GRPC_PLAINTEXT:-}} ${{GRPC_TLS_CERT_FILE:-none}}""#,
            empty.display()
        ),
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "true none");
    assert!(
        text(&output.stderr).contains("GRPC_PLAINTEXT=true"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_transport_the_caller_chose_is_kept() {
    let folder = tempfile::tempdir().expect("a folder");
    let checkout = checkout_in(folder.path(), "borgerraad");
    let output = with_lib(
        &checkout,
        r#"configure_local_transport; echo "${GRPC_TLS_CERT_FILE:-none}""#,
        &[("GRPC_PLAINTEXT", "true")],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "none");
    assert!(!checkout.join(".local/tls").exists());
}

#[test]
fn each_checkout_generates_its_own_personal_data_key_once_and_keeps_it_private() {
    let folder = tempfile::tempdir().expect("a folder");
    let key_of = |checkout: &Path| {
        let output = with_lib(
            checkout,
            r#"ensure_personal_data_keys; echo "$PERSONAL_DATA_KEYS""#,
            &[],
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout).trim().to_owned()
    };
    let first = checkout_in(folder.path(), "first");
    let second = checkout_in(folder.path(), "second");
    let key = key_of(&first);
    assert!(key.starts_with("local1:"), "{key}");
    assert_eq!(key_of(&first), key, "kept for the checkout");
    assert_ne!(key_of(&second), key, "another checkout, another key");
    let mode = fs::metadata(first.join(".local/personal-data-keys"))
        .expect("kept in .local")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_backup_manifest_names_the_database_and_nats_without_their_passwords() {
    let output = with_lib(
        &repo_root(),
        "for url in postgres://app:s3cret@db:5432/borgerraad nats://backup:pw@nats:4222 \
         postgres://postgres@127.0.0.1:5432/borgerraad; do redacted_url \"$url\"; echo; done",
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "postgres://app:***@db:5432/borgerraad\nnats://backup:***@nats:4222\n\
         postgres://postgres@127.0.0.1:5432/borgerraad\n"
    );
}
