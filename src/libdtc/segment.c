/*
 * segment.c - the shared-memory segment: its limits (and their
 * defaults) and size, creation by dtcd, attach with validation by
 * everyone else.
 *
 * The header is hostile input like the rest of the segment: attach checks
 * magic (DTC_EMAGIC), layout version (DTC_EVERSION), the format word and
 * every size and offset against what this build computes from the limits
 * (DTC_ESIZE), and that the creator finished writing it (DTC_ECORRUPT).
 * After attach the geometry is read from the process-local copy in
 * dtc_instance only.  Before any of that, the segment must be ours: owned
 * by the effective uid, mode 0600 (or 0660 with dtcd --group), else
 * DTC_EPERM; so must a segment a dead dtcd left, which dtcd re-attaches
 * to through dtc_open.  The metrics attach read-only (dtc__open_readonly):
 * mapped without write access, they read with no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"
#include "fspath.h"

#define ALIGN_UP(x) (((x) + DTC_CACHELINE - 1) / DTC_CACHELINE * DTC_CACHELINE)

struct geometry {
    size_t header, txn_slot, part_slot, txn_off, part_off, total;
    uint32_t ring_cap;
};

static bool limits_ok(const dtc_limits *l)
{
    return l->max_txns >= 1 && l->max_txns <= DTC_LIMIT_MAX_TXNS
           && l->max_parts_per_txn >= 1 && l->max_parts_per_txn <= DTC_LIMIT_MAX_PARTS_PER_TXN
           && l->max_participants >= 1 && l->max_participants <= DTC_LIMIT_MAX_PARTICIPANTS;
}

/* Every request of every entry may be queued twice at one participant
 * (an enlist and a prepare, or a late answer and a redelivery). */
static void geometry(const dtc_limits *l, struct geometry *g)
{
    g->ring_cap = 2 * l->max_txns * l->max_parts_per_txn;
    g->header = ALIGN_UP(sizeof(struct dtc_shm_header));
    g->txn_slot = ALIGN_UP(sizeof(struct dtc_txn_slot)
                           + l->max_parts_per_txn * sizeof(struct dtc_txn_entry));
    g->part_slot = ALIGN_UP(sizeof(struct dtc_part_slot)
                            + g->ring_cap * sizeof(struct dtc_ring_req));
    g->txn_off = g->header;
    g->part_off = g->txn_off + l->max_txns * g->txn_slot;
    g->total = g->part_off + l->max_participants * g->part_slot;
}

void dtc_limits_default(dtc_limits *l)
{
    l->max_txns = DTC_DEFAULT_MAX_TXNS;
    l->max_parts_per_txn = DTC_DEFAULT_MAX_PARTS_PER_TXN;
    l->max_participants = DTC_DEFAULT_MAX_PARTICIPANTS;
}

size_t dtc_segment_size(const dtc_limits *l)
{
    struct geometry g;
    if (l == NULL || !limits_ok(l))
        return 0;
    geometry(l, &g);
    return g.total;
}

void dtc__shm_name(const char *instance, char *buf, size_t size)
{
    snprintf(buf, size, "/dtc.%s", instance);
}

/* The decision log fields: a terminated absolute path (or none) and
 * sizes within what dtcd ever writes. */
static bool dlog_header_ok(const struct dtc_shm_header *h)
{
    if (memchr(h->sh_dlog_dir, '\0', sizeof h->sh_dlog_dir) == NULL)
        return false;
    if (h->sh_dlog_dir[0] == '\0')
        return true;
    return h->sh_dlog_dir[0] == '/' && h->sh_dlog_file_size >= DTC_DLOG_MIN_FILE
           && h->sh_dlog_file_size <= DTC_DLOG_MAX_FILE && h->sh_dlog_file_size % 4096 == 0
           && h->sh_dlog_files >= DTC_DLOG_MIN_FILES && h->sh_dlog_files <= DTC_DLOG_MAX_FILES;
}

dtc_result dtc__header_validate(const struct dtc_shm_header *h, size_t mapped)
{
    if (mapped < sizeof *h)
        return DTC_ESIZE;
    if (h->sh_magic != DTC_SHM_MAGIC)
        return DTC_EMAGIC;
    if (h->sh_version != DTC_LAYOUT_VERSION)
        return DTC_EVERSION;
    if (atomic_load(&h->sh_ready) != 1)
        return DTC_ECORRUPT;
    dtc_limits l = {h->sh_max_txns, h->sh_max_parts_per_txn, h->sh_max_participants};
    if (h->sh_format != DTC_FORMAT_WORD || !limits_ok(&l))
        return DTC_ESIZE;
    struct geometry g;
    geometry(&l, &g);
    if (h->sh_header_size != sizeof *h || h->sh_txn_slot_size != g.txn_slot
        || h->sh_part_slot_size != g.part_slot || h->sh_ring_cap != g.ring_cap
        || h->sh_txn_off != g.txn_off || h->sh_part_off != g.part_off
        || h->sh_total_size != g.total || mapped != g.total)
        return DTC_ESIZE;
    if (memchr(h->sh_instance, '\0', sizeof h->sh_instance) == NULL)
        return DTC_ECORRUPT;
    return dlog_header_ok(h) ? DTC_OK : DTC_ECORRUPT;
}

