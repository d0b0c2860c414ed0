/*
 * harness_dtcd.c - see harness.h: dtcd on the test's instance (started,
 * ready once dtc_open works and the supervisor is alive, stopped), and
 * participants (dtc-noop, the services) started and waited for until
 * registered and ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

/* ---- dtcd ---------------------------------------------------------------- */

pid_t h_start_dtcdv(const char *const extra[])
{
    return h_start_dtcd_env(extra, NULL);
}

pid_t h_start_dtcd_env(const char *const extra[], const char *const env[])
{
    const char *argv[H_MAX_ARGS];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--shutdown-grace-ms";
    argv[n++] = "1000";
    argv[n++] = "--data-dir";
    argv[n++] = h_dlog_dir();
    argv[n++] = "--dlog-file-mb";
    argv[n++] = "2";
    for (size_t i = 0; extra && extra[i] && n < H_MAX_ARGS - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = h_spawnv("dtcd", "dtcd", argv, env);
    if (pid < 0)
        return -1;
    int64_t end = h_now_ms() + 5000;
    dtc_instance *in = NULL;
    dtc_result orc = DTC_ENOSEGMENT;
    while (h_now_ms() < end) {
        if (!h_alive(pid)) {
            char err[512];
            h_read_output("dtcd", "err", err, sizeof err);
            fprintf(stderr, "harness: dtcd exited early: %s\n", err);
            return -1;
        }
        if (in == NULL && (orc = dtc_open(h_instance(), &in)) != DTC_OK)
            in = NULL;
        if (in != NULL) {
            dtc_status st;
            if (dtc_get_status(in, &st) == DTC_OK && st.supervisor_alive && !st.recovering) {
                if (h__inst)
                    dtc_close(&h__inst);
                h__inst = in;
                h__dtcd_pid = pid;
                return pid;
            }
        }
        h_sleep_ms(10);
    }
    if (in)
        dtc_close(&in);
    fprintf(stderr, "harness: dtcd not ready within 5 s (dtc_open: %s)\n",
            dtc_result_name(orc));
    return -1;
}

pid_t h_start_dtcd(void)
{
    return h_start_dtcdv(NULL);
}

int h_stop_dtcd(int timeout_ms)
{
    if (h__dtcd_pid <= 0)
        return -1;
    if (h__inst)
        dtc_close(&h__inst);
    int st = h_stop(h__dtcd_pid, timeout_ms);
    h__dtcd_pid = -1;
    return st == -1 ? -1 : h_exit_code(st);
}

/* ---- participants -------------------------------------------------------- */

int h_find_participant(const char *name, dtc_participant_info *out)
{
    dtc_participant_info arr[DTC_LIMIT_MAX_PARTICIPANTS];
    size_t n = 0;
    if (h__inst == NULL || dtc_list_participants(h__inst, arr, DTC_LIMIT_MAX_PARTICIPANTS, &n)
                            != DTC_OK)
        return 0;
    if (n > DTC_LIMIT_MAX_PARTICIPANTS)
        n = DTC_LIMIT_MAX_PARTICIPANTS;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(arr[i].name, name) == 0) {
            if (out)
                *out = arr[i];
            return 1;
        }
    }
    return 0;
}

int h_wait_participant(const char *name, pid_t pid, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    for (;;) {
        dtc_participant_info pi;
        if (h_find_participant(name, &pi) && pi.alive && (pid <= 0 || pi.pid == pid))
            return 1;
        if (pid > 0 && !h_alive(pid))
            return 0;
        if (h_now_ms() >= end)
            return 0;
        h_sleep_ms(10);
    }
}

pid_t h__start_and_wait(const char *label, const char *prog, const char *name,
                        const char **argv, const char *const env[])
{
    pid_t pid = h_spawnv(label, prog, argv, env);
    if (pid < 0)
        return -1;
    if (!h_wait_participant(name, pid, 5000)) {
        char err[512];
        h_read_output(label, "err", err, sizeof err);
        fprintf(stderr, "harness: %s (%s) did not register: %s\n", prog, name, err);
        return -1;
    }
    /* Registered is not ready: a service opens its state file after it
     * registers, then prints "ready". */
    char out[512];
    int64_t end = h_now_ms() + 5000;
    for (h_read_output(label, "out", out, sizeof out); !strstr(out, "ready name=");
         h_read_output(label, "out", out, sizeof out)) {
        if (h_now_ms() >= end) {
            fprintf(stderr, "harness: %s (%s) never printed ready\n", prog, name);
            return -1;
        }
        h_sleep_ms(5);
    }
    return pid;
}

