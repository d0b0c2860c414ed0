/*
 * participant.c - a participant process's side of dtc: registration,
 * serving requests, unregistration, the in-doubt question.
 *
 * One batch per wake-up: take every unanswered request from our ring
 * (ps_lock only), then for each request copy its entry out of the
 * transaction slot (ts_lock only), run the callback, and when the whole
 * batch ran write its staged journal records if one is a prepare record
 * (journal_stage.c: one write; commit and rollback records alone wait for
 * the next batch, or 5 ms of idleness) and call flush once (group commit:
 * one fsync for the batch), and only then publish the answers (ts_lock
 * only, one slot at a time) and advance the ring head.  So an answer is never visible before it is
 * durable, and a participant that dies mid-batch leaves its requests in
 * the ring for dtcd to fail (dtc__fail_requests, answer.c).
 *
 * A yes vote that arrives after its coordinator moved on (timeout, slot
 * reused) is rolled back here at once: nobody else would release it.
 * A read-only vote holds nothing (no rollback then) and may not carry a
 * journal record (one would be handed back in doubt by replay): such a
 * vote is published as an error.
 *
 * Until the flush returns, a callback's answer may be revised
 * (dtc_participant_answer): a participant that sends its work off and
 * learns how it went while the batch's other requests run (dtc-pg) gives
 * its verdict in the flush.
 *
 * Registration takes a slot under a unique name (registry.c finds it);
 * unregistration frees it as if the process had died.  A handle is used
 * by one call at a time: a serve while another serve runs (another
 * thread, or a callback of the running one) and an unregister while a
 * serve runs are refused with DTC_EBUSY, never interleaved (two serves
 * would answer each other's batches; an unregister would free the batch
 * a callback runs in).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- registration ---------------------------------------------------- */

dtc_result dtc_participant_register(dtc_instance *in, const char *name,
                                    dtc_participant **out)
{
    if (in == NULL || out == NULL || name == NULL)
        return DTC_EINVAL;
    if (strlen(name) >= DTC_NAME_MAX)
        return DTC_ETOOBIG;
    if (!dtc__name_valid(name))
        return DTC_EINVAL;
    dtc_participant *p = calloc(1, sizeof *p);
    if (p == NULL)
        return DTC_ESYS;
    uint32_t idx = 0;
    dtc_result rc = dtc__part_take(in, name, &idx, &p->gen);
    if (rc != DTC_OK) {
        free(p);
        return rc;
    }
    p->in = in;
    dtc__instance_hold(in);
    p->idx = idx;
    snprintf(p->name, sizeof p->name, "%s", name);
    dtc_log(DTC_LOG_INFO, "register", NULL, name, "slot=%u gen=%u", idx, p->gen);
    *out = p;
    return DTC_OK;
}

/* Takes the handle for one call: false if another call holds it. */
static bool claim(dtc_participant *p)
{
    bool idle = false;
    return atomic_compare_exchange_strong(&p->busy, &idle, true);
}

dtc_result dtc_participant_unregister(dtc_participant **pp)
{
    if (pp == NULL || *pp == NULL)
        return DTC_OK;
    dtc_participant *p = *pp;
    if (!claim(p)) {
        dtc_log(DTC_LOG_WARN, "unregister_refused", NULL, p->name, "why=serving");
        return DTC_EBUSY; /* a serve runs: its batch is still in use */
    }
    dtc__journal_write(p); /* its last records (unforced ones; logged if lost) */
    dtc__journal_stage_free(p);
    dtc__part_reclaim(p->in, p->idx, p->gen, "unregistered");
    dtc_instance *in = p->in;
    free(p->work);
    free(p->batch);
    free(p);
    *pp = NULL;
    dtc__instance_release(in); /* the last reference after a dtc_close */
    return DTC_OK;
}

dtc_result dtc_participant_count_syncs(dtc_participant *p, unsigned n)
{
    if (p == NULL)
        return DTC_EINVAL;
    struct dtc_part_slot *ps = dtc__part(p->in, p->idx); /* idx < max_participants */
    if (__atomic_load_n(&ps->ps_gen, __ATOMIC_RELAXED) != p->gen
        || __atomic_load_n(&ps->ps_state, __ATOMIC_RELAXED) != DTC_PS_LIVE)
        return DTC_ENOTALIVE; /* reclaimed: the slot is someone else's now */
    __atomic_fetch_add(&ps->ps_syncs, (uint64_t)n, __ATOMIC_RELAXED);
    return DTC_OK;
}

/* ---- serving ---------------------------------------------------------- */

struct dtc__work {
    struct dtc_ring_req rq;
    dtc_request req;
    dtc_entry_status answer;
    bool loaded;
    bool echoed; /* a prepare answering its enlist's no or error again */
    uint64_t jlsn; /* the end of its journal prepare record (0: none) */
    char payload[DTC_PAYLOAD_MAX + 1];
    char reason[DTC_REASON_MAX];
};

