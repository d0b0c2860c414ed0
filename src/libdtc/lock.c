/*
 * lock.c - the one lock wrapper every lock goes through, and the repair
 * of each kind of slot after its lock holder died (EOWNERDEAD).  What
 * each repair does is written down in shm.h next to the lock order.  A slot that cannot be
 * repaired is quarantined: flagged, counted, reported, never reused.
 *
 * No lock waits forever (shm.h, DTC_LOCK_LIMIT_MS): a holder that keeps a
 * lock past the limit is treated as dead without the kernel's word (its
 * robust list damaged, or stopped for good).  The locker gets
 * DTC_ECORRUPT; a txn or participant slot is quarantined and never waited
 * on again (its quarantine is peeked before every wait).
 *
 * Also the initializers of the segment's process-shared robust mutexes
 * and CLOCK_MONOTONIC condvars, and (built with DTC_ASSERTS) the record
 * of which locks this thread holds, for DTC_ASSERT(dtc__lock_held(m)),
 * which also asserts shm.h's lock order at every lock taken.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* DTC_LOCK_LIMIT_MS, or $DTC_LOCK_LIMIT_MS (1..DTC_LOCK_LIMIT_MAX_MS), read
 * once per process. */
int64_t dtc__lock_limit_ns(void)
{
    static _Atomic int64_t cached; /* 0: not read yet */
    int64_t ns = atomic_load_explicit(&cached, memory_order_relaxed);
    if (ns != 0)
        return ns;
    long ms = DTC_LOCK_LIMIT_MS;
    const char *s = getenv("DTC_LOCK_LIMIT_MS");
    if (s != NULL && *s != '\0') {
        char *end = NULL;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 1 && v <= DTC_LOCK_LIMIT_MAX_MS)
            ms = v;
        else
            dtc_log(DTC_LOG_WARN, "lock_limit", NULL, NULL,
                    "DTC_LOCK_LIMIT_MS=%.20s action=ignored want=1..%d limit_ms=%ld", s,
                    DTC_LOCK_LIMIT_MAX_MS, ms);
    }
    ns = (int64_t)ms * 1000000;
    atomic_store_explicit(&cached, ns, memory_order_relaxed);
    return ns;
}

int dtc__mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc;
}

int dtc__cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

/* ---- which locks this thread holds, and the lock order ------------------ */

/* The classes of shm.h's lock order.  LK_OTHER: a mutex this file does not
 * know (not checked). */
enum lock_class {
    LK_OTHER, LK_REG, LK_PS, LK_TS, LK_WAKE, LK_DLOG, LK_JOURNAL, LK_FLUSH, LK_OUT, LK_ALONE
};

#if DTC_ASSERTS
/* Which slot of an array m lies in (NULL if outside it). */
static char *slot_of(const pthread_mutex_t *m, char *base, uint32_t n, size_t size)
{
    const char *p = (const char *)m;
    if (size == 0 || p < base || p >= base + (size_t)n * size)
        return NULL;
    return base + (size_t)(p - base) / size * size;
}

static enum lock_class lock_class(const dtc_instance *in, const pthread_mutex_t *m)
{
    struct dtc_shm_header *h = in->hdr;
    if (m == &h->sh_reg_lock)
        return LK_REG;
    if (m == &h->sh_dlog_lock)
        return LK_DLOG;
    if (m == &h->sh_journal_lock)
        return LK_JOURNAL;
    if (m == &h->sh_dlog_flush_lock)
        return LK_FLUSH;
    if (m == &h->sh_dlog_out_lock)
        return LK_OUT;
    if (m == &h->sh_sup_lock)
        return LK_ALONE;
    struct dtc_txn_slot *ts = (struct dtc_txn_slot *)slot_of(
        m, (char *)h + in->txn_off, in->max_txns, in->txn_slot_size);
    if (ts != NULL)
        return m == &ts->ts_lock ? LK_TS : m == &ts->ts_wake.wk_lock ? LK_WAKE : LK_OTHER;
    struct dtc_part_slot *ps = (struct dtc_part_slot *)slot_of(
        m, (char *)h + in->part_off, in->max_participants, in->part_slot_size);
    if (ps != NULL)
        return m == &ps->ps_lock ? LK_PS : m == &ps->ps_wake.wk_lock ? LK_WAKE : LK_OTHER;
    return LK_OTHER;
}

/* May a lock of class c be taken while one of class held is held?  The
 * order of shm.h: sh_reg_lock, then one ps_lock, then that slot's wk_lock;
 * a ts_lock with nothing held, then its wk_lock or sh_dlog_lock; wk_lock
 * is a leaf; sh_journal_lock with nothing held, then sh_dlog_lock;
 * sh_dlog_out_lock under sh_dlog_lock or sh_dlog_flush_lock (or what
 * those are under), and nothing under it; sh_sup_lock and
 * sh_dlog_flush_lock are taken with nothing held. */
