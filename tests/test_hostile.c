/*
 * test_hostile.c - hostile data directories (issue 16): another user
 * (nobody:nogroup, 65534) plants what it can in or above the data
 * directory of every service and of dtcd's decision log: a state file, a
 * lock it holds, a FIFO, a symlink, a directory of its own on the path,
 * a world-writable directory.  Each must be refused within a bound with a
 * one-line message naming the path and what is wrong, and nothing of
 * what was planted is read, changed or followed.  Directories as mkdtemp
 * makes them (0700 under the sticky /tmp) stay accepted: every other
 * test runs in one.  dtc-pg's --conninfo-file likewise.  Also: dtcd,
 * dtc-noop and a service survive SIGHUP.
 *
 * The hostile files are made by a child that drops to nobody; the tests
 * need root and are skipped otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

static void teardown(void)
{
    h_fini();
}

static h_result res; /* large: not on the stack */

static const char *const services[] = {"inventory", "payment", "order", "shipping"};

enum nobody_op { N_MKDIR, N_WRITE, N_FIFO, N_LINK };

/* Does op as nobody:nogroup in a child (bounded); asserts it worked. */
static void as_nobody(enum nobody_op op, const char *path, const char *arg)
{
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(100);
        int rc = -1, fd;
        switch (op) {
        case N_MKDIR: rc = mkdir(path, 0755); break;
        case N_FIFO: rc = mkfifo(path, 0644); break;
        case N_LINK: rc = symlink(arg, path); break;
        case N_WRITE:
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
            rc = fd >= 0 && write(fd, arg, strlen(arg)) == (ssize_t)strlen(arg) ? 0 : -1;
            break;
        }
        _exit(rc == 0 ? 0 : 1);
    }
    int status;
    ck_assert(h_wait(pid, 5000, &status));
    ck_assert_msg(h_exit_code(status) == 0, "as nobody: op %d on %s failed", (int)op, path);
}

/* A child that, as nobody, holds flock on path (created if missing)
 * until killed; returns once it holds it, or -1 if it could not. */
static pid_t nobody_holds_lock(const char *path)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(100);
        int fd = open(path, O_RDONLY | O_CREAT, 0644); /* flock needs no more */
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(p[1], "k", 1) != 1)
            _exit(1);
        for (int i = 0; i < 600; i++) /* at most 60 s: h_fini kills it first */
            h_sleep_ms(100);
        _exit(0);
    }
    close(p[1]);
    char c;
    ssize_t got = read(p[0], &c, 1);
    close(p[0]);
    if (got == 1)
        return pid;
    int status;
    ck_assert(h_wait(pid, 5000, &status));
    return -1;
}

/* h_dir()/name; h_dir() opened to search (0755) so nobody reaches it. */
static const char *path_in(char *buf, size_t size, const char *name)
{
    ck_assert_int_eq(chmod(h_dir(), 0755), 0);
    snprintf(buf, size, "%s/%s", h_dir(), name);
    return buf;
}

/* A directory of ours with mode (after umask). */
static void mkdir_mode(const char *path, mode_t mode)
{
    ck_assert_msg(mkdir(path, 0700) == 0, "mkdir %s: %s", path, strerror(errno));
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
}

static int exists(const char *dir, const char *name)
{
    char p[4600];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

/* How many lines of s begin with prefix. */
static int lines_starting(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *l = s; l != NULL && *l != '\0';) {
        n += strncmp(l, prefix, strlen(prefix)) == 0;
        l = strchr(l, '\n');
        l = l != NULL ? l + 1 : NULL;
    }
    return n;
}

/* dtc-SERVICE on dir must stop (bounded) with exit 1 and a stderr line
 * holding every one of want (NULL-terminated). */
