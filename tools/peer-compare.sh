#!/bin/bash
# The peer comparison with RabbitMQ (issue 15; docs/PERFORMANCE.md, "A peer:
# RabbitMQ"), on demand, as root, on this machine:
#   tools/peer-compare.sh [--rounds N] [--duration S] [--workers domains|any]
#                         [--queue-type classic|quorum]
# Installs what is missing (deploy/install-deps.sh, then rabbitmq-server and
# librabbitmq-dev, whose system service is kept from starting and disabled),
# builds the checkout with -DRR_PEER_RABBITMQ=ON (RelWithDebInfo) in
# build/peer-compare/build, and starts, on loopback only:
#   - one private PostgreSQL cluster set up as the quickstart's (unix socket
#     in build/peer-compare/pg), with one database per side;
#   - the router: referral-broker (26201-26202) and three referral-worker;
#   - a private RabbitMQ node (AMQP 26210, distribution 26211, its own epmd
#     on 26212, CLI 26213-26219; data and logs under build/peer-compare/rabbit)
#     and three rabbit-peer consumers (the workers' handler, batches of up to
#     128, prefetch 128).
# --workers domains (the default) runs one worker per domain against one
# queue per domain; any runs three workers of every domain (--domain any)
# against one shared queue. --queue-type quorum declares quorum queues
# instead of classic durable ones (the default).
# After a warm-up (10 s each, VACUUM ANALYZE, CHECKPOINT) each round runs,
# for each side (router then RabbitMQ in odd rounds, the reverse in even
# ones, a CHECKPOINT before each run): the closed loop for S seconds (10;
# 512 requests in flight on both sides: the bench's 32 clients x 16, and 4
# AMQP connections x 128), then the open loop at 1,000, 2,000 and 4,000
# requests/s for S seconds each. Each run reports the acknowledged rate,
# p50 and p99, and the CPU time per acknowledged request of the messaging
# side (router: broker and workers; RabbitMQ: its beam.smp and the
# consumers) and of PostgreSQL (every process of the cluster), from /proc,
# and the requests per commit in the side's database (about the mean batch).
# Prints every run's JSON, then per figure the median and min-max of each
# side and the ratio router/RabbitMQ. Stops all it started on exit. Exits
# non-zero when a run reports a lost, duplicated, rejected or unconfirmed
# request.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=3 duration=10 workers=domains queue_type=classic
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --queue-type) queue_type=$2; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
    esac
done
case "$workers" in
domains) domains="prevention rehabilitation social" queues=domains ;;
any) domains="any any any" queues=shared ;;
*) echo "invalid --workers \"$workers\": expected domains or any" >&2; exit 2 ;;
esac
case "$queue_type" in
classic|quorum) ;;
*) echo "invalid --queue-type \"$queue_type\": expected classic or quorum" >&2; exit 2 ;;
esac
rates="1000 2000 4000"
work=$root/build/peer-compare
pg_port=26200 router_port=26201 amqp_port=26210
mkdir -p "$work"

# ---- packages -----------------------------------------------------------------
deploy/install-deps.sh
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in rabbitmq-server librabbitmq-dev; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: ${missing[*]}; run as root or install them" >&2
        exit 1
    fi
    echo "installing ${missing[*]} (the peer comparison alone needs them)" >&2
    # The package starts its system node on install: keep it from starting
    # (policy-rc.d), unless a policy is there already.
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        own_policy=/usr/sbin/policy-rc.d
        # Removed however the install ends: left behind, it would keep
        # every service on the machine from starting.
        trap 'rm -f "$own_policy"' EXIT
        printf '#!/bin/sh\n# tools/peer-compare.sh: no service starts while it installs\nexit 101\n' \
            >"$own_policy"
        chmod 755 "$own_policy"
    fi
    rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"; } >"$work/apt.log" 2>&1 || rc=$?
    [ -z "$own_policy" ] || rm -f "$own_policy"
    trap - EXIT
    if [ "$rc" != 0 ]; then
        echo "could not install ${missing[*]}: see $work/apt.log" >&2
        exit 1
    fi
    # Under systemd, the package enabled its unit (and epmd's socket): disable
    # and stop them; this comparison runs its own node.
    if [ -d /run/systemd/system ]; then
        systemctl disable --now rabbitmq-server.service epmd.socket epmd.service >/dev/null 2>&1 || true
    fi
