/*
 * test_iofault.c - dtcd, the coordinator and the four services when the
 * disk fails a call: EIO or ENOSPC from write, pwrite, fsync, fdatasync,
 * rename or open, injected by libdtc_iofault.so (tests/tools/
 * iofault_preload.c) in one target process, for files under the test's
 * directory.  Sticky rules: once failed, the call keeps failing on that
 * file, like a disk that went bad; the fault is "removed" by restarting
 * the target without the preload.
 *
 * Decision log (the coordinator, one dtcctl run per order, writes it):
 * a failed pwrite or fdatasync of the COMMIT record must not be acted
 * on: the order ends HEURISTIC with nothing sent; an operator resolves it
 * (--commit or --rollback) with a dtcctl without the preload, and a
 * reboot (dtcd and services killed, segment removed) keeps the outcome.
 * dtcd's spare file: its creation failing (open, fdatasync, rename) in
 * the tick is logged and dtcd keeps serving; restarted, it makes one.
 * State file: a failed write or fsync of a batch stops the service (exit
 * 1, no vote published from memory ahead of the disk); restarted it
 * reloads and every order ends all-or-nothing.  A failed fsync or rename
 * at compaction leaves the old file in use and valid.
 *
 * Every check ends with the four services agreeing (equal ledgers, one
 * order record per committed order, stock, capacity and money conserved)
 * and with every order dtcctl reported committed being committed.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ORDERS 8 /* sku-1 has 10 units: every order can commit */
#define ORDER_CENTS 250

static const char *const services[] = {"inventory", "payment", "order", "shipping"};
static const char *const seeds[4][4] = {
    {"--seed", "sku-1=10", "--seed", "sku-2=1"},
    {"--seed", "alice=100000", "--seed", "bob=100"},
    {NULL},
    {"--seed", "zone-a=100", NULL, NULL},
};

static char dlog[PATH_MAX];
static const char *compact_min = "1000";

static void teardown(void)
{
    h_fini();
}

/* env (cap >= 5): the preload with rule, NULL-terminated.  Strings live
 * until the next call. */
static void iofault_env(const char *env[5], const char *rule)
{
    static char pre[PATH_MAX + 32], root[PATH_MAX + 32], spec[256], asan[1024];
    const char *inherited = getenv("ASAN_OPTIONS");
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s/libdtc_iofault.so", DTC_BIN_DIR);
    snprintf(root, sizeof root, "DTC_IOFAULT_ROOT=%s", h_dir());
    snprintf(spec, sizeof spec, "DTC_IOFAULT=%s", rule);
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
             inherited ? inherited : "", inherited && inherited[0] ? ":" : "");
    env[0] = pre;
    env[1] = root;
    env[2] = spec;
    env[3] = asan;
    env[4] = NULL;
}

static pid_t start_dtcd(const char *const env[])
{
    const char *extra[] = {"--data-dir", dlog, NULL};
    return h_start_dtcd_env(extra, env);
}

/* The services sync their own state files here (--own-fsync): the file's
 * write and fsync faults are what these cases inject. */
static pid_t start_service(int i, const char *const env[])
{
    const char *const *sd = seeds[i];
    return h_start_service_env(services[i], services[i], env, "--own-fsync", "--compact-min",
                               compact_min, sd[0], sd[1], sd[2], sd[3], NULL);
}

static void start_shop(pid_t svc[4])
{
    for (int i = 0; i < 4; i++)
        ck_assert_msg((svc[i] = start_service(i, NULL)) > 0, "%s did not start", services[i]);
}

/* Order o-k with dtcctl run (env may be NULL); r keeps its output.
 * Returns 1 if dtcctl said committed. */
static int run_order(int k, const char *const env[], h_result *r)
{
    char ord[64], ship[64], pay[64];
    snprintf(ord, sizeof ord, "order=create o-%d alice %d", k, ORDER_CENTS);
    snprintf(ship, sizeof ship, "shipping=schedule o-%d zone-a", k);
    snprintf(pay, sizeof pay, "payment=charge alice %d", ORDER_CENTS);
    const char *const argv[] = {"--instance", h_instance(), "run", "-p",
                                "inventory=reserve sku-1 1", "-p", pay, "-p", ord, "-p",
                                ship, NULL};
    h_runv(r, 20000, env, "dtcctl", argv);
    return r->code == 0 && strncmp(r->out, "txid ", 5) == 0 && strstr(r->out, "\ncommitted")
           != NULL;
}


/* The four services agree, all-or-nothing, stock and money conserved,
 * and every order in told[0..n) that dtcctl reported committed is
 * committed (harness.h).  Returns the number of committed orders. */
