/*
 * dlog_file.c - the decision log's files: the data directory (created
 * 0700, or 0770 for a group instance, and its whole path checked:
 * fspath.h), opening log files (never following a symlink, never
 * blocking on a FIFO, checked with fstat), the spare that becomes the
 * next file (a new file zero-filled, or an old one recycled with its
 * header's page cleared; temp file created exclusively, synced, renamed,
 * directory synced), the control file with the log's identity, copies
 * kept aside before a repair, listing and pruning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlog.h"
#include "fspath.h"

#define PATH_BUF (DTC_DATA_DIR_MAX + 64)
#define ZERO_CHUNK (1u << 20)
#define SPARE_PIECE (256u << 10) /* dtcd's spare goes to the disk in such pieces */
#define SPARE_TMP "dlog.spare.tmp" /* dtcd's spare in the making */
#define FREE_PREFIX "dlog.free." /* + the old file number: a pruned file kept for reuse */
#define FREE_TRIES 8              /* free files looked at for one spare */

static void log_errno(const char *what, const char *path)
{
    dtc_log(DTC_LOG_ERROR, "dlog_io", NULL, NULL, "op=%s path=%s error=%s", what, path,
            strerror(errno));
}

int dtc__dlog_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

dtc_result dtc__dlog_dir_prepare(const char *dir, bool group)
{
    char msg[DTC_FS_MSG_MAX];
    if (dir[0] != '/' || strlen(dir) >= DTC_DATA_DIR_MAX - 32) {
        dtc_log(DTC_LOG_ERROR, "dlog_dir", NULL, NULL,
                "path=%s error=\"not an absolute path\" max_bytes=%d", dir,
                DTC_DATA_DIR_MAX - 33);
        return DTC_ELOG;
    }
    if (dtc__fs_dir(dir, group, group ? 0770 : 0700, msg, sizeof msg) != 0) {
        dtc_log(DTC_LOG_ERROR, "dlog_dir", NULL, NULL, "path=%s error=%s", dir, msg);
        return DTC_ELOG;
    }
    return DTC_OK;
}

/* What is wrong with a file of this type, or NULL for a regular one. */
static const char *type_problem(mode_t m)
{
    return S_ISREG(m)    ? NULL
           : S_ISDIR(m)  ? "a directory, not a regular file"
           : S_ISFIFO(m) ? "a FIFO, not a regular file"
           : S_ISLNK(m)  ? "a symbolic link"
           : S_ISSOCK(m) ? "a socket, not a regular file"
                         : "a device, not a regular file";
}

int dtc__dlog_open_path(const char *path, int flags, const char **why)
{
    struct stat st;
    const char *w = NULL;
    int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        w = e == ELOOP ? "a symbolic link"
            : e == ENOENT ? "missing"
            : e == EISDIR ? "a directory, not a regular file"
            : e == ENXIO  ? "a socket or FIFO, not a regular file"
                          : "cannot be opened";
        if (why != NULL)
            *why = w;
        errno = e;
        return -1;
    }
    if (fstat(fd, &st) != 0)
        w = "cannot be examined (fstat)";
    else if ((w = type_problem(st.st_mode)) != NULL)
        ;
    else if (st.st_uid != geteuid())
        w = "owned by another user";
    else if (st.st_mode & 07117)
        w = "mode has execute, set-id or others' bits (want 0600 or 0660)";
    if (w != NULL) {
        close(fd);
        if (why != NULL)
            *why = w;
        errno = EPERM;
        return -1;
    }
    return fd;
}

int dtc__dlog_open(const char *dir, uint64_t fileno, int flags)
{
    char path[PATH_BUF];
    dtc__dlog_path(dir, fileno, path, sizeof path);
    return dtc__dlog_open_path(path, flags, NULL);
}

static const unsigned char zeros[ZERO_CHUNK];

/* Writes zero bytes over [from, to) of fd: allocated, written blocks, so
 * that later overwrites sync no metadata.  With push, each piece of
 * SPARE_PIECE bytes is sent to the disk before the next is written
 * (sync_file_range, no cache flush): no log sync ever finds more than
 * one piece in the disk's queue ahead of its own record. */
