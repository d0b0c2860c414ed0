/*
 * test_security.c - the edges of issue 9 that are about trust, not text:
 * a segment squatted by another user (wrong owner, or a mode with other
 * bits) is never attached to, neither by dtc_open nor by a dtcd taking a
 * dead dtcd's segment over (DTC_EPERM); a process that may not open the
 * segment at all gets DTC_EPERM, not DTC_ESYS; a participant enlisted
 * twice in one transaction is refused (DTC_EDUPLICATE); and a service or
 * dtcctl whose output pipe lost its reader keeps going (SIGPIPE ignored).
 *
 * The owner tests need root (fchown, setuid); they are skipped otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

static void teardown(void)
{
    h_fini();
}

static h_result res; /* large: not on the stack */

/* An fd on the live segment of h_instance(), to chmod / chown it. */
static int segment_fd(void)
{
    char shm[96];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    int fd = shm_open(shm, O_RDWR, 0);
    ck_assert_msg(fd >= 0, "shm_open %s: %s", shm, strerror(errno));
    return fd;
}

static dtc_result open_once(void)
{
    dtc_instance *in = NULL;
    dtc_result rc = dtc_open(h_instance(), &in);
    ck_assert(rc == DTC_OK ? in != NULL : in == NULL);
    dtc_close(&in);
    return rc;
}

/* Whether this process is in group NOBODY (then the group check cannot
 * be shown with it). */
static int in_nobody_group(void)
{
    gid_t g[256];
    int n = getgroups(256, g);
    for (int i = 0; i < n; i++)
        if (g[i] == (gid_t)NOBODY)
            return 1;
    return getegid() == (gid_t)NOBODY;
}

/* A service refuses a data directory others can write (they could swap
 * its state file), and says why. */
START_TEST(test_sec_service_refuses_open_data_dir)
{
    h_init("sec-datadir");
    ck_assert_int_gt(h_start_dtcd(), 0);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/open", h_dir());
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    h_run(&res, 10000, "dtc-payment", "--instance", h_instance(), "--data-dir", dir, NULL);
    ck_assert_msg(res.code == 1 && strstr(res.err, "writable by others") != NULL,
                  "payment on a 0777 data dir: exit %d err=%s", res.code, res.err);
    char state[4300];
    snprintf(state, sizeof state, "%s/payment.state", dir);
    ck_assert_int_ne(access(state, F_OK), 0); /* nothing written there */
}
END_TEST

START_TEST(test_sec_open_checks_owner_and_mode)
{
    h_init("sec-mode");
    ck_assert_int_gt(h_start_dtcd(), 0);
    int fd = segment_fd();
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600); /* dtcd's own */
    ck_assert_int_eq(open_once(), DTC_OK);

    /* chmod'ed open to the world (or group-and-world): never attached */
    static const mode_t bad[] = {0666, 0606, 0604, 0644, 0700, 0620};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_int_eq(fchmod(fd, bad[k]), 0);
        dtc_result rc = open_once();
        ck_assert_msg(rc == DTC_EPERM, "mode 0%o: dtc_open gave %s", (unsigned)bad[k],
                      dtc_result_name(rc));
    }
    ck_assert_int_eq(fchmod(fd, 0666), 0);
    h_run(&res, 5000, "dtcctl", "--instance", h_instance(), "status", NULL);
    ck_assert_msg(res.code == 2 && strstr(res.err, "DTC_EPERM") != NULL
                      && strstr(res.err, "mode 0666") != NULL,
                  "dtcctl status on a 0666 segment: exit %d err=%s", res.code, res.err);

    /* 0660 is what dtcd --group creates: accepted */
    ck_assert_int_eq(fchmod(fd, 0660), 0);
    ck_assert_int_eq(open_once(), DTC_OK);
    ck_assert_int_eq(fchmod(fd, 0600), 0);
    ck_assert_int_eq(open_once(), DTC_OK);

    if (geteuid() == 0) {
        /* another owner, even with the right mode */
        ck_assert_int_eq(fchown(fd, NOBODY, (gid_t)-1), 0);
        ck_assert_int_eq(fchmod(fd, 0600), 0); /* fchown may clear bits */
        ck_assert_int_eq(open_once(), DTC_EPERM);
        h_run(&res, 5000, "dtcctl", "--instance", h_instance(), "status", NULL);
        ck_assert_msg(res.code == 2 && strstr(res.err, "DTC_EPERM") != NULL
                          && strstr(res.err, "uid 65534") != NULL,
                      "dtcctl status on a nobody segment: exit %d err=%s", res.code, res.err);
        /* 0660 trusts the segment's group: one we are in, whoever owns it;
         * never one we are not in */
        ck_assert_int_eq(fchmod(fd, 0660), 0);
        ck_assert_int_eq(open_once(), DTC_OK); /* nobody's, our group 0 */
        ck_assert_int_eq(fchown(fd, 0, NOBODY), 0);
        ck_assert_int_eq(fchmod(fd, 0660), 0);
        if (!in_nobody_group())
            ck_assert_int_eq(open_once(), DTC_EPERM);
        ck_assert_int_eq(fchown(fd, 0, 0), 0);
        ck_assert_int_eq(fchmod(fd, 0600), 0);
        ck_assert_int_eq(open_once(), DTC_OK);
    }
    close(fd);
}
END_TEST

