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
 * replaced: its blocks are freed off the request path), and each flush
 * appends TAIL_PIECE more of the tail to the temp file.  The first flush
 * that finds the snapshot synced appends the rest of the tail, batch
 * included, and makes the temp file the state file (fsync, rename,
 * directory fsync: store__switch); that batch's answers wait for those
 * two syncs instead of the old file's one.  Until the rename the old
 * file is complete and synced as before, so a crash or a failure
 * anywhere before it loses nothing: a failed write or sync only costs
 * the compaction (a warning; the temp file is removed).
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
 * done already by a COMMIT's group commit), appends the rest of the tail
 * (the unsynced mirror: not synced) and renames; the thread then syncs
 * the directory, and a later flush, finding it synced, reports LSN as
 * the checkpoint (store__journal_ckpt).  No batch waits for a sync of
 * the compaction's: a crash before the checkpoint is reported replays
 * from the older stamp, whichever file the directory holds.
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
/* Bytes of the tail a step appends to the temp file once the snapshot is
 * written: the lines logged during a compaction of a large state are
 * megabytes, and appending them at once held a batch 5 ms. */
#define TAIL_PIECE (256u << 10)

typedef struct store_bg {
    store_snap bg_snap;     /* the snapshot under way (store_snap.c) */
    bool bg_written;        /* the snapshot is in the file: syncing */
    bool bg_switched;       /* journal: renamed in, the directory syncing */
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
    size_t bg_tail_out;     /* bytes of the tail in the temp file */
    int bg_tail_err;        /* an errno writing it: the compaction dropped */
    int bg_dir_fd;          /* DATA_DIR for the thread's sync, or -1 */
    /* the sync: a thread of the store's, or none yet */
    bool bg_thread_on;      /* a job runs or ran: joined before the next */
    pthread_t bg_thread;
    const char *bg_old;     /* NAME.state.old, removed by the thread */
    bool bg_no_fsync;
    atomic_bool bg_synced;  /* the thread's: its job's fsync returned */
    int bg_sync_err;        /* the thread's, read after join_sync */
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
    if (bg->bg_dir_fd >= 0)
        close(bg->bg_dir_fd);
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
    bg->bg_dir_fd = -1;
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

/* Appends at most max more bytes of the tail to the temp file (after
 * the snapshot); 0 or an errno. */
static int write_tail(store_bg *bg, size_t max)
{
    if (bg->bg_tail == NULL && bg->bg_len > 0)
        return ENOMEM;
    size_t end = bg->bg_len - bg->bg_tail_out > max ? bg->bg_tail_out + max : bg->bg_len;
    while (bg->bg_tail_out < end) {
        ssize_t n = write(bg->bg_fd, bg->bg_tail + bg->bg_tail_out, end - bg->bg_tail_out);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        bg->bg_tail_out += (size_t)n;
    }
    return 0;
}

/* The thread's job: before the switch, the replaced file's name removed
 * and the snapshot fsynced; after it (on the journal), the directory
 * fsynced.  None with STORE_NO_FSYNC. */
static void *sync_main(void *arg)
{
    store_bg *bg = arg;
    int fd = bg->bg_switched ? bg->bg_dir_fd : bg->bg_fd;
    if (!bg->bg_switched)
        unlink(bg->bg_old);
    if (!bg->bg_no_fsync && fsync(fd) != 0)
        bg->bg_sync_err = errno;
    atomic_store(&bg->bg_synced, true);
    return NULL;
}

/* Starts the thread's job (does it here when no thread can start).
 * Signals stay the service's main thread's. */
static void start_sync(store_bg *bg)
{
    sigset_t all, old;
    atomic_store(&bg->bg_synced, false);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bg->bg_thread_on = pthread_create(&bg->bg_thread, NULL, sync_main, bg) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!bg->bg_thread_on)
        sync_main(bg);
}

/* Waits for the thread's job; bg_sync_err is then its result. */
static void join_sync(store_bg *bg)
{
    if (bg->bg_thread_on)
        pthread_join(bg->bg_thread, NULL);
    bg->bg_thread_on = false;
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
    bg->bg_sync_err = bg->bg_snap.sn_w.sw_errno;
    if (bg->bg_sync_err != 0)
        atomic_store(&bg->bg_synced, true);
    else
        start_sync(bg);
}

/* The snapshot is synced (or failed): the rest of the tail appended and
 * the new file renamed in, or a warning.  Own file: the new file and the
 * directory synced here (the batch's lines are in the tail), the
 * compaction done.  Journal: the tail is the unsynced mirror, and the
 * directory's sync is the thread's next job; the checkpoint waits for
 * it (complete).  1 switched, 0 not (why: a warning), -1 failed. */
