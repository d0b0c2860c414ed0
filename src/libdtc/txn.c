/*
 * txn.c - the two-phase-commit state machine, driven by whoever holds a
 * transaction slot's driver token: a coordinator thread inside a dtc_*
 * call, or a dtcd thread that adopted the slot of a dead or stalled
 * coordinator.  Both run exactly this code.
 *
 *   FREE -> ACTIVE -> PREPARING -> PREPARED -> COMMITTING -> COMMITTED
 *             |          |            |            |
 *             +----------+------------+--> ABORTING <+ (commit failed:
 *                                            |        compensate all)
 *                                            +-> ABORTED | HEURISTIC
 *
 * COMMITTING is the decision: from there on the transaction commits at
 * every participant, retried with capped exponential backoff and jitter,
 * unless the commit timeout passes or the retries run out; then dtc
 * compensates: every participant is rolled back, including those that
 * committed (they undo their commit), and the result is DTC_ECOMMIT.  A
 * rollback that cannot reach a participant that promised (voted yes)
 * ends HEURISTIC: the slot is kept for an operator.  A participant that
 * never voted yes and is gone is presumed aborted (it holds nothing
 * durable; on restart it rolls back what it does not find here).
 *
 * Durability (dlog.h): the COMMIT decision, a compensation and a
 * HEURISTIC outcome are written to the decision log and synced (group
 * commit) before anything is sent that depends on them; the end of every
 * transaction is written unsynced.  One exception, by design: a
 * participant on the instance journal (its yes vote carried a journal
 * record) is told to commit as soon as the COMMIT is in the log, while
 * the group commit runs (commit_early: its commit record follows the
 * COMMIT in the same log, so a host crash loses both; docs/journal.md,
 * "Told early"); nobody is told "committed" before the COMMIT is durable.
 * The others hear it once the COMMIT is durable, from their driver or
 * from the thread of the driver's process that saw the sync (its
 * courier, courier.c: commit_grouped), whichever looks first.
 * A decision that cannot be logged is never acted upon by anyone else:
 * the slot goes HEURISTIC for an operator.
 *
 * The XA optimisations (docs/api.md, docs/failure-semantics.md):
 *   - A read-only vote (DTC_ENTRY_READONLY) leaves its participant out of
 *     phase two: no commit or rollback is ever armed for it.  If every
 *     vote is read-only the commit needs no decision record: nobody holds
 *     anything to commit or roll back (COMMITTING, nothing logged or sent,
 *     COMMITTED, the END unforced).
 *   - One-phase commit: a commit call on an ACTIVE transaction with one
 *     enlistment (DTC_TS_ONE_PHASE) runs the same two rounds, prepare then
 *     commit, with no decision record between: the single vote is the
 *     decision (yes commits, anything else rolls back), as with XA's
 *     xa_commit(TMONEPHASE), where the resource manager decides.  Nobody is
 *     told "committed" before the participant acknowledged its durable
 *     commit, so a lost decision (a host crash in COMMITTING) leaves only a
 *     prepared participant nobody was told about, which then presumes
 *     abort.  A yes vote carrying a journal record needs the COMMIT's sync
 *     (the record is not durable without it): that commit is logged as
 *     usual and is not one-phase.
 *
 * Locking: ts_lock (and the decision log's lock under it), as the lock
 * order in shm.h says; released before every push onto a participant
 * ring and across every wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlog.h"
#include "txn.h"

#define BACKOFF_BASE_MS 20
#define BACKOFF_CAP_MS 1000

static const uint16_t legal[DTC_TXN_STATE_COUNT] = {
    [DTC_TXN_FREE] = 1u << DTC_TXN_ACTIVE,
    [DTC_TXN_ACTIVE] = 1u << DTC_TXN_PREPARING | 1u << DTC_TXN_ABORTING,
    [DTC_TXN_PREPARING] = 1u << DTC_TXN_PREPARED | 1u << DTC_TXN_ABORTING,
    [DTC_TXN_PREPARED] = 1u << DTC_TXN_COMMITTING | 1u << DTC_TXN_ABORTING,
    [DTC_TXN_COMMITTING] = 1u << DTC_TXN_COMMITTED | 1u << DTC_TXN_ABORTING
                           | 1u << DTC_TXN_HEURISTIC, /* the log failed */
    [DTC_TXN_COMMITTED] = 1u << DTC_TXN_FREE,
    [DTC_TXN_ABORTING] = 1u << DTC_TXN_ABORTED | 1u << DTC_TXN_HEURISTIC,
    [DTC_TXN_ABORTED] = 1u << DTC_TXN_FREE,
    [DTC_TXN_HEURISTIC] = 1u << DTC_TXN_FREE | 1u << DTC_TXN_ABORTING
                          | 1u << DTC_TXN_COMMITTING, /* operator: retry, resolve */
};

bool dtc__txn_transition_ok(dtc_txn_state from, dtc_txn_state to)
{
    return (unsigned)from < DTC_TXN_STATE_COUNT && (unsigned)to < DTC_TXN_STATE_COUNT
           && (legal[from] >> to & 1u);
}

uint64_t dtc__new_token(const dtc_instance *in)
{
    static _Atomic uint32_t counter;
    return (uint64_t)(uint32_t)in->pid << 32 | (atomic_fetch_add(&counter, 1) + 1u);
}

static dtc_txid txid_of(const struct dtc_txn_slot *ts)
{
    dtc_txid id;
    memcpy(id.bytes, ts->ts_txid, sizeof id.bytes);
    return id;
}

