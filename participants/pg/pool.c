/*
 * pool.c - dtc-pg's connections and the state machine that drives them
 * without blocking each other: every command is sent with libpq's
 * asynchronous API, and whoever waits (pg_wait) polls the sockets of all
 * busy connections, so while one callback waits for its PREPARE the
 * statements of the other enlisted transactions progress too.  A
 * connection that breaks is dropped (c_pg NULL) and connected again
 * when it is next taken; its statements are prepared on every connect.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"

int64_t pg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pg_pool_init(pg_pool *p, const pg_opts *o)
{
    memset(p, 0, sizeof *p);
    p->p_o = o;
    p->p_n = o->pool;
}

void pg_conn_drop(pg_conn *c)
{
    if (c->c_pg != NULL)
        PQfinish(c->c_pg);
    c->c_pg = NULL;
    c->c_busy = 0;
}

void pg_pool_close(pg_pool *p)
{
    for (int i = 0; i <= p->p_n; i++)
        pg_conn_drop(&p->p_conns[i]);
}

void pg_release(pg_conn *c)
{
    c->c_state = PGC_FREE;
    c->c_stmt = NULL;
}

/* libpq's message without its trailing newline. */
static void set_msg(pg_conn *c, const char *code, const char *msg)
{
    snprintf(c->c_msg, sizeof c->c_msg, "%s: %.*s", code, (int)strcspn(msg, "\n"), msg);
}

/* Prepares every statement on a fresh connection; the first time also
 * learns how many parameters each takes. */
