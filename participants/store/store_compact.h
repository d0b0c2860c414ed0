/*
 * store_compact.h - the record store's compaction layer, over its memory
 * (store_int.h) and its file (store_file.h): the live state written as a
 * snapshot to a new state file, at once (store_compact.c) or a piece at
 * a time while the service goes on (store_bg.c).  store_open.c
 * (open, flush, close) sits above.  Not for services.
 */
#ifndef DTC_PARTICIPANTS_STORE_COMPACT_H
#define DTC_PARTICIPANTS_STORE_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

/* Writes the whole state as a snapshot to fd at once (store_snap.c's
 * walk with no change in between); its item count, or -1 (errno set). */
ssize_t store__write_snapshot(store *st, int fd, uint64_t lsn);
/* store__file_switch (store_file.h), the new file's snapshot holding
 * `items` items: 0, or -1 with why. */
int store__switch(store *st, int *fdp, int sync_file, int sync_dir, size_t items, char *why);
/* Journal mode, once a snapshot stamped lsn is the state file (renamed,
 * directory synced): the crash point store.before_checkpoint, then the
 * stamp is the store's and lsn is reported as its checkpoint (a failure
 * is a warning in why: the log keeps more). */
void store__journal_ckpt(store *st, uint64_t lsn, char *why);
/* store_bg.c.  store_flush, once the lines are written: a piece of the
 * background compaction under way (all of it, and its sync waited for,
 * when the log has grown past the threshold again meanwhile); when its
 * snapshot is synced, its switch; or a compaction starts, when the log
 * has outgrown the snapshot.  1 when it switched to the new file (which
 * then holds every line written, durably: no fsync of the old one
 * needed), 0 when not (why may hold a warning: a compaction that failed
 * before its rename), -1 when the store failed. */
int store__bg_step(store *st, char *why);
/* Finishes a background compaction under way (the rest of its snapshot,
 * its sync, its switch): 0 (why may hold a warning), -1 when the store
 * failed. */
int store__bg_finish(store *st, char *why);
/* An idle service's step (store_idle): a larger piece of the snapshot,
 * and the switch once it is synced.  0 (why may hold a warning), -1
 * when the store failed. */
int store__bg_idle(store *st, char *why);
/* Drops a background compaction under way and removes its temp file. */
void store__bg_abandon(store *st);

#endif
