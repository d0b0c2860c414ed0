/*
 * store_int.h - the record store's middle layer: its memory (records,
 * transactions, the ledger) and the lines that log its changes, over the
 * state file below (store_file.h); store.c (the record and transaction
 * model) and store_ledger.c (the ledger's queues) implement it.
 * Compaction (store_compact.h) and store_open.c sit above.  Not for
 * services.
 */
#ifndef DTC_PARTICIPANTS_STORE_INT_H
#define DTC_PARTICIPANTS_STORE_INT_H

#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "htab.h"
#include "store.h"
#include "store_file.h"

/* Bounded copy into a char buffer of `size` bytes; always terminated.
 * Callers validate lengths first, so it never truncates in practice. */
static inline void store__copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}
/* The same into a char array, sized by the compiler. */
#define STORE_COPY(dst, src) store__copy((dst), sizeof(dst), (src))

/* A transaction this participant was enlisted in (in memory; a prepared
 * one is also in the state file). */
typedef struct store_txn {
    char tx_id[STORE_TXID_MAX];
    int tx_prepared;               /* 1: holds its keys, logged "prepared" */
    char tx_payload[STORE_PAYLOAD_MAX + 1];
    store_ops tx_ops;
    uint64_t tx_ver[STORE_OPS_MAX]; /* versions read at enlist */
} store_txn;

enum { LED_APPLIED = 1, LED_COMPENSATED = 2 };

/* A ledger entry: a txid whose commit was applied (then maybe
 * compensated), kept while a redelivery can still arrive (store_retire). */
typedef struct store_led {
    char ld_id[STORE_TXID_MAX];
    int ld_state;                  /* LED_APPLIED / LED_COMPENSATED */
    char *ld_payload;              /* applied: what to reverse; else NULL */
    uint64_t ld_stamp;             /* in st_led_gone: the log position
                                      that must be durable before it goes */
    uint64_t ld_seq;               /* the ledger's count when added (1, 2...) */
    struct store_led *ld_prev, *ld_next; /* its queue, oldest first */
    uint32_t ld_snap;              /* as rc_snap, or the epoch under way
                                      when it was added (store_snap.c) */
    struct store_led *ld_all_prev, *ld_all_next; /* every entry, by ld_seq */
} store_led;

/* A FIFO of ledger entries (doubly linked through ld_prev/ld_next). */
typedef struct store_ledq {
    store_led *lq_head, *lq_tail;
} store_ledq;

struct store {
    const store_schema *st_schema;
    store_file st_file;         /* the state file (store_file.h) */
    size_t st_snap_lines;       /* items in the snapshot section */
    size_t st_log_lines;        /* items after "checkpoint" */
    size_t st_compact_min;
    size_t st_compact_factor; /* STORE_COMPACT_FACTOR unless a test sets it */
    /* The compaction layer's (store_compact.h): the background compaction
     * under way (store_bg.c), NULL: none. */
    struct store_bg *st_bg;
    /* The snapshot being written (store_snap.c), NULL: none; every item
     * marked with st_snap_epoch is written or younger than it. */
    struct store_snap *st_snap;
    uint32_t st_snap_epoch;
    store_rec *st_rec_head, *st_rec_tail; /* every record, oldest first */
    store_led *st_led_head, *st_led_tail; /* every ledger entry, by ld_seq */
    const store_journal *st_journal; /* journal mode; NULL: the own file */
    uint64_t st_journal_lsn;    /* the loaded snapshot's "journal LSN" */
    htab st_recs;               /* key -> store_rec */
    htab st_txns;               /* txid -> store_txn */
    htab st_ledger;             /* txid -> store_led */
    store_ledq st_led_new;      /* entries not yet found unheld, by age */
    store_ledq st_led_gone;     /* found unheld, by ld_stamp (ascending) */
    uint64_t st_led_seq;        /* entries ever added: the last ld_seq */
};

int store__valid_txid(const char *s);
int store__valid_key(const char *s);
int store__valid_note(const char *s);
store_rec *store__rec_find(const store *st, const char *key);
store_rec *store__rec_get(store *st, const char *key);
store_txn *store__txn_new(store *st, const char *txid, const char *payload,
                          char *why);
