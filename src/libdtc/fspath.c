/*
 * fspath.c - the check of a data directory's path and of the files opened
 * in it (src/common/fspath.h says the rule): a walk from "/" with
 * openat(O_PATH | O_NOFOLLOW | O_DIRECTORY) and fstat of each component,
 * and opening files O_NOFOLLOW | O_NONBLOCK, then fstat.  Used by dtcd's
 * decision log (dlog_file.c), the services (participants/svc/svc.c,
 * participants/store/store_file.c) and dtc-pg's --conninfo-file.
 */
#include "fspath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OWN_DIR "use a directory of your own: mkdir -m 700 DIR"

bool dtc__in_group(gid_t gid)
{
    gid_t groups[256];
    int n = getgroups(256, groups);
    if (gid == getegid())
        return true;
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

static const char *kind_of(mode_t m)
{
    return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
           : S_ISDIR(m) ? "a directory" : S_ISCHR(m) || S_ISBLK(m) ? "a device"
           : S_ISREG(m) ? "a regular file" : "of an unknown type";
}

/* ---- directories ---------------------------------------------------------- */

/* The checks of one component (path: its name from "/"; leaf: the data
 * directory itself). */
static int check_component(const char *path, const struct stat *st, bool leaf, bool group,
                           char *msg, size_t len)
{
    mode_t m = st->st_mode & 07777;
    bool ours = st->st_uid == geteuid();
    if (st->st_uid != 0 && !ours) {
        snprintf(msg, len, "%s: owned by uid %lu, not by root or us (uid %lu); %s", path,
                 (unsigned long)st->st_uid, (unsigned long)geteuid(), OWN_DIR);
        return -1;
    }
    if (!leaf && (m & S_ISVTX)) /* nobody else can rename what is in it */
        return 0;
    /* ours, and not a shared sticky place like /tmp: chmod is the fix */
    bool chmod_fix = ours && !(m & S_ISVTX);
    if (m & S_IWOTH) {
        snprintf(msg, len, "%s: writable by others (mode %04o); %s%s", path, (unsigned)m,
                 chmod_fix ? "chmod o-w " : "", chmod_fix ? path : OWN_DIR);
        return -1;
    }
    if ((m & S_IWGRP) && !(group && dtc__in_group(st->st_gid))) {
        snprintf(msg, len, "%s: writable by group %lu (mode %04o)%s; %s%s", path,
                 (unsigned long)st->st_gid, (unsigned)m,
                 group ? ", not one of ours" : " without --group",
                 chmod_fix ? "chmod g-w " : "", chmod_fix ? path : OWN_DIR);
        return -1;
    }
    return 0;
}

/* Why openat(parent, name) as a directory failed. */
static void why_not_dir(int parent, const char *name, const char *path, int err, char *msg,
                        size_t len)
{
    struct stat st;
    bool got = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (got && S_ISLNK(st.st_mode))
        snprintf(msg, len, "%s: a symbolic link (never followed in a data directory's path); "
                 "give the real path: realpath %s", path, path);
    else if (got && !S_ISDIR(st.st_mode))
        snprintf(msg, len, "%s: %s, not a directory; %s", path, kind_of(st.st_mode), OWN_DIR);
    else
        snprintf(msg, len, "%s: %s", path, strerror(err));
}

/* mkdir name in the checked directory parent, then sync parent. */
static int make_in(int parent, const char *name, mode_t mode, const char *path, char *msg,
                   size_t len)
{
    if (mkdirat(parent, name, mode) != 0 && errno != EEXIST) {
        snprintf(msg, len, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) /* cannot read it, so cannot sync it */
        return 0;
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (rc != 0)
        snprintf(msg, len, "%s: cannot sync its parent: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The absolute form of dir in buf. */
static int absolute(const char *dir, char *buf, size_t size, char *msg, size_t len)
{
    size_t n = 0;
    if (dir[0] != '/') {
        if (getcwd(buf, size) == NULL) {
            snprintf(msg, len, "%s: cannot find the working directory: %s", dir, strerror(errno));
            return -1;
        }
        n = strlen(buf);
    }
    if ((size_t)snprintf(buf + n, size - n, "%s%s", n ? "/" : "", dir) >= size - n) {
        snprintf(msg, len, "%.64s...: path too long", dir);
        return -1;
    }
    return 0;
}

/* Opens the next component (made first if missing and create != 0). */
static int step(int fd, char *name, const char *path, bool leaf, mode_t create, char *msg,
                size_t len)
{
    const int fl = O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC;
    int next = openat(fd, name, fl);
    if (next < 0 && errno == ENOENT && create != 0) {
        if (make_in(fd, name, leaf ? create : 0755, path, msg, len) != 0)
            return -1;
        next = openat(fd, name, fl);
    }
    if (next < 0)
        why_not_dir(fd, name, path, errno, msg, len);
    return next;
}

int dtc__fs_dir(const char *dir, bool group, mode_t create, char *msg, size_t len)
{
    char path[PATH_MAX], shown[PATH_MAX];
    struct stat st;
    size_t shown_n = 1; /* "/" */
    if (absolute(dir, path, sizeof path, msg, len) != 0)
        return -1;
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1;
    char *save = NULL, *name = strtok_r(path, "/", &save);
    snprintf(shown, sizeof shown, "/");
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(msg, len, "/: %s", strerror(errno));
        goto out;
    }
    if (check_component("/", &st, name == NULL, group, msg, len) != 0)
        goto out;
    while (name != NULL) {
        char *next_name = strtok_r(NULL, "/", &save);
        shown_n += (size_t)snprintf(shown + shown_n, sizeof shown - shown_n, "%s%s",
                                    shown_n > 1 ? "/" : "", name);
        int next = step(fd, name, shown, next_name == NULL, create, msg, len);
        if (next < 0)
            goto out;
        close(fd);
        fd = next;
        if (fstat(fd, &st) != 0) {
            snprintf(msg, len, "%s: %s", shown, strerror(errno));
            goto out;
        }
        if (check_component(shown, &st, next_name == NULL, group, msg, len) != 0)
            goto out;
        name = next_name;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- files ------------------------------------------------------------------ */

/* Why open(path) failed; errno is left as the caller should see it. */
static void why_no_open(const char *path, int err, char *msg, size_t len)
{
    struct stat st;
    if (err != ENOENT && lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(msg, len, "%s: %s, not a regular file; find out who put it there, then "
                 "remove it: rm %s", path, kind_of(st.st_mode), path);
        errno = EPERM;
        return;
    }
    snprintf(msg, len, "%s: %s", path, strerror(err));
    errno = err;
}

/* The checks of an opened file. */
static int check_file(const char *path, const struct stat *st, unsigned opts, char *msg,
                      size_t len)
{
    mode_t m = st->st_mode & 07777;
    bool secret = (opts & DTC_FS_SECRET) != 0, group = (opts & DTC_FS_GROUP) != 0;
    mode_t bad = (secret ? 007 : 002) | (group ? 0 : secret ? 070 : 020);
    if (!S_ISREG(st->st_mode)) {
        snprintf(msg, len, "%s: %s, not a regular file; find out who put it there, then "
                 "remove it: rm %s", path, kind_of(st->st_mode), path);
        return -1;
    }
    if (st->st_uid != geteuid()) {
        snprintf(msg, len, "%s: owned by uid %lu, not by us (uid %lu); find out who put it "
                 "there, then rm %s (or chown %lu %s if it is ours)", path,
                 (unsigned long)st->st_uid, (unsigned long)geteuid(), path,
                 (unsigned long)geteuid(), path);
        return -1;
    }
    if (m & bad) {
        snprintf(msg, len, "%s: %s by %s (mode %04o); chmod %s %s", path,
                 secret ? "readable or writable" : "writable",
                 (m & bad & 007) ? "others" : "its group", (unsigned)m,
                 secret ? (group ? "o=" : "go=") : (group ? "o-w" : "go-w"), path);
        return -1;
    }
    return 0;
}

int dtc__fs_open(const char *path, int flags, mode_t mode, unsigned opts, char *msg,
                 size_t len)
{
    struct stat st;
    int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
    msg[0] = '\0';
    if (fd < 0) {
        why_no_open(path, errno, msg, len);
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(msg, len, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (check_file(path, &st, opts, msg, len) != 0
        || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        if (msg[0] == '\0') /* fcntl failed */
            snprintf(msg, len, "%s: %s", path, strerror(errno));
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}
