#!/usr/bin/env bash
# restore.sh DIR [LEDGER.csv ...]: puts the backup in DIR (from backup.sh) back, with the
# services stopped, and keeps every erasure done since.
#
# 1. Checks DIR against its SHA256SUMS.
# 2. Saves the erasure ledger of the database being overwritten, if it has one, to
#    DIR/erasures-before-restore-<time>.csv (so a failed restore cannot lose it).
# 3. Replaces each schema with its dump (DROP SCHEMA … CASCADE, then pg_restore).
# 4. Adds to the restored ledger every entry of the saved one and of each LEDGER.csv
#    (export-ledger.sh, or a newer backup's erasures.csv) whose inquiry the backup holds.
#    Intake erases each such inquiry again at its start, through its own erasure path, so the
#    events go out and the other services drop their copies (README, "Backups").
# 5. Republishes the event stream into an empty stream (`borgerraad stream-restore`); with
#    REPLACE_STREAM=true an existing stream is deleted first, with its consumers.
#
# Environment as for backup.sh (the NATS user must be allowed to declare, delete and publish on
# the stream for step 5).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="${1:?usage: restore.sh DIR [LEDGER.csv ...]}"; shift
: "${DATABASE_URL:?DATABASE_URL names the database of the services}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
dir="$(cd "$dir" && pwd)"
ledgers=()
for ledger in "$@"; do
    [ -r "$ledger" ] || { log "cannot read the ledger $ledger"; exit 1; }
    ledgers+=("$(cd "$(dirname "$ledger")" && pwd)/$(basename "$ledger")")
done

ensure_package pg_restore postgresql-client
cli="$(borgerraad_cli)"

log "checking $dir"
(cd "$dir" && sha256sum --quiet -c SHA256SUMS) || { log "$dir does not match its SHA256SUMS"; exit 1; }

# A new server has no database yet: create it, as the services would at their first start.
if ! psql "$DATABASE_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    name="${DATABASE_URL##*/}"; name="${name%%\?*}"
    query=""; case "$DATABASE_URL" in *\?*) query="?${DATABASE_URL#*\?}" ;; esac
    log "creating the database $name"
    psql "${DATABASE_URL%/*}/postgres$query" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$name\"" >/dev/null
fi

if [ "$(psql "$DATABASE_URL" -qAtc "SELECT to_regclass('intake.erasures') IS NOT NULL")" = t ]; then
    kept="$dir/erasures-before-restore-$(date -u +%Y%m%dT%H%M%SZ).csv"
    export_ledger "$DATABASE_URL" "$kept"
    log "kept the current erasure ledger in $kept"
    ledgers+=("$kept")
fi

for schema in "${SCHEMAS[@]}"; do
    log "restoring schema $schema"
    psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
        --dbname="$DATABASE_URL" "$dir/$schema.dump"
done

if [ "${#ledgers[@]}" -gt 0 ]; then
    log "adding the erasures recorded since the backup"
    {
        echo "BEGIN;"
        echo "CREATE TEMPORARY TABLE kept (inquiry_id uuid, erased_at timestamptz, reason text) ON COMMIT DROP;"
        for ledger in "${ledgers[@]}"; do
            # psql's \copy reads the file on this machine; the quotes keep odd paths whole.
            printf "\\\\copy kept FROM '%s' WITH (FORMAT csv, HEADER true)\n" "${ledger//\'/\'\'}"
        done
        cat <<'SQL'
SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM intake.inquiries i WHERE i.inquiry_id = k.inquiry_id))
    AS "entries for inquiries the backup does not hold"
FROM (SELECT DISTINCT inquiry_id FROM kept) k;
INSERT INTO intake.erasures (inquiry_id, erased_at, reason)
SELECT DISTINCT k.inquiry_id, k.erased_at, k.reason FROM kept k
WHERE EXISTS (SELECT 1 FROM intake.inquiries i WHERE i.inquiry_id = k.inquiry_id)
  AND NOT EXISTS (SELECT 1 FROM intake.erasures e
                  WHERE e.inquiry_id = k.inquiry_id AND e.erased_at = k.erased_at AND e.reason = k.reason);
SELECT count(DISTINCT l.inquiry_id) AS "inquiries intake will erase again at its start"
FROM intake.erasures l JOIN intake.inquiries i ON i.inquiry_id = l.inquiry_id
WHERE i.personal_data_erased_at IS NULL OR i.personal_data_erased_at < l.erased_at;
COMMIT;
SQL
    } | psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 >&2
fi

log "restoring the event stream"
replace=()
[ "${REPLACE_STREAM:-false}" = true ] && replace=(--replace)
"$cli" stream-restore "${replace[@]}" "$dir" >&2

log "restored from $dir (taken $(sed -n 's/^taken_at: //p' "$dir/manifest.txt")); start the services"
