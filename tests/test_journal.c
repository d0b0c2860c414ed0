/*
 * test_journal.c - the instance journal with real processes (dtc-noop
 * --journal, docs/journal.md): after a simulated host crash (every
 * process SIGKILLed, the segment removed, dtcd restarted on the same
 * directory) a participant's replay hands back exactly its records, in
 * order, with each transaction's outcome; a participant killed between
 * its journaled prepare (yes vote published) and the decision replays
 * that record in doubt after its restart, then gets the outcome
 * delivered; a participant that stays away holds the log's files (status
 * names it, dtcd warns, metrics say so) until an operator releases it.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dlog.h"
#include "harness.h"
#include "txn.h"

static h_result res;

static void teardown(void)
{
    h_fini();
}

/* dtc-noop --journal 64 as `name` (stdout in <dir>/<label>.out), env
 * additions may be NULL; waits until it has replayed and registered. */
static pid_t start_jnoop(const char *name, const char *label, const char *const env[])
{
    pid_t pid = h_start_jnoop(name, label, "64", env);
    char out[8192];
    h_read_output(label, "out", out, sizeof out);
    ck_assert_ptr_nonnull(strstr(out, "replayed result=DTC_OK"));
    return pid;
}

/* A host crash: SIGKILL dtcd and every registered participant, then
 * remove the segment as a reboot would (the files stay). */
static void crash_host(void)
{
    dtc_participant_info parts[16];
    size_t n = 0;
    ck_assert_int_eq(dtc_list_participants(h_inst(), parts, 16, &n), DTC_OK);
    for (size_t i = 0; i < n && i < 16; i++)
        h_kill9(parts[i].pid);
    h_kill9(h_dtcd_pid());
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    ck_assert_int_eq(shm_unlink(shm), 0);
}

struct done_seen {
    const dtc_txid *id;
    const char *name;
    bool found;
};

static int done_of(void *ctx, const struct dtc__dlog_rec *r)
{
    struct done_seen *d = ctx;
    d->found |= r->type == DTC_DLOG_JDONE && memcmp(r->txid.bytes, d->id->bytes, 16) == 0
                && strncmp(r->entries[0].name, d->name, DTC_NAME_MAX) == 0;
    return 0;
}

/* Waits (10 s at most) until participant `name`'s commit or rollback
 * record of id is in the log's files.  It is staged after its answer, and
 * written with the participant's next batch or after 5 ms without one
 * (docs/journal.md, "Staged records"); a participant process killed
 * before loses it (its replay then gives the outcome alone).  A
 * participant writes its records in order: the last one found, all are. */
static void wait_done_record(const char *name, const dtc_txid *id)
{
    struct done_seen d = {id, name, false};
    for (int64_t end = h_now_ms() + 10000; !d.found && h_now_ms() < end; h_sleep_ms(10)) {
        struct dtc__dlog_scan_out s;
        ck_assert_int_eq(dtc__dlog_scan(h_dlog_dir(), NULL, done_of, &d, true, &s), DTC_OK);
    }
    ck_assert_msg(d.found, "%s: its done record never reached the log", name);
}

/* One transaction over names[0..n) with payload pay; its result. */
static dtc_result txn(const char *const names[], int n, const char *pay, bool commit,
                      dtc_txid *id)
{
    dtc_result rc = dtc_begin_transaction(h_inst(), NULL, id);
    for (int k = 0; rc == DTC_OK && k < n; k++)
        rc = dtc_enlist(h_inst(), id, names[k], pay, strlen(pay));
    if (rc == DTC_OK && !commit && (rc = dtc_prepare_transaction(h_inst(), id, NULL)) == DTC_OK)
        return dtc_rollback_transaction(h_inst(), id, NULL) == DTC_OK ? DTC_EABORTED
                                                                       : DTC_ECORRUPT;
    dtc_txn_info rep;
    if (rc == DTC_OK)
        rc = dtc_commit_transaction(h_inst(), id, &rep);
    if (rc != DTC_OK && rc != DTC_EREFUSED)
        h_report_print("journal txn", rc, &rep);
    return rc;
}

