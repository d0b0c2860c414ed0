/*
 * test_contracts.c - every claim of a comment in include/dtc/dtc.h is a
 * test (issue 18 item 7): the participant side, the supervisor, logging
 * and introspection here; the coordinator, names and limits in
 * test_answers' dtc_h_contracts and the unit suites.
 *
 * Where each function's claims are checked (file:test):
 *   dtc_version, dtc_strerror, dtc_result_name, dtc_limits_default,
 *   dtc_txn_options_default, dtc_txid_format/_parse, dtc_reason_split,
 *   dtc_entry_failure/_failed, dtc_entry_status_failed, dtc_outcome_name,
 *   dtc_hist_name, dtc_hist_bound_ns, dtc_txn_state_name
 *                                   test_answers:dtc_h_contracts;
 *                                   check_core:result_codes, reason_codes,
 *                                   entry_failure, txid_roundtrip,
 *                                   txid_random_v4
 *   dtc_segment_size                check_core:segment_size_linear,
 *                                   test_answers:dtc_h_contracts
 *   dtc_open                        check_core:segment_missing,
 *                                   segment_bad_*; test_security;
 *                                   here: introspection (NULL: env)
 *   dtc_close, dtc_instance_name    test_answers:dtc_h_contracts; here
 *   dtc_resolve_instance            check_core:names; here:
 *                                   options_and_names (DTC_ETOOBIG)
 *   dtc_name_valid                  here: names_and_prepared
 *   dtc_entry_prepared              here: names_and_prepared
 *   dtc_begin/enlist/prepare/commit/rollback/retry/resolve_transaction,
 *   dtc_transaction_status, dtc_transaction_outcome
 *                                   test_answers (every test),
 *                                   check_core:begin_refused_*,
 *                                   test_operator, test_failures;
 *                                   check_dlog (ERECOVERING,
 *                                   ENOSUPERVISOR); here:
 *                                   options_and_names (the caps of
 *                                   dtc_txn_options)
 *   dtc_participant_register        here: register_contract
 *   dtc_participant_serve_once      here: serve_contract (timeout,
 *                                   served); check_core:
 *                                   participant_busy_refused (EBUSY),
 *                                   pace_idle_returns_to_other (SCHED);
 *                                   here: options_and_names
 *                                   (DTC_PARTICIPANT_SCHED=other)
 *   dtc_participant_serve           here: serve_contract (stop, ENOTALIVE,
 *                                   ENOSEGMENT)
 *   dtc_participant_answer          check_core:answer_revised_in_flush;
 *                                   here: answer_contract (enlist
 *                                   refused, NO means ERROR for commit)
 *   dtc_participant_ops (struct)    here: answer_contract (an enlist no
 *                                   skips prepare)
 *   dtc_prepare/rollback_transaction's DTC_EHEURISTIC on a failed
 *   rollback (any vote)             here: answer_contract
 *   dtc_participant_outcome         here: outcome_contract;
 *                                   check_core:participant_outcome_one_rule
 *   dtc_participant_unregister      here: register_contract,
 *                                   unregister_fails_pending;
 *                                   check_core:participant_busy_refused
 *   dtc_get_status, dtc_list_participants, dtc_list_transactions,
 *   dtc_get_histograms              here: introspection
 *   dtc_metrics_text                here: introspection,
 *                                   options_and_names; check_core:
 *                                   metrics_text_no_segment,
 *                                   metrics_take_no_lock,
 *                                   readonly_attach_cannot_write
 *   dtc_supervisor_config_default,
 *   dtc_supervisor_run              here: supervisor_contract,
 *                                   shutdown_contract (also
 *                                   dtc_begin_transaction's ESHUTDOWN);
 *                                   test_dlog_damage (salvage)
 *   dtc_fault                       check_core:fault_point_kills,
 *                                   check_fault_off
 *   dtc_log_init, dtc_log_to_file   here: log_contract
 *   dtc_log_set_level               check_core:log_level_names,
 *                                   test_answers:dtc_h_contracts
 *   dtc_log_reopen                  check_core:log_reopen
 *   dtc_log                         check_core:log_strict_logfmt
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

static void teardown(void)
{
    h_fini();
}

static dtc_vote c_yes(void *ctx, const dtc_request *rq)
{
    (void)ctx, (void)rq;
    return DTC_VOTE_YES;
}

static int c_done(void *ctx, const dtc_request *rq)
{
    (void)ctx, (void)rq;
    return 0;
}

static const dtc_participant_ops ops = {c_yes, c_yes, c_done, c_done, NULL, NULL};

static int listed(const char *name)
{
    dtc_participant_info info;
    return h_find_participant(name, &info);
}

/* Registers: names checked, a live holder's name refused, a dead
 * holder's slot reclaimed, a full registry refused, a name free again
 * after unregister. */
