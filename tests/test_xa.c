/*
 * test_xa.c - the XA optimisations (issue 17 item 6): the read-only vote
 * and one-phase commit, on every surface and under crash points.
 *
 *  - Read-only: a read-only voter next to a yes voter gets no commit (and
 *    no rollback when another votes no); its entry says readonly; every
 *    vote read-only commits with no decision record (an END only), and
 *    returns only once the log is durable past what its voters could
 *    have read (a commit told early).
 *  - One-phase: a commit call on a transaction with one participant
 *    writes no COMMIT record; its answer is the participant's vote
 *    (committed / aborted); an explicit prepare first is two-phase.
 *  - One answer: the library's report and outcome, dtcctl show (text and
 *    JSON), the event=outcome log line, status counters and metrics say
 *    the same.
 *  - Crash points (DTC_CRASH_POINTS builds): the coordinator (dtcctl run)
 *    or the participant killed at each step of both paths; dtcd finishes
 *    the transaction, the inventory service holds it all or nothing, and
 *    every surface reports the outcome the step implies.
 *  - A power cut (the power-cut preload) on the one-phase path: in
 *    COMMITTING with no record (presumed abort, nobody told otherwise) and
 *    after the participant's durable commit (kept; dtc has no record).
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"
#include "harness.h"

static h_result res;

static void teardown(void)
{
    h_fini();
}

/* ---- helpers ------------------------------------------------------------ */

/* Bit (1 << type) for every decision log record of `id`, in every log
 * file of the instance (records walked by their length and LSN fields,
 * as the log reader does); *flags: the flags of its END (0 if none). */
static unsigned log_types(const dtc_txid *id, unsigned *flags)
{
    unsigned types = 0;
    *flags = 0;
    dtc_instance *in = NULL; /* what the segment's log buffer holds, to the files */
    ck_assert_int_eq(dtc_open(h_instance(), &in), DTC_OK);
    ck_assert_int_eq(dtc__dlog_write_out(in), DTC_OK);
    dtc_close(&in);
    DIR *d = opendir(h_dlog_dir());
    ck_assert_ptr_nonnull(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strncmp(de->d_name, "dlog.", 5) != 0 || strlen(de->d_name) != 21)
            continue; /* dlog.<16 hex digits>: not the spare, not the control file */
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", h_dlog_dir(), de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fstat(fd, &st), 0);
        uint64_t size = (uint64_t)st.st_size, fileno = strtoull(de->d_name + 5, NULL, 16);
        unsigned char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        ck_assert_ptr_ne(p, MAP_FAILED);
        for (uint64_t off = DTC_DLOG_FILE_HDR; off + DTC_DLOG_REC_HDR <= size;) {
            uint32_t len;
            uint64_t at;
            memcpy(&len, p + off + 4, 4);
            memcpy(&at, p + off + 8, 8);
            if (at != fileno * size + off || len < DTC_DLOG_REC_HDR || len % 8 || off + len > size)
                break;
            if (memcmp(p + off + 24, id->bytes, 16) == 0) {
                types |= 1u << p[off + 16];
                if (p[off + 16] == DTC_DLOG_END) {
                    uint16_t f;
                    memcpy(&f, p + off + 18, 2);
                    *flags = f;
                }
            }
            off += len;
        }
        munmap(p, size);
    }
    closedir(d);
    return types;
}

#define HAS(t, type) (((t) >> (type)) & 1u)

/* Requests `name` answered, once it has none pending and the count
 * stayed the same for 100 ms (an answer is published before it is
 * counted). */
static uint64_t served(const char *name)
{
    dtc_participant_info pi;
    uint64_t last = UINT64_MAX;
    for (int64_t end = h_now_ms() + 5000; h_now_ms() < end; h_sleep_ms(100)) {
        ck_assert_msg(h_find_participant(name, &pi), "%s not registered", name);
        if (pi.pending == 0 && pi.served == last)
            break;
        last = pi.served;
    }
    return pi.served;
}

/* Begins, enlists each name with payload "x", commits (prepare first if
 * `prepare`); the result, the report in *rep and the id in *id. */
