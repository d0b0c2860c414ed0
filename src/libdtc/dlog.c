/*
 * dlog.c - writing the decision log: records copied into the log buffer
 * in the segment under sh_dlog_lock, written to the file and synced by
 * the group commit's leader, and the switch to the next file with its
 * checkpoint (a copy of every live decision and of every journal
 * participant's checkpoint, journal.c).
 *
 * The log buffer (sh_dlog_buf; PostgreSQL's WAL insert and XLogFlush are
 * the model).  A writer reserves its record's place at sh_dlog_end, copies
 * it into the buffer (no system call under sh_dlog_lock), and only then
 * advances sh_dlog_end and publishes sh_dlog_written.  Whoever holds
 * sh_dlog_out_lock writes [sh_dlog_filed, sh_dlog_written) to the current
 * file with one pwrite, after checking every record's CRC in its own
 * copy (a scribbled buffer is refused, never written: the log stops,
 * dtc__dlog_note), and raises sh_dlog_filed: the leader of a group
 * commit, a writer that finds the buffer full, the file switch, and a
 * reader of the files (dtc__dlog_write_out: an outcome lookup, a
 * participant's replay).  Measured why: a pwrite under sh_dlog_lock
 * made every coordinator queue behind it (dtc-bench noop N=3, C=64, two
 * alternating rounds: 40.9k / 37.3k txn/s with it, 48.3k / 50.1k with
 * the buffer; docs/performance.md).  The buffer lives in the segment, so a process
 * that dies loses nothing it copied in; a host crash loses what no sync
 * covered, as it always did.
 *
 * Flush (group commit, leader/follower, by generation): whoever takes
 * sh_dlog_flush_lock first leads sync number k: it writes out and syncs
 * everything in the log so far and raises sh_dlog_durable.  The others
 * sleep on the futex word of the sync that will cover them (shm.h,
 * "Group commit by generation"): those whose record the leader wrote out
 * are all woken when sync k ends; of those whose record came after, one
 * is woken to lead sync k + 1 and the rest sleep on until it ends (a
 * wake-all would wake them only to sleep again).
 *
 * Every record carries how far the log was durable when it was copied
 * in (the damage rule, dlog_read.c); dtcd adds a MARK when the log goes
 * quiet (dtc__dlog_mark), so the newest synced records are covered too,
 * and syncs a log left unsynced for a tick (records nobody forces).
 * A write or sync failure is noted for status (dtc__dlog_note).
 *
 * Every process keeps its own descriptors (one for the switch, one for
 * writing out, one for syncing; each used only under its lock) and
 * reopens them when the file number moves on.  Crash points:
 * dlog.after_write (copied into the buffer, not synced), dlog.after_filed
 * (in the file, not synced), dlog.before_sync, dlog.after_sync (durable,
 * nobody told yet), dlog.after_switch (new file, old one synced),
 * dlog.after_rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dlog.h"

bool dtc__dlog_on(const dtc_instance *in)
{
    return in->dlog_dir[0] != '\0';
}

uint32_t dtc__dlog_min_file_size(uint32_t max_txns)
{
    uint64_t need = 2ull * (max_txns + 1u) * DTC_DLOG_REC_MAX
                    + 2ull * DTC_JOURNAL_PARTS_MAX * DTC_DLOG_JCKPT_MAX + DTC_DLOG_FILE_HDR;
    need = (need + DTC_DLOG_MIN_FILE - 1) / DTC_DLOG_MIN_FILE * DTC_DLOG_MIN_FILE;
    return (uint32_t)need;
}

void dtc__dlog_detach(dtc_instance *in)
{
    if (in->dlog_wfd >= 0)
        close(in->dlog_wfd);
    if (in->dlog_sfd >= 0)
        close(in->dlog_sfd);
    if (in->dlog_ofd >= 0)
        close(in->dlog_ofd);
    in->dlog_wfd = in->dlog_sfd = in->dlog_ofd = -1;
    dtc__dlog_spare_drop(in->dlog_dir, &in->dlog_spare);
    free(in->dlog_obuf);
    in->dlog_obuf = NULL;
}

/* A descriptor of file `no`, cached in *fd / *cached_no. */
static int fd_for(dtc_instance *in, uint64_t no, int *fd, uint64_t *cached_no)
{
    if (*fd >= 0 && *cached_no == no)
        return *fd;
    if (*fd >= 0)
        close(*fd);
    *fd = dtc__dlog_open(in->dlog_dir, no, O_RDWR);
    *cached_no = no;
    if (*fd < 0)
        dtc_log(DTC_LOG_ERROR, "dlog_open", NULL, NULL, "file=%016llx error=%s",
                (unsigned long long)no, strerror(errno));
    return *fd;
}

