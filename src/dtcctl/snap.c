/*
 * snap.c - the snapshot `dtcctl top` is made from: status, histograms,
 * participants and in-flight transactions, read through the public API.
 * (`dtcctl metrics` prints the library's own rendering, dtc_metrics_text.)
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "view.h"

static int64_t clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

dtc_result view_snap_take(dtc_instance *in, struct view_snap *s)
{
    memset(s, 0, sizeof *s);
    dtc_result rc = dtc_get_status(in, &s->st);
    if (rc == DTC_OK)
        rc = dtc_get_histograms(in, s->hist);
    size_t pcap = s->st.limits.max_participants, tcap = s->st.limits.max_txns;
    if (rc == DTC_OK) {
        s->parts = calloc(pcap ? pcap : 1, sizeof *s->parts);
        s->txns = calloc(tcap ? tcap : 1, sizeof *s->txns);
        rc = s->parts && s->txns ? DTC_OK : DTC_ESYS;
    }
    if (rc == DTC_OK)
        rc = dtc_list_participants(in, s->parts, pcap, &s->nparts);
    if (rc == DTC_OK)
        rc = dtc_list_transactions(in, s->txns, tcap, &s->ntxns);
    s->nparts = s->nparts < pcap ? s->nparts : pcap; /* the lists' own caps */
    s->ntxns = s->ntxns < tcap ? s->ntxns : tcap;
    s->mono_ns = clock_ns(CLOCK_MONOTONIC);
    s->real_ns = clock_ns(CLOCK_REALTIME);
    if (rc != DTC_OK)
        view_snap_free(s);
    return rc;
}

void view_snap_free(struct view_snap *s)
{
    free(s->parts);
    free(s->txns);
    s->parts = NULL;
    s->txns = NULL;
    s->nparts = s->ntxns = 0;
}
