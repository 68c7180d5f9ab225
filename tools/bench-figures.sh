#!/bin/bash
# Issue #6's figures in one run, on this machine (docs/PERFORMANCE.md):
#   0. a fresh quickstart stack, warmed up the way a server in service is:
#      a 20 s load (which also makes the WAL segments a fresh cluster would
#      otherwise create under the measurement), then VACUUM ANALYZE and a
#      CHECKPOINT (so that autovacuum does not start on those rows during
#      the measurement);
#   1. open loop at 1,000 requests/s, three times: ack latency;
#   2. the default bench (32 clients x 16, 20 s), three times:
#      acknowledged/s, PostgreSQL's ceiling, ratio;
#   3. the broker alone (three referral-worker --no-db), three times.
# Prints every run's JSON and the medians. Deletes the quickstart's
# database first (deploy/quickstart.sh reset): run it on a benchmark machine.
# Usage: tools/bench-figures.sh [runs]   (needs a built tree: build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
build=build/release
ctl=$build/tools/referralctl

field() { # name json -> value
    sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"
}
median() { # values...
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

deploy/quickstart.sh reset >/dev/null
deploy/quickstart.sh >/dev/null
set -a
# shellcheck disable=SC1091
source .run/env
set +a

bad=0
psql=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql
echo "warm-up: $("$ctl" bench --duration 20 --ceiling-seconds 0 --json 2>/dev/null)"
"$psql" -X -q "$REFERRAL_DB" -c "VACUUM ANALYZE" -c CHECKPOINT

p50s=() p99s=()
for _ in $(seq "$runs"); do
    out=$("$ctl" bench --rate 1000 --duration 10 --ceiling-seconds 0 --json 2>/dev/null) || bad=1
    echo "rate 1000/s: $out"
    p50s+=("$(field p50_ms "$out")")
    p99s+=("$(field p99_ms "$out")")
done

rates=() ceilings=() ratios=()
for _ in $(seq "$runs"); do
    out=$("$ctl" bench --json 2>/dev/null) || bad=1
    echo "default: $out"
    rates+=("$(field acked_per_s "$out")")
    ceilings+=("$(field pg_ceiling_per_s "$out")")
    ratios+=("$(field ratio "$out")")
done
deploy/quickstart.sh stop >/dev/null

front=tcp://127.0.0.1:26001 back=tcp://127.0.0.1:26002
pids=()
"$build/broker/referral-broker" --frontend $front --backend $back --http off --insecure \
    >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
for d in prevention rehabilitation social; do
    "$build/workers/referral-worker" --domain $d --broker $back --no-db >/dev/null 2>&1 &
    pids+=($!)
done
sleep 1
alone=()
for _ in $(seq "$runs"); do
    out=$("$ctl" bench --broker $front --no-db --clients 4 --window 128 --duration 8 --json \
        2>/dev/null) || bad=1
    echo "broker alone: $out"
    alone+=("$(field acked_per_s "$out")")
done
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true

echo
echo "medians of $runs runs:"
echo "  default bench: $(median "${rates[@]}") acknowledged/s, ceiling $(median "${ceilings[@]}")/s, ratio $(median "${ratios[@]}") (runs: ${ratios[*]})"
echo "  open loop at 1000/s: p50 $(median "${p50s[@]}") ms, p99 $(median "${p99s[@]}") ms (runs: ${p99s[*]})"
echo "  broker alone: $(median "${alone[@]}") req/s (runs: ${alone[*]})"
[ "$bad" = 0 ] || { echo "a run reported lost, duplicated or rejected requests" >&2; exit 1; }
