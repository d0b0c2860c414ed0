/*
 * work.c - dtc-pg's callbacks.  enlist sends BEGIN and the payload's
 * statement on a pool connection and returns (the statement runs while
 * other requests are served); prepare collects its verdict and sends
 * PREPARE TRANSACTION; commit sends COMMIT PREPARED on any free
 * connection; both answer provisionally and are settled (pg_defer) by
 * the batch's flush, or earlier when their connection or transaction is
 * wanted, with a retry through reconnects for a commit that lost its
 * connection.  rollback finishes synchronously.  A gid that is already
 * gone is judged by dtc's outcome of the transaction, never guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"

void pg_gid(const pg_opts *o, const dtc_txid *id, char gid[PG_GID_MAX])
{
    char txt[DTC_TXID_STRLEN];
    dtc_txid_format(id, txt);
    snprintf(gid, PG_GID_MAX, "dtc:%s:%s", txt, o->name);
}

static void answer(const dtc_request *rq, const char *why)
{
    if (rq->reason != NULL)
        snprintf(rq->reason, DTC_REASON_MAX, "%s", why);
}

static dtc_vote vote(pg_ctx *x, const dtc_request *rq, dtc_vote v, const char *why)
{
    static const char *const names[] = {"yes", "no", "error"};
    /* a line per request only at debug (docs/operations.md, "Log levels") */
    dtc_log(v == DTC_VOTE_YES ? DTC_LOG_DEBUG : DTC_LOG_WARN, "vote", &rq->txid, x->x_o->name,
            "vote=%s reason=%s", names[v], why);
    answer(rq, why);
    return v;
}

/* Splits the payload into c's verb and arguments; the statement or NULL
 * with why. */
static const pg_stmt *parse(pg_ctx *x, pg_conn *c, const dtc_request *rq, char *why, size_t len)
{
    char *save = NULL, *verb;
    snprintf(c->c_argbuf, sizeof c->c_argbuf, "%s", rq->payload);
    c->c_nargs = 0;
    if ((verb = strtok_r(c->c_argbuf, " \t\n", &save)) == NULL) {
        snprintf(why, len, "usage: empty payload, want VERB ARG...");
        return NULL;
    }
    const pg_stmt *st = NULL;
    for (int i = 0; i < x->x_o->nstmts && st == NULL; i++)
        if (strcmp(x->x_o->stmts[i].st_verb, verb) == 0)
            st = &x->x_o->stmts[i];
    if (st == NULL) {
        snprintf(why, len, "usage: unknown verb '%.40s'", verb);
        return NULL;
    }
    for (char *a; (a = strtok_r(NULL, " \t\n", &save)) != NULL;)
        if (c->c_nargs < PG_ARGS_MAX)
            c->c_args[c->c_nargs++] = a;
        else
            c->c_nargs = PG_ARGS_MAX + 1;
    if (c->c_nargs <= PG_ARGS_MAX && c->c_nargs == st->st_nparams - 1) { /* last: the txid */
        dtc_txid_format(&rq->txid, c->c_txidtxt);
        c->c_args[c->c_nargs++] = c->c_txidtxt;
    }
    if (c->c_nargs != st->st_nparams) {
        snprintf(why, len, "usage: %s wants %d arguments", st->st_verb, st->st_nparams);
        return NULL;
    }
    return st;
}

