/*
 * store.h - the record store behind every dtc participant service.
 *
 * A store is a set of records (key, int64 value, note, version, holder)
 * persisted in one text file DATA_DIR/NAME.state, plus the per-transaction
 * bookkeeping of two-phase commit:
 *
 *   enlist   parse the payload into up to STORE_OPS_MAX ops and remember
 *            the version of every record they touch (optimistic reads);
 *   prepare  check those versions, the holds and the constraints; on
 *            success hold the records and log "prepared" (a promise that
 *            survives a restart);
 *   commit   apply the ops, bump versions, log "applied", enter the txid
 *            in the ledger (the idempotency proof, kept while a
 *            redelivery can still arrive: store_retire);
 *   rollback release a prepared txn, or compensate (apply the inverse of)
 *            an applied one, once.
 *
 * Callbacks only append to the file; store_flush() does the one fsync of
 * a batch (group commit) and compacts now and then, in the background.  The store knows
 * nothing of shared memory or libdtc: a service describes itself with a
 * store_schema (its payload parser and its refusal wording), and svc.c
 * wires the store to the library.  Single-threaded by design: the serve
 * loop runs callbacks one at a time.
 *
 * State file format (text, one item per line):
 *
 *   dtc-state 1 SERVICE
 *   rec KEY VALUE VERSION [NOTE]     snapshot: a live record
 *   gone KEY VERSION                 snapshot: a deleted record's version
 *   applied TXID PAYLOAD             snapshot: ledger entry (not re-applied)
 *   compensated TXID                 snapshot: ledger entry
 *   prepared TXID PAYLOAD            snapshot: prepared txn, holding its keys
 *   journal LSN                      snapshot: it reflects every journal
 *                                    line below LSN (journal mode)
 *   checkpoint
 *   prepared TXID PAYLOAD            log: hold
 *   released TXID                    log: release
 *   applied TXID PAYLOAD             log: re-applied on replay
 *   compensated TXID                 log: re-reversed on replay
 */
#ifndef DTC_PARTICIPANTS_STORE_H
#define DTC_PARTICIPANTS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STORE_KEY_MAX 64      /* key, including the NUL: [A-Za-z0-9._:-]{1,63} */
#define STORE_NOTE_MAX 48     /* note, including the NUL */
#define STORE_TXID_MAX 37     /* txid text, including the NUL */
#define STORE_PAYLOAD_MAX 256 /* payload bytes (DTC_PAYLOAD_MAX) */
#define STORE_WHY_MAX 128     /* reason buffers (DTC_REASON_MAX) */
#define STORE_OPS_MAX 4
#define STORE_AMOUNT_MAX 1000000000000000LL /* 10^15: payload/seed amounts */

typedef enum store_op_kind {
    STORE_ADD,    /* value += delta; the result must stay >= 0 */
    STORE_CREATE  /* new record (value, note); it must not exist */
} store_op_kind;

typedef struct store_op {
    store_op_kind op_kind;
    int op_must_exist;          /* ADD: an absent record refuses (else counts 0) */
    char op_key[STORE_KEY_MAX];
    int64_t op_value;           /* ADD: delta; CREATE: initial value */
    char op_note[STORE_NOTE_MAX];
} store_op;

typedef struct store_ops {
    int so_n;
    store_op so_op[STORE_OPS_MAX];
} store_ops;

typedef struct store_rec {
    char rc_key[STORE_KEY_MAX];
    int64_t rc_value;
    char rc_note[STORE_NOTE_MAX];
    uint64_t rc_version;        /* 0: never existed; bumped on every change */
    int rc_present;             /* 0: absent (deleted, or only held) */
    const char *rc_holder;      /* txid of the prepared txn holding it, or NULL */
    /* the store's own (store_snap.c), not for services: */
    uint32_t rc_snap;           /* the last snapshot epoch that wrote it */
    struct store_rec *rc_next;  /* the next record made: the store's list */
} store_rec;

