/*
 * view.h - what dtcctl's top command shows: one snapshot of an instance
 * (status, histograms, participants, in-flight transactions, snap.c) and
 * the live view that repeats it (top.c).
 */
#ifndef DTCCTL_VIEW_H
#define DTCCTL_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dtc/dtc.h"

struct view_snap {
    dtc_status st;
    dtc_histogram hist[DTC_HIST_COUNT];
    dtc_participant_info *parts;
    size_t nparts;
    dtc_txn_info *txns;
    size_t ntxns;
    int64_t mono_ns; /* CLOCK_MONOTONIC when taken */
    int64_t real_ns; /* CLOCK_REALTIME when taken */
};

/* Takes a snapshot (allocates; view_snap_free releases). */
dtc_result view_snap_take(dtc_instance *in, struct view_snap *s);
void view_snap_free(struct view_snap *s);

/* The q-quantile (0..1) in ns of what histogram `now` counted since
 * `before` (NULL: since the start), interpolated inside its bucket; -1 if
 * nothing was counted. */
int64_t view_quantile_ns(const dtc_histogram *now, const dtc_histogram *before, double q);

struct top_opts {
    uint32_t interval_ms; /* between frames */
    uint32_t frames;      /* 0: until q or a signal */
};

/* The live view: a frame per interval until q (on a terminal), SIGINT or
 * SIGTERM, or opts->frames frames.  Returns an exit code. */
int view_top(dtc_instance *in, const struct top_opts *opts);

#endif