static void raise_durable(struct dtc_shm_header *h, uint64_t to)
{
    uint64_t cur = atomic_load(&h->sh_dlog_durable);
    while (cur < to && !atomic_compare_exchange_weak(&h->sh_dlog_durable, &cur, to))
        ;
}

/* ---- the log buffer ------------------------------------------------------ */

/* What the file writer copies out and checks at a time (>= a record). */
#define OUT_CHUNK ((size_t)64 * 1024)
_Static_assert(OUT_CHUNK >= DTC_DLOG_REC_MAX && DTC_DLOG_BUF >= 2 * OUT_CHUNK,
               "the log buffer holds less than two chunks");

/* n bytes of the buffer from LSN at into dst (the buffer wraps). */
static void buf_read(const struct dtc_shm_header *h, uint64_t at, unsigned char *dst, size_t n)
{
    size_t off = (size_t)(at % DTC_DLOG_BUF), first = DTC_DLOG_BUF - off;
    first = first < n ? first : n;
    memcpy(dst, h->sh_dlog_buf + off, first);
    memcpy(dst + first, h->sh_dlog_buf, n - first);
}

/* n bytes from src into the buffer at LSN at. */
static void buf_write(struct dtc_shm_header *h, uint64_t at, const unsigned char *src, size_t n)
{
    size_t off = (size_t)(at % DTC_DLOG_BUF), first = DTC_DLOG_BUF - off;
    first = first < n ? first : n;
    memcpy(h->sh_dlog_buf + off, src, first);
    memcpy(h->sh_dlog_buf, src + first, n - first);
}

/* The bytes of the whole, valid records at the head of buf (n bytes from
 * LSN at); `more`: the range goes on past buf, so the last record may be
 * cut off (not an error).  *bad: a record that is not valid. */
static size_t whole_records(const unsigned char *buf, size_t n, uint64_t at, bool more, bool *bad)
{
    size_t used = 0;
    while (used < n) {
        uint8_t type;
        dtc_txid id;
        size_t len = dtc__dlog_peek(buf + used, n - used, at + used, true, &type, &id);
        if (len == 0) {
            *bad = !more || n - used >= DTC_DLOG_REC_MAX;
            break;
        }
        used += len;
    }
    return used;
}

/* With sh_dlog_out_lock: the range to write out, [*from, *to) in file
 * *no (not empty); false (logged) if the segment's positions are out of
 * bounds. */
static bool out_range(dtc_instance *in, uint64_t *from, uint64_t *to, uint64_t *no)
{
    uint64_t size = in->dlog_file_size;
    *no = *from / size;
    if (*to >= *from && *to - *from <= DTC_DLOG_BUF && *from >= *no * size + DTC_DLOG_FILE_HDR
        && *to <= (*no + 1) * size)
        return true;
    dtc_log(DTC_LOG_ERROR, "dlog_write", NULL, NULL,
            "filed=%llu written=%llu error=\"log buffer positions out of bounds (scribbled?)\"",
            (unsigned long long)*from, (unsigned long long)*to);
    return false;
}

/* With sh_dlog_out_lock: writes [sh_dlog_filed, sh_dlog_written) from the
 * buffer into the current file, each chunk copied out and checked. */
