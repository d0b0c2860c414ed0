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
     * (store_bg.c); st_bg_pid 0: none running. */
    pid_t st_bg_pid;            /* the child writing the snapshot */
    int st_bg_fd;               /* NAME.state.tmp, shared with the child */
    size_t st_bg_items;         /* the snapshot's items (about: a bound) */
    size_t st_bg_log_lines;     /* st_log_lines when the child was forked */
    uint64_t st_bg_lsn;         /* journal mode: the journal's end when the
                                   child was forked, its snapshot's stamp */
    char *st_bg_tail;           /* lines written since the fork, for the */
    size_t st_bg_len, st_bg_cap; /* new file; NULL with st_bg_len > 0:
                                   out of memory, the compaction is dropped */
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
/* Iterates the entries in age order: start with NULL; NULL at the end. */
const store_led *store__ledger_next(const store *st, const store_led *ld);
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

#endif
