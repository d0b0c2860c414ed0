/*
 * pace.h - how a participant's serving thread schedules itself (pace.c):
 * the part of libdtc's internals that dtc-bench's floor-wake mode uses to
 * pace its participants exactly as dtc's do.  internal.h includes it: one
 * definition for both.
 */
#ifndef DTC_PACE_H
#define DTC_PACE_H

#include <stdbool.h>

/* pace.c: how a serving thread schedules itself.  Busy (several
 * coordinators feed it: a batch answered two or more requests, within the
 * last DTC_PACE_HOLD batches), it runs under SCHED_BATCH and yields once
 * after a wake-up before it takes its batch; otherwise it runs under
 * SCHED_OTHER.  Zero-initialized; one per serving thread. */
struct dtc__pace {
    int score;     /* batches left before busy ends */
    int policy;    /* the policy the thread has (SCHED_OTHER at first) */
    int managed;   /* 0 unknown, 1 we manage it, 2 hands off */
};
#define DTC_PACE_HOLD 8
/* After every serve: `answers` requests answered (enlists excluded; 0
 * when the wait timed out empty, which counts as idle). */
void dtc__pace_after_batch(struct dtc__pace *pc, long answers);
/* Whether to yield once after a wake-up. */
bool dtc__pace_yield(const struct dtc__pace *pc);

#endif /* DTC_PACE_H */
