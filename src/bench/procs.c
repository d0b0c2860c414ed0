/*
 * procs.c - the benchmark's child processes (dtcd, participants) over the
 * kit's spawn.h: started with stdout on a pipe and stderr to a file, ready
 * when they print a "ready" line, stopped by pid with SIGTERM then SIGKILL
 * after a bounded wait; these wrappers add dtc-bench's messages.  Children
 * die with us (PR_SET_PDEATHSIG) and dtc_kit_kill_all() ends the rest.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int bench_spawn_ready(char *const argv[], const char *err_path, int timeout_ms,
                      struct bench_child *out)
{
    int fds[2];
    const char *base = strrchr(argv[0], '/');
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", base != NULL ? base + 1 : argv[0]);
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    struct dtc_kit_spawn s = {
        .argv = argv, .out_fd = fds[1], .err_path = err_path,
        .flags = DTC_KIT_DIE_WITH_PARENT,
    };
    pid_t pid = dtc_kit_spawn(&s);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    out->pid = pid;
    out->out_fd = fds[0];
    if (dtc_kit_wait_ready(fds[0], timeout_ms) != 0) {
        fprintf(stderr, "dtc-bench: %s (pid %d) not ready after %d ms; see %s\n", out->name,
                (int)pid, timeout_ms, err_path);
        bench_stop(out, 1000);
        return -1;
    }
    return 0;
}

int bench_stop(struct bench_child *c, int timeout_ms)
{
    int st = 0, rc = -1;
    if (c->pid <= 0)
        return 0;
    int how = dtc_kit_stop(c->pid, timeout_ms, &st);
    if (how == 1)
        rc = st;
    else
        fprintf(stderr, "dtc-bench: %s (pid %d) ignored SIGTERM for %d ms: SIGKILL\n",
                c->name, (int)c->pid, timeout_ms);
    if (c->out_fd > 0)
        close(c->out_fd);
    c->pid = 0;
    c->out_fd = -1;
    return rc;
}