static dtc_result txn(const char *const names[], bool prepare, dtc_txid *id, dtc_txn_info *rep)
{
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, id), DTC_OK);
    for (size_t k = 0; names[k] != NULL; k++)
        ck_assert_int_eq(dtc_enlist(h_inst(), id, names[k], "x", 1), DTC_OK);
    if (prepare) {
        dtc_result rc = dtc_prepare_transaction(h_inst(), id, rep);
        if (rc != DTC_OK)
            return rc;
    }
    return dtc_commit_transaction(h_inst(), id, rep);
}

static const dtc_entry_info *entry(const dtc_txn_info *t, const char *name)
{
    for (uint32_t k = 0; k < t->nentries; k++)
        if (strcmp(t->entries[k].name, name) == 0)
            return &t->entries[k];
    ck_abort_msg("no entry %s", name);
    return NULL;
}

/* dtcctl show ID (json or text) into res; exits 0. */
static void show(const dtc_txid *id, bool json)
{
    char s[DTC_TXID_STRLEN];
    dtc_txid_format(id, s);
    const char *const argv[] = {"--instance", h_instance(), "show", s, json ? "--json" : NULL,
                                NULL};
    ck_assert_int_eq(h_runv(&res, 10000, NULL, "dtcctl", argv), 0);
    if (json)
        ck_assert(h_json_valid(res.out));
}

/* The outcome from the decision log once the slot is gone, and what
 * dtcctl show says in text and JSON: all `kind`, one_phase as given. */
static void expect_everywhere(const dtc_txid *id, dtc_outcome_kind kind, int one_phase)
{
    ck_assert(h_wait_idle(10000));
    dtc_outcome o;
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), id, &o), DTC_OK);
    ck_assert_msg(o.kind == kind, "outcome %s, want %s", dtc_outcome_name(o.kind),
                  dtc_outcome_name(kind));
    ck_assert_int_eq(o.from_log, 1);
    ck_assert_int_eq(o.info.one_phase, one_phase);
    char want[64];
    show(id, false);
    snprintf(want, sizeof want, "outcome:  %s\n", dtc_outcome_name(kind));
    ck_assert_msg(strstr(res.out, want) != NULL, "show: %s", res.out);
    ck_assert_int_eq(strstr(res.out, "one_phase (no decision record)") != NULL, one_phase);
    show(id, true);
    snprintf(want, sizeof want, "\"outcome\":\"%s\"", dtc_outcome_name(kind));
    ck_assert_msg(strstr(res.out, want) != NULL, "show --json: %s", res.out);
    ck_assert_msg(strstr(res.out, one_phase ? "\"one_phase\":true" : "\"one_phase\":false"),
                  "show --json: %s", res.out);
}

static uint64_t metric(const char *name)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(dtc_metrics_text(h_instance(), &text, &len), DTC_OK);
    char key[128];
    snprintf(key, sizeof key, "\n%s{", name);
    const char *p = strstr(text, key);
    ck_assert_msg(p != NULL, "no metric %s", name);
    p = strchr(p + 1, '}');
    uint64_t v = strtoull(p + 2, NULL, 10);
    free(text);
    return v;
}

/* ---- read-only ---------------------------------------------------------- */

