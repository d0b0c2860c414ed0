/*
 * txn.h - internal interface of the 2PC state machine (txn.c), shared by
 * the coordinator API (coord.c), the operator's calls (operator.c) and
 * the supervisor (supervisor.c).
 */
#ifndef DTC_TXN_H
#define DTC_TXN_H

#include "internal.h"

/* A transaction slot as seen by its current driver. */
struct txn_ref {
    dtc_instance *in;
    struct dtc_txn_slot *ts;
    uint32_t idx, gen;
    uint64_t token; /* == ts_driver while we drive the slot */
    uint16_t dlog_flags; /* DTC_DLOG_F_OPERATOR for an operator's call */
    /* Whether this thread holds ts_lock.  THE rule for every exit of
     * dtc__txn_drive (and of txn.c's deliver and log_decision, which
     * release and re-take the lock around a push, a wait or a sync): the
     * lock is held on return unless re-taking it failed (the slot was
     * quarantined meanwhile), and `locked` says which.  Callers test
     * r->locked, never the result code, to know whether to unlock. */
    bool locked;
};

/* Preconditions (DTC_ASSERT, internal.h): r's ts_lock is held by this
 * thread; and (DRIVING) this thread drives the slot: it holds a driver
 * token.  That the slot still names that token (ts_driver) is shared
 * memory, re-checked at run time after every wait, never asserted. */
#define DTC_ASSERT_HELD(r) DTC_ASSERT((r)->locked && dtc__lock_held(&(r)->ts->ts_lock))
#define DTC_ASSERT_DRIVING(r) \
    DTC_ASSERT((r)->locked && dtc__lock_held(&(r)->ts->ts_lock) && (r)->token != 0)

/* All with ts_lock held (r->locked). */
bool dtc__txn_set_state(struct txn_ref *r, dtc_txn_state to);
dtc_result dtc__txn_drive(struct txn_ref *r, dtc_txn_state goal, dtc_result why);
void dtc__txn_release(struct txn_ref *r);
/* dtcd: a COMMITTED or ABORTED slot whose driver died before it was
 * freed, perhaps before its END record: the END (again), then freed. */
void dtc__txn_end_orphan(struct txn_ref *r);
/* coord.c, for the operator's calls too: finds the slot of `id` and
 * returns with its ts_lock held (r filled, r->locked, no token yet). */
/* txn.c: unlocks r's slot / re-takes its lock (DTC_ECORRUPT if it was
 * quarantined meanwhile), keeping r->locked true to what is held. */
void dtc__txn_unlock(struct txn_ref *r);
dtc_result dtc__txn_relock(struct txn_ref *r);
dtc_result dtc__txn_acquire(dtc_instance *in, const dtc_txid *id, struct txn_ref *r);
/* Whether live transaction id's commit decision is durable: its COMMIT
 * record synced (ts_dlsn is set only after the sync, or at replay).  A
 * slot turns COMMITTING before that: the one recovery rule must not
 * call it committed yet.  false if the slot is gone (ask again). */
bool dtc__txn_commit_durable(dtc_instance *in, const dtc_txid *id);
/* coord.c: ends a call (ts_lock held if r->locked): fills report (also
 * from a slot dtcd took over meanwhile), and if the slot is still ours
 * frees it once terminal and gives up the driver token; unlocks. */
dtc_result dtc__txn_end_call(struct txn_ref *r, dtc_result rc, dtc_txn_info *report);
/* txn.c, with ts_lock held, the slot COMMITTING and its COMMIT record
 * (ending at end) durable: records the decision as durable, arms phase
 * two for every voter and pushes it, the lock released (true); false,
 * the lock still held, if r->token no longer drives the slot or a
 * decision is recorded already.  t0: when the decision began.  Called by
 * the driver, or by the courier of its process (courier.c). */
bool dtc__txn_commit_deliver(struct txn_ref *r, uint64_t end, int64_t t0);
/* courier.c, with ts_lock held, the slot COMMITTING and its COMMIT
 * appended (ending at end, not yet durable): returns, the lock held
 * (r->locked says, as for dtc__txn_drive), once its phase two is
 * delivered (DTC_OK), by this thread or by the courier; DTC_ELOG if
 * this thread's sync failed (nothing delivered), DTC_EABORTED if the
 * slot was taken over, DTC_ECORRUPT if the wait ran out or the slot was
 * quarantined. */
dtc_result dtc__courier_commit(struct txn_ref *r, uint64_t end, int64_t t0);
/* A process-unique, non-zero driver token. */
uint64_t dtc__new_token(const dtc_instance *in);

#endif
