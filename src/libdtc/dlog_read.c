/*
 * dlog_read.c - reading the decision log back: the full ordered scan
 * recovery replays (with the rule that tells damage from a torn tail),
 * and the newest-first lookup of one transaction that answers
 * dtc_transaction_outcome once its slot is gone.  Files are opened
 * without following links or blocking (dlog_file.c), checked (type,
 * owner, mode, size, header, identity, numbering) and mapped read-only;
 * every record is validated (dlog_format.c).
 *
 * The rule (docs/decision-log.md, "Damage or torn tail").  A record is
 * acknowledged only once a sync covered it, and then never rewritten.
 * Every record carries `synced`, how far its writer knew the log durable;
 * every file header carries prev_end, where the previous file's records
 * ended (that file was synced whole before the next one was made).  So
 * at the first offset H of a file where no valid record starts:
 *   - a file with a successor: H must be its successor's prev_end, else
 *     damage (bytes past prev_end were never part of the log);
 *   - the last file: if a valid record later in the file says the log
 *     was durable past H, the bytes at H were synced: damage.  Otherwise
 *     no sync is known to have covered H: a torn tail (a crash, or a power
 *     cut in the middle of a sync, whose pages reach the disk in any
 *     order); nothing from H on was acknowledged by a sync anyone saw.
 * dtcd writes a MARK when the log goes quiet, so the newest acknowledged
 * records are followed by one saying so.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"

#define PATH_BUF (DTC_DATA_DIR_MAX + 64)

struct mapped {
    const unsigned char *p;
    size_t size;
    dev_t dev; /* the file mapped, to tell whether its name still is */
    ino_t ino;
};

/* Opens and maps log file `no`: NULL, or what is wrong (type, owner,
 * mode, a size no log file has). */
static const char *map_file(const char *dir, uint64_t no, struct mapped *m)
{
    char path[PATH_BUF];
    const char *why = NULL;
    struct stat st;
    m->p = NULL;
    m->size = 0;
    m->dev = 0;
    m->ino = 0;
    dtc__dlog_path(dir, no, path, sizeof path);
    int fd = dtc__dlog_open_path(path, O_RDONLY, &why);
    if (fd < 0)
        return why;
    if (fstat(fd, &st) != 0)
        why = "cannot be examined (fstat)";
    else if (st.st_size < (off_t)DTC_DLOG_MIN_FILE || st.st_size > (off_t)DTC_DLOG_MAX_FILE)
        why = "truncated or too large (no log file has this size)";
    m->size = (size_t)st.st_size;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    if (why == NULL) {
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        m->p = p == MAP_FAILED ? NULL : p;
        why = m->p == NULL ? "cannot be mapped" : NULL;
    }
    close(fd);
    return why;
}