static dtc_result out_locked(dtc_instance *in)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_dlog_out_lock));
    struct dtc_shm_header *h = in->hdr;
    uint64_t from = atomic_load(&h->sh_dlog_filed), no;
    uint64_t to = atomic_load_explicit(&h->sh_dlog_written, memory_order_acquire);
    if (from == to) /* nothing (also a file filled to its last byte) */
        return DTC_OK;
    if (!out_range(in, &from, &to, &no)) {
        dtc__dlog_note(in, DTC_ELOG);
        return DTC_ELOG;
    }
    if (in->dlog_obuf == NULL && (in->dlog_obuf = malloc(OUT_CHUNK)) == NULL)
        return DTC_ESYS;
    int fd = fd_for(in, no, &in->dlog_ofd, &in->dlog_ono);
    if (fd < 0)
        return DTC_ELOG;
    while (from < to) {
        size_t n = to - from > OUT_CHUNK ? OUT_CHUNK : (size_t)(to - from);
        bool bad = false;
        buf_read(h, from, in->dlog_obuf, n);
        size_t ok = whole_records(in->dlog_obuf, n, from, n < to - from, &bad);
        if (bad || ok == 0) {
            dtc_log(DTC_LOG_ERROR, "dlog_write", NULL, NULL,
                    "lsn=%llu error=\"invalid record in the log buffer (scribbled?)\"",
                    (unsigned long long)from + ok);
            dtc__dlog_note(in, DTC_ELOG);
            if (ok == 0)
                return DTC_ELOG;
        }
        if (pwrite(fd, in->dlog_obuf, ok, (off_t)(from - no * in->dlog_file_size))
            != (ssize_t)ok) {
            dtc_log(DTC_LOG_ERROR, "dlog_write", NULL, NULL, "lsn=%llu error=%s",
                    (unsigned long long)from, strerror(errno));
            dtc__dlog_note(in, DTC_ELOG);
            return DTC_ELOG;
        }
        from += ok;
        atomic_store(&h->sh_dlog_filed, from);
        dtc__fault("dlog.after_filed");
        if (bad)
            return DTC_ELOG;
    }
    return DTC_OK;
}

/* Takes sh_dlog_out_lock (a quarter of the limit: it may be nested two
 * deep, shm.h "No lock waits forever"). */
static dtc_result out_lock(dtc_instance *in)
{
    return dtc__lock_within(in, &in->hdr->sh_dlog_out_lock, NULL, NULL, dtc__lock_limit_ns() / 4,
                            NULL);
}

dtc_result dtc__dlog_write_out(dtc_instance *in)
{
    struct dtc_shm_header *h = in->hdr;
    if (!dtc__dlog_on(in) || in->readonly
        || atomic_load(&h->sh_dlog_filed) == atomic_load(&h->sh_dlog_written))
        return DTC_OK;
    dtc_result rc = out_lock(in);
    if (rc != DTC_OK)
        return rc;
    rc = out_locked(in);
    dtc__unlock(&h->sh_dlog_out_lock);
    return rc;
}

/* With sh_dlog_lock: copies encoded bytes (`records` records) into the
 * buffer at sh_dlog_end, writing the buffer out first if they do not
 * fit beside what the file does not hold yet. */
static dtc_result put(dtc_instance *in, const unsigned char *buf, size_t len, uint32_t records)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_dlog_lock) && len <= DTC_DLOG_BUF);
    struct dtc_shm_header *h = in->hdr;
    uint64_t no = h->sh_dlog_fileno, end = h->sh_dlog_end;
    if (end < no * in->dlog_file_size + DTC_DLOG_FILE_HDR
        || end + len > (no + 1) * in->dlog_file_size) {
        dtc_log(DTC_LOG_ERROR, "dlog_write", NULL, NULL,
                "lsn=%llu error=\"outside file %016llx (scribbled header?)\"",
                (unsigned long long)end, (unsigned long long)no);
        return DTC_ELOG;
    }
    uint64_t filed = atomic_load(&h->sh_dlog_filed);
    if (filed > end || end + len - filed > DTC_DLOG_BUF) { /* no room: out with it */
        dtc_result rc = dtc__dlog_write_out(in);
        filed = atomic_load(&h->sh_dlog_filed);
        if (rc != DTC_OK || filed > end || end + len - filed > DTC_DLOG_BUF)
            return rc != DTC_OK ? rc : DTC_ELOG;
    }
    buf_write(h, end, buf, len);
    dtc__fault("dlog.after_write");
    h->sh_dlog_end = end + len;
    atomic_store_explicit(&h->sh_dlog_written, end + len, memory_order_release);
    atomic_fetch_add(&h->sh_dlog_records, records);
    return DTC_OK;
}

/* With sh_dlog_lock: encodes r at sh_dlog_end (with how far the log is
 * durable now: the damage rule, dlog_read.c) into buf. */
static size_t encode_here(dtc_instance *in, const struct dtc__dlog_rec *r, unsigned char *buf)
{
    uint64_t end = in->hdr->sh_dlog_end, durable = atomic_load(&in->hdr->sh_dlog_durable);
    return dtc__dlog_encode(r, end, durable < end ? durable : end, buf);
}

