/*
 * pg_cluster.c - the throwaway PostgreSQL cluster (pg_cluster.h): dtc-bench's
 * pg modes, and tests that need a real PostgreSQL.  It
 * lives in a fresh temp dir (under $TMPDIR when that path is plain, else
 * /tmp): data/ is the cluster, the dir itself is its only socket
 * directory (listen_addresses is empty: no TCP), and the port number,
 * taken from our pid, only names the socket file, so parallel runs never
 * meet.  initdb makes a superuser "dtcbench" with trust authentication;
 * the dir is mode 0700, so only its owner (and root) can reach the socket.
 *
 * PostgreSQL refuses to run as root: when our euid is 0, the dir is
 * chowned to the postgres user and initdb and pg_ctl run through
 * `runuser -u postgres --`.  Every command is an argv array (fork and
 * exec in dtc_kit_run, bounded), never a shell string; the settings go
 * in a file the cluster includes, not through pg_ctl -o (which pg_ctl
 * hands to a shell).  The binaries come from `pg_config --bindir`, else
 * the newest /usr/lib/postgresql/<version>/bin.  The settings file is
 * rewritten before each start: fsync and synchronous_commit on or off,
 * room for the largest C (BENCH_PG_DBS connections and prepared
 * transactions per client).  Stopping is pg_ctl stop -m fast, then
 * -m immediate, then SIGKILL to the postmaster, each bounded.  pg_ctl
 * puts the postmaster in a session of its own, so it would outlive us:
 * while it runs, SIGINT, SIGTERM and SIGHUP first send it SIGQUIT (its
 * immediate shutdown), then end us as they would have (the temp dir
 * stays behind in that case).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_cluster.h"
#include "spawn.h"

#define CMD_TIMEOUT_MS 120000 /* initdb, pg_ctl -w (which itself waits 60 s) */

static volatile sig_atomic_t live_postmaster; /* for on_signal; 0: none */
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int sig)
{
    if (live_postmaster > 0)
        kill((pid_t)live_postmaster, SIGQUIT);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Guards the postmaster pid (0: none) against our own death by signal. */
static void guard(pid_t pid)
{
    live_postmaster = pid;
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction sa = {0};
        sa.sa_handler = pid > 0 ? on_signal : SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, NULL);
    }
}

/* Copies the last non-empty line of path (a log) into buf, or "". */
static void last_line(const char *path, char *buf, size_t size)
{
    char tail[2048];
    size_t n = 0;
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f == NULL)
        return;
    if (fseek(f, -(long)(sizeof tail - 1), SEEK_END) != 0)
        rewind(f);
    n = fread(tail, 1, sizeof tail - 1, f);
    fclose(f);
    while (n > 0 && isspace((unsigned char)tail[n - 1]))
        n--;
    tail[n] = '\0';
    char *line = strrchr(tail, '\n');
    snprintf(buf, size, "%s", line != NULL ? line + 1 : tail);
}

/* Fills why with "what: last line of log" (or just what). */
static void fail_why(char *why, size_t size, const char *what, const char *log)
{
    char line[256];
    last_line(log, line, sizeof line);
    snprintf(why, size, "%s%s%s", what, line[0] ? ": " : "", line);
}

static int has_tools(const char *bindir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/initdb", bindir);
    if (access(p, X_OK) != 0)
        return 0;
    snprintf(p, sizeof p, "%s/pg_ctl", bindir);
    return access(p, X_OK) == 0;
}

/* pg_config --bindir (its output goes to a file in our dir), else the
 * highest version under /usr/lib/postgresql.  0 or -1. */
