/*
 * participant.c - the serving side of a participant process.
 *
 * One batch per wake-up: take every unanswered request from our ring
 * (ps_lock only), then for each request copy its entry out of the
 * transaction slot (ts_lock only), run the callback, and when the whole
 * batch ran call flush once (group commit: one fsync for the batch), and
 * only then publish the answers (ts_lock only, one slot at a time) and
 * advance the ring head.  So an answer is never visible before it is
 * durable, and a participant that dies mid-batch leaves its requests in
 * the ring for dtcd to fail (dtc__fail_requests).
 *
 * A yes vote that arrives after its coordinator moved on (timeout, slot
 * reused) is rolled back here at once: nobody else would release it.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn.h"

struct dtc__work {
    struct dtc_ring_req rq;
    dtc_request req;
    dtc_entry_status answer;
    bool loaded;
    char payload[DTC_PAYLOAD_MAX + 1];
    char reason[DTC_REASON_MAX];
};

/* With ts_lock held: entry `rq` points at, if it is still ours. */
static struct dtc_txn_entry *entry_of(dtc_participant *p, struct dtc_txn_slot *ts,
                                      const struct dtc_ring_req *rq, bool awaited)
{
    if (ts->ts_gen != rq->rq_gen || ts->ts_state == DTC_TXN_FREE
        || rq->rq_entry >= ts->ts_nentries || rq->rq_entry >= p->in->max_parts)
        return NULL;
    struct dtc_txn_entry *e = &ts->ts_entries[rq->rq_entry];
    if (e->te_part != p->idx || e->te_part_gen != p->gen)
        return NULL;
    if (awaited && (e->te_op != rq->rq_op || e->te_status != DTC_ENTRY_PENDING))
        return NULL;
    return e;
}

static struct dtc_txn_slot *slot_of(dtc_instance *in, const struct dtc_ring_req *rq)
{
    return rq->rq_txn < in->max_txns ? dtc__txn(in, rq->rq_txn) : NULL;
}

/* Copies the request's entry into w.  Sets w->answer for a prepare whose
 * enlist step already failed.  False if the request is stale. */
static bool load(dtc_participant *p, struct dtc__work *w)
{
    struct dtc_txn_slot *ts = slot_of(p->in, &w->rq);
    if (ts == NULL || dtc__txn_lock(p->in, ts) != DTC_OK)
        return false;
    struct dtc_txn_entry *e = entry_of(p, ts, &w->rq, w->rq.rq_op != DTC_OP_ENLIST);
    if (e != NULL) {
        memcpy(w->req.txid.bytes, ts->ts_txid, 16);
        size_t len = e->te_payload_len <= DTC_PAYLOAD_MAX ? e->te_payload_len : 0;
        memcpy(w->payload, e->te_payload, len);
        w->payload[len] = '\0';
        w->req.payload_len = len;
        w->answer = DTC_ENTRY_PENDING;
        if (w->rq.rq_op == DTC_OP_PREPARE && (e->te_enlist_status == DTC_ENTRY_NO
                                              || e->te_enlist_status == DTC_ENTRY_ERROR)) {
            w->answer = (dtc_entry_status)e->te_enlist_status;
            dtc__strcopy(w->reason, e->te_enlist_reason, sizeof w->reason);
        }
    }
    dtc__unlock(&ts->ts_lock);
    return e != NULL;
}

static dtc_entry_status vote_status(dtc_vote v)
{
    return v == DTC_VOTE_YES ? DTC_ENTRY_YES : v == DTC_VOTE_NO ? DTC_ENTRY_NO : DTC_ENTRY_ERROR;
}

/* Publishes an enlist step's outcome at once: it promises nothing.  Only
 * a no, an error or a reason is worth the slot's lock: the prepare looks
 * for a no or an error, status reports show the reason. */
static void publish_enlist(dtc_participant *p, struct dtc__work *w)
{
    struct dtc_txn_slot *ts = slot_of(p->in, &w->rq);
    if (ts == NULL || dtc__txn_lock(p->in, ts) != DTC_OK)
        return;
    struct dtc_txn_entry *e = entry_of(p, ts, &w->rq, false);
    if (e != NULL) {
        e->te_enlist_status = (uint8_t)w->answer;
        dtc__strcopy(e->te_enlist_reason, w->reason, sizeof e->te_enlist_reason);
    }
    dtc__unlock(&ts->ts_lock);
}