/* What a service tells the store about itself. */
typedef struct store_schema {
    const char *ss_service;     /* "inventory": file tag and default name */
    /* payload -> ops; 0, or -1 with why = "malformed payload: ..." */
    int (*ss_parse)(const char *payload, store_ops *ops, char *why, size_t len);
    /* why the store refuses op: rec is the record (NULL if absent).
     * why begins with the refusal's code, "code: text" (dtc.h,
     * dtc_request.reason: out_of_stock, insufficient_funds, ...). */
    void (*ss_refuse)(const store_op *op, const store_rec *rec, char *why, size_t len);
    const char *ss_seed_prefix; /* --seed K=V creates record PREFIX K = V */
} store_schema;

typedef enum store_vote { STORE_YES, STORE_NO, STORE_ERROR } store_vote;

typedef enum store_outcome {
    STORE_DONE,        /* the operation took effect */
    STORE_ALREADY,     /* it had taken effect before (idempotent repeat) */
    STORE_RELEASED,    /* rollback: a prepared txn let go of its holds */
    STORE_COMPENSATED, /* rollback: an applied txn was reversed */
    STORE_FORGOTTEN    /* rollback: nothing to undo */
} store_outcome;

/* What store_open found, for the caller to log. */
typedef struct store_info {
    int si_created;          /* no state file: created (with seeds) */
    int si_seeds_ignored;    /* seeds given but a state file existed */
    unsigned si_torn_line;   /* line number of an ignored torn last line */
    unsigned si_prepared;    /* prepared txns reloaded */
    size_t si_records;
    size_t si_ledger;
} store_info;

typedef struct store store;

#define STORE_READONLY 0x1 /* load only: no lock, no create, no truncation */
#define STORE_NO_FSYNC 0x2 /* flush and compaction write but never fsync
                              (benchmarks) */
#define STORE_GROUP 0x4    /* files may be writable by their group (--group) */

/* Opens DATA_DIR/NAME.state (creating it from seeds "K=V" if absent) and
 * replays it.  NULL with err filled on failure (bad line: its number).
 * Every file (state, lock, temp) is opened through dtc__fs_open
 * (fspath.h): never a link or a FIFO, only a regular file of ours that
 * nobody else may write; the caller checked DATA_DIR (dtc__fs_dir). */
store *store_open(const char *dir, const char *name, const store_schema *schema,
                  const char *const *seeds, size_t nseeds, int flags,
                  store_info *info, char *err, size_t errlen);
/* The heap policy of a process that holds a busy store: glibc's fast
 * bins off, so that no request pays for merging every small block freed
 * before it (store_heap.c).  Once, at the start, before the first
 * allocation worth keeping; the service programs call it.  0, or -1 if
 * the allocator refused (nothing else changes). */
int store_heap_setup(void);
/* Flushes and frees; *st becomes NULL.  Returns -1 if the final flush failed. */
int store_close(store **st);

store_vote store_enlist(store *st, const char *txid, const char *payload,
                        size_t len, char *why);
store_vote store_prepare(store *st, const char *txid, char *why);
int store_commit(store *st, const char *txid, store_outcome *out, char *why);
int store_rollback(store *st, const char *txid, store_outcome *out, char *why);
/* One fsync of everything appended since the last flush.  When the log
 * section outgrows STORE_COMPACT_FACTOR times the snapshot it compacts
 * in the background: each later flush writes a piece of a snapshot of
 * the state as it was at the compaction's start, a thread of the
 * store's syncs it once written, and a later flush appends what was
 * logged meanwhile and renames the new file in (that flush syncs the new
 * file and the directory instead of the old file; store_bg.c).  The
 * store is not thread-safe: one caller thread.  -1 (why filled) on failure: the store then
 * refuses every request (its memory may be ahead of the disk); 0 with
 * why filled: a compaction failed (a warning, nothing lost). */
int store_flush(store *st, char *why);
/* For a caller with nothing else to do (no request waiting): a larger
 * piece of a background compaction under way, and its switch once its
 * snapshot is synced.  0, or as store_flush. */
