/*
 * test_cli.c - dtcctl and dtcd as programs: run's output lines and exit
 * codes (0 committed, 1 aborted, 2 no segment / usage), status/txns/
 * participants --json are valid JSON with the documented keys, a second
 * dtcd on a running instance refuses to start, and SIGTERM removes the
 * segment.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void teardown(void)
{
    h_fini();
}

static h_result res; /* large: not on the stack */

/* Checks "txid <uuid>\n" as the first line; returns the rest. */
static const char *after_txid(const char *out)
{
    ck_assert_msg(strncmp(out, "txid ", 5) == 0, "first line is not 'txid ...': %s", out);
    char uuid[DTC_TXID_STRLEN];
    ck_assert_msg(strlen(out) > 5 + DTC_TXID_STRLEN - 1, "short output: %s", out);
    memcpy(uuid, out + 5, DTC_TXID_STRLEN - 1);
    uuid[DTC_TXID_STRLEN - 1] = '\0';
    dtc_txid id;
    ck_assert_msg(dtc_txid_parse(uuid, &id) == DTC_OK, "bad txid in: %s", out);
    ck_assert_int_eq(out[5 + DTC_TXID_STRLEN - 1], '\n');
    return out + 5 + DTC_TXID_STRLEN;
}

START_TEST(test_cli_run_exit_codes)
{
    h_init("cli-run");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("yes1", NULL), 0);
    ck_assert_int_gt(h_start_noop("yes2", NULL), 0);
    ck_assert_int_gt(h_start_noop("nay", "--vote", "no", NULL), 0);
    const char *I = h_instance();

    /* committed: exit 0 */
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "--participant", "yes1=a",
          "-p", "yes2=b", NULL);
    ck_assert_msg(res.code == 0, "exit %d out=%s err=%s", res.code, res.out, res.err);
    ck_assert_str_eq(after_txid(res.out), "committed\n");

    /* a no vote: exit 1, "aborted DTC_EREFUSED nay: <reason>" */
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "-p", "yes1=a", "-p", "nay=b",
          NULL);
    ck_assert_msg(res.code == 1, "exit %d out=%s err=%s", res.code, res.out, res.err);
    const char *rest = after_txid(res.out);
    ck_assert_msg(strncmp(rest, "aborted DTC_EREFUSED", 20) == 0, "got: %s", rest);
    ck_assert_msg(strstr(rest, "nay: noop configured to vote no") != NULL, "got: %s", rest);

    /* an unknown participant: the enlist fails, exit 1 */
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "-p", "yes1=a", "-p",
          "ghost=b", NULL);
    ck_assert_msg(res.code == 1, "exit %d out=%s err=%s", res.code, res.out, res.err);
    rest = after_txid(res.out);
    ck_assert_msg(strncmp(rest, "aborted DTC_EUNKNOWN", 20) == 0, "got: %s", rest);
    ck_assert_msg(strstr(rest, "ghost") != NULL, "got: %s", rest);

    /* usage error: exit 2 */
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", NULL);
    ck_assert_msg(res.code == 2, "exit %d out=%s err=%s", res.code, res.out, res.err);
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "-p", "noequals", NULL);
    ck_assert_msg(res.code == 2, "exit %d out=%s err=%s", res.code, res.out, res.err);

    /* no segment: exit 2 and DTC_ENOSEGMENT on stderr */
    char other[DTC_INSTANCE_MAX];
    snprintf(other, sizeof other, "t-none-%d", (int)getpid());
    h_run(&res, 10000, "dtcctl", "--instance", other, "run", "-p", "yes1=a", NULL);
    ck_assert_msg(res.code == 2, "exit %d out=%s err=%s", res.code, res.out, res.err);
    ck_assert_msg(strstr(res.err, "DTC_ENOSEGMENT") != NULL, "stderr: %s", res.err);

    /* every run above freed its slot; counters saw one commit, two aborts */
    dtc_status st;
    ck_assert(h_wait_idle(2000));
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 1);
    ck_assert_uint_eq(st.counters.begun, 3);
}
END_TEST