/* With ts_lock held.  Refuses (and logs) an illegal transition. */
bool dtc__txn_set_state(struct txn_ref *r, dtc_txn_state to)
{
    DTC_ASSERT_HELD(r);
    struct dtc_txn_slot *ts = r->ts;
    dtc_txid id = txid_of(ts);
    if (!dtc__txn_transition_ok(ts->ts_state, to)) {
        dtc_log(DTC_LOG_ERROR, "illegal_transition", &id, NULL, "from=%s to=%s",
                dtc_txn_state_name(ts->ts_state), dtc_txn_state_name(to));
        return false;
    }
    dtc_log(DTC_LOG_INFO, "state", &id, NULL, "from=%s to=%s",
            dtc_txn_state_name(ts->ts_state), dtc_txn_state_name(to));
    ts->ts_state = to;
    return true;
}

static int64_t backoff_ns(uint32_t attempts)
{
    static _Thread_local unsigned seed;
    if (seed == 0)
        seed = (unsigned)dtc__now_ns() | 1u;
    uint32_t shift = attempts > 6 ? 6 : attempts;
    int64_t ms = (int64_t)BACKOFF_BASE_MS << shift;
    if (ms > BACKOFF_CAP_MS)
        ms = BACKOFF_CAP_MS;
    ms = ms / 2 + rand_r(&seed) % (ms / 2 + 1); /* jitter: [ms/2, ms] */
    return ms * 1000000;
}

/* One push to send after the lock is dropped. */
struct send {
    uint32_t entry, part, pgen;
    char name[DTC_NAME_MAX];
};

/* With ts_lock held: marks entry i PENDING for op and queues a send. */
static void arm(struct txn_ref *r, uint32_t i, dtc_op op, struct send *s, size_t *ns)
{
    DTC_ASSERT_HELD(r);
    struct dtc_txn_entry *e = &r->ts->ts_entries[i];
    e->te_op = (uint8_t)op;
    e->te_status = DTC_ENTRY_PENDING;
    e->te_attempts++;
    e->te_next_retry_ns = 0;
    r->ts->ts_pending++;
    s[*ns] = (struct send){i, e->te_part, e->te_part_gen, ""};
    memcpy(s[*ns].name, e->te_name, DTC_NAME_MAX);
    (*ns)++;
}

/* Without the lock: pushes each send.  A commit or rollback to a
 * participant that re-registered under its name goes to the new slot. */
static void push_all(struct txn_ref *r, dtc_op op, struct send *s, size_t ns)
{
    dtc_txid id = txid_of(r->ts);
    for (size_t k = 0; k < ns; k++) {
        struct dtc_ring_req rq = {r->gen, (uint16_t)r->idx, (uint8_t)s[k].entry, (uint8_t)op};
        dtc_result rc = dtc__part_push(r->in, s[k].part, s[k].pgen, &rq, true);
        uint32_t idx = s[k].part, gen = s[k].pgen;
        if (rc == DTC_ENOTALIVE && op != DTC_OP_PREPARE
            && dtc__part_find(r->in, s[k].name, &idx, &gen) == DTC_OK) {
            if (dtc__txn_lock(r->in, r->ts) != DTC_OK)
                return;
            struct dtc_txn_entry *e = &r->ts->ts_entries[s[k].entry];
            if (r->ts->ts_gen == r->gen && e->te_op == op) {
                e->te_part = idx;
                e->te_part_gen = gen;
            }
            dtc__unlock(&r->ts->ts_lock);
            rc = dtc__part_push(r->in, idx, gen, &rq, true);
        }
        dtc_log(DTC_LOG_INFO, "send", &id, s[k].name, "op=%s result=%s",
                dtc_op_name(op), dtc_result_name(rc));
        dtc__fault(op == DTC_OP_PREPARE ? "coord.mid_prepare"  /* ":k" = after k sends */
                   : op == DTC_OP_COMMIT ? "coord.mid_commit"
                                         : "coord.mid_rollback");
        if (rc == DTC_OK || dtc__txn_lock(r->in, r->ts) != DTC_OK)
            continue;
        if (r->ts->ts_gen == r->gen)
            dtc__entry_answer(r->ts, &r->ts->ts_entries[s[k].entry],
                              rc == DTC_EBUSY ? DTC_ENTRY_ERROR : DTC_ENTRY_DEAD,
                              dtc_strerror(rc));
        dtc__unlock(&r->ts->ts_lock);
    }
}


/* With ts_lock held: whether every journal prepare record the yes votes
 * carry (te_jlsn) lies before the COMMIT record ending at `end`, so that
 * its sync makes them durable too.  They were appended before the votes
 * were published, hence before the COMMIT: anything else is a scribbled
 * entry, and the decision is not acted upon. */
static bool journal_before(struct txn_ref *r, uint64_t end)
{
    const struct dtc_txn_slot *ts = r->ts;
    uint32_t n = ts->ts_nentries <= r->in->max_parts ? ts->ts_nentries : 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t j = ts->ts_entries[i].te_jlsn;
        if (j >= end) {
            dtc_txid id;
            memcpy(id.bytes, ts->ts_txid, 16);
            dtc_log(DTC_LOG_ERROR, "journal_after_commit", &id, NULL,
                    "jlsn=%llu commit_end=%llu", (unsigned long long)j, (unsigned long long)end);
            return false;
        }
    }
    return true;
}

void dtc__txn_unlock(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    r->locked = false;
    dtc__unlock(&r->ts->ts_lock);
}

dtc_result dtc__txn_relock(struct txn_ref *r)
{
    DTC_ASSERT(!r->locked);
    dtc_result rc = dtc__txn_lock(r->in, r->ts);
    r->locked = rc == DTC_OK;
    return rc;
}

