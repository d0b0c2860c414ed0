/*
 * test_cli.c - dtcctl and dtcd as programs: run's output lines and exit
 * codes (0 committed, 1 aborted, 2 no segment / usage), status/txns/
 * participants --json are valid JSON with the documented keys, a second
 * dtcd on a running instance refuses to start, and SIGTERM removes the
 * segment.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
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

/* A usage error: exit 2, nothing on stdout, stderr has every `want`. */
static void want_usage(const char *what, const char *const want[])
{
    ck_assert_msg(res.code == 2, "%s: exit %d out=%s err=%s", what, res.code, res.out,
                  res.err);
    ck_assert_msg(res.out[0] == '\0', "%s: stdout: %s", what, res.out);
    for (size_t k = 0; want[k] != NULL; k++)
        ck_assert_msg(strstr(res.err, want[k]) != NULL, "%s: no '%s' in stderr: %s", what,
                      want[k], res.err);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A bad option value is one line on stderr, nothing more. */
static void want_one_line(const char *what)
{
    const char *nl = strchr(res.err, '\n');
    ck_assert_msg(nl != NULL && nl[1] == '\0', "%s: not one line: %s", what, res.err);
}


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

/* run --json: one object per outcome, exit codes unchanged; txns shows
 * payload, begin, owner liveness and the request/answer/vote wording, and
 * filters by --state and --older-than. */
START_TEST(test_cli_run_json_and_txns_filters)
{
    h_init("cli-json-run");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("j1", NULL), 0);
    ck_assert_int_gt(h_start_noop("nay", "--vote", "no", NULL), 0);
    const char *I = h_instance();
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "--json", "-p", "j1=x", NULL);
    ck_assert_msg(res.code == 0 && h_json_valid(res.out), "%d %s", res.code, res.out);
    ck_assert_msg(strstr(res.out, "\"outcome\":\"committed\"") && strstr(res.out, "\"payload\":\"x\"")
                      && strncmp(res.out, "txid ", 5) != 0, "%s", res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "--json", "run", "-p", "j1=x", "-p", "nay=y",
          NULL);
    ck_assert_msg(res.code == 1 && h_json_valid(res.out), "%d %s", res.code, res.out);
    ck_assert_msg(strstr(res.out, "\"outcome\":\"aborted\",\"result\":\"DTC_EREFUSED\""), "%s",
                  res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "--json", "-p", "nobody=x", NULL);
    ck_assert_msg(res.code == 1 && h_json_valid(res.out)
                      && strstr(res.out, "\"enlist_failed\":\"nobody\""), "%d %s", res.code, res.out);

    dtc_txid id;
    char idstr[DTC_TXID_STRLEN];
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "j1", "reserve sku-1 2", 15), DTC_OK);
    dtc_txid_format(&id, idstr);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, idstr) && strstr(res.out, "ACTIVE  began ")
                      && strstr(res.out, " alive")
                      && strstr(res.out, "request=enlist answer=none vote=none")
                      && strstr(res.out, "payload=\"reserve sku-1 2\""), "%s", res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--state", "active,heuristic", "--json",
          NULL);
    ck_assert_msg(res.code == 0 && h_json_valid(res.out) && strstr(res.out, "\"count\":1")
                      && strstr(res.out, "\"owner_alive\":true")
                      && strstr(res.out, "\"payload\":\"reserve sku-1 2\""), "%s", res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--state", "PREPARED", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, idstr) == NULL
                      && strstr(res.out, "no transaction in flight matches (1 in flight)"), "%s",
                  res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--older-than", "1h", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, idstr) == NULL, "%s", res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--older-than", "0ms", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, idstr) != NULL, "%s", res.out);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--state", "bogus", NULL);
    ck_assert_msg(res.code == 2 && strstr(res.err, "--state"), "%d %s", res.code, res.err);
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--older-than", "5 parsecs", NULL);
    ck_assert_msg(res.code == 2 && strstr(res.err, "--older-than"), "%d %s", res.code, res.err);
    /* a bare number has no unit: refused (it was read as seconds), in one line */
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--older-than", "5", NULL);
    want_usage("--older-than 5", WANT("--older-than", "'5'", "with its unit", "500ms"));
    want_one_line("--older-than 5");
    h_run(&res, 10000, "dtcctl", "--instance", I, "txns", "--older-than=2m", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, idstr) == NULL, "%s", res.out);
    ck_assert_int_eq(dtc_rollback_transaction(h_inst(), &id, NULL), DTC_OK);
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

