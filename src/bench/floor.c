/*
 * floor.c - the floor of dtc's design on this machine (a bare 2PC
 * exchange; docs/performance.md, "The coordination grid"): the same message pattern with no transaction
 * logic.  Its own small shared segment (an anonymous MAP_SHARED mapping:
 * nothing to unlink) holds one slot per participant process (robust
 * process-shared mutex, CLOCK_MONOTONIC condvar, request ring) and one per
 * coordinator thread (mutex, condvar, answers outstanding).  A
 * transaction: PREPARE pushed to N rings, N votes, COMMIT to N, N acks.
 * Participants serve every pending request per wake-up; everyone signals
 * under the lock: the floor measured before dtc was built (about 55,000
 * txn/s at N=3, C=16), the one dtc's throughput target is stated against.
 *
 * The wake variant (mode floor-wake) uses dtc's own wake-up scheme
 * instead: participants pace themselves as dtc's do (src/libdtc/pace.h: busy,
 * SCHED_BATCH and one yield after a wake-up); participants and
 * coordinators are signalled after the slot's unlock, only when asleep
 * and not yet signalled (dtc adds a wake lock there, to keep the signal
 * apart from condvar re-initialization, which the floor never does).
 * Every wait is a bounded timedwait.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench.h"
#include "pace.h" /* the pacing of dtc's participants (src/libdtc/pace.c) */

#define RING 2048 /* >= 2 * BENCH_MAX_COORDS: ENLIST and one request each */
#define WAIT_NS 5000000000LL
#define ENLIST_BIT 0x8000u /* ring value: coordinator index | ENLIST_BIT */

struct fl_part {
    pthread_mutex_t m;
    pthread_cond_t cv;
    uint32_t head, tail, stop;
    uint32_t sleeping, wake_sent; /* wake variant: as in struct dtc_wake */
    uint16_t ring[RING];      /* coordinator index (| ENLIST_BIT) */
} __attribute__((aligned(64)));

struct fl_coord {
    pthread_mutex_t m;
    pthread_cond_t cv;
    uint32_t pending;
    uint32_t enlisted;        /* ENLIST messages recorded (floor-enlist) */
    uint32_t sleeping, wake_sent; /* wake variant: as in struct dtc_wake */
} __attribute__((aligned(64)));

struct bench_floor {
    int nparts, ncoords;
    int wake;                 /* dtc's wake-up scheme (floor-wake) */
    size_t size;
    struct fl_part *parts;
    struct fl_coord *coords;
    pid_t pids[BENCH_MAX_PARTS];
};

static void init_pair(pthread_mutex_t *m, pthread_cond_t *cv)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &ma);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
}

static void lock(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) == EOWNERDEAD)
        pthread_mutex_consistent(m);
}

static int wait_until(pthread_cond_t *cv, pthread_mutex_t *m, int64_t abs_ns)
{
    struct timespec ts = {abs_ns / 1000000000, abs_ns % 1000000000};
    int rc = pthread_cond_timedwait(cv, m, &ts);
    if (rc == EOWNERDEAD)
        pthread_mutex_consistent(m);
    return rc;
}

/* Participant process: answer every pending request per wake-up. */
static void part_loop(struct bench_floor *f, struct fl_part *p)
{
    uint16_t batch[RING];
    struct dtc__pace pace = {0}; /* wake variant: as dtc's participants */
    for (;;) {
        lock(&p->m);
        int slept = 0;
        while (p->head == p->tail && !p->stop) {
            p->sleeping = 1;
            wait_until(&p->cv, &p->m, bench_now_ns() + 200000000);
            p->sleeping = p->wake_sent = 0;
            slept = 1;
        }
        if (slept && dtc__pace_yield(&pace) && p->head != p->tail) { /* as dtc's take() */
            pthread_mutex_unlock(&p->m);
            sched_yield();
            lock(&p->m);
        }
        uint32_t n = 0, answers = 0;
        for (; p->head != p->tail; p->head++) {
            batch[n] = p->ring[p->head % RING];
            answers += !(batch[n++] & ENLIST_BIT);
        }
        if (f->wake) /* n == 0: an idle wait, as in dtc */
            dtc__pace_after_batch(&pace, answers);
        int stop = (int)p->stop;
        pthread_mutex_unlock(&p->m);
        for (uint32_t k = 0; k < n; k++) {
            uint16_t ci = batch[k] & (uint16_t)~ENLIST_BIT;
            struct fl_coord *c = &f->coords[ci < f->ncoords ? ci : 0];
            lock(&c->m);
            int after = 0;
            if (batch[k] & ENLIST_BIT)
                c->enlisted++; /* recorded, not answered */
            else if (c->pending > 0 && --c->pending == 0) {
                if (!f->wake)
                    pthread_cond_signal(&c->cv); /* under the lock */
                else if (c->sleeping && !c->wake_sent)
                    after = 1, c->wake_sent = 1;
            }
            pthread_mutex_unlock(&c->m);
            if (after)
                pthread_cond_signal(&c->cv);
        }
        if (stop)
            _exit(0);
    }
}

