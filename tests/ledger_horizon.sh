#!/usr/bin/env bash
# ledger_horizon.sh BIN_DIR - a service's ledger retires behind a real
# dtcd: three batches of 30 committed transactions with pauses between
# (the service retires what no slot holds once the decision log is
# durable past it; the next batch's compactions drop the retired entries
# from the state file).  The state file's ledger must then hold at most
# 60 of the 90 transactions, and with DTC_KEEP_LEDGER=1 (the control run)
# all 90.  Own instance, temp
# directory; kills only the processes it started.
set -euo pipefail
bin=${1:?usage: ledger_horizon.sh BIN_DIR}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dtc-ledger-horizon.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

# wait_for SECONDS FILE PATTERN: until FILE has a line matching PATTERN.
wait_for() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        grep -q "$3" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timeout waiting for '$3' in $2" >&2
    return 1
}

# run_case KEEP: the ledger count in the state file after the scenario.
run_case() {
    local keep=$1 inst="ledger-h-$$-$1" d="$dir/$1" i n
    mkdir -p "$d/dlog" "$d/state"
    "$bin/dtcd" --instance "$inst" --data-dir "$d/dlog" --dlog-file-mb 1 >"$d/dtcd.out" \
        2>"$d/dtcd.err" &
    pids+=($!)
    wait_for 10 "$d/dtcd.out" '^ready'
    if [[ $keep == keep ]]; then export DTC_KEEP_LEDGER=1; else unset DTC_KEEP_LEDGER; fi
    "$bin/dtc-inventory" --instance "$inst" --data-dir "$d/state" --compact-min 8 \
        --seed w=1000 >"$d/inv.out" 2>"$d/inv.err" &
    pids+=($!)
    unset DTC_KEEP_LEDGER
    wait_for 10 "$d/inv.out" '^ready'
    for ((i = 0; i < 90; i++)); do
        timeout 10 "$bin/dtcctl" --instance "$inst" run -p inventory="reserve w 1" \
            >"$d/run.out" || { cat "$d/run.out" >&2; return 1; }
        # retirement passes run every second: the first pause stamps the
        # entries, the next batch's forced COMMIT records make the log
        # durable past them, the second pause drops them
        ((i % 30 != 29)) || sleep 2.5
    done
    n=$("$bin/dtc-inventory" --dump --data-dir "$d/state" | awk '$1 == "ledger" { print $2 }')
    grep -q '^w 910 ' <("$bin/dtc-inventory" --dump --data-dir "$d/state") \
        || { echo "w is not 910 after 90 reservations" >&2; return 1; }
    echo "$n"
}

kept=$(run_case keep)
retired=$(run_case retire)
echo "ledger entries in the state file: DTC_KEEP_LEDGER=1 $kept, retiring $retired"
[[ $kept == 90 ]] || { echo "FAIL: the control run kept $kept, not 90" >&2; exit 1; }
((retired <= 60)) || { echo "FAIL: the ledger did not retire ($retired of 90 kept)" >&2; exit 1; }
echo "PASS"
