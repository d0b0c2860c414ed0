/*
 * harness.c - see harness.h.  Multi-process test helpers: unique instance
 * and temp dir per test, a process table shared with a reaper process that
 * cleans up after a test that died, bounded waits everywhere.
 */
#include "harness.h"
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DTC_BIN_DIR
#error "DTC_BIN_DIR must be defined by the build"
#endif

#define H_MAX_PROCS 128
#define H_MAX_ARGS 64

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
static pid_t dtcd_pid = -1;
static dtc_instance *inst;
static char data_dir[PATH_MAX];
static char dlog_dir[PATH_MAX];
static unsigned counter;
static unsigned run_counter;
static int in_child;         /* a h_fork() child: hands off the table */

/* ---- small utilities --------------------------------------------------- */

int64_t h_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

const char *h_instance(void) { return tab ? tab->instance : ""; }
const char *h_dir(void) { return tab ? tab->dir : ""; }
const char *h_data_dir(void) { return data_dir; }
const char *h_dlog_dir(void) { return dlog_dir; }
dtc_instance *h_inst(void) { return inst; }
pid_t h_dtcd_pid(void) { return dtcd_pid; }

static struct h_proc *find_proc(pid_t pid)
{
    if (tab == NULL || pid <= 0)
        return NULL;
    for (int i = 0; i < H_MAX_PROCS; i++)
        if (tab->procs[i].state == H_LIVE && tab->procs[i].pid == pid)
            return &tab->procs[i];
    return NULL;
}

static void record(pid_t pid, int is_dtcd)
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

static void forget(pid_t pid)
{
    struct h_proc *p = in_child ? NULL : find_proc(pid);
    if (p)
        __atomic_store_n(&p->state, H_FREE, __ATOMIC_RELEASE);
    if (pid == dtcd_pid)
        dtcd_pid = -1;
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
    if (inst)
        dtc_close(&inst);
    if (dtcd_pid > 0)
        h_stop(dtcd_pid, 5000);
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
}

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
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nfd = open("/dev/null", O_RDONLY);
        if (ofd < 0 || efd < 0 || nfd < 0)
            _exit(126);
        dup2(nfd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(path, (char *const *)args);
        dprintf(2, "harness: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* both sides: no race with a signal to the group */
    record(pid, strcmp(prog, "dtcd") == 0);
    return pid;
}

static size_t collect(const char *const first, va_list ap, const char **argv, size_t cap)
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
    collect(first, ap, argv, H_MAX_ARGS);
    va_end(ap);
    return h_spawnv(label, prog, argv, NULL);
}

pid_t h_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child keeps the test's process group (Check kills it) but
         * must not keep the reaper waiting, nor touch the table. */
        if (reaper_fd >= 0)
            close(reaper_fd);
        reaper_fd = -1;
        inited = 0;
        in_child = 1; /* the table stays readable, never written */
        inst = NULL;
        dtcd_pid = -1;
        return 0;
    }
    if (pid > 0)
        record(pid, 0);
    return pid;
}

int h_wait(pid_t pid, int timeout_ms, int *status)
{
    int64_t end = h_now_ms() + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (status)
                *status = st;
            forget(pid);
            return 1;
        }
        if (r == -1 && errno != EINTR) {
            forget(pid);
            if (status)
                *status = -1;
            return 1;
        }
        if (h_now_ms() >= end)
            return 0;
        h_sleep_ms(5);
    }
}

int h_kill9(pid_t pid)
{
    struct h_proc *p = find_proc(pid);
    int status = -1;
    if (p == NULL)
        return -1;
    kill(pid, SIGKILL); /* our unreaped child: the pid cannot be reused */
    if (!h_wait(pid, 5000, &status))
        return -1;
    return status;
}

int h_stop(pid_t pid, int timeout_ms)
{
    struct h_proc *p = find_proc(pid);
    int status = -1;
    if (p == NULL)
        return -1;
    kill(pid, SIGTERM);
    if (h_wait(pid, timeout_ms, &status))
        return status;
    return h_kill9(pid);
}

int h_alive(pid_t pid)
{
    if (find_proc(pid) == NULL)
        return 0;
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == 0)
        return 1;
    forget(pid);
    return 0;
}

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
                if (inst)
                    dtc_close(&inst);
                inst = in;
                dtcd_pid = pid;
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
    if (dtcd_pid <= 0)
        return -1;
    if (inst)
        dtc_close(&inst);
    int st = h_stop(dtcd_pid, timeout_ms);
    dtcd_pid = -1;
    return st == -1 ? -1 : h_exit_code(st);
}