/* With sh_dlog_lock: encodes r at sh_dlog_end and writes it. */
static dtc_result put_rec(dtc_instance *in, const struct dtc__dlog_rec *r)
{
    unsigned char buf[DTC_DLOG_REC_MAX];
    return put(in, buf, encode_here(in, r, buf), 1);
}

/* A copy of slot i's decision if it is live, from an unlocked peek
 * validated by the generation; false if it is not live. */
static bool live_copy(dtc_instance *in, uint32_t i, struct dtc__dlog_rec *r)
{
    const struct dtc_txn_slot *ts = dtc__txn(in, i);
    uint32_t gen = ts->ts_gen, st = ts->ts_state, flags = ts->ts_flags;
    uint8_t type = st == DTC_TXN_COMMITTING                                   ? DTC_DLOG_COMMIT
                   : st == DTC_TXN_HEURISTIC                                  ? DTC_DLOG_HEURISTIC
                   : st == DTC_TXN_ABORTING && (flags & DTC_TS_COMMIT_FAILED) ? DTC_DLOG_COMPENSATE
                                                                              : 0;
    if (type == 0 || (flags & DTC_TS_QUARANTINED)
        || (type == DTC_DLOG_COMMIT && (flags & DTC_TS_NO_DECISION)))
        return false; /* a commit without a decision record has none to copy */
    dtc__dlog_rec_from_slot(in, ts, type, DTC_DLOG_F_COPY, r);
    return ts->ts_gen == gen && ts->ts_state == st;
}

/* With sh_dlog_lock: the checkpoint at the head of a new file. */
static dtc_result checkpoint(dtc_instance *in)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_dlog_lock));
    struct dtc__dlog_rec r;
    uint32_t copied = 0;
    for (uint32_t i = 0; i < in->max_txns; i++) {
        if (!live_copy(in, i, &r))
            continue;
        dtc_result rc = put_rec(in, &r);
        if (rc != DTC_OK)
            return rc;
        copied++;
    }
    uint32_t journals = 0;
    for (uint32_t i = 0; i < DTC_JOURNAL_PARTS_MAX; i++) {
        uint64_t ckpt;
        if (!dtc__journal_copy(in, i, &r, &ckpt))
            continue;
        dtc_result rc = put_rec(in, &r);
        if (rc != DTC_OK)
            return rc;
        journals++;
    }
    dtc_log(DTC_LOG_INFO, "dlog_switch", NULL, NULL,
            "file=%016llx live_copied=%u journal_copied=%u",
            (unsigned long long)in->hdr->sh_dlog_fileno, copied, journals);
    return DTC_OK;
}

/* The identity the next file inherits: read from the current file's
 * header on disk (checked), not from the segment. */
static dtc_result file_id(dtc_instance *in, int fd, uint64_t no, struct dtc__dlog_id *id)
{
    unsigned char hdr[DTC_DLOG_FILE_HDR];
    uint32_t size;
    uint64_t prev;
    const char *why = pread(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr
                          ? dtc__dlog_file_header_check(hdr, no, &size, id, &prev)
                          : "unreadable";
    if (why == NULL && size == in->dlog_file_size)
        return DTC_OK;
    dtc_log(DTC_LOG_ERROR, "dlog_write", NULL, NULL, "file=%016llx error=%s",
            (unsigned long long)no, why ? why : "header file size differs");
    return DTC_ELOG;
}

/* With sh_dlog_lock and sh_dlog_out_lock: writes out the buffer, syncs
 * the current file and moves to the next one (its header written and
 * synced), the buffer's positions with it. */
static dtc_result next_file(dtc_instance *in)
{
    struct dtc_shm_header *h = in->hdr;
    dtc_result rc = out_locked(in);
    if (rc != DTC_OK)
        return rc;
    int fd = fd_for(in, h->sh_dlog_fileno, &in->dlog_wfd, &in->dlog_wno);
    if (fd < 0 || fdatasync(fd) != 0) {
        dtc__dlog_note(in, DTC_ELOG);
        return DTC_ELOG;
    }
    dtc__dlog_note(in, DTC_OK);
    atomic_fetch_add(&h->sh_dlog_syncs, 1);
    raise_durable(h, h->sh_dlog_end);
    uint64_t next = h->sh_dlog_fileno + 1;
    struct dtc__dlog_id id;
    if (file_id(in, fd, h->sh_dlog_fileno, &id) != DTC_OK
        || dtc__dlog_take_spare(in->dlog_dir, next, in->dlog_file_size, in->dlog_group, &id,
                                h->sh_dlog_end) != DTC_OK) {
        dtc__dlog_note(in, DTC_ELOG);
        return DTC_ELOG;
    }
    h->sh_dlog_fileno = next;
    h->sh_dlog_end = next * in->dlog_file_size + DTC_DLOG_FILE_HDR;
    atomic_store(&h->sh_dlog_filed, h->sh_dlog_end);
    atomic_store_explicit(&h->sh_dlog_written, h->sh_dlog_end, memory_order_release);
    raise_durable(h, h->sh_dlog_end); /* nothing to sync below the first record */
    return DTC_OK;
}

/* With sh_dlog_lock: moves to the next file and writes the checkpoint
 * there.  sh_dlog_out_lock is held throughout the move, so nobody writes
 * out a range that spans two files. */
static dtc_result switch_file(dtc_instance *in)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_dlog_lock));
    dtc_result rc = out_lock(in);
    if (rc != DTC_OK)
        return rc;
    rc = next_file(in);
    dtc__unlock(&in->hdr->sh_dlog_out_lock);
    if (rc != DTC_OK)
        return rc;
    dtc__fault("dlog.after_switch");
    return checkpoint(in);
}

