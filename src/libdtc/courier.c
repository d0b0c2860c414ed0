/*
 * courier.c - phase two carried for a process's threads by the one that
 * saw their COMMIT made durable (the group commit's "leader commits for
 * the group", as in MySQL's binary-log group commit).
 *
 * Without it, every thread whose transaction has participants with
 * storage of their own (they hear "commit" only once the COMMIT is
 * durable) sleeps for the log's sync, wakes to send the commits, and
 * sleeps again for the answers: two sleeps an order.  With it, the
 * threads of one process (one dtc_instance handle) that wait for the
 * log register here (their slot, driver token and the COMMIT's end) and
 * one of them, the courier, waits for the sync (dtc__dlog_flush: it may
 * lead it or follow it).  When the log is durable the courier delivers
 * phase two for every registered transaction the sync covered
 * (dtc__txn_commit_deliver, under each slot's lock: the same steps its
 * own driver takes), then hands the courier's role to a registered
 * thread still waiting, if any.  The others sleep once, on their slot's
 * condvar, until their participants' answers wake them.
 *
 * What it does not change: the COMMIT is durable before any participant
 * hears of it (the courier delivers only below sh_dlog_durable); a sync
 * that fails is seen by every waiter itself (the courier delivers
 * nothing and hands its role on, and the next courier syncs, or fails,
 * on its own); a slot's decision is recorded and its phase two armed
 * once (dtc__txn_commit_deliver refuses a slot whose decision is
 * recorded or which is no longer driven by the registered token).
 * Every wait is bounded: a thread that is not delivered within a wait
 * slice looks again, delivers itself once the log is durable past its
 * COMMIT, and syncs itself if no courier is at work.
 *
 * The registry is process-local (a pthread mutex, no shared memory): a
 * courier carries only its own process's transactions, so a crash point
 * on the way (coord.after_commit_decision, coord.mid_commit) is passed
 * in the process that drives the transaction.  Lock order: c_mu is taken
 * with no other lock held and nothing is locked under it.
 */
#include <stdlib.h>

#include "dlog.h"
#include "txn.h"

/* A thread waiting for its COMMIT's sync (on its stack; in c_head until
 * it or the courier unlinks it, touched by others only under c_mu). */
struct dtc__courier_reg {
    uint32_t idx, gen;
    uint64_t token, end;
    int64_t t0;
    bool courier; /* handed the courier's role, not yet taken */
    struct dtc__courier_reg *next;
};

/* How long a registered thread sleeps before it looks again itself. */
#define COURIER_SLICE_NS (DTC_WAIT_SLICE_MS * 1000000L / 10)

void dtc__courier_init(struct dtc__courier *c)
{
    pthread_mutex_init(&c->c_mu, NULL);
    c->c_head = NULL;
    c->c_busy = false;
    atomic_init(&c->c_carried, 0);
}

uint64_t dtc__courier_carried(dtc_instance *in)
{
    return atomic_load(&in->courier.c_carried);
}

void dtc__courier_destroy(struct dtc__courier *c)
{
    DTC_ASSERT(c->c_head == NULL);
    pthread_mutex_destroy(&c->c_mu);
}

/* With c_mu: unlinks g if it is in the list. */
static void unlink_reg(struct dtc__courier *c, struct dtc__courier_reg *g)
{
    for (struct dtc__courier_reg **p = &c->c_head; *p != NULL; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            return;
        }
}

/* Wakes the thread sleeping on slot idx (its driver), if it still
 * sleeps there: the claim is made under the slot's lock (shm.h, "Waking
 * a sleeper"). */
static void wake_slot(dtc_instance *in, uint32_t idx, uint32_t gen)
{
    struct dtc_txn_slot *ts = dtc__txn(in, idx);
    if (dtc__txn_lock(in, ts) != DTC_OK)
        return;
    bool wake = ts->ts_gen == gen && dtc__wake_claim(&ts->ts_wake);
    dtc__unlock(&ts->ts_lock);
    if (wake)
        dtc__wake_send(in, &ts->ts_wake, &ts->ts_cond);
}

/* Gives up the courier's role (held by the caller): to the first thread
 * still registered, woken to take it, or to nobody. */
static void hand_on(struct dtc__courier *c, dtc_instance *in)
{
    pthread_mutex_lock(&c->c_mu);
    struct dtc__courier_reg *g = c->c_head;
    uint32_t idx = 0, gen = 0;
    if (g != NULL) {
        g->courier = true;
        idx = g->idx;
        gen = g->gen;
    } else {
        c->c_busy = false;
    }
    pthread_mutex_unlock(&c->c_mu);
    if (g != NULL)
        wake_slot(in, idx, gen);
}

/* The courier's round: the registered transactions whose COMMIT lies
 * below `durable`, delivered (each under its own slot's lock). */
