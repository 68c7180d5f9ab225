#!/bin/bash
# Installs the Debian 12 packages the project builds, runs and tests with.
# Installs only what is missing; needs root when something is.
#   deploy/install-deps.sh          build and run
#   deploy/install-deps.sh --test   also the test tools (cmocka, valgrind, prometheus, chromium, clang
#                                    and its libFuzzer runtime)
set -euo pipefail

packages=(build-essential cmake pkg-config libzmq3-dev libpq-dev protobuf-c-compiler
          libprotobuf-c-dev libevent-dev libjansson-dev uuid-dev uthash-dev libinih-dev
          libsystemd-dev libcurl4-openssl-dev postgresql postgresql-client curl acl)
if [ "${1:-}" = "--test" ]; then
    packages+=(libcmocka-dev valgrind prometheus chromium clang-14 libclang-rt-14-dev)
fi

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
