//! This crate exists only to hold the static checks of `docker-compose.yml` and
//! the files under `deploy/` (see `tests/compose.rs`), so that `cargo test`
//! catches a broken deployment without needing a Docker engine.
