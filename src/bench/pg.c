/*
 * pg.c - the PostgreSQL peer of the benchmark (modes pg and pg-nofsync):
 * the same two-phase commit done by PostgreSQL 15 itself, over
 * BENCH_PG_DBS databases of one cluster (one WAL), as docs/performance.md
 * reports it.  Each database holds acct(id int primary key, bal bigint)
 * with one row per client thread, so transactions never conflict.
 *
 * Client thread t has one libpq connection per database.  A transaction:
 * BEGIN on each, UPDATE acct SET bal = bal + 1 WHERE id = t on each (a
 * prepared statement, t as its parameter), PREPARE TRANSACTION on each,
 * then COMMIT PREPARED on each.  Each step is sent to the three
 * connections before any answer is read, so the databases work on it at
 * once, as a coordinator that prepares its participants in parallel
 * would.  Global ids are "dtcb-<epoch>-<thread>-<seq>-<db>", made of our
 * own integers only (PREPARE TRANSACTION takes no parameters); no other
 * text is ever put into SQL.  Every wait polls the socket with a
 * deadline; a connection that times out or breaks is not used again.
 * A failure before every database prepared rolls the others back.
 *
 * Built without libpq (CMake found none), the pg modes only report that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef DTC_BENCH_HAVE_LIBPQ

int bench_pg_open(int max_coords, struct bench_pg **out, char *why, size_t whysize)
{
    (void)max_coords;
    *out = NULL;
    snprintf(why, whysize, "built without libpq");
    return -1;
}

int bench_pg_mode(struct bench_pg *p, int mode, char *why, size_t whysize)
{
    (void)p;
    (void)mode;
    snprintf(why, whysize, "built without libpq");
    return -1;
}

void bench_pg_target(struct bench_pg *p, struct bench_target *t)
{
    (void)p;
    memset(t, 0, sizeof *t);
}

void bench_pg_close(struct bench_pg **p)
{
    *p = NULL;
}

#else /* DTC_BENCH_HAVE_LIBPQ */

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#define WAIT_NS 30000000000LL /* one step of one transaction, at most */
#define UPDATE_SQL "UPDATE acct SET bal = bal + 1 WHERE id = $1"

enum pg_err { PGE_BEGIN = 1, PGE_UPDATE, PGE_PREPARE, PGE_COMMIT, PGE_BROKEN };

struct pg_client {
    PGconn *conn[BENCH_PG_DBS];
    int broken;            /* a wait timed out or a rollback failed */
};

struct bench_pg {
    struct bench_pgc cluster;
    int max_coords, created;
    unsigned epoch;        /* per cell: global ids stay unique */
    struct pg_client *clients; /* max_coords of them while started */
    pid_t *pids;           /* postmaster and its children, for CPU */
    int npids;
    atomic_int said;       /* first failure's message printed */
};

static const char *pg_err_name(int code)
{
    switch (code) {
    case PGE_BEGIN: return "pg BEGIN failed";
    case PGE_UPDATE: return "pg UPDATE failed";
    case PGE_PREPARE: return "pg PREPARE TRANSACTION failed";
    case PGE_COMMIT: return "pg COMMIT PREPARED failed";
    case PGE_BROKEN: return "pg connection unusable";
    default: return "pg ?";
    }
}

/* Until c has a whole result to read, or the deadline.  0 or -1. */
static int wait_ready(PGconn *c, int64_t deadline)
{
    while (PQisBusy(c)) {
        int64_t left = (deadline - bench_now_ns()) / 1000000;
        struct pollfd p = {PQsocket(c), POLLIN, 0};
        if (left <= 0 || p.fd < 0)
            return -1;
        int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0 && !PQconsumeInput(c))
            return -1;
    }
    return 0;
}

/* Reads every result of the command sent on c.  0 when it ended in
 * status want (and, with one_row, changed exactly one row); -1 if it
 * failed; -2 if the connection cannot be trusted any more. */
static int finish(PGconn *c, int64_t deadline, ExecStatusType want, int one_row)
{
    int rc = -1;
    for (;;) {
        if (wait_ready(c, deadline) != 0)
            return -2;
        PGresult *r = PQgetResult(c);
        if (r == NULL)
            break;
        rc = PQresultStatus(r) == want && (!one_row || strcmp(PQcmdTuples(r), "1") == 0) ? 0 : -1;
        PQclear(r);
    }
    return PQstatus(c) == CONNECTION_OK ? rc : -2;
}

static void say_once(struct bench_pg *p, PGconn *c, const char *what)
{
    int no = 0;
    if (atomic_compare_exchange_strong(&p->said, &no, 1))
        fprintf(stderr, "dtc-bench: pg: %s: %s", what, PQerrorMessage(c));
}

