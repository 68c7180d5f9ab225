#!/bin/bash
# The Debian package, checked as a distribution would: builds it
# (deploy/build-deb.sh), runs lintian (no error allowed), unpacks it into a
# temporary root and runs each binary's --version from there, checks where
# its files are and what it depends on, runs `systemd-analyze verify` on its
# units (in a root holding systemd's own units and the package's files) and
# `systemd-analyze security --offline` on each service (exposure at most 2.0).
# Part of tests/run.sh; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fail() { echo "package check FAILED: $*" >&2; exit 1; }

version=$(sed -n 's/^project(referral_router VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || fail "no project version in CMakeLists.txt"
deb=$("$root/deploy/build-deb.sh" "$root/build/package" 2>"$root/build/package-build.log" | tail -n 1) ||
    { tail -n 30 "$root/build/package-build.log"; fail "deploy/build-deb.sh"; }
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "referral-router_${version}_${arch}.deb" ] || fail "package name $deb"
echo "built $deb"

echo "== lintian"
# Warnings are printed; an error fails the check.
lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1 | grep -v '^running with root' || true
lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian reports errors"

echo "== control fields"
control=$(dpkg-deb -f "$deb")
for dep in systemd libzmq5 libpq5 libprotobuf-c1 libevent-2.1-7 libsystemd0 libcurl4; do
    grep -q "^Depends:.*\b$dep\b" <<<"$control" || fail "Depends lacks $dep"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)
for f in referral-router.ini broker.env worker.env; do
    grep -qx "/etc/referral-router/$f" <<<"$conffiles" || fail "$f is not a conffile"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== unpacked into $tmp"
# systemd's own units first, so that verify finds the targets ours name.
mkdir -p "$tmp/lib/systemd"
cp -a /lib/systemd/system "$tmp/lib/systemd/"
dpkg-deb -x "$deb" "$tmp"
for f in usr/bin/referral-broker usr/bin/referral-worker usr/bin/referralctl \
    usr/share/referral-router/migrations/0001_core.sql \
    usr/share/referral-router/migrations/0009_canonical_identities.sql \
    usr/lib/postgresql/15/lib/referral_text.so \
    usr/share/referral-router/seed/iran_counties.csv usr/share/referral-router/seed/010_geography.sql \
    etc/referral-router/referral-router.ini lib/systemd/system/referral-broker.service \
    lib/systemd/system/referral-worker@.service lib/systemd/system/referral-router.target \
    usr/lib/sysusers.d/referral-router.conf usr/lib/tmpfiles.d/referral-router.conf \
    usr/share/doc/referral-router/copyright usr/share/doc/referral-router/changelog.gz \
    usr/share/man/man1/referral-broker.1.gz; do
    [ -e "$tmp/$f" ] || fail "missing /$f"
done
if ls "$tmp"/usr/share/referral-router/seed/*demo* >/dev/null 2>&1; then
    fail "the package carries the quickstart's demo centers"
fi
grep -q '^u referral ' "$tmp/usr/lib/sysusers.d/referral-router.conf" || fail "no referral user"

echo "== --version from the unpacked package"
for bin in referral-broker referral-worker referralctl; do
    out=$("$tmp/usr/bin/$bin" --version)
    echo "   $out"
    [[ "$out" == "$bin $version"* ]] || fail "$bin --version printed \"$out\""
done
"$tmp/usr/bin/referralctl" migrate --help | grep -q 'default "/usr/share/referral-router"' ||
    fail "referralctl migrate does not default to /usr/share/referral-router"

echo "== systemd-analyze verify"
units=$tmp/lib/systemd/system
ln -s referral-worker@.service "$units/referral-worker@social-1.service"
(cd "$tmp" && systemd-analyze verify --root="$tmp" lib/systemd/system/referral-broker.service \
    lib/systemd/system/referral-worker@social-1.service lib/systemd/system/referral-router.target) ||
    fail "systemd-analyze verify"
# The check itself works: a unit naming a missing binary is refused.
sed 's|/usr/bin/referral-broker|/usr/bin/referral-missing|' "$units/referral-broker.service" \
    >"$units/referral-check.service"
if (cd "$tmp" && systemd-analyze verify --root="$tmp" lib/systemd/system/referral-check.service) \
    >/dev/null 2>&1; then
    fail "systemd-analyze verify accepted a unit whose binary is missing"
fi
rm "$units/referral-check.service"

echo "== systemd-analyze security --offline (at most 2.0)"
for unit in referral-broker.service referral-worker@social-1.service; do
    (cd "$tmp" && systemd-analyze security --offline=true --root="$tmp" --threshold=20 \
        "lib/systemd/system/$unit" | tail -n 1) || fail "$unit is exposed above 2.0"
done
grep -q '^Type=notify' "$units/referral-broker.service" || fail "broker unit is not Type=notify"
grep -q '^RestartPreventExitStatus=2' "$units/referral-worker@.service" ||
    fail "worker unit restarts on usage errors"
echo "package checks passed"
