/*
 * spawn.h - the process kit of dtc's programs and tests (libdtckit): start
 * a program, wait until it is ready, stop it by pid, every wait bounded.
 * Used by dtc-bench (src/bench/procs.c) and the test harness
 * (tests/harness_proc.c); pg_cluster.c runs initdb and pg_ctl with it.
 *
 * Every child started here is remembered until the kit reaps it, so that
 * dtc_kit_kill_all() can end the ones left (atexit and signal paths).
 * Only our own children are ever signalled, by pid.
 */
#ifndef DTC_KIT_SPAWN_H
#define DTC_KIT_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

/* How dtc_kit_spawn starts a child (flags). */
enum {
    DTC_KIT_OWN_GROUP = 1u << 0,       /* its own process group (setpgid on both sides) */
    DTC_KIT_DIE_WITH_PARENT = 1u << 1, /* SIGTERM when we die (PR_SET_PDEATHSIG) */
    DTC_KIT_PATH_SEARCH = 1u << 2,     /* argv[0] is searched in PATH (execvp) */
    DTC_KIT_STDIN_NULL = 1u << 3,      /* stdin from /dev/null */
    DTC_KIT_APPEND = 1u << 4,          /* output files appended, not truncated */
};

struct dtc_kit_spawn {
    char *const *argv;       /* argv[0]: the program's path (or name, PATH_SEARCH) */
    const char *const *env;  /* "K=V" added to the environment; NULL-terminated or NULL */
    int out_fd;              /* >= 0: stdout to this fd, else to out_path */
    const char *out_path;    /* NULL (and out_fd < 0): stdout inherited */
    const char *err_path;    /* NULL: stderr goes where stdout goes */
    const char *cwd;         /* NULL: ours */
    int mode;                /* of created output files; 0: 0600 */
    unsigned flags;          /* DTC_KIT_* */
};

/* Forks and execs; the child redirects as told (opening files with
 * O_NOFOLLOW), exits 126 if it cannot, 127 if the exec fails (with
 * "exec PATH: why" on its stderr).  SIGPIPE is back to its default in
 * the child.  Returns the pid (remembered), or -1. */
pid_t dtc_kit_spawn(const struct dtc_kit_spawn *s);

/* Bounded waitpid: 1 when it ended (*status, if not NULL, is the wait
 * status, or -1 if it was not our child), 0 if still running after
 * timeout_ms. */
int dtc_kit_wait(pid_t pid, int timeout_ms, int *status);

/* SIGTERM, waits up to timeout_ms, then SIGKILL and waits up to 5 s more.
 * 1: it ended after SIGTERM; 0: it needed SIGKILL; -1: still not reaped.
 * *status (if not NULL) gets the final wait status. */
int dtc_kit_stop(pid_t pid, int timeout_ms, int *status);

/* Reads fd (a child's stdout) until a line starting with "ready": 0, or
 * -1 when timeout_ms passes or the child closes it first. */
int dtc_kit_wait_ready(int fd, int timeout_ms);

/* Runs argv to completion in its own process group, stdin from /dev/null,
 * stdout and stderr appended to log_path (mode 0644), in cwd (NULL: ours);
 * argv[0] is searched in PATH.  The wait status, or -1 if it could not
 * start or ran past timeout_ms (its whole group is then SIGKILLed). */
int dtc_kit_run(char *const argv[], const char *log_path, const char *cwd, int timeout_ms);

/* Remembers a child started otherwise (fork) for dtc_kit_kill_all. */
void dtc_kit_track(pid_t pid);
/* SIGKILLs and reaps every remembered child still running. */
void dtc_kit_kill_all(void);

/* CLOCK_MONOTONIC in milliseconds; a sleep that resumes after signals. */
int64_t dtc_kit_now_ms(void);
void dtc_kit_sleep_ms(int ms);

#endif /* DTC_KIT_SPAWN_H */