/* Two runs enlisting one participant more than once: refused at the
 * second enlist, rolled back, nothing charged. */
START_TEST(test_cli_run_duplicate_participant)
{
    h_init("cli-dup");
    if (!h_have_program("dtc-payment"))
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_service("payment", "payment", "--seed", "alice=1000", NULL), 0);
    const char *I = h_instance();
    h_dump before, after;
    ck_assert_int_eq(h_dump_service("payment", "payment", &before), 0);
    ck_assert_str_eq(h_dump_get(&before, "alice")->value, "1000");

    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "-p", "payment=charge alice 100",
          "-p", "payment=charge alice 100", "-p", "payment=charge alice 100", NULL);
    ck_assert_msg(res.code == 1, "exit %d out=%s err=%s", res.code, res.out, res.err);
    const char *rest = after_txid(res.out);
    ck_assert_str_eq(rest, "aborted DTC_EDUPLICATE payment: participant already enlisted in "
                           "this transaction\n");
    ck_assert(h_wait_idle(3000));
    ck_assert_int_eq(h_dump_service("payment", "payment", &after), 0);
    if (!h_dump_equal(&before, &after)) {
        h_dump_print("before", &before);
        h_dump_print("after", &after);
        ck_abort_msg("the refused run changed the payment records");
    }
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 0);
    ck_assert_uint_eq(st.counters.aborted, 1);

    /* once is fine */
    h_run(&res, 10000, "dtcctl", "--instance", I, "run", "-p", "payment=charge alice 100",
          NULL);
    ck_assert_msg(res.code == 0, "exit %d out=%s err=%s", res.code, res.out, res.err);
    ck_assert_int_eq(h_dump_service("payment", "payment", &after), 0);
    ck_assert_str_eq(h_dump_get(&after, "alice")->value, "900");
}
END_TEST

/* A dtcd and one noop participant "m1" for the message tests. */
static const char *msg_setup(const char *tag)
{
    h_init(tag);
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("m1", NULL), 0);
    return h_instance();
}

/* Nothing began a transaction but `ok` good runs. */
static void msg_no_begin(uint64_t ok)
{
    dtc_status st;
    ck_assert(h_wait_idle(2000));
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.begun, ok);
    ck_assert_uint_eq(st.counters.committed, ok);
}

/* --instance "": not the default instance but an error */
START_TEST(test_cli_msg_empty_instance)
{
    msg_setup("cli-m-empty");
    char self[DTC_INSTANCE_MAX + 16];
    snprintf(self, sizeof self, "DTC_INSTANCE=%s", h_instance());
    const char *env[] = {self, NULL};
    const char *argv[] = {"--instance", "", "status", NULL};
    h_runv(&res, 5000, env, "dtcctl", argv);
    want_usage("--instance ''", WANT("empty"));
    const char *argv2[] = {"status", "--instance=", NULL};
    h_runv(&res, 5000, env, "dtcctl", argv2);
    want_usage("--instance=", WANT("empty"));
    /* the services too (they would wait for the default instance) */
    const char *argv3[] = {"--instance", "", "--data-dir", h_data_dir(), NULL};
    if (h_have_program("dtc-payment")) {
        h_runv(&res, 5000, env, "dtc-payment", argv3);
        want_usage("dtc-payment --instance ''", WANT("--instance", "empty"));
    }
}
END_TEST

