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
 * starts with a 128-byte header; records follow back to back, each padded
 * to 8 bytes (format 2):
 *
 *   file header   magic "DTCDLOG\1", CRC32C of bytes 12..127, version,
 *                 file number, file size, LSN of its first record, the
 *                 log id (16 random bytes made with the instance's first
 *                 log, also in DIR/dlog.control), the instance name, and
 *                 prev_end: where the previous file's records ended (it
 *                 was synced whole before this file was made)
 *   record        CRC32C of bytes 4..len-1, len, its own LSN, type,
 *                 entry count, flags, result, txid, wall clock (ms),
 *                 state, commit/rollback timeouts, retries, synced (the
 *                 log was durable below this LSN when the record was
 *                 written); then per entry name length, status, vote,
 *                 reason length, name, reason
 *
 * Integers are in host byte order (the magic shows a mismatch).  Damage
 * is told from a torn tail by the rule of dlog_read.c (docs/
 * decision-log.md, "Damage or torn tail"): a bad record below a point the
 * log is known durable at (a later record's `synced`, the next file's
 * prev_end) is damage and recovery refuses; past it, it is a torn tail.
 *
 * Records (what is forced: fdatasync'ed before anyone acts on it):
 *   COMMIT      the commit decision, forced before any commit is sent
 *   COMPENSATE  a decided commit turned into rollback-all, forced
 *   HEURISTIC   a mixed outcome kept for an operator, forced
 *   END         the transaction ended (committed or aborted): every
 *               participant answered; not forced (losing it only makes
 *               recovery redeliver an idempotent outcome).  A one-phase
 *               commit and one whose every vote was read-only have an
 *               END and no COMMIT (txn.c; DTC_DLOG_F_ONE_PHASE)
 *   RETRY       an operator's retry (not forced; for the record)
 *   MARK        dtcd's note, when the log went quiet, of how far it is
 *               durable (its `synced`); holds no decision
 *   SKIP        written by `dtcd --salvage=apply` over damaged bytes
 *               (their copy kept in DIR/dlog.<no>.damaged-<time>)
 * The instance journal (journal.c, docs/journal.md): records of the
 * participants themselves, each with one entry (the participant's name)
 * and then a payload (4-byte length, bytes):
 *   JPREPARE    a participant's prepare record (opaque, at most
 *               DTC_JOURNAL_REC_MAX bytes), not forced: the COMMIT that
 *               follows every yes vote makes it durable (a prefix)
 *   JDONE       its commit (DTC_DLOG_F_JCOMMITTED) or rollback record,
 *               not forced
 *   JCHECKPOINT its storage reflects all its records below the LSN in
 *               the payload (8 bytes); DTC_DLOG_F_JRELEASE: an operator
 *               dropped it.  Copied at a file switch (DTC_DLOG_F_COPY)
 *               for every participant of the segment's journal table.
 * Operator resolves are COMMIT or COMPENSATE records with DTC_DLOG_F_OPERATOR.
 * A file switch copies every live decision (COMMITTING, compensating,
 * HEURISTIC slots) into the new file (DTC_DLOG_F_COPY), so the newest
 * files hold everything recovery needs and the oldest can be deleted.
 */
#ifndef DTC_DLOG_H
#define DTC_DLOG_H

#include "internal.h"

#define DTC_DLOG_MAGIC "DTCDLOG\1"
#define DTC_DLOG_VERSION 2u /* 2: identity, prev_end, synced, MARK, SKIP */
#define DTC_DLOG_FILE_HDR 128u
#define DTC_DLOG_REC_HDR 72u
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
    DTC_DLOG_MARK = 6,
    DTC_DLOG_SKIP = 7,
    DTC_DLOG_JPREPARE = 8,
    DTC_DLOG_JDONE = 9,
    DTC_DLOG_JCHECKPOINT = 10,
    DTC_DLOG_TYPE_MAX = 10
};

/* A journal record's type (JPREPARE, JDONE, JCHECKPOINT). */
static inline bool dtc__dlog_journal_type(uint8_t type)
{
    return type >= DTC_DLOG_JPREPARE && type <= DTC_DLOG_JCHECKPOINT;
}

