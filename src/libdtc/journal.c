/*
 * journal.c - the instance journal: participants' prepare, commit and
 * rollback records kept in the decision log, so that the group commit of
 * the COMMIT record makes a whole transaction durable (docs/journal.md;
 * the contract in dtc.h).
 *
 * The segment's journal table (sh_journal, shm.h) names every participant
 * that journals and its checkpoint: the log keeps every file from the
 * smallest checkpoint's on (dtc__journal_keep_from; recover.c prunes).  A
 * checkpoint is also a JCHECKPOINT record, copied at every file switch
 * (dtc__journal_copy), so that dtcd rebuilds the table from the log after
 * a host crash (dtc__journal_restore) before anyone registers again.
 *
 * Replay reads the log (the files, through the page cache: records not
 * yet synced included) and gives each prepare record its transaction's
 * outcome by dtc_participant_outcome, the one recovery rule.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlog.h"

/* ---- the table ---------------------------------------------------------- */

/* On EOWNERDEAD: clears entries whose name a dead writer left invalid. */
static int repair_table(dtc_instance *in, void *obj)
{
    (void)obj;
    for (uint32_t i = 0; i < DTC_JOURNAL_PARTS_MAX; i++) {
        struct dtc_shm_journal *j = &in->hdr->sh_journal[i];
        if (j->jn_name[0] != '\0'
            && (memchr(j->jn_name, '\0', DTC_NAME_MAX) == NULL || !dtc__name_valid(j->jn_name))) {
            memset(j->jn_name, 0, DTC_NAME_MAX);
            atomic_fetch_add(&j->jn_gen, 1);
        }
    }
    return 0;
}

static dtc_result table_lock(dtc_instance *in)
{
    return dtc__lock(in, &in->hdr->sh_journal_lock, repair_table, NULL);
}

/* With sh_journal_lock: the entry named `name`, or -1. */
static int find_locked(dtc_instance *in, const char *name)
{
    for (int i = 0; i < DTC_JOURNAL_PARTS_MAX; i++)
        if (strncmp(in->hdr->sh_journal[i].jn_name, name, DTC_NAME_MAX) == 0)
            return i;
    return -1;
}

/* With sh_journal_lock: makes (or finds) the entry of `name`; a new one's
 * checkpoint is the log's end now (it has no record before). */
static int take_locked(dtc_instance *in, const char *name, uint64_t ckpt)
{
    int i = find_locked(in, name);
    for (int k = 0; i < 0 && k < DTC_JOURNAL_PARTS_MAX; k++)
        if (in->hdr->sh_journal[k].jn_name[0] == '\0')
            i = k;
    if (i < 0)
        return -1;
    struct dtc_shm_journal *j = &in->hdr->sh_journal[i];
    if (j->jn_name[0] == '\0') {
        atomic_store(&j->jn_ckpt, ckpt); /* before the name: retention sees it first */
        dtc__strcopy(j->jn_name, name, DTC_NAME_MAX);
    }
    return i;
}

dtc_result dtc__journal_entry(dtc_participant *p, uint32_t *idx)
{
    struct dtc_shm_header *h = p->in->hdr;
    if (p->jhave && p->jidx < DTC_JOURNAL_PARTS_MAX
        && atomic_load(&h->sh_journal[p->jidx].jn_gen) == p->jgen
        && strncmp(h->sh_journal[p->jidx].jn_name, p->name, DTC_NAME_MAX) == 0) {
        *idx = p->jidx;
        return DTC_OK;
    }
    dtc_result rc = table_lock(p->in);
    if (rc != DTC_OK)
        return rc;
    int i = take_locked(p->in, p->name, atomic_load(&h->sh_dlog_written));
    if (i >= 0) {
        p->jhave = true;
        p->jidx = (uint32_t)i;
        p->jgen = atomic_load(&h->sh_journal[i].jn_gen);
    }
    dtc__unlock(&h->sh_journal_lock);
    if (i < 0) {
        dtc_log(DTC_LOG_ERROR, "journal_full", NULL, p->name, "max=%u", DTC_JOURNAL_PARTS_MAX);
        return DTC_EREGFULL;
    }
    *idx = (uint32_t)i;
    return DTC_OK;
}

