/*
 * iofault_preload.c - libdtc_iofault.so, a test-only LD_PRELOAD library
 * that makes chosen file system calls fail, for files under a root, so
 * that tests can check what dtcd, the coordinators and the services do
 * when the disk says EIO or ENOSPC.  Separate from the power-cut
 * journal (powercut_preload.c): both may be preloaded together.
 *
 * Configuration (read once, by the constructor; absent or bad = disabled,
 * a bad rule is reported on stderr):
 *   DTC_IOFAULT_ROOT=<dir>   only paths under dir (after realpath) count
 *   DTC_IOFAULT=<rule>[,<rule>...]   at most IOF_RULES rules
 *   rule = <call>:<errno>:<n>[:<path-substring>[:once]]
 *     call   write (write, writev), pwrite (pwrite, pwrite64, pwritev,
 *            pwritev64), fsync, fdatasync, rename (rename, renameat;
 *            either name may match), open (open, open64, openat,
 *            openat64, creat, creat64, __open_2, __open64_2: every open,
 *            whatever its flags)
 *     errno  EIO, ENOSPC, EDQUOT, EROFS, EACCES, EPERM or a number
 *     n      the n-th matching call (1-based, counted per process and
 *            per rule) is the first to fail
 *     path-substring   only calls on a path containing it are counted
 *     once   fail the n-th call only (default: sticky, see below)
 *
 * Sticky (the default): after its first injected failure a rule keeps
 * failing the same call on the same file (descriptor calls: the same
 * device and inode; path calls: any matching path).  That is what a
 * failed fsync means on Linux: the dirty pages may already be dropped and
 * a later fsync that "succeeds" proves nothing, so a program must never
 * rely on retrying.  A failing call does nothing (the real call is not
 * made) and returns -1 with the errno; a write is never made partially.
 *
 * Every injected failure is reported on stderr:
 *   libdtc_iofault: inject CALL EERRNO path=PATH (call N)
 * so a test can tell that its fault point was reached.
 *
 * Hot path: no malloc; a call on a descriptor costs an fstat and a
 * readlink of /proc/self/fd/N only while a rule of that call is armed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload_util.h"

#define IOF_EXPORT __attribute__((visibility("default")))
#define IOF_RULES 4
#define IOF_PATH 4096

enum iof_call { IOF_WRITE, IOF_PWRITE, IOF_FSYNC, IOF_FDATASYNC, IOF_RENAME, IOF_OPEN };
static const char *const iof_call_names[] = {"write", "pwrite", "fsync",
                                             "fdatasync", "rename", "open"};

typedef struct iof_rule {
    enum iof_call ir_call;
    int ir_errno;
    const char *ir_errname;
    unsigned long ir_n;
    char ir_sub[256];          /* "" = any path under the root */
    int ir_once;
    _Atomic unsigned long ir_seen;  /* matching calls so far */
    _Atomic int ir_fired;           /* 1 once it failed a call */
    dev_t ir_dev;                   /* the file it failed on (fd calls) */
    ino_t ir_ino;
} iof_rule;

static iof_rule iof_rules[IOF_RULES];
static int iof_nrules;
static char iof_root[IOF_PATH]; /* canonical, no trailing slash */
static size_t iof_root_len;

/* ---- real functions ---------------------------------------------------------- */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);

