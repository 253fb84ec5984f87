#!/bin/sh
# Starts the local PostgreSQL if it is not running, creates a scratch database, and prints
# the DATABASE_URL to use (the only line on stdout; progress goes to stderr):
#
#   export TEST_DATABASE_URL="$(.ci/postgres.sh)"
#
# Overridable: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), SCRATCH_DB (oauth2_test).
# The tests make their own databases on that server and drop them afterwards.
set -eu

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
user="${PGUSER:-postgres}"
db="${SCRATCH_DB:-oauth2_test}"

ready() { pg_isready -q -h "$host" -p "$port" -U "$user" 2>/dev/null; }

if ! ready; then
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    echo "starting PostgreSQL $version (cluster main)" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
    tries=0
    until ready; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "PostgreSQL did not become ready on $host:$port" >&2
            exit 1
        fi
        sleep 1
    done
fi

exists="$(psql -h "$host" -p "$port" -U "$user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")"
if [ "$exists" != 1 ]; then
    echo "creating database $db" >&2
    psql -h "$host" -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE $db" >&2
fi

echo "postgres://$user@$host:$port/$db"