/* ---- participants -------------------------------------------------------- */

int h_find_participant(const char *name, dtc_participant_info *out)
{
    dtc_participant_info arr[DTC_LIMIT_MAX_PARTICIPANTS];
    size_t n = 0;
    if (inst == NULL || dtc_list_participants(inst, arr, DTC_LIMIT_MAX_PARTICIPANTS, &n)
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

static pid_t start_and_wait(const char *label, const char *prog, const char *name,
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
    collect(first, ap, argv + n, H_MAX_ARGS - n);
    va_end(ap);
    snprintf(label, sizeof label, "noop-%s-%u", name, run_counter++);
    return start_and_wait(label, "dtc-noop", name, argv, NULL);
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
    argv[n++] = data_dir;
    argv[n++] = "--name";
    argv[n++] = name;
    collect(first, ap, argv + n, H_MAX_ARGS - n);
    snprintf(prog, sizeof prog, "dtc-%s", service);
    snprintf(label, sizeof label, "%s-%u", name, run_counter++);
    return start_and_wait(label, prog, name, argv, env);
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
        if (inst && dtc_get_status(inst, &st) == DTC_OK && st.txns_in_use == 0)
            return 1;
        if (h_now_ms() >= end)
            return 0;
        h_sleep_ms(10);
    }
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
    snprintf(label, sizeof label, "run-%u", run_counter++);
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
    collect(first, ap, argv, H_MAX_ARGS);
    va_end(ap);
    return h_runv(r, timeout_ms, NULL, prog, argv);
}

/* ---- dumps --------------------------------------------------------------- */

int h_dump_service(const char *service, const char *name, h_dump *d)
{
    static h_result r; /* large: keep it off the stack */
    char prog[64];
    memset(d, 0, sizeof *d);
    d->ledger = -1;
    snprintf(prog, sizeof prog, "dtc-%s", service);
    const char *argv[] = {"--dump", "--data-dir", data_dir, "--name", name, NULL};
    if (h_runv(&r, 5000, NULL, prog, argv) != 0) {
        fprintf(stderr, "harness: %s --dump exit %d: %s\n", prog, r.code, r.err);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long v;
        if (sscanf(line, "ledger %ld", &v) == 1 && strncmp(line, "ledger ", 7) == 0) {
            d->ledger = v;
            continue;
        }
        if (d->n >= H_DUMP_MAX)
            continue;
        h_rec *rec = &d->recs[d->n];
        int used = 0;
        if (sscanf(line, "%63s %127s %ld %n", rec->key, rec->value, &rec->version, &used) < 3)
            continue;
        snprintf(rec->note, sizeof rec->note, "%s", line + used);
        size_t nl = strlen(rec->note);
        while (nl > 0 && isspace((unsigned char)rec->note[nl - 1]))
            rec->note[--nl] = '\0';
        d->n++;
    }
    return d->ledger >= 0 ? 0 : -1;
}

const h_rec *h_dump_get(const h_dump *d, const char *key)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->recs[i].key, key) == 0)
            return &d->recs[i];
    return NULL;
}

int h_dump_equal(const h_dump *a, const h_dump *b)
{
    if (a->n != b->n || a->ledger != b->ledger)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const h_rec *o = h_dump_get(b, a->recs[i].key);
        if (o == NULL || strcmp(o->value, a->recs[i].value) != 0
            || o->version != a->recs[i].version || strcmp(o->note, a->recs[i].note) != 0)
            return 0;
    }
    return 1;
}

void h_dump_print(const char *title, const h_dump *d)
{
    fprintf(stderr, "-- %s: %d records, ledger %ld\n", title, d->n, d->ledger);
    for (int i = 0; i < d->n; i++)
        fprintf(stderr, "   %s %s %ld %s\n", d->recs[i].key, d->recs[i].value,
                d->recs[i].version, d->recs[i].note);
}

/* ---- JSON validation (recursive descent, syntax only) -------------------- */

static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *js_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *js_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

static const char *js_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = js_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';
        p = js_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = js_string(js_ws(p));
                if (p == NULL)
                    return NULL;
                p = js_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = js_value(p, depth + 1);
            if (p == NULL)
                return NULL;
            p = js_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == close)
                return p + 1;
            return NULL;
        }
    }
    if (*p == '"')
        return js_string(p);
    if (strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    return js_number(p);
}

int h_json_valid(const char *s)
{
    const char *end = js_value(s, 0);
    return end != NULL && *js_ws(end) == '\0';
}

/* ---- the four services ("shop") ----------------------------------------- */

