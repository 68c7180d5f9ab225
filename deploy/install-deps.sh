#!/bin/bash
# Installs the Debian 12 packages the project builds, runs and tests with.
# Installs only what is missing; needs root when something is.
#   deploy/install-deps.sh          build and run
#   deploy/install-deps.sh --package also what deploy/build-deb.sh needs (dpkg-dev, help2man)
#   deploy/install-deps.sh --test   also the test tools (cmocka, valgrind, prometheus, chromium, clang
#                                    and its libFuzzer runtime, nginx and openssl for a reverse
#                                    proxy, lintian and systemd-analyze for the package,
#                                    pg_auto_failover, pgbackrest and iproute2 for the tests across
#                                    machines)
set -euo pipefail

packages=(build-essential cmake pkg-config libzmq3-dev libpq-dev protobuf-c-compiler
          libprotobuf-c-dev libevent-dev libjansson-dev uuid-dev uthash-dev libinih-dev
          libsystemd-dev libcurl4-openssl-dev libicu-dev postgresql postgresql-client curl acl
          postgresql-server-dev-15)
# postgresql-server-dev-15: the headers db/ext (referral.canonical_text) is
# built against. Debian makes it pull clang and LLVM (for PostgreSQL's JIT
# bitcode), about 450 MB once; no lighter package has the headers.
case "${1:-}" in
--test)
    # The package checks are part of the test command, so --test has --package's too.
    packages+=(libcmocka-dev valgrind prometheus chromium clang-14 libclang-rt-14-dev nginx-light
               openssl dpkg-dev fakeroot help2man lintian systemd clang-format-14 clang-tidy-14
               postgresql-15-auto-failover pg-auto-failover-cli pgbackrest iproute2)
    ;;
--package) packages+=(dpkg-dev fakeroot help2man) ;;
esac

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run as root or install them" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# The tests run nginx themselves, on loopback ports of their own: the
# distribution's nginx service, which installing it starts on port 80, is
# stopped and disabled again.
if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
    if [ -d /run/systemd/system ]; then
        systemctl disable --now nginx.service >/dev/null 2>&1 || true
    else
        service nginx stop >/dev/null 2>&1 || true
        update-rc.d nginx disable >/dev/null 2>&1 || true
    fi
    echo "(nginx installed for the tests' reverse proxy; its own service is stopped and disabled)"
fi
