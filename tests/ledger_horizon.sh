#!/usr/bin/env bash
# ledger_horizon.sh BIN_DIR - a service's ledger retires behind a real
# dtcd: 30 committed transactions, a pause (a retirement pass stamps them:
# no slot holds them), 30 more (their forced COMMIT records make the
# decision log durable past the stamps), a pause (the first 30 go), then
# 70 more: 140 log lines, more than any snapshot so far, so a compaction
# leaves the first 30 out of the state file.  Its ledger must then hold
# at most 100 of the 130 transactions, and with DTC_KEEP_LEDGER=1 (the
# control run) all 130.  Own instance, temp directory; kills only the
# processes it started.
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
    for ((i = 0; i < 130; i++)); do
        timeout 10 "$bin/dtcctl" --instance "$inst" run -p inventory="reserve w 1" \
            >"$d/run.out" || { cat "$d/run.out" >&2; return 1; }
        # retirement passes run every second: the first pause stamps the
        # first 30 entries, the next 30 transactions' forced COMMIT records
        # make the log durable past them, so the second pause drops them
        ((i != 29 && i != 59)) || sleep 2.5
    done
    n=$("$bin/dtc-inventory" --dump --data-dir "$d/state" | awk '$1 == "ledger" { print $2 }')
    grep -q '^w 870 ' <("$bin/dtc-inventory" --dump --data-dir "$d/state") \
        || { echo "w is not 870 after 130 reservations" >&2; return 1; }
    echo "$n"
}

# Not $(run_case ...): a subshell would keep the pids it starts from
# cleanup, which must stop them before it removes their directories.
run_case keep >"$dir/keep.n"
run_case retire >"$dir/retire.n"
kept=$(cat "$dir/keep.n")
retired=$(cat "$dir/retire.n")
echo "ledger entries in the state file: DTC_KEEP_LEDGER=1 $kept, retiring $retired"
[[ $kept == 130 ]] || { echo "FAIL: the control run kept $kept, not 130" >&2; exit 1; }
((retired <= 100)) || { echo "FAIL: the ledger did not retire ($retired of 130 kept)" >&2; exit 1; }
echo "PASS"
