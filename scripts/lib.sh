# Shared shell functions for run-local.sh, test.sh and bench.sh: install what a fresh Debian
# machine lacks and start private NATS / PostgreSQL where none answers at the configured address.
# Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"

# Where `cargo build --release` in the checkout puts the binaries: CARGO_TARGET_DIR (relative to
# the checkout) or target/.
release_bin() {
    local target="${CARGO_TARGET_DIR:-target}"
    case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
    echo "$target/release"
}

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

# The real SMTP server the deadline-monitoring tests start (aiosmtpd, from PyPI).
ensure_aiosmtpd() {
    local python="${PYTHON:-python3}"
    command -v "$python" >/dev/null 2>&1 || ensure_package python3 python3
    "$python" -c 'import aiosmtpd' 2>/dev/null && return 0
    log "installing aiosmtpd (the tests' SMTP server)"
    # pip where the interpreter allows it; Debian's own python3 refuses (PEP 668) and has it packaged.
    "$python" -m pip install --quiet aiosmtpd 2>/dev/null \
        || { [ "$python" = python3 ] && ensure_package /usr/lib/python3/dist-packages/aiosmtpd python3-aiosmtpd; } \
        || true
    "$python" -c 'import aiosmtpd' 2>/dev/null \
        || { log "aiosmtpd is missing: pip install aiosmtpd, or set PYTHON to a python3 that has it"; return 1; }
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

# The first port from $1 upwards that nothing listens on.
free_port_from() {
    local port="$1"
    while port_open 127.0.0.1 "$port"; do port=$((port + 1)); done
    echo "$port"
}

# Each service's NATS user and the variable its password is in (as deploy/nats.conf names them).
nats_password_var() { # nats_password_var SERVICE
    case "$1" in
        intake) echo NATS_INTAKE_PASSWORD;; eligibility) echo NATS_ELIGIBILITY_PASSWORD;;
        deadline-monitoring) echo NATS_DEADLINE_MONITORING_PASSWORD;; reporting) echo NATS_REPORTING_PASSWORD;;
    esac
}

# The services' NATS passwords: generated once for this checkout and kept in .local/nats/
# (letters and digits, as nats-server reads them as configuration values), then exported.
ensure_nats_passwords() {
    local file="$LOCAL/nats/passwords.env" service
    mkdir -p "$LOCAL/nats"
    if [ ! -s "$file" ]; then
        (umask 077
         for service in "${SERVICES[@]}"; do
             echo "$(nats_password_var "$service")=p$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
         done >"$file")
    fi
    set -a; . "$file"; set +a
}

# start_secured_nats HOST PORT: this checkout's own nats-server, which lets in only the four
# services, each as its own user with the deployment's permissions (deploy/nats-permissions.conf)
# and this checkout's passwords. Always a private one: a NATS that already runs on the machine
# (at 4222, say) does not know these users, and an open one would let anyone publish events.
start_secured_nats() {
    ensure_package "$(nats_server_bin)" nats-server
    ensure_nats_passwords
    if port_open "$1" "$2"; then log "port $2 is in use; set NATS_PORT to a free one"; return 1; fi
    mkdir -p "$LOCAL/nats"
    cp "$ROOT/deploy/nats-permissions.conf" "$LOCAL/nats/nats-permissions.conf"
    # The deployment's users, without its container paths and its 2.11-only settings.
    sed -n '/^include /,$p' "$ROOT/deploy/nats.conf" >"$LOCAL/nats/nats.conf"
    log "starting this checkout's nats-server on $1:$2 (authenticated; store in .local/nats)"
    "$(nats_server_bin)" -c "$LOCAL/nats/nats.conf" -a "$1" -p "$2" -js -sd "$LOCAL/nats" -l "$LOCAL/nats/server.log" &
    echo $! >"$LOCAL/nats/pid"
    STARTED_NATS=1
    NATS_SECURED=1
    wait_for_port "$1" "$2" 20 || { log "nats-server did not start; see $LOCAL/nats/server.log"; return 1; }
}
NATS_SECURED=""

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true; }

