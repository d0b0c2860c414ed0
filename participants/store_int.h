/*
 * store_int.h - the store's internals, shared by store.c (the record and
 * transaction model) and store_file.c (the state file: load, replay,
 * append, flush, compaction).  Not for services.
 */
#ifndef DTC_PARTICIPANTS_STORE_INT_H
#define DTC_PARTICIPANTS_STORE_INT_H

#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

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
    uint64_t ld_seq;               /* the ledger's count when added (1, 2...) */
    struct store_led *ld_prev, *ld_next; /* its queue, oldest first */
} store_led;

/* A FIFO of ledger entries (doubly linked through ld_prev/ld_next). */
typedef struct store_ledq {
    store_led *lq_head, *lq_tail;
} store_ledq;

struct store {
    const store_schema *st_schema;
    char *st_dir, *st_path, *st_tmp;
    char *st_old;               /* NAME.state.old: the replaced file's last
                                   name, so that closing it is cheap; removed
                                   by the next compaction's child */
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
    /* The background compaction (store_bg.c); st_bg_pid 0: none running. */
    pid_t st_bg_pid;            /* the child writing the snapshot */
    int st_bg_fd;               /* NAME.state.tmp, shared with the child */
    size_t st_bg_items;         /* the snapshot's items (about: a bound) */
    size_t st_bg_log_lines;     /* st_log_lines when the child was forked */
    uint64_t st_bg_lsn;         /* journal mode: the journal's end when the
                                   child was forked, its snapshot's stamp */
    char *st_bg_tail;           /* lines written since the fork, for the */
    size_t st_bg_len, st_bg_cap; /* new file; NULL with st_bg_len > 0:
                                   out of memory, the compaction is dropped */
    void (*st_fault)(const char *point); /* crash points; NULL: none */
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

/* store_file.c: appends one log line (buffered: written and fsynced by
 * store_flush); -1 marks the store failed. */
int store__append(store *st, char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the buffered log lines out (store_file.c): 0, or -1 with why
 * (the store is then failed). */
int store__drain(store *st, char *why);

/* ---- compaction (store_compact.c, store_bg.c) ---- */

/* The snapshot's writer: lines gathered in a buffer, written out with
 * write(2) (stdio would hide them from the power-cut preload's journal);
 * the first failure sticks in sw_errno. */
typedef struct snap_writer {
    int sw_fd;
    int sw_errno;
    size_t sw_len;
    char sw_buf[16384];
} snap_writer;

/* Writes the whole state as a snapshot to w; returns its item count. */
size_t store__write_snapshot(const store *st, snap_writer *w, uint64_t lsn);
/* Creates NAME.state.tmp afresh: whatever is at its name (a stale tmp of
 * a crashed compaction, or a planted symlink) is unlinked, never
 * followed.  The fd, or -1 with why. */
int store__create_tmp(const store *st, char *why);
int store__fsync_dir(const char *dir);
/* Makes the complete temp file *fdp (closed here, *fdp = -1) the state
 * file: fsync (only with sync_file: journal mode's background child
 * synced its snapshot itself, and what follows it is the unsynced
 * mirror), rename over NAME.state, fsync the directory (no fsync with
 * STORE_NO_FSYNC), append to it from now on.  0; -1 with why: before the
 * rename the old file stays (the temp file is removed), after it the
 * store is failed. */
int store__switch(store *st, int *fdp, int sync_file, size_t items, char *why);
/* Journal mode, once a snapshot stamped lsn is the state file (renamed,
 * directory synced): the crash point store.before_checkpoint, then the
 * stamp is the store's and lsn is reported as its checkpoint (a failure
 * is a warning in why: the log keeps more). */
void store__journal_ckpt(store *st, uint64_t lsn, char *why);
/* store_bg.c.  store_flush, once the lines are written: finishes a
 * background compaction whose child is done (waiting for it when the log
 * has grown past the threshold again meanwhile); starts one when the log
 * has outgrown the snapshot.  1 when it switched to the new file (which
 * then holds every line written, durably: no fsync of the old one
 * needed), 0 when not (why may hold a warning: a compaction that failed
 * before its rename), -1 when the store failed. */
int store__bg_step(store *st, char *why);
/* Waits for a running background compaction and finishes it: 0 (why may
 * hold a warning), -1 when the store failed. */
int store__bg_finish(store *st, char *why);
/* Lines written to the state file while a background compaction runs:
 * kept for the new file. */
void store__bg_tail(store *st, const char *buf, size_t len);
/* Stops a running background compaction and removes its temp file. */
void store__bg_abandon(store *st);

/* Shared by store_file.c, store_compact.c and store_bg.c. */
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