static bool order_allows(enum lock_class held, enum lock_class c)
{
    if (held == LK_OTHER || c == LK_OTHER)
        return true;
    switch (c) {
    case LK_PS: return held == LK_REG;
    case LK_WAKE: return held == LK_REG || held == LK_PS || held == LK_TS;
    case LK_DLOG: return held == LK_TS || held == LK_JOURNAL;
    case LK_OUT:
        return held == LK_DLOG || held == LK_FLUSH || held == LK_TS || held == LK_JOURNAL;
    default: return false; /* LK_REG, LK_TS, LK_JOURNAL, LK_FLUSH, LK_ALONE: with nothing held */
    }
}

#define HELD_MAX 8 /* the lock order nests at most three */
static _Thread_local const pthread_mutex_t *held[HELD_MAX];
static _Thread_local enum lock_class held_class[HELD_MAX];
static _Thread_local unsigned nheld;
static _Thread_local bool held_lost; /* more than HELD_MAX: cannot tell */

/* Records m as held; a lock taken against the lock order is a bug
 * (DTC_ASSERT: abort) even when it did not deadlock this time. */
static void held_add(const dtc_instance *in, const pthread_mutex_t *m)
{
    enum lock_class c = lock_class(in, m);
    for (unsigned i = 0; i < nheld; i++)
        DTC_ASSERT(order_allows(held_class[i], c)); /* shm.h's LOCK ORDER */
    if (nheld < HELD_MAX) {
        held_class[nheld] = c;
        held[nheld++] = m;
    } else {
        held_lost = true;
    }
}

static void held_drop(const pthread_mutex_t *m)
{
    for (unsigned i = nheld; i-- > 0;)
        if (held[i] == m) {
            nheld--;
            held[i] = held[nheld];
            held_class[i] = held_class[nheld];
            return;
        }
}

bool dtc__lock_held(const pthread_mutex_t *m)
{
    for (unsigned i = 0; i < nheld; i++)
        if (held[i] == m)
            return true;
    return held_lost;
}

unsigned dtc__locks_held(void)
{
    return held_lost ? HELD_MAX + 1 : nheld;
}
#else
#define held_add(in, m) ((void)(in), (void)(m))
#define held_drop(m) ((void)(m))
#endif

/* Which lock m is, for the log. */
static const char *lock_name(const dtc_instance *in, const pthread_mutex_t *m)
{
    const struct dtc_shm_header *h = in->hdr;
    if (m == &h->sh_reg_lock)
        return "registry";
    if (m == &h->sh_dlog_lock)
        return "dlog";
    if (m == &h->sh_sup_lock)
        return "supervisor";
    if (m == &h->sh_dlog_flush_lock)
        return "dlog_flush";
    if (m == &h->sh_dlog_out_lock)
        return "dlog_out";
    if (m == &h->sh_journal_lock)
        return "journal";
    return "slot";
}

/* m came back EOWNERDEAD, held: repair(in, obj) then mark it consistent.
 * DTC_OK (held) or DTC_ECORRUPT (repair failed: released). */
static dtc_result owner_died(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                             void *obj)
{
    dtc_log(DTC_LOG_WARN, "lock_owner_died", NULL, NULL, "lock=%s action=repair",
            lock_name(in, m));
    held_add(in, m); /* the repair runs with it held */
    int ok = repair != NULL ? repair(in, obj) : 0;
    pthread_mutex_consistent(m);
    if (ok != 0) {
        held_drop(m);
        pthread_mutex_unlock(m);
        return DTC_ECORRUPT;
    }
    return DTC_OK;
}

dtc_result dtc__lock_try(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                         void *obj)
{
    DTC_ASSERT(!in->readonly); /* a PROT_READ mapping: a lock would fault */
    int rc = pthread_mutex_trylock(m);
    if (rc == 0) {
        held_add(in, m);
        return DTC_OK;
    }
    if (rc == EBUSY)
        return DTC_EBUSY;
    if (rc == EOWNERDEAD)
        return owner_died(in, m, repair, obj);
    dtc_log(DTC_LOG_ERROR, "lock_failed", NULL, NULL, "lock=%s errno=%d", lock_name(in, m), rc);
    return DTC_ECORRUPT;
}

/* The lock is busy (rc from the trylock): waits for it at most limit ns
 * (0: the process's limit, read only now).  Out of line, so that the
 * uncontended path stays a trylock and a return. */