static int check_shop(const char *what, const int *told, int n)
{
    return h_shop_check(what, ORDER_CENTS, told, n);
}

/* 1 if <dir>/<label>.err contains s. */
static int err_has(const char *label, const char *s)
{
    static char buf[1 << 16];
    h_read_output(label, "err", buf, sizeof buf);
    return strstr(buf, s) != NULL;
}

/* 1 if any of service name's logs (<dir>/<name>-<N>.err, one per start)
 * contains s. */
static int svc_err_has(const char *name, const char *s)
{
    DIR *d = opendir(h_dir());
    int found = 0;
    size_t len = strlen(name);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        const char *dot = strrchr(e->d_name, '.');
        if (strncmp(e->d_name, name, len) != 0 || e->d_name[len] != '-' || dot == NULL
            || strcmp(dot, ".err") != 0)
            continue;
        char label[256];
        snprintf(label, sizeof label, "%.*s", (int)(dot - e->d_name), e->d_name);
        found = err_has(label, s);
    }
    closedir(d);
    return found;
}

static int path_exists(const char *dir, const char *name)
{
    char p[PATH_MAX + 64];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, name) >= sizeof p)
        return 0;
    return lstat(p, &st) == 0;
}

/* A reboot: every process killed (dtcd last, no clean shutdown), the
 * segment removed (/dev/shm is memory), everything restarted. */
static void reboot(pid_t svc[4])
{
    for (int i = 0; i < 4; i++)
        h_kill9(svc[i]);
    h_kill9(h_dtcd_pid());
    h_stop_dtcd(0);
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    ck_assert_int_eq(shm_unlink(shm), 0);
    ck_assert_int_gt(start_dtcd(NULL), 0);
    start_shop(svc);
}

/* ---- the decision log: the coordinator's COMMIT record ------------------------ */

static const struct {
    const char *rule;
    const char *resolve; /* the operator's decision afterwards */
} dlog_cases[] = {
    {"pwrite:EIO:1:dlog.", "--rollback"},
    {"pwrite:ENOSPC:1:dlog.", "--commit"},
    {"fdatasync:EIO:1:dlog.", "--rollback"},
    {"fdatasync:ENOSPC:1:dlog.", "--commit"},
};

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* dtcctl status (text, --json, exit code) and metrics show the decision
 * log's error and since when (within [t0, t1]); t0 == 0: no error. */
static void dlog_error_shown(const char *rule, int64_t t0, int64_t t1)
{
    h_result s;
    const char *const json[] = {"--instance", h_instance(), "status", "--json", NULL};
    const char *const text[] = {"--instance", h_instance(), "status", NULL};
    const char *const metrics[] = {"--instance", h_instance(), "metrics", NULL};
    int code = h_runv(&s, 10000, NULL, "dtcctl", json);
    const char *e = strstr(s.out, "\"error\":");
    ck_assert_msg(e != NULL, "%s: status --json has no decision log error: %s", rule, s.out);
    if (t0 == 0) {
        ck_assert_msg(strncmp(e, "\"error\":null}", 13) == 0, "%s: error not cleared: %s", rule, e);
        ck_assert_int_eq(code, 0);
    } else {
        long long since = 0;
        ck_assert_msg(sscanf(e, "\"error\":\"DTC_ELOG\",\"error_since_unix_ms\":%lld", &since) == 1,
                      "%s: status --json: %s", rule, e);
        ck_assert_msg(since >= t0 && since <= t1, "%s: since %lld not in [%lld, %lld]", rule, since,
                      (long long)t0, (long long)t1);
        ck_assert_int_eq(code, 1); /* not healthy */
    }
    h_runv(&s, 10000, NULL, "dtcctl", text);
    ck_assert_msg((strstr(s.out, "decision log:    FAILING") != NULL) == (t0 != 0)
                      && (strstr(s.out, "decision log error: DTC_ELOG since 20") != NULL) == (t0 != 0),
                  "%s: status: %s", rule, s.out);
    h_runv(&s, 10000, NULL, "dtcctl", metrics);
    const char *m = strstr(s.out, "\ndtc_decision_log_error{dtc_instance=");
    const char *nl = m ? strchr(m + 1, '\n') : NULL;
    ck_assert_msg(nl != NULL, "%s: metrics: %s", rule, s.out);
    if (t0 == 0)
        ck_assert_msg(strncmp(nl - 3, "} 0", 3) == 0, "%s: metrics: %.*s", rule, (int)(nl - m), m);
    else
        ck_assert_msg(strncmp(nl - 21, ",result=\"DTC_ELOG\"} 1", 21) == 0
                          && strstr(s.out, "\ndtc_decision_log_error_since_timestamp_seconds{")
                                 != NULL,
                      "%s: metrics: %.*s", rule, (int)(nl - m), m);
}

