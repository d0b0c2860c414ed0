/*
 * test_answers.c - every answer tells the truth (issue 18): one result
 * per outcome on every surface (the library, dtcctl run / show / retry,
 * text and --json, the log's event=outcome line, the counters); an
 * operator cannot commit what a participant refused; show leaves out
 * what the decision log does not know; a participant's vote and the
 * transaction's cause survive every hand-over; txns text and JSON say the
 * same; the services log whole payloads; the contracts of dtc.h hold;
 * a prepare timeout is answered when it expires.
 */
#include <check.h>
#include <glob.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static h_result res;  /* large: not on the stack */
static h_result res2; /* a second output to compare with the first */

static void teardown(void)
{
    h_fini();
}

/* The output of the process started under label PREFIX-N (the harness
 * numbers its labels), ext "out" or "err". */
static void read_labelled(const char *prefix, const char *ext, char *buf, size_t cap)
{
    char pattern[512];
    glob_t g;
    buf[0] = '\0';
    snprintf(pattern, sizeof pattern, "%s/%s-*.%s", h_dir(), prefix, ext);
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1) {
        const char *base = strrchr(g.gl_pathv[0], '/') + 1;
        char label[256];
        snprintf(label, sizeof label, "%.*s", (int)(strlen(base) - strlen(ext) - 1), base);
        h_read_output(label, ext, buf, cap);
    }
    globfree(&g);
}

/* dtcctl --instance I ARGS... (NULL-terminated), at info level so that
 * the library's event=outcome line is on stderr. */
static int ctl(h_result *r, int timeout_ms, const char *const *args)
{
    const char *argv[24];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--log-level";
    argv[n++] = "info";
    while (*args != NULL && n < 23)
        argv[n++] = *args++;
    argv[n] = NULL;
    return h_runv(r, timeout_ms, NULL, "dtcctl", argv);
}

/* The txid `dtcctl run` printed on its first line. */
static void run_txid(const h_result *r, char id[DTC_TXID_STRLEN])
{
    const char *p = strstr(r->out, "txid ");
    ck_assert_msg(p != NULL, "no txid line: %s", r->out);
    snprintf(id, DTC_TXID_STRLEN, "%.36s", p + 5);
}

/* The line of `out` that starts with `prefix`, copied into buf. */
static const char *line_of(const char *out, const char *prefix, char *buf, size_t cap)
{
    for (const char *p = out; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            size_t n = strcspn(p, "\n");
            snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
            return buf;
        }
    buf[0] = '\0';
    return NULL;
}

/* What one outcome must look like everywhere (dtc.h, "What each outcome
 * carries"). */
struct want {
    const char *word;   /* run's first word: committed, aborted, heuristic */
    const char *result; /* DTC_OK, the abort's cause, DTC_EHEURISTIC */
    const char *cause;  /* DTC_OK, = result for aborted, the heuristic's cause */
};

/* Checks run's outcome line (its stdout) and event=outcome line (its
 * stderr), then show, show --json and the library's outcome of the same
 * transaction. */
