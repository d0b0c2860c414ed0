/*
 * pg.h - dtc-pg, the PostgreSQL participant: one dtc transaction's work in
 * a PostgreSQL database, made durable with PREPARE TRANSACTION.
 *
 * A payload "VERB ARG..." runs the statement configured for VERB
 * (--statement VERB=SQL, prepared once per connection, the ARGs bound as
 * $1..$n, never spliced into SQL; a statement with one parameter more
 * gets the dtc txid as its last) inside BEGIN on a connection of the
 * pool.  The enlist callback only sends the work (libpq's asynchronous
 * API), so the statements of many transactions run at once on their own
 * connections; the prepare callback collects the result, applies the row
 * rule (--rows VERB=N) and sends PREPARE TRANSACTION 'dtc:<txid>:<name>'.
 * COMMIT PREPARED goes onto any free connection, ROLLBACK PREPARED too.
 * A batch's PREPAREs and COMMIT PREPAREDs run concurrently: each callback
 * sends its command and answers provisionally, and the batch's flush
 * waits for them all and gives each its verdict before any answer is
 * published (pg_defer, dtc_participant_answer); so PostgreSQL syncs its
 * WAL once for many of them.  Only then is the connection free again.  Refusal reasons start with a
 * short code: "rows:", "constraint:", "serialization:", "locked:",
 * "error:", "usage:", "pool:", "connection:", "timeout:".
 *
 * Files: opts.c (command line), pool.c (connections and their state
 * machine), work.c (the four callbacks), memo.c (what is remembered of
 * past votes), recover.c (pg_prepared_xacts against dtc's outcomes),
 * main.c (registration and the serve loop).
 * svc.c is not reused: its loop, recovery and options are built around
 * the record store (store_prepared_ids, --data-dir, seeds, group fsync),
 * none of which a database that keeps its own prepared state has.
 */
#ifndef DTC_PARTICIPANTS_PG_H
#define DTC_PARTICIPANTS_PG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "dtc/dtc.h"

#define PG_POOL_MAX 64
#define PG_STMTS_MAX 32
#define PG_VERB_MAX 32
#define PG_ARGS_MAX 16
#define PG_GID_MAX 96 /* "dtc:" txid ":" name */
#define PG_CONNINFO_MAX 4096 /* --conninfo-file's contents */

typedef struct pg_stmt {
    char st_verb[PG_VERB_MAX];
    const char *st_sql;
    long st_rows;  /* row-count rule: exactly this many, -1: any */
    int st_nparams; /* from PQdescribePrepared on the first connection */
} pg_stmt;

typedef struct pg_opts {
    const char *instance;  /* NULL: $DTC_INSTANCE, else "default" */
    const char *name;
    const char *conninfo;  /* --conninfo, or conninfo_buf */
    char conninfo_buf[PG_CONNINFO_MAX]; /* --conninfo-file's contents */
    pg_stmt stmts[PG_STMTS_MAX];
    int nstmts;
    int pool;              /* connections, default 8 */
    int op_timeout_ms;     /* one statement or PREPARE, default 4000 */
    int retries;           /* reconnects per commit/rollback, default 4 */
} pg_opts;

/* What a connection is doing for whom.  FREE: nobody (the connection
 * may be down: c_pg NULL).  BEGIN, STMT: a transaction's enlist work is
 * running; HELD: it ran and passed, the transaction is open until its
 * PREPARE; FAILED: it was refused (c_vote, c_reason), the transaction
 * rolled back, kept until the prepare or rollback callback collects the
 * verdict.  PREPARE, FINISH, ROLLBACK: a callback waits for its command. */
typedef enum pg_cstate {
    PGC_FREE = 0,
    PGC_BEGIN,
    PGC_STMT,
    PGC_HELD,
    PGC_FAILED,
    PGC_PREPARE,
    PGC_FINISH,
    PGC_ROLLBACK
} pg_cstate;