/* With ts_lock held: appends the slot's decision `type` to the log
 * (unsynced); *end receives its end, 0 if it is durable already (an
 * adopted slot).  Any failure of the log (I/O, a lock that timed out) is
 * DTC_ELOG: the decision is not durable and is not acted upon;
 * DTC_ECORRUPT stays reserved for "the slot's lock is not held". */
static dtc_result decision_append(struct txn_ref *r, uint8_t type, uint64_t *end)
{
    DTC_ASSERT_HELD(r);
    struct dtc_txn_slot *ts = r->ts;
    *end = 0;
    if (!dtc__dlog_on(r->in) || (ts->ts_dlsn != 0 && ts->ts_dtype == type))
        return DTC_OK;
    struct dtc__dlog_rec rec;
    dtc__dlog_rec_from_slot(r->in, ts, type, r->dlog_flags, &rec);
    if (dtc__dlog_append(r->in, &rec, end) != DTC_OK)
        return DTC_ELOG;
    if (type == DTC_DLOG_COMMIT && !journal_before(r, *end))
        return DTC_ELOG;
    ts->ts_deadline_ns = dtc__now_ns() + (int64_t)ts->ts_commit_ms * 1000000;
    return DTC_OK;
}

/* Waits for the log to be durable below `end` (without ts_lock: nobody
 * waits for another process holding a lock), re-takes the lock,
 * re-checks that we still drive the slot, and records the decision
 * `type` (0: none) as durable at end.  decision_sync: the same from
 * under the lock (end 0: durable already). */
static dtc_result decision_sync_unlocked(struct txn_ref *r, uint8_t type, uint64_t end)
{
    DTC_ASSERT(!r->locked);
    struct dtc_txn_slot *ts = r->ts;
    dtc_result rc = dtc__dlog_flush(r->in, end);
    if (dtc__txn_relock(r) != DTC_OK)
        return DTC_ECORRUPT;
    if (ts->ts_gen != r->gen || ts->ts_driver != r->token)
        return DTC_EABORTED;
    if (rc != DTC_OK)
        return DTC_ELOG;
    if (type != 0) {
        ts->ts_dlsn = end;
        ts->ts_dtype = type;
    }
    return DTC_OK;
}

static dtc_result decision_sync(struct txn_ref *r, uint8_t type, uint64_t end)
{
    DTC_ASSERT_HELD(r);
    if (end == 0)
        return DTC_OK;
    dtc__txn_unlock(r);
    return decision_sync_unlocked(r, type, end);
}

/* With ts_lock held: makes the slot's decision `type` durable (unless it
 * already is) before the caller acts on it. */
static dtc_result log_decision(struct txn_ref *r, uint8_t type)
{
    uint64_t end;
    dtc_result rc = decision_append(r, type, &end);
    return rc != DTC_OK ? rc : decision_sync(r, type, end);
}

/* With ts_lock held, the slot just ended (COMMITTED or ABORTED): its
 * outcome, unsynced, for dtc_transaction_outcome once the slot is gone. */
static void log_end(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    struct dtc__dlog_rec rec;
    uint64_t end;
    if (!dtc__dlog_on(r->in))
        return;
    dtc__dlog_rec_from_slot(r->in, r->ts, DTC_DLOG_END, r->dlog_flags, &rec);
    if (dtc__dlog_append(r->in, &rec, &end) != DTC_OK)
        dtc_log(DTC_LOG_ERROR, "dlog_end_lost", &rec.txid, NULL,
                "error=\"the outcome stays answerable only while the slot lives\"");
}

/* With ts_lock held, the slot just reached COMMITTED, ABORTED or
 * HEURISTIC: the one log line of its outcome, with the result and cause
 * every other surface reports (dtc.h, "What each outcome carries"). */
static void log_outcome(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    struct dtc_txn_slot *ts = r->ts;
    dtc_txid id = txid_of(ts);
    dtc_result cause = ts->ts_result < DTC_RESULT_COUNT ? (dtc_result)ts->ts_result : DTC_ECORRUPT;
    bool heuristic = ts->ts_state == DTC_TXN_HEURISTIC;
    const char *kind = ts->ts_state == DTC_TXN_COMMITTED ? "committed" : heuristic ? "heuristic"
                                                                                 : "aborted";
    dtc_result result = ts->ts_state == DTC_TXN_COMMITTED ? DTC_OK : heuristic ? DTC_EHEURISTIC
                                                                             : cause;
    const char *by = dtc__adopt_why_name(ts->ts_adopt_why);
    if (ts->ts_state == DTC_TXN_COMMITTED)
        cause = DTC_OK;
    bool one = (ts->ts_flags & DTC_TS_ONE_PHASE) != 0;
    dtc_log(heuristic ? DTC_LOG_ERROR : DTC_LOG_INFO, "outcome", &id, NULL,
            one ? (by[0] ? "outcome=%s result=%s cause=%s one_phase=true adopted_why=%s"
                         : "outcome=%s result=%s cause=%s one_phase=true")
                : (by[0] ? "outcome=%s result=%s cause=%s adopted_why=%s"
                         : "outcome=%s result=%s cause=%s"),
            kind, dtc_result_name(result), dtc_result_name(cause), by);
}

/* rc is log_decision's: a decision that could not be made durable
 * (DTC_ELOG, ts_lock held) is not acted upon; the slot waits for an
 * operator.  Any other rc is returned as it is (r->locked says whether
 * the lock is still held). */
