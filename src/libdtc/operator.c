/*
 * operator.c - the operator's calls (dtcctl retry, resolve): they take a
 * slot whoever began it, but never from a live driver, and may end a
 * HEURISTIC transaction either way; resolve --rollback also rescues what
 * can still be read of a quarantined slot (shm.h, "Repair on
 * EOWNERDEAD").
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dlog.h"
#include "txn.h"

/* Operator calls: they take the slot whoever began it, but never from a
 * live driver. */
static dtc_result operator_call(dtc_instance *in, const dtc_txid *id, struct txn_ref *r)
{
    dtc_result rc = dtc__txn_acquire(in, id, r);
    if (rc != DTC_OK)
        return rc;
    r->token = dtc__new_token(in);
    r->dlog_flags = DTC_DLOG_F_OPERATOR;
    pid_t driver = (pid_t)(r->ts->ts_driver >> 32);
    if (r->ts->ts_driver != 0 && kill(driver, 0) != 0) {
        /* an operator killed mid-call: forget it and its wait */
        r->ts->ts_driver = 0;
        dtc__wake_renew(in, &r->ts->ts_wake, &r->ts->ts_cond);
    }
    return DTC_OK;
}

/* With ts_lock held, no driver: the operator drives the slot and owns it,
 * so that dtcd does not adopt it from under the operator because its
 * first coordinator is gone; if the operator dies, dtcd adopts it and
 * carries the operator's decision (the slot's state) through. */
static void operator_take(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    r->ts->ts_driver = r->token;
    r->ts->ts_owner_pid = r->in->pid;
    r->ts->ts_owner_start = r->in->start_time;
    r->ts->ts_flags &= ~DTC_TS_ADOPTED;
    r->ts->ts_touch_ns = dtc__now_ns();
}

/* With ts_lock held: the operator's retry, on the record. */
static void log_retry(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    struct dtc__dlog_rec rec;
    uint64_t end;
    if (!dtc__dlog_on(r->in))
        return;
    dtc__dlog_rec_from_slot(r->in, r->ts, DTC_DLOG_RETRY, DTC_DLOG_F_OPERATOR, &rec);
    if (dtc__dlog_append(r->in, &rec, &end) != DTC_OK)
        dtc_log(DTC_LOG_WARN, "dlog_retry_lost", &rec.txid, NULL, NULL);
}

dtc_result dtc_retry_transaction(dtc_instance *in, const dtc_txid *id, dtc_txn_info *report)
{
    struct txn_ref r;
    dtc_result rc = operator_call(in, id, &r);
    if (rc != DTC_OK)
        return rc;
    struct dtc_txn_slot *ts = r.ts;
    dtc_log(DTC_LOG_WARN, "retry", id, NULL, "by=operator state=%s driver=%s",
            dtc_txn_state_name(ts->ts_state), ts->ts_driver != 0 ? "busy" : "none");
    log_retry(&r);
    if (ts->ts_driver != 0) { /* a driver waits: make its retries due now */
        for (uint32_t i = 0; i < dtc__txn_nentries(in, ts); i++)
            if (ts->ts_entries[i].te_next_retry_ns != 0)
                ts->ts_entries[i].te_next_retry_ns = 1;
        bool wake = dtc__wake_claim(&ts->ts_wake);
        if (report != NULL)
            dtc__txn_info_fill(in, ts, report);
        dtc__unlock(&ts->ts_lock);
        if (wake)
            dtc__wake_send(in, &ts->ts_wake, &ts->ts_cond);
        return DTC_OK;
    }
    if (ts->ts_state != DTC_TXN_HEURISTIC) {
        dtc__unlock(&ts->ts_lock);
        return DTC_ESTATE;
    }
    operator_take(&r);
    return dtc__txn_end_call(&r, dtc__txn_drive(&r, DTC_TXN_ABORTED, DTC_OK), report);
}

/* ---- an operator's rollback of a quarantined slot (shm.h, repair) ------ */

/* What can still be read safely of one entry of a quarantined slot. */
struct rescued {
    char name[DTC_NAME_MAX];
    char payload[DTC_PAYLOAD_MAX + 1];
    uint8_t vote;
    uint32_t part, pgen;
    bool found;
};

/* Finds the quarantined slot of `id`, locked (dtc__txn_lock_any). */
static dtc_result find_quarantined(dtc_instance *in, const dtc_txid *id, uint32_t *idx)
{
    for (uint32_t i = 0; i < in->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(in, i);
        bool q;
        if (!(ts->ts_flags & DTC_TS_QUARANTINED) || memcmp(ts->ts_txid, id->bytes, 16) != 0)
            continue; /* unlocked peek; re-checked under the lock */
        if (dtc__txn_lock_any(in, ts, &q) != DTC_OK)
            continue;
        if (q && memcmp(ts->ts_txid, id->bytes, 16) == 0) {
            *idx = i;
            return DTC_OK;
        }
        dtc__unlock(&ts->ts_lock);
    }
    return DTC_ENOTFOUND;
}

