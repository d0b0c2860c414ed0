/*
 * test_powercut.c - a power cut across dtcd and the four services, with a
 * service crashed at each of its state-file crash points.
 *
 * Every process runs under the power-cut preload (h_powercut_env:
 * libdtc_powercut.so journals file changes under the test's directory),
 * the coordinators too (dtcctl run: a real power cut sees every process's
 * syncs, the preload only those of the processes it runs in); dtcd keeps
 * its decision log in <dir>/dlog, under the tracked root, so the services
 * are on the instance journal.  One loop iteration per crash point
 * (store.after_write, store.after_sync, store.before_rename,
 * store.after_rename, store.bg_before_sync, store.before_checkpoint), each
 * crashing one service (DTC_CRASH_AT in its env; --compact-min 2 makes
 * background compactions, and so the rename and checkpoint points,
 * frequent).  Orders run one dtcctl each until the service has died;
 * then the power is cut (dtc-powercut cut), every process the test
 * started is SIGKILLed, the journal applied (what was not durable is
 * undone), and everything restarted without the preload.  After the
 * in-doubt transactions settle (h_wait_idle), the four services must
 * agree, all-or-nothing: equal ledgers, one order record per committed
 * order, every order dtcctl reported committed among them, and stock,
 * capacity and money conserved (initial - committed * amount).
 *
 * The cut also removes the segment: /dev/shm does not survive a power
 * cut, so the restarted dtcd knows only what its decision log kept.
 *
 * The instance journal (docs/journal.md): two dtc-noop --journal
 * participants under the preload, orders by dtcctl run; a cut at the
 * participant's journal write, before and after the group commit, and
 * after the COMMIT before its delivery, and while it is told early (before
 * its sync), also with a participant that crashed and restarted after
 * applying it.  Their replay after the restart must show every
 * acknowledged order committed at both, and the crashed one
 * all-or-nothing.
 *
 * A participant in doubt (test_powercut_participant_in_doubt): a service
 * on the journal killed right after its yes vote (its prepare record
 * journaled), the transaction then committed or aborted, the service
 * restarted and replaying, then the cut: after it settled, or at its
 * first checkpoint after the replay.  All-or-nothing at the four
 * services, as dtcctl show says.
 *
 * Log recycling (Check case "recycling"; test_powercut_log_recycling,
 * test_powercut_log_switch): 1 MiB log files under journal load, dtcd
 * killed while it deletes old files (dlog.prune_*, once with
 * DTC_POWERCUT_REORDER=1), or a participant killed at its file switch
 * (dlog.after_rename, dlog.after_switch), then the cut: dtcd recovers
 * without reporting damage, every acknowledged order committed.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ORDERS 8        /* sku-1 has 10 units: every order can commit */
#define ORDER_CENTS 250

/* Each point's first hit is at start (the compaction after the replay)
 * for the rename and checkpoint points: ":2" is then the first background
 * compaction's.  store.bg_before_sync is a background compaction's only:
 * ":1". */
static const char *const points[] = {"store.after_write:2",       "store.after_sync:2",
                                     "store.before_rename:2",     "store.after_rename:2",
                                     "store.bg_before_sync:1",    "store.before_checkpoint:2"};
static const char *const services[] = {"inventory", "payment", "order", "shipping"};
static const char *const seeds[4][4] = {
    {"--seed", "sku-1=10", "--seed", "sku-2=1"},
    {"--seed", "alice=100000", "--seed", "bob=100"},
    {NULL},
    {"--seed", "zone-a=100", NULL, NULL},
};

static void teardown(void)
{
    h_fini();
}

static char dlog[PATH_MAX];

static pid_t start_dtcd(const char *const env[])
{
    const char *extra[] = {"--data-dir", dlog, NULL};
    return h_start_dtcd_env(extra, env);
}

/* Starts service i with env (may be NULL). */
static pid_t start_service(int i, const char *const env[])
{
    const char *const *sd = seeds[i];
    return h_start_service_env(services[i], services[i], env, "--compact-min", "2",
                               sd[0], sd[1], sd[2], sd[3], NULL);
}

/* Starts order k: dtcctl run under env (the preload: the coordinator's
 * writes and syncs of the decision log are seen, as every process's are
 * by a real power cut), its output in <dir>/ord-K.out. */
static pid_t spawn_order(int k, const char *const env[])
{
    char ord[64], ship[64], label[32];
    snprintf(ord, sizeof ord, "order=create o-%d alice %d", k, ORDER_CENTS);
    snprintf(ship, sizeof ship, "shipping=schedule o-%d zone-a", k);
    snprintf(label, sizeof label, "ord-%d", k);
    const char *const argv[] = {"--instance", h_instance(), "run", "-p", "inventory=reserve sku-1 1",
                                "-p", "payment=charge alice 250", "-p", ord, "-p", ship, NULL};
    pid_t pid = h_spawnv(label, "dtcctl", argv, env);
    ck_assert_int_gt(pid, 0);
    return pid;
}

/* Whether order k's dtcctl, ended with status st, reported it committed. */
static int order_told(int k, int st)
{
    char label[32], out[512];
    snprintf(label, sizeof label, "ord-%d", k);
    h_read_output(label, "out", out, sizeof out);
    return h_exit_code(st) == 0 && strstr(out, "\ncommitted\n") != NULL;
}

/* One order to its end (at most 20 s); 1 if reported committed. */
static int run_order(int k, const char *const env[])
{
    pid_t pid = spawn_order(k, env);
    int st;
    if (!h_wait(pid, 20000, &st)) {
        h_kill9(pid);
        return 0;
    }
    return order_told(k, st);
}

