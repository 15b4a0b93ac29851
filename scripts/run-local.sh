#!/usr/bin/env bash
# Starts the whole Borgerraad system on this machine: this checkout's own authenticated
# nats-server (always private, at NATS_PORT, default the first free port from 4223: each service
# logs in as its own user with a password generated once in .local/nats/), PostgreSQL (a private
# one where none answers at DATABASE_URL), a development identity provider, the four services
# built in release mode, and then makes an example call. Ctrl-C stops everything it started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NATS_PORT="${NATS_PORT:-$(free_port_from 4223)}"
export NATS_URL="nats://127.0.0.1:$NATS_PORT"
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
start_secured_nats 127.0.0.1 "$NATS_PORT"
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