static dtc_instance *instance_new(const char *name, struct dtc_shm_header *h, size_t size)
{
    dtc_instance *in = calloc(1, sizeof *in);
    if (in == NULL)
        return NULL;
    snprintf(in->name, sizeof in->name, "%s", name);
    in->hdr = h;
    in->size = size;
    atomic_init(&in->refs, 1); /* the open's */
    in->max_txns = h->sh_max_txns;
    in->max_parts = h->sh_max_parts_per_txn;
    in->max_participants = h->sh_max_participants;
    in->ring_cap = h->sh_ring_cap;
    in->txn_off = h->sh_txn_off;
    in->part_off = h->sh_part_off;
    in->txn_slot_size = h->sh_txn_slot_size;
    in->part_slot_size = h->sh_part_slot_size;
    static _Atomic uint64_t serials;
    in->serial = atomic_fetch_add(&serials, 1) + 1;
    in->pid = getpid();
    in->start_time = dtc__proc_start_time(in->pid);
    memcpy(in->dlog_dir, h->sh_dlog_dir, sizeof in->dlog_dir);
    in->dlog_file_size = h->sh_dlog_file_size;
    in->dlog_files = h->sh_dlog_files;
    in->dlog_wfd = in->dlog_sfd = in->dlog_ofd = in->dlog_spare.sj_fd = -1;
    dtc__courier_init(&in->courier);
    return in;
}

/* The segment must be ours before anything of it is read: mode exactly
 * 0600 and owned by the effective uid (root attaches to root's segments
 * only), or 0660 as dtcd --group creates it, with a group this process
 * belongs to (the group is whom --group trusts; its members may be other
 * users).  Anything else (another user's segment squatting the name, one
 * chmod'ed open to others, or a group we are not in) could be written by
 * someone we do not trust: DTC_EPERM, never a silent attach. */
static dtc_result owner_ok(const char *shm, const struct stat *st)
{
    mode_t mode = st->st_mode & 07777;
    if ((mode == 0600 && st->st_uid == geteuid()) || (mode == 0660 && dtc__in_group(st->st_gid)))
        return DTC_OK;
    dtc_log(DTC_LOG_ERROR, "attach_refused", NULL, NULL,
            "segment=%s error=\"not ours: owner uid %lu gid %lu, mode 0%03o\" "
            "want=\"owner uid %lu and mode 0600, or mode 0660 and one of our groups\"",
            shm, (unsigned long)st->st_uid, (unsigned long)st->st_gid, (unsigned)mode,
            (unsigned long)geteuid());
    return DTC_EPERM;
}

/* Attaches to the segment of `name`: read-write, or read-only (mapped
 * PROT_READ: this process cannot write a byte of it, nor take its locks). */
static dtc_result attach(const char *name, bool readonly, dtc_instance **out)
{
    char inst[DTC_INSTANCE_MAX], shm[DTC_INSTANCE_MAX + 8];
    if (out == NULL)
        return DTC_EINVAL;
    *out = NULL;
    dtc_result rc = dtc_resolve_instance(name, inst);
    if (rc != DTC_OK)
        return rc;
    dtc__shm_name(inst, shm, sizeof shm);
    /* glibc adds O_NOFOLLOW */
    int fd = shm_open(shm, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
        dtc_log(DTC_LOG_ERROR, "attach_refused", NULL, NULL,
                "segment=%s error=\"no permission to open it\" uid=%lu", shm,
                (unsigned long)geteuid());
        return DTC_EPERM;
    }
    if (fd < 0)
        return errno == ENOENT ? DTC_ENOSEGMENT : DTC_ESYS;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return DTC_ESYS;
    }
    if (!S_ISREG(st.st_mode) || (rc = owner_ok(shm, &st)) != DTC_OK) {
        close(fd);
        return rc != DTC_OK ? rc : DTC_EPERM;
    }
    if ((size_t)st.st_size < sizeof(struct dtc_shm_header)) {
        close(fd);
        return st.st_size == 0 ? DTC_ECORRUPT : DTC_ESIZE;
    }
    void *p = mmap(NULL, (size_t)st.st_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return DTC_ESYS;
    rc = dtc__header_validate(p, (size_t)st.st_size);
    if (rc == DTC_OK && (*out = instance_new(inst, p, (size_t)st.st_size)) == NULL)
        rc = DTC_ESYS;
    if (rc == DTC_OK) {
        (*out)->dlog_group = (st.st_mode & 0070) != 0;
        (*out)->readonly = readonly;
    }
    if (rc != DTC_OK)
        munmap(p, (size_t)st.st_size);
    return rc;
}