/* a bad $DTC_INSTANCE or --instance: named, with its value and the rule */
START_TEST(test_cli_msg_bad_instance)
{
    msg_setup("cli-m-inst");
    const char *env[] = {"DTC_INSTANCE=no/such", NULL};
    const char *argv[] = {"status", NULL};
    h_runv(&res, 5000, env, "dtcctl", argv);
    want_usage("$DTC_INSTANCE", WANT("$DTC_INSTANCE", "'no/such'", "[A-Za-z0-9._-]{1,47}"));
    h_run(&res, 5000, "dtcctl", "--instance", "../x", "status", NULL);
    want_usage("--instance ../x", WANT("bad instance name '../x'", "[A-Za-z0-9._-]{1,47}"));
    /* the services say the same (they said "bad argument") */
    const char *svc[] = {"--data-dir", h_data_dir(), NULL};
    h_runv(&res, 5000, env, "dtc-payment", svc);
    want_usage("service $DTC_INSTANCE", WANT("$DTC_INSTANCE", "'no/such'", "[A-Za-z0-9._-]{1,47}"));
}
END_TEST

/* timeouts: the 1-hour cap is checked before any begin */
START_TEST(test_cli_msg_timeout_cap)
{
    const char *I = msg_setup("cli-m-tmo");
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "--prepare-timeout-ms", "3600001",
          "-p", "m1=x", NULL);
    want_usage("3600001", WANT("--prepare-timeout-ms", "'3600001'", "1..3600000", "1 hour"));
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "--commit-timeout-ms=4294967295",
          "-p", "m1=x", NULL);
    want_usage("4294967295", WANT("--commit-timeout-ms", "1..3600000"));
    msg_no_begin(0);
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "--prepare-timeout-ms", "3600000",
          "-p", "m1=x", NULL);
    ck_assert_msg(res.code == 0, "exit %d out=%s err=%s", res.code, res.out, res.err);
    h_run(&res, 5000, "dtcctl", "run", "--help", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, "3600000") != NULL
                      && strstr(res.out, "1 hour") != NULL, "run --help: %s", res.out);
    msg_no_begin(1);
}
END_TEST

/* malformed participant names: usage errors before any begin */
START_TEST(test_cli_msg_bad_participant_name)
{
    const char *I = msg_setup("cli-m-name");
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "-p", "m1=x", "-p", "inv entory=x",
          NULL);
    want_usage("inv entory", WANT("bad participant name 'inv entory'", "[A-Za-z0-9._-]{1,31}"));
    want_one_line("inv entory");
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "-p", "../inventory=x", NULL);
    want_usage("../inventory", WANT("bad participant name '../inventory'"));
    msg_no_begin(0);
}
END_TEST

/* resolve: one decision, said once */
START_TEST(test_cli_msg_resolve_one_decision)
{
    const char *I = msg_setup("cli-m-res");
    h_run(&res, 5000, "dtcctl", "--instance", I, "resolve",
          "00000000-0000-4000-8000-000000000000", "--commit", "--rollback", NULL);
    want_usage("--commit --rollback", WANT("--commit", "--rollback", "not both"));
    h_run(&res, 5000, "dtcctl", "--instance", I, "resolve", "--rollback",
          "00000000-0000-4000-8000-000000000000", "--rollback", NULL);
    want_usage("--rollback twice", WANT("--rollback", "once"));
}
END_TEST

START_TEST(test_cli_status_is_a_health_check)
{
    h_init("cli-health");
    ck_assert_int_gt(h_start_dtcd(), 0);
    const char *I = h_instance();
    h_run(&res, 5000, "dtcctl", "--instance", I, "status", NULL);
    ck_assert_msg(res.code == 0, "exit %d out=%s err=%s", res.code, res.out, res.err);

    /* dtcd dies, its segment stays: status still prints all, exits 1 */
    ck_assert_int_ge(h_kill9(h_dtcd_pid()), 0);
    h_run(&res, 5000, "dtcctl", "--instance", I, "status", NULL);
    ck_assert_msg(res.code == 1, "exit %d out=%s err=%s", res.code, res.out, res.err);
    ck_assert_msg(strstr(res.out, "NOT ALIVE") != NULL && strstr(res.out, "counters:") != NULL,
                  "out: %s", res.out);
    h_run(&res, 5000, "dtcctl", "--instance", I, "--json", "status", NULL);
    ck_assert_msg(res.code == 1, "exit %d out=%s err=%s", res.code, res.out, res.err);
    ck_assert_msg(h_json_valid(res.out) && strstr(res.out, "\"alive\":false") != NULL,
                  "out: %s", res.out);

    /* a new dtcd takes over: healthy again */
    ck_assert_int_gt(h_start_dtcd(), 0);
    h_run(&res, 5000, "dtcctl", "--instance", I, "status", NULL);
    ck_assert_msg(res.code == 0, "exit %d out=%s err=%s", res.code, res.out, res.err);
    h_run(&res, 5000, "dtcctl", "status", "--help", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, "health check") != NULL, "help: %s",
                  res.out);
}
END_TEST

