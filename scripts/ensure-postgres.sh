#!/usr/bin/env bash
# Make sure the PostgreSQL the suite uses ($ETYKIETA_TEST_DATABASE_URL, default 127.0.0.1:5432,
# trust auth) answers; start the local cluster if it does not, or fail with the command.
set -euo pipefail
[ -z "${ETYKIETA_TEST_DATABASE_URL:-}" ] && exit 0  # SQLite only
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null && [ "$(id -u)" -eq 0 ]; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [ -n "$version" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 20); do ready && exit 0; sleep 0.5; done
  fi
fi
echo "PostgreSQL is not answering on 127.0.0.1:5432. Start it with:" >&2
echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
echo "or run the suite on SQLite only: make test ETYKIETA_TEST_DATABASE_URL=" >&2
exit 1
