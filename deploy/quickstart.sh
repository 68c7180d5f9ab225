#!/bin/bash
# Runs the whole referral router on this machine with a demo:
#   deploy/quickstart.sh          install, build, start PostgreSQL (private,
#                                 under .run/), broker and one worker per
#                                 domain, submit the demo requests
#   deploy/quickstart.sh stop     stop all of it
#   deploy/quickstart.sh reset    stop all of it and delete its database (the
#                                 next start begins empty, as for a benchmark)
#   deploy/quickstart.sh status   show what runs and the broker's queues
#   deploy/quickstart.sh keys     make CURVE keys under .run/keys (the broker's,
#                                 a worker's, one per demo center, one per demo
#                                 office, an operator's): the next start
#                                 authenticates instead of --insecure, and its
#                                 demo shows an office working its inbox while
#                                 the center follows
# Idempotent: running it again restarts the processes on the same data.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run=$root/.run
build=$root/build/release
pgdir=$run/pg
logs=$run/logs
frontend=${REFERRAL_BROKER_FRONTEND:-tcp://127.0.0.1:5555}
backend=${REFERRAL_BROKER_BACKEND:-tcp://127.0.0.1:5556}
http=${REFERRAL_HTTP:-127.0.0.1:8080}
domains=(prevention rehabilitation social)
keys=$run/keys
demo_centers=(941 1924 2441 5165 3102 4207 6010)
# The demo centers' county offices, and their province offices (escalations).
demo_offices=(CO-2301 CO-1002 CO-0916 CO-0707 CO-0303 CO-1105 CO-0105
    PO-23 PO-10 PO-09 PO-07 PO-03 PO-11 PO-01)
demo_operator=operator:demo

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# PostgreSQL refuses to run as root, so its account must reach the cluster
# under the work tree. A clone in root's home (mode 0700) is the usual case
# on a fresh machine: give the postgres account, and only it, the right to
# pass through each folder above that it cannot pass (an ACL entry, "x"
# alone: it cannot list or read them).
reach_for_postgres() { # dir
    local path="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${1#/}"
    for part in "${parts[@]}"; do
        path="$path/$part"
        if [ -d "$path" ] && ! runuser -u postgres -- test -x "$path"; then
            setfacl -m u:postgres:x "$path"
            echo "   gave the postgres account passage through $path (setfacl -m u:postgres:x)"
        fi
    done
}

stop_pid() { # name
    local f=$run/$1.pid
    [ -f "$f" ] || return 0
    local pid
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

stop_all() {
    for d in "${domains[@]}"; do stop_pid "worker-$d"; done
    stop_pid broker
    if [ -f "$pgdir/data/postmaster.pid" ]; then
        as_pg "$(pgbin)/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null && echo "PostgreSQL stopped"
    fi
    echo "referral router stopped"
}

case "${1:-start}" in
stop)
    stop_all
    exit 0
    ;;
reset)
    stop_all
    rm -rf "$pgdir"
    echo "database deleted: the next start creates it again"
    exit 0
    ;;
status)
    for n in broker "${domains[@]/#/worker-}"; do
        if [ -f "$run/$n.pid" ] && kill -0 "$(cat "$run/$n.pid")" 2>/dev/null; then
            echo "$n: running (pid $(cat "$run/$n.pid"))"
        else
            echo "$n: stopped"
        fi
    done
    [ -x "$build/tools/referralctl" ] && "$build/tools/referralctl" queues --http "$http" || true
    exit 0
    ;;
keys)
    ctl=$build/tools/referralctl
    [ -x "$ctl" ] || { echo "build first: run $0 once" >&2; exit 1; }
    mkdir -p "$keys/registry"
    [ -f "$keys/broker.key" ] || "$ctl" keys generate --out "$keys/broker" >/dev/null
    if [ ! -f "$keys/worker.key" ]; then
        "$ctl" keys generate --out "$keys/worker" >/dev/null
        "$ctl" keys register --dir "$keys/registry" --principal worker:any "$keys/worker.pub"
    fi
    # A key per principal: NAME.key/.pub, registered unless it exists.
    make_key() { # name principal
        [ -f "$keys/$1.key" ] && return 0
        "$ctl" keys generate --out "$keys/$1" >/dev/null
        "$ctl" keys register --dir "$keys/registry" --principal "$2" "$keys/$1.pub"
    }
    for c in "${demo_centers[@]}"; do make_key "center-$c" "center:$c"; done
    for o in "${demo_offices[@]}"; do make_key "office-$o" "office:$o"; done
    make_key operator "$demo_operator"
    echo "keys in $keys; the next '$0' authenticates with them"
    exit 0
    ;;