static void deliver_covered(struct dtc__courier *c, dtc_instance *in, uint64_t durable,
                            uint32_t own)
{
    enum { BATCH = 64 };
    for (;;) {
        struct dtc__courier_reg take[BATCH];
        size_t n = 0;
        pthread_mutex_lock(&c->c_mu);
        for (struct dtc__courier_reg **p = &c->c_head; *p != NULL && n < BATCH;) {
            struct dtc__courier_reg *g = *p;
            if (g->end > durable) {
                p = &g->next;
                continue;
            }
            take[n++] = *g; /* a copy: g is its thread's, which may return */
            *p = g->next;
        }
        pthread_mutex_unlock(&c->c_mu);
        for (size_t k = 0; k < n; k++) {
            struct txn_ref r = {in, dtc__txn(in, take[k].idx), take[k].idx, take[k].gen,
                                take[k].token, 0, false};
            if (dtc__txn_relock(&r) != DTC_OK)
                continue;
            if (dtc__txn_commit_deliver(&r, take[k].end, take[k].t0))
                atomic_fetch_add(&c->c_carried, take[k].idx != own);
            else if (r.locked)
                dtc__txn_unlock(&r);
        }
        if (n < BATCH)
            return;
    }
}

/* As the courier: waits for the log to be durable past `end` (syncing
 * it if nobody else is), delivers what that covered, and hands on. */
static dtc_result courier_round(struct dtc__courier *c, dtc_instance *in, uint64_t end,
                                uint32_t own)
{
    dtc_result rc = dtc__dlog_flush(in, end);
    if (rc == DTC_OK)
        deliver_covered(c, in, atomic_load(&in->hdr->sh_dlog_durable), own);
    hand_on(c, in);
    return rc;
}

/* Whether g holds the courier's role now (handed to it or free). */
static bool take_role(struct dtc__courier *c, struct dtc__courier_reg *g)
{
    pthread_mutex_lock(&c->c_mu);
    bool mine = g->courier || !c->c_busy;
    if (mine) {
        g->courier = false;
        c->c_busy = true;
    }
    pthread_mutex_unlock(&c->c_mu);
    return mine;
}

/* Leaves the registry (g unlinked if it still is).  A role handed to g
 * and not taken is handed on, r's slot unlocked meanwhile (no slot is
 * locked under another's) and re-locked: the result of that relock. */
static dtc_result leave(struct dtc__courier *c, struct txn_ref *r, struct dtc__courier_reg *g)
{
    pthread_mutex_lock(&c->c_mu);
    unlink_reg(c, g);
    bool had = g->courier;
    g->courier = false;
    pthread_mutex_unlock(&c->c_mu);
    if (!had)
        return DTC_OK;
    bool locked = r->locked;
    if (locked)
        dtc__txn_unlock(r);
    hand_on(c, r->in);
    return locked ? dtc__txn_relock(r) : DTC_OK;
}

dtc_result dtc__courier_commit(struct txn_ref *r, uint64_t end, int64_t t0)
{
    DTC_ASSERT_DRIVING(r);
    dtc_instance *in = r->in;
    struct dtc__courier *c = &in->courier;
    struct dtc_txn_slot *ts = r->ts;
    struct dtc__courier_reg me = {r->idx, r->gen, r->token, end, t0, false, NULL};
    int64_t give_up = dtc__now_ns() + dtc__lock_limit_ns(); /* bounded like a lock */
    pthread_mutex_lock(&c->c_mu);
    me.next = c->c_head;
    c->c_head = &me;
    pthread_mutex_unlock(&c->c_mu);
    for (;;) {
        if (ts->ts_gen != r->gen || ts->ts_driver != r->token) {
            leave(c, r, &me);
            return DTC_EABORTED;
        }
        if (ts->ts_dlsn != 0 && ts->ts_dtype == DTC_DLOG_COMMIT) /* delivered */
            return leave(c, r, &me) == DTC_OK ? DTC_OK : DTC_ECORRUPT;
        if (atomic_load(&in->hdr->sh_dlog_durable) >= end) { /* nobody delivered it yet */
            if (leave(c, r, &me) != DTC_OK)
                return DTC_ECORRUPT;
            if (dtc__txn_commit_deliver(r, end, t0))
                return dtc__txn_relock(r) == DTC_OK ? DTC_OK : DTC_ECORRUPT;
            return ts->ts_gen != r->gen || ts->ts_driver != r->token ? DTC_EABORTED : DTC_OK;
        }
        if (dtc__now_ns() > give_up) {
            leave(c, r, &me);
            dtc_log(DTC_LOG_ERROR, "lock_timeout", NULL, NULL, "lock=dlog_courier upto=%llu",
                    (unsigned long long)end);
            return DTC_ECORRUPT;
        }
        if (take_role(c, &me)) {
            dtc__txn_unlock(r);
            dtc_result rc = courier_round(c, in, end, r->idx);
            if (dtc__txn_relock(r) != DTC_OK) {
                leave(c, r, &me);
                return DTC_ECORRUPT;
            }
            if (rc != DTC_OK && ts->ts_gen == r->gen && ts->ts_driver == r->token
                && ts->ts_dlsn == 0) /* our own sync failed: not durable */
                return leave(c, r, &me) == DTC_OK ? DTC_ELOG : DTC_ECORRUPT;
            continue;
        }
        int64_t until = dtc__now_ns() + COURIER_SLICE_NS;
        dtc__wake_wait(in, &ts->ts_wake, &ts->ts_cond, &ts->ts_lock, dtc__txn_repair, ts,
                       until < give_up ? until : give_up);
        if (dtc__txn_check(in, ts) != 0) {
            dtc__txn_unlock(r);
            leave(c, r, &me);
            return DTC_ECORRUPT;
        }
    }
}