static void service_refused(const char *svc, const char *dir, const char *const want[])
{
    char prog[64];
    snprintf(prog, sizeof prog, "dtc-%s", svc);
    h_run(&res, 10000, prog, "--instance", h_instance(), "--data-dir", dir, "--seed", "k=10",
          NULL);
    ck_assert_msg(res.code == 1, "%s on %s: exit %d (want 1; -1 = hung) err=%s", prog, dir,
                  res.code, res.err);
    for (size_t i = 0; want[i] != NULL; i++)
        ck_assert_msg(strstr(res.err, want[i]) != NULL, "%s on %s: no '%s' in: %s", prog, dir,
                      want[i], res.err);
    char head[80];
    snprintf(head, sizeof head, "%s: ", prog); /* its message, beside its log lines */
    int lines = lines_starting(res.err, head);
    ck_assert_msg(lines == 1, "%s: %d message lines in: %s", prog, lines, res.err);
}

/* As in the issue: /tmp/x mode 1777, nobody writes inventory.state with
 * a record of its own; every service refuses the directory and reads
 * nothing of it. */
START_TEST(test_hostile_world_writable_dir)
{
    h_init("host-1777");
    if (geteuid() != 0)
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    char x[4200], st[4300], got[256];
    path_in(x, sizeof x, "x");
    mkdir_mode(x, 01777);
    snprintf(st, sizeof st, "%s/inventory.state", x);
    const char *forged = "dtc-state 1 inventory\nrec sku 999999 1\ncheckpoint\n";
    as_nobody(N_WRITE, st, forged);
    for (size_t i = 0; i < 4; i++) {
        const char *want[] = {x, "writable by others (mode 1777)", "mkdir -m 700", NULL};
        service_refused(services[i], x, want);
        char lock[64];
        snprintf(lock, sizeof lock, "%s.lock", services[i]);
        ck_assert_msg(!exists(x, lock), "%s made its lock file in a refused directory", lock);
    }
    read_file(st, got, sizeof got);
    ck_assert_str_eq(got, forged);
    /* the same directory, sticky or not, for --dump too */
    ck_assert_int_eq(chmod(x, 0777), 0);
    h_run(&res, 5000, "dtc-inventory", "--dump", "--data-dir", x, NULL);
    ck_assert_msg(res.code == 1 && strstr(res.err, "writable by others (mode 0777)")
                      && strstr(res.err, "chmod o-w"), "dump: exit %d err=%s", res.code, res.err);
}
END_TEST

/* A directory on the path owned by nobody (the data directory itself,
 * or a parent), or a symlink on the path: refused, naming it; nothing is
 * created below it. */
START_TEST(test_hostile_foreign_path)
{
    h_init("host-path");
    if (geteuid() != 0)
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    char pub[4200], n[4300], sub[4400], link[4300];
    path_in(pub, sizeof pub, "pub");
    mkdir_mode(pub, 01777);
    snprintf(n, sizeof n, "%s/n", pub);
    snprintf(sub, sizeof sub, "%s/data", n);
    snprintf(link, sizeof link, "%s/l", pub);
    as_nobody(N_MKDIR, n, NULL);
    as_nobody(N_LINK, link, h_data_dir()); /* to a directory of ours */
    for (size_t i = 0; i < 4; i++) {
        const char *own[] = {n, "owned by uid 65534", "mkdir -m 700", NULL};
        service_refused(services[i], n, own);
        service_refused(services[i], sub, own);
        ck_assert(!exists(n, "data"));
        const char *sym[] = {link, "a symbolic link", "realpath", NULL};
        service_refused(services[i], link, sym);
    }
    ck_assert(!exists(h_data_dir(), "inventory.state"));
    /* a parent of ours that others may write (not sticky) */
    ck_assert_int_eq(chmod(pub, 0777), 0);
    char mine[4300];
    snprintf(mine, sizeof mine, "%s/mine", pub);
    mkdir_mode(mine, 0700);
    const char *open_parent[] = {pub, "writable by others (mode 0777)", NULL};
    service_refused("payment", mine, open_parent);
    ck_assert(!exists(mine, "payment.state"));
}
END_TEST

/* Files planted while the directory was open to others, found after the
 * operator closed it (chmod 700): a foreign state file, a FIFO as the
 * state file, a symlink, a lock file nobody holds, a state file of ours
 * that others may write.  Each refused, naming the file; none read. */
