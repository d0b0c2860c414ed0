/*
 * dlog_read.c - reading the decision log back: the full ordered scan
 * recovery replays, and the newest-first lookup of one transaction that
 * answers dtc_transaction_outcome once its slot is gone.  Files are
 * mapped read-only; every record is validated (dlog_format.c) and the
 * first one that does not check out ends its file.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"

struct mapped {
    const unsigned char *p;
    size_t size;
};

/* Maps log file `no` if its header is valid; 0, or -1 (absent or bad). */
static int map_file(const char *dir, uint64_t no, struct mapped *m, uint32_t *file_size)
{
    struct stat st;
    int fd = dtc__dlog_open(dir, no, O_RDONLY);
    if (fd < 0)
        return -1;
    m->p = NULL;
    if (fstat(fd, &st) == 0 && st.st_size >= (off_t)DTC_DLOG_MIN_FILE) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        m->p = p == MAP_FAILED ? NULL : p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    if (m->p == NULL)
        return -1;
    if (dtc__dlog_file_header_check(m->p, no, file_size) != 0 || *file_size != m->size) {
        munmap((void *)m->p, m->size);
        return -1;
    }
    return 0;
}

static void unmap(struct mapped *m)
{
    munmap((void *)m->p, m->size);
}

/* Replays one mapped file; returns the LSN after its last valid record,
 * or 0 if fn stopped the scan. */
static uint64_t scan_file(const struct mapped *m, uint64_t no, dtc__dlog_fn fn, void *ctx)
{
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    uint64_t base = no * m->size;
    size_t pos = DTC_DLOG_FILE_HDR;
    if (r == NULL)
        return 0;
    for (;;) {
        size_t len = dtc__dlog_decode(m->p + pos, m->size - pos, base + pos, r);
        if (len == 0)
            break;
        if (fn != NULL && fn(ctx, r) != 0) {
            free(r);
            return 0;
        }
        pos += len;
    }
    free(r);
    return base + pos;
}

dtc_result dtc__dlog_scan(const char *dir, dtc__dlog_fn fn, void *ctx, uint64_t *end,
                          uint64_t *last_file, uint32_t *file_size)
{
    uint64_t *v;
    long n = dtc__dlog_list(dir, &v);
    dtc_result rc = n < 0 ? DTC_ELOG : DTC_OK;
    uint64_t e = 0, last = 0;
    uint32_t size = 0;
    for (long i = 0; rc == DTC_OK && i < n; i++) {
        struct mapped m;
        uint32_t fsize;
        if (map_file(dir, v[i], &m, &fsize) != 0 || (size != 0 && fsize != size)) {
            /* A new file whose header never reached the disk is the end;
             * anything after one is damage an operator must look at. */
            if (i + 1 < n) {
                dtc_log(DTC_LOG_ERROR, "dlog_damaged", NULL, NULL,
                        "dir=%s file=%016llx error=\"bad header with later files\"", dir,
                        (unsigned long long)v[i]);
                rc = DTC_ELOG;
            }
            break;
        }
        size = fsize;
        e = scan_file(&m, v[i], fn, ctx);
        last = v[i];
        unmap(&m);
        if (e == 0)
            break; /* stopped by fn */
    }
    free(v);
    if (end != NULL)
        *end = e;
    if (last_file != NULL)
        *last_file = last;
    if (file_size != NULL)
        *file_size = size;
    return rc;
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
        if (memcmp(t.bytes, id->bytes, 16) == 0 && type != DTC_DLOG_RETRY)
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
        if (map_file(dir, v[i], &m, &fsize) != 0)
            continue;
        size_t pos = last_match(&m, v[i], id);
        if (pos != 0 && dtc__dlog_decode(m.p + pos, m.size - pos, v[i] * m.size + pos, out) != 0)
            rc = DTC_OK;
        unmap(&m);
    }
    free(v);
    return rc;
}