__attribute__((noinline)) static dtc_result lock_wait(dtc_instance *in, pthread_mutex_t *m,
                                                      dtc__repair_fn repair, void *obj,
                                                      int64_t limit, bool *timed_out, int rc)
{
    if (limit == 0)
        limit = dtc__lock_limit_ns();
    if (rc == EBUSY) {
        struct timespec abs;
        clock_gettime(CLOCK_MONOTONIC, &abs);
        abs.tv_sec += (time_t)(limit / 1000000000);
        abs.tv_nsec += (long)(limit % 1000000000);
        if (abs.tv_nsec >= 1000000000L) {
            abs.tv_sec++;
            abs.tv_nsec -= 1000000000L;
        }
        rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &abs);
    }
    if (rc == 0) {
        held_add(in, m);
        return DTC_OK;
    }
    if (rc == ETIMEDOUT) {
        dtc_log(DTC_LOG_ERROR, "lock_timeout", NULL, NULL, "lock=%s limit_ms=%lld",
                lock_name(in, m), (long long)(limit / 1000000));
        if (timed_out != NULL)
            *timed_out = true;
        return DTC_ECORRUPT;
    }
    if (rc != EOWNERDEAD) {
        dtc_log(DTC_LOG_ERROR, "lock_failed", NULL, NULL, "lock=%s errno=%d",
                lock_name(in, m), rc);
        return DTC_ECORRUPT;
    }
    return owner_died(in, m, repair, obj);
}

/* The uncontended case first: no clock read, no deadline. */
static inline dtc_result lock_bounded(dtc_instance *in, pthread_mutex_t *m,
                                      dtc__repair_fn repair, void *obj, int64_t limit,
                                      bool *timed_out)
{
    DTC_ASSERT(!in->readonly); /* a PROT_READ mapping: a lock would fault */
    if (timed_out != NULL)
        *timed_out = false;
    int rc = pthread_mutex_trylock(m);
    if (__builtin_expect(rc == 0, 1)) {
        held_add(in, m);
        return DTC_OK;
    }
    return lock_wait(in, m, repair, obj, limit, timed_out, rc);
}

dtc_result dtc__lock_within(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                            void *obj, int64_t limit, bool *timed_out)
{
    DTC_ASSERT(limit > 0);
    return lock_bounded(in, m, repair, obj, limit, timed_out);
}

dtc_result dtc__lock_timed(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                           void *obj, bool *timed_out)
{
    return lock_bounded(in, m, repair, obj, 0, timed_out);
}

dtc_result dtc__lock(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                     void *obj)
{
    return lock_bounded(in, m, repair, obj, 0, NULL);
}

void dtc__unlock(pthread_mutex_t *m)
{
    DTC_ASSERT(dtc__lock_held(m));
    held_drop(m);
    pthread_mutex_unlock(m);
}