START_TEST(test_readonly_next_to_yes)
{
    h_init("xa-ro");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("ro", "--vote", "readonly", NULL), 0);
    ck_assert_int_gt(h_start_noop("y", NULL), 0);
    /* it votes no after the read-only vote is in (a participant whose
     * vote is not in yet when another refuses is sent the rollback) */
    ck_assert_int_gt(h_start_noop("n", "--vote", "no", "--delay-ms", "300", NULL), 0);
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(txn((const char *const[]){"ro", "y", NULL}, false, &id, &rep), DTC_OK);
    const dtc_entry_info *ro = entry(&rep, "ro"), *y = entry(&rep, "y");
    ck_assert_int_eq(ro->vote, DTC_ENTRY_READONLY);
    ck_assert_int_eq(ro->status, DTC_ENTRY_READONLY);
    ck_assert_int_eq(ro->op, DTC_OP_PREPARE); /* never asked to commit */
    ck_assert_int_eq(y->op, DTC_OP_COMMIT);
    ck_assert_int_eq(rep.one_phase, 0);
    ck_assert_uint_eq(served("ro"), 2); /* enlist, prepare: no commit */
    ck_assert_uint_eq(served("y"), 3);
    unsigned flags, t = log_types(&id, &flags);
    ck_assert_msg(HAS(t, DTC_DLOG_COMMIT), "a prepared yes voter needs the COMMIT record");
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 0);
    ck_assert_msg(strstr(res.out, "\"name\":\"ro\",\"op\":\"prepare\",\"status\":\"readonly\","
                                  "\"vote\":\"readonly\""), "%s", res.out);
    show(&id, false);
    ck_assert_msg(strstr(res.out, "ro  request=prepare answer=readonly vote=readonly"), "%s",
                  res.out);

    /* a no vote next to it: the read-only voter gets no rollback either */
    ck_assert_int_eq(txn((const char *const[]){"ro", "n", NULL}, false, &id, &rep), DTC_EREFUSED);
    ck_assert_int_eq(entry(&rep, "ro")->op, DTC_OP_PREPARE);
    ck_assert_int_eq(entry(&rep, "n")->op, DTC_OP_ROLLBACK);
    ck_assert_uint_eq(served("ro"), 4);
    expect_everywhere(&id, DTC_OUTCOME_ABORTED, 0);

    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.readonly_votes, 2);
    ck_assert_uint_eq(st.counters.one_phase, 0);
    ck_assert_uint_eq(metric("dtc_readonly_votes_total"), 2);
    ck_assert_int_eq(h_run(&res, 10000, "dtcctl", "--instance", h_instance(), "status", NULL), 0);
    ck_assert_msg(strstr(res.out, " readonly_votes=2 one_phase=0"), "%s", res.out);
}
END_TEST

START_TEST(test_all_readonly_no_decision_record)
{
    h_init("xa-allro");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("ro1", "--vote", "readonly", NULL), 0);
    ck_assert_int_gt(h_start_noop("ro2", "--vote", "readonly", NULL), 0);
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(txn((const char *const[]){"ro1", "ro2", NULL}, false, &id, &rep), DTC_OK);
    ck_assert_int_eq(rep.state, DTC_TXN_COMMITTED);
    unsigned flags, t = log_types(&id, &flags);
    ck_assert_msg(!HAS(t, DTC_DLOG_COMMIT), "every vote read-only: no decision record");
    ck_assert_msg(HAS(t, DTC_DLOG_END), "the END (unforced) answers for it later");
    ck_assert_uint_eq(served("ro1") + served("ro2"), 4);
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 0);
    /* one read-only participant alone: the same, and not one-phase */
    ck_assert_int_eq(txn((const char *const[]){"ro1", NULL}, false, &id, &rep), DTC_OK);
    t = log_types(&id, &flags);
    ck_assert(!HAS(t, DTC_DLOG_COMMIT) && HAS(t, DTC_DLOG_END));
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 0);
    ck_assert_uint_eq(metric("dtc_readonly_votes_total"), 3);
    ck_assert_uint_eq(metric("dtc_transactions_one_phase_total"), 0);
    /* A record in the log, not synced (as a journal participant's commit
     * record is while a commit told early waits for its sync): a read-only
     * voter may have read what it did, so the read-only commit returns
     * only once the log is durable past it. */
    dtc_participant *jp;
    ck_assert_int_eq(dtc_participant_register(h_inst(), "jx", &jp), DTC_OK);
    uint64_t lsn = 0;
    ck_assert_int_eq(dtc_journal_done(jp, &id, 1, "x", 1, &lsn), DTC_OK);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_lt(st.dlog_durable_lsn, lsn); /* written, not synced */
    ck_assert_int_eq(txn((const char *const[]){"ro1", NULL}, false, &id, &rep), DTC_OK);
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_ge(st.dlog_durable_lsn, lsn);
    ck_assert_int_eq(dtc_participant_unregister(&jp), DTC_OK);
}
END_TEST