int store_idle(store *st, char *why);
/* Rewrites the file as a snapshot now (tmp, fsync, rename, fsync dir),
 * after finishing a background compaction that runs. */
int store_compact(store *st, char *why);
/* Compaction threshold: log lines > max(n, factor x snapshot lines). */
void store_set_compact_min(store *st, size_t n);
/* The factor (at least 1; STORE_COMPACT_FACTOR unless set: tests that
 * pin a compaction's moment set 2). */
void store_set_compact_factor(store *st, size_t f);
/* Each compaction writes the whole snapshot, so the factor sets what
 * snapshots cost against log lines (1/factor of them), and how much log a
 * restart replays (at most factor x the snapshot) and the file holds.
 * 4, not 2: chosen when every compaction forked (docs/performance.md,
 * "Compactions at four snapshots"); it still halves the snapshots'
 * writing. */
#define STORE_COMPACT_FACTOR 4
/* The default: a service of a few records would otherwise compact every
 * few dozen milliseconds under load, and each compaction's syncs and
 * rename hold the instance journal's group commits for milliseconds
 * (docs/performance.md, "Three stalls removed"). */
#define STORE_COMPACT_MIN_DEFAULT 16384
/* Crash points for tests: fn (NULL: none) is called with the point's name
 * at each of them and may kill the process (svc.c passes dtc_fault; of
 * libdtc the store uses only fspath.h, to open its files).  Not called
 * inside store_open.
 *   store.after_write    store_flush: lines written, not yet fsynced
 *                        (journal mode: in the journal, the mirror written)
 *   store.after_sync     store_flush: fsynced (journal mode: nothing to
 *                        sync), the batch's answers not
 *                        yet published
 *   store.before_rename  compaction: NAME.state.tmp written and fsynced,
 *                        not renamed
 *   store.after_rename   compaction: renamed, the directory not fsynced
 *   store.before_checkpoint  journal mode: renamed and the directory
 *                        synced, the stamp not yet reported (sj_checkpoint)
 *   store.bg_before_sync a background compaction: the snapshot written,
 *                        not fsynced */
void store_set_fault_hook(store *st, void (*fn)(const char *point));
/* Journal mode (docs/journal.md): the log lines go to the instance
 * journal instead of the file (sj_append, one record per line, no
 * newline), store_flush syncs nothing, and the file holds only snapshots,
 * each stamped "journal LSN": sj_position gives the LSN a snapshot taken
 * now covers (every line appended so far), sj_flush makes the journal
 * durable below it before the snapshot becomes the state file (renamed),
 * sj_checkpoint reports it once the snapshot is durable (synced, renamed,
 * directory synced).  store_flush compacts in the background here too
 * (store_bg.c): the stamp is read at the compaction's start, and the
 * lines journaled while it runs lie after it.  Each returns 0 or -1.
 * NULL: the own file (the default). */
typedef struct store_journal {
    int (*sj_append)(void *ctx, const char *line, size_t len);
    int (*sj_position)(void *ctx, uint64_t *lsn);
    int (*sj_flush)(void *ctx, uint64_t lsn);
    int (*sj_checkpoint)(void *ctx, uint64_t lsn);
    void *sj_ctx;
} store_journal;
void store_set_journal(store *st, const store_journal *j);
/* The "journal LSN" of the snapshot loaded (0: none). */
uint64_t store_journal_lsn(const store *st);
/* Replays one log line handed back by the journal (as a line of the
 * file's log section would be): 0, or -1 with why. */
int store_replay_line(store *st, const char *line, size_t len, char *why);

/* Prints "KEY VALUE VERSION [NOTE]" lines sorted by key, then "ledger N". */
void store_dump(const store *st, FILE *out);