fi
if pgrep -u rabbitmq -x beam.smp >/dev/null 2>&1; then
    echo "note: the system's own RabbitMQ node is running (not ours; it shares the cores)" >&2
fi

# ---- build --------------------------------------------------------------------
bin=$work/build
echo "building the checkout with RR_PEER_RABBITMQ=ON in $bin" >&2
cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRR_PEER_RABBITMQ=ON >/dev/null
cmake --build "$bin" -j "$(nproc)" \
    --target referral-broker referral-worker referralctl referral_text rabbit-peer >/dev/null

# ---- processes, and stopping them -----------------------------------------------
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg=$work/pg
rabbit=$work/rabbit
erts=$(printf '%s\n' /usr/lib/erlang/erts-*/bin | sort -V | tail -n 1)
# The private node's settings, for the server and for rabbitmqctl alike:
# its own name, cookie (HOME), ports on loopback, files, and no plugins.
rabbit_env() {
    export HOME=$rabbit/home RABBITMQ_NODENAME=rr-peer@localhost
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$amqp_port
    export RABBITMQ_DIST_PORT=$((amqp_port + 1)) ERL_EPMD_PORT=$((amqp_port + 2))
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_CTL_DIST_PORT_MIN=$((amqp_port + 3)) RABBITMQ_CTL_DIST_PORT_MAX=$((amqp_port + 9))
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_MNESIA_BASE=$rabbit/mnesia RABBITMQ_LOG_BASE=$rabbit/log
    export RABBITMQ_LOGS=$rabbit/log/rabbit.log RABBITMQ_PID_FILE=$rabbit/rabbit.pid
    export RABBITMQ_CONFIG_FILE=$rabbit/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$rabbit/advanced.config
    export RABBITMQ_ENABLED_PLUGINS_FILE=$rabbit/enabled_plugins
    export RABBITMQ_CONF_ENV_FILE=$rabbit/rabbitmq-env.conf # none: not /etc's
}
rabbitmqctl() { (rabbit_env && /usr/lib/rabbitmq/bin/rabbitmqctl "$@"); }

pids=()        # everything we started, stopped on exit
router_pids=() # broker and workers
consumer_pids=()
beam_pid="" epmd_pid=""
cleanup() {
    set +e
    kill "${pids[@]}" 2>/dev/null
    if [ -n "$beam_pid" ] && kill -0 "$beam_pid" 2>/dev/null; then
        rabbitmqctl shutdown >/dev/null 2>&1 || kill "$beam_pid" 2>/dev/null
    fi
    [ -z "$epmd_pid" ] || kill "$epmd_pid" 2>/dev/null
    wait 2>/dev/null
    as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1
}
trap cleanup EXIT

# ---- PostgreSQL -----------------------------------------------------------------
if [ -f "$pg/data/postmaster.pid" ]; then
    as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null || true
fi
rm -rf "$pg"
mkdir -p "$pg"
[ "$(id -u)" != 0 ] || chown postgres "$pg"
as_pg "$pgbin/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$pg/initdb.log"
# As the quickstart's: full durability, as PostgreSQL ships it.
as_pg "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/postgresql.log" -w \
    -o "-p $pg_port -k $pg -c listen_addresses='' -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min" \
    start >/dev/null
dbconn() { echo "host=$pg port=$pg_port user=postgres dbname=peer_$1"; }
sql() { "$pgbin/psql" -X -qAt -h "$pg" -p "$pg_port" -U postgres -d "${2:-postgres}" -c "$1"; }
for side in router rabbit; do
    sql "CREATE DATABASE peer_$side"
    REFERRAL_PG_MODULE=$bin/db/ext/referral_text.so \
        "$bin/tools/referralctl" migrate --db "$(dbconn "$side")" --dir "$root/db" >/dev/null
done

# ---- the router -----------------------------------------------------------------
mkdir -p "$work/logs"
"$bin/broker/referral-broker" --frontend "tcp://127.0.0.1:$router_port" \
    --backend "tcp://127.0.0.1:$((router_port + 1))" --http off --insecure \
    >"$work/logs/broker.log" 2>&1 &