static void check_surfaces(const char *what, const struct want *w, const h_result *run)
{
    char id[DTC_TXID_STRLEN], line[1024], want_line[256];
    run_txid(run, id);
    /* run: "WORD RESULT [cause=CAUSE] ..." */
    if (strcmp(w->word, "committed") == 0)
        snprintf(want_line, sizeof want_line, "committed");
    else if (strcmp(w->word, "heuristic") == 0)
        snprintf(want_line, sizeof want_line, "heuristic %s cause=%s", w->result, w->cause);
    else
        snprintf(want_line, sizeof want_line, "%s %s", w->word, w->result);
    ck_assert_msg(line_of(run->out, want_line, line, sizeof line) != NULL,
                  "%s: run wants '%s...': %s", what, want_line, run->out);
    /* the log: one event=outcome line with the same result and cause */
    snprintf(want_line, sizeof want_line, "event=outcome txid=%s outcome=%s result=%s cause=%s", id,
             w->word, w->result, w->cause);
    ck_assert_msg(strstr(run->err, want_line) != NULL,
                  "%s: no '%s' in run's log: %s", what, want_line, run->err);
    /* show, text */
    const char *show[] = {"show", id, NULL};
    ctl(&res2, 10000, show);
    snprintf(want_line, sizeof want_line, "outcome:  %s\nresult:   %s\ncause:    %s\n", w->word,
             w->result, w->cause);
    ck_assert_msg(strstr(res2.out, want_line) != NULL, "%s: show wants %s: %s", what, want_line,
                  res2.out);
    /* show --json */
    const char *show_json[] = {"show", id, "--json", NULL};
    ctl(&res2, 10000, show_json);
    snprintf(want_line, sizeof want_line, "{\"outcome\":\"%s\",\"result\":\"%s\",\"cause\":\"%s\"",
             w->word, w->result, w->cause);
    ck_assert_msg(h_json_valid(res2.out) && strncmp(res2.out, want_line, strlen(want_line)) == 0,
                  "%s: show --json wants %s: %s", what, want_line, res2.out);
    /* the library */
    dtc_txid t;
    dtc_outcome *o = malloc(sizeof *o);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(dtc_txid_parse(id, &t), DTC_OK);
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &t, o), DTC_OK);
    ck_assert_str_eq(dtc_outcome_name(o->kind), w->word);
    ck_assert_str_eq(dtc_result_name(o->result), w->result);
    ck_assert_str_eq(dtc_result_name(o->info.result), w->cause);
    free(o);
}

/* run's --json for a transaction like the one just run: outcome, result
 * and cause as the text said. */
static void check_run_json(const char *what, const struct want *w, const char *const *args)
{
    ctl(&res2, 20000, args);
    char want[256];
    snprintf(want, sizeof want, "\"outcome\":\"%s\",\"result\":\"%s\",\"cause\":\"%s\"", w->word,
             w->result, w->cause);
    ck_assert_msg(h_json_valid(res2.out) && strstr(res2.out, want) != NULL,
                  "%s: run --json wants %s: %s", what, want, res2.out);
}

/* Waits (<= 10 s) until the one transaction in flight is PREPARING and
 * its entry k has answered yes.  1 if so. */
static int wait_answered(uint32_t k)
{
    int64_t end = h_now_ms() + 10000;
    while (h_now_ms() < end) {
        dtc_txn_info *ti = malloc(sizeof *ti);
        size_t n = 0;
        int ok = ti != NULL && dtc_list_transactions(h_inst(), ti, 1, &n) == DTC_OK && n == 1
                 && ti->state == DTC_TXN_PREPARING && ti->nentries > k
                 && ti->entries[k].status == DTC_ENTRY_YES;
        free(ti);
        if (ok)
            return 1;
        h_sleep_ms(10);
    }
    return 0;
}

static dtc_counters counters(void)
{
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    return st.counters;
}

