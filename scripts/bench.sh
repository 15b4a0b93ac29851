#!/usr/bin/env bash
# The system's benchmark, with its baselines taken in the same run (this machine's disk and CPU
# swing widely, so only same-run ratios mean anything):
#   1. pgbench: single-row INSERT transactions at 32 clients on the same PostgreSQL;
#   2. bare JetStream publishes (awaited acks, file storage) at concurrency 32 on the same nats-server;
#   3. the system: loadgen submits N inquiries at concurrency 32 through intake and waits until
#      every one is assessed and has a deadline; plus each service's resident memory when idle;
#   4. intake alone, the other services stopped, to separate its own capacity from the machine's;
#   5. what access control costs: intake alone as deployed (TLS, every token verified) beside the
#      baseline build (every call admitted as a web form without a token; feature
#      unauthenticated-baseline) over TLS and in plain text, in alternating rounds, each on a fresh
#      database: submissions/s and intake's CPU time per submission.
# Uses a private nats-server and a fresh database; leaves nothing behind.
#   scripts/bench.sh [N]                 (default N = 20000)
#   scripts/bench.sh --only access [N]   part 5 alone
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ONLY=""
if [ "${1:-}" = --only ]; then ONLY="${2:?--only takes a part: access}"; shift 2; fi
case "$ONLY" in ""|access) ;; *) echo "--only takes: access" >&2; exit 2;; esac
N="${1:-20000}"
ROUNDS=2
C=32
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ensure_cargo
ensure_package "$(nats_server_bin)" nats-server
ensure_postgres "$PG_URL"
work="$(mktemp -d)"
# The baseline build first, kept aside; the build after it puts the real intake back.
(cd "$ROOT" && cargo build --release --locked -p intake --features unauthenticated-baseline)
mkdir -p "$work/baseline-bin"
cp "$(release_bin)/intake" "$work/baseline-bin/intake"
(cd "$ROOT" && cargo build --release --locked --bins)

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
    for variant_db in $(psql "$PG_URL" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE '${db}_access_%'" 2>/dev/null); do
        psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $variant_db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
wait_for_port 127.0.0.1 "$nats_port" 20

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"

export NATS_URL="nats://127.0.0.1:$nats_port" RUST_LOG=warn PORT_BASE=51050
start_dev_idp   # the services check tokens; loadgen submits with a web form's

if [ -z "$ONLY" ]; then
    echo "--- baseline 1: pgbench, single-row INSERT transactions, 32 clients, 10 s"
    psql "$PG_URL" -qc "CREATE DATABASE ${db}_pgbench" >/dev/null
    psql "$server/${db}_pgbench" -qc "CREATE TABLE t (id bigserial PRIMARY KEY, payload text NOT NULL)" >/dev/null
    echo "INSERT INTO t (payload) VALUES (repeat('x', 200));" >"$work/insert.sql"
    pgbench -n -c "$C" -j 2 -T 10 -f "$work/insert.sql" "$server/${db}_pgbench" 2>/dev/null | grep -E '^tps'

    echo "--- baseline 2: bare JetStream publish, concurrency $C"
    "$(release_bin)/loadgen" --bare-publish -n "$N" -c "$C" --nats "nats://127.0.0.1:$nats_port"

    echo "--- the system: $N inquiries at concurrency $C"
    export DATABASE_URL="$server/$db"
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
    stop_services
fi

# Intake's CPU time so far (user + system), in milliseconds.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }

# One variant of part 5 on a fresh database: sets RUN_RATE (submissions/s) and RUN_CPU (intake's
# CPU µs per submission).
access_run() { # access_run NAME BIN_DIR TRANSPORT(tls|plain)
    local name="$1" bin_dir="$2" transport="$3" saved_cert="${GRPC_TLS_CERT_FILE:-}" \
        saved_key="${GRPC_TLS_KEY_FILE:-}" saved_ca="${GRPC_TLS_CA_FILE:-}" out before after rate
    export DATABASE_URL="$server/${db}_access_${name//-/_}_$round"
    if [ "$transport" = plain ]; then
        unset GRPC_TLS_CERT_FILE GRPC_TLS_KEY_FILE GRPC_TLS_CA_FILE
        export GRPC_PLAINTEXT=true
    fi
    SERVICES=(intake)
    SERVICE_BIN_DIR="$bin_dir" BORGERRAAD_UNAUTHENTICATED_BASELINE=benchmark start_services >/dev/null 2>&1 \
        || { log "intake ($name) did not start; see .local/logs/intake.log"; return 1; }
    before="$(cpu_ms "${SERVICE_PIDS[0]}")"
    out="$("$(release_bin)/loadgen" --submit-only -n "$N" -c "$C" \
        --intake "$(grpc_scheme)://127.0.0.1:$(service_port intake)" --nats "$NATS_URL")"
    after="$(cpu_ms "${SERVICE_PIDS[0]}")"
    stop_services
    if [ "$transport" = plain ]; then
        unset GRPC_PLAINTEXT
        export GRPC_TLS_CERT_FILE="$saved_cert" GRPC_TLS_KEY_FILE="$saved_key" GRPC_TLS_CA_FILE="$saved_ca"
    fi
    case "$out" in *"(0 failed)"*) ;; *) log "intake ($name): $out"; return 1;; esac
    rate="$(printf '%s' "$out" | sed -n 's/^intake alone: \([0-9]*\) submissions.*/\1/p')"
    RUN_RATE="$rate" RUN_CPU=$(((after - before) * 1000 / N))
    printf '%-34s round %d: %6d submissions/s, intake CPU %4d µs per submission; %s\n' \
        "$name" "$round" "$RUN_RATE" "$RUN_CPU" "${out#*; }"
}

echo "--- what access control costs: intake alone, $N submissions at concurrency $C, $ROUNDS rounds"
configure_local_transport   # the TLS variants use this checkout's local CA and certificate
[ -n "${GRPC_TLS_CERT_FILE:-}" ] || { log "part 5 needs TLS: install openssl"; exit 1; }
declare -A rate_sum=() cpu_sum=()
variants=("TLS + token checks (as deployed)|$(release_bin)|tls"
          "TLS, no token checks (baseline)|$work/baseline-bin|tls"
          "plain text, no token checks|$work/baseline-bin|plain")
for round in $(seq 1 "$ROUNDS"); do
    for variant in "${variants[@]}"; do
        IFS='|' read -r name bin_dir transport <<<"$variant"
        access_run "$name" "$bin_dir" "$transport"
        rate_sum[$name]=$((${rate_sum[$name]:-0} + RUN_RATE)) cpu_sum[$name]=$((${cpu_sum[$name]:-0} + RUN_CPU))
    done
done
deployed="${variants[0]%%|*}"
for variant in "${variants[@]}"; do
    name="${variant%%|*}"
    awk -v name="$name" -v r="${rate_sum[$name]}" -v c="${cpu_sum[$name]}" -v rd="${rate_sum[$deployed]}" \
        -v cd="${cpu_sum[$deployed]}" -v n="$ROUNDS" -v deployed="$deployed" 'BEGIN {
        printf "mean %-34s %6.0f submissions/s, %4.0f µs CPU per submission", name, r / n, c / n
        if (name != deployed) printf "; as deployed: %.1f %% fewer submissions/s, %.1f %% more CPU each", (r - rd) * 100 / r, (cd - c) * 100 / c
        printf "\n" }'
done
