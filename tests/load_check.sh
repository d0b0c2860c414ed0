#!/usr/bin/env bash
# load_check.sh DTC_LOAD - "dtc-load check" on hand-made runs: one
# committed order (T1) and, per case, one transaction T2 in a given state.
# Each case says which violation kinds the checker must print (none: it
# must pass).  Guards the checks the reboot stress test relies on.
set -euo pipefail
load=${1:?usage: load_check.sh PATH/TO/dtc-load}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dtc-load-check.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0

# begin TXID OID: a B line (client 0's payloads for order OID).
begin() {
    printf 'B\t%s\treserve sku0 1\tcharge acct0 100\tcreate %s acct0 100\tschedule %s z0\n' \
        "$1" "$2" "$2"
}

# at SVC VERB TXID OID: a state file line of service SVC.
at() {
    local p
    case $1 in
    inventory) p="reserve sku0 1" ;;
    payment) p="charge acct0 100" ;;
    order) p="create $4 acct0 100" ;;
    shipping) p="schedule $4 z0" ;;
    esac
    if [[ $2 == compensated || $2 == released ]]; then
        printf '%s %s\n' "$2" "$3"
    else
        printf '%s %s %s\n' "$2" "$3" "$p"
    fi
}

# setup: T1 committed everywhere; seeds; dumps for N orders applied.
setup() {
    rm -rf "${dir:?}"/case && mkdir -p "$dir/case"
    { begin T1 o1; printf 'E\tT1\tDTC_OK\t100\t-\t-\n'; } >"$dir/case/client0.txt"
    printf 'inventory sku0 100\npayment acct0 10000\nshipping z0 10\n' >"$dir/case/seeds"
    for s in inventory payment order shipping; do
        printf 'dtc-state 1 %s\ncheckpoint\n' "$s" >"$dir/case/$s.state"
        at "$s" applied T1 o1 >>"$dir/case/$s.state"
    done
    dumps 1
}

# dumps N [o2]: final records after N applied orders (o1, then o2).
dumps() {
    local n=$1
    printf 'sku0 %d 1\n' $((100 - n)) >"$dir/case/inventory.dump"
    printf 'acct0 %d 1\n' $((10000 - 100 * n)) >"$dir/case/payment.dump"
    printf 'order:o1 100 1 acct0\n' >"$dir/case/order.dump"
    printf 'zone:z0 %d 1\nship:o1 1 1 z0\n' $((10 - n)) >"$dir/case/shipping.dump"
    if ((n == 2)); then
        printf 'order:o2 100 1 acct0\n' >>"$dir/case/order.dump"
        printf 'ship:o2 1 1 z0\n' >>"$dir/case/shipping.dump"
    fi
}

# expect NAME KIND...: run the checker; exactly these kinds (none: pass).
expect() {
    local name=$1 out rc=0 want got
    shift
    out=$("$load" check --state-dir "$dir/case" --dump-dir "$dir/case" \
        --seeds "$dir/case/seeds" "$dir/case"/client*.txt) || rc=$?
    got=$({ grep -o '^VIOLATION [a-z-]*' <<<"$out" || true; } | cut -d' ' -f2 | sort -u | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' ')
    if [[ $got != "$want" ]] || (( ($# == 0) != (rc == 0) )); then
        printf 'FAIL %s: want [%s] got [%s] rc=%d\n%s\n' "$name" "$want" "$got" "$rc" "$out"
        fails=$((fails + 1))
    else
        printf 'ok   %s: [%s]\n' "$name" "$got"
    fi
}

# t2 RESULT|- SVC=VERB...: T2 told RESULT (-: client killed, no E line),
# with the given lines in the state files.
t2() {
    local told=$1 sv
    shift
    begin T2 o2 >>"$dir/case/client0.txt"
    [[ $told == - ]] || printf 'E\tT2\t%s\t100\t-\t-\n' "$told" >>"$dir/case/client0.txt"
    for sv in "$@"; do
        at "${sv%%=*}" "${sv#*=}" T2 o2 >>"$dir/case/${sv%%=*}.state"
    done
}

setup; expect "committed everywhere"
setup; t2 - inventory=prepared payment=prepared order=prepared shipping=prepared \
    inventory=applied payment=applied order=applied shipping=applied; dumps 2
expect "client killed, applied at all four"
setup; t2 - inventory=prepared payment=prepared inventory=released payment=released
expect "client killed, released everywhere"
setup; t2 - inventory=applied payment=prepared payment=released order=applied shipping=applied
expect "client killed, applied at 3 of 4 (reboot lost the decision)" atomicity conservation
setup; t2 DTC_OK inventory=applied order=applied shipping=applied
expect "told committed, absent at payment" atomicity lost-commit conservation
setup; t2 DTC_OK inventory=applied payment=applied payment=compensated order=applied \
    shipping=applied
expect "told committed, compensated at payment" atomicity lost-commit conservation
setup; t2 DTC_OK inventory=applied payment=applied payment=compensated order=applied \
    order=compensated inventory=compensated shipping=applied shipping=compensated
expect "told committed, compensated everywhere" lost-commit
setup; t2 - inventory=prepared payment=prepared order=prepared
expect "prepared at the end" in-doubt
setup; t2 DTC_EREFUSED inventory=applied payment=applied order=applied shipping=applied
dumps 2
expect "told aborted, applied" outcome
setup; t2 DTC_EHEURISTIC inventory=applied payment=applied order=applied shipping=applied
dumps 2
expect "told heuristic (a rollback failed), applied" outcome
setup; begin T1 o1 >"$dir/case/client1.txt"
expect "txid begun by two clients" ledger
((fails == 0)) || { echo "load_check: $fails case(s) failed"; exit 1; }
echo "load_check: all cases passed"