static int prepare_all(pg_pool *p, pg_conn *c, char *why, size_t len)
{
    for (int i = 0; i < p->p_o->nstmts; i++) {
        const pg_stmt *st = &p->p_o->stmts[i];
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        PGresult *r = PQprepare(c->c_pg, name, st->st_sql, 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(why, len, "error: statement %s: %.*s", st->st_verb,
                     (int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return -1;
        if (!p->p_described) {
            r = PQdescribePrepared(c->c_pg, name);
            ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (ok)
                ((pg_stmt *)st)->st_nparams = PQnparams(r);
            PQclear(r);
            if (!ok) {
                snprintf(why, len, "error: describe %s failed", st->st_verb);
                return -1;
            }
        }
    }
    p->p_described = 1;
    return 0;
}

int pg_conn_up(pg_pool *p, pg_conn *c, char *why, size_t len)
{
    if (c->c_pg != NULL && PQstatus(c->c_pg) == CONNECTION_OK)
        return 0;
    pg_conn_drop(c);
    char app[64];
    snprintf(app, sizeof app, "dtc-pg:%s", p->p_o->name);
    /* defaults first: the user's conninfo (expanded from dbname) wins */
    const char *const keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                "keepalives_count", "application_name", "dbname", NULL};
    const char *const vals[] = {"3", "10", "3", "3", app, p->p_o->conninfo, NULL};
    c->c_pg = PQconnectdbParams(keys, vals, 1);
    if (c->c_pg == NULL || PQstatus(c->c_pg) != CONNECTION_OK) {
        const char *m = c->c_pg ? PQerrorMessage(c->c_pg) : "out of memory";
        snprintf(why, len, "connection: %.*s", (int)strcspn(m, "\n"), m);
        pg_conn_drop(c);
        return -1;
    }
    if (prepare_all(p, c, why, len) != 0) {
        pg_conn_drop(c);
        return -1;
    }
    p->p_reconnected = 1;
    return 0;
}

/* A FREE connection whose server went away since its last command shows
 * it as a readable socket: find out before using it. */
int pg_conn_alive(pg_conn *c)
{
    if (c->c_pg == NULL || PQstatus(c->c_pg) != CONNECTION_OK)
        return 0;
    struct pollfd pfd = {PQsocket(c->c_pg), POLLIN, 0};
    if (poll(&pfd, 1, 0) > 0 && (!PQconsumeInput(c->c_pg) || PQstatus(c->c_pg) != CONNECTION_OK))
        return 0;
    return 1;
}

pg_conn *pg_pool_take(pg_pool *p, int finisher, char *why, size_t len)
{
    pg_conn *down = NULL;
    int settled = 0;
again:
    for (int i = 0; i < p->p_n + (finisher ? 1 : 0); i++) {
        pg_conn *c = &p->p_conns[i];
        if (c->c_state != PGC_FREE)
            continue;
        if (pg_conn_alive(c))
            return c;
        pg_conn_drop(c);
        if (down == NULL)
            down = c;
    }
    if (down == NULL && !settled && p->p_settle != NULL && p->p_settle(p->p_settle_ctx)) {
        settled = 1; /* the batch's commands sent off held them: free now */
        goto again;
    }
    if (down == NULL) {
        snprintf(why, len, "pool: all %d connections busy", p->p_n);
        return NULL;
    }
    return pg_conn_up(p, down, why, len) == 0 ? down : NULL;
}

pg_conn *pg_pool_take_wait(pg_pool *p, int64_t deadline, char *why, size_t len)
{
    pg_conn *c;
    while ((c = pg_pool_take(p, 1, why, len)) == NULL && strncmp(why, "pool:", 5) == 0
           && pg_now_ns() < deadline)
        pg_pool_drive(p, 20);
    return c;
}

pg_conn *pg_pool_find(pg_pool *p, const dtc_txid *id)
{
    for (int i = 0; i < p->p_n; i++) {
        pg_conn *c = &p->p_conns[i];
        if (c->c_state != PGC_FREE && memcmp(&c->c_txid, id, sizeof *id) == 0)
            return c;
    }
    return NULL;
}

static void sent(pg_conn *c)
{
    c->c_busy = 1;
    c->c_ok = 0;
    c->c_sqlstate[0] = c->c_tag[0] = c->c_msg[0] = '\0';
    c->c_rows = 0;
    c->c_xid = 0;
    c->c_locked = 0;
}

/* The connection broke: its command failed with 08006. */
static void lost(pg_conn *c)
{
    set_msg(c, "connection", c->c_pg ? PQerrorMessage(c->c_pg) : "not connected");
    snprintf(c->c_sqlstate, sizeof c->c_sqlstate, "08006");
    c->c_ok = 0;
    pg_conn_drop(c);
}

int pg_send(pg_pool *p, pg_conn *c, const char *sql)
{
    (void)p;
    sent(c);
    if (c->c_pg != NULL && PQsendQuery(c->c_pg, sql))
        return 0;
    lost(c);
    return -1;
}

int pg_send_stmt(pg_pool *p, pg_conn *c, const pg_stmt *st, const char *const args[], int nargs)
{
    char name[16];
    snprintf(name, sizeof name, "s%d", (int)(st - p->p_o->stmts));
    sent(c);
    if (c->c_pg != NULL && PQsendQueryPrepared(c->c_pg, name, nargs, args, NULL, NULL, 0))
        return 0;
    lost(c);
    return -1;
}

/* Keeps one result of c's command: the first error wins. */
static void keep_result(pg_conn *c, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (c->c_msg[0] != '\0')
            return;
        c->c_ok = 1;
        snprintf(c->c_tag, sizeof c->c_tag, "%s", PQcmdStatus(r));
        if (c->c_state == PGC_PREPARE && s == PGRES_TUPLES_OK && PQntuples(r) == 1)
            c->c_xid = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        const char *t = PQcmdTuples(r);
        c->c_rows = t[0] ? strtol(t, NULL, 10) : PQntuples(r);
        return;
    }
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char code[6];
    snprintf(code, sizeof code, "%s", st ? st : "XX000");
    c->c_ok = 0;
    memcpy(c->c_sqlstate, code, sizeof code);
    snprintf(c->c_msg, sizeof c->c_msg, "%s %s", code, m ? m : PQresStatus(s));
}

/* Enlist work, step by step (see pg_cstate): a command finished. */
static void advance(pg_pool *p, pg_conn *c);

/* Reads what arrived on c; on a finished command, advances. */
static void input(pg_pool *p, pg_conn *c)
{
    if (!PQconsumeInput(c->c_pg)) {
        lost(c);
        advance(p, c);
        return;
    }
    while (c->c_pg != NULL && !PQisBusy(c->c_pg)) {
        PGresult *r = PQgetResult(c->c_pg);
        if (r == NULL) {
            c->c_busy = 0;
            advance(p, c);
            return;
        }
        keep_result(c, r);
        PQclear(r);
    }
}

void pg_pool_drive(pg_pool *p, int ms)
{
    struct pollfd fds[PG_POOL_MAX];
    int idx[PG_POOL_MAX], n = 0;
    for (int i = 0; i <= p->p_n; i++) {
        pg_conn *c = &p->p_conns[i];
        if (c->c_busy && c->c_pg != NULL) {
            fds[n] = (struct pollfd){PQsocket(c->c_pg), POLLIN, 0};
            idx[n++] = i;
        }
    }
    if (n == 0)
        return;
    if (poll(fds, (nfds_t)n, ms) <= 0)
        return;
    for (int k = 0; k < n; k++)
        if (fds[k].revents != 0 && p->p_conns[idx[k]].c_busy && p->p_conns[idx[k]].c_pg)
            input(p, &p->p_conns[idx[k]]);
}

void pg_pool_drive_until(pg_pool *p, const pg_conn *c, int64_t until)
{
    int64_t left;
    while (c->c_busy && (left = (until - pg_now_ns()) / 1000000) > 0)
        pg_pool_drive(p, left < 100 ? (int)left : 100);
}

int pg_wait(pg_pool *p, pg_conn *c, int64_t deadline)
{
    while (c->c_busy) {
        int64_t left = (deadline - pg_now_ns()) / 1000000;
        if (left <= 0) {
            pg_conn_drop(c); /* the server rolls back whatever it was doing */
            snprintf(c->c_msg, sizeof c->c_msg, "timeout: no answer from PostgreSQL");
            snprintf(c->c_sqlstate, sizeof c->c_sqlstate, "57014");
            c->c_ok = 0;
            advance(p, c);
            return -1;
        }
        pg_pool_drive(p, left < 100 ? (int)left : 100);
    }
    return 0;
}

PGresult *pg_query(pg_conn *c, const char *sql, int64_t deadline, char *why, size_t len)
{
    PGresult *last = NULL;
    if (c->c_pg == NULL || !PQsendQuery(c->c_pg, sql))
        goto broken;
    for (;;) {
        while (!PQisBusy(c->c_pg)) {
            PGresult *r = PQgetResult(c->c_pg);
            if (r == NULL)
                return last;
            if (last != NULL)
                PQclear(last);
            last = r;
        }
        int64_t left = (deadline - pg_now_ns()) / 1000000;
        struct pollfd pfd = {PQsocket(c->c_pg), POLLIN, 0};
        if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)) {
            snprintf(why, len, "timeout: no answer from PostgreSQL");
            if (last != NULL)
                PQclear(last);
            pg_conn_drop(c);
            return NULL;
        }
        if (!PQconsumeInput(c->c_pg))
            break;
    }
