/*
 * powercut_apply.c - dtc-powercut, the test-only applier of the power-cut
 * journal written by libdtc_powercut.so (powercut_preload.c; format and
 * durability rules in powercut.h).
 *
 *   dtc-powercut cut JOURNAL          append the CUT marker: the instant of
 *                                     the power cut
 *   dtc-powercut apply JOURNAL [ROOT] after every traced process is dead:
 *                                     undo what the cut would have lost
 *   dtc-powercut dump JOURNAL         print the records
 *
 * ROOT defaults to $DTC_POWERCUT_ROOT.  apply undoes, in reverse journal
 * order, every change journaled after the CUT and every change before it
 * that no completed sync covers: old bytes are written back, sizes
 * truncated back, renames undone through the backup links, files whose
 * creation never reached a directory sync removed, unlinked files linked
 * back.  Files are found by inode (walking ROOT), since renames move them.
 * A change whose outcome was never journaled (its process was killed in the
 * middle) is never durable; whether it happened is read from the file
 * system.  When in doubt, a change is not durable.
 *
 * Prints one line per undone change and a summary; exits 0, 1 on any
 * inconsistency (the state is then not to be trusted), 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powercut.h"

typedef struct pc_ent {
    pc_rec h;
    const char *p[3];   /* NUL-terminated copies, "" if absent */
    const char *data;
    long end;           /* index of its PC_END / PC_SYNC_END, -1 if none */
    int64_t result;     /* from the END */
    uint64_t new_dev, new_ino; /* CREATE: from the END */
    int durable;
    int partial;        /* reordered: only its odd sectors reached the disk */
} pc_ent;

static pc_ent *ents;
static long nents;
static int errors;
static const char *root;

