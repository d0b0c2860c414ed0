/*
 * powercut_preload.c - libdtc_powercut.so, a test-only LD_PRELOAD library
 * that journals every change a process makes to the files under
 * $DTC_POWERCUT_ROOT, so that dtc-powercut (powercut_apply.c) can later
 * undo whatever a power cut would have lost.  The journal format and the
 * durability rules are in powercut.h.
 *
 * Enabled only when $DTC_POWERCUT_JOURNAL names the journal (opened
 * O_APPEND, shared by every process of a test: one global order) and
 * $DTC_POWERCUT_ROOT names the tracked tree.  Disabled inside dtc-powercut
 * itself.
 *
 * Interposed (dlsym RTLD_NEXT): open/open64/openat/openat64/creat/creat64
 * (creation, O_TRUNC), write, pwrite/pwrite64, writev, pwritev/pwritev64,
 * ftruncate/ftruncate64, fallocate/fallocate64,
 * posix_fallocate/posix_fallocate64, fsync, fdatasync, rename, renameat,
 * unlink, unlinkat, link, linkat, fopen/fopen64 (creation and truncation only: stdio's
 * own writes call the kernel directly and are NOT seen, so code under test
 * must write with write/pwrite).  Not seen: mmap'ed writes, sync(),
 * syncfs(), sync_file_range (never durable here: conservative), mkdir,
 * renameat2, O_TMPFILE, the fortified __open_2.
 *
 * There is no fd table: every call looks its descriptor up again (fstat for
 * the inode, /proc/self/fd for the path), so dup, fork, exec, close_range
 * and stdio's internal close cannot leave it stale.  Each change is
 * journaled before it is made (old bytes are read through a fresh
 * read-only descriptor of /proc/self/fd/N) and its outcome after.
 *
 * Hot path: no malloc (saved bytes go on the stack up to 8 KiB, else in an
 * anonymous mapping), only system calls; a thread-local guard stops
 * recursion; errno is preserved across the journaling.  A change that
 * cannot be journaled appends PC_ERROR, which makes the applier fail.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload_util.h"
#include "powercut.h"

#define PC_PATH 4096
#define PC_STACK_BYTES 8192
#define PC_MAX_SAVE ((uint64_t)256 << 20) /* refuse to save more: PC_ERROR */
#define PC_JOURNAL_FD_MIN 900

#define PC_EXPORT __attribute__((visibility("default")))

/* ---- real functions -------------------------------------------------------- */

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off64_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off64_t, off64_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_posix_fallocate64)(int, off64_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_linkat)(int, const char *, int, const char *, int);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);

#define PC_REAL(name)                                                                    \
    do {                                                                                 \
        if (real_##name == NULL)                                                         \
            *(void **)&real_##name = dlsym(RTLD_NEXT, #name);                            \
    } while (0)

/* ---- state ------------------------------------------------------------------ */

static int pc_enabled;             /* set once by the constructor */
static int pc_jfd = -1;            /* the journal */
static dev_t pc_jdev;
static ino_t pc_jino;
static char pc_jpath[PC_PATH];
static char pc_root[PC_PATH];      /* canonical, no trailing slash */
static size_t pc_root_len;
static _Atomic uint64_t pc_seq_next = 1;
static __thread int pc_busy __attribute__((tls_model("initial-exec")));

/* ---- small async-signal-safe helpers ------------------------------------------ */


/* dst = a + "/" + b, 0 or -1 if too long. */
static int pc_join(char *dst, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + 1 + lb + 1 > cap)
        return -1;
    memcpy(dst, a, la);
    dst[la] = '/';
    memcpy(dst + la + 1, b, lb + 1);
    return 0;
}


static int pc_under_root(const char *path)
{
    return strncmp(path, pc_root, pc_root_len) == 0
           && (path[pc_root_len] == '\0' || path[pc_root_len] == '/');
}

/* ---- the journal -------------------------------------------------------------- */