int h_have_shop(void)
{
    return h_have_program("dtc-inventory") && h_have_program("dtc-payment")
           && h_have_program("dtc-order") && h_have_program("dtc-shipping");
}

int h_start_shop(const char *const shipping_extra[])
{
    if (h_start_service("inventory", "inventory", "--seed", "sku-1=10", "--seed",
                        "sku-2=1", NULL) < 0)
        return -1;
    if (h_start_service("payment", "payment", "--seed", "alice=100000", "--seed",
                        "bob=100", NULL) < 0)
        return -1;
    if (h_start_service("order", "order", NULL) < 0)
        return -1;
    const char *argv[H_MAX_ARGS];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--data-dir";
    argv[n++] = data_dir;
    argv[n++] = "--name";
    argv[n++] = "shipping";
    argv[n++] = "--seed";
    argv[n++] = "zone-a=100";
    for (size_t i = 0; shipping_extra && shipping_extra[i] && n < H_MAX_ARGS - 1; i++)
        argv[n++] = shipping_extra[i];
    argv[n] = NULL;
    char label[64];
    snprintf(label, sizeof label, "shipping-%u", run_counter++);
    return start_and_wait(label, "dtc-shipping", "shipping", argv, NULL) < 0 ? -1 : 0;
}

static const char *const shop_names[4] = {"inventory", "payment", "order", "shipping"};

int h_dump_shop(h_dump d[4])
{
    int rc = 0;
    for (int i = 0; i < 4; i++)
        if (h_dump_service(shop_names[i], shop_names[i], &d[i]) != 0)
            rc = -1;
    return rc;
}

int h_shop_equal(const h_dump a[4], const h_dump b[4])
{
    int eq = 1;
    for (int i = 0; i < 4; i++) {
        if (!h_dump_equal(&a[i], &b[i])) {
            h_dump_print("before", &a[i]);
            h_dump_print("after", &b[i]);
            eq = 0;
        }
    }
    return eq;
}

dtc_result h_order(dtc_instance *in, const char *order_id, const char *sku, int qty,
                   const char *account, long cents, const char *zone,
                   const dtc_txn_options *opts, dtc_txn_info *report)
{
    char pl[4][DTC_PAYLOAD_MAX];
    snprintf(pl[0], sizeof pl[0], "reserve %s %d", sku, qty);
    snprintf(pl[1], sizeof pl[1], "charge %s %ld", account, cents);
    snprintf(pl[2], sizeof pl[2], "create %s %s %ld", order_id, account, cents);
    snprintf(pl[3], sizeof pl[3], "schedule %s %s", order_id, zone);
    dtc_txid id;
    dtc_result rc = dtc_begin_transaction(in, opts, &id);
    if (rc != DTC_OK)
        return rc;
    for (int i = 0; i < 4; i++) {
        rc = dtc_enlist(in, &id, shop_names[i], pl[i], strlen(pl[i]));
        if (rc != DTC_OK) {
            dtc_rollback_transaction(in, &id, NULL);
            return rc;
        }
    }
    return dtc_commit_transaction(in, &id, report);
}

void h_report_print(const char *title, dtc_result rc, const dtc_txn_info *t)
{
    fprintf(stderr, "-- %s: %s, state %s, %u entries\n", title, dtc_result_name(rc),
            dtc_txn_state_name(t->state), t->nentries);
    for (uint32_t i = 0; i < t->nentries && i < DTC_LIMIT_MAX_PARTS_PER_TXN; i++)
        fprintf(stderr, "   %s op=%s status=%s vote=%s reason=%s\n", t->entries[i].name,
                dtc_op_name(t->entries[i].op), dtc_entry_status_name(t->entries[i].status),
                dtc_entry_status_name(t->entries[i].vote), t->entries[i].reason);
}

/* ---- power cut ---------------------------------------------------------- */

const char *h_powercut_journal(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/powercut.journal", h_dir());
    return path;
}

size_t h_powercut_env(const char *env[], size_t cap)
{
    static char pre[PATH_MAX + 16], jour[PATH_MAX + 32], root[PATH_MAX + 32], asan[1024];
    if (cap < 6)
        return 0;
    const char *inherited = getenv("ASAN_OPTIONS");
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s/libdtc_powercut.so", DTC_BIN_DIR);
    snprintf(jour, sizeof jour, "DTC_POWERCUT_JOURNAL=%s", h_powercut_journal());
    snprintf(root, sizeof root, "DTC_POWERCUT_ROOT=%s", h_dir());
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
             inherited ? inherited : "", inherited && inherited[0] ? ":" : "");
    size_t n = 0;
    env[n++] = pre;
    env[n++] = jour;
    env[n++] = root;
    env[n++] = asan;
    env[n] = NULL;
    return n;
}

