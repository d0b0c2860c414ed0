/*
 * test_segfuzz.c - a segment fuzzer: random fields of a live segment,
 * scribbled one at a time under load (issue 9).
 *
 * dtcd runs with small limits, four dtc-noop participants serve, and a
 * forked coordinator loops transactions over all four.  The test maps the
 * segment itself (/dev/shm/dtc.<instance>, read-write) and, one scribble
 * at a time, writes a random or boundary value (0, 1, -1, max, max+1 of
 * a limit, the sign bit, 0x80000000, huge 64-bit, the current value +-1)
 * into one field of the header, a txn slot, an entry, a participant slot,
 * a ring request or a wake structure (wk_sleepers, wk_sent, wk_suspect),
 * or fills a string field without a NUL, or writes 1 KiB of random bytes
 * at a random place of the decision log's buffer (never written to a
 * file: its CRCs are checked first).  The write is a plain store
 * without any lock, as a stray writer would do it.
 *
 * Never scribbled: the bytes of a pthread mutex or condvar (sh_*_lock,
 * ts_lock, ts_cond, ps_lock, ps_cond, wk_lock): glibc's own state inside
 * a robust mutex or a condvar can legitimately hang a process, which no
 * validation in dtc can prevent.
 *
 * After each scribble and a short settle (traffic goes on), it checks:
 * no process the test started died of a signal or left a sanitizer
 * report; `dtcctl status` and `dtcctl txns` return within their deadline
 * with exit 0, 1 (status: not healthy) or 2 (refused the segment); the
 * coordinator is not stuck in one call.  A participant or the
 * coordinator that exited with an error code is restarted; dtcd that
 * exited with an error code (refused the segment), a segment refused by
 * dtcctl, a participant that cannot register again, or no commit for a
 * while (every slot quarantined, say) make a "reset": everything stopped
 * by pid, the segment and the decision log removed, all restarted.
 *
 * DTC_SEGFUZZ_SEED (default: time and pid, printed) makes the sequence of
 * scribbles (field, slot, value) deterministic; which slots are live at
 * that moment depends on timing.  DTC_SEGFUZZ_COUNT scribbles (default
 * 300); DTC_SEGFUZZ_VERBOSE=1 prints every scribble.  A summary (scribbles
 * by region, resets, restarts, commands timed, failures) goes to stderr.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

/* ---- the fields ------------------------------------------------------------ */

enum sf_region { R_HDR, R_TXN, R_ENTRY, R_PART, R_RING, R_WAKE, R_NREGIONS };
static const char *const sf_region_name[R_NREGIONS] = {"header", "txn", "entry",
                                                       "part", "ring", "wake"};
/* What a field's offset is relative to. */
enum sf_base { B_HDR, B_TXN, B_ENTRY, B_PART, B_RING };
enum sf_kind { K_INT, K_STR, K_BYTES };

struct sf_field {
    enum sf_region region;
    enum sf_base base;
    const char *name;
    size_t off, size;
    enum sf_kind kind;
};

#define SF(reg, base, T, m, k) {reg, base, #m, offsetof(T, m), sizeof(((T *)0)->m), k}
#define HDR(m, k) SF(R_HDR, B_HDR, struct dtc_shm_header, m, k)
#define TXN(m, k) SF(R_TXN, B_TXN, struct dtc_txn_slot, m, k)
#define ENT(m, k) SF(R_ENTRY, B_ENTRY, struct dtc_txn_entry, m, k)
#define PRT(m, k) SF(R_PART, B_PART, struct dtc_part_slot, m, k)
#define RNG(m, k) SF(R_RING, B_RING, struct dtc_ring_req, m, k)

