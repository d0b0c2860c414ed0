/*
 * store_bg.c - compaction off the request path.  When the log section has
 * outgrown STORE_COMPACT_FACTOR times the snapshot, store_flush forks:
 * the child writes the state as it was at the fork (its copy-on-write
 * memory) to NAME.state.tmp, fsyncs it (not with STORE_NO_FSYNC) and
 * exits with 0 or the errno that stopped it; the service goes on serving
 * meanwhile, appending to NAME.state as always and keeping a copy of
 * every line it writes there (the tail).  The first flush that finds the
 * child done appends the tail, batch included, to the temp file and
 * makes it the state file (fsync, rename, directory fsync:
 * store__switch); that batch's answers wait for those two syncs instead
 * of the old file's one.  Until the rename the old file is complete and
 * synced as before, so a crash or a failure anywhere before it loses
 * nothing: a failed child or switch only costs the compaction (a
 * warning; the temp file is removed).  A service must stay
 * single-threaded (fork copies only the caller's thread).  The child
 * touches nothing but its copy of the store, the temp file and
 * NAME.state.old (the file the last switch replaced, whose blocks and
 * pages it frees by removing that name), and dies with the service
 * (PR_SET_PDEATHSIG).
 *
 * On the instance journal (docs/state-file.md) the same, with the journal's
 * order: the snapshot is stamped "journal LSN" with the journal's end read
 * just before the fork (every line appended so far is below it, and the
 * memory the child copies reflects exactly those); the lines journaled
 * while the child runs lie at or after LSN, so a replay from that stamp
 * redoes them.  When the child is done (the snapshot synced), the flush
 * makes the journal durable up to LSN (never a durable snapshot ahead of
 * the log; usually done already by a COMMIT's group commit), appends the
 * tail (the unsynced mirror: not synced), renames, syncs the directory,
 * and only then reports LSN as the checkpoint (store__journal_ckpt).  The
 * batch that finishes it waits for the directory's sync alone.
 *
 * Crash point store.bg_before_sync: the child has written the snapshot,
 * not synced it.  The child dies there, and so does the service when it
 * finds its child killed (as if the whole service had died at that
 * moment): the count of DTC_CRASH_AT=POINT:N is the child's.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_compact.h"

/* The child runs as background work: SCHED_IDLE, so that any service or
 * coordinator waking up takes the CPU from it at once (at the default
 * priority, and even at nice 10, the child's 5-50 ms of CPU came in
 * slices of 1.5-7 ms that every waking service waited behind:
 * docs/performance.md "Tails").  It still runs whenever a CPU is idle,
 * and a service that waits for it (a tail outgrown, store__bg_step)
 * leaves the CPU to it.  Nice 19 if the policy is refused. */
static void background(void)
{
    struct sched_param sp = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0)
        (void)setpriority(PRIO_PROCESS, 0, 19);
}

/* The child: the snapshot into fd, then _exit (no atexit handler, no
 * stdio buffer of the parent's flushed twice). */
static void child_main(const store *st, int fd, pid_t parent, uint64_t lsn)
{
    static snap_writer w; /* the child's own copy: large, not on the stack */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(ECHILD); /* the service died before the line above */
    close(st->st_file.sf_lock_fd); /* the flock stays the service's alone:
                                      a service killed now is restartable
                                      at once */
    unlink(st->st_file.sf_old); /* the file the last switch replaced: freed here */
    background();
    w.sw_fd = fd;
    w.sw_push = !st->st_file.sf_no_fsync;
    store__write_snapshot(st, &w, lsn);
    FAULT(&st->st_file, "store.bg_before_sync");
    if (w.sw_errno == 0 && !st->st_file.sf_no_fsync && fsync(fd) != 0)
        w.sw_errno = errno;
    _exit(w.sw_errno == 0 ? 0 : w.sw_errno > 0 && w.sw_errno < 256 ? w.sw_errno : EIO);
}

static void keep_tail(void *ctx, const char *buf, size_t len);

static void reset(store *st)
{
    if (st->st_bg_fd >= 0)
        close(st->st_bg_fd);
    free(st->st_bg_tail);
    st->st_bg_pid = 0;
    st->st_bg_fd = -1;
    st->st_file.sf_watch = NULL;
    st->st_bg_tail = NULL;
    st->st_bg_len = st->st_bg_cap = 0;
    st->st_bg_lsn = 0;
}

/* Forks the child; a failure to start is a warning (why) only.  Called
 * by store_flush after the buffered lines were written: every line is in
 * the file (and the journal), none waits to join the tail. */
static void start(store *st, char *why)
{
    uint64_t lsn = 0;
    const store_journal *j = st->st_journal;
    /* the stamp: every line appended so far is in memory and below it */
    if (j != NULL && j->sj_position(j->sj_ctx, &lsn) != 0) {
        WHY("cannot compact %s: the journal's position is unknown", st->st_file.sf_path);
        return;
    }
    int fd = store__file_create_tmp(&st->st_file, why);
    if (fd < 0)
        return;
    pid_t parent = getpid(), pid = fork();
    if (pid == 0)
        child_main(st, fd, parent, lsn);
    if (pid < 0) {
        WHY("cannot compact %s: fork: %s", st->st_file.sf_path, strerror(errno));
        close(fd);
        unlink(st->st_file.sf_tmp);
        return;
    }
    st->st_bg_pid = pid;
    st->st_bg_fd = fd;
    st->st_bg_items = st->st_recs.ht_count + st->st_ledger.ht_count + st->st_txns.ht_count;
    st->st_bg_log_lines = st->st_log_lines;
    st->st_bg_lsn = lsn;
    st->st_file.sf_watch = keep_tail;
    st->st_file.sf_watch_ctx = st;
}

