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
    wait_for_port "$1" "$2" 20 || { log "nats-server did not start; see $LOCAL/nats/server.log"; return 1; }
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# ensure_postgres HOST PORT: a PostgreSQL at HOST:PORT that lets user postgres in without a
# password (as on the development machines); a private cluster under .local/ if none runs.
ensure_postgres() {
    if ! port_open "$1" "$2"; then
        ensure_package psql postgresql
        local bin; bin="$(pg_bin)"
        local data="$LOCAL/postgres"
        if [ ! -f "$data/PG_VERSION" ]; then
            log "creating a private PostgreSQL cluster in .local/postgres (trust auth on $1:$2)"
            mkdir -p "$data"
            if [ "$(id -u)" = 0 ]; then
                chown postgres:postgres "$data"
                runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
            else
                "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
            fi
        fi
        log "starting the private PostgreSQL on $1:$2"
        local start=("$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-h $1 -p $2 -k /tmp" -w start)
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "${start[@]}" >/dev/null; else "${start[@]}" >/dev/null; fi
        echo started >"$LOCAL/postgres.started-by-us"
    fi
    ensure_package psql postgresql-client
    psql "postgres://postgres@$1:$2/postgres" -qAtc 'SELECT 1' >/dev/null 2>&1 || {
        log "PostgreSQL at $1:$2 does not let user postgres in without a password;"
        log "set DATABASE_URL / TEST_DATABASE_URL with credentials, or allow trust for 127.0.0.1"
        return 1
    }
}

stop_private_dependencies() {
    if [ -f "$LOCAL/nats/pid" ]; then kill "$(cat "$LOCAL/nats/pid")" 2>/dev/null || true; rm -f "$LOCAL/nats/pid"; fi
    if [ -f "$LOCAL/postgres.started-by-us" ]; then
        local stop=("$(pg_bin)/pg_ctl" -D "$LOCAL/postgres" -m fast -w stop)
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "${stop[@]}" >/dev/null || true; else "${stop[@]}" >/dev/null || true; fi
        rm -f "$LOCAL/postgres.started-by-us"
    fi
}

# host and port of a URL such as nats://127.0.0.1:4222 or postgres://u:p@host:5432/db
url_host() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; case "$rest" in *:*) echo "${rest##*:}";; *) echo "$2";; esac; }

SERVICES=(intake eligibility deadline-monitoring reporting)
service_port() { case "$1" in intake) echo 50051;; eligibility) echo 50052;; deadline-monitoring) echo 50053;; reporting) echo 50054;; esac; }

# start_services: runs the four release binaries in the background, logs in .local/logs/.
start_services() {
    mkdir -p "$LOCAL/logs"
    SERVICE_PIDS=()
    for service in "${SERVICES[@]}"; do
        GRPC_ADDR="${GRPC_HOST:-127.0.0.1}:$(service_port "$service")" \
            "$ROOT/target/release/$service" >"$LOCAL/logs/$service.log" 2>&1 &
        SERVICE_PIDS+=($!)
    done
    for service in "${SERVICES[@]}"; do
        local deadline=$((SECONDS + 60))
        until "$ROOT/target/release/borgerraad" health --addr "http://127.0.0.1:$(service_port "$service")" >/dev/null 2>&1; do
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
