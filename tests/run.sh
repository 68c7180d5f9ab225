#!/bin/bash
# The test command: installs what the tests need, checks the format and
# runs clang-tidy, then builds and runs every test twice, in a normal build and in an AddressSanitizer+UBSan build (the
# alert rules' promtool tests among them), runs the spine, domain and
# authentication tests once more with the broker and workers under valgrind,
# builds and checks the Debian package (tests/package.sh), then fuzzes the
# wire decoders and the workers' validation for RR_FUZZ_SECONDS (60) each.
# Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

"$root/deploy/install-deps.sh" --test

build() { # dir port-base cmake-args...
    local dir=$1 port=$2
    shift 2
    cmake -S "$root" -B "$root/$dir" -DRR_BUILD_TESTS=ON -DRR_TEST_PORT_BASE="$port" "$@" >/dev/null
    cmake --build "$root/$dir" -j "$jobs" >/dev/null
}

echo "== normal build (RelWithDebInfo)"
build build/release 23100 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

echo "== style and static analysis: clang-format (.clang-format), clang-tidy (.clang-tidy)"
find broker workers common proto client tools tests \( -name '*.c' -o -name '*.h' \) -print0 |
    xargs -0 clang-format-14 --dry-run -Werror
# The production code and the tools; the tests stop at their first failed
# assertion, which is their error handling.
run-clang-tidy-14 -p build/release -j "$jobs" -quiet "^$root/(broker|workers|common|proto|client|tools)/" \
    >build/clang-tidy.log 2>&1 || {
    grep -E 'error:' build/clang-tidy.log | sort -u | head -n 40
    echo "clang-tidy found the problems above (all of them: build/clang-tidy.log)" >&2
    exit 1
}
echo "clang-format and clang-tidy: clean"
(cd build/release && ctest --output-on-failure --timeout 900)

echo "== sanitizer build (ASan + UBSan)"
build build/asan 23200 -DCMAKE_BUILD_TYPE=Debug -DRR_SANITIZE=ON
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --timeout 1800)

echo "== valgrind: broker and workers of the spine, domain and authentication tests"
(cd build/release && RR_IT_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect" \
    ctest --output-on-failure --timeout 900 -R 'fixture|integration.spine|integration.domain|integration.auth')
echo "== the Debian package: lintian, unpacked --version, systemd-analyze verify and security"
tests/package.sh

echo "== fuzzing: the decoders peers reach, and a worker's validation (clang libFuzzer)"
CC=clang-14 cmake -S "$root" -B "$root/build/fuzz" -DRR_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$root/build/fuzz" -j "$jobs" >/dev/null
fuzz_seconds=${RR_FUZZ_SECONDS:-60}
for target in wire validate text; do
    # Work on a copy: new inputs found here are not written into the repository.
    corpus=$(mktemp -d)
    cp "$root/tests/fuzz/corpus/$target/"* "$corpus/"
    (cd "$root/build/fuzz" && "tests/fuzz/fuzz_$target" -max_total_time="$fuzz_seconds" \
        -print_final_stats=1 -artifact_prefix="$root/build/fuzz/crash-$target-" "$corpus" \
        2>"$root/build/fuzz/fuzz_$target.log") || {
        tail -n 40 "$root/build/fuzz/fuzz_$target.log"
        echo "fuzz_$target found a crash: see build/fuzz/crash-$target-*" >&2
        exit 1
    }
    echo "fuzz_$target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$root/build/fuzz/fuzz_$target.log" | grep -o '[0-9]*$') inputs in ${fuzz_seconds} s, no crash"
    rm -rf "$corpus"
done
echo "all test runs passed"
