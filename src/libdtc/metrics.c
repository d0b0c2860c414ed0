/*
 * metrics.c - latency histograms kept in the segment header (sh_hist).
 *
 * Each coordinator process times its own steps (prepare round, decision,
 * commit round, whole transaction) and adds the observation to the shared
 * histogram with relaxed atomics: no lock, no wait, a process killed in
 * the middle leaves at worst one observation half counted.  The bucket
 * bounds are fixed here (the exposition format needs them stable), from
 * 50 us to 10 s, and a last +Inf bucket.
 */
#include <stdint.h>

#include "internal.h"

static const int64_t bounds_us[DTC_HIST_BUCKETS - 1] = {
    50,     100,    250,     500,     1000,    2500,    5000,    10000,   25000,
    50000,  100000, 250000,  500000,  1000000, 2500000, 5000000, 10000000};

static const char *const hist_names[DTC_HIST_COUNT] = {"txn", "prepare", "decision", "commit"};

const char *dtc_hist_name(dtc_hist_kind k)
{
    return (unsigned)k < DTC_HIST_COUNT ? hist_names[k] : NULL;
}

int64_t dtc_hist_bound_ns(unsigned i)
{
    return i < DTC_HIST_BUCKETS - 1 ? bounds_us[i] * 1000 : INT64_MAX;
}

void dtc__hist_add(dtc_instance *in, dtc_hist_kind k, int64_t ns)
{
    if ((unsigned)k >= DTC_HIST_COUNT)
        return;
    if (ns < 0)
        ns = 0;
    unsigned b = 0;
    while (b < DTC_HIST_BUCKETS - 1 && ns > bounds_us[b] * 1000)
        b++;
    struct dtc_shm_hist *h = &in->hdr->sh_hist[k];
    atomic_fetch_add_explicit(&h->hi_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->hi_sum_ns, (uint64_t)ns, memory_order_relaxed);
}

dtc_result dtc_get_histograms(dtc_instance *in, dtc_histogram out[DTC_HIST_COUNT])
{
    if (in == NULL || out == NULL)
        return DTC_EINVAL;
    for (unsigned k = 0; k < DTC_HIST_COUNT; k++) {
        const struct dtc_shm_hist *h = &in->hdr->sh_hist[k];
        out[k].sum_ns = atomic_load_explicit(&h->hi_sum_ns, memory_order_relaxed);
        out[k].count = 0;
        for (unsigned b = 0; b < DTC_HIST_BUCKETS; b++) {
            out[k].bucket[b] = atomic_load_explicit(&h->hi_bucket[b], memory_order_relaxed);
            out[k].count += out[k].bucket[b]; /* the count is the buckets' total */
        }
    }
    return DTC_OK;
}
