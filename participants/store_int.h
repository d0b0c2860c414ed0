/*
 * store_int.h - the store's internals, shared by store.c (the record and
 * transaction model) and store_file.c (the state file: load, replay,
 * append, flush, compaction).  Not for services.
 */
#ifndef DTC_PARTICIPANTS_STORE_INT_H
#define DTC_PARTICIPANTS_STORE_INT_H

#include <stdarg.h>
#include <string.h>

#include "htab.h"
#include "store.h"

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
    struct store_led *ld_prev, *ld_next; /* its queue, oldest first */
} store_led;

/* A FIFO of ledger entries (doubly linked through ld_prev/ld_next). */
typedef struct store_ledq {
    store_led *lq_head, *lq_tail;
} store_ledq;

struct store {
    const store_schema *st_schema;
    char *st_dir, *st_path, *st_tmp;
    int st_fd;                  /* append writer; -1 when read-only */
    int st_lock_fd;             /* flock on NAME.lock; -1 when read-only */
    int st_dirty;               /* appended since the last fsync */
    char st_wbuf[16384];        /* appended lines not yet written: one
                                   write(2) per batch, at flush */
    size_t st_wlen;
    int st_no_fsync;            /* STORE_NO_FSYNC: survives a process crash,
                                   not a power cut */
    unsigned st_fs_opts;        /* dtc__fs_open's options (DTC_FS_GROUP) */
    int st_failed;              /* a write or fsync failed: refuse all */
    size_t st_snap_lines;       /* items in the snapshot section */
    size_t st_log_lines;        /* items after "checkpoint" */
    size_t st_compact_min;
    void (*st_fault)(const char *point); /* crash points; NULL: none */
    const store_journal *st_journal; /* journal mode; NULL: the own file */
    uint64_t st_journal_lsn;    /* the loaded snapshot's "journal LSN" */
    htab st_recs;               /* key -> store_rec */
    htab st_txns;               /* txid -> store_txn */
    htab st_ledger;             /* txid -> store_led */
    store_ledq st_led_new;      /* entries not yet found unheld, by age */
    store_ledq st_led_gone;     /* found unheld, by ld_stamp (ascending) */
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

/* store_file.c: appends one log line (buffered: written and fsynced by
 * store_flush); -1 marks the store failed. */
int store__append(store *st, char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the buffered log lines out (store_file.c): 0, or -1 with why
 * (the store is then failed). */
int store__drain(store *st, char *why);

/* Shared by store_file.c and store_compact.c. */
#define WHY(...) snprintf(why, STORE_WHY_MAX, __VA_ARGS__)
/* A named crash point: the hook (svc.c sets dtc_fault) may kill us here. */
#define FAULT(st, point)                                                       \
    do {                                                                       \
        if ((st)->st_fault != NULL)                                            \
            (st)->st_fault(point);                                             \
    } while (0)
#define STATE_MAGIC "dtc-state 1 "
#define LINE_MAX_LEN (STORE_PAYLOAD_MAX + 128)

#endif