/* pc: the preload's environment; crash: the same plus DTC_CRASH_AT at
 * point (with suffix, e.g. ":2"), its text in crash_at. */
static void crash_env(const char *pc[8], const char *crash[10], char *crash_at, size_t size,
                      const char *point, const char *suffix)
{
    size_t n = h_powercut_env(pc, 8);
    ck_assert_int_gt(n, 0);
    snprintf(crash_at, size, "DTC_CRASH_AT=%s%s", point, suffix);
    memcpy(crash, pc, n * sizeof *pc);
    crash[n] = crash_at;
    crash[n + 1] = NULL;
}

/* A case's environments: pc, the power-cut preload's; crash, the same
 * plus DTC_CRASH_AT (its text in crash_at). */
struct pc_env {
    const char *pc[8], *crash[10];
    char crash_at[96];
};

/* The harness as `name` (the decision log under its directory) and the
 * environments for the crash point point+suffix. */
static void case_env(struct pc_env *e, const char *name, const char *point, const char *suffix)
{
    h_init(name);
    snprintf(dlog, sizeof dlog, "%s/dlog", h_dir());
    crash_env(e->pc, e->crash, e->crash_at, sizeof e->crash_at, point, suffix);
}

/* A case's start: case_env, then dtcd under the preload. */
static void case_start(struct pc_env *e, const char *name, const char *point,
                       const char *suffix)
{
    case_env(e, name, point, suffix);
    ck_assert_int_gt(start_dtcd(e->pc), 0);
}

/* After the restart: the four services agree, all-or-nothing, money and
 * stock conserved (harness.h); returns the number of committed orders. */
static int check_shop(const char *what)
{
    return h_shop_check(what, ORDER_CENTS, NULL, 0);
}

/* Cut the power, SIGKILL everything the test started (dtcd last). */
static void power_cut(pid_t svc[4], pid_t coord)
{
    h_result r;
    ck_assert_int_eq(h_runv(&r, 10000, NULL, "dtc-powercut",
                            (const char *const[]){"cut", h_powercut_journal(), NULL}),
                     0);
    if (coord > 0)
        h_kill9(coord);
    for (int i = 0; i < 4; i++)
        h_kill9(svc[i]);
    h_kill9(h_dtcd_pid()); /* no SIGTERM: dtcd must not shut down cleanly */
    h_stop_dtcd(0);        /* closes our handle (dtcd is gone already) */
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    ck_assert_int_eq(shm_unlink(shm), 0); /* /dev/shm is memory: gone too */
    ck_assert_msg(h_powercut_apply() == 0, "dtc-powercut apply failed");
}

