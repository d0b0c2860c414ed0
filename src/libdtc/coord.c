/*
 * coord.c - the coordinator API: begin, enlist, prepare, commit,
 * rollback, status (the operator's calls are in operator.c).  Finds the
 * slot, checks the call against the slot's state, installs this thread
 * as the slot's driver (one waiter per condvar) and hands over to the
 * state machine in txn.c.
 */
#include <stdlib.h>
#include <string.h>

#include "dlog.h"
#include "txn.h"

/* The slot this thread last found or began: begin, enlist and commit of
 * one transaction then need no scan of the table. */
static _Thread_local struct {
    uint64_t serial;
    uint32_t idx;
    unsigned char txid[16];
} slot_hint;

static void hint_set(const dtc_instance *in, uint32_t idx, const dtc_txid *id)
{
    slot_hint.serial = in->serial;
    slot_hint.idx = idx;
    memcpy(slot_hint.txid, id->bytes, 16);
}

void dtc_txn_options_default(dtc_txn_options *o)
{
    o->prepare_timeout_ms = 5000;
    o->commit_timeout_ms = 5000;
    o->rollback_timeout_ms = 5000;
    o->max_retries = 8; /* with the backoff: about 3 s, a restart's time */
}

static bool options_ok(const dtc_txn_options *o)
{
    const uint32_t cap = DTC_TIMEOUT_MAX_MS;
    return o->prepare_timeout_ms > 0 && o->prepare_timeout_ms <= cap
           && o->commit_timeout_ms > 0 && o->commit_timeout_ms <= cap
           && o->rollback_timeout_ms > 0 && o->rollback_timeout_ms <= cap
           && o->max_retries <= DTC_RETRIES_MAX;
}

/* With ts_lock held on a FREE slot: makes it ours. */
static void claim(dtc_instance *in, struct dtc_txn_slot *ts, const dtc_txid *id,
                  const dtc_txn_options *o)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    ts->ts_gen++;
    ts->ts_flags = 0;
    ts->ts_nentries = 0;
    ts->ts_pending = 0;
    ts->ts_result = DTC_OK;
    memcpy(ts->ts_txid, id->bytes, sizeof ts->ts_txid);
    ts->ts_owner_pid = in->pid;
    ts->ts_owner_start = in->start_time;
    ts->ts_driver = 0;
    ts->ts_begin_ns = ts->ts_touch_ns = dtc__now_ns();
    ts->ts_deadline_ns = 0;
    ts->ts_prepare_ms = o->prepare_timeout_ms;
    ts->ts_commit_ms = o->commit_timeout_ms;
    ts->ts_rollback_ms = o->rollback_timeout_ms;
    ts->ts_max_retries = o->max_retries;
    ts->ts_dlsn = 0; /* nothing logged for this transaction yet */
    ts->ts_dtype = 0;
    ts->ts_adopt_why = 0;
    dtc__wake_renew(in, &ts->ts_wake, &ts->ts_cond); /* new owner: forget any dead waiter */
    ts->ts_state = DTC_TXN_ACTIVE; /* last: the slot is now in use */
}

dtc_result dtc_begin_transaction(dtc_instance *in, const dtc_txn_options *opts,
                                 dtc_txid *out)
{
    static _Thread_local uint32_t hint;
    dtc_txn_options dflt;
    if (in == NULL || out == NULL)
        return DTC_EINVAL;
    if (opts == NULL) {
        dtc_txn_options_default(&dflt);
        opts = &dflt;
    }
    if (!options_ok(opts))
        return DTC_EINVAL;
    if (atomic_load(&in->hdr->sh_shutdown))
        return DTC_ESHUTDOWN;
    dtc_result rc = dtc__recovering(in);
    if (rc != DTC_OK)
        return rc;
    dtc__txid_new(out);
    /* Two passes: a slot freed behind our scan is found on the second. */
    for (uint32_t k = 0; k < 2 * in->max_txns; k++) {
        uint32_t i = (hint + k) % in->max_txns;
        struct dtc_txn_slot *ts = dtc__txn(in, i);
        if (ts->ts_state != DTC_TXN_FREE || (ts->ts_flags & DTC_TS_QUARANTINED))
            continue; /* unlocked peek; re-checked under the lock */
        if (dtc__txn_lock(in, ts) != DTC_OK)
            continue;
        bool free_slot = ts->ts_state == DTC_TXN_FREE && !(ts->ts_flags & DTC_TS_QUARANTINED);
        if (free_slot)
            claim(in, ts, out, opts);
        dtc__unlock(&ts->ts_lock);
        if (!free_slot)
            continue;
        hint = i; /* next begin tries this slot first: ours again once freed */
        hint_set(in, i, out);
        atomic_fetch_add(&in->hdr->sh_begun, 1);
        dtc_log(DTC_LOG_INFO, "begin", out, NULL, "slot=%u prepare_timeout_ms=%u", i,
                opts->prepare_timeout_ms);
        dtc__fault("coord.after_begin");
        return DTC_OK;
    }
    static struct dtc__log_limit refused_limit;
    uint64_t held;
    if (dtc__log_allow(&refused_limit, &held))
        dtc_log(DTC_LOG_WARN, "begin_refused", NULL, NULL,
                "why=table_full max_txns=%u suppressed=%llu", in->max_txns,
                (unsigned long long)held);
    return DTC_ETXNFULL;
}

