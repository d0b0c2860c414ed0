/*
 * fuzz_dlog.c - libFuzzer target: the decision log's decoders
 * (src/libdtc/dlog_format.c: dtc__dlog_decode, dtc__dlog_peek,
 * dtc__dlog_file_header_check), layout in src/libdtc/dlog.h.
 *
 * Input: one flags byte, then the bytes of a log file region.
 *   bit 0  patch the record's CRC (and the file header's) to match, so
 *          mutations get past the checksum to the fields behind it
 *   bit 1  expect the record at the LSN it states (else at 64, the first
 *          record of file 0)
 *   bit 2  check the file header against the file number it states
 *          (else file 0)
 * Checks: peek agrees with decode; a decoded record is bounded (entries,
 * terminated names and reasons) and survives a round trip: encoded again
 * at the same LSN it decodes to the same fields and the same length.
 * dtc__dlog_claimed_end over the bytes (as a file whose offset 0 is at
 * that LSN) stays inside them, on 8 bytes, past where it started and
 * past a record decoded at its start.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlog.h"
#include "fuzz.h"

static void same_rec(const struct dtc__dlog_rec *a, const struct dtc__dlog_rec *b)
{
    FUZZ_CHECK(a->type == b->type && a->flags == b->flags && a->result == b->result);
    FUZZ_CHECK(a->state == b->state && a->unix_ms == b->unix_ms && a->lsn == b->lsn);
    FUZZ_CHECK(a->commit_ms == b->commit_ms && a->rollback_ms == b->rollback_ms);
    FUZZ_CHECK(a->max_retries == b->max_retries && a->nentries == b->nentries);
    FUZZ_CHECK(memcmp(a->txid.bytes, b->txid.bytes, 16) == 0);
    FUZZ_CHECK(a->data_len == b->data_len && a->data_len <= DTC_JOURNAL_REC_MAX);
    FUZZ_CHECK(a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
    for (uint32_t i = 0; i < a->nentries; i++) {
        const struct dtc__dlog_entry *x = &a->entries[i], *y = &b->entries[i];
        FUZZ_CHECK(strcmp(x->name, y->name) == 0 && strcmp(x->reason, y->reason) == 0);
        FUZZ_CHECK(x->status == y->status && x->vote == y->vote);
    }
}

static void check_record(const unsigned char *buf, size_t avail, uint64_t lsn)
{
    struct dtc__dlog_rec r, r2;
    uint8_t type = 0;
    dtc_txid id;
    size_t peeked = dtc__dlog_peek(buf, avail, lsn, true, &type, &id);
    size_t fast = dtc__dlog_peek(buf, avail, lsn, false, &type, &id);
    size_t len = dtc__dlog_decode(buf, avail, lsn, &r);
    FUZZ_CHECK(peeked == 0 || peeked == fast);
    if (len == 0)
        return;
    FUZZ_CHECK(len == peeked && len % 8 == 0 && len <= avail && len <= DTC_DLOG_REC_MAX);
    FUZZ_CHECK(r.type == type && memcmp(r.txid.bytes, id.bytes, 16) == 0 && r.lsn == lsn);
    FUZZ_CHECK(r.type >= 1 && r.type <= DTC_DLOG_TYPE_MAX);
    FUZZ_CHECK(r.nentries <= DTC_LIMIT_MAX_PARTS_PER_TXN);
    for (uint32_t i = 0; i < r.nentries; i++) {
        FUZZ_CHECK(strnlen(r.entries[i].name, DTC_NAME_MAX) < DTC_NAME_MAX);
        FUZZ_CHECK(strnlen(r.entries[i].reason, DTC_REASON_MAX) < DTC_REASON_MAX);
        FUZZ_CHECK(r.entries[i].status < DTC_ENTRY_STATUS_COUNT);
        FUZZ_CHECK(r.entries[i].vote < DTC_ENTRY_STATUS_COUNT);
    }
    /* round trip */
    unsigned char *enc = malloc(DTC_DLOG_REC_MAX);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(r.synced <= lsn);
    size_t elen = dtc__dlog_encode(&r, lsn, r.synced, enc);
    FUZZ_CHECK(elen <= len && elen % 8 == 0); /* names may stop at a NUL */
    FUZZ_CHECK(dtc__dlog_decode(enc, elen, lsn, &r2) == elen);
    same_rec(&r, &r2);
    /* the encoder is canonical: encoding what it decoded gives its bytes */
    unsigned char *enc2 = malloc(DTC_DLOG_REC_MAX);
    FUZZ_CHECK(enc2 != NULL);
    FUZZ_CHECK(dtc__dlog_encode(&r2, lsn, r2.synced, enc2) == elen && memcmp(enc, enc2, elen) == 0);
    free(enc2);
    free(enc);
}

static void check_claimed(const unsigned char *buf, size_t n, uint64_t lsn, size_t from)
{
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    FUZZ_CHECK(r != NULL);
    size_t end = dtc__dlog_claimed_end(buf, n, lsn, from);
    FUZZ_CHECK(end >= from && (end == from || (end <= n && end % 8 == 0)));
    if (from % 8 == 0 && from < n) {
        size_t len = dtc__dlog_decode(buf + from, n - from, lsn + from, r);
        FUZZ_CHECK(len == 0 || end >= from + len);
    }
    free(r);
}

static void check_header(const unsigned char *hdr, uint64_t fileno)
{
    uint32_t size = 0, size2 = 0;
    uint64_t prev = 0, prev2 = 0;
    struct dtc__dlog_id id, id2;
    unsigned char again[DTC_DLOG_FILE_HDR];
    if (dtc__dlog_file_header_check(hdr, fileno, &size, &id, &prev) != NULL)
        return;
    FUZZ_CHECK(size >= DTC_DLOG_MIN_FILE && size <= DTC_DLOG_MAX_FILE);
    FUZZ_CHECK(memchr(id.instance, '\0', sizeof id.instance) != NULL);
    dtc__dlog_file_header(again, fileno, size, &id, prev);
    FUZZ_CHECK(dtc__dlog_file_header_check(again, fileno, &size2, &id2, &prev2) == NULL);
    FUZZ_CHECK(size2 == size && prev2 == prev && dtc__dlog_id_eq(&id, &id2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t n = size - 1;
    unsigned char *buf = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    uint64_t lsn = DTC_DLOG_FILE_HDR, fileno = 0;
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data + 1, n);
    if (n >= DTC_DLOG_REC_HDR) {
        uint32_t len;
        if (flags & 2)
            memcpy(&lsn, buf + 8, 8);
        memcpy(&len, buf + 4, 4);
        if ((flags & 1) && len >= 8 && len <= n) {
            uint32_t crc = dtc__crc32c(0, buf + 4, len - 4);
            memcpy(buf, &crc, 4);
        }
    }
    check_record(buf, n, lsn);
    check_claimed(buf, n, lsn, 0);
    check_claimed(buf, n, lsn, (size_t)(flags >> 3) * 8 <= n ? (size_t)(flags >> 3) * 8 : n);
    if (n >= DTC_DLOG_FILE_HDR) {
        if (flags & 4)
            memcpy(&fileno, buf + 16, 8);
        if (flags & 1) {
            uint32_t crc = dtc__crc32c(0, buf + 12, DTC_DLOG_FILE_HDR - 12);
            memcpy(buf + 8, &crc, 4);
        }
        check_header(buf, fileno);
    }
    free(buf);
    return 0;
}
