/*
 * store_file.c - the store's bottom layer: the state file
 * DATA_DIR/NAME.state as bytes (store_file.h): appending log lines
 * (buffered, one write per flush), the group-commit fsync, reading it
 * whole, its lock, and a compaction's temp file renamed into place
 * (write NAME.state.tmp, fsync, rename, fsync the directory).  It knows
 * nothing of records: what the lines say is store.c's (writing) and
 * store_open.c's (loading), when to compact store_compact.c's and
 * store_bg.c's.
 * Every byte of the file goes through write(2) (never stdio).  Every
 * file (NAME.state, NAME.lock, the compaction's NAME.state.tmp) is
 * opened through dtc__fs_open (fspath.h): a symlink, FIFO or directory
 * planted at its name, or a file of another user's or writable by
 * others, is refused with a message naming it (the temp name is
 * unlinked, then created O_EXCL).
 * Crash points (the fault hook, see store_set_fault_hook in store.h):
 * store.before_rename, store.after_rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fspath.h"
#include "store_file.h"

int store__file_init(store_file *f, const char *dir, const char *name, int flags)
{
    f->sf_no_fsync = (flags & STORE_NO_FSYNC) != 0;
    f->sf_fs_opts = (flags & STORE_GROUP) ? DTC_FS_GROUP : 0;
    f->sf_fd = f->sf_lock_fd = -1;
    if ((f->sf_dir = strdup(dir)) == NULL
        || asprintf(&f->sf_path, "%s/%s.state", dir, name) < 0
        || asprintf(&f->sf_tmp, "%s/%s.state.tmp", dir, name) < 0
        || asprintf(&f->sf_old, "%s/%s.state.old", dir, name) < 0)
        return -1;
    return 0;
}

/* ---- appending ----------------------------------------------------------- */

int store__file_drain(store_file *f, char *why)
{
    if (f->sf_wlen == 0)
        return 0;
    ssize_t w = write(f->sf_fd, f->sf_wbuf, f->sf_wlen);
    if (w != (ssize_t)f->sf_wlen) {
        /* A partial line would corrupt the middle of the log: stop here. */
        WHY("state file write failed: %s", w < 0 ? strerror(errno) : "short write");
        f->sf_failed = 1;
        return -1;
    }
    if (f->sf_watch != NULL) /* a compaction runs: for its file */
        f->sf_watch(f->sf_watch_ctx, f->sf_wbuf, f->sf_wlen);
    f->sf_wlen = 0;
    return 0;
}

int store__file_put(store_file *f, const char *line, size_t n, char *why)
{
    if (f->sf_wlen + n > sizeof f->sf_wbuf && store__file_drain(f, why) != 0)
        return -1;
    memcpy(f->sf_wbuf + f->sf_wlen, line, n);
    f->sf_wlen += n;
    f->sf_dirty = 1;
    return 0;
}

/* fsync(fd), counted in sf_syncs. */
static int counted_fsync(store_file *f, int fd)
{
    f->sf_syncs++;
    return fsync(fd);
}

int store__file_sync(store_file *f, char *why)
{
    if (!f->sf_no_fsync && counted_fsync(f, f->sf_fd) != 0) {
        /* The kernel may have dropped the dirty pages: never retry. */
        WHY("fsync of %s failed: %s", f->sf_path, strerror(errno));
        f->sf_failed = 1;
        return -1;
    }
    return 0;
}

/* ---- reading, locking, opening ------------------------------------------ */

char *store__file_read(const store_file *f, size_t *len, char *err, size_t errlen)
{
    const char *path = f->sf_path;
    int fd = dtc__fs_open(path, O_RDONLY, 0, f->sf_fs_opts, err, errlen);
    FILE *in = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (in == NULL && fd >= 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (in == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap * 2 + 8192);
            if (nb == NULL)
                break;
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, in);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(in) || buf == NULL || n + 1 > cap) {
        snprintf(err, errlen, "%s: %s", path, ferror(in) ? "read error" : "out of memory");
        free(buf);
        buf = NULL;
        errno = EIO;
    } else {
        buf[n] = '\0';
        *len = n;
    }
    fclose(in);
    return buf;
}

