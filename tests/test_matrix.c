/*
 * test_matrix.c - "crash anywhere": one table-driven loop test over every
 * named fault point (src/libdtc/fault.c), plus the condvar dead-waiter hazard on
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
    /* the services (on the journal) told to commit, the COMMIT not yet
     * synced: dtcd adopts the slot, logs it again and finishes it */
    {"coord.commit_told_early", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.after_commit_decision", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.mid_commit:1", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.mid_commit:3", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.mid_rollback:1", W_COORD, 0, 1, E_ABORT, S_NONE},
    /* ended everywhere, the slot not yet freed: dtcd writes the END and
     * frees it (it stayed in use forever before) */
    {"coord.before_end", W_COORD, 0, 0, E_COMMIT, S_NONE},
    {"coord.before_end", W_COORD, 0, 1, E_ABORT, S_NONE},
    {"part.enlist", W_PART, PAY, 0, E_ABORT, S_NONE},
    {"part.before_vote", W_PART, PAY, 0, E_ABORT, S_NONE},
    /* The yes vote is published, the ring not advanced: the commit goes
     * to the restarted service (or everyone is compensated). */
    {"part.after_vote", W_PART, PAY, 0, E_EITHER, S_NONE},
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
    /* the coordinator dies holding a sleeping service's wake lock on its
     * first prepare wake-up (maybe inside pthread_cond_signal): the next
     * waker finds the condvar suspect, the service renews it, orders go
     * on (the row's last order) */
    {"lock.wake", W_COORD, 0, 0, E_ABORT, S_NONE},
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


/* ---- condvar dead-waiter hazard ----------------------------------------- */

/* In a forked child: n orders (fresh ids) through the shop; exit 0 if all
 * commit.  The parent waits at most timeout_ms: a hang fails the test. */
static void orders_bounded(const char *prefix, int n, int timeout_ms)
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        alarm((unsigned)(timeout_ms / 1000 + 2));
        dtc_instance *in;
        char id[48], why[1024];
        if (dtc_open(h_instance(), &in) != DTC_OK)
            _exit(10);
        for (int i = 0; i < n; i++) {
            snprintf(id, sizeof id, "%s-%d", prefix, i);
            if (m_order_commits(in, id, why, sizeof why) != DTC_OK) {
                fprintf(stderr, "order %s: %s\n", id, why);
                _exit(11);
            }
        }
        dtc_close(&in);
        _exit(0);
    }
    int st = 0, done = h_wait(c, timeout_ms, &st);
    if (!done)
        h_kill9(c);
    ck_assert_msg(done, "%d orders did not finish within %d ms (hang)", n, timeout_ms);
    ck_assert_msg(h_exit_code(st) == 0, "orders failed: child exit %d", h_exit_code(st));
}

/* A service killed while asleep on its participant slot's condvar,
 * restarted under the same name: it gets the same slot (and condvar), and
 * new orders through it complete in bounded time.  Three rounds. */
START_TEST(test_condvar_participant_waiter)
{
    h_init("cv-part");
    ck_assert_int_gt(h_start_dtcdv(dtcd_args), 0);
    pid_t pids[M_NSVC];
    ck_assert_int_eq(m_start_shop(-1, NULL, NULL, pids), 0);
    orders_bounded("warm", 3, 8000);
    for (int round = 0; round < 3; round++) {
        dtc_participant_info before, after;
        ck_assert(h_find_participant("payment", &before));
        h_sleep_ms(150); /* asleep in pthread_cond_timedwait on ps_cond */
        ck_assert_int_eq(h_exit_code(h_kill9(pids[PAY])), 128 + SIGKILL);
        pids[PAY] = m_start_svc(PAY, NULL);
        ck_assert_int_gt(pids[PAY], 0);
        ck_assert(h_find_participant("payment", &after));
        ck_assert_msg(after.slot == before.slot, "round %d: slot %u, was %u", round,
                      after.slot, before.slot);
        h_sleep_ms(100); /* the new process asleep on the same condvar */
        char prefix[16];
        snprintf(prefix, sizeof prefix, "cv%d", round);
        orders_bounded(prefix, 10, 8000);
    }
    check_registered(pids);
}
END_TEST