/* dtcd with the harness's arguments plus `extra` (bounded: a dtcd that
 * wrongly starts is killed after 3 s, exit -1). */
static void run_dtcd(const char *a, const char *b)
{
    h_run(&res, 3000, "dtcd", "--instance", h_instance(), "--data-dir", h_dlog_dir(), a, b,
          NULL);
}

START_TEST(test_cli_dtcd_numbers)
{
    h_init("cli-dtcd-num");
    run_dtcd("--tick-ms", "abc");
    want_usage("--tick-ms abc", WANT("dtcd: --tick-ms: not a number: 'abc' (want 1..60000)"));
    want_one_line("--tick-ms abc");
    run_dtcd("--tick-ms=abc", NULL);
    want_usage("--tick-ms=abc", WANT("dtcd: --tick-ms: not a number: 'abc'"));
    run_dtcd("--tick-ms", "0");
    want_usage("--tick-ms 0", WANT("dtcd: --tick-ms: out of range: '0' (want 1..60000)"));
    static const char *const bad[] = {" 5", "+5", "-5", "5 ", "0x5", ""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        run_dtcd("--tick-ms", bad[k]);
        ck_assert_msg(res.code == 2 && strstr(res.err, "--tick-ms: not a number") != NULL,
                      "--tick-ms '%s': exit %d err=%s", bad[k], res.code, res.err);
    }
}
END_TEST

START_TEST(test_cli_dtcd_limits)
{
    h_init("cli-dtcd-lim");
    run_dtcd("--max-txns", "5000");
    want_usage("--max-txns 5000", WANT("--max-txns", "5000", "1..1024"));
    want_one_line("--max-txns 5000"); /* it was followed by the 17-line usage */
    run_dtcd("--orphan-timeout-ms", "3600001");
    want_usage("--orphan-timeout-ms", WANT("--orphan-timeout-ms", "1..3600000"));
    want_one_line("--orphan-timeout-ms 3600001");
    run_dtcd("--max-participants", "0");
    want_usage("--max-participants 0", WANT("--max-participants", "0", "1..128"));
    run_dtcd("--max-parts", "33");
    want_usage("--max-parts 33", WANT("--max-parts", "33", "1..32"));
}
END_TEST

START_TEST(test_cli_dtcd_instance)
{
    h_init("cli-dtcd-inst");
    h_run(&res, 3000, "dtcd", "--instance", "../x", NULL);
    want_usage("--instance ../x",
               WANT("dtcd: bad instance name '../x': want [A-Za-z0-9._-]{1,47}"));
    const char *env[] = {"DTC_INSTANCE=a b", NULL};
    const char *argv[] = {"--data-dir", h_dlog_dir(), NULL};
    h_runv(&res, 3000, env, "dtcd", argv);
    want_usage("$DTC_INSTANCE", WANT("$DTC_INSTANCE", "'a b'"));
    /* with $DTC_INSTANCE set: "" must not fall back to it either */
    char self[DTC_INSTANCE_MAX + 16];
    snprintf(self, sizeof self, "DTC_INSTANCE=%s", h_instance());
    const char *env2[] = {self, NULL};
    const char *argv2[] = {"--instance", "", "--data-dir", h_dlog_dir(), NULL};
    h_runv(&res, 3000, env2, "dtcd", argv2);
    want_usage("--instance ''", WANT("empty"));
}
END_TEST