/* Each outcome kind through every surface. */
START_TEST(test_outcome_every_surface)
{
    h_init("ans-surfaces");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("no", "--vote", "no", "--delay-ms", "300", NULL), 0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "1500", NULL), 0);
    ck_assert_int_gt(h_start_noop("fc", "--fail-commit", "1000", NULL), 0);
    ck_assert_int_gt(h_start_noop("fr", "--fail-rollback", "1000", NULL), 0);
    static const struct {
        const char *what;
        struct want w;
        const char *args[12];
        const char *counter; /* which counter the outcome adds to */
    } cases[] = {
        {"committed", {"committed", "DTC_OK", "DTC_OK"}, {"run", "-p", "a=x", NULL}, "committed"},
        {"refused", {"aborted", "DTC_EREFUSED", "DTC_EREFUSED"},
         {"run", "-p", "a=x", "-p", "no=x", NULL}, "aborted"},
        {"timed out", {"aborted", "DTC_ETIMEOUT", "DTC_ETIMEOUT"},
         {"run", "-p", "a=x", "-p", "slow=x", "--prepare-timeout-ms", "300", NULL}, "aborted"},
        {"compensated", {"aborted", "DTC_ECOMMIT", "DTC_ECOMMIT"},
         {"run", "-p", "a=x", "-p", "fc=x", "--commit-timeout-ms", "300", NULL}, "aborted"},
        {"heuristic", {"heuristic", "DTC_EHEURISTIC", "DTC_EREFUSED"},
         {"run", "-p", "fr=x", "-p", "no=x", NULL}, "heuristic"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dtc_counters before = counters();
        ctl(&res, 20000, cases[k].args);
        ck_assert_msg(res.code == (k == 0 ? 0 : 1), "%s: run exit %d: %s %s", cases[k].what,
                      res.code, res.out, res.err);
        check_surfaces(cases[k].what, &cases[k].w, &res);
        dtc_counters after = counters();
        uint64_t d = strcmp(cases[k].counter, "committed") == 0 ? after.committed - before.committed
                     : strcmp(cases[k].counter, "aborted") == 0 ? after.aborted - before.aborted
                                                                : after.heuristic - before.heuristic;
        ck_assert_msg(d == 1, "%s: counter %s moved by %llu", cases[k].what, cases[k].counter,
                      (unsigned long long)d);
        if (k == 4) {
            /* retry: the rollback fails again, the same line as run's */
            char id[DTC_TXID_STRLEN], line[512];
            run_txid(&res, id);
            const char *retry[] = {"retry", id, NULL};
            ctl(&res2, 20000, retry);
            ck_assert_msg(line_of(res2.out, "heuristic DTC_EHEURISTIC cause=DTC_EREFUSED", line,
                                  sizeof line) != NULL, "retry: %s %s", res2.out, res2.err);
            const char *rb[] = {"resolve", id, "--rollback", NULL};
            ck_assert_int_ne(ctl(&res2, 20000, rb), 2); /* fr still fails: heuristic, exit 1 */
        } else {
            const char *json[14] = {NULL};
            size_t n = 0;
            for (; cases[k].args[n] != NULL; n++)
                json[n] = cases[k].args[n];
            json[n] = "--json";
            check_run_json(cases[k].what, &cases[k].w, json);
        }
    }
}
END_TEST

/* A rollback by dtcd of a stalled coordinator says so, and why. */
START_TEST(test_rolled_back_by_dtcd_says_why)
{
    h_init("ans-stalled");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "4000", NULL), 0);
    const char *const argv[] = {"--instance", h_instance(), "--log-level", "info", "run",
                                "-p", "a=x", "-p", "slow=x", "--prepare-timeout-ms", "1000",
                                NULL};
    pid_t run = h_spawnv("stalled", "dtcctl", argv, NULL);
    ck_assert_int_gt(run, 0);
    ck_assert(wait_answered(0));
    kill(run, SIGSTOP); /* stalled past the deadline + 2 s: dtcd rolls it back */
    int64_t end = h_now_ms() + 20000;
    char log[16384];
    do {
        h_sleep_ms(100);
        h_read_output("dtcd", "err", log, sizeof log);
    } while (strstr(log, "outcome=aborted") == NULL && h_now_ms() < end);
    kill(run, SIGCONT);
    int status;
    ck_assert(h_wait(run, 10000, &status));
    ck_assert_int_eq(h_exit_code(status), 1);
    char out[4096];
    h_read_output("stalled", "out", out, sizeof out);
    ck_assert_msg(strstr(out, "aborted DTC_EABORTED adopted_why=coordinator_stalled") != NULL,
                  "run: %s", out);
    ck_assert_msg(strstr(log, "outcome=aborted result=DTC_EABORTED cause=DTC_EABORTED "
                              "adopted_why=coordinator_stalled") != NULL, "dtcd: %s", log);
    char id[DTC_TXID_STRLEN];
    h_result *r = &res;
    snprintf(r->out, sizeof r->out, "%s", out);
    run_txid(r, id);
    const char *show[] = {"show", id, "--json", NULL};
    ctl(&res2, 10000, show);
    ck_assert_msg(strstr(res2.out, "\"adopted_why\":\"coordinator_stalled\"") != NULL, "%s",
                  res2.out);
}
END_TEST

