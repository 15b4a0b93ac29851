//! The real `eligibility` binary refuses to start on a broken rule file, naming what is wrong,
//! rather than running with half the rules.

use std::process::Command;

const DEFAULT_RULES: &str = include_str!("../rules/borgerraad-rules.yaml");

fn start_with_rule_file(path: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_eligibility"))
        .env("ELIGIBILITY_RULES_FILE", path)
        .env("GRPC_ADDR", "127.0.0.1:0")
        .env("GRPC_PLAINTEXT", "true")
        // Nothing listens here: a service that got past its rules would hang, not exit.
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .output()
        .expect("eligibility runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_rule_text_with_a_misspelt_placeholder_stops_the_service_with_the_rule_named() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("rules.yaml");
    let broken = DEFAULT_RULES.replacen("{department}", "{departmnet}", 1);
    assert_ne!(broken, DEFAULT_RULES);
    std::fs::write(&path, broken).expect("written");

    let (succeeded, stderr) = start_with_rule_file(&path);
    assert!(!succeeded);
    assert!(stderr.contains("is not valid"), "{stderr}");
    assert!(stderr.contains("{departmnet}"), "{stderr}");
    assert!(stderr.contains("rule `"), "the rule is named: {stderr}");
}

#[test]
fn a_missing_rule_file_stops_the_service_with_its_path() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("no-such-rules.yaml");
    let (succeeded, stderr) = start_with_rule_file(&path);
    assert!(!succeeded);
    assert!(stderr.contains("cannot read the rule file"), "{stderr}");
    assert!(stderr.contains("no-such-rules.yaml"), "{stderr}");
}
