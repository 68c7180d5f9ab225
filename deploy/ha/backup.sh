# shellcheck shell=bash disable=SC2154
# Backups and point-in-time recovery for the one-machine formation, with
# pgbackrest; sourced by formation.sh (uses its ha, nodes, node_port, as_pg,
# pgbin, wait_for, reach_for_postgres). See deploy/ha/README.md, "Backups and
# point-in-time recovery".
#
# One stanza, "referral", lists the three data nodes as pg1..pg3 (all local
# here; pgN-host on three hosts). pgbackrest finds the primary among them
# itself, so backups and `check` follow a failover without a change, and
# backup-standby copies the files from a standby. Every node has the same
# archive_command (archive_mode on: PostgreSQL runs it only on the primary);
# it names its own data directory with $(pwd) (the archiver runs in it), so
# the one line fits all three nodes and survives the pg_basebackup that
# creates a standby from the primary.
stanza=referral
bconf=$ha/pgbackrest.conf
repo=$ha/backrest

backrest() { as_pg pgbackrest "--config=$bconf" "--stanza=$stanza" "$@"; }

# pgbackrest.conf for the formation, rewritten by every `up` (ports may move).
write_backrest_conf() {
    mkdir -p "$repo"
    [ "$(id -u)" = 0 ] && chown postgres "$repo"
    {
        echo "# Written by deploy/ha/formation.sh up: edit that, not this."
        echo "[global]"
        echo "repo1-path=$repo"
        # Two full backups and the differentials and WAL they need.
        echo "repo1-retention-full=2"
        echo "log-path=$ha/logs"
        # Its own lock folder: two formations on one machine (the tests)
        # would otherwise share /tmp/pgbackrest and its stanza locks.
        echo "lock-path=$ha/xdg/run/pgbackrest"
        echo "compress-type=lz4"
        # An immediate checkpoint at backup start, not a spread one.
        echo "start-fast=y"
        echo "backup-standby=y"
        echo "log-level-console=warn"
        echo
        echo "[$stanza]"
        local n i=1
        for n in "${nodes[@]}"; do
            echo "pg$i-path=$ha/$n"
            echo "pg$i-port=$(node_port "$n")"
            i=$((i + 1))
        done
    } >"$bconf.new"
    mv "$bconf.new" "$bconf"
    [ "$(id -u)" = 0 ] && chown postgres "$bconf"
    return 0
}

# Adds the archive settings to a stopped node's postgresql.auto.conf (once):
# archive_mode needs a restart, so a running node is only reported.
archive_settings() { # name
    local conf=$ha/$1/postgresql.auto.conf
    grep -q 'archive-push' "$conf" 2>/dev/null && return 0
    if [ -f "$ha/$1/postmaster.pid" ]; then
        echo "$1 runs without WAL archiving: '$0 down' then '$0 up' to add it" >&2
        return 0
    fi
    # archive_mode on, not always: pgbackrest refuses "always" (a standby
    # could push WAL that the primary never had). archive_timeout bounds
    # how old the newest restorable moment can be on a quiet database.
    cat >>"$conf" <<CONF
archive_mode = 'on'
archive_command = 'pgbackrest --config=$bconf --stanza=$stanza --pg1-path="\$(pwd)" archive-push "%p"'
archive_timeout = '60s'
CONF
}

# A node freshly made by pg_autoctl create may still have its postgres up:
# stop it so that archive_settings applies at its first `run`.
settle_new_node() { # name
    if [ -f "$ha/$1/postmaster.pid" ]; then
        as_pg "$pgbin/pg_ctl" -D "$ha/$1" -m fast -w stop >/dev/null 2>&1 || true
    fi
    archive_settings "$1"
}

stanza_up() {
    # Right after a restart the monitor may still show the states from
    # before it, while no node is primary yet: stanza-create (idempotent)
    # needs one, so it is tried again for up to a minute.
    local i
    for i in $(seq 1 30); do
        backrest stanza-create >>"$ha/logs/pgbackrest.log" 2>&1 && break
        [ "$i" = 30 ] && { echo "pgbackrest stanza-create failed (logs: $ha/logs/)" >&2; return 1; }
        sleep 1
    done
    # check: a WAL switch on the primary, and its segment archived.
    backrest check >>"$ha/logs/pgbackrest.log" 2>&1 ||
        { echo "pgbackrest check failed: WAL archiving is not working (logs: $ha/logs/)" >&2; return 1; }
    echo "WAL archiving and backups: pgbackrest stanza $stanza, repository $repo"
}

now_ms() { date +%s%3N; }

backup() { # [full|diff|incr]
    local type=${1:-full} t0
    case "$type" in full | diff | incr) ;; *) echo "backup type: full, diff or incr" >&2; exit 2 ;; esac
    t0=$(now_ms)
    backrest "--type=$type" backup
    echo "$type backup done in $(($(now_ms) - t0)) ms: $(backrest --output=json info |
        sed -n 's/.*"label":"\([^"]*\)".*/\1/p' | tail -n 1)"
}