/* Waits (5 s at most) until dtcd has nothing of the log left to sync:
 * written == durable, unchanged for 500 ms (its sync of a lagging END
 * and its MARK done).  Else a COMMIT copied in while dtcd's own sync
 * gathers the log is made durable by dtcd, and the coordinator's own
 * sync (where the fault is) is never called. */
static void log_quiet(void)
{
    uint64_t last = 0;
    int64_t since = h_now_ms(), until = since + 5000;
    while (h_now_ms() < until) {
        dtc_status st;
        ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
        bool still = st.dlog_written_lsn == st.dlog_durable_lsn && st.dlog_durable_lsn == last;
        if (!still) {
            last = st.dlog_written_lsn == st.dlog_durable_lsn ? st.dlog_durable_lsn : 0;
            since = h_now_ms();
        } else if (h_now_ms() - since >= 500) {
            return;
        }
        h_sleep_ms(20);
    }
    ck_abort_msg("the decision log never went quiet");
}

START_TEST(test_iofault_decision_log)
{
    const char *rule = dlog_cases[_i].rule;
    int commit = strcmp(dlog_cases[_i].resolve, "--commit") == 0;
    h_init("iofault-dlog");
    ck_assert_msg(h_have_shop(), "a service is not built");
    snprintf(dlog, sizeof dlog, "%s/dlog", h_dir());
    ck_assert_int_gt(start_dtcd(NULL), 0);
    pid_t svc[4];
    start_shop(svc);
    int told[3];
    h_result r;
    told[0] = run_order(0, NULL, &r);
    ck_assert_msg(told[0], "o-0 (no fault) did not commit: %s%s", r.out, r.err);

    /* o-1: the coordinator's COMMIT record fails */
    const char *env[5];
    iofault_env(env, rule);
    log_quiet();
    int64_t t0 = wall_ms();
    told[1] = run_order(1, env, &r);
    int64_t t1 = wall_ms();
    ck_assert_msg(!told[1], "%s: o-1 reported committed: %s", rule, r.out);
    ck_assert_msg(strstr(r.err, "libdtc_iofault: inject") != NULL,
                  "%s: the fault was never injected: %s%s", rule, r.out, r.err);
    ck_assert_msg(r.code == 1 && strstr(r.out, "\nheuristic DTC_EHEURISTIC") != NULL,
                  "%s: want heuristic, got exit %d: %s%s", rule, r.code, r.out, r.err);
    ck_assert_msg(strstr(r.err, "dlog_failed") != NULL, "%s: no dlog_failed log: %s", rule,
                  r.err);
    char txid[64];
    ck_assert_int_eq(sscanf(r.out, "txid %63s", txid), 1);

    /* the slot waits for an operator: HEURISTIC, result DTC_ELOG */
    h_result s;
    h_runv(&s, 10000, NULL, "dtcctl",
           (const char *const[]){"--instance", h_instance(), "show", txid, NULL});
    ck_assert_msg(strstr(s.out, "heuristic") != NULL || strstr(s.out, "HEURISTIC") != NULL,
                  "%s: show %s: %s%s", rule, txid, s.out, s.err);
    ck_assert_msg(strstr(s.out, "DTC_ELOG") != NULL, "%s: show %s lacks DTC_ELOG: %s", rule,
                  txid, s.out);
    dlog_error_shown(rule, t0, t1);
    /* nothing was sent: no service committed o-1 */
    h_dump d;
    ck_assert_int_eq(h_dump_service("order", "order", &d), 0);
    ck_assert_ptr_null(h_dump_get(&d, "order:o-1"));
    ck_assert_int_eq(d.ledger, 1);

    /* the fault removed: the operator decides with a plain dtcctl */
    ck_assert_msg(h_runv(&s, 20000, NULL, "dtcctl",
                         (const char *const[]){"--instance", h_instance(), "resolve", txid,
                                               dlog_cases[_i].resolve, NULL})
                      == 0,
                  "%s: resolve %s %s: exit %d %s%s", rule, txid, dlog_cases[_i].resolve, s.code,
                  s.out, s.err);
    told[2] = run_order(2, NULL, &r);
    ck_assert_msg(told[2], "o-2 after the resolve did not commit: %s%s", r.out, r.err);
    dlog_error_shown(rule, 0, 0); /* a sync succeeded: cleared */
    int c = check_shop(rule, told, 3);
    ck_assert_int_eq(c, 2 + commit);
    ck_assert_int_eq(h_dump_service("order", "order", &d), 0);
    ck_assert_msg((h_dump_get(&d, "order:o-1") != NULL) == commit,
                  "%s: o-1 resolved %s but is %s", rule, dlog_cases[_i].resolve,
                  commit ? "missing" : "committed");

    /* a reboot reads the log back: the operator's decision stands */
    reboot(svc);
    ck_assert_int_eq(check_shop("after the reboot", told, 3), 2 + commit);
    ck_assert_int_eq(h_dump_service("order", "order", &d), 0);
    ck_assert_msg((h_dump_get(&d, "order:o-1") != NULL) == commit,
                  "%s: after a reboot o-1 (resolved %s) is %s", rule, dlog_cases[_i].resolve,
                  commit ? "missing" : "committed");
}
END_TEST

