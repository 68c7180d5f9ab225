#!/bin/bash
# Compares the stack at two git revisions on this machine, interleaved
# (A B A B ...) in one session so that the machine's noise falls on both:
#   tools/bench-compare.sh [--rounds N] [--duration S] [--b-workers "D D D"] BEFORE [AFTER]
# BEFORE and AFTER are git revisions (AFTER defaults to the checkout as it
# is, uncommitted changes included). Each is built (RelWithDebInfo) in
# build/bench-compare/<name>, with its own database (its own migrations)
# in one private PostgreSQL cluster set up as the quickstart's, and its own
# broker and three workers on loopback ports 26101-26102 (A) and
# 26111-26112 (B), and a second broker with three --no-db workers each
# (26121-26122, 26131-26132: the broker and the protocol alone). Each round
# runs, for each side (A B in odd rounds, B A in even ones, after a
# CHECKPOINT): the default closed-loop bench (32 clients x 16) for S
# seconds (20) after a 3 s measure of PostgreSQL's ceiling for the same
# rows (its ratio); the closed loop again for 8 s, for where the CPU goes
# at saturation (PostgreSQL, broker and workers, the bench client); after
# a VACUUM ANALYZE and CHECKPOINT of what those wrote, the open loop at
# 1,000 and at 4,000 requests/s for 10 s each, the second with PostgreSQL's CPU, WAL and new MultiXacts per
# acknowledged referral (the cluster's, while only that side runs); and the broker
# alone (4 clients x 128, 8 s); and once per round a bare ZeroMQ relay with
# echo threads (referralctl relay, B's build, port 26141) under the same
# client as the broker alone. Prints every run's JSON, then per figure
# the median and min-max of each side and the ratio of the medians B/A.
# --b-workers gives B's workers' domains (default "prevention rehabilitation
# social"; e.g. "any any any": three workers of every domain, to compare
# with pools per domain at the same revision); --a-workers A's.
# Exits non-zero when a run reports a lost, duplicated or rejected request.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=3 duration=20
a_workers="prevention rehabilitation social"
b_workers="prevention rehabilitation social"
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --a-workers) a_workers=$2; shift 2 ;;
    --b-workers) b_workers=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
before=${1:?usage: tools/bench-compare.sh [--rounds N] [--duration S] BEFORE [AFTER]}
after=${2:-}
work=$root/build/bench-compare
mkdir -p "$work"
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# build NAME REV -> $work/NAME/{src,build}; REV "" is the checkout as it is.
build() {
    local name=$1 rev=$2 src
    if [ -n "$rev" ]; then
        src=$work/$name/src
        rm -rf "$src"
        mkdir -p "$src"
        git archive "$rev" | tar -x -C "$src"
        # git archive gives files their commit's time, which can be older
        # than objects another revision left in the build: start afresh
        # whenever the revision changes.
        local id
        id=$(git rev-parse "$rev^{commit}")
        if [ "$(cat "$work/$name/built" 2>/dev/null)" != "$id" ]; then
            rm -rf "$work/$name/build"
        fi
        echo "$id" >"$work/$name/built"
    else
        src=$root
    fi
    cmake -S "$src" -B "$work/$name/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$work/$name/build" -j "$(nproc)" \
        --target referral-broker referral-worker referralctl >/dev/null
    # From 0.4 on, the PostgreSQL module migrate declares (db/ext).
    if grep -q referral_text "$src/db/ext/CMakeLists.txt" 2>/dev/null; then
        cmake --build "$work/$name/build" --target referral_text >/dev/null
    fi
    echo "$src"
}
echo "building A = ${before} and B = ${after:-the checkout}" >&2
src_a=$(build a "$before")
src_b=$(build b "$after")

pg=$work/pg
if [ -f "$pg/data/postmaster.pid" ]; then
    as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null || true
fi
rm -rf "$pg"
mkdir -p "$pg"
[ "$(id -u)" != 0 ] || chown postgres "$pg"
as_pg "$pgbin/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$pg/initdb.log"
# As the quickstart's: full durability, as PostgreSQL ships it.
as_pg "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/postgresql.log" -w \
    -o "-k $pg -c listen_addresses='' -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min" \
    start >/dev/null

pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# stack NAME SRC PORT DOMAINS: its database, broker and a worker per domain.
declare -A spids # NAME -> the pids of its broker and workers
stack() {
    local name=$1 src=$2 port=$3 domains=$4 bin=$work/$1/build
    local db="host=$pg user=postgres dbname=bench_$name"
    "$pgbin/psql" -X -q -h "$pg" -U postgres -d postgres -c "CREATE DATABASE bench_$name"
    # From 0.4, migrate declares referral.canonical_text from the build's
    # server module (an older referralctl ignores the variable).
    REFERRAL_PG_MODULE=$bin/db/ext/referral_text.so \
        "$bin/tools/referralctl" migrate --db "$db" --dir "$src/db" >/dev/null
    "$bin/broker/referral-broker" --frontend "tcp://127.0.0.1:$port" \
        --backend "tcp://127.0.0.1:$((port + 1))" --http off --insecure >"$work/$name/broker.log" 2>&1 &
    pids+=($!)
    spids[$name]+=" $!"
    local i=0 d
    for d in $domains; do
        i=$((i + 1))
        "$bin/workers/referral-worker" --domain "$d-$i" --broker "tcp://127.0.0.1:$((port + 1))" \
            --db "$db" >"$work/$name/worker-$d-$i.log" 2>&1 &
        pids+=($!)
        spids[$name]+=" $!"
    done
}
stack a "$src_a" 26101 "$a_workers"
stack b "$src_b" 26111 "$b_workers"
# nodb NAME PORT: a broker with three workers that answer without the database.
nodb() {
    local name=$1 port=$2 bin=$work/$1/build
    "$bin/broker/referral-broker" --frontend "tcp://127.0.0.1:$port" \
        --backend "tcp://127.0.0.1:$((port + 1))" --http off --insecure >"$work/$name/nodb.log" 2>&1 &
    pids+=($!)
    for d in prevention rehabilitation social; do
        "$bin/workers/referral-worker" --domain $d --broker "tcp://127.0.0.1:$((port + 1))" \
            --no-db >>"$work/$name/nodb.log" 2>&1 &
        pids+=($!)
    done
}
nodb a 26121
nodb b 26131
# The wire's limit: a bare relay with echo threads (B's referralctl relay),
# measured with the same client as the broker alone, once per round.
"$work/b/build/tools/referralctl" relay --frontend tcp://127.0.0.1:26141 >"$work/b/relay.log" 2>&1 &
pids+=($!)
sleep 3

# bench NAME ARGS...: one run of NAME's bench against NAME's stack.
bench() {
    local name=$1 port
    shift
    [ "$name" = a ] && port=26101 || port=26111
    "$work/$name/build/tools/referralctl" bench --broker "tcp://127.0.0.1:$port" \
        --db "host=$pg user=postgres dbname=bench_$name" --ceiling-seconds 0 --json "$@" \
        2>>"$work/$name/bench.err"
}
sql() { "$pgbin/psql" -X -qAt -h "$pg" -U postgres -d postgres -c "$1"; }
# The CPU (clock ticks) every PostgreSQL process of the cluster has used.
pg_ticks() {
    local t=0 pid f
    for pid in $(pgrep -u postgres -f "postgres|postgres:"); do
        f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}
# The CPU (clock ticks) the given processes have used.
ticks_of() {
    local t=0 pid f
    for pid in "$@"; do
        f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}