static dtc_result log_failed(struct txn_ref *r, dtc_result rc)
{
    if (rc != DTC_ELOG)
        return rc;
    DTC_ASSERT_HELD(r);
    dtc_txid id = txid_of(r->ts);
    dtc_log(DTC_LOG_ERROR, "dlog_failed", &id, NULL,
            "error=\"decision not durable, nothing sent: HEURISTIC until an operator resolves\"");
    r->ts->ts_result = DTC_ELOG;
    dtc__txn_set_state(r, DTC_TXN_HEURISTIC); /* from COMMITTING or ABORTING */
    atomic_fetch_add(&r->in->hdr->sh_heuristic, 1);
    log_outcome(r);
    return DTC_EHEURISTIC;
}

/* With ts_lock held: a rollback to a participant that never promised
 * (its vote was not yes) is presumed done (presumed abort) when it died
 * or did not answer in time; and at once, without waiting, when its
 * prepare timed out: it holds nothing durable, rolls back a late yes vote
 * itself (participant.c), and if it died prepared, on restart it finds
 * the outcome aborted.  So a prepare timeout is answered when it expires,
 * not after the slow participant.  Other live participants are still
 * waited for: their answers are the back-pressure that keeps a fast
 * failing client from flooding a slow participant's ring. */
static void presume_abort(struct txn_ref *r, struct dtc_txn_entry *e)
{
    DTC_ASSERT_HELD(r);
    if (e->te_op != DTC_OP_ROLLBACK || e->te_vote == DTC_ENTRY_YES)
        return;
    bool unreachable = e->te_status == DTC_ENTRY_DEAD || e->te_status == DTC_ENTRY_TIMEOUT;
    bool vote_timed_out = e->te_vote == DTC_ENTRY_TIMEOUT && e->te_status == DTC_ENTRY_PENDING;
    if (!unreachable && !vote_timed_out)
        return;
    if (e->te_status == DTC_ENTRY_PENDING && r->ts->ts_pending > 0)
        r->ts->ts_pending--;
    e->te_status = DTC_ENTRY_YES;
    snprintf(e->te_reason, sizeof e->te_reason, "presumed abort: nothing was promised");
    dtc_txid id = txid_of(r->ts);
    dtc_log(DTC_LOG_INFO, "presumed_abort", &id, e->te_name, NULL);
}

/* With ts_lock held: schedules or arms retries of failed deliveries.
 * Returns the earliest future retry time (INT64_MAX if none). */
static int64_t plan_retries(struct txn_ref *r, dtc_op op, uint32_t max_retries,
                            int64_t now, struct send *s, size_t *ns)
{
    DTC_ASSERT_HELD(r);
    int64_t next = INT64_MAX;
    uint32_t n = dtc__txn_nentries(r->in, r->ts);
    for (uint32_t i = 0; i < n; i++) {
        struct dtc_txn_entry *e = &r->ts->ts_entries[i];
        presume_abort(r, e);
        if (!dtc_entry_status_failed(e->te_status) || e->te_attempts > max_retries)
            continue;
        if (e->te_next_retry_ns == 0) {
            e->te_next_retry_ns = now + backoff_ns(e->te_attempts);
            dtc_txid id = txid_of(r->ts);
            char code[DTC_REASON_CODE_MAX];
            dtc_log(DTC_LOG_INFO, "retry_scheduled", &id, e->te_name,
                    "op=%s attempt=%u after=%s reason=%s", dtc_op_name(op),
                    e->te_attempts + 1u, dtc_entry_status_name(e->te_status),
                    dtc_reason_split(e->te_reason, code));
        }
        if (e->te_next_retry_ns <= now)
            arm(r, i, op, s, ns);
        else if (e->te_next_retry_ns < next)
            next = e->te_next_retry_ns;
    }
    return next;
}

/* With ts_lock held: after the deadline, pending entries time out. */
static void expire(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    dtc_txid id = txid_of(r->ts);
    uint32_t n = dtc__txn_nentries(r->in, r->ts);
    for (uint32_t i = 0; i < n; i++) {
        struct dtc_txn_entry *e = &r->ts->ts_entries[i];
        if (e->te_status != DTC_ENTRY_PENDING)
            continue;
        dtc__entry_answer(r->ts, e, DTC_ENTRY_TIMEOUT, "no answer before the deadline");
        atomic_fetch_add(&r->in->hdr->sh_timed_out, 1);
        dtc_log(DTC_LOG_WARN, "timeout", &id, e->te_name, "op=%s", dtc_op_name(e->te_op));
        presume_abort(r, e);
    }
}

static bool any_failed(const dtc_instance *in, const struct dtc_txn_slot *ts)
{
    uint32_t n = dtc__txn_nentries(in, ts);
    for (uint32_t i = 0; i < n; i++)
        if (dtc_entry_status_failed(ts->ts_entries[i].te_status))
            return true;
    return false;
}

/* Who a phase's sends go to (a read-only voter is out of phase two):
 * everyone, or, for a commit told early (phase_commit), the entries whose
 * yes vote carried a journal record, then the others. */
enum arm_set { ARM_ALL, ARM_JOURNAL, ARM_OWN };

/* With ts_lock held: a new phase; answers still awaited from the last one
 * no longer count (a late yes vote is rolled back by the participant
 * itself). */
static void phase_start(struct txn_ref *r)
{
    struct dtc_txn_slot *ts = r->ts;
    ts->ts_pending = 0;
    uint32_t n = dtc__txn_nentries(r->in, ts);
    for (uint32_t i = 0; i < n; i++)
        ts->ts_entries[i].te_attempts = 0;
}

