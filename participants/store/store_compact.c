/*
 * store_compact.c - compaction of the state file: the live state (records,
 * prepared transactions, the ledger within its horizon) written as a
 * snapshot to NAME.state.tmp (created O_EXCL after an unlink, through
 * dtc__fs_open: a planted symlink is never followed), fsynced, renamed over
 * NAME.state, and the directory fsynced (no fsync at all with
 * STORE_NO_FSYNC).  The replaced file is linked as NAME.state.old first,
 * so that closing it frees nothing; the next background compaction's
 * child (or store_close) removes that name.  This is the synchronous
 * compaction (store_compact: at creation, and for callers that want it
 * now); store_flush compacts in the background instead (store_bg.c), with
 * the snapshot writer and the switch to the new file shared from here.
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

static void sw_drain(snap_writer *w)
{
    size_t off = 0;
    while (w->sw_errno == 0 && off < w->sw_len) {
        ssize_t n = write(w->sw_fd, w->sw_buf + off, w->sw_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->sw_errno = n < 0 ? errno : EIO;
        else
            off += (size_t)n;
    }
    w->sw_written += off;
    w->sw_len = 0;
    if (w->sw_push && w->sw_errno == 0 && w->sw_written - w->sw_pushed >= SNAP_PUSH) {
        if (sync_file_range(w->sw_fd, (off_t)w->sw_pushed, (off_t)(w->sw_written - w->sw_pushed),
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE
                                | SYNC_FILE_RANGE_WAIT_AFTER) != 0)
            w->sw_errno = errno;
        w->sw_pushed = w->sw_written;
    }
}

__attribute__((format(printf, 2, 3)))
static void sw_printf(snap_writer *w, const char *fmt, ...)
{
    char line[LINE_MAX_LEN + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line) {
        if (w->sw_errno == 0)
            w->sw_errno = EOVERFLOW;
        return;
    }
    if (w->sw_len + (size_t)n > sizeof w->sw_buf)
        sw_drain(w);
    memcpy(w->sw_buf + w->sw_len, line, (size_t)n);
    w->sw_len += (size_t)n;
}

/* Writes the whole state as a snapshot to w (stamped with the journal
 * LSN it covers, 0: own-file mode); returns its item count. */
size_t store__write_snapshot(const store *st, snap_writer *w, uint64_t lsn)
{
    size_t n = 0, pos = 0;
    const store_rec *r;
    const store_led *ld;
    const store_txn *tx;
    sw_printf(w, "%s%s\n", STATE_MAGIC, st->st_schema->ss_service);
    while ((r = htab_next(&st->st_recs, &pos)) != NULL) {
        if (r->rc_present)
            sw_printf(w, "rec %s %" PRId64 " %" PRIu64 "%s%s\n", r->rc_key, r->rc_value,
                      r->rc_version, r->rc_note[0] ? " " : "", r->rc_note);
        else if (r->rc_version > 0)
            sw_printf(w, "gone %s %" PRIu64 "\n", r->rc_key, r->rc_version);
        n += r->rc_present || r->rc_version > 0;
    }
    for (ld = store__ledger_next(st, NULL); ld != NULL; ld = store__ledger_next(st, ld), n++) {
        if (ld->ld_state == LED_APPLIED)
            sw_printf(w, "applied %s %s\n", ld->ld_id, ld->ld_payload);
        else
            sw_printf(w, "compensated %s\n", ld->ld_id);
    }
    for (pos = 0; (tx = htab_next(&st->st_txns, &pos)) != NULL;)
        if (tx->tx_prepared) {
            sw_printf(w, "prepared %s %s\n", tx->tx_id, tx->tx_payload);
            n++;
        }
    if (lsn > 0)
        sw_printf(w, "journal %" PRIu64 "\n", lsn);
    sw_printf(w, "checkpoint\n");
    sw_drain(w);
    return n;
}

int store__switch(store *st, int *fdp, int sync_file, size_t items, char *why)
{
    if (store__file_switch(&st->st_file, fdp, sync_file, why) != 0)
        return -1;
    st->st_snap_lines = items;
    return 0;
}

int store_compact(store *st, char *why)
{
    int fd;
    snap_writer *w;
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
    if ((w = calloc(1, sizeof *w)) == NULL) { /* zeroed: no push, nothing written */
        WHY("cannot compact %s: out of memory", f->sf_path);
        return -1;
    }
    if ((fd = w->sw_fd = store__file_create_tmp(f, why)) < 0) {
        free(w);
        return -1;
    }
    uint64_t lsn = 0;
    const store_journal *j = st->st_journal;
    if (j != NULL && j->sj_position(j->sj_ctx, &lsn) != 0)
        w->sw_errno = EIO;
    size_t n = store__write_snapshot(st, w, lsn);
    /* never a durable snapshot ahead of a durable journal (journal.md) */
    if (w->sw_errno == 0 && j != NULL && j->sj_flush(j->sj_ctx, lsn) != 0)
        w->sw_errno = EIO;
    int err = w->sw_errno;
    free(w);
    if (err != 0) {
        WHY("cannot write %s: %s", f->sf_tmp, strerror(err));
        close(fd);
        unlink(f->sf_tmp);
        return -1;
    }
    if (store__switch(st, &fd, 1, n, why) != 0)
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