/* With the quarantined slot locked: copies out every entry to roll back.
 * -1 (too damaged) if an entry's name cannot be read as a valid name, or
 * the state says the commit was (or may have been) decided. */
static int rescue_read(dtc_instance *in, const struct dtc_txn_slot *ts, struct rescued *out,
                       uint32_t *n)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    uint32_t st = ts->ts_state;
    if (st >= DTC_TXN_STATE_COUNT || st == DTC_TXN_COMMITTING || st == DTC_TXN_COMMITTED)
        return -1;
    bool count_bad = ts->ts_nentries > in->max_parts;
    *n = 0;
    for (uint32_t i = 0; i < dtc__txn_nentries(in, ts); i++) {
        const struct dtc_txn_entry *e = &ts->ts_entries[i];
        if (count_bad && e->te_name[0] == '\0')
            continue; /* past the real entries (the count is unknown): unused */
        if (!dtc__name_safe(e->te_name, sizeof e->te_name))
            return -1;
        struct rescued *r = &out[(*n)++];
        memset(r, 0, sizeof *r);
        dtc__strcopy(r->name, e->te_name, sizeof r->name);
        if (memchr(e->te_payload, '\0', sizeof e->te_payload) != NULL)
            dtc__strcopy(r->payload, e->te_payload, sizeof r->payload);
        r->vote = e->te_vote < DTC_ENTRY_STATUS_COUNT ? e->te_vote : DTC_ENTRY_YES;
    }
    return 0;
}

/* With the quarantined slot locked and nobody else driving it: rebuilds
 * it from the rescued entries as a HEURISTIC transaction (new
 * generation: requests and drivers of the damaged one are stale). */
static void rescue_rebuild(dtc_instance *in, struct dtc_txn_slot *ts, const struct rescued *res,
                           uint32_t n)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    ts->ts_gen++;
    ts->ts_nentries = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct dtc_txn_entry *e = &ts->ts_entries[i];
        memset(e, 0, sizeof *e);
        e->te_part = res[i].found ? res[i].part : 0;
        e->te_part_gen = res[i].found ? res[i].pgen : 0; /* 0: never a live slot's */
        e->te_op = DTC_OP_ROLLBACK;
        e->te_status = res[i].found ? DTC_ENTRY_IDLE : DTC_ENTRY_DEAD;
        e->te_vote = res[i].vote;
        dtc__strcopy(e->te_name, res[i].name, sizeof e->te_name);
        dtc__strcopy(e->te_payload, res[i].payload, sizeof e->te_payload);
        e->te_payload_len = (uint16_t)strlen(e->te_payload);
        snprintf(e->te_reason, sizeof e->te_reason, "slot was quarantined");
    }
    ts->ts_nentries = n;
    ts->ts_pending = 0;
    ts->ts_result = DTC_ECORRUPT;
    ts->ts_driver = 0;
    ts->ts_deadline_ns = 0;
    ts->ts_dlsn = 0;
    ts->ts_dtype = 0;
    if (ts->ts_rollback_ms == 0 || ts->ts_rollback_ms > DTC_TIMEOUT_MAX_MS)
        ts->ts_rollback_ms = 30000;
    if (ts->ts_max_retries > DTC_RETRIES_MAX)
        ts->ts_max_retries = 3;
    ts->ts_flags &= DTC_TS_COMMIT_FAILED;
    dtc__wake_renew(in, &ts->ts_wake, &ts->ts_cond);
    ts->ts_state = DTC_TXN_HEURISTIC;
    ts->ts_flags &= ~DTC_TS_QUARANTINED; /* last */
    uint32_t c = atomic_load(&in->hdr->sh_corrupt_slots);
    while (c > 0 && !atomic_compare_exchange_weak(&in->hdr->sh_corrupt_slots, &c, c - 1))
        ;
}

/* dtc_resolve_transaction(.., rollback) of a quarantined slot: reads what
 * it safely can (names, payloads), looks the participants up without the
 * slot's lock, waits until no live driver sleeps on the slot (each leaves
 * within a wait slice: its re-check finds the slot quarantined), then
 * rebuilds the slot as HEURISTIC and resolves it as usual: rolled back at
 * every participant, freed only once all acknowledged (else it stays
 * HEURISTIC, sound now, for the next retry).  A slot too damaged to read
 * stays quarantined: DTC_ECORRUPT. */
