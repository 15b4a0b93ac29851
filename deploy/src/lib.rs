//! This crate exists only to hold checks that need neither a Docker engine nor a build:
//! `tests/compose.rs` reads `docker-compose.yml` and the files under `deploy/` it refers to, and
//! `tests/scripts.rs` parses the scripts under `scripts/` and runs the logic of `scripts/lib.sh`
//! that `scripts/run-local.sh` relies on, so `cargo test` catches a broken deployment or script.