#define ERR(...)                                                                         \
    do {                                                                                 \
        fprintf(stderr, "dtc-powercut: error: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                             \
        errors++;                                                                        \
    } while (0)

static const char *type_name(int t)
{
    static const char *const names[] = {"?", "WRITE", "TRUNC", "CREATE", "RENAME",
                                        "UNLINK", "SYNC_BEGIN", "SYNC_END", "END",
                                        "CUT", "ERROR", "LINK"};
    return t >= 0 && t <= PC_LINK ? names[t] : "?";
}

/* ---- reading the journal ------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        perror("dtc-powercut: malloc");
        exit(2);
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int load(const char *path)
{
    size_t len;
    char *buf = slurp(path, &len);
    if (buf == NULL) {
        fprintf(stderr, "dtc-powercut: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1024, off = 0;
    ents = malloc(cap * sizeof *ents);
    while (off < len) {
        pc_rec h;
        if (len - off < sizeof h) {
            ERR("torn record at offset %zu", off);
            break;
        }
        memcpy(&h, buf + off, sizeof h);
        size_t need = sizeof h + (size_t)h.pc_plen[0] + h.pc_plen[1] + h.pc_plen[2] + h.pc_dlen;
        if (h.pc_magic != PC_MAGIC || h.pc_size != need || len - off < need) {
            ERR("bad record at offset %zu", off);
            break;
        }
        if ((size_t)nents == cap) {
            cap *= 2;
            ents = realloc(ents, cap * sizeof *ents);
        }
        if (ents == NULL) {
            perror("dtc-powercut: malloc");
            exit(2);
        }
        pc_ent *e = &ents[nents++];
        memset(e, 0, sizeof *e);
        e->h = h;
        e->end = -1;
        size_t p = off + sizeof h;
        for (int i = 0; i < 3; i++) {
            e->p[i] = dupn(buf + p, h.pc_plen[i]);
            p += h.pc_plen[i];
        }
        e->data = dupn(buf + p, h.pc_dlen);
        off += need;
    }
    free(buf);
    return 0;
}

/* ---- (pid, seq) -> the change it names --------------------------------------------- */

static long *slots;
static size_t nslots;

static size_t slot_of(int32_t pid, uint64_t seq)
{
    uint64_t k = ((uint64_t)(uint32_t)pid << 40) ^ seq;
    k *= 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(k >> 20) & (nslots - 1);
    while (slots[i] >= 0 && !(ents[slots[i]].h.pc_pid == pid && ents[slots[i]].h.pc_seq == seq))
        i = (i + 1) & (nslots - 1);
    return i;
}

/* Matches every END / SYNC_END to the latest earlier change of the same
 * (pid, seq): pids may be reused, sequences restart per process image. */
static void match_ends(void)
{
    for (nslots = 16; nslots < (size_t)nents * 2 + 16; nslots *= 2)
        ;
    slots = malloc(nslots * sizeof *slots);
    for (size_t i = 0; i < nslots; i++)
        slots[i] = -1;
    for (long i = 0; i < nents; i++) {
        pc_ent *e = &ents[i];
        size_t s = slot_of(e->h.pc_pid, e->h.pc_seq);
        switch (e->h.pc_type) {
        case PC_END:
        case PC_SYNC_END:
            if (slots[s] < 0 || ents[slots[s]].end >= 0) {
                ERR("record %ld: %s without its change (pid %d seq %" PRIu64 ")", i,
                    type_name(e->h.pc_type), e->h.pc_pid, e->h.pc_seq);
                break;
            }
            ents[slots[s]].end = i;
            ents[slots[s]].result = e->h.pc_result;
            ents[slots[s]].new_dev = e->h.pc_dev;
            ents[slots[s]].new_ino = e->h.pc_ino;
            break;
        case PC_WRITE:
        case PC_TRUNC:
        case PC_CREATE:
        case PC_RENAME:
        case PC_UNLINK:
        case PC_LINK:
        case PC_SYNC_BEGIN:
            slots[s] = i;
            break;
        default:
            break;
        }
    }
}

/* ---- durability ----------------------------------------------------------------- */

/* The latest SYNC_BEGIN index of a completed (before the cut, result 0)
 * sync of (dev, ino), or -1. */
static long last_sync(uint64_t dev, uint64_t ino, long cut)
{
    long best = -1;
    for (long i = 0; i < cut; i++) {
        const pc_ent *s = &ents[i];
        if (s->h.pc_type == PC_SYNC_BEGIN && s->h.pc_dev == dev && s->h.pc_ino == ino
            && s->end >= 0 && s->end < cut && s->result == 0)
            best = i;
    }
    return best;
}

/* 1 if change e (its END before the cut) reached the disk. */
static int is_durable(long i, long cut)
{
    const pc_ent *e = &ents[i];
    if (i > cut || e->end < 0 || e->end > cut)
        return 0;
    switch (e->h.pc_type) {
    case PC_WRITE:
    case PC_TRUNC:
        if (e->h.pc_flags & PC_F_SYNCIO)
            return 1;
        return last_sync(e->h.pc_dev, e->h.pc_ino, cut) > e->end;
    case PC_CREATE:
    case PC_UNLINK:
    case PC_LINK:
        return last_sync(e->h.pc_ddev, e->h.pc_dino, cut) > e->end;
    case PC_RENAME:
        return last_sync(e->h.pc_ddev, e->h.pc_dino, cut) > e->end
               && last_sync(e->h.pc_sdev, e->h.pc_sino, cut) > e->end;
    default:
        return 0;
    }
}

/* Data durability is prefix-closed per inode: after a lost change to X,
 * every later change to X is lost too. */
static void close_prefixes(void)
{
    for (long i = 0; i < nents; i++) {
        pc_ent *e = &ents[i];
        if ((e->h.pc_type != PC_WRITE && e->h.pc_type != PC_TRUNC) || e->durable)
            continue;
        for (long k = i + 1; k < nents; k++) {
            pc_ent *l = &ents[k];
            if ((l->h.pc_type == PC_WRITE || l->h.pc_type == PC_TRUNC) && l->durable
                && l->h.pc_dev == e->h.pc_dev && l->h.pc_ino == e->h.pc_ino) {
                printf("note: record %ld (%s) treated as lost: an earlier change to the "
                       "same file (record %ld) was lost\n",
                       k, type_name(l->h.pc_type), i);
                l->durable = 0;
            }
        }
    }
}

/* DTC_POWERCUT_REORDER=1 models a cut in the middle of a sync whose
 * pages reach the disk in any order: of the lost writes to a decision
 * log file (a path with "/dlog.0"), every second one per file, in
 * journal order, reached the disk anyway and is kept; of the others,
 * one that spans several 512-byte sectors kept every odd sector (of the
 * file) and lost the even ones.  Such writes append records (disjoint
 * ranges), so keeping one never depends on another.  It also models a
 * file system that writes directory changes no sync ordered in any
 * order: of the lost unlinks of decision log files, every second one per
 * directory, in journal order, reached the disk anyway (the older file
 * comes back, the newer one stays gone). */
#define PC_SECTOR 512u
static int lost_log_write(const pc_ent *e, long cut)
{
    return e->h.pc_type == PC_WRITE && !e->durable && e->end >= 0 && e->end <= cut
           && e->result >= 0 && strstr(e->p[0], "/dlog.0") != NULL;
}

static int lost_log_unlink(const pc_ent *e, long cut)
{
    return e->h.pc_type == PC_UNLINK && !e->durable && e->end >= 0 && e->end <= cut
           && e->result == 0 && strstr(e->p[0], "/dlog.0") != NULL;
}

/* Keeps every second entry per (dev, ino) that lost() selects (for an
 * unlink: per directory). */
static void reorder_some(long cut, int (*lost)(const pc_ent *, long), const char *what)
{
    for (long i = nents - 1; i >= 0; i--) {
        pc_ent *e = &ents[i];
        long nth = 0;
        if (!lost(e, cut))
            continue;
        int dir = e->h.pc_type == PC_UNLINK;
        uint64_t dev = dir ? e->h.pc_ddev : e->h.pc_dev, ino = dir ? e->h.pc_dino : e->h.pc_ino;
        for (long k = 0; k < i; k++) {
            const pc_ent *o = &ents[k];
            nth += lost(o, cut) && (dir ? o->h.pc_ddev : o->h.pc_dev) == dev
                   && (dir ? o->h.pc_dino : o->h.pc_ino) == ino;
        }
        if (nth % 2 == 1) {
            e->durable = 1;
            printf("note: record %ld (%s %s) reordered: reached the disk although no "
                   "sync covered it\n", i, what, e->p[0]);
        } else if (e->h.pc_type == PC_WRITE
                   && e->h.pc_off / PC_SECTOR != (e->h.pc_off + e->h.pc_dlen - 1) / PC_SECTOR) {
            e->partial = 1;
            printf("note: record %ld (%s %s) reordered: its odd sectors reached the disk "
                   "although no sync covered them\n", i, what, e->p[0]);
        }
    }
}

static void reorder(long cut)
{
    const char *on = getenv("DTC_POWERCUT_REORDER");
    if (on == NULL || strcmp(on, "1") != 0)
        return;
    reorder_some(cut, lost_log_write, "write of");
    reorder_some(cut, lost_log_unlink, "unlink of");
}

/* ---- finding files by inode -------------------------------------------------------- */

static uint64_t want_dev, want_ino;
static char found[PATH_MAX], found_backup[PATH_MAX];

static int is_backup(const char *path)
{
    const char *b = strrchr(path, '/');
    return strncmp(b ? b + 1 : path, PC_BACKUP_PREFIX, strlen(PC_BACKUP_PREFIX)) == 0;
}

static int find_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)flag, (void)ftw;
    if ((uint64_t)sb->st_dev != want_dev || (uint64_t)sb->st_ino != want_ino)
        return 0;
    if (is_backup(path)) {
        if (found_backup[0] == '\0')
            snprintf(found_backup, sizeof found_backup, "%s", path);
        return 0;
    }
    snprintf(found, sizeof found, "%s", path);
    return 1;
}