START_TEST(register_contract)
{
    h_init("ct-reg");
    const char *extra[] = {"--max-participants", "3", NULL};
    ck_assert_int_gt(h_start_dtcdv(extra), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_participant *p = NULL, *q = NULL, *r = NULL;
    ck_assert_int_eq(dtc_participant_register(in, "a", &p), DTC_ENAMETAKEN);
    ck_assert_int_eq(dtc_participant_register(in, "bad name", &p), DTC_EINVAL);
    ck_assert_int_eq(dtc_participant_register(in, "0123456789012345678901234567890123", &p),
                     DTC_ETOOBIG);
    ck_assert_ptr_null(p);
    /* a holder that died without unregistering */
    pid_t c = h_fork();
    if (c == 0) {
        dtc_instance *ci = NULL;
        dtc_participant *cp = NULL;
        if (dtc_open(h_instance(), &ci) != DTC_OK || dtc_participant_register(ci, "dead", &cp))
            _exit(2);
        _exit(0); /* no unregister */
    }
    int st;
    ck_assert(h_wait(c, 5000, &st));
    ck_assert_int_eq(h_exit_code(st), 0);
    ck_assert_int_eq(dtc_participant_register(in, "dead", &p), DTC_OK);
    ck_assert_int_eq(dtc_participant_register(in, "third", &q), DTC_OK);
    ck_assert_int_eq(dtc_participant_register(in, "fourth", &r), DTC_EREGFULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(dtc_participant_unregister(&q), DTC_OK);
    ck_assert_ptr_null(q);
    ck_assert(!listed("third"));
    ck_assert_int_eq(dtc_participant_register(in, "third", &q), DTC_OK);
    ck_assert(listed("third"));
    ck_assert_int_eq(dtc_participant_unregister(&q), DTC_OK);
    ck_assert_int_eq(dtc_participant_unregister(&q), DTC_OK); /* NULL: nothing */
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
}
END_TEST

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* serve_once waits its timeout and serves nothing; serve returns once
 * *stop is set (checked every 200 ms), DTC_ENOTALIVE once the slot was
 * reclaimed, DTC_ENOSEGMENT once dtcd stopped. */
START_TEST(serve_contract)
{
    h_init("ct-serve");
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_instance *in = h_inst();
    dtc_participant *p = NULL;
    ck_assert_int_eq(dtc_participant_register(in, "s", &p), DTC_OK);
    unsigned served = 99;
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 300, &served), DTC_OK);
    int64_t took = h_now_ms() - t0;
    ck_assert_uint_eq(served, 0);
    ck_assert_msg(took >= 280 && took < 3000, "a 300 ms wait took %lld ms", (long long)took);
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 10, NULL), DTC_OK);
    /* a request served, counted */
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "s", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 2000, &served), DTC_OK);
    ck_assert_uint_eq(served, 1);
    /* stop */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_value = {0, 100 * 1000}};
    stop_flag = 0;
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    t0 = h_now_ms();
    ck_assert_int_eq(dtc_participant_serve(p, &ops, &stop_flag), DTC_OK);
    took = h_now_ms() - t0;
    ck_assert_msg(took < 1500, "serve returned %lld ms after start (stop at 100)", (long long)took);
    /* the slot reclaimed (this process presumed dead) */
    ck_assert_int_eq(dtc__part_reclaim(in, p->idx, p->gen, "test"), DTC_OK);
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 10, NULL), DTC_ENOTALIVE);
    stop_flag = 0;
    ck_assert_int_eq(dtc_participant_serve(p, &ops, &stop_flag), DTC_ENOTALIVE);
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
    /* dtcd stopped: the segment is gone (a handle of our own: the
     * harness closes its one when it stops dtcd) */
    dtc_instance *mine = NULL;
    ck_assert_int_eq(dtc_open(h_instance(), &mine), DTC_OK);
    ck_assert_int_eq(dtc_participant_register(mine, "s2", &p), DTC_OK);
    ck_assert_int_eq(h_stop_dtcd(10000), 0);
    ck_assert_int_eq(dtc_participant_serve(p, &ops, &stop_flag), DTC_ENOSEGMENT);
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 10, NULL), DTC_ENOSEGMENT);
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
    dtc_close(&mine);
}
END_TEST