/* ---- dtcd's spare file ------------------------------------------------------ */

/* The first spare is made at startup by the log's writer (through
 * dlog.spare.writer) and becomes the first log file; the next one, in
 * dtcd's tick (through dlog.spare.tmp), fails: dtcd logs it and serves on. */
static const char *const spare_rules[] = {"open:EIO:1:dlog.spare.tmp",
                                          "fdatasync:ENOSPC:1:dlog.spare.tmp",
                                          "rename:EIO:1:dlog.spare.tmp"};

START_TEST(test_iofault_spare)
{
    const char *rule = spare_rules[_i];
    h_init("iofault-spare");
    ck_assert_msg(h_have_shop(), "a service is not built");
    snprintf(dlog, sizeof dlog, "%s/dlog", h_dir());
    const char *env[5];
    iofault_env(env, rule);
    pid_t dtcd = start_dtcd(env);
    ck_assert_int_gt(dtcd, 0);
    int64_t end = h_now_ms() + 5000;
    while (h_now_ms() < end && !err_has("dtcd", "dlog_io"))
        h_sleep_ms(20);
    ck_assert_msg(err_has("dtcd", "libdtc_iofault: inject"), "%s: never injected", rule);
    ck_assert_msg(err_has("dtcd", "dlog_io"), "%s: dtcd did not log the failure", rule);
    pid_t svc[4];
    start_shop(svc);
    int told[ORDERS];
    for (int k = 0; k < 3; k++) {
        h_result r;
        told[k] = run_order(k, NULL, &r);
        ck_assert_msg(told[k], "%s: o-%d did not commit: %s%s", rule, k, r.out, r.err);
    }
    ck_assert_msg(h_alive(dtcd), "%s: dtcd died", rule);
    /* open and rename stay failed (sticky on the path); the failed
     * fdatasync was of a temp file dtcd unlinks: the next tick makes a
     * fresh one, which syncs */
    int retried = strncmp(rule, "fdatasync:", 10) == 0;
    /* dtcd retries a failed spare once a second (not every tick) */
    for (int64_t until = h_now_ms() + 3000; retried && !path_exists(dlog, "dlog.spare")
                                            && h_now_ms() < until;)
        h_sleep_ms(50);
    ck_assert_msg(path_exists(dlog, "dlog.spare") == retried, "%s: a spare %s", rule,
                  retried ? "was not made again" : "exists");
    ck_assert_msg(!path_exists(dlog, "dlog.spare.tmp"), "%s: the temp spare was left", rule);
    check_shop(rule, told, 3);

    /* the fault removed: dtcd restarted without it makes its spare */
    for (int i = 0; i < 4; i++)
        h_stop(svc[i], 5000);
    ck_assert_int_eq(h_stop_dtcd(5000), 0);
    ck_assert_int_gt(start_dtcd(NULL), 0);
    start_shop(svc);
    end = h_now_ms() + 5000;
    while (h_now_ms() < end && !path_exists(dlog, "dlog.spare"))
        h_sleep_ms(20);
    ck_assert_msg(path_exists(dlog, "dlog.spare"), "%s: no spare after the restart", rule);
    h_result r;
    told[3] = run_order(3, NULL, &r);
    ck_assert_msg(told[3], "o-3 after the restart did not commit: %s%s", r.out, r.err);
    ck_assert_int_eq(check_shop(rule, told, 4), 4);
}
END_TEST

/* ---- the services' state file ------------------------------------------------- */

