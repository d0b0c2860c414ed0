/*
 * test_matrix.c - "crash anywhere": one table-driven loop test over every
 * named fault point (src/fault.c), plus the condvar dead-waiter hazard on
 * each kind of slot condvar and pid reuse (a live pid with another start
 * time must count as dead).
 *
 * A row of the matrix: the four real services and dtcd (--tick-ms 20) are
 * started; one process gets DTC_CRASH_AT=<point> (the coordinator, dtcctl
 * run; one service, restarted under the same name and data dir once it
 * died; or dtcd, restarted once it died); an order runs through dtcctl
 * (prepare/commit timeouts 1000 ms).  Then, within a few seconds:
 *   - the process with the fault point died by SIGKILL;
 *   - the transaction reaches a terminal outcome: no slot in use, the txid
 *     no longer in `dtcctl txns`;
 *   - every ledger agrees: each txid applied at all four services or at
 *     none (compensated / released count as none), none left PREPARED, and
 *     the outcome is the one the row expects (committed everywhere after
 *     the commit decision, nothing before it);
 *   - dtc_get_status: txns_in_use 0 and exactly the four participants
 *     registered (alive, the current pids): no slot leaked;
 *   - a new order through the survivors and restarted processes commits.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "matrix_util.h"

static void teardown(void)
{
    h_fini();
}

enum who { W_COORD, W_PART, W_SUP };
enum expect { E_ABORT, E_COMMIT, E_EITHER };
enum sup_scenario { S_NONE, S_KILL_PART, S_ADOPT_COMMIT };

struct row {
    const char *point;      /* DTC_CRASH_AT value */
    enum who who;
    int svc;                /* W_PART: which service carries the point */
    int refuse;             /* inventory votes no: the txn aborts */
    enum expect expect;
    enum sup_scenario sup;  /* W_SUP: how dtcd is made to reach the point */
};

#define INV 0
#define PAY 1

