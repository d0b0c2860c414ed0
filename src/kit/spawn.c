/*
 * spawn.c - the process kit (spawn.h): start a child with its output
 * redirected, wait (bounded) for its "ready" line, stop it by pid with
 * SIGTERM then SIGKILL after a bounded wait, run a command to completion
 * in its own process group.  Every child is remembered until reaped, so
 * that dtc_kit_kill_all() can end the ones still running.
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

#include "spawn.h"

#define KIT_MAX_CHILDREN 128

static pid_t running[KIT_MAX_CHILDREN];

static void remember(pid_t pid, pid_t old)
{
    for (size_t i = 0; i < KIT_MAX_CHILDREN; i++)
        if (running[i] == old) {
            running[i] = pid;
            return;
        }
}

void dtc_kit_track(pid_t pid)
{
    if (pid > 0)
        remember(pid, 0);
}

void dtc_kit_kill_all(void)
{
    for (size_t i = 0; i < KIT_MAX_CHILDREN; i++)
        if (running[i] > 0) {
            kill(running[i], SIGKILL);
            waitpid(running[i], NULL, 0);
            running[i] = 0;
        }
}

int64_t dtc_kit_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void dtc_kit_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

/* fd onto target: an open file (flags) or, with path NULL, keep it. */
static int redirect(const char *path, int flags, int mode, int target)
{
    if (path == NULL)
        return 0;
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    return fd < 0 || dup2(fd, target) < 0 ? -1 : 0;
}

static void child(const struct dtc_kit_spawn *s, pid_t parent)
{
    int mode = s->mode ? s->mode : 0600;
    int wflags = O_WRONLY | O_CREAT | ((s->flags & DTC_KIT_APPEND) ? O_APPEND : O_TRUNC);
    if (s->flags & DTC_KIT_DIE_WITH_PARENT) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
    }
    if (s->flags & DTC_KIT_OWN_GROUP)
        setpgid(0, 0);
    if ((s->flags & DTC_KIT_STDIN_NULL) && redirect("/dev/null", O_RDONLY, 0, 0) != 0)
        _exit(126);
    int out_ok = s->out_fd >= 0 ? dup2(s->out_fd, 1) >= 0
                                : redirect(s->out_path, wflags, mode, 1) == 0;
    int redirected = s->out_fd >= 0 || s->out_path != NULL;
    int err_ok = s->err_path != NULL ? redirect(s->err_path, wflags, mode, 2) == 0
                 : redirected        ? dup2(1, 2) >= 0
                                     : 1;
    if (!out_ok || !err_ok)
        _exit(126);
    if (s->cwd != NULL && chdir(s->cwd) != 0) {
        dprintf(2, "chdir %s: %s\n", s->cwd, strerror(errno));
        _exit(127);
    }
    for (size_t i = 0; s->env != NULL && s->env[i] != NULL; i++)
        putenv((char *)s->env[i]);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL); /* dtc-bench ignores it; its children decide for themselves */
    if (s->flags & DTC_KIT_PATH_SEARCH)
        execvp(s->argv[0], s->argv);
    else
        execv(s->argv[0], s->argv);
    dprintf(2, "exec %s: %s\n", s->argv[0], strerror(errno));
    _exit(127);
}

pid_t dtc_kit_spawn(const struct dtc_kit_spawn *s)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child(s, parent);
    if (pid < 0)
        return -1;
    if (s->flags & DTC_KIT_OWN_GROUP)
        setpgid(pid, pid); /* also in the child: whichever runs first */
    remember(pid, 0);
    return pid;
}

int dtc_kit_wait(pid_t pid, int timeout_ms, int *status)
{
    int64_t end = dtc_kit_now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r == -1 && errno != EINTR)) {
            if (status != NULL)
                *status = r == pid ? st : -1;
            remember(0, pid);
            return 1;
        }
        if (dtc_kit_now_ms() >= end)
            return 0;
        dtc_kit_sleep_ms(2);
    }
}

int dtc_kit_stop(pid_t pid, int timeout_ms, int *status)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    if (dtc_kit_wait(pid, timeout_ms, status))
        return 1;
    kill(pid, SIGKILL); /* our unreaped child: the pid cannot be reused */
    return dtc_kit_wait(pid, 5000, status) ? 0 : -1;
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

int dtc_kit_wait_ready(int fd, int timeout_ms)
{
    char buf[512];
    size_t n = 0;
    int64_t deadline = dtc_kit_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - dtc_kit_now_ms();
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

int dtc_kit_run(char *const argv[], const char *log_path, const char *cwd, int timeout_ms)
{
    struct dtc_kit_spawn s = {
        .argv = argv, .out_fd = -1, .out_path = log_path, .cwd = cwd, .mode = 0644,
        .flags = DTC_KIT_OWN_GROUP | DTC_KIT_DIE_WITH_PARENT | DTC_KIT_PATH_SEARCH
                 | DTC_KIT_STDIN_NULL | DTC_KIT_APPEND,
    };
    pid_t pid = dtc_kit_spawn(&s);
    if (pid < 0)
        return -1;
    int st = -1;
    if (!dtc_kit_wait(pid, timeout_ms, &st)) {
        fprintf(stderr, "%s: %s (pid %d) still running after %d ms: SIGKILL\n",
                program_invocation_short_name, argv[0], (int)pid, timeout_ms);
        kill(-pid, SIGKILL);
        dtc_kit_wait(pid, 5000, NULL);
        st = -1;
    }
    return st;
}
