#!/bin/bash
# Proves the README's two commands on a fresh Debian 12: makes a minimal
# bookworm tree with debootstrap (--variant=minbase: nothing but Debian's
# required packages), clones this repository's committed HEAD into it, and
# runs deploy/quickstart.sh there as root; with --tests, tests/run.sh too.
# Run on demand (minutes; needs root and Debian's mirror), not by tests/run.sh:
#   tests/bare-machine.sh [--tests] [--keep] [--dir DIR] [--mirror URL]
# The tree is deleted afterwards unless --keep. Exits non-zero when either
# command fails or the demo did not print its outcomes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=""
keep=false
with_tests=false
mirror=${RR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
    case "$1" in
    --tests) with_tests=true ;;
    --keep) keep=true ;;
    --dir) dir=$2; shift ;;
    --mirror) mirror=$2; shift ;;
    *) echo "usage: $0 [--tests] [--keep] [--dir DIR] [--mirror URL]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "$0: run as root (debootstrap, chroot, mount)" >&2; exit 2; }
if ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi
[ -n "$dir" ] || dir=$(mktemp -d /var/tmp/rr-bare.XXXXXX)
# The tree is a machine's /: it must be open to its other users (mktemp
# makes it 0700, and PostgreSQL runs as postgres).
mkdir -p "$dir"
chmod 0755 "$dir"
logs=$root/build/bare-machine
mkdir -p "$logs"

mounted=()
cleanup() {
    # Stop what the quickstart started inside, then unmount in reverse order.
    if [ -x "$dir/usr/bin/env" ] && [ -d "$dir/root/referral-router" ]; then
        chroot "$dir" /bin/bash -c 'cd /root/referral-router && deploy/quickstart.sh stop' \
            >/dev/null 2>&1 || true
    fi
    # Anything else still running in the tree (a test aborted by a
    # sanitizer leaves its broker and workers), so no port stays taken.
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount -l "${mounted[i]}" 2>/dev/null || true
    done
    if ! $keep; then
        rm -rf --one-file-system "$dir"
    else
        echo "tree kept in $dir"
    fi
}
trap cleanup EXIT

echo "== debootstrap --variant=minbase bookworm $dir"
debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$logs/debootstrap.log" 2>&1 || {
    tail -n 20 "$logs/debootstrap.log"
    exit 1
}
mnt() { # type-or-bind source target
    mkdir -p "$3"
    if [ "$1" = bind ]; then mount --bind "$2" "$3"; else mount -t "$1" "$2" "$3"; fi
    mounted+=("$3")
}
# The tree's root a mount point, as a machine's / is: `ip netns add` (the
# partition test's worker hosts) makes / a slave mount and fails on a plain
# directory.
mnt bind "$dir" "$dir"
mnt proc proc "$dir/proc"
mnt sysfs sys "$dir/sys"
mnt bind /dev "$dir/dev"
mnt devpts devpts "$dir/dev/pts"
mnt tmpfs shm "$dir/dev/shm"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# A chroot has no init: without this, installing postgresql would start the
# distribution's own cluster on port 5432 of the host's network. On a real
# machine that service starts and is harmless; the quickstart never uses it.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"

echo "== cloning $(git rev-parse --short HEAD) into /root/referral-router"
git clone -q --no-local "$root" "$dir/root/referral-router"

# Ports apart from a quickstart that may run on the host itself.
inside() { # log command
    local log=$1
    shift
    chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        REFERRAL_BROKER_FRONTEND=tcp://127.0.0.1:25555 REFERRAL_BROKER_BACKEND=tcp://127.0.0.1:25556 \
        REFERRAL_HTTP=127.0.0.1:25580 /bin/bash -c "cd /root/referral-router && $*" 2>&1 |
        tee "$logs/$log"
    return "${PIPESTATUS[0]}"
}

