#!/usr/bin/env bash
# test.sh - the test command: builds dtc and runs every test, twice.
#
#   bash scripts/test.sh [--long] [--no-asan]
#
# Installs missing build packages (see scripts/lib.sh), then:
#   1. build/       RelWithDebInfo, warnings are errors; ctest
#   2. build-asan/  the same with -DDTC_SANITIZE=ON (ASan + UBSan); ctest
# --long registers the long stress runs too (-DDTC_LONG_TESTS=ON);
# --no-asan skips pass 2.  Exits non-zero on the first failure.  Works
# from any directory; CI runs it as root with no terminal (.ci/run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

usage() {
    sed -n '4,11s/^# \{0,1\}//p' "$0"
}

long=OFF
asan=1
while (($# > 0)); do
    case $1 in
    --long) long=ON ;;
    --no-asan) asan=0 ;;
    -h | --help) usage; exit 0 ;;
    *) dtc_log "unknown option '$1' (try --help)"; exit 2 ;;
    esac
    shift
done

# run_pass DIR CMAKE-ARGS...: configure, build and test one build tree.
run_pass() {
    local dir=$1
    shift
    dtc_log "=== $dir: configure"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDTC_WERROR=ON -DDTC_CRASH_POINTS=ON \
        -DDTC_LONG_TESTS="$long" "$@"
    dtc_log "=== $dir: build"
    cmake --build "$dir" -j "$(nproc)"
    dtc_log "=== $dir: test"
    ctest --test-dir "$dir" -j2 --output-on-failure --timeout 300 \
        --no-tests=error
}

dtc_install_deps test
run_pass build -DDTC_SANITIZE=OFF
if ((asan)); then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_pass build-asan -DDTC_SANITIZE=ON
fi
dtc_log "all passes succeeded"