/* The payload length field of a journal record. */
#define DTC_DLOG_JLEN 4u
/* The largest journal record fits in DTC_DLOG_REC_MAX. */
_Static_assert(DTC_DLOG_REC_HDR + DTC_DLOG_ENTRY_HDR + DTC_NAME_MAX + DTC_DLOG_JLEN
                   + DTC_JOURNAL_REC_MAX + 8 <= DTC_DLOG_REC_MAX,
               "journal record larger than a log record may be");
/* A JCHECKPOINT record's length, at most (copies at a file switch). */
#define DTC_DLOG_JCKPT_MAX (DTC_DLOG_REC_HDR + DTC_DLOG_ENTRY_HDR + DTC_NAME_MAX + DTC_DLOG_JLEN + 8u)

/* Which log a file belongs to: in every file header and DIR/dlog.control. */
struct dtc__dlog_id {
    unsigned char log_id[16];
    char instance[DTC_INSTANCE_MAX]; /* NUL-terminated */
};

#define DTC_DLOG_F_OPERATOR 0x1u /* an operator's decision (resolve) */
#define DTC_DLOG_F_COPY 0x2u     /* a checkpoint copy at a file switch */
#define DTC_DLOG_F_COMMIT_FAILED 0x4u /* the slot's DTC_TS_COMMIT_FAILED */
#define DTC_DLOG_F_JCOMMITTED 0x10u /* JDONE: a commit (else a rollback) */
#define DTC_DLOG_F_JRELEASE 0x20u   /* JCHECKPOINT: released by an operator */
#define DTC_DLOG_F_ONE_PHASE 0x40u  /* END: committed in one phase (no COMMIT) */
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
    uint64_t synced;       /* durable below this when written (decode only) */
    /* A journal record's payload (dtc__dlog_journal_type): data_len bytes
     * at data (encode: the caller's; decode: inside the decoded buffer,
     * valid as long as it is; NULL and 0 for other types). */
    const unsigned char *data;
    uint32_t data_len;     /* <= DTC_JOURNAL_REC_MAX */
    struct dtc__dlog_entry entries[DTC_LIMIT_MAX_PARTS_PER_TXN];
};

/* ---- dlog_format.c: encoding, CRC32C, file names ------------------------ */

uint32_t dtc__crc32c(uint32_t crc, const void *buf, size_t len);
/* The same by the table alone (what the CPU's instruction must equal). */
uint32_t dtc__crc32c_table(uint32_t crc, const void *buf, size_t len);
/* Encodes r at position lsn, written when the log was durable below
 * `synced` (<= lsn), into buf (DTC_DLOG_REC_MAX bytes); returns the
 * record's length (a multiple of 8). */
size_t dtc__dlog_encode(const struct dtc__dlog_rec *r, uint64_t lsn, uint64_t synced,
                        unsigned char *buf);
/* A SKIP record of `len` bytes (a multiple of 8, DTC_DLOG_REC_HDR ..
 * DTC_DLOG_REC_MAX) at lsn into buf. */
void dtc__dlog_encode_skip(uint64_t lsn, size_t len, unsigned char *buf);
/* Decodes the record at buf (avail bytes) expected at position lsn.
 * Returns its length, or 0 if there is no valid record there (end of the
 * log: zeros, a torn or corrupt record, a stale LSN). */
size_t dtc__dlog_decode(const unsigned char *buf, size_t avail, uint64_t lsn,
                        struct dtc__dlog_rec *out);
/* Only the header fields (type, txid, length), CRC checked only if
 * `check`: the fast scan of an outcome lookup.  Same return. */
size_t dtc__dlog_peek(const unsigned char *buf, size_t avail, uint64_t lsn, bool check,
                      uint8_t *type, dtc_txid *txid);
/* Where the bytes of file m (size bytes, records at LSN base + offset)
 * from offset `from` on stop holding anything shaped like a record of
 * this file: the end of the last 8-byte-aligned place whose header
 * passes dtc__dlog_peek unchecked (its own position, a sane length and
 * type), or `from` if none.  Only such bytes could ever decode as a
 * record of this file; the rest (zeros, junk, the records of the older
 * file a recycled spare was: other positions) never can. */