# Where this checkout's private cluster lives, never shared with another checkout (whose data is
# sealed with another key): .local/postgres. Run as root, the server runs as the postgres user,
# which must reach that folder; where it cannot (a checkout under /root, say), the cluster lives
# in /var/tmp in a folder named after the checkout's path instead.
pg_private_dir() {
    mkdir -p "$LOCAL"
    if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$LOCAL" 2>/dev/null; then
        echo "$LOCAL/postgres"
    else
        echo "/var/tmp/borgerraad-postgres-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
    fi
}

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
            log "creating this checkout's private PostgreSQL cluster in $data (trust auth on $host:$port)"
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
# PORT_BASE moves all four ports (default 50050: intake 50051 … reporting 50054); the CLI reads
# the same variable, so it finds them.
service_port() {
    local base="${PORT_BASE:-50050}"
    case "$1" in intake) echo $((base + 1));; eligibility) echo $((base + 2));; deadline-monitoring) echo $((base + 3));; reporting) echo $((base + 4));; esac
}

# Fails, naming the port, when one of the four is taken (by another checkout's services, say):
# better said before a long build than after it.
check_service_ports_free() {
    local service port
    for service in "${SERVICES[@]}"; do
        port="$(service_port "$service")"
        if port_open "$(client_host)" "$port"; then
            log "port $port, where $service would listen, is already in use (another checkout's services?)"
            log "stop whatever listens there, or move this checkout's services, e.g.: PORT_BASE=$((${PORT_BASE:-50050} + 100)) $0"
            return 1
        fi
    done
}

# The address clients use for the services: GRPC_HOST, or 127.0.0.1 where they listen on all.
client_host() {
    local host="${GRPC_HOST:-127.0.0.1}"
    [ "$host" != 0.0.0.0 ] || host=127.0.0.1
    echo "$host"
}

# The scheme the services are called with: https when a CA to trust is configured, else http
# (plain text, which clients accept only with GRPC_PLAINTEXT=true).
grpc_scheme() { if [ -n "${GRPC_TLS_CA_FILE:-}" ]; then echo https; else echo http; fi; }

# Points the CLI (and the services that call intake) at the four services this checkout starts,
# whatever the calling shell had set.
export_service_addresses() {
    local host scheme
    host="$(client_host)"; scheme="$(grpc_scheme)"
    export INTAKE_URL="$scheme://$host:$(service_port intake)"
    export ELIGIBILITY_URL="$scheme://$host:$(service_port eligibility)"
    export DEADLINE_MONITORING_URL="$scheme://$host:$(service_port deadline-monitoring)"
    export REPORTING_URL="$scheme://$host:$(service_port reporting)"
}

# The gRPC transport of this checkout's services, unless the caller chose one (GRPC_TLS_CERT_FILE
# or GRPC_PLAINTEXT=true): TLS with a CA and a certificate made once per checkout in .local/tls/
# when openssl is on the machine; plain text otherwise, said so and set explicitly.
configure_local_transport() {
    if [ -n "${GRPC_TLS_CERT_FILE:-}" ] || [ "${GRPC_PLAINTEXT:-}" = true ]; then return 0; fi
    if command -v openssl >/dev/null 2>&1 && make_local_tls; then
        export GRPC_TLS_CERT_FILE="$LOCAL/tls/server.pem"
        export GRPC_TLS_KEY_FILE="$LOCAL/tls/server-key.pem"
        export GRPC_TLS_CA_FILE="$LOCAL/tls/ca.pem"
    else
        log "openssl is not installed: the services serve gRPC in plain text (GRPC_PLAINTEXT=true)"
        export GRPC_PLAINTEXT=true
    fi
}

# This checkout's local CA (.local/tls/ca.pem, its key beside it) and a certificate for the
# services (server.pem, server-key.pem) naming localhost, 127.0.0.1 and GRPC_HOST; made once and
# reused, and the certificate made again when GRPC_HOST changes. Not for use beyond this machine.
make_local_tls() {
    local dir="$LOCAL/tls" host names
    host="$(client_host)"
    names="DNS:localhost,IP:127.0.0.1"
    if [ "$host" != 127.0.0.1 ] && [ "$host" != localhost ]; then
        if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then names="$names,IP:$host"; else names="$names,DNS:$host"; fi
    fi
    mkdir -p "$dir"
    if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca-key.pem" ]; then
        log "making this checkout's local CA in .local/tls/ (for gRPC over TLS on this machine)"
        (umask 077
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
             -subj "/CN=Borgerraad local CA" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign) \
            >/dev/null 2>"$dir/openssl.log" || { log "openssl failed; see $dir/openssl.log"; return 1; }
        rm -f "$dir/server.pem"
    fi
    if [ -s "$dir/server.pem" ] && [ "$(cat "$dir/server.names" 2>/dev/null)" = "$names" ]; then return 0; fi
    (umask 077
     printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
         "$names" >"$dir/server.ext"
     openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=borgerraad local services" \
         -keyout "$dir/server-key.pem" -out "$dir/server.csr" \
     && openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
         -CAcreateserial -days 825 -extfile "$dir/server.ext" -out "$dir/server.pem") \
        >/dev/null 2>"$dir/openssl.log" || { log "openssl failed; see $dir/openssl.log"; return 1; }
    echo "$names" >"$dir/server.names"
    rm -f "$dir/server.csr" "$dir/server.ext"
}