int dtc__cond_wait_until(dtc_instance *in, pthread_cond_t *c, pthread_mutex_t *m,
                         dtc__repair_fn repair, void *obj, int64_t abs_ns)
{
    DTC_ASSERT(dtc__lock_held(m));
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

static void note_corrupt(dtc_instance *in, const char *what);

/* Unlocked peeks (atomic, of a plain field): a slot flagged so is never
 * waited on.  The flags are set under the slot's lock but for
 * DTC_TS_LOCK_STUCK, which is set by whoever timed out on it. */
static uint32_t txn_flags_peek(const struct dtc_txn_slot *ts)
{
    return __atomic_load_n(&ts->ts_flags, __ATOMIC_ACQUIRE);
}

/* The lock of ts was held past the limit: quarantine it without the lock
 * (the holder is gone for all we know), counted once. */
static void txn_stuck(dtc_instance *in, struct dtc_txn_slot *ts)
{
    uint32_t old = __atomic_fetch_or(&ts->ts_flags, DTC_TS_QUARANTINED | DTC_TS_LOCK_STUCK,
                                     __ATOMIC_ACQ_REL);
    if (!(old & DTC_TS_QUARANTINED))
        note_corrupt(in, "txn");
}

/* Locks ts (its caller peeked its flags first); a lock held past the
 * limit quarantines the slot. */
static dtc_result txn_lock_bounded(dtc_instance *in, struct dtc_txn_slot *ts,
                                   dtc__repair_fn repair)
{
    bool timed_out;
    dtc_result rc = dtc__lock_timed(in, &ts->ts_lock, repair, ts, &timed_out);
    if (timed_out)
        txn_stuck(in, ts);
    return rc;
}

/* A quarantined slot is never trusted: locking it fails.  Every lock
 * re-validates the slot (dtc__txn_check): a slot scribbled on while
 * nobody held its lock is quarantined by its first locker. */
dtc_result dtc__txn_lock(dtc_instance *in, struct dtc_txn_slot *ts)
{
    if (txn_flags_peek(ts) & DTC_TS_QUARANTINED)
        return DTC_ECORRUPT; /* never trusted, never waited on */
    dtc_result rc = txn_lock_bounded(in, ts, dtc__txn_repair);
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
    if (txn_flags_peek(ts) & DTC_TS_LOCK_STUCK)
        return DTC_ECORRUPT; /* its lock is never waited on again */
    dtc_result rc = txn_lock_bounded(in, ts, repair_any);
    if (rc == DTC_OK)
        *quarantined = dtc__txn_check(in, ts) != 0;
    return rc;
}

dtc_result dtc__part_lock(dtc_instance *in, struct dtc_part_slot *ps)
{
    if (__atomic_load_n(&ps->ps_state, __ATOMIC_ACQUIRE) == DTC_PS_QUARANTINED)
        return DTC_ECORRUPT; /* never trusted, never waited on */
    bool timed_out;
    dtc_result rc = dtc__lock_timed(in, &ps->ps_lock, dtc__part_repair, ps, &timed_out);
    if (timed_out) {
        /* Quarantined without its locks (the holder is gone for all we
         * know): the one write of ps_state without both. */
        if (__atomic_exchange_n(&ps->ps_state, DTC_PS_QUARANTINED, __ATOMIC_ACQ_REL)
            != DTC_PS_QUARANTINED)
            note_corrupt(in, "participant");
        return DTC_ECORRUPT;
    }
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

/* Whether s holds a NUL within size bytes.  Its last byte first: writers
 * write bounded strings into zeroed fields, so that byte is NUL in every
 * string not scribbled on, and one read answers. */
static bool str_terminated(const char *s, size_t size)
{
    return s[size - 1] == '\0' || memchr(s, '\0', size - 1) != NULL;
}

/* The full check of an entry: every field a reader uses as an index,
 * count or string in range. */
static bool entry_valid_full(const dtc_instance *in, const struct dtc_txn_entry *e)
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

#define LAST(field) ((unsigned char)(field)[sizeof(field) - 1])

/* entry_valid_full's answer, cheaply: this runs at every lock of a txn
 * slot, for every entry.  Writers write bounded strings into a zeroed
 * entry, so each string's last byte stays NUL: when every bound holds and
 * every last byte is NUL the entry is sound (a NUL within each string),
 * found with a few reads and no branch per field.  Anything else (a
 * scribble, or a string whose last byte is not NUL but which has a NUL
 * earlier) gets the full check, which decides. */
static bool entry_valid(const dtc_instance *in, const struct dtc_txn_entry *e)
{
    unsigned last = LAST(e->te_name) | LAST(e->te_reason) | LAST(e->te_vote_reason)
                    | LAST(e->te_enlist_reason) | LAST(e->te_payload) | LAST(e->te_failed_reason);
    bool bounded = (e->te_part < in->max_participants) & (e->te_op < DTC_OP_COUNT)
                   & (e->te_status < DTC_ENTRY_STATUS_COUNT)
                   & (e->te_vote < DTC_ENTRY_STATUS_COUNT)
                   & (e->te_enlist_status < DTC_ENTRY_STATUS_COUNT)
                   & (e->te_payload_len <= DTC_PAYLOAD_MAX);
    if (__builtin_expect(bounded && last == 0, 1))
        return true;
    return entry_valid_full(in, e);
}

/* Logged before counted: whoever sees the count can find the line. */
static void note_corrupt(dtc_instance *in, const char *what)
{
    dtc_log(DTC_LOG_ERROR, "quarantine", NULL, NULL, "slot=%s", what);
    atomic_fetch_add(&in->hdr->sh_corrupt_slots, 1);
}

/* The one validation of a txn slot: every field a reader uses as a
 * count, index or string is in range of this process's own geometry. */
static inline bool txn_valid(const dtc_instance *in, const struct dtc_txn_slot *ts)
{
    uint32_t n = ts->ts_nentries; /* read once: the loop's bound is the checked value */
    if (ts->ts_state >= DTC_TXN_STATE_COUNT || n > in->max_parts)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!entry_valid(in, &ts->ts_entries[i]))
            return false;
    return true;
}

bool dtc__txn_valid(const dtc_instance *in, const struct dtc_txn_slot *ts)
{
    return txn_valid(in, ts);
}

/* With ts_lock held: quarantines (flag, count, log, once) a slot that
 * fails dtc__txn_valid.  0 if sound, -1 if quarantined. */
int dtc__txn_check(dtc_instance *in, struct dtc_txn_slot *ts)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    if (ts->ts_flags & DTC_TS_QUARANTINED)
        return -1;
    if (txn_valid(in, ts)) /* inlined: it runs at every lock */
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
