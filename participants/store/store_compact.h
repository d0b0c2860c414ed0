/*
 * store_compact.h - the record store's compaction layer, over its memory
 * (store_int.h) and its file (store_file.h): the live state written as a
 * snapshot to a new state file, synchronously (store_compact.c) or by a
 * forked child while the service goes on (store_bg.c).  store_open.c
 * (open, flush, close) sits above.  Not for services.
 */
#ifndef DTC_PARTICIPANTS_STORE_COMPACT_H
#define DTC_PARTICIPANTS_STORE_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

/* The snapshot's writer: lines gathered in a buffer, written out with
 * write(2) (stdio would hide them from the power-cut preload's journal);
 * the first failure sticks in sw_errno.  With sw_push (the background
 * child), every SNAP_PUSH bytes written are sent to the disk at once
 * (sync_file_range, no cache flush), so that the final fsync finds little
 * left: a multi-megabyte snapshot flushed in one go held the instance
 * journal's group commits behind it for 4-7 ms (docs/performance.md,
 * "Three stalls removed"). */
#define SNAP_PUSH (256u << 10)
typedef struct snap_writer {
    int sw_fd;
    int sw_errno;
    bool sw_push;
    uint64_t sw_written, sw_pushed; /* bytes written, and sent to the disk */
    size_t sw_len;
    char sw_buf[16384];
} snap_writer;

/* Writes the whole state as a snapshot to w; returns its item count. */
size_t store__write_snapshot(const store *st, snap_writer *w, uint64_t lsn);
/* store__file_switch (store_file.h), the new file's snapshot holding
 * `items` items: 0, or -1 with why. */
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
/* Stops a running background compaction and removes its temp file. */
void store__bg_abandon(store *st);

#endif