/* With ts_lock held: arms `op` for the entries of `set`. */
static void arm_set(struct txn_ref *r, dtc_op op, enum arm_set set, struct send *s, size_t *ns)
{
    struct dtc_txn_slot *ts = r->ts;
    uint32_t n = dtc__txn_nentries(r->in, ts);
    for (uint32_t i = 0; i < n; i++) {
        const struct dtc_txn_entry *e = &ts->ts_entries[i];
        if (op != DTC_OP_PREPARE && e->te_vote == DTC_ENTRY_READONLY)
            continue;
        if (set == ARM_ALL || (set == ARM_JOURNAL) == (e->te_jlsn != 0))
            arm(r, i, op, s, ns);
    }
}

/*
 * Pushes the armed sends s[0..ns) and waits until every entry of the
 * phase answered yes, the deadline passed, or (prepare) one answered
 * otherwise.  Failed commit and rollback deliveries are retried up to
 * max_retries times.  Called with ts_lock held; returns with it held
 * unless it could not be re-taken (r->locked says, txn.h).  DTC_EABORTED
 * if the slot was taken over by another driver meanwhile.
 */
static dtc_result deliver_wait(struct txn_ref *r, dtc_op op, int64_t deadline, struct send *s,
                               size_t ns)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    bool first_failure_stops = op == DTC_OP_PREPARE;
    uint32_t retries = first_failure_stops ? 0 : ts->ts_max_retries;
    for (;;) {
        if (ns > 0) {
            dtc__txn_unlock(r);
            push_all(r, op, s, ns);
            ns = 0;
            if (dtc__txn_relock(r) != DTC_OK)
                return DTC_ECORRUPT;
        }
        if (ts->ts_gen != r->gen || ts->ts_driver != r->token)
            return DTC_EABORTED;
        int64_t now = dtc__now_ns();
        if (first_failure_stops && any_failed(r->in, ts))
            return DTC_OK;
        int64_t next = plan_retries(r, op, retries, now, s, &ns);
        if (ns > 0)
            continue;
        if (ts->ts_pending == 0 && next == INT64_MAX)
            return DTC_OK;
        if (now >= deadline) {
            expire(r);
            return DTC_OK;
        }
        ts->ts_deadline_ns = deadline;
        dtc__wake_wait(r->in, &ts->ts_wake, &ts->ts_cond, &ts->ts_lock, dtc__txn_repair, ts,
                       next < deadline ? next : deadline);
        /* Re-acquired by the wait, not by dtc__txn_lock: the slot may
         * have been scribbled on (or quarantined) while we slept. */
        if (dtc__txn_check(r->in, ts) != 0) {
            dtc__txn_unlock(r);
            return DTC_ECORRUPT;
        }
    }
}

/* Sends `op` to every entry of the phase and waits (deliver_wait). */
static dtc_result deliver(struct txn_ref *r, dtc_op op, int64_t deadline)
{
    DTC_ASSERT_DRIVING(r);
    struct send s[DTC_LIMIT_MAX_PARTS_PER_TXN];
    size_t ns = 0;
    phase_start(r);
    arm_set(r, op, ARM_ALL, s, &ns);
    return deliver_wait(r, op, deadline, s, ns);
}

/* With ts_lock held: DTC_OK if every entry answered yes, else the result
 * naming the most telling failure (a no vote before an error, an error
 * before a death, a death before a timeout or an unfinished answer). */
static dtc_result outcome(const dtc_instance *in, const struct dtc_txn_slot *ts, dtc_op op)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    uint32_t n = dtc__txn_nentries(in, ts);
    static const dtc_entry_status order[] = {DTC_ENTRY_NO, DTC_ENTRY_ERROR, DTC_ENTRY_DEAD,
                                             DTC_ENTRY_TIMEOUT, DTC_ENTRY_PENDING,
                                             DTC_ENTRY_IDLE};
    static const dtc_result prepare_rc[] = {DTC_EREFUSED, DTC_EPARTICIPANT, DTC_ENOTALIVE,
                                            DTC_ETIMEOUT, DTC_ETIMEOUT, DTC_ETIMEOUT};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (uint32_t i = 0; i < n; i++) {
            if (ts->ts_entries[i].te_status != order[k])
                continue;
            if (op == DTC_OP_PREPARE)
                return prepare_rc[k];
            return op == DTC_OP_COMMIT ? DTC_ECOMMIT : DTC_EROLLBACK;
        }
    return DTC_OK;
}

/* With ts_lock held, in ABORTING: rolls every entry back.  Ends ABORTED,
 * or HEURISTIC if a participant that promised could not be reached. */
static dtc_result phase_rollback(struct txn_ref *r, dtc_result why)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    dtc_txid id = txid_of(ts);
    dtc_log(DTC_LOG_INFO, "decision", &id, NULL, "outcome=rollback why=%s",
            dtc_result_name(why));
    dtc_result rc = deliver(r, DTC_OP_ROLLBACK, dtc__now_ns() + (int64_t)ts->ts_rollback_ms * 1000000);
    if (rc != DTC_OK)
        return rc;
    rc = outcome(r->in, ts, DTC_OP_ROLLBACK);
    if (rc == DTC_OK) {
        dtc__txn_set_state(r, DTC_TXN_ABORTED);
        atomic_fetch_add(&r->in->hdr->sh_aborted, 1);
        log_outcome(r);
        dtc__fault("coord.before_end");
        log_end(r);
        return why;
    }
    dtc__txn_set_state(r, DTC_TXN_HEURISTIC);
    atomic_fetch_add(&r->in->hdr->sh_heuristic, 1);
    log_outcome(r);
    dtc_result lrc = log_decision(r, DTC_DLOG_HEURISTIC);
    if (lrc == DTC_EABORTED || lrc == DTC_ECORRUPT)
        return lrc;
    if (lrc != DTC_OK)
        dtc_log(DTC_LOG_ERROR, "dlog_failed", &id, NULL,
                "error=\"HEURISTIC not logged: a reboot loses it (the slot keeps it)\"");
    return DTC_EHEURISTIC;
}