/* dtcd with the harness's arguments, run to its end (bounded). */
static void run_dtcd(void)
{
    h_run(&res, 5000, "dtcd", "--instance", h_instance(), "--data-dir", h_dlog_dir(),
          "--dlog-file-mb", "2", "--shutdown-grace-ms", "1000", NULL);
}

START_TEST(test_sec_dtcd_refuses_to_reattach_to_squatted_segment)
{
    h_init("sec-reatt");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_ge(h_kill9(h_dtcd_pid()), 0); /* leaves its segment behind */
    int fd = segment_fd();

    ck_assert_int_eq(fchmod(fd, 0666), 0);
    run_dtcd();
    ck_assert_msg(res.code == 1, "dtcd on a 0666 segment: exit %d err=%s", res.code, res.err);
    ck_assert_msg(strstr(res.err, "DTC_EPERM") != NULL && strstr(res.err, "not ours") != NULL
                      && strstr(res.err, "mode 0666") != NULL,
                  "unclear message: %s", res.err);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0666); /* refused, not repaired */

    if (geteuid() == 0) {
        ck_assert_int_eq(fchown(fd, NOBODY, (gid_t)-1), 0);
        ck_assert_int_eq(fchmod(fd, 0600), 0);
        run_dtcd();
        ck_assert_msg(res.code == 1, "dtcd on a nobody segment: exit %d err=%s", res.code,
                      res.err);
        ck_assert_msg(strstr(res.err, "DTC_EPERM") != NULL
                          && strstr(res.err, "uid 65534") != NULL,
                      "unclear message: %s", res.err);
        ck_assert_int_eq(fchown(fd, 0, (gid_t)-1), 0);
    }

    /* the same segment, ours again: dtcd takes it over as before */
    ck_assert_int_eq(fchmod(fd, 0600), 0);
    close(fd);
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("r1", NULL), 0);
    h_run(&res, 10000, "dtcctl", "--instance", h_instance(), "run", "-p", "r1=x", NULL);
    ck_assert_msg(res.code == 0, "exit %d out=%s err=%s", res.code, res.out, res.err);
}
END_TEST

START_TEST(test_sec_no_permission_is_eperm)
{
    h_init("sec-eacces");
    if (geteuid() != 0)
        return; /* needs setuid */
    ck_assert_int_gt(h_start_dtcd(), 0);
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(100);
        dtc_instance *in = NULL;
        _exit((int)dtc_open(h_instance(), &in));
    }
    int status;
    ck_assert(h_wait(c, 5000, &status));
    int code = h_exit_code(status);
    ck_assert_msg(code == DTC_EPERM, "dtc_open as uid %d on a 0600 root segment gave %d (%s)",
                  NOBODY, code, dtc_result_name((dtc_result)code));
}
END_TEST