static const struct sf_field sf_fields[] = {
    HDR(sh_magic, K_INT), HDR(sh_version, K_INT), HDR(sh_format, K_INT),
    HDR(sh_total_size, K_INT), HDR(sh_header_size, K_INT), HDR(sh_txn_slot_size, K_INT),
    HDR(sh_part_slot_size, K_INT), HDR(sh_ring_cap, K_INT), HDR(sh_txn_off, K_INT),
    HDR(sh_part_off, K_INT), HDR(sh_max_txns, K_INT), HDR(sh_max_parts_per_txn, K_INT),
    HDR(sh_max_participants, K_INT), HDR(sh_pad0, K_INT), HDR(sh_instance, K_STR),
    HDR(sh_ready, K_INT), HDR(sh_sup_pid, K_INT), HDR(sh_sup_start, K_INT),
    HDR(sh_shutdown, K_INT), HDR(sh_begun, K_INT), HDR(sh_committed, K_INT),
    HDR(sh_aborted, K_INT), HDR(sh_timed_out, K_INT), HDR(sh_reclaimed, K_INT),
    HDR(sh_heuristic, K_INT), HDR(sh_corrupt_slots, K_INT), HDR(sh_readonly_votes, K_INT),
    HDR(sh_one_phase, K_INT), HDR(sh_dlog_dir, K_STR),
    HDR(sh_dlog_file_size, K_INT), HDR(sh_dlog_files, K_INT), HDR(sh_recovering, K_INT),
    HDR(sh_dlog_fileno, K_INT), HDR(sh_dlog_end, K_INT), HDR(sh_dlog_written, K_INT),
    HDR(sh_dlog_filed, K_INT), HDR(sh_dlog_buf, K_BYTES),
    HDR(sh_dlog_durable, K_INT), HDR(sh_dlog_sync_no, K_INT),
    HDR(sh_dlog_sync_target, K_INT), HDR(sh_dlog_sync_done, K_INT), HDR(sh_dlog_syncs, K_INT),
    HDR(sh_dlog_records, K_INT), HDR(sh_dlog_error, K_INT), HDR(sh_dlog_error_ms, K_INT),

    TXN(ts_state, K_INT), TXN(ts_gen, K_INT), TXN(ts_flags, K_INT), TXN(ts_nentries, K_INT),
    TXN(ts_pending, K_INT), TXN(ts_result, K_INT), TXN(ts_txid, K_BYTES),
    TXN(ts_owner_pid, K_INT), TXN(ts_owner_start, K_INT), TXN(ts_driver, K_INT),
    TXN(ts_begin_ns, K_INT), TXN(ts_touch_ns, K_INT), TXN(ts_deadline_ns, K_INT),
    TXN(ts_prepare_ms, K_INT), TXN(ts_commit_ms, K_INT), TXN(ts_rollback_ms, K_INT),
    TXN(ts_max_retries, K_INT), TXN(ts_dlsn, K_INT), TXN(ts_dtype, K_INT), TXN(ts_adopt_why, K_INT),

    ENT(te_part, K_INT), ENT(te_part_gen, K_INT), ENT(te_op, K_INT), ENT(te_status, K_INT),
    ENT(te_vote, K_INT), ENT(te_enlist_status, K_INT), ENT(te_attempts, K_INT),
    ENT(te_payload_len, K_INT), ENT(te_next_retry_ns, K_INT), ENT(te_name, K_STR),
    ENT(te_reason, K_STR), ENT(te_vote_reason, K_STR), ENT(te_enlist_reason, K_STR),
    ENT(te_failed_op, K_INT), ENT(te_failed_status, K_INT), ENT(te_failed_reason, K_STR),
    ENT(te_payload, K_STR),

    PRT(ps_state, K_INT), PRT(ps_gen, K_INT), PRT(ps_name, K_STR), PRT(ps_pid, K_INT),
    PRT(ps_start, K_INT), PRT(ps_head, K_INT), PRT(ps_tail, K_INT), PRT(ps_served, K_INT),
    PRT(ps_syncs, K_INT),

    RNG(rq_gen, K_INT), RNG(rq_txn, K_INT), RNG(rq_entry, K_INT), RNG(rq_op, K_INT),
    {R_RING, B_RING, "request", 0, sizeof(struct dtc_ring_req), K_BYTES},

    SF(R_WAKE, B_TXN, struct dtc_txn_slot, ts_wake.wk_sleepers, K_INT),
    SF(R_WAKE, B_TXN, struct dtc_txn_slot, ts_wake.wk_sent, K_INT),
    SF(R_WAKE, B_TXN, struct dtc_txn_slot, ts_wake.wk_suspect, K_INT),
    SF(R_WAKE, B_PART, struct dtc_part_slot, ps_wake.wk_sleepers, K_INT),
    SF(R_WAKE, B_PART, struct dtc_part_slot, ps_wake.wk_sent, K_INT),
    SF(R_WAKE, B_PART, struct dtc_part_slot, ps_wake.wk_suspect, K_INT),
};
#define SF_NFIELDS (sizeof sf_fields / sizeof sf_fields[0])