dtc_result dtc__dlog_append(dtc_instance *in, const struct dtc__dlog_rec *r, uint64_t *end)
{
    DTC_ASSERT(dtc__locks_held() <= 1); /* at most the record's ts_lock */
    unsigned char buf[DTC_DLOG_REC_MAX];
    struct dtc_shm_header *h = in->hdr;
    /* Half the limit: a driver holds its ts_lock here (shm.h, "No lock
     * waits forever"). */
    dtc_result rc = dtc__lock_within(in, &h->sh_dlog_lock, NULL, NULL,
                                     dtc__lock_limit_ns() / 2, NULL);
    if (rc != DTC_OK)
        return rc;
    uint64_t no = h->sh_dlog_fileno;
    size_t len = encode_here(in, r, buf);
    /* The checkpoint goes at the head of the next file, which dtcd sizes
     * to hold a full one and more (dtc__dlog_min_file_size). */
    if (h->sh_dlog_end + len > (no + 1) * in->dlog_file_size) {
        rc = switch_file(in);
        if (rc == DTC_OK)
            len = encode_here(in, r, buf); /* its LSN moved */
    }
    if (rc == DTC_OK)
        rc = put(in, buf, len, 1);
    *end = h->sh_dlog_end;
    dtc__unlock(&h->sh_dlog_lock);
    return rc;
}

/* With sh_dlog_lock: encodes r right after the `used` bytes of buf that
 * are not written yet (at LSN sh_dlog_end + used); writes them first,
 * and switches to the next file, when r would not fit the file.  Returns
 * its length (0: an error, rc set). */
static size_t encode_next(dtc_instance *in, const struct dtc__dlog_rec *r, unsigned char *buf,
                          size_t *used, uint32_t *pending, dtc_result *rc)
{
    struct dtc_shm_header *h = in->hdr;
    uint64_t at = h->sh_dlog_end + *used, durable = atomic_load(&h->sh_dlog_durable);
    size_t len = dtc__dlog_encode(r, at, durable < at ? durable : at, buf + *used);
    if (at + len <= (h->sh_dlog_fileno + 1) * in->dlog_file_size)
        return len;
    *rc = *used > 0 ? put(in, buf, *used, *pending) : DTC_OK;
    *used = 0;
    *pending = 0;
    if (*rc == DTC_OK)
        *rc = switch_file(in);
    if (*rc != DTC_OK)
        return 0;
    at = h->sh_dlog_end;
    durable = atomic_load(&h->sh_dlog_durable);
    return dtc__dlog_encode(r, at, durable < at ? durable : at, buf);
}