static void unmap(struct mapped *m)
{
    if (m->p != NULL)
        munmap((void *)m->p, m->size);
    m->p = NULL;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Records damage in out (and logs it unless quiet); DTC_ELOG. */
static dtc_result damage(struct dtc__dlog_scan_out *out, const char *dir, bool quiet,
                         uint64_t no, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static dtc_result damage(struct dtc__dlog_scan_out *out, const char *dir, bool quiet,
                         uint64_t no, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->what, sizeof out->what, fmt, ap);
    va_end(ap);
    out->damaged = true;
    out->dmg_file = no;
    out->dmg_off = off;
    if (!quiet)
        dtc_log(DTC_LOG_ERROR, "dlog_damaged", NULL, NULL,
                "dir=%s file=dlog.%016" PRIx64 " offset=%" PRIu64 " error=%s "
                "hint=\"nothing was changed; dtcd --salvage shows what a repair would lose\"",
                dir, no, off, out->what);
    return DTC_ELOG;
}

/* What the bytes at a place where a record should start are. */
static void describe(const unsigned char *p, size_t avail, uint64_t lsn, char *buf, size_t size)
{
    uint32_t len = 0;
    uint64_t at = 0;
    if (avail >= DTC_DLOG_REC_HDR) {
        memcpy(&len, p + 4, 4);
        memcpy(&at, p + 8, 8);
    }
    if (avail < DTC_DLOG_REC_HDR)
        snprintf(buf, size, "a record cut short by the end of the file");
    else if (all_zero(p, DTC_DLOG_REC_HDR))
        snprintf(buf, size, "zeros where a record should be");
    else if (at != lsn)
        snprintf(buf, size, "a record header whose position field is %" PRIu64 ", want %" PRIu64,
                 at, lsn);
    else if (len < DTC_DLOG_REC_HDR || len > DTC_DLOG_REC_MAX || len % 8 != 0 || len > avail)
        snprintf(buf, size, "a record with an impossible length %" PRIu32, len);
    else
        snprintf(buf, size, "a record of %" PRIu32 " bytes, type %u, that fails its CRC or "
                 "field checks", len, p[16]);
}

/* Looks past a bad offset `h` of the last file for valid records: the
 * offset of the first (0 if none) and the largest `synced` they carry. */
static size_t look_ahead(const struct mapped *m, uint64_t base, size_t h, uint64_t *known)
{
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    size_t first = 0;
    *known = 0;
    for (size_t q = h + 8; r != NULL && q + DTC_DLOG_REC_HDR <= m->size; q += 8) {
        uint64_t at;
        memcpy(&at, m->p + q + 8, 8);
        if (at != base + q)
            continue;
        size_t len = dtc__dlog_decode(m->p + q, m->size - q, base + q, r);
        if (len == 0)
            continue;
        first = first ? first : q;
        *known = r->synced > *known ? r->synced : *known;
        q += len - 8;
    }
    free(r);
    return first;
}

struct file_info {
    struct mapped m;
    struct dtc__dlog_id id;
    uint64_t prev_end;
};

/* Checks every file's header, identity, size and numbering (pass 1);
 * *used: the files that hold the log (a trailing unused one excluded). */
static dtc_result check_files(const char *dir, const struct dtc__dlog_id *want, bool quiet,
                              const uint64_t *v, long n, struct file_info *fi, long *used,
                              struct dtc__dlog_scan_out *out)
{
    char a[33], b[33];
    *used = 0;
    for (long i = 0; i < n; i++) {
        struct file_info *f = &fi[i];
        uint32_t fsize = 0;
        if (i > 0 && v[i] != v[i - 1] + 1)
            return damage(out, dir, quiet, v[i], 0, "files missing between dlog.%016" PRIx64
                          " and this one", v[i - 1]);
        const char *why = map_file(dir, v[i], &f->m);
        if (why != NULL)
            return damage(out, dir, quiet, v[i], 0, "%s (size %zu)", why, f->m.size);
        if (all_zero(f->m.p, DTC_DLOG_FILE_HDR) && i == n - 1
            && dtc__dlog_holds_none(f->m.p, f->m.size, v[i])
            && (out->file_size == 0 || f->m.size == out->file_size)) {
            out->unused_last = true; /* a spare renamed in, header never written */
            out->file_size = out->file_size ? out->file_size : (uint32_t)f->m.size;
            break;
        }
        why = dtc__dlog_file_header_check(f->m.p, v[i], &fsize, &f->id, &f->prev_end);
        if (why != NULL) {
            out->bad_header = out->fixable = strstr(why, "format 1") == NULL;
            out->file_size = out->file_size ? out->file_size : (uint32_t)f->m.size;
            return damage(out, dir, quiet, v[i], 0, "bad file header: %s", why);
        }
        const struct dtc__dlog_id *ref = want ? want : i > 0 ? &fi[0].id : NULL;
        if (ref != NULL && !dtc__dlog_id_eq(&f->id, ref)) {
            dtc__dlog_id_hex(&f->id, a);
            dtc__dlog_id_hex(ref, b);
            return damage(out, dir, quiet, v[i], 0,
                          "belongs to log %s of instance '%s', not to log %s of instance '%s'",
                          a, f->id.instance, b, ref->instance);
        }
        if (fsize != f->m.size || (out->file_size != 0 && fsize != out->file_size))
            return damage(out, dir, quiet, v[i], 0,
                          "size %zu, want %" PRIu32 " (preallocated files never change size)",
                          f->m.size, out->file_size ? out->file_size : fsize);
        uint64_t pbase = (v[i] - 1) * fsize;
        if (i > 0 && (f->prev_end < pbase + DTC_DLOG_FILE_HDR || f->prev_end > pbase + fsize))
            return damage(out, dir, quiet, v[i], 0, "header's prev_end outside the previous file");
        out->file_size = fsize;
        if (i == 0)
            out->id = f->id;
        *used = i + 1;
    }
    return DTC_OK;
}

/* Replays file i (pass 2): DTC_OK, DTC_ELOG (damage), or DTC_EBUSY if fn
 * stopped the scan. */
static dtc_result scan_file(const char *dir, bool quiet, const uint64_t *v, long i, long used,
                            const struct file_info *fi, dtc__dlog_fn fn, void *ctx,
                            struct dtc__dlog_rec *r, struct dtc__dlog_scan_out *out)
{
    const struct mapped *m = &fi[i].m;
    uint64_t base = v[i] * m->size;
    bool last = i == used - 1;
    size_t limit = last ? m->size : (size_t)(fi[i + 1].prev_end - base), pos = DTC_DLOG_FILE_HDR;
    for (;;) {
        size_t len = dtc__dlog_decode(m->p + pos, limit - pos, base + pos, r);
        if (len == 0)
            break;
        out->records++;
        if (fn != NULL && r->type != DTC_DLOG_MARK && r->type != DTC_DLOG_SKIP && fn(ctx, r) != 0)
            return DTC_EBUSY;
        pos += len;
    }
    out->end = base + pos;
    out->last_file = v[i];
    char what[120];
    describe(m->p + pos, m->size - pos, base + pos, what, sizeof what);
    if (!last && pos != limit) {
        uint64_t known;
        out->fixable = true;
        out->dmg_limit = limit;
        out->next_ok = look_ahead(m, base, pos, &known);
        out->next_ok = out->next_ok < limit ? out->next_ok : 0;
        return damage(out, dir, quiet, v[i], pos, "%s, below where the next file says this one "
                      "ended (%" PRIu64 "): it was synced whole", what, fi[i + 1].prev_end - base);
    }
    if (!last)
        return DTC_OK;
    uint64_t known;
    size_t next = look_ahead(m, base, pos, &known);
    if (known > base + pos) {
        out->fixable = true;
        out->next_ok = next;
        return damage(out, dir, quiet, v[i], pos, "%s; a later record says the log was durable "
                      "up to offset %" PRIu64 ": a synced record is damaged, not torn", what,
                      known - base);
    }
    size_t nz = dtc__dlog_claimed_end(m->p, m->size, base, pos);
    if (nz > pos) {
        out->torn_from = base + pos;
        out->torn_to = base + nz;
    }
    return DTC_OK;
}

dtc_result dtc__dlog_scan(const char *dir, const struct dtc__dlog_id *want, dtc__dlog_fn fn,
                          void *ctx, bool quiet, struct dtc__dlog_scan_out *out)
{
    uint64_t *v;
    memset(out, 0, sizeof *out);
    long n = dtc__dlog_list(dir, &v), used = 0;
    if (n < 0)
        return DTC_ELOG;
    struct file_info *fi = calloc(n > 0 ? (size_t)n : 1, sizeof *fi);
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    dtc_result rc = fi == NULL || r == NULL ? DTC_ESYS : DTC_OK;
    if (rc == DTC_OK)
        rc = check_files(dir, want, quiet, v, n, fi, &used, out);
    for (long i = 0; rc == DTC_OK && i < used; i++)
        rc = scan_file(dir, quiet, v, i, used, fi, fn, ctx, r, out);
    if (rc == DTC_EBUSY)
        rc = DTC_OK; /* stopped by fn */
    for (long i = 0; fi != NULL && i < n; i++)
        unmap(&fi[i].m);
    if (rc == DTC_OK && used > 0 && out->last_file == 0)
        out->last_file = v[used - 1];
    if (rc == DTC_OK && out->unused_last && used == 0)
        out->last_file = v[n - 1] - 1;
    free(fi);
    free(r);
    free(v);
    return rc;
}

/* Whether log file `no` of dir is still the file m maps.  dtcd's prune
 * renames an old file away to zero-fill it as the next spare (dlog_file.c,
 * recycle), so a file read while that happens may have shown a reader
 * zeros where records were: what it found there is not an answer. */
static bool still_named(const char *dir, uint64_t no, const struct mapped *m)
{
    char path[PATH_BUF];
    struct stat st;
    dtc__dlog_path(dir, no, path, sizeof path);
    return lstat(path, &st) == 0 && st.st_dev == m->dev && st.st_ino == m->ino;
}

/* The offset of the last record about id in a mapped file, 0 if none. */
static size_t last_match(const struct mapped *m, uint64_t no, const dtc_txid *id)
{
    size_t pos = DTC_DLOG_FILE_HDR, found = 0;
    uint64_t base = no * m->size;
    for (;;) {
        uint8_t type;
        dtc_txid t;
        size_t len = dtc__dlog_peek(m->p + pos, m->size - pos, base + pos, false, &type, &t);
        if (len == 0)
            return found;
        if (memcmp(t.bytes, id->bytes, 16) == 0 && type <= DTC_DLOG_END)
            found = pos;
        pos += len;
    }
}

dtc_result dtc__dlog_find(const char *dir, const dtc_txid *id, struct dtc__dlog_rec *out)
{
    uint64_t *v;
    long n = dtc__dlog_list(dir, &v);
    dtc_result rc = n < 0 ? DTC_ELOG : DTC_ENOTFOUND;
    for (long i = n - 1; rc == DTC_ENOTFOUND && i >= 0; i--) {
        struct mapped m;
        uint32_t fsize;
        uint64_t prev;
        struct dtc__dlog_id fid;
        if (map_file(dir, v[i], &m) != NULL
            || dtc__dlog_file_header_check(m.p, v[i], &fsize, &fid, &prev) != NULL
            || fsize != m.size) {
            unmap(&m);
            continue;
        }
        size_t pos = last_match(&m, v[i], id);
        if (pos != 0 && dtc__dlog_decode(m.p + pos, m.size - pos, v[i] * m.size + pos, out) != 0)
            rc = DTC_OK;
        if (rc == DTC_OK && !still_named(dir, v[i], &m))
            rc = DTC_ENOTFOUND; /* pruned while read: as if gone before */
        unmap(&m);
    }
    free(v);
    return rc;
}