/* The journal descriptor, reopened if the process closed or reused it. */
static int pc_journal_fd(void)
{
    struct stat sb;
    if (pc_jfd >= 0 && fstat(pc_jfd, &sb) == 0 && sb.st_dev == pc_jdev
        && sb.st_ino == pc_jino)
        return pc_jfd;
    PC_REAL(open);
    int fd = real_open(pc_jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, PC_JOURNAL_FD_MIN);
    if (hi >= 0) {
        close(fd);
        fd = hi;
    }
    pc_jfd = fd;
    return fd;
}

static void pc_append(pc_rec *h, const char *p1, const char *p2, const char *p3,
                      const void *data, size_t dlen)
{
    struct iovec iov[5];
    const char *p[3] = {p1, p2, p3};
    int n = 1;
    size_t total = sizeof *h;
    h->pc_magic = PC_MAGIC;
    h->pc_pid = (int32_t)getpid();
    for (int i = 0; i < 3; i++) {
        size_t l = p[i] ? strlen(p[i]) : 0;
        h->pc_plen[i] = (uint32_t)l;
        if (l) {
            iov[n].iov_base = (void *)p[i];
            iov[n++].iov_len = l;
            total += l;
        }
    }
    h->pc_dlen = (uint32_t)dlen;
    if (dlen) {
        iov[n].iov_base = (void *)data;
        iov[n++].iov_len = dlen;
        total += dlen;
    }
    h->pc_size = (uint32_t)total;
    iov[0].iov_base = h;
    iov[0].iov_len = sizeof *h;
    int fd = pc_journal_fd();
    PC_REAL(writev);
    ssize_t w = fd >= 0 ? real_writev(fd, iov, n) : -1;
    if (w != (ssize_t)total) {
        static const char msg[] = "libdtc_powercut: cannot append to the journal\n";
        PC_REAL(write);
        real_write(2, msg, sizeof msg - 1);
    }
}

static uint64_t pc_next_seq(void)
{
    return atomic_fetch_add(&pc_seq_next, 1);
}

static void pc_error(const char *what, const char *path)
{
    pc_rec h;
    memset(&h, 0, sizeof h);
    h.pc_type = PC_ERROR;
    h.pc_seq = pc_next_seq();
    pc_append(&h, what, path, NULL, NULL, 0);
}

/* The outcome of change (pid, seq); st (may be NULL) the created file. */
static void pc_end(uint64_t seq, int64_t result, const struct stat *st)
{
    pc_rec h;
    memset(&h, 0, sizeof h);
    h.pc_type = PC_END;
    h.pc_seq = seq;
    h.pc_result = result;
    if (st) {
        h.pc_dev = st->st_dev;
        h.pc_ino = st->st_ino;
    }
    pc_append(&h, NULL, NULL, NULL, NULL, 0);
}

/* ---- guard ---------------------------------------------------------------------- */

/* 1 if the caller may journal (guard taken), 0 to pass straight through. */
static int pc_enter(void)
{
    if (!pc_enabled || pc_busy)
        return 0;
    pc_busy = 1;
    return 1;
}

static void pc_leave(void)
{
    pc_busy = 0;
}

/* ---- data changes ----------------------------------------------------------------- */

typedef struct pc_fd {
    struct stat st;
    char path[PC_PATH];
    int flags; /* F_GETFL */
} pc_fd;

/* 1 if fd is a tracked regular file (or directory if dirs_too). */
static int pc_fd_tracked(int fd, pc_fd *f, int dirs_too)
{
    if (fstat(fd, &f->st) != 0)
        return 0;
    if (!(S_ISREG(f->st.st_mode) || (dirs_too && S_ISDIR(f->st.st_mode))))
        return 0;
    if (f->st.st_dev == pc_jdev && f->st.st_ino == pc_jino)
        return 0;
    if (preload_fd_path(fd, f->path, sizeof f->path) != 0 || !pc_under_root(f->path))
        return 0;
    f->flags = fcntl(fd, F_GETFL);
    return 1;
}

