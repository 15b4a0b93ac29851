//! The benchmark's baseline build: what a call costs without access control, so that
//! `scripts/bench.sh` can show what checking tokens adds (and TLS beside it) in the same run.
//!
//! Compiled in only with the cargo feature `unauthenticated-baseline`, which no image, script or
//! test but the benchmark enables. Such a binary admits every call as a web form, without
//! looking at its token, and the policy still applies: it can submit and pre-check, nothing
//! else. It refuses to start unless `BORGERRAAD_UNAUTHENTICATED_BASELINE=benchmark` is set, and
//! says at start what it is, so a copy left in `target/` cannot pass for a real service.

use std::collections::BTreeSet;

use super::{Principal, Role};

/// The setting that acknowledges a baseline build, and its one accepted value.
pub const ACKNOWLEDGEMENT: (&str, &str) = ("BORGERRAAD_UNAUTHENTICATED_BASELINE", "benchmark");

/// The caller every call is taken for.
pub fn principal() -> Principal {
    Principal {
        subject: "unauthenticated-baseline".into(),
        client: Some("unauthenticated-baseline".into()),
        roles: BTreeSet::from([Role::WebForm]),
        departments: BTreeSet::new(),
    }
}

/// Refuses to start without the acknowledgement (read with the settings, before telemetry).
pub fn check_acknowledged(value: Option<&str>) -> anyhow::Result<()> {
    let (name, expected) = ACKNOWLEDGEMENT;
    if value != Some(expected) {
        anyhow::bail!(
            "this binary was built with the feature unauthenticated-baseline: it admits every \
             call as a web form without checking a token, for the benchmark's baseline only. \
             Build without the feature to run the service; set {name}={expected} to run the \
             baseline"
        );
    }
    Ok(())
}

/// Said once when the server starts, so the log shows what this process is.
pub fn warn_at_start() {
    tracing::warn!(
        "unauthenticated baseline build: every call is admitted as a web form without a token; \
         for the benchmark only"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy;

    #[test]
    fn a_baseline_build_does_not_start_without_the_acknowledgement() {
        assert!(check_acknowledged(None).is_err());
        assert!(check_acknowledged(Some("true")).is_err());
        assert!(check_acknowledged(Some("benchmark")).is_ok());
    }

    #[test]
    fn the_baseline_caller_may_only_do_what_a_web_form_may() {
        let caller = principal();
        assert!(policy::authorize(&caller, "/borgerraad.v1.IntakeService/SubmitInquiry").is_ok());
        assert!(policy::authorize(&caller, "/borgerraad.v1.IntakeService/GetInquiry").is_err());
    }
}
