#!/usr/bin/env bash
# The walking skeleton's benchmark, with its baselines taken in the same run (this machine's disk
# and CPU swing widely, so only same-run ratios mean anything):
#   1. pgbench: single-row INSERT transactions at 32 clients on the same PostgreSQL;
#   2. bare JetStream publishes (awaited acks, file storage) at concurrency 32 on the same nats-server;
#   3. the system: loadgen submits N inquiries at concurrency 32 through intake and waits until
#      every one is assessed and has a deadline; plus each service's resident memory when idle;
#   4. intake alone, the other services stopped, to separate its own capacity from the machine's.
# Uses a private nats-server and a fresh database; leaves nothing behind.
#   scripts/bench.sh [N]     (default N = 20000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N="${1:-20000}"
C=32
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ensure_cargo
ensure_package "$(nats_server_bin)" nats-server
ensure_postgres "$PG_URL"
(cd "$ROOT" && cargo build --release --locked --bins)

work="$(mktemp -d)"
nats_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(nats_server_bin)" -a 127.0.0.1 -p "$nats_port" -js -sd "$work/nats" -l "$work/nats.log" &
nats_pid=$!
db="borgerraad_bench_$$"
server="${PG_URL%/*}"
SERVICE_PIDS=()
cleanup() {
    stop_services
    stop_dev_idp
    stop_private_dependencies
    kill "$nats_pid" 2>/dev/null || true
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS ${db}_pgbench WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS ${db}_intake WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
wait_for_port 127.0.0.1 "$nats_port" 20

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"

echo "--- baseline 1: pgbench, single-row INSERT transactions, 32 clients, 10 s"
psql "$PG_URL" -qc "CREATE DATABASE ${db}_pgbench" >/dev/null
psql "$server/${db}_pgbench" -qc "CREATE TABLE t (id bigserial PRIMARY KEY, payload text NOT NULL)" >/dev/null
echo "INSERT INTO t (payload) VALUES (repeat('x', 200));" >"$work/insert.sql"
pgbench -n -c "$C" -j 2 -T 10 -f "$work/insert.sql" "$server/${db}_pgbench" 2>/dev/null | grep -E '^tps'

echo "--- baseline 2: bare JetStream publish, concurrency $C"
"$(release_bin)/loadgen" --bare-publish -n "$N" -c "$C" --nats "nats://127.0.0.1:$nats_port"

echo "--- the system: $N inquiries at concurrency $C"
export NATS_URL="nats://127.0.0.1:$nats_port" DATABASE_URL="$server/$db" RUST_LOG=warn PORT_BASE=51050
start_dev_idp   # the services check tokens; loadgen submits with a web form's
start_services
sleep 5 # let start-up allocations settle before reading idle memory
for i in "${!SERVICES[@]}"; do
    printf 'idle RSS %-20s %6d kB\n' "${SERVICES[$i]}" "$(awk '/VmRSS/ {print $2}' "/proc/${SERVICE_PIDS[$i]}/status")"
done
"$(release_bin)/loadgen" -n "$N" -c "$C" --intake "$(grpc_scheme)://127.0.0.1:$(service_port intake)" --nats "$NATS_URL"
for i in "${!SERVICES[@]}"; do
    printf 'RSS after load %-20s %6d kB\n' "${SERVICES[$i]}" "$(awk '/VmRSS/ {print $2}' "/proc/${SERVICE_PIDS[$i]}/status")"
done

echo "--- intake alone (the other three services stopped): $N submissions at concurrency $C"
stop_services
export DATABASE_URL="$server/${db}_intake"
SERVICES=(intake)
start_services
"$(release_bin)/loadgen" --submit-only -n "$N" -c "$C" --intake "$(grpc_scheme)://127.0.0.1:$(service_port intake)" --nats "$NATS_URL"
