/*
 * test_dlog_damage.c - the decision log damaged on disk, with real
 * processes.  A log holding two live HEURISTIC decisions (dtc-noop
 * --fail-commit / --fail-rollback, coordinators exited), dtcd's MARK
 * after them, then a host crash (every process SIGKILLed, the segment
 * removed).  On a fresh copy of that log, one damage at a time: a byte
 * flipped in every record (header and body), the log file truncated or
 * grown, each file (the log file, dlog.control) replaced by a FIFO, a
 * directory, a symlink, an empty file, another instance's file.  dtcd
 * must refuse within a bound (exit 1, never hang), name the file, and
 * leave every byte of the directory as it was.  A provably torn tail (the
 * MARK torn or lost, bytes past the end) is recovered with exactly the
 * durable decisions.  Then the operator's step: `dtcd --salvage` reports
 * and changes nothing, `--salvage=apply` repairs (a copy kept), and dtcd
 * starts with the decisions the report said it would keep.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"
#include "harness.h"

#define FILE1 "dlog.0000000000000001"
#define MAX_RECS 256

static h_result res;
static char pristine[PATH_MAX];
static dtc_txid live[2];

struct rec {
    uint64_t off, len;
    unsigned type;
};
static struct rec recs[MAX_RECS];
static int nrecs;
static uint64_t file_size;

static void teardown(void)
{
    h_fini();
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[3 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static void path_of(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", h_dlog_dir(), name);
}

/* The records of the log file, walked by their length and position
 * fields: recs[], nrecs, file_size. */
static void walk(void)
{
    char path[PATH_MAX];
    struct stat st;
    path_of(FILE1, path, sizeof path);
    nrecs = 0;
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    file_size = (uint64_t)st.st_size;
    unsigned char *p = mmap(NULL, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    ck_assert_ptr_ne(p, MAP_FAILED);
    for (uint64_t off = DTC_DLOG_FILE_HDR; off + 24 <= file_size && nrecs < MAX_RECS;) {
        uint32_t len;
        uint64_t at;
        memcpy(&len, p + off + 4, 4);
        memcpy(&at, p + off + 8, 8);
        if (at != file_size + off || len < 24 || len % 8 || off + len > file_size)
            break;
        recs[nrecs++] = (struct rec){off, len, p[off + 16]};
        off += len;
    }
    munmap(p, file_size);
}

static void remove_segment(void)
{
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    shm_unlink(shm);
}

/* A host crash: every process SIGKILLed, the segment gone. */
static void crash_host(pid_t a, pid_t b)
{
    h_kill9(h_dtcd_pid());
    h_stop_dtcd(0);
    h_kill9(a);
    h_kill9(b);
    remove_segment();
}

/* The log the matrix damages: two live HEURISTIC decisions, dtcd's MARK
 * last (waited for, bounded), copied to `pristine` after the crash. */
static void make_log(void)
{
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    pid_t a = h_start_noop("a", "--fail-commit", "100", NULL);
    pid_t b = h_start_noop("b", "--fail-rollback", "100", NULL);
    ck_assert(a > 0 && b > 0);
    h_heuristic_exited(&live[0]);
    h_heuristic_exited(&live[1]);
    int64_t end = h_now_ms() + 5000;
    do {
        h_sleep_ms(50);
        walk();
    } while (h_now_ms() < end && (nrecs == 0 || recs[nrecs - 1].type != DTC_DLOG_MARK));
    crash_host(a, b);
    snprintf(pristine, sizeof pristine, "%s/pristine", h_dir());
    sh("cp -a '%s' '%s'", h_dlog_dir(), pristine);
    walk();
    ck_assert_int_ge(nrecs, 4);
    fprintf(stderr, "test_dlog_damage: %d records, the last of type %u\n", nrecs, recs[nrecs - 1].type);
}

static void restore(void)
{
    remove_segment();
    sh("rm -rf '%s' && cp -a '%s' '%s'", h_dlog_dir(), pristine, h_dlog_dir());
}

/* A checksum of the log directory: names, types, modes, sizes, bytes. */
static uint64_t dir_sum(void)
{
    DIR *d = opendir(h_dlog_dir());
    uint64_t sum = 0;
    static unsigned char buf[1 << 16];
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[PATH_MAX];
        struct stat st;
        path_of(e->d_name, path, sizeof path);
        ck_assert_int_eq(lstat(path, &st), 0);
        uint64_t h = dtc__crc32c(0, e->d_name, strlen(e->d_name)) * 1000003ull
                     + (uint64_t)st.st_mode * 31 + (uint64_t)st.st_size;
        int fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY) : -1;
        for (ssize_t n; fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0;)
            h = h * 7 + dtc__crc32c((uint32_t)h, buf, (size_t)n);
        if (fd >= 0)
            close(fd);
        sum += h;
    }
    closedir(d);
    return sum;
}

