/*
 * fault.c - named crash points for tests.  $DTC_CRASH_AT=<point>[:<n>]
 * makes the process SIGKILL itself the n-th time (default 1st) it reaches
 * <point>.  The points (grep dtc__fault for the call sites):
 *
 *   coordinator:  coord.after_begin, coord.after_enlist,
 *                 coord.mid_prepare (after sending some prepares),
 *                 coord.before_decision (all votes in),
 *                 coord.after_commit_decision, coord.mid_commit,
 *                 coord.mid_rollback
 *   participant:  part.enlist, part.before_vote, part.after_vote,
 *                 part.after_commit_apply (applied, not acknowledged),
 *                 part.rollback
 *   supervisor:   sup.mid_reclaim, sup.mid_finish
 *   any process:  lock.txn, lock.part, lock.reg (while holding that lock)
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static char fault_point[64];
static long fault_hit_at = 1;
static _Atomic long fault_hits;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_load(void)
{
    const char *env = getenv("DTC_CRASH_AT");
    if (env == NULL || env[0] == '\0')
        return;
    size_t len = strcspn(env, ":");
    if (len >= sizeof fault_point)
        return;
    memcpy(fault_point, env, len);
    fault_point[len] = '\0';
    if (env[len] == ':')
        fault_hit_at = strtol(env + len + 1, NULL, 10);
}

void dtc__fault(const char *point)
{
    pthread_once(&fault_once, fault_load);
    if (fault_point[0] == '\0' || strcmp(point, fault_point) != 0)
        return;
    if (atomic_fetch_add(&fault_hits, 1) + 1 == fault_hit_at) {
        dtc_log(DTC_LOG_WARN, "fault", NULL, NULL, "point=%s action=sigkill", point);
        kill(getpid(), SIGKILL);
        pause();
    }
}