int h_powercut_apply(void)
{
    h_result r;
    const char *journal = h_powercut_journal();
    if (h_runv(&r, 10000, NULL, "dtc-powercut", (const char *const[]){"cut", journal, NULL})
        != 0) {
        fprintf(stderr, "harness: dtc-powercut cut: exit %d\n%s%s", r.code, r.out, r.err);
        return -1;
    }
    int code = h_runv(&r, 60000, NULL, "dtc-powercut",
                      (const char *const[]){"apply", journal, h_dir(), NULL});
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/powercut.apply", h_dir());
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s%s", r.out, r.err);
        fclose(f);
    }
    if (code != 0) {
        fprintf(stderr, "harness: dtc-powercut apply: exit %d\n%s%s", code, r.out, r.err);
        return -1;
    }
    return 0;
}

int h_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void h_txns_bounded(const char *const names[], int n, int timeout_ms)
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        alarm((unsigned)(timeout_ms / 1000 + 2)); /* a hang kills the child */
        dtc_instance *in;
        if (dtc_open(h_instance(), &in) != DTC_OK)
            _exit(10);
        for (int i = 0; i < n; i++) {
            dtc_txid id;
            dtc_result rc = dtc_begin_transaction(in, NULL, &id);
            for (int k = 0; rc == DTC_OK && names[k]; k++)
                rc = dtc_enlist(in, &id, names[k], "x", 1);
            if (rc == DTC_OK)
                rc = dtc_commit_transaction(in, &id, NULL);
            if (rc != DTC_OK) {
                fprintf(stderr, "txn %d: %s\n", i, dtc_result_name(rc));
                _exit(11);
            }
        }
        dtc_close(&in);
        _exit(0);
    }
    int st = 0, done = h_wait(c, timeout_ms, &st);
    if (!done)
        h_kill9(c);
    ck_assert_msg(done, "%d transactions did not finish within %d ms (hang)", n, timeout_ms);
    ck_assert_msg(h_exit_code(st) == 0, "transactions failed: child exit %d", h_exit_code(st));
}

pid_t h_fork_commit(const char *const names[])
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        dtc_instance *in;
        dtc_txid id;
        dtc_result rc = dtc_open(h_instance(), &in);
        if (rc == DTC_OK)
            rc = dtc_begin_transaction(in, NULL, &id);
        for (int k = 0; rc == DTC_OK && names[k]; k++)
            rc = dtc_enlist(in, &id, names[k], "x", 1);
        if (rc != DTC_OK)
            _exit(10);
        _exit(dtc_commit_transaction(in, &id, NULL) == DTC_OK ? 0 : 11);
    }
    return c;
}

static long rec_value(const h_dump *d, const char *key)
{
    const h_rec *r = h_dump_get(d, key);
    return r ? strtol(r->value, NULL, 10) : -1;
}

int h_shop_check(const char *what, long order_cents, const int *told, int n)
{
    static const char *const names[4] = {"inventory", "payment", "order", "shipping"};
    ck_assert_msg(h_wait_idle(20000), "%s: transactions still in flight", what);
    h_dump dump[4];
    ck_assert_int_eq(h_dump_shop(dump), 0);
    int committed = dump[2].n; /* one order record per committed order */
    int ok = 1;
    for (int i = 1; i < 4; i++)
        ok &= dump[i].ledger == dump[0].ledger;
    ok &= dump[0].ledger == committed;
    ok &= rec_value(&dump[0], "sku-1") == 10 - committed;
    ok &= rec_value(&dump[0], "sku-2") == 1;
    ok &= rec_value(&dump[1], "alice") == 100000 - (long)committed * order_cents;
    ok &= rec_value(&dump[1], "bob") == 100;
    ok &= rec_value(&dump[3], "zone:zone-a") == 100 - committed;
    if (!ok)
        for (int i = 0; i < 4; i++)
            h_dump_print(names[i], &dump[i]);
    ck_assert_msg(ok, "%s: the services disagree (%d committed orders; see the dumps above)",
                  what, committed);
    for (int k = 0; told != NULL && k < n; k++) {
        char key[32];
        snprintf(key, sizeof key, "order:o-%d", k);
        ck_assert_msg(!told[k] || h_dump_get(&dump[2], key) != NULL,
                      "%s: o-%d was reported committed but is not", what, k);
    }
    return committed;
}