/* Locks slot i if it holds `id` (checked under the lock). */
static dtc_result try_slot(dtc_instance *in, uint32_t i, const dtc_txid *id, struct txn_ref *r)
{
    struct dtc_txn_slot *ts = dtc__txn(in, i);
    if (ts->ts_state == DTC_TXN_FREE || memcmp(ts->ts_txid, id->bytes, 16) != 0)
        return DTC_ENOTFOUND; /* unlocked peek; re-checked under the lock */
    if (dtc__txn_lock(in, ts) != DTC_OK)
        return DTC_ECORRUPT;
    if (ts->ts_state != DTC_TXN_FREE && memcmp(ts->ts_txid, id->bytes, 16) == 0) {
        *r = (struct txn_ref){in, ts, i, ts->ts_gen, 0, 0, true};
        return DTC_OK;
    }
    dtc__unlock(&ts->ts_lock);
    return DTC_ENOTFOUND;
}

dtc_result dtc__txn_acquire(dtc_instance *in, const dtc_txid *id, struct txn_ref *r)
{
    if (in == NULL || id == NULL)
        return DTC_EINVAL;
    if (slot_hint.serial == in->serial && slot_hint.idx < in->max_txns
        && memcmp(slot_hint.txid, id->bytes, 16) == 0
        && try_slot(in, slot_hint.idx, id, r) == DTC_OK)
        return DTC_OK;
    for (uint32_t i = 0; i < in->max_txns; i++) {
        dtc_result rc = try_slot(in, i, id, r);
        if (rc == DTC_OK)
            hint_set(in, i, id);
        if (rc != DTC_ENOTFOUND)
            return rc;
    }
    return DTC_ENOTFOUND;
}

/* What a call on a transaction that has ended answers (dtc.h): a commit
 * call (CALL_COMMIT) DTC_OK if it committed, else the outcome's result; a
 * rollback call DTC_OK if it was rolled back, DTC_ESTATE if it committed;
 * any other call DTC_ESTATE if it committed, else the outcome's result. */
enum call_kind { CALL_OTHER, CALL_COMMIT, CALL_ROLLBACK };

static dtc_result ended_answer(dtc_txn_state st, dtc_result cause, enum call_kind call)
{
    if (cause == DTC_OK)
        cause = DTC_EABORTED;
    switch (st) {
    case DTC_TXN_COMMITTED:
        return call == CALL_COMMIT ? DTC_OK : DTC_ESTATE;
    case DTC_TXN_ABORTED:
        return call == CALL_ROLLBACK ? DTC_OK : cause;
    case DTC_TXN_HEURISTIC:
        return DTC_EHEURISTIC;
    default:
        return DTC_EBUSY; /* still being finished */
    }
}

/* The slot of id is gone (DTC_ENOTFOUND): the answer from its outcome
 * in the decision log, and the report from it; DTC_ENOTFOUND if this
 * instance has no record of it. */
static dtc_result answer_from_log(dtc_instance *in, const dtc_txid *id, enum call_kind call,
                                  dtc_txn_info *report)
{
    dtc_outcome *o = malloc(sizeof *o);
    if (o == NULL)
        return DTC_ESYS;
    dtc_result rc = dtc_transaction_outcome(in, id, o);
    if (rc == DTC_OK) {
        rc = ended_answer(o->info.state, o->info.result, call);
        if (report != NULL)
            *report = o->info;
    }
    free(o);
    return rc;
}

/* Finds the slot and makes this thread its driver (lock held on return).
 * *done (the call's answer is rc, nothing to drive) when the slot is gone
 * (answered from the decision log), or when the supervisor took it over:
 * finished, the outcome answers and the slot is freed; still driven by
 * dtcd, DTC_EABORTED (rolling back) or DTC_EBUSY (committing).  The
 * report is filled whenever there is an outcome to tell. */