/* Copies the request's entry into w.  Sets w->answer for a prepare whose
 * enlist step already failed.  False if the request is stale. */
static bool load(dtc_participant *p, struct dtc__work *w)
{
    struct dtc_txn_slot *ts = dtc__req_slot(p->in, &w->rq);
    if (ts == NULL || dtc__txn_lock(p->in, ts) != DTC_OK)
        return false;
    struct dtc_txn_entry *e = dtc__req_entry(p->in, ts, &w->rq, p->idx, p->gen,
                                             w->rq.rq_op != DTC_OP_ENLIST);
    if (e != NULL) {
        memcpy(w->req.txid.bytes, ts->ts_txid, 16);
        size_t len = e->te_payload_len <= DTC_PAYLOAD_MAX ? e->te_payload_len : 0;
        memcpy(w->payload, e->te_payload, len);
        w->payload[len] = '\0';
        w->req.payload_len = len;
        w->answer = DTC_ENTRY_PENDING;
        w->echoed = false;
        if (w->rq.rq_op == DTC_OP_PREPARE && (e->te_enlist_status == DTC_ENTRY_NO
                                              || e->te_enlist_status == DTC_ENTRY_ERROR)) {
            w->answer = (dtc_entry_status)e->te_enlist_status;
            w->echoed = true; /* counted once, as the enlist's answer */
            dtc__strcopy(w->reason, e->te_enlist_reason, sizeof w->reason);
        }
    }
    dtc__unlock(&ts->ts_lock);
    return e != NULL;
}

static dtc_entry_status vote_status(dtc_vote v)
{
    return v == DTC_VOTE_YES        ? DTC_ENTRY_YES
           : v == DTC_VOTE_NO       ? DTC_ENTRY_NO
           : v == DTC_VOTE_READONLY ? DTC_ENTRY_READONLY
                                    : DTC_ENTRY_ERROR;
}

