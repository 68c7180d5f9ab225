#!/bin/bash
# Integration-test fixture: a private PostgreSQL cluster on a unix socket
# only, with a migrated and seeded template database "referral_template"
# that each test copies into a database of its own.
#   pg_fixture.sh start DIR REFERRALCTL DB_DIR
#   pg_fixture.sh stop DIR
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?cluster folder}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

as_pg() {
    # initdb refuses to run as root: use the postgres account when root.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    ctl=${3:?referralctl path}
    dbdir=${4:?db folder}
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log"; exit 1; }
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-k $dir -c listen_addresses='' -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log"; exit 1; }
    "$PGBIN/psql" -X -q -h "$dir" -U postgres -d postgres -c 'CREATE DATABASE referral_template'
    "$ctl" migrate --db "host=$dir user=postgres dbname=referral_template" --dir "$dbdir"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR [REFERRALCTL DB_DIR]" >&2
    exit 2
    ;;
esac