/* With ts_lock held, in ABORTING: a rollback that undoes a commit
 * decision (compensation) or follows an operator is a decision of its
 * own, logged before any rollback is sent. */
static dtc_result log_rollback_decision(struct txn_ref *r)
{
    DTC_ASSERT_DRIVING(r);
    bool decided = (r->ts->ts_flags & DTC_TS_COMMIT_FAILED) || r->ts->ts_dlsn != 0;
    if (!decided)
        return DTC_OK; /* presumed abort: nothing to force */
    return log_failed(r, log_decision(r, DTC_DLOG_COMPENSATE));
}

/* With ts_lock held: abort from any pre-terminal state.  why is the
 * cause; DTC_OK (a rollback call) is recorded as DTC_EABORTED: rolled
 * back on request. */
static dtc_result abort_txn(struct txn_ref *r, dtc_result why)
{
    DTC_ASSERT_DRIVING(r);
    /* it did not commit in one phase; a later commit (an operator's, of
     * a HEURISTIC outcome) is a decision of its own, logged as any */
    r->ts->ts_flags &= ~(DTC_TS_ONE_PHASE | DTC_TS_NO_DECISION);
    if (r->ts->ts_state != DTC_TXN_ABORTING) {
        r->ts->ts_result = why == DTC_OK ? DTC_EABORTED : why;
        if (!dtc__txn_set_state(r, DTC_TXN_ABORTING))
            return DTC_ESTATE;
    }
    dtc_result rc = log_rollback_decision(r);
    if (rc != DTC_OK)
        return rc;
    return phase_rollback(r, why);
}

/* With ts_lock held, in ACTIVE: phase one.  Leaves PREPARED or, after a
 * failed vote, rolls back and leaves ABORTED. */
static dtc_result phase_prepare(struct txn_ref *r)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    if (!dtc__txn_set_state(r, DTC_TXN_PREPARING))
        return DTC_ESTATE;
    int64_t t0 = dtc__now_ns();
    dtc_result rc = deliver(r, DTC_OP_PREPARE, t0 + (int64_t)ts->ts_prepare_ms * 1000000);
    if (rc != DTC_OK)
        return rc;
    dtc__hist_add(r->in, DTC_HIST_PREPARE, dtc__now_ns() - t0);
    /* every vote was recorded as it came (dtc__entry_answer): one that
     * never came stays "none", whoever drives the slot later */
    dtc__fault("coord.before_decision");
    rc = outcome(r->in, ts, DTC_OP_PREPARE);
    if (rc != DTC_OK)
        return abort_txn(r, rc);
    dtc__txn_set_state(r, DTC_TXN_PREPARED);
    return DTC_OK;
}

/* With ts_lock held, in PREPARED: sets DTC_TS_NO_DECISION if the commit
 * needs no decision record (every vote read-only, or one-phase: the only
 * vote a yes without a journal record), and keeps DTC_TS_ONE_PHASE only
 * for a one-phase commit. */
static void plan_commit(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    struct dtc_txn_slot *ts = r->ts;
    uint32_t n = dtc__txn_nentries(r->in, ts), yes = 0;
    bool journal = false;
    for (uint32_t i = 0; i < n; i++)
        if (ts->ts_entries[i].te_vote != DTC_ENTRY_READONLY) {
            yes++;
            journal |= ts->ts_entries[i].te_jlsn != 0;
        }
    bool one_phase = (ts->ts_flags & DTC_TS_ONE_PHASE) && n == 1 && yes == 1 && !journal;
    if (!one_phase)
        ts->ts_flags &= ~DTC_TS_ONE_PHASE;
    if (one_phase || yes == 0)
        ts->ts_flags |= DTC_TS_NO_DECISION;
}

/* With ts_lock held, in COMMITTING: the commit decision made durable, or
 * (DTC_TS_NO_DECISION) taken with no record at all. */
static dtc_result decide_commit(struct txn_ref *r)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    dtc_txid id = txid_of(ts);
    if (ts->ts_flags & DTC_TS_NO_DECISION) {
        /* read-only voters may have read what a commit told early made
         * visible: the log durable up to what they could have seen
         * before anyone is told (a one-phase voter has storage of its
         * own, never told early) */
        if (!(ts->ts_flags & DTC_TS_ONE_PHASE) && dtc__dlog_on(r->in)) {
            uint64_t seen = atomic_load(&r->in->hdr->sh_dlog_written);
            if (seen > atomic_load(&r->in->hdr->sh_dlog_durable)) {
                dtc__txn_unlock(r);
                dtc_result rc = log_failed(r, decision_sync_unlocked(r, 0, seen));
                if (rc != DTC_OK)
                    return rc;
            }
        }
        ts->ts_deadline_ns = dtc__now_ns() + (int64_t)ts->ts_commit_ms * 1000000;
        dtc_log(DTC_LOG_INFO, "decision", &id, NULL, "outcome=commit record=none why=%s",
                ts->ts_flags & DTC_TS_ONE_PHASE ? "one_phase" : "read_only");
        return DTC_OK;
    }
    int64_t t0 = dtc__now_ns();
    dtc_result rc = log_failed(r, log_decision(r, DTC_DLOG_COMMIT));
    if (rc != DTC_OK)
        return rc;
    dtc__hist_add(r->in, DTC_HIST_DECISION, dtc__now_ns() - t0);
    dtc_log(DTC_LOG_INFO, "decision", &id, NULL, "outcome=commit lsn=%llu",
            (unsigned long long)ts->ts_dlsn);
    return DTC_OK;
}

