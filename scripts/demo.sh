#!/usr/bin/env bash
# demo.sh - the first command to run: builds dtc, starts a supervisor and
# four participant services on a fresh instance, runs orders that show
# each path of two-phase commit, prints the final state and shuts down.
#
#   bash scripts/demo.sh [--no-build]
#
# --no-build skips the install and build steps (then the programs come
# from $DTC_BIN_DIR, default build/bin).
# Orders: (1) commits; (2) out of stock; (3) payment declined; (4)
# duplicate order id; (5) a slow shipping service times the prepare out.
# Everything runs on instance demo-PID with state in a mktemp -d
# directory; a trap stops every process the demo started and checks
# that the segment /dev/shm/dtc.INSTANCE is gone.  Exit 0 when every
# order ended as expected and the shutdown was clean.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

BIN=$PWD/build/bin
BUILD=1
INSTANCE=demo-$$
SEGMENT=/dev/shm/dtc.$INSTANCE
DATA=""
DTCD_PID=""
PART_PIDS=()  # participant pids, in start order
PART_NAMES=() # their names, same order
FAILURES=0
DUMP_OUT=""

# ---- process helpers -------------------------------------------------------

# stop PID NAME TIMEOUT_S: SIGTERM, wait up to TIMEOUT_S, then SIGKILL
# (dtc_stop).  Reaps the child; returns 0 if it exited on its own with
# status 0.
stop() {
    local rc=0
    dtc_stop "$1" "$3" || rc=$?
    if ((DTC_STOP_KILLED)); then
        dtc_log "$2 (pid $1) ignored SIGTERM for $3 s: SIGKILL"
    fi
    if ((rc != 0)); then
        dtc_log "$2 (pid $1) stopped with status $rc"
    fi
    return "$rc"
}

