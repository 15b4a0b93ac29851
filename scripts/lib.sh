# Shared shell functions for run-local.sh, test.sh and bench.sh: install what a fresh Debian
# machine lacks and start private NATS / PostgreSQL where none answers at the configured address.
# Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1; fi
}

apt_updated=""
ensure_package() { # ensure_package COMMAND-OR-PATH DEBIAN-PACKAGE
    if command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; then return 0; fi
    log "installing $2"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$2" >/dev/null
}

ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 || { log "cargo is missing: install Rust (rustup) first"; return 1; }
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for_port() { # wait_for_port HOST PORT SECONDS
    local deadline=$((SECONDS + $3))
    until port_open "$1" "$2"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

nats_server_bin() {
    command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server
}

# ensure_nats HOST PORT: a NATS with JetStream at HOST:PORT, private (under .local/) if none runs.
ensure_nats() {
    ensure_package "$(nats_server_bin)" nats-server
    if port_open "$1" "$2"; then return 0; fi
    log "starting a private nats-server on $1:$2 (store in .local/nats)"
    mkdir -p "$LOCAL/nats"
    "$(nats_server_bin)" -a "$1" -p "$2" -js -sd "$LOCAL/nats" -l "$LOCAL/nats/server.log" &
    echo $! >"$LOCAL/nats/pid"
    STARTED_NATS=1
    wait_for_port "$1" "$2" 20 || { log "nats-server did not start; see $LOCAL/nats/server.log"; return 1; }
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true; }

# Where a private cluster lives: somewhere the postgres user can reach when we run as root.
pg_private_dir() { if [ "$(id -u)" = 0 ]; then echo /var/tmp/borgerraad-postgres; else echo "$LOCAL/postgres"; fi; }

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# ensure_postgres URL: a PostgreSQL answering at URL's host and port that accepts URL's
# credentials; a private cluster (trust auth) if nothing listens there yet.
ensure_postgres() {
    local url="$1" host port
    host="$(url_host "$url")"; port="$(url_port "$url" 5432)"
    ensure_package psql postgresql-client
    if ! port_open "$host" "$port"; then
        ensure_package "$(pg_bin)/initdb" postgresql
        [ -x "$(pg_bin)/initdb" ] || { log "no PostgreSQL server binaries found after installing"; return 1; }
    fi
    # Installing the package may itself have started the distribution's cluster.
    if ! port_open "$host" "$port"; then
        local bin data
        bin="$(pg_bin)"; data="$(pg_private_dir)"
        if [ ! -f "$data/PG_VERSION" ]; then
            log "creating a private PostgreSQL cluster in $data (trust auth on $host:$port)"
            mkdir -p "$data"
            [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
            as_postgres "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
        fi
        log "starting the private PostgreSQL on $host:$port"
        as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-h $host -p $port -k /tmp" -w start >/dev/null \
            || { log "PostgreSQL did not start; see $data/server.log"; return 1; }
        mkdir -p "$LOCAL"; echo "$data" >"$LOCAL/postgres.started-by-us"
        STARTED_POSTGRES=1
    fi
    local probe="${url%/*}/postgres"
    psql "$probe" -qAtc 'SELECT 1' >/dev/null 2>&1 || {
        log "PostgreSQL at $host:$port does not accept the credentials in the URL."
        log "Set DATABASE_URL / TEST_DATABASE_URL with credentials that work,"
        log "or allow 'host all postgres 127.0.0.1/32 trust' in its pg_hba.conf for local development."
        return 1
    }
}

STARTED_NATS=""
STARTED_POSTGRES=""

# Stops the private NATS and PostgreSQL, but only those this run started.
stop_private_dependencies() {
    if [ -n "$STARTED_NATS" ] && [ -f "$LOCAL/nats/pid" ]; then
        kill "$(cat "$LOCAL/nats/pid")" 2>/dev/null || true; rm -f "$LOCAL/nats/pid"
    fi
    if [ -n "$STARTED_POSTGRES" ] && [ -f "$LOCAL/postgres.started-by-us" ]; then
        as_postgres "$(pg_bin)/pg_ctl" -D "$(cat "$LOCAL/postgres.started-by-us")" -m fast -w stop >/dev/null || true
        rm -f "$LOCAL/postgres.started-by-us"
    fi
}

# host and port of a URL such as nats://127.0.0.1:4222 or postgres://u:p@host:5432/db
url_host() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; case "$rest" in *:*) echo "${rest##*:}";; *) echo "$2";; esac; }

SERVICES=(intake eligibility deadline-monitoring reporting)
# PORT_BASE moves all four ports (default 50050: intake 50051 … reporting 50054).
service_port() {
    local base="${PORT_BASE:-50050}"
    case "$1" in intake) echo $((base + 1));; eligibility) echo $((base + 2));; deadline-monitoring) echo $((base + 3));; reporting) echo $((base + 4));; esac
}

# The key that seals CPR numbers at rest: PERSONAL_DATA_KEYS if set, else one generated once for
# this checkout and kept in .local/ (a real deployment brings its own from a secret store).
ensure_personal_data_keys() {
    if [ -z "${PERSONAL_DATA_KEYS:-}" ]; then
        mkdir -p "$LOCAL"
        if [ ! -s "$LOCAL/personal-data-keys" ]; then
            (umask 077; echo "local1:$(head -c 32 /dev/urandom | base64)" >"$LOCAL/personal-data-keys")
        fi
        PERSONAL_DATA_KEYS="$(cat "$LOCAL/personal-data-keys")"
    fi
    export PERSONAL_DATA_KEYS
}

# start_services: runs the four release binaries in the background, logs in .local/logs/.
start_services() {
    ensure_personal_data_keys
    mkdir -p "$LOCAL/logs"
    SERVICE_PIDS=()
    # Eligibility reads descriptions, deadline-monitoring reconciles case states, from intake.
    export INTAKE_URL="http://${GRPC_HOST:-127.0.0.1}:$(service_port intake)"
    for service in "${SERVICES[@]}"; do
        GRPC_ADDR="${GRPC_HOST:-127.0.0.1}:$(service_port "$service")" \
            "$ROOT/target/release/$service" >"$LOCAL/logs/$service.log" 2>&1 &
        SERVICE_PIDS+=($!)
    done
    local i
    for i in "${!SERVICES[@]}"; do
        local service="${SERVICES[$i]}" deadline=$((SECONDS + 60))
        until "$ROOT/target/release/borgerraad" health --addr "http://${GRPC_HOST:-127.0.0.1}:$(service_port "$service")" >/dev/null 2>&1; do
            # Another process on the port would answer the probe: check our own child lives.
            kill -0 "${SERVICE_PIDS[$i]}" 2>/dev/null || { log "$service exited; see .local/logs/$service.log"; return 1; }
            if [ $SECONDS -ge $deadline ]; then log "$service did not become healthy; see .local/logs/$service.log"; return 1; fi
            sleep 0.3
        done
        log "$service is serving on port $(service_port "$service")"
    done
}

stop_services() {
    [ ${#SERVICE_PIDS[@]} -gt 0 ] || return 0
    kill -TERM "${SERVICE_PIDS[@]}" 2>/dev/null || true
    wait "${SERVICE_PIDS[@]}" 2>/dev/null || true
    SERVICE_PIDS=()
}