size_t dtc__dlog_claimed_end(const unsigned char *m, size_t size, uint64_t base, size_t from);
/* True if nothing after the header of file m (size bytes, file number
 * fileno) is shaped like a record of that file: the file never held one
 * (a header is synced before any record goes in, so a spare renamed in
 * whose header was never written, or was written and nothing after). */
bool dtc__dlog_holds_none(const unsigned char *m, size_t size, uint64_t fileno);
/* The header of file `fileno` of log `id`; prev_end: where the previous
 * file's records end (0 for the log's first file). */
void dtc__dlog_file_header(unsigned char hdr[DTC_DLOG_FILE_HDR], uint64_t fileno,
                           uint32_t file_size, const struct dtc__dlog_id *id, uint64_t prev_end);
/* NULL if hdr is a valid header of file `fileno` (fills *file_size, *id,
 * *prev_end), else what is wrong with it. */
const char *dtc__dlog_file_header_check(const unsigned char hdr[DTC_DLOG_FILE_HDR],
                                        uint64_t fileno, uint32_t *file_size,
                                        struct dtc__dlog_id *id, uint64_t *prev_end);
/* The log id as 32 hex digits into buf[33]. */
void dtc__dlog_id_hex(const struct dtc__dlog_id *id, char buf[33]);
bool dtc__dlog_id_eq(const struct dtc__dlog_id *a, const struct dtc__dlog_id *b);
/* DIR/dlog.<fileno> into buf. */
void dtc__dlog_path(const char *dir, uint64_t fileno, char *buf, size_t size);
/* A record of slot ts (its lock held, or a validated peek) of `type`. */
void dtc__dlog_rec_from_slot(const dtc_instance *in, const struct dtc_txn_slot *ts, uint8_t type,
                             uint16_t flags, struct dtc__dlog_rec *r);

/* The encoded length of a journal record of participant `name` with
 * data_len payload bytes. */
size_t dtc__dlog_journal_len(const char *name, uint32_t data_len);

/* ---- journal.c: the instance journal's table ---------------------------- */

/* The JCHECKPOINT copy of journal table entry i (an unlocked peek,
 * validated) into r, its payload in *ckpt; false if the entry is free. */
bool dtc__journal_copy(dtc_instance *in, uint32_t i, struct dtc__dlog_rec *r, uint64_t *ckpt);
/* p's entry in the table (made at its first record): DTC_OK, or
 * DTC_EREGFULL / DTC_ECORRUPT. */
dtc_result dtc__journal_entry(dtc_participant *p, uint32_t *idx);

/* ---- journal_stage.c: a participant's records staged, written together -- */

/* Stages a record of p (type JPREPARE or JDONE; len <= DTC_JOURNAL_REC_MAX,
 * its bytes copied); *jlsn (if not NULL) receives its end once written.
 * A full stage is written first.  DTC_OK, DTC_ESYS, or the write's error. */
dtc_result dtc__journal_stage(dtc_participant *p, uint8_t type, uint16_t flags, const dtc_txid *id,
                              const void *rec, size_t len, uint64_t *jlsn);

/* The oldest file a journal participant needs (UINT64_MAX: none), and
 * which entry (*who) it is. */
uint64_t dtc__journal_keep_from(const dtc_instance *in, uint32_t *who);
/* dtcd's replay: the entry of `name` with checkpoint ckpt. */
dtc_result dtc__journal_restore(dtc_instance *in, const char *name, uint64_t ckpt);
/* dtcd's tick: warns (rate-limited) of a participant holding more log
 * files than sh_journal_max_files. */
void dtc__journal_warn(dtc_instance *in);

/* ---- dlog_file.c: the files themselves ---------------------------------- */

/* Opens path with O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, then checks it
 * with fstat: a regular file, owned by us, no execute, set-id or
 * others' bits.  -1 (errno set) and *why (may be NULL) says what is
 * wrong: never blocks on a FIFO, never follows a symlink. */