pids+=($!) router_pids+=($!)
i=0
for d in $domains; do
    i=$((i + 1))
    "$bin/workers/referral-worker" --domain "$d-$i" --broker "tcp://127.0.0.1:$((router_port + 1))" \
        --db "$(dbconn router)" >"$work/logs/worker-$d-$i.log" 2>&1 &
    pids+=($!) router_pids+=($!)
done

# ---- RabbitMQ -------------------------------------------------------------------
rm -rf "$rabbit"
mkdir -p "$rabbit/home" "$rabbit/mnesia" "$rabbit/log"
# Defaults as shipped, but for the listener (loopback only).
printf 'listeners.tcp.1 = 127.0.0.1:%s\n' "$amqp_port" >"$rabbit/rabbitmq.conf"
echo "[]." >"$rabbit/enabled_plugins"
: >"$rabbit/rabbitmq-env.conf"
(rabbit_env && exec "$erts/epmd" -address 127.0.0.1 -port "$ERL_EPMD_PORT") >"$rabbit/log/epmd.log" 2>&1 &
epmd_pid=$!
(rabbit_env && exec /usr/lib/rabbitmq/bin/rabbitmq-server) >"$rabbit/log/server.out" 2>&1 &
beam_pid=$! # the script execs erl, which execs beam.smp
if ! rabbitmqctl wait --timeout 120 "$rabbit/rabbit.pid" >"$rabbit/log/wait.log" 2>&1; then
    echo "the private RabbitMQ node did not start: see $rabbit/log" >&2
    exit 1
fi
beam_pid=$(cat "$rabbit/rabbit.pid")
i=0
for d in $domains; do
    i=$((i + 1))
    "$bin/tools/peer/rabbit-peer" consume --domain "$d-$i" --amqp-port "$amqp_port" \
        --queue-type "$queue_type" --db "$(dbconn rabbit)" >"$work/logs/consumer-$d-$i.log" 2>&1 &
    pids+=($!) consumer_pids+=($!)
done
sleep 3

# ---- measuring ------------------------------------------------------------------
# load SIDE ARGS...: one run of SIDE's client; its JSON on stdout.
load() {
    local side=$1
    shift
    if [ "$side" = router ]; then
        "$bin/tools/referralctl" bench --broker "tcp://127.0.0.1:$router_port" \
            --db "$(dbconn router)" --ceiling-seconds 0 --json "$@" 2>>"$work/logs/bench.err"
    else
        "$bin/tools/peer/rabbit-peer" load --amqp-port "$amqp_port" --db "$(dbconn rabbit)" \
            --queues "$queues" --queue-type "$queue_type" "$@" 2>>"$work/logs/load.err"
    fi
}
# CPU clock ticks (user + system) the given processes have used.
ticks() {
    local t=0 pid f
    for pid in "$@"; do
        # Fields 14 and 15 of stat, counted after the command's ")".
        f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f12,13) || continue
        [ -n "$f" ] || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}
descendants() { # pid -> it and all its descendants
    local c
    echo "$1"
    for c in $(pgrep -P "$1"); do descendants "$c"; done
}
messaging_pids() {
    if [ "$1" = router ]; then
        echo "${router_pids[@]}"
    else
        echo "$(descendants "$beam_pid") ${consumer_pids[*]}"
    fi
}
pg_pids() { descendants "$(head -n 1 "$pg/data/postmaster.pid")"; }
field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
hz=$(getconf CLK_TCK)
# Transactions committed in SIDE's database: requests per commit is about
# the workers' or consumers' mean batch (PostgreSQL's statistics can lag a
# second or so, and the client's few reads count too).
commits() { sql "SELECT xact_commit FROM pg_stat_database WHERE datname = 'peer_$1'"; }
per_req() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN {printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0)}'; }

# Every process of both sides must still run (a dead consumer or worker
# would turn a run into a timeout).
alive() {
    local p
    for p in "${pids[@]}" "$beam_pid"; do
        if ! kill -0 "$p" 2>/dev/null; then
            echo "process $p stopped before a run: see $work/logs and $rabbit/log" >&2
            exit 1
        fi
    done
}

