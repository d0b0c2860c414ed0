/*
 * harness_proc.c - see harness.h: the test's processes over the kit's
 * spawn.h (src/kit/): start a program of DTC_BIN_DIR with its output in
 * <dir>/<label>.out|.err, in its own process group, recorded in the
 * process table; bounded waits; stop by pid (SIGTERM, then SIGKILL); run
 * a command to completion and read its output.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"
#include "spawn.h"

/* ---- processes --------------------------------------------------------- */

int h_exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int h_have_program(const char *prog)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", DTC_BIN_DIR, prog);
    return access(path, X_OK) == 0;
}


pid_t h_spawnv(const char *label, const char *prog, const char *const argv[],
               const char *const env[])
{
    char path[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    const char *args[H_MAX_ARGS + 2];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", DTC_BIN_DIR, prog);
    snprintf(out, sizeof out, "%s/%s.out", h_dir(), label);
    snprintf(err, sizeof err, "%s/%s.err", h_dir(), label);
    args[n++] = path;
    for (size_t i = 0; argv && argv[i] && n < H_MAX_ARGS; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    struct dtc_kit_spawn s = {
        .argv = (char *const *)args, .env = env, .out_fd = -1, .out_path = out,
        .err_path = err, .flags = DTC_KIT_OWN_GROUP | DTC_KIT_STDIN_NULL,
    };
    pid_t pid = dtc_kit_spawn(&s);
    if (pid < 0)
        return -1;
    h__record(pid, strcmp(prog, "dtcd") == 0);
    return pid;
}

size_t h__collect(const char *first, va_list ap, const char **argv, size_t cap)
{
    size_t n = 0;
    for (const char *a = first; a != NULL && n < cap - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    argv[n] = NULL;
    return n;
}

pid_t h_spawn(const char *label, const char *prog, ...)
{
    const char *argv[H_MAX_ARGS];
    va_list ap;
    va_start(ap, prog);
    const char *first = va_arg(ap, const char *);
    h__collect(first, ap, argv, H_MAX_ARGS);
    va_end(ap);
    return h_spawnv(label, prog, argv, NULL);
}

int h_wait(pid_t pid, int timeout_ms, int *status)
{
    if (!dtc_kit_wait(pid, timeout_ms, status))
        return 0;
    h__forget(pid);
    return 1;
}

int h_kill9(pid_t pid)
{
    int status = -1;
    if (!h__ours(pid))
        return -1;
    kill(pid, SIGKILL); /* our unreaped child: the pid cannot be reused */
    if (!h_wait(pid, 5000, &status))
        return -1;
    return status;
}

int h_stop(pid_t pid, int timeout_ms)
{
    int status = -1;
    if (!h__ours(pid))
        return -1;
    if (dtc_kit_stop(pid, timeout_ms, &status) < 0)
        return -1;
    h__forget(pid);
    return status;
}

int h_alive(pid_t pid)
{
    if (!h__ours(pid))
        return 0;
    if (!dtc_kit_wait(pid, 0, NULL)) /* one WNOHANG look: still running */
        return 1;
    h__forget(pid);
    return 0;
}

/* ---- running a command --------------------------------------------------- */

void h_read_output(const char *label, const char *ext, char *buf, size_t cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.%s", h_dir(), label, ext);
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t len = 0;
    ssize_t r;
    while (len < cap - 1 && (r = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
}

int h_runv(h_result *r, int timeout_ms, const char *const env[], const char *prog,
           const char *const argv[])
{
    char label[64];
    snprintf(label, sizeof label, "run-%u", h__run_counter++);
    r->code = -1;
    r->out[0] = r->err[0] = '\0';
    pid_t pid = h_spawnv(label, prog, argv, env);
    if (pid < 0)
        return -1;
    int status;
    if (h_wait(pid, timeout_ms, &status)) {
        r->code = h_exit_code(status);
    } else {
        h_kill9(pid);
        r->code = -1;
    }
    h_read_output(label, "out", r->out, sizeof r->out);
    h_read_output(label, "err", r->err, sizeof r->err);
    return r->code;
}

int h_run(h_result *r, int timeout_ms, const char *prog, ...)
{
    const char *argv[H_MAX_ARGS];
    va_list ap;
    va_start(ap, prog);
    const char *first = va_arg(ap, const char *);
    h__collect(first, ap, argv, H_MAX_ARGS);
    va_end(ap);
    return h_runv(r, timeout_ms, NULL, prog, argv);
}