/* ---- one-phase ---------------------------------------------------------- */

START_TEST(test_one_phase)
{
    h_init("xa-1pc");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("y", NULL), 0);
    ck_assert_int_gt(h_start_noop("n", "--vote", "no", NULL), 0);
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(txn((const char *const[]){"y", NULL}, false, &id, &rep), DTC_OK);
    ck_assert_int_eq(rep.one_phase, 1);
    unsigned flags, t = log_types(&id, &flags);
    ck_assert_msg(!HAS(t, DTC_DLOG_COMMIT), "one-phase: no decision record");
    ck_assert_msg(HAS(t, DTC_DLOG_END) && (flags & DTC_DLOG_F_ONE_PHASE), "END flags %#x", flags);
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 1);

    /* a no vote: aborted, nothing logged to force, not "one-phase" */
    ck_assert_int_eq(txn((const char *const[]){"n", NULL}, false, &id, &rep), DTC_EREFUSED);
    ck_assert_int_eq(rep.one_phase, 0);
    ck_assert(!HAS(log_types(&id, &flags), DTC_DLOG_COMMIT));
    expect_everywhere(&id, DTC_OUTCOME_ABORTED, 0);

    /* an explicit prepare first: two phases, the decision logged */
    ck_assert_int_eq(txn((const char *const[]){"y", NULL}, true, &id, &rep), DTC_OK);
    ck_assert_int_eq(rep.one_phase, 0);
    ck_assert(HAS(log_types(&id, &flags), DTC_DLOG_COMMIT));
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 0);

    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.one_phase, 1);
    ck_assert_uint_eq(metric("dtc_transactions_one_phase_total"), 1);

    /* dtcctl run: its outcome line and the library's log line agree */
    const char *const argv[] = {"--instance", h_instance(), "--log-level", "info", "run",
                                "--participant", "y=x", NULL};
    ck_assert_int_eq(h_runv(&res, 10000, NULL, "dtcctl", argv), 0);
    ck_assert_msg(strstr(res.out, "\ncommitted\n"), "%s", res.out);
    ck_assert_msg(strstr(res.err, "event=outcome") && strstr(res.err, "one_phase=true"), "%s",
                  res.err);
    ck_assert_msg(strstr(res.err, "event=decision") && strstr(res.err, "record=none"), "%s",
                  res.err);
    ck_assert_uint_eq(metric("dtc_transactions_one_phase_total"), 2);
}
END_TEST

/* A one-phase commit that failed (compensated, then its rollback failed
 * too: HEURISTIC): an operator's commit is a decision of its own, logged
 * before it is sent, and not one-phase. */
START_TEST(test_one_phase_heuristic_resolve_logs)
{
    h_init("xa-1pch");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", "--fail-commit", "2", "--fail-rollback", "2", NULL), 0);
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.max_retries = 1;
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), &o, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EHEURISTIC);
    ck_assert_int_eq(rep.one_phase, 0);
    unsigned flags;
    ck_assert(!HAS(log_types(&id, &flags), DTC_DLOG_COMMIT));
    ck_assert_int_eq(dtc_resolve_transaction(h_inst(), &id, 1, &rep), DTC_OK);
    ck_assert_msg(HAS(log_types(&id, &flags), DTC_DLOG_COMMIT),
                  "the operator's commit was sent without a decision record");
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 0);
}
END_TEST

/* A journal participant's yes needs the COMMIT's sync: no one-phase. */
START_TEST(test_one_phase_journal_logs)
{
    h_init("xa-1pcj");
    ck_assert_int_gt(h_start_dtcd(), 0);
    h_start_jnoop("j", "jnoop", "64", NULL);
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(txn((const char *const[]){"j", NULL}, false, &id, &rep), DTC_OK);
    ck_assert_int_eq(rep.one_phase, 0);
    unsigned flags;
    ck_assert(HAS(log_types(&id, &flags), DTC_DLOG_COMMIT));
    expect_everywhere(&id, DTC_OUTCOME_COMMITTED, 0);
}
END_TEST