static dtc_vote on_enlist(void *ctx, const dtc_request *rq)
{
    pg_ctx *x = ctx;
    char why[DTC_REASON_MAX] = "";
    dtc_log(DTC_LOG_DEBUG, "enlist", &rq->txid, x->x_o->name, "payload=%.*s",
            (int)strnlen(rq->payload, DTC_PAYLOAD_MAX), rq->payload);
    if (pg_pool_find(x->x_pool, &rq->txid) != NULL)
        return DTC_VOTE_YES; /* already running */
    pg_conn *c = pg_pool_take(x->x_pool, 0, why, sizeof why);
    const pg_stmt *st = c != NULL ? parse(x, c, rq, why, sizeof why) : NULL;
    if (st == NULL) { /* refused at once: its rollback will have nothing to do */
        pg_unprepared_put(x->x_pool, &rq->txid);
        return vote(x, rq, c == NULL && strncmp(why, "pool:", 5) != 0 ? DTC_VOTE_ERROR
                                                                     : DTC_VOTE_NO, why);
    }
    c->c_txid = rq->txid;
    c->c_stmt = st;
    c->c_state = PGC_BEGIN;
    if (pg_send(x->x_pool, c, "BEGIN") != 0) {
        snprintf(why, sizeof why, "%s", c->c_msg);
        pg_release(c);
        pg_unprepared_put(x->x_pool, &rq->txid);
        return vote(x, rq, DTC_VOTE_ERROR, why);
    }
    pg_pool_drive(x->x_pool, 0);
    return DTC_VOTE_YES;
}

/* The verdict of c's finished PREPARE TRANSACTION, into d (c released).
 * PostgreSQL answers "ROLLBACK" instead when the transaction had failed:
 * only the tag "PREPARE TRANSACTION" is a yes. */
static void prepare_collect(pg_ctx *x, pg_defer *d)
{
    pg_conn *c = d->d_conn;
    pg_wait(x->x_pool, c, d->d_deadline);
    int yes = c->c_ok && strcmp(c->c_tag, "PREPARE TRANSACTION") == 0;
    d->d_vote = DTC_VOTE_YES;
    d->d_why[0] = '\0';
    if (!yes && (strncmp(c->c_sqlstate, "08", 2) == 0 || strcmp(c->c_sqlstate, "57014") == 0)) {
        d->d_vote = DTC_VOTE_ERROR; /* maybe prepared: the rollback settles it */
        snprintf(d->d_why, sizeof d->d_why, "%s", c->c_msg);
    } else if (!yes) {
        pg_unprepared_put(x->x_pool, &d->d_txid); /* PostgreSQL refused it */
        d->d_vote = DTC_VOTE_NO;
        snprintf(d->d_why, sizeof d->d_why, "error: PREPARE TRANSACTION: %.90s",
                 c->c_msg[0] ? c->c_msg : c->c_tag);
    }
    if (d->d_vote == DTC_VOTE_YES && c->c_xid != 0)
        pg_xid_put(x->x_pool, &d->d_txid, c->c_xid);
    pg_release(c);
    d->d_conn = NULL;
}

static dtc_vote prepare_conclude(pg_ctx *x, const pg_defer *d)
{
    if (d->d_vote == DTC_VOTE_YES)
        dtc_fault("pg.after_prepare");
    return vote(x, d->d_rq, d->d_vote, d->d_why);
}

/* A request sent off: settled later (flush at the latest), if its answer
 * can still be revised; else (0) the caller settles it now. */
static int defer(pg_ctx *x, const pg_defer *d, dtc_vote provisional)
{
    if (x->x_ndefer > PG_POOL_MAX
        || dtc_participant_answer(x->x_part, d->d_rq, provisional) != DTC_OK)
        return 0;
    x->x_defer[x->x_ndefer++] = *d;
    return 1;
}

