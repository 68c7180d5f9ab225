#!/bin/bash
# The bench across machines' shapes, in one session, interleaved (issue 17):
#   tools/ha-bench.sh [--rounds N] [--duration S]
# three stacks built from the checkout (RelWithDebInfo, build/ha-bench),
# each with three workers of every domain (--domain any):
#   base  one broker, one PostgreSQL server (a private cluster set up as
#         bench-compare's: full durability, no replication);
#   ha1   one broker, the pg_auto_failover formation (deploy/ha/formation.sh:
#         a primary and two standbys, one of which confirms every commit),
#         the workers on its multi-host conninfo;
#   ha2   two brokers in front of the same formation, every worker on both
#         (--broker A,B), the bench's clients spread over both.
# Each round runs, for each stack in turn (the order rotates every round):
# the closed loop (32 clients x 16) for S seconds (15), then the open loop
# at 1,000 requests/s for 10 s. Prints every run's JSON, then per figure
# the median and min-max of each stack and its ratio to base. The cost of
# synchronous replication is ha1 against base; ha2 against ha1 is what a
# second broker changes. Ports: 26401-26406 (brokers), the formation on
# 26410-26413. Everything runs on this machine: the standbys' WAL replay
# shares its cores with the primary (see docs/DEPLOYMENT.md for what that
# means for the figures). Exits non-zero when a run reports a lost,
# duplicated or rejected request.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=3 duration=15
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
work=$root/build/ha-bench
bin=$work/build
mkdir -p "$work"
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

echo "building the checkout in $bin" >&2
cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bin" -j "$(nproc)" --target referral-broker referral-worker referralctl \
    referral_text >/dev/null

export REFERRAL_HA_DIR=$work/ha REFERRAL_HA_PORT=26410 REFERRAL_BUILD=$bin
formation=$root/deploy/ha/formation.sh

pg=$work/pg
if [ -f "$pg/data/postmaster.pid" ]; then
    as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null || true
fi
rm -rf "$pg"
mkdir -p "$pg"
[ "$(id -u)" != 0 ] || chown postgres "$pg"
as_pg "$pgbin/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$pg/initdb.log"
as_pg "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/postgresql.log" -w \
    -o "-k $pg -c listen_addresses='' -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min" \
    start >/dev/null
"$formation" destroy >/dev/null 2>&1 || true
"$formation" up >"$work/formation.log" 2>&1 || { tail -n 30 "$work/formation.log"; exit 1; }
ha=$("$formation" conninfo)

pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
    "$formation" destroy >/dev/null 2>&1 || true
}
trap cleanup EXIT

declare -A db front
db[base]="host=$pg user=postgres dbname=bench"
db[ha1]="$ha dbname=bench_ha1"
db[ha2]="$ha dbname=bench_ha2"
"$pgbin/psql" -X -q -h "$pg" -U postgres -d postgres -c "CREATE DATABASE bench"
for s in ha1 ha2; do
    "$pgbin/psql" -X -q -d "$ha dbname=postgres" -c "CREATE DATABASE bench_$s TEMPLATE referral"
done
REFERRAL_PG_MODULE=$bin/db/ext/referral_text.so \
    "$bin/tools/referralctl" migrate --db "${db[base]}" --dir "$root/db" >/dev/null

broker() { # name port
    "$bin/broker/referral-broker" --frontend "tcp://127.0.0.1:$2" \
        --backend "tcp://127.0.0.1:$(($2 + 1))" --http off --insecure >"$work/$1.log" 2>&1 &
    pids+=($!)
}
workers() { # name backends db
    local i
    for i in 1 2 3; do
        "$bin/workers/referral-worker" --domain any --broker "$2" --db "$3" \
            >"$work/$1-worker-$i.log" 2>&1 &
        pids+=($!)
    done
}
broker base 26401
workers base tcp://127.0.0.1:26402 "${db[base]}"
front[base]=tcp://127.0.0.1:26401
broker ha1 26403
workers ha1 tcp://127.0.0.1:26404 "${db[ha1]}"
front[ha1]=tcp://127.0.0.1:26403
broker ha2a 26405
broker ha2b 26407
workers ha2 tcp://127.0.0.1:26406,tcp://127.0.0.1:26408 "${db[ha2]}"
front[ha2]=tcp://127.0.0.1:26405,tcp://127.0.0.1:26407
sleep 3

bench() { # stack args...
    local s=$1
    shift
    "$bin/tools/referralctl" bench --broker "${front[$s]}" --db "${db[$s]}" --ceiling-seconds 0 \
        --json "$@" 2>>"$work/$s-bench.err"
}
field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.1f-%.1f", lo, hi}'; }

bad=0
for s in base ha1 ha2; do # warm-up
    bench $s --duration 5 >/dev/null || bad=1
done
declare -A rate p50 p99
stacks=(base ha1 ha2)
for r in $(seq "$rounds"); do
    k=$(((r - 1) % 3))
    order=("${stacks[@]:k}" "${stacks[@]:0:k}")
    for s in "${order[@]}"; do
        out=$(bench "$s" --duration "$duration") || bad=1
        echo "round $r $s closed loop: $out"
        rate[$s]+=" $(field acked_per_s "$out")"
        out=$(bench "$s" --rate 1000 --duration 10) || bad=1
        echo "round $r $s open loop 1000/s: $out"
        p50[$s]+=" $(field p50_ms "$out")"
        p99[$s]+=" $(field p99_ms "$out")"
    done
done

echo
echo "$rounds rounds, the order rotating (base ha1 ha2, ha1 ha2 base, ...)"
report() { # figure: each stack's median (min-max) and its ratio to base
    local -n v=$2
    local mb line s m
    # shellcheck disable=SC2086
    mb=$(median ${v[base]})
    line="  $1:"
    for s in base ha1 ha2; do
        # shellcheck disable=SC2086
        m=$(median ${v[$s]})
        line+=" $s $m ($(range ${v[$s]}))"
        [ "$s" = base ] || line+=" = $(awk -v a="$mb" -v b="$m" 'BEGIN {printf "%.2f", b / a}')x base"
        line+=";"
    done
    echo "$line"
}
report rate rate
report p50 p50
report p99 p99
echo "  (rate: acknowledged/s, closed loop 32 x 16; p50, p99: ms at 1,000 requests/s)"
[ "$bad" = 0 ] || { echo "a run reported lost, duplicated or rejected requests" >&2; exit 1; }
