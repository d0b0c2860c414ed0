/*
 * test_operator.c - the supervisor's and the operator's side of recovery:
 * an idle (orphaned) transaction is rolled back by dtcd after the orphan
 * timeout and its coordinator is told DTC_EABORTED when it comes back;
 * coordinators and participants keep committing while dtcd is down and a
 * restarted dtcd catches up; a transaction whose compensation fails ends
 * HEURISTIC, is kept and shown, and is ended by `dtcctl retry` or
 * `dtcctl resolve`; a participant stops cleanly on SIGTERM.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static h_result res;

static void teardown(void)
{
    h_fini();
}

static uint32_t in_use(void)
{
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    return st.txns_in_use;
}

static dtc_result run_one(const char *a, const char *b)
{
    dtc_txid id;
    dtc_result rc = dtc_begin_transaction(h_inst(), NULL, &id);
    if (rc == DTC_OK)
        rc = dtc_enlist(h_inst(), &id, a, "x", 1);
    if (rc == DTC_OK && b != NULL)
        rc = dtc_enlist(h_inst(), &id, b, "x", 1);
    return rc == DTC_OK ? dtc_commit_transaction(h_inst(), &id, NULL) : rc;
}

START_TEST(test_orphan_rolled_back)
{
    h_init("op-orphan");
    const char *const extra[] = {"--orphan-timeout-ms", "300", "--tick-ms", "20", NULL};
    ck_assert_int_gt(h_start_dtcdv(extra), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &id, NULL), DTC_OK);
    /* The coordinator (this process) stays alive but goes quiet. */
    dtc_txn_info ti;
    int64_t end = h_now_ms() + 5000;
    do {
        h_sleep_ms(20);
        ck_assert_int_eq(dtc_transaction_status(h_inst(), &id, &ti), DTC_OK);
    } while (ti.state != DTC_TXN_ABORTED && h_now_ms() < end);
    ck_assert_str_eq(dtc_txn_state_name(ti.state), "ABORTED");
    ck_assert(ti.adopted);
    char log[8192];
    h_read_output("dtcd", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "why=orphan_timeout") != NULL, "no orphan log line: %s", log);
    /* Back from its pause, the coordinator hears what happened. */
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_EABORTED);
    /* Asked again, the slot gone: the same answer, from the decision log;
     * a rollback is done already (dtc.h: idempotent). */
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_EABORTED);
    ck_assert_int_eq(dtc_rollback_transaction(h_inst(), &id, NULL), DTC_OK);
    ck_assert_uint_eq(in_use(), 0);
}
END_TEST

START_TEST(test_commits_without_dtcd)
{
    h_init("op-nodtcd");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    pid_t b = h_start_noop("b", NULL);
    ck_assert_int_gt(b, 0);
    ck_assert_int_eq(h_exit_code(h_kill9(h_dtcd_pid())), 128 + SIGKILL);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(run_one("a", "b"), DTC_OK);
    /* A participant dies in the gap; the restarted dtcd reclaims it. */
    ck_assert_int_eq(h_exit_code(h_kill9(b)), 128 + SIGKILL);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    char log[8192];
    h_read_output("dtcd", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=reattach") != NULL, "dtcd did not re-attach: %s", log);
    int64_t end = h_now_ms() + 3000;
    dtc_participant_info pi;
    while (h_find_participant("b", &pi) && h_now_ms() < end)
        h_sleep_ms(20);
    ck_assert_msg(!h_find_participant("b", &pi), "dead participant b not reclaimed");
    ck_assert_int_gt(h_start_noop("b", NULL), 0);
    ck_assert_int_eq(run_one("a", "b"), DTC_OK);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 51);
    ck_assert_uint_ge(st.counters.reclaimed, 1);
}
END_TEST

/* A commit that fails at "a" after its retries is compensated; "b"
 * refuses its first rollbacks too: HEURISTIC. */
static void make_heuristic(dtc_txid *id, char txt[DTC_TXID_STRLEN])
{
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.max_retries = 1;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), &o, id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), id, "b", "x", 1), DTC_OK);
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), id, &rep), DTC_EHEURISTIC);
    ck_assert_int_eq(rep.state, DTC_TXN_HEURISTIC);
    ck_assert_str_eq(rep.entries[1].reason, "noop injected rollback failure");
    dtc_txid_format(id, txt);
    /* Kept, and shown to the operator. */
    ck_assert_uint_eq(in_use(), 1);
    const char *const argv[] = {"--instance", h_instance(), "txns", NULL};
    ck_assert_int_eq(h_runv(&res, 5000, NULL, "dtcctl", argv), 0);
    ck_assert_msg(strstr(res.out, txt) && strstr(res.out, "HEURISTIC"), "txns: %s", res.out);
}