/* The state file's watcher while a child runs: lines written since the
 * fork, kept for the new file. */
static void keep_tail(void *ctx, const char *buf, size_t len)
{
    store *st = ctx;
    if (st->st_bg_pid <= 0 || len == 0 || (st->st_bg_tail == NULL && st->st_bg_len > 0))
        return; /* none running, or out of memory already */
    if (st->st_bg_len + len > st->st_bg_cap) {
        size_t cap = st->st_bg_cap ? st->st_bg_cap : 65536;
        while (cap < st->st_bg_len + len)
            cap *= 2;
        char *t = realloc(st->st_bg_tail, cap);
        if (t == NULL) { /* the compaction is dropped when the child ends */
            free(st->st_bg_tail);
            st->st_bg_tail = NULL;
            st->st_bg_len += len;
            return;
        }
        st->st_bg_tail = t;
        st->st_bg_cap = cap;
    }
    if (st->st_bg_tail == NULL) { /* cannot be (cap > 0 only with a buffer): */
        st->st_bg_len += len;     /* never a tail with a hole: dropped */
        return;
    }
    memcpy(st->st_bg_tail + st->st_bg_len, buf, len);
    st->st_bg_len += len;
}

/* Appends the tail to the temp file (its offset, shared with the child,
 * is at the snapshot's end); 0 or an errno. */
static int write_tail(store *st)
{
    if (st->st_bg_tail == NULL && st->st_bg_len > 0)
        return ENOMEM;
    for (size_t off = 0; off < st->st_bg_len;) {
        ssize_t n = write(st->st_bg_fd, st->st_bg_tail + off, st->st_bg_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        off += (size_t)n;
    }
    return 0;
}

/* Why the child failed (an errno), 0 if it succeeded.  A child killed by
 * SIGKILL may have died at its crash point: the service then passes the
 * same point (and dies there when it is the one set). */
static int child_error(store *st, int status)
{
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        FAULT(&st->st_file, "store.bg_before_sync");
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

/* The child has ended with status: the switch, or a warning. */
static int finish(store *st, int status, char *why)
{
    int err = child_error(st, status);
    if (err == 0 && !st->st_file.sf_no_fsync)
        st->st_file.sf_syncs++; /* the child's fsync of the snapshot */
    size_t tail_lines = st->st_log_lines - st->st_bg_log_lines;
    const store_journal *j = st->st_journal;
    uint64_t lsn = st->st_bg_lsn;
    /* the journal durable below the stamp before the snapshot is the state */
    if (err == 0 && j != NULL && j->sj_flush(j->sj_ctx, lsn) != 0)
        err = EIO;
    if (err == 0)
        err = write_tail(st);
    if (err != 0) {
        WHY("cannot compact %s in the background: %s", st->st_file.sf_path, strerror(err));
        unlink(st->st_file.sf_tmp);
        reset(st);
        return 0;
    }
    /* own file: the tail must be durable; journal: the child synced the
     * snapshot, the tail is the unsynced mirror */
    int rc = store__switch(st, &st->st_bg_fd, j == NULL, st->st_bg_items, why);
    if (rc == 0)
        st->st_log_lines = tail_lines;
    reset(st);
    if (rc == 0 && j != NULL)
        store__journal_ckpt(st, lsn, why);
    return rc == 0 ? 1 : st->st_file.sf_failed ? -1 : 0;
}

/* waitpid for the child, blocking or not: 1 ended (*status), 0 not yet. */
static int reap(store *st, int block, int *status)
{
    for (;;) {
        pid_t r = waitpid(st->st_bg_pid, status, block ? 0 : WNOHANG);
        if (r == st->st_bg_pid)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR) { /* ECHILD: someone reaped it; trust nothing */
            *status = EINTR << 8;
            return 1;
        }
    }
}

/* Log lines past which a compaction starts, or a running one is waited
 * for: st_compact_factor times the snapshot (STORE_COMPACT_FACTOR, store.h),
 * and at least st_compact_min. */
static size_t limit_of(const store *st)
{
    size_t times = st->st_snap_lines * st->st_compact_factor;
    return times > st->st_compact_min ? times : st->st_compact_min;
}

int store__bg_step(store *st, char *why)
{
    size_t limit = limit_of(st);
    int status, switched = 0;
    if (st->st_bg_pid > 0) {
        /* a log that outgrew the threshold again waits: the tail is bounded */
        int block = st->st_log_lines - st->st_bg_log_lines > limit;
        if (!reap(st, block, &status))
            return 0;
        if ((switched = finish(st, status, why)) < 0)
            return -1;
        limit = limit_of(st);
    }
    if (st->st_bg_pid == 0 && st->st_log_lines > limit && why[0] == '\0')
        start(st, why);
    return switched;
}

int store__bg_finish(store *st, char *why)
{
    int status;
    if (st->st_bg_pid <= 0)
        return 0;
    reap(st, 1, &status);
    return finish(st, status, why) < 0 ? -1 : 0;
}

void store__bg_abandon(store *st)
{
    int status;
    if (st->st_bg_pid <= 0)
        return;
    kill(st->st_bg_pid, SIGKILL);
    reap(st, 1, &status);
    unlink(st->st_file.sf_tmp);
    reset(st);
}