/* Runs the callback of one loaded request. */
static void run(const dtc_participant_ops *ops, struct dtc__work *w)
{
    dtc_request *rq = &w->req;
    switch (w->rq.rq_op) {
    case DTC_OP_ENLIST:
        w->answer = vote_status(ops->enlist ? ops->enlist(ops->ctx, rq) : DTC_VOTE_YES);
        dtc__fault("part.enlist");
        break;
    case DTC_OP_PREPARE:
        if (w->answer == DTC_ENTRY_PENDING)
            w->answer = vote_status(ops->prepare(ops->ctx, rq));
        dtc__fault("part.before_vote");
        break;
    case DTC_OP_COMMIT:
        w->answer = ops->commit(ops->ctx, rq) == 0 ? DTC_ENTRY_YES : DTC_ENTRY_ERROR;
        break;
    case DTC_OP_ROLLBACK:
        dtc__fault("part.rollback");
        w->answer = ops->rollback(ops->ctx, rq) == 0 ? DTC_ENTRY_YES : DTC_ENTRY_ERROR;
        break;
    default:
        w->loaded = false;
    }
}

/* Publishes one answer; false if nobody awaits it any more. */
static bool publish(dtc_participant *p, struct dtc__work *w)
{
    struct dtc_txn_slot *ts = slot_of(p->in, &w->rq);
    if (ts == NULL || dtc__txn_lock(p->in, ts) != DTC_OK)
        return false;
    struct dtc_txn_entry *e = entry_of(p, ts, &w->rq, true);
    bool wake = false;
    if (e != NULL) {
        dtc__entry_answer(ts, e, w->answer, w->reason);
        wake = (ts->ts_pending == 0 || w->answer != DTC_ENTRY_YES) && dtc__wake_claim(&ts->ts_wake);
    }
    dtc__unlock(&ts->ts_lock);
    if (wake)
        dtc__wake_send(p->in, &ts->ts_wake, &ts->ts_cond); /* after unlock, see shm.h */
    return e != NULL;
}

/* Takes the unanswered requests off our ring (waiting up to deadline).
 * Returns how many, or -1 if our slot was reclaimed.  Woken from a sleep
 * while busy (pace.c), it yields once first: the coordinators that are
 * runnable (woken by our last answers) push their next requests before
 * we take the batch, so one wake-up serves them all. */
static long take(dtc_participant *p, int64_t deadline, bool yield)
{
    dtc_instance *in = p->in;
    struct dtc_part_slot *ps = dtc__part(in, p->idx);
    if (dtc__part_lock(in, ps) != DTC_OK)
        return -1;
    long n = 0;
    bool slept = false;
    while (ps->ps_state == DTC_PS_LIVE && ps->ps_gen == p->gen && ps->ps_head == ps->ps_tail
           && dtc__now_ns() < deadline) {
        dtc__wake_wait(in, &ps->ps_wake, &ps->ps_cond, &ps->ps_lock, dtc__part_repair, ps,
                       deadline);
        slept = true;
    }
    if (slept && yield && ps->ps_head != ps->ps_tail) {
        dtc__unlock(&ps->ps_lock);
        sched_yield();
        if (dtc__part_lock(in, ps) != DTC_OK)
            return -1;
    }
    if (ps->ps_state != DTC_PS_LIVE || ps->ps_gen != p->gen)
        n = -1;
    else
        for (uint64_t k = ps->ps_head; k != ps->ps_tail && n < (long)in->ring_cap; k++)
            p->work[n++].rq = ps->ps_ring[k % in->ring_cap];
    dtc__unlock(&ps->ps_lock);
    return n;
}

static void advance(dtc_participant *p, long n)
{
    struct dtc_part_slot *ps = dtc__part(p->in, p->idx);
    if (dtc__part_lock(p->in, ps) != DTC_OK)
        return;
    if (ps->ps_state == DTC_PS_LIVE && ps->ps_gen == p->gen) {
        ps->ps_head += (uint64_t)n;
        ps->ps_served += (uint64_t)n;
    }
    dtc__unlock(&ps->ps_lock);
}

/* After flush: makes durable answers visible; rolls back orphaned yes
 * votes.  A failed flush turns every answer of the batch into an error. */
static void publish_batch(dtc_participant *p, const dtc_participant_ops *ops, long n,
                          bool flushed)
{
    bool stale_yes = false, votes = false;
    long answers = 0;
    for (long k = 0; k < n; k++) {
        struct dtc__work *w = &p->work[k];
        if (!w->loaded || w->rq.rq_op == DTC_OP_ENLIST)
            continue;
        votes |= w->rq.rq_op == DTC_OP_PREPARE;
        answers++;
        if (!flushed && w->answer == DTC_ENTRY_YES) {
            w->answer = DTC_ENTRY_ERROR;
            snprintf(w->reason, sizeof w->reason, "flush to stable storage failed");
        }
        if (!publish(p, w) && w->rq.rq_op == DTC_OP_PREPARE && w->answer == DTC_ENTRY_YES) {
            dtc_log(DTC_LOG_WARN, "late_vote", &w->req.txid, p->name, "action=rollback");
            ops->rollback(ops->ctx, &w->req);
            stale_yes = true;
        }
    }
    dtc__pace_after_batch(&p->pace, answers); /* n == 0: an idle wait */
    if (votes)
        dtc__fault("part.after_vote");
    if (stale_yes && ops->flush != NULL)
        ops->flush(ops->ctx);
}