/* Unregistering fails the requests queued for it as from a dead
 * process: the prepare does not wait its (long) timeout. */
START_TEST(unregister_fails_pending)
{
    h_init("ct-unreg");
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_instance *in = h_inst();
    dtc_participant *p = NULL;
    ck_assert_int_eq(dtc_participant_register(in, "u", &p), DTC_OK);
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.prepare_timeout_ms = 20000;
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, &o, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "u", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
    int64_t t0 = h_now_ms();
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_prepare_transaction(in, &id, &rep), DTC_ENOTALIVE);
    ck_assert_msg(h_now_ms() - t0 < 5000, "prepare took %lld ms", (long long)(h_now_ms() - t0));
}
END_TEST

/* The one recovery rule from the decision log, and its two "ask again"
 * answers: DTC_ERECOVERING while dtcd replays, DTC_ENOSUPERVISOR while
 * none runs to replay. */
START_TEST(outcome_contract)
{
    h_init("ct-outcome");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_participant *p = NULL;
    ck_assert_int_eq(dtc_participant_register(in, "o", &p), DTC_OK);
    dtc_txid done, gone, open, never;
    dtc_outcome_kind k;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &done), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &done, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &done, NULL), DTC_OK);
    ck_assert_int_eq(dtc_participant_outcome(p, &done, &k), DTC_OK);
    ck_assert_int_eq(k, DTC_OUTCOME_COMMITTED); /* from the log: the slot is gone */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &gone), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &gone, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_rollback_transaction(in, &gone, NULL), DTC_OK);
    ck_assert_int_eq(dtc_participant_outcome(p, &gone, &k), DTC_OK);
    ck_assert_int_eq(k, DTC_OUTCOME_ABORTED);
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &open), DTC_OK);
    ck_assert_int_eq(dtc_participant_outcome(p, &open, &k), DTC_OK);
    ck_assert_int_eq(k, DTC_OUTCOME_IN_FLIGHT);
    ck_assert_int_eq(dtc_txid_parse("00000000-0000-4000-8000-00000000abcd", &never), DTC_OK);
    ck_assert_int_eq(dtc_participant_outcome(p, &never, &k), DTC_OK);
    ck_assert_int_eq(k, DTC_OUTCOME_ABORTED); /* presumed */
    /* the log not replayed yet: nothing is presumed */
    atomic_store(&in->hdr->sh_recovering, 1);
    ck_assert_int_eq(dtc_participant_outcome(p, &never, &k), DTC_ERECOVERING);
    ck_assert_int_ne(k, DTC_OUTCOME_ABORTED);
    ck_assert_int_eq(h_kill9(h_dtcd_pid()) >= 0, 1);
    ck_assert_int_eq(dtc_participant_outcome(p, &never, &k), DTC_ENOSUPERVISOR);
    ck_assert_int_ne(k, DTC_OUTCOME_ABORTED);
    atomic_store(&in->hdr->sh_recovering, 0);
    ck_assert_int_eq(dtc_participant_outcome(p, &never, &k), DTC_OK);
    ck_assert_int_eq(k, DTC_OUTCOME_ABORTED);
    ck_assert_int_eq(dtc_participant_outcome(p, NULL, &k), DTC_EINVAL);
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
}
END_TEST

static volatile sig_atomic_t sup_stop;

static void on_term(int sig)
{
    (void)sig;
    sup_stop = 1;
}

/* The defaults; the ready line; a second supervisor refused; on stop the
 * segment is removed. */
