/*
 * wake.c - the wake-up hand-off of a slot's condvar (struct dtc_wake).
 * The protocol is stated once, in shm.h under "Waking a sleeper"; what
 * a stuck or dead wk_lock means, under "No lock waits forever" and
 * "Repair on EOWNERDEAD".
 */
#include "internal.h"

/* wk_lock's holder died, maybe inside pthread_cond_broadcast holding the
 * condvar's internal lock: nobody signals until it is re-initialized. */
static int wake_repair(dtc_instance *in, void *obj)
{
    struct dtc_wake *w = obj;
    (void)in;
    atomic_store(&w->wk_suspect, DTC_WAKE_SUSPECT);
    dtc_log(DTC_LOG_WARN, "repair", NULL, NULL, "what=wake_lock action=condvar_suspect");
    return 0;
}

bool dtc__wake_claim(struct dtc_wake *w)
{
    DTC_ASSERT(dtc__locks_held() >= 1); /* the slot's */
    if (w->wk_sleepers == 0 || w->wk_sent)
        return false;
    w->wk_sent = 1;
    return true;
}

void dtc__wake_send(dtc_instance *in, struct dtc_wake *w, pthread_cond_t *c)
{
    DTC_ASSERT(dtc__locks_held() == 0); /* the slot's released first */
    if (atomic_load(&w->wk_suspect) == DTC_WAKE_STUCK)
        return; /* never waited on again; the sleeper's wait slice wakes it */
    bool timed_out;
    if (dtc__lock_timed(in, &w->wk_lock, wake_repair, w, &timed_out) != DTC_OK) {
        if (timed_out) /* held past the limit: its holder is gone for us */
            atomic_store(&w->wk_suspect, DTC_WAKE_STUCK);
        return; /* unrecoverable: the sleeper's wait slice wakes it */
    }
    dtc__fault("lock.wake");
    if (!atomic_load(&w->wk_suspect))
        pthread_cond_broadcast(c); /* one waiter, but see adopt() */
    dtc__unlock(&w->wk_lock);
}

void dtc__wake_renew(dtc_instance *in, struct dtc_wake *w, pthread_cond_t *c)
{
    DTC_ASSERT(dtc__locks_held() >= 1); /* the slot's */
    bool timed_out = false;
    if (atomic_load(&w->wk_suspect) == DTC_WAKE_STUCK
        || dtc__lock_within(in, &w->wk_lock, wake_repair, w, dtc__lock_limit_ns() / 2,
                            &timed_out) != DTC_OK) { /* the slot's lock held: half */
        /* Unrecoverable, or held past the limit (taken for dead): a fresh
         * one.  Its holder, should it ever run again, unlocks a mutex it
         * does not own (EPERM) and signals a fresh condvar: a spurious
         * wake-up. */
        if (timed_out)
            dtc_log(DTC_LOG_ERROR, "repair", NULL, NULL, "what=wake_lock action=reinit");
        dtc__mutex_init(&w->wk_lock);
        dtc__lock(in, &w->wk_lock, NULL, NULL);
    }
    dtc__cond_init(c);
    w->wk_sleepers = 0;
    w->wk_sent = 0;
    atomic_store(&w->wk_suspect, 0);
    dtc__unlock(&w->wk_lock);
}

int dtc__wake_wait(dtc_instance *in, struct dtc_wake *w, pthread_cond_t *c, pthread_mutex_t *m,
                   dtc__repair_fn repair, void *obj, int64_t abs_ns)
{
    DTC_ASSERT(dtc__lock_held(m));
    if (atomic_load(&w->wk_suspect) && w->wk_sleepers == 0)
        dtc__wake_renew(in, w, c); /* nobody waits on it: we are awake */
    int64_t slice = dtc__now_ns() + (int64_t)DTC_WAIT_SLICE_MS * 1000000;
    w->wk_sleepers++;
    int rc = dtc__cond_wait_until(in, c, m, repair, obj, slice < abs_ns ? slice : abs_ns);
    if (w->wk_sleepers > 0)
        w->wk_sleepers--;
    w->wk_sent = 0;
    return rc;
}