/* Finding 1: an operator's commit needs every participant prepared. */
START_TEST(test_resolve_commit_refused_unless_prepared)
{
    h_init("ans-resolve");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("fr", "--fail-rollback", "1000", "--log-level", "info", NULL), 0);
    ck_assert_int_gt(h_start_noop("vno", "--vote", "no", "--delay-ms", "300", NULL), 0);
    const char *run[] = {"run", "-p", "fr=x", "-p", "vno=x", NULL};
    ck_assert_int_eq(ctl(&res, 20000, run), 1);
    char id[DTC_TXID_STRLEN];
    run_txid(&res, id);
    ck_assert_msg(strstr(res.out, "heuristic ") != NULL, "%s", res.out);
    /* dtcctl: refused, names vno, exit 2, nothing sent */
    const char *commit[] = {"resolve", id, "--commit", NULL};
    ck_assert_msg(ctl(&res, 10000, commit) == 2, "resolve --commit: %d %s %s", res.code, res.out,
                  res.err);
    ck_assert_msg(strstr(res.out, "refused DTC_ENOTPREPARED not prepared: vno (voted no)") != NULL,
                  "%s", res.out);
    const char *commit_json[] = {"resolve", id, "--commit", "--json", NULL};
    ck_assert_int_eq(ctl(&res, 10000, commit_json), 2);
    ck_assert_msg(h_json_valid(res.out) && strstr(res.out, "\"not_prepared\":[{\"name\":\"vno\""),
                  "%s", res.out);
    /* the library: the same refusal, the report says who */
    dtc_txid t;
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_txid_parse(id, &t), DTC_OK);
    ck_assert_str_eq(dtc_result_name(dtc_resolve_transaction(h_inst(), &t, 1, &rep)),
                     "DTC_ENOTPREPARED");
    ck_assert_str_eq(dtc_txn_state_name(rep.state), "HEURISTIC");
    ck_assert_str_eq(rep.entries[1].name, "vno");
    ck_assert_str_eq(dtc_entry_status_name(rep.entries[1].vote), "no");
    /* nothing was sent: fr never saw a commit */
    char log[16384];
    read_labelled("noop-fr", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "op=commit") == NULL && strstr(log, "commit") == NULL,
                  "fr got a commit: %s", log);
    /* still HEURISTIC; a rollback is what ends it (fr keeps failing) */
    const char *show[] = {"show", id, NULL};
    ctl(&res, 10000, show);
    ck_assert_msg(strstr(res.out, "outcome:  heuristic") != NULL, "%s", res.out);
}
END_TEST

/* Finding 3: show of an ended transaction prints only what the log knows. */
START_TEST(test_show_from_log_leaves_out_the_unknown)
{
    h_init("ans-show");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("no", "--vote", "no", NULL), 0);
    ck_assert_int_gt(h_start_noop("late", "--delay-ms", "400", NULL), 0);
    const char *run[] = {"run", "-p", "no=x", "-p", "late=x", NULL};
    ck_assert_int_eq(ctl(&res, 20000, run), 1);
    char id[DTC_TXID_STRLEN];
    run_txid(&res, id);
    h_sleep_ms(600); /* late's answers came and went */
    const char *show[] = {"show", id, NULL};
    ck_assert_int_eq(ctl(&res, 10000, show), 0);
    ck_assert_msg(strstr(res.out, "source:   decision log") != NULL, "%s", res.out);
    ck_assert_msg(strstr(res.out, "1970-") == NULL && strstr(res.out, "owner 0") == NULL
                      && strstr(res.out, "attempts=") == NULL && strstr(res.out, "payload=") == NULL
                      && strstr(res.out, "ago)") == NULL,
                  "show invents values: %s", res.out);
    /* late never voted: none, never "pending" */
    ck_assert_msg(strstr(res.out, "late  request=rollback answer=yes vote=none") != NULL, "%s",
                  res.out);
    const char *json[] = {"show", id, "--json", NULL};
    ck_assert_int_eq(ctl(&res, 10000, json), 0);
    ck_assert_msg(h_json_valid(res.out) && strstr(res.out, "begin_unix_ms") == NULL
                      && strstr(res.out, "owner_pid") == NULL && strstr(res.out, "attempts") == NULL
                      && strstr(res.out, "\"payload\"") == NULL
                      && strstr(res.out, "\"vote\":\"pending\"") == NULL,
                  "show --json invents values: %s", res.out);
}
END_TEST

