#!/usr/bin/env bash
# Print the PostgreSQL URL the test suite uses (`make test` runs pytest with it); messages go to
# stderr. An empty line means SQLite only.
#
# - ETYKIETA_TEST_DATABASE_URL given (`make test ETYKIETA_TEST_DATABASE_URL=URL`, or in the
#   environment): that URL as it is, once its server answers; given empty: SQLite only.
# - otherwise the local cluster on 127.0.0.1:$ETYKIETA_TEST_PG_PORT (default 5432), started if
#   it is down, with a role and a database of the suite's own, both `etykieta_test`: the role
#   logs in with a password (scram on a stock Debian server, where `postgres` has no password
#   over TCP) and owns the database, so it may create the schema each test gets. As root they
#   are made through the `postgres` OS user (peer authentication on the Unix socket); the
#   password is generated once and kept in var/test-postgres.password (mode 0600, var/ is not
#   committed). It is set on the role only when the role is new or the password no longer logs
#   in, so runs after the first need no root. Every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

ROLE=etykieta_test
DATABASE=etykieta_test
HOST=127.0.0.1
PORT=${ETYKIETA_TEST_PG_PORT:-5432}
PASSWORD_FILE=var/test-postgres.password

say() { echo "$*" >&2; }

# The libpq form of an SQLAlchemy URL (postgresql+psycopg:// → postgresql://).
libpq_url() { sed -E 's|^postgresql\+[a-z0-9]+://|postgresql://|' <<<"$1"; }

# Start the Debian cluster on port $1 if it is down and this is root.
start_local_cluster() {
  command -v pg_lsclusters >/dev/null && [ "$(id -u)" -eq 0 ] || return 0
  local version cluster port status _
  while read -r version cluster port status _; do
    if [ "$port" = "$1" ] && [ "$status" = down ]; then
      say "starting PostgreSQL $version/$cluster (port $port)"
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2 || true
    fi
  done < <(pg_lsclusters -h)
}

# Wait up to 10 s for the server of libpq URL $1 to accept connections.
answers() {
  local _
  for _ in $(seq 1 20); do
    pg_isready -q -d "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

not_answering() {
  say "PostgreSQL is not answering at $1. As root, start the cluster that pg_lsclusters lists:"
  say "  pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER start"
  say "or run the suite on SQLite only: make test ETYKIETA_TEST_DATABASE_URL="
  exit 1
}

if [ -n "${ETYKIETA_TEST_DATABASE_URL+given}" ]; then
  url=$ETYKIETA_TEST_DATABASE_URL
  if [ -n "$url" ]; then
    port=$(sed -nE 's|^[^/]*//[^/]*:([0-9]+)(/.*)?$|\1|p' <<<"$url")
    pg_isready -q -d "$(libpq_url "$url")" 2>/dev/null || start_local_cluster "${port:-5432}"
    answers "$(libpq_url "$url")" || not_answering "the given ETYKIETA_TEST_DATABASE_URL"
  fi
  echo "$url"
  exit 0
fi

pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null || start_local_cluster "$PORT"
answers "postgresql://$HOST:$PORT/postgres" || not_answering "$HOST:$PORT"

if [ ! -s "$PASSWORD_FILE" ]; then
  mkdir -p "$(dirname "$PASSWORD_FILE")"
  (umask 077 && od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$PASSWORD_FILE")
fi
chmod 600 "$PASSWORD_FILE"
password=$(<"$PASSWORD_FILE")

# Whether the role logs in over TCP with the password and may create schemas in its database.
usable() {
  [ "$(PGPASSWORD=$password PGCONNECT_TIMEOUT=5 psql -X -w -q -t -A -h "$HOST" -p "$PORT" \
        -U "$ROLE" -d "$DATABASE" \
        -c "SELECT has_database_privilege(current_database(), 'CREATE')" 2>/dev/null)" = t ]
}

if ! usable; then
  if [ "$(id -u)" -ne 0 ] || ! id postgres >/dev/null 2>&1; then
    say "The test role $ROLE cannot log in to $HOST:$PORT/$DATABASE with the password in"
    say "$PASSWORD_FILE. Run 'make test' once as root (it creates the role and database through"
    say "the postgres OS user), or name a database: make test ETYKIETA_TEST_DATABASE_URL=URL"
    say "(empty: SQLite only)."
    exit 1
  fi
  say "creating or updating PostgreSQL role and database $ROLE on port $PORT"
  # The SQL goes in on stdin, so the password never shows in a process list.
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres) >&2 <<SQL
SELECT 'CREATE ROLE $ROLE' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')\gexec
ALTER ROLE $ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$password';
SELECT 'CREATE DATABASE $DATABASE OWNER $ROLE'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE')\gexec
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE $DATABASE TO $ROLE;
SQL
  if ! usable; then
    say "The role $ROLE was set up but still cannot log in over TCP to $HOST:$PORT/$DATABASE"
    say "with its password: the server's pg_hba.conf must admit it, e.g. with the Debian default"
    say "  host all all 127.0.0.1/32 scram-sha-256"
    exit 1
  fi
fi

say "PostgreSQL for the tests: postgresql+psycopg://$ROLE:***@$HOST:$PORT/$DATABASE"
echo "postgresql+psycopg://$ROLE:$password@$HOST:$PORT/$DATABASE"
