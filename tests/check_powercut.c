/*
 * check_powercut.c - unit tests of the power-cut simulator
 * (libdtc_powercut.so + dtc-powercut, tests/tools/powercut*.c).
 *
 * Each test (its own process, CK_FORK) runs small real child processes
 * under the preload: this very program re-executed as
 * "check_powercut --child OP...", a tiny interpreter of file operations
 * (below).  Files the test sets up itself are made without the preload,
 * so they count as durable.  Then the cut (dtc-powercut cut) and the
 * repair (dtc-powercut apply), and the files are compared with what a
 * power cut must leave:
 *
 *  - append + fdatasync, then unsynced appends: only the synced prefix;
 *  - pwrite over a preallocated file, no sync: the old bytes;
 *  - a write synced through ANOTHER process's descriptor: kept;
 *  - write tmp + fsync + rename over a file, no directory fsync: the rename
 *    is undone (the old file is back, tmp is gone); with it: kept;
 *  - a new file, an unlink, a truncation without directory/file sync:
 *    undone;
 *  - everything journaled after the cut: undone, even if synced.
 *
 * Every child runs with a deadline (h_runv).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* ---- the child: a tiny file-operation interpreter ----------------------------- */

/* Operations, on one current descriptor:
 *   open PATH | create PATH (O_EXCL) | close | append TEXT | pwrite OFF TEXT
 *   truncate N | fsync | fdatasync | rename A B | unlink P | link A B |
 *   dirsync DIR */