static int zero_fill(int fd, uint64_t from, uint64_t to, bool push)
{
    size_t most = push ? SPARE_PIECE : ZERO_CHUNK;
    while (from < to) {
        size_t n = to - from < most ? (size_t)(to - from) : most;
        ssize_t w = pwrite(fd, zeros, n, (off_t)from);
        if (w <= 0)
            return -1;
        if (push && sync_file_range(fd, (off_t)from, w, SYNC_FILE_RANGE_WAIT_BEFORE
                                    | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0)
            return -1;
        from += (uint64_t)w;
    }
    return 0;
}

/* Creates DIR/<tmp_name> afresh (a leftover of a crash is removed, never
 * followed); the descriptor or -1. */
static int create_tmp(const char *dir, const char *tmp_name, bool group)
{
    char tmp[PATH_BUF];
    snprintf(tmp, sizeof tmp, "%s/%s", dir, tmp_name);
    unlink(tmp);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, group ? 0660 : 0600);
    if (fd < 0)
        log_errno("create", tmp);
    return fd;
}

/* The filled temp file DIR/<tmp_name> (fd, closed here) becomes
 * DIR/dlog.spare: synced, renamed, directory synced. */
static dtc_result place_spare(const char *dir, const char *tmp_name, int fd)
{
    char tmp[PATH_BUF], spare[PATH_BUF];
    snprintf(tmp, sizeof tmp, "%s/%s", dir, tmp_name);
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    int rc = fdatasync(fd);
    close(fd);
    if (rc == 0)
        rc = rename(tmp, spare);
    if (rc == 0)
        rc = dtc__dlog_sync_dir(dir);
    if (rc != 0) {
        log_errno("make_spare", tmp);
        unlink(tmp);
        return DTC_ELOG;
    }
    return DTC_OK;
}

/* Renames `path` (a log file or a free file: checked, type, owner, mode,
 * file_size bytes) to DIR/<to>.  Its descriptor, or -1 with nothing
 * changed.  The caller syncs the directory. */