#define IOF_REAL(name)                                                                   \
    do {                                                                                 \
        if (real_##name == NULL)                                                         \
            *(void **)&real_##name = dlsym(RTLD_NEXT, #name);                            \
    } while (0)

/* ---- paths --------------------------------------------------------------------- */

static int iof_under_root(const char *path)
{
    return strncmp(path, iof_root, iof_root_len) == 0
           && (path[iof_root_len] == '\0' || path[iof_root_len] == '/');
}


/* path made absolute against dirfd (AT_FDCWD: the working directory);
 * the directory part canonicalized when it exists.  -1 if impossible. */
static int iof_abs_path(int dirfd, const char *path, char *out, size_t cap)
{
    char tmp[IOF_PATH], dir[IOF_PATH];
    if (path[0] == '/') {
        if (strlen(path) >= sizeof tmp)
            return -1;
        strcpy(tmp, path);
    } else {
        if (dirfd == AT_FDCWD) {
            if (getcwd(dir, sizeof dir) == NULL)
                return -1;
        } else if (preload_fd_path(dirfd, dir, sizeof dir) != 0) {
            return -1;
        }
        if ((size_t)snprintf(tmp, sizeof tmp, "%s/%s", dir, path) >= sizeof tmp)
            return -1;
    }
    char *slash = strrchr(tmp, '/');
    *slash = '\0';
    char canon[PATH_MAX];
    const char *d = tmp[0] == '\0' ? "/" : tmp;
    if (realpath(d, canon) != NULL)
        d = canon;
    if ((size_t)snprintf(out, cap, "%s/%s", strcmp(d, "/") == 0 ? "" : d, slash + 1) >= cap)
        return -1;
    return 0;
}

/* ---- the decision ---------------------------------------------------------------- */

static void iof_report(const iof_rule *r, const char *path, unsigned long k)
{
    char msg[IOF_PATH + 128];
    int n = snprintf(msg, sizeof msg, "libdtc_iofault: inject %s %s path=%s (call %lu)\n",
                     iof_call_names[r->ir_call], r->ir_errname, path, k);
    if (n > 0) {
        IOF_REAL(write);
        real_write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    }
}

/* The errno to fail this call with, or 0 to let it through.  st: the
 * file of a descriptor call (NULL for path calls). */
static int iof_check(enum iof_call call, const char *path, const char *path2,
                     const struct stat *st)
{
    for (int i = 0; i < iof_nrules; i++) {
        iof_rule *r = &iof_rules[i];
        if (r->ir_call != call)
            continue;
        int hit = iof_under_root(path) && strstr(path, r->ir_sub) != NULL;
        if (!hit && path2 != NULL)
            hit = iof_under_root(path2) && strstr(path2, r->ir_sub) != NULL;
        if (!hit)
            continue;
        unsigned long k = atomic_fetch_add(&r->ir_seen, 1) + 1;
        int fire = k == r->ir_n;
        if (!fire && k > r->ir_n && !r->ir_once && atomic_load(&r->ir_fired))
            fire = st == NULL || (st->st_dev == r->ir_dev && st->st_ino == r->ir_ino);
        if (!fire)
            continue;
        if (k == r->ir_n && st != NULL) {
            r->ir_dev = st->st_dev;
            r->ir_ino = st->st_ino;
        }
        atomic_store(&r->ir_fired, 1);
        iof_report(r, path, k);
        return r->ir_errno;
    }
    return 0;
}

static int iof_armed(enum iof_call call)
{
    for (int i = 0; i < iof_nrules; i++)
        if (iof_rules[i].ir_call == call)
            return 1;
    return 0;
}

/* For a descriptor call: the errno to fail with, or 0. */
static int iof_fd_check(enum iof_call call, int fd)
{
    if (!iof_armed(call))
        return 0;
    int e = errno;
    struct stat st;
    char path[IOF_PATH];
    int rc = 0;
    if (fstat(fd, &st) == 0 && preload_fd_path(fd, path, sizeof path) == 0)
        rc = iof_check(call, path, NULL, &st);
    errno = e;
    return rc;
}

static int iof_path_check(enum iof_call call, int dirfd, const char *p, int dirfd2,
                          const char *p2)
{
    if (!iof_armed(call) || p == NULL)
        return 0;
    int e = errno;
    char a[IOF_PATH], b[IOF_PATH];
    int rc = 0;
    if (iof_abs_path(dirfd, p, a, sizeof a) == 0) {
        int have_b = p2 != NULL && iof_abs_path(dirfd2, p2, b, sizeof b) == 0;
        rc = iof_check(call, a, have_b ? b : NULL, NULL);
    }
    errno = e;
    return rc;
}

#define IOF_FAIL(e)                                                                      \
    do {                                                                                 \
        errno = (e);                                                                     \
        return -1;                                                                       \
    } while (0)

/* ---- data calls ------------------------------------------------------------------ */

IOF_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    IOF_REAL(write);
    int e = iof_fd_check(IOF_WRITE, fd);
    if (e)
        IOF_FAIL(e);
    return real_write(fd, buf, n);
}