/* Journals a change to [off, off+len) of f (off < 0: the current offset or
 * EOF); save_data 0 when the change cannot alter existing bytes (plain
 * fallocate).  trunc_to >= 0 makes it a PC_TRUNC to that size.  Returns
 * the seq for pc_end. */
static uint64_t pc_data_change(int fd, pc_fd *f, int64_t off, uint64_t len, int save_data,
                               int64_t trunc_to)
{
    pc_rec h;
    memset(&h, 0, sizeof h);
    uint64_t size = (uint64_t)f->st.st_size;
    h.pc_seq = pc_next_seq();
    h.pc_dev = f->st.st_dev;
    h.pc_ino = f->st.st_ino;
    h.pc_old_size = size;
    if (f->flags >= 0 && (f->flags & (O_SYNC | O_DSYNC)))
        h.pc_flags |= PC_F_SYNCIO;
    uint64_t from, to; /* saved range */
    if (trunc_to >= 0) {
        h.pc_type = PC_TRUNC;
        h.pc_off = (uint64_t)trunc_to;
        from = (uint64_t)trunc_to;
        to = size;
    } else {
        h.pc_type = PC_WRITE;
        if (off < 0) {
            if (f->flags >= 0 && (f->flags & O_APPEND))
                off = (int64_t)size;
            else
                off = (int64_t)lseek(fd, 0, SEEK_CUR);
        }
        if (off < 0) {
            pc_error("no offset", f->path);
            return h.pc_seq;
        }
        h.pc_off = (uint64_t)off;
        h.pc_len = len;
        from = (uint64_t)off;
        to = (uint64_t)off + len < size ? (uint64_t)off + len : size;
        if (!save_data)
            to = from;
    }
    uint64_t dlen = to > from ? to - from : 0;
    if (dlen > PC_MAX_SAVE) {
        pc_error("range too large to save", f->path);
        return h.pc_seq;
    }
    char stackbuf[PC_STACK_BYTES];
    char *buf = stackbuf;
    uint64_t maplen = dlen;
    if (dlen > sizeof stackbuf) {
        buf = mmap(NULL, dlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED) {
            pc_error("no memory to save bytes", f->path);
            return h.pc_seq;
        }
    }
    if (dlen) {
        char link[40] = "/proc/self/fd/";
        preload_utoa((uint64_t)fd, link + strlen(link));
        PC_REAL(open);
        int rfd = real_open(link, O_RDONLY | O_CLOEXEC);
        uint64_t got = 0;
        while (rfd >= 0 && got < dlen) {
            ssize_t r = pread(rfd, buf + got, dlen - got, (off_t)(from + got));
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                break;
            }
            got += (uint64_t)r;
        }
        if (rfd >= 0)
            close(rfd);
        if (got != dlen) {
            pc_error("cannot read the old bytes", f->path);
            dlen = 0;
        }
    }
    pc_append(&h, f->path, NULL, NULL, buf, dlen);
    if (buf != stackbuf)
        munmap(buf, maplen);
    return h.pc_seq;
}

/* The common body of every write-like call. */
#define PC_DATA_CALL(fd, off, len, save, trunc_to, call)                               \
    do {                                                                               \
        int e_ = errno;                                                                \
        pc_fd f_;                                                                      \
        if (!pc_enter())                                                               \
            return call;                                                               \
        if (!pc_fd_tracked(fd, &f_, 0)) {                                              \
            pc_leave();                                                                \
            errno = e_;                                                                \
            return call;                                                               \
        }                                                                              \
        uint64_t seq_ = pc_data_change(fd, &f_, off, len, save, trunc_to);             \
        errno = e_;                                                                    \
        __typeof__(call) r_ = call;                                                    \
        e_ = errno;                                                                    \
        pc_end(seq_, (int64_t)r_, NULL);                                               \
        pc_leave();                                                                    \
        errno = e_;                                                                    \
        return r_;                                                                     \
    } while (0)