/* The name of (dev, ino) under the root, preferring one that is not a
 * backup link; NULL if none (*only_backup set if just a backup). */
static const char *find_ino(uint64_t dev, uint64_t ino, const char **only_backup)
{
    want_dev = dev;
    want_ino = ino;
    found[0] = found_backup[0] = '\0';
    nftw(root, find_one, 32, FTW_PHYS);
    if (only_backup)
        *only_backup = found_backup[0] ? found_backup : NULL;
    return found[0] ? found : NULL;
}

/* ---- undo ------------------------------------------------------------------------ */

static int write_back(const char *path, const pc_ent *e)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    int rc = 0;
    uint64_t from = e->h.pc_off; /* WRITE: the range; TRUNC: the new size */
    size_t done = 0;
    while (done < e->h.pc_dlen) {
        size_t n = e->h.pc_dlen - done;
        if (e->partial) { /* up to the sector's end; odd sectors stay */
            uint64_t at = from + done, sec = at / PC_SECTOR;
            n = (size_t)((sec + 1) * PC_SECTOR - at) < n ? (size_t)((sec + 1) * PC_SECTOR - at) : n;
            if (sec % 2 == 1) {
                done += n;
                continue;
            }
        }
        ssize_t w = pwrite(fd, e->data + done, n, (off_t)(from + done));
        if (w <= 0) {
            rc = -1;
            break;
        }
        done += (size_t)w;
    }
    struct stat sb;
    if (rc == 0 && fstat(fd, &sb) == 0 && (uint64_t)sb.st_size != e->h.pc_old_size)
        rc = ftruncate(fd, (off_t)e->h.pc_old_size);
    close(fd);
    return rc;
}