/* ---- deterministic random numbers (xorshift64*) ------------------------- */

static uint64_t sf_rng;

static uint64_t rnd(void)
{
    sf_rng ^= sf_rng >> 12;
    sf_rng ^= sf_rng << 25;
    sf_rng ^= sf_rng >> 27;
    return sf_rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- the run's state -------------------------------------------------------- */

#define SF_NPARTS 4
static const char *const sf_names[SF_NPARTS] = {"n0", "n1", "n2", "n3"};

/* Written by the forked coordinator, read by the test. */
struct sf_shared {
    volatile uint64_t committed, other;  /* transactions ended */
    volatile int64_t call_start_ms;      /* != 0: inside an API call since */
    volatile int call_what;              /* which call (for a hang report) */
};

static struct {
    struct sf_shared *sh;
    pid_t coord, parts[SF_NPARTS];
    unsigned char *seg;
    size_t seg_size;
    /* geometry copied at map time (from a freshly created segment) */
    uint32_t max_txns, max_parts, max_participants, ring_cap;
    size_t txn_off, part_off, txn_slot_size, part_slot_size;
    unsigned coord_runs;
    /* counts */
    long scribbles, by_region[R_NREGIONS], resets, part_restarts, coord_restarts,
        commands, failures, dtcd_refused, ctl_refused, part_refused, degraded, sanitizer_files;
    int64_t cmd_max_ms;
    uint64_t last_committed;
    int stale_checks;
    char recent[8][200]; /* the last scribbles, printed with a failure */
    long nrecent;
} sf;

static void sf_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sf_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "segfuzz: FAILURE after scribble %ld: ", sf.scribbles);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsegfuzz: the last scribbles:\n");
    long from = sf.nrecent > 8 ? sf.nrecent - 8 : 0;
    for (long i = from; i < sf.nrecent; i++)
        fprintf(stderr, "  %s\n", sf.recent[i % 8]);
    sf.failures++;
}

/* ---- processes ---------------------------------------------------------------- */

static const char *const sf_call_name[] = {"none", "open", "begin", "enlist", "commit",
                                           "rollback"};

static void coord_call(int what)
{
    sf.sh->call_what = what;
    sf.sh->call_start_ms = h_now_ms();
}

static void coord_done(void)
{
    sf.sh->call_start_ms = 0;
    sf.sh->call_what = 0;
}

/* The coordinator: transactions over the four participants, forever
 * (until the parent stops it or is gone).  Exit 3: could not attach. */