/* Starts a forked coordinator that enlists fast and slow and commits; it
 * sleeps on its txn slot's condvar waiting for the slow vote.  Returns its
 * pid once the txn is PREPARING. */
static pid_t coordinator_waiting(void)
{
    static const char *const names[] = {"fast", "slow", NULL};
    pid_t coord = h_fork_commit(names);
    ck_assert_msg(wait_preparing(3000), "coordinator never reached PREPARING");
    h_sleep_ms(150);
    ck_assert(h_alive(coord));
    return coord;
}

/* Waits until the slow noop has no pending request (<= timeout_ms). */
static void slow_drained(int timeout_ms)
{
    dtc_participant_info pi;
    int64_t end = h_now_ms() + timeout_ms;
    while (h_find_participant("slow", &pi) && pi.pending > 0 && h_now_ms() < end)
        h_sleep_ms(20);
    ck_assert_msg(pi.pending == 0, "slow still has %u pending", pi.pending);
}

/* A coordinator killed asleep on its txn slot's condvar (--max-txns 1: the
 * only slot): dtcd adopts, and new transactions reuse that slot. */
START_TEST(test_condvar_coordinator_waiter)
{
    h_init("cv-coord");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--max-txns", "1", "--tick-ms", "20",
                                                          NULL}),
                     0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "2000", NULL), 0);
    ck_assert_int_gt(h_start_noop("fast", NULL), 0);
    pid_t coord = coordinator_waiting();
    ck_assert_int_eq(h_exit_code(h_kill9(coord)), 128 + SIGKILL);
    ck_assert_msg(h_wait_idle(8000), "the dead coordinator's txn was not finished");
    static const char *const fast[] = {"fast", NULL};
    h_txns_bounded(fast, 20, 6000);
    slow_drained(6000);
    static const char *const both[] = {"fast", "slow", NULL};
    h_txns_bounded(both, 1, 8000);
    ck_assert(h_wait_idle(1000));
}
END_TEST

/* The same slot's condvar with a dead waiter of the third kind: dtcd's
 * finisher thread asleep on it (waiting for the slow rollback answer) when
 * dtcd is killed.  A new dtcd re-adopts; new transactions use the slot. */
START_TEST(test_condvar_supervisor_waiter)
{
    h_init("cv-sup");
    const char *const args[] = {"--max-txns", "1", "--tick-ms", "20", "--log-file",
                                m_dtcd_log(), NULL};
    ck_assert_int_gt(h_start_dtcdv(args), 0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "2000", NULL), 0);
    ck_assert_int_gt(h_start_noop("fast", NULL), 0);
    pid_t coord = coordinator_waiting();
    ck_assert_int_eq(h_exit_code(h_kill9(coord)), 128 + SIGKILL);
    /* dtcd adopts and waits (slow has not answered its prepare yet). */
    int64_t end = h_now_ms() + 3000;
    int adopted = 0;
    while (!adopted && h_now_ms() < end) {
        dtc_txn_info ti;
        size_t n = 0;
        adopted = dtc_list_transactions(h_inst(), &ti, 1, &n) == DTC_OK && n == 1 && ti.adopted;
        h_sleep_ms(5);
    }
    ck_assert_msg(adopted, "dtcd did not adopt the dead coordinator's txn");
    h_sleep_ms(100);
    ck_assert_int_eq(h_exit_code(h_kill9(h_dtcd_pid())), 128 + SIGKILL);
    ck_assert_int_gt(h_start_dtcdv(args), 0);
    ck_assert_msg(h_wait_idle(8000), "the twice-orphaned txn was not finished");
    ck_assert_int_ge(m_file_count(m_dtcd_log(), "event=adopt"), 2);
    static const char *const fast[] = {"fast", NULL};
    h_txns_bounded(fast, 20, 6000);
    slow_drained(6000);
    static const char *const both[] = {"fast", "slow", NULL};
    h_txns_bounded(both, 1, 8000);
    ck_assert(h_wait_idle(1000));
}
END_TEST