static int find_bindir(struct bench_pgc *c)
{
    char out[300];
    char *argv[] = {"pg_config", "--bindir", NULL};
    snprintf(out, sizeof out, "%s/pg_config.out", c->dir);
    int st = dtc_kit_run(argv, out, NULL, 10000);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        last_line(out, c->bindir, sizeof c->bindir);
        if (c->bindir[0] == '/' && has_tools(c->bindir))
            return 0;
    }
    glob_t g;
    long best = -1;
    if (glob("/usr/lib/postgresql/*/bin", GLOB_ONLYDIR, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
            if (v > best && has_tools(g.gl_pathv[i])) {
                best = v;
                snprintf(c->bindir, sizeof c->bindir, "%s", g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    return best >= 0 ? 0 : -1;
}

/* A directory path PostgreSQL settings and pg_ctl can hold as they are:
 * no quote, space, comma or shell character; short enough for a socket. */
static int plain_path(const char *s)
{
    if (s == NULL || s[0] != '/' || strlen(s) > 60)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && strchr("/._-", *s) == NULL)
            return 0;
    return 1;
}

/* Every ancestor of dir can be traversed by others (so by postgres). */
static int others_can_reach(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *slash = p + strlen(p); slash != NULL; slash = strrchr(p, '/')) {
        struct stat sb;
        *slash = '\0';
        if (stat(p[0] ? p : "/", &sb) != 0 || (sb.st_mode & S_IXOTH) == 0)
            return 0;
    }
    return 1;
}

static int make_dir(struct bench_pgc *c, char *why, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (!plain_path(base) || (geteuid() == 0 && !others_can_reach(base)))
        base = "/tmp";
    snprintf(c->dir, sizeof c->dir, "%s/dtc-bench-pg.XXXXXX", base);
    if (mkdtemp(c->dir) == NULL) {
        snprintf(why, size, "mkdtemp %s: %s", c->dir, strerror(errno));
        c->dir[0] = '\0';
        return -1;
    }
    snprintf(c->data, sizeof c->data, "%s/data", c->dir);
    if (c->as_postgres && chown(c->dir, c->uid, c->gid) != 0) {
        snprintf(why, size, "chown %s to postgres: %s", c->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs tool (initdb or pg_ctl from bindir) with args, as postgres when
 * root; output appended to dir/<log>.  The exit status, or -1. */
static int run_tool(struct bench_pgc *c, const char *tool, const char *log, char *const args[])
{
    char path[4200], logp[300];
    char *argv[32];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", c->bindir, tool);
    snprintf(logp, sizeof logp, "%s/%s", c->dir, log);
    if (c->as_postgres) {
        argv[n++] = "runuser";
        argv[n++] = "-u";
        argv[n++] = "postgres";
        argv[n++] = "--";
    }
    argv[n++] = path;
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int st = dtc_kit_run(argv, logp, c->dir, CMD_TIMEOUT_MS);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int bench_pgc_init(struct bench_pgc *c, char *why, size_t size)
{
    memset(c, 0, sizeof *c);
    c->port = 10000 + (int)(getpid() % 50000);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL) {
            snprintf(why, size, "running as root and there is no postgres user to run it as");
            return -1;
        }
        c->as_postgres = 1;
        c->uid = (unsigned)pw->pw_uid;
        c->gid = (unsigned)pw->pw_gid;
    }
    if (make_dir(c, why, size) != 0)
        return -1;
    if (find_bindir(c) != 0) {
        snprintf(why, size, "no initdb and pg_ctl (pg_config --bindir, /usr/lib/postgresql/*/bin)");
        return -1;
    }
    char *args[] = {"-D", c->data, "-U", "dtcbench", "-A", "trust", "-E", "UTF8",
                    "--no-locale", "--no-sync", NULL};
    if (run_tool(c, "initdb", "initdb.log", args) != 0) {
        char log[300];
        snprintf(log, sizeof log, "%s/initdb.log", c->dir);
        fail_why(why, size, "initdb failed", log);
        return -1;
    }
    char conf[400];
    snprintf(conf, sizeof conf, "%s/postgresql.conf", c->data);
    int fd = open(conf, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (f == NULL && fd >= 0)
        close(fd);
    if (f == NULL || fprintf(f, "\n# dtc-bench: its settings\ninclude = 'dtc_bench.conf'\n") < 0
        || fclose(f) != 0) {
        snprintf(why, size, "cannot append to %s", conf);
        return -1;
    }
    return 0;
}

static int write_settings(struct bench_pgc *c, int fsync, int max_coords)
{
    char path[400];
    snprintf(path, sizeof path, "%s/dtc_bench.conf", c->data);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (c->as_postgres && fchown(fd, c->uid, c->gid) != 0) {
        close(fd);
        return -1;
    }
    /* c->dir passed plain_path-like checks: mkdtemp under a plain base. */
    int n = dprintf(fd,
                    "listen_addresses = ''\n"
                    "unix_socket_directories = '%s'\n"
                    "port = %d\n"
                    "max_connections = %d\n"
                    "max_prepared_transactions = %d\n"
                    "fsync = %s\n"
                    "synchronous_commit = %s\n",
                    c->dir, c->port, BENCH_PG_DBS * max_coords + 10,
                    BENCH_PG_DBS * max_coords, fsync ? "on" : "off", fsync ? "on" : "off");
    return close(fd) == 0 && n > 0 ? 0 : -1;
}

static pid_t read_postmaster_pid(const struct bench_pgc *c)
{
    char path[400];
    long pid = 0;
    snprintf(path, sizeof path, "%s/postmaster.pid", c->data);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        // NOLINTNEXTLINE(cert-err34-c): postmaster.pid, written by PostgreSQL
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

int bench_pgc_start(struct bench_pgc *c, int fsync, int max_coords, char *why, size_t size)
{
    char log[300];
    snprintf(log, sizeof log, "%s/server.log", c->dir);
    if (write_settings(c, fsync, max_coords) != 0) {
        snprintf(why, size, "cannot write %s/dtc_bench.conf", c->data);
        return -1;
    }
    char *args[] = {"-D", c->data, "-l", log, "-w", "-t", "60", "start", NULL};
    if (run_tool(c, "pg_ctl", "pg_ctl.log", args) != 0) {
        fail_why(why, size, "pg_ctl start failed", log);
        c->postmaster = read_postmaster_pid(c);
        c->running = c->postmaster > 0; /* half started: stop it still */
        bench_pgc_stop(c);
        return -1;
    }
    c->running = 1;
    c->postmaster = read_postmaster_pid(c);
    guard(c->postmaster);
    return 0;
}

/* Waits up to ms for pid (not our child) to disappear. */
static int gone_within(pid_t pid, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return 1;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

void bench_pgc_stop(struct bench_pgc *c)
{
    if (!c->running)
        return;
    char *fast[] = {"-D", c->data, "-w", "-t", "60", "stop", "-m", "fast", NULL};
    char *immediate[] = {"-D", c->data, "-w", "-t", "20", "stop", "-m", "immediate", NULL};
    if (run_tool(c, "pg_ctl", "pg_ctl.log", fast) != 0
        && run_tool(c, "pg_ctl", "pg_ctl.log", immediate) != 0 && c->postmaster > 0) {
        fprintf(stderr, "%s: postgres (pid %d) would not stop: SIGKILL\n",
                program_invocation_short_name, (int)c->postmaster);
        kill(c->postmaster, SIGKILL);
        gone_within(c->postmaster, 10000);
    }
    c->running = 0;
    c->postmaster = 0;
    guard(0);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path); /* best effort: keep going */
    return 0;
}

void bench_pgc_destroy(struct bench_pgc *c)
{
    bench_pgc_stop(c);
    if (c->dir[0] != '\0')
        nftw(c->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    c->dir[0] = '\0';
}