/* ---- records ------------------------------------------------------------ */

/* A journal record of `type` by participant `name` into r. */
static void rec_init(struct dtc__dlog_rec *r, uint8_t type, uint16_t flags, const char *name,
                     const dtc_txid *id, const void *data, size_t len)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(r, 0, offsetof(struct dtc__dlog_rec, entries));
    r->type = type;
    r->flags = flags;
    if (id != NULL)
        r->txid = *id;
    r->unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    r->nentries = 1;
    memset(&r->entries[0], 0, sizeof r->entries[0]);
    dtc__strcopy(r->entries[0].name, name, sizeof r->entries[0].name);
    r->data = data;
    r->data_len = (uint32_t)len;
}

/* Stages a prepare or done record of p (journal_stage.c); *jlsn receives
 * its end when it is written.  With lsn: written at once, its end there. */
static dtc_result append(dtc_participant *p, uint8_t type, uint16_t flags, const dtc_txid *id,
                         const void *rec, size_t len, uint64_t *jlsn, uint64_t *lsn)
{
    if (len > DTC_JOURNAL_REC_MAX || (len > 0 && rec == NULL))
        return len > DTC_JOURNAL_REC_MAX ? DTC_ETOOBIG : DTC_EINVAL;
    if (!dtc__dlog_on(p->in))
        return DTC_ESTATE;
    uint64_t end = 0; /* its end, when written at once and nobody else asks */
    if (jlsn == NULL && lsn != NULL)
        jlsn = &end;
    dtc_result rc = dtc__journal_stage(p, type, flags, id, rec, len, jlsn);
    if (rc == DTC_OK && lsn != NULL) { /* asked for: written now */
        rc = dtc__journal_write(p);
        *lsn = *jlsn;
    }
    return rc;
}

dtc_result dtc_journal_prepare(dtc_participant *p, const dtc_request *rq, const void *rec,
                               size_t len, uint64_t *lsn)
{
    if (p == NULL || rq == NULL || p->cur_req != rq || p->cur_jlsn == NULL)
        return DTC_EINVAL; /* only from the prepare callback running for rq */
    /* the yes vote carries its end (p->cur_jlsn), set when it is written:
     * at the latest before the batch's answers are published */
    return append(p, DTC_DLOG_JPREPARE, 0, &rq->txid, rec, len, p->cur_jlsn, lsn);
}

dtc_result dtc_journal_done(dtc_participant *p, const dtc_txid *id, int committed,
                            const void *rec, size_t len, uint64_t *lsn)
{
    if (p == NULL || id == NULL)
        return DTC_EINVAL;
    return append(p, DTC_DLOG_JDONE, committed ? DTC_DLOG_F_JCOMMITTED : 0, id, rec, len, NULL,
                  lsn);
}

dtc_result dtc_journal_end(dtc_participant *p, uint64_t *lsn)
{
    if (p == NULL || lsn == NULL)
        return DTC_EINVAL;
    if (!dtc__dlog_on(p->in))
        return DTC_ESTATE;
    if (dtc__journal_write(p) != DTC_OK) /* what it staged lies before the end */
        return DTC_ELOG;
    *lsn = atomic_load_explicit(&p->in->hdr->sh_dlog_written, memory_order_acquire);
    return DTC_OK;
}

dtc_result dtc_journal_flush(dtc_participant *p, uint64_t lsn)
{
    if (p == NULL)
        return DTC_EINVAL;
    if (!dtc__dlog_on(p->in))
        return DTC_ESTATE;
    if (dtc__journal_write(p) != DTC_OK)
        return DTC_ELOG;
    if (lsn > atomic_load_explicit(&p->in->hdr->sh_dlog_written, memory_order_acquire))
        return DTC_EINVAL;
    return dtc__dlog_flush(p->in, lsn) == DTC_OK ? DTC_OK : DTC_ELOG;
}