static uint64_t pc_iov_len(const struct iovec *iov, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

PC_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    PC_REAL(write);
    if (n == 0)
        return real_write(fd, buf, n);
    PC_DATA_CALL(fd, -1, n, 1, -1, real_write(fd, buf, n));
}

PC_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    PC_REAL(pwrite);
    if (n == 0 || off < 0)
        return real_pwrite(fd, buf, n, off);
    PC_DATA_CALL(fd, off, n, 1, -1, real_pwrite(fd, buf, n, off));
}

PC_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    PC_REAL(pwrite64);
    if (n == 0 || off < 0)
        return real_pwrite64(fd, buf, n, off);
    PC_DATA_CALL(fd, off, n, 1, -1, real_pwrite64(fd, buf, n, off));
}

PC_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    PC_REAL(writev);
    uint64_t n = cnt > 0 ? pc_iov_len(iov, cnt) : 0;
    if (n == 0)
        return real_writev(fd, iov, cnt);
    PC_DATA_CALL(fd, -1, n, 1, -1, real_writev(fd, iov, cnt));
}

PC_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    PC_REAL(pwritev);
    uint64_t n = cnt > 0 ? pc_iov_len(iov, cnt) : 0;
    if (n == 0 || off < 0)
        return real_pwritev(fd, iov, cnt, off);
    PC_DATA_CALL(fd, off, n, 1, -1, real_pwritev(fd, iov, cnt, off));
}

PC_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    PC_REAL(pwritev64);
    uint64_t n = cnt > 0 ? pc_iov_len(iov, cnt) : 0;
    if (n == 0 || off < 0)
        return real_pwritev64(fd, iov, cnt, off);
    PC_DATA_CALL(fd, off, n, 1, -1, real_pwritev64(fd, iov, cnt, off));
}

PC_EXPORT int ftruncate(int fd, off_t len)
{
    PC_REAL(ftruncate);
    if (len < 0)
        return real_ftruncate(fd, len);
    PC_DATA_CALL(fd, 0, 0, 1, len, real_ftruncate(fd, len));
}

PC_EXPORT int ftruncate64(int fd, off64_t len)
{
    PC_REAL(ftruncate64);
    if (len < 0)
        return real_ftruncate64(fd, len);
    PC_DATA_CALL(fd, 0, 0, 1, len, real_ftruncate64(fd, len));
}

/* fallocate mode 0 only grows the file; other modes (punch hole, zero
 * range, collapse) change bytes: save the range. */
PC_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
    PC_REAL(fallocate);
    if (off < 0 || len <= 0)
        return real_fallocate(fd, mode, off, len);
    PC_DATA_CALL(fd, off, (uint64_t)len, mode != 0, -1, real_fallocate(fd, mode, off, len));
}

PC_EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    PC_REAL(fallocate64);
    if (off < 0 || len <= 0)
        return real_fallocate64(fd, mode, off, len);
    PC_DATA_CALL(fd, off, (uint64_t)len, mode != 0, -1,
                 real_fallocate64(fd, mode, off, len));
}

PC_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
    PC_REAL(posix_fallocate);
    if (off < 0 || len <= 0)
        return real_posix_fallocate(fd, off, len);
    PC_DATA_CALL(fd, off, (uint64_t)len, 0, -1, real_posix_fallocate(fd, off, len));
}

PC_EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    PC_REAL(posix_fallocate64);
    if (off < 0 || len <= 0)
        return real_posix_fallocate64(fd, off, len);
    PC_DATA_CALL(fd, off, (uint64_t)len, 0, -1, real_posix_fallocate64(fd, off, len));
}

/* ---- syncs ------------------------------------------------------------------------- */