static const char *why_lost(long i, long cut)
{
    const pc_ent *e = &ents[i];
    if (i > cut)
        return "after the cut";
    if (e->end < 0)
        return "never completed";
    if (e->end > cut)
        return "completed after the cut";
    return e->h.pc_type == PC_WRITE || e->h.pc_type == PC_TRUNC ? "not synced"
                                                                : "directory not synced";
}

/* Undoes change i; returns 1 if something was undone, 0 if it had not
 * happened. */
static int undo(long i, long cut)
{
    pc_ent *e = &ents[i];
    const char *bk = NULL;
    const char *why = why_lost(i, cut);
    struct stat sb;
    switch (e->h.pc_type) {
    case PC_WRITE:
    case PC_TRUNC: {
        const char *p = find_ino(e->h.pc_dev, e->h.pc_ino, &bk);
        if (p == NULL)
            p = bk;
        if (p == NULL) {
            ERR("record %ld: %s %s: the file (inode %" PRIu64 ") is gone", i,
                type_name(e->h.pc_type), e->p[0], e->h.pc_ino);
            return 0;
        }
        if (write_back(p, e) != 0) {
            ERR("record %ld: cannot restore %s: %s", i, p, strerror(errno));
            return 0;
        }
        if (e->h.pc_type == PC_WRITE)
            printf("undo %ld WRITE %s off=%" PRIu64 " len=%" PRIu64 " old_size=%" PRIu64
                   " (%s)\n",
                   i, p, e->h.pc_off, e->h.pc_len, e->h.pc_old_size, why);
        else
            printf("undo %ld TRUNC %s to=%" PRIu64 " old_size=%" PRIu64 " (%s)\n", i, p,
                   e->h.pc_off, e->h.pc_old_size, why);
        return 1;
    }
    case PC_CREATE: {
        uint64_t dev = e->new_dev, ino = e->new_ino;
        if (e->end < 0 || ino == 0) {
            /* Killed inside the open: whatever is at the name now is what
             * it created (later changes are undone already). */
            if (lstat(e->p[0], &sb) != 0)
                return 0;
            dev = sb.st_dev;
            ino = sb.st_ino;
        }
        const char *p;
        int n = 0;
        while ((p = find_ino(dev, ino, NULL)) != NULL) {
            if (unlink(p) != 0) {
                ERR("record %ld: cannot remove %s: %s", i, p, strerror(errno));
                return n > 0;
            }
            printf("undo %ld CREATE %s (%s)\n", i, p, why);
            n++;
        }
        return n > 0;
    }
    case PC_RENAME: {
        const char *from = e->p[0], *to = e->p[1], *backup = e->p[2];
        const char *q = find_ino(e->h.pc_dev, e->h.pc_ino, NULL);
        char qbuf[PATH_MAX];
        if (q != NULL && strcmp(q, from) == 0) {
            if (e->end >= 0 && e->result == 0)
                ERR("record %ld: RENAME %s -> %s completed but the file is at %s", i, from,
                    to, from);
            return 0; /* never happened */
        }
        if (q == NULL) {
            ERR("record %ld: RENAME %s -> %s: the file (inode %" PRIu64 ") is gone", i, from,
                to, e->h.pc_ino);
            return 0;
        }
        snprintf(qbuf, sizeof qbuf, "%s", q);
        if (strcmp(qbuf, to) != 0)
            printf("note: record %ld: renamed file found at %s, not %s\n", i, qbuf, to);
        if (lstat(from, &sb) == 0) {
            ERR("record %ld: cannot undo RENAME %s -> %s: %s exists again", i, from, to, from);
            return 0;
        }
        if (rename(qbuf, from) != 0) {
            ERR("record %ld: rename %s -> %s: %s", i, qbuf, from, strerror(errno));
            return 0;
        }
        if (e->h.pc_flags & PC_F_HAD_OLD) {
            if ((e->h.pc_flags & PC_F_NOBACKUP) || backup[0] == '\0') {
                ERR("record %ld: RENAME replaced %s and its backup failed", i, to);
            } else if (rename(backup, to) != 0) {
                ERR("record %ld: restore %s from %s: %s", i, to, backup, strerror(errno));
            }
        }
        printf("undo %ld RENAME %s -> %s%s (%s)\n", i, from, to,
               (e->h.pc_flags & PC_F_HAD_OLD) ? ", old target restored" : "", why);
        return 1;
    }
    case PC_UNLINK: {
        const char *name = e->p[0], *backup = e->p[2];
        if (lstat(name, &sb) == 0) {
            if ((uint64_t)sb.st_ino == e->h.pc_ino && (uint64_t)sb.st_dev == e->h.pc_dev)
                return 0; /* never happened */
            ERR("record %ld: cannot undo UNLINK %s: the name is taken", i, name);
            return 0;
        }
        if ((e->h.pc_flags & PC_F_NOBACKUP) || backup[0] == '\0') {
            ERR("record %ld: cannot undo UNLINK %s: no backup", i, name);
            return 0;
        }
        if (rename(backup, name) != 0) {
            ERR("record %ld: restore %s from %s: %s", i, name, backup, strerror(errno));
            return 0;
        }
        printf("undo %ld UNLINK %s (%s)\n", i, name, why);
        return 1;
    }
    case PC_LINK: /* only the new name goes: the file keeps its others */
        if (lstat(e->p[0], &sb) != 0 || (uint64_t)sb.st_ino != e->h.pc_ino
            || (uint64_t)sb.st_dev != e->h.pc_dev)
            return 0; /* never made, or its name taken by a later change kept */
        if (unlink(e->p[0]) != 0) {
            ERR("record %ld: cannot undo LINK %s: %s", i, e->p[0], strerror(errno));
            return 0;
        }
        printf("undo %ld LINK %s (%s)\n", i, e->p[0], why);
        return 1;
    default:
        return 0;
    }
}