/* Sends PREPARE TRANSACTION on c, whose statement passed. */
static dtc_vote prepare_held(pg_ctx *x, pg_conn *c, const dtc_request *rq)
{
    char gid[PG_GID_MAX], sql[PG_GID_MAX + 80];
    pg_gid(x->x_o, &rq->txid, gid);
    /* the xid first: it tells later whether a gone gid committed */
    snprintf(sql, sizeof sql, "SELECT pg_current_xact_id()::text; PREPARE TRANSACTION '%s'",
             gid); /* gid: [A-Za-z0-9._:-] only */
    if (!pg_conn_alive(c)) { /* gone before the PREPARE: nothing prepared */
        pg_conn_drop(c);
        pg_release(c);
        pg_unprepared_put(x->x_pool, &rq->txid);
        return vote(x, rq, DTC_VOTE_ERROR, "connection: lost before PREPARE");
    }
    c->c_state = PGC_PREPARE;
    pg_defer d = {.d_rq = rq, .d_txid = rq->txid, .d_conn = c, .d_commit = 0,
                  .d_deadline = pg_now_ns() + (int64_t)x->x_o->op_timeout_ms * 1000000};
    if (pg_send(x->x_pool, c, sql) == 0 && defer(x, &d, DTC_VOTE_YES))
        return DTC_VOTE_YES; /* provisional: the flush settles it */
    prepare_collect(x, &d);
    return prepare_conclude(x, &d);
}

/* 1 if c's statement waits for a lock (pg_blocking_pids), asked on a
 * free connection. */
static int blocked(pg_ctx *x, pg_conn *c)
{
    char q[64], why[DTC_REASON_MAX];
    int64_t deadline = pg_now_ns() + (int64_t)x->x_o->op_timeout_ms * 1000000;
    if (c->c_pg == NULL)
        return 0;
    snprintf(q, sizeof q, "SELECT cardinality(pg_blocking_pids(%d))", PQbackendPID(c->c_pg));
    pg_conn *f = pg_pool_take_wait(x->x_pool, deadline, why, sizeof why);
    PGresult *r = f != NULL ? pg_query(f, q, deadline, why, sizeof why) : NULL;
    int rc = r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
             && strtol(PQgetvalue(r, 0, 0), NULL, 10) > 0;
    if (r != NULL)
        PQclear(r);
    return rc;
}

/* Waits for c's enlist work.  While this callback waits nothing else of
 * this participant runs, and the transaction holding the row lock a
 * statement waits for may be one whose prepare, commit or rollback is
 * queued behind it.  So after 20 ms the transactions held prepared whose
 * outcome is decided are finished here (recovery's rule: their own
 * commit or rollback then finds the gid gone), and a statement still
 * waiting for a lock 30 ms later is cancelled: a no vote, "locked:", as
 * the services refuse a record another transaction holds. */
static void wait_work(pg_ctx *x, pg_conn *c)
{
    int64_t now = pg_now_ns(), deadline = now + (int64_t)x->x_o->op_timeout_ms * 1000000;
    int64_t help = now + 20000000, check = now + 50000000;
    while (c->c_busy && now < deadline) {
        int64_t until = help < check ? help : check;
        pg_pool_drive_until(x->x_pool, c, until < deadline ? until : deadline);
        now = pg_now_ns();
        if (c->c_busy && now >= help) {
            pg_settle_all(x); /* what was sent off first: recovery reads the gids */
            pg_recover(x, 1);
            help = deadline;
        } else if (c->c_busy && now >= check) {
            if (c->c_state == PGC_STMT && !c->c_locked && blocked(x, c))
                pg_conn_cancel_locked(c);
            check = pg_now_ns() + 100000000;
        }
        now = pg_now_ns();
    }
    pg_wait(x->x_pool, c, deadline); /* past it: drops the connection */
}

static void settle(pg_ctx *x, const dtc_txid *id);