int store__file_lock(store_file *f, const char *name, char *err, size_t errlen)
{
    char *path;
    if (asprintf(&path, "%s/%s.lock", f->sf_dir, name) < 0)
        return -1;
    /* 0600: whoever may open it, even read-only, could hold its flock */
    int fd = dtc__fs_open(path, O_RDWR | O_CREAT, 0600, f->sf_fs_opts | DTC_FS_SECRET, err,
                          errlen);
    int rc = fd >= 0 ? flock(fd, LOCK_EX | LOCK_NB) : -1;
    if (fd >= 0 && rc != 0)
        snprintf(err, errlen, "%s: %s", path,
                 errno == EWOULDBLOCK ? "state in use by another process" : strerror(errno));
    f->sf_lock_fd = fd;
    free(path);
    return rc;
}

int store__file_open_append(store_file *f, size_t good, size_t len, char *err, size_t errlen)
{
    f->sf_fd = dtc__fs_open(f->sf_path, O_WRONLY | O_APPEND, 0, f->sf_fs_opts, err, errlen);
    if (f->sf_fd < 0)
        return -1;
    if (good < len && (ftruncate(f->sf_fd, (off_t)good) != 0 || counted_fsync(f, f->sf_fd) != 0)) {
        snprintf(err, errlen, "%s: %s", f->sf_path, strerror(errno));
        return -1;
    }
    return 0;
}

void store__file_close(store_file *f)
{
    if (f->sf_fd >= 0)
        close(f->sf_fd);
    if (f->sf_lock_fd >= 0) {
        unlink(f->sf_old); /* ours while we hold the lock */
        close(f->sf_lock_fd);
    }
    free(f->sf_dir);
    free(f->sf_path);
    free(f->sf_tmp);
    free(f->sf_old);
}

/* ---- a compaction's new file --------------------------------------------- */

static int fsync_dir(store_file *f)
{
    int fd = open(f->sf_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 ? counted_fsync(f, fd) : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

int store__file_create_tmp(const store_file *f, char *why)
{
    if (unlink(f->sf_tmp) != 0 && errno != ENOENT) {
        WHY("cannot remove stale %s: %s", f->sf_tmp, strerror(errno));
        return -1;
    }
    return dtc__fs_open(f->sf_tmp, O_WRONLY | O_CREAT | O_EXCL, 0600, f->sf_fs_opts, why,
                        STORE_WHY_MAX);
}

/* The temp file, complete (fd closed), renamed over the state file: 0;
 * -1 with why (the old file stays: the temp file is removed). */
static int rename_in(store_file *f, int fd, int sync_file, char *why)
{
    int err = 0;
    if (sync_file && !f->sf_no_fsync && counted_fsync(f, fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err != 0) {
        WHY("cannot write %s: %s", f->sf_tmp, strerror(err));
        unlink(f->sf_tmp);
        return -1;
    }
    FAULT(f, "store.before_rename");
    /* the old file keeps a name: closing it below then frees nothing (ms
     * for a large file); the next compaction's sync thread removes the name */
    if (f->sf_fd >= 0 && (unlink(f->sf_old) == 0 || errno == ENOENT))
        (void)link(f->sf_path, f->sf_old); /* failing: a slower close */
    if (rename(f->sf_tmp, f->sf_path) != 0) {
        WHY("cannot rename %s: %s", f->sf_tmp, strerror(errno));
        unlink(f->sf_tmp);
        unlink(f->sf_old);
        return -1;
    }
    FAULT(f, "store.after_rename");
    return 0;
}

int store__file_dir_fd(const store_file *f)
{
    return open(f->sf_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int store__file_switch(store_file *f, int *fdp, int sync_file, int sync_dir, char *why)
{
    int fd = *fdp;
    *fdp = -1;
    if (rename_in(f, fd, sync_file, why) != 0)
        return -1;
    /* From here on the new file is the state: failing to use it is fatal. */
    fd = dtc__fs_open(f->sf_path, O_WRONLY | O_APPEND, 0, f->sf_fs_opts, why, STORE_WHY_MAX);
    if (fd >= 0 && sync_dir && !f->sf_no_fsync && fsync_dir(f) != 0)
        WHY("cannot sync %s: %s", f->sf_dir, strerror(errno));
    if (fd < 0 || why[0] != '\0') {
        f->sf_failed = 1;
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (f->sf_fd >= 0)
        close(f->sf_fd);
    f->sf_fd = fd;
    f->sf_dirty = 0;
    return 0;
}