/* A participant that journals a prepare record and then votes read-only
 * breaks the contract (replay would hand the record back in doubt): the
 * vote is published as an error and the transaction rolls back. */
static dtc_participant *jro;

static dtc_vote jro_prepare(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    return dtc_journal_prepare(jro, rq, "rec", 3, NULL) == DTC_OK ? DTC_VOTE_READONLY
                                                                  : DTC_VOTE_ERROR;
}

static int jro_done(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    return dtc_journal_done(jro, &rq->txid, rq->op == DTC_OP_COMMIT, NULL, 0, NULL) == DTC_OK
               ? 0 : -1;
}

START_TEST(test_readonly_after_journal_record_is_error)
{
    h_init("xa-jro");
    ck_assert_int_gt(h_start_dtcd(), 0);
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dtc_instance *in = NULL;
        dtc_participant_ops ops = {NULL, jro_prepare, jro_done, jro_done, NULL, NULL};
        if (dtc_open(h_instance(), &in) != DTC_OK
            || dtc_participant_register(in, "jro", &jro) != DTC_OK)
            _exit(3);
        for (int64_t end = h_now_ms() + 20000; h_now_ms() < end;)
            if (dtc_participant_serve_once(jro, &ops, 100, NULL) != DTC_OK)
                _exit(4);
        _exit(0);
    }
    ck_assert(h_wait_participant("jro", pid, 10000));
    dtc_txid id;
    dtc_txn_info rep;
    ck_assert_int_eq(txn((const char *const[]){"jro", NULL}, false, &id, &rep), DTC_EPARTICIPANT);
    const dtc_entry_info *e = entry(&rep, "jro");
    ck_assert_int_eq(e->vote, DTC_ENTRY_ERROR);
    ck_assert_msg(strstr(e->reason, "read-only vote after a journal prepare record"), "%s",
                  e->reason);
    expect_everywhere(&id, DTC_OUTCOME_ABORTED, 0);
    ck_assert_uint_eq(metric("dtc_readonly_votes_total"), 0);
}
END_TEST

/* ---- crash points ------------------------------------------------------- */

#ifdef DTC_CRASH_POINTS
enum { INV, RO, RO2 };

struct row {
    const char *point;
    int who;            /* -1: the coordinator; else the participant */
    const char *names;  /* "I" inventory (--own-fsync), "J" inventory on the
                           journal, "R" the read-only noop, "S" a second */
    dtc_outcome_kind want;
    int one_phase;      /* expected in the outcome */
    int commit_record;  /* 1: the COMMIT record must exist, 0: must not */
};

static const struct row rows[] = {
    /* one participant on the journal: its yes needs the COMMIT's sync */
    {"coord.after_commit_decision", -1, "J", DTC_OUTCOME_COMMITTED, 0, 1},
    {"part.after_commit_apply", INV, "J", DTC_OUTCOME_COMMITTED, 0, 1},
    /* one-phase: inventory alone, syncing its own file */
    {"coord.before_decision", -1, "I", DTC_OUTCOME_ABORTED, 0, 0},
    {"coord.after_commit_decision", -1, "I", DTC_OUTCOME_COMMITTED, 1, 0},
    {"coord.mid_commit:1", -1, "I", DTC_OUTCOME_COMMITTED, 1, 0},
    {"coord.before_end", -1, "I", DTC_OUTCOME_COMMITTED, 1, 0},
    {"part.before_vote", INV, "I", DTC_OUTCOME_ABORTED, 0, 0},
    {"part.after_commit_apply", INV, "I", DTC_OUTCOME_COMMITTED, 1, 0},
    /* read-only next to the inventory */
    {"coord.before_decision", -1, "IR", DTC_OUTCOME_ABORTED, 0, 0},
    {"coord.after_commit_decision", -1, "IR", DTC_OUTCOME_COMMITTED, 0, 1},
    {"part.after_vote", RO, "IR", DTC_OUTCOME_COMMITTED, 0, 1},
    {"part.before_vote", RO, "IR", DTC_OUTCOME_ABORTED, 0, 0},
    /* every vote read-only */
    {"coord.after_commit_decision", -1, "RS", DTC_OUTCOME_COMMITTED, 0, 0},
    {"coord.before_end", -1, "RS", DTC_OUTCOME_COMMITTED, 0, 0},
};