typedef struct pg_conn {
    PGconn *c_pg;          /* NULL: not connected */
    pg_cstate c_state;
    int c_busy;            /* a command is in flight */
    dtc_txid c_txid;       /* owner while not FREE */
    const pg_stmt *c_stmt;
    char c_argbuf[DTC_PAYLOAD_MAX + 1]; /* the payload, split into c_args */
    char c_txidtxt[DTC_TXID_STRLEN];    /* the last argument, if wanted */
    const char *c_args[PG_ARGS_MAX + 1];
    int c_nargs;
    /* the last finished command */
    int c_ok;              /* 1: PGRES_COMMAND_OK / TUPLES_OK */
    char c_sqlstate[6];    /* "" if ok, "08006" when the connection broke */
    char c_tag[32];        /* command status, e.g. "UPDATE 1" */
    long c_rows;
    unsigned long long c_xid; /* PREPARE's pg_current_xact_id(), 0 if none */
    int c_locked;          /* its statement was cancelled waiting for a lock */
    char c_msg[DTC_REASON_MAX];
    /* the verdict of the enlist work (FAILED) */
    dtc_vote c_vote;
    char c_reason[DTC_REASON_MAX];
} pg_conn;

/* Which PostgreSQL transaction (xid) a prepared dtc transaction was: asked
 * when its gid is already gone (pg_xact_status).  The last PG_XIDS only,
 * in memory: after a restart the gid's fate is dtc's outcome. */
#define PG_XIDS 4096
typedef struct pg_xid {
    dtc_txid x_id;
    unsigned long long x_xid; /* 0: empty */
} pg_xid;

typedef struct pg_pool {
    pg_xid p_xids[PG_XIDS];
    unsigned p_xid_next;
    /* transactions this process voted no or error for without any
     * PREPARE reaching PostgreSQL: their rollback has nothing to do */
    dtc_txid p_unprepared[PG_XIDS];
    unsigned p_unprepared_next;
    pg_conn p_conns[PG_POOL_MAX + 1];
    int p_n;               /* --pool, plus the finisher at p_conns[p_n] */
    const pg_opts *p_o;
    int p_reconnected;     /* a connection came back: rescan prepared */
    int p_described;       /* st_nparams known */
    /* Settles the requests of the batch sent off so far (work.c), which
     * hold their connections until then; pg_pool_take calls it when no
     * connection is free.  1 if it settled any. */
    int (*p_settle)(void *ctx);
    void *p_settle_ctx;
} pg_pool;

/* opts.c: 0 ok, 1 help printed, -1 bad usage (message printed). */
int pg_parse_opts(pg_opts *o, int argc, char **argv);

/* pool.c */
void pg_pool_init(pg_pool *p, const pg_opts *o);
void pg_pool_close(pg_pool *p);
/* Connects c if it is down (statements prepared).  0, or -1 with why. */
int pg_conn_up(pg_pool *p, pg_conn *c, char *why, size_t len);
/* A FREE connection, connected, or NULL with why ("pool: ..." or
 * "connection: ...").  Transactions' enlist work takes one of the first
 * --pool connections; commit, rollback and recovery (finisher 1) may also
 * take the one extra connection kept for them, so that they never wait
 * for transactions that hold every other one until their PREPARE. */
pg_conn *pg_pool_take(pg_pool *p, int finisher, char *why, size_t len);
/* finisher take, waiting (driving the pool) until deadline for one. */
pg_conn *pg_pool_take_wait(pg_pool *p, int64_t deadline, char *why, size_t len);
/* One query on a FREE connection, waited for until deadline; the result
 * (PQclear it) or NULL with why; c is dropped if it broke or timed out. */
PGresult *pg_query(pg_conn *c, const char *sql, int64_t deadline, char *why, size_t len);
/* The connection holding txid's enlist work, or NULL. */
pg_conn *pg_pool_find(pg_pool *p, const dtc_txid *id);
/* Sends one command (sql, or statement st with args); 0 or -1 (then c is
 * down and c_msg says why). */