/* ---- commands ------------------------------------------------------------------- */

static int cmd_cut(const char *journal)
{
    pc_rec h;
    memset(&h, 0, sizeof h);
    h.pc_magic = PC_MAGIC;
    h.pc_size = sizeof h;
    h.pc_type = PC_CUT;
    h.pc_pid = (int32_t)getpid();
    int fd = open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, &h, sizeof h) != (ssize_t)sizeof h) {
        fprintf(stderr, "dtc-powercut: cannot append the cut to %s: %s\n", journal,
                strerror(errno));
        return 1;
    }
    close(fd);
    return 0;
}

static int cmd_dump(const char *journal)
{
    if (load(journal) != 0)
        return 1;
    match_ends();
    for (long i = 0; i < nents; i++) {
        const pc_ent *e = &ents[i];
        printf("%ld %s pid=%d seq=%" PRIu64 " ino=%" PRIu64 " off=%" PRIu64 " len=%" PRIu64
               " old_size=%" PRIu64 " result=%" PRId64 " flags=%#x dlen=%u end=%ld %s %s %s\n",
               i, type_name(e->h.pc_type), e->h.pc_pid, e->h.pc_seq, e->h.pc_ino, e->h.pc_off,
               e->h.pc_len, e->h.pc_old_size, e->h.pc_result, e->h.pc_flags, e->h.pc_dlen,
               e->end, e->p[0], e->p[1], e->p[2]);
    }
    return errors ? 1 : 0;
}

