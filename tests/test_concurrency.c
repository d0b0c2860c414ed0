/*
 * test_concurrency.c - two coordinator processes (the test and a forked
 * child), each driving transactions from 8 threads at once through two
 * dtc-noop participants.  Every transaction must commit (DTC_ETXNFULL at
 * begin is retried), the shared counters must match what the threads
 * counted, and no slot may be left in use.  And one process with as many
 * threads as slots, which must never see the table full.  And one
 * process's threads sharing the log's syncs: the thread that sees a sync
 * delivers phase two for the others (courier.c), each exactly once; and
 * when that process's syncs of the log fail, no order it was not told
 * committed reaches a participant's commit.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h" /* dtc__courier_carried */

#define THREADS 8
#define PER_THREAD 300
#define DEADLINE_MS 40000
#define SLOTS_THREADS 64 /* threads = slots test: dtcd --max-txns 64 */
#define SLOTS_PER_THREAD 400

struct tally {
    _Atomic uint64_t begun, committed, full_retries, failed;
    _Atomic int first_error;   /* dtc_result of the first failure, 0 = none */
    _Atomic int first_step;    /* 1 begin, 2 enlist, 3 commit */
};

struct worker {
    dtc_instance *in;
    struct tally *t;
    int64_t deadline;
    int per_thread;
};

static void note_failure(struct tally *t, int step, dtc_result rc)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&t->first_error, &zero, (int)rc))
        atomic_store(&t->first_step, step);
    atomic_fetch_add(&t->failed, 1);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->per_thread && h_now_ms() < w->deadline; i++) {
        dtc_txid id;
        dtc_result rc;
        while ((rc = dtc_begin_transaction(w->in, NULL, &id)) == DTC_ETXNFULL
               && h_now_ms() < w->deadline) {
            atomic_fetch_add(&w->t->full_retries, 1);
            h_sleep_ms(1);
        }
        if (rc != DTC_OK) {
            note_failure(w->t, 1, rc);
            continue;
        }
        atomic_fetch_add(&w->t->begun, 1);
        if ((rc = dtc_enlist(w->in, &id, "c1", "a", 1)) != DTC_OK
            || (rc = dtc_enlist(w->in, &id, "c2", "b", 1)) != DTC_OK) {
            note_failure(w->t, 2, rc);
            dtc_rollback_transaction(w->in, &id, NULL);
            continue;
        }
        rc = dtc_commit_transaction(w->in, &id, NULL);
        if (rc == DTC_OK)
            atomic_fetch_add(&w->t->committed, 1);
        else
            note_failure(w->t, 3, rc);
    }
    return NULL;
}

/* Runs fn(arg) in n threads (at most SLOTS_THREADS) and joins them; 0 if
 * all n started. */
static int run_threads(int n, void *(*fn)(void *), void *arg)
{
    pthread_t th[SLOTS_THREADS];
    int started = 0;
    for (; started < n && started < SLOTS_THREADS; started++)
        if (pthread_create(&th[started], NULL, fn, arg) != 0)
            break;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return started == n ? 0 : -1;
}

/* Runs n workers of per_thread txns each on a fresh handle; 0 if every
 * thread ran.  *carried (if not NULL): the phase twos the handle's
 * courier delivered for another thread. */
static int run_workers_n(struct tally *t, int n, int per_thread, uint64_t *carried)
{
    dtc_instance *in;
    if (dtc_open(h_instance(), &in) != DTC_OK)
        return -1;
    struct worker w = {in, t, h_now_ms() + DEADLINE_MS, per_thread};
    int ran = run_threads(n, worker_main, &w);
    if (carried != NULL)
        *carried = dtc__courier_carried(in);
    dtc_close(&in);
    return ran;
}

static int run_workers(struct tally *t)
{
    return run_workers_n(t, THREADS, PER_THREAD, NULL);
}

static void teardown(void)
{
    h_fini();
}

/* Participant `name` once it has nothing queued and served at least
 * `want` requests, or as it is after 2 s.  A participant publishes its
 * answers before it advances its ring, so the last batch may still count
 * as pending for a moment after the coordinators returned. */
static dtc_participant_info drained(const char *name, uint64_t want)
{
    dtc_participant_info pi;
    int64_t until = h_now_ms() + 2000;
    do {
        ck_assert(h_find_participant(name, &pi));
        if (pi.pending == 0 && pi.served >= want)
            break;
        h_sleep_ms(5);
    } while (h_now_ms() < until);
    return pi;
}

