/*
 * check_report.c - the summary of "dtc-load check": transactions by the
 * outcome their client was told (result and class), begin failures,
 * throughput over --elapsed-s, and commit latency p50/p99/max.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

#define MAXCLS 64

typedef struct count {
    char name[LOAD_RES_MAX + LOAD_CLS_MAX + 2];
    unsigned long n;
} count;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_count(const void *a, const void *b)
{
    const count *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->name, y->name);
}

static void bump(count *c, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(c[i].name, name) == 0) {
            c[i].n++;
            return;
        }
    if (*n < MAXCLS) {
        snprintf(c[*n].name, sizeof c[*n].name, "%s", name);
        c[(*n)++].n = 1;
    }
}

static double ms(int64_t us)
{
    return (double)us / 1000.0;
}

void load_report(const ltab *t, double elapsed_s, uint64_t begin_failures)
{
    static count cls[MAXCLS];
    int ncls = 0;
    unsigned long committed = 0, ended = 0, pending = 0, nlat = 0;
    int64_t *lat = calloc(t->n + 1, sizeof *lat);
    char name[sizeof cls[0].name];
    const ltx *x;
    for (size_t pos = 0; (x = ltab_next(t, &pos)) != NULL;) {
        if (x->client < 0)
            continue;
        if (!x->ended) {
            pending++;
            continue;
        }
        ended++;
        committed += strcmp(x->result, "DTC_OK") == 0;
        snprintf(name, sizeof name, "%s %s", x->result, x->cls);
        bump(cls, &ncls, name);
        if (lat != NULL && x->lat_us >= 0)
            lat[nlat++] = x->lat_us;
    }
    qsort(cls, (size_t)ncls, sizeof cls[0], cmp_count);
    printf("summary: %lu transactions told an outcome, %lu committed, %lu aborted, "
           "%lu left pending (client killed), %llu begin failures\n",
           ended, committed, ended - committed, pending, (unsigned long long)begin_failures);
    for (int i = 0; i < ncls; i++)
        printf("  %-60s %lu\n", cls[i].name, cls[i].n);
    if (elapsed_s > 0)
        printf("throughput: %.1f txn/s (%.1f committed/s) over %.1f s\n",
               (double)ended / elapsed_s, (double)committed / elapsed_s, elapsed_s);
    if (lat != NULL && nlat > 0) {
        qsort(lat, nlat, sizeof *lat, cmp_i64);
        printf("latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%lu transactions)\n",
               ms(lat[nlat / 2]), ms(lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1]),
               ms(lat[nlat - 1]), nlat);
    }
    free(lat);
}