# The CPU (clock ticks) this shell's finished children have used.
child_ticks() {
    local f
    f=$(cut -d' ' -f16,17 /proc/$$/stat)
    echo $((${f% *} + ${f#* }))
}
# The cluster's WAL position (bytes) and next MultiXact id, after a CHECKPOINT.
pg_marks() {
    sql CHECKPOINT >/dev/null
    sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint || ' ' ||
         next_multixact_id::text::bigint FROM pg_control_checkpoint()"
}
field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }

bad=0
# Warm-up, the way a server in service is: each stack 10 s, then VACUUM
# ANALYZE and CHECKPOINT, so autovacuum does not start inside a run.
for s in a b; do
    bench $s --duration 10 >/dev/null || bad=1
    "$pgbin/psql" -X -q -h "$pg" -U postgres -d "bench_$s" -c "VACUUM ANALYZE" -c CHECKPOINT
done

declare -A rate ratio cpu wal mxact p50 p99 p99k4 alone sat_pg sat_msg sat_client
relay_rates=""
hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
    order="a b"
    [ $((r % 2)) = 1 ] || order="b a"
    for s in $order; do
        sql CHECKPOINT >/dev/null
        out=$(bench "$s" --duration "$duration" --ceiling-seconds 3) || bad=1
        echo "round $r $s closed loop: $out"
        rate[$s]+=" $(field acked_per_s "$out")"
        ratio[$s]+=" $(field ratio "$out")"
        # Where the CPU goes at saturation, per acknowledged referral: the
        # cluster, the broker and workers, the bench's own client.
        # shellcheck disable=SC2086
        m0=$(ticks_of ${spids[$s]})
        t0=$(pg_ticks) c0=$(child_ticks)
        out=$(bench "$s" --duration 8) || bad=1
        # shellcheck disable=SC2086
        m1=$(ticks_of ${spids[$s]})
        t1=$(pg_ticks) c1=$(child_ticks)
        echo "round $r $s closed loop, CPU split: $out"
        acked=$(field acked "$out")
        per() { awk -v t="$1" -v hz="$hz" -v n="$acked" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}'; }
        sat_pg[$s]+=" $(per $((t1 - t0)))"
        sat_msg[$s]+=" $(per $((m1 - m0)))"
        sat_client[$s]+=" $(per $((c1 - c0)))"
        # The saturated runs just wrote hundreds of thousands of rows:
        # vacuum and checkpoint them now, or autovacuum and the checkpointer
        # land inside the open loop's 10 s and make its tail.
        "$pgbin/psql" -X -q -h "$pg" -U postgres -d "bench_$s" -c "VACUUM ANALYZE" -c CHECKPOINT
        out=$(bench "$s" --rate 1000 --duration 10) || bad=1
        echo "round $r $s open loop 1000/s: $out"
        p50[$s]+=" $(field p50_ms "$out")"
        p99[$s]+=" $(field p99_ms "$out")"
        # PostgreSQL's cost per referral, at 4,000/s (no ceiling run in it).
        read -r wal0 mx0 <<<"$(pg_marks)"
        t0=$(pg_ticks)
        out=$(bench "$s" --rate 4000 --duration 10) || bad=1
        t1=$(pg_ticks)
        read -r wal1 mx1 <<<"$(pg_marks)"
        echo "round $r $s open loop 4000/s: $out"
        p99k4[$s]+=" $(field p99_ms "$out")"
        acked=$(field acked "$out")
        cpu[$s]+=" $(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$acked" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
        wal[$s]+=" $(awk -v b=$((wal1 - wal0)) -v n="$acked" 'BEGIN {printf "%.0f", b / n}')"
        mxact[$s]+=" $(awk -v m=$((mx1 - mx0)) -v n="$acked" 'BEGIN {printf "%.4f", m / n}')"
        [ "$s" = a ] && port=26121 || port=26131
        out=$("$work/$s/build/tools/referralctl" bench --broker "tcp://127.0.0.1:$port" --no-db \
            --clients 4 --window 128 --duration 8 --json 2>/dev/null) || bad=1
        echo "round $r $s broker alone: $out"
        alone[$s]+=" $(field acked_per_s "$out")"
    done
    out=$("$work/b/build/tools/referralctl" bench --broker tcp://127.0.0.1:26141 --no-db \
        --clients 4 --window 128 --duration 8 --json 2>/dev/null) || bad=1
    echo "round $r raw relay: $out"
    relay_rates+=" $(field acked_per_s "$out")"
done

echo
echo "A = ${before}, B = ${after:-the checkout}; $rounds rounds, interleaved (A B, B A, ...)"
report() { # figure "A values" "B values" (space-separated: split on purpose)
    local ma mb
    # shellcheck disable=SC2086
    ma=$(median $2)
    # shellcheck disable=SC2086
    mb=$(median $3)
    # shellcheck disable=SC2086
    echo "  $1: A median $ma (min-max $(range $2)), B median $mb (min-max $(range $3)), B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.3f", b / a}')"
}
report rate "${rate[a]}" "${rate[b]}"
report ratio "${ratio[a]}" "${ratio[b]}"
report pg_cpu_us "${cpu[a]}" "${cpu[b]}"
report wal_bytes "${wal[a]}" "${wal[b]}"
report multixacts "${mxact[a]}" "${mxact[b]}"
report p50 "${p50[a]}" "${p50[b]}"
report p99 "${p99[a]}" "${p99[b]}"
report p99_4000 "${p99k4[a]}" "${p99k4[b]}"
report alone "${alone[a]}" "${alone[b]}"
report sat_pg_us "${sat_pg[a]}" "${sat_pg[b]}"
report sat_msg_us "${sat_msg[a]}" "${sat_msg[b]}"
report sat_client_us "${sat_client[a]}" "${sat_client[b]}"
# shellcheck disable=SC2086
relay_median=$(median $relay_rates)
echo "  relay: median $relay_median (min-max $(range $relay_rates)); broker alone / relay: A $(awk -v a="$(median ${alone[a]})" -v r="$relay_median" 'BEGIN {printf "%.3f", a / r}'), B $(awk -v b="$(median ${alone[b]})" -v r="$relay_median" 'BEGIN {printf "%.3f", b / r}')"
echo "  (rate: acknowledged/s, closed loop; ratio: to PostgreSQL's ceiling for the same rows;"
echo "   pg_cpu_us, wal_bytes: PostgreSQL's CPU time and WAL per referral at 4,000/s (WAL"
echo "   includes the checkpoint after the run; CPU does not);"
echo "   multixacts: new MultiXacts per acknowledged referral; p50, p99: ms at 1,000 requests/s;"
echo "   p99_4000: ms at 4,000 requests/s; alone: requests/s through the broker to workers that"
echo "   do not record them; relay: the same through referralctl relay, a bare ZeroMQ relay with"
echo "   echo threads; sat_pg_us, sat_msg_us, sat_client_us: CPU per acknowledged referral in"
echo "   a closed loop of 8 s without the ceiling: PostgreSQL's processes, the broker and"
echo "   workers, the bench client)"
[ "$bad" = 0 ] || { echo "a run reported lost, duplicated or rejected requests" >&2; exit 1; }
