/*
 * test_reboot.c - durable decisions with real processes: a simulated
 * host crash (every process SIGKILLed at once, the segment removed as a
 * reboot empties /dev/shm, everything restarted on the same directories)
 * in the middle of COMMITTING ends committed everywhere; a HEURISTIC
 * transaction survives both a reboot and dtcd's SIGTERM and is resolved
 * afterwards; operator retry and resolve work with the coordinator that
 * hit the problem exited or killed; outcomes stay answerable from the
 * log once the slot is gone; dtcctl run names the participant whose
 * commit failed.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "txn.h"

static h_result res;

static void teardown(void)
{
    h_fini();
}

static const char *const shop[] = {"inventory", "payment", "order", "shipping"};

/* Starts the four services; payment gets pay_extra (may be NULL). */
static void start_shop(const char *pay_extra)
{
    ck_assert_int_gt(h_start_service("inventory", "inventory", "--seed", "sku-1=10", NULL), 0);
    ck_assert_int_gt(h_start_service("payment", "payment", "--seed", "alice=100000",
                                     pay_extra ? "--fail-commit" : NULL, pay_extra, NULL),
                     0);
    ck_assert_int_gt(h_start_service("order", "order", NULL), 0);
    ck_assert_int_gt(h_start_service("shipping", "shipping", "--seed", "zone-a=100", NULL), 0);
}

/* A host crash: SIGKILL dtcd, every registered participant and `also`
 * (may be -1) at once, then remove the segment as a reboot would. */
static void crash_host(pid_t also)
{
    dtc_participant_info parts[16];
    size_t n = 0;
    pid_t pids[18];
    int np = 0;
    ck_assert_int_eq(dtc_list_participants(h_inst(), parts, 16, &n), DTC_OK);
    for (size_t i = 0; i < n && i < 16; i++)
        pids[np++] = parts[i].pid;
    pids[np++] = h_dtcd_pid();
    pids[np++] = also;
    for (int i = 0; i < np; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    for (int i = 0; i < np; i++)
        if (pids[i] > 0)
            h_kill9(pids[i]);
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    ck_assert_int_eq(shm_unlink(shm), 0);
}

/* Polls the slot of `id` until its state is `st` (<= 5 s). */
static void wait_state(const dtc_txid *id, dtc_txn_state st)
{
    dtc_txn_info ti;
    int64_t end = h_now_ms() + 5000;
    do {
        if (dtc_transaction_status(h_inst(), id, &ti) == DTC_OK && ti.state == st)
            return;
        h_sleep_ms(10);
    } while (h_now_ms() < end);
    ck_abort_msg("transaction never reached %s", dtc_txn_state_name(st));
}

/* Polls the outcome of `id` until it is `kind` (<= 20 s), into *o. */
static void wait_outcome(const dtc_txid *id, dtc_outcome_kind kind, dtc_outcome *o)
{
    int64_t end = h_now_ms() + 20000;
    while (dtc_transaction_outcome(h_inst(), id, o) == DTC_OK && o->kind != kind
           && h_now_ms() < end)
        h_sleep_ms(50);
    ck_assert_str_eq(dtc_outcome_name(o->kind), dtc_outcome_name(kind));
}

/* In a forked coordinator: one order, committed; exits 0 if committed.
 * The txid goes to the parent through the pipe before the commit. */
static pid_t fork_order(int fd, const char *oid)
{
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid > 0)
        return pid;
    dtc_instance *in = NULL;
    dtc_txid id;
    char pay[64], ord[64], ship[64];
    snprintf(pay, sizeof pay, "charge alice 100");
    snprintf(ord, sizeof ord, "create %s alice 100", oid);
    snprintf(ship, sizeof ship, "schedule %s zone-a", oid);
    if (dtc_open(h_instance(), &in) != DTC_OK || dtc_begin_transaction(in, NULL, &id) != DTC_OK
        || write(fd, &id, sizeof id) != (ssize_t)sizeof id
        || dtc_enlist(in, &id, "inventory", "reserve sku-1 1", 15) != DTC_OK
        || dtc_enlist(in, &id, "payment", pay, strlen(pay)) != DTC_OK
        || dtc_enlist(in, &id, "order", ord, strlen(ord)) != DTC_OK
        || dtc_enlist(in, &id, "shipping", ship, strlen(ship)) != DTC_OK)
        _exit(3);
    _exit(dtc_commit_transaction(in, &id, NULL) == DTC_OK ? 0 : 1);
}

