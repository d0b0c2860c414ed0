/*
 * procs.c - child processes of the benchmark (dtcd, participants): start
 * with stdout on a pipe and stderr to a file, wait (bounded) for their
 * "ready" line, stop them by pid with SIGTERM then SIGKILL after a bounded
 * wait.  Every child is remembered so that bench_kill_all() can end the
 * ones still running, and gets PR_SET_PDEATHSIG so none outlives us.
 * bench_run_wait runs a command to completion instead (initdb, pg_ctl),
 * in its own process group so that a timeout ends the helpers it forked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static pid_t running[BENCH_MAX_CHILDREN * 2];

static void remember(pid_t pid, pid_t old)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
        if (running[i] == old) {
            running[i] = pid;
            return;
        }
}

void bench_track(pid_t pid)
{
    remember(pid, 0);
}

void bench_kill_all(void)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
        if (running[i] > 0) {
            kill(running[i], SIGKILL);
            waitpid(running[i], NULL, 0);
            running[i] = 0;
        }
}

static void child(char *const argv[], int out_fd, const char *err_path, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dup2(out_fd, 1) < 0 || (err >= 0 && dup2(err, 2) < 0))
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int has_ready_line(const char *buf)
{
    for (const char *l = buf; l != NULL;) {
        if (strncmp(l, "ready", 5) == 0)
            return 1;
        l = strchr(l, '\n');
        if (l != NULL)
            l++;
    }
    return 0;
}

/* Reads from fd until a line starting with "ready" or the deadline. */
static int wait_ready(int fd, int timeout_ms)
{
    char buf[512];
    size_t n = 0;
    int64_t deadline = bench_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int64_t left = (deadline - bench_now_ns()) / 1000000;
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return -1; /* it exited */
        n += (size_t)r;
        buf[n] = '\0';
        if (has_ready_line(buf))
            return 0;
        if (n == sizeof buf - 1)
            n = 0;
    }
}

int bench_spawn_ready(char *const argv[], const char *err_path, int timeout_ms,
                      struct bench_child *out)
{
    int fds[2];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]);
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t parent = getpid(), pid = fork();
    if (pid == 0)
        child(argv, fds[1], err_path, parent);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    remember(pid, 0);
    out->pid = pid;
    out->out_fd = fds[0];
    if (wait_ready(fds[0], timeout_ms) != 0) {
        fprintf(stderr, "dtc-bench: %s (pid %d) not ready after %d ms; see %s\n", out->name,
                (int)pid, timeout_ms, err_path);
        bench_stop(out, 1000);
        return -1;
    }
    return 0;
}

/* waitpid with a deadline: 1 reaped (status in *st), 0 still running. */
static int reap_within(pid_t pid, int timeout_ms, int *st)
{
    int64_t deadline = bench_now_ns() + (int64_t)timeout_ms * 1000000;
    do {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    } while (bench_now_ns() < deadline);
    return 0;
}

int bench_stop(struct bench_child *c, int timeout_ms)
{
    int st = 0, rc = -1;
    if (c->pid <= 0)
        return 0;
    kill(c->pid, SIGTERM);
    if (reap_within(c->pid, timeout_ms, &st))
        rc = st;
    else {
        fprintf(stderr, "dtc-bench: %s (pid %d) ignored SIGTERM for %d ms: SIGKILL\n",
                c->name, (int)c->pid, timeout_ms);
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    remember(0, c->pid);
    if (c->out_fd > 0)
        close(c->out_fd);
    c->pid = 0;
    c->out_fd = -1;
    return rc;
}

static void run_child(char *const argv[], const char *log_path, const char *cwd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        _exit(127);
    if (cwd != NULL && chdir(cwd) != 0) {
        dprintf(2, "chdir %s: %s\n", cwd, strerror(errno));
        _exit(127);
    }
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int bench_run_wait(char *const argv[], const char *log_path, const char *cwd, int timeout_ms)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0)
        run_child(argv, log_path, cwd, parent);
    if (pid < 0)
        return -1;
    setpgid(pid, pid); /* also in the child: whichever runs first */
    remember(pid, 0);
    int st = -1;
    if (!reap_within(pid, timeout_ms, &st)) {
        fprintf(stderr, "dtc-bench: %s (pid %d) still running after %d ms: SIGKILL\n", argv[0],
                (int)pid, timeout_ms);
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        st = -1;
    }
    remember(0, pid);
    return st;
}