/* Finding 4: a yes vote survives dtcd's adoption of a dead coordinator. */
START_TEST(test_vote_survives_adoption)
{
    h_init("ans-adopt");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "1500", NULL), 0);
    const char *const names[] = {"a", "slow", NULL};
    pid_t c = h_fork_commit(names);
    ck_assert_int_gt(c, 0);
    ck_assert(wait_answered(0)); /* a voted yes, slow has not */
    h_kill9(c);
    ck_assert(h_wait_idle(10000));
    char log[16384];
    h_read_output("dtcd", "err", log, sizeof log);
    const char *p = strstr(log, "event=adopt txid=");
    ck_assert_msg(p != NULL, "no adoption: %s", log);
    char id[DTC_TXID_STRLEN];
    snprintf(id, sizeof id, "%.36s", p + strlen("event=adopt txid="));
    const char *show[] = {"show", id, NULL};
    ck_assert_int_eq(ctl(&res, 10000, show), 0);
    ck_assert_msg(strstr(res.out, "    a  request=rollback answer=yes vote=yes") != NULL,
                  "a's yes vote lost: %s", res.out);
    ck_assert_msg(strstr(res.out, "adopted by dtcd (coordinator_died)") != NULL, "%s", res.out);
}
END_TEST

/* Finding 4: a commit that failed once and then went through is not
 * shown with the failure as its reason. */
START_TEST(test_redelivered_commit_drops_old_reason)
{
    h_init("ans-redeliver");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("once", "--fail-commit", "1", NULL), 0);
    const char *run[] = {"run", "-p", "once=x", NULL};
    ck_assert_int_eq(ctl(&res, 20000, run), 0);
    char id[DTC_TXID_STRLEN];
    run_txid(&res, id);
    const char *show[] = {"show", id, NULL};
    ck_assert_int_eq(ctl(&res, 10000, show), 0);
    ck_assert_msg(strstr(res.out, "outcome:  committed") != NULL
                      && strstr(res.out, "injected commit failure") == NULL,
                  "a committed entry keeps its old failure: %s", res.out);
}
END_TEST

/* Finding 4 and 5: a service that voted no and then crashed is reported
 * with its vote's reason (and its code), not "participant not alive". */
START_TEST(test_no_vote_reason_survives_a_crash)
{
    h_init("ans-crashno");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    const char *const env[] = {"DTC_CRASH_AT=lock.wake", NULL};
    ck_assert_int_gt(h_start_service_env("inventory", "inventory", env, "--seed", "sku-1=0", NULL),
                     0);
    const char *run[] = {"run", "-p", "inventory=reserve sku-1 1", NULL};
    ck_assert_int_eq(ctl(&res, 20000, run), 1);
    ck_assert_msg(strstr(res.out, "aborted DTC_EREFUSED inventory: ") != NULL
                      && strstr(res.out, "not alive") == NULL,
                  "run: %s", res.out);
    char id[DTC_TXID_STRLEN];
    run_txid(&res, id);
    const char *show[] = {"show", id, NULL};
    ck_assert_int_eq(ctl(&res, 10000, show), 0);
    ck_assert_msg(strstr(res.out, "vote=no reason_code=out_of_stock reason=\"") != NULL, "%s",
                  res.out);
    const char *json[] = {"show", id, "--json", NULL};
    ck_assert_int_eq(ctl(&res, 10000, json), 0);
    ck_assert_msg(strstr(res.out, "\"vote\":\"no\",\"reason_code\":\"out_of_stock\"") != NULL,
                  "%s", res.out);
}
END_TEST