int pg_send(pg_pool *p, pg_conn *c, const char *sql);
int pg_send_stmt(pg_pool *p, pg_conn *c, const pg_stmt *st, const char *const args[],
                 int nargs);
/* Waits (driving every connection) until c's command finished or
 * deadline (CLOCK_MONOTONIC ns): then the connection is dropped and
 * c_msg says "timeout".  0 finished, -1 timed out. */
int pg_wait(pg_pool *p, pg_conn *c, int64_t deadline);
/* Drives the pool until c's command finished or until (ns) passed. */
void pg_pool_drive_until(pg_pool *p, const pg_conn *c, int64_t until);
/* One round of progress on every busy connection, waiting <= ms. */
void pg_pool_drive(pg_pool *p, int ms);
/* memo.c: remembers / finds the xid of a prepared transaction (0:
 * unknown), and the transactions refused before any PREPARE. */
void pg_xid_put(pg_pool *p, const dtc_txid *id, unsigned long long xid);
unsigned long long pg_xid_get(const pg_pool *p, const dtc_txid *id);
void pg_unprepared_put(pg_pool *p, const dtc_txid *id);
int pg_unprepared_has(const pg_pool *p, const dtc_txid *id);
/* 1 if c is connected and its server has not gone away (a closed
 * session shows as a readable socket). */
int pg_conn_alive(pg_conn *c);
/* Cancels c's statement, which waits for a lock: it votes no ("locked:"). */
void pg_conn_cancel_locked(pg_conn *c);
/* Drops c's connection (c_pg NULL). */
void pg_conn_drop(pg_conn *c);
void pg_release(pg_conn *c);
int64_t pg_now_ns(void);

/* A request of the batch being served whose command was sent in its
 * callback and runs while the batch's other requests are served: a
 * PREPARE TRANSACTION or a COMMIT PREPARED.  Its callback answered
 * provisionally (yes, done); its verdict is given when it is settled,
 * at the latest in the batch's flush, before any answer is published
 * (dtc_participant_answer).  So the PREPAREs and COMMIT PREPAREDs of a
 * batch wait for one WAL flush together, not one after another. */
typedef struct pg_defer {
    const dtc_request *d_rq;   /* the callback's: valid until flush returns */
    dtc_txid d_txid;
    pg_conn *d_conn;           /* running the command; NULL once collected */
    int d_commit;              /* 1 COMMIT PREPARED, 0 PREPARE TRANSACTION */
    int64_t d_deadline;
    /* collected: the verdict (prepare) or result (commit) */
    dtc_vote d_vote;           /* prepare */
    int d_rc;                  /* commit: 1 done, 0 gid gone, -1 failed */
    int d_retry;               /* commit: failed, a reconnect may help */
    char d_why[DTC_REASON_MAX];
} pg_defer;

/* work.c: the callbacks; ctx is a pg_ctx. */
typedef struct pg_ctx {
    pg_pool *x_pool;
    const pg_opts *x_o;
    dtc_instance *x_inst;
    dtc_participant *x_part;
    pg_defer x_defer[PG_POOL_MAX + 1]; /* each holds its own connection */
    int x_ndefer;
} pg_ctx;
/* Settles every request sent off (pg_pool.p_settle); 1 if there was any. */
int pg_settle_all(void *ctx);
extern const dtc_participant_ops pg_ops_template;
void pg_gid(const pg_opts *o, const dtc_txid *id, char gid[PG_GID_MAX]);
/* Runs sql (COMMIT/ROLLBACK PREPARED) on a free connection, retrying
 * with reconnects and backoff.  1 done, 0 gid does not exist, -1 failed
 * (why filled). */
int pg_finish_prepared(pg_ctx *x, const char *sql, char *why, size_t len);

/* recover.c: settles this participant's prepared transactions whose
 * outcome dtc has decided.  Returns how many are left (undecided or
 * unknown), -1 if PostgreSQL could not be asked.  quiet: log only what
 * it does, not what it keeps (the calls while a statement waits). */
int pg_recover(pg_ctx *x, int quiet);

#endif