dtc_result dtc_participant_serve_once(dtc_participant *p, const dtc_participant_ops *ops,
                                      int timeout_ms, unsigned *served)
{
    if (served != NULL)
        *served = 0;
    if (p == NULL || ops == NULL || !ops->prepare || !ops->commit || !ops->rollback)
        return DTC_EINVAL;
    if (p->work == NULL && (p->work = calloc(p->in->ring_cap, sizeof *p->work)) == NULL)
        return DTC_ESYS;
    if (atomic_load(&p->in->hdr->sh_shutdown) == DTC_SHUT_GONE)
        return DTC_ENOSEGMENT; /* dtcd removed the segment */
    long n = take(p, dtc__now_ns() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000,
                  dtc__pace_yield(&p->pace));
    if (n < 0)
        return DTC_ENOTALIVE;
    bool commits = false;
    dtc__log_batch(true); /* the batch's log lines: one write, below */
    for (long k = 0; k < n; k++) {
        struct dtc__work *w = &p->work[k];
        w->reason[0] = '\0';
        w->req = (dtc_request){.op = (dtc_op)w->rq.rq_op, .payload = w->payload, .reason = w->reason};
        w->loaded = load(p, w);
        if (!w->loaded)
            continue;
        run(ops, w);
        commits |= w->rq.rq_op == DTC_OP_COMMIT;
        if (w->rq.rq_op == DTC_OP_ENLIST && (w->answer != DTC_ENTRY_YES || w->reason[0]))
            publish_enlist(p, w); /* a plain yes: nothing anyone reads changes */
    }
    bool flushed = n == 0 || ops->flush == NULL || ops->flush(ops->ctx) == 0;
    dtc__log_batch(false); /* logged before any answer is visible */
    if (commits)
        dtc__fault("part.after_commit_apply");
    publish_batch(p, ops, n, flushed);
    advance(p, n);
    if (served != NULL)
        *served = (unsigned)n;
    return DTC_OK;
}

dtc_result dtc_participant_serve(dtc_participant *p, const dtc_participant_ops *ops,
                                 volatile sig_atomic_t *stop)
{
    while (stop == NULL || !*stop) {
        dtc_result rc = dtc_participant_serve_once(p, ops, 200, NULL);
        if (rc != DTC_OK)
            return rc;
    }
    return DTC_OK;
}

void dtc__fail_requests(dtc_instance *in, const struct dtc_ring_req *reqs, size_t n,
                        uint32_t part, uint32_t pgen)
{
    dtc_participant who = {.in = in, .idx = part, .gen = pgen};
    for (size_t k = 0; k < n; k++) {
        struct dtc_txn_slot *ts = slot_of(in, &reqs[k]);
        if (ts == NULL || dtc__txn_lock(in, ts) != DTC_OK)
            continue;
        bool enlist = reqs[k].rq_op == DTC_OP_ENLIST;
        struct dtc_txn_entry *e = entry_of(&who, ts, &reqs[k], !enlist);
        if (e != NULL && enlist) {
            e->te_enlist_status = DTC_ENTRY_ERROR;
            snprintf(e->te_enlist_reason, sizeof e->te_enlist_reason,
                     "participant died before its enlist step");
        }
        bool wake = false;
        if (e != NULL && !enlist) {
            dtc__entry_answer(ts, e, DTC_ENTRY_DEAD, "participant died");
            wake = dtc__wake_claim(&ts->ts_wake);
        }
        dtc__unlock(&ts->ts_lock);
        if (wake)
            dtc__wake_send(in, &ts->ts_wake, &ts->ts_cond);
    }
}

dtc_result dtc_participant_in_doubt(dtc_participant *p, const dtc_txid *id)
{
    dtc_outcome_kind kind;
    dtc_result rc = dtc_participant_outcome(p, id, &kind);
    if (rc != DTC_OK)
        return rc == DTC_ERECOVERING ? DTC_OK : rc; /* keep it: ask again later */
    return kind == DTC_OUTCOME_ABORTED ? DTC_ENOTFOUND : DTC_OK;
}