START_TEST(supervisor_contract)
{
    h_init("ct-sup");
    dtc_supervisor_config cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    dtc_supervisor_config_default(&cfg);
    dtc_limits l;
    dtc_limits_default(&l);
    ck_assert_ptr_null(cfg.instance);
    ck_assert_ptr_null(cfg.data_dir);
    ck_assert_int_eq(cfg.no_decision_log, 0);
    ck_assert_uint_eq(cfg.log_file_mb, DTC_DLOG_FILE_MB);
    ck_assert_uint_eq(cfg.log_files, DTC_DLOG_FILES);
    ck_assert_mem_eq(&cfg.limits, &l, sizeof l);
    ck_assert_int_eq(cfg.group_access, 0);
    ck_assert_uint_eq(cfg.tick_ms, 50);
    ck_assert_uint_eq(cfg.shutdown_grace_ms, 3000);
    ck_assert_uint_eq(cfg.orphan_timeout_ms, 30000);
    ck_assert_int_eq(cfg.ready_fd, -1);
    ck_assert_int_eq(cfg.salvage, 0);
    cfg.instance = h_instance();
    cfg.data_dir = h_dlog_dir();
    cfg.log_file_mb = 1;
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t c = h_fork();
    if (c == 0) {
        close(fds[0]);
        signal(SIGTERM, on_term);
        cfg.ready_fd = fds[1];
        _exit(dtc_supervisor_run(&cfg, &sup_stop) == DTC_OK ? 0 : 3);
    }
    close(fds[1]);
    char line[256] = "", want[256];
    struct pollfd pf = {fds[0], POLLIN, 0};
    ck_assert_int_eq(poll(&pf, 1, 10000), 1);
    ssize_t n = read(fds[0], line, sizeof line - 1);
    ck_assert_int_gt(n, 0);
    line[n] = '\0';
    snprintf(want, sizeof want, "ready instance=%s size=%zu\n", h_instance(), dtc_segment_size(&l));
    ck_assert_str_eq(line, want);
    close(fds[0]);
    volatile sig_atomic_t stop_now = 1;
    ck_assert_int_eq(dtc_supervisor_run(&cfg, &stop_now), DTC_EEXIST);
    dtc_instance *in = NULL;
    ck_assert_int_eq(dtc_open(h_instance(), &in), DTC_OK); /* still there */
    dtc_close(&in);
    ck_assert_ptr_null(in);
    ck_assert_int_eq(h_exit_code(h_stop(c, 10000)), 0);
    ck_assert_int_eq(dtc_open(h_instance(), &in), DTC_ENOSEGMENT);
}
END_TEST

/* dtcd stopping (dtc_supervisor_run on *stop): new begins refused
 * (DTC_ESHUTDOWN), an in-flight transaction may still commit within the
 * grace, the rest is rolled back (the decision log says so after a
 * restart), and the segment is removed. */
START_TEST(shutdown_contract)
{
    h_init("ct-shut");
    const char *extra[] = {"--shutdown-grace-ms", "1500", NULL};
    ck_assert_int_gt(h_start_dtcdv(extra), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    dtc_instance *mine = NULL;
    ck_assert_int_eq(dtc_open(h_instance(), &mine), DTC_OK);
    dtc_txid left, finishing, refused;
    ck_assert_int_eq(dtc_begin_transaction(mine, NULL, &left), DTC_OK);
    ck_assert_int_eq(dtc_enlist(mine, &left, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_begin_transaction(mine, NULL, &finishing), DTC_OK);
    ck_assert_int_eq(dtc_enlist(mine, &finishing, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_prepare_transaction(mine, &finishing, NULL), DTC_OK);
    ck_assert_int_eq(kill(h_dtcd_pid(), SIGTERM), 0);
    dtc_result rc = DTC_OK;
    for (int i = 0; i < 100 && rc == DTC_OK; i++) {
        rc = dtc_begin_transaction(mine, NULL, &refused);
        if (rc == DTC_OK) {
            ck_assert_int_eq(dtc_rollback_transaction(mine, &refused, NULL), DTC_OK);
            h_sleep_ms(10);
        }
    }
    ck_assert_int_eq(rc, DTC_ESHUTDOWN);
    ck_assert_int_eq(dtc_commit_transaction(mine, &finishing, NULL), DTC_OK);
    ck_assert_int_eq(h_stop_dtcd(15000), 0);
    dtc_close(&mine);
    ck_assert_int_eq(dtc_open(h_instance(), &mine), DTC_ENOSEGMENT);
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_outcome *o = malloc(sizeof *o);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &left, o), DTC_OK);
    ck_assert_int_eq(o->kind, DTC_OUTCOME_ABORTED);
    ck_assert_str_eq(o->info.adopted_why, "shutdown");
    ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &finishing, o), DTC_OK);
    ck_assert_int_eq(o->kind, DTC_OUTCOME_COMMITTED);
    free(o);
}
END_TEST

