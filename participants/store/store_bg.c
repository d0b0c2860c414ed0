/*
 * store_bg.c - compaction off the request path, with no fork.  When the
 * log section has outgrown STORE_COMPACT_FACTOR times the snapshot,
 * store_flush starts a snapshot of the state as it is then
 * (store_snap.c: written a piece at a time, each item as it was at the
 * start) into NAME.state.tmp, and every later flush writes one more
 * piece of it, paced to end long before the log reaches the threshold
 * again (pace()).  The service goes on serving meanwhile, appending to
 * NAME.state as always and keeping a copy of every line it writes there
 * (the tail).  Once the snapshot is written, a thread of the store's
 * fsyncs it (and removes NAME.state.old, the file the last switch
 * replaced: its blocks are freed off the request path); the first flush
 * that finds it synced appends the tail, batch included, to the temp
 * file and makes it the state file (fsync, rename, directory fsync:
 * store__switch); that batch's answers wait for those two syncs instead
 * of the old file's one.  Until the rename the old file is complete and
 * synced as before, so a crash or a failure anywhere before it loses
 * nothing: a failed write or sync only costs the compaction (a warning;
 * the temp file is removed).
 *
 * A fork gave the same snapshot, but its copy of the page tables and
 * its copy-on-write faults stalled the service in proportion to its
 * memory: 1.8-4 ms for 100 MB (docs/performance.md, "Compaction without
 * a fork").  The walk costs the service the lines it writes, a piece
 * per batch.
 *
 * On the instance journal (docs/state-file.md) the same, with the
 * journal's order: the snapshot is stamped "journal LSN" with the
 * journal's end read at its start (every line appended so far is below
 * it, and the state of the start reflects exactly those); the lines
 * journaled after it lie at or after LSN, so a replay from that stamp
 * redoes them.  When the snapshot is synced, the flush makes the journal
 * durable up to LSN (never a durable snapshot ahead of the log; usually
 * done already by a COMMIT's group commit), appends the tail (the
 * unsynced mirror: not synced), renames, syncs the directory, and only
 * then reports LSN as the checkpoint (store__journal_ckpt).  The batch
 * that finishes it waits for the directory's sync alone.
 *
 * Crash point store.bg_before_sync: the snapshot is written, not synced.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_compact.h"

/* Items the walk takes per step: at least SNAP_STEP_MIN, and one per
 * SNAP_STEP_TIME_US since the last step, at most SNAP_STEP_TIME_MAX (a
 * step after a pause, as between a benchmark's cells, stays short: a
 * first version allowed 16384 and stalled the first batch after a
 * pause by 1.5-3 ms).  An idle service takes SNAP_STEP_IDLE a time
 * (store_idle: nobody waits). */
#define SNAP_STEP_MIN 16
#define SNAP_STEP_TIME_US 16
#define SNAP_STEP_TIME_MAX 256
#define SNAP_STEP_IDLE 16384

typedef struct store_bg {
    store_snap bg_snap;     /* the snapshot under way (store_snap.c) */
    bool bg_written;        /* the snapshot is in the file: syncing */
    int bg_fd;              /* NAME.state.tmp */
    size_t bg_items;        /* the snapshot's items, once written */
    size_t bg_walk;         /* items the walk goes through (at the start) */
    size_t bg_log_lines;    /* st_log_lines at the start */
    size_t bg_paced;        /* st_log_lines at the last step */
    int64_t bg_last;        /* the last step's time (now_us) */
    uint64_t bg_lsn;        /* journal mode: the snapshot's stamp */
    char *bg_tail;          /* lines written since the start, for the new */
    size_t bg_len, bg_cap;  /* file; NULL with bg_len > 0: out of memory,
                               the compaction is dropped */
    /* the sync: a thread of the store's, or none yet */
    bool bg_thread_on;
    pthread_t bg_thread;
    const char *bg_old;     /* NAME.state.old, removed by the thread */
    bool bg_no_fsync;
    atomic_bool bg_synced;  /* the thread's: its fsync returned */
    int bg_sync_err;        /* the thread's, read after bg_synced */
} store_bg;

static void keep_tail(void *ctx, const char *buf, size_t len);

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Frees bg (the thread joined, the descriptor closed). */
static void reset(store *st)
{
    store_bg *bg = st->st_bg;
    store__snap_abandon(st);
    if (bg->bg_thread_on)
        pthread_join(bg->bg_thread, NULL);
    if (bg->bg_fd >= 0)
        close(bg->bg_fd);
    free(bg->bg_tail);
    free(bg);
    st->st_bg = NULL;
    st->st_file.sf_watch = NULL;
}