START_TEST(test_hostile_planted_files)
{
    h_init("host-files");
    if (geteuid() != 0)
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    char d[4200], p[4400], got[256];
    path_in(d, sizeof d, "d");
    mkdir_mode(d, 0777);
    const char *forged = "dtc-state 1 inventory\nrec sku 999999 1\ncheckpoint\n";
    snprintf(p, sizeof p, "%s/inventory.state", d);
    as_nobody(N_WRITE, p, forged);
    snprintf(p, sizeof p, "%s/order.state", d);
    as_nobody(N_FIFO, p, NULL);
    snprintf(p, sizeof p, "%s/shipping.state", d);
    as_nobody(N_LINK, p, "/etc/passwd");
    snprintf(p, sizeof p, "%s/payment.lock", d);
    pid_t holder = nobody_holds_lock(p);
    ck_assert_int_gt(holder, 0);
    ck_assert_int_eq(chmod(d, 0700), 0);

    const char *inv[] = {"inventory.state", "owned by uid 65534", NULL};
    service_refused("inventory", d, inv);
    const char *fifo[] = {"order.state", "a FIFO", NULL};
    service_refused("order", d, fifo); /* the FIFO never blocks it */
    const char *sym[] = {"shipping.state", "a symbolic link", NULL};
    service_refused("shipping", d, sym);
    const char *lock[] = {"payment.lock", "owned by uid 65534", NULL};
    service_refused("payment", d, lock);
    ck_assert(strstr(res.err, "in use") == NULL);
    snprintf(p, sizeof p, "%s/inventory.state", d);
    read_file(p, got, sizeof got);
    ck_assert_str_eq(got, forged);
    h_run(&res, 5000, "dtc-inventory", "--dump", "--data-dir", d, NULL);
    ck_assert_msg(res.code == 1 && strstr(res.err, "owned by uid 65534") != NULL
                      && strstr(res.out, "999999") == NULL,
                  "dump of a foreign state: exit %d out=%s err=%s", res.code, res.out, res.err);
    ck_assert(h_alive(holder));

    /* ours, but writable by others: refused too; once chmod'ed, loaded */
    ck_assert_int_eq(chown(p, 0, 0), 0);
    ck_assert_int_eq(chmod(p, 0666), 0);
    const char *mode[] = {"inventory.state", "writable by others (mode 0666)", "chmod go-w",
                          NULL};
    service_refused("inventory", d, mode);
    ck_assert_int_eq(chmod(p, 0600), 0);
    h_run(&res, 5000, "dtc-inventory", "--dump", "--data-dir", d, NULL);
    ck_assert_msg(res.code == 0 && strstr(res.out, "sku 999999 1") != NULL,
                  "dump of our own file: exit %d out=%s err=%s", res.code, res.out, res.err);
}
END_TEST

/* A data directory others may read and search (0755: accepted): the
 * lock file is made 0600, so nobody cannot open it to hold its flock
 * and keep the service from starting; one others may open (0644, as
 * earlier versions made it) is refused, naming the fix. */
START_TEST(test_hostile_lock_mode)
{
    h_init("host-lock");
    if (geteuid() != 0)
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    char d[4200], lock[4400];
    struct stat st;
    path_in(d, sizeof d, "d");
    mkdir_mode(d, 0755);
    pid_t svc = h_spawn("payment", "dtc-payment", "--instance", h_instance(), "--data-dir", d,
                        "--seed", "alice=10", NULL);
    ck_assert(h_wait_participant("payment", svc, 10000));
    ck_assert_int_ge(h_stop(svc, 5000), 0);
    snprintf(lock, sizeof lock, "%s/payment.lock", d);
    ck_assert_int_eq(stat(lock, &st), 0);
    ck_assert_msg((st.st_mode & 0777) == 0600, "lock file mode %04o", st.st_mode & 0777);
    ck_assert_msg(nobody_holds_lock(lock) < 0, "nobody could hold the service's lock");

    ck_assert_int_eq(chmod(lock, 0644), 0);
    ck_assert_int_gt(nobody_holds_lock(lock), 0);
    const char *want[] = {"payment.lock", "readable or writable by others (mode 0644)",
                          "chmod go=", NULL};
    service_refused("payment", d, want);
    ck_assert(strstr(res.err, "in use") == NULL);
}
END_TEST