int dtc__dlog_open_path(const char *path, int flags, const char **why);
/* The same for log file `fileno` of dir. */
int dtc__dlog_open(const char *dir, uint64_t fileno, int flags);
/* Makes DIR/dlog.spare, a synced file of file_size bytes whose first
 * DTC_DLOG_SPARE_CLEAR bytes are zero (its header never written), a step
 * at a time (dtcd's ticks).  A new file is zero-filled whole: each step
 * writes up to `budget` more bytes of DIR/dlog.spare.tmp, sending them
 * to the disk in 256 KiB pieces, so that the log's group commits never
 * queue behind a whole file's writeback (a 16 MiB spare written and
 * synced at once held them for 4-9 ms: docs/performance.md, "Three
 * stalls removed").  An old log file recycled by dtc__dlog_prune only
 * has its first page cleared: its old records stay, and no scan reads
 * them as the new file's (each record names its own position,
 * dtc__dlog_claimed_end).  The last step syncs it and renames it to
 * dlog.spare.  1 placed, 0 more steps needed, -1 failed (logged; the
 * temp file removed).  The job is dtcd's own (struct dtc__spare_job,
 * internal.h). */
int dtc__dlog_spare_step(const char *dir, uint32_t file_size, bool group,
                         struct dtc__spare_job *job, uint64_t budget);
/* A step's budget: twice what the log grew since the last call (written:
 * sh_dlog_written now), at least DTC_DLOG_SPARE_STEP, at most a file. */
#define DTC_DLOG_SPARE_STEP (4u << 20)
#define DTC_DLOG_SPARE_CLEAR 4096u /* the header's page */
uint64_t dtc__dlog_spare_budget(struct dtc__spare_job *job, uint64_t written, uint32_t file_size);
/* True if DIR/dlog.spare exists (whatever it is: the writer checks it). */
bool dtc__dlog_spare_exists(const char *dir);
/* Removes any spare, spare temp file and free file of dir: a new log
 * takes none left by an older log, whose recycled records could name
 * the new log's positions. */
void dtc__dlog_spare_discard(const char *dir);
/* Stops a spare being made and removes its temp file. */
void dtc__dlog_spare_drop(const char *dir, struct dtc__spare_job *job);
/* Renames the spare (made now if missing, through dlog.spare.writer: not
 * dtcd's temp name) into file `fileno`, writes and
 * syncs its header (log `id`, prev_end) and syncs the directory.  A file
 * `fileno` that a writer renamed in and died before using (nothing after
 * its header shaped like its records) is taken as it is. */
dtc_result dtc__dlog_take_spare(const char *dir, uint64_t fileno, uint32_t file_size,
                                bool group, const struct dtc__dlog_id *id, uint64_t prev_end);
/* Writes and syncs the header of existing file `fileno`. */
dtc_result dtc__dlog_write_header(const char *dir, uint64_t fileno, uint32_t file_size,
                                  const struct dtc__dlog_id *id, uint64_t prev_end);
/* DIR/dlog.control, the log's identity: DTC_OK (filled), DTC_ENOTFOUND
 * (no such file), or DTC_ELOG (logged: unreadable, not ours, damaged). */
dtc_result dtc__dlog_control_read(const char *dir, struct dtc__dlog_id *id);
/* Creates DIR/dlog.control with a new random log id for `instance`
 * (temp file, synced, renamed, directory synced). */
dtc_result dtc__dlog_control_create(const char *dir, const char *instance, bool group,
                                    struct dtc__dlog_id *id);
/* Copies bytes [from, to) (to 0: to the end) of file `name` of dir to
 * DIR/<name>.<suffix> (created exclusively, synced); its path into out. */
dtc_result dtc__dlog_copy_aside(const char *dir, const char *name, const char *suffix,
                                uint64_t from, uint64_t to, char *out, size_t size);
/* fsync of the directory. */
int dtc__dlog_sync_dir(const char *dir);
/* The numbers of the log files in dir, ascending (malloc'd); -1 on error. */
long dtc__dlog_list(const char *dir, uint64_t **out);
/* Zero-fills bytes [from, to) of file `fileno` and syncs it: the torn
 * tail after the log's end (every byte shaped like a record of the file,
 * dtc__dlog_claimed_end), so that none can ever be read as a record.
 * Only for bytes no record known durable covers (recover.c keeps a copy
 * of them first).  Nothing to do if to <= from. */