static int cmd_apply(const char *journal)
{
    if (load(journal) != 0)
        return 1;
    match_ends();
    long cut = -1;
    for (long i = 0; i < nents && cut < 0; i++)
        if (ents[i].h.pc_type == PC_CUT)
            cut = i;
    if (cut < 0) {
        ERR("no CUT in %s: run 'dtc-powercut cut' at the instant of the power cut", journal);
        return 1;
    }
    for (long i = 0; i < nents; i++)
        if (ents[i].h.pc_type == PC_ERROR)
            ERR("record %ld: the preload could not journal a change: %s %s", i, ents[i].p[0],
                ents[i].p[1]);
    long kept = 0, undone = 0, failed = 0;
    for (long i = 0; i < nents; i++)
        ents[i].durable = is_durable(i, cut);
    close_prefixes();
    reorder(cut);
    for (long i = nents - 1; i >= 0; i--) {
        pc_ent *e = &ents[i];
        int t = e->h.pc_type;
        if (t != PC_WRITE && t != PC_TRUNC && t != PC_CREATE && t != PC_RENAME
            && t != PC_UNLINK && t != PC_LINK)
            continue;
        if (e->end >= 0 && e->result < 0) {
            failed++; /* the call failed: nothing happened */
            continue;
        }
        if (e->durable) {
            kept++;
            continue;
        }
        undone += undo(i, cut);
    }
    /* The backup links of renames and unlinks that stand. */
    for (long i = 0; i < nents; i++) {
        const char *b = ents[i].p[2];
        struct stat sb;
        if ((ents[i].h.pc_type == PC_RENAME || ents[i].h.pc_type == PC_UNLINK) && b[0] != '\0'
            && lstat(b, &sb) == 0 && unlink(b) != 0)
            ERR("cannot remove backup %s: %s", b, strerror(errno));
    }
    printf("dtc-powercut: %ld records, cut at %ld: %ld changes kept (durable), %ld undone, "
           "%ld failed calls ignored, %d errors\n",
           nents, cut, kept, undone, failed, errors);
    return errors ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: dtc-powercut cut JOURNAL\n"
                    "       dtc-powercut apply JOURNAL [ROOT]   (ROOT: $DTC_POWERCUT_ROOT)\n"
                    "       dtc-powercut dump JOURNAL\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    if (strcmp(argv[1], "cut") == 0 && argc == 3)
        return cmd_cut(argv[2]);
    if (strcmp(argv[1], "dump") == 0 && argc == 3)
        return cmd_dump(argv[2]);
    if (strcmp(argv[1], "apply") == 0 && (argc == 3 || argc == 4)) {
        static char rootbuf[PATH_MAX];
        const char *r = argc == 4 ? argv[3] : getenv("DTC_POWERCUT_ROOT");
        if (r == NULL || realpath(r, rootbuf) == NULL || strcmp(rootbuf, "/") == 0) {
            fprintf(stderr, "dtc-powercut: apply needs a root (not /): ROOT or "
                            "$DTC_POWERCUT_ROOT\n");
            return 2;
        }
        root = rootbuf;
        return cmd_apply(argv[1 + 1]);
    }
    return usage();
}
