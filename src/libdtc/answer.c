/*
 * answer.c - an entry of a transaction slot receives an answer: locating
 * the slot and entry a ring request points at, recording an answer (or
 * an enlist step's outcome) and waking the slot's driver, and failing
 * the unanswered requests of a participant that died or left.  Requests
 * are named by the participant's (slot index, generation), so the
 * participant's own serving loop and the reclaim of a dead one share it.
 *
 * Locking: ts_lock only, one slot at a time; the wake-up is sent after
 * it is released ("Waking a sleeper" in shm.h).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

bool dtc_entry_status_failed(dtc_entry_status st)
{
    return st == DTC_ENTRY_NO || st == DTC_ENTRY_ERROR || st == DTC_ENTRY_DEAD
           || st == DTC_ENTRY_TIMEOUT;
}

dtc_entry_status dtc_entry_failure(const dtc_entry_info *e)
{
    if (e == NULL)
        return DTC_ENTRY_IDLE;
    return dtc_entry_status_failed(e->vote) ? e->vote
           : dtc_entry_status_failed(e->status) ? e->status
                                                : DTC_ENTRY_IDLE;
}

bool dtc_entry_failed(const dtc_entry_info *e)
{
    return dtc_entry_failure(e) != DTC_ENTRY_IDLE;
}

bool dtc__prepared(unsigned vote, unsigned op, unsigned status)
{
    return vote == DTC_ENTRY_YES && !(op == DTC_OP_ROLLBACK && status == DTC_ENTRY_YES);
}

bool dtc_entry_prepared(const dtc_entry_info *e)
{
    return e != NULL && dtc__prepared(e->vote, e->op, e->status);
}

struct dtc_txn_slot *dtc__req_slot(const dtc_instance *in, const struct dtc_ring_req *rq)
{
    return rq->rq_txn < in->max_txns ? dtc__txn(in, rq->rq_txn) : NULL;
}

struct dtc_txn_entry *dtc__req_entry(const dtc_instance *in, struct dtc_txn_slot *ts,
                                     const struct dtc_ring_req *rq, uint32_t part,
                                     uint32_t pgen, bool awaited)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    if (ts->ts_gen != rq->rq_gen || ts->ts_state == DTC_TXN_FREE
        || rq->rq_entry >= ts->ts_nentries || rq->rq_entry >= in->max_parts)
        return NULL;
    struct dtc_txn_entry *e = &ts->ts_entries[rq->rq_entry];
    if (e->te_part != part || e->te_part_gen != pgen)
        return NULL;
    if (awaited && (e->te_op != rq->rq_op || e->te_status != DTC_ENTRY_PENDING))
        return NULL;
    return e;
}

void dtc__entry_answer(struct dtc_txn_slot *ts, struct dtc_txn_entry *e,
                       dtc_entry_status st, const char *reason)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    if (e->te_status != DTC_ENTRY_PENDING)
        return;
    e->te_status = (uint8_t)st;
    dtc__strcopy(e->te_reason, reason ? reason : "", sizeof e->te_reason);
    if (e->te_op == DTC_OP_PREPARE) { /* the vote, kept whoever drives on */
        e->te_vote = (uint8_t)st;
        dtc__strcopy(e->te_vote_reason, reason ? reason : "", sizeof e->te_vote_reason);
    }
    if (ts->ts_pending > 0)
        ts->ts_pending--;
    if (dtc_entry_status_failed(st)
        && (e->te_op == DTC_OP_COMMIT || e->te_op == DTC_OP_ROLLBACK)) {
        e->te_failed_op = e->te_op;
        e->te_failed_status = (uint8_t)st;
        dtc__strcopy(e->te_failed_reason, reason ? reason : "", sizeof e->te_failed_reason);
    }
}

bool dtc__answer_publish(dtc_instance *in, const struct dtc_ring_req *rq, uint32_t part,
                         uint32_t pgen, dtc_entry_status st, const char *reason, uint64_t jlsn)
{
    struct dtc_txn_slot *ts = dtc__req_slot(in, rq);
    if (ts == NULL || dtc__txn_lock(in, ts) != DTC_OK)
        return false;
    struct dtc_txn_entry *e = dtc__req_entry(in, ts, rq, part, pgen, true);
    bool wake = false;
    if (e != NULL) {
        if (e->te_op == DTC_OP_PREPARE && e->te_status == DTC_ENTRY_PENDING)
            e->te_jlsn = st == DTC_ENTRY_YES ? jlsn : 0; /* the vote's journal record */
        if (e->te_op == DTC_OP_PREPARE && st == DTC_ENTRY_READONLY)
            atomic_fetch_add(&in->hdr->sh_readonly_votes, 1);
        dtc__entry_answer(ts, e, st, reason);
        /* the driver waits for all answers, or for the first failure */
        bool fine = st == DTC_ENTRY_YES || st == DTC_ENTRY_READONLY;
        wake = (ts->ts_pending == 0 || !fine) && dtc__wake_claim(&ts->ts_wake);
    }
    dtc__unlock(&ts->ts_lock);
    if (wake)
        dtc__wake_send(in, &ts->ts_wake, &ts->ts_cond); /* after unlock, see shm.h */
    return e != NULL;
}

void dtc__answer_enlist(dtc_instance *in, const struct dtc_ring_req *rq, uint32_t part,
                        uint32_t pgen, dtc_entry_status st, const char *reason)
{
    struct dtc_txn_slot *ts = dtc__req_slot(in, rq);
    if (ts == NULL || dtc__txn_lock(in, ts) != DTC_OK)
        return;
    struct dtc_txn_entry *e = dtc__req_entry(in, ts, rq, part, pgen, false);
    if (e != NULL) {
        e->te_enlist_status = (uint8_t)st;
        dtc__strcopy(e->te_enlist_reason, reason ? reason : "", sizeof e->te_enlist_reason);
    }
    dtc__unlock(&ts->ts_lock);
}

void dtc__fail_requests(dtc_instance *in, const struct dtc_ring_req *reqs, size_t n,
                        uint32_t part, uint32_t pgen)
{
    for (size_t k = 0; k < n; k++) {
        if (reqs[k].rq_op == DTC_OP_ENLIST)
            dtc__answer_enlist(in, &reqs[k], part, pgen, DTC_ENTRY_ERROR,
                               "participant died before its enlist step");
        else
            dtc__answer_publish(in, &reqs[k], part, pgen, DTC_ENTRY_DEAD, "participant died",
                                0);
    }
}