static const char *dtcd_args[] = {"--instance", NULL, "--data-dir", NULL, "--dlog-file-mb", "2",
                                  "--tick-ms", "20", NULL, NULL};

/* dtcd must refuse the log within 10 s (exit 1), naming `name`, and
 * change no byte of the directory. */
static void expect_refused(const char *what, const char *name)
{
    uint64_t before = dir_sum();
    dtcd_args[1] = h_instance();
    dtcd_args[3] = h_dlog_dir();
    dtcd_args[8] = NULL;
    int code = h_runv(&res, 10000, NULL, "dtcd", dtcd_args);
    ck_assert_msg(code != -1, "%s: dtcd did not exit within 10 s (hung, or started instead of refusing)", what);
    ck_assert_msg(code == 1, "%s: dtcd did not refuse (exit %d): %s", what, code, res.err);
    ck_assert_msg(strstr(res.err, name) != NULL, "%s: the refusal does not name %s: %s", what,
                  name, res.err);
    ck_assert_msg(dir_sum() == before, "%s: the refused log was changed", what);
    remove_segment();
}

static int files_named(const char *part)
{
    DIR *d = opendir(h_dlog_dir());
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

/* dtcd starts and holds exactly the two live decisions; then a crash. */
static void expect_recovered(const char *what)
{
    ck_assert_msg(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}) > 0,
                  "%s: dtcd did not start", what);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_msg(st.txns_in_use == 2, "%s: %u live decisions, want 2", what, st.txns_in_use);
    for (int k = 0; k < 2; k++) {
        dtc_outcome o;
        ck_assert_int_eq(dtc_transaction_outcome(h_inst(), &live[k], &o), DTC_OK);
        ck_assert_msg(o.kind == DTC_OUTCOME_HEURISTIC, "%s: decision %d lost", what, k);
    }
    crash_host(-1, -1);
}

static void put_bytes(const char *name, uint64_t off, const void *b, size_t n)
{
    char path[PATH_MAX];
    path_of(name, path, sizeof path);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void flip(uint64_t off)
{
    char path[PATH_MAX];
    unsigned char c;
    path_of(FILE1, path, sizeof path);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 0x08;
    ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

START_TEST(test_flip_every_record)
{
    h_init("dl-flip");
    make_log();
    int last = nrecs - 1; /* the MARK: torn if damaged, nothing after it */
    ck_assert_uint_eq(recs[last].type, DTC_DLOG_MARK);
    for (int i = 0; i < last; i++) {
        uint64_t in_hdr = (uint64_t)(i * 11) % DTC_DLOG_REC_HDR;
        uint64_t body = recs[i].len > DTC_DLOG_REC_HDR
                            ? DTC_DLOG_REC_HDR + (uint64_t)(i * 29) % (recs[i].len - DTC_DLOG_REC_HDR)
                            : in_hdr;
        uint64_t at[2] = {in_hdr, body};
        for (int k = 0; k < 2; k++) {
            char what[96];
            snprintf(what, sizeof what, "record %d (type %u) byte %llu", i, recs[i].type,
                     (unsigned long long)at[k]);
            restore();
            flip(recs[i].off + at[k]);
            expect_refused(what, FILE1);
        }
    }
    /* the MARK torn: a torn tail, kept aside; lost (zeros): the end */
    restore();
    flip(recs[last].off + 20);
    expect_recovered("torn MARK");
    ck_assert_int_eq(files_named(".torn-"), 1);
    restore();
    static const unsigned char zeros[DTC_DLOG_REC_HDR];
    put_bytes(FILE1, recs[last].off, zeros, sizeof zeros);
    expect_recovered("lost MARK");
    /* junk past the end that no record of the file could be (as a
     * recycled file's old records, which name other positions): not a
     * torn tail, nothing kept aside or cleared */
    restore();
    unsigned char junk[40], back[40];
    memset(junk, 0x5a, sizeof junk);
    put_bytes(FILE1, recs[last].off + recs[last].len + 16, junk, sizeof junk);
    expect_recovered("junk past the end");
    ck_assert_int_eq(files_named(".torn-"), 0);
    char path[PATH_MAX];
    path_of(FILE1, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, back, sizeof back, (off_t)(recs[last].off + recs[last].len + 16)),
                     (ssize_t)sizeof back);
    close(fd);
    ck_assert_int_eq(memcmp(back, junk, sizeof junk), 0);
}
END_TEST

START_TEST(test_truncated_and_replaced)
{
    h_init("dl-files");
    make_log();
    char path[PATH_MAX];
    const uint64_t sizes[] = {0, 1, 127, DTC_DLOG_FILE_HDR, 1000, recs[1].off + 10, 1u << 20,
                              file_size - 8, file_size + 4096};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %llu", (unsigned long long)sizes[k]);
        restore();
        path_of(FILE1, path, sizeof path);
        ck_assert_int_eq(truncate(path, (off_t)sizes[k]), 0);
        expect_refused(what, FILE1);
    }
    const char *const names[] = {FILE1, "dlog.control"};
    const char *const kinds[] = {"a FIFO", "a directory", "a symlink", "an empty file"};
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < 4; k++) {
            char what[96], target[PATH_MAX + 64];
            snprintf(what, sizeof what, "%s replaced by %s", names[f], kinds[k]);
            restore();
            path_of(names[f], path, sizeof path);
            snprintf(target, sizeof target, "%s/%s", pristine, names[f]);
            ck_assert_int_eq(unlink(path), 0);
            int rc = k == 0   ? mkfifo(path, 0600)
                     : k == 1 ? mkdir(path, 0700)
                     : k == 2 ? symlink(target, path)
                              : close(open(path, O_CREAT | O_WRONLY, 0600));
            ck_assert_int_eq(rc, 0);
            expect_refused(what, names[f]);
        }
}
END_TEST

