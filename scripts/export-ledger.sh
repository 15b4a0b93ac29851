#!/usr/bin/env bash
# export-ledger.sh FILE: the erasure ledger (inquiry id, when, why; ids only) as CSV, for the
# operator to keep apart from the database, e.g. hourly. restore.sh takes such files and erases
# every inquiry they name again, so the erasures since the backup survive even the loss of the
# database itself. Environment: DATABASE_URL.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

file="${1:?usage: export-ledger.sh FILE}"
: "${DATABASE_URL:?DATABASE_URL names the database of the services}"
ensure_package psql postgresql-client
export_ledger "$DATABASE_URL" "$file.partial"
mv -- "$file.partial" "$file"
log "$(($(wc -l <"$file") - 1)) erasures in $file"