broken:
    if (last != NULL)
        PQclear(last);
    const char *m = c->c_pg ? PQerrorMessage(c->c_pg) : "not connected";
    snprintf(why, len, "connection: %.*s", (int)strcspn(m, "\n"), m);
    pg_conn_drop(c);
    return NULL;
}

void pg_conn_cancel_locked(pg_conn *c)
{
    char err[256];
    PGcancel *k = c->c_pg ? PQgetCancel(c->c_pg) : NULL;
    if (k == NULL)
        return;
    c->c_locked = PQcancel(k, err, sizeof err);
    PQfreeCancel(k);
}

/* ---- the enlist work's steps ------------------------------------------- */

/* The vote a failed statement gets: SQL said no (a constraint, a
 * serialization failure, any other error) or the connection broke. */
static void refuse(pg_conn *c)
{
    const char *s = c->c_sqlstate, *code = "error";
    c->c_vote = DTC_VOTE_NO;
    if (c->c_locked && strcmp(s, "57014") == 0) {
        snprintf(c->c_reason, sizeof c->c_reason,
                 "locked: %s waits for a row lock of another transaction",
                 c->c_stmt ? c->c_stmt->st_verb : "statement");
        return;
    }
    if (strncmp(s, "23", 2) == 0)
        code = "constraint";
    else if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        code = "serialization";
    else if (strncmp(s, "08", 2) == 0 || strcmp(s, "57014") == 0 || strncmp(s, "57P", 3) == 0)
        c->c_vote = DTC_VOTE_ERROR;
    if (c->c_vote == DTC_VOTE_ERROR)
        snprintf(c->c_reason, sizeof c->c_reason, "%s", c->c_msg);
    else
        snprintf(c->c_reason, sizeof c->c_reason, "%s: %.110s", code, c->c_msg);
}

static void fail(pg_pool *p, pg_conn *c)
{
    c->c_state = PGC_FAILED;
    if (c->c_pg != NULL) {
        char keep[DTC_REASON_MAX];
        memcpy(keep, c->c_msg, sizeof keep);
        pg_send(p, c, "ROLLBACK"); /* done in the background */
        memcpy(c->c_msg, keep, sizeof keep);
    }
}

static void stmt_done(pg_pool *p, pg_conn *c)
{
    const pg_stmt *st = c->c_stmt;
    if (!c->c_ok) {
        refuse(c);
        fail(p, c);
    } else if (st != NULL && st->st_rows >= 0 && c->c_rows != st->st_rows) {
        c->c_vote = DTC_VOTE_NO;
        snprintf(c->c_reason, sizeof c->c_reason, "rows: %s touched %ld rows, wants %ld",
                 st->st_verb, c->c_rows, st->st_rows);
        fail(p, c);
    } else {
        c->c_state = PGC_HELD;
    }
}

static void advance(pg_pool *p, pg_conn *c)
{
    switch (c->c_state) {
    case PGC_BEGIN:
        if (!c->c_ok) {
            refuse(c);
            fail(p, c);
        } else {
            c->c_state = PGC_STMT;
            if (pg_send_stmt(p, c, c->c_stmt, c->c_args, c->c_nargs) != 0)
                stmt_done(p, c);
        }
        return;
    case PGC_STMT:
        stmt_done(p, c);
        return;
    default:
        return; /* FAILED's ROLLBACK, or a command a callback waits for */
    }
}