/* Reads the file at path into buf. */
static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

/* dtc_log_to_file appends; the library's default level is warn;
 * dtc_log_init takes $DTC_LOG over its default, and its default over a
 * bad $DTC_LOG (said in a warning). */
START_TEST(log_contract)
{
    h_init("ct-log");
    char path[512], buf[8192];
    snprintf(path, sizeof path, "%s/contract.log", h_dir());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "before\n", 7), 7);
    close(fd);
    ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
    dtc_log(DTC_LOG_WARN, "ct_default_warn", NULL, NULL, "n=1");
    dtc_log(DTC_LOG_INFO, "ct_default_info", NULL, NULL, "n=1");
    setenv("DTC_LOG", "DEBUG", 1);
    dtc_log_init(DTC_LOG_ERROR);
    dtc_log(DTC_LOG_DEBUG, "ct_env_debug", NULL, NULL, "n=2");
    setenv("DTC_LOG", "loud", 1);
    dtc_log_init(DTC_LOG_INFO);
    dtc_log(DTC_LOG_INFO, "ct_dflt_info", NULL, NULL, "n=3");
    dtc_log(DTC_LOG_DEBUG, "ct_dflt_debug", NULL, NULL, "n=3");
    unsetenv("DTC_LOG");
    dtc_log_init(DTC_LOG_ERROR);
    dtc_log(DTC_LOG_WARN, "ct_error_warn", NULL, NULL, "n=4");
    ck_assert_int_eq(dtc_log_set_level("info"), DTC_OK);
    ck_assert_int_eq(dtc_log_set_level("nonsense"), DTC_EINVAL);
    dtc_log(DTC_LOG_INFO, "ct_kept_info", NULL, NULL, "n=5"); /* the level stays info */
    slurp(path, buf, sizeof buf);
    ck_assert_msg(strncmp(buf, "before\n", 7) == 0, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_default_warn") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_default_info") == NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_env_debug") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=log_level_invalid") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_dflt_info") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_dflt_debug") == NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_error_warn") == NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "event=ct_kept_info") != NULL, "%s", buf);
}
END_TEST

/* get_status, the lists (up to cap filled, *n counts every one), the
 * histograms and the metrics text of a live instance. */