static int pc_sync(int fd, int (*fn)(int))
{
    int e = errno;
    pc_fd f;
    if (!pc_enter())
        return fn(fd);
    if (!pc_fd_tracked(fd, &f, 1)) {
        pc_leave();
        errno = e;
        return fn(fd);
    }
    pc_rec h;
    memset(&h, 0, sizeof h);
    h.pc_type = PC_SYNC_BEGIN;
    h.pc_seq = pc_next_seq();
    h.pc_dev = f.st.st_dev;
    h.pc_ino = f.st.st_ino;
    if (S_ISDIR(f.st.st_mode))
        h.pc_flags |= PC_F_DIR;
    pc_append(&h, f.path, NULL, NULL, NULL, 0);
    errno = e;
    int r = fn(fd);
    e = errno;
    h.pc_type = PC_SYNC_END;
    h.pc_result = r;
    pc_append(&h, NULL, NULL, NULL, NULL, 0);
    pc_leave();
    errno = e;
    return r;
}

PC_EXPORT int fsync(int fd)
{
    PC_REAL(fsync);
    return pc_sync(fd, real_fsync);
}

PC_EXPORT int fdatasync(int fd)
{
    PC_REAL(fdatasync);
    return pc_sync(fd, real_fdatasync);
}

/* ---- names -------------------------------------------------------------------------- */

/* A path split for journaling: canonical directory, its identity, the
 * canonical full name. */
typedef struct pc_name {
    char dir[PC_PATH];
    char full[PC_PATH];
    const char *base;
    struct stat dst; /* the directory */
} pc_name;