START_TEST(test_cli_json)
{
    h_init("cli-json");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("j1", NULL), 0);
    const char *I = h_instance();
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "-p", "j1=x", NULL);
    ck_assert_int_eq(res.code, 0);
    /* one transaction left ACTIVE, so txns has something to list */
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "j1", "quote\"back\\slash", 16), DTC_OK);

    h_run(&res, 10000, "dtcctl", "--instance", I, "--json", "status", NULL);
    ck_assert_msg(res.code == 0, "exit %d err=%s", res.code, res.err);
    ck_assert_msg(h_json_valid(res.out), "status --json is not JSON: %s", res.out);
    static const char *const keys[] = {
        "\"instance\":", "\"segment_size\":", "\"layout_version\":", "\"limits\":",
        "\"max_txns\":100", "\"max_parts_per_txn\":10", "\"max_participants\":64",
        "\"supervisor\":", "\"alive\":true", "\"shutting_down\":false",
        "\"txns_in_use\":1", "\"participants_registered\":1", "\"corrupt_slots\":0",
        "\"counters\":", "\"begun\":2", "\"committed\":1", "\"aborted\":0",
        "\"timed_out\":", "\"reclaimed\":", "\"heuristic\":"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(strstr(res.out, keys[i]) != NULL, "no %s in %s", keys[i], res.out);
    char want[128];
    snprintf(want, sizeof want, "\"instance\":\"%s\"", I);
    ck_assert_msg(strstr(res.out, want) != NULL, "no %s in %s", want, res.out);

    /* --json after the command works too, for txns and participants */
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--json", NULL);
    ck_assert_msg(res.code == 0, "exit %d err=%s", res.code, res.err);
    ck_assert_msg(h_json_valid(res.out), "txns --json is not JSON: %s", res.out);
    char idstr[DTC_TXID_STRLEN];
    dtc_txid_format(&id, idstr);
    ck_assert_msg(strstr(res.out, idstr) != NULL, "txid missing: %s", res.out);
    ck_assert_msg(strstr(res.out, "\"count\":1") != NULL, "%s", res.out);

    h_run(&res, 10000, "dtcctl", "--instance", I, "participants", "--json", NULL);
    ck_assert_msg(res.code == 0, "exit %d err=%s", res.code, res.err);
    ck_assert_msg(h_json_valid(res.out), "participants --json is not JSON: %s", res.out);
    ck_assert_msg(strstr(res.out, "\"name\":\"j1\"") != NULL, "%s", res.out);
    ck_assert_int_eq(dtc_rollback_transaction(h_inst(), &id, NULL), DTC_OK);

    /* the validator itself rejects broken JSON (so the checks above bite) */
    ck_assert(!h_json_valid("{\"a\":1,}"));
    ck_assert(!h_json_valid("{\"a\":1} x"));
    ck_assert(!h_json_valid("{\"a\" 1}"));
    ck_assert(h_json_valid("{\"a\":[1,-2.5e3,\"x\\n\",true,null,{}]}"));
}
END_TEST

START_TEST(test_cli_second_dtcd_refused_and_sigterm_removes_segment)
{
    h_init("cli-dtcd");
    pid_t first = h_start_dtcd();
    ck_assert_int_gt(first, 0);
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/dtc.%s", h_instance());
    ck_assert_int_eq(access(shm, F_OK), 0);

    /* a second supervisor on the same instance: non-zero, says why */
    h_run(&res, 5000, "dtcd", "--instance", h_instance(), NULL);
    ck_assert_msg(res.code != 0 && res.code != -1, "second dtcd exit %d", res.code);
    ck_assert_msg(strstr(res.err, "already") != NULL || strstr(res.err, "DTC_EEXIST") != NULL,
                  "unclear message: '%s'", res.err);
    /* ... and the first one is untouched */
    ck_assert(h_alive(first));
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert(st.supervisor_alive);
    ck_assert_int_eq(st.supervisor_pid, first);
    ck_assert_int_eq(access(shm, F_OK), 0);

    /* SIGTERM: exit 0, segment gone */
    ck_assert_int_eq(h_stop_dtcd(5000), 0);
    ck_assert_int_eq(access(shm, F_OK), -1);
    ck_assert_int_eq(errno, ENOENT);
    dtc_instance *in = NULL;
    ck_assert_int_eq(dtc_open(h_instance(), &in), DTC_ENOSEGMENT);

    /* the instance can be started again afterwards */
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_stop_dtcd(5000), 0);
    ck_assert_int_eq(access(shm, F_OK), -1);
}
END_TEST

START_TEST(test_cli_sigterm_with_participants_and_history)
{
    h_init("cli-term");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("s1", NULL), 0);
    for (int i = 0; i < 5; i++) {
        h_run(&res, 10000, "dtcctl", "--instance", h_instance(), "run", "-p", "s1=x", NULL);
        ck_assert_int_eq(res.code, 0);
    }
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/dtc.%s", h_instance());
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(h_stop_dtcd(5000), 0);
    ck_assert_int_lt(h_now_ms() - t0, 4000);
    ck_assert_int_eq(access(shm, F_OK), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_cli_run_exit_codes);
    tcase_add_test(tc, test_cli_json);
    tcase_add_test(tc, test_cli_second_dtcd_refused_and_sigterm_removes_segment);
    tcase_add_test(tc, test_cli_sigterm_with_participants_and_history);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
