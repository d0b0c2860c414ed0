/*
 * store_compact.c - compaction of the state file: the live state (records,
 * prepared transactions, the ledger within its horizon) written as a
 * snapshot to NAME.state.tmp (created O_EXCL after an unlink, through
 * dtc__fs_open: a planted symlink is never followed), fsynced, renamed over
 * NAME.state, and the directory fsynced (no fsync at all with
 * STORE_NO_FSYNC).  The replaced file is linked as NAME.state.old first,
 * so that closing it frees nothing; the next background compaction's
 * sync thread (or store_close) removes that name.  This is the synchronous
 * compaction (store_compact: at creation, and for callers that want it
 * now); store_flush compacts in the background instead (store_bg.c), with
 * the switch to the new file shared from here.  The snapshot's lines are
 * store_snap.c's.
 * The file's side (the temp file, its rename, the crash points
 * store.before_rename and store.after_rename) is store_file.c's; on the
 * journal, store.before_checkpoint (renamed, the directory synced, the
 * stamp not yet reported as the checkpoint) is here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_compact.h"

ssize_t store__write_snapshot(store *st, int fd, uint64_t lsn)
{
    store_snap *sn = malloc(sizeof *sn); /* large: not on the stack */
    if (sn == NULL)
        return -1;
    store__snap_begin(st, sn, fd, false, lsn);
    size_t n = store__snap_end(st);
    int err = sn->sn_w.sw_errno;
    free(sn);
    errno = err;
    return err == 0 ? (ssize_t)n : -1;
}

int store__switch(store *st, int *fdp, int sync_file, int sync_dir, size_t items, char *why)
{
    if (store__file_switch(&st->st_file, fdp, sync_file, sync_dir, why) != 0)
        return -1;
    st->st_snap_lines = items;
    return 0;
}

int store_compact(store *st, char *why)
{
    int fd;
    store_file *f = &st->st_file;
    why[0] = '\0';
    if (f->sf_failed || f->sf_lock_fd < 0) {
        WHY("store is failed or read-only");
        return -1;
    }
    if (store__bg_finish(st, why) != 0) /* one compaction at a time */
        return -1;
    if (store__file_drain(f, why) != 0) /* the old file stays complete if we fail */
        return -1;
    if ((fd = store__file_create_tmp(f, why)) < 0)
        return -1;
    uint64_t lsn = 0;
    const store_journal *j = st->st_journal;
    ssize_t n = -1;
    errno = EIO;
    if (j == NULL || j->sj_position(j->sj_ctx, &lsn) == 0)
        n = store__write_snapshot(st, fd, lsn);
    /* never a durable snapshot ahead of a durable journal (journal.md) */
    if (n >= 0 && j != NULL && j->sj_flush(j->sj_ctx, lsn) != 0) {
        n = -1;
        errno = EIO;
    }
    if (n < 0) {
        WHY("cannot write %s: %s", f->sf_tmp, strerror(errno));
        close(fd);
        unlink(f->sf_tmp);
        return -1;
    }
    if (store__switch(st, &fd, 1, 1, (size_t)n, why) != 0)
        return -1;
    st->st_log_lines = 0;
    if (j != NULL)
        store__journal_ckpt(st, lsn, why);
    return 0;
}

void store__journal_ckpt(store *st, uint64_t lsn, char *why)
{
    const store_journal *j = st->st_journal;
    FAULT(&st->st_file, "store.before_checkpoint");
    st->st_journal_lsn = lsn;
    if (j->sj_checkpoint(j->sj_ctx, lsn) != 0)
        WHY("journal checkpoint at %" PRIu64 " failed (the log keeps more)", lsn);
}