static const struct row rows[] = {
    {"coord.after_begin", W_COORD, 0, 0, E_ABORT, S_NONE},
    {"coord.after_enlist", W_COORD, 0, 0, E_ABORT, S_NONE},
    {"coord.mid_prepare:1", W_COORD, 0, 0, E_ABORT, S_NONE},
    {"coord.mid_prepare:3", W_COORD, 0, 0, E_ABORT, S_NONE},
    {"coord.before_decision", W_COORD, 0, 0, E_ABORT, S_NONE},
    {"coord.after_commit_decision", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.mid_commit:1", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.mid_commit:3", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.mid_rollback:1", W_COORD, 0, 1, E_ABORT, S_NONE},
    {"part.enlist", W_PART, PAY, 0, E_ABORT, S_NONE},
    {"part.before_vote", W_PART, PAY, 0, E_ABORT, S_NONE},
    /* part.after_vote is also reached after a batch holding only enlist
     * requests (publish_batch runs for every batch): hit 1 may be the
     * enlist batch, hit 2 the prepare (or commit) batch. */
    {"part.after_vote", W_PART, PAY, 0, E_EITHER, S_NONE},
    {"part.after_vote:2", W_PART, PAY, 0, E_EITHER, S_NONE},
    {"part.after_commit_apply", W_PART, PAY, 0, E_EITHER, S_NONE},
    {"part.rollback", W_PART, PAY, 1, E_ABORT, S_NONE},
    {"sup.mid_reclaim", W_SUP, PAY, 0, E_ABORT, S_KILL_PART},
    {"sup.mid_finish", W_SUP, 0, 0, E_COMMIT, S_ADOPT_COMMIT},
    /* lock holders: the coordinator dies holding a txn lock in PREPARING
     * (hit 11: begin 1, four enlists 2 each, commit's begin_call, the
     * re-lock after the prepare pushes), holding inventory's ring lock on
     * the first prepare push (hit 9: four enlists 2 each); a service dies
     * holding the txn lock while loading its enlist request; dtcd dies
     * holding the registry lock while reclaiming a killed service. */
    {"lock.txn:11", W_COORD, 0, 0, E_EITHER, S_NONE},
    {"lock.part:9", W_COORD, 0, 0, E_EITHER, S_NONE},
    {"lock.txn:1", W_PART, PAY, 0, E_ABORT, S_NONE},
    {"lock.reg", W_SUP, PAY, 0, E_ABORT, S_KILL_PART},
};
#define NROWS ((int)(sizeof rows / sizeof rows[0]))

static unsigned ctl_counter;

/* Spawns `dtcctl run` of one order (async).  label receives the output
 * label.  extra_env may be NULL. */
static pid_t spawn_order(const char *order_id, int refuse, const char *crash_env,
                         char label[64])
{
    static char p[4][128];
    snprintf(p[0], sizeof p[0], "inventory=reserve %s", refuse ? "sku-2 5" : "sku-1 1");
    snprintf(p[1], sizeof p[1], "payment=charge alice 100");
    snprintf(p[2], sizeof p[2], "order=create %s alice 100", order_id);
    snprintf(p[3], sizeof p[3], "shipping=schedule %s zone-a", order_id);
    const char *const argv[] = {"--instance", h_instance(), "run",
                                "--prepare-timeout-ms", "1000", "--commit-timeout-ms", "1000",
                                "-p", p[0], "-p", p[1], "-p", p[2], "-p", p[3], NULL};
    const char *env[3] = {"DTC_LOG=info", crash_env, NULL};
    snprintf(label, 64, "ctl-%u", ctl_counter++);
    return h_spawnv(label, "dtcctl", argv, env);
}

/* Waits until a txn is PREPARING (<= timeout_ms).  1 if seen. */
static int wait_preparing(int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    while (h_now_ms() < end) {
        dtc_txn_info ti;
        size_t n = 0;
        if (dtc_list_transactions(h_inst(), &ti, 1, &n) == DTC_OK && n >= 1
            && ti.state == DTC_TXN_PREPARING)
            return 1;
        h_sleep_ms(5);
    }
    return 0;
}

/* Polls the ledgers until no service holds a PREPARED txn (<= ms). */
static int wait_no_prepared(m_ledger l[M_NSVC], int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    for (;;) {
        if (m_ledgers(l) == 0 && !m_any_prepared(l))
            return 1;
        if (h_now_ms() >= end)
            return 0;
        h_sleep_ms(20);
    }
}

static void check_registered(const pid_t pids[M_NSVC])
{
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_msg(st.txns_in_use == 0, "txns_in_use %u", st.txns_in_use);
    ck_assert_msg(st.participants_registered == M_NSVC,
                  "%u participants registered, want exactly %d (leaked slot?)",
                  st.participants_registered, M_NSVC);
    for (int i = 0; i < M_NSVC; i++) {
        dtc_participant_info pi;
        ck_assert_msg(h_find_participant(m_svc[i], &pi), "%s not registered", m_svc[i]);
        ck_assert_msg(pi.alive && pi.pid == pids[i], "%s: pid %d alive %d, want pid %d",
                      m_svc[i], (int)pi.pid, pi.alive, (int)pids[i]);
    }
}

static const char *const dtcd_args[] = {"--tick-ms", "20", NULL};

START_TEST(test_matrix_row)
{
    const struct row *r = &rows[_i];
    char tag[32], crash_env[96], label[64], why[2048];
    snprintf(tag, sizeof tag, "matrix-%d", _i);
    h_init(tag);
    fprintf(stderr, "== row %d: %s\n", _i, r->point);
    snprintf(crash_env, sizeof crash_env, "DTC_CRASH_AT=%s", r->point);
    const char *const crash[] = {crash_env, NULL};
    const char *const dargs[] = {"--tick-ms", "20", "--log-file", m_dtcd_log(), NULL};
    ck_assert_int_gt(h_start_dtcdv(dargs), 0);
    pid_t pids[M_NSVC];
    /* S_KILL_PART: a slow prepare at the service that will be killed, so
     * that it dies with a request in hand. */
    const char *const slow[] = {"--delay-prepare-ms", "800", NULL};
    if (r->who == W_PART)
        ck_assert_int_eq(m_start_shop(r->svc, crash, NULL, pids), 0);
    else
        ck_assert_int_eq(m_start_shop(r->svc, NULL, r->sup == S_KILL_PART ? slow : NULL, pids),
                         0);

    pid_t sup = -1;
    if (r->who == W_SUP) {
        /* Replace dtcd by one carrying the fault point (re-attach). */
        ck_assert_int_eq(h_exit_code(h_kill9(h_dtcd_pid())), 128 + SIGKILL);
        sup = m_spawn_dtcd(crash, dtcd_args);
        ck_assert_int_gt(sup, 0);
    }

    /* The order. */
    const char *coord_env = r->who == W_COORD ? crash_env
                            : r->sup == S_ADOPT_COMMIT ? "DTC_CRASH_AT=coord.after_commit_decision"
                                                       : NULL;
    char order_id[32];
    snprintf(order_id, sizeof order_id, "o-%d", _i);
    pid_t ctl = spawn_order(order_id, r->refuse, coord_env, label);
    ck_assert_int_gt(ctl, 0);
    int st = 0;

    if (r->who == W_PART) {
        /* The service dies at its point; restart it at once. */
        ck_assert_msg(h_wait(pids[r->svc], 5000, &st), "%s never reached %s", m_svc[r->svc],
                      r->point);
        ck_assert_msg(h_exit_code(st) == 128 + SIGKILL, "%s exit %d, want SIGKILL",
                      m_svc[r->svc], h_exit_code(st));
        pids[r->svc] = m_start_svc(r->svc, NULL);
        ck_assert_msg(pids[r->svc] > 0, "restart of %s failed", m_svc[r->svc]);
    } else if (r->who == W_SUP) {
        if (r->sup == S_KILL_PART) {
            ck_assert_msg(wait_preparing(3000), "the order never reached PREPARING");
            h_sleep_ms(100);
            ck_assert_int_eq(h_exit_code(h_kill9(pids[r->svc])), 128 + SIGKILL);
        }
        ck_assert_msg(h_wait(sup, 5000, &st), "dtcd never reached %s", r->point);
        ck_assert_msg(h_exit_code(st) == 128 + SIGKILL, "dtcd exit %d, want SIGKILL",
                      h_exit_code(st));
        /* A new dtcd re-attaches and catches up. */
        ck_assert_int_gt(h_start_dtcdv(dargs), 0);
        if (r->sup == S_KILL_PART) {
            pids[r->svc] = m_start_svc(r->svc, NULL);
            ck_assert_msg(pids[r->svc] > 0, "restart of %s failed", m_svc[r->svc]);
        }
    }

    int done = h_wait(ctl, 10000, &st);
    if (!done)
        h_kill9(ctl);
    char out[2048], err[8192];
    h_read_output(label, "out", out, sizeof out);
    h_read_output(label, "err", err, sizeof err);
    ck_assert_msg(done, "dtcctl run did not end within 10 s: out=%s", out);
    int code = h_exit_code(st);
    /* dtcctl's verdict is checked last, so that a wrong exit code does not
     * hide what the rest of the row finds. */
    char verdict[2300] = "";
    const char *line2 = strchr(out, '\n') ? strchr(out, '\n') + 1 : out;
    if (r->who == W_COORD || r->sup == S_ADOPT_COMMIT) {
        if (code != 128 + SIGKILL)
            snprintf(verdict, sizeof verdict, "dtcctl with %s: exit %d, want SIGKILL; out=%s",
                     coord_env, code, out);
    } else if (r->expect == E_ABORT && (code != 1 || strncmp(line2, "aborted", 7) != 0)) {
        snprintf(verdict, sizeof verdict,
                 "want 'aborted RESULT' and exit 1 (the txn was rolled back), dtcctl exit %d: %s",
                 code, out);
    } else if (code != 0 && code != 1) {
        snprintf(verdict, sizeof verdict, "dtcctl exit %d: %s", code, out);
    }
    char txid[DTC_TXID_STRLEN];
    ck_assert_msg(m_txid_from_log(err, txid) == 0, "no begin line in dtcctl's log");

    /* Terminal outcome in bounded time: the slot is freed. */
    ck_assert_msg(h_wait_idle(6000), "txn %s still in use 6 s after the crash", txid);
    h_result res;
    ck_assert_int_eq(h_run(&res, 5000, "dtcctl", "--instance", h_instance(), "txns", NULL), 0);
    ck_assert_msg(strstr(res.out, txid) == NULL, "dtcctl txns still lists %s:\n%s", txid,
                  res.out);

    /* All or nothing in the ledgers, nothing left prepared (a restarted
     * service resolves its in-doubt txns within its 1 s recovery loop). */
    m_ledger l[M_NSVC];
    int settled = wait_no_prepared(l, 5000);
    int napplied = 0;
    int aon = m_all_or_nothing(l, why, sizeof why, &napplied);
    ck_assert_msg(settled && aon, "ledgers disagree or hold a prepared txn: %s", why);
    int applied = m_applied_count(l, txid);
    if (r->expect == E_COMMIT)
        ck_assert_msg(applied == M_NSVC, "%s: txn %s applied at %d of 4, want all",
                      r->point, txid, applied);
    if (r->expect == E_ABORT)
        ck_assert_msg(applied == 0, "%s: txn %s applied at %d of 4, want none", r->point,
                      txid, applied);
    ck_assert_msg(napplied == (applied == M_NSVC), "another txn applied: %d", napplied);
    fprintf(stderr, "   %s: txn %s -> %s, dtcctl exit %d\n", r->point, txid,
            applied ? "committed" : "rolled back", code);

    /* No slot leaked. */
    check_registered(pids);
    if (r->who == W_SUP)
        ck_assert_msg(m_file_has(m_dtcd_log(), "event=reattach"), "no reattach line");

    /* Survivors and restarted processes serve a new order. */
    char nid[32];
    snprintf(nid, sizeof nid, "n-%d", _i);
    dtc_result rc = m_order_commits(h_inst(), nid, why, sizeof why);
    ck_assert_msg(rc == DTC_OK, "new order after %s: %s", r->point, why);
    ck_assert(h_wait_idle(2000));
    m_ledgers(l);
    ck_assert_msg(m_all_or_nothing(l, why, sizeof why, NULL), "after the new order: %s", why);
    ck_assert_msg(verdict[0] == '\0', "%s", verdict);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("matrix");
    TCase *tc = tcase_create("crash_matrix");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_matrix_row, 0, NROWS);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