static int switch_over(store *st, char *why)
{
    store_bg *bg = st->st_bg;
    const store_journal *j = st->st_journal;
    join_sync(bg);
    int err = bg->bg_sync_err != 0 ? bg->bg_sync_err : bg->bg_tail_err;
    if (err == 0 && !bg->bg_no_fsync)
        st->st_file.sf_syncs++; /* the snapshot's fsync */
    /* the journal durable below the stamp before the snapshot is the state */
    if (err == 0 && j != NULL && j->sj_flush(j->sj_ctx, bg->bg_lsn) != 0)
        err = EIO;
    if (err == 0)
        err = write_tail(bg, SIZE_MAX);
    if (err != 0) {
        WHY("cannot compact %s in the background: %s", st->st_file.sf_path, strerror(err));
        unlink(st->st_file.sf_tmp);
        reset(st);
        return 0;
    }
    size_t tail_lines = st->st_log_lines - bg->bg_log_lines;
    bg->bg_dir_fd = j != NULL ? store__file_dir_fd(&st->st_file) : -1;
    bool later = bg->bg_dir_fd >= 0;
    st->st_file.sf_watch = NULL; /* from now on the lines go to the new file */
    if (store__switch(st, &bg->bg_fd, j == NULL, !later, bg->bg_items, why) != 0) {
        reset(st);
        return st->st_file.sf_failed ? -1 : 0;
    }
    st->st_log_lines = tail_lines;
    if (later) {
        bg->bg_switched = true;
        bg->bg_sync_err = 0;
        start_sync(bg);
        return 1;
    }
    uint64_t lsn = bg->bg_lsn;
    reset(st);
    if (j != NULL)
        store__journal_ckpt(st, lsn, why);
    return 1;
}

/* Journal mode, the new file renamed in: once the directory is synced,
 * the stamp becomes the checkpoint.  0, or -1 (the store failed: the
 * directory could not be synced). */
static int complete(store *st, char *why)
{
    store_bg *bg = st->st_bg;
    uint64_t lsn = bg->bg_lsn;
    join_sync(bg);
    int err = bg->bg_sync_err;
    if (err == 0 && !bg->bg_no_fsync)
        st->st_file.sf_syncs++; /* the directory's */
    reset(st);
    if (err != 0) {
        WHY("cannot sync %s: %s", st->st_file.sf_dir, strerror(err));
        st->st_file.sf_failed = 1;
        return -1;
    }
    store__journal_ckpt(st, lsn, why);
    return 0;
}

/* Moves the compaction under way on: budget items of the walk, or, once
 * the snapshot is written, TAIL_PIECE more bytes of the tail; the switch
 * once the snapshot is synced, and the end once the directory is (with
 * wait: the whole walk, and both waited for).  1 when the file switched,
 * 0 when not (why may hold a warning), -1 when the store failed. */
static int progress(store *st, size_t budget, bool wait, char *why)
{
    store_bg *bg = st->st_bg;
    int switched = 0;
    if (!bg->bg_written)
        advance(st, bg, wait ? SIZE_MAX : budget);
    else if (!bg->bg_switched && bg->bg_tail_err == 0)
        bg->bg_tail_err = write_tail(bg, TAIL_PIECE);
    if (bg->bg_written && !bg->bg_switched && (wait || atomic_load(&bg->bg_synced))) {
        switched = switch_over(st, why);
        if (switched <= 0 || st->st_bg == NULL)
            return switched;
    }
    if (bg->bg_switched && (wait || atomic_load(&bg->bg_synced)) && complete(st, why) != 0)
        return -1;
    return switched;
}

int store__bg_step(store *st, char *why)
{
    size_t limit = limit_of(st);
    int switched = 0;
    store_bg *bg = st->st_bg;
    if (bg != NULL) {
        /* a log that outgrew the threshold again before the switch ends
         * it now: the tail stays bounded */
        bool now = !bg->bg_switched && st->st_log_lines - bg->bg_log_lines > limit;
        if ((switched = progress(st, now ? SIZE_MAX : pace(st, bg), now, why)) < 0)
            return -1;
        limit = limit_of(st);
    }
    if (st->st_bg == NULL && st->st_log_lines > limit && why[0] == '\0')
        start(st, why);
    return switched;
}

int store__bg_finish(store *st, char *why)
{
    if (st->st_bg == NULL)
        return 0;
    return progress(st, SIZE_MAX, true, why) < 0 ? -1 : 0;
}

int store__bg_idle(store *st, char *why)
{
    if (st->st_bg == NULL)
        return 0;
    int rc = progress(st, SNAP_STEP_IDLE, false, why);
    if (st->st_bg != NULL)
        st->st_bg->bg_last = now_us();
    return rc < 0 ? -1 : 0;
}

void store__bg_abandon(store *st)
{
    if (st->st_bg == NULL)
        return;
    unlink(st->st_file.sf_tmp);
    reset(st);
}
