/*
 * harness.c - see harness.h.  The lifecycle of a multi-process test: a
 * unique instance and temp dir per test, the table of the processes it
 * started (shared with a reaper process that cleans up after a test that
 * died), h_fork, and the suite runner.  The other harness_*.c files start
 * and stop processes (harness_proc.c), dtcd and participants
 * (harness_dtcd.c), the four services (harness_shop.c), and check JSON
 * (harness_json.c) and power cuts (harness_powercut.c).
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"
#include "internal.h" /* dtc__proc_start_time: never signal a reused pid */
#include "spawn.h"


#ifndef DTC_BIN_DIR
#error "DTC_BIN_DIR must be defined by the build"
#endif

#define H_MAX_PROCS 128

enum { H_FREE = 0, H_LIVE = 1 };

struct h_proc {
    pid_t pid;
    uint64_t start;   /* /proc start time, to never signal a reused pid */
    int state;        /* H_FREE / H_LIVE */
    int is_dtcd;
};

/* Shared with the reaper (MAP_SHARED): written only by the test process. */
struct h_table {
    char instance[DTC_INSTANCE_MAX];
    char dir[512];
    struct h_proc procs[H_MAX_PROCS];
};

static struct h_table *tab;
static int inited;
static int reaper_fd = -1;      /* write end: EOF wakes the reaper */
static pid_t reaper_pid = -1;
pid_t h__dtcd_pid = -1;
dtc_instance *h__inst;
static char data_dir[PATH_MAX];
static char dlog_dir[PATH_MAX];
static unsigned counter;
unsigned h__run_counter;
static int in_child;         /* a h_fork() child: hands off the table */

/* ---- small utilities --------------------------------------------------- */

int64_t h_now_ms(void)
{
    return dtc_kit_now_ms();
}

void h_sleep_ms(int ms)
{
    dtc_kit_sleep_ms(ms);
}

const char *h_instance(void) { return tab ? tab->instance : ""; }
const char *h_dir(void) { return tab ? tab->dir : ""; }
const char *h_data_dir(void) { return data_dir; }
const char *h_dlog_dir(void) { return dlog_dir; }
dtc_instance *h_inst(void) { return h__inst; }
pid_t h_dtcd_pid(void) { return h__dtcd_pid; }

static struct h_proc *find_proc(pid_t pid)
{
    if (tab == NULL || pid <= 0)
        return NULL;
    for (int i = 0; i < H_MAX_PROCS; i++)
        if (tab->procs[i].state == H_LIVE && tab->procs[i].pid == pid)
            return &tab->procs[i];
    return NULL;
}

void h__record(pid_t pid, int is_dtcd)
{
    if (tab == NULL || in_child)
        return;
    for (int i = 0; i < H_MAX_PROCS; i++) {
        if (tab->procs[i].state == H_FREE) {
            tab->procs[i].pid = pid;
            tab->procs[i].start = dtc__proc_start_time(pid);
            tab->procs[i].is_dtcd = is_dtcd;
            __atomic_store_n(&tab->procs[i].state, H_LIVE, __ATOMIC_RELEASE);
            return;
        }
    }
    fprintf(stderr, "harness: process table full\n");
}

void h__forget(pid_t pid)
{
    struct h_proc *p = in_child ? NULL : find_proc(pid);
    if (p)
        __atomic_store_n(&p->state, H_FREE, __ATOMIC_RELEASE);
    if (pid == h__dtcd_pid)
        h__dtcd_pid = -1;
}