/* The vote=X and "vote":"X" of every entry of `txns` and `txns --json`. */
static void votes_of(const char *out, bool json, char votes[4][16], int *n)
{
    const char *key = json ? "\"vote\":\"" : " vote=";
    *n = 0;
    for (const char *p = strstr(out, key); p != NULL && *n < 4; p = strstr(p + 1, key)) {
        p += strlen(key);
        size_t len = strcspn(p, json ? "\"" : " \n");
        snprintf(votes[(*n)++], 16, "%.*s", (int)(len < 15 ? len : 15), p);
    }
}

/* Finding 5: txns text and JSON say the same; the help lists --json and
 * --log-level for every command that takes them. */
START_TEST(test_txns_text_and_json_agree)
{
    h_init("ans-txns");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "3000", NULL), 0);
    const char *const argv[] = {"--instance", h_instance(), "run", "-p", "a=x", "-p", "slow=x",
                                NULL};
    pid_t run = h_spawnv("slowrun", "dtcctl", argv, NULL);
    ck_assert_int_gt(run, 0);
    ck_assert(wait_answered(0)); /* a voted yes, slow still preparing */
    const char *txns[] = {"txns", NULL}, *txns_json[] = {"txns", "--json", NULL};
    ck_assert_int_eq(ctl(&res, 10000, txns), 0);
    ck_assert_int_eq(ctl(&res2, 10000, txns_json), 0);
    char tv[4][16], jv[4][16];
    int tn, jn;
    votes_of(res.out, false, tv, &tn);
    votes_of(res2.out, true, jv, &jn);
    ck_assert_msg(tn == 2 && jn == 2, "txns: %s\njson: %s", res.out, res2.out);
    for (int k = 0; k < 2; k++)
        ck_assert_msg(strcmp(tv[k], jv[k]) == 0, "entry %d: text vote=%s, json vote=%s", k, tv[k],
                      jv[k]);
    ck_assert_str_eq(tv[0], "yes");
    ck_assert_str_eq(tv[1], "none");
    int status;
    ck_assert(h_wait(run, 15000, &status));
    /* the help */
    const char *help[] = {"--help", NULL};
    ck_assert_int_eq(h_runv(&res, 5000, NULL, "dtcctl", help), 0);
    ck_assert_msg(strstr(res.out, "usage: dtcctl [--instance NAME] [--json] [--log-level L] COMMAND")
                      != NULL, "%s", res.out);
    ck_assert_msg(strstr(res.out, "--json           one JSON object (status, txns, participants, "
                              "run, show,\n                   retry, resolve)") != NULL,
                  "%s", res.out);
}
END_TEST