dtc_result dtc__dlog_append_n(dtc_instance *in, size_t n, dtc__dlog_fill_fn fill, void *ctx,
                              struct dtc__dlog_rec *scratch, unsigned char *buf, size_t cap,
                              uint64_t *ends)
{
    DTC_ASSERT(dtc__locks_held() == 0 && cap >= DTC_DLOG_REC_MAX);
    struct dtc_shm_header *h = in->hdr;
    dtc_result rc = dtc__lock_within(in, &h->sh_dlog_lock, NULL, NULL, dtc__lock_limit_ns() / 2,
                                     NULL);
    if (rc != DTC_OK)
        return rc;
    size_t used = 0;
    uint32_t pending = 0;
    for (size_t i = 0; i < n && rc == DTC_OK; i++) {
        if (cap - used < DTC_DLOG_REC_MAX) { /* the buffer is full: out with it */
            rc = put(in, buf, used, pending);
            used = 0;
            pending = 0;
            if (rc != DTC_OK)
                break;
        }
        fill(ctx, i, scratch);
        size_t len = encode_next(in, scratch, buf, &used, &pending, &rc);
        used += len;
        pending++;
        ends[i] = h->sh_dlog_end + used;
    }
    if (rc == DTC_OK && used > 0)
        rc = put(in, buf, used, pending);
    dtc__unlock(&h->sh_dlog_lock);
    return rc;
}