START_TEST(test_concurrency_two_processes_eight_threads)
{
    h_init("concurrency");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("c1", NULL), 0);
    ck_assert_int_gt(h_start_noop("c2", NULL), 0);

    struct tally *tl = mmap(NULL, 2 * sizeof *tl, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(tl, MAP_FAILED);
    memset(tl, 0, 2 * sizeof *tl);

    pid_t child = h_fork();
    ck_assert_int_ge(child, 0);
    if (child == 0)
        _exit(run_workers(&tl[1]) == 0 ? 0 : 3);
    ck_assert_int_eq(run_workers(&tl[0]), 0);
    int status;
    ck_assert_msg(h_wait(child, DEADLINE_MS + 5000, &status), "child coordinator hung");
    ck_assert_int_eq(h_exit_code(status), 0);

    uint64_t committed = 0, begun = 0;
    for (int p = 0; p < 2; p++) {
        ck_assert_msg(tl[p].failed == 0,
                      "process %d: %llu failures, first %s at step %d", p,
                      (unsigned long long)tl[p].failed,
                      dtc_result_name((dtc_result)tl[p].first_error), tl[p].first_step);
        ck_assert_uint_eq(tl[p].committed, (uint64_t)THREADS * PER_THREAD);
        committed += tl[p].committed;
        begun += tl[p].begun;
    }
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, committed);
    ck_assert_uint_eq(st.counters.begun, begun);
    ck_assert_uint_eq(st.counters.aborted, 0);
    ck_assert_uint_eq(st.counters.heuristic, 0);
    ck_assert_uint_eq(st.txns_in_use, 0);
    ck_assert_uint_eq(st.corrupt_slots, 0);
    /* Both participants are still registered, alive, with nothing queued. */
    const char *names[] = {"c1", "c2"};
    for (int i = 0; i < 2; i++) {
        dtc_participant_info pi = drained(names[i], 2 * committed);
        ck_assert(pi.alive);
        ck_assert_uint_eq(pi.pending, 0);
        ck_assert_uint_ge(pi.served, 2 * committed); /* prepare + commit each */
    }
    munmap(tl, 2 * sizeof *tl);
}
END_TEST

/* As many threads as transaction slots (dtcd --max-txns 64): a thread
 * that just freed its slot always has one, so begin never reports the
 * table full (it did, when the next begin scanned from the slot after
 * its own and the slots freed under its scan were taken by others). */
START_TEST(test_concurrency_threads_equal_slots)
{
    h_init("conc-full");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--max-txns", "64", NULL}), 0);
    ck_assert_int_gt(h_start_noop("c1", NULL), 0);
    ck_assert_int_gt(h_start_noop("c2", NULL), 0);
    struct tally t;
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(run_workers_n(&t, SLOTS_THREADS, SLOTS_PER_THREAD, NULL), 0);
    ck_assert_msg(t.failed == 0, "%llu failures, first %s at step %d",
                  (unsigned long long)t.failed, dtc_result_name((dtc_result)t.first_error),
                  t.first_step);
    ck_assert_uint_eq(t.committed, (uint64_t)SLOTS_THREADS * SLOTS_PER_THREAD);
    ck_assert_msg(t.full_retries == 0, "begin reported DTC_ETXNFULL %llu times",
                  (unsigned long long)t.full_retries);
}
END_TEST

/* 16 threads of one process through two dtc-noop participants (storage
 * of their own: phase two only once the COMMIT is durable).  Every
 * transaction commits; each participant serves exactly an enlist, a
 * prepare and a commit per transaction (a commit delivered by both the courier
 * and the driver would count twice, a lost one would hang or fail it);
 * and the courier delivered some of them for other threads. */
START_TEST(test_concurrency_courier_carries_phase_two)
{
    h_init("conc-courier");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("c1", NULL), 0);
    ck_assert_int_gt(h_start_noop("c2", NULL), 0);
    struct tally t;
    memset(&t, 0, sizeof t);
    uint64_t carried = 0;
    ck_assert_int_eq(run_workers_n(&t, 16, PER_THREAD, &carried), 0);
    ck_assert_msg(t.failed == 0, "%llu failures, first %s at step %d",
                  (unsigned long long)t.failed, dtc_result_name((dtc_result)t.first_error),
                  t.first_step);
    ck_assert_uint_eq(t.committed, 16u * PER_THREAD);
    ck_assert_msg(carried > 0, "no phase two was carried for another thread");
    const char *names[] = {"c1", "c2"};
    for (int i = 0; i < 2; i++)
        ck_assert_uint_eq(drained(names[i], 3 * t.committed).served, 3 * t.committed);
}
END_TEST

#define IOF_THREADS 8
#define IOF_PER_THREAD 10

struct iof_tally {
    _Atomic uint64_t committed, heuristic, other;
};

struct iof_worker {
    dtc_instance *in;
    struct iof_tally *t;
};

