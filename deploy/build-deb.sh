#!/bin/bash
# Builds the Debian package referral-router_<version>_<arch>.deb from this
# tree into build/package (or the folder given), with Debian's own build
# flags (hardening included), and prints its path on the last line.
#   deploy/build-deb.sh [BUILD_DIR]
# Installs what it needs (deploy/install-deps.sh --package).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-$root/build/package}
"$root/deploy/install-deps.sh" --package >&2
# What a Debian package build would use: -O2, stack protector, fortify,
# relro and bindnow (dpkg-buildflags(1)).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS LDFLAGS
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DRR_BUILD_TESTS=OFF >&2
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >&2
rm -f "$build"/referral-router_*.deb
(cd "$build" && cpack -G DEB >&2)
ls "$build"/referral-router_*.deb