IOF_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    IOF_REAL(writev);
    int e = iof_fd_check(IOF_WRITE, fd);
    if (e)
        IOF_FAIL(e);
    return real_writev(fd, iov, cnt);
}

IOF_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    IOF_REAL(pwrite);
    int e = iof_fd_check(IOF_PWRITE, fd);
    if (e)
        IOF_FAIL(e);
    return real_pwrite(fd, buf, n, off);
}

IOF_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    IOF_REAL(pwrite64);
    int e = iof_fd_check(IOF_PWRITE, fd);
    if (e)
        IOF_FAIL(e);
    return real_pwrite64(fd, buf, n, off);
}

IOF_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    IOF_REAL(pwritev);
    int e = iof_fd_check(IOF_PWRITE, fd);
    if (e)
        IOF_FAIL(e);
    return real_pwritev(fd, iov, cnt, off);
}

IOF_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    IOF_REAL(pwritev64);
    int e = iof_fd_check(IOF_PWRITE, fd);
    if (e)
        IOF_FAIL(e);
    return real_pwritev64(fd, iov, cnt, off);
}

IOF_EXPORT int fsync(int fd)
{
    IOF_REAL(fsync);
    int e = iof_fd_check(IOF_FSYNC, fd);
    if (e)
        IOF_FAIL(e);
    return real_fsync(fd);
}

IOF_EXPORT int fdatasync(int fd)
{
    IOF_REAL(fdatasync);
    int e = iof_fd_check(IOF_FDATASYNC, fd);
    if (e)
        IOF_FAIL(e);
    return real_fdatasync(fd);
}

/* ---- names ----------------------------------------------------------------------- */

IOF_EXPORT int renameat(int ofd, const char *from, int nfd, const char *to)
{
    IOF_REAL(renameat);
    int e = iof_path_check(IOF_RENAME, ofd, from, nfd, to);
    if (e)
        IOF_FAIL(e);
    return real_renameat(ofd, from, nfd, to);
}

IOF_EXPORT int rename(const char *from, const char *to)
{
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

static mode_t iof_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define IOF_OPEN_BODY(real, dirfd, ...)                                                  \
    do {                                                                                 \
        va_list ap;                                                                      \
        va_start(ap, flags);                                                             \
        mode_t mode = iof_mode(flags, ap);                                               \
        va_end(ap);                                                                      \
        IOF_REAL(real);                                                                  \
        int e = iof_path_check(IOF_OPEN, dirfd, path, AT_FDCWD, NULL);                   \
        if (e)                                                                           \
            IOF_FAIL(e);                                                                 \
        return real_##real(__VA_ARGS__, flags, mode);                                    \
    } while (0)

IOF_EXPORT int open(const char *path, int flags, ...)
{
    IOF_OPEN_BODY(open, AT_FDCWD, path);
}

IOF_EXPORT int open64(const char *path, int flags, ...)
{
    IOF_OPEN_BODY(open64, AT_FDCWD, path);
}

IOF_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    IOF_OPEN_BODY(openat, dirfd, dirfd, path);
}

IOF_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    IOF_OPEN_BODY(openat64, dirfd, dirfd, path);
}