/* One step on every connection: send all, then read all.  Sets ok[k]. */
static void step(struct bench_pg *p, struct pg_client *cl, const char *const sql[],
                 const char *param, ExecStatusType want, int ok[])
{
    int64_t deadline = bench_now_ns() + WAIT_NS;
    int sent[BENCH_PG_DBS];
    for (int k = 0; k < BENCH_PG_DBS; k++) {
        const char *params[1] = {param};
        sent[k] = param != NULL ? PQsendQueryPrepared(cl->conn[k], "upd", 1, params, NULL, NULL, 0)
                                : PQsendQuery(cl->conn[k], sql[k]);
    }
    for (int k = 0; k < BENCH_PG_DBS; k++) {
        int rc = sent[k] ? finish(cl->conn[k], deadline, want, param != NULL) : -2;
        ok[k] = rc == 0;
        if (rc == -2)
            cl->broken = 1;
        if (rc != 0)
            say_once(p, cl->conn[k], sql[k]);
    }
}

static int all(const int ok[])
{
    for (int k = 0; k < BENCH_PG_DBS; k++)
        if (!ok[k])
            return 0;
    return 1;
}

/* Undoes a transaction that did not prepare everywhere: ROLLBACK
 * PREPARED where it prepared, ROLLBACK elsewhere. */
static void undo(struct bench_pg *p, struct pg_client *cl, char gid_sql[][96], const int prepared[])
{
    char sql[BENCH_PG_DBS][96];
    const char *v[BENCH_PG_DBS];
    int ok[BENCH_PG_DBS];
    for (int k = 0; k < BENCH_PG_DBS; k++) {
        if (prepared[k]) /* "PREPARE TRANSACTION 'gid'" -> "ROLLBACK PREPARED 'gid'" */
            snprintf(sql[k], sizeof sql[k], "ROLLBACK PREPARED %s", strchr(gid_sql[k], '\''));
        else
            snprintf(sql[k], sizeof sql[k], "ROLLBACK");
        v[k] = sql[k];
    }
    if (cl->broken)
        return;
    step(p, cl, v, NULL, PGRES_COMMAND_OK, ok);
    if (!all(ok))
        cl->broken = 1; /* its state is unknown: not used again */
}

static int pg_txn(void *ctx, int thread, uint64_t seq)
{
    struct bench_pg *p = ctx;
    struct pg_client *cl = &p->clients[thread];
    static const char *const begin[BENCH_PG_DBS] = {"BEGIN", "BEGIN", "BEGIN"};
    static const char *const update[BENCH_PG_DBS] = {UPDATE_SQL, UPDATE_SQL, UPDATE_SQL};
    static const int none[BENCH_PG_DBS];
    char id[16], prep[BENCH_PG_DBS][96], commit[BENCH_PG_DBS][96];
    const char *pv[BENCH_PG_DBS], *cv[BENCH_PG_DBS];
    int ok[BENCH_PG_DBS];
    if (cl->broken)
        return PGE_BROKEN;
    snprintf(id, sizeof id, "%d", thread);
    for (int k = 0; k < BENCH_PG_DBS; k++) {
        /* Integers only: nothing from outside reaches this text. */
        snprintf(prep[k], sizeof prep[k], "PREPARE TRANSACTION 'dtcb-%u-%d-%" PRIu64 "-%d'",
                 p->epoch, thread, seq, k);
        snprintf(commit[k], sizeof commit[k], "COMMIT PREPARED 'dtcb-%u-%d-%" PRIu64 "-%d'",
                 p->epoch, thread, seq, k);
        pv[k] = prep[k];
        cv[k] = commit[k];
    }
    step(p, cl, begin, NULL, PGRES_COMMAND_OK, ok);
    if (!all(ok)) {
        undo(p, cl, prep, none);
        return PGE_BEGIN;
    }
    step(p, cl, update, id, PGRES_COMMAND_OK, ok);
    if (!all(ok)) {
        undo(p, cl, prep, none);
        return PGE_UPDATE;
    }
    step(p, cl, pv, NULL, PGRES_COMMAND_OK, ok);
    if (!all(ok)) {
        undo(p, cl, prep, ok);
        return PGE_PREPARE;
    }
    /* Decided: commit everywhere; a failure here leaves the prepared
     * transaction for an operator, as any 2PC coordinator would. */
    step(p, cl, cv, NULL, PGRES_COMMAND_OK, ok);
    return all(ok) ? 0 : PGE_COMMIT;
}

static PGconn *connect_db(const struct bench_pgc *c, const char *db)
{
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    const char *const keys[] = {"host", "port", "dbname", "user", "connect_timeout",
                                "sslmode", "gssencmode", "options", NULL};
    const char *const vals[] = {c->dir, port, db, "dtcbench", "10", "disable", "disable",
                                "-c statement_timeout=30000", NULL};
    return PQconnectdbParams(keys, vals, 0);
}