/* Log lines past which a compaction starts, or one under way is ended at
 * once: st_compact_factor times the snapshot (STORE_COMPACT_FACTOR,
 * store.h), and at least st_compact_min. */
static size_t limit_of(const store *st)
{
    size_t times = st->st_snap_lines * st->st_compact_factor;
    return times > st->st_compact_min ? times : st->st_compact_min;
}

/* Starts a compaction; a failure to start is a warning (why) only.
 * Called by store_flush after the buffered lines were written: every
 * line is in the file (and the journal), none waits to join the tail. */
static void start(store *st, char *why)
{
    uint64_t lsn = 0;
    const store_journal *j = st->st_journal;
    /* the stamp: every line appended so far is in memory and below it */
    if (j != NULL && j->sj_position(j->sj_ctx, &lsn) != 0) {
        WHY("cannot compact %s: the journal's position is unknown", st->st_file.sf_path);
        return;
    }
    store_bg *bg = calloc(1, sizeof *bg);
    if (bg == NULL) {
        WHY("cannot compact %s: out of memory", st->st_file.sf_path);
        return;
    }
    if ((bg->bg_fd = store__file_create_tmp(&st->st_file, why)) < 0) {
        free(bg);
        return;
    }
    st->st_bg = bg;
    bg->bg_no_fsync = st->st_file.sf_no_fsync;
    bg->bg_old = st->st_file.sf_old;
    bg->bg_log_lines = bg->bg_paced = st->st_log_lines;
    bg->bg_walk = st->st_recs.ht_count + st->st_ledger.ht_count;
    bg->bg_lsn = lsn;
    bg->bg_last = now_us();
    store__snap_begin(st, &bg->bg_snap, bg->bg_fd, !bg->bg_no_fsync, lsn);
    st->st_file.sf_watch = keep_tail;
    st->st_file.sf_watch_ctx = st;
}

/* The state file's watcher while a compaction runs: lines written since
 * its start, kept for the new file. */
static void keep_tail(void *ctx, const char *buf, size_t len)
{
    store_bg *bg = ((store *)ctx)->st_bg;
    if (bg == NULL || len == 0 || (bg->bg_tail == NULL && bg->bg_len > 0))
        return; /* none running, or out of memory already */
    if (bg->bg_len + len > bg->bg_cap) {
        size_t cap = bg->bg_cap ? bg->bg_cap : 65536;
        while (cap < bg->bg_len + len)
            cap *= 2;
        char *t = realloc(bg->bg_tail, cap);
        if (t == NULL) { /* the compaction is dropped when it ends */
            free(bg->bg_tail);
            bg->bg_tail = NULL;
            bg->bg_len += len;
            return;
        }
        bg->bg_tail = t;
        bg->bg_cap = cap;
    }
    if (bg->bg_tail == NULL) { /* cannot be (cap > 0 only with a buffer): */
        bg->bg_len += len;     /* never a tail with a hole: dropped */
        return;
    }
    memcpy(bg->bg_tail + bg->bg_len, buf, len);
    bg->bg_len += len;
}

/* Appends the tail to the temp file (after the snapshot); 0 or an errno. */
static int write_tail(const store_bg *bg)
{
    if (bg->bg_tail == NULL && bg->bg_len > 0)
        return ENOMEM;
    for (size_t off = 0; off < bg->bg_len;) {
        ssize_t n = write(bg->bg_fd, bg->bg_tail + off, bg->bg_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        off += (size_t)n;
    }
    return 0;
}

/* The sync thread: the replaced file's name removed, the snapshot
 * fsynced (not with STORE_NO_FSYNC). */
static void *sync_main(void *arg)
{
    store_bg *bg = arg;
    unlink(bg->bg_old);
    if (!bg->bg_no_fsync && fsync(bg->bg_fd) != 0)
        bg->bg_sync_err = errno;
    atomic_store(&bg->bg_synced, true);
    return NULL;
}

/* The snapshot is written: its sync starts (in the thread; here when no
 * thread can start).  Signals stay the service's main thread's. */
static void start_sync(store_bg *bg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bg->bg_thread_on = pthread_create(&bg->bg_thread, NULL, sync_main, bg) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!bg->bg_thread_on)
        sync_main(bg);
}

/* Items the walk takes at this step: twice the log's pace (the walk then
 * ends when the log has grown by half the threshold), at least
 * SNAP_STEP_MIN, plus one per SNAP_STEP_TIME_US since the last step (at
 * most SNAP_STEP_TIME_MAX). */
