#!/usr/bin/env bash
# Starts the whole Borgerraad system on this machine: NATS and PostgreSQL (private ones where
# none answers at NATS_URL / DATABASE_URL), the four services built in release mode, and then
# makes an example call. Ctrl-C stops everything it started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/borgerraad}"

SERVICE_PIDS=()
cleanup() { log "stopping"; stop_services; stop_private_dependencies; }
trap cleanup EXIT
trap 'exit 0' INT TERM

ensure_cargo
ensure_nats "$(url_host "$NATS_URL")" "$(url_port "$NATS_URL" 4222)"
ensure_postgres "$DATABASE_URL"

log "building the services (release)"
(cd "$ROOT" && cargo build --release --locked --bins)

start_services   # each service applies its own migrations at start

log "example call: target/release/borgerraad example"
"$ROOT/target/release/borgerraad" example

cat <<TXT

Borgerraad is running. Try:
  target/release/borgerraad submit --department boern-og-unge --no-prior-dialogue
  target/release/borgerraad show <inquiry_id>
  target/release/borgerraad summary
  grpcurl -plaintext 127.0.0.1:50051 list        # reflection is on
Logs: .local/logs/. Press Ctrl-C to stop.
TXT
wait