static pid_t start_coord(void)
{
    char err[PATH_MAX];
    snprintf(err, sizeof err, "%s/coord-%u.err", h_dir(), sf.coord_runs++);
    pid_t parent = getpid();
    coord_done();
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c != 0)
        return c;
    if (freopen(err, "w", stderr) == NULL)
        _exit(4);
    setvbuf(stderr, NULL, _IONBF, 0);
    dtc_instance *in = NULL;
    for (int i = 0;; i++) {
        coord_call(1);
        dtc_result rc = dtc_open(h_instance(), &in);
        coord_done();
        if (rc == DTC_OK)
            break;
        if (i >= 100)
            _exit(3);
        h_sleep_ms(20);
    }
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.prepare_timeout_ms = o.commit_timeout_ms = o.rollback_timeout_ms = 1000;
    while (getppid() == parent) {
        dtc_txid id;
        coord_call(2);
        dtc_result rc = dtc_begin_transaction(in, &o, &id);
        coord_done();
        if (rc != DTC_OK) {
            sf.sh->other++;
            h_sleep_ms(5);
            continue;
        }
        for (int i = 0; i < SF_NPARTS && rc == DTC_OK; i++) {
            coord_call(3);
            rc = dtc_enlist(in, &id, sf_names[i], "x", 1);
            coord_done();
        }
        coord_call(rc == DTC_OK ? 4 : 5);
        rc = rc == DTC_OK ? dtc_commit_transaction(in, &id, NULL)
                          : dtc_rollback_transaction(in, &id, NULL);
        coord_done();
        if (rc == DTC_OK)
            sf.sh->committed++;
        else
            sf.sh->other++;
    }
    _exit(0);
}

static const char *const sf_dtcd_args[] = {"--tick-ms", "20", "--max-txns", "6",
                                           "--max-parts", "4", "--max-participants", "6",
                                           "--orphan-timeout-ms", "500", NULL};