/* Runs the callback of one loaded request. */
static void run(dtc_participant *p, const dtc_participant_ops *ops, struct dtc__work *w)
{
    dtc_request *rq = &w->req;
    w->jlsn = 0;
    switch (w->rq.rq_op) {
    case DTC_OP_ENLIST:
        w->answer = vote_status(ops->enlist ? ops->enlist(ops->ctx, rq) : DTC_VOTE_YES);
        if (w->answer == DTC_ENTRY_READONLY)
            w->answer = DTC_ENTRY_YES; /* read-only is a prepare vote */
        dtc__fault("part.enlist");
        break;
    case DTC_OP_PREPARE:
        if (w->answer == DTC_ENTRY_PENDING) {
            p->cur_req = rq; /* dtc_journal_prepare's request */
            p->cur_jlsn = &w->jlsn;
            w->answer = vote_status(ops->prepare(ops->ctx, rq));
            p->cur_req = NULL;
            p->cur_jlsn = NULL;
        }
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

/* Counts an answer of the batch by kind (the metrics' yes, no, error). */
static void count_answer(dtc_participant *p, dtc_entry_status answer)
{
    p->batch_answers[answer == DTC_ENTRY_YES || answer == DTC_ENTRY_READONLY ? DTC_ANSWER_YES
                     : answer == DTC_ENTRY_NO ? DTC_ANSWER_NO : DTC_ANSWER_ERROR]++;
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
        if (w->answer == DTC_ENTRY_READONLY && w->jlsn != 0) {
            /* a read-only voter keeps no record (dtc.h): this one wrote
             * one, which replay would hand back in doubt */
            w->answer = DTC_ENTRY_ERROR;
            snprintf(w->reason, sizeof w->reason, "read-only vote after a journal prepare record");
        }
        if (!w->echoed)
            count_answer(p, w->answer);
        bool awaited = dtc__answer_publish(p->in, &w->rq, p->idx, p->gen, w->answer, w->reason,
                                           w->jlsn);
        if (!awaited && w->rq.rq_op == DTC_OP_PREPARE && w->answer == DTC_ENTRY_YES) {
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

/* How long staged journal records (commit and rollback records,
 * unforced) wait for a next batch to ride with, when none is there. */
#define JOURNAL_IDLE_NS (5 * 1000000LL)

/* Takes the next batch (waiting up to timeout_ms).  Journal records
 * still staged ride with the next batch's write; when no batch comes
 * within JOURNAL_IDLE_NS (or the timeout) they are written, and the wait
 * goes on.  Woken from a sleep while busy (pace.c), the take yields once
 * first: the coordinators that are runnable (woken by our last answers)
 * push their next requests before we take the batch, so one wake-up
 * serves them all. */
static long take(dtc_participant *p, int timeout_ms)
{
    int64_t now = dtc__now_ns();
    int64_t deadline = now + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    if (dtc__journal_staged(p)) {
        int64_t idle = now + JOURNAL_IDLE_NS < deadline ? now + JOURNAL_IDLE_NS : deadline;
        long n = dtc__ring_take(p->in, p->idx, p->gen, idle, dtc__pace_yield(&p->pace), p->batch);
        if (n != 0)
            return n;
        dtc__journal_write(p); /* logged if it fails: unforced records */
        if (idle >= deadline)
            return 0;
    }
    return dtc__ring_take(p->in, p->idx, p->gen, deadline, dtc__pace_yield(&p->pace), p->batch);
}

static dtc_result serve_batch(dtc_participant *p, const dtc_participant_ops *ops,
                              int timeout_ms, unsigned *served)
{
    if (p->work == NULL && (p->work = calloc(p->in->ring_cap, sizeof *p->work)) == NULL)
        return DTC_ESYS;
    if (p->batch == NULL && (p->batch = calloc(p->in->ring_cap, sizeof *p->batch)) == NULL)
        return DTC_ESYS;
    if (atomic_load(&p->in->hdr->sh_shutdown) == DTC_SHUT_GONE)
        return DTC_ENOSEGMENT; /* dtcd removed the segment */
    long n = take(p, timeout_ms);
    if (n < 0)
        return DTC_ENOTALIVE;
    bool commits = false;
    p->batch_n = n;
    dtc__log_batch(true); /* the batch's log lines: one write, below */
    for (long k = 0; k < n; k++) {
        struct dtc__work *w = &p->work[k];
        w->rq = p->batch[k];
        w->reason[0] = '\0';
        w->req = (dtc_request){.op = (dtc_op)w->rq.rq_op, .payload = w->payload, .reason = w->reason};
        w->loaded = load(p, w);
        if (!w->loaded)
            continue;
        run(p, ops, w);
        commits |= w->rq.rq_op == DTC_OP_COMMIT;
        /* An enlist step's outcome is published at once: it promises
         * nothing.  Only a no, an error or a reason is worth the slot's
         * lock (the prepare looks for a no or an error, status reports
         * show the reason): a plain yes changes nothing anyone reads. */
        if (w->rq.rq_op == DTC_OP_ENLIST && (w->answer != DTC_ENTRY_YES || w->reason[0]))
            dtc__answer_enlist(p->in, &w->rq, p->idx, p->gen, w->answer, w->reason);
        if (w->rq.rq_op == DTC_OP_ENLIST)
            if (!w->echoed)
            count_answer(p, w->answer);
    }
    /* the batch's prepare records (with the commit and rollback records
     * staged before) in the log before any vote is published */
    bool journaled = !dtc__journal_staged_prepare(p) || dtc__journal_batch_write(p) == DTC_OK;
    bool flushed = (n == 0 || ops->flush == NULL || ops->flush(ops->ctx) == 0) && journaled;
    p->batch_n = 0; /* answers final from here on */
    dtc__log_batch(false); /* logged before any answer is visible */
    if (commits)
        dtc__fault("part.after_commit_apply");
    publish_batch(p, ops, n, flushed);
    dtc__ring_advance(p->in, p->idx, p->gen, n, p->batch_answers);
    memset(p->batch_answers, 0, sizeof p->batch_answers);
    if (served != NULL)
        *served = (unsigned)n;
    return DTC_OK;
}

dtc_result dtc_participant_serve_once(dtc_participant *p, const dtc_participant_ops *ops,
                                      int timeout_ms, unsigned *served)
{
    if (served != NULL)
        *served = 0;
    if (p == NULL || ops == NULL || !ops->prepare || !ops->commit || !ops->rollback)
        return DTC_EINVAL;
    if (!claim(p))
        return DTC_EBUSY; /* served by another thread, or from a callback */
    dtc_result rc = serve_batch(p, ops, timeout_ms, served);
    atomic_store(&p->busy, false);
    return rc;
}

dtc_result dtc_participant_answer(dtc_participant *p, const dtc_request *rq, dtc_vote v)
{
    if (p == NULL || rq == NULL || p->work == NULL || p->batch_n <= 0
        || (v != DTC_VOTE_YES && v != DTC_VOTE_NO && v != DTC_VOTE_ERROR
            && v != DTC_VOTE_READONLY))
        return DTC_EINVAL;
    /* rq must be the request a callback of this batch was handed */
    uintptr_t at = (uintptr_t)rq, first = (uintptr_t)&p->work[0].req;
    if (at < first || (at - first) % sizeof *p->work != 0)
        return DTC_EINVAL;
    size_t k = (at - first) / sizeof *p->work;
    struct dtc__work *w = &p->work[k];
    if (k >= (size_t)p->batch_n || !w->loaded || w->rq.rq_op == DTC_OP_ENLIST)
        return DTC_EINVAL; /* an enlist step's answer is published at once */
    if (w->rq.rq_op != DTC_OP_PREPARE && v == DTC_VOTE_READONLY)
        return DTC_EINVAL; /* a vote, not a commit's or rollback's answer */
    if (w->rq.rq_op != DTC_OP_PREPARE && v == DTC_VOTE_NO)
        v = DTC_VOTE_ERROR; /* commit and rollback succeed or fail */
    w->answer = vote_status(v);
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