/* The replay line of kind/txid in out, or NULL. */
static const char *find_line(const char *out, const char *kind, const dtc_txid *id)
{
    char want[128], txt[DTC_TXID_STRLEN];
    dtc_txid_format(id, txt);
    snprintf(want, sizeof want, "replay kind=%s txid=%s ", kind, txt);
    return strstr(out, want);
}

static int count_lines(const char *out, const char *what)
{
    int n = 0;
    for (const char *p = strstr(out, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

START_TEST(test_reboot_replays_in_order)
{
    h_init("jn-reboot");
    ck_assert_int_gt(h_start_dtcd(), 0);
    start_jnoop("ja", "ja-1", NULL);
    start_jnoop("jb", "jb-1", NULL);
    ck_assert_int_gt(h_start_noop("jn", "--vote", "no", NULL), 0); /* not on the journal */
    static const char *const both[] = {"ja", "jb"}, *const refused[] = {"ja", "jn"};
    enum { T = 12 };
    dtc_txid ids[T];
    bool committed[T];
    for (int i = 0; i < T; i++) {
        char pay[32];
        snprintf(pay, sizeof pay, "t-%d", i);
        dtc_result rc = i % 4 == 3   ? txn(both, 2, pay, false, &ids[i])
                        : i % 4 == 2 ? txn(refused, 2, pay, true, &ids[i])
                                     : txn(both, 2, pay, true, &ids[i]);
        committed[i] = rc == DTC_OK;
        ck_assert_msg(rc == (i % 4 >= 2 ? (i % 4 == 3 ? DTC_EABORTED : DTC_EREFUSED) : DTC_OK),
                      "txn %d: %s", i, dtc_result_name(rc));
    }
    ck_assert_int_eq(h_wait_idle(5000), 1);
    wait_done_record("ja", &ids[T - 1]); /* staged, then written when idle */
    wait_done_record("jb", &ids[T - 1]);
    crash_host();
    ck_assert_int_gt(h_start_dtcd(), 0);
    start_jnoop("ja", "ja-2", NULL);
    char out[16384];
    h_read_output("ja-2", "out", out, sizeof out);
    const char *prev = NULL;
    for (int i = 0; i < T; i++) {
        const char *p = find_line(out, "prepared", &ids[i]);
        char want[64];
        if (i % 4 == 2) { /* refused: ja's vote may have come first, or not */
            if (p != NULL)
                ck_assert_ptr_nonnull(strstr(p, "outcome=aborted payload=t-"));
            continue;
        }
        ck_assert_msg(p != NULL, "txn %d: no prepare record replayed:\n%s", i, out);
        ck_assert_msg(prev == NULL || p > prev, "txn %d replayed out of order", i);
        prev = p;
        snprintf(want, sizeof want, "outcome=%s payload=t-%d\n",
                 committed[i] ? "committed" : "aborted", i);
        ck_assert_msg(strncmp(strstr(p, "outcome="), want, strlen(want)) == 0,
                      "txn %d: %.120s", i, p);
        /* its done record follows (unsynced, still in the page cache) */
        const char *d = find_line(out, committed[i] ? "committed" : "rolled_back", &ids[i]);
        ck_assert_msg(d != NULL && d > p, "txn %d: no done record after its prepare", i);
    }
    ck_assert_int_eq(count_lines(out, "kind=committed"), T / 2);
    ck_assert_int_le(count_lines(out, "kind=prepared"), T);
    ck_assert_int_ge(count_lines(out, "kind=prepared"), T - T / 4);
    ck_assert_ptr_null(strstr(out, "outcome=in-flight"));
}
END_TEST

#ifdef DTC_CRASH_POINTS /* $DTC_CRASH_AT kills ja */
/* ja dies right after publishing its yes vote (its prepare record in the
 * log, not synced by it); the coordinator commits; ja restarted replays
 * the record, its commit decided (COMMITTING), then the redelivered
 * commit finds it done. */
START_TEST(test_killed_after_prepare_in_doubt)
{
    h_init("jn-doubt");
    ck_assert_int_gt(h_start_dtcd(), 0);
    const char *const crash[] = {"DTC_CRASH_AT=part.after_vote", NULL};
    pid_t ja = start_jnoop("ja", "ja-1", crash);
    start_jnoop("jb", "jb-1", NULL);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "ja", "d-1", 3), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "jb", "d-1", 3), DTC_OK);
    pid_t coord = h_fork();
    ck_assert_int_ge(coord, 0);
    if (coord == 0) {
        dtc_instance *in = NULL;
        dtc_txn_options o;
        dtc_txn_options_default(&o);
        _exit(dtc_open(h_instance(), &in) == DTC_OK
                      && dtc_commit_transaction(in, &id, NULL) == DTC_OK
                  ? 0
                  : 1);
    }
    int st;
    ck_assert_int_eq(h_wait(ja, 10000, &st), 1); /* killed at its crash point */
    dtc_txn_info ti;
    int64_t end = h_now_ms() + 5000;
    /* COMMITTING is published before the COMMIT record is synced (the
     * commit is told early): wait for the sync too, or the replay may
     * rightly call it in flight */
    while (!(dtc_transaction_status(h_inst(), &id, &ti) == DTC_OK
             && ti.state == DTC_TXN_COMMITTING && dtc__txn_commit_durable(h_inst(), &id))
           && h_now_ms() < end)
        h_sleep_ms(10);
    ck_assert_int_eq(ti.state, DTC_TXN_COMMITTING); /* decided; ja not told */
    ck_assert(dtc__txn_commit_durable(h_inst(), &id));
    start_jnoop("ja", "ja-2", NULL);
    char out[8192];
    h_read_output("ja-2", "out", out, sizeof out);
    const char *p = find_line(out, "prepared", &id);
    ck_assert_msg(p != NULL, "no prepare record replayed: %s", out);
    /* COMMITTING: decided, so the one rule says committed (the redelivered
     * commit then finds it done) */
    ck_assert_msg(strstr(p, "outcome=committed payload=d-1") != NULL, "%s", p);
    ck_assert_int_eq(h_wait(coord, 20000, &st), 1);
    ck_assert_int_eq(h_exit_code(st), 0);
    dtc_outcome o;
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_COMMITTED);
    /* and a later replay says it committed, with ja's commit record */
    wait_done_record("ja", &id);
    crash_host();
    ck_assert_int_gt(h_start_dtcd(), 0);
    start_jnoop("ja", "ja-3", NULL);
    h_read_output("ja-3", "out", out, sizeof out);
    p = find_line(out, "prepared", &id);
    ck_assert_msg(p != NULL && strstr(p, "outcome=committed payload=d-1") != NULL, "%s", out);
    ck_assert_ptr_nonnull(find_line(out, "committed", &id));
}
END_TEST
#endif

