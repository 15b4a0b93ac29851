#!/usr/bin/env bash
# Runs the whole test suite. Tests start their own nats-server and create a database per test on
# the PostgreSQL at TEST_DATABASE_URL, so this makes sure both are available first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ensure_cargo
ensure_package "$(nats_server_bin)" nats-server
export NATS_SERVER_BIN="${NATS_SERVER_BIN:-$(nats_server_bin)}"
ensure_aiosmtpd
trap stop_private_dependencies EXIT
ensure_postgres "$TEST_DATABASE_URL"
ensure_dev_idp_packages   # the tests get their tokens from the development identity provider

cd "$ROOT"
cargo test --workspace --locked "$@"