backups() { backrest info; }

restore_wait() { # dir port: until the cluster is promoted (or has died)
    local dir=$1 port=$2 i r
    for i in $(seq 1 3000); do # 10 min at 0.2 s
        r=$("$pgbin/psql" -X -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres \
            -c "SELECT pg_is_in_recovery()" 2>/dev/null) || r=""
        [ "$r" = f ] && return 0
        if [ ! -f "$dir/postmaster.pid" ] && [ "$i" -gt 5 ]; then break; fi
        sleep 0.2
    done
    echo "the restored cluster did not come up promoted; its log:" >&2
    local log
    log=$(find "$dir/log" -name '*.log' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)
    [ -n "$log" ] && tail -n 20 "$log" >&2
    return 1
}

# Point-in-time recovery into a new cluster: the backup before TARGET_TIME,
# WAL replayed from the repository up to that moment (commits after it are
# not applied), promoted on a new timeline and left running on PORT.
restore() { # target_time dir port
    local target=$1 dir=$2 port=$3 t0 t1 t2 t3
    [[ $port =~ ^[0-9]+$ ]] || { echo "port: a number" >&2; exit 2; }
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        echo "$dir is not empty: restore goes into a fresh folder" >&2
        exit 2
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        reach_for_postgres "$dir"
    fi
    chmod 0700 "$dir"
    t0=$(now_ms)
    # The WAL holding the target must be in the repository: when the
    # formation is up, check switches to a new segment and waits for the
    # current one to be archived (else up to archive_timeout old).
    if backrest check >>"$ha/logs/pgbackrest.log" 2>&1; then
        echo "archive flushed ($(($(now_ms) - t0)) ms)"
    else
        echo "warning: could not flush the archive (formation down?): restoring from what it holds" >&2
    fi
    t1=$(now_ms)
    # archive-mode off: the new cluster shares the formation's system id and
    # would push its own timeline into the formation's archive.
    backrest "--pg1-path=$dir" --type=time "--target=$target" --target-action=promote \
        --archive-mode=off restore
    t2=$(now_ms)
    echo "files restored ($((t2 - t1)) ms)"
    # Settings copied from a formation node that do not fit a lone cluster:
    # its port, a synchronous standby it will never have, the primary it
    # streamed from, the memory sized for the formation's machine.
    cat >>"$dir/postgresql.auto.conf" <<CONF
# Set by formation.sh restore: a lone cluster, not a formation node.
port = $port
listen_addresses = '127.0.0.1'
synchronous_standby_names = ''
primary_conninfo = ''
primary_slot_name = ''
shared_buffers = '128MB'
CONF
    as_pg "$pgbin/pg_ctl" -D "$dir" -l "$dir/startup.log" -w -t 600 start >/dev/null ||
        { restore_wait "$dir" "$port"; exit 1; }
    restore_wait "$dir" "$port" || exit 1
    t3=$(now_ms)
    echo "recovered to $target and promoted ($((t3 - t2)) ms); total $((t3 - t0)) ms"
    echo "running: psql -h 127.0.0.1 -p $port -U postgres referral; stop: $0 restore-stop $dir"
}

restore_stop() { # dir
    local dir=$1
    [ -f "$dir/PG_VERSION" ] || { echo "$dir holds no cluster" >&2; exit 2; }
    if [ -f "$dir/postmaster.pid" ]; then
        as_pg "$pgbin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    echo "stopped (data kept in $dir)"
}

# A restored cluster becomes node1, the primary, of a new formation in $ha
# (which must hold none: the old formation's folder stays as it is, its
# repository included, until this one has backups of its own): the lone
# cluster's settings, pgbackrest's recovery settings and the old
# formation's archive settings are taken out, then `up` registers it with a new monitor (pg_autoctl create postgres
# on an existing data directory), clones two standbys from it and makes a
# new stanza in $ha/backrest.
adopt() { # dir
    local dir=$1
    [ -f "$dir/PG_VERSION" ] || { echo "$dir holds no cluster" >&2; exit 2; }
    if [ -e "$ha/monitor" ] || [ -e "$ha/node1" ]; then
        echo "$ha already holds a formation: choose a new REFERRAL_HA_DIR" >&2
        exit 2
    fi
    if [ -f "$dir/postmaster.pid" ]; then
        as_pg "$pgbin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    mkdir -p "$ha"
    mv "$dir" "$ha/node1"
    # pgbackrest's recovery settings must go as well: a standby cloned
    # with recovery_target_time behind it would promote itself at once.
    sed -i -e '/^# Recovery settings generated by pgBackRest/,$d' \
        -e '/^archive_\(mode\|command\|timeout\) /d' "$ha/node1/postgresql.auto.conf"
    up
}