/* --group: a directory writable by one of our groups is accepted with
 * it, refused without it; one writable by a group we are not in is
 * refused either way. */
START_TEST(test_hostile_group)
{
    h_init("host-group");
    if (geteuid() != 0)
        return;
    ck_assert_int_gt(h_start_dtcd(), 0);
    char g[4200];
    path_in(g, sizeof g, "g");
    mkdir_mode(g, 0770);
    ck_assert_int_eq(chown(g, 0, 0), 0);
    const char *nogroup[] = {g, "writable by group 0", "without --group", NULL};
    service_refused("payment", g, nogroup);
    h_run(&res, 5000, "dtc-payment", "--dump", "--group", "--data-dir", g, NULL);
    ck_assert_msg(strstr(res.err, "no state file") != NULL, "--group: %s", res.err);
    gid_t mine[256];
    int k, n = getgroups(256, mine);
    for (k = 0; k < n && mine[k] != NOBODY; k++)
        ;
    if (k == n && getegid() != NOBODY) {
        ck_assert_int_eq(chown(g, 0, NOBODY), 0);
        ck_assert_int_eq(chmod(g, 0770), 0);
        h_run(&res, 5000, "dtc-payment", "--dump", "--group", "--data-dir", g, NULL);
        ck_assert_msg(res.code == 1 && strstr(res.err, "not one of ours") != NULL,
                      "group 65534: exit %d err=%s", res.code, res.err);
    }
}
END_TEST

/* dtc-pg --conninfo-file FILE (refused at start, before any connection:
 * no PostgreSQL needed) must exit 2 with every one of want. */
static void pg_refused(const char *file, const char *const want[])
{
    const char *argv[] = {"--name", "x", "--conninfo-file", file, "--statement", "x=SELECT 1",
                          NULL};
    h_runv(&res, 5000, NULL, "dtc-pg", argv);
    ck_assert_msg(res.code == 2, "dtc-pg on %s: exit %d (want 2) err=%s", file, res.code,
                  res.err);
    for (size_t i = 0; want[i] != NULL; i++)
        ck_assert_msg(strstr(res.err, want[i]) != NULL, "dtc-pg on %s: no '%s' in: %s", file,
                      want[i], res.err);
}

/* dtc-pg's --conninfo-file (it holds a password): in a directory others
 * may write, planted by another user, or a symlink: refused. */
START_TEST(test_hostile_pg_conninfo_file)
{
    h_init("host-pg");
    if (geteuid() != 0 || !h_have_program("dtc-pg"))
        return;
    char d[4200], ci[4400], link[4400];
    path_in(d, sizeof d, "d");
    mkdir_mode(d, 0777);
    snprintf(ci, sizeof ci, "%s/ci", d);
    snprintf(link, sizeof link, "%s/l", d);
    as_nobody(N_WRITE, ci, "host=/elsewhere user=victim password=theirs\n");
    as_nobody(N_LINK, link, "/etc/passwd");
    const char *open_dir[] = {d, "writable by others (mode 0777)", NULL};
    pg_refused(ci, open_dir);
    ck_assert_int_eq(chmod(d, 0700), 0);
    const char *foreign[] = {"/ci: owned by uid 65534", NULL};
    pg_refused(ci, foreign);
    const char *sym[] = {"/l: a symbolic link", NULL};
    pg_refused(link, sym);
}
END_TEST

/* dtcd runs to its refusal (bounded) with data dir dir. */
static void dtcd_refused(const char *dir, const char *const env[], const char *const want[])
{
    const char *argv[] = {"--instance", h_instance(), "--dlog-file-mb", "2",
                          env ? NULL : "--data-dir", dir, NULL};
    h_runv(&res, 5000, env, "dtcd", argv);
    ck_assert_msg(res.code == 1, "dtcd on %s: exit %d (want 1; -1 = hung) err=%s", dir,
                  res.code, res.err);
    for (size_t i = 0; want[i] != NULL; i++)
        ck_assert_msg(strstr(res.err, want[i]) != NULL, "dtcd on %s: no '%s' in: %s", dir,
                      want[i], res.err);
}