/* Maps the segment and copies its geometry (it was just created). */
static void map_segment(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/dev/shm/dtc.%s", h_instance());
    int fd = open(path, O_RDWR);
    ck_assert_msg(fd >= 0, "open %s", path);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    sf.seg_size = (size_t)st.st_size;
    sf.seg = mmap(NULL, sf.seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(sf.seg != MAP_FAILED);
    const struct dtc_shm_header *h = (const void *)sf.seg;
    ck_assert_int_eq(dtc__header_validate(h, sf.seg_size), DTC_OK);
    sf.max_txns = h->sh_max_txns;
    sf.max_parts = h->sh_max_parts_per_txn;
    sf.max_participants = h->sh_max_participants;
    sf.ring_cap = h->sh_ring_cap;
    sf.txn_off = h->sh_txn_off;
    sf.part_off = h->sh_part_off;
    sf.txn_slot_size = h->sh_txn_slot_size;
    sf.part_slot_size = h->sh_part_slot_size;
}

static void unmap_segment(void)
{
    if (sf.seg != NULL && sf.seg != MAP_FAILED)
        munmap(sf.seg, sf.seg_size);
    sf.seg = NULL;
}

/* Sanitizer reports in every *.err file of the test's directory. */
static void scan_reports(void)
{
    DIR *d = opendir(h_dir());
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        /* run-*.err: dtcctl's, checked (and reported) by ctl() */
        if (n < 4 || strcmp(e->d_name + n - 4, ".err") != 0 || strncmp(e->d_name, "run-", 4) == 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", h_dir(), e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        char line[512];
        int bad = 0;
        while (!bad && fgets(line, sizeof line, f))
            bad = strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error:") != NULL;
        fclose(f);
        if (bad) {
            sf.sanitizer_files++;
            sf_fail("sanitizer report in %s", path);
            /* keep it, renamed, so it is reported once */
            char kept[PATH_MAX + 8];
            snprintf(kept, sizeof kept, "%s.seen", path);
            rename(path, kept);
        }
    }
    closedir(d);
}

/* A process of ours that ended: a signal is a failure.  Returns 1 if it
 * had ended. */
static int ended(pid_t pid, const char *what)
{
    int st = 0;
    if (pid <= 0 || !h_wait(pid, 0, &st))
        return 0;
    if (st != -1 && WIFSIGNALED(st))
        sf_fail("%s (pid %d) died of signal %d", what, (int)pid, WTERMSIG(st));
    return 1;
}

/* What a process that did not stop is doing, for the failure report:
 * its kernel wait channel and stack, and its threads' backtraces when
 * gdb is installed (bounded: gdb gets 20 s). */
static void show_stuck(pid_t pid)
{
    static const char *const files[] = {"wchan", "stack"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, files[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = '\0';
            fprintf(stderr, "segfuzz: pid %d %s: %s\n", (int)pid, files[i], buf);
        }
    }
    if (access("/usr/bin/gdb", X_OK) != 0)
        return;
    char cmd[160];
    snprintf(cmd, sizeof cmd,
             "timeout 20 /usr/bin/gdb -batch -nx -p %d -ex 'thread apply all bt' 1>&2 "
             "2>/dev/null </dev/null",
             (int)pid);
    if (system(cmd) != 0)
        fprintf(stderr, "segfuzz: gdb could not show pid %d\n", (int)pid);
}

/* Stops one of ours; a signal other than our SIGTERM / SIGKILL is a
 * failure (it died before we asked), and so is a SIGKILL (it did not
 * stop within timeout_ms; what it was doing is shown first). */
static void stop_proc(pid_t pid, const char *what, int timeout_ms)
{
    if (pid <= 0 || ended(pid, what))
        return;
    kill(pid, SIGTERM); /* our unreaped child: the pid cannot be reused */
    int st = -1;
    if (!h_wait(pid, timeout_ms, &st)) {
        show_stuck(pid);
        st = h_stop(pid, 0);
    }
    if (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
        sf_fail("%s (pid %d) did not stop on SIGTERM within %d ms (signal %d)", what, (int)pid,
             timeout_ms, WTERMSIG(st));
}

static int start_all(void)
{
    if (h_start_dtcdv(sf_dtcd_args) <= 0)
        return -1;
    for (int i = 0; i < SF_NPARTS; i++)
        if ((sf.parts[i] = h_start_noop(sf_names[i], NULL)) <= 0)
            return -1;
    map_segment();
    sf.coord = start_coord();
    sf.last_committed = sf.sh->committed;
    sf.stale_checks = 0;
    return 0;
}

#define SF_DTCD_STOP_MS 9000
/* A participant or the coordinator asked to stop may be inside one lock
 * wait, bounded by DTC_LOCK_LIMIT_MS (10 s, shm.h: a lock held by a
 * process that a scribble made look alive, say), then a wait slice. */
#define SF_STOP_MS 12000

/* Everything stopped by pid, the segment and the decision log removed,
 * everything restarted. */
static void reset(const char *why)
{
    if (getenv("DTC_SEGFUZZ_VERBOSE"))
        fprintf(stderr, "segfuzz: reset after scribble %ld: %s\n", sf.scribbles, why);
    sf.resets++;
    unmap_segment();
    stop_proc(sf.coord, "coordinator", SF_STOP_MS);
    sf.coord = -1;
    /* dtcd before the participants: they answer its rollbacks.  Its stop
     * is bounded by design: the grace (1 s, harness), 4 graces more for
     * a participant that never answers, 2 s for its threads. */
    pid_t d = h_dtcd_pid();
    if (d > 0 && !ended(d, "dtcd")) {
        int code = h_stop_dtcd(SF_DTCD_STOP_MS);
        if (code > 128 && code != 128 + SIGTERM)
            sf_fail("dtcd did not stop on SIGTERM within %d ms (exit %d)", SF_DTCD_STOP_MS,
                    code);
    } else {
        h_stop_dtcd(0); /* forgets it, closes the harness's handle */
    }
    for (int i = 0; i < SF_NPARTS; i++) {
        stop_proc(sf.parts[i], sf_names[i], SF_STOP_MS);
        sf.parts[i] = -1;
    }
    scan_reports();
    char name[DTC_INSTANCE_MAX + 8];
    snprintf(name, sizeof name, "/dtc.%s", h_instance());
    shm_unlink(name);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h_dlog_dir());
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(start_all() == 0, "restart after a reset (%s) failed", why);
}

/* ---- scribbling ------------------------------------------------------------------- */

static uint64_t value_for(const struct sf_field *f, uint64_t cur)
{
    unsigned bits = (unsigned)f->size * 8;
    uint64_t mask = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
    const uint64_t limits[] = {sf.max_txns, sf.max_parts, sf.max_participants, sf.ring_cap,
                               DTC_PAYLOAD_MAX, DTC_NAME_MAX};
    uint64_t v;
    switch (rnd_below(14)) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = ~0ULL; break;                        /* -1 */
    case 3: v = mask >> 1; break;                    /* signed max */
    case 4: v = 1ULL << (bits - 1); break;           /* sign bit */
    case 5: v = cur + 1; break;
    case 6: v = cur - 1; break;
    case 7: v = limits[rnd_below(6)]; break;         /* max */
    case 8: v = limits[rnd_below(6)] + 1; break;     /* max + 1 */
    case 9: v = 0x80000000ULL; break;
    case 10: v = 0xdeadbeefcafebabeULL; break;       /* huge 64-bit */
    case 11: v = rnd_below(16); break;
    default: v = rnd(); break;
    }
    return v & mask;
}

