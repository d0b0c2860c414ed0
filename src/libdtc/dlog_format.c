/*
 * dlog_format.c - the decision log's bytes: CRC32C (the CPU's crc32
 * instruction where it has one, else a table), record and file
 * header encoding and decoding, file names, and the record of a slot.
 * Layout in dlog.h.  Decoding treats the bytes as hostile: every length
 * and count is bounded before use, and anything that does not check out
 * is "no record here", the end of the log.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dlog.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DTC_CRC_HW 1
#include <nmmintrin.h>
#else
#define DTC_CRC_HW 0
#endif

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw; /* the CPU's crc32 instruction (SSE4.2): the same CRC32C */

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1; /* Castagnoli, reflected */
        crc_table[i] = c;
    }
#if DTC_CRC_HW
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_bytes(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if DTC_CRC_HW
/* Eight bytes an instruction: a record's CRC is computed under the log's
 * writer lock, so its cost is everyone's wait. */
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const unsigned char *p,
                                                          size_t len)
{
    uint64_t c = crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; len > 0; p++, len--)
        c32 = _mm_crc32_u8(c32, *p);
    return c32;
}
#endif

uint32_t dtc__crc32c_table(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_bytes(~crc, buf, len);
}

uint32_t dtc__crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
#if DTC_CRC_HW
    if (crc_hw)
        return ~crc_sse42(~crc, buf, len);
#endif
    return ~crc_bytes(~crc, buf, len);
}

/* Field offsets of a record header (DTC_DLOG_REC_HDR bytes). */
enum {
    R_CRC = 0, R_LEN = 4, R_LSN = 8, R_TYPE = 16, R_NENT = 17, R_FLAGS = 18,
    R_RESULT = 20, R_TXID = 24, R_MS = 40, R_STATE = 48, R_COMMIT = 52,
    R_ROLLBACK = 56, R_RETRIES = 60, R_SYNCED = 64
};

#define PUT(buf, off, v) memcpy((buf) + (off), &(v), sizeof(v))
#define GET(buf, off, v) memcpy(&(v), (buf) + (off), sizeof(v))

/* The CRC and length of a record whose other bytes are in place. */
static void seal(unsigned char *buf, size_t len)
{
    uint32_t len32 = (uint32_t)len;
    PUT(buf, R_LEN, len32);
    uint32_t crc = dtc__crc32c(0, buf + R_LEN, len - R_LEN);
    PUT(buf, R_CRC, crc);
}

void dtc__dlog_encode_skip(uint64_t lsn, size_t len, unsigned char *buf)
{
    DTC_ASSERT(len % 8 == 0 && len >= DTC_DLOG_REC_HDR && len <= DTC_DLOG_REC_MAX);
    uint8_t type = DTC_DLOG_SKIP;
    memset(buf, 0, len);
    PUT(buf, R_LSN, lsn);
    PUT(buf, R_TYPE, type);
    PUT(buf, R_SYNCED, lsn);
    seal(buf, len);
}