/* Another instance's log (made by a dtcd of instance <name>b). */
START_TEST(test_foreign_log)
{
    h_init("dl-foreign");
    make_log();
    char other[DTC_INSTANCE_MAX + 8], odir[PATH_MAX];
    snprintf(other, sizeof other, "%.40sb", h_instance());
    snprintf(odir, sizeof odir, "%s/dlog-b", h_dir());
    pid_t pb = h_spawn("dtcd-b", "dtcd", "--instance", other, "--data-dir", odir,
                       "--dlog-file-mb", "2", NULL);
    ck_assert_int_gt(pb, 0);
    char out[256] = "";
    for (int64_t end = h_now_ms() + 5000; h_now_ms() < end && strstr(out, "ready") == NULL;) {
        h_sleep_ms(20);
        h_read_output("dtcd-b", "out", out, sizeof out);
    }
    ck_assert_ptr_nonnull(strstr(out, "ready"));
    ck_assert_int_eq(h_exit_code(h_stop(pb, 5000)), 0);
    /* its log file alone over ours: another log id */
    restore();
    sh("cp '%s/%s' '%s/%s'", odir, FILE1, h_dlog_dir(), FILE1);
    expect_refused("another instance's log file", other);
    ck_assert_ptr_nonnull(strstr(res.err, h_instance()));
    /* all of its dlog.* over ours: another instance */
    restore();
    sh("cp '%s'/dlog.* '%s/'", odir, h_dlog_dir());
    expect_refused("another instance's log", other);
    ck_assert_ptr_nonnull(strstr(res.err, h_instance()));
    /* ours again: the decisions are all there */
    restore();
    expect_recovered("own log");
}
END_TEST

/* dtcd --salvage reports, changes nothing; =apply repairs, keeps a copy;
 * dtcd then starts with what the report said stays. */
START_TEST(test_salvage)
{
    h_init("dl-salvage");
    make_log();
    restore();
    flip(recs[0].off + DTC_DLOG_REC_HDR + 2); /* the first decision record's body */
    expect_refused("flipped first record", FILE1);
    uint64_t before = dir_sum();
    dtcd_args[1] = h_instance();
    dtcd_args[3] = h_dlog_dir();
    dtcd_args[8] = "--salvage";
    ck_assert_int_eq(h_runv(&res, 10000, NULL, "dtcd", dtcd_args), 1);
    ck_assert_msg(strstr(res.out, "damage: " FILE1 " offset") != NULL, "report: %s", res.out);
    ck_assert_msg(strstr(res.out, "cover with SKIP records") != NULL, "report: %s", res.out);
    ck_assert_msg(strstr(res.out, "nothing changed") != NULL, "report: %s", res.out);
    ck_assert_msg(dir_sum() == before, "--salvage changed the log");
    dtcd_args[8] = "--salvage=apply";
    ck_assert_msg(h_runv(&res, 10000, NULL, "dtcd", dtcd_args) == 0, "apply: %s %s", res.out,
                  res.err);
    ck_assert_ptr_nonnull(strstr(res.out, "repaired"));
    ck_assert_ptr_nonnull(strstr(res.out, "sound"));
    ck_assert_int_eq(files_named(".damaged-"), 1);
    dtcd_args[8] = NULL;
    expect_recovered("salvaged");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dlog_damage");
    TCase *tc = tcase_create("damage");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 100);
    tcase_add_test(tc, test_flip_every_record);
    tcase_add_test(tc, test_truncated_and_replaced);
    tcase_add_test(tc, test_foreign_log);
    tcase_add_test(tc, test_salvage);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