/* Ledger retirement.  A ledger entry makes a redelivered commit or
 * rollback a no-op; it is kept while one can still arrive, i.e. while the
 * coordinator still holds the transaction, or could hold it again after
 * a restart.  The caller describes the coordinator: sh_held(ctx, txid)
 * says 1 (a redelivery may still come: keep), 0 (nothing holds the
 * transaction any more) or -1 (cannot tell now: stop this call);
 * sh_durable is the coordinator's durable log position read before the
 * sh_held answers were taken, sh_written its written log position read
 * after them.  An entry found unheld is stamped with sh_written and
 * dropped by a later call whose sh_durable has reached that stamp: the
 * record that ended the transaction (written before the coordinator let
 * go of it) is then on stable storage, so no restart of the coordinator
 * can bring it back (when sh_written <= sh_durable already, it goes at
 * once; without a decision log both are 0, so an unheld entry goes at
 * once).  Entries are asked about oldest
 * first, at most sh_budget per call (and at most sh_budget dropped); a
 * held one goes to the back of the queue.  With sh_mark (from
 * store_ledger_mark, taken before the sh_held answers were) non-zero,
 * asking stops at the first entry added since the mark: the answers may
 * predate its transaction.  So one horizon serves several calls, each
 * with a small budget (a service spreads a pass over its batches), until
 * the entries older than the mark have all been asked once.  Dropping
 * touches memory only: the next compaction leaves the entries out of the
 * file (a restart before it reloads them, to be retired again).  Returns
 * the number of entries dropped. */
typedef struct store_horizon {
    int (*sh_held)(void *ctx, const char *txid);
    void *sh_ctx;
    uint64_t sh_durable;
    uint64_t sh_written;
    size_t sh_budget;
    uint64_t sh_mark;        /* 0: ask every entry (at most one round) */
} store_horizon;
size_t store_retire(store *st, const store_horizon *h);
/* The ledger's mark now, for sh_mark: entries added later are newer. */
uint64_t store_ledger_mark(const store *st);

/* Copies the ids of the prepared transactions (at most cap) into ids;
 * returns how many there are. */
size_t store_prepared_ids(const store *st, char (*ids)[STORE_TXID_MAX], size_t cap);

/* Introspection (tests, dump). */
const store_rec *store_get(const store *st, const char *key);
size_t store_ledger_count(const store *st);
/* 0 unknown, 1 applied, 2 compensated. */
int store_ledger_state(const store *st, const char *txid);
/* Lines in the log section (after "checkpoint"). */
size_t store_log_lines(const store *st);
int store_failed(const store *st);
/* fsync calls made for the store since it was opened: the state file's
 * (per flush in own-file mode, a torn tail's cut), a compaction's temp
 * file and directory, a background compaction's snapshot (counted when
 * its sync succeeded).  None with STORE_NO_FSYNC. */
uint64_t store_syncs(const store *st);

/* Parsing helpers for services' parsers; each fills why on failure with
 * "malformed payload: ...".  store_split checks the bytes (printable
 * ASCII) and splits on runs of spaces into at most maxfields fields of buf.
 * store_parse_form also checks the verb and the field count against usage
 * ("reserve SKU QTY").  store_check_key copies PREFIX S into out (outsize
 * bytes) if S is [A-Za-z0-9._:-]{1,...} and fits.  store_parse_amount
 * parses a decimal in 1..STORE_AMOUNT_MAX (0 too with allow_zero). */
#define STORE_FIELDS_MAX 8
int store_split(const char *payload, char *buf, size_t buflen, char **fields,
                int maxfields, int *nfields, char *why, size_t len);
int store_parse_form(const char *payload, const char *usage, char *buf,
                     size_t buflen, char **fields, char *why, size_t len);
int store_parse_amount(const char *s, const char *what, int allow_zero,
                       int64_t *out, char *why, size_t len);
int store_check_key(const char *prefix, const char *s, const char *what,
                    char *out, size_t outsize, char *why, size_t len);
/* Parses one --seed "KEY=VALUE" (VALUE >= 0) into a CREATE op on record
 * PREFIX KEY; 0, or -1 with why. */
int store_parse_seed(const store_schema *schema, const char *kv, store_op *op,
                     char *why, size_t len);

#endif
