/*
 * salvage.c - `dtcd --salvage`: the operator's explicit step after dtcd
 * refused a damaged decision log.  Without apply it only reports: where
 * the damage is, what was found, and what a repair would do and lose
 * (the bytes it covers, the transaction the damaged record seems to be
 * about); nothing changes.  With apply it repairs one damage after
 * another, each time first keeping a copy of the file
 * (DIR/dlog.<no>.damaged-<ms>): damaged record bytes are covered with
 * SKIP records up to the next valid record (so every readable record
 * after them is kept), or zero-filled to where the file's records end
 * when none follows; a damaged file header whose records check out by
 * their positions is rewritten.  Foreign files, files of the wrong type,
 * owner, mode or size, missing files and a format 1 log are left to the
 * operator (docs/decision-log.md, "What an operator does").
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dlog.h"

#define PATH_BUF (DTC_DATA_DIR_MAX + 128)
#define ROUNDS 64 /* repairs in one run, at most */

static const char *type_name(unsigned t)
{
    static const char *const n[] = {"?", "COMMIT", "COMPENSATE", "HEURISTIC", "END", "RETRY",
                                    "MARK", "SKIP", "JPREPARE", "JDONE",
                                    "JCHECKPOINT"};
    return t <= DTC_DLOG_TYPE_MAX ? n[t] : "?";
}