static uint64_t load_int(const unsigned char *p, size_t size)
{
    uint64_t v = 0;
    memcpy(&v, p, size); /* little-endian */
    return v;
}

static void scribble_one(void)
{
    uint32_t want_region = rnd_below(R_NREGIONS);
    uint32_t pick = rnd_below(64), fi;
    size_t nin = 0;
    for (fi = 0; fi < SF_NFIELDS; fi++)
        nin += sf_fields[fi].region == want_region;
    pick %= (uint32_t)nin;
    for (fi = 0; fi < SF_NFIELDS; fi++)
        if (sf_fields[fi].region == want_region && pick-- == 0)
            break;
    const struct sf_field *f = &sf_fields[fi];
    /* Which slot: random, or (half the time) a live one. */
    uint32_t ti = rnd_below(sf.max_txns), ei = rnd_below(sf.max_parts);
    uint32_t pi = rnd_below(sf.max_participants), ri = rnd_below(sf.ring_cap);
    int prefer_live = rnd_below(2);
    uint32_t rstart = rnd_below(64);
    if (prefer_live) {
        for (uint32_t k = 0; k < sf.max_txns; k++) {
            uint32_t i = (ti + k) % sf.max_txns;
            const struct dtc_txn_slot *ts =
                (const void *)(sf.seg + sf.txn_off + (size_t)i * sf.txn_slot_size);
            if (ts->ts_state != DTC_TXN_FREE) {
                ti = i;
                uint32_t n = ts->ts_nentries;
                if (n > 0 && n <= sf.max_parts)
                    ei = ei % n;
                break;
            }
        }
        for (uint32_t k = 0; k < sf.max_participants; k++) {
            uint32_t i = (pi + k) % sf.max_participants;
            const struct dtc_part_slot *ps =
                (const void *)(sf.seg + sf.part_off + (size_t)i * sf.part_slot_size);
            if (ps->ps_state == DTC_PS_LIVE) {
                pi = i;
                uint64_t h = ps->ps_head, t = ps->ps_tail;
                if (t > h && t - h <= sf.ring_cap)
                    ri = (uint32_t)((h + rstart % (t - h)) % sf.ring_cap);
                break;
            }
        }
    }
    unsigned char *txn = sf.seg + sf.txn_off + (size_t)ti * sf.txn_slot_size;
    unsigned char *part = sf.seg + sf.part_off + (size_t)pi * sf.part_slot_size;
    unsigned char *base = NULL;
    char where[48] = "";
    switch (f->base) {
    case B_HDR: base = sf.seg; break;
    case B_TXN: base = txn; snprintf(where, sizeof where, "txn %u", ti); break;
    case B_ENTRY:
        base = txn + offsetof(struct dtc_txn_slot, ts_entries)
               + (size_t)ei * sizeof(struct dtc_txn_entry);
        snprintf(where, sizeof where, "txn %u entry %u", ti, ei);
        break;
    case B_PART: base = part; snprintf(where, sizeof where, "part %u", pi); break;
    case B_RING:
        base = part + offsetof(struct dtc_part_slot, ps_ring)
               + (size_t)ri * sizeof(struct dtc_ring_req);
        snprintf(where, sizeof where, "part %u ring %u", pi, ri);
        break;
    }
    unsigned char *p = base + f->off;
    ck_assert(p >= sf.seg && p + f->size <= sf.seg + sf.seg_size);
    if (f->kind == K_BYTES && f->size > 1024) /* the log buffer: a random place in it */
        p += rnd_below((uint32_t)(f->size - 1024));
    char *desc = sf.recent[sf.nrecent++ % 8];
    if (f->kind == K_INT) {
        uint64_t cur = load_int(p, f->size), v = value_for(f, cur);
        memcpy(p, &v, f->size);
        snprintf(desc, 200, "#%ld %s %s %s: %#" PRIx64 " -> %#" PRIx64, sf.scribbles,
                 sf_region_name[f->region], where, f->name, cur, v);
    } else {
        /* a string without its NUL: printable or any non-NUL byte */
        int printable = f->kind == K_STR && rnd_below(2);
        unsigned char buf[1024];
        size_t n = f->size < sizeof buf ? f->size : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = f->kind == K_BYTES ? (unsigned char)rnd()
                     : printable        ? (unsigned char)('!' + rnd_below(94))
                                        : (unsigned char)(1 + rnd_below(255));
        memcpy(p, buf, n);
        snprintf(desc, 200, "#%ld %s %s %s: %zu %s bytes", sf.scribbles,
                 sf_region_name[f->region], where, f->name, n,
                 f->kind == K_BYTES ? "random" : printable ? "printable" : "non-NUL");
    }
    sf.scribbles++;
    sf.by_region[f->region]++;
    if (getenv("DTC_SEGFUZZ_VERBOSE"))
        fprintf(stderr, "segfuzz: %s\n", desc);
}