/* rule = CALL:ERRNO:N:FILE; N counts the file's calls of that kind */
static const struct {
    const char *call;  /* CALL:ERRNO */
    int n;             /* 0: the first call after the start (STATE_START_CALLS) */
    const char *file;
    int victim;
    int stops; /* 1: the service must stop; 0: a compaction fails, it goes on */
} state_cases[] = {
    {"write:EIO", 0, "inventory.state", 0, 1},
    {"write:ENOSPC", 0, "payment.state", 1, 1},
    {"fsync:EIO", 0, "order.state", 2, 1},
    {"fsync:ENOSPC", 0, "shipping.state", 3, 1},
    {"rename:EIO", 2, "inventory.state.tmp", 0, 0},
    {"fsync:EIO", 2, "payment.state.tmp", 1, 0},
    {"open:ENOSPC", 2, "shipping.state.tmp", 3, 0},
};

/* One order at a time: the state file's write (and fsync) calls are the
 * start's, o-0's prepare batch and o-0's commit batch; the 4th is o-1's
 * prepare batch. */
#define STATE_START_CALLS 3

START_TEST(test_iofault_state_file)
{
    int v = state_cases[_i].victim, stops = state_cases[_i].stops;
    char rule[128];
    snprintf(rule, sizeof rule, "%s:%d:%s", state_cases[_i].call,
             state_cases[_i].n ? state_cases[_i].n : STATE_START_CALLS + 1,
             state_cases[_i].file);
    compact_min = stops ? "1000" : "2";
    h_init("iofault-state");
    ck_assert_msg(h_have_shop(), "a service is not built");
    snprintf(dlog, sizeof dlog, "%s/dlog", h_dir());
    ck_assert_int_gt(start_dtcd(NULL), 0);
    const char *env[5];
    iofault_env(env, rule);
    pid_t svc[4];
    for (int i = 0; i < 4; i++)
        ck_assert_msg((svc[i] = start_service(i, i == v ? env : NULL)) > 0,
                      "%s did not start", services[i]);
    int told[ORDERS];
    int died_at = -1;
    for (int k = 0; k < ORDERS; k++) {
        h_result r;
        told[k] = run_order(k, NULL, &r);
        if (died_at < 0 && !h_alive(svc[v]))
            died_at = k;
    }
    ck_assert_msg(svc_err_has(services[v], "libdtc_iofault: inject"), "%s: never injected", rule);
    if (stops) {
        int status;
        ck_assert_msg(died_at >= 0 || h_wait(svc[v], 5000, &status),
                      "%s: %s did not stop", rule, services[v]);
        ck_assert_msg(svc_err_has(services[v], "stopping"), "%s: %s did not log its stop", rule,
                      services[v]);
        ck_assert_msg(svc_err_has(services[v], "exit=1"), "%s: %s did not exit 1", rule,
                      services[v]);
        /* its yes vote for o-1 was in memory only: never published */
        ck_assert_msg(told[0] && !told[1], "%s: o-0 %s, o-1 %s (want committed, not)", rule,
                      told[0] ? "committed" : "not committed",
                      told[1] ? "committed" : "not committed");
        ck_assert_msg(!told[ORDERS - 1], "%s: an order committed without %s", rule,
                      services[v]);
    } else {
        ck_assert_msg(h_alive(svc[v]), "%s: %s died on a failed compaction", rule,
                      services[v]);
        ck_assert_msg(svc_err_has(services[v], "compact"), "%s: no compact warning", rule);
        for (int k = 0; k < ORDERS; k++)
            ck_assert_msg(told[k], "%s: o-%d did not commit", rule, k);
        /* compactions run in the background (a temp file exists while
         * one runs): once stopped, none may be left behind */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s.state.tmp", services[v]);
        h_stop(svc[v], 5000);
        ck_assert_msg(!path_exists(h_data_dir(), tmp), "%s: %s left behind", rule, tmp);
    }
    /* the fault removed: restarted without the preload, it reloads */
    ck_assert_msg((svc[v] = start_service(v, NULL)) > 0, "%s did not restart", services[v]);
    int c = check_shop(rule, told, ORDERS);
    if (!stops)
        ck_assert_int_eq(c, ORDERS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iofault");
    TCase *tc = tcase_create("iofault");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_iofault_decision_log, 0,
                        (int)(sizeof dlog_cases / sizeof dlog_cases[0]));
    tcase_add_loop_test(tc, test_iofault_spare, 0,
                        (int)(sizeof spare_rules / sizeof spare_rules[0]));
    tcase_add_loop_test(tc, test_iofault_state_file, 0,
                        (int)(sizeof state_cases / sizeof state_cases[0]));
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