dtc_result dtc__dlog_reset_tail(const char *dir, uint64_t fileno, uint64_t from, uint64_t to);
/* The file size of the newest valid log file in dir, 0 if none. */
uint32_t dtc__dlog_existing_size(const char *dir);
/* Takes files numbered below `keep_from` out of the log, oldest first,
 * the directory synced after each (a power cut leaves no gap in the
 * numbers); never one of the newest DTC_DLOG_MIN_FILES files in the
 * directory.  None is unlinked while it can be reused (an unlink on a
 * file system mounted with discard made the log's syncs wait behind the
 * disk's discard): with a job (dtcd's) that is idle while no
 * DIR/dlog.spare exists, the first one of file_size bytes is renamed to
 * be that job's spare (its header's page cleared by the next step, its
 * old records left as they are: dtc__dlog_spare_step); the next ones
 * become free files, DIR/dlog.free.<its number>, while there are fewer
 * than free_max and fewer than the log files the directory holds now
 * (what the log needed lately: a journal participant's retention may
 * hold many, then let them go at once); the rest are unlinked.  A spare
 * is made of a free file when there is one.  At most `most` files a call
 * (dtcd: DTC_DLOG_PRUNE_TICK a tick, so that a retention let go at once
 * does not put dozens of directory syncs, each a cache flush of the
 * disk, in front of the log's group commits). */
#define DTC_DLOG_PRUNE_TICK 2u
void dtc__dlog_prune(const char *dir, uint64_t keep_from, uint32_t file_size,
                     struct dtc__spare_job *job, uint32_t free_max, uint32_t most);
/* Unlinks one free file if there are more than `keep`; true if it did
 * (dtcd: one a minute while the spares leave some unused, recover.c). */
bool dtc__dlog_trim_free(const char *dir, uint32_t keep);
/* The free files of dir (at most DTC_DLOG_MAX_FILES counted). */
long dtc__dlog_free_count(const char *dir);
/* Creates dir (parents 0755, itself 0700 or 0770) and checks it and
 * every directory on its path (dtc__fs_dir, fspath.h).  DTC_OK, or
 * DTC_ELOG with a log line naming the check that failed. */
dtc_result dtc__dlog_dir_prepare(const char *dir, bool group);

/* ---- dlog.c: appending, group commit, file switch ----------------------- */

bool dtc__dlog_on(const dtc_instance *in);
/* The smallest file for these limits: a full checkpoint, twice. */
uint32_t dtc__dlog_min_file_size(uint32_t max_txns);
/* Appends r (sh_dlog_lock inside; with at most one ts_lock held).
 * *end receives the LSN just past it: flush to it to make it durable. */
dtc_result dtc__dlog_append(dtc_instance *in, const struct dtc__dlog_rec *r, uint64_t *end);
/* Fills *r with the i-th record of a dtc__dlog_append_n. */
typedef void (*dtc__dlog_fill_fn)(void *ctx, size_t i, struct dtc__dlog_rec *r);
/* Appends n records, each built by fill into *scratch, taking
 * sh_dlog_lock once (with no lock held): encoded back to back into buf
 * (cap >= DTC_DLOG_REC_MAX bytes) and written with one pwrite for as
 * many as fit it and the current file.  ends[i] receives the LSN just
 * past record i.  On an error the records before the failing write are
 * in the log, the others not. */
dtc_result dtc__dlog_append_n(dtc_instance *in, size_t n, dtc__dlog_fill_fn fill, void *ctx,
                              struct dtc__dlog_rec *scratch, unsigned char *buf, size_t cap,
                              uint64_t *ends);
/* Waits (leading or following the group commit) until everything below
 * `upto` is on stable storage.  With no lock held. */
dtc_result dtc__dlog_flush(dtc_instance *in, uint64_t upto);
/* Writes what the log buffer holds beyond the files into the current
 * file (not synced): before reading the files of a live instance.  With
 * no lock held, or under sh_dlog_lock / sh_dlog_flush_lock.  DTC_OK
 * (also for a read-only handle: it cannot, and leaves it to others). */
dtc_result dtc__dlog_write_out(dtc_instance *in);
/* Closes this process's cached file descriptors. */
void dtc__dlog_detach(dtc_instance *in);

/* ---- dlog_read.c: reading back ------------------------------------------ */