/* ---- pid reuse ---------------------------------------------------------- */

/* Forges a LIVE participant slot (a free one) named name for pid with
 * /proc start time start.  Returns its index. */
static uint32_t forge_part(dtc_instance *in, const char *name, pid_t pid, uint64_t start,
                           uint32_t *gen)
{
    ck_assert_int_eq(dtc__reg_lock(in), DTC_OK);
    uint32_t idx = in->max_participants;
    for (uint32_t i = 0; i < in->max_participants && idx == in->max_participants; i++)
        if (dtc__part(in, i)->ps_state == DTC_PS_FREE)
            idx = i;
    ck_assert_uint_lt(idx, in->max_participants);
    struct dtc_part_slot *ps = dtc__part(in, idx);
    ck_assert_int_eq(dtc__part_lock(in, ps), DTC_OK);
    snprintf(ps->ps_name, sizeof ps->ps_name, "%s", name);
    ps->ps_pid = pid;
    ps->ps_start = start;
    ps->ps_gen++;
    ps->ps_head = ps->ps_tail = 0;
    ps->ps_served = 0;
    dtc__wake_renew(in, &ps->ps_wake, &ps->ps_cond);
    ps->ps_state = DTC_PS_LIVE;
    *gen = ps->ps_gen;
    dtc__unlock(&ps->ps_lock);
    dtc__unlock(&in->hdr->sh_reg_lock);
    return idx;
}

static int part_state(dtc_instance *in, uint32_t idx)
{
    return (int)__atomic_load_n(&dtc__part(in, idx)->ps_state, __ATOMIC_ACQUIRE);
}

/* Participant slots whose pid is alive (this test, pid 1) but whose start
 * time differs are reclaimed by dtcd; one with the right start time is
 * not (the control: the test can tell). */
START_TEST(test_pid_reuse_participant)
{
    h_init("pid-part");
    const char *const args[] = {"--tick-ms", "20", "--log-file", m_dtcd_log(), NULL};
    ck_assert_int_gt(h_start_dtcdv(args), 0);
    ck_assert_int_gt(h_start_noop("real", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_status s0, s1;
    ck_assert_int_eq(dtc_get_status(in, &s0), DTC_OK);
    uint64_t me = dtc__proc_start_time(getpid()), init = dtc__proc_start_time(1);
    ck_assert_uint_gt(me, 0);
    uint32_t g1, g2, g3;
    uint32_t self = forge_part(in, "self", getpid(), me, &g3);
    uint32_t ghost = forge_part(in, "ghost", getpid(), me + 777, &g1);
    uint32_t init_ghost = forge_part(in, "init-ghost", 1, init + 777, &g2);
    int64_t end = h_now_ms() + 3000;
    while ((part_state(in, ghost) != DTC_PS_FREE || part_state(in, init_ghost) != DTC_PS_FREE)
           && h_now_ms() < end)
        h_sleep_ms(10);
    ck_assert_msg(part_state(in, ghost) == DTC_PS_FREE,
                  "slot of a live pid with another start time not reclaimed");
    ck_assert_msg(part_state(in, init_ghost) == DTC_PS_FREE,
                  "slot of pid 1 with another start time not reclaimed");
    h_sleep_ms(200);
    ck_assert_msg(part_state(in, self) == DTC_PS_LIVE,
                  "slot of a live pid with its own start time was reclaimed");
    ck_assert_int_eq(dtc_get_status(in, &s1), DTC_OK);
    ck_assert_uint_eq(s1.counters.reclaimed, s0.counters.reclaimed + 2);
    ck_assert(m_file_has(m_dtcd_log(), "participant=ghost slot="));
    ck_assert_int_eq(dtc__part_reclaim(in, self, g3, "test"), DTC_OK);
    ck_assert_int_eq(part_state(in, self), DTC_PS_FREE);
    ck_assert_int_eq(dtc_get_status(in, &s1), DTC_OK);
    ck_assert_uint_eq(s1.participants_registered, 1);
    static const char *const real[] = {"real", NULL};
    h_txns_bounded(real, 3, 5000);
}
END_TEST

/* A name held by a live pid with another start time is free to register
 * (dtcd sleeps between ticks: registration itself must see it dead). */
START_TEST(test_pid_reuse_register)
{
    h_init("pid-reg");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "60000", NULL}), 0);
    h_sleep_ms(100); /* past dtcd's first tick */
    dtc_instance *in = h_inst();
    uint32_t g;
    uint64_t me = dtc__proc_start_time(getpid());
    uint32_t idx = forge_part(in, "taken", getpid(), me + 777, &g);
    pid_t p = h_start_noop("taken", NULL);
    ck_assert_msg(p > 0, "a name held by a reused pid could not be registered");
    dtc_participant_info pi;
    ck_assert(h_find_participant("taken", &pi));
    ck_assert_int_eq(pi.pid, p);
    ck_assert_uint_eq(pi.slot, idx);
    /* Control: a name held by a live pid with its own start time is taken. */
    forge_part(in, "mine", getpid(), me, &g);
    h_result r;
    h_run(&r, 5000, "dtc-noop", "--instance", h_instance(), "--name", "mine", NULL);
    ck_assert_msg(r.code == 1 && strstr(r.err, "already has this name") != NULL,
                  "registering a live holder's name: exit %d err=%s", r.code, r.err);
    static const char *const taken[] = {"taken", NULL};
    h_txns_bounded(taken, 3, 5000);
}
END_TEST