IOF_EXPORT int creat(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

IOF_EXPORT int creat64(const char *path, mode_t mode)
{
    return open64(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

IOF_EXPORT int __open_2(const char *path, int flags)
{
    IOF_REAL(__open_2);
    int e = iof_path_check(IOF_OPEN, AT_FDCWD, path, AT_FDCWD, NULL);
    if (e)
        IOF_FAIL(e);
    return real___open_2(path, flags);
}

IOF_EXPORT int __open64_2(const char *path, int flags)
{
    IOF_REAL(__open64_2);
    int e = iof_path_check(IOF_OPEN, AT_FDCWD, path, AT_FDCWD, NULL);
    if (e)
        IOF_FAIL(e);
    return real___open64_2(path, flags);
}

/* ---- setup ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int value;
} iof_errnos[] = {{"EIO", EIO},     {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT},
                  {"EROFS", EROFS}, {"EACCES", EACCES}, {"EPERM", EPERM}};

static void iof_bad(const char *rule, const char *why)
{
    fprintf(stderr, "libdtc_iofault: bad rule '%s': %s (no fault injected)\n", rule, why);
}

/* Parses one rule (s is modified); 0 or -1. */
static int iof_parse(char *s, iof_rule *r)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", s);
    char *f[5] = {NULL};
    int nf = 0;
    for (char *p = s; nf < 5;) {
        f[nf++] = p;
        char *c = strchr(p, ':');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    if (nf < 3)
        return iof_bad(copy, "want CALL:ERRNO:N[:PATH-SUBSTRING[:once]]"), -1;
    int call = -1;
    for (int i = 0; i < (int)(sizeof iof_call_names / sizeof iof_call_names[0]); i++)
        if (strcmp(f[0], iof_call_names[i]) == 0)
            call = i;
    if (call < 0)
        return iof_bad(copy, "unknown call (write pwrite fsync fdatasync rename open)"), -1;
    r->ir_call = (enum iof_call)call;
    r->ir_errno = 0;
    for (size_t i = 0; i < sizeof iof_errnos / sizeof iof_errnos[0]; i++)
        if (strcmp(f[1], iof_errnos[i].name) == 0) {
            r->ir_errno = iof_errnos[i].value;
            r->ir_errname = iof_errnos[i].name;
        }
    if (r->ir_errno == 0) {
        char *end;
        long v = strtol(f[1], &end, 10);
        if (*end != '\0' || v <= 0 || v > 4095)
            return iof_bad(copy, "unknown errno"), -1;
        r->ir_errno = (int)v;
        r->ir_errname = "errno";
    }
    char *end;
    r->ir_n = strtoul(f[2], &end, 10);
    if (*end != '\0' || r->ir_n == 0)
        return iof_bad(copy, "N must be 1 or more"), -1;
    r->ir_sub[0] = '\0';
    if (nf >= 4 && strlen(f[3]) >= sizeof r->ir_sub)
        return iof_bad(copy, "path substring too long"), -1;
    if (nf >= 4)
        strcpy(r->ir_sub, f[3]);
    r->ir_once = nf >= 5 && strcmp(f[4], "once") == 0;
    if (nf >= 5 && !r->ir_once)
        return iof_bad(copy, "the fifth field can only be 'once'"), -1;
    return 0;
}

__attribute__((constructor)) static void iof_init(void)
{
    const char *root = getenv("DTC_IOFAULT_ROOT");
    const char *spec = getenv("DTC_IOFAULT");
    if (root == NULL || root[0] == '\0' || spec == NULL || spec[0] == '\0')
        return;
    if (realpath(root, iof_root) == NULL || strlen(iof_root) <= 1)
        return; /* never the whole file system */
    iof_root_len = strlen(iof_root);
    char buf[2048];
    if (strlen(spec) >= sizeof buf) {
        iof_bad(spec, "too long");
        return;
    }
    strcpy(buf, spec);
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (n == IOF_RULES) {
            iof_bad(t, "too many rules");
            return;
        }
        if (iof_parse(t, &iof_rules[n]) != 0)
            return;
        n++;
    }
    iof_nrules = n; /* armed only when every rule parsed */
}
