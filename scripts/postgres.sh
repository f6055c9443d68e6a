#!/usr/bin/env bash
# Make sure a PostgreSQL server runs on loopback and print a DATABASE_URL for the tests.
# As root it uses Debian's cluster (pg_ctlcluster); otherwise it runs a private cluster in var/pg.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-url}
user=serviceloop password=serviceloop db=serviceloop

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    echo "scripts/postgres.sh: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin)." >&2
    echo "  get it: apt-get install postgresql   (or run 'make test-sqlite' for SQLite only)" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    if [ -z "$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main"')" ]; then
        pg_createcluster "$version" main >/dev/null
    fi
    pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
    port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.5; done
    as_postgres() { su postgres -c "$1"; }
    [ -n "$(as_postgres "psql -q -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$user'\"")" ] \
        || as_postgres "psql -q -p $port -c \"CREATE ROLE $user LOGIN SUPERUSER PASSWORD '$password'\""
    [ -n "$(as_postgres "psql -q -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname='$db'\"")" ] \
        || as_postgres "createdb -p $port -O $user $db"
else
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    data=var/pg port=54329
    if [ ! -d "$data" ]; then
        mkdir -p var
        echo "$password" > var/pg.pw
        "$bindir/initdb" -D "$data" -U "$user" --pwfile=var/pg.pw -A scram-sha-256 >/dev/null
    fi
    "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 \
        || "$bindir/pg_ctl" -D "$data" -l var/pg.log -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.5; done
    [ -n "$(PGPASSWORD=$password psql -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='$db'")" ] \
        || PGPASSWORD=$password createdb -h 127.0.0.1 -p "$port" -U "$user" "$db"
fi
[ "$cmd" = url ] && echo "postgres://$user:$password@127.0.0.1:$port/$db"
exit 0