/* Pushes value v onto participant k's ring and signals it: under the
 * lock, or (wake variant) after it if the participant sleeps unsignalled.
 * ENLIST messages wake nobody in the wake variant, as in dtc. */
static void push(struct bench_floor *f, int k, uint16_t v)
{
    struct fl_part *p = &f->parts[k];
    lock(&p->m);
    p->ring[p->tail++ % RING] = v;
    int after = 0;
    if (!f->wake)
        pthread_cond_signal(&p->cv); /* under the lock */
    else if (!(v & ENLIST_BIT) && p->sleeping && !p->wake_sent)
        after = 1, p->wake_sent = 1;
    pthread_mutex_unlock(&p->m);
    if (after)
        pthread_cond_signal(&p->cv);
}

/* One phase of coordinator `ci`: a request to every participant, then
 * wait for every answer.  0, or -1 on a timeout. */
static int phase(struct bench_floor *f, int ci)
{
    struct fl_coord *c = &f->coords[ci];
    lock(&c->m);
    c->pending = (uint32_t)f->nparts;
    pthread_mutex_unlock(&c->m);
    for (int k = 0; k < f->nparts; k++)
        push(f, k, (uint16_t)ci);
    int64_t deadline = bench_now_ns() + WAIT_NS;
    int rc = 0;
    lock(&c->m);
    while (c->pending > 0 && rc == 0) {
        c->sleeping = 1;
        if (wait_until(&c->cv, &c->m, deadline) == ETIMEDOUT)
            rc = c->pending > 0 ? -1 : 0;
        c->sleeping = c->wake_sent = 0;
    }
    pthread_mutex_unlock(&c->m);
    return rc;
}

static int floor_txn(void *ctx, int thread, uint64_t seq)
{
    (void)seq;
    struct bench_floor *f = ctx;
    if (phase(f, thread) != 0) /* PREPARE, votes */
        return 1;
    return phase(f, thread) != 0 ? 2 : 0; /* COMMIT, acks */
}

static int floor_enlist_txn(void *ctx, int thread, uint64_t seq)
{
    struct bench_floor *f = ctx;
    for (int k = 0; k < f->nparts; k++)
        push(f, k, (uint16_t)(thread | ENLIST_BIT));
    return floor_txn(ctx, thread, seq);
}

static const char *floor_err(int code)
{
    return code == 1 ? "floor: vote timeout" : "floor: ack timeout";
}

int bench_floor_start(int nparts, int max_coords, int wake, struct bench_floor **out)
{
    struct bench_floor *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->wake = wake;
    f->nparts = nparts;
    f->ncoords = max_coords;
    f->size = (size_t)nparts * sizeof(struct fl_part) + (size_t)max_coords * sizeof(struct fl_coord);
    void *seg = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (seg == MAP_FAILED) {
        free(f);
        return -1;
    }
    f->parts = seg;
    f->coords = (struct fl_coord *)(f->parts + nparts);
    for (int k = 0; k < nparts; k++)
        init_pair(&f->parts[k].m, &f->parts[k].cv);
    for (int k = 0; k < max_coords; k++)
        init_pair(&f->coords[k].m, &f->coords[k].cv);
    *out = f;
    for (int k = 0; k < nparts; k++) {
        pid_t pid = fork(); /* no threads run yet: fork is safe */
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            part_loop(f, &f->parts[k]);
        }
        if (pid < 0) {
            bench_floor_stop(out);
            return -1;
        }
        f->pids[k] = pid;
        dtc_kit_track(pid);
    }
    return 0;
}

void bench_floor_target(struct bench_floor *f, int enlist, struct bench_target *t)
{
    *t = (struct bench_target){enlist ? floor_enlist_txn : floor_txn, floor_err, f, f->pids,
                               f->nparts};
}

void bench_floor_stop(struct bench_floor **fp)
{
    struct bench_floor *f = *fp;
    if (f == NULL)
        return;
    for (int k = 0; k < f->nparts; k++) {
        struct fl_part *p = &f->parts[k];
        lock(&p->m);
        p->stop = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->m);
    }
    for (int k = 0; k < f->nparts; k++)
        if (f->pids[k] > 0) {
            struct bench_child c = {.pid = f->pids[k], .out_fd = -1, .name = "floor participant"};
            bench_stop(&c, 2000);
        }
    munmap(f->parts, f->size);
    free(f);
    *fp = NULL;
}