static pid_t start_part(const struct row *w, int who, const char *const env[])
{
    if (who == INV)
        return h_start_service_env("inventory", "inventory", env, "--seed", "sku-1=10",
                                   strchr(w->names, 'J') ? NULL : "--own-fsync", NULL);
    const char *name = who == RO ? "ro" : "ro2";
    const char *const argv[] = {"--instance", h_instance(), "--name", name, "--vote", "readonly",
                                NULL};
    pid_t pid = h_spawnv(name, "dtc-noop", argv, env);
    ck_assert_int_gt(pid, 0);
    ck_assert(h_wait_participant(name, pid, 10000));
    return pid;
}

static long sku(void)
{
    h_dump d;
    ck_assert_int_eq(h_dump_service("inventory", "inventory", &d), 0);
    const h_rec *r = h_dump_get(&d, "sku-1");
    return r ? strtol(r->value, NULL, 10) : -1;
}

static void crash_row(const struct row *w)
{
    char env[96];
    snprintf(env, sizeof env, "DTC_CRASH_AT=%s", w->point);
    const char *const crash[] = {env, NULL};
    bool inv = strchr(w->names, 'I') != NULL || strchr(w->names, 'J') != NULL;
    pid_t victim = -1;
    for (int who = INV; who <= RO2; who++)
        if (strchr(w->names, "IRS"[who]) != NULL || (who == INV && inv)) {
            pid_t p = start_part(w, who, who == w->who ? crash : NULL);
            if (who == w->who)
                victim = p;
        }
    const char *argv[16] = {"--instance", h_instance(), "run", "--commit-timeout-ms", "8000"};
    size_t n = 5;
    if (inv) {
        argv[n++] = "-p";
        argv[n++] = "inventory=reserve sku-1 3";
    }
    if (strchr(w->names, 'R')) {
        argv[n++] = "-p";
        argv[n++] = "ro=look";
    }
    if (strchr(w->names, 'S')) {
        argv[n++] = "-p";
        argv[n++] = "ro2=look";
    }
    argv[n] = NULL;
    /* in the background: a participant killed mid-commit is restarted
     * while the coordinator still redelivers */
    pid_t run = h_spawnv("run", "dtcctl", argv, w->who < 0 ? crash : NULL);
    ck_assert_int_gt(run, 0);
    int st;
    if (w->who >= 0) {
        ck_assert_msg(h_wait(victim, 15000, &st) == 1 && h_exit_code(st) == 128 + 9,
                      "%s: the participant did not die there", w->point);
        start_part(w, w->who, NULL); /* restarted: recovers, gets redeliveries */
    }
    ck_assert_msg(h_wait(run, 30000, &st) == 1, "%s: dtcctl run hangs", w->point);
    char out[8192];
    h_read_output("run", "out", out, sizeof out);
    if (w->who < 0)
        ck_assert_msg(h_exit_code(st) == 128 + 9, "%s: dtcctl exit %d %s", w->point,
                      h_exit_code(st), out);
    else /* what the coordinator was told is the outcome */
        ck_assert_msg(strstr(out, w->want == DTC_OUTCOME_COMMITTED ? "\ncommitted" : "\naborted"),
                      "%s: %s", w->point, out);
    const char *p = strstr(out, "txid ");
    ck_assert_msg(p != NULL, "%s: no txid: %s", w->point, out);
    char s[DTC_TXID_STRLEN];
    snprintf(s, sizeof s, "%.36s", p + 5);
    dtc_txid id;
    ck_assert_int_eq(dtc_txid_parse(s, &id), DTC_OK);
    ck_assert_msg(h_wait_idle(20000), "%s: the transaction was not finished", w->point);
    expect_everywhere(&id, w->want, w->one_phase);
    unsigned flags;
    ck_assert_msg(HAS(log_types(&id, &flags), DTC_DLOG_COMMIT) == (unsigned)w->commit_record,
                  "%s (%s): COMMIT record %s", w->point, w->names,
                  w->commit_record ? "missing" : "written");
    if (inv) {
        long want = w->want == DTC_OUTCOME_COMMITTED ? 7 : 10, got = -1;
        for (int64_t end = h_now_ms() + 10000; (got = sku()) != want && h_now_ms() < end;)
            h_sleep_ms(20); /* a restarted service applies what it recovered */
        ck_assert_msg(got == want, "%s (%s): sku-1 %ld, want %ld", w->point, w->names, got, want);
    }
    if (strchr(w->names, 'R') && w->who != RO)
        ck_assert_uint_eq(served("ro"), 2); /* no commit, no rollback: ever */
}

