/*
 * lock.c - the one lock wrapper (LMDB style) and the repair of each kind
 * of slot after its lock holder died (EOWNERDEAD).  What each repair does
 * is written down in shm.h next to the lock order.  A slot that cannot be
 * repaired is quarantined: flagged, counted, reported, never reused.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

dtc_result dtc__lock(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                     void *obj)
{
    int rc = pthread_mutex_lock(m);
    if (rc == 0)
        return DTC_OK;
    if (rc != EOWNERDEAD) {
        dtc_log(DTC_LOG_ERROR, "lock_failed", NULL, NULL, "errno=%d", rc);
        return DTC_ECORRUPT;
    }
    dtc_log(DTC_LOG_WARN, "lock_owner_died", NULL, NULL, "action=repair");
    int ok = repair != NULL ? repair(in, obj) : 0;
    pthread_mutex_consistent(m);
    if (ok != 0) {
        pthread_mutex_unlock(m);
        return DTC_ECORRUPT;
    }
    return DTC_OK;
}

void dtc__unlock(pthread_mutex_t *m)
{
    pthread_mutex_unlock(m);
}

int dtc__cond_wait_until(dtc_instance *in, pthread_cond_t *c, pthread_mutex_t *m,
                         dtc__repair_fn repair, void *obj, int64_t abs_ns)
{
    struct timespec ts = {.tv_sec = abs_ns / 1000000000, .tv_nsec = abs_ns % 1000000000};
    int rc = pthread_cond_timedwait(c, m, &ts);
    if (rc == EOWNERDEAD) {
        dtc_log(DTC_LOG_WARN, "lock_owner_died", NULL, NULL, "action=repair where=wait");
        if (repair != NULL)
            repair(in, obj);
        pthread_mutex_consistent(m);
        rc = 0;
    }
    return rc;
}

/* A quarantined slot is never trusted: locking it fails.  Every lock
 * re-validates the slot (dtc__txn_check): a slot scribbled on while
 * nobody held its lock is quarantined by its first locker. */
dtc_result dtc__txn_lock(dtc_instance *in, struct dtc_txn_slot *ts)
{
    dtc_result rc = dtc__lock(in, &ts->ts_lock, dtc__txn_repair, ts);
    if (rc == DTC_OK && dtc__txn_check(in, ts) != 0) {
        dtc__unlock(&ts->ts_lock);
        return DTC_ECORRUPT;
    }
    if (rc == DTC_OK)
        dtc__fault("lock.txn");
    return rc;
}

/* Every lock re-validates the slot (dtc__part_repair): a bad ring is
 * emptied, a bad identity quarantined. */
/* dtc__repair_fn for dtc__txn_lock_any: a slot that fails repair is
 * quarantined, and still locked for the operator's look at it. */
static int repair_any(dtc_instance *in, void *ts)
{
    dtc__txn_repair(in, ts);
    return 0;
}

dtc_result dtc__txn_lock_any(dtc_instance *in, struct dtc_txn_slot *ts, bool *quarantined)
{
    dtc_result rc = dtc__lock(in, &ts->ts_lock, repair_any, ts);
    if (rc == DTC_OK)
        *quarantined = dtc__txn_check(in, ts) != 0;
    return rc;
}

dtc_result dtc__part_lock(dtc_instance *in, struct dtc_part_slot *ps)
{
    dtc_result rc = dtc__lock(in, &ps->ps_lock, dtc__part_repair, ps);
    if (rc == DTC_OK && dtc__part_repair(in, ps) != 0) {
        dtc__unlock(&ps->ps_lock);
        return DTC_ECORRUPT;
    }
    if (rc == DTC_OK)
        dtc__fault("lock.part");
    return rc;
}

dtc_result dtc__reg_lock(dtc_instance *in)
{
    dtc_result rc = dtc__lock(in, &in->hdr->sh_reg_lock, dtc__reg_repair, NULL);
    if (rc == DTC_OK)
        dtc__fault("lock.reg");
    return rc;
}