/* 1 if (dirfd, path) names an entry in a tracked directory. */
static int pc_resolve(int dirfd, const char *path, pc_name *n)
{
    char dpart[PC_PATH];
    const char *slash = strrchr(path, '/');
    int dfd;
    PC_REAL(openat);
    if (slash == NULL) {
        n->base = path;
        dfd = real_openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    } else {
        size_t l = (size_t)(slash - path);
        if (l + 1 > sizeof dpart)
            return 0;
        memcpy(dpart, path, l);
        dpart[l] = '\0';
        if (l == 0)
            memcpy(dpart, "/", 2);
        n->base = slash + 1;
        dfd = real_openat(dirfd, dpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (dfd < 0)
        return 0;
    int ok = fstat(dfd, &n->dst) == 0 && preload_fd_path(dfd, n->dir, sizeof n->dir) == 0;
    close(dfd);
    if (!ok || n->base[0] == '\0' || strcmp(n->base, ".") == 0 || strcmp(n->base, "..") == 0)
        return 0;
    if (!pc_under_root(n->dir))
        return 0;
    if (strcmp(n->dir, "/") == 0)
        return 0;
    return pc_join(n->full, sizeof n->full, n->dir, n->base) == 0;
}

/* dir/.dtcpc.<pid>.<seq>.bak */
static int pc_backup_name(char *out, size_t cap, const char *dir, uint64_t seq)
{
    char name[80] = PC_BACKUP_PREFIX;
    size_t l = strlen(name);
    l += preload_utoa((uint64_t)getpid(), name + l);
    name[l++] = '.';
    l += preload_utoa(seq, name + l);
    memcpy(name + l, ".bak", 5);
    return pc_join(out, cap, dir, name);
}

/* What an open is about to do, journaled before it. */
typedef struct pc_open_ctx {
    int active;     /* guard taken */
    uint64_t seq;   /* 0: nothing journaled */
} pc_open_ctx;

static void pc_open_pre(int dirfd, const char *path, int flags, pc_open_ctx *c)
{
    c->active = 0;
    c->seq = 0;
    if (!(flags & (O_CREAT | O_TRUNC)) || (flags & O_PATH) || path == NULL)
        return;
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return;
    if (!pc_enter())
        return;
    c->active = 1;
    int e = errno;
    pc_name n;
    if (!pc_resolve(dirfd, path, &n)) {
        errno = e;
        return;
    }
    struct stat sb;
    if (fstatat(AT_FDCWD, n.full, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT && (flags & O_CREAT)) {
            pc_rec h;
            memset(&h, 0, sizeof h);
            h.pc_type = PC_CREATE;
            h.pc_seq = c->seq = pc_next_seq();
            h.pc_ddev = n.dst.st_dev;
            h.pc_dino = n.dst.st_ino;
            pc_append(&h, n.full, NULL, NULL, NULL, 0);
        }
    } else if (S_ISREG(sb.st_mode) && (flags & O_TRUNC) && !(flags & O_EXCL)
               && sb.st_size > 0 && (flags & O_ACCMODE) != O_RDONLY) {
        /* Truncated by the open: save the bytes through a read-only fd. */
        PC_REAL(open);
        int rfd = real_open(n.full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        pc_fd f;
        if (rfd >= 0 && pc_fd_tracked(rfd, &f, 0))
            c->seq = pc_data_change(rfd, &f, 0, 0, 1, 0);
        else
            pc_error("cannot save a file truncated by open", n.full);
        if (rfd >= 0)
            close(rfd);
    }
    errno = e;
}

static void pc_open_post(pc_open_ctx *c, int fd)
{
    if (!c->active)
        return;
    int e = errno;
    if (c->seq) {
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0)
            pc_end(c->seq, fd, &sb);
        else
            pc_end(c->seq, fd >= 0 ? 0 : -1, NULL);
    }
    pc_leave();
    errno = e;
}

#define PC_OPEN_MODE(flags, mode)                                                       \
    mode_t mode = 0;                                                                    \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                                              \
        va_list ap_;                                                                    \
        va_start(ap_, flags);                                                           \
        mode = (mode_t)va_arg(ap_, int);                                                \
        va_end(ap_);                                                                    \
    }

PC_EXPORT int open(const char *path, int flags, ...)
{
    PC_OPEN_MODE(flags, mode);
    PC_REAL(open);
    pc_open_ctx c;
    pc_open_pre(AT_FDCWD, path, flags, &c);
    int fd = real_open(path, flags, mode);
    pc_open_post(&c, fd);
    return fd;
}

PC_EXPORT int open64(const char *path, int flags, ...)
{
    PC_OPEN_MODE(flags, mode);
    PC_REAL(open64);
    pc_open_ctx c;
    pc_open_pre(AT_FDCWD, path, flags, &c);
    int fd = real_open64(path, flags, mode);
    pc_open_post(&c, fd);
    return fd;
}

PC_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    PC_OPEN_MODE(flags, mode);
    PC_REAL(openat);
    pc_open_ctx c;
    pc_open_pre(dirfd, path, flags, &c);
    int fd = real_openat(dirfd, path, flags, mode);
    pc_open_post(&c, fd);
    return fd;
}

PC_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    PC_OPEN_MODE(flags, mode);
    PC_REAL(openat64);
    pc_open_ctx c;
    pc_open_pre(dirfd, path, flags, &c);
    int fd = real_openat64(dirfd, path, flags, mode);
    pc_open_post(&c, fd);
    return fd;
}

PC_EXPORT int creat(const char *path, mode_t mode)
{
    PC_REAL(creat);
    pc_open_ctx c;
    pc_open_pre(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, &c);
    int fd = real_creat(path, mode);
    pc_open_post(&c, fd);
    return fd;
}

PC_EXPORT int creat64(const char *path, mode_t mode)
{
    PC_REAL(creat64);
    pc_open_ctx c;
    pc_open_pre(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, &c);
    int fd = real_creat64(path, mode);
    pc_open_post(&c, fd);
    return fd;
}

/* fopen's open flags, for the creation and truncation it makes. */
static int pc_fopen_flags(const char *mode)
{
    int flags = 0;
    if (mode == NULL)
        return 0;
    if (mode[0] == 'w')
        flags = O_CREAT | O_TRUNC | O_WRONLY;
    else if (mode[0] == 'a')
        flags = O_CREAT | O_WRONLY;
    if (strchr(mode, 'x'))
        flags |= O_EXCL;
    return flags;
}