/* ---- power cut on the one-phase path -------------------------------------- */

/* One-phase order K (inventory reserve sku-1 3) by dtcctl under env, in
 * the background; returns its pid, the txid into id once printed. */
static pid_t pc_order(int k, const char *const env[], dtc_txid *id)
{
    char label[32], out[4096];
    snprintf(label, sizeof label, "order-%d", k);
    const char *const argv[] = {"--instance", h_instance(), "run", "--commit-timeout-ms", "20000",
                                "-p", "inventory=reserve sku-1 3", NULL};
    pid_t pid = h_spawnv(label, "dtcctl", argv, env);
    ck_assert_int_gt(pid, 0);
    const char *p = NULL;
    for (int64_t end = h_now_ms() + 10000; p == NULL && h_now_ms() < end; h_sleep_ms(10)) {
        h_read_output(label, "out", out, sizeof out);
        p = strstr(out, "txid ");
        if (p != NULL && strchr(p, '\n') == NULL)
            p = NULL; /* the line is not complete yet */
    }
    ck_assert_msg(p != NULL, "order %d printed no txid", k);
    char s[DTC_TXID_STRLEN];
    snprintf(s, sizeof s, "%.36s", p + 5);
    ck_assert_int_eq(dtc_txid_parse(s, id), DTC_OK);
    return pid;
}

/* Every process the test started SIGKILLed at a power cut, /dev/shm
 * emptied, what was not durable undone; then dtcd and the inventory
 * (own fsync) restarted without the preload. */
static void pc_cut_and_restart(pid_t inv, pid_t coord)
{
    ck_assert_int_eq(h_runv(&res, 10000, NULL, "dtc-powercut",
                            (const char *const[]){"cut", h_powercut_journal(), NULL}),
                     0);
    if (coord > 0)
        h_kill9(coord);
    h_kill9(inv);
    h_kill9(h_dtcd_pid());
    h_stop_dtcd(0);
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    ck_assert_int_eq(shm_unlink(shm), 0);
    ck_assert_msg(h_powercut_apply() == 0, "dtc-powercut apply failed");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_service("inventory", "inventory", "--own-fsync", NULL), 0);
}

/* Scenario 0: the cut comes while the third order is COMMITTING with no
 * decision record (its coordinator died there; dtcd is stopped, so
 * nobody finishes it): the inventory keeps it prepared meanwhile
 * (dtc_participant_outcome: in flight), and it is presumed aborted after
 * the restart; nobody was told it committed.
 * Scenario 1: the cut comes after the inventory applied (and synced) the
 * third order's commit, before it answered: it keeps the commit; dtc has
 * no record of it (DTC_ENOTFOUND: unknown here, never "aborted").
 * In both, the two orders acknowledged before stay committed, and their
 * outcome is known after the restart (dtcd synced their ENDs, which no
 * decision forces, within a tick). */