/* Forges a txn slot in state st with one entry at participant `name`,
 * owned by pid/start.  Returns its index. */
static uint32_t forge_txn(dtc_instance *in, dtc_txn_state st, pid_t pid, uint64_t start,
                          const char *name, dtc_txid *id)
{
    dtc_participant_info pi;
    ck_assert(h_find_participant(name, &pi));
    struct dtc_part_slot *ps = dtc__part(in, pi.slot);
    uint32_t pgen = ps->ps_gen;
    uint32_t idx = in->max_txns;
    struct dtc_txn_slot *ts = NULL;
    for (uint32_t i = 0; i < in->max_txns; i++) {
        ts = dtc__txn(in, i);
        ck_assert_int_eq(dtc__txn_lock(in, ts), DTC_OK);
        if (ts->ts_state == DTC_TXN_FREE) {
            idx = i;
            break;
        }
        dtc__unlock(&ts->ts_lock);
    }
    ck_assert_uint_lt(idx, in->max_txns);
    for (int k = 0; k < 16; k++)
        id->bytes[k] = (unsigned char)(rand() & 0xff);
    ts->ts_gen++;
    ts->ts_flags = 0;
    ts->ts_nentries = 1;
    ts->ts_pending = 0;
    ts->ts_result = DTC_OK;
    memcpy(ts->ts_txid, id->bytes, 16);
    ts->ts_owner_pid = pid;
    ts->ts_owner_start = start;
    ts->ts_driver = 0;
    ts->ts_begin_ns = ts->ts_touch_ns = dtc__now_ns();
    ts->ts_deadline_ns = 0;
    ts->ts_prepare_ms = ts->ts_commit_ms = ts->ts_rollback_ms = 1000;
    ts->ts_max_retries = 3;
    struct dtc_txn_entry *e = &ts->ts_entries[0];
    memset(e, 0, sizeof *e);
    e->te_part = pi.slot;
    e->te_part_gen = pgen;
    e->te_op = st >= DTC_TXN_PREPARED ? DTC_OP_PREPARE : DTC_OP_ENLIST;
    e->te_status = st >= DTC_TXN_PREPARED ? DTC_ENTRY_YES : DTC_ENTRY_IDLE;
    e->te_vote = e->te_status;
    e->te_enlist_status = DTC_ENTRY_YES;
    snprintf(e->te_name, sizeof e->te_name, "%s", name);
    memcpy(e->te_payload, "x", 2);
    e->te_payload_len = 1;
    dtc__wake_renew(in, &ts->ts_wake, &ts->ts_cond);
    ts->ts_state = st;
    dtc__unlock(&ts->ts_lock);
    return idx;
}