echo "== deploy/quickstart.sh (log: $logs/quickstart.log)"
inside quickstart.log deploy/quickstart.sh >/dev/null || {
    tail -n 30 "$logs/quickstart.log"
    echo "FAILED: deploy/quickstart.sh on a bare tree" >&2
    exit 1
}
tail -n 16 "$logs/quickstart.log"
# The demo answers: eight accepted (one of them the retry of R-1) and two
# refused, then the field-work demo's referral made from a finding: nine.
accepted=$(grep -cE '^[0-9a-f-]{36} accepted R-[0-9]+ -> ' "$logs/quickstart.log" || true)
refused=$(grep -cE '^[0-9a-f-]{36} rejected (EINVAL|ENOTFOUND) ' "$logs/quickstart.log" || true)
if [ "$accepted" -ne 9 ] || [ "$refused" -ne 2 ]; then
    echo "FAILED: the demo printed $accepted accepted and $refused refused outcomes" >&2
    exit 1
fi
# The donations demo: three donations, one allocation, a ledger that reconciles.
grep -q "^reconciled: 3 of 3 earmarks' balances equal the sum of their entries" \
    "$logs/quickstart.log" || { echo "FAILED: the donations demo did not reconcile" >&2; exit 1; }
# The field-work demo: a profile, a trustee (masked), two findings (one referred, one closed)
# and the need-finding report's split by origin for نارمک.
fw=6a0d3c1e-2f4b-4c5d-8e6f-7a8b9c0d1e
for want in "^${fw}01 (recorded|replayed) version 1 of neighbourhood [0-9]+$" \
    "^${fw}02 (recorded|replayed) trustee of neighbourhood [0-9]+, active$" \
    "^${fw}02 .* imam +\\*{6}6789 " \
    "^${fw}03 .* RHB-02 +trustee +referred +R-[0-9]+ " \
    "^${fw}05 .* school +closed " \
    "complete within 30 days$" \
    "^23 +2301 +Tehran +نارمک +2 +0 +1 +1 +school, trustee +1 +[0-9]+$"; do
    grep -qE "$want" "$logs/quickstart.log" ||
        { echo "FAILED: the field-work demo printed no line like: $want" >&2; exit 1; }
done
if grep -q '09123456789' "$logs/quickstart.log"; then
    echo "FAILED: the field-work demo printed a trustee's phone unmasked" >&2
    exit 1
fi
echo "== a user's next commands: source .run/env; referralctl household H-941-0007"
inside env.log 'source .run/env && referralctl household H-941-0007 && referralctl status R-1' |
    tail -n 12
grep -q 'RHB-02' "$logs/env.log" && grep -q '^office  *CO-2301' "$logs/env.log" ||
    { echo "FAILED: referralctl after source .run/env" >&2; exit 1; }
echo "== deploy/quickstart.sh keys, then the authenticated demo (log: $logs/quickstart-keys.log)"
inside keys.log deploy/quickstart.sh keys >/dev/null &&
    inside quickstart-keys.log deploy/quickstart.sh >/dev/null || {
    tail -n 30 "$logs/quickstart-keys.log"
    echo "FAILED: the authenticated quickstart on a bare tree" >&2
    exit 1
}
sed -n '/== the loop/,/== queue state/p' "$logs/quickstart-keys.log" | head -n 24
# The office took the new referral through to completed, the center saw
# each change as the office's, and the operator read it.
for want in ' received, owner CO-2301' ' accepted, owner CO-2301' ' completed, owner CO-2301' \
    'complete in-progress -> completed by office:CO-2301' '^status     completed'; do
    grep -qE -- "$want" "$logs/quickstart-keys.log" ||
        { echo "FAILED: the authenticated demo printed no \"$want\"" >&2; exit 1; }
done
inside stop.log deploy/quickstart.sh stop >/dev/null

if $with_tests; then
    echo "== tests/run.sh (log: $logs/tests.log)"
    inside tests.log tests/run.sh >/dev/null || {
        tail -n 40 "$logs/tests.log"
        echo "FAILED: tests/run.sh on a bare tree" >&2
        exit 1
    }
    tail -n 8 "$logs/tests.log"
fi
echo "bare machine: passed"
