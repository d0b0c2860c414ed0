/*
 * fspath.h - the one check of the places where dtc programs keep data:
 * a data directory and every directory on its path (dtcd's decision log,
 * the services' --data-dir), and every file opened in one (state, lock
 * and temp files, dtc-pg's --conninfo-file).  Implemented in libdtc
 * (src/libdtc/fspath.c); the rule is docs/security.md's "Files".
 *
 * The directory rule (as ssh's StrictModes and PostgreSQL's data
 * directory check): walking from "/" without following anything, every
 * component must be a real directory (a symbolic link is refused: give
 * the real path), owned by root or the effective user, and writable by
 * nobody else.  An ancestor writable by others is accepted only when it
 * is sticky (like /tmp: then nobody else can rename or remove the next
 * component, which must itself be ours or root's).  The data directory
 * itself is never writable by others, sticky or not.  With `group`
 * (dtcd --group, a service's --group) a component may be writable by its
 * group when that group is one of the process's groups (the group whom
 * --group trusts, as for the segment).
 *
 * Every refusal is one line in msg: "PATH: what is wrong; what fixes
 * it" (a command where there is one).
 */
#ifndef DTC_FSPATH_H
#define DTC_FSPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DTC_FS_MSG_MAX 512

/* Checks dir (absolute, or relative to the working directory) and every
 * directory on its path.  create != 0: a missing component is made
 * (mode 0755, the last one `create`) inside its checked parent, and the
 * parent synced.  0, or -1 with the one-line reason in msg. */
int dtc__fs_dir(const char *dir, bool group, mode_t create, char *msg, size_t len);

/* Options of dtc__fs_open. */
#define DTC_FS_GROUP 0x1u   /* the file may be writable by its group (--group) */
#define DTC_FS_SECRET 0x2u  /* no permission at all for others, nor for the
                               group unless DTC_FS_GROUP (a secret, or a
                               lock file: whoever can open it can hold it) */

/* Opens path with flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC (mode if it
 * creates it), then checks what was opened: a regular file, owned by the
 * effective user, not writable by group (unless DTC_FS_GROUP) or others
 * (DTC_FS_SECRET: no permission bit at all for them).  O_NONBLOCK is cleared again:
 * it is there so that a FIFO planted at path never blocks the open.
 * Returns the fd, or -1 with the one-line reason in msg and errno ENOENT
 * when nothing is at path (and O_CREAT was not given), else EPERM or the
 * open's errno. */
int dtc__fs_open(const char *path, int flags, mode_t mode, unsigned opts, char *msg,
                 size_t len);

/* True if gid is the process's effective group or one of its
 * supplementary groups. */
bool dtc__in_group(gid_t gid);

#endif
