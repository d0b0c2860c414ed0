# shellcheck shell=bash disable=SC2154 # bin_dir, instance, state: stress.sh's
# stress_pg.sh - stress.sh --pg (sourced by it): the payment service is
# played by dtc-pg, named "payment", on a throwaway cluster
# (pg_cluster.sh).  Table acct holds the payment seeds; the statement
# charges an account and writes ledger(txid, payload) keyed by the dtc
# txid (its extra last parameter), with --rows charge=1, so a decline is a
# no vote as at the service.  For the checker, spg_export writes what
# dtc-payment --dump and its state file would say: payment.dump from acct,
# payment.state "applied TXID PAYLOAD" from the ledger and "prepared TXID"
# for every gid still in pg_prepared_xacts.
#
# Uses stress.sh's globals: bin_dir, instance, data, state, pid, starts,
# NACCT; seed_args payment.
SPG_DIR=""

# spg_start: the cluster and its tables; 0 or 1.
spg_start() {
    SPG_DIR=$(mktemp -d "/tmp/dtc-stress-pg.XXXXXX")
    pgc_start "$SPG_DIR" || return 1
    local values="" key v
    while read -r key v; do
        values+="${values:+,}('$key', $v)"
    done < <(seed_args payment | paste - - | cut -f2 | tr '=' ' ')
    pgc_psql -c "CREATE TABLE acct (id text PRIMARY KEY, bal bigint NOT NULL);
                 CREATE TABLE ledger (txid text PRIMARY KEY, payload text NOT NULL);
                 INSERT INTO acct VALUES $values;"
}

# spg_start_payment OUT ERR: dtc-pg as "payment" in the background (its
# pid in DTC_PID, as dtc_start leaves it).
spg_start_payment() {
    # shellcheck disable=SC2016 # $1..$3 are PostgreSQL's parameters
    dtc_start "$1" "$2" \
        "$bin_dir/dtc-pg" --instance "$instance" --name payment --conninfo "$(pgc_conninfo)" \
        --statement 'charge=WITH d AS (UPDATE acct SET bal = bal - $2::bigint WHERE id = $1 AND bal >= $2::bigint RETURNING id) INSERT INTO ledger SELECT $3, $$charge $$ || $1 || $$ $$ || $2 FROM d' \
        --rows charge=1
}

# spg_in_doubt: gids of payment still prepared in PostgreSQL.
spg_in_doubt() {
    pgc_psql -At -c "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'dtc:%:payment'" \
        2>/dev/null || echo "?"
}

# spg_export: payment.dump and payment.state in $state, for the checker.
spg_export() {
    pgc_psql -At -F ' ' -c "SELECT id, bal, 1 FROM acct ORDER BY id" >"$state/payment.dump" \
        && pgc_psql -At -F ' ' -c "SELECT 'applied', txid, payload FROM ledger
            UNION ALL SELECT 'prepared', split_part(gid, ':', 2), ''
            FROM pg_prepared_xacts WHERE gid LIKE 'dtc:%:payment'" >"$state/payment.state"
}

spg_stop() {
    pgc_stop
    [[ -n $SPG_DIR ]] && rm -rf "$SPG_DIR"
    SPG_DIR=""
}