static int child_main(int argc, char **argv)
{
    int fd = -1;
    for (int i = 0; i < argc; i++) {
        const char *op = argv[i];
        int rc = 0;
#define ARG() (i + 1 < argc ? argv[++i] : "")
        if (strcmp(op, "open") == 0) {
            rc = fd = open(ARG(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        } else if (strcmp(op, "create") == 0) {
            rc = fd = open(ARG(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        } else if (strcmp(op, "close") == 0) {
            rc = close(fd);
            fd = -1;
        } else if (strcmp(op, "append") == 0) {
            const char *t = ARG();
            rc = lseek(fd, 0, SEEK_END) < 0 ? -1 : 0;
            if (rc == 0)
                rc = write(fd, t, strlen(t)) == (ssize_t)strlen(t) ? 0 : -1;
        } else if (strcmp(op, "pwrite") == 0) {
            off_t off = (off_t)atol(ARG());
            const char *t = ARG();
            rc = pwrite(fd, t, strlen(t), off) == (ssize_t)strlen(t) ? 0 : -1;
        } else if (strcmp(op, "truncate") == 0) {
            rc = ftruncate(fd, (off_t)atol(ARG()));
        } else if (strcmp(op, "fsync") == 0) {
            rc = fsync(fd);
        } else if (strcmp(op, "fdatasync") == 0) {
            rc = fdatasync(fd);
        } else if (strcmp(op, "rename") == 0) {
            const char *a = ARG();
            rc = rename(a, ARG());
        } else if (strcmp(op, "unlink") == 0) {
            rc = unlink(ARG());
        } else if (strcmp(op, "link") == 0) {
            const char *a = ARG();
            rc = link(a, ARG());
        } else if (strcmp(op, "dirsync") == 0) {
            int d = open(ARG(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            rc = d < 0 ? -1 : fsync(d);
            if (d >= 0)
                close(d);
        } else {
            fprintf(stderr, "child: unknown op %s\n", op);
            return 2;
        }
#undef ARG
        if (rc < 0) {
            fprintf(stderr, "child: %s (op %d): %s\n", op, i, strerror(errno));
            return 3;
        }
    }
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static void teardown(void)
{
    h_fini();
}

static char dir[PATH_MAX - 64]; /* <h_dir>/f: the files of a test */

static void setup_test(const char *tag)
{
    h_init(tag);
    ck_assert(h_have_program("dtc-powercut"));
    ck_assert_int_lt(snprintf(dir, sizeof dir, "%s/f", h_dir()), (int)sizeof dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
}

static const char *fpath(const char *name)
{
    static char p[4][PATH_MAX];
    static int k;
    char *r = p[k++ % 4];
    if (strlen(dir) + 1 + strlen(name) >= PATH_MAX)
        return "<too long>";
    strcpy(r, dir);
    strcat(r, "/");
    strcat(r, name);
    return r;
}

/* Runs the child with ops under the preload; it must exit 0. */
static void child(const char *const ops[])
{
    const char *argv[64], *env[8];
    size_t n = 0;
    argv[n++] = "--child";
    for (size_t i = 0; ops[i] && n < 63; i++)
        argv[n++] = ops[i];
    argv[n] = NULL;
    ck_assert_int_gt(h_powercut_env(env, 8), 0);
    h_result r;
    int code = h_runv(&r, 10000, env, "check_powercut", argv);
    ck_assert_msg(code == 0, "child exit %d: %s", code, r.err);
}

/* A file made by the test itself (no preload): durable. */
static void put(const char *name, const char *text)
{
    int fd = open(fpath(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The contents of a file, or "<none>". */
static const char *get(const char *name)
{
    static char buf[4096];
    int fd = open(fpath(name), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return "<none>";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void apply_ok(void)
{
    ck_assert_msg(h_powercut_apply() == 0, "dtc-powercut cut/apply failed");
}

/* Only dtc-powercut apply (the test appended the cut itself). */
static void apply_only(void)
{
    h_result r;
    int code = h_runv(&r, 20000, NULL, "dtc-powercut",
                      (const char *const[]){"apply", h_powercut_journal(), h_dir(), NULL});
    ck_assert_msg(code == 0, "apply exit %d: %s%s", code, r.out, r.err);
}

static void cut(void)
{
    h_result r;
    ck_assert_int_eq(h_runv(&r, 10000, NULL, "dtc-powercut",
                            (const char *const[]){"cut", h_powercut_journal(), NULL}),
                     0);
}

/* 1 if the directory holds no backup link. */
static int no_backups(void)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '^\\.dtcpc\\.'", dir);
    return system(cmd) != 0;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_append_keeps_synced_prefix)
{
    setup_test("pc-append");
    put("log", "");
    child((const char *const[]){"open", fpath("log"), "append", "AAA", "fdatasync",
                                "append", "BBB", "append", "CCC", "close", NULL});
    ck_assert_str_eq(get("log"), "AAABBBCCC");
    apply_ok();
    ck_assert_str_eq(get("log"), "AAA");
}
END_TEST

START_TEST(test_overwrite_unsynced_restored)
{
    setup_test("pc-overwrite");
    put("pre", "0123456789");
    child((const char *const[]){"open", fpath("pre"), "pwrite", "2", "xyz", "pwrite", "8",
                                "abcd", "close", NULL});
    ck_assert_str_eq(get("pre"), "01xyz567abcd");
    apply_ok();
    ck_assert_str_eq(get("pre"), "0123456789");
}
END_TEST

START_TEST(test_synced_by_another_process)
{
    setup_test("pc-other");
    put("a", "");
    put("b", "");
    child((const char *const[]){"open", fpath("a"), "append", "hello", "close", "open",
                                fpath("b"), "append", "world", "close", NULL});
    /* Another process syncs a, not b. */
    child((const char *const[]){"open", fpath("a"), "fsync", "close", NULL});
    apply_ok();
    ck_assert_str_eq(get("a"), "hello");
    ck_assert_str_eq(get("b"), "");
}
END_TEST

static void tmp_rename(int dirsync)
{
    put("state", "old");
    const char *ops[] = {"create", fpath("state.tmp"), "append", "new", "fsync", "close",
                         "rename", fpath("state.tmp"), fpath("state"),
                         dirsync ? "dirsync" : NULL, dir, NULL};
    child(ops);
    ck_assert_str_eq(get("state"), "new");
    ck_assert_str_eq(get("state.tmp"), "<none>");
    apply_ok();
    ck_assert(no_backups());
}

START_TEST(test_rename_without_dirsync_undone)
{
    setup_test("pc-rename");
    tmp_rename(0);
    ck_assert_str_eq(get("state"), "old");
    /* tmp's creation never reached a directory sync either. */
    ck_assert_str_eq(get("state.tmp"), "<none>");
}
END_TEST

START_TEST(test_rename_with_dirsync_kept)
{
    setup_test("pc-rename-sync");
    tmp_rename(1);
    ck_assert_str_eq(get("state"), "new");
    ck_assert_str_eq(get("state.tmp"), "<none>");
}
END_TEST

START_TEST(test_names_and_truncation_undone)
{
    setup_test("pc-names");
    put("doomed", "keep me");
    put("long", "0123456789");
    child((const char *const[]){"create", fpath("fresh"), "append", "x", "fsync", "close",
                                "unlink", fpath("doomed"), "open", fpath("long"),
                                "truncate", "4", "close", NULL});
    ck_assert_str_eq(get("doomed"), "<none>");
    apply_ok();
    /* fresh: synced data, but its name never reached a directory sync. */
    ck_assert_str_eq(get("fresh"), "<none>");
    ck_assert_str_eq(get("doomed"), "keep me");
    ck_assert_str_eq(get("long"), "0123456789");
    ck_assert(no_backups());
}
END_TEST

START_TEST(test_names_durable_after_dirsync)
{
    setup_test("pc-names-sync");
    put("doomed", "bye");
    child((const char *const[]){"create", fpath("fresh"), "append", "x", "fsync", "close",
                                "unlink", fpath("doomed"), "dirsync", dir, NULL});
    apply_ok();
    ck_assert_str_eq(get("fresh"), "x");
    ck_assert_str_eq(get("doomed"), "<none>");
    ck_assert(no_backups());
}
END_TEST

/* The services' compaction keeps a replaced file's inode named
 * state.old (link), later removes that name and links it again: undone in
 * reverse, the unsynced link's name goes and the unlinked one comes back
 * (without link in the journal the unlink's undo found "the name is
 * taken": dtc-powercut apply failed). */
START_TEST(test_link_undone)
{
    setup_test("pc-link");
    put("state", "one");
    put("state.old", "zero");
    put("next", "two");
    char st[PATH_MAX], old[PATH_MAX], next[PATH_MAX]; /* fpath keeps 4 */
    snprintf(st, sizeof st, "%s", fpath("state"));
    snprintf(old, sizeof old, "%s", fpath("state.old"));
    snprintf(next, sizeof next, "%s", fpath("next"));
    child((const char *const[]){"unlink", old, "link", st, old, "rename", next, st, "unlink",
                                old, "link", st, old, NULL});
    ck_assert_str_eq(get("state.old"), "two");
    apply_ok();
    ck_assert_str_eq(get("state"), "one");
    ck_assert_str_eq(get("state.old"), "zero");
    ck_assert_str_eq(get("next"), "two");
    ck_assert(no_backups());
}
END_TEST

START_TEST(test_everything_after_cut_undone)
{
    setup_test("pc-cut");
    put("log", "");
    put("state", "old");
    child((const char *const[]){"open", fpath("log"), "append", "AAA", "fsync", "close",
                                NULL});
    cut();
    child((const char *const[]){"open", fpath("log"), "append", "BBB", "fsync", "close",
                                "create", fpath("t"), "append", "new", "fsync", "close",
                                "rename", fpath("t"), fpath("state"), "dirsync", dir, NULL});
    ck_assert_str_eq(get("log"), "AAABBB");
    ck_assert_str_eq(get("state"), "new");
    apply_only();
    ck_assert_str_eq(get("log"), "AAA");
    ck_assert_str_eq(get("state"), "old");
    ck_assert_str_eq(get("t"), "<none>");
    ck_assert(no_backups());
}
END_TEST

START_TEST(test_untracked_outside_root)
{
    /* A file outside the root is never journaled nor touched. */
    setup_test("pc-outside");
    char outside[PATH_MAX];
    snprintf(outside, sizeof outside, "%s.outside", h_dir());
    int fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    child((const char *const[]){"open", outside, "append", "zzz", "close", NULL});
    apply_ok();
    fd = open(outside, O_RDONLY | O_CLOEXEC);
    char buf[8] = {0};
    ck_assert_int_eq(read(fd, buf, sizeof buf - 1), 3);
    close(fd);
    unlink(outside);
    ck_assert_str_eq(buf, "zzz");
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child_main(argc - 2, argv + 2);
    Suite *s = suite_create("powercut");
    TCase *tc = tcase_create("powercut");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_append_keeps_synced_prefix);
    tcase_add_test(tc, test_overwrite_unsynced_restored);
    tcase_add_test(tc, test_synced_by_another_process);
    tcase_add_test(tc, test_rename_without_dirsync_undone);
    tcase_add_test(tc, test_rename_with_dirsync_kept);
    tcase_add_test(tc, test_names_and_truncation_undone);
    tcase_add_test(tc, test_names_durable_after_dirsync);
    tcase_add_test(tc, test_link_undone);
    tcase_add_test(tc, test_everything_after_cut_undone);
    tcase_add_test(tc, test_untracked_outside_root);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