static dtc_result begin_call(dtc_instance *in, const dtc_txid *id, struct txn_ref *r,
                             enum call_kind call, dtc_txn_info *report, bool *done)
{
    *done = true;
    dtc_result rc = dtc__txn_acquire(in, id, r);
    if (rc == DTC_ENOTFOUND && call != CALL_OTHER)
        return answer_from_log(in, id, call, report);
    if (rc != DTC_OK)
        return rc;
    struct dtc_txn_slot *ts = r->ts;
    bool adopted = (ts->ts_flags & DTC_TS_ADOPTED) != 0;
    if (adopted && report != NULL)
        dtc__txn_info_fill(in, ts, report);
    if (ts->ts_driver != 0) {
        rc = adopted && ts->ts_state != DTC_TXN_COMMITTING ? DTC_EABORTED : DTC_EBUSY;
    } else if (adopted) {
        /* dtcd finished it while we were away: say how, free the slot */
        rc = ended_answer((dtc_txn_state)ts->ts_state, (dtc_result)ts->ts_result, call);
        dtc__txn_release(r);
    } else {
        *done = false;
        r->token = dtc__new_token(in);
        ts->ts_driver = r->token;
        ts->ts_touch_ns = dtc__now_ns();
        return DTC_OK;
    }
    dtc__unlock(&ts->ts_lock);
    return rc;
}

dtc_result dtc__txn_end_call(struct txn_ref *r, dtc_result rc, dtc_txn_info *report)
{
    DTC_ASSERT(!r->locked || dtc__lock_held(&r->ts->ts_lock));
    struct dtc_txn_slot *ts = r->ts;
    if (!r->locked) /* re-taking the lock failed (DTC_ECORRUPT) */
        return rc;
    /* Still ours: report and free it if it ended.  Taken over (dtcd
     * adopted it: DTC_EABORTED): report what the slot says, leave it. */
    if (report != NULL && ts->ts_gen == r->gen)
        dtc__txn_info_fill(r->in, ts, report);
    if (ts->ts_gen == r->gen && ts->ts_driver == r->token) {
        ts->ts_touch_ns = dtc__now_ns();
        dtc__txn_release(r);
    }
    dtc__txn_unlock(r);
    return rc;
}

static bool payload_ok(const void *payload, size_t len)
{
    return payload != NULL && memchr(payload, '\0', len) == NULL;
}

/* With ts_lock held and the driver token: appends the entry. */
static dtc_result add_entry(struct txn_ref *r, const char *name, uint32_t part,
                            uint32_t pgen, const void *payload, size_t len)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    if (ts->ts_state != DTC_TXN_ACTIVE)
        return DTC_ESTATE;
    /* One enlistment per participant: a second would be served as the
     * same transaction id and collapse into the first (bounded compare:
     * the slot's names are shared memory). */
    uint32_t n = ts->ts_nentries < r->in->max_parts ? ts->ts_nentries : r->in->max_parts;
    for (uint32_t k = 0; k < n; k++)
        if (strncmp(ts->ts_entries[k].te_name, name, sizeof ts->ts_entries[k].te_name) == 0)
            return DTC_EDUPLICATE;
    if (ts->ts_nentries >= r->in->max_parts)
        return DTC_EPARTFULL;
    struct dtc_txn_entry *e = &ts->ts_entries[ts->ts_nentries];
    memset(e, 0, sizeof *e);
    e->te_part = part;
    e->te_part_gen = pgen;
    e->te_op = DTC_OP_ENLIST;
    dtc__strcopy(e->te_name, name, sizeof e->te_name);
    memcpy(e->te_payload, payload, len);
    e->te_payload[len] = '\0';
    e->te_payload_len = (uint16_t)len;
    ts->ts_nentries++; /* last: the entry is complete */
    return DTC_OK;
}

/* Queues the enlist step without waking the participant: the prepare
 * that follows wakes it, and it runs both in one batch (FIFO keeps the
 * order).  A cached slot that changed owner is looked up once more. */
static dtc_result push_enlist(struct txn_ref *r, uint32_t entry, const char *name,
                              uint32_t part, uint32_t pgen, bool cached)
{
    struct dtc_ring_req rq = {r->gen, (uint16_t)r->idx, (uint8_t)entry, DTC_OP_ENLIST};
    dtc_result rc = dtc__part_push(r->in, part, pgen, &rq, false);
    if (rc != DTC_ENOTALIVE || !cached)
        return rc;
    dtc__part_forget(r->in, name);
    if ((rc = dtc__part_resolve(r->in, name, &part, &pgen, &cached)) != DTC_OK)
        return rc;
    if (dtc__txn_lock(r->in, r->ts) != DTC_OK)
        return DTC_ECORRUPT;
    r->ts->ts_entries[entry].te_part = part; /* ours: we hold the driver token */
    r->ts->ts_entries[entry].te_part_gen = pgen;
    dtc__unlock(&r->ts->ts_lock);
    return dtc__part_push(r->in, part, pgen, &rq, false);
}