static int adopt(const char *dir, const char *path, const char *to, uint32_t file_size)
{
    char dst[PATH_BUF];
    struct stat st;
    snprintf(dst, sizeof dst, "%s/%s", dir, to);
    int fd = dtc__dlog_open_path(path, O_RDWR, NULL);
    if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_size != (off_t)file_size
                    || rename(path, dst) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* How many free files dir holds (at most `most` counted); the path of
 * one into path (size bytes) if any. */
static long free_files(const char *dir, long most, char *path, size_t size)
{
    DIR *d = opendir(dir);
    long n = 0;
    for (struct dirent *e; d != NULL && n < most && (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, FREE_PREFIX, sizeof FREE_PREFIX - 1) != 0)
            continue;
        if (n++ == 0 && path != NULL)
            snprintf(path, size, "%s/%s", dir, e->d_name);
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* Takes a free file as DIR/<tmp_name>: its descriptor, or -1 if none is
 * usable (one that fails its checks is removed).  Its header's page is
 * the caller's to clear. */
static int take_free(const char *dir, const char *tmp_name, uint32_t file_size)
{
    char path[PATH_BUF + 32];
    for (int i = 0; i < FREE_TRIES && free_files(dir, 1, path, sizeof path) > 0; i++) {
        int fd = adopt(dir, path, tmp_name, file_size);
        if (fd >= 0)
            return fd;
        unlink(path); /* not ours, or not a log file's size: never used */
    }
    return -1;
}

/* Makes DIR/dlog.spare through the temp file DIR/<tmp_name> at once (the
 * writer's, when dtcd has none ready): a free file if there is one, its
 * header's page cleared, else a new file with its blocks reserved. */
static dtc_result make_spare_via(const char *dir, const char *tmp_name, uint32_t file_size,
                                 bool group)
{
    int fd = take_free(dir, tmp_name, file_size);
    uint64_t clear = fd >= 0 ? DTC_DLOG_SPARE_CLEAR : file_size;
    if (fd < 0 && (fd = create_tmp(dir, tmp_name, group)) < 0)
        return DTC_ELOG;
    /* A new file: its blocks reserved (no ENOSPC later), reading as
     * zeros, nothing written.  Zero-filling it here, under the log's
     * lock, held every commit of the host: 16 MiB took 10-15 ms at C=64
     * (docs/performance.md, "Compaction without a fork").  Its first
     * writes then also mark their blocks written, so its syncs cost a
     * little more; dtcd's spares, made ahead, stay zero-filled.  Zeros
     * only where fallocate is not supported. */
    if (clear == file_size && fallocate(fd, 0, 0, (off_t)file_size) == 0)
        clear = 0;
    else if (clear == file_size && errno != EOPNOTSUPP && errno != ENOSYS) {
        log_errno("make_spare", tmp_name);
        close(fd);
        return DTC_ELOG;
    }
    if (zero_fill(fd, 0, clear, false) != 0) {
        log_errno("make_spare", tmp_name);
        close(fd);
        return DTC_ELOG;
    }
    return place_spare(dir, tmp_name, fd);
}

int dtc__dlog_spare_step(const char *dir, uint32_t file_size, bool group,
                         struct dtc__spare_job *job, uint64_t budget)
{
    if (job->sj_fd < 0) {
        job->sj_done = 0;
        job->sj_recycled = (job->sj_fd = take_free(dir, SPARE_TMP, file_size)) >= 0;
        if (job->sj_fd < 0 && (job->sj_fd = create_tmp(dir, SPARE_TMP, group)) < 0)
            return -1;
    }
    uint64_t need = job->sj_recycled ? DTC_DLOG_SPARE_CLEAR : file_size;
    uint64_t to = job->sj_done + budget < need ? job->sj_done + budget : need;
    if (zero_fill(job->sj_fd, job->sj_done, to, true) != 0) {
        log_errno("make_spare", SPARE_TMP);
        dtc__dlog_spare_drop(dir, job);
        return -1;
    }
    job->sj_done = to;
    if (to < need)
        return 0;
    int fd = job->sj_fd;
    job->sj_fd = -1;
    return place_spare(dir, SPARE_TMP, fd) == DTC_OK ? 1 : -1;
}

uint64_t dtc__dlog_spare_budget(struct dtc__spare_job *job, uint64_t written, uint32_t file_size)
{
    /* written is the segment's: only a pace, bounded here, never an index */
    uint64_t grew = written > job->sj_seen ? written - job->sj_seen : 0;
    job->sj_seen = written;
    uint64_t budget = grew < file_size / 2 ? 2 * grew : file_size;
    return budget > DTC_DLOG_SPARE_STEP ? budget : DTC_DLOG_SPARE_STEP;
}

void dtc__dlog_spare_drop(const char *dir, struct dtc__spare_job *job)
{
    char tmp[PATH_BUF];
    if (job->sj_fd < 0)
        return;
    close(job->sj_fd);
    job->sj_fd = -1;
    snprintf(tmp, sizeof tmp, "%s/" SPARE_TMP, dir);
    unlink(tmp);
}

/* rename(), never over an existing name (the directory is ours and only
 * the log's writer, under sh_dlog_lock, or dtcd makes these names). */
static int rename_new(const char *from, const char *to)
{
    struct stat st;
    if (lstat(to, &st) == 0 || errno != ENOENT) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

dtc_result dtc__dlog_write_header(const char *dir, uint64_t fileno, uint32_t file_size,
                                  const struct dtc__dlog_id *id, uint64_t prev_end)
{
    char path[PATH_BUF];
    unsigned char hdr[DTC_DLOG_FILE_HDR];
    dtc__dlog_path(dir, fileno, path, sizeof path);
    int fd = dtc__dlog_open(dir, fileno, O_RDWR);
    dtc__dlog_file_header(hdr, fileno, file_size, id, prev_end);
    /* synced before any record goes in: a file whose header is zero
     * never held a record (the scan's rule) */
    bool ok = fd >= 0 && pwrite(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr
              && fdatasync(fd) == 0 && dtc__dlog_sync_dir(dir) == 0;
    if (!ok)
        log_errno("new_file", path);
    if (fd >= 0)
        close(fd);
    return ok ? DTC_OK : DTC_ELOG;
}

/* True if the n bytes at p are all zero. */
static bool all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* True if log file `no` is a spare that a writer renamed in and died
 * (SIGKILL, OOM) before it was used: a regular file of ours, file_size
 * bytes, its header zero or this log's header of file `no` (written, the
 * writer dead before it moved the log there), nothing after it shaped
 * like a record of file `no` (zeros, or a recycled file's old records).
 * Such a file never held a record (records follow a synced header and
 * the move); left there, every later switch would fail on its name. */
static bool renamed_unused(const char *dir, uint64_t no, uint32_t file_size,
                           const struct dtc__dlog_id *id)
{
    struct stat st;
    int fd = dtc__dlog_open(dir, no, O_RDONLY);
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_size == (off_t)file_size;
    void *p = ok ? mmap(NULL, file_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    const unsigned char *m = p;
    if (fd >= 0)
        close(fd);
    if ((ok = p != MAP_FAILED) && !all_zero(m, DTC_DLOG_FILE_HDR)) {
        struct dtc__dlog_id fid;
        uint32_t size;
        uint64_t prev;
        ok = dtc__dlog_file_header_check(m, no, &size, &fid, &prev) == NULL
             && size == file_size && dtc__dlog_id_eq(&fid, id);
    }
    ok = ok && dtc__dlog_holds_none(m, file_size, no);
    if (p != MAP_FAILED)
        munmap(p, file_size);
    return ok;
}

dtc_result dtc__dlog_take_spare(const char *dir, uint64_t fileno, uint32_t file_size, bool group,
                                const struct dtc__dlog_id *id, uint64_t prev_end)
{
    char spare[PATH_BUF], path[PATH_BUF];
    struct stat st;
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    dtc__dlog_path(dir, fileno, path, sizeof path);
    if (lstat(path, &st) == 0 && renamed_unused(dir, fileno, file_size, id)) {
        dtc_log(DTC_LOG_WARN, "dlog_spare_reused", NULL, NULL,
                "file=%016llx why=\"renamed in by a writer that died before using it\"",
                (unsigned long long)fileno);
        return dtc__dlog_write_header(dir, fileno, file_size, id, prev_end);
    }
    /* Its own temp name: dtcd may be making dlog.spare.tmp right now (its
     * tick), and unlinking that one under it made both fail.  Writers take
     * this one under sh_dlog_lock, one at a time. */
    if ((lstat(spare, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)file_size)
        && make_spare_via(dir, "dlog.spare.writer", file_size, group) != DTC_OK)
        return DTC_ELOG;
    if (rename_new(spare, path) != 0) {
        log_errno("rename", spare);
        return DTC_ELOG;
    }
    dtc__fault("dlog.after_rename");
    return dtc__dlog_write_header(dir, fileno, file_size, id, prev_end);
}

/* The control file: magic, CRC32C of bytes 12..127, version, log id,
 * instance name. */
#define CTL_SIZE 128u
#define CTL_MAGIC "DTCDLCTL"
enum { C_MAGIC = 0, C_CRC = 8, C_VERSION = 12, C_LOGID = 16, C_INSTANCE = 32 };

dtc_result dtc__dlog_control_read(const char *dir, struct dtc__dlog_id *id)
{
    char path[PATH_BUF];
    const char *why = NULL;
    unsigned char b[CTL_SIZE + 1];
    uint32_t crc, version;
    snprintf(path, sizeof path, "%s/dlog.control", dir);
    int fd = dtc__dlog_open_path(path, O_RDONLY, &why);
    if (fd < 0 && errno == ENOENT)
        return DTC_ENOTFOUND;
    ssize_t n = fd >= 0 ? pread(fd, b, sizeof b, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (fd >= 0) {
        memcpy(&crc, b + C_CRC, 4);
        memcpy(&version, b + C_VERSION, 4);
        why = n != (ssize_t)CTL_SIZE                                   ? "wrong size"
              : memcmp(b, CTL_MAGIC, 8) != 0                          ? "bad magic"
              : dtc__crc32c(0, b + C_VERSION, CTL_SIZE - C_VERSION) != crc ? "CRC mismatch"
              : version != DTC_DLOG_VERSION                           ? "unknown version"
              : memchr(b + C_INSTANCE, '\0', DTC_INSTANCE_MAX) == NULL ? "instance not terminated"
                                                                       : NULL;
    }
    if (why != NULL) {
        dtc_log(DTC_LOG_ERROR, "dlog_refused", NULL, NULL, "file=%s error=%s", path, why);
        return DTC_ELOG;
    }
    memcpy(id->log_id, b + C_LOGID, 16);
    memcpy(id->instance, b + C_INSTANCE, DTC_INSTANCE_MAX);
    return DTC_OK;
}

dtc_result dtc__dlog_control_create(const char *dir, const char *instance, bool group,
                                    struct dtc__dlog_id *id)
{
    char tmp[PATH_BUF], path[PATH_BUF];
    unsigned char b[CTL_SIZE] = {0};
    uint32_t version = DTC_DLOG_VERSION;
    memset(id, 0, sizeof *id);
    if (getrandom(id->log_id, 16, 0) != 16) {
        log_errno("getrandom", dir);
        return DTC_ESYS;
    }
    dtc__strcopy(id->instance, instance, sizeof id->instance);
    memcpy(b, CTL_MAGIC, 8); // NOLINT(bugprone-not-null-terminated-result): 8 magic bytes, no NUL
    memcpy(b + C_VERSION, &version, 4);
    memcpy(b + C_LOGID, id->log_id, 16);
    memcpy(b + C_INSTANCE, id->instance, strlen(id->instance));
    uint32_t crc = dtc__crc32c(0, b + C_VERSION, CTL_SIZE - C_VERSION);
    memcpy(b + C_CRC, &crc, 4);
    snprintf(tmp, sizeof tmp, "%s/dlog.control.tmp", dir);
    snprintf(path, sizeof path, "%s/dlog.control", dir);
    unlink(tmp); /* a leftover of a crash; never followed */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, group ? 0660 : 0600);
    bool ok = fd >= 0 && write(fd, b, sizeof b) == (ssize_t)sizeof b && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename_new(tmp, path) == 0 && dtc__dlog_sync_dir(dir) == 0;
    if (!ok) {
        log_errno("control_create", path);
        unlink(tmp);
        return DTC_ELOG;
    }
    return DTC_OK;
}

dtc_result dtc__dlog_copy_aside(const char *dir, const char *name, const char *suffix,
                                uint64_t from, uint64_t to, char *out, size_t size)
{
    char src[PATH_BUF];
    static unsigned char buf[ZERO_CHUNK];
    snprintf(src, sizeof src, "%s/%s", dir, name);
    snprintf(out, size, "%s/%s.%s", dir, name, suffix);
    int in = dtc__dlog_open_path(src, O_RDONLY, NULL);
    int fd = in < 0 ? -1 : open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (uint64_t off = from; ok && (to == 0 || off < to);) {
        size_t want = to == 0 || to - off > sizeof buf ? sizeof buf : (size_t)(to - off);
        ssize_t n = pread(in, buf, want, (off_t)off);
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        ok = pwrite(fd, buf, (size_t)n, (off_t)(off - from)) == n;
        off += (uint64_t)n;
    }
    ok = ok && fsync(fd) == 0 && dtc__dlog_sync_dir(dir) == 0;
    if (!ok)
        log_errno("copy_aside", out);
    if (in >= 0)
        close(in);
    if (fd >= 0)
        close(fd);
    return ok ? DTC_OK : DTC_ELOG;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The file number of a directory entry named dlog.<16 hex>, or 0. */
static uint64_t fileno_of(const char *name)
{
    if (strncmp(name, "dlog.", 5) != 0 || strlen(name) != 21
        || strspn(name + 5, "0123456789abcdef") != 16)
        return 0;
    return strtoull(name + 5, NULL, 16);
}

long dtc__dlog_list(const char *dir, uint64_t **out)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 16;
    uint64_t *v = malloc(cap * sizeof *v);
    *out = NULL;
    if (d == NULL || v == NULL) {
        if (d)
            closedir(d);
        free(v);
        return -1;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        uint64_t no = fileno_of(e->d_name);
        if (no == 0)
            continue;
        if (n == cap) {
            uint64_t *nv = realloc(v, 2 * cap * sizeof *v);
            if (nv == NULL)
                break;
            v = nv;
            cap *= 2;
        }
        v[n++] = no;
    }
    closedir(d);
    qsort(v, n, sizeof *v, cmp_u64);
    *out = v;
    return (long)n;
}

bool dtc__dlog_spare_exists(const char *dir)
{
    char spare[PATH_BUF];
    struct stat st;
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    return lstat(spare, &st) == 0 || errno != ENOENT;
}

void dtc__dlog_spare_discard(const char *dir)
{
    static const char *const tails[] = {"", ".tmp", ".writer"}; /* SPARE_TMP, the writer's */
    char path[PATH_BUF + 32];
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(path, sizeof path, "%s/dlog.spare%s", dir, tails[i]);
        unlink(path);
    }
    for (int i = 0; i < (int)DTC_DLOG_MAX_FILES && free_files(dir, 1, path, sizeof path) > 0; i++)
        unlink(path);
}

/* Takes old log file `path` as dtcd's spare in the making: renamed to
 * SPARE_TMP, its header's page then cleared by the spare's step (its
 * records stay: they name the old file's positions, so none is ever
 * read as the new file's; PostgreSQL recycles its WAL segments so).
 * Its name leaves the log exactly as an unlink would (the caller syncs
 * the directory), yet nothing is freed: on a file system mounted
 * with discard, an unlink makes the disk discard the file's blocks, and
 * the log's syncs queued behind that (docs/performance.md, "Old log files
 * recycled").  True if taken (job holds it); false, nothing changed. */
static bool recycle(const char *dir, const char *path, uint32_t file_size,
                    struct dtc__spare_job *job)
{
    int fd = adopt(dir, path, SPARE_TMP, file_size);
    if (fd < 0)
        return false;
    job->sj_fd = fd;
    job->sj_done = 0;
    job->sj_recycled = true;
    return true;
}

/* Keeps log file `no` (at path) as a free file: renamed, not unlinked.
 * True if done. */
static bool set_free(const char *dir, uint64_t no, const char *path, uint32_t file_size)
{
    char name[48];
    snprintf(name, sizeof name, FREE_PREFIX "%016llx", (unsigned long long)no);
    int fd = adopt(dir, path, name, file_size);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

/* Taking old files out of the log (renamed to be reused, or unlinked:
 * both are deletions from the log's point of view).  What recovery needs
 * is a run of consecutive numbered files whose first one starts with a
 * copy of every live decision and journal checkpoint (a file switch
 * copies them), and the files below it add only history: a file deleted
 * here that a power cut brings back (its rename or unlink never reached
 * the disk) is read like any other old file and changes no outcome, and
 * is deleted again once the retention allows.
 * A gap does not read so well: the scan takes a missing middle file for
 * damage (a decision or journal record may have been in it) and dtcd
 * refuses the log.  So files go oldest first, and the directory is
 * synced after each deletion, before the next one: a file system may
 * write directory changes that no sync ordered in any order, and two
 * unsynced deletions could come back as "the older one restored, the
 * newer one gone".  One sync per file deleted (one per file switch, in
 * dtcd's tick, off the commit path).  A failed deletion or sync stops the
 * pruning for this tick, for the same reason (logged once a minute at
 * most: dtcd tries again every tick). */
void dtc__dlog_prune(const char *dir, uint64_t keep_from, uint32_t file_size,
                     struct dtc__spare_job *job, uint32_t free_max, uint32_t most)
{
    static int64_t quiet_until; /* dtcd's tick alone calls this */
    uint64_t *v;
    long n = dtc__dlog_list(dir, &v), nfree = -1;
    bool failed = false, want_spare = job != NULL && job->sj_fd < 0 && !dtc__dlog_spare_exists(dir);
    /* keep_from comes from the segment (hostile): whatever it says, the
     * newest DTC_DLOG_MIN_FILES files of the directory stay (the current
     * one among them, and with it the copy of every live decision) */
    if (n >= (long)DTC_DLOG_MIN_FILES && keep_from > v[n - DTC_DLOG_MIN_FILES])
        keep_from = v[n - DTC_DLOG_MIN_FILES];
    if (n < (long)DTC_DLOG_MIN_FILES)
        keep_from = 0;
    /* free files: at most as many as the log holds now (what it needed
     * lately), at most free_max */
    long most_free = n < (long)free_max ? n : (long)free_max;
    for (long i = 0; i < n && i < (long)most && v[i] < keep_from; i++) {
        char path[PATH_BUF];
        dtc__dlog_path(dir, v[i], path, sizeof path);
        dtc__fault("dlog.prune_before_unlink");
        bool recycled = want_spare && recycle(dir, path, file_size, job);
        want_spare = want_spare && !recycled;
        nfree = nfree < 0 && !recycled ? free_files(dir, most_free, NULL, 0) : nfree;
        bool freed = !recycled && nfree < most_free && set_free(dir, v[i], path, file_size);
        nfree += freed;
        bool gone = recycled || freed || unlink(path) == 0;
        if ((failed = !gone && errno != ENOENT)) {
            if (dtc__now_ns() >= quiet_until)
                log_errno("prune", path);
            break;
        }
        dtc__fault("dlog.prune_after_unlink");
        if ((failed = dtc__dlog_sync_dir(dir) != 0)) {
            if (dtc__now_ns() >= quiet_until)
                log_errno("prune_sync_dir", dir);
            break;
        }
        dtc__fault("dlog.prune_after_sync");
        if (gone)
            dtc_log(DTC_LOG_INFO, "dlog_prune", NULL, NULL, "file=%016llx",
                    (unsigned long long)v[i]);
    }
    if (failed && dtc__now_ns() >= quiet_until)
        quiet_until = dtc__now_ns() + 60000000000LL;
    free(v);
}

long dtc__dlog_free_count(const char *dir)
{
    return free_files(dir, (long)DTC_DLOG_MAX_FILES, NULL, 0);
}

bool dtc__dlog_trim_free(const char *dir, uint32_t keep)
{
    char path[PATH_BUF + 32];
    if (free_files(dir, (long)keep + 1, path, sizeof path) <= (long)keep || unlink(path) != 0)
        return false;
    dtc_log(DTC_LOG_INFO, "dlog_trim", NULL, NULL, "file=%s", path);
    return true;
}

dtc_result dtc__dlog_reset_tail(const char *dir, uint64_t fileno, uint64_t from, uint64_t to)
{
    if (to <= from)
        return DTC_OK;
    int fd = dtc__dlog_open(dir, fileno, O_RDWR);
    bool ok = fd >= 0 && zero_fill(fd, from, to, false) == 0 && fdatasync(fd) == 0;
    if (!ok)
        log_errno("reset_tail", dir);
    else
        dtc_log(DTC_LOG_WARN, "dlog_tail", NULL, NULL,
                "file=%016llx from=%llu cleared_bytes=%llu why=after_last_valid_record",
                (unsigned long long)fileno, (unsigned long long)from,
                (unsigned long long)(to - from));
    if (fd >= 0)
        close(fd);
    return ok ? DTC_OK : DTC_ELOG;
}

uint32_t dtc__dlog_existing_size(const char *dir)
{
    uint64_t *v;
    uint32_t size = 0;
    unsigned char hdr[DTC_DLOG_FILE_HDR];
    long n = dtc__dlog_list(dir, &v);
    for (long i = n - 1; i >= 0 && size == 0; i--) {
        struct dtc__dlog_id id;
        uint64_t prev;
        int fd = dtc__dlog_open(dir, v[i], O_RDONLY);
        if (fd < 0)
            continue;
        if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr
            || dtc__dlog_file_header_check(hdr, v[i], &size, &id, &prev) != NULL)
            size = 0;
        close(fd);
    }
    free(v);
    return size;
}