/* ---- checking ------------------------------------------------------------------------ */

#define SF_CMD_DEADLINE_MS 5000

/* A dtcctl read command: 0 fine, 1 the segment is refused (exit 2). */
static int ctl(const char *cmd)
{
    h_result r;
    int64_t t0 = h_now_ms();
    int code = h_run(&r, SF_CMD_DEADLINE_MS + 1000, "dtcctl", "--instance", h_instance(), cmd,
                     NULL);
    int64_t ms = h_now_ms() - t0;
    sf.commands++;
    if (ms > sf.cmd_max_ms)
        sf.cmd_max_ms = ms;
    if (code == -1) {
        sf_fail("dtcctl %s did not return within %d ms", cmd, SF_CMD_DEADLINE_MS + 1000);
        return 1;
    }
    if (code >= 128) {
        sf_fail("dtcctl %s died of signal %d: %s", cmd, code - 128, r.err);
        return 1;
    }
    if (strstr(r.err, "Sanitizer") || strstr(r.err, "runtime error:")) {
        sf_fail("dtcctl %s: sanitizer report:\n%s", cmd, r.err);
        return 1;
    }
    if (code == 2 || (code == 1 && strcmp(cmd, "status") != 0)) {
        sf.ctl_refused++;
        return 1;
    }
    if (code != 0 && code != 1) {
        sf_fail("dtcctl %s: exit %d: %s", cmd, code, r.err);
        return 1;
    }
    return 0;
}