size_t dtc__dlog_encode(const struct dtc__dlog_rec *r, uint64_t lsn, uint64_t synced,
                        unsigned char *buf)
{
    DTC_ASSERT(synced <= lsn);
    uint32_t n = r->nentries <= DTC_LIMIT_MAX_PARTS_PER_TXN ? r->nentries : 0;
    uint8_t nent = (uint8_t)n;
    size_t pos = DTC_DLOG_REC_HDR;
    memset(buf, 0, DTC_DLOG_REC_HDR);
    PUT(buf, R_LSN, lsn);
    PUT(buf, R_TYPE, r->type);
    PUT(buf, R_NENT, nent);
    PUT(buf, R_FLAGS, r->flags);
    PUT(buf, R_RESULT, r->result);
    memcpy(buf + R_TXID, r->txid.bytes, 16);
    PUT(buf, R_MS, r->unix_ms);
    PUT(buf, R_STATE, r->state);
    PUT(buf, R_COMMIT, r->commit_ms);
    PUT(buf, R_ROLLBACK, r->rollback_ms);
    PUT(buf, R_RETRIES, r->max_retries);
    PUT(buf, R_SYNCED, synced);
    for (uint32_t i = 0; i < n; i++) {
        const struct dtc__dlog_entry *e = &r->entries[i];
        size_t nl = strnlen(e->name, DTC_NAME_MAX - 1), rl = strnlen(e->reason, DTC_REASON_MAX - 1);
        buf[pos] = (unsigned char)nl;
        buf[pos + 1] = e->status;
        buf[pos + 2] = e->vote;
        buf[pos + 3] = (unsigned char)rl;
        memcpy(buf + pos + DTC_DLOG_ENTRY_HDR, e->name, nl);
        memcpy(buf + pos + DTC_DLOG_ENTRY_HDR + nl, e->reason, rl);
        pos += DTC_DLOG_ENTRY_HDR + nl + rl;
    }
    if (dtc__dlog_journal_type(r->type)) {
        uint32_t dl = r->data_len <= DTC_JOURNAL_REC_MAX ? r->data_len : 0;
        PUT(buf, pos, dl);
        if (dl > 0)
            memcpy(buf + pos + DTC_DLOG_JLEN, r->data, dl);
        pos += DTC_DLOG_JLEN + dl;
    }
    size_t len = (pos + 7) & ~(size_t)7;
    memset(buf + pos, 0, len - pos);
    seal(buf, len);
    return len;
}

size_t dtc__dlog_journal_len(const char *name, uint32_t data_len)
{
    size_t pos = DTC_DLOG_REC_HDR + DTC_DLOG_ENTRY_HDR + strnlen(name, DTC_NAME_MAX - 1)
                 + DTC_DLOG_JLEN + (data_len <= DTC_JOURNAL_REC_MAX ? data_len : 0);
    return (pos + 7) & ~(size_t)7;
}

size_t dtc__dlog_peek(const unsigned char *buf, size_t avail, uint64_t lsn, bool check,
                      uint8_t *type, dtc_txid *txid)
{
    uint32_t crc, len;
    uint64_t at, synced;
    if (avail < DTC_DLOG_REC_HDR)
        return 0;
    GET(buf, R_CRC, crc);
    GET(buf, R_LEN, len);
    GET(buf, R_LSN, at);
    GET(buf, R_SYNCED, synced);
    if (len < DTC_DLOG_REC_HDR || len > DTC_DLOG_REC_MAX || len % 8 != 0 || len > avail
        || at != lsn || synced > lsn || buf[R_TYPE] == 0 || buf[R_TYPE] > DTC_DLOG_TYPE_MAX)
        return 0;
    if (check && dtc__crc32c(0, buf + R_LEN, len - R_LEN) != crc)
        return 0;
    *type = buf[R_TYPE];
    memcpy(txid->bytes, buf + R_TXID, 16);
    return len;
}

size_t dtc__dlog_claimed_end(const unsigned char *m, size_t size, uint64_t base, size_t from)
{
    size_t end = from;
    for (size_t q = (from + 7) & ~(size_t)7; q + DTC_DLOG_REC_HDR <= size; q += 8) {
        uint8_t type;
        dtc_txid id;
        size_t len = dtc__dlog_peek(m + q, size - q, base + q, false, &type, &id);
        end = len != 0 && q + len > end ? q + len : end;
    }
    return end;
}

bool dtc__dlog_holds_none(const unsigned char *m, size_t size, uint64_t fileno)
{
    return dtc__dlog_claimed_end(m, size, fileno * size, DTC_DLOG_FILE_HDR) == DTC_DLOG_FILE_HDR;
}

/* Decodes the entries of a checked record (and a journal record's
 * payload); false if they overrun it. */
