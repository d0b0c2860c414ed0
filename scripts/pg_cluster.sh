# shellcheck shell=bash
# pg_cluster.sh - a throwaway PostgreSQL cluster for the scripts (sourced
# by demo-pg.sh and stress.sh --pg; the C tests use src/kit/pg_cluster.c).
#
#   pgc_start DIR   initdb into DIR/pg (DIR must exist, fresh), socket in
#                   DIR, port from our pid, no TCP, trust for user dtcpg,
#                   max_prepared_transactions 64; as user postgres when we
#                   are root (DIR is chowned to it); pg_ctl start -w
#   pgc_psql ARGS   psql on it (quiet, no psqlrc)
#   pgc_conninfo    its libpq connection string
#   pgc_stop        pg_ctl stop -m fast, then immediate; safe to repeat
PGC_DIR=""
PGC_BIN=""
PGC_PORT=""
PGC_AS=()

pgc_start() {
    PGC_DIR=$1
    PGC_BIN=$(pg_config --bindir 2>/dev/null || true)
    if [[ ! -x $PGC_BIN/initdb ]]; then
        PGC_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    if [[ ! -x $PGC_BIN/initdb ]]; then
        printf 'pg_cluster.sh: no PostgreSQL server binaries (initdb)\n' >&2
        return 1
    fi
    PGC_PORT=$((20000 + $$ % 20000))
    chmod 0755 "$PGC_DIR"
    if ((EUID == 0)); then
        chown postgres: "$PGC_DIR"
        PGC_AS=(runuser -u postgres --)
    fi
    "${PGC_AS[@]}" "$PGC_BIN/initdb" -D "$PGC_DIR/pg" -U dtcpg -A trust --no-locale \
        --no-sync >"$PGC_DIR/initdb.log" 2>&1 || {
        tail -n 5 "$PGC_DIR/initdb.log" >&2
        return 1
    }
    cat >>"$PGC_DIR/pg/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$PGC_DIR'
port = $PGC_PORT
max_prepared_transactions = 64
CONF
    "${PGC_AS[@]}" "$PGC_BIN/pg_ctl" -D "$PGC_DIR/pg" -l "$PGC_DIR/pg.log" -w -t 60 start \
        >/dev/null
}

pgc_psql() {
    "$PGC_BIN/psql" -X -q -h "$PGC_DIR" -p "$PGC_PORT" -U dtcpg -d postgres "$@"
}

pgc_conninfo() {
    printf 'host=%s port=%s user=dtcpg dbname=postgres' "$PGC_DIR" "$PGC_PORT"
}

pgc_stop() {
    [[ -n $PGC_DIR && -f $PGC_DIR/pg/postmaster.pid ]] || return 0
    "${PGC_AS[@]}" "$PGC_BIN/pg_ctl" -D "$PGC_DIR/pg" -w -t 30 stop -m fast >/dev/null 2>&1 \
        || "${PGC_AS[@]}" "$PGC_BIN/pg_ctl" -D "$PGC_DIR/pg" -w -t 10 stop -m immediate \
            >/dev/null 2>&1 || true
}
