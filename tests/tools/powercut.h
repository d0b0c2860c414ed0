/*
 * powercut.h - the journal format shared by the power-cut preload library
 * (powercut_preload.c, libdtc_powercut.so) and its applier
 * (powercut_apply.c, dtc-powercut).  Test-only.
 *
 * The journal is one file opened O_APPEND by every traced process of a
 * test, so the order of its records is one global order.  Each record is
 * appended with a single writev(2): a fixed header, then up to three paths
 * and the saved bytes, their lengths in the header.  A change is journaled
 * BEFORE it is made (its undo information: old bytes, old size, a backup
 * link), and its outcome after (PC_END, the return value; for a creation
 * also the new inode).  A change made by a process killed between the two
 * has no END: the applier then finds out from the file system whether it
 * happened, and never counts it as durable.
 *
 * Durability, decided by the applier only (the preload just records):
 *   - a data change (PC_WRITE, PC_TRUNC) to inode X is durable iff its END
 *     precedes the PC_SYNC_BEGIN of an fsync/fdatasync of X whose
 *     PC_SYNC_END (result 0) precedes the PC_CUT; or it was made through an
 *     O_SYNC/O_DSYNC descriptor and its END precedes the cut.  Once a data
 *     change to X is not durable, no later one to X is (prefix-closed).
 *   - a name change (PC_CREATE, PC_RENAME, PC_UNLINK, PC_LINK) is durable iff its
 *     END precedes the SYNC_BEGIN of a completed fsync of every directory
 *     whose entries it changed.
 *   - everything after the PC_CUT is undone.
 *   - with DTC_POWERCUT_REORDER=1, some lost writes and unlinks of
 *     decision log files are kept anyway (powercut_apply.c, reorder()).
 */
#ifndef DTC_POWERCUT_H
#define DTC_POWERCUT_H

#include <stdint.h>

#define PC_MAGIC 0x4a435044u /* "DPCJ" little-endian */
#define PC_BACKUP_PREFIX ".dtcpc." /* backup links: .dtcpc.<pid>.<seq>.bak */

enum pc_type {
    PC_WRITE = 1,      /* pc_off, pc_len, pc_old_size; data: old bytes below EOF */
    PC_TRUNC = 2,      /* pc_off = new size, pc_old_size; data: bytes cut */
    PC_CREATE = 3,     /* path1 = new name; dir = its directory */
    PC_RENAME = 4,     /* path1 = from, path2 = to, path3 = backup of old "to" */
    PC_UNLINK = 5,     /* path1 = name, path3 = backup; ino = the file */
    PC_SYNC_BEGIN = 6, /* ino = the synced file or directory */
    PC_SYNC_END = 7,   /* (pid, seq) of the SYNC_BEGIN, pc_result */
    PC_END = 8,        /* (pid, seq) of a change, pc_result; CREATE: dev/ino */
    PC_CUT = 9,        /* the power cut (dtc-powercut cut) */
    PC_ERROR = 10,     /* the preload could not journal a change: apply fails */
    PC_LINK = 11,      /* path1 = the new name; dir = its directory; ino = the file */
};

/* Header flags. */
#define PC_F_DIR 0x1      /* SYNC_BEGIN: the fd is a directory */
#define PC_F_SYNCIO 0x2   /* WRITE/TRUNC: fd opened O_SYNC or O_DSYNC */
#define PC_F_HAD_OLD 0x4  /* RENAME: "to" existed (path3 holds its backup) */
#define PC_F_NOBACKUP 0x8 /* RENAME/UNLINK: the backup link failed */

typedef struct pc_rec {
    uint32_t pc_magic;
    uint32_t pc_size;     /* whole record: header + paths + data */
    uint16_t pc_type;
    uint16_t pc_flags;
    int32_t pc_pid;
    uint64_t pc_seq;      /* per-process sequence: (pid, seq) names a change */
    uint64_t pc_dev, pc_ino;   /* the file changed / synced */
    uint64_t pc_ddev, pc_dino; /* its directory (CREATE, UNLINK, RENAME "to") */
    uint64_t pc_sdev, pc_sino; /* RENAME: the "from" directory */
    uint64_t pc_off;
    uint64_t pc_len;
    uint64_t pc_old_size;
    int64_t pc_result;
    uint32_t pc_plen[3];  /* path lengths, no NUL */
    uint32_t pc_dlen;     /* data length */
} pc_rec;

#endif /* DTC_POWERCUT_H */