static bool decode_entries(const unsigned char *buf, size_t len, struct dtc__dlog_rec *out)
{
    size_t pos = DTC_DLOG_REC_HDR;
    for (uint32_t i = 0; i < out->nentries; i++) {
        struct dtc__dlog_entry *e = &out->entries[i];
        if (pos + DTC_DLOG_ENTRY_HDR > len)
            return false;
        size_t nl = buf[pos], rl = buf[pos + 3];
        if (nl >= DTC_NAME_MAX || rl >= DTC_REASON_MAX
            || pos + DTC_DLOG_ENTRY_HDR + nl + rl > len)
            return false;
        e->status = buf[pos + 1] < DTC_ENTRY_STATUS_COUNT ? buf[pos + 1] : DTC_ENTRY_IDLE;
        e->vote = buf[pos + 2] < DTC_ENTRY_STATUS_COUNT ? buf[pos + 2] : DTC_ENTRY_IDLE;
        memcpy(e->name, buf + pos + DTC_DLOG_ENTRY_HDR, nl);
        e->name[nl] = '\0';
        memcpy(e->reason, buf + pos + DTC_DLOG_ENTRY_HDR + nl, rl);
        e->reason[rl] = '\0';
        pos += DTC_DLOG_ENTRY_HDR + nl + rl;
    }
    if (!dtc__dlog_journal_type(out->type))
        return true;
    uint32_t dl;
    if (out->nentries != 1 || pos + DTC_DLOG_JLEN > len)
        return false;
    GET(buf, pos, dl);
    if (dl > DTC_JOURNAL_REC_MAX || pos + DTC_DLOG_JLEN + dl > len)
        return false;
    out->data_len = dl;
    out->data = dl > 0 ? buf + pos + DTC_DLOG_JLEN : NULL;
    return true;
}

size_t dtc__dlog_decode(const unsigned char *buf, size_t avail, uint64_t lsn,
                        struct dtc__dlog_rec *out)
{
    uint8_t type;
    dtc_txid id;
    size_t len = dtc__dlog_peek(buf, avail, lsn, true, &type, &id);
    if (len == 0 || buf[R_NENT] > DTC_LIMIT_MAX_PARTS_PER_TXN)
        return 0;
    memset(out, 0, offsetof(struct dtc__dlog_rec, entries));
    out->type = type;
    out->txid = id;
    out->lsn = lsn;
    out->nentries = buf[R_NENT];
    GET(buf, R_FLAGS, out->flags);
    GET(buf, R_RESULT, out->result);
    GET(buf, R_MS, out->unix_ms);
    GET(buf, R_STATE, out->state);
    GET(buf, R_COMMIT, out->commit_ms);
    GET(buf, R_ROLLBACK, out->rollback_ms);
    GET(buf, R_RETRIES, out->max_retries);
    GET(buf, R_SYNCED, out->synced);
    if (out->state >= DTC_TXN_STATE_COUNT || !decode_entries(buf, len, out))
        return 0;
    return len;
}

/* File header offsets. */
enum {
    F_MAGIC = 0, F_CRC = 8, F_VERSION = 12, F_FILENO = 16, F_SIZE = 24, F_FIRST = 32,
    F_LOGID = 40, F_INSTANCE = 56, F_PREV_END = 104
};

void dtc__dlog_file_header(unsigned char hdr[DTC_DLOG_FILE_HDR], uint64_t fileno,
                           uint32_t file_size, const struct dtc__dlog_id *id, uint64_t prev_end)
{
    uint32_t version = DTC_DLOG_VERSION;
    uint64_t first = fileno * file_size + DTC_DLOG_FILE_HDR;
    memset(hdr, 0, DTC_DLOG_FILE_HDR);
    memcpy(hdr + F_MAGIC, DTC_DLOG_MAGIC, 8); // NOLINT(bugprone-not-null-terminated-result): 8 magic bytes, no NUL
    PUT(hdr, F_VERSION, version);
    PUT(hdr, F_FILENO, fileno);
    PUT(hdr, F_SIZE, file_size);
    PUT(hdr, F_FIRST, first);
    memcpy(hdr + F_LOGID, id->log_id, 16);
    memcpy(hdr + F_INSTANCE, id->instance, strnlen(id->instance, DTC_INSTANCE_MAX - 1));
    PUT(hdr, F_PREV_END, prev_end);
    uint32_t crc = dtc__crc32c(0, hdr + F_VERSION, DTC_DLOG_FILE_HDR - F_VERSION);
    PUT(hdr, F_CRC, crc);
}