PC_EXPORT FILE *fopen(const char *path, const char *mode)
{
    PC_REAL(fopen);
    pc_open_ctx c;
    pc_open_pre(AT_FDCWD, path, pc_fopen_flags(mode), &c);
    FILE *f = real_fopen(path, mode);
    pc_open_post(&c, f ? fileno(f) : -1);
    return f;
}

PC_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    PC_REAL(fopen64);
    pc_open_ctx c;
    pc_open_pre(AT_FDCWD, path, pc_fopen_flags(mode), &c);
    FILE *f = real_fopen64(path, mode);
    pc_open_post(&c, f ? fileno(f) : -1);
    return f;
}

static int pc_renameat(int ofd, const char *from, int nfd, const char *to)
{
    PC_REAL(renameat);
    int e = errno;
    if (!pc_enter())
        return real_renameat(ofd, from, nfd, to);
    pc_name a, b;
    struct stat sa, sb;
    int ta = pc_resolve(ofd, from, &a), tb = pc_resolve(nfd, to, &b);
    if (!(ta && tb) || fstatat(AT_FDCWD, a.full, &sa, AT_SYMLINK_NOFOLLOW) != 0) {
        if (ta != tb)
            pc_error("rename across the tracked root", ta ? a.full : to);
        pc_leave();
        errno = e;
        return real_renameat(ofd, from, nfd, to);
    }
    pc_rec h;
    memset(&h, 0, sizeof h);
    char backup[PC_PATH];
    backup[0] = '\0';
    h.pc_type = PC_RENAME;
    h.pc_seq = pc_next_seq();
    h.pc_dev = sa.st_dev;
    h.pc_ino = sa.st_ino;
    h.pc_ddev = b.dst.st_dev;
    h.pc_dino = b.dst.st_ino;
    h.pc_sdev = a.dst.st_dev;
    h.pc_sino = a.dst.st_ino;
    if (fstatat(AT_FDCWD, b.full, &sb, AT_SYMLINK_NOFOLLOW) == 0
        && !(sb.st_dev == sa.st_dev && sb.st_ino == sa.st_ino)) {
        h.pc_flags |= PC_F_HAD_OLD;
        h.pc_old_size = (uint64_t)sb.st_ino; /* the replaced inode */
        if (S_ISDIR(sb.st_mode) || pc_backup_name(backup, sizeof backup, b.dir, h.pc_seq) != 0
            || link(b.full, backup) != 0) {
            h.pc_flags |= PC_F_NOBACKUP;
            backup[0] = '\0';
        }
    }
    pc_append(&h, a.full, b.full, backup[0] ? backup : NULL, NULL, 0);
    errno = e;
    int r = real_renameat(ofd, from, nfd, to);
    e = errno;
    pc_end(h.pc_seq, r, NULL);
    pc_leave();
    errno = e;
    return r;
}

PC_EXPORT int rename(const char *from, const char *to)
{
    return pc_renameat(AT_FDCWD, from, AT_FDCWD, to);
}

PC_EXPORT int renameat(int ofd, const char *from, int nfd, const char *to)
{
    return pc_renameat(ofd, from, nfd, to);
}

static int pc_unlinkat(int dirfd, const char *path, int flags)
{
    PC_REAL(unlinkat);
    int e = errno;
    if ((flags & AT_REMOVEDIR) || !pc_enter())
        return real_unlinkat(dirfd, path, flags);
    pc_name n;
    struct stat sb;
    if (!pc_resolve(dirfd, path, &n) || fstatat(AT_FDCWD, n.full, &sb, AT_SYMLINK_NOFOLLOW) != 0
        || S_ISDIR(sb.st_mode)) {
        pc_leave();
        errno = e;
        return real_unlinkat(dirfd, path, flags);
    }
    pc_rec h;
    memset(&h, 0, sizeof h);
    char backup[PC_PATH];
    h.pc_type = PC_UNLINK;
    h.pc_seq = pc_next_seq();
    h.pc_dev = sb.st_dev;
    h.pc_ino = sb.st_ino;
    h.pc_ddev = n.dst.st_dev;
    h.pc_dino = n.dst.st_ino;
    if (pc_backup_name(backup, sizeof backup, n.dir, h.pc_seq) != 0
        || link(n.full, backup) != 0) {
        h.pc_flags |= PC_F_NOBACKUP;
        backup[0] = '\0';
    }
    pc_append(&h, n.full, NULL, backup[0] ? backup : NULL, NULL, 0);
    errno = e;
    int r = real_unlinkat(dirfd, path, flags);
    e = errno;
    pc_end(h.pc_seq, r, NULL);
    pc_leave();
    errno = e;
    return r;
}