START_TEST(introspection)
{
    h_init("ct-intro");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("a", NULL), 0);
    ck_assert_int_gt(h_start_noop("b", NULL), 0);
    ck_assert_int_gt(h_start_noop("c", NULL), 0);
    dtc_instance *in = h_inst();
    size_t n = 99;
    dtc_participant_info pi[2];
    memset(pi, 0x77, sizeof pi);
    ck_assert_int_eq(dtc_list_participants(in, NULL, 0, &n), DTC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(dtc_list_participants(in, pi, 1, &n), DTC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(pi[0].alive && pi[0].name[0] != '\0');
    ck_assert_uint_eq((unsigned char)pi[1].name[0], 0x77); /* past cap: untouched */
    ck_assert_int_eq(dtc_list_participants(in, pi, 1, NULL), DTC_EINVAL);
    dtc_histogram h0[DTC_HIST_COUNT], h1[DTC_HIST_COUNT];
    ck_assert_int_eq(dtc_get_histograms(in, h0), DTC_OK);
    ck_assert_int_eq(dtc_get_histograms(in, NULL), DTC_EINVAL);
    dtc_txid t1, t2;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &t1), DTC_OK);
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &t2), DTC_OK);
    dtc_txn_info *ti = calloc(2, sizeof *ti);
    ck_assert_ptr_nonnull(ti);
    memset(&ti[1], 0x77, sizeof ti[1]);
    ck_assert_int_eq(dtc_list_transactions(in, NULL, 0, &n), DTC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(dtc_list_transactions(in, ti, 1, &n), DTC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ti[0].state, DTC_TXN_ACTIVE);
    ck_assert_uint_eq(ti[1].generation, 0x77777777u);
    free(ti);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(in, &st), DTC_OK);
    ck_assert_str_eq(st.instance, h_instance());
    ck_assert_uint_eq(st.txns_in_use, 2);
    ck_assert_uint_eq(st.participants_registered, 3);
    ck_assert(st.supervisor_alive && st.supervisor_pid == h_dtcd_pid());
    ck_assert(st.segment_size == dtc_segment_size(&st.limits));
    ck_assert(st.decision_log && !st.recovering && !st.shutting_down);
    ck_assert_int_eq(st.dlog_error, DTC_OK);
    ck_assert_int_eq(dtc_get_status(in, NULL), DTC_EINVAL);
    ck_assert_int_eq(dtc_rollback_transaction(in, &t2, NULL), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &t1, "a", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &t1, NULL), DTC_OK);
    ck_assert_int_eq(dtc_get_histograms(in, h1), DTC_OK);
    for (unsigned k = 0; k < DTC_HIST_COUNT; k++) {
        uint64_t sum = 0;
        for (unsigned b = 0; b < DTC_HIST_BUCKETS; b++)
            sum += h1[k].bucket[b];
        ck_assert_msg(h1[k].count == sum, "%s: count %llu, buckets %llu", dtc_hist_name(k),
                      (unsigned long long)h1[k].count, (unsigned long long)sum);
    }
    ck_assert_msg(h1[DTC_HIST_TXN].count == h0[DTC_HIST_TXN].count + 1, "txn %llu -> %llu",
                  (unsigned long long)h0[DTC_HIST_TXN].count,
                  (unsigned long long)h1[DTC_HIST_TXN].count);
    ck_assert(h1[DTC_HIST_TXN].sum_ns > h0[DTC_HIST_TXN].sum_ns);
    /* the metrics text: every sample labelled with the instance */
    char *text = NULL;
    size_t len = 0;
    setenv("DTC_INSTANCE", h_instance(), 1);
    ck_assert_int_eq(dtc_metrics_text(NULL, &text, &len), DTC_OK);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    char label[128], up[160];
    snprintf(label, sizeof label, "dtc_instance=\"%s\"", h_instance());
    snprintf(up, sizeof up, "dtc_up{%s} 1\n", label);
    ck_assert_msg(strstr(text, up) != NULL, "%s", text);
    for (char *line = text; *line; ) {
        char *end = strchr(line, '\n');
        ck_assert_ptr_nonnull(end);
        if (line[0] != '#')
            ck_assert_msg(memmem(line, (size_t)(end - line), label, strlen(label)) != NULL,
                          "unlabelled: %.*s", (int)(end - line), line);
        line = end + 1;
    }
    free(text);
    /* dtc_open(NULL): $DTC_INSTANCE */
    dtc_instance *again = NULL;
    ck_assert_int_eq(dtc_open(NULL, &again), DTC_OK);
    ck_assert_str_eq(dtc_instance_name(again), h_instance());
    dtc_close(&again);
    ck_assert_ptr_null(again);
    unsetenv("DTC_INSTANCE");
}
END_TEST

/* dtc_participant_answer refuses an enlist step (published at once) and
 * turns a NO for a commit into ERROR (revised in flush: from the
 * request's own callback, the callback's return value decides); an enlist NO is the prepare vote
 * without a call of prepare (dtc_participant_ops). */
static dtc_participant *ans_p;
static dtc_result ans_enlist_rc = DTC_OK;
static int ans_prepares;

static dtc_vote ans_enlist(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    ans_enlist_rc = dtc_participant_answer(ans_p, rq, DTC_VOTE_NO);
    return strcmp(rq->payload, "no") == 0 ? DTC_VOTE_NO : DTC_VOTE_YES;
}

static dtc_vote ans_prepare(void *ctx, const dtc_request *rq)
{
    (void)ctx, (void)rq;
    ans_prepares++;
    return DTC_VOTE_YES;
}

static const dtc_request *ans_commit_rq;
static dtc_result ans_own_rc = DTC_EINVAL;

/* Done, provisionally (the answer call from its own callback is allowed
 * and changes nothing: the return value decides); flush says otherwise. */
static int ans_commit(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    ans_own_rc = dtc_participant_answer(ans_p, rq, DTC_VOTE_YES);
    ans_commit_rq = rq;
    return 0;
}

/* Asks for ERROR from its own callback and returns done: done it is
 * (else the compensation would fail: DTC_EHEURISTIC, not DTC_ECOMMIT). */