# The variables the CLI needs to find and trust the services started here, as `export` lines
# for another shell; none when the defaults fit.
cli_environment() {
    local host scheme
    host="$(client_host)"; scheme="$(grpc_scheme)"
    if [ -n "${GRPC_TLS_CA_FILE:-}" ]; then
        echo "export GRPC_TLS_CA_FILE=$GRPC_TLS_CA_FILE"
    elif [ "${GRPC_PLAINTEXT:-}" = true ]; then
        echo "export GRPC_PLAINTEXT=true"
    fi
    if [ "$host" != 127.0.0.1 ]; then
        echo "export INTAKE_URL=$scheme://$host:$(service_port intake) ELIGIBILITY_URL=$scheme://$host:$(service_port eligibility)"
        echo "export DEADLINE_MONITORING_URL=$scheme://$host:$(service_port deadline-monitoring) REPORTING_URL=$scheme://$host:$(service_port reporting)"
    elif [ "${PORT_BASE:-50050}" != 50050 ]; then
        echo "export PORT_BASE=$PORT_BASE"
    fi
}

# How grpcurl reaches the services: trusting the local CA, or in plain text.
grpcurl_transport() {
    if [ -n "${GRPC_TLS_CA_FILE:-}" ]; then echo "-cacert ${GRPC_TLS_CA_FILE#"$ROOT"/}"; else echo "-plaintext"; fi
}

# Makes the example call with the CLI in $1; its output is kept in .local/logs/example.txt and
# the reference it submitted in EXAMPLE_REFERENCE. Says clearly when it fails and returns 1.
EXAMPLE_REFERENCE=""
run_example() {
    mkdir -p "$LOCAL/logs"
    local status=0
    "$1/borgerraad" example >"$LOCAL/logs/example.txt" 2>&1 || status=$?
    cat "$LOCAL/logs/example.txt"
    EXAMPLE_REFERENCE="$(grep -o 'BR-[0-9]\{4\}-[0-9]\{6,\}' "$LOCAL/logs/example.txt" | head -n 1 || true)"
    if [ "$status" != 0 ]; then
        log "THE EXAMPLE CALL FAILED (exit status $status, output above and in .local/logs/example.txt)."
        log "The services keep running so you can look: their logs are in .local/logs/."
        return 1
    fi
}