static bool str_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool entry_valid(const dtc_instance *in, const struct dtc_txn_entry *e)
{
    return e->te_part < in->max_participants && e->te_op < DTC_OP_COUNT
           && e->te_status < DTC_ENTRY_STATUS_COUNT && e->te_vote < DTC_ENTRY_STATUS_COUNT
           && e->te_enlist_status < DTC_ENTRY_STATUS_COUNT
           && e->te_payload_len <= DTC_PAYLOAD_MAX
           && str_terminated(e->te_name, sizeof e->te_name)
           && str_terminated(e->te_reason, sizeof e->te_reason)
           && str_terminated(e->te_vote_reason, sizeof e->te_vote_reason)
           && str_terminated(e->te_enlist_reason, sizeof e->te_enlist_reason)
           && str_terminated(e->te_payload, sizeof e->te_payload)
           && str_terminated(e->te_failed_reason, sizeof e->te_failed_reason);
}

static void note_corrupt(dtc_instance *in, const char *what)
{
    atomic_fetch_add(&in->hdr->sh_corrupt_slots, 1);
    dtc_log(DTC_LOG_ERROR, "quarantine", NULL, NULL, "slot=%s", what);
}

/* The one validation of a txn slot: every field a reader uses as a
 * count, index or string is in range of this process's own geometry. */
bool dtc__txn_valid(const dtc_instance *in, const struct dtc_txn_slot *ts)
{
    if (ts->ts_state >= DTC_TXN_STATE_COUNT || ts->ts_nentries > in->max_parts)
        return false;
    for (uint32_t i = 0; i < ts->ts_nentries; i++)
        if (!entry_valid(in, &ts->ts_entries[i]))
            return false;
    return true;
}

/* With ts_lock held: quarantines (flag, count, log, once) a slot that
 * fails dtc__txn_valid.  0 if sound, -1 if quarantined. */
int dtc__txn_check(dtc_instance *in, struct dtc_txn_slot *ts)
{
    if (ts->ts_flags & DTC_TS_QUARANTINED)
        return -1;
    if (dtc__txn_valid(in, ts))
        return 0;
    ts->ts_flags |= DTC_TS_QUARANTINED;
    note_corrupt(in, "txn");
    return -1;
}

/* Checks a txn slot's fields; recounts ts_pending.  0 if sound. */
int dtc__txn_repair(dtc_instance *in, void *obj)
{
    struct dtc_txn_slot *ts = obj;
    if (dtc__txn_check(in, ts) != 0)
        return -1;
    uint32_t pending = 0;
    for (uint32_t i = 0; i < ts->ts_nentries; i++)
        pending += ts->ts_entries[i].te_status == DTC_ENTRY_PENDING;
    ts->ts_pending = pending;
    return 0;
}

/* Checks a participant slot; an impossible ring is emptied.  0 if sound. */
int dtc__part_repair(dtc_instance *in, void *obj)
{
    struct dtc_part_slot *ps = obj;
    if (ps->ps_state == DTC_PS_QUARANTINED)
        return -1;
    if (ps->ps_state > DTC_PS_QUARANTINED || !str_terminated(ps->ps_name, sizeof ps->ps_name)) {
        ps->ps_state = DTC_PS_QUARANTINED;
        note_corrupt(in, "participant");
        return -1;
    }
    if (ps->ps_tail < ps->ps_head || ps->ps_tail - ps->ps_head > in->ring_cap) {
        dtc_log(DTC_LOG_WARN, "repair", NULL, ps->ps_name, "what=ring action=emptied");
        ps->ps_head = ps->ps_tail;
    }
    return 0;
}

/* Checks every participant slot's identity.  Always repairable: a bad
 * slot is quarantined on its own. */
int dtc__reg_repair(dtc_instance *in, void *unused)
{
    (void)unused;
    for (uint32_t i = 0; i < in->max_participants; i++) {
        struct dtc_part_slot *ps = dtc__part(in, i);
        if (ps->ps_state > DTC_PS_QUARANTINED
            || !str_terminated(ps->ps_name, sizeof ps->ps_name)) {
            ps->ps_state = DTC_PS_QUARANTINED;
            note_corrupt(in, "participant");
        }
    }
    return 0;
}