static int ans_rb_fail;

static int ans_rollback(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    if (ans_rb_fail) {
        snprintf(rq->reason, DTC_REASON_MAX, "stuck: cannot undo");
        return -1;
    }
    return dtc_participant_answer(ans_p, rq, DTC_VOTE_ERROR) == DTC_OK ? 0 : -1;
}

static int ans_flush(void *ctx)
{
    (void)ctx;
    const dtc_request *rq = ans_commit_rq;
    ans_commit_rq = NULL;
    if (rq == NULL)
        return 0;
    snprintf(rq->reason, DTC_REASON_MAX, "disk_full: no room");
    return dtc_participant_answer(ans_p, rq, DTC_VOTE_NO) == DTC_OK ? 0 : -1;
}

/* Child: one transaction with payload `payload`; exits 0 if its commit
 * returned `want` and (want DTC_ECOMMIT) the failed commit reads ERROR. */
static pid_t ans_coordinator(const char *payload, dtc_result want)
{
    pid_t c = h_fork();
    if (c != 0)
        return c;
    dtc_instance *ci = NULL;
    dtc_txid id;
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.max_retries = 0;
    static dtc_txn_info rep;
    if (dtc_open(h_instance(), &ci) != DTC_OK || dtc_begin_transaction(ci, &o, &id) != DTC_OK
        || dtc_enlist(ci, &id, "ans", payload, strlen(payload)) != DTC_OK)
        _exit(2);
    dtc_result rc = strcmp(payload, "undo") == 0 ? dtc_rollback_transaction(ci, &id, &rep)
                                                 : dtc_commit_transaction(ci, &id, &rep);
    if (rc != want) {
        fprintf(stderr, "commit: %s, want %s\n", dtc_result_name(rc), dtc_result_name(want));
        _exit(3);
    }
    if (want == DTC_ECOMMIT
        && (rep.entries[0].failed_op != DTC_OP_COMMIT
            || rep.entries[0].failed_status != DTC_ENTRY_ERROR
            || strcmp(rep.entries[0].failed_reason_code, "disk_full") != 0)) {
        fprintf(stderr, "failed %s %s %s\n", dtc_op_name(rep.entries[0].failed_op),
                dtc_entry_status_name(rep.entries[0].failed_status),
                rep.entries[0].failed_reason_code);
        _exit(4);
    }
    _exit(0);
}

static int serve_until_exit(pid_t c, const dtc_participant_ops *o)
{
    int st = -1;
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(dtc_participant_serve_once(ans_p, o, 20, NULL), DTC_OK);
        if (h_wait(c, 0, &st))
            return h_exit_code(st);
    }
    return -1;
}

START_TEST(answer_contract)
{
    h_init("ct-answer");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(dtc_participant_register(h_inst(), "ans", &ans_p), DTC_OK);
    dtc_participant_ops o = {ans_enlist, ans_prepare, ans_commit, ans_rollback, ans_flush, NULL};
    ans_prepares = 0;
    ck_assert_int_eq(serve_until_exit(ans_coordinator("no", DTC_EREFUSED), &o), 0);
    ck_assert_int_eq(ans_prepares, 0);
    ck_assert_int_eq(ans_enlist_rc, DTC_EINVAL);
    ck_assert_int_eq(serve_until_exit(ans_coordinator("x", DTC_ECOMMIT), &o), 0);
    ck_assert_int_eq(ans_prepares, 1);
    ck_assert_int_eq(ans_own_rc, DTC_OK);
    /* a rollback that fails: even at a participant that did not vote yes */
    ans_rb_fail = 1;
    ck_assert_int_eq(serve_until_exit(ans_coordinator("undo", DTC_EHEURISTIC), &o), 0);
    ck_assert_int_eq(serve_until_exit(ans_coordinator("no", DTC_EHEURISTIC), &o), 0);
    size_t n = 0;
    ck_assert_int_eq(dtc_list_transactions(h_inst(), NULL, 0, &n), DTC_OK);
    ck_assert_uint_eq(n, 2); /* kept for an operator */
    ans_rb_fail = 0;
    ck_assert_int_eq(dtc_participant_unregister(&ans_p), DTC_OK);
}
END_TEST