static size_t pace(store *st, store_bg *bg)
{
    uint64_t lines = st->st_log_lines - bg->bg_paced, limit = limit_of(st);
    int64_t t = now_us(), waited = (t - bg->bg_last) / SNAP_STEP_TIME_US;
    bg->bg_paced = st->st_log_lines;
    bg->bg_last = t;
    size_t n = SNAP_STEP_MIN + (size_t)(lines * 2 * bg->bg_walk / (limit > 0 ? limit : 1));
    return n + (size_t)(waited < 0 ? 0 : waited > SNAP_STEP_TIME_MAX ? SNAP_STEP_TIME_MAX : waited);
}

/* One piece of the walk, at most budget items; once the snapshot is
 * written, its sync starts. */
static void advance(store *st, store_bg *bg, size_t budget)
{
    if (!store__snap_step(st, budget))
        return;
    bg->bg_items = store__snap_end(st);
    bg->bg_written = true;
    FAULT(&st->st_file, "store.bg_before_sync");
    if (bg->bg_snap.sn_w.sw_errno != 0) {
        bg->bg_sync_err = bg->bg_snap.sn_w.sw_errno;
        atomic_store(&bg->bg_synced, true);
        return;
    }
    start_sync(bg);
}

/* The snapshot is synced (or failed): the switch, or a warning. */
static int finish(store *st, char *why)
{
    store_bg *bg = st->st_bg;
    if (bg->bg_thread_on) {
        pthread_join(bg->bg_thread, NULL);
        bg->bg_thread_on = false;
    }
    int err = bg->bg_sync_err;
    if (err == 0 && !bg->bg_no_fsync)
        st->st_file.sf_syncs++; /* the snapshot's fsync */
    size_t tail_lines = st->st_log_lines - bg->bg_log_lines;
    const store_journal *j = st->st_journal;
    uint64_t lsn = bg->bg_lsn;
    /* the journal durable below the stamp before the snapshot is the state */
    if (err == 0 && j != NULL && j->sj_flush(j->sj_ctx, lsn) != 0)
        err = EIO;
    if (err == 0)
        err = write_tail(bg);
    if (err != 0) {
        WHY("cannot compact %s in the background: %s", st->st_file.sf_path, strerror(err));
        unlink(st->st_file.sf_tmp);
        reset(st);
        return 0;
    }
    /* own file: the tail must be durable; journal: the snapshot is
     * synced, the tail is the unsynced mirror */
    int rc = store__switch(st, &bg->bg_fd, j == NULL, bg->bg_items, why);
    if (rc == 0)
        st->st_log_lines = tail_lines;
    reset(st);
    if (rc == 0 && j != NULL)
        store__journal_ckpt(st, lsn, why);
    return rc == 0 ? 1 : st->st_file.sf_failed ? -1 : 0;
}

int store__bg_step(store *st, char *why)
{
    size_t limit = limit_of(st);
    int switched = 0;
    store_bg *bg = st->st_bg;
    if (bg != NULL) {
        /* a log that outgrew the threshold again ends it now: the tail
         * stays bounded */
        bool now = st->st_log_lines - bg->bg_log_lines > limit;
        if (!bg->bg_written)
            advance(st, bg, now ? SIZE_MAX : pace(st, bg));
        if (bg->bg_written && (now || atomic_load(&bg->bg_synced))) {
            if ((switched = finish(st, why)) < 0)
                return -1;
            limit = limit_of(st);
        }
    }
    if (st->st_bg == NULL && st->st_log_lines > limit && why[0] == '\0')
        start(st, why);
    return switched;
}

int store__bg_finish(store *st, char *why)
{
    store_bg *bg = st->st_bg;
    if (bg == NULL)
        return 0;
    if (!bg->bg_written)
        advance(st, bg, SIZE_MAX);
    return finish(st, why) < 0 ? -1 : 0;
}

int store__bg_idle(store *st, char *why)
{
    store_bg *bg = st->st_bg;
    if (bg == NULL)
        return 0;
    if (!bg->bg_written) {
        advance(st, bg, SNAP_STEP_IDLE);
        bg->bg_last = now_us();
    }
    if (!bg->bg_written || !atomic_load(&bg->bg_synced))
        return 0;
    return finish(st, why) < 0 ? -1 : 0;
}

void store__bg_abandon(store *st)
{
    if (st->st_bg == NULL)
        return;
    unlink(st->st_file.sf_tmp);
    reset(st);
}
