/*
 * store_file.h - the record store's bottom layer (store_file.c): the state
 * file DATA_DIR/NAME.state as bytes, knowing nothing of records: its
 * names (NAME.state, NAME.state.tmp, NAME.state.old, NAME.lock), the
 * lock, reading it whole, appending lines (buffered: one write(2) per
 * drain), the group-commit fsync, and a compaction's temp file and its
 * rename into place.  The layers above include it: store_int.h (records,
 * transactions, ledger), store_compact.h (compaction), store_open.c
 * (open, load, flush, close).  Not for services.
 */
#ifndef DTC_PARTICIPANTS_STORE_FILE_H
#define DTC_PARTICIPANTS_STORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* The state file of one store (in its struct store, st_file). */
typedef struct store_file {
    char *sf_dir, *sf_path, *sf_tmp;
    char *sf_old;               /* NAME.state.old: the replaced file's last
                                   name, so that closing it is cheap; removed
                                   by the next compaction's sync thread */
    int sf_fd;                  /* append writer; -1 when read-only */
    int sf_lock_fd;             /* flock on NAME.lock; -1 when read-only */
    int sf_dirty;               /* appended since the last fsync */
    char sf_wbuf[16384];        /* appended lines not yet written: one
                                   write(2) per batch, at flush */
    size_t sf_wlen;
    int sf_no_fsync;            /* STORE_NO_FSYNC: survives a process crash,
                                   not a power cut */
    uint64_t sf_syncs;          /* fsync calls made on the state file, its temp
                                   files and its directory (store_syncs), a
                                   background snapshot's when it succeeded */
    unsigned sf_fs_opts;        /* dtc__fs_open's options (DTC_FS_GROUP) */
    int sf_failed;              /* a write or fsync failed (or a layer above
                                   fell behind the file): refuse all */
    void (*sf_fault)(const char *point); /* crash points; NULL: none */
    /* Sees every byte written to the state file (a background compaction
     * keeps them for its new file, store_bg.c); NULL: nobody. */
    void (*sf_watch)(void *ctx, const char *buf, size_t len);
    void *sf_watch_ctx;
} store_file;

/* Sets f up for DIR/NAME.state (no file touched): names, options from
 * store_open's flags, no descriptor.  0, or -1 out of memory. */
int store__file_init(store_file *f, const char *dir, const char *name, int flags);
/* Takes the flock on DIR/NAME.lock (sf_lock_fd): 0, or -1 with err. */
int store__file_lock(store_file *f, const char *name, char *err, size_t errlen);
/* The whole state file, NUL-terminated (*len without the NUL); NULL with
 * err filled, and errno ENOENT if there is none. */
char *store__file_read(const store_file *f, size_t *len, char *err, size_t errlen);
/* Opens the state file for appending (sf_fd), its torn tail (the bytes
 * from good to len) cut off and synced first: 0, or -1 with err. */
int store__file_open_append(store_file *f, size_t good, size_t len, char *err, size_t errlen);
/* Buffers one line of n bytes (its newline included), writing the buffer
 * out first when it is full: 0, or -1 with why (the store is failed). */
int store__file_put(store_file *f, const char *line, size_t n, char *why);
/* Writes the buffered lines out (one write(2)): 0, or -1 with why (the
 * store is then failed: a partial line would corrupt the log). */
int store__file_drain(store_file *f, char *why);
/* fsyncs what was appended (none with STORE_NO_FSYNC): 0, or -1 with why
 * (the store is then failed: never retried). */
int store__file_sync(store_file *f, char *why);
/* Creates NAME.state.tmp afresh: whatever is at its name (a stale tmp of
 * a crashed compaction, or a planted symlink) is unlinked, never
 * followed.  The fd, or -1 with why. */
int store__file_create_tmp(const store_file *f, char *why);
/* Makes the complete temp file *fdp (closed here, *fdp = -1) the state
 * file: fsync (only with sync_file: a journal-mode background compaction
 * synced its snapshot already, and what follows it is the unsynced
 * mirror),
 * rename over NAME.state, fsync the directory (only with sync_dir; no
 * fsync at all with STORE_NO_FSYNC), append to it from now on.  0; -1 with why: before the
 * rename the old file stays (the temp file is removed), after it the
 * store is failed.  Crash points store.before_rename, store.after_rename. */
int store__file_switch(store_file *f, int *fdp, int sync_file, int sync_dir, char *why);
/* A descriptor of DATA_DIR, for a caller that syncs the directory after
 * a switch without sync_dir itself (on the instance journal, nothing
 * waits for it but the checkpoint: store_bg.c); -1 on failure. */
int store__file_dir_fd(const store_file *f);
/* Closes the descriptors (the lock last, NAME.state.old removed while it
 * is held) and frees the names. */
void store__file_close(store_file *f);

/* Shared by every layer of the store: fills the caller's `why`. */
#define WHY(...) snprintf(why, STORE_WHY_MAX, __VA_ARGS__)
/* A named crash point of store_file f: the hook (svc.c sets dtc_fault)
 * may kill us here. */
#define FAULT(f, point)                                                        \
    do {                                                                       \
        if ((f)->sf_fault != NULL)                                             \
            (f)->sf_fault(point);                                              \
    } while (0)

#endif