/* The machine comes back: no preload, no crash point. */
static void restart_all(void)
{
    ck_assert_int_gt(start_dtcd(NULL), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(start_service(i, NULL) > 0, "%s did not restart", services[i]);
}

START_TEST(test_powercut_service_crash_points)
{
    const char *point = points[_i];
    int victim = _i % 4; /* a different service for each point */
    struct pc_env e;
    case_start(&e, "powercut", point, "");
    if (!h_have_shop() || !h_have_program("dtc-powercut"))
        ck_abort_msg("dtc-powercut or a service is not built");
    pid_t svc[4];
    for (int i = 0; i < 4; i++) {
        svc[i] = start_service(i, i == victim ? e.crash : e.pc);
        ck_assert_msg(svc[i] > 0, "%s did not start", services[i]);
    }
    /* Orders until the victim dies at its point, then the cut (the
     * running order's dtcctl killed by it: given time, it would give up
     * on the dead victim's commit and compensate, a heuristic outcome) */
    int told[ORDERS] = {0};
    pid_t coord = -1;
    for (int k = 0; k < ORDERS && h_alive(svc[victim]); k++) {
        int st, ended = 0;
        int64_t end = h_now_ms() + 20000;
        coord = spawn_order(k, e.pc);
        while (!ended && h_alive(svc[victim]) && h_now_ms() < end)
            ended = h_wait(coord, 10, &st);
        if (ended) {
            told[k] = order_told(k, st);
            coord = -1;
        }
    }
    /* A compaction's child may still be running when the orders end (a
     * busy machine): an idle service finishes it within a second
     * (svc.c, serve_loop), and store.before_checkpoint is passed then. */
    for (int64_t until = h_now_ms() + 3000; h_alive(svc[victim]) && h_now_ms() < until;)
        h_sleep_ms(10);
    ck_assert_msg(!h_alive(svc[victim]), "%s never reached %s", services[victim], point);
    h_sleep_ms(100);
    power_cut(svc, coord);
    restart_all();
    char what[128];
    snprintf(what, sizeof what, "%s in %s", point, services[victim]);
    h_shop_check(what, ORDER_CENTS, told, ORDERS);
}
END_TEST

/* The coordinator writes the decision log itself: a power cut right
 * after its COMMIT record was written (not synced), while the services
 * (on the journal) are told to commit before the sync (told early: the
 * cut comes after the commit reached them), before and after the sync,
 * and after the decision.  Orders run one dtcctl process each, under the
 * preload; the third one crashes at the point.  Every order dtcctl
 * reported committed before the cut must be committed everywhere
 * afterwards; the crashed one is committed everywhere exactly when its
 * COMMIT was synced (coord_durable).  The services compact only past the
 * default threshold here: a compaction's journal flush would sync the
 * told-early COMMIT at a moment the test cannot pin. */
static const char *const coord_points[] = {"dlog.after_write", "dlog.before_sync",
                                           "dlog.after_sync", "coord.after_commit_decision",
                                           "coord.mid_commit:2", "dlog.before_sync",
                                           "coord.commit_told_early"};
static const bool coord_durable[] = {false, false, true, true, false, false, false};
/* The last one is a cut in the middle of a sync whose pages reach the disk
 * in any order (DTC_POWERCUT_REORDER): the previous order's END record
 * (written, not forced) is lost while the crashed order's COMMIT after it
 * reached the disk.  Nothing after the hole was acknowledged: dtcd must
 * recover (a torn tail, not damage) and roll the crashed order back. */
static const bool coord_reorder[] = {false, false, false, false, false, true, false};

START_TEST(test_powercut_coordinator_crash_points)
{
    const char *point = coord_points[_i];
    struct pc_env e;
    case_start(&e, "powercut-coord", point, "");
    pid_t svc[4];
    for (int i = 0; i < 4; i++) {
        const char *const *sd = seeds[i];
        svc[i] = h_start_service_env(services[i], services[i], e.pc, sd[0], sd[1], sd[2], sd[3],
                                     NULL);
        ck_assert_msg(svc[i] > 0, "%s did not start", services[i]);
    }
    int told[3];
    for (int k = 0; k < 2; k++)
        told[k] = run_order(k, e.pc);
    /* dtcd frozen: the cut comes at the crash itself, before dtcd could
     * adopt the dead coordinator's slot (and log its decision again) */
    ck_assert_int_eq(kill(h_dtcd_pid(), SIGSTOP), 0);
    told[2] = run_order(2, e.crash);
    ck_assert_msg(told[0] && told[1], "the orders before the crash did not commit");
    ck_assert_msg(!told[2], "dtcctl at %s was not killed", point);
    if (coord_reorder[_i])
        ck_assert_int_eq(setenv("DTC_POWERCUT_REORDER", "1", 1), 0);
    power_cut(svc, -1);
    unsetenv("DTC_POWERCUT_REORDER");
    if (coord_reorder[_i]) {
        char applied[8192];
        h_read_output("powercut", "apply", applied, sizeof applied);
        ck_assert_msg(strstr(applied, "reordered") != NULL, "no hole was made: %s", applied);
    }
    restart_all();
    if (coord_reorder[_i]) { /* the hole: valid bytes after it, a torn tail */
        static char log[1 << 18];
        h_read_output("dtcd", "err", log, sizeof log);
        ck_assert_msg(strstr(log, "event=dlog_torn_tail") != NULL, "no torn tail after the hole");
    }
    int committed = check_shop(point);
    ck_assert_int_ge(committed, 2); /* nothing acknowledged is lost */
    h_dump d;
    ck_assert_int_eq(h_dump_service("order", "order", &d), 0);
    ck_assert_ptr_nonnull(h_dump_get(&d, "order:o-0"));
    ck_assert_ptr_nonnull(h_dump_get(&d, "order:o-1"));
    /* The crashed order: its COMMIT record unsynced at the cut is undone
     * by the power cut (presumed abort everywhere, also at the services
     * told early: their commit records follow it in the log); once
     * synced, the restarted dtcd commits it everywhere. */
    bool durable = coord_durable[_i];
    ck_assert_msg((h_dump_get(&d, "order:o-2") != NULL) == durable,
                  "o-2 after a cut at %s: want %s", point, durable ? "committed" : "rolled back");
}
END_TEST

/* Crash points for the journal: the participant's (in ja) and the
 * coordinator's (dtcctl), and whether the crashed order's COMMIT is
 * durable at the cut. */
static const char *const journal_points[] = {"journal.after_prepare:3", "dlog.after_write",
                                             "dlog.before_sync", "dlog.after_sync",
                                             "coord.after_commit_decision",
                                             "coord.commit_told_early"};
static const bool journal_durable[] = {false, false, false, true, true, false};

static pid_t start_jnoop(const char *name, const char *label, const char *const env[])
{
    return h_start_jnoop(name, label, "48", env);
}

static int run_jorder(int k, const char *const env[])
{
    char a[32], b[32];
    snprintf(a, sizeof a, "ja=o-%d", k);
    snprintf(b, sizeof b, "jb=o-%d", k);
    const char *const argv[] = {"--instance", h_instance(), "run", "-p", a, "-p", b, NULL};
    h_result r;
    h_runv(&r, 20000, env, "dtcctl", argv);
    return r.code == 0 && strstr(r.out, "committed") != NULL;
}

/* The outcome label's replay gives order k's prepare record ("none"). */
static const char *replayed(const char *label, int k, char *buf, size_t size)
{
    char out[16384], want[48];
    h_read_output(label, "out", out, sizeof out);
    snprintf(want, sizeof want, " payload=o-%d\n", k);
    snprintf(buf, size, "none");
    for (const char *p = strstr(out, want); p != NULL; p = strstr(p + 1, want)) {
        const char *line = p;
        while (line > out && line[-1] != '\n')
            line--;
        const char *o = strstr(line, "outcome=");
        if (strncmp(line, "replay kind=prepared ", 21) == 0 && o != NULL && o < p)
            snprintf(buf, size, "%.*s", (int)(p - o - 8), o + 8);
    }
    return buf;
}

START_TEST(test_powercut_journal_crash_points)
{
    const char *point = journal_points[_i];
    bool in_part = strncmp(point, "journal.", 8) == 0;
    struct pc_env e;
    case_start(&e, "powercut-journal", point, "");
    pid_t ja = start_jnoop("ja", "ja-1", in_part ? e.crash : e.pc);
    pid_t jb = start_jnoop("jb", "jb-1", e.pc);
    int told[3];
    for (int k = 0; k < 2; k++)
        told[k] = run_jorder(k, e.pc);
    if (!in_part) /* as above: the cut comes at the crash itself */
        ck_assert_int_eq(kill(h_dtcd_pid(), SIGSTOP), 0);
    told[2] = run_jorder(2, in_part ? e.pc : e.crash);
    ck_assert_msg(told[0] && told[1], "the orders before the crash did not commit");
    ck_assert_msg(!told[2], "order 2 committed through a crash at %s", point);
    if (in_part)
        ck_assert_msg(!h_alive(ja), "ja did not crash at %s", point);
    pid_t svc[4] = {ja, jb, -1, -1};
    power_cut(svc, -1);
    ck_assert_int_gt(start_dtcd(NULL), 0);
    ja = start_jnoop("ja", "ja-2", NULL);
    jb = start_jnoop("jb", "jb-2", NULL);
    ck_assert_int_eq(h_wait_idle(20000), 1); /* in doubt: delivered */
    h_stop(ja, 5000);
    h_stop(jb, 5000);
    start_jnoop("ja", "ja-3", NULL);
    start_jnoop("jb", "jb-3", NULL);
    char a[32], b[32];
    for (int k = 0; k < 2; k++) { /* nothing acknowledged is lost */
        ck_assert_str_eq(replayed("ja-3", k, a, sizeof a), "committed");
        ck_assert_str_eq(replayed("jb-3", k, b, sizeof b), "committed");
    }
    replayed("ja-3", 2, a, sizeof a);
    replayed("jb-3", 2, b, sizeof b);
    bool a_c = strcmp(a, "committed") == 0, b_c = strcmp(b, "committed") == 0;
    ck_assert_msg(a_c == b_c, "%s: order 2 is %s at ja, %s at jb", point, a, b);
    ck_assert_msg(a_c == journal_durable[_i], "%s: order 2 is %s, want %s", point, a,
                  journal_durable[_i] ? "committed" : "not committed");
    if (a_c == false) { /* presumed abort, or no record at all */
        ck_assert_msg(strcmp(a, "in-flight") != 0 && strcmp(b, "in-flight") != 0,
                      "%s: order 2 still in doubt", point);
    }
}
END_TEST

/* Told early, then the participant crashes and restarts before the
 * COMMIT is synced: dtcctl is killed right after telling ja and jb to
 * commit order 2 (coord.commit_told_early, dtcd frozen: nobody syncs the
 * COMMIT), ja applies it and dies (part.after_commit_apply:3) and is
 * restarted with the host up.  Its replay must not call order 2 aborted
 * (in flight, or committed by its own commit record, which follows the
 * COMMIT in the log); the power cut then loses the COMMIT and every
 * record after it: order 2 is rolled back at both, orders 0 and 1 kept. */
START_TEST(test_powercut_told_early_restart)
{
    struct pc_env e, p;
    case_start(&e, "powercut-early", "coord.commit_told_early", "");
    crash_env(p.pc, p.crash, p.crash_at, sizeof p.crash_at, "part.after_commit_apply", ":3");
    pid_t ja = start_jnoop("ja", "ja-1", p.crash);
    pid_t jb = start_jnoop("jb", "jb-1", e.pc);
    for (int k = 0; k < 2; k++)
        ck_assert_msg(run_jorder(k, e.pc), "order %d did not commit", k);
    ck_assert_int_eq(kill(h_dtcd_pid(), SIGSTOP), 0);
    ck_assert_msg(!run_jorder(2, e.crash), "order 2 committed through the crash");
    for (int64_t end = h_now_ms() + 10000; h_alive(ja) && h_now_ms() < end;)
        h_sleep_ms(10);
    ck_assert_msg(!h_alive(ja), "ja did not crash after applying order 2");
    ja = start_jnoop("ja", "ja-2", e.pc);
    char a[32], b[32];
    replayed("ja-2", 2, a, sizeof a);
    ck_assert_msg(strcmp(a, "in-flight") == 0 || strcmp(a, "committed") == 0,
                  "ja's replay before the cut: order 2 is %s", a);
    pid_t svc[4] = {ja, jb, -1, -1};
    power_cut(svc, -1);
    ck_assert_int_gt(start_dtcd(NULL), 0);
    ja = start_jnoop("ja", "ja-3", NULL);
    jb = start_jnoop("jb", "jb-3", NULL);
    ck_assert_int_eq(h_wait_idle(20000), 1);
    h_stop(ja, 5000);
    h_stop(jb, 5000);
    start_jnoop("ja", "ja-4", NULL);
    start_jnoop("jb", "jb-4", NULL);
    for (int k = 0; k < 2; k++) {
        ck_assert_str_eq(replayed("ja-4", k, a, sizeof a), "committed");
        ck_assert_str_eq(replayed("jb-4", k, b, sizeof b), "committed");
    }
    replayed("ja-4", 2, a, sizeof a);
    replayed("jb-4", 2, b, sizeof b);
    ck_assert_msg(strcmp(a, "committed") != 0 && strcmp(a, "in-flight") != 0
                      && strcmp(b, "committed") != 0 && strcmp(b, "in-flight") != 0,
                  "order 2 after the cut: %s at ja, %s at jb (want rolled back)", a, b);
}
END_TEST

/* A participant killed between its journaled prepare and the decision,
 * restarted, then a power cut.  payment (on the journal) journals its
 * prepare record of order o-2, votes yes and is SIGKILLed right after
 * (part.after_vote:3, its third vote); inventory answers 300 ms later
 * (--delay-prepare-ms), yes (the COMMIT is made durable: o-2 commits) or
 * no (o-2 aborts, nothing forced).  payment restarts under the preload
 * and replays its records; then the power is cut, either once it
 * checkpointed and settled o-2, or at its first checkpoint after the
 * replay (the compaction after the replay: before the rename, or renamed
 * and the directory synced but its LSN not reported).  After everything
 * restarted: o-0 and o-1 (acknowledged) are committed, o-2 is committed
 * at all four services or at none as decided, nothing created (h_shop_check),
 * and dtcctl show says the same. */
static const struct {
    bool commit;
    const char *restart_crash; /* NULL: the cut once o-2 is settled */
} doubt_cases[] = {
    {true, NULL},
    {false, NULL},
    {true, "DTC_CRASH_AT=store.before_checkpoint:1"},
    {false, "DTC_CRASH_AT=store.before_rename:1"},
    {true, "DTC_CRASH_AT=store.before_rename:1"},
};

/* Starts a service with extra arguments a, b (may be NULL). */
static pid_t start_service_x(int i, const char *const env[], const char *a, const char *b)
{
    const char *const *sd = seeds[i];
    if (a == NULL)
        return start_service(i, env);
    return h_start_service_env(services[i], services[i], env, "--compact-min", "2", a, b,
                               sd[0], sd[1], sd[2], sd[3], NULL);
}

/* The txid dtcctl run printed first (its output file), within 10 s. */
static void run_txid(const char *label, dtc_txid *id)
{
    char out[512];
    int64_t end = h_now_ms() + 10000;
    for (;;) {
        h_read_output(label, "out", out, sizeof out);
        const char *t = strstr(out, "txid ");
        if (t != NULL && strlen(t) >= 5 + DTC_TXID_STRLEN - 1) {
            char s[DTC_TXID_STRLEN];
            memcpy(s, t + 5, sizeof s - 1);
            s[sizeof s - 1] = '\0';
            ck_assert_int_eq(dtc_txid_parse(s, id), DTC_OK);
            return;
        }
        ck_assert_msg(h_now_ms() < end, "dtcctl printed no txid: '%s'", out);
        h_sleep_ms(10);
    }
}

/* Until the decision is acted upon: a commit or rollback was sent (a
 * commit only once the COMMIT record is durable), or the slot ended. */
static void wait_decided(const dtc_txid *id, bool commit)
{
    dtc_op want = commit ? DTC_OP_COMMIT : DTC_OP_ROLLBACK;
    int64_t end = h_now_ms() + 15000;
    for (;;) {
        dtc_txn_info ti;
        dtc_result rc = dtc_transaction_status(h_inst(), id, &ti);
        if (rc != DTC_OK && !commit)
            return; /* ended: aborted */
        for (uint32_t i = 0; rc == DTC_OK && i < ti.nentries && i < DTC_LIMIT_MAX_PARTS_PER_TXN; i++)
            if (ti.entries[i].op == want)
                return;
        ck_assert_msg(h_now_ms() < end, "o-2 was never decided (%s)", dtc_result_name(rc));
        h_sleep_ms(10);
    }
}

/* What dtcctl show TXID says: its outcome ("committed", "aborted", ...),
 * "never" when the log has no decision (exit 2, DTC_ENOTFOUND: presumed
 * abort), else its error. */
static void show_outcome(const dtc_txid *id, char *word, size_t size)
{
    char s[DTC_TXID_STRLEN];
    dtc_txid_format(id, s);
    h_result r;
    h_runv(&r, 20000, NULL, "dtcctl",
           (const char *const[]){"--instance", h_instance(), "show", s, NULL});
    const char *o = strstr(r.out, "outcome:");
    if (r.code == 0 && o != NULL) {
        o += strspn(o + 8, " ") + 8;
        snprintf(word, size, "%.*s", (int)strcspn(o, " \n"), o);
    } else if (r.code == 2 && strstr(r.err, "DTC_ENOTFOUND") != NULL) {
        snprintf(word, size, "never");
    } else {
        snprintf(word, size, "exit %d: %.200s", r.code, r.err);
    }
}

START_TEST(test_powercut_participant_in_doubt)
{
    bool commit = doubt_cases[_i].commit;
    const char *restart_crash = doubt_cases[_i].restart_crash;
    struct pc_env e;
    case_start(&e, "powercut-doubt", "part.after_vote", ":3");
    if (!h_have_shop() || !h_have_program("dtc-powercut"))
        ck_abort_msg("dtc-powercut or a service is not built");
    const char *again[10];
    size_t n = h_powercut_env(again, 8); /* again: pc + the restart's crash */
    again[n] = restart_crash;
    again[n + 1] = NULL;
    pid_t svc[4];
    for (int i = 0; i < 4; i++) {
        svc[i] = i == 0 ? start_service_x(0, e.pc, "--delay-prepare-ms", "300")
                        : start_service(i, i == 1 ? e.crash : e.pc);
        ck_assert_msg(svc[i] > 0, "%s did not start", services[i]);
    }
    int told[3];
    for (int k = 0; k < 2; k++)
        told[k] = run_order(k, e.pc);
    ck_assert_msg(told[0] && told[1], "the orders before the crash did not commit");
    /* o-2: payment votes yes and dies; inventory decides */
    /* a long commit timeout: given up on, the commit would be compensated */
    const char *const argv[] = {"--instance", h_instance(), "run", "--commit-timeout-ms", "60000",
                                "-p",
                                commit ? "inventory=reserve sku-1 1" : "inventory=reserve sku-2 5",
                                "-p", "payment=charge alice 250", "-p",
                                "order=create o-2 alice 250", "-p", "shipping=schedule o-2 zone-a",
                                NULL};
    pid_t coord = h_spawnv("doubt", "dtcctl", argv, e.pc);
    ck_assert_int_gt(coord, 0);
    dtc_txid id;
    run_txid("doubt", &id);
    int st;
    ck_assert_msg(h_wait(svc[1], 15000, &st) == 1, "payment did not die after its vote");
    wait_decided(&id, commit);
    if (restart_crash == NULL) {
        svc[1] = start_service(1, e.pc);
        ck_assert_msg(svc[1] > 0, "payment did not restart");
        dtc_outcome o = {0};
        int64_t end = h_now_ms() + 20000;
        while (!(dtc_transaction_outcome(h_inst(), &id, &o) == DTC_OK
                 && o.kind != DTC_OUTCOME_IN_FLIGHT)
               && h_now_ms() < end)
            h_sleep_ms(20);
        ck_assert_int_eq(o.kind, commit ? DTC_OUTCOME_COMMITTED : DTC_OUTCOME_ABORTED);
    } else { /* it replays, then dies at its first checkpoint */
        const char *const pargv[] = {"--instance", h_instance(), "--data-dir", h_data_dir(),
                                     "--name", "payment", "--compact-min", "2", NULL};
        svc[1] = h_spawnv("payment-again", "dtc-payment", pargv, again);
        ck_assert_int_gt(svc[1], 0);
        ck_assert_msg(h_wait(svc[1], 20000, &st) == 1, "payment did not die restarting");
        char err[16384];
        h_read_output("payment-again", "err", err, sizeof err);
        ck_assert_msg(strstr(err, "event=journal_replay") != NULL && strstr(err, "action=sigkill"),
                      "payment did not replay, then die at its checkpoint: %s", err);
    }
    power_cut(svc, coord);
    restart_all();
    told[2] = commit; /* a commit was sent: its COMMIT record was durable */
    char what[128];
    snprintf(what, sizeof what, "o-2 %s, restarted payment %s", commit ? "committed" : "aborted",
             restart_crash ? restart_crash : "settled");
    int committed = h_shop_check(what, ORDER_CENTS, told, 3);
    ck_assert_msg(committed == (commit ? 3 : 2), "%s: %d orders committed", what, committed);
    char word[256];
    show_outcome(&id, word, sizeof word);
    if (commit)
        ck_assert_str_eq(word, "committed");
    else /* its abort forced nothing: aborted, or no decision at all */
        ck_assert_msg(strcmp(word, "aborted") == 0 || strcmp(word, "never") == 0,
                      "%s: dtcctl show says %s", what, word);
}
END_TEST

/* Log recycling: dtcd deletes old log files in its tick (dlog_file.c,
 * dtc__dlog_prune) and dies at a crash point in the middle; then the
 * cut.  dtcd runs with 1 MiB files and --dlog-files 3; two dtc-noop
 * --journal 4096 participants take every order (about 120 orders a
 * file): ja checkpoints every 16 of its records, jb every RECYCLE_ORDERS,
 * so no file is deleted before jb's first checkpoint, after the last of
 * RECYCLE_ORDERS orders, which frees the oldest files at once (four):
 * dtcd's next tick takes them out of the log in one go (the first
 * renamed to be the next spare, the others to free files, dlog.free.*),
 * and the point's second hit is at the second file,
 * dlog.0000000000000002 (before its rename, after it with the directory
 * not synced, after the sync).  One more
 * order is in flight at the cut (jc, a plain dtc-noop, takes 5 s to
 * prepare; ja and jb have journaled its prepare records; RECYCLE_ORDERS
 * puts it in the middle of a file: a switch, which syncs the directory,
 * would make the deletion durable before the cut).  Once more at
 * the unsynced rename with DTC_POWERCUT_REORDER=1: of two unsynced
 * renames the newer one would reach the disk and the older one come
 * back, a gap in the file numbers that dtcd takes for damage, unless
 * each is synced before the next one.  After the restart: dtcd recovers
 * without reporting damage, a file whose rename was not durable is back
 * and read like any old file, and the replays of ja and jb (every record
 * of theirs the log still holds) agree order by order, every
 * acknowledged order committed and the one in flight not. */
#define RECYCLE_ORDERS 660
static const struct {
    const char *point;
    bool reorder;
} recycle_cases[] = {
    {"dlog.prune_before_unlink:2", false},
    {"dlog.prune_after_unlink:2", false},
    {"dlog.prune_after_sync:2", false},
    {"dlog.prune_after_unlink:2", true},
};

static pid_t start_recycling_dtcd(const char *const env[])
{
    const char *extra[] = {"--data-dir",  dlog, "--dlog-file-mb", "1",   "--dlog-files",
                           "3",           "--max-txns", "16", "--journal-max-files", "100",
                           NULL};
    return h_start_dtcd_env(extra, env);
}

/* The outcome ja's or jb's replay gives order k's prepare record, into
 * out[k] (0 none, 'c' committed, 'a' anything else), k < n. */
static void replay_outcomes(const char *label, char *out, int n)
{
    size_t cap = 4u << 20;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    h_read_output(label, "out", text, cap);
    memset(out, 0, (size_t)n);
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        const char *o = strstr(line, " outcome="), *p = strstr(line, " payload=o-");
        int k = p != NULL ? atoi(p + 11) : -1;
        if (strncmp(line, "replay kind=prepared ", 21) == 0 && o != NULL && k >= 0 && k < n)
            out[k] = strncmp(o + 9, "committed ", 10) == 0 ? 'c' : 'a';
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
}

/* Runs orders 0 .. n-1 through dtcctl, four at a time (a dtcctl process
 * an order: under the sanitizers one at a time took minutes); each must
 * commit. */
static void run_jorders(int n, const char *const env[])
{
    enum { WIDTH = 4 };
    pid_t pid[WIDTH];
    char label[WIDTH][32];
    int order[WIDTH];
    for (int next = 0; next < n;) {
        int started = 0;
        for (; started < WIDTH && next < n; started++, next++) {
            char a[32], b[32];
            snprintf(a, sizeof a, "ja=o-%d", next);
            snprintf(b, sizeof b, "jb=o-%d", next);
            snprintf(label[started], sizeof label[started], "ro-%d", next);
            const char *const argv[] = {"--instance", h_instance(), "run", "-p", a, "-p", b,
                                        NULL};
            order[started] = next;
            ck_assert_int_gt(pid[started] = h_spawnv(label[started], "dtcctl", argv, env), 0);
        }
        for (int w = 0; w < started; w++) {
            int st;
            char out[4096];
            ck_assert_msg(h_wait(pid[w], 20000, &st) == 1 && WIFEXITED(st)
                              && WEXITSTATUS(st) == 0, "order %d: dtcctl failed", order[w]);
            h_read_output(label[w], "out", out, sizeof out);
            ck_assert_msg(strstr(out, "committed") != NULL, "order %d did not commit: %s",
                          order[w], out);
        }
    }
}

/* Runs orders 0 .. RECYCLE_ORDERS-1 (all must commit), then one in flight
 * (its dtcctl's pid) that jc holds up. */
static pid_t recycle_load(const char *const env[])
{
    run_jorders(RECYCLE_ORDERS, env);
    char a[32], b[32];
    snprintf(a, sizeof a, "ja=o-%d", RECYCLE_ORDERS);
    snprintf(b, sizeof b, "jb=o-%d", RECYCLE_ORDERS);
    const char *const argv[] = {"--instance", h_instance(), "run", "-p", a, "-p", b,
                                "-p", "jc=x", NULL};
    pid_t pid = h_spawnv("inflight", "dtcctl", argv, env);
    ck_assert_int_gt(pid, 0);
    return pid;
}

START_TEST(test_powercut_log_recycling)
{
    const char *point = recycle_cases[_i].point;
    bool reorder = recycle_cases[_i].reorder;
    struct pc_env e;
    case_env(&e, "powercut-recycle", point, "");
    pid_t dtcd = start_recycling_dtcd(e.crash);
    ck_assert_int_gt(dtcd, 0);
    const char *const ja_ckpt[] = {"--journal-checkpoint", "16", NULL};
    char every[16];
    snprintf(every, sizeof every, "%d", RECYCLE_ORDERS);
    const char *const jb_ckpt[] = {"--journal-checkpoint", every, NULL};
    pid_t svc[4] = {h_start_jnoopv("ja", "ja-1", "4096", ja_ckpt, e.pc),
                    h_start_jnoopv("jb", "jb-1", "4096", jb_ckpt, e.pc),
                    h_start_noop("jc", "--delay-ms", "5000", NULL), -1};
    ck_assert_int_gt(svc[2], 0);
    pid_t coord = recycle_load(e.pc);
    int st;
    ck_assert_msg(h_wait(dtcd, 10000, &st) == 1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "dtcd never reached %s", point);
    if (reorder)
        ck_assert_int_eq(setenv("DTC_POWERCUT_REORDER", "1", 1), 0);
    power_cut(svc, coord);
    unsetenv("DTC_POWERCUT_REORDER");
    char *applied = malloc(1u << 20);
    ck_assert_ptr_nonnull(applied);
    h_read_output("powercut", "apply", applied, 1u << 20);
    char undo[2 * sizeof dlog + 64];
    snprintf(undo, sizeof undo, " RENAME %s/dlog.0000000000000002 -> %s/dlog.free.", dlog,
             dlog);
    if (strstr(point, "after_unlink") != NULL && !reorder) /* the unsynced rename is undone */
        ck_assert_msg(strstr(applied, undo) != NULL, "%s: dlog.0000000000000002 not back "
                      "(<dir>/powercut.apply)", point);
    free(applied);
    ck_assert_msg(start_recycling_dtcd(NULL) > 0, "dtcd refused the log after a cut at %s",
                  point);
    char err[65536];
    h_read_output("dtcd", "err", err, sizeof err);
    ck_assert_msg(strstr(err, "event=dlog_damaged") == NULL && strstr(err, "dlog_refused") == NULL,
                  "%s: damage reported: %.300s", point, err);
    pid_t ja = h_start_jnoop("ja", "ja-2", "48", NULL), jb = h_start_jnoop("jb", "jb-2", "48", NULL);
    ck_assert_int_eq(h_wait_idle(20000), 1); /* in doubt: delivered */
    h_stop(ja, 5000);
    h_stop(jb, 5000);
    ck_assert_int_gt(h_start_jnoop("ja", "ja-3", "48", NULL), 0);
    ck_assert_int_gt(h_start_jnoop("jb", "jb-3", "48", NULL), 0);
    char a[RECYCLE_ORDERS + 1], b[RECYCLE_ORDERS + 1];
    replay_outcomes("ja-3", a, RECYCLE_ORDERS + 1);
    replay_outcomes("jb-3", b, RECYCLE_ORDERS + 1);
    int seen = 0;
    for (int k = 0; k < RECYCLE_ORDERS; k++) { /* every one acknowledged */
        ck_assert_msg(a[k] != 'a' && b[k] != 'a', "%s: acknowledged o-%d not committed (%c %c)",
                      point, k, a[k] ? a[k] : '-', b[k] ? b[k] : '-');
        seen += a[k] == 'c' && b[k] == 'c';
    }
    /* the newest files hold the orders before the cut (about 120 a file) */
    ck_assert_msg(a[RECYCLE_ORDERS - 1] == 'c' && seen >= 200,
                  "%s: only %d orders replayed at both", point, seen);
    ck_assert_msg(a[RECYCLE_ORDERS] != 'c' && b[RECYCLE_ORDERS] != 'c',
                  "%s: the order in flight committed", point);
}
END_TEST

/* The file switch under the same load: ja dies at its first switch,
 * right after renaming the spare in (dlog.after_rename: the new file has
 * no header yet) or once the log moved there, before the checkpoint
 * copies (dlog.after_switch).  The next writer must go on: ja restarted,
 * SWITCH_AFTER more orders must commit.  Then the cut and the restart
 * (as above): no damage, every acknowledged order committed at both, the
 * one ja died in not committed anywhere. */
#define SWITCH_AFTER 10
static const char *const switch_points[] = {"dlog.after_rename:1", "dlog.after_switch:1"};

START_TEST(test_powercut_log_switch)
{
    const char *point = switch_points[_i];
    enum { MAX_ORDERS = 1200 };
    struct pc_env e;
    case_env(&e, "powercut-switch", point, "");
    ck_assert_int_gt(start_recycling_dtcd(e.pc), 0);
    const char *const ckpt[] = {"--journal-checkpoint", "16", NULL};
    pid_t svc[4] = {h_start_jnoopv("ja", "ja-1", "4096", ckpt, e.crash),
                    h_start_jnoopv("jb", "jb-1", "4096", ckpt, e.pc), -1, -1};
    static int told[MAX_ORDERS + SWITCH_AFTER];
    int k = 0, died = -1;
    for (; k < MAX_ORDERS && died < 0; k++) /* until ja dies at its first switch */
        if (!(told[k] = run_jorder(k, e.pc)))
            died = k;
    int st;
    ck_assert_msg(died >= 0 && h_wait(svc[0], 5000, &st) == 1 && WIFSIGNALED(st)
                  && WTERMSIG(st) == SIGKILL, "ja never reached %s", point);
    svc[0] = h_start_jnoopv("ja", "ja-1b", "4096", ckpt, e.pc);
    for (int end = k + SWITCH_AFTER; k < end; k++)
        ck_assert_msg(told[k] = run_jorder(k, e.pc), "%s: order %d after ja's crash: not "
                      "committed", point, k);
    power_cut(svc, -1);
    ck_assert_msg(start_recycling_dtcd(NULL) > 0, "dtcd refused the log after %s", point);
    char err[65536];
    h_read_output("dtcd", "err", err, sizeof err);
    ck_assert_msg(strstr(err, "event=dlog_damaged") == NULL, "%s: damage reported: %.300s",
                  point, err);
    pid_t ja = h_start_jnoop("ja", "ja-2", "48", NULL), jb = h_start_jnoop("jb", "jb-2", "48", NULL);
    ck_assert_int_eq(h_wait_idle(20000), 1);
    h_stop(ja, 5000);
    h_stop(jb, 5000);
    ck_assert_int_gt(h_start_jnoop("ja", "ja-3", "48", NULL), 0);
    ck_assert_int_gt(h_start_jnoop("jb", "jb-3", "48", NULL), 0);
    static char a[MAX_ORDERS + SWITCH_AFTER], b[MAX_ORDERS + SWITCH_AFTER];
    replay_outcomes("ja-3", a, k);
    replay_outcomes("jb-3", b, k);
    for (int i = 0; i < k; i++) {
        if (told[i])
            ck_assert_msg(a[i] != 'a' && b[i] != 'a', "%s: acknowledged o-%d not committed "
                          "(%c %c)", point, i, a[i] ? a[i] : '-', b[i] ? b[i] : '-');
        else /* all-or-nothing: ja died in its prepare, or in its commit */
            ck_assert_msg(!((a[i] == 'c' && b[i] == 'a') || (a[i] == 'a' && b[i] == 'c')),
                          "%s: o-%d committed at one, aborted at the other", point, i);
    }
    ck_assert_msg(a[k - 1] == 'c' && b[k - 1] == 'c', "%s: the last order not replayed", point);
}
END_TEST

/* A case of the suite: its teardown and timeout. */
static TCase *add_case(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return tc;
}

#define ADD_LOOP(tc, fn, cases) \
    tcase_add_loop_test(tc, fn, 0, (int)(sizeof cases / sizeof cases[0]))

int main(void)
{
    Suite *s = suite_create("powercut");
    /* three cases, one ctest entry each (tests/CMakeLists.txt): under
     * the sanitizers all of them together took more than 300 s */
    TCase *tc = add_case(s, "services");
    ADD_LOOP(tc, test_powercut_service_crash_points, points);
    ADD_LOOP(tc, test_powercut_participant_in_doubt, doubt_cases);
    TCase *cc = add_case(s, "coordinator");
    ADD_LOOP(cc, test_powercut_coordinator_crash_points, coord_points);
    ADD_LOOP(cc, test_powercut_journal_crash_points, journal_points);
    tcase_add_test(cc, test_powercut_told_early_restart);
    TCase *rc = add_case(s, "recycling"); /* CK_RUN_CASE=recycling runs these alone */
    ADD_LOOP(rc, test_powercut_log_recycling, recycle_cases);
    ADD_LOOP(rc, test_powercut_log_switch, switch_points);
    return h_run_suite(s);
}