void store__txn_drop(store *st, store_txn *tx);
/* store_ledger.c: a new entry, queued as the newest of st_led_new. */
store_led *store__ledger_add(store *st, const char *txid, int state,
                             const char *payload);
const store_rec *store__held_by_other(store *st, const store_txn *tx);
void store__hold(store *st, store_txn *tx);
int store__apply_txn(store *st, store_txn *tx, int log, char *why);
int store__compensate(store *st, store_led *ld, int log, char *why);
int store__seed(store *st, const char *const *seeds, size_t n, char *why);
void store__free_all(store *st);

/* store.c: logs one line (no newline): to the journal in journal mode,
 * and to the state file (buffered: written and fsynced by store_flush);
 * -1 marks the store failed. */
int store__append(store *st, char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define STATE_MAGIC "dtc-state 1 "
#define LINE_MAX_LEN (STORE_PAYLOAD_MAX + 128)

/* ---- store_snap.c: snapshots, written a piece at a time --------------- */

/* The snapshot's writer: lines gathered in a buffer, written out with
 * write(2) (stdio would hide them from the power-cut preload's journal);
 * the first failure sticks in sw_errno.  With sw_push (a background
 * compaction), every SNAP_PUSH bytes written are handed to the disk at
 * once (sync_file_range, no wait, no cache flush), so that the final
 * fsync finds little left: a multi-megabyte snapshot flushed in one go
 * held the instance journal's group commits behind it for 4-7 ms
 * (docs/performance.md, "Three stalls removed"). */
#define SNAP_PUSH (256u << 10)
typedef struct snap_writer {
    int sw_fd;
    int sw_errno;
    bool sw_push;
    uint64_t sw_written, sw_pushed; /* bytes written, and handed to the disk */
    size_t sw_len;
    char sw_buf[16384];
} snap_writer;

/* A snapshot of the state of one moment (its start), written while the
 * store goes on changing: the walk writes the items not yet written, and
 * a change writes an item's line before it changes it (store.c and
 * store_ledger.c call the touch functions below).  Owned by the caller
 * (store_bg.c, store_compact.c); st_snap points to it between begin and
 * end. */
typedef struct store_snap {
    snap_writer sn_w;
    uint64_t sn_lsn;          /* "journal LSN" stamp; 0: none */
    size_t sn_items;          /* items written so far */
    store_rec *sn_rec;        /* the walk: the next record, NULL: done */
    const store_rec *sn_rec_end; /* the last record made before the start */
    store_led *sn_led;        /* the walk: the next ledger entry */
    uint64_t sn_led_seq;      /* entries past it were added after the start */
    char *sn_prep;            /* the start's prepared lines, written last */
    size_t sn_prep_len, sn_prep_n;
} store_snap;

/* Starts a snapshot into fd (its header written; the prepared
 * transactions copied): sn is then st_snap.  A failure (out of memory)
 * sticks in sn->sn_w.sw_errno. */
void store__snap_begin(store *st, store_snap *sn, int fd, bool push, uint64_t lsn);
/* Walks at most budget items; true once every item of the start is
 * written. */
bool store__snap_step(store *st, size_t budget);
/* Walks the rest, writes the prepared lines, the stamp and "checkpoint",
 * drains the buffer and ends the snapshot (st_snap NULL): its items. */
size_t store__snap_end(store *st);
/* Ends the snapshot without writing more (its file is thrown away). */
void store__snap_abandon(store *st);
/* Before r or ld changes (or goes): its line, if the snapshot under way
 * wants it and has not written it yet. */
void store__snap_touch_rec(store *st, store_rec *r);
void store__snap_touch_led(store *st, store_led *ld);
/* The lists of all items: a record made, a ledger entry added or
 * dropped (touched first: a running walk may still want it). */
void store__snap_add_rec(store *st, store_rec *r);
void store__snap_add_led(store *st, store_led *ld);
void store__snap_drop_led(store *st, store_led *ld);

#endif