/* Writes the JCHECKPOINT record of `name` at ckpt (flags: RELEASE). */
static dtc_result ckpt_record(dtc_instance *in, const char *name, uint64_t ckpt, uint16_t flags)
{
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    if (r == NULL)
        return DTC_ESYS;
    uint64_t end;
    rec_init(r, DTC_DLOG_JCHECKPOINT, flags, name, NULL, &ckpt, sizeof ckpt);
    dtc_result rc = dtc__dlog_append(in, r, &end) == DTC_OK ? DTC_OK : DTC_ELOG;
    free(r);
    return rc;
}

dtc_result dtc_journal_checkpoint(dtc_participant *p, uint64_t lsn)
{
    dtc_result rc = dtc_journal_flush(p, lsn); /* never past a durable log */
    uint32_t idx;
    if (rc == DTC_OK)
        rc = dtc__journal_entry(p, &idx);
    if (rc != DTC_OK)
        return rc;
    struct dtc_shm_header *h = p->in->hdr;
    if ((rc = table_lock(p->in)) != DTC_OK)
        return rc;
    struct dtc_shm_journal *j = &h->sh_journal[idx];
    if (atomic_load(&j->jn_gen) == p->jgen && lsn > atomic_load(&j->jn_ckpt)) {
        /* the table first: it is the truth (the storage covers it); a
         * crash before the record only keeps more of the log */
        atomic_store(&j->jn_ckpt, lsn);
        rc = ckpt_record(p->in, p->name, lsn, 0);
    }
    dtc__unlock(&h->sh_journal_lock);
    dtc__fault("journal.after_checkpoint");
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

struct found {
    dtc_journal_record r;
    size_t off; /* of its bytes in the arena */
};

struct replay {
    dtc_participant *p;
    uint64_t from;
    struct found *v;
    size_t n, cap;
    unsigned char *arena;
    size_t used, acap;
    bool oom;
};

static bool grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*ptr, c * elem);
    if (n == NULL)
        return false;
    *ptr = n;
    *cap = c;
    return true;
}

static int collect(void *ctx, const struct dtc__dlog_rec *r)
{
    struct replay *x = ctx;
    if ((r->type != DTC_DLOG_JPREPARE && r->type != DTC_DLOG_JDONE) || r->lsn < x->from
        || strncmp(r->entries[0].name, x->p->name, DTC_NAME_MAX) != 0)
        return 0;
    if (!grow((void **)&x->v, &x->cap, x->n + 1, sizeof *x->v)
        || !grow((void **)&x->arena, &x->acap, x->used + r->data_len + 1, 1)) {
        x->oom = true;
        return 1;
    }
    struct found *f = &x->v[x->n++];
    memset(f, 0, sizeof *f);
    f->r.kind = r->type == DTC_DLOG_JPREPARE           ? DTC_JOURNAL_PREPARED
                : r->flags & DTC_DLOG_F_JCOMMITTED      ? DTC_JOURNAL_COMMITTED
                                                        : DTC_JOURNAL_ROLLED_BACK;
    f->r.txid = r->txid;
    f->r.lsn = r->lsn;
    f->r.end = r->lsn + dtc__dlog_journal_len(r->entries[0].name, r->data_len);
    f->r.len = r->data_len;
    f->off = x->used;
    if (r->data_len > 0)
        memcpy(x->arena + x->used, r->data, r->data_len);
    x->used += r->data_len;
    f->r.outcome = f->r.kind == DTC_JOURNAL_COMMITTED ? DTC_OUTCOME_COMMITTED
                                                      : DTC_OUTCOME_ABORTED;
    return 0;
}

/* The outcome of every prepare record: its own later done record's, else
 * dtc_participant_outcome's (the one recovery rule). */
