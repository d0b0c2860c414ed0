/*
 * stats.c - the clock, per-thread latency sample arrays, and their
 * percentiles (nearest rank over all samples of a cell, merged and sorted).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int bench_samples_add(struct bench_samples *s, int64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        int64_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
    return 0;
}

void bench_samples_free(struct bench_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..1] of sorted v[n], in microseconds. */
static double rank_us(const int64_t *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k == 0)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

void bench_latency_of(struct bench_samples *per_thread, int n, struct bench_latency *out)
{
    size_t total = 0, at = 0;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++)
        total += per_thread[i].n;
    int64_t *all = total ? malloc(total * sizeof *all) : NULL;
    for (int i = 0; i < n; i++) {
        if (all != NULL && per_thread[i].n > 0)
            memcpy(all + at, per_thread[i].v, per_thread[i].n * sizeof *all);
        at += per_thread[i].n;
        bench_samples_free(&per_thread[i]);
    }
    if (all == NULL)
        return;
    qsort(all, total, sizeof *all, cmp_i64);
    out->p50_us = rank_us(all, total, 0.50);
    out->p90_us = rank_us(all, total, 0.90);
    out->p99_us = rank_us(all, total, 0.99);
    out->p999_us = rank_us(all, total, 0.999);
    out->max_us = (double)all[total - 1] / 1000.0;
    free(all);
}