/* With ts_lock held, in COMMITTING: whether the commit is told early to
 * the entries whose yes vote carried a journal record (commit_early): a
 * COMMIT still to log, and such an entry. */
static bool tell_early(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    const struct dtc_txn_slot *ts = r->ts;
    if (!dtc__dlog_on(r->in) || (ts->ts_flags & DTC_TS_NO_DECISION)
        || (ts->ts_dlsn != 0 && ts->ts_dtype == DTC_DLOG_COMMIT))
        return false;
    uint32_t n = dtc__txn_nentries(r->in, ts);
    for (uint32_t i = 0; i < n; i++)
        if (ts->ts_entries[i].te_vote != DTC_ENTRY_READONLY && ts->ts_entries[i].te_jlsn != 0)
            return true;
    return false;
}

/* With ts_lock held, in COMMITTING: the COMMIT logged, the journal
 * entries told to commit as soon as it is in the log, while its group
 * commit runs, and the others once it is durable; then waits for every
 * answer (deliver_wait).  A journal participant's commit record follows
 * the COMMIT in the same log, so a host crash that loses the COMMIT
 * loses what it did with it too, and nobody outside is told "committed"
 * before the COMMIT is durable (docs/journal.md, "Told early"); a
 * participant with storage of its own must never run ahead of the
 * decision.  *t1: when phase two began. */
static dtc_result commit_early(struct txn_ref *r, int64_t *t1)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    struct send s[DTC_LIMIT_MAX_PARTS_PER_TXN];
    size_t ns = 0;
    uint64_t end;
    int64_t t0 = dtc__now_ns();
    dtc_result rc = log_failed(r, decision_append(r, DTC_DLOG_COMMIT, &end));
    if (rc != DTC_OK)
        return rc;
    *t1 = dtc__now_ns();
    phase_start(r);
    arm_set(r, DTC_OP_COMMIT, ARM_JOURNAL, s, &ns);
    dtc__txn_unlock(r);
    push_all(r, DTC_OP_COMMIT, s, ns);
    ns = 0;
    dtc__fault("coord.commit_told_early");
    if ((rc = log_failed(r, decision_sync_unlocked(r, DTC_DLOG_COMMIT, end))) != DTC_OK)
        return rc;
    dtc__hist_add(r->in, DTC_HIST_DECISION, dtc__now_ns() - t0);
    dtc_txid id = txid_of(ts);
    dtc_log(DTC_LOG_INFO, "decision", &id, NULL, "outcome=commit lsn=%llu told_early=journal",
            (unsigned long long)ts->ts_dlsn);
    dtc__fault("coord.after_commit_decision");
    arm_set(r, DTC_OP_COMMIT, ARM_OWN, s, &ns);
    return deliver_wait(r, DTC_OP_COMMIT, *t1 + (int64_t)ts->ts_commit_ms * 1000000, s, ns);
}

bool dtc__txn_commit_deliver(struct txn_ref *r, uint64_t end, int64_t t0)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    if (ts->ts_gen != r->gen || ts->ts_driver != r->token || ts->ts_state != DTC_TXN_COMMITTING
        || ts->ts_dlsn != 0)
        return false;
    ts->ts_dlsn = end;
    ts->ts_dtype = DTC_DLOG_COMMIT;
    int64_t now = dtc__now_ns();
    dtc__hist_add(r->in, DTC_HIST_DECISION, now - t0);
    ts->ts_deadline_ns = now + (int64_t)ts->ts_commit_ms * 1000000;
    dtc_txid id = txid_of(ts);
    dtc_log(DTC_LOG_INFO, "decision", &id, NULL, "outcome=commit lsn=%llu",
            (unsigned long long)end);
    dtc__fault("coord.after_commit_decision");
    struct send s[DTC_LIMIT_MAX_PARTS_PER_TXN];
    size_t ns = 0;
    phase_start(r);
    arm_set(r, DTC_OP_COMMIT, ARM_ALL, s, &ns);
    dtc__txn_unlock(r);
    push_all(r, DTC_OP_COMMIT, s, ns);
    return true;
}

/* With ts_lock held, in COMMITTING: whether the COMMIT is still to be
 * logged and synced before phase two (commit_grouped). */
static bool grouped(const struct txn_ref *r)
{
    const struct dtc_txn_slot *ts = r->ts;
    return dtc__dlog_on(r->in) && !(ts->ts_flags & DTC_TS_NO_DECISION) && ts->ts_dlsn == 0;
}

/* With ts_lock held, in COMMITTING: the COMMIT logged, phase two
 * delivered once it is durable, by this thread or by the courier of its
 * process that saw the sync (courier.c), then every answer waited for
 * (deliver_wait).  *t1: when phase two began. */
static dtc_result commit_grouped(struct txn_ref *r, int64_t *t1)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    uint64_t end;
    int64_t t0 = dtc__now_ns(), commit_ns = (int64_t)ts->ts_commit_ms * 1000000;
    dtc_result rc = log_failed(r, decision_append(r, DTC_DLOG_COMMIT, &end));
    if (rc != DTC_OK)
        return rc;
    if ((rc = log_failed(r, dtc__courier_commit(r, end, t0))) != DTC_OK)
        return rc;
    /* phase two began when the decision was recorded (its deadline set) */
    int64_t now = dtc__now_ns();
    *t1 = ts->ts_deadline_ns - commit_ns;
    if (*t1 < t0 || *t1 > now)
        *t1 = now;
    struct send s[DTC_LIMIT_MAX_PARTS_PER_TXN];
    return deliver_wait(r, DTC_OP_COMMIT, *t1 + commit_ns, s, 0);
}

