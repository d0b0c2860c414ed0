/*
 * fault.c - deliberate deaths: a failed precondition (DTC_ASSERT, in
 * DTC_ASSERTS builds) aborts; named crash points for tests:
 * $DTC_CRASH_AT=<point>[:<n>]
 * makes the process SIGKILL itself the n-th time (default 1st) it reaches
 * <point>.  Only in a build configured with -DDTC_CRASH_POINTS=ON (the
 * tests'): elsewhere $DTC_CRASH_AT is ignored, with one warning, so that
 * an environment variable cannot make a production process kill itself.
 * The points (grep dtc__fault for the call sites; tests/docs_check.py
 * checks this list against them):
 *
 *   coordinator:  coord.after_begin, coord.after_enlist,
 *                 coord.mid_prepare:k (after sending k prepares),
 *                 coord.before_decision (all votes in, nothing decided),
 *                 coord.commit_told_early (the COMMIT in the log, not
 *                 yet synced, sent to the journal participants only),
 *                 coord.after_commit_decision (COMMITTING, the decision
 *                 logged, or not at all for a one-phase or all-read-only
 *                 commit; nothing sent, or only to the journal
 *                 participants: told early),
 *                 coord.mid_commit:k (after sending k commits),
 *                 coord.mid_rollback:k (after sending k rollbacks),
 *                 coord.before_end (COMMITTED or ABORTED, no END record
 *                 written, the slot not freed)
 *   participant:  part.enlist (work step done, not published),
 *                 part.before_vote (prepared, not yet flushed, vote unsent),
 *                 part.after_vote (votes published, ring not advanced),
 *                 part.after_commit_apply (applied and flushed, no ack),
 *                 part.rollback (a rollback request in hand)
 *   supervisor:   sup.mid_reclaim (slot freed, its requests not failed),
 *                 sup.mid_finish (adopted, nothing driven yet)
 *   any process:  lock.txn, lock.part, lock.reg, lock.wake (just after
 *                 taking that lock: the process dies holding it;
 *                 lock.wake: a participant's wake lock, before signalling)
 *   decision log: dlog.after_write (a record copied into the log
 *                 buffer, not synced), dlog.after_filed (the buffer
 *                 written into the file, not synced), dlog.before_sync, dlog.after_sync (durable, nobody
 *                 told yet), dlog.after_switch (a new file, the old one
 *                 synced), dlog.after_rename (a spare file renamed into
 *                 place, its header not yet written),
 *                 dlog.prune_before_unlink (dtcd's tick: an old file
 *                 about to be deleted), dlog.prune_after_unlink (deleted,
 *                 the directory not yet synced), dlog.prune_after_sync
 *                 (the deletion durable, the next file not yet deleted)
 *   journal:      journal.after_prepare (a participant's prepare record
 *                 appended, unsynced, its vote not yet published),
 *                 journal.after_checkpoint (a checkpoint in the segment
 *                 and its record appended)
 *   dtc-pg:       pg.after_prepare (PREPARE TRANSACTION done, the vote
 *                 unsent), pg.after_commit (COMMIT PREPARED done, the
 *                 answer unsent); through dtc_fault
 *   services:     store.after_write (state lines written, not fsynced),
 *                 store.after_sync (fsynced, the batch's answers not yet
 *                 published), store.before_rename (compaction tmp written
 *                 and fsynced, not renamed), store.after_rename (renamed,
 *                 the directory not yet fsynced), store.before_checkpoint
 *                 (journal: the snapshot renamed in and the directory
 *                 fsynced, its LSN not yet reported), store.bg_before_sync
 *                 (a background compaction wrote its snapshot, not
 *                 fsynced); called through the store's fault hook
 *                 (participants/store/store.h), not dtc__fault
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static char fault_point[64];
static long fault_hit_at = 1;
static _Atomic long fault_hits;
static _Atomic int fault_armed = -1; /* -1 unknown yet, 0 no, 1 yes */
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_load(void)
{
    const char *env = getenv("DTC_CRASH_AT");
    atomic_store(&fault_armed, 0);
    if (env == NULL || env[0] == '\0')
        return;
#ifndef DTC_CRASH_POINTS
    dtc_log(DTC_LOG_WARN, "fault", NULL, NULL,
            "env=DTC_CRASH_AT action=ignored why=\"built without DTC_CRASH_POINTS\"");
    return;
#endif
    size_t len = strcspn(env, ":");
    if (len >= sizeof fault_point)
        return;
    memcpy(fault_point, env, len);
    fault_point[len] = '\0';
    if (env[len] == ':')
        fault_hit_at = strtol(env + len + 1, NULL, 10);
    atomic_store(&fault_armed, 1);
}

void dtc__fault(const char *point)
{
    if (atomic_load_explicit(&fault_armed, memory_order_relaxed) == 0)
        return; /* the hot path: no crash point set */
    pthread_once(&fault_once, fault_load);
    if (fault_point[0] == '\0' || strcmp(point, fault_point) != 0)
        return;
    if (atomic_fetch_add(&fault_hits, 1) + 1 == fault_hit_at) {
        dtc_log(DTC_LOG_WARN, "fault", NULL, NULL, "point=%s action=sigkill", point);
        kill(getpid(), SIGKILL);
        pause();
    }
}

void dtc_fault(const char *point)
{
    if (point != NULL)
        dtc__fault(point);
}

void dtc__assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "dtc: precondition failed: %s (%s:%d, %s)\n", cond, file, line, func);
    abort();
}