static void *iof_worker(void *arg)
{
    struct iof_worker *w = arg;
    struct iof_tally *t = w->t;
    for (int i = 0; i < IOF_PER_THREAD; i++) {
        dtc_txid id;
        if (dtc_begin_transaction(w->in, NULL, &id) != DTC_OK
            || dtc_enlist(w->in, &id, "c1", "a", 1) != DTC_OK
            || dtc_enlist(w->in, &id, "c2", "b", 1) != DTC_OK) {
            atomic_fetch_add(&t->other, 1);
            continue;
        }
        dtc_result rc = dtc_commit_transaction(w->in, &id, NULL);
        atomic_fetch_add(rc == DTC_OK ? &t->committed
                         : rc == DTC_EHEURISTIC ? &t->heuristic : &t->other, 1);
    }
    return NULL;
}

/* The worker process of courier_sync_fails (run under the iofault
 * preload): IOF_THREADS threads, IOF_PER_THREAD orders each; prints
 * "committed C heuristic H other O". */
static int iof_role(const char *instance)
{
    dtc_instance *in;
    if (dtc_open(instance, &in) != DTC_OK)
        return 2;
    struct iof_tally t = {0};
    struct iof_worker w = {in, &t};
    int ran = run_threads(IOF_THREADS, iof_worker, &w);
    dtc_close(&in);
    printf("committed %llu heuristic %llu other %llu\n", (unsigned long long)t.committed,
           (unsigned long long)t.heuristic, (unsigned long long)t.other);
    return ran == 0 ? 0 : 2;
}

/* Every fdatasync of the log fails in one coordinator process of eight
 * threads (the iofault preload, sticky like a bad disk).  A courier whose
 * sync failed delivers nothing: each order ends committed (its COMMIT
 * made durable by dtcd's own sync of the log) or HEURISTIC with nothing
 * sent, and each participant served an enlist and a prepare per order
 * and a commit per committed order, no more. */
START_TEST(test_concurrency_courier_sync_fails)
{
    h_init("conc-iof");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("c1", NULL), 0);
    ck_assert_int_gt(h_start_noop("c2", NULL), 0);
    static char pre[PATH_MAX + 32], root[PATH_MAX + 32], asan[1024];
    const char *inherited = getenv("ASAN_OPTIONS");
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s/libdtc_iofault.so", DTC_BIN_DIR);
    snprintf(root, sizeof root, "DTC_IOFAULT_ROOT=%s", h_dir());
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
             inherited ? inherited : "", inherited && inherited[0] ? ":" : "");
    const char *env[] = {pre, root, "DTC_IOFAULT=fdatasync:EIO:1:dlog.", asan, NULL};
    pid_t pid = h_spawnv("iof", "test_concurrency",
                         (const char *const[]){"--iofault-role", h_instance(), NULL}, env);
    ck_assert_int_gt(pid, 0);
    int status;
    ck_assert_msg(h_wait(pid, 30000, &status), "the worker process hung");
    char out[256], err[4096];
    h_read_output("iof", "out", out, sizeof out);
    h_read_output("iof", "err", err, sizeof err);
    ck_assert_msg(h_exit_code(status) == 0, "worker exit %d: %s%s", h_exit_code(status), out, err);
    ck_assert_msg(strstr(err, "libdtc_iofault: inject") != NULL, "no fault injected: %s", err);
    unsigned long long c = 0, hx = 0, o = 0;
    ck_assert_msg(sscanf(out, "committed %llu heuristic %llu other %llu", &c, &hx, &o) == 3,
                  "worker said: %s", out);
    ck_assert_msg(o == 0 && c + hx == IOF_THREADS * IOF_PER_THREAD && hx > 0,
                  "committed %llu heuristic %llu other %llu", c, hx, o);
    const char *names[] = {"c1", "c2"};
    uint64_t want = 2ull * IOF_THREADS * IOF_PER_THREAD + c;
    for (int i = 0; i < 2; i++) {
        dtc_participant_info pi = drained(names[i], want);
        h_sleep_ms(50); /* a commit sent late would show now */
        ck_assert(h_find_participant(names[i], &pi));
        ck_assert_msg(pi.served == want, "%s served %llu, want %llu (committed %llu)", names[i],
                      (unsigned long long)pi.served, (unsigned long long)want, c);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--iofault-role") == 0)
        return iof_role(argv[2]);
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("concurrency");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_concurrency_two_processes_eight_threads);
    tcase_add_test(tc, test_concurrency_threads_equal_slots);
    tcase_add_test(tc, test_concurrency_courier_carries_phase_two);
    tcase_add_test(tc, test_concurrency_courier_sync_fails);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
