/*
 * dlog.h - the decision log: its on-disk format and its internal API.
 *
 * One log per instance, in its data directory: preallocated files
 * DIR/dlog.<16 hex digits: file number>, each sh_dlog_file_size bytes,
 * and a spare DIR/dlog.spare that dtcd zero-fills ahead of need.  Every
 * coordinator process appends to the current file itself (no hop to
 * another process) and shares one group commit (sh_dlog_flush_lock,
 * sh_dlog_durable in the segment): one fdatasync covers every record
 * written before it.
 *
 * A position in the log (LSN) is file number * file size + offset.  A file
 * starts with a 64-byte header; records follow back to back, each padded
 * to 8 bytes:
 *
 *   file header   magic "DTCDLOG\1", CRC32C of bytes 12..63, version,
 *                 file number, file size, LSN of its first record
 *   record        CRC32C of bytes 4..len-1, len, its own LSN, type,
 *                 entry count, flags, result, txid, wall clock (ms),
 *                 state, commit/rollback timeouts, retries; then per entry
 *                 name length, status, vote, reason length, name, reason
 *
 * Integers are in host byte order (the magic shows a mismatch).  A reader
 * stops at the first record whose CRC, length or LSN is wrong: a torn or
 * zeroed tail.  Recovery zero-fills everything after the last good record,
 * so bytes of an older life of a file are never mistaken for records.
 *
 * Records (what is forced: fdatasync'ed before anyone acts on it):
 *   COMMIT      the commit decision, forced before any commit is sent
 *   COMPENSATE  a decided commit turned into rollback-all, forced
 *   HEURISTIC   a mixed outcome kept for an operator, forced
 *   END         the transaction ended (committed or aborted): every
 *               participant answered; not forced (losing it only makes
 *               recovery redeliver an idempotent outcome)
 *   RETRY       an operator's retry (not forced; for the record)
 * Operator resolves are COMMIT or COMPENSATE records with DTC_DLOG_F_OPERATOR.
 * A file switch copies every live decision (COMMITTING, compensating,
 * HEURISTIC slots) into the new file (DTC_DLOG_F_COPY), so the newest
 * files hold everything recovery needs and the oldest can be deleted.
 */
#ifndef DTC_DLOG_H
#define DTC_DLOG_H

#include "internal.h"

#define DTC_DLOG_MAGIC "DTCDLOG\1"
#define DTC_DLOG_VERSION 1u
#define DTC_DLOG_FILE_HDR 64u
#define DTC_DLOG_REC_HDR 64u
#define DTC_DLOG_ENTRY_HDR 4u
/* The largest record: header and every entry with a full name and reason. */
#define DTC_DLOG_REC_MAX                                                          \
    (DTC_DLOG_REC_HDR                                                             \
     + DTC_LIMIT_MAX_PARTS_PER_TXN * (DTC_DLOG_ENTRY_HDR + DTC_NAME_MAX + DTC_REASON_MAX))
#define DTC_DLOG_MIN_FILE (1u << 20)
#define DTC_DLOG_MAX_FILE (1u << 30)
#define DTC_DLOG_MIN_FILES 3u
#define DTC_DLOG_MAX_FILES 4096u
/* A recovered transaction waits this long, and retries this often, for
 * its participants to come back after a restart before it compensates. */
#define DTC_DLOG_RECOVERED_MS 120000u
#define DTC_DLOG_RECOVERED_RETRIES 100u

enum dtc__dlog_type {
    DTC_DLOG_COMMIT = 1,
    DTC_DLOG_COMPENSATE = 2,
    DTC_DLOG_HEURISTIC = 3,
    DTC_DLOG_END = 4,
    DTC_DLOG_RETRY = 5,
    DTC_DLOG_TYPE_MAX = 5
};

#define DTC_DLOG_F_OPERATOR 0x1u /* an operator's decision (resolve) */
#define DTC_DLOG_F_COPY 0x2u     /* a checkpoint copy at a file switch */
#define DTC_DLOG_F_COMMIT_FAILED 0x4u /* the slot's DTC_TS_COMMIT_FAILED */
/* Bits 8..11: the slot's ts_adopt_why (why dtcd took it over; 0 none). */
#define DTC_DLOG_F_ADOPT_SHIFT 8u
#define DTC_DLOG_F_ADOPT_MASK 0xfu

/* One entry of a record, decoded. */
struct dtc__dlog_entry {
    char name[DTC_NAME_MAX];
    uint8_t status, vote; /* dtc_entry_status */
    char reason[DTC_REASON_MAX];
};

/* One record, decoded (or to encode). */
struct dtc__dlog_rec {
    uint8_t type;          /* enum dtc__dlog_type */
    uint16_t flags;        /* DTC_DLOG_F_* */
    uint32_t result;       /* dtc_result */
    uint32_t state;        /* dtc_txn_state the record leaves it in */
    dtc_txid txid;
    int64_t unix_ms;
    uint32_t commit_ms, rollback_ms, max_retries;
    uint32_t nentries;     /* <= DTC_LIMIT_MAX_PARTS_PER_TXN */
    uint64_t lsn;          /* where it was read from (decode only) */
    struct dtc__dlog_entry entries[DTC_LIMIT_MAX_PARTS_PER_TXN];
};

/* ---- dlog_format.c: encoding, CRC32C, file names ------------------------ */

uint32_t dtc__crc32c(uint32_t crc, const void *buf, size_t len);
/* Encodes r at position lsn into buf (DTC_DLOG_REC_MAX bytes); returns
 * the record's length (a multiple of 8). */