static dtc_result outcomes(struct replay *x)
{
    for (size_t i = 0; i < x->n; i++) {
        struct found *f = &x->v[i];
        if (f->r.kind != DTC_JOURNAL_PREPARED)
            continue;
        bool done = false;
        for (size_t k = i + 1; k < x->n && !done; k++) /* few: the tail since the checkpoint */
            if (x->v[k].r.kind != DTC_JOURNAL_PREPARED
                && memcmp(x->v[k].r.txid.bytes, f->r.txid.bytes, 16) == 0) {
                f->r.outcome = x->v[k].r.outcome;
                done = true;
            }
        if (done)
            continue;
        dtc_result rc = dtc_participant_outcome(x->p, &f->r.txid, &f->r.outcome);
        if (rc != DTC_OK)
            return rc;
    }
    return DTC_OK;
}

dtc_result dtc_journal_replay(dtc_participant *p, uint64_t from_lsn, dtc_journal_fn fn,
                              void *ctx)
{
    if (p == NULL || fn == NULL)
        return DTC_EINVAL;
    if (!dtc__dlog_on(p->in))
        return DTC_ESTATE;
    dtc_result rc = dtc__recovering(p->in); /* nothing presumed while dtcd replays */
    if (rc != DTC_OK)
        return rc;
    if (dtc__journal_write(p) != DTC_OK || dtc__dlog_write_out(p->in) != DTC_OK)
        return DTC_ELOG; /* replay reads the files */
    struct replay x = {.p = p, .from = from_lsn};
    struct dtc__dlog_scan_out s;
    rc = dtc__dlog_scan(p->in->dlog_dir, NULL, collect, &x, false, &s);
    if (rc == DTC_OK && x.oom)
        rc = DTC_ESYS;
    if (rc == DTC_OK)
        rc = outcomes(&x);
    for (size_t i = 0; rc == DTC_OK && i < x.n; i++) {
        struct found *f = &x.v[i];
        f->r.rec = f->r.len > 0 ? x.arena + f->off : (const void *)"";
        if (fn(ctx, &f->r) != 0)
            break;
    }
    free(x.v);
    free(x.arena);
    return rc;
}

/* ---- the table for dtcd, status and the file switch --------------------- */

bool dtc__journal_copy(dtc_instance *in, uint32_t i, struct dtc__dlog_rec *r, uint64_t *ckpt)
{
    const struct dtc_shm_journal *j = &in->hdr->sh_journal[i];
    char name[DTC_NAME_MAX];
    uint32_t gen = atomic_load(&j->jn_gen);
    memcpy(name, j->jn_name, sizeof name);
    *ckpt = atomic_load(&j->jn_ckpt);
    if (name[0] == '\0' || memchr(name, '\0', sizeof name) == NULL || !dtc__name_valid(name)
        || atomic_load(&j->jn_gen) != gen)
        return false;
    rec_init(r, DTC_DLOG_JCHECKPOINT, DTC_DLOG_F_COPY, name, NULL, ckpt, sizeof *ckpt);
    return true;
}

uint64_t dtc__journal_keep_from(const dtc_instance *in, uint32_t *who)
{
    uint64_t min = UINT64_MAX;
    *who = UINT32_MAX;
    for (uint32_t i = 0; i < DTC_JOURNAL_PARTS_MAX; i++) {
        const struct dtc_shm_journal *j = &in->hdr->sh_journal[i];
        uint64_t c = atomic_load(&j->jn_ckpt);
        if (j->jn_name[0] != '\0' && c / in->dlog_file_size < min) {
            min = c / in->dlog_file_size;
            *who = i;
        }
    }
    return min;
}

dtc_result dtc__journal_restore(dtc_instance *in, const char *name, uint64_t ckpt)
{
    dtc_result rc = table_lock(in);
    if (rc != DTC_OK)
        return rc;
    int i = take_locked(in, name, ckpt);
    if (i >= 0)
        atomic_store(&in->hdr->sh_journal[i].jn_ckpt, ckpt);
    dtc__unlock(&in->hdr->sh_journal_lock);
    if (i < 0)
        dtc_log(DTC_LOG_ERROR, "journal_full", NULL, name, "max=%u", DTC_JOURNAL_PARTS_MAX);
    return i >= 0 ? DTC_OK : DTC_EREGFULL;
}