/* Every service's ledger holds `oid`'s transaction as applied. */
static void assert_applied_everywhere(const char *oid)
{
    h_dump d[4];
    char key[64];
    ck_assert_int_eq(h_dump_shop(d), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(d[i].ledger == 1, "%s ledger=%ld", shop[i], d[i].ledger);
    ck_assert_str_eq(h_dump_get(&d[0], "sku-1")->value, "9");
    ck_assert_str_eq(h_dump_get(&d[1], "alice")->value, "99900");
    snprintf(key, sizeof key, "order:%s", oid);
    ck_assert_ptr_nonnull(h_dump_get(&d[2], key));
}

static void show(const dtc_txid *id, const char *want)
{
    char txt[DTC_TXID_STRLEN];
    dtc_txid_format(id, txt);
    const char *const argv[] = {"--instance", h_instance(), "show", txt, NULL};
    h_runv(&res, 5000, NULL, "dtcctl", argv);
    ck_assert_msg(strstr(res.out, want) != NULL, "show: %d %s %s", res.code, res.out, res.err);
}

START_TEST(test_reboot_mid_commit)
{
    h_init("rb-commit");
    ck_assert_int_gt(h_start_dtcd(), 0);
    start_shop("1"); /* payment fails every commit: COMMITTING, retrying */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t coord = fork_order(fds[1], "o-1");
    dtc_txid id;
    ck_assert_int_eq(read(fds[0], &id, sizeof id), sizeof id);
    wait_state(&id, DTC_TXN_COMMITTING);
    /* COMMITTING comes before the COMMIT record's sync (told early) */
    for (int64_t end = h_now_ms() + 5000; !dtc__txn_commit_durable(h_inst(), &id) && h_now_ms() < end;)
        h_sleep_ms(10);
    ck_assert(dtc__txn_commit_durable(h_inst(), &id));
    h_sleep_ms(150); /* inventory, order, shipping applied; payment failing */
    crash_host(coord);
    ck_assert_int_gt(h_start_dtcd(), 0);
    show(&id, "in-flight");
    start_shop(NULL);
    dtc_outcome o;
    wait_outcome(&id, DTC_OUTCOME_COMMITTED, &o);
    ck_assert_int_eq(o.from_log, 1);
    assert_applied_everywhere("o-1");
    show(&id, "outcome:  committed");
}
END_TEST

/* A commit that fails at "a" after its retries is compensated; "b"
 * refuses its rollbacks: HEURISTIC, made by a coordinator that then
 * exits (as every dtcctl run does). */
static void heuristic_by_exited_coordinator(dtc_txid *id, char txt[DTC_TXID_STRLEN])
{
    h_heuristic_exited(id);
    dtc_txid_format(id, txt);
}

START_TEST(test_heuristic_survives_sigterm_and_reboot)
{
    h_init("rb-heur");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", "--fail-commit", "100", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", "--fail-rollback", "100", NULL), 0);
    dtc_txid id;
    char txt[DTC_TXID_STRLEN];
    heuristic_by_exited_coordinator(&id, txt);
    show(&id, "outcome:  heuristic");
    /* dtcd stops cleanly: the segment goes, the HEURISTIC stays in the log */
    ck_assert_int_eq(h_stop_dtcd(10000), 0);
    ck_assert_int_gt(h_start_dtcd(), 0);
    show(&id, "HEURISTIC");
    crash_host(-1); /* and a reboot */
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_outcome o;
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_HEURISTIC);
    /* back up, b working again; the operator resolves, coordinator gone */
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", NULL), 0);
    const char *const argv[] = {"--instance", h_instance(), "resolve", txt, "--rollback", NULL};
    ck_assert_msg(h_runv(&res, 20000, NULL, "dtcctl", argv) == 0, "resolve: %d %s %s", res.code,
                  res.out, res.err);
    ck_assert_msg(strncmp(res.out, "aborted", 7) == 0, "resolve said: %s", res.out);
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_ABORTED);
    ck_assert_int_eq(o.from_log, 1);
    /* the operator's decision is in the log */
    char log[16384];
    h_read_output("dtcd", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=recovered") != NULL, "no replay: %s", log);
}
END_TEST

/* retry of a HEURISTIC whose coordinator exited: exactly the retry's
 * outcome, reported as it happened (it used to print DTC_EABORTED). */