const char *dtc__dlog_file_header_check(const unsigned char hdr[DTC_DLOG_FILE_HDR],
                                        uint64_t fileno, uint32_t *file_size,
                                        struct dtc__dlog_id *id, uint64_t *prev_end)
{
    uint32_t crc, version, size;
    uint64_t no, first;
    GET(hdr, F_CRC, crc);
    GET(hdr, F_VERSION, version);
    GET(hdr, F_FILENO, no);
    GET(hdr, F_SIZE, size);
    GET(hdr, F_FIRST, first);
    if (memcmp(hdr + F_MAGIC, DTC_DLOG_MAGIC, 8) != 0)
        return "not a decision log file (bad magic)";
    if (version == 1)
        return "format 1 (this dtcd reads format 2: see docs/decision-log.md, Migration)";
    if (version != DTC_DLOG_VERSION)
        return "unknown format version";
    if (dtc__crc32c(0, hdr + F_VERSION, DTC_DLOG_FILE_HDR - F_VERSION) != crc)
        return "header CRC mismatch";
    if (no != fileno)
        return "header names another file number";
    if (size < DTC_DLOG_MIN_FILE || size > DTC_DLOG_MAX_FILE || size % 4096 != 0
        || first != fileno * size + DTC_DLOG_FILE_HDR)
        return "header file size out of range";
    if (memchr(hdr + F_INSTANCE, '\0', DTC_INSTANCE_MAX) == NULL)
        return "header instance name not terminated";
    *file_size = size;
    memcpy(id->log_id, hdr + F_LOGID, 16);
    memcpy(id->instance, hdr + F_INSTANCE, DTC_INSTANCE_MAX);
    GET(hdr, F_PREV_END, *prev_end);
    return NULL;
}

void dtc__dlog_id_hex(const struct dtc__dlog_id *id, char buf[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(buf + (size_t)2 * i, 3, "%02x", id->log_id[i]);
}

bool dtc__dlog_id_eq(const struct dtc__dlog_id *a, const struct dtc__dlog_id *b)
{
    return memcmp(a->log_id, b->log_id, 16) == 0
           && strncmp(a->instance, b->instance, DTC_INSTANCE_MAX) == 0;
}

void dtc__dlog_path(const char *dir, uint64_t fileno, char *buf, size_t size)
{
    snprintf(buf, size, "%s/dlog.%016llx", dir, (unsigned long long)fileno);
}

void dtc__dlog_rec_from_slot(const dtc_instance *in, const struct dtc_txn_slot *ts, uint8_t type,
                             uint16_t flags, struct dtc__dlog_rec *r)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(r, 0, offsetof(struct dtc__dlog_rec, entries));
    r->type = type;
    r->flags = (uint16_t)(flags | (ts->ts_flags & DTC_TS_COMMIT_FAILED ? DTC_DLOG_F_COMMIT_FAILED : 0)
                          | (ts->ts_flags & DTC_TS_ONE_PHASE ? DTC_DLOG_F_ONE_PHASE : 0)
                          | (ts->ts_adopt_why & DTC_DLOG_F_ADOPT_MASK) << DTC_DLOG_F_ADOPT_SHIFT);
    r->result = ts->ts_result;
    r->state = ts->ts_state < DTC_TXN_STATE_COUNT ? ts->ts_state : DTC_TXN_FREE;
    memcpy(r->txid.bytes, ts->ts_txid, 16);
    r->unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    r->commit_ms = ts->ts_commit_ms;
    r->rollback_ms = ts->ts_rollback_ms;
    r->max_retries = ts->ts_max_retries;
    r->nentries = ts->ts_nentries <= in->max_parts ? ts->ts_nentries : 0;
    for (uint32_t i = 0; i < r->nentries; i++) {
        const struct dtc_txn_entry *e = &ts->ts_entries[i];
        struct dtc__dlog_entry *o = &r->entries[i];
        dtc__strcopy(o->name, e->te_name, sizeof o->name);
        o->status = e->te_status < DTC_ENTRY_STATUS_COUNT ? e->te_status : DTC_ENTRY_IDLE;
        o->vote = e->te_vote < DTC_ENTRY_STATUS_COUNT ? e->te_vote : DTC_ENTRY_IDLE;
        dtc__strcopy(o->reason, dtc__entry_reason(e), sizeof o->reason);
    }
}