dtc_result dtc_enlist(dtc_instance *in, const dtc_txid *id, const char *name,
                      const void *payload, size_t len)
{
    struct txn_ref r;
    uint32_t part, pgen;
    if (name == NULL || (len > 0 && payload == NULL))
        return DTC_EINVAL;
    if (strlen(name) >= DTC_NAME_MAX || len > DTC_PAYLOAD_MAX)
        return DTC_ETOOBIG;
    if (!dtc__name_valid(name) || (len > 0 && !payload_ok(payload, len)))
        return DTC_EINVAL;
    bool cached;
    dtc_result rc = dtc__part_resolve(in, name, &part, &pgen, &cached);
    if (rc != DTC_OK)
        return rc;
    bool done;
    if ((rc = begin_call(in, id, &r, CALL_OTHER, NULL, &done)) != DTC_OK || done)
        return rc;
    rc = add_entry(&r, name, part, pgen, len ? payload : "", len);
    bool added = rc == DTC_OK;
    uint32_t entry = dtc__txn_nentries(in, r.ts) - 1; /* used only if added */
    dtc__unlock(&r.ts->ts_lock);
    if (rc == DTC_OK)
        rc = push_enlist(&r, entry, name, part, pgen, cached);
    if (dtc__txn_lock(in, r.ts) != DTC_OK)
        return DTC_ECORRUPT;
    if (rc != DTC_OK && added && r.ts->ts_gen == r.gen && r.ts->ts_nentries == entry + 1)
        r.ts->ts_nentries--; /* the push failed: the entry never existed */
    if (r.ts->ts_gen == r.gen && r.ts->ts_driver == r.token)
        r.ts->ts_driver = 0;
    dtc__unlock(&r.ts->ts_lock);
    dtc_log(rc == DTC_OK ? DTC_LOG_INFO : DTC_LOG_WARN, "enlist", id, name,
            "result=%s payload_len=%zu", dtc_result_name(rc), len);
    if (rc == DTC_OK)
        dtc__fault("coord.after_enlist");
    return rc;
}

dtc_result dtc_prepare_transaction(dtc_instance *in, const dtc_txid *id,
                                   dtc_txn_info *report)
{
    struct txn_ref r;
    bool done;
    dtc_result rc = begin_call(in, id, &r, CALL_OTHER, report, &done);
    if (rc != DTC_OK || done)
        return rc;
    return dtc__txn_end_call(&r, dtc__txn_drive(&r, DTC_TXN_PREPARED, DTC_OK), report);
}

dtc_result dtc_commit_transaction(dtc_instance *in, const dtc_txid *id,
                                  dtc_txn_info *report)
{
    struct txn_ref r;
    bool done;
    dtc_result rc = begin_call(in, id, &r, CALL_COMMIT, report, &done);
    if (rc != DTC_OK || done)
        return rc;
    return dtc__txn_end_call(&r, dtc__txn_drive(&r, DTC_TXN_COMMITTED, DTC_OK), report);
}

dtc_result dtc_rollback_transaction(dtc_instance *in, const dtc_txid *id,
                                    dtc_txn_info *report)
{
    struct txn_ref r;
    bool done;
    dtc_result rc = begin_call(in, id, &r, CALL_ROLLBACK, report, &done);
    if (rc != DTC_OK || done)
        return rc;
    uint32_t st = r.ts->ts_state;
    if (st == DTC_TXN_COMMITTING || st == DTC_TXN_COMMITTED) {
        r.ts->ts_driver = 0; /* the commit decision stands */
        dtc__unlock(&r.ts->ts_lock);
        return DTC_ESTATE;
    }
    return dtc__txn_end_call(&r, dtc__txn_drive(&r, DTC_TXN_ABORTED, DTC_OK), report);
}

bool dtc__txn_commit_durable(dtc_instance *in, const dtc_txid *id)
{
    struct txn_ref r;
    if (!dtc__dlog_on(in))
        return true; /* no log: nothing is ever more durable than this */
    if (dtc__txn_acquire(in, id, &r) != DTC_OK)
        return false;
    bool durable = r.ts->ts_dlsn != 0 && r.ts->ts_dtype == DTC_DLOG_COMMIT;
    dtc__unlock(&r.ts->ts_lock);
    return durable;
}

dtc_result dtc_transaction_status(dtc_instance *in, const dtc_txid *id,
                                  dtc_txn_info *out)
{
    struct txn_ref r;
    if (out == NULL)
        return DTC_EINVAL;
    dtc_result rc = dtc__txn_acquire(in, id, &r);
    if (rc != DTC_OK)
        return rc;
    dtc__txn_info_fill(in, r.ts, out);
    dtc__unlock(&r.ts->ts_lock);
    return DTC_OK;
}