/* Finding 6: a service's log holds the whole payload. */
START_TEST(test_service_logs_whole_payload)
{
    h_init("ans-payload");
    ck_assert_int_gt(h_start_dtcd(), 0);
    const char *const env[] = {"DTC_LOG=debug", NULL}; /* a line per request: debug */
    ck_assert_int_gt(h_start_service_env("inventory", "inventory", env, "--seed", "sku-1=10", NULL),
                     0);
    const char *run[] = {"run", "-p", "inventory=reserve sku-1 2", NULL};
    ck_assert_int_eq(ctl(&res, 20000, run), 0);
    char log[16384];
    read_labelled("inventory", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=enlist") != NULL, "no enlist line: %s", log);
    ck_assert_msg(strstr(log, "payload=\"reserve sku-1 2\"") != NULL, "payload cut: %s", log);
}
END_TEST

/* Finding 7: the claims of dtc.h, one by one. */
START_TEST(test_dtc_h_contracts)
{
    h_init("ans-contract");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("no", "--vote", "no", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_txid id;
    dtc_txn_info rep;
    /* rollback is idempotent; a commit after it answers from the outcome */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, &rep), DTC_OK);
    ck_assert_str_eq(dtc_txn_state_name(rep.state), "ABORTED");
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_EABORTED);
    /* a commit asked again answers DTC_OK; a rollback after it DTC_ESTATE */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_ESTATE);
    /* one enlistment per participant */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "a", "y", 1), DTC_EDUPLICATE);
    ck_assert_int_eq(dtc_enlist(in, &id, "nobody", "y", 1), DTC_EUNKNOWN);
    char big[DTC_PAYLOAD_MAX + 1];
    memset(big, 'p', sizeof big);
    ck_assert_int_eq(dtc_enlist(in, &id, "no", big, sizeof big), DTC_ETOOBIG);
    /* retry and resolve want a HEURISTIC transaction (retry: or a driver) */
    ck_assert_int_eq(dtc_retry_transaction(in, &id, NULL), DTC_ESTATE);
    ck_assert_int_eq(dtc_resolve_transaction(in, &id, 0, NULL), DTC_ESTATE);
    /* a refused prepare rolls back and frees the slot, says why */
    ck_assert_int_eq(dtc_enlist(in, &id, "no", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_prepare_transaction(in, &id, &rep), DTC_EREFUSED);
    ck_assert_int_eq(dtc_transaction_status(in, &id, &rep), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_EREFUSED);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(in, &st), DTC_OK);
    ck_assert_uint_eq(st.txns_in_use, 0);
    /* an id never begun here */
    dtc_txid unknown;
    ck_assert_int_eq(dtc_txid_parse("00000000-0000-4000-8000-000000000001", &unknown), DTC_OK);
    dtc_outcome *o = malloc(sizeof *o);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(dtc_transaction_outcome(in, &unknown, o), DTC_ENOTFOUND);
    free(o);
    ck_assert_int_eq(dtc_rollback_transaction(in, &unknown, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_commit_transaction(in, &unknown, NULL), DTC_ENOTFOUND);
    /* names and texts are never NULL */
    for (int rc = -1; rc <= DTC_RESULT_COUNT; rc++) {
        ck_assert_ptr_nonnull(dtc_strerror((dtc_result)rc));
        ck_assert_ptr_nonnull(dtc_result_name((dtc_result)rc));
    }
    /* the reason split, and the failure of an entry */
    char code[DTC_REASON_CODE_MAX];
    ck_assert_str_eq(dtc_reason_split("out_of_stock: widget", code), "widget");
    ck_assert_str_eq(code, "out_of_stock");
    ck_assert_str_eq(dtc_reason_split("Out: x", code), "Out: x");
    ck_assert_str_eq(code, "");
    dtc_entry_info e;
    memset(&e, 0, sizeof e);
    e.vote = DTC_ENTRY_YES;
    e.status = DTC_ENTRY_TIMEOUT;
    ck_assert_int_eq(dtc_entry_failure(&e), DTC_ENTRY_TIMEOUT);
    e.vote = DTC_ENTRY_NO;
    ck_assert_int_eq(dtc_entry_failure(&e), DTC_ENTRY_NO);
    ck_assert(dtc_entry_failed(&e));
    dtc_limits l = {DTC_LIMIT_MAX_TXNS + 1, 1, 1};
    ck_assert_uint_eq(dtc_segment_size(&l), 0);
    dtc_limits_default(&l);
    ck_assert(l.max_txns == DTC_DEFAULT_MAX_TXNS && l.max_parts_per_txn == DTC_DEFAULT_MAX_PARTS_PER_TXN
              && l.max_participants == DTC_DEFAULT_MAX_PARTICIPANTS);
    ck_assert_uint_gt(dtc_segment_size(&l), 0);
    ck_assert_int_eq(dtc_log_set_level("loud"), DTC_EINVAL);
    ck_assert_int_eq(dtc_log_set_level("WARN"), DTC_OK); /* any case */
    ck_assert_str_eq(dtc_version(), DTC_VERSION_STRING);
    /* the defaults the comments name */
    dtc_txn_options opt;
    dtc_txn_options_default(&opt);
    ck_assert(opt.prepare_timeout_ms == 5000 && opt.commit_timeout_ms == 5000
              && opt.rollback_timeout_ms == 5000 && opt.max_retries == 8);
    /* a txid prints as 36 characters and parses back; garbage does not */
    char txt[DTC_TXID_STRLEN];
    dtc_txid back;
    dtc_txid_format(&id, txt);
    ck_assert_uint_eq(strlen(txt), DTC_TXID_STRLEN - 1);
    ck_assert_int_eq(dtc_txid_parse(txt, &back), DTC_OK);
    ck_assert_mem_eq(back.bytes, id.bytes, sizeof id.bytes);
    ck_assert_int_eq(dtc_txid_parse("not-a-txid", &back), DTC_EINVAL);
    /* enlist: a payload with a NUL, a name too long */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "a", "x\0y", 3), DTC_EINVAL);
    char longname[DTC_NAME_MAX + 1];
    memset(longname, 'n', DTC_NAME_MAX);
    longname[DTC_NAME_MAX] = '\0';
    ck_assert_int_eq(dtc_enlist(in, &id, longname, "x", 1), DTC_ETOOBIG);
    /* a snapshot of the slot; the instance name as resolved */
    ck_assert_int_eq(dtc_transaction_status(in, &id, &rep), DTC_OK);
    ck_assert_str_eq(dtc_txn_state_name(rep.state), "ACTIVE");
    ck_assert_str_eq(dtc_instance_name(in), h_instance());
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);
    /* the names of the enumerations; out of range is never NULL */
    ck_assert_str_eq(dtc_outcome_name(DTC_OUTCOME_IN_FLIGHT), "in-flight");
    ck_assert_str_eq(dtc_outcome_name(DTC_OUTCOME_HEURISTIC), "heuristic");
    ck_assert_ptr_nonnull(dtc_outcome_name(DTC_OUTCOME_COUNT));
    ck_assert_ptr_null(dtc_hist_name(DTC_HIST_COUNT));
    ck_assert(dtc_hist_bound_ns(DTC_HIST_BUCKETS - 1) == INT64_MAX);
    for (int s = 0; s < DTC_ENTRY_STATUS_COUNT; s++)
        ck_assert(dtc_entry_status_failed((dtc_entry_status)s)
                  == (s == DTC_ENTRY_NO || s == DTC_ENTRY_ERROR || s == DTC_ENTRY_TIMEOUT
                      || s == DTC_ENTRY_DEAD));
}
END_TEST