static dtc_vote on_prepare(void *ctx, const dtc_request *rq)
{
    pg_ctx *x = ctx;
    settle(x, &rq->txid); /* a redelivery: the first one's verdict first */
    pg_conn *c = pg_pool_find(x->x_pool, &rq->txid);
    if (c == NULL) {
        pg_unprepared_put(x->x_pool, &rq->txid);
        return vote(x, rq, DTC_VOTE_ERROR, "error: no work of this transaction here (restarted?)");
    }
    wait_work(x, c);
    if (c->c_state == PGC_HELD && c->c_pg != NULL)
        return prepare_held(x, c, rq);
    dtc_vote v = c->c_state == PGC_FAILED ? c->c_vote : DTC_VOTE_ERROR;
    char why[DTC_REASON_MAX];
    snprintf(why, sizeof why, "%s",
             c->c_state == PGC_FAILED ? c->c_reason : "connection: lost before PREPARE");
    pg_release(c);
    pg_unprepared_put(x->x_pool, &rq->txid);
    return vote(x, rq, v, why);
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The result of c's finished COMMIT or ROLLBACK PREPARED (c released):
 * 1 done, 0 gid gone, -1 failed (why), *retry when a reconnect may help. */
static int finished(pg_conn *c, int *retry, char *why, size_t len)
{
    int ok = c->c_ok, gone = strcmp(c->c_sqlstate, "42704") == 0;
    *retry = !ok && !gone && (c->c_pg == NULL || strncmp(c->c_sqlstate, "08", 2) == 0
                              || strncmp(c->c_sqlstate, "57P", 3) == 0);
    snprintf(why, len, "%s", c->c_msg);
    pg_release(c);
    if (ok || gone)
        return ok ? 1 : 0;
    if (!*retry) {
        char tmp[DTC_REASON_MAX];
        snprintf(tmp, sizeof tmp, "error: %.110s", why);
        snprintf(why, len, "%s", tmp);
    }
    return -1;
}

int pg_finish_prepared(pg_ctx *x, const char *sql, char *why, size_t len)
{
    int64_t op = (int64_t)x->x_o->op_timeout_ms * 1000000;
    for (int attempt = 0; attempt <= x->x_o->retries; attempt++) {
        if (attempt > 0)
            pause_ms(attempt >= 4 ? 1000 : 100 << (attempt - 1)); /* 100, 200, 400, 800, 1000 */
        pg_conn *c = pg_pool_take_wait(x->x_pool, pg_now_ns() + op, why, len);
        if (c == NULL)
            continue;
        c->c_state = PGC_FINISH;
        if (pg_send(x->x_pool, c, sql) == 0)
            pg_wait(x->x_pool, c, pg_now_ns() + op);
        int retry, rc = finished(c, &retry, why, len);
        if (rc >= 0 || !retry)
            return rc;
        dtc_log(DTC_LOG_WARN, "retry", NULL, x->x_o->name, "attempt=%d error=%s", attempt + 1, why);
    }
    return -1;
}

/* PostgreSQL's word on a gone gid, if this process prepared it: 1
 * committed, 0 aborted, -1 unknown (not ours to know, or no answer). */
static int xact_status(pg_ctx *x, const dtc_txid *id)
{
    unsigned long long xid = pg_xid_get(x->x_pool, id);
    char q[96], why[DTC_REASON_MAX];
    if (xid == 0)
        return -1;
    int64_t deadline = pg_now_ns() + (int64_t)x->x_o->op_timeout_ms * 1000000;
    pg_conn *c = pg_pool_take_wait(x->x_pool, deadline, why, sizeof why);
    PGresult *r = NULL;
    snprintf(q, sizeof q, "SELECT pg_xact_status('%llu'::xid8)", xid);
    if (c != NULL)
        r = pg_query(c, q, deadline, why, sizeof why);
    const char *st = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                         ? PQgetvalue(r, 0, 0) : "";
    int rc = strcmp(st, "committed") == 0 ? 1 : strcmp(st, "aborted") == 0 ? 0 : -1;
    if (r != NULL)
        PQclear(r);
    return rc;
}

/* A gid already gone: finished before (an answer lost, a recovery).
 * Whether that was the outcome asked for, PostgreSQL says when this
 * process prepared it (its xid), else dtc's outcome of the transaction. */
static int gone(pg_ctx *x, const dtc_request *rq, int commit, char *why, size_t len)
{
    int pg = xact_status(x, &rq->txid);
    if (pg >= 0) {
        if (pg == commit)
            return 0;
        snprintf(why, len, "error: gid gone but PostgreSQL %s it", pg ? "committed" : "aborted");
        return -1;
    }
    dtc_outcome_kind kind; /* the one recovery rule */
    dtc_result rc = dtc_participant_outcome(x->x_part, &rq->txid, &kind);
    if (rc != DTC_OK) {
        snprintf(why, len, "error: gid gone, outcome unknown: %s", dtc_strerror(rc));
        return -1;
    }
    if ((kind == DTC_OUTCOME_COMMITTED) == commit)
        return 0;
    snprintf(why, len, "error: gid gone but dtc says %s", dtc_outcome_name(kind));
    return -1;
}

static void finish_sql(pg_ctx *x, const dtc_request *rq, int commit, char *sql, size_t len)
{
    char gid[PG_GID_MAX];
    pg_gid(x->x_o, &rq->txid, gid);
    snprintf(sql, len, "%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", gid);
}

/* What a finished COMMIT or ROLLBACK PREPARED (rc as pg_finish_prepared)
 * answers: 0 done, -1 failed (the reason filled). */
static int finish_done(pg_ctx *x, const dtc_request *rq, int commit, int rc, char *why,
                       size_t len)
{
    char gid[PG_GID_MAX];
    const char *event = commit ? "commit" : "rollback";
    if (rc == 0 && gone(x, rq, commit, why, len) == 0) {
        dtc_log(DTC_LOG_INFO, event, &rq->txid, x->x_o->name, "result=done why=gid_gone");
        return 0;
    }
    if (rc <= 0) {
        dtc_log(DTC_LOG_WARN, event, &rq->txid, x->x_o->name, "result=failed error=%s", why);
        answer(rq, why);
        return -1;
    }
    if (commit)
        dtc_fault("pg.after_commit");
    pg_gid(x->x_o, &rq->txid, gid);
    dtc_log(DTC_LOG_DEBUG, event, &rq->txid, x->x_o->name, "result=done gid=%s", gid);
    return 0;
}

static int finish(pg_ctx *x, const dtc_request *rq, int commit)
{
    char sql[PG_GID_MAX + 32], why[DTC_REASON_MAX] = "";
    finish_sql(x, rq, commit, sql, sizeof sql);
    int rc = pg_finish_prepared(x, sql, why, sizeof why);
    return finish_done(x, rq, commit, rc, why, sizeof why);
}

static void commit_collect(pg_ctx *x, pg_defer *d)
{
    pg_wait(x->x_pool, d->d_conn, d->d_deadline);
    d->d_rc = finished(d->d_conn, &d->d_retry, d->d_why, sizeof d->d_why);
    d->d_conn = NULL;
}

/* 0 done, -1 failed; a lost connection is retried as finish does. */
static int commit_conclude(pg_ctx *x, pg_defer *d)
{
    if (d->d_rc < 0 && d->d_retry) {
        char sql[PG_GID_MAX + 32];
        dtc_log(DTC_LOG_WARN, "retry", &d->d_txid, x->x_o->name, "attempt=1 error=%s", d->d_why);
        finish_sql(x, d->d_rq, 1, sql, sizeof sql);
        d->d_rc = pg_finish_prepared(x, sql, d->d_why, sizeof d->d_why);
    }
    return finish_done(x, d->d_rq, 1, d->d_rc, d->d_why, sizeof d->d_why);
}

/* Sends COMMIT PREPARED on a free connection and answers provisionally;
 * with none free at once, or no way to revise the answer, commits now. */
static int on_commit(void *ctx, const dtc_request *rq)
{
    pg_ctx *x = ctx;
    char sql[PG_GID_MAX + 32], why[DTC_REASON_MAX];
    settle(x, &rq->txid); /* a redelivery: the first one's result first */
    finish_sql(x, rq, 1, sql, sizeof sql);
    pg_conn *c = pg_pool_take(x->x_pool, 1, why, sizeof why);
    if (c != NULL) {
        c->c_state = PGC_FINISH;
        c->c_txid = rq->txid;
        pg_defer d = {.d_rq = rq, .d_txid = rq->txid, .d_conn = c, .d_commit = 1,
                      .d_deadline = pg_now_ns() + (int64_t)x->x_o->op_timeout_ms * 1000000};
        if (pg_send(x->x_pool, c, sql) == 0 && defer(x, &d, DTC_VOTE_YES))
            return 0; /* provisional: the flush settles it */
        commit_collect(x, &d);
        return commit_conclude(x, &d);
    }
    return finish(x, rq, 1);
}

/* ---- settling what was sent off ------------------------------------------ */

/* Settles the requests sent off (every one, or id's): first waits for
 * every command (driving all connections, so they finish together) and
 * frees their connections, then gives each its verdict, which may retry
 * a commit or ask PostgreSQL (and so take a connection again). */
static void settle(pg_ctx *x, const dtc_txid *id)
{
    pg_defer done[PG_POOL_MAX + 1];
    int n = 0;
    for (int i = 0; i < x->x_ndefer;) {
        pg_defer *d = &x->x_defer[i];
        if (id != NULL && memcmp(&d->d_txid, id, sizeof *id) != 0) {
            i++;
            continue;
        }
        if (d->d_commit)
            commit_collect(x, d);
        else
            prepare_collect(x, d);
        done[n++] = *d;
        memmove(d, d + 1, (size_t)(x->x_ndefer - i - 1) * sizeof *d);
        x->x_ndefer--;
    }
    for (int i = 0; i < n; i++) {
        pg_defer *d = &done[i];
        dtc_vote v = d->d_commit ? (commit_conclude(x, d) == 0 ? DTC_VOTE_YES : DTC_VOTE_ERROR)
                                 : prepare_conclude(x, d);
        if (dtc_participant_answer(x->x_part, d->d_rq, v) != DTC_OK)
            dtc_log(DTC_LOG_ERROR, "answer", &d->d_txid, x->x_o->name,
                    "error=\"verdict not taken\" vote=%d", (int)v);
    }
}

int pg_settle_all(void *ctx)
{
    pg_ctx *x = ctx;
    int any = x->x_ndefer > 0;
    settle(x, NULL);
    return any;
}

static int on_flush(void *ctx)
{
    settle(ctx, NULL); /* every verdict of the batch, before any is published */
    return 0;
}

/* Not prepared yet: ends the open transaction (or its failed remains). */
static int rollback_open(pg_ctx *x, pg_conn *c, const dtc_request *rq)
{
    wait_work(x, c);
    int64_t deadline = pg_now_ns() + (int64_t)x->x_o->op_timeout_ms * 1000000;
    if (c->c_state == PGC_HELD && c->c_pg != NULL) {
        c->c_state = PGC_ROLLBACK;
        if (pg_send(x->x_pool, c, "ROLLBACK") == 0)
            pg_wait(x->x_pool, c, deadline);
    }
    /* a broken connection: the server rolled the transaction back */
    pg_release(c);
    dtc_log(DTC_LOG_DEBUG, "rollback", &rq->txid, x->x_o->name, "result=done why=not_prepared");
    return 0;
}

static int on_rollback(void *ctx, const dtc_request *rq)
{
    pg_ctx *x = ctx;
    settle(x, &rq->txid); /* its prepare's verdict first (a redelivery) */
    pg_conn *c = pg_pool_find(x->x_pool, &rq->txid);
    if (c == NULL && pg_unprepared_has(x->x_pool, &rq->txid)) {
        dtc_log(DTC_LOG_DEBUG, "rollback", &rq->txid, x->x_o->name,
                "result=done why=never_prepared");
        return 0;
    }
    return c != NULL ? rollback_open(x, c, rq) : finish(x, rq, 0);
}

const dtc_participant_ops pg_ops_template = {on_enlist, on_prepare, on_commit, on_rollback,
                                             on_flush, NULL};