START_TEST(test_cli_seed_key_too_long)
{
    h_init("cli-seed");
    if (!h_have_program("dtc-payment"))
        return;
    char seed[128];
    memset(seed, 'k', 64);
    snprintf(seed + 64, sizeof seed - 64, "=5");
    h_run(&res, 5000, "dtc-payment", "--data-dir", h_data_dir(), "--seed", seed, NULL);
    want_usage("64-byte key", WANT("key too long", "64", "at most 63"));
    /* 63 is fine: the options pass, the bad instance name stops it later
     * (a usage error about the instance, not the key) */
    seed[63] = '=';
    seed[64] = '5';
    seed[65] = '\0';
    h_run(&res, 5000, "dtc-payment", "--instance", "no/such", "--data-dir", h_data_dir(),
          "--seed", seed, NULL);
    ck_assert_msg(res.code == 2 && strstr(res.err, "bad instance name") != NULL
                      && strstr(res.err, "key too long") == NULL,
                  "63-byte key: exit %d err=%s", res.code, res.err);
    memset(seed, '9', 40);
    memcpy(seed, "alice=", 6);
    seed[40] = '\0';
    h_run(&res, 5000, "dtc-payment", "--data-dir", h_data_dir(), "--seed", seed, NULL);
    want_usage("long value", WANT("value too long"));
}
END_TEST

/* dtcctl on getopt_long: attached short values, "--", --version after a
 * command names dtcctl (it said "run (dtc) ..."), a missing value */
START_TEST(test_cli_getopt)
{
    const char *I = msg_setup("cli-getopt");
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "-pm1=x", NULL);
    ck_assert_msg(res.code == 0, "-pm1=x: exit %d out=%s err=%s", res.code, res.out, res.err);
    h_run(&res, 5000, "dtcctl", "run", "--version", NULL);
    ck_assert_msg(res.code == 0 && strncmp(res.out, "dtcctl (dtc) ", 13) == 0, "%s", res.out);
    h_run(&res, 5000, "dtcctl", "--instance", I, "show", "--",
          "00000000-0000-4000-8000-000000000000", NULL);
    ck_assert_msg(res.code == 2 && strstr(res.err, "bad TXID") == NULL
                      && strstr(res.err, "unknown option") == NULL, "show --: %d %s", res.code,
                  res.err);
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "-p", "m1=x", "--prepare-timeout-ms",
          NULL);
    want_usage("missing value", WANT("option '--prepare-timeout-ms' needs a value"));
    h_run(&res, 5000, "dtcctl", "--instance", I, "run", "-p", "m1=x", "--prepare-timeout-ms",
          "5s", NULL);
    want_usage("5s", WANT("--prepare-timeout-ms", "not a number", "'5s'"));
    want_one_line("--prepare-timeout-ms 5s");
    msg_no_begin(1);
}
END_TEST

/* dtc-noop: --help, checked numbers and votes (--help was "unrecognized
 * option", --delay-ms abc was 0, --vote maybe was yes) */
START_TEST(test_cli_noop_options)
{
    h_init("cli-noop");
    h_run(&res, 3000, "dtc-noop", "--help", NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, "--delay-ms") != NULL, "exit %d out=%s err=%s",
                  res.code, res.out, res.err);
    static const char *const bad[][2] = {{"--delay-ms", "abc"}, {"--delay-ms", "-1"},
                                         {"--delay-ms", "3600001"}, {"--fail-commit", "1x"},
                                         {"--fail-rollback", ""}, {"--vote", "maybe"},
                                         {"--name", "a/b"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        h_run(&res, 3000, "dtc-noop", "--instance", h_instance(), bad[k][0], bad[k][1], NULL);
        want_usage(bad[k][0], WANT(bad[k][0], bad[k][1]));
        want_one_line(bad[k][0]);
    }
    h_run(&res, 3000, "dtc-noop", "--instance", h_instance(), "--delay-ms", "5", "stray", NULL);
    want_usage("stray", WANT("unexpected argument 'stray'"));
}
END_TEST