/* As in the issue: nobody's directory above the decision log (given in
 * $DTC_DATA_DIR), a symlink on its path, a world-writable one. */
START_TEST(test_hostile_dtcd_path)
{
    h_init("host-dtcd");
    if (geteuid() != 0)
        return;
    char pub[4200], n[4300], dlog[4400], env[4500], link[4300];
    path_in(pub, sizeof pub, "pub");
    mkdir_mode(pub, 01777);
    snprintf(n, sizeof n, "%s/n", pub);
    snprintf(dlog, sizeof dlog, "%s/dlog", n);
    snprintf(env, sizeof env, "DTC_DATA_DIR=%s", dlog);
    as_nobody(N_MKDIR, n, NULL);
    const char *const envv[] = {env, NULL};
    const char *own[] = {n, "owned by uid 65534", "mkdir -m 700", NULL};
    dtcd_refused(dlog, envv, own);
    ck_assert(!exists(n, "dlog"));
    dtcd_refused(n, NULL, own);

    snprintf(link, sizeof link, "%s/l", pub);
    as_nobody(N_LINK, link, h_dir());
    snprintf(dlog, sizeof dlog, "%s/l/dlog", pub);
    const char *sym[] = {link, "a symbolic link", NULL};
    dtcd_refused(dlog, NULL, sym);
    ck_assert(!exists(h_dir(), "dlog"));

    const char *open[] = {pub, "writable by others (mode 1777)", NULL};
    dtcd_refused(pub, NULL, open);
    ck_assert(!exists(pub, "dlog.spare"));
    /* and the harness's own (mkdtemp under /tmp) is accepted */
    ck_assert_int_gt(h_start_dtcd(), 0);
}
END_TEST

/* dtcd --group: its directory may be writable by one of our groups. */
START_TEST(test_hostile_dtcd_group)
{
    h_init("host-dgroup");
    if (geteuid() != 0)
        return;
    char g[4200];
    path_in(g, sizeof g, "g");
    mkdir_mode(g, 0770);
    ck_assert_int_eq(chown(g, 0, 0), 0);
    const char *nogroup[] = {g, "writable by group 0", "without --group", NULL};
    dtcd_refused(g, NULL, nogroup);
    const char *extra[] = {"--group", "--data-dir", g, NULL};
    ck_assert_int_gt(h_start_dtcdv(extra), 0);
}
END_TEST

/* SIGHUP: dtc-noop, a service and dtcd keep serving (a closed terminal
 * or a log rotation must not kill them). */
START_TEST(test_hostile_sighup)
{
    h_init("host-hup");
    pid_t d = h_start_dtcd();
    ck_assert_int_gt(d, 0);
    pid_t noop = h_start_noop("n1", NULL);
    ck_assert_int_gt(noop, 0);
    pid_t svc = h_start_service("payment", "payment", "--seed", "alice=1000", NULL);
    ck_assert_int_gt(svc, 0);
    const pid_t all[] = {d, noop, svc};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 3; i++)
            ck_assert_int_eq(kill(all[i], SIGHUP), 0);
        h_sleep_ms(200);
        for (size_t i = 0; i < 3; i++)
            ck_assert_msg(h_alive(all[i]), "pid %d died of SIGHUP", (int)all[i]);
        h_run(&res, 10000, "dtcctl", "--instance", h_instance(), "run", "-p", "n1=x", "-p",
              "payment=charge alice 1", NULL);
        ck_assert_msg(res.code == 0, "after SIGHUP: exit %d out=%s err=%s", res.code, res.out,
                      res.err);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_hostile_world_writable_dir);
    tcase_add_test(tc, test_hostile_foreign_path);
    tcase_add_test(tc, test_hostile_planted_files);
    tcase_add_test(tc, test_hostile_lock_mode);
    tcase_add_test(tc, test_hostile_group);
    tcase_add_test(tc, test_hostile_dtcd_path);
    tcase_add_test(tc, test_hostile_dtcd_group);
    tcase_add_test(tc, test_hostile_pg_conninfo_file);
    tcase_add_test(tc, test_hostile_sighup);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