/* Finding 8: a prepare timeout is answered when it expires. */
START_TEST(test_prepare_timeout_answered_on_time)
{
    h_init("ans-timeout");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "3000", NULL), 0);
    const char *run[] = {"run", "-p", "a=x", "-p", "slow=x", "--prepare-timeout-ms", "500", NULL};
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(ctl(&res, 20000, run), 1);
    int64_t took = h_now_ms() - t0;
    ck_assert_msg(strstr(res.out, "aborted DTC_ETIMEOUT slow: no answer before the deadline")
                      != NULL, "%s", res.out);
    ck_assert_msg(took < 2500, "run took %lld ms for a 500 ms prepare timeout", (long long)took);
    /* and its rollback still reaches slow (in the background) */
    ck_assert(h_wait_idle(10000));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("answers");
    TCase *tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_outcome_every_surface);
    tcase_add_test(tc, test_rolled_back_by_dtcd_says_why);
    tcase_add_test(tc, test_resolve_commit_refused_unless_prepared);
    tcase_add_test(tc, test_show_from_log_leaves_out_the_unknown);
    tcase_add_test(tc, test_vote_survives_adoption);
    tcase_add_test(tc, test_redelivered_commit_drops_old_reason);
    tcase_add_test(tc, test_no_vote_reason_survives_a_crash);
    tcase_add_test(tc, test_txns_text_and_json_agree);
    tcase_add_test(tc, test_service_logs_whole_payload);
    tcase_add_test(tc, test_dtc_h_contracts);
    tcase_add_test(tc, test_prepare_timeout_answered_on_time);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