start) ;;
*)
    echo "usage: $0 [start|stop|status|keys]" >&2
    exit 2
    ;;
esac

echo "== installing Debian packages (if missing)"
"$root/deploy/install-deps.sh"

echo "== building into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
ctl=$build/tools/referralctl

mkdir -p "$run" "$logs"
for d in "${domains[@]}"; do stop_pid "worker-$d"; done
stop_pid broker

echo "== PostgreSQL: private cluster in $pgdir (unix socket only)"
if [ ! -f "$pgdir/data/PG_VERSION" ]; then
    rm -rf "$pgdir"
    mkdir -p "$pgdir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$pgdir"
        reach_for_postgres "$pgdir"
        if ! runuser -u postgres -- test -w "$pgdir"; then
            echo "the postgres user cannot reach $pgdir: make the folders above it searchable (chmod o+x)" >&2
            exit 1
        fi
    fi
    as_pg "$(pgbin)/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
        >"$pgdir/initdb.log"
fi
# A unix socket path is limited to 107 bytes: use a short folder when the
# work tree is deep.
sockdir=$pgdir
if [ ${#sockdir} -gt 80 ]; then
    sockdir=/tmp/rr-qs-$(printf '%s' "$pgdir" | md5sum | cut -c1-8)
    mkdir -p "$sockdir"
    [ "$(id -u)" = 0 ] && chown postgres "$sockdir"
fi
if ! as_pg "$(pgbin)/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1; then
    # Full durability (fsync, synchronous_commit) as PostgreSQL ships it;
    # more shared buffers and fewer checkpoints than its defaults, as any
    # server taking a steady stream of writes would be given.
    as_pg "$(pgbin)/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgresql.log" -w \
        -o "-k $sockdir -c listen_addresses='' -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min" \
        start >/dev/null
fi
db="host=$sockdir user=postgres dbname=referral"
if ! "$(pgbin)/psql" -X -qtA -h "$sockdir" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'referral'" | grep -q 1; then
    "$(pgbin)/psql" -X -q -h "$sockdir" -U postgres -d postgres -c "CREATE DATABASE referral"
fi
# referral.canonical_text lives in a server module built here (db/ext):
# the server, running as postgres, loads it from the build tree.
module=$build/db/ext/referral_text.so
if [ "$(id -u)" = 0 ]; then
    reach_for_postgres "$(dirname "$module")"
fi
"$ctl" migrate --db "$db" --dir "$root/db" --pg-module "$module"

# For the commands a user types next: ". .run/env" (or source) exports these.
env_line() { printf 'export %s=%q\n' "$1" "$2"; }
{
    echo "# written by deploy/quickstart.sh; load with: source $run/env"
    env_line REFERRAL_BROKER "$frontend"
    env_line REFERRAL_BROKER_FRONTEND "$frontend"
    env_line REFERRAL_BROKER_BACKEND "$backend"
    env_line REFERRAL_HTTP "$http"
    env_line REFERRAL_DB "$db"
    env_line REFERRAL_LOGS "$logs"
    printf 'export PATH=%q:"$PATH"\n' "$build/tools"
} >"$run/env"

# Authentication: CURVE when keys were made (deploy/quickstart.sh keys),
# otherwise --insecure, which the broker logs as a warning.
if [ -f "$keys/broker.key" ]; then
    echo "== CURVE authentication with the keys in $keys"
    broker_auth=(--curve-key-file "$keys/broker.key" --keys-dir "$keys/registry")
    worker_auth=(--curve-key-file "$keys/worker.key" --broker-key "$keys/broker.pub")
    env_line REFERRAL_BROKER_KEY "$keys/broker.pub" >>"$run/env"
else
    echo "== no keys in $keys: running --insecure (development only; '$0 keys' makes keys)"
    broker_auth=(--insecure)
    worker_auth=()
fi

echo "== starting the broker and one worker per domain"
nohup "$build/broker/referral-broker" --frontend "$frontend" --backend "$backend" --http "$http" \
    "${broker_auth[@]}" >>"$logs/broker.log" 2>&1 &
echo $! >"$run/broker.pid"
for d in "${domains[@]}"; do
    nohup "$build/workers/referral-worker" --domain "$d" --broker "$backend" --db "$db" \
        "${worker_auth[@]}" >>"$logs/worker-$d.log" 2>&1 &
    echo $! >"$run/worker-$d.pid"
done
# Ready when the broker reports a worker in every domain.
for _ in $(seq 1 100); do
    if "$ctl" queues --http "$http" --json --timeout-ms 500 2>/dev/null | grep -q '"ready":true'; then
        break
    fi
    sleep 0.2
done

echo "== demo: submitting deploy/demo-requests.jsonl (centers in 7 provinces, 3 domains)"
echo "   (lines 8 and 9 are refused on purpose; line 10 retries line 1 with the same request_id)"
if [ -f "$keys/broker.key" ]; then
    # Each center signs its own requests: one submit per center, with its key.
    for c in "${demo_centers[@]}"; do
        grep "\"center_code\":$c," "$root/deploy/demo-requests.jsonl" |
            "$ctl" submit --broker "$frontend" --file - --curve-key-file "$keys/center-$c.key" \
                --broker-key "$keys/broker.pub" || true
    done
else
    "$ctl" submit --broker "$frontend" --file "$root/deploy/demo-requests.jsonl" || true
fi

echo "== demo: neighbourhoods, three donations with different intents, a council allocation"
echo "   (docs/OPERATIONS.md, \"Donations\"; fixed ids: a second run replays them)"
"$ctl" neighbourhoods import "$root/deploy/demo-neighbourhoods.csv" --db "$db" --by quickstart
as_941=(--broker "$frontend")
if [ -f "$keys/broker.key" ]; then
    as_941+=(--curve-key-file "$keys/center-941.key" --broker-key "$keys/broker.pub")
fi
"$ctl" donations record "${as_941[@]}" --id 3f1e7a52-6c1d-4b7e-9a51-0d2c4b6a8e01 --center 941 \
    --amount 5000000 --bank-ref QS-1405-0001 --intent neighbourhood --neighbourhood نارمک
"$ctl" donations record "${as_941[@]}" --id 3f1e7a52-6c1d-4b7e-9a51-0d2c4b6a8e02 --center 941 \
    --amount 3000000 --bank-ref QS-1405-0002 --intent county --donor "quickstart donor"
"$ctl" donations record "${as_941[@]}" --id 3f1e7a52-6c1d-4b7e-9a51-0d2c4b6a8e03 --center 941 \
    --amount 900000 --bank-ref QS-1405-0003 --intent service --service RHB-02
"$ctl" donations allocate --db "$db" --province 23 --county 2301 --neighbourhood نارمک \
    --service RHB-02 --amount 6000000 --purpose "two wheelchairs" --decision QS-1405-01 \
    --by quickstart
"$ctl" report donations --db "$db" --province 23

echo "== demo: the field work in نارمک: its profile, a trustee, two findings (one becomes a referral,"
echo "   the other is closed), the need-finding report by origin"
echo "   (docs/OPERATIONS.md, \"Neighbourhood profiles, trustees and findings\"; fixed ids: a second run replays them)"
"$ctl" neighbourhood profile "${as_941[@]}" --id 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e01 --center 941 \
    --neighbourhood نارمک --base 0 --file "$root/deploy/demo-profile.json"
"$ctl" neighbourhood show نارمک --db "$db" --county 2301
"$ctl" trustees register "${as_941[@]}" --id 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e02 --center 941 \
    --neighbourhood نارمک --name "حاج علی رضایی" --role imam --phone "0912 345 6789" --consent
"$ctl" trustees list --db "$db"
"$ctl" findings record "${as_941[@]}" --id 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e03 --center 941 \
    --neighbourhood نارمک --household H-941-0412 --source trustee \
    --trustee 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e02 --service RHB-02 --national-id 0041204123
"$ctl" submit "${as_941[@]}" --request-id 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e04 --center 941 \
    --national-id 0041204123 --household H-941-0412 --service RHB-02 --neighbourhood نارمک \
    --finding 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e03 --note "found by a trustee"
"$ctl" findings record "${as_941[@]}" --id 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e05 --center 941 \
    --neighbourhood نارمک --household H-941-0413 --source school --need "a child out of school"
"$ctl" findings close "${as_941[@]}" --id 6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e05 --center 941 \
    --reason "the school enrolled the child itself"
"$ctl" findings list --db "$db"
"$ctl" report needs --origin --db "$db" --province 23

if [ -f "$keys/broker.key" ]; then
    echo "== the loop, authenticated: center 941 refers, office CO-2301 works it from its inbox,"
    echo "   the center follows every change (each with its own key alone)"
    as_key() { echo --broker "$frontend" --curve-key-file "$keys/$1.key" --broker-key "$keys/broker.pub"; }
    # A new referral each run (a new request_id; the last run's is closed).
    out=$("$ctl" submit $(as_key center-941) --center 941 --national-id 9876543210 \
        --household H-941-0099 --service SOC-09 --note "quickstart loop")
    echo "$out"
    ref=$(grep -oE 'R-[0-9]+' <<<"$out" | head -n 1)
    cursor=$("$ctl" follow $(as_key center-941) --center 941 --once 2>&1 >/dev/null |
        grep -oE '[0-9]+$' || echo 0)
    "$ctl" follow $(as_key center-941) --center 941 --after "$cursor" --poll-ms 100 \
        >"$run/follow-941.out" 2>&1 &
    follower=$!
    trap 'kill "$follower" 2>/dev/null || true' EXIT # also when a step below fails
    echo "-- office CO-2301: referralctl inbox --office CO-2301"
    "$ctl" inbox $(as_key office-CO-2301) --office CO-2301
    # From where it stands (a run stopped half-way left it open: the submit
    # above was then answered with it, as a duplicate).
    steps=(received accepted in-progress completed)
    now=$("$ctl" status $(as_key office-CO-2301) "$ref" --office CO-2301 | awk '/^status/ {print $2}')
    first=0
    for i in "${!steps[@]}"; do [ "${steps[$i]}" = "$now" ] && first=$((i + 1)); done
    for to in "${steps[@]:$first}"; do
        echo "-- office CO-2301: referralctl update $ref --to $to --by CO-2301"
        "$ctl" update $(as_key office-CO-2301) "$ref" --to "$to" --by CO-2301 --reason "quickstart"
    done
    sleep 0.5
    kill "$follower" 2>/dev/null || true
    wait "$follower" 2>/dev/null || true
    trap - EXIT
    echo "-- center 941: referralctl follow --center 941 (what it saw, as it happened)"
    grep " $ref " "$run/follow-941.out" || cat "$run/follow-941.out"
    echo "-- operator: referralctl status $ref (operator key: reads any referral, changes none)"
    "$ctl" status $(as_key operator) "$ref"
    echo "-- center 941: referralctl rate --referral $ref --score 4 (its client's satisfaction,"
    echo "   once per referral; docs/OPERATIONS.md, \"Satisfaction\")"
    # A run stopped after this step left the referral rated: that refusal
    # (ECONFLICT, exit 1) is the rule working, not a failure of the demo.
    "$ctl" rate $(as_key center-941) --center 941 --referral "$ref" --score 4 \
        --comment "خوب بود" || true
    "$ctl" report satisfaction --db "$db" --province 23 --by service
fi

echo "== queue state"
sleep 0.5 # the monitor publishes a fresh snapshot every 250 ms
"$ctl" queues --http "$http"

cat <<DONE

The referral router is running.
  logs:      $logs/ (broker.log, worker-*.log) and $pgdir/postgresql.log
  monitor:   http://$http/ (dashboard), /metrics, /readyz, /api/v1/queues, /api/v1/workers
  try:       source $run/env      # REFERRAL_BROKER, REFERRAL_DB, PATH for referralctl
             referralctl status R-1
             referralctl household H-941-0007
             referralctl submit --center 941 --national-id 0012345679 --household H-941-0099 --service SOC-09
  stop:      deploy/quickstart.sh stop
DONE
if [ -f "$keys/broker.key" ]; then
    echo "  (authenticated: add --curve-key-file $keys/center-941.key --broker-key $keys/broker.pub;"
    echo "   offices use $keys/office-CO-2301.key and the like, operators $keys/operator.key)"
fi