START_TEST(test_retry_with_coordinator_exited)
{
    h_init("rb-retry");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_gt(h_start_noop("a", "--fail-commit", "100", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", "--fail-rollback", "2", NULL), 0);
    dtc_txid id;
    char txt[DTC_TXID_STRLEN];
    heuristic_by_exited_coordinator(&id, txt);
    h_sleep_ms(200); /* dtcd has seen the coordinator gone */
    const char *const argv[] = {"--instance", h_instance(), "retry", txt, NULL};
    ck_assert_msg(h_runv(&res, 20000, NULL, "dtcctl", argv) == 0, "retry: %d %s %s", res.code,
                  res.out, res.err);
    ck_assert_msg(strncmp(res.out, "aborted", 7) == 0, "retry said: %s", res.out);
    ck_assert_msg(strstr(res.out, "DTC_EABORTED") == NULL, "retry blames the supervisor: %s",
                  res.out);
    dtc_outcome o;
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_ABORTED);
}
END_TEST

#ifdef DTC_CRASH_POINTS /* $DTC_CRASH_AT kills the operator */
/* resolve --commit by an operator killed right after its decision was
 * logged: dtcd adopts the slot and carries the operator's commit through. */
START_TEST(test_resolve_operator_killed)
{
    h_init("rb-resolve-kill");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    /* a's compensation fails too: still prepared, so a commit may be sent */
    ck_assert_int_gt(h_start_noop("a", "--fail-commit", "2", "--fail-rollback", "2", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", "--fail-rollback", "100", NULL), 0);
    dtc_txid id;
    char txt[DTC_TXID_STRLEN];
    heuristic_by_exited_coordinator(&id, txt);
    const char *const argv[] = {"--instance", h_instance(), "resolve", txt, "--commit", NULL};
    const char *const env[] = {"DTC_CRASH_AT=coord.after_commit_decision", NULL};
    ck_assert_int_eq(h_runv(&res, 10000, env, "dtcctl", argv), 128 + SIGKILL);
    dtc_outcome o;
    wait_outcome(&id, DTC_OUTCOME_COMMITTED, &o);
    char log[16384];
    h_read_output("dtcd", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=adopt") != NULL, "dtcd did not adopt: %s", log);
}
END_TEST
#endif

/* dtcctl run after a commit that failed and was compensated names the
 * participant and its reason. */
START_TEST(test_run_names_failed_commit)
{
    h_init("rb-run");
    ck_assert_int_gt(h_start_dtcd(), 0);
    start_shop("1");
    const char *const argv[] = {"--instance", h_instance(), "run",
                                "-p", "inventory=reserve sku-1 1",
                                "-p", "payment=charge alice 100",
                                "--commit-timeout-ms", "1500", NULL};
    ck_assert_int_eq(h_runv(&res, 20000, NULL, "dtcctl", argv), 1);
    ck_assert_msg(strstr(res.out, "aborted DTC_ECOMMIT") != NULL, "run: %s", res.out);
    ck_assert_msg(strstr(res.out, "payment: commit failed") != NULL
                      && strstr(res.out, "injected commit failure") != NULL,
                  "run does not name the culprit: %s", res.out);
}
END_TEST

/* After a reboot a service may come up before dtcd: it waits for the
 * segment (and says so) instead of exiting, then registers. */
START_TEST(test_service_waits_for_dtcd)
{
    h_init("rb-early");
    const char *const argv[] = {"--instance", h_instance(), "--data-dir", h_data_dir(),
                                "--seed", "alice=100", NULL};
    pid_t pay = h_spawnv("payment", "dtc-payment", argv, NULL);
    ck_assert_int_gt(pay, 0);
    h_sleep_ms(300);
    ck_assert_msg(h_alive(pay), "payment exited without dtcd");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_msg(h_wait_participant("payment", pay, 5000), "payment never registered");
    char log[8192];
    h_read_output("payment", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "waiting=dtcd") != NULL, "payment did not say it waits: %s", log);
}
END_TEST

/* The decision log's writer lock held by a process that never lets go
 * (stopped): the commit cannot be made durable, so it is not acted upon
 * (HEURISTIC, DTC_ELOG) within the lock limit, and the slot's own lock is
 * free afterwards; the operator then rolls it back. */
START_TEST(test_dlog_lock_stuck)
{
    setenv("DTC_LOCK_LIMIT_MS", "300", 1);
    h_init("rb-dlock");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", NULL), 0); /* two: a one-phase commit logs no decision */
    pid_t holder = h_fork();
    ck_assert_int_ge(holder, 0);
    if (holder == 0) {
        dtc_instance *in = NULL;
        if (dtc_open(h_instance(), &in) != DTC_OK
            || pthread_mutex_lock(&in->hdr->sh_dlog_lock) != 0)
            _exit(3);
        raise(SIGSTOP);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(holder, &st, WUNTRACED), holder);
    ck_assert(WIFSTOPPED(st));
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "b", "x", 1), DTC_OK);
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EHEURISTIC);
    ck_assert_int_lt(h_now_ms() - t0, 3000);
    ck_assert_int_eq(dtc_transaction_status(h_inst(), &id, &rep), DTC_OK); /* lock free */
    ck_assert_int_eq(rep.state, DTC_TXN_HEURISTIC);
    ck_assert_int_eq(rep.result, DTC_ELOG);
    h_kill9(holder);
    ck_assert_int_eq(dtc_resolve_transaction(h_inst(), &id, 0, NULL), DTC_OK);
    dtc_outcome o;
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_ABORTED);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reboot");
    TCase *tc = tcase_create("reboot");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reboot_mid_commit);
    tcase_add_test(tc, test_heuristic_survives_sigterm_and_reboot);
    tcase_add_test(tc, test_retry_with_coordinator_exited);
#ifdef DTC_CRASH_POINTS /* $DTC_CRASH_AT kills the operator */
    tcase_add_test(tc, test_resolve_operator_killed);
#endif
    tcase_add_test(tc, test_run_names_failed_commit);
    tcase_add_test(tc, test_service_waits_for_dtcd);
    tcase_add_test(tc, test_dlog_lock_stuck);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