/* With ts_lock held, in PREPARED or COMMITTING: the decision and phase
 * two.  A commit that still fails after its retries is compensated. */
static dtc_result phase_commit(struct txn_ref *r)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    if (ts->ts_state == DTC_TXN_PREPARED) {
        plan_commit(r);
        if (!dtc__txn_set_state(r, DTC_TXN_COMMITTING))
            return DTC_ESTATE;
    }
    dtc_txid id = txid_of(ts);
    int64_t t1 = 0;
    dtc_result rc;
    if (tell_early(r)) {
        rc = commit_early(r, &t1);
    } else if (grouped(r)) {
        rc = commit_grouped(r, &t1);
    } else if ((rc = decide_commit(r)) == DTC_OK) {
        t1 = dtc__now_ns();
        dtc__fault("coord.after_commit_decision");
        rc = deliver(r, DTC_OP_COMMIT, t1 + (int64_t)ts->ts_commit_ms * 1000000);
    }
    if (rc != DTC_OK)
        return rc;
    if (outcome(r->in, ts, DTC_OP_COMMIT) == DTC_OK) {
        int64_t t2 = dtc__now_ns(), begin = ts->ts_begin_ns;
        dtc__hist_add(r->in, DTC_HIST_COMMIT, t2 - t1);
        /* shared memory: a scribbled begin (INT64_MIN) must not overflow */
        dtc__hist_add(r->in, DTC_HIST_TXN, begin > 0 && begin <= t2 ? t2 - begin : 0);
        dtc__txn_set_state(r, DTC_TXN_COMMITTED);
        atomic_fetch_add(&r->in->hdr->sh_committed, 1);
        if (ts->ts_flags & DTC_TS_ONE_PHASE)
            atomic_fetch_add(&r->in->hdr->sh_one_phase, 1);
        log_outcome(r);
        dtc__fault("coord.before_end");
        log_end(r);
        return DTC_OK;
    }
    dtc_log(DTC_LOG_ERROR, "commit_failed", &id, NULL, "action=rollback_all");
    ts->ts_flags |= DTC_TS_COMMIT_FAILED;
    return abort_txn(r, DTC_ECOMMIT);
}

/*
 * Drives the slot (ts_lock held, r->token installed) towards `goal`:
 * DTC_TXN_PREPARED, DTC_TXN_COMMITTED or DTC_TXN_ABORTED.  Returns in a
 * state at least as far as the goal allows, with ts_lock held unless it
 * could not be re-taken: r->locked says which (txn.h), whatever the code.
 */
dtc_result dtc__txn_drive(struct txn_ref *r, dtc_txn_state goal, dtc_result why)
{
    DTC_ASSERT_DRIVING(r);
    struct dtc_txn_slot *ts = r->ts;
    switch ((dtc_txn_state)ts->ts_state) {
    case DTC_TXN_ACTIVE:
        if (goal == DTC_TXN_ABORTED)
            return abort_txn(r, why);
        if (goal == DTC_TXN_COMMITTED && dtc__txn_nentries(r->in, ts) == 1)
            ts->ts_flags |= DTC_TS_ONE_PHASE; /* a candidate: plan_commit decides */
        {
            dtc_result rc = phase_prepare(r);
            if (rc != DTC_OK || goal == DTC_TXN_PREPARED)
                return rc;
        }
        return ts->ts_state == DTC_TXN_PREPARED ? phase_commit(r) : DTC_ESTATE;
    case DTC_TXN_PREPARING:
    case DTC_TXN_ABORTING:
        return abort_txn(r, why);
    case DTC_TXN_PREPARED:
        if (goal == DTC_TXN_PREPARED)
            return DTC_OK;
        return goal == DTC_TXN_ABORTED ? abort_txn(r, why) : phase_commit(r);
    case DTC_TXN_COMMITTING:
        return phase_commit(r); /* the decision stands, whatever the goal */
    case DTC_TXN_COMMITTED:
        return goal == DTC_TXN_ABORTED ? DTC_ESTATE : DTC_OK;
    case DTC_TXN_ABORTED:
        return ts->ts_result != DTC_OK ? (dtc_result)ts->ts_result : DTC_EABORTED;
    case DTC_TXN_HEURISTIC:
        if (goal == DTC_TXN_PREPARED)
            return DTC_EHEURISTIC;
        if (!dtc__txn_set_state(r, goal == DTC_TXN_COMMITTED ? DTC_TXN_COMMITTING : DTC_TXN_ABORTING))
            return DTC_ESTATE;
        if (goal == DTC_TXN_COMMITTED) {
            r->ts->ts_result = DTC_OK; /* an operator's commit: no cause any more */
            return phase_commit(r);
        }
        {
            dtc_result rc = log_failed(r, log_decision(r, DTC_DLOG_COMPENSATE));
            return rc != DTC_OK ? rc : phase_rollback(r, why);
        }
    default:
        return DTC_ESTATE;
    }
}

void dtc__txn_end_orphan(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    uint32_t st = r->ts->ts_state;
    if (st != DTC_TXN_COMMITTED && st != DTC_TXN_ABORTED)
        return;
    log_end(r); /* perhaps a second END: replay treats it as the first */
    dtc__txn_release(r);
}

/* With ts_lock held: frees a terminal slot (kept if HEURISTIC). */
void dtc__txn_release(struct txn_ref *r)
{
    DTC_ASSERT_HELD(r);
    struct dtc_txn_slot *ts = r->ts;
    ts->ts_driver = 0;
    if (ts->ts_state != DTC_TXN_COMMITTED && ts->ts_state != DTC_TXN_ABORTED)
        return;
    dtc__txn_set_state(r, DTC_TXN_FREE);
}