/* One entry's figures (unlocked peek, bounded); false if free. */
static bool info_of(const dtc_instance *in, uint32_t i, dtc_journal_info *o)
{
    const struct dtc_shm_journal *j = &in->hdr->sh_journal[i];
    memcpy(o->name, j->jn_name, sizeof o->name);
    o->name[sizeof o->name - 1] = '\0';
    if (o->name[0] == '\0')
        return false;
    uint64_t end = atomic_load(&in->hdr->sh_dlog_written), c = atomic_load(&j->jn_ckpt);
    o->checkpoint_lsn = c;
    o->behind_bytes = end > c ? end - c : 0;
    uint64_t cur = in->hdr->sh_dlog_fileno, cf = c / in->dlog_file_size;
    o->held_files = cur >= cf ? cur - cf + 1 : 1;
    o->max_files = atomic_load(&in->hdr->sh_journal_max_files);
    o->over_bound = o->max_files != 0 && o->held_files > o->max_files;
    return true;
}

dtc_result dtc_journal_list(dtc_instance *in, dtc_journal_info *out, size_t cap, size_t *n)
{
    if (in == NULL || n == NULL || (cap > 0 && out == NULL))
        return DTC_EINVAL;
    *n = 0;
    if (!dtc__dlog_on(in))
        return DTC_OK;
    for (uint32_t i = 0; i < DTC_JOURNAL_PARTS_MAX; i++) {
        dtc_journal_info o;
        if (!info_of(in, i, &o))
            continue;
        if (*n < cap)
            out[*n] = o;
        (*n)++;
    }
    return DTC_OK;
}

dtc_result dtc_journal_release(dtc_instance *in, const char *name)
{
    if (in == NULL || name == NULL || !dtc__name_valid(name))
        return DTC_EINVAL;
    if (!dtc__dlog_on(in))
        return DTC_ESTATE;
    dtc_result rc = table_lock(in);
    if (rc != DTC_OK)
        return rc;
    int i = find_locked(in, name);
    if (i >= 0) {
        /* the record first: if it is lost, the entry stays (nothing lost) */
        uint64_t end = atomic_load(&in->hdr->sh_dlog_written);
        rc = ckpt_record(in, name, end, DTC_DLOG_F_JRELEASE);
        if (rc == DTC_OK) {
            struct dtc_shm_journal *j = &in->hdr->sh_journal[i];
            memset(j->jn_name, 0, sizeof j->jn_name);
            atomic_fetch_add(&j->jn_gen, 1);
        }
    }
    dtc__unlock(&in->hdr->sh_journal_lock);
    if (i < 0)
        return DTC_ENOTFOUND;
    if (rc == DTC_OK)
        dtc_log(DTC_LOG_WARN, "journal_released", NULL, name, "lost=\"its records not yet replayed\"");
    return rc;
}

void dtc__journal_warn(dtc_instance *in)
{
    static int64_t next_ns; /* dtcd's own: once a minute at most */
    uint32_t max_files = atomic_load(&in->hdr->sh_journal_max_files);
    if (max_files == 0 || dtc__now_ns() < next_ns)
        return;
    for (uint32_t i = 0; i < DTC_JOURNAL_PARTS_MAX; i++) {
        dtc_journal_info o;
        if (!info_of(in, i, &o) || !o.over_bound)
            continue;
        dtc_log(DTC_LOG_WARN, "journal_behind", NULL, o.name,
                "held_files=%llu max_files=%u behind_bytes=%llu checkpoint_lsn=%llu "
                "hint=\"restart it, or if it is gone for good: dtcctl journal-release %s\"",
                (unsigned long long)o.held_files, max_files, (unsigned long long)o.behind_bytes,
                (unsigned long long)o.checkpoint_lsn, o.name);
        next_ns = dtc__now_ns() + 60000000000LL;
    }
}