static dtc_result resolve_quarantined(dtc_instance *in, const dtc_txid *id, dtc_txn_info *report)
{
    struct rescued res[DTC_LIMIT_MAX_PARTS_PER_TXN];
    uint32_t idx, n = 0;
    dtc_result rc = find_quarantined(in, id, &idx);
    if (rc != DTC_OK)
        return rc == DTC_ENOTFOUND ? DTC_ECORRUPT : rc;
    struct dtc_txn_slot *ts = dtc__txn(in, idx);
    uint32_t gen = ts->ts_gen;
    bool readable = rescue_read(in, ts, res, &n) == 0;
    if (report != NULL)
        dtc__txn_info_fill(in, ts, report);
    dtc__unlock(&ts->ts_lock);
    if (!readable) {
        dtc_log(DTC_LOG_ERROR, "resolve_refused", id, NULL,
                "slot=%u why=quarantined_unreadable what=\"state or a participant name\"", idx);
        return DTC_ECORRUPT;
    }
    DTC_ASSERT(dtc__locks_held() == 0); /* no slot lock held: lock order */
    for (uint32_t i = 0; i < n; i++)
        res[i].found = dtc__part_find(in, res[i].name, &res[i].part, &res[i].pgen) == DTC_OK;
    for (int tries = 0;; tries++) {
        bool q;
        if (dtc__txn_lock_any(in, ts, &q) != DTC_OK)
            return DTC_ECORRUPT;
        if (!q || ts->ts_gen != gen || memcmp(ts->ts_txid, id->bytes, 16) != 0) {
            dtc__unlock(&ts->ts_lock);
            return DTC_ESTATE; /* someone else resolved it meanwhile */
        }
        /* a live driver asleep on it leaves within one slice; a count
         * still there after two is a dead waiter's */
        if (ts->ts_wake.wk_sleepers == 0 || tries >= 3)
            break;
        dtc__unlock(&ts->ts_lock);
        struct timespec t = {0, DTC_WAIT_SLICE_MS * 1000000L};
        nanosleep(&t, NULL);
    }
    rescue_rebuild(in, ts, res, n);
    dtc_log(DTC_LOG_WARN, "resolve", id, NULL, "outcome=rollback slot=%u was=quarantined entries=%u",
            idx, n);
    struct txn_ref r = {in, ts, idx, ts->ts_gen, dtc__new_token(in), DTC_DLOG_F_OPERATOR, true};
    operator_take(&r);
    rc = dtc__txn_drive(&r, DTC_TXN_ABORTED, DTC_OK);
    return dtc__txn_end_call(&r, rc, report);
}

/* With ts_lock held on a HEURISTIC slot: whether every participant is
 * prepared (voted yes and was not rolled back since; a read-only voter
 * is left out), the only case in
 * which an operator's commit may be sent; if not, logs who is not. */
static bool all_prepared(const struct txn_ref *r, const dtc_txid *id)
{
    DTC_ASSERT_HELD(r);
    char who[512] = "";
    size_t len = 0;
    uint32_t n = dtc__txn_nentries(r->in, r->ts);
    for (uint32_t i = 0; i < n; i++) {
        const struct dtc_txn_entry *e = &r->ts->ts_entries[i];
        if (e->te_vote == DTC_ENTRY_READONLY || dtc__prepared(e->te_vote, e->te_op, e->te_status))
            continue; /* a read-only voter is out of the transaction */
        const char *vote = e->te_vote < DTC_ENTRY_STATUS_COUNT && e->te_vote != DTC_ENTRY_IDLE
                               ? dtc_entry_status_name((dtc_entry_status)e->te_vote) : "none";
        int k = snprintf(who + len, sizeof who - len, "%s%.*s(%s%s)", len ? "," : "",
                         DTC_NAME_MAX - 1, e->te_name, e->te_vote == DTC_ENTRY_YES ? "" : "vote=",
                         e->te_vote == DTC_ENTRY_YES ? "rolled_back" : vote);
        len = k > 0 && (size_t)k < sizeof who - len ? len + (size_t)k : sizeof who - 1;
    }
    if (len == 0)
        return true;
    dtc_log(DTC_LOG_WARN, "resolve_refused", id, NULL,
            "outcome=commit result=DTC_ENOTPREPARED not_prepared=%s", who);
    return false;
}

dtc_result dtc_resolve_transaction(dtc_instance *in, const dtc_txid *id, int commit,
                                   dtc_txn_info *report)
{
    struct txn_ref r;
    dtc_result rc = operator_call(in, id, &r);
    if (rc == DTC_ECORRUPT && !commit)
        return resolve_quarantined(in, id, report);
    if (rc != DTC_OK)
        return rc;
    if (r.ts->ts_state != DTC_TXN_HEURISTIC || r.ts->ts_driver != 0) {
        dtc__unlock(&r.ts->ts_lock);
        return DTC_ESTATE;
    }
    if (commit && !all_prepared(&r, id)) {
        if (report != NULL)
            dtc__txn_info_fill(in, r.ts, report);
        dtc__unlock(&r.ts->ts_lock);
        return DTC_ENOTPREPARED; /* nothing sent */
    }
    operator_take(&r);
    dtc_log(DTC_LOG_WARN, "resolve", id, NULL, "outcome=%s", commit ? "commit" : "rollback");
    rc = dtc__txn_drive(&r, commit ? DTC_TXN_COMMITTED : DTC_TXN_ABORTED, DTC_OK);
    return dtc__txn_end_call(&r, rc, report);
}