# What to try next, with the real ports and the CLI in $1.
print_hints() {
    local bin="${1#"$ROOT"/}" reference="${EXAMPLE_REFERENCE:-BR-2026-000001}" host
    host="$(client_host)"
    printf '\nBorgerraad is running: intake on port %s, eligibility %s, deadline-monitoring %s, reporting %s.\n' \
        "$(service_port intake)" "$(service_port eligibility)" "$(service_port deadline-monitoring)" "$(service_port reporting)"
    echo "Try, in another shell in $ROOT:"
    cli_environment | sed 's/^/  /'
    cat <<TXT
  $bin/borgerraad submit --department boern-og-unge --no-prior-dialogue
  $bin/borgerraad show $reference        # a reference or an inquiry id
  $bin/borgerraad summary
  $bin/borgerraad --as department-system --department by-og-kultur show $reference
  grpcurl $(grpcurl_transport) $host:$(service_port intake) list        # reflection needs no token
  grpcurl $(grpcurl_transport) -H "authorization: Bearer \$($bin/borgerraad token --as caseworker)" \\
      -d '{"reference": "$reference"}' $host:$(service_port intake) borgerraad.v1.IntakeService/GetInquiry
Logs: .local/logs/. Press Ctrl-C to stop.
TXT
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

# The development identity provider's packages (npm oidc-provider, pinned in its lockfile).
ensure_dev_idp_packages() {
    ensure_package node nodejs
    ensure_package npm npm
    if [ ! -d "$ROOT/deploy/dev-idp/node_modules/oidc-provider" ]; then
        log "installing the development identity provider (npm ci in deploy/dev-idp)"
        (cd "$ROOT/deploy/dev-idp" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# start_dev_idp: a development OpenID Connect provider on DEV_IDP_PORT (PORT_BASE + 5) with a
# client per role; secrets are generated once per checkout in .local/dev-idp/. Exports
# AUTH_ISSUER for the services and writes .local/dev-idp/cli.json for the CLI.
DEV_IDP_PID=""
start_dev_idp() {
    ensure_dev_idp_packages
    local port="${DEV_IDP_PORT:-$((PORT_BASE + 5))}" dir="$LOCAL/dev-idp"
    if port_open 127.0.0.1 "$port"; then
        log "port $port (DEV_IDP_PORT) is taken; set DEV_IDP_PORT to a free port"
        return 1
    fi
    mkdir -p "$LOCAL/logs"
    node "$ROOT/deploy/dev-idp/init.js" "$dir" "$port"
    DEV_IDP_PARENT_PID=$$ node "$ROOT/deploy/dev-idp/server.js" "$dir/config.json" >"$LOCAL/logs/dev-idp.log" 2>&1 &
    DEV_IDP_PID=$!
    wait_for_port 127.0.0.1 "$port" 20 || { log "the identity provider did not start; see .local/logs/dev-idp.log"; return 1; }
    export AUTH_ISSUER="http://127.0.0.1:$port" BORGERRAAD_IDP_FILE="$dir/cli.json"
    log "development identity provider at $AUTH_ISSUER"
}

stop_dev_idp() {
    [ -n "$DEV_IDP_PID" ] || return 0
    kill -TERM "$DEV_IDP_PID" 2>/dev/null || true
    wait "$DEV_IDP_PID" 2>/dev/null || true
    DEV_IDP_PID=""
}

# start_services: runs the four release binaries (from SERVICE_BIN_DIR, if set) in the
# background, logs in .local/logs/.
start_services() {
    ensure_personal_data_keys
    configure_local_transport
    mkdir -p "$LOCAL/logs"
    SERVICE_PIDS=()
    # Eligibility reads descriptions, deadline-monitoring reconciles case states, from intake.
    export_service_addresses
    for service in "${SERVICES[@]}"; do
        # Eligibility and deadline-monitoring call intake as themselves.
        local identity=()
        if [ -f "$LOCAL/dev-idp/$service.secret" ] && [ -z "${AUTH_CLIENT_ID:-}" ]; then
            identity=(AUTH_CLIENT_ID="$service" AUTH_CLIENT_SECRET_FILE="$LOCAL/dev-idp/$service.secret")
        fi
        local nats_user="" nats_password="" variable
        if [ -n "$NATS_SECURED" ]; then
            variable="$(nats_password_var "$service")"
            nats_user="$service"; nats_password="${!variable}"
        fi
        env "${identity[@]}" NATS_USER="$nats_user" NATS_PASSWORD="$nats_password" \
        GRPC_ADDR="${GRPC_HOST:-127.0.0.1}:$(service_port "$service")" \
            "${SERVICE_BIN_DIR:-$(release_bin)}/$service" >"$LOCAL/logs/$service.log" 2>&1 &
        SERVICE_PIDS+=($!)
    done
    local i
    for i in "${!SERVICES[@]}"; do
        local service="${SERVICES[$i]}" deadline=$((SECONDS + 60))
        until "$(release_bin)/borgerraad" health --addr "$(grpc_scheme)://$(client_host):$(service_port "$service")" >/dev/null 2>&1; do
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

# The services' schemas in the one database, as crates/platform names them (service name, '-'
# as '_'), in the order backup.sh dumps and restore.sh restores them.
SCHEMAS=(intake eligibility deadline_monitoring reporting)

# A URL without its password, for a manifest or a log.
redacted_url() { printf '%s' "$1" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'; }

# The `borgerraad` binary: BORGERRAAD_CLI, or this checkout's release build (built when missing).
borgerraad_cli() {
    if [ -n "${BORGERRAAD_CLI:-}" ]; then echo "$BORGERRAAD_CLI"; return; fi
    local bin; bin="$(release_bin)/borgerraad"
    if [ ! -x "$bin" ]; then
        ensure_cargo
        log "building the borgerraad command"
        (cd "$ROOT" && cargo build --release --locked -p borgerraad-cli --bin borgerraad >&2)
    fi
    echo "$bin"
}

# export_ledger URL FILE: intake's erasure ledger as CSV with a header, oldest first.
export_ledger() {
    psql "$1" -qX -v ON_ERROR_STOP=1 -c \
        "\\copy (SELECT inquiry_id, erased_at, reason FROM intake.erasures ORDER BY erasure_id) TO '${2//\'/\'\'}' WITH (FORMAT csv, HEADER true)"
}
