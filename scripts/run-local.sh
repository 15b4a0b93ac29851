#!/usr/bin/env bash
# Starts the whole Borgerraad system on this machine: NATS and PostgreSQL (private ones where
# none answers at NATS_URL / DATABASE_URL), a development identity provider, the four services
# built in release mode, and then makes an example call. Ctrl-C stops everything it started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/borgerraad}"
# The services listen, and the CLI (the example call below) looks, at PORT_BASE + 1 … + 4.
export PORT_BASE="${PORT_BASE:-50050}"
export_service_addresses

SERVICE_PIDS=()
cleanup() { log "stopping"; stop_services; stop_dev_idp; stop_private_dependencies; }
trap cleanup EXIT
trap 'exit 0' INT TERM

ensure_cargo
check_service_ports_free
ensure_nats "$(url_host "$NATS_URL")" "$(url_port "$NATS_URL" 4222)"
ensure_postgres "$DATABASE_URL"

log "building the services (release; the first build takes a while, see README.md)"
(cd "$ROOT" && cargo build --release --locked --bins)
BIN="$(release_bin)"

start_dev_idp    # tokens for the services, the CLI and grpcurl (see README.md, Access)
start_services   # each service applies its own migrations at start

log "example call: ${BIN#"$ROOT"/}/borgerraad example"
run_example "$BIN" || true   # a failed example leaves the system running, to be looked at

print_hints "$BIN"
wait
