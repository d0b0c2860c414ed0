#!/usr/bin/env bash
# demo-pg.sh - the demo's orders with the payment in PostgreSQL: a
# throwaway cluster (mktemp -d, its own socket directory and port, no TCP,
# run as the postgres user when we are root), dtcd, dtc-inventory,
# dtc-order, dtc-shipping, and dtc-pg under the name "payment" charging
# the table acct.  Prints the table before and after, and
# pg_prepared_xacts (empty at the end).
#
#   bash scripts/demo-pg.sh [--no-build]
#
# Orders: (1) commits; (2) out of stock (PostgreSQL unchanged); (3)
# payment declined: 0 rows (PostgreSQL votes no); (4) duplicate order id;
# (5) one transaction over all four file-backed services (the file-backed
# payment service runs as "wallet") and PostgreSQL: it commits at all five.
# Exit 0 when every order ended as expected and the balances are right.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/pg_cluster.sh
source scripts/pg_cluster.sh

BIN=$PWD/build/bin
BUILD=1
INSTANCE=demo-pg-$$
DATA=""
PIDS=()
FAILURES=0

cleanup() {
    local rc=$? k
    trap - EXIT INT TERM
    for ((k = ${#PIDS[@]} - 1; k >= 0; k--)); do
        kill -TERM "${PIDS[k]}" 2>/dev/null || true
        wait "${PIDS[k]}" 2>/dev/null || true
    done
    pgc_stop
    rm -f "/dev/shm/dtc.$INSTANCE"
    if [[ -n $DATA && $rc -eq 0 ]]; then
        rm -rf "$DATA"
    elif [[ -n $DATA ]]; then
        dtc_log "failed (status $rc); logs kept in $DATA"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for TIMEOUT_S WHAT CMD...: retries CMD every 0.1 s.
wait_for() {
    local limit=$(($1 * 10)) what=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    dtc_log "timed out waiting for $what"
    return 1
}

dtcctl() { "$BIN/dtcctl" --instance "$INSTANCE" "$@"; }
psql_() { pgc_psql "$@"; }

start_cluster() {
    # its own directory: as root it is chowned to postgres, which must
    # own nothing on the path of dtc's data directories (docs/security.md)
    chmod 0711 "$DATA" # postgres may pass through, list nothing
    mkdir "$DATA/cluster"
    pgc_start "$DATA/cluster"
    psql_ -c "CREATE TABLE acct (id text PRIMARY KEY, bal bigint NOT NULL CHECK (bal >= 0));
              INSERT INTO acct VALUES ('alice', 100000), ('bob', 500);"
    echo "PostgreSQL running: socket $PGC_DIR/.s.PGSQL.$PGC_PORT"
}

start() { # start NAME PROGRAM ARGS...
    local name=$1 prog=$2
    shift 2
    "$BIN/$prog" --instance "$INSTANCE" "$@" >"$DATA/$name.out" 2>"$DATA/$name.log" &
    PIDS+=($!)
}

start_all() {
    start dtcd dtcd --data-dir "$DATA/dlog"
    wait_for 10 "dtcd" dtcctl status
    start inventory dtc-inventory --data-dir "$DATA/svc" --seed sku-1=10 --seed sku-2=1
    start order dtc-order --data-dir "$DATA/svc"
    start shipping dtc-shipping --data-dir "$DATA/svc" --seed zone-a=10 --seed zone-b=10
    start wallet dtc-payment --name wallet --data-dir "$DATA/svc" --seed alice=5000
    # shellcheck disable=SC2016 # $1 and $2 are PostgreSQL's parameters
    start payment dtc-pg --name payment \
        --conninfo "$(pgc_conninfo)" \
        --statement 'charge=UPDATE acct SET bal = bal - $2::bigint WHERE id = $1 AND bal >= $2::bigint' \
        --rows charge=1
    wait_for 15 "the participants" bash -c "[[ \$('$BIN/dtcctl' --instance $INSTANCE participants | grep -c ' yes') -ge 5 ]]"
    dtcctl participants
}

order() { # order N TITLE EXPECT RUN-ARGS...
    local n=$1 title=$2 expect=$3 out got
    shift 3
    printf '\n== order %s: %s\n' "$n" "$title"
    out=$(dtcctl run "$@") || true
    printf '%s\n' "$out"
    got=$(tail -n 1 <<<"$out")
    if [[ ${got%% *} != "$expect" ]]; then
        printf '!! expected %s, got "%s"\n' "$expect" "$got"
        FAILURES=$((FAILURES + 1))
    fi
}

main() {
    [[ ${1:-} == --no-build ]] && BUILD=0
    [[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0; }
    if ((BUILD)); then
        dtc_install_deps pg
        cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
        cmake --build build -j "$(nproc)" >/dev/null
    else
        BIN=${DTC_BIN_DIR:-$BIN}
    fi
    DATA=$(mktemp -d "/tmp/dtc-demo-pg.XXXXXX")
    start_cluster
    start_all
    printf '\n== acct before\n'
    psql_ -c 'SELECT * FROM acct ORDER BY id'
    order 1 "alice buys 2 x sku-1 for 25.00" committed \
        -p "order=create o-1 alice 2500" -p "inventory=reserve sku-1 2" \
        -p "payment=charge alice 2500" -p "shipping=schedule o-1 zone-a"
    order 2 "bob wants 2 x sku-2, only 1 in stock" aborted \
        -p "order=create o-2 bob 300" -p "inventory=reserve sku-2 2" \
        -p "payment=charge bob 300" -p "shipping=schedule o-2 zone-b"
    order 3 "bob pays 999.00 with 5.00 in his account (0 rows: PostgreSQL votes no)" aborted \
        -p "order=create o-3 bob 99900" -p "inventory=reserve sku-1 1" \
        -p "payment=charge bob 99900" -p "shipping=schedule o-3 zone-b"
    order 4 "order id o-1 again" aborted \
        -p "order=create o-1 alice 1000" -p "inventory=reserve sku-1 1" \
        -p "payment=charge alice 1000" -p "shipping=schedule o-1 zone-a"
    order 5 "alice: one order at the four services and PostgreSQL" committed \
        -p "order=create o-5 alice 1000" -p "inventory=reserve sku-1 1" \
        -p "wallet=charge alice 1000" -p "shipping=schedule o-5 zone-a" \
        -p "payment=charge alice 1000"
    printf '\n== acct after (alice 96500, bob 500)\n'
    psql_ -c 'SELECT * FROM acct ORDER BY id'
    [[ $(psql_ -At -c "SELECT bal FROM acct WHERE id = 'alice'") == 96500 ]] \
        || FAILURES=$((FAILURES + 1))
    [[ $(psql_ -At -c "SELECT bal FROM acct WHERE id = 'bob'") == 500 ]] \
        || FAILURES=$((FAILURES + 1))
    printf '\n== pg_prepared_xacts (nothing in doubt)\n'
    psql_ -c 'SELECT gid, prepared FROM pg_prepared_xacts'
    [[ $(psql_ -At -c 'SELECT count(*) FROM pg_prepared_xacts') == 0 ]] \
        || FAILURES=$((FAILURES + 1))
    printf '\n== what dtc-pg logged\n'
    grep -E 'event=(vote|commit|rollback)' "$DATA/payment.log" | cut -c1-200 || true
    if ((FAILURES > 0)); then
        dtc_log "$FAILURES check(s) failed"
        exit 1
    fi
    printf '\ndemo-pg finished: every order ended as expected\n'
}

main "$@"