/* After a scribble and its settle: returns a reason to reset, or NULL. */
static const char *check(void)
{
    if (ended(h_dtcd_pid(), "dtcd")) {
        sf.dtcd_refused++;
        return "dtcd exited";
    }
    int64_t since = sf.sh->call_start_ms; /* read once: the coordinator writes it */
    int what = sf.sh->call_what;
    if (since != 0 && h_now_ms() - since > 15000) {
        sf_fail("coordinator stuck in %s for %" PRId64 " ms",
                sf_call_name[what >= 0 && what <= 5 ? what : 0], h_now_ms() - since);
        return "coordinator stuck";
    }
    if (ended(sf.coord, "coordinator")) {
        sf.coord_restarts++;
        sf.coord = start_coord();
    }
    for (int i = 0; i < SF_NPARTS; i++) {
        if (!ended(sf.parts[i], sf_names[i]))
            continue;
        sf.part_restarts++;
        if ((sf.parts[i] = h_start_noop(sf_names[i], NULL)) <= 0) {
            sf.part_refused++;
            return "a participant could not register again";
        }
    }
    if (ctl("status") || ctl("txns"))
        return "dtcctl refused the segment";
    if (sf.sh->committed != sf.last_committed) {
        sf.last_committed = sf.sh->committed;
        sf.stale_checks = 0;
    } else if (++sf.stale_checks >= 25) {
        sf.degraded++;
        return "no commit for 25 checks";
    }
    return NULL;
}

START_TEST(test_segfuzz)
{
    const char *s = getenv("DTC_SEGFUZZ_SEED"), *c = getenv("DTC_SEGFUZZ_COUNT");
    uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    long count = c ? strtol(c, NULL, 0) : 300;
    sf_rng = seed ? seed : 1;
    fprintf(stderr, "segfuzz: seed %" PRIu64 " (DTC_SEGFUZZ_SEED), %ld scribbles, %zu fields\n",
            seed, count, SF_NFIELDS);
    h_init("segfuzz");
    sf.sh = mmap(NULL, sizeof *sf.sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(sf.sh != MAP_FAILED);
    ck_assert_msg(start_all() == 0, "first start failed");
    int64_t t0 = h_now_ms();
    for (long i = 0; i < count; i++) {
        scribble_one();
        h_sleep_ms(30);
        const char *why = check();
        if (why)
            reset(why);
    }
    /* the last state too: processes alive or cleanly gone */
    reset("end of run");
    sf.resets--;
    int64_t secs = (h_now_ms() - t0) / 1000;
    fprintf(stderr,
            "segfuzz: seed %" PRIu64 ": %ld scribbles in %" PRId64 " s (header %ld, txn %ld, "
            "entry %ld, part %ld, ring %ld, wake %ld); %ld resets (dtcd exited %ld, "
            "dtcctl refused %ld, participant refused %ld, no commit %ld); restarts: %ld participant, %ld "
            "coordinator; %ld commands timed (slowest %" PRId64 " ms); transactions "
            "committed %" PRIu64 " other %" PRIu64 "; %ld failures\n",
            seed, sf.scribbles, secs, sf.by_region[R_HDR], sf.by_region[R_TXN],
            sf.by_region[R_ENTRY], sf.by_region[R_PART], sf.by_region[R_RING],
            sf.by_region[R_WAKE], sf.resets, sf.dtcd_refused, sf.ctl_refused, sf.part_refused, sf.degraded,
            sf.part_restarts, sf.coord_restarts, sf.commands, sf.cmd_max_ms, sf.sh->committed,
            sf.sh->other, sf.failures);
    ck_assert_msg(sf.failures == 0, "%ld failures (seed %" PRIu64 ")", sf.failures, seed);
}
END_TEST

static void teardown(void)
{
    unmap_segment();
    h_fini();
}

int main(void)
{
    const char *c = getenv("DTC_SEGFUZZ_COUNT");
    long count = c ? strtol(c, NULL, 0) : 300;
    Suite *s = suite_create("segfuzz");
    TCase *tc = tcase_create("segfuzz");
    tcase_add_checked_fixture(tc, NULL, teardown);
    /* ctest's TIMEOUT is 150 for the short pass: Check's comes first */
    tcase_set_timeout(tc, count <= 1000 ? 140.0 : (double)(600 + count / 2));
    tcase_add_test(tc, test_segfuzz);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