# Stops the participants (last started first), then dtcd.  Idempotent.
stop_all() {
    local k ok=0
    for ((k = ${#PART_PIDS[@]} - 1; k >= 0; k--)); do
        stop "${PART_PIDS[k]}" "${PART_NAMES[k]}" 5 || ok=1
    done
    PART_PIDS=()
    PART_NAMES=()
    if [[ -n $DTCD_PID ]]; then
        stop "$DTCD_PID" dtcd 10 || ok=1
        DTCD_PID=""
    fi
    return "$ok"
}

cleanup() {
    local rc=$?
    if [[ $BASHPID != "$$" ]]; then
        exit "$rc" # a subshell that caught the signal: the main shell cleans
    fi
    trap - EXIT INT TERM
    stop_all || true
    if [[ -e $SEGMENT ]]; then
        dtc_log "removing the leftover segment $SEGMENT"
        rm -f "$SEGMENT"
        rc=1
    fi
    if [[ -n $DATA && $rc -eq 0 ]]; then
        rm -rf "$DATA"
    elif [[ -n $DATA ]]; then
        dtc_log "failed (status $rc); logs and state kept in $DATA"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for TIMEOUT_S WHAT CMD...: retries CMD until it succeeds, while
# dtcd runs (dtc_wait_ready).
wait_for() {
    local limit=$1 what=$2 rc=0
    shift 2
    dtc_wait_ready "$limit" "$DTCD_PID" "$@" || rc=$?
    if ((rc == 2)); then
        dtc_log "dtcd exited while waiting for $what; its output:"
        cat "$DATA/dtcd.out" "$DATA/dtcd.log" >&2 2>/dev/null || true
    elif ((rc != 0)); then
        dtc_log "timed out after $((limit * 1000)) ms waiting for $what"
    fi
    return "$((rc != 0))"
}

dtcctl() {
    "$BIN/dtcctl" --instance "$INSTANCE" "$@"
}

# ---- the steps --------------------------------------------------------------

build() {
    dtc_install_deps build
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build build -j "$(nproc)"
}

start_dtcd() {
    dtc_start "$DATA/dtcd.out" "" \
        "$BIN/dtcd" --instance "$INSTANCE" --data-dir "$DATA/dlog" --log-file "$DATA/dtcd.log"
    DTCD_PID=$DTC_PID
    wait_for 10 "dtcd to create the segment" dtcctl status
    echo "dtcd running: pid $DTCD_PID, $(head -n 1 "$DATA/dtcd.out")"
}

# start_part NAME DATA_DIR PROGRAM ARGS...: starts one participant service.
start_part() {
    local name=$1 dir=$2 prog=$3
    shift 3
    mkdir -p "$dir"
    dtc_start "$DATA/$name.out" "" "$BIN/$prog" --instance "$INSTANCE" --data-dir "$dir" "$@"
    PART_PIDS+=("$DTC_PID")
    PART_NAMES+=("$name")
}

# all_registered: dtcctl participants lists every started name as alive.
all_registered() {
    local list name
    list=$(dtcctl participants) || return 1
    for name in "${PART_NAMES[@]}"; do
        awk -v n="$name" '$1 == n && $4 == "yes" { f = 1 } END { exit !f }' \
            <<<"$list" || return 1
    done
}

start_participants() {
    start_part inventory "$DATA" dtc-inventory --seed sku-1=10 --seed sku-2=1
    start_part payment "$DATA" dtc-payment --seed alice=100000 --seed bob=500
    start_part order "$DATA" dtc-order
    start_part shipping "$DATA" dtc-shipping --seed zone-a=10 --seed zone-b=10 \
        --delay-prepare-ms 0
    # A second shipping service, 3 s slow to prepare, under its own name
    # and with its own state directory.
    start_part shipping-slow "$DATA/slow" dtc-shipping --name shipping-slow \
        --seed zone-a=10 --delay-prepare-ms 3000
    wait_for 15 "all participants to register" all_registered
    dtcctl participants
}

# order N TITLE EXPECT DTCCTL-RUN-ARGS...: runs one order, prints its
# outcome and checks that it is EXPECT (committed or aborted).
order() {
    local n=$1 title=$2 expect=$3 out rc=0 got arg
    shift 3
    printf '\n== order %s: %s\n$ dtcctl run' "$n" "$title"
    for arg in "$@"; do
        if [[ $arg == *' '* ]]; then
            printf " '%s'" "$arg"
        else
            printf ' %s' "$arg"
        fi
    done
    printf '\n'
    out=$(dtcctl run "$@") || rc=$?
    printf '%s\n' "$out"
    [[ $n == 1 ]] && FIRST_TXID=$(awk '$1 == "txid" { print $2 }' <<<"$out")
    got=$(tail -n 1 <<<"$out")
    if [[ ${got%% *} != "$expect" ]]; then
        printf '!! expected %s, got "%s" (exit %s)\n' "$expect" "$got" "$rc"
        FAILURES=$((FAILURES + 1))
    fi
}

run_orders() {
    order 1 "alice buys 2 x sku-1 for 25.00, ships to zone-a" committed \
        -p "order=create o-1 alice 2500" -p "inventory=reserve sku-1 2" \
        -p "payment=charge alice 2500" -p "shipping=schedule o-1 zone-a"
    order 2 "bob wants 2 x sku-2, only 1 in stock" aborted \
        -p "order=create o-2 bob 300" -p "inventory=reserve sku-2 2" \
        -p "payment=charge bob 300" -p "shipping=schedule o-2 zone-b"
    order 3 "bob pays 999.00 with 5.00 in his account" aborted \
        -p "order=create o-3 bob 99900" -p "inventory=reserve sku-1 1" \
        -p "payment=charge bob 99900" -p "shipping=schedule o-3 zone-b"
    order 4 "order id o-1 again" aborted \
        -p "order=create o-1 alice 1000" -p "inventory=reserve sku-1 1" \
        -p "payment=charge alice 1000" -p "shipping=schedule o-1 zone-a"
    order 5 "shipping-slow needs 3 s to prepare; the deadline is 500 ms" \
        aborted --prepare-timeout-ms 500 \
        -p "order=create o-5 alice 1000" -p "inventory=reserve sku-1 1" \
        -p "payment=charge alice 1000" -p "shipping-slow=schedule o-5 zone-a"
}

# expect DUMP KEY VALUE: the dump (lines "KEY VALUE VERSION [NOTE]") has
# KEY with VALUE, or KEY is absent when VALUE is "-".
expect() {
    local got
    got=$(awk -v k="$2" '$1 == k { print $2 }' <<<"$1")
    if [[ ${got:--} != "$3" ]]; then
        printf '!! %s: expected %s, found %s\n' "$2" "$3" "${got:-nothing}"
        FAILURES=$((FAILURES + 1))
    fi
}

# dump NAME PROGRAM DIR: prints a service's records into DUMP_OUT too.
dump() {
    printf -- '-- %s\n' "$1"
    DUMP_OUT=$("$BIN/$2" --dump --data-dir "$3" --name "$1") || {
        FAILURES=$((FAILURES + 1))
        DUMP_OUT=""
    }
    printf '%s\n' "$DUMP_OUT"
}

print_state() {
    printf '\n== final state (only order 1 took effect: sku-1 8 of 10, sku-2 1,'
    printf ' alice 97500 cents, bob 500, one order o-1 shipped to zone-a)\n'
    dump inventory dtc-inventory "$DATA"
    expect "$DUMP_OUT" sku-1 8
    expect "$DUMP_OUT" sku-2 1
    dump payment dtc-payment "$DATA"
    expect "$DUMP_OUT" alice 97500
    expect "$DUMP_OUT" bob 500
    dump order dtc-order "$DATA"
    expect "$DUMP_OUT" order:o-1 2500
    expect "$DUMP_OUT" order:o-5 -
    dump shipping dtc-shipping "$DATA"
    expect "$DUMP_OUT" zone:zone-a 9
    expect "$DUMP_OUT" zone:zone-b 10
    dump shipping-slow dtc-shipping "$DATA/slow"
    expect "$DUMP_OUT" zone:zone-a 10
    printf '\n== dtcctl show %s (order 1, its slot long gone: from the decision log)\n' \
        "$FIRST_TXID"
    local shown
    shown=$(dtcctl show "$FIRST_TXID") || FAILURES=$((FAILURES + 1))
    printf '%s\n' "$shown"
    if ! grep -q '^outcome:  committed' <<<"$shown"; then
        printf '!! order 1: dtcctl show does not say committed\n'
        FAILURES=$((FAILURES + 1))
    fi
    printf '\n== dtcctl status\n'
    dtcctl status
}

shutdown_check() {
    local pids=("${PART_PIDS[@]}" "$DTCD_PID") pid
    printf '\n== shutting down\n'
    stop_all || FAILURES=$((FAILURES + 1))
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            dtc_log "process $pid is still running"
            FAILURES=$((FAILURES + 1))
        fi
    done
    if [[ -e $SEGMENT ]]; then
        dtc_log "dtcd left its segment $SEGMENT behind"
        FAILURES=$((FAILURES + 1))
    else
        echo "all processes stopped; $SEGMENT removed"
    fi
}

main() {
    while (($# > 0)); do
        case $1 in
        --no-build) BUILD=0 ;;
        -h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) dtc_log "unknown option '$1' (try --help)"; exit 2 ;;
        esac
        shift
    done
    if ((BUILD)); then
        build
    else
        BIN=${DTC_BIN_DIR:-$BIN}
    fi
    DATA=$(mktemp -d "${TMPDIR:-/tmp}/dtc-demo.XXXXXX")
    printf '\n== instance %s, data in %s\n' "$INSTANCE" "$DATA"
    start_dtcd
    start_participants
    run_orders
    print_state
    shutdown_check
    if ((FAILURES > 0)); then
        dtc_log "$FAILURES check(s) failed"
        exit 1
    fi
    printf '\ndemo finished: every order ended as expected\n'
}

main "$@"