/* The options every participant program takes are parsed in one place
 * (participants/proc/part_opts.c): each program gives the same one-line
 * answer to a bad --instance, --name or --log-file; and dtc-noop, which
 * had no --log-file, writes its log lines where it says. */
START_TEST(test_cli_participant_options)
{
    h_init("cli-part");
    static const char *const progs[] = {"dtc-noop", "dtc-payment", "dtc-pg"};
    static const char *const bad[][3] = {
        {"--instance", "", "the instance name is empty"},
        {"--name", ".x", "must not start with '.'"},
        {"--log-file", "/nonexistent/dir/x.log", "No such file or directory"}};
    for (size_t p = 0; p < sizeof progs / sizeof progs[0]; p++) {
        if (!h_have_program(progs[p]))
            continue;
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            h_run(&res, 3000, progs[p], bad[k][0], bad[k][1], NULL);
            char what[96];
            snprintf(what, sizeof what, "%s %s '%s'", progs[p], bad[k][0], bad[k][1]);
            want_usage(what, WANT(progs[p], bad[k][0], bad[k][2]));
            want_one_line(what);
        }
    }
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/noop.log", h_dir());
    ck_assert_int_gt(h_start_dtcd(), 0);
    pid_t pid = h_start_noop("logged", "--log-file", log, "--log-level", "info", NULL);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(h_stop(pid, 5000), 0);
    char text[4096] = "";
    FILE *f = fopen(log, "r");
    ck_assert_msg(f != NULL, "dtc-noop wrote no %s", log);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    ck_assert_msg(strstr(text, "participant=logged") != NULL, "%s holds: %s", log, text);
}
END_TEST

/* every program takes --help (exit 0, usage on stdout) and names a bad
 * option value in one line */
START_TEST(test_cli_help_everywhere)
{
    h_init("cli-help");
    static const char *const progs[] = {"dtcd", "dtcctl", "dtc-noop", "dtc-inventory",
                                        "dtc-payment", "dtc-order", "dtc-shipping", "dtc-pg",
                                        "dtc-bench", "dtc-load"};
    for (size_t k = 0; k < sizeof progs / sizeof progs[0]; k++) {
        if (!h_have_program(progs[k]))
            continue;
        h_run(&res, 3000, progs[k], "--help", NULL);
        ck_assert_msg(res.code == 0 && strstr(res.out, "usage") != NULL, "%s --help: %d %s %s",
                      progs[k], res.code, res.out, res.err);
    }
    h_run(&res, 3000, "dtc-payment", "--data-dir", h_data_dir(), "--delay-prepare-ms", "x",
          NULL);
    want_usage("dtc-payment --delay-prepare-ms x", WANT("--delay-prepare-ms", "'x'", "0..3600000"));
    want_one_line("dtc-payment --delay-prepare-ms x");
    h_run(&res, 3000, "dtc-bench", "--repeat", "51", NULL);
    want_usage("dtc-bench --repeat 51", WANT("--repeat", "'51'", "1..50"));
    want_one_line("dtc-bench --repeat 51");
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
    tcase_add_test(tc, test_cli_run_duplicate_participant);
    tcase_add_test(tc, test_cli_msg_empty_instance);
    tcase_add_test(tc, test_cli_msg_bad_instance);
    tcase_add_test(tc, test_cli_msg_timeout_cap);
    tcase_add_test(tc, test_cli_msg_bad_participant_name);
    tcase_add_test(tc, test_cli_msg_resolve_one_decision);
    tcase_add_test(tc, test_cli_status_is_a_health_check);
    tcase_add_test(tc, test_cli_dtcd_numbers);
    tcase_add_test(tc, test_cli_dtcd_limits);
    tcase_add_test(tc, test_cli_dtcd_instance);
    tcase_add_test(tc, test_cli_seed_key_too_long);
    tcase_add_test(tc, test_cli_run_json_and_txns_filters);
    tcase_add_test(tc, test_cli_noop_options);
    tcase_add_test(tc, test_cli_participant_options);
    tcase_add_test(tc, test_cli_getopt);
    tcase_add_test(tc, test_cli_help_everywhere);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