int h__ours(pid_t pid)
{
    return find_proc(pid) != NULL;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *dir)
{
    if (dir[0] != '\0')
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void unlink_segment(const char *instance)
{
    char name[DTC_INSTANCE_MAX + 8];
    if (instance[0] == '\0')
        return;
    snprintf(name, sizeof name, "/dtc.%s", instance);
    shm_unlink(name);
}

/* Signals a recorded process only if its start time still matches. */
static int signal_proc(const struct h_proc *p, int sig)
{
    uint64_t start = dtc__proc_start_time(p->pid); /* 0 if gone or a zombie */
    if (start == 0 || start != p->start)
        return -1;
    return kill(p->pid, sig);
}

/* ---- the reaper -------------------------------------------------------- */

static void reaper_main(int rfd)
{
    char c;
    while (read(rfd, &c, 1) == -1 && errno == EINTR)
        ;
    /* The test process is gone (or h_fini closed the pipe): clean up. */
    for (int i = 0; i < H_MAX_PROCS; i++) {
        struct h_proc *p = &tab->procs[i];
        if (p->state == H_LIVE && !p->is_dtcd)
            signal_proc(p, SIGKILL);
    }
    for (int i = 0; i < H_MAX_PROCS; i++) {
        struct h_proc *p = &tab->procs[i];
        if (p->state != H_LIVE || !p->is_dtcd)
            continue;
        if (signal_proc(p, SIGTERM) == 0) {
            int64_t end = h_now_ms() + 3000;
            while (h_now_ms() < end && signal_proc(p, 0) == 0)
                h_sleep_ms(20);
            signal_proc(p, SIGKILL);
        }
    }
    unlink_segment(tab->instance);
    rm_rf(tab->dir);
    _exit(0);
}

/* ---- lifecycle --------------------------------------------------------- */

void h_init(const char *tag)
{
    if (inited)
        return;
    tab = mmap(NULL, sizeof *tab, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
               -1, 0);
    if (tab == MAP_FAILED) {
        perror("harness: mmap");
        abort();
    }
    memset(tab, 0, sizeof *tab);

    char clean[25];
    size_t k = 0;
    if (strncmp(tag, "test_", 5) == 0)
        tag += 5;
    for (; tag[k] != '\0' && k < sizeof clean - 1; k++)
        clean[k] = (isalnum((unsigned char)tag[k]) || tag[k] == '-') ? tag[k] : '-';
    clean[k] = '\0';
    snprintf(tab->instance, sizeof tab->instance, "t-%s-%d-%u", clean, (int)getpid(),
             counter++);

    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(tab->dir, sizeof tab->dir, "%s/dtc-%s-XXXXXX", tmp, clean);
    if (mkdtemp(tab->dir) == NULL) {
        perror("harness: mkdtemp");
        abort();
    }
    snprintf(data_dir, sizeof data_dir, "%s/data", tab->dir);
    snprintf(dlog_dir, sizeof dlog_dir, "%s/dlog", tab->dir);
    mkdir(data_dir, 0700);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        perror("harness: pipe");
        abort();
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Own process group: Check killpg()s the test's group at its end. */
        setpgid(0, 0);
        close(fds[1]);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        reaper_main(fds[0]);
    }
    close(fds[0]);
    reaper_fd = fds[1];
    reaper_pid = pid;
    inited = 1;
}

void h_fini(void)
{
    if (!inited)
        return;
    if (h__inst)
        dtc_close(&h__inst);
    if (h__dtcd_pid > 0)
        h_stop(h__dtcd_pid, 5000);
    /* SIGTERM everyone left, then a common deadline, then SIGKILL. */
    for (int i = 0; i < H_MAX_PROCS; i++)
        if (tab->procs[i].state == H_LIVE)
            signal_proc(&tab->procs[i], SIGTERM);
    int64_t end = h_now_ms() + 3000;
    for (int i = 0; i < H_MAX_PROCS; i++) {
        struct h_proc *p = &tab->procs[i];
        if (p->state != H_LIVE)
            continue;
        int64_t left = end - h_now_ms();
        int status;
        if (!h_wait(p->pid, left > 0 ? (int)left : 0, &status))
            h_kill9(p->pid);
    }
    unlink_segment(tab->instance);
    int bad_logs = h__lint_logs(tab->dir);
    rm_rf(tab->dir);
    close(reaper_fd);
    reaper_fd = -1;
    if (reaper_pid > 0) {
        int64_t rend = h_now_ms() + 5000;
        while (h_now_ms() < rend && waitpid(reaper_pid, NULL, WNOHANG) == 0)
            h_sleep_ms(5);
        reaper_pid = -1;
    }
    munmap(tab, sizeof *tab);
    tab = NULL;
    inited = 0;
    ck_assert_msg(bad_logs == 0, "%d log line(s) are not strict logfmt (above)", bad_logs);
}

pid_t h_fork(void)
{
    /* Check's SIGTERM/SIGINT handler kills the whole process group: a
     * child stopped with SIGTERM must die of it, not run that handler and
     * take the test down with it.  The signals are blocked across the
     * fork, so one sent to the child at once waits for SIG_DFL. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    fflush(NULL);
    sigprocmask(SIG_BLOCK, &stop, &old);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid == 0) {
        /* The child keeps the test's process group (Check kills it) but
         * must not keep the reaper waiting, nor touch the table. */
        if (reaper_fd >= 0)
            close(reaper_fd);
        reaper_fd = -1;
        inited = 0;
        in_child = 1; /* the table stays readable, never written */
        h__inst = NULL;
        h__dtcd_pid = -1;
        return 0;
    }
    if (pid > 0)
        h__record(pid, 0);
    return pid;
}

int h_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