/* dtc_txn_options' caps; DTC_PARTICIPANT_SCHED=other; the bad names
 * dtc_resolve_instance and dtc_metrics_text refuse. */
START_TEST(options_and_names)
{
    h_init("ct-opts");
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_instance *in = h_inst();
    dtc_txid id;
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.commit_timeout_ms = DTC_TIMEOUT_MAX_MS;
    o.max_retries = DTC_RETRIES_MAX;
    ck_assert_int_eq(dtc_begin_transaction(in, &o, &id), DTC_OK);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);
    o.rollback_timeout_ms = DTC_TIMEOUT_MAX_MS + 1;
    ck_assert_int_eq(dtc_begin_transaction(in, &o, &id), DTC_EINVAL);
    dtc_txn_options_default(&o);
    o.max_retries = DTC_RETRIES_MAX + 1;
    ck_assert_int_eq(dtc_begin_transaction(in, &o, &id), DTC_EINVAL);
    /* the scheduling policy left alone */
    setenv("DTC_PARTICIPANT_SCHED", "other", 1);
    dtc_participant *p = NULL;
    ck_assert_int_eq(dtc_participant_register(in, "sched", &p), DTC_OK);
    dtc__pace_after_batch(&p->pace, 5); /* a busy batch */
    ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
    ck_assert(!dtc__pace_yield(&p->pace));
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
    unsetenv("DTC_PARTICIPANT_SCHED");
    char n48[49], buf[DTC_INSTANCE_MAX];
    memset(n48, 'i', 48);
    n48[48] = '\0';
    ck_assert_int_eq(dtc_resolve_instance(n48, buf), DTC_ETOOBIG);
    char *text = (char *)"untouched";
    size_t len;
    ck_assert_int_eq(dtc_metrics_text(n48, &text, &len), DTC_ETOOBIG);
    ck_assert_ptr_null(text);
}
END_TEST

/* dtc_name_valid's sizes; dtc_entry_prepared: a yes not rolled back. */
START_TEST(names_and_prepared)
{
    h_init("ct-names");
    char n31[32], n47[48];
    memset(n31, 'n', 31);
    n31[31] = '\0';
    memset(n47, 'i', 47);
    n47[47] = '\0';
    ck_assert(dtc_name_valid(n31, DTC_NAME_MAX));
    ck_assert(dtc_name_valid("A-z.0_9", DTC_NAME_MAX));
    ck_assert(!dtc_name_valid(n47, DTC_NAME_MAX));
    ck_assert(dtc_name_valid(n47, DTC_INSTANCE_MAX));
    ck_assert(!dtc_name_valid("", DTC_NAME_MAX));
    ck_assert(!dtc_name_valid("a b", DTC_NAME_MAX));
    ck_assert(!dtc_name_valid("a/b", DTC_INSTANCE_MAX));
    dtc_entry_info e;
    memset(&e, 0, sizeof e);
    e.vote = DTC_ENTRY_YES;
    e.op = DTC_OP_COMMIT;
    e.status = DTC_ENTRY_TIMEOUT;
    ck_assert(dtc_entry_prepared(&e)); /* voted yes; a commit undelivered */
    e.op = DTC_OP_ROLLBACK;
    e.status = DTC_ENTRY_YES;
    ck_assert(!dtc_entry_prepared(&e)); /* rolled back since */
    e.status = DTC_ENTRY_TIMEOUT;
    ck_assert(dtc_entry_prepared(&e)); /* its rollback not acknowledged */
    e.vote = DTC_ENTRY_NO;
    e.op = DTC_OP_PREPARE;
    ck_assert(!dtc_entry_prepared(&e));
    e.vote = DTC_ENTRY_IDLE;
    ck_assert(!dtc_entry_prepared(&e));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("contracts");
    TCase *tc = tcase_create("contracts");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, register_contract);
    tcase_add_test(tc, serve_contract);
    tcase_add_test(tc, unregister_fails_pending);
    tcase_add_test(tc, outcome_contract);
    tcase_add_test(tc, supervisor_contract);
    tcase_add_test(tc, shutdown_contract);
    tcase_add_test(tc, log_contract);
    tcase_add_test(tc, introspection);
    tcase_add_test(tc, names_and_prepared);
    tcase_add_test(tc, answer_contract);
    tcase_add_test(tc, options_and_names);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