/* What the damaged record at off seems to be (its header, unchecked). */
static void guess(int fd, uint64_t no, uint32_t size, uint64_t off)
{
    unsigned char h[DTC_DLOG_REC_HDR];
    uint64_t at;
    char txid[DTC_TXID_STRLEN];
    dtc_txid id;
    if (pread(fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h)
        return;
    memcpy(&at, h + 8, 8);
    memcpy(id.bytes, h + 24, 16);
    if (at != no * size + off || h[16] == 0 || h[16] > DTC_DLOG_TYPE_MAX) {
        printf("  the damaged bytes do not say which transaction they were about\n");
        return;
    }
    dtc_txid_format(&id, txid);
    printf("  the damaged record seems to be a %s record of transaction %s: its decision is "
           "lost\n  (dtcctl show %s will answer from an earlier record, or not found = "
           "presumed abort)\n", type_name(h[16]), txid, txid);
}

/* Covers [from, to) of file fd with SKIP records. */
static bool write_skips(int fd, uint64_t base, uint64_t from, uint64_t to)
{
    static unsigned char buf[DTC_DLOG_REC_MAX];
    const uint64_t max = (uint64_t)DTC_DLOG_REC_MAX / 8 * 8;
    while (from < to) {
        uint64_t c = to - from > max ? max : to - from;
        if (to - from - c != 0 && to - from - c < DTC_DLOG_REC_HDR)
            c = to - from - DTC_DLOG_REC_HDR;
        dtc__dlog_encode_skip(base + from, (size_t)c, buf);
        if (pwrite(fd, buf, (size_t)c, (off_t)from) != (ssize_t)c)
            return false;
        from += c;
    }
    return fdatasync(fd) == 0;
}

static bool zero_range(int fd, uint64_t from, uint64_t to)
{
    static const unsigned char z[4096];
    for (uint64_t o = from; o < to; o += sizeof z) {
        size_t n = to - o < sizeof z ? (size_t)(to - o) : sizeof z;
        if (pwrite(fd, z, n, (off_t)o) != (ssize_t)n)
            return false;
    }
    return fdatasync(fd) == 0;
}

/* A damaged header is rewritten only if the file's first record checks
 * out at its position (it is this log's file `no` of this size). */
static bool header_fixable(int fd, uint64_t no, uint32_t size)
{
    static unsigned char buf[DTC_DLOG_REC_MAX];
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    ssize_t n = pread(fd, buf, sizeof buf, DTC_DLOG_FILE_HDR);
    bool ok = r != NULL && size != 0 && n > 0
              && dtc__dlog_decode(buf, (size_t)n, no * size + DTC_DLOG_FILE_HDR, r) != 0;
    free(r);
    return ok;
}

/* Where the records of file `no` end (the chain walked from its first
 * record), 0 if it cannot be read: the prev_end of file no + 1. */
static uint64_t chain_end(const char *dir, uint64_t no, uint32_t size)
{
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    int fd = no > 0 ? dtc__dlog_open(dir, no, O_RDONLY) : -1;
    void *p = fd >= 0 ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    uint64_t pos = DTC_DLOG_FILE_HDR, end = 0;
    if (fd >= 0)
        close(fd);
    if (p != MAP_FAILED && r != NULL) {
        size_t len;
        while ((len = dtc__dlog_decode((unsigned char *)p + pos, size - pos, no * size + pos, r)))
            pos += len;
        end = no * size + pos;
    }
    if (p != MAP_FAILED)
        munmap(p, size);
    free(r);
    return end;
}

/* Says what repairing s's damage does and loses; does it if apply.
 * DTC_OK if repaired, DTC_ELOG if not (reported). */
static dtc_result repair(const char *dir, const struct dtc__dlog_id *id,
                         const struct dtc__dlog_scan_out *s, bool apply)
{
    char name[40], suffix[48], kept[PATH_BUF], path[PATH_BUF];
    uint64_t no = s->dmg_file, base = no * s->file_size, off = s->dmg_off;
    uint64_t to = s->next_ok ? s->next_ok : s->dmg_limit ? s->dmg_limit : s->file_size;
    snprintf(name, sizeof name, "dlog.%016" PRIx64, no);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    printf("damage: %s offset %" PRIu64 ": %s\n", name, off, s->what);
    int fd = s->fixable ? dtc__dlog_open_path(path, O_RDWR, NULL) : -1;
    bool hdr = s->bad_header && fd >= 0 && header_fixable(fd, no, s->file_size);
    /* a file with a successor must end exactly at its prev_end: covered
     * up to it; the last file's damage always has a valid record after */
    bool skip = !s->bad_header && fd >= 0 && (s->next_ok != 0 || s->dmg_limit != 0)
                && to - off >= DTC_DLOG_REC_HDR;
    bool zero = !s->bad_header && fd >= 0 && !skip && s->dmg_limit == 0;
    if (!hdr && !skip && !zero) {
        printf("  not repairable by --salvage: move the file away or restore it from a copy "
               "(docs/decision-log.md, \"What an operator does\")\n");
        if (fd >= 0)
            close(fd);
        return DTC_ELOG;
    }
    if (hdr)
        printf("  repair: rewrite the file header (its records check out at their positions); "
               "nothing is lost\n");
    else {
        printf("  repair: %s bytes %" PRIu64 "..%" PRIu64 " (%" PRIu64 " bytes)%s\n",
               skip ? "cover with SKIP records" : "zero-fill", off, to, to - off,
               skip ? "; every valid record after them is kept" : "");
        guess(fd, no, s->file_size, off);
    }
    if (!apply) {
        close(fd);
        printf("  nothing changed; dtcd --salvage=apply does this (a copy of the file is kept)\n");
        return DTC_ELOG;
    }
    snprintf(suffix, sizeof suffix, "damaged-%lld", (long long)(dtc__now_ns() / 1000000));
    bool ok = dtc__dlog_copy_aside(dir, name, suffix, 0, 0, kept, sizeof kept) == DTC_OK;
    if (ok && hdr)
        ok = dtc__dlog_write_header(dir, no, s->file_size, id,
                                    chain_end(dir, no - 1, s->file_size)) == DTC_OK;
    else if (ok)
        ok = skip ? write_skips(fd, base, off, to) : zero_range(fd, off, to);
    close(fd);
    printf("  %s; copy kept: %s\n", ok ? "repaired" : "REPAIR FAILED", kept);
    dtc_log(ok ? DTC_LOG_WARN : DTC_LOG_ERROR, "dlog_salvage", NULL, NULL,
            "file=%s offset=%" PRIu64 " to=%" PRIu64 " action=%s kept=%s ok=%d", name, off, to,
            hdr ? "header" : skip ? "skip" : "zero", kept, ok);
    return ok ? DTC_OK : DTC_ELOG;
}

dtc_result dtc__dlog_salvage(const char *dir, const char *instance, bool group, bool apply)
{
    struct dtc__dlog_id id;
    struct dtc__dlog_scan_out s;
    (void)group;
    dtc_result rc = dtc__dlog_control_read(dir, &id);
    if (rc == DTC_ENOTFOUND) {
        printf("log %s: no dlog.control (no log yet, or a format 1 log): nothing to salvage\n",
               dir);
        return DTC_ELOG;
    }
    if (rc == DTC_OK && strncmp(id.instance, instance, sizeof id.instance) != 0) {
        printf("log %s belongs to instance '%s', not '%s': not salvaged\n", dir, id.instance,
               instance);
        rc = DTC_ELOG;
    }
    uint64_t last_file = UINT64_MAX, last_off = 0;
    for (int round = 0; rc == DTC_OK && round < ROUNDS; round++) {
        if (dtc__dlog_scan(dir, &id, NULL, NULL, true, &s) == DTC_OK) {
            printf("log %s: sound: %" PRIu64 " records, end at file %016" PRIx64 "%s\n", dir,
                   s.records, s.last_file,
                   s.torn_from ? " (a torn tail: kept aside and cleared at the next start)" : "");
            return DTC_OK;
        }
        if (s.dmg_file == last_file && s.dmg_off == last_off) {
            printf("damage: dlog.%016" PRIx64 " offset %" PRIu64 ": %s\n  the repair did not "
                   "hold: not repairable by --salvage\n", s.dmg_file, s.dmg_off, s.what);
            return DTC_ELOG;
        }
        last_file = s.dmg_file;
        last_off = s.dmg_off;
        rc = repair(dir, &id, &s, apply);
    }
    return DTC_ELOG;
}