dtc_result dtc_open(const char *name, dtc_instance **out)
{
    return attach(name, false, out);
}

dtc_result dtc__open_readonly(const char *name, dtc_instance **out)
{
    return attach(name, true, out);
}

void dtc__instance_hold(dtc_instance *in)
{
    DTC_ASSERT(atomic_load(&in->refs) > 0);
    atomic_fetch_add(&in->refs, 1);
}

void dtc__instance_release(dtc_instance *in)
{
    DTC_ASSERT(atomic_load(&in->refs) > 0);
    if (atomic_fetch_sub(&in->refs, 1) != 1)
        return;
    dtc__dlog_detach(in);
    dtc__courier_destroy(&in->courier);
    munmap(in->hdr, in->size);
    free(in);
}

void dtc_close(dtc_instance **inst)
{
    if (inst == NULL || *inst == NULL)
        return;
    dtc_instance *in = *inst;
    *inst = NULL;
    dtc__instance_release(in); /* a participant still registered keeps it */
}

const char *dtc_instance_name(const dtc_instance *inst)
{
    return inst->name;
}

static void header_init(struct dtc_shm_header *h, const char *inst, const dtc_limits *l,
                        const struct geometry *g, const struct dtc__dlog_cfg *dl)
{
    if (dl != NULL && dl->dir[0] != '\0') {
        dtc__strcopy(h->sh_dlog_dir, dl->dir, sizeof h->sh_dlog_dir);
        h->sh_dlog_file_size = dl->file_size;
        h->sh_dlog_files = dl->files;
        atomic_store(&h->sh_recovering, 1);
    }
    dtc__mutex_init(&h->sh_dlog_lock);
    dtc__mutex_init(&h->sh_dlog_flush_lock);
    dtc__mutex_init(&h->sh_dlog_out_lock);
    dtc__mutex_init(&h->sh_journal_lock);
    h->sh_magic = DTC_SHM_MAGIC;
    h->sh_version = DTC_LAYOUT_VERSION;
    h->sh_format = DTC_FORMAT_WORD;
    h->sh_total_size = g->total;
    h->sh_header_size = sizeof *h;
    h->sh_txn_slot_size = (uint32_t)g->txn_slot;
    h->sh_part_slot_size = (uint32_t)g->part_slot;
    h->sh_ring_cap = g->ring_cap;
    h->sh_txn_off = g->txn_off;
    h->sh_part_off = g->part_off;
    h->sh_max_txns = l->max_txns;
    h->sh_max_parts_per_txn = l->max_parts_per_txn;
    h->sh_max_participants = l->max_participants;
    snprintf(h->sh_instance, sizeof h->sh_instance, "%s", inst);
    dtc__mutex_init(&h->sh_sup_lock);
    dtc__mutex_init(&h->sh_reg_lock);
}

static void slots_init(dtc_instance *in)
{
    for (uint32_t i = 0; i < in->max_txns; i++) {
        dtc__mutex_init(&dtc__txn(in, i)->ts_lock);
        dtc__cond_init(&dtc__txn(in, i)->ts_cond);
        dtc__mutex_init(&dtc__txn(in, i)->ts_wake.wk_lock);
    }
    for (uint32_t i = 0; i < in->max_participants; i++) {
        dtc__mutex_init(&dtc__part(in, i)->ps_lock);
        dtc__cond_init(&dtc__part(in, i)->ps_cond);
        dtc__mutex_init(&dtc__part(in, i)->ps_wake.wk_lock);
    }
}

dtc_result dtc__segment_create(const char *instance, const dtc_limits *l,
                               int group_access, const struct dtc__dlog_cfg *dl,
                               dtc_instance **out)
{
    char shm[DTC_INSTANCE_MAX + 8];
    struct geometry g;
    if (!limits_ok(l))
        return DTC_EINVAL;
    geometry(l, &g);
    dtc__shm_name(instance, shm, sizeof shm);
    mode_t mode = group_access ? 0660 : 0600;
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? DTC_EEXIST : DTC_ESYS;
    if (fchmod(fd, mode) != 0 || ftruncate(fd, (off_t)g.total) != 0) {
        close(fd);
        shm_unlink(shm);
        return DTC_ESYS;
    }
    void *p = mmap(NULL, g.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        shm_unlink(shm);
        return DTC_ESYS;
    }
    header_init(p, instance, l, &g, dl);
    dtc_instance *in = instance_new(instance, p, g.total);
    if (in == NULL) {
        munmap(p, g.total);
        shm_unlink(shm);
        return DTC_ESYS;
    }
    in->dlog_group = group_access != 0;
    slots_init(in);
    atomic_store(&in->hdr->sh_ready, 1); /* published: attach may succeed */
    *out = in;
    return DTC_OK;
}

void dtc__segment_unlink(const char *instance)
{
    char shm[DTC_INSTANCE_MAX + 8];
    dtc__shm_name(instance, shm, sizeof shm);
    shm_unlink(shm);
}
