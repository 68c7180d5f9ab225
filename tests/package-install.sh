#!/bin/bash
# "Install from the package" (docs/OPERATIONS.md), tried on a booted Debian 12:
# builds the .deb, makes a debootstrap --variant=minbase bookworm tree with
# systemd and PostgreSQL, installs the package there, boots the tree with
# systemd-nspawn (its own network namespace: nothing listens outside it) and
# runs the documented commands inside: database, keys, enable and start the
# target, a submission, a watchdog restart, a usage error not restarted, a
# second worker instance, stop and start of the target, an upgrade, removal.
# Run on demand as root (about five minutes), not by tests/run.sh:
#   tests/package-install.sh [--keep] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=""
keep=false
while [ $# -gt 0 ]; do
    case "$1" in
    --keep) keep=true ;;
    --dir) dir=$2; shift ;;
    *) echo "usage: $0 [--keep] [--dir DIR]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "$0: run as root" >&2; exit 2; }
for tool in debootstrap systemd-nspawn; do
    command -v "$tool" >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            debootstrap systemd-container >/dev/null
done
[ -n "$dir" ] || dir=$(mktemp -d /var/tmp/rr-install.XXXXXX)
# The tree is a machine's /: it must be open to its other users (mktemp
# makes it 0700, and PostgreSQL runs as postgres).
mkdir -p "$dir"
chmod 0755 "$dir"
logs=$root/build/package-install
mkdir -p "$logs"
nspawn_pid=""
cleanup() {
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        kill -TERM "$nspawn_pid" 2>/dev/null || true # nspawn asks the container to power off
        for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    umount -l "$dir/proc" 2>/dev/null || true
    if $keep; then echo "tree kept in $dir"; else rm -rf --one-file-system "$dir"; fi
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

echo "== building the package"
deb=$("$root/deploy/build-deb.sh" 2>"$logs/build.log" | tail -n 1)
version=$(dpkg-deb -f "$deb" Version)
echo "   $deb"

echo "== debootstrap, then systemd, PostgreSQL and the package (apt, in a chroot)"
debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$logs/debootstrap.log" 2>&1 ||
    fail "debootstrap (see $logs/debootstrap.log)"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
cp "$deb" "$dir/root/"
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" # nothing starts in the chroot
chmod 755 "$dir/usr/sbin/policy-rc.d"
mount -t proc proc "$dir/proc"
chroot "$dir" /bin/bash -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -q &&
    apt-get install -y -q --no-install-recommends systemd systemd-sysv curl postgresql \
    /root/$(basename "$deb")" >"$logs/apt.log" 2>&1 || fail "apt install (see $logs/apt.log)"
umount "$dir/proc"
rm "$dir/usr/sbin/policy-rc.d"

echo "== booting it with systemd-nspawn"
systemd-nspawn -D "$dir" -b --private-network --register=no --keep-unit --machine=rr-install \
    >"$logs/console.log" 2>&1 &
nspawn_pid=$!
inside() { # runs a command in the booted machine
    local init
    init=$(pgrep -P "$nspawn_pid" | head -n 1)
    nsenter --target "$init" --mount --uts --ipc --net --pid -r -w -- /usr/bin/env -i \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb SYSTEMD_COLORS=0 "$@"
}
wait_for() { # seconds command...: polls until the command succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}
wait_for 90 inside systemctl is-active postgresql@15-main ||
    { inside systemctl list-jobs --no-pager; inside systemctl --failed --no-pager; fail "the machine did not boot"; }

echo "== database, keys, and the units (the commands of OPERATIONS.md)"
{
    inside runuser -u postgres -- createdb referral
    inside runuser -u postgres -- referralctl migrate --db dbname=referral
    inside runuser -u postgres -- psql -q referral \
        -c "CREATE ROLE referral LOGIN IN ROLE referral_worker" \
        -c "INSERT INTO referral.center (code, county_code, neighbourhood, name) VALUES (941, '2301', 'Narmak', 'Positive Life Center 941')"
    inside referralctl keys generate --out /etc/referral-router/broker
    inside referralctl keys generate --out /etc/referral-router/worker
    inside referralctl keys register --dir /etc/referral-router/keys --principal worker:any /etc/referral-router/worker.pub
    inside systemd-tmpfiles --create referral-router.conf
    inside systemctl enable referral-broker referral-worker@prevention referral-worker@rehabilitation \
        referral-worker@social-1 referral-worker@social-2 referral-router.target
    inside systemctl start referral-router.target
} >"$logs/setup.log" 2>&1 || fail "setting up (see $logs/setup.log)"
grep -q '0 centers' "$logs/setup.log" || fail "the package seeded centers of its own"
wait_for 30 inside curl -sf 127.0.0.1:8080/readyz || fail "the broker never became ready"
inside systemctl list-units 'referral*' --no-legend --plain | tee "$logs/units.log"
[ "$(grep -c 'active running' "$logs/units.log")" = 5 ] || fail "not every unit runs"

echo "== a center's submission through the authenticating broker"
inside referralctl keys generate --out /root/center-941 >/dev/null
inside referralctl keys register --dir /etc/referral-router/keys --principal center:941 /root/center-941.pub
sleep 1.5 # the broker re-reads its key directory within a heartbeat
inside referralctl submit --broker tcp://127.0.0.1:5555 --curve-key-file /root/center-941.key \
    --broker-key /etc/referral-router/broker.pub --center 941 --national-id 0012345679 \
    --household H-941-0001 --service SOC-09 | tee "$logs/submit.log"
grep -q ' accepted R-1 -> CO-2301 ' "$logs/submit.log" || fail "the submission"
inside journalctl -u referral-broker -p warning -o cat --no-pager | grep -q '"level":"info"' &&
    fail "journald filed info lines as warnings"

echo "== the watchdog restarts a stopped worker"
old=$(inside systemctl show -p MainPID --value referral-worker@social-2)
inside sh -c "kill -STOP $old"
restarted() {
    local now
    now=$(inside systemctl show -p MainPID --value referral-worker@social-2)
    [ "$now" != "$old" ] && [ "$now" != 0 ]
}
wait_for 60 restarted || fail "the watchdog did not restart the stopped worker"
inside journalctl -u referral-worker@social-2 --no-pager -o cat | grep -q 'Watchdog timeout' ||
    fail "no watchdog timeout in the journal"
echo "   worker pid $old stopped; systemd's watchdog restarted it"

echo "== a usage error is not restarted"
inside sh -c 'echo REFERRAL_CREDIT=0 > /etc/referral-router/worker-social-2.env'
inside systemctl restart referral-worker@social-2 >/dev/null 2>&1 || true
sleep 4
[ "$(inside systemctl is-active referral-worker@social-2 || true)" = failed ] ||
    fail "a worker with a bad setting was restarted"
inside rm /etc/referral-router/worker-social-2.env
inside systemctl start referral-worker@social-2

echo "== another instance, then the whole set stopped and started"
inside systemctl enable --now referral-worker@social-3 >/dev/null 2>&1
five_workers() { inside referralctl workers | grep -q '(5 workers)'; }
wait_for 20 five_workers || fail "the third social worker"
inside systemctl stop referral-router.target
[ "$(inside systemctl list-units 'referral*' --no-legend --plain --state=active | wc -l)" = 0 ] ||
    fail "stopping the target left units running"
inside systemctl start referral-router.target
wait_for 30 inside curl -sf 127.0.0.1:8080/readyz || fail "not ready after the target's start"

echo "== upgrade to the same tree rebuilt as version $version.1 (a local edit must stay)"
up=$(mktemp -d)
git -C "$root" archive HEAD | tar -x -C "$up"
sed -i "s/^project(referral_router VERSION [0-9.]*/&.1/" "$up/CMakeLists.txt"
newdeb=$("$up/deploy/build-deb.sh" 2>>"$logs/build.log" | tail -n 1)
cp "$newdeb" "$dir/root/"
rm -rf "$up"
inside sh -c 'echo "# a local edit" >> /etc/referral-router/broker.env'
before=$(inside systemctl show -p MainPID --value referral-broker)
inside apt-get install -y -q "/root/$(basename "$newdeb")" >"$logs/upgrade.log" 2>&1 || fail "upgrade"
wait_for 30 inside curl -sf 127.0.0.1:8080/readyz || fail "not ready after the upgrade"
after=$(inside systemctl show -p MainPID --value referral-broker)
[ "$before" != "$after" ] || fail "the broker did not restart on the new binary"
inside curl -s 127.0.0.1:8080/metrics | grep "^referral_build_info" | tee -a "$logs/upgrade.log"
inside curl -s 127.0.0.1:8080/metrics | grep -q "^referral_build_info{version=\"$version.1\"" ||
    fail "the broker does not run the new version"
inside grep -q '# a local edit' /etc/referral-router/broker.env || fail "the upgrade lost a local edit"

echo "== removal stops everything; purge keeps the keys"
inside apt-get remove -y -q referral-router >/dev/null 2>&1
[ "$(inside systemctl list-units 'referral*' --no-legend --plain --state=active | wc -l)" = 0 ] ||
    fail "removing the package left units running"
inside apt-get purge -y -q referral-router >/dev/null 2>&1
inside test -f /etc/referral-router/broker.key || fail "purge deleted the operator's keys"
inside test ! -e /etc/referral-router/referral-router.ini || fail "purge kept the settings"
echo "package install: passed"
