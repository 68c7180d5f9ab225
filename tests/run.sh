#!/bin/bash
# The test command: installs what the tests need, then builds and runs every
# test twice, in a normal build and in an AddressSanitizer+UBSan build, and
# runs the spine and domain integration tests once more with the broker and workers
# under valgrind. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

"$root/deploy/install-deps.sh" --test

build() { # dir port-base cmake-args...
    local dir=$1 port=$2
    shift 2
    cmake -S "$root" -B "$root/$dir" -DRR_TEST_PORT_BASE="$port" "$@" >/dev/null
    cmake --build "$root/$dir" -j "$jobs" >/dev/null
}

echo "== normal build (RelWithDebInfo)"
build build/release 23100 -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build/release && ctest --output-on-failure --timeout 900)

echo "== sanitizer build (ASan + UBSan)"
build build/asan 23200 -DCMAKE_BUILD_TYPE=Debug -DRR_SANITIZE=ON
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --timeout 1800)

echo "== valgrind: broker and workers of the spine and domain tests"
(cd build/release && RR_IT_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect" \
    ctest --output-on-failure --timeout 900 -R 'fixture|integration.spine|integration.domain')
echo "all test runs passed"