size_t dtc__dlog_encode(const struct dtc__dlog_rec *r, uint64_t lsn, unsigned char *buf);
/* Decodes the record at buf (avail bytes) expected at position lsn.
 * Returns its length, or 0 if there is no valid record there (end of the
 * log: zeros, a torn or corrupt record, a stale LSN). */
size_t dtc__dlog_decode(const unsigned char *buf, size_t avail, uint64_t lsn,
                        struct dtc__dlog_rec *out);
/* Only the header fields (type, txid, length), CRC checked only if
 * `check`: the fast scan of an outcome lookup.  Same return. */
size_t dtc__dlog_peek(const unsigned char *buf, size_t avail, uint64_t lsn, bool check,
                      uint8_t *type, dtc_txid *txid);
void dtc__dlog_file_header(unsigned char hdr[DTC_DLOG_FILE_HDR], uint64_t fileno,
                           uint32_t file_size);
/* 0 if hdr is a valid header of file `fileno`; fills *file_size. */
int dtc__dlog_file_header_check(const unsigned char hdr[DTC_DLOG_FILE_HDR], uint64_t fileno,
                                uint32_t *file_size);
/* DIR/dlog.<fileno> into buf. */
void dtc__dlog_path(const char *dir, uint64_t fileno, char *buf, size_t size);
/* A record of slot ts (its lock held, or a validated peek) of `type`. */
void dtc__dlog_rec_from_slot(const dtc_instance *in, const struct dtc_txn_slot *ts, uint8_t type,
                             uint16_t flags, struct dtc__dlog_rec *r);

/* ---- dlog_file.c: the files themselves ---------------------------------- */

/* Opens log file `fileno` of dir for writing (O_NOFOLLOW, owner checked). */
int dtc__dlog_open(const char *dir, uint64_t fileno, int flags);
/* Makes DIR/dlog.spare: a zero-filled, synced file of file_size bytes. */
dtc_result dtc__dlog_make_spare(const char *dir, uint32_t file_size, bool group);
/* Renames the spare (made now if missing) into file `fileno`, writes its
 * header and syncs the directory. */
dtc_result dtc__dlog_take_spare(const char *dir, uint64_t fileno, uint32_t file_size,
                                bool group);
/* fsync of the directory. */
int dtc__dlog_sync_dir(const char *dir);
/* The numbers of the log files in dir, ascending (malloc'd); -1 on error. */
long dtc__dlog_list(const char *dir, uint64_t **out);
/* Zero-fills file `fileno` from offset `from` to its end (only where
 * not zero already) and syncs it: nothing after the log's end can ever
 * be read as a record. */
dtc_result dtc__dlog_reset_tail(const char *dir, uint64_t fileno, uint64_t from, uint32_t size);
/* The file size of the newest valid log file in dir, 0 if none. */
uint32_t dtc__dlog_existing_size(const char *dir);
/* Deletes files numbered below `keep_from`. */
void dtc__dlog_prune(const char *dir, uint64_t keep_from);
/* Creates dir (and parents) 0700 or 0770 and checks it: a directory we
 * own, not writable by others.  DTC_OK, or DTC_ELOG with a log line. */
dtc_result dtc__dlog_dir_prepare(const char *dir, bool group);

/* ---- dlog.c: appending, group commit, file switch ----------------------- */

bool dtc__dlog_on(const dtc_instance *in);
/* The smallest file for these limits: a full checkpoint, twice. */
uint32_t dtc__dlog_min_file_size(uint32_t max_txns);
/* Appends r (sh_dlog_lock inside; with at most one ts_lock held).
 * *end receives the LSN just past it: flush to it to make it durable. */
dtc_result dtc__dlog_append(dtc_instance *in, const struct dtc__dlog_rec *r, uint64_t *end);
/* Waits (leading or following the group commit) until everything below
 * `upto` is on stable storage.  With no lock held. */
dtc_result dtc__dlog_flush(dtc_instance *in, uint64_t upto);
/* Closes this process's cached file descriptors. */
void dtc__dlog_detach(dtc_instance *in);

/* ---- dlog_read.c: reading back ------------------------------------------ */

/* Calls fn for every valid record of the log in order; stops early when
 * fn returns non-zero.  *end (may be NULL) receives the LSN after the
 * last valid record (0 if the log is empty) and *last_file its file. */
typedef int (*dtc__dlog_fn)(void *ctx, const struct dtc__dlog_rec *r);
dtc_result dtc__dlog_scan(const char *dir, dtc__dlog_fn fn, void *ctx, uint64_t *end,
                          uint64_t *last_file, uint32_t *file_size);
/* The last record about `id` (newest file first).  DTC_ENOTFOUND if none. */
dtc_result dtc__dlog_find(const char *dir, const dtc_txid *id, struct dtc__dlog_rec *out);

/* ---- recover.c: replay into a fresh segment (dtcd) ---------------------- */

/* Replays the log of in's data directory: positions the writer after the
 * last valid record (zero-filling the rest of that file), recreates every
 * live decision as an adopted slot, then clears sh_recovering. */
dtc_result dtc__dlog_recover(dtc_instance *in);
/* dtcd's tick: keeps a spare file ready and deletes files past the
 * retention. */
void dtc__dlog_maintain(dtc_instance *in);
/* Whether the instance may answer "not found" and begin transactions:
 * DTC_OK once its log is replayed; DTC_ERECOVERING while dtcd replays
 * it; DTC_ENOSUPERVISOR while it is not replayed and no dtcd runs (one
 * whose replay failed left it so, or dtcd is only starting). */
dtc_result dtc__recovering(const dtc_instance *in);

#endif /* DTC_DLOG_H */