START_TEST(test_heuristic_retry)
{
    h_init("op-heur-retry");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", "--fail-commit", "100", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", "--fail-rollback", "2", NULL), 0);
    dtc_txid id;
    char txt[DTC_TXID_STRLEN];
    make_heuristic(&id, txt);
    /* b's third rollback succeeds: retry ends it, rolled back. */
    const char *const argv[] = {"--instance", h_instance(), "retry", txt, "--json", NULL};
    h_runv(&res, 10000, NULL, "dtcctl", argv);
    ck_assert_msg(res.code == 0 || res.code == 1, "retry: %d %s %s", res.code, res.out, res.err);
    ck_assert_uint_eq(in_use(), 0);
    /* --json: one object, the call's result and what settled */
    ck_assert_msg(h_json_valid(res.out) && strstr(res.out, "\"call\":\"")
                      && strstr(res.out, "\"already_ended\":false")
                      && strstr(res.out, "\"settled\":{\"outcome\":\"aborted\""), "%s", res.out);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.heuristic, 1);
    ck_assert_uint_eq(st.counters.committed, 0);
}
END_TEST

START_TEST(test_heuristic_resolve_commit)
{
    h_init("op-heur-resolve");
    ck_assert_int_gt(h_start_dtcd(), 0);
    /* a's compensation fails too: both stay prepared, so an operator
     * may commit (test_answers checks the refusal otherwise) */
    ck_assert_int_gt(h_start_noop("a", "--fail-commit", "2", "--fail-rollback", "2", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", "--fail-rollback", "2", NULL), 0);
    dtc_txid id;
    char txt[DTC_TXID_STRLEN];
    make_heuristic(&id, txt);
    const char *const bad[] = {"--instance", h_instance(), "resolve", txt, NULL};
    ck_assert_int_eq(h_runv(&res, 5000, NULL, "dtcctl", bad), 2); /* no --commit/--rollback */
    const char *const argv[] = {"--instance", h_instance(), "resolve", txt, "--commit", NULL};
    ck_assert_msg(h_runv(&res, 10000, NULL, "dtcctl", argv) == 0, "resolve: %d %s %s",
                  res.code, res.out, res.err);
    ck_assert_uint_eq(in_use(), 0);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 1);
    /* A resolved transaction is gone; resolving a live one is refused. */
    ck_assert_int_eq(dtc_resolve_transaction(h_inst(), &id, 1, NULL), DTC_ENOTFOUND);
    /* resolving it again: it had ended, committed (from the decision log) */
    const char *const again[] = {"--instance", h_instance(), "resolve", txt, "--rollback", "--json",
                                 NULL};
    ck_assert_msg(h_runv(&res, 10000, NULL, "dtcctl", again) == 0, "%d %s %s", res.code, res.out,
                  res.err);
    ck_assert_msg(h_json_valid(res.out) && strstr(res.out, "\"already_ended\":true")
                      && strstr(res.out, "\"outcome\":\"committed\""), "%s", res.out);
}
END_TEST

START_TEST(test_participant_sigterm)
{
    h_init("op-sigterm");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    pid_t pay;
    dtc_participant_info pi;
    ck_assert(h_find_participant("payment", &pi));
    pay = pi.pid;
    ck_assert_int_eq(h_order(h_inst(), "o-1", "sku-1", 1, "alice", 100, "zone-a", NULL, NULL),
                     DTC_OK);
    ck_assert_int_eq(h_exit_code(h_stop(pay, 5000)), 0);
    ck_assert_msg(!h_find_participant("payment", &pi), "payment still registered");
    h_dump d[4];
    ck_assert_int_eq(h_dump_shop(d), 0);
    ck_assert_ptr_nonnull(h_dump_get(&d[2], "order:o-1"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("operator");
    TCase *tc = tcase_create("operator");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_orphan_rolled_back);
    tcase_add_test(tc, test_commits_without_dtcd);
    tcase_add_test(tc, test_heuristic_retry);
    tcase_add_test(tc, test_heuristic_resolve_commit);
    tcase_add_test(tc, test_participant_sigterm);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
