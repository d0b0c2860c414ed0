#!/usr/bin/env bash
# stress_fail_fast.sh STRESS_SH BIN_DIR - stress.sh stops the run at once,
# and fails naming it, when a service it killed cannot be restarted,
# instead of running out its --seconds and a drain that can never finish
# (it took its whole ctest timeout before).  The first simulated reboot
# restarts every service; DTC_STRESS_BREAK_RESTART=order makes the order
# service's restart fail (stress.sh's test hook).
set -uo pipefail
stress=${1:?usage: stress_fail_fast.sh STRESS_SH BIN_DIR}
bin=${2:?usage: stress_fail_fast.sh STRESS_SH BIN_DIR}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dtc-stress-ff.XXXXXX")
trap 'rm -rf "$dir"' EXIT
out="$dir/out"
fail() {
    printf 'stress_fail_fast: %s; its output:\n' "$*"
    tail -n 40 "$out"
    exit 1
}

SECONDS=0
TMPDIR="$dir" DTC_STRESS_BREAK_RESTART=order timeout 120 bash "$stress" --reboot \
    --seconds 60 --clients 2 --bin-dir "$bin" >"$out" 2>&1
rc=$? elapsed=$SECONDS
((rc == 1)) || fail "stress.sh exited $rc, want 1 (a violation)"
((elapsed < 40)) || fail "it took ${elapsed} s: the run went on after the restart failed"
grep -q 'order did not get ready' "$out" || fail "the failed restart is not shown"
grep -q 'stopping the run' "$out" || fail "the run was not stopped"
grep -q 'VIOLATION reboot 1: not everything restarted' "$out" || fail "no violation named"
echo "stress_fail_fast: stress.sh failed after ${elapsed} s, naming the failed restart"
