/*
 * pace.c - how a participant's serving thread schedules itself (struct
 * dtc__pace in internal.h).  With several coordinators pushing, a woken
 * participant that preempts the coordinator which pushed, and takes its
 * ring at once, serves one or two requests per wake-up; under SCHED_BATCH
 * it does not preempt, and by yielding once before it takes its batch it
 * lets the coordinators that are runnable push theirs first: fewer
 * wake-ups per transaction (README, "Performance").  With one coordinator
 * there is nothing to wait for, and SCHED_BATCH only adds latency, so an
 * idle participant goes back to SCHED_OTHER.  Only a thread that started
 * under SCHED_OTHER is managed; DTC_PARTICIPANT_SCHED=other turns it off.
 * Switching between the two non-real-time policies needs no privilege.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void set_policy(struct dtc__pace *pc, int policy)
{
    struct sched_param sp = {0};
    if (sched_setscheduler(0, policy, &sp) == 0) {
        pc->policy = policy;
        return;
    }
    pc->managed = 2; /* not allowed here: keep what we have */
    dtc_log(DTC_LOG_WARN, "sched", NULL, NULL, "policy=%s result=failed",
            policy == SCHED_BATCH ? "batch" : "other");
}

void dtc__pace_after_batch(struct dtc__pace *pc, long answers)
{
    if (pc->managed == 0) {
        const char *env = getenv("DTC_PARTICIPANT_SCHED");
        bool off = env != NULL && strcmp(env, "other") == 0;
        pc->managed = !off && sched_getscheduler(0) == SCHED_OTHER ? 1 : 2;
        pc->policy = SCHED_OTHER;
    }
    if (pc->managed != 1)
        return;
    if (answers >= 2)
        pc->score = DTC_PACE_HOLD;
    else if (pc->score > 0)
        pc->score--;
    int want = pc->score > 0 ? SCHED_BATCH : SCHED_OTHER;
    if (want != pc->policy)
        set_policy(pc, want);
}

bool dtc__pace_yield(const struct dtc__pace *pc)
{
    return pc->managed == 1 && pc->policy == SCHED_BATCH;
}
