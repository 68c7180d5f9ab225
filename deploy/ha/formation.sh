#!/bin/bash
# A pg_auto_failover formation on this machine, for tests and demos: a
# monitor and three data nodes (a primary and two standbys, one of which
# must confirm every commit: number_sync_standbys 1) on loopback ports, data
# under <repo>/.run/ha/. See deploy/ha/README.md. (pg_auto_failover refuses
# number_sync_standbys 1 with fewer than two standbys: with a single standby
# the primary would go on alone, acknowledging writes on one server, once
# that standby is lost.)
#   deploy/ha/formation.sh up            install (apt) if missing, create or
#                                        restart the nodes, migrate "referral"
#   deploy/ha/formation.sh down          stop every node (data kept)
#   deploy/ha/formation.sh destroy       stop every node and delete .run/ha
#   deploy/ha/formation.sh status        pg_autoctl show state
#   deploy/ha/formation.sh conninfo      the multi-host libpq string
#                                        (target_session_attrs=read-write)
#   deploy/ha/formation.sh switchover    pg_autoctl perform switchover
#   deploy/ha/formation.sh kill-primary  kill -9 every process of the primary
#                                        node (its pg_autoctl and its postgres)
#   deploy/ha/formation.sh primary       the primary's node name
#   deploy/ha/formation.sh stall-standbys   SIGSTOP the standbys' WAL receivers:
#                                        commits wait (synchronous replication)
#   deploy/ha/formation.sh resume-standbys  SIGCONT them
#   deploy/ha/formation.sh backup [full|diff|incr]   pgbackrest backup (full)
#   deploy/ha/formation.sh backups       pgbackrest info: backups and WAL kept
#   deploy/ha/formation.sh restore TARGET_TIME DIR PORT
#                                        point-in-time recovery into a new
#                                        cluster in DIR on 127.0.0.1:PORT,
#                                        promoted and left running
#   deploy/ha/formation.sh restore-stop DIR   stop that cluster (data kept)
#   deploy/ha/formation.sh adopt DIR     make a restored cluster node1 (the
#                                        primary) of a new formation in
#                                        REFERRAL_HA_DIR, then up
# Backups: pgbackrest, stanza "referral", repository <ha>/backrest, every
# data node archiving its WAL there (backup.sh; deploy/ha/README.md).
# Ports (127.0.0.1): REFERRAL_HA_PORT (28000) the monitor, +1, +2, +3 the nodes.
# Data: REFERRAL_HA_DIR (<repo>/.run/ha); the tests give each formation its own.
# Build: REFERRAL_BUILD (<repo>/build/release), for referralctl and the text
# module; REFERRAL_CTL and REFERRAL_PG_MODULE name them directly (the tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
ha=${REFERRAL_HA_DIR:-$root/.run/ha}
build=${REFERRAL_BUILD:-$root/build/release}
base=${REFERRAL_HA_PORT:-28000}
mon_port=$base
nodes=(node1 node2 node3)
node_port() { echo $((base + 1 + ${1#node} - 1)); }
ctl=${REFERRAL_CTL:-$build/tools/referralctl}
module=${REFERRAL_PG_MODULE:-$build/db/ext/referral_text.so}
pgver=15
pgbin=/usr/lib/postgresql/$pgver/bin
monitor_uri="postgres://autoctl_node@127.0.0.1:$mon_port/pg_auto_failover?sslmode=disable"

# pg_autoctl keeps its state under XDG folders: keep them under .run/ha too.
as_pg() {
    local -a env=(env "XDG_CONFIG_HOME=$ha/xdg/config" "XDG_DATA_HOME=$ha/xdg/data"
        "XDG_RUNTIME_DIR=$ha/xdg/run" "PATH=$pgbin:/usr/bin:/bin")
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "${env[@]}" "$@"; else "${env[@]}" "$@"; fi
}
autoctl() { as_pg pg_autoctl "$@"; }
mon_sql() { "$pgbin/psql" -X -qtA -h 127.0.0.1 -p "$mon_port" -U postgres -d pg_auto_failover -c "$1"; }

# As deploy/quickstart.sh: the postgres account needs passage to the work tree.
reach_for_postgres() { # dir
    [ "$(id -u)" = 0 ] || return 0
    local path="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${1#/}"
    for part in "${parts[@]}"; do
        path="$path/$part"
        if [ -d "$path" ] && ! runuser -u postgres -- test -x "$path"; then
            setfacl -m u:postgres:x "$path"
        fi
    done
}

install_packages() {
    local missing=()
    [ -x "$pgbin/pg_ctl" ] || missing+=("postgresql-$pgver")
    dpkg -s "postgresql-$pgver-auto-failover" >/dev/null 2>&1 || missing+=("postgresql-$pgver-auto-failover")
    command -v pg_autoctl >/dev/null || missing+=(pg-auto-failover-cli)
    command -v setfacl >/dev/null || missing+=(acl)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== apt-get install ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
    fi
}

# A node's pid file holds the pid of its session leader: every process of
# the node (runuser, pg_autoctl and its services, the postmaster) is in that
# process group, except the postgres backends (each its own session).
pid_alive() { [ -f "$1" ] && kill -0 -- "-$(cat "$1")" 2>/dev/null; }

# Starts "pg_autoctl run" for a node (monitor or data node) unless it runs.
run_node() { # name
    local name=$1
    pid_alive "$ha/$name.pid" && return 0
    if [ "$(id -u)" = 0 ]; then
        setsid runuser -u postgres -- env "XDG_CONFIG_HOME=$ha/xdg/config" \
            "XDG_DATA_HOME=$ha/xdg/data" "XDG_RUNTIME_DIR=$ha/xdg/run" "PATH=$pgbin:/usr/bin:/bin" \
            pg_autoctl run --pgdata "$ha/$name" </dev/null >>"$ha/logs/$name.log" 2>&1 &
    else
        setsid env "XDG_CONFIG_HOME=$ha/xdg/config" "XDG_DATA_HOME=$ha/xdg/data" \
            "XDG_RUNTIME_DIR=$ha/xdg/run" "PATH=$pgbin:/usr/bin:/bin" \
            pg_autoctl run --pgdata "$ha/$name" </dev/null >>"$ha/logs/$name.log" 2>&1 &
    fi
    echo $! >"$ha/$name.pid"
}

wait_for() { # seconds description command...
    local secs=$1 what=$2
    shift 2
    for _ in $(seq 1 $((secs * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "timed out after ${secs}s waiting for $what (logs: $ha/logs/)" >&2
    return 1
}

node_state() { # name -> reported state, from the monitor
    mon_sql "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null
}
states_are() { # want1 want2: the two nodes' reported states, in any order
    local got
    got=$(mon_sql "SELECT string_agg(reportedstate::text, ' ' ORDER BY reportedstate::text)
                   FROM pgautofailover.node WHERE reportedstate = goalstate" 2>/dev/null)
    [ "$got" = "$(printf '%s\n' "$@" | sort | xargs)" ]
}

conninfo() {
    local hosts="" ports=""
    for n in "${nodes[@]}"; do
        hosts+="${hosts:+,}127.0.0.1"
        ports+="${ports:+,}$(node_port "$n")"
    done
    echo "host=$hosts port=$ports user=postgres dbname=referral target_session_attrs=read-write connect_timeout=2"
}

up() {
    install_packages
    mkdir -p "$ha/logs" "$ha/xdg/config" "$ha/xdg/data" "$ha/xdg/run"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$ha" "$ha/logs" "$ha/xdg" "$ha/xdg/config" "$ha/xdg/data" "$ha/xdg/run"
        chmod 0700 "$ha/xdg/run"
        reach_for_postgres "$ha"
    fi
    write_backrest_conf
    # The monitor.
    if [ ! -f "$ha/monitor/PG_VERSION" ]; then
        echo "== creating the monitor on 127.0.0.1:$mon_port"
        autoctl create monitor --pgdata "$ha/monitor" --pgport "$mon_port" --pgctl "$pgbin/pg_ctl" \
            --hostname 127.0.0.1 --auth trust --no-ssl >>"$ha/logs/monitor.log" 2>&1
        # Loopback only, and short failure detection for tests (defaults:
        # period 5 s, timeout 5 s, 2 retries 2 s apart, unhealthy after
        # 20 s, demote timeout 30 s).
        cat >>"$ha/monitor/postgresql.auto.conf" <<CONF
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 3000
pgautofailover.primary_demote_timeout = 3000
CONF
        as_pg "$pgbin/pg_ctl" -D "$ha/monitor" -m fast -w stop >/dev/null 2>&1 || true
        # pg_autoctl starts the monitor's postgres with -h from its own
        # configuration ("*" unless told).
        autoctl config set --pgdata "$ha/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null
    fi
    run_node monitor
    wait_for 30 "the monitor" mon_sql "SELECT 1"
    # The data nodes: the first becomes the primary, the second its standby
    # (pg_basebackup from the primary), one after the other.
    for n in "${nodes[@]}"; do
        local port
        port=$(node_port "$n")
        # Made unless pg_autoctl knows it: a data directory without its
        # configuration is a restored cluster to register (adopt).
        if [ ! -f "$ha/xdg/config/pg_autoctl$ha/$n/pg_autoctl.cfg" ]; then
            echo "== creating data node $n on 127.0.0.1:$port"
            autoctl create postgres --pgdata "$ha/$n" --pgport "$port" --pgctl "$pgbin/pg_ctl" \
                --listen 127.0.0.1 --hostname 127.0.0.1 --name "$n" --dbname referral \
                --username postgres --auth trust --no-ssl --monitor "$monitor_uri" \
                >>"$ha/logs/$n.log" 2>&1
            # Shorter keeper timeouts to match the monitor's: a primary
            # cut from the monitor and its standby demotes itself within
            # network_partition_timeout, below primary_demote_timeout.
            autoctl config set --pgdata "$ha/$n" timeout.network_partition_timeout 2 >/dev/null
            # Left running by create: stopped so that the archive
            # settings below take effect at its first run.
            if [ -f "$ha/$n/postmaster.pid" ]; then
                as_pg "$pgbin/pg_ctl" -D "$ha/$n" -m fast -w stop >/dev/null 2>&1 || true
            fi
        fi
        archive_settings "$n"
        run_node "$n"
        if [ "$n" = node1 ] && [ "$(node_state node2)" = "" ]; then
            wait_for 60 "node1 to be a single primary" states_are single
        fi
    done
    wait_for 180 "a primary and two secondaries" states_are primary secondary secondary
    # A referral acknowledged is on two servers: the primary waits for one
    # synchronous standby (number_sync_standbys 1), synchronous_commit on.
    if [ "$(mon_sql "SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = 'default'")" != 1 ]; then
        autoctl set formation number-sync-standbys 1 --pgdata "$ha/monitor" \
            >>"$ha/logs/monitor.log" 2>&1
    fi
    wait_for 60 "a primary and two secondaries" states_are primary secondary secondary
    stanza_up
    # The referral schema, through the same string the workers use.
    if [ -f "$module" ]; then
        reach_for_postgres "$(dirname "$module")"
        "$ctl" migrate --db "$(conninfo)" --dir "$root/db" --pg-module "$module"
    else
        echo "no $module: build first (cmake --build $build), then run '$0 up' again" >&2
    fi
    status
    echo "conninfo: $(conninfo)"
}

stop_node() { # name
    local f=$ha/$1.pid
    if pid_alive "$f"; then
        autoctl stop --pgdata "$ha/$1" >/dev/null 2>&1 || kill -TERM -- "-$(cat "$f")" 2>/dev/null || true
        for _ in $(seq 1 150); do pid_alive "$f" || break; sleep 0.2; done
        pid_alive "$f" && kill -KILL -- "-$(cat "$f")" 2>/dev/null || true
    fi
    rm -f "$f"
    # A postgres left behind by a killed pg_autoctl.
    if [ -f "$ha/$1/postmaster.pid" ]; then
        as_pg "$pgbin/pg_ctl" -D "$ha/$1" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

down() {
    local n
    # All at once: one after the other, each node waits for the others'
    # reactions to its going (about 19 s for three nodes, measured).
    for n in "${nodes[@]}"; do stop_node "$n" & done
    wait
    stop_node monitor
    echo "formation stopped (data kept in $ha)"
}

status() {
    if pid_alive "$ha/monitor.pid"; then
        autoctl show state --pgdata "$ha/monitor" 2>/dev/null || true
        printf 'synchronous_standby_names on the primary: '
        "$pgbin/psql" -X -qtA "$(conninfo) dbname=postgres" -c "SHOW synchronous_standby_names" 2>/dev/null || echo '?'
        printf 'number_sync_standbys: '
        mon_sql "SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = 'default'" || true
    else
        echo "monitor: stopped"
    fi
    for n in monitor "${nodes[@]}"; do
        if pid_alive "$ha/$n.pid"; then echo "$n: pg_autoctl running (pid $(cat "$ha/$n.pid"))"; else echo "$n: stopped"; fi
    done
}

# Every descendant of pid (children first found, then theirs).
descendants() { # pid
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

kill_primary() {
    local p
    p=$(primary)
    [ -n "$p" ] || { echo "no primary found" >&2; exit 1; }
    local -a pids=()
    if pid_alive "$ha/$p.pid"; then
        mapfile -t pids < <(pgrep -g "$(cat "$ha/$p.pid")")
    fi
    if [ -f "$ha/$p/postmaster.pid" ]; then
        local pm
        pm=$(head -n 1 "$ha/$p/postmaster.pid")
        pids+=("$pm")
        mapfile -t -O "${#pids[@]}" pids < <(descendants "$pm")
    fi
    mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
    echo "$(date +%T.%3N) kill -9 $p: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    rm -f "$ha/$p.pid"
    echo "$p is down: '$0 up' restarts it (it rejoins as the standby)"
}

# The WAL receiver of every node that is not the primary.
walreceivers() {
    local p n pm
    p=$(primary)
    for n in "${nodes[@]}"; do
        [ "$n" != "$p" ] && [ -f "$ha/$n/postmaster.pid" ] || continue
        pm=$(head -n 1 "$ha/$n/postmaster.pid")
        pgrep -P "$pm" -f 'walreceiver' || true
    done
}

primary() {
    mon_sql "SELECT nodename FROM pgautofailover.node WHERE reportedstate IN ('primary', 'wait_primary', 'single') LIMIT 1"
}

stall_standbys() { # STOP|CONT
    local -a pids
    mapfile -t pids < <(walreceivers)
    [ ${#pids[@]} -gt 0 ] || { echo "no standby WAL receiver found" >&2; exit 1; }
    kill "-$1" "${pids[@]}"
    echo "SIG$1 sent to the standbys' WAL receivers: ${pids[*]}"
}

# shellcheck source=deploy/ha/backup.sh
. "$root/deploy/ha/backup.sh"

case "${1:-}" in
up) up ;;
primary) primary ;;
stall-standbys) stall_standbys STOP ;;
resume-standbys) stall_standbys CONT ;;
down) down ;;
destroy)
    down
    rm -rf "$ha"
    echo "deleted $ha"
    ;;
status) status ;;
conninfo) conninfo ;;
switchover) autoctl perform switchover --pgdata "$ha/monitor" ;;
kill-primary) kill_primary ;;
backup) backup "${2:-full}" ;;
backups) backups ;;
restore)
    [ $# -eq 4 ] || { echo "usage: $0 restore TARGET_TIME DIR PORT" >&2; exit 2; }
    restore "$2" "$3" "$4"
    ;;
restore-stop)
    [ $# -eq 2 ] || { echo "usage: $0 restore-stop DIR" >&2; exit 2; }
    restore_stop "$2"
    ;;
adopt)
    [ $# -eq 2 ] || { echo "usage: $0 adopt DIR" >&2; exit 2; }
    adopt "$2"
    ;;
*)
    echo "usage: $0 up|down|destroy|status|conninfo|switchover|kill-primary|primary|stall-standbys|resume-standbys|backup [full|diff|incr]|backups|restore TARGET_TIME DIR PORT|restore-stop DIR|adopt DIR" >&2
    exit 2
    ;;
esac
