/*
 * driver.c - runs one cell: C coordinator threads released together,
 * each looping over the target's transaction function until the cell's
 * time is up (--seconds) or its share of --txns is done, timing every
 * transaction.  CPU and context switches are sampled around the run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

struct shared {
    const struct bench_target *t;
    pthread_barrier_t start;
    atomic_int stop;
    atomic_ullong failures;
    atomic_int error_code;      /* first failure's code */
    long per_thread;            /* transactions per thread, 0: until stop */
};

struct worker {
    struct shared *sh;
    int thread;
    uint64_t done;
    struct bench_samples lat;
    pthread_t tid;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    pthread_barrier_wait(&sh->start);
    for (uint64_t seq = 0; !atomic_load_explicit(&sh->stop, memory_order_relaxed); seq++) {
        if (sh->per_thread > 0 && seq >= (uint64_t)sh->per_thread)
            break;
        int64_t t0 = bench_now_ns();
        int rc = sh->t->txn(sh->t->ctx, w->thread, seq);
        int64_t t1 = bench_now_ns();
        w->done++;
        if (rc != 0) {
            int zero = 0;
            atomic_fetch_add(&sh->failures, 1);
            atomic_compare_exchange_strong(&sh->error_code, &zero, rc);
        } else if (bench_samples_add(&w->lat, t1 - t0) != 0) {
            atomic_fetch_add(&sh->failures, 1);
        }
    }
    return NULL;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Starts the threads; returns how many started. */
static int start_workers(struct worker *w, int c, struct shared *sh)
{
    int k;
    for (k = 0; k < c; k++) {
        w[k] = (struct worker){.sh = sh, .thread = k};
        if (pthread_create(&w[k].tid, NULL, worker_main, &w[k]) != 0)
            break;
    }
    return k;
}

static void fill(struct bench_cell *cell, struct worker *w, int c, struct shared *sh,
                 double elapsed, const struct bench_usage *u0, const struct bench_usage *u1)
{
    struct bench_samples per[BENCH_MAX_COORDS];
    cell->txns = 0;
    for (int k = 0; k < c; k++) {
        cell->txns += w[k].done;
        per[k] = w[k].lat;
    }
    cell->failures = atomic_load(&sh->failures);
    int code = atomic_load(&sh->error_code);
    snprintf(cell->first_error, sizeof cell->first_error, "%s",
             code && sh->t->err_name ? sh->t->err_name(code) : "");
    cell->elapsed_s = elapsed;
    cell->tps = elapsed > 0 ? (double)(cell->txns - cell->failures) / elapsed : 0;
    bench_latency_of(per, c, &cell->lat);
    double n = cell->txns ? (double)cell->txns : 1;
    cell->cpu_us_per_txn = (u1->cpu_s - u0->cpu_s) * 1e6 / n;
    cell->ctxsw_per_txn = (double)(u1->ctxsw - u0->ctxsw) / n;
}

int bench_run_cell(const struct bench_opts *o, const struct bench_target *t,
                   struct bench_cell *cell)
{
    int c = cell->ncoords;
    struct worker *w = calloc((size_t)c, sizeof *w);
    struct shared sh = {.t = t, .per_thread = o->txns > 0 ? (o->txns + c - 1) / c : 0};
    if (w == NULL || pthread_barrier_init(&sh.start, NULL, (unsigned)c + 1) != 0) {
        free(w);
        return -1;
    }
    int started = start_workers(w, c, &sh);
    if (started < c) { /* cannot release a barrier short of threads */
        fprintf(stderr, "dtc-bench: could not start %d threads\n", c);
        abort();
    }
    struct bench_usage u0, u1;
    bench_usage_sample(t->pids, t->npids, &u0);
    int64_t t0 = bench_now_ns();
    pthread_barrier_wait(&sh.start);
    if (sh.per_thread == 0) {
        sleep_s(o->seconds);
        atomic_store(&sh.stop, 1);
    }
    for (int k = 0; k < c; k++)
        pthread_join(w[k].tid, NULL);
    double elapsed = (double)(bench_now_ns() - t0) / 1e9;
    bench_usage_sample(t->pids, t->npids, &u1);
    fill(cell, w, c, &sh, elapsed, &u0, &u1);
    pthread_barrier_destroy(&sh.start);
    free(w);
    return 0;
}