pid_t h_start_noop(const char *name, ...)
{
    const char *argv[H_MAX_ARGS];
    char label[96];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--name";
    argv[n++] = name;
    va_list ap;
    va_start(ap, name);
    const char *first = va_arg(ap, const char *);
    h__collect(first, ap, argv + n, H_MAX_ARGS - n);
    va_end(ap);
    snprintf(label, sizeof label, "noop-%s-%u", name, h__run_counter++);
    return h__start_and_wait(label, "dtc-noop", name, argv, NULL);
}

static pid_t start_service(const char *service, const char *name, const char *const env[],
                           const char *first, va_list ap)
{
    const char *argv[H_MAX_ARGS];
    char label[96], prog[64];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--data-dir";
    argv[n++] = h_data_dir();
    argv[n++] = "--name";
    argv[n++] = name;
    h__collect(first, ap, argv + n, H_MAX_ARGS - n);
    snprintf(prog, sizeof prog, "dtc-%s", service);
    snprintf(label, sizeof label, "%s-%u", name, h__run_counter++);
    return h__start_and_wait(label, prog, name, argv, env);
}

pid_t h_start_service(const char *service, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    const char *first = va_arg(ap, const char *);
    pid_t pid = start_service(service, name, NULL, first, ap);
    va_end(ap);
    return pid;
}

pid_t h_start_service_env(const char *service, const char *name, const char *const env[],
                          ...)
{
    va_list ap;
    va_start(ap, env);
    const char *first = va_arg(ap, const char *);
    pid_t pid = start_service(service, name, env, first, ap);
    va_end(ap);
    return pid;
}

int h_wait_idle(int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    for (;;) {
        dtc_status st;
        if (h__inst && dtc_get_status(h__inst, &st) == DTC_OK && st.txns_in_use == 0)
            return 1;
        if (h_now_ms() >= end)
            return 0;
        h_sleep_ms(10);
    }
}

pid_t h_start_jnoop(const char *name, const char *label, const char *bytes,
                    const char *const env[])
{
    return h_start_jnoopv(name, label, bytes, NULL, env);
}

pid_t h_start_jnoopv(const char *name, const char *label, const char *bytes,
                     const char *const extra[], const char *const env[])
{
    const char *argv[H_MAX_ARGS] = {"--instance", h_instance(), "--name", name, "--journal", bytes};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < H_MAX_ARGS - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = h_spawnv(label, "dtc-noop", argv, env);
    ck_assert_int_gt(pid, 0);
    size_t cap = 8u << 20; /* its replay comes first: one line per record */
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    int64_t end = h_now_ms() + 20000;
    for (h_read_output(label, "out", out, cap); !strstr(out, "ready name=");
         h_read_output(label, "out", out, cap)) {
        ck_assert_msg(h_now_ms() < end && h_alive(pid), "%s never got ready: %.1000s", label,
                      out);
        h_sleep_ms(20);
    }
    free(out);
    return pid;
}

void h_heuristic_exited(dtc_txid *id)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dtc_instance *in = NULL;
        dtc_txn_options o;
        dtc_txn_options_default(&o);
        o.max_retries = 1;
        if (dtc_open(h_instance(), &in) != DTC_OK || dtc_begin_transaction(in, &o, id) != DTC_OK
            || write(fds[1], id, sizeof *id) != (ssize_t)sizeof *id
            || dtc_enlist(in, id, "a", "x", 1) != DTC_OK || dtc_enlist(in, id, "b", "x", 1) != DTC_OK)
            _exit(3);
        _exit(dtc_commit_transaction(in, id, NULL) == DTC_EHEURISTIC ? 0 : 1);
    }
    ck_assert_int_eq(read(fds[0], id, sizeof *id), sizeof *id);
    close(fds[0]);
    close(fds[1]);
    int st;
    ck_assert_int_eq(h_wait(pid, 15000, &st), 1);
    ck_assert_int_eq(h_exit_code(st), 0);
}