/* Runs one command synchronously (setup only); 0 or -1. */
static int exec1(PGconn *c, const char *sql, const char *param, char *why, size_t size)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(c, sql, param != NULL, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(why, size, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

/* The databases and their tables, one row per client thread. */
static int create_dbs(struct bench_pg *p, char *why, size_t size)
{
    char db[16], rows[16];
    int rc = 0;
    PGconn *c = connect_db(&p->cluster, "postgres");
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(why, size, "connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    for (int k = 0; rc == 0 && k < BENCH_PG_DBS; k++) {
        char sql[64];
        snprintf(sql, sizeof sql, "CREATE DATABASE bench%d", k); /* our constant */
        rc = exec1(c, sql, NULL, why, size);
    }
    PQfinish(c);
    snprintf(rows, sizeof rows, "%d", p->max_coords);
    for (int k = 0; rc == 0 && k < BENCH_PG_DBS; k++) {
        snprintf(db, sizeof db, "bench%d", k);
        c = connect_db(&p->cluster, db);
        if (PQstatus(c) != CONNECTION_OK) {
            snprintf(why, size, "connect %s: %s", db, PQerrorMessage(c));
            rc = -1;
        }
        if (rc == 0)
            rc = exec1(c, "CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL)", NULL,
                       why, size);
        if (rc == 0)
            rc = exec1(c, "INSERT INTO acct SELECT g, 0 FROM generate_series(0, $1::int - 1) g",
                       rows, why, size);
        PQfinish(c);
    }
    return rc;
}

static void disconnect(struct bench_pg *p)
{
    for (int t = 0; p->clients != NULL && t < p->max_coords; t++)
        for (int k = 0; k < BENCH_PG_DBS; k++)
            if (p->clients[t].conn[k] != NULL)
                PQfinish(p->clients[t].conn[k]);
    free(p->clients);
    p->clients = NULL;
}

/* BENCH_PG_DBS connections per client thread, each with the UPDATE
 * prepared.  Raises our open-file limit to fit them. */
static int connect_clients(struct bench_pg *p, char *why, size_t size)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)(BENCH_PG_DBS * p->max_coords + 256);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need && rl.rlim_max >= need) {
        rl.rlim_cur = need;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    p->clients = calloc((size_t)p->max_coords, sizeof *p->clients);
    if (p->clients == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    for (int t = 0; t < p->max_coords; t++)
        for (int k = 0; k < BENCH_PG_DBS; k++) {
            char db[16];
            snprintf(db, sizeof db, "bench%d", k);
            PGconn *c = p->clients[t].conn[k] = connect_db(&p->cluster, db);
            if (PQstatus(c) != CONNECTION_OK) {
                snprintf(why, size, "connect %s (client %d): %s", db, t, PQerrorMessage(c));
                return -1;
            }
            PGresult *r = PQprepare(c, "upd", UPDATE_SQL, 1, NULL);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!ok) {
                snprintf(why, size, "prepare: %s", PQerrorMessage(c));
                return -1;
            }
        }
    return 0;
}

/* The postmaster and its children (backends, WAL writer, checkpointer...). */
static void find_pids(struct bench_pg *p)
{
    char path[64];
    pid_t pm = p->cluster.postmaster;
    p->npids = 0;
    if (pm <= 0)
        return;
    p->pids[p->npids++] = pm;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pm, (int)pm);
    FILE *f = fopen(path, "r");
    long v;
    // NOLINTNEXTLINE(cert-err34-c): a kernel /proc list of pids
    while (f != NULL && p->npids < BENCH_PG_DBS * p->max_coords + 32 && fscanf(f, "%ld", &v) == 1)
        p->pids[p->npids++] = (pid_t)v;
    if (f != NULL)
        fclose(f);
}

int bench_pg_open(int max_coords, struct bench_pg **out, char *why, size_t size)
{
    struct bench_pg *p = calloc(1, sizeof *p);
    *out = NULL;
    if (p == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    p->max_coords = max_coords;
    p->pids = calloc((size_t)(BENCH_PG_DBS * max_coords + 32), sizeof *p->pids);
    if (p->pids == NULL || bench_pgc_init(&p->cluster, why, size) != 0) {
        bench_pg_close(&p);
        return -1;
    }
    *out = p;
    return 0;
}

int bench_pg_mode(struct bench_pg *p, int mode, char *why, size_t size)
{
    disconnect(p);
    bench_pgc_stop(&p->cluster);
    atomic_store(&p->said, 0);
    if (bench_pgc_start(&p->cluster, mode == MODE_PG, p->max_coords, why, size) != 0)
        return -1;
    if (!p->created) {
        if (create_dbs(p, why, size) != 0)
            return -1;
        p->created = 1;
    }
    if (connect_clients(p, why, size) != 0)
        return -1;
    find_pids(p);
    sync(); /* the setup's writes, off the disk before the timed cells */
    return 0;
}

void bench_pg_target(struct bench_pg *p, struct bench_target *t)
{
    p->epoch++;
    *t = (struct bench_target){pg_txn, pg_err_name, p, p->pids, p->npids};
}

void bench_pg_close(struct bench_pg **pp)
{
    struct bench_pg *p = *pp;
    if (p == NULL)
        return;
    disconnect(p);
    bench_pgc_destroy(&p->cluster);
    free(p->pids);
    free(p);
    *pp = NULL;
}

#endif /* DTC_BENCH_HAVE_LIBPQ */