PC_EXPORT int unlink(const char *path)
{
    return pc_unlinkat(AT_FDCWD, path, 0);
}

PC_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
    return pc_unlinkat(dirfd, path, flags);
}

/* A new name for an existing file (the services keep a replaced state
 * file's inode named NAME.state.old): undone by removing that name. */
static int pc_linkat(int ofd, const char *from, int nfd, const char *to, int flags)
{
    PC_REAL(linkat);
    int e = errno;
    if (!pc_enter())
        return real_linkat(ofd, from, nfd, to, flags);
    pc_name n;
    struct stat sb;
    int follow = (flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW;
    if (!pc_resolve(nfd, to, &n) || fstatat(ofd, from, &sb, follow) != 0) {
        pc_leave();
        errno = e;
        return real_linkat(ofd, from, nfd, to, flags);
    }
    pc_rec h;
    memset(&h, 0, sizeof h);
    h.pc_type = PC_LINK;
    h.pc_seq = pc_next_seq();
    h.pc_dev = sb.st_dev;
    h.pc_ino = sb.st_ino;
    h.pc_ddev = n.dst.st_dev;
    h.pc_dino = n.dst.st_ino;
    pc_append(&h, n.full, NULL, NULL, NULL, 0);
    errno = e;
    int r = real_linkat(ofd, from, nfd, to, flags);
    e = errno;
    pc_end(h.pc_seq, r, NULL);
    pc_leave();
    errno = e;
    return r;
}

PC_EXPORT int link(const char *from, const char *to)
{
    return pc_linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

PC_EXPORT int linkat(int ofd, const char *from, int nfd, const char *to, int flags)
{
    return pc_linkat(ofd, from, nfd, to, flags);
}

/* ---- setup --------------------------------------------------------------------------- */

__attribute__((constructor)) static void pc_init(void)
{
    const char *j = getenv("DTC_POWERCUT_JOURNAL");
    const char *root = getenv("DTC_POWERCUT_ROOT");
    extern char *program_invocation_short_name;
    if (j == NULL || j[0] != '/' || root == NULL || root[0] == '\0')
        return;
    if (strcmp(program_invocation_short_name, "dtc-powercut") == 0)
        return; /* the applier must not journal its own repairs */
    if (strlen(j) >= sizeof pc_jpath || realpath(root, pc_root) == NULL)
        return;
    pc_root_len = strlen(pc_root);
    if (pc_root_len <= 1)
        return; /* never the whole file system */
    memcpy(pc_jpath, j, strlen(j) + 1);
    PC_REAL(open);
    int fd = real_open(pc_jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        static const char msg[] = "libdtc_powercut: cannot open the journal\n";
        PC_REAL(write);
        real_write(2, msg, sizeof msg - 1);
        abort(); /* silently untracked changes would make a test lie */
    }
    pc_jdev = sb.st_dev;
    pc_jino = sb.st_ino;
    /* Out of the way of the program's own descriptors. */
    pc_jfd = fcntl(fd, F_DUPFD_CLOEXEC, PC_JOURNAL_FD_MIN);
    if (pc_jfd >= 0)
        close(fd);
    else
        pc_jfd = fd;
    pc_enabled = 1;
}