START_TEST(test_sec_duplicate_enlist)
{
    h_init("sec-dup");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_gt(h_start_noop("d1", NULL), 0);
    ck_assert_int_gt(h_start_noop("d2", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "d1", "a", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "d2", "b", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "d1", "c", 1), DTC_EDUPLICATE);
    ck_assert_int_eq(dtc_enlist(in, &id, "d2", "a", 1), DTC_EDUPLICATE);
    /* the refused enlistments left the transaction as it was */
    dtc_txn_info t;
    ck_assert_int_eq(dtc_transaction_status(in, &id, &t), DTC_OK);
    ck_assert_int_eq(t.state, DTC_TXN_ACTIVE);
    ck_assert_uint_eq(t.nentries, 2);
    ck_assert_str_eq(t.entries[0].name, "d1");
    ck_assert_str_eq(t.entries[1].name, "d2");
    ck_assert_int_eq(dtc_commit_transaction(in, &id, &t), DTC_OK);
    ck_assert_uint_eq(t.nentries, 2);
    /* another transaction may enlist d1 again */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "d1", "a", 1), DTC_OK);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);
}
END_TEST

/* Starts DTC_BIN_DIR/prog with fd `which` (1 or 2) the write end of a pipe
 * whose read end is closed in every process: its first write there is
 * EPIPE (or SIGPIPE).  The other output goes to <dir>/<label>.out|err. */
static pid_t spawn_broken_pipe(const char *label, int which, const char *prog,
                               const char *const argv[])
{
    char path[512], other[512];
    const char *args[32];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", DTC_BIN_DIR, prog);
    snprintf(other, sizeof other, "%s/%s.%s", h_dir(), label, which == 1 ? "err" : "out");
    args[n++] = path;
    for (size_t i = 0; argv[i] && n < 31; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int p[2], ofd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (pipe(p) != 0 || ofd < 0)
            _exit(126);
        close(p[0]); /* no reader, ever */
        dup2(p[1], which);
        dup2(ofd, which == 1 ? 2 : 1);
        signal(SIGPIPE, SIG_DFL); /* as from a shell */
        execv(path, (char *const *)args);
        _exit(127);
    }
    return pid;
}

START_TEST(test_sec_service_survives_sigpipe)
{
    h_init("sec-pipe");
    if (!h_have_program("dtc-payment"))
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", h_data_dir());
    const char *argv[] = {"--instance", h_instance(), "--data-dir", dir, "--name", "payment",
                          "--seed", "alice=1000", NULL};
    pid_t svc = spawn_broken_pipe("payment", 2, "dtc-payment", argv);
    ck_assert_msg(h_wait_participant("payment", svc, 5000), "payment never registered");
    dtc_instance *in = h_inst();
    for (int i = 0; i < 3; i++) {
        dtc_txid id;
        dtc_txn_info t;
        ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
        ck_assert_int_eq(dtc_enlist(in, &id, "payment", "charge alice 100", 16), DTC_OK);
        dtc_result rc = dtc_commit_transaction(in, &id, &t);
        if (rc != DTC_OK)
            h_report_print("charge", rc, &t);
        ck_assert_msg(rc == DTC_OK, "commit %d: %s", i, dtc_result_name(rc));
    }
    h_sleep_ms(100);
    ck_assert_msg(h_alive(svc), "the service died writing its log to a closed pipe");

    /* dtcctl with its stdout closed: the transaction still runs to its
     * end (committed), then the write error is reported (exit 2) */
    dtc_status st0, st1;
    ck_assert_int_eq(dtc_get_status(in, &st0), DTC_OK);
    const char *cargv[] = {"--instance", h_instance(), "run", "-p", "payment=charge alice 1",
                           NULL};
    pid_t ctl = spawn_broken_pipe("dtcctl", 1, "dtcctl", cargv);
    int status;
    ck_assert(h_wait(ctl, 10000, &status));
    char err[1024];
    h_read_output("dtcctl", "err", err, sizeof err);
    ck_assert_msg(h_exit_code(status) == 2, "dtcctl exit %d err=%s", h_exit_code(status), err);
    ck_assert_msg(strstr(err, "write error") != NULL, "stderr: %s", err);
    ck_assert(h_wait_idle(3000));
    ck_assert_int_eq(dtc_get_status(in, &st1), DTC_OK);
    ck_assert_uint_eq(st1.counters.committed, st0.counters.committed + 1);
    ck_assert(h_alive(svc));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("security");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_sec_open_checks_owner_and_mode);
    tcase_add_test(tc, test_sec_service_refuses_open_data_dir);
    tcase_add_test(tc, test_sec_dtcd_refuses_to_reattach_to_squatted_segment);
    tcase_add_test(tc, test_sec_no_permission_is_eperm);
    tcase_add_test(tc, test_sec_duplicate_enlist);
    tcase_add_test(tc, test_sec_service_survives_sigpipe);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