/* The log files (DIR/dlog.<16 hex digits>) in the data directory. */
static long log_files(void)
{
    DIR *d = opendir(h_dlog_dir());
    long n = 0;
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strncmp(e->d_name, "dlog.", 5) == 0 && strlen(e->d_name) == 21
             && strspn(e->d_name + 5, "0123456789abcdef") == 16;
    closedir(d);
    return n;
}

/* ja journals one record and goes away: the log keeps every file since
 * (past --dlog-files), status names it, dtcd warns past
 * --journal-max-files, metrics say so; journal-release frees the files. */
START_TEST(test_stays_away_held_then_released)
{
    h_init("jn-held");
    const char *const extra[] = {"--max-txns", "8", "--dlog-file-mb", "1", "--dlog-files", "3",
                                 "--journal-max-files", "3", NULL};
    ck_assert_int_gt(h_start_dtcdv(extra), 0);
    pid_t ja = start_jnoop("ja", "ja-1", NULL);
    const char *const big[] = {"--instance", h_instance(), "--name", "jb", "--journal", "4000",
                               "--journal-checkpoint", "10", NULL};
    ck_assert_int_gt(h_spawnv("jb", "dtc-noop", big, NULL), 0);
    ck_assert_int_eq(h_wait_participant("jb", 0, 10000), 1);
    static const char *const both[] = {"ja", "jb"}, *const one[] = {"jb"};
    dtc_txid id;
    ck_assert_int_eq(txn(both, 2, "held", true, &id), DTC_OK);
    h_kill9(ja); /* gone, its records not checkpointed */
    for (int i = 0; i < 1500; i++)
        ck_assert_int_eq(txn(one, 1, "x", true, &id), DTC_OK);
    h_sleep_ms(500); /* dtcd's ticks: prune what it may, warn */
    ck_assert_int_gt(log_files(), 4);
    const char *const st[] = {"--instance", h_instance(), "status", NULL};
    h_runv(&res, 5000, NULL, "dtcctl", st);
    ck_assert_int_eq(res.code, 1); /* not healthy: over the bound */
    ck_assert_msg(strstr(res.out, "oldest file held by ja (") != NULL, "%s", res.out);
    ck_assert_ptr_nonnull(strstr(res.out, "OVER --journal-max-files"));
    const char *const sj[] = {"--instance", h_instance(), "status", "--json", NULL};
    h_runv(&res, 5000, NULL, "dtcctl", sj);
    ck_assert_msg(h_json_valid(res.out), "%s", res.out);
    ck_assert_ptr_nonnull(strstr(res.out, "\"oldest_holder\":\"ja\""));
    char *text = NULL, want[200];
    size_t len;
    ck_assert_int_eq(dtc_metrics_text(h_instance(), &text, &len), DTC_OK);
    snprintf(want, sizeof want, "dtc_journal_over_bound{dtc_instance=\"%s\",participant=\"ja\"} 1",
             h_instance());
    ck_assert_msg(strstr(text, want) != NULL, "%s", text);
    free(text);
    char log[65536];
    h_read_output("dtcd", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=journal_behind participant=ja") != NULL, "%s", log);
    const char *const rel[] = {"--instance", h_instance(), "journal-release", "ja", NULL};
    ck_assert_int_eq(h_runv(&res, 5000, NULL, "dtcctl", rel), 0);
    ck_assert_int_eq(h_runv(&res, 5000, NULL, "dtcctl", rel), 2); /* not any more */
    int64_t end = h_now_ms() + 5000;
    while (log_files() > 3 && h_now_ms() < end)
        h_sleep_ms(50);
    ck_assert_int_le(log_files(), 3);
    h_runv(&res, 5000, NULL, "dtcctl", st);
    ck_assert_ptr_null(strstr(res.out, "held by ja"));
}
END_TEST

/* A service on the journal, killed, restarted in its own-file mode
 * (--own-fsync, then --no-fsync): its records after its last snapshot
 * are in the journal only; the restart replays them before it leaves
 * the journal (it used to skip them: the committed reservation was
 * gone), writes a complete state file, and releases its hold on the
 * log. */
static void switch_case(const char *flag)
{
    h_init("jn-switch");
    ck_assert_int_gt(h_start_dtcd(), 0);
    pid_t inv = h_start_service("inventory", "inventory", "--seed", "sku-1=10", NULL);
    ck_assert_int_gt(inv, 0);
    static const char *const one[] = {"inventory"};
    dtc_txid id;
    ck_assert_int_eq(txn(one, 1, "reserve sku-1 3", true, &id), DTC_OK);
    ck_assert_int_eq(h_wait_idle(5000), 1);
    h_kill9(inv);
    ck_assert_int_gt(h_start_service("inventory", "inventory", flag, NULL), 0);
    h_dump d;
    ck_assert_int_eq(h_dump_service("inventory", "inventory", &d), 0);
    const h_rec *r = h_dump_get(&d, "sku-1");
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(r->value, "7") == 0, "%s: sku-1 %s after the switch (want 7)", flag,
                  r->value);
    dtc_journal_info ji[8];
    size_t n = 9;
    ck_assert_int_eq(dtc_journal_list(h_inst(), ji, 8, &n), DTC_OK);
    for (size_t i = 0; i < n && i < 8; i++)
        ck_assert_msg(strcmp(ji[i].name, "inventory") != 0, "%s: still holds the log", flag);
}

START_TEST(test_switch_to_own_file_replays)
{
    switch_case(_i == 0 ? "--own-fsync" : "--no-fsync");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reboot_replays_in_order);
#ifdef DTC_CRASH_POINTS
    tcase_add_test(tc, test_killed_after_prepare_in_doubt);
#endif
    tcase_add_test(tc, test_stays_away_held_then_released);
    tcase_add_loop_test(tc, test_switch_to_own_file_replays, 0, 2);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