bad=0
declare -A fig
# run SIDE NAME ARGS...: one measured run; adds its figures under NAME.
run() {
    local side=$1 name=$2 out m0 m1 p0 p1 acked mp pp
    shift 2
    alive
    sql CHECKPOINT >/dev/null
    mp=$(messaging_pids "$side")
    pp=$(pg_pids)
    local x0 x1 mcpu pcpu batch
    x0=$(commits "$side")
    # shellcheck disable=SC2086
    m0=$(ticks $mp) p0=$(ticks $pp)
    out=$(load "$side" "$@") || bad=1
    # shellcheck disable=SC2086
    m1=$(ticks $mp) p1=$(ticks $pp)
    x1=$(commits "$side")
    acked=$(field acked "$out")
    mcpu=$(per_req $((m1 - m0)) "${acked:-0}")
    pcpu=$(per_req $((p1 - p0)) "${acked:-0}")
    batch=$(awk -v n="${acked:-0}" -v x=$((x1 - x0)) 'BEGIN {printf "%.1f", (x > 0 ? n / x : 0)}')
    echo "round $r $side $name: $out messaging_cpu_us=$mcpu pg_cpu_us=$pcpu per_commit=$batch"
    fig[$side,$name,rate]+=" $(field acked_per_s "$out")"
    fig[$side,$name,p50]+=" $(field p50_ms "$out")"
    fig[$side,$name,p99]+=" $(field p99_ms "$out")"
    fig[$side,$name,msg_cpu]+=" $mcpu"
    fig[$side,$name,pg_cpu]+=" $pcpu"
    fig[$side,$name,batch]+=" $batch"
}
closed() { # the closed-loop arguments of SIDE: 512 requests in flight on both
    if [ "$1" = router ]; then echo "--clients 32 --window 16"; else echo "--connections 4 --window 128"; fi
}

# Warm-up, the way a server in service is: each side 10 s, then VACUUM
# ANALYZE and CHECKPOINT, so autovacuum does not start inside a run.
for side in router rabbit; do
    # shellcheck disable=SC2046
    load "$side" --duration 10 $(closed "$side") >/dev/null || bad=1
    "$pgbin/psql" -X -q -h "$pg" -p "$pg_port" -U postgres -d "peer_$side" -c "VACUUM ANALYZE" -c CHECKPOINT
done

for r in $(seq "$rounds"); do
    order="router rabbit"
    [ $((r % 2)) = 1 ] || order="rabbit router"
    for side in $order; do
        # shellcheck disable=SC2046
        run "$side" closed --duration "$duration" $(closed "$side")
        for rate in $rates; do
            run "$side" "$rate" --rate "$rate" --duration "$duration"
        done
    done
done

echo
echo "router (broker + 3 workers, --workers $workers) against RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server) (3 consumers, $queues $queue_type queues); $rounds rounds of $duration s, interleaved"
report() { # label side-name key decimals
    local a b ma mb
    a=${fig[router,$2,$3]:-} b=${fig[rabbit,$2,$3]:-}
    # shellcheck disable=SC2086
    ma=$(median $a) mb=$(median $b)
    # shellcheck disable=SC2086
    awk -v l="$1" -v ma="$ma" -v mb="$mb" -v ra="$(range $a)" -v rb="$(range $b)" -v d="$4" 'BEGIN {
        split(ra, x, "-"); split(rb, y, "-")
        f = "%." d "f"
        printf "  %-34s router " f " (" f "-" f ")   rabbit " f " (" f "-" f ")   router/rabbit %.2f\n",
            l, ma, x[1], x[2], mb, y[1], y[2], (mb > 0 ? ma / mb : 0)
    }'
}
for name in closed $rates; do
    label=$([ "$name" = closed ] && echo "closed loop" || echo "open loop $name/s")
    report "$label acked/s" "$name" rate 0
    report "$label p50 ms" "$name" p50 1
    report "$label p99 ms" "$name" p99 1
    report "$label messaging CPU us/req" "$name" msg_cpu 1
    report "$label PostgreSQL CPU us/req" "$name" pg_cpu 1
    report "$label requests per commit" "$name" batch 1
done
echo "  (medians, min-max in brackets; messaging CPU: router = broker + workers, rabbit = beam.smp"
echo "   and its children + consumers; PostgreSQL CPU: every process of the cluster; both per"
echo "   acknowledged request, from /proc utime + stime; requests per commit: about the mean"
echo "   batch, from pg_stat_database)"
[ "$bad" = 0 ] || { echo "a run reported lost, duplicated, rejected or unconfirmed requests" >&2; exit 1; }
