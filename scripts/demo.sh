#!/usr/bin/env bash
# `make demo`: the bundled sample captures ingested into the SQLite default, three demo
# logins, then the dashboard served on 127.0.0.1:8080 (or the next free port) until Ctrl-C.
# Usage: scripts/demo.sh DB_URL CAPTURE...
set -euo pipefail
db="$1"; shift
etykieta=".venv/bin/etykieta"
"$etykieta" --db "$db" db upgrade
"$etykieta" --db "$db" ingest "$@"
"$etykieta" --db "$db" summary
# the weekly e-mails of the demo's week, written as .eml files (nothing is sent)
rm -rf var/mail
written="$("$etykieta" --db "$db" report weekly --week 2026-W48 --out var/mail)"
first="${written%%$'\n'*}"
echo "${first%:}"
echo "  (open them with any mail program; \`report weekly --send\` would mail them, see README)"
# demo users: made once, their demo passwords set again on every run
demo_user() {  # NAME PASSWORD ARGS...
  local name="$1" password="$2"; shift 2
  if "$etykieta" --db "$db" users list | awk 'NR > 2 {print $1}' | grep -qx "$name"; then
    printf '%s\n' "$password" | "$etykieta" --db "$db" users passwd "$name" --password-stdin >/dev/null
  else
    printf '%s\n' "$password" | "$etykieta" --db "$db" users add "$name" "$@" --password-stdin >/dev/null
  fi
}
demo_user admin demo-admin-haslo --role admin
demo_user kaminski demo-kierownik-haslo --role supervisor --unit "Wydział Komunikacji"
demo_user kowalska demo-pracownik-haslo --role staff --extension 1201
cat <<'TEXT'

Demo logins (the demo's calls are of 18–24 November 2026; the start page links to their week):
  admin     / demo-admin-haslo       administrator: every unit, callers' numbers in full
  kaminski  / demo-kierownik-haslo   Marek Kamiński, supervisor of Wydział Komunikacji
  kowalska  / demo-pracownik-haslo   Anna Kowalska (1201): her own results and calls
TEXT
exec "$etykieta" --db "$db" serve --next-free-port
