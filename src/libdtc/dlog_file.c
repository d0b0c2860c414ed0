/*
 * dlog_file.c - the decision log's files: the data directory (created
 * 0700, or 0770 for a group instance, and its whole path checked:
 * fspath.h), opening log files without following symlinks,
 * the zero-filled spare that becomes the next file (temp file created
 * exclusively, synced, renamed, directory synced), listing and pruning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"
#include "fspath.h"

#define PATH_BUF (DTC_DATA_DIR_MAX + 64)
#define ZERO_CHUNK (1u << 20)

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

int dtc__dlog_open(const char *dir, uint64_t fileno, int flags)
{
    char path[PATH_BUF];
    struct stat st;
    dtc__dlog_path(dir, fileno, path, sizeof path);
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* Writes file_size zero bytes at fd's start: allocated, written blocks,
 * so that later overwrites sync no metadata. */
static int zero_fill(int fd, uint64_t from, uint64_t to)
{
    static const unsigned char zeros[ZERO_CHUNK];
    while (from < to) {
        size_t n = to - from < ZERO_CHUNK ? (size_t)(to - from) : ZERO_CHUNK;
        ssize_t w = pwrite(fd, zeros, n, (off_t)from);
        if (w <= 0)
            return -1;
        from += (uint64_t)w;
    }
    return 0;
}

dtc_result dtc__dlog_make_spare(const char *dir, uint32_t file_size, bool group)
{
    char tmp[PATH_BUF], spare[PATH_BUF];
    snprintf(tmp, sizeof tmp, "%s/dlog.spare.tmp", dir);
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    unlink(tmp); /* a leftover of a crash; never followed */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, group ? 0660 : 0600);
    if (fd < 0) {
        log_errno("create", tmp);
        return DTC_ELOG;
    }
    int rc = zero_fill(fd, 0, file_size) == 0 && fdatasync(fd) == 0 ? 0 : -1;
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

dtc_result dtc__dlog_take_spare(const char *dir, uint64_t fileno, uint32_t file_size, bool group)
{
    char spare[PATH_BUF], path[PATH_BUF];
    struct stat st;
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    dtc__dlog_path(dir, fileno, path, sizeof path);
    if ((lstat(spare, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)file_size)
        && dtc__dlog_make_spare(dir, file_size, group) != DTC_OK)
        return DTC_ELOG;
    if (rename(spare, path) != 0) {
        log_errno("rename", spare);
        return DTC_ELOG;
    }
    dtc__fault("dlog.after_rename");
    int fd = dtc__dlog_open(dir, fileno, O_RDWR);
    unsigned char hdr[DTC_DLOG_FILE_HDR];
    dtc__dlog_file_header(hdr, fileno, file_size);
    bool ok = fd >= 0 && pwrite(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr
              && dtc__dlog_sync_dir(dir) == 0;
    if (!ok)
        log_errno("new_file", path);
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

void dtc__dlog_prune(const char *dir, uint64_t keep_from)
{
    uint64_t *v;
    long n = dtc__dlog_list(dir, &v);
    for (long i = 0; i < n && v[i] < keep_from; i++) {
        char path[PATH_BUF];
        dtc__dlog_path(dir, v[i], path, sizeof path);
        if (unlink(path) == 0)
            dtc_log(DTC_LOG_INFO, "dlog_prune", NULL, NULL, "file=%016llx",
                    (unsigned long long)v[i]);
    }
    free(v);
}

/* True if the n bytes at p are all zero. */
static bool all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

dtc_result dtc__dlog_reset_tail(const char *dir, uint64_t fileno, uint64_t from, uint32_t size)
{
    static unsigned char chunk[ZERO_CHUNK / 16];
    int fd = dtc__dlog_open(dir, fileno, O_RDWR);
    bool ok = fd >= 0;
    uint64_t cleared = 0;
    for (uint64_t off = from; ok && off < size; off += sizeof chunk) {
        size_t n = size - off < sizeof chunk ? (size_t)(size - off) : sizeof chunk;
        ssize_t r = pread(fd, chunk, n, (off_t)off);
        ok = r == (ssize_t)n;
        if (ok && !all_zero(chunk, n)) {
            ok = zero_fill(fd, off, off + n) == 0;
            cleared += n;
        }
    }
    ok = ok && fdatasync(fd) == 0;
    if (!ok)
        log_errno("reset_tail", dir);
    else if (cleared > 0)
        dtc_log(DTC_LOG_WARN, "dlog_tail", NULL, NULL,
                "file=%016llx from=%llu cleared_bytes=%llu why=after_last_valid_record",
                (unsigned long long)fileno, (unsigned long long)from, (unsigned long long)cleared);
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
        int fd = dtc__dlog_open(dir, v[i], O_RDONLY);
        if (fd < 0)
            continue;
        if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr
            || dtc__dlog_file_header_check(hdr, v[i], &size) != 0)
            size = 0;
        close(fd);
    }
    free(v);
    return size;
}
