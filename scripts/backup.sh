#!/usr/bin/env bash
# backup.sh DIR: a backup of the services' data in DIR (a new or empty folder).
#
# The four schemas (intake, eligibility, deadline_monitoring, reporting) as one pg_dump each, then
# the event stream as a file of its messages (`borgerraad stream-backup`), then the erasure
# ledger as CSV, a manifest (when, what, how many) and SHA256SUMS. The database goes first: every
# event a service had applied when its schema was dumped is then on the stream file too, and an
# event published in between is applied on restore (the consumers skip the ones they hold).
#
# Environment as the services take it: DATABASE_URL, NATS_URL and NATS_USER + NATS_PASSWORD(_FILE)
# or NATS_NKEY_SEED(_FILE) of a user that may read the stream's messages. BORGERRAAD_CLI names the
# `borgerraad` binary (default: this checkout's release build, built when missing).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="${1:?usage: backup.sh DIR}"
: "${DATABASE_URL:?DATABASE_URL names the database of the services}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

ensure_package pg_dump postgresql-client
cli="$(borgerraad_cli)"

mkdir -p "$dir"
if [ -n "$(ls -A "$dir")" ]; then log "$dir is not empty: a backup goes into a new folder"; exit 1; fi
dir="$(cd "$dir" && pwd)"

taken_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
manifest="$dir/manifest.txt"
{
    echo "# Borgerraad backup"
    echo "taken_at: $taken_at"
    echo "database: $(redacted_url "$DATABASE_URL")"
    echo "nats: $(redacted_url "$NATS_URL")"
} >"$manifest"

for schema in "${SCHEMAS[@]}"; do
    log "dumping schema $schema"
    pg_dump --format=custom --no-owner --no-privileges --schema="$schema" \
        --file="$dir/$schema.dump" --dbname="$DATABASE_URL"
    echo "schema $schema: $schema.dump" >>"$manifest"
    # Counted right after the dump; on a system that is running they may differ a little.
    for table in $(psql "$DATABASE_URL" -qAtc \
        "SELECT tablename FROM pg_tables WHERE schemaname = '$schema' AND tablename NOT LIKE '\_sqlx%' ORDER BY 1"); do
        echo "rows $schema.$table: $(psql "$DATABASE_URL" -qAtc "SELECT count(*) FROM \"$schema\".\"$table\"")" >>"$manifest"
    done
done

log "saving the event stream"
"$cli" stream-backup "$dir" | sed 's/^/stream /' >>"$manifest"

log "saving the erasure ledger"
export_ledger "$DATABASE_URL" "$dir/erasures.csv"
echo "erasures: $(($(wc -l <"$dir/erasures.csv") - 1)) (erasures.csv)" >>"$manifest"

(cd "$dir" && sha256sum -- *.dump stream.jsonl erasures.csv manifest.txt >SHA256SUMS)
log "backup in $dir:"
cat "$manifest" >&2