START_TEST(test_xa_powercut_one_phase)
{
    h_init("xa-pc");
    if (!h_have_program("dtc-powercut"))
        return;
    const char *pc[8], *crash[10];
    size_t n = h_powercut_env(pc, 8);
    char at[64];
    snprintf(at, sizeof at, "DTC_CRASH_AT=%s",
             _i == 0 ? "coord.after_commit_decision" : "part.after_commit_apply:3");
    memcpy(crash, pc, n * sizeof *pc);
    crash[n] = at;
    crash[n + 1] = NULL;
    ck_assert_int_gt(h_start_dtcd_env(NULL, pc), 0);
    pid_t inv = h_start_service_env("inventory", "inventory", _i == 1 ? crash : pc, "--seed",
                                    "sku-1=10", "--own-fsync", NULL);
    ck_assert_int_gt(inv, 0);
    dtc_txid id[3];
    for (int k = 0; k < 2; k++) {
        int st;
        pid_t c = pc_order(k, pc, &id[k]);
        ck_assert(h_wait(c, 15000, &st) == 1 && h_exit_code(st) == 0);
    }
    h_sleep_ms(800); /* several ticks: dtcd syncs the unforced ENDs */
    if (_i == 0)
        ck_assert_int_eq(kill(h_dtcd_pid(), SIGSTOP), 0); /* nobody finishes order 2 */
    pid_t coord = pc_order(2, _i == 0 ? crash : pc, &id[2]);
    int st;
    if (_i == 0) {
        ck_assert(h_wait(coord, 15000, &st) == 1 && h_exit_code(st) == 128 + 9);
        coord = -1;
        /* the inventory re-checks its in-doubt order every second: a
         * one-phase COMMITTING is in flight (no durable decision), so it
         * must keep it prepared, not commit it on its own */
        h_sleep_ms(2500);
    } else {
        ck_assert(h_wait(inv, 15000, &st) == 1 && h_exit_code(st) == 128 + 9);
    }
    pc_cut_and_restart(inv, coord);
    ck_assert(h_wait_idle(20000));
    long want = _i == 0 ? 4 : 1, got = -1;
    for (int64_t end = h_now_ms() + 15000; (got = sku()) != want && h_now_ms() < end;)
        h_sleep_ms(50); /* the inventory settles its prepared order */
    ck_assert_msg(got == want, "scenario %d: sku-1 %ld, want %ld", _i, got, want);
    for (int k = 0; k < 2; k++)
        expect_everywhere(&id[k], DTC_OUTCOME_COMMITTED, 1);
    dtc_outcome o;
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &id[2], &o), DTC_ENOTFOUND);
    /* nothing is held: the next order commits (and in one phase) */
    const char *const argv[] = {"--instance", h_instance(), "run", "-p",
                                "inventory=reserve sku-1 1", NULL};
    ck_assert_int_eq(h_runv(&res, 15000, NULL, "dtcctl", argv), 0);
    ck_assert_int_eq(sku(), want - 1);
}
END_TEST

START_TEST(test_xa_crash)
{
    h_init("xa-crash");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    crash_row(&rows[_i]);
}
END_TEST
#endif

int main(void)
{
    Suite *s = suite_create("xa");
    TCase *tc = tcase_create("paths");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_readonly_next_to_yes);
    tcase_add_test(tc, test_all_readonly_no_decision_record);
    tcase_add_test(tc, test_one_phase);
    tcase_add_test(tc, test_one_phase_journal_logs);
    tcase_add_test(tc, test_one_phase_heuristic_resolve_logs);
    tcase_add_test(tc, test_readonly_after_journal_record_is_error);
    suite_add_tcase(s, tc);
#ifdef DTC_CRASH_POINTS
    TCase *tcr = tcase_create("crash");
    tcase_add_checked_fixture(tcr, NULL, teardown);
    tcase_set_timeout(tcr, 90);
    tcase_add_loop_test(tcr, test_xa_crash, 0, (int)(sizeof rows / sizeof rows[0]));
    tcase_add_loop_test(tcr, test_xa_powercut_one_phase, 0, 2);
    suite_add_tcase(s, tcr);
#endif
    return h_run_suite(s);
}