/* With sh_dlog_flush_lock: one sync of everything written so far. */
static dtc_result lead(dtc_instance *in, uint64_t upto)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_dlog_flush_lock));
    struct dtc_shm_header *h = in->hdr;
    /* Coordinators about to copy their records in do it now, so one sync
     * covers more (measured: 4.9 -> 6.4 commits per sync at N=3, C=16);
     * unless someone has already copied a record in after ours: a batch
     * is there, and waiting for more only delays it (noop at N=3, C=64,
     * five alternating rounds: 52.5k against 49.5k txn/s on average,
     * docs/performance.md). */
    if (atomic_load(&h->sh_dlog_written) <= upto)
        sched_yield();
    dtc_result rc = dtc__dlog_write_out(in);
    uint64_t target = atomic_load(&h->sh_dlog_filed);
    atomic_store(&h->sh_dlog_sync_target, target); /* waiters past it wait for the next */
    if (target < upto) /* never written, or the buffer could not be written out */
        return rc != DTC_OK ? rc : DTC_ELOG;
    int fd = fd_for(in, (target - 1) / in->dlog_file_size, &in->dlog_sfd, &in->dlog_sno);
    dtc__fault("dlog.before_sync");
    if (fd < 0 || fdatasync(fd) != 0) {
        dtc_log(DTC_LOG_ERROR, "dlog_sync", NULL, NULL, "upto=%llu error=%s",
                (unsigned long long)upto, strerror(errno));
        dtc__dlog_note(in, DTC_ELOG);
        return DTC_ELOG;
    }
    dtc__dlog_note(in, DTC_OK);
    atomic_fetch_add(&h->sh_dlog_syncs, 1);
    dtc__fault("dlog.after_sync");
    raise_durable(h, target);
    return DTC_OK;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, long ns)
{
    struct timespec t = {0, ns};
    syscall(SYS_futex, addr, FUTEX_WAIT, val, &t, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* The word the end of sync g bumps (shm.h, "Group commit by generation"). */
static _Atomic uint32_t *gen_word(struct dtc_shm_header *h, uint64_t g)
{
    return &h->sh_dlog_gen_seq[g % 2];
}

/* With sh_dlog_flush_lock: sync number k (unless upto is durable
 * already), then its waiters woken, and one waiter for the next. */
static dtc_result lead_sync(dtc_instance *in, uint64_t upto)
{
    struct dtc_shm_header *h = in->hdr;
    uint64_t k = atomic_load(&h->sh_dlog_sync_no) + 1;
    atomic_store(&h->sh_dlog_sync_target, UINT64_MAX);
    atomic_store(&h->sh_dlog_sync_no, k);
    dtc_result rc = atomic_load(&h->sh_dlog_durable) >= upto ? DTC_OK : lead(in, upto);
    atomic_store(&h->sh_dlog_sync_done, k);
    atomic_fetch_add(gen_word(h, k), 1);
    atomic_fetch_add(gen_word(h, k + 1), 1);
    dtc__unlock(&h->sh_dlog_flush_lock);
    futex_wake(gen_word(h, k), INT_MAX);
    futex_wake(gen_word(h, k + 1), 1);
    return rc;
}

dtc_result dtc__dlog_flush(dtc_instance *in, uint64_t upto)
{
    DTC_ASSERT(dtc__locks_held() == 0); /* it may wait for a sync */
    struct dtc_shm_header *h = in->hdr;
    int64_t give_up = dtc__now_ns() + dtc__lock_limit_ns(); /* bounded like a lock */
    for (;;) {
        if (atomic_load(&h->sh_dlog_durable) >= upto)
            return DTC_OK;
        if (dtc__now_ns() > give_up) { /* the flusher never finished its sync */
            dtc_log(DTC_LOG_ERROR, "lock_timeout", NULL, NULL, "lock=dlog_flush upto=%llu",
                    (unsigned long long)upto);
            return DTC_ECORRUPT;
        }
        /* The sync that will cover us: the one under way, unless our
         * record lies past what it writes (then the next one); never one
         * that ended.  Its end stores sh_dlog_sync_done before it bumps
         * the word, so a word read while sh_dlog_sync_done stays put
         * cannot have missed that bump. */
        uint64_t done = atomic_load(&h->sh_dlog_sync_done);
        uint64_t k = atomic_load(&h->sh_dlog_sync_no), t = atomic_load(&h->sh_dlog_sync_target);
        uint64_t g = upto > t ? k + 1 : k;
        g = g > done ? g : done + 1;
        _Atomic uint32_t *w = gen_word(h, g);
        uint32_t seq = atomic_load(w);
        if (atomic_load(&h->sh_dlog_sync_done) != done)
            continue; /* a sync ended meanwhile: look again */
        if (atomic_load(&h->sh_dlog_durable) >= upto)
            return DTC_OK;
        /* its holder died: nothing to repair, durable moved only after a sync */
        dtc_result rc = dtc__lock_try(in, &h->sh_dlog_flush_lock, NULL, NULL);
        if (rc == DTC_EBUSY) { /* someone syncs: wait for our sync's wake, a slice at most */
            futex_wait(w, seq, DTC_WAIT_SLICE_MS * 1000000L / 10);
            continue;
        }
        if (rc != DTC_OK)
            return DTC_ECORRUPT;
        rc = lead_sync(in, upto);
        if (rc != DTC_OK)
            return rc;
    }
}

void dtc__dlog_note(dtc_instance *in, dtc_result rc)
{
    struct dtc_shm_header *h = in->hdr;
    if (rc == DTC_OK) {
        if (atomic_load_explicit(&h->sh_dlog_error, memory_order_relaxed) != 0)
            atomic_store(&h->sh_dlog_error, 0);
        return;
    }
    if (atomic_load(&h->sh_dlog_error) != 0)
        return; /* still failing: "since" stays */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    atomic_store(&h->sh_dlog_error_ms, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    atomic_store(&h->sh_dlog_error, (uint32_t)rc);
}

void dtc__dlog_mark(dtc_instance *in, bool force)
{
    static uint64_t seen, seen_w, mark_end; /* dtcd's own: the one process that marks */
    struct dtc_shm_header *h = in->hdr;
    uint64_t d = atomic_load(&h->sh_dlog_durable), w = atomic_load(&h->sh_dlog_written);
    bool quiet = d == w && d == seen;
    /* Written, not synced, and neither written nor synced for a tick:
     * records that no sync of their own covers (the END of a one-phase or
     * all-read-only commit, its only record; journal done records) are
     * made durable within two ticks or three, never left to the next
     * decision (a record that its writer is about to sync was written
     * within the tick: left to it).  Not while the log is failing
     * (sh_dlog_error): that waits for the next decision or an operator,
     * whose sync then clears it. */
    bool lagging = w > d && d == seen && w == seen_w && atomic_load(&h->sh_dlog_error) == 0;
    seen = d;
    seen_w = w;
    if (lagging && !force && dtc__dlog_on(in)) {
        dtc__dlog_flush(in, w);
        return;
    }
    uint64_t first = h->sh_dlog_fileno * in->dlog_file_size + DTC_DLOG_FILE_HDR;
    if (!dtc__dlog_on(in) || (!force && !quiet) || d <= mark_end || d <= first)
        return;
    struct dtc__dlog_rec r;
    uint64_t end;
    memset(&r, 0, offsetof(struct dtc__dlog_rec, entries));
    r.type = DTC_DLOG_MARK;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    r.unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (dtc__dlog_append(in, &r, &end) == DTC_OK && dtc__dlog_flush(in, end) == DTC_OK)
        mark_end = end;
}