/* What a scan found (dtc__dlog_scan). */
struct dtc__dlog_scan_out {
    uint64_t end;         /* LSN after the last record of the log, 0 if none */
    uint64_t last_file;   /* the file it is in (0: no usable file) */
    uint32_t file_size;   /* 0 if no file */
    bool unused_last;     /* last_file + 1 is a spare renamed in whose header
                           * never reached the disk: zero, and nothing in
                           * it shaped like its records: never used */
    uint64_t torn_from;   /* > 0: a torn tail from this LSN: bytes after the
                           * end shaped like this file's records */
    uint64_t torn_to;     /* ... to the end of the last of them
                           * (dtc__dlog_claimed_end) */
    uint64_t records;     /* valid records read */
    /* Damage (the scan returned DTC_ELOG): file, offset, what was found;
     * fixable: a record-level damage at offset (dtcd --salvage=apply covers
     * bytes [offset, next_ok) with SKIP records, next_ok 0: zero-fills
     * the rest of the file), or a header to rewrite (bad_header). */
    bool damaged, fixable, bad_header;
    uint64_t dmg_file, dmg_off, next_ok;
    uint64_t dmg_limit;   /* where the file's records must end (prev_end), 0: its end */
    char what[200];
    struct dtc__dlog_id id; /* the identity of the first file (if any) */
};

/* Calls fn for every record of the log in order (not MARK, SKIP); stops
 * early when fn returns non-zero.  Files must belong to log `want`
 * (NULL: to one log).  DTC_ELOG on damage (out->damaged, logged unless
 * quiet), DTC_OK otherwise. */
typedef int (*dtc__dlog_fn)(void *ctx, const struct dtc__dlog_rec *r);
dtc_result dtc__dlog_scan(const char *dir, const struct dtc__dlog_id *want, dtc__dlog_fn fn,
                          void *ctx, bool quiet, struct dtc__dlog_scan_out *out);
/* The last record about `id` (newest file first).  DTC_ENOTFOUND if none. */
dtc_result dtc__dlog_find(const char *dir, const dtc_txid *id, struct dtc__dlog_rec *out);

/* ---- recover.c: replay into a fresh segment (dtcd) ---------------------- */

/* Replays the log of in's data directory: checks its identity, refuses
 * damage (changing nothing), positions the writer after the last record
 * (a torn tail's non-zero bytes copied aside, then zero-filled),
 * recreates every live decision as an adopted slot, then clears
 * sh_recovering. */
dtc_result dtc__dlog_recover(dtc_instance *in);
/* ---- salvage.c: the operator's repair ----------------------------------- */

/* `dtcd --salvage`: reports the log's damage and what repairing it would
 * lose; with apply, repairs one damage after another (copies kept).
 * DTC_OK: nothing (left) to repair; DTC_ELOG: damage found (report
 * only) or not repairable here. */
dtc_result dtc__dlog_salvage(const char *dir, const char *instance, bool group, bool apply);
/* Writes a MARK (how far the log is durable) and syncs it, if the log
 * has been quiet for a tick with something durable since the last MARK
 * (dtcd's tick, and at a clean stop with force).  Without force, a log
 * written past its durable end with no sync for a tick is synced instead
 * (the unforced records: ENDs, journal done records). */
void dtc__dlog_mark(dtc_instance *in, bool force);
/* Records a write or sync result of the log for status and metrics
 * (sh_dlog_error, sh_dlog_error_ms): an error and since when, cleared
 * by a successful sync (a write alone proves nothing durable). */
void dtc__dlog_note(dtc_instance *in, dtc_result rc);
/* dtcd's tick: keeps a spare file ready, marks how far a quiet log is
 * durable (dtc__dlog_mark) and deletes files past the retention. */
void dtc__dlog_maintain(dtc_instance *in);
/* Whether the instance may answer "not found" and begin transactions:
 * DTC_OK once its log is replayed; DTC_ERECOVERING while dtcd replays
 * it; DTC_ENOSUPERVISOR while it is not replayed and no dtcd runs (one
 * whose replay failed left it so, or dtcd is only starting). */
dtc_result dtc__recovering(const dtc_instance *in);

#endif /* DTC_DLOG_H */