static uint32_t txn_state(dtc_instance *in, uint32_t idx)
{
    return __atomic_load_n(&dtc__txn(in, idx)->ts_state, __ATOMIC_ACQUIRE);
}

/* A txn slot whose owner pid is alive but with another start time is
 * adopted and finished by dtcd: committed from COMMITTING, rolled back
 * from PREPARED.  One with the right start time is left alone. */
START_TEST(test_pid_reuse_txn)
{
    h_init("pid-txn");
    const char *const args[] = {"--tick-ms", "20", "--log-file", m_dtcd_log(), NULL};
    ck_assert_int_gt(h_start_dtcdv(args), 0);
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_status s0, s1;
    ck_assert_int_eq(dtc_get_status(in, &s0), DTC_OK);
    dtc_participant_info p0, p1;
    ck_assert(h_find_participant("n1", &p0));
    uint64_t me = dtc__proc_start_time(getpid()), init = dtc__proc_start_time(1);
    srand((unsigned)getpid());
    dtc_txid mine, a, b;
    uint32_t ctl = forge_txn(in, DTC_TXN_ACTIVE, getpid(), me, "n1", &mine);
    uint32_t ta = forge_txn(in, DTC_TXN_COMMITTING, getpid(), me + 777, "n1", &a);
    uint32_t tb = forge_txn(in, DTC_TXN_PREPARED, 1, init + 777, "n1", &b);
    int64_t end = h_now_ms() + 4000;
    while ((txn_state(in, ta) != DTC_TXN_FREE || txn_state(in, tb) != DTC_TXN_FREE)
           && h_now_ms() < end)
        h_sleep_ms(10);
    ck_assert_msg(txn_state(in, ta) == DTC_TXN_FREE, "COMMITTING txn of a reused pid: state %s",
                  dtc_txn_state_name(txn_state(in, ta)));
    ck_assert_msg(txn_state(in, tb) == DTC_TXN_FREE, "PREPARED txn of a reused pid 1: state %s",
                  dtc_txn_state_name(txn_state(in, tb)));
    ck_assert_int_eq(dtc_get_status(in, &s1), DTC_OK);
    ck_assert_uint_eq(s1.counters.committed, s0.counters.committed + 1);
    ck_assert_uint_eq(s1.counters.aborted, s0.counters.aborted + 1);
    ck_assert(h_find_participant("n1", &p1));
    ck_assert_uint_ge(p1.served, p0.served + 2); /* the commit and the rollback */
    ck_assert_int_ge(m_file_count(m_dtcd_log(), "why=coordinator_died"), 2);
    /* The control: our own live txn is neither adopted nor touched. */
    h_sleep_ms(200);
    dtc_txn_info ti;
    ck_assert_int_eq(dtc_transaction_status(in, &mine, &ti), DTC_OK);
    ck_assert_int_eq(ti.state, DTC_TXN_ACTIVE);
    ck_assert_int_eq(ti.adopted, 0);
    ck_assert_uint_eq(ctl, ctl);
    ck_assert_int_eq(dtc_rollback_transaction(in, &mine, NULL), DTC_OK);
    ck_assert(h_wait_idle(2000));
    static const char *const n1[] = {"n1", NULL};
    h_txns_bounded(n1, 3, 5000);
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
    TCase *cv = tcase_create("condvar");
    tcase_add_checked_fixture(cv, NULL, teardown);
    tcase_set_timeout(cv, 40);
    tcase_add_test(cv, test_condvar_participant_waiter);
    tcase_add_test(cv, test_condvar_coordinator_waiter);
    tcase_add_test(cv, test_condvar_supervisor_waiter);
    suite_add_tcase(s, cv);
    TCase *pr = tcase_create("pid_reuse");
    tcase_add_checked_fixture(pr, NULL, teardown);
    tcase_set_timeout(pr, 30);
    tcase_add_test(pr, test_pid_reuse_participant);
    tcase_add_test(pr, test_pid_reuse_register);
    tcase_add_test(pr, test_pid_reuse_txn);
    suite_add_tcase(s, pr);
    return h_run_suite(s);
}
