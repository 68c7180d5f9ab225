#!/bin/bash
# referralctl relay answers the bench's --no-db load: every request
# acknowledged, none rejected, and the relay exits at the end of its
# --duration. (Its figures are the bench's, on demand: docs/PERFORMANCE.md.)
#   relay_smoke.sh REFERRALCTL PORT
set -euo pipefail
ctl=$1 port=$2
"$ctl" relay --frontend "tcp://127.0.0.1:$port" --duration 15 2>/dev/null &
relay=$!
trap 'kill $relay 2>/dev/null || true' EXIT
sleep 1
out=$("$ctl" bench --broker "tcp://127.0.0.1:$port" --no-db --clients 2 --window 16 --count 2000 \
    --json 2>/dev/null)
echo "$out"
grep -q '"acked":2000,' <<<"$out" || { echo "FAILED: not every request was acknowledged" >&2; exit 1; }
grep -q '"rejected":0,' <<<"$out" || { echo "FAILED: a request was rejected" >&2; exit 1; }
kill -TERM $relay
for _ in $(seq 1 50); do kill -0 $relay 2>/dev/null || break; sleep 0.1; done
if kill -0 $relay 2>/dev/null; then
    echo "FAILED: the relay did not stop on SIGTERM" >&2
    exit 1
fi
echo "relay smoke: passed"
