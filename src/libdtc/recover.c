/*
 * recover.c - dtcd's replay of the decision log into a fresh segment
 * (after a reboot, or a restart that removed the segment), and its
 * upkeep of the log files.
 *
 * Replay checks the log's identity (DIR/dlog.control, every file header)
 * and reads every record in order, keeping the live set: the last
 * decision (COMMIT, COMPENSATE, HEURISTIC) of every transaction with no
 * END after it.  Damage (dlog_read.c's rule) refuses the start and
 * changes nothing.  Then it gives every live transaction a slot, adopted
 * and flagged RECOVERED, and positions the writer after the last record
 * (a torn tail's bytes copied aside, then zero-filled, so a torn tail
 * is gone for good), with its participants by name only: the finisher
 * redelivers the outcome as they register again.  Only then is sh_recovering
 * cleared; until then nobody may presume an abort (DTC_ERECOVERING, or
 * DTC_ENOSUPERVISOR while no dtcd runs to finish the replay).
 * Journal records (journal.c) rebuild the segment's journal table (each
 * participant's newest checkpoint) and are never live decisions.
 * Replay is idempotent: a transaction that already has a slot (a dtcd
 * that died mid-replay) is left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlog.h"

/* The live set: records by txid (open addressing, tombstones), the
 * records themselves in a pointer array with a free list. */
struct live {
    struct dtc__dlog_rec **rec;
    size_t nrec, caprec;
    uint32_t *free_idx;
    size_t nfree;
    struct hslot { unsigned char id[16]; uint32_t idx; uint8_t used; } *h; /* used: 0 1 2=tomb */
    size_t cap, used, tombs, count;
    int oom;
    /* The journal table as the log tells it (journal.c) */
    struct jpart { char name[DTC_NAME_MAX]; uint64_t ckpt; } jp[DTC_JOURNAL_PARTS_MAX];
    uint32_t njp;
};

static size_t hash_id(const unsigned char *id)
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    return (size_t)((a ^ b) * 0x9e3779b97f4a7c15ull >> 17);
}

/* The table position of id, or of the first free place for it. */
static struct hslot *probe(struct live *l, const unsigned char *id, bool insert)
{
    struct hslot *tomb = NULL;
    for (size_t i = hash_id(id) & (l->cap - 1);; i = (i + 1) & (l->cap - 1)) {
        struct hslot *s = &l->h[i];
        if (s->used == 0)
            return insert && tomb ? tomb : insert ? s : NULL;
        if (s->used == 2 && tomb == NULL)
            tomb = s;
        if (s->used == 1 && memcmp(s->id, id, 16) == 0)
            return s;
    }
}

static int rehash(struct live *l)
{
    size_t cap = 64;
    while (cap < 4 * (l->count + 1))
        cap *= 2;
    struct hslot *old = l->h;
    size_t oldcap = l->cap;
    if ((l->h = calloc(cap, sizeof *l->h)) == NULL) {
        l->h = old;
        return -1;
    }
    l->cap = cap;
    l->used = l->count;
    l->tombs = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].used == 1)
            *probe(l, old[i].id, true) = old[i];
    free(old);
    return 0;
}

static uint32_t new_index(struct live *l)
{
    if (l->nfree > 0)
        return l->free_idx[--l->nfree];
    if (l->nrec == l->caprec) {
        size_t cap = l->caprec ? 2 * l->caprec : 64;
        struct dtc__dlog_rec **r = realloc(l->rec, cap * sizeof *r); // NOLINT(bugprone-sizeof-expression): pointers
        uint32_t *f = realloc(l->free_idx, cap * sizeof *f);
        if (r != NULL)
            l->rec = r;
        if (f != NULL)
            l->free_idx = f;
        if (r == NULL || f == NULL)
            return UINT32_MAX;
        l->caprec = cap;
    }
    l->rec[l->nrec] = NULL;
    return (uint32_t)l->nrec++;
}

static void forget(struct live *l, const unsigned char *id)
{
    struct hslot *s = probe(l, id, false);
    if (s == NULL)
        return;
    free(l->rec[s->idx]);
    l->rec[s->idx] = NULL;
    l->free_idx[l->nfree++] = s->idx;
    s->used = 2;
    l->tombs++;
    l->count--;
}

static int keep(struct live *l, const struct dtc__dlog_rec *r)
{
    struct hslot *s = probe(l, r->txid.bytes, false);
    if (s != NULL) {
        *l->rec[s->idx] = *r;
        return 0;
    }
    if ((l->used + l->tombs + 1) * 2 > l->cap && rehash(l) != 0)
        return -1;
    uint32_t idx = new_index(l);
    struct dtc__dlog_rec *copy = malloc(sizeof *copy);
    if (idx == UINT32_MAX || copy == NULL) {
        free(copy);
        return -1;
    }
    *copy = *r;
    l->rec[idx] = copy;
    s = probe(l, r->txid.bytes, true);
    l->tombs -= s->used == 2;
    l->used += s->used == 0;
    *s = (struct hslot){.idx = idx, .used = 1};
    memcpy(s->id, r->txid.bytes, 16);
    l->count++;
    return 0;
}

/* A journal record: the participant's entry, its newest checkpoint (a
 * release drops it; a record of one unknown makes it, from there). */
static void journal_one(struct live *l, const struct dtc__dlog_rec *r)
{
    const char *name = r->entries[0].name;
    uint32_t i = 0;
    while (i < l->njp && strcmp(l->jp[i].name, name) != 0)
        i++;
    if (r->type == DTC_DLOG_JCHECKPOINT && (r->flags & DTC_DLOG_F_JRELEASE)) {
        if (i < l->njp)
            l->jp[i] = l->jp[--l->njp];
        return;
    }
    if (i == l->njp) {
        if (l->njp == DTC_JOURNAL_PARTS_MAX)
            return; /* logged by dtc__journal_restore's limit, never reached by writers */
        dtc__strcopy(l->jp[i].name, name, sizeof l->jp[i].name);
        l->jp[i].ckpt = r->lsn;
        l->njp++;
    }
    uint64_t c;
    if (r->type == DTC_DLOG_JCHECKPOINT && r->data_len == sizeof c) {
        memcpy(&c, r->data, sizeof c);
        l->jp[i].ckpt = c;
    }
}

static int replay_one(void *ctx, const struct dtc__dlog_rec *r)
{
    struct live *l = ctx;
    if (dtc__dlog_journal_type(r->type))
        journal_one(l, r);
    else if (r->type == DTC_DLOG_END)
        forget(l, r->txid.bytes);
    else if (r->type != DTC_DLOG_RETRY && keep(l, r) != 0)
        l->oom = 1;
    return l->oom;
}

static void live_free(struct live *l)
{
    for (size_t i = 0; i < l->nrec; i++)
        free(l->rec[i]);
    free(l->rec);
    free(l->free_idx);
    free(l->h);
}

/* The state a live record puts its slot in. */
static uint32_t state_of(const struct dtc__dlog_rec *r)
{
    return r->type == DTC_DLOG_COMMIT       ? DTC_TXN_COMMITTING
           : r->type == DTC_DLOG_COMPENSATE ? DTC_TXN_ABORTING
                                            : DTC_TXN_HEURISTIC;
}

static uint32_t at_least(uint32_t v, uint32_t min)
{
    return v > min ? v : min;
}

/* With ts_lock held on a FREE slot: the transaction of r, adopted. */
static void rebuild(dtc_instance *in, struct dtc_txn_slot *ts, const struct dtc__dlog_rec *r)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    uint32_t st = state_of(r);
    ts->ts_gen++;
    ts->ts_flags = DTC_TS_ADOPTED | DTC_TS_RECOVERED
                   | (r->flags & DTC_DLOG_F_COMMIT_FAILED ? DTC_TS_COMMIT_FAILED : 0);
    ts->ts_nentries = r->nentries;
    ts->ts_pending = 0;
    ts->ts_result = r->result < DTC_RESULT_COUNT ? r->result : DTC_ECORRUPT;
    memcpy(ts->ts_txid, r->txid.bytes, 16);
    ts->ts_owner_pid = 0; /* nobody: dtcd adopts and finishes it */
    ts->ts_owner_start = 0;
    ts->ts_driver = 0;
    ts->ts_begin_ns = ts->ts_touch_ns = dtc__now_ns();
    ts->ts_deadline_ns = 0;
    ts->ts_prepare_ms = DTC_DLOG_RECOVERED_MS;
    ts->ts_commit_ms = at_least(r->commit_ms, DTC_DLOG_RECOVERED_MS);
    ts->ts_rollback_ms = at_least(r->rollback_ms, DTC_DLOG_RECOVERED_MS);
    ts->ts_max_retries = at_least(r->max_retries, DTC_DLOG_RECOVERED_RETRIES);
    ts->ts_dlsn = r->lsn + 1;
    ts->ts_dtype = r->type;
    for (uint32_t i = 0; i < r->nentries; i++) {
        struct dtc_txn_entry *e = &ts->ts_entries[i];
        memset(e, 0, sizeof *e);
        e->te_vote = r->entries[i].vote;
        /* a read-only voter stays out of phase two (txn.c sends it nothing) */
        e->te_op = e->te_vote == DTC_ENTRY_READONLY ? DTC_OP_PREPARE
                   : st == DTC_TXN_COMMITTING      ? DTC_OP_COMMIT
                                                   : DTC_OP_ROLLBACK;
        e->te_status = r->entries[i].status == DTC_ENTRY_PENDING ? DTC_ENTRY_DEAD : r->entries[i].status;
        dtc__strcopy(e->te_name, r->entries[i].name, sizeof e->te_name);
        dtc__strcopy(e->te_reason, r->entries[i].reason, sizeof e->te_reason);
    }
    dtc__wake_renew(in, &ts->ts_wake, &ts->ts_cond);
    ts->ts_state = st; /* last: the slot is in use */
}

static bool has_slot(dtc_instance *in, const dtc_txid *id)
{
    for (uint32_t i = 0; i < in->max_txns; i++) {
        const struct dtc_txn_slot *ts = dtc__txn(in, i);
        if (ts->ts_state != DTC_TXN_FREE && memcmp(ts->ts_txid, id->bytes, 16) == 0)
            return true;
    }
    return false;
}

/* Gives r a free slot; -1 if none is left. */
static int place(dtc_instance *in, const struct dtc__dlog_rec *r)
{
    for (uint32_t i = 0; i < in->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(in, i);
        if (ts->ts_state != DTC_TXN_FREE || dtc__txn_lock(in, ts) != DTC_OK)
            continue;
        bool ok = ts->ts_state == DTC_TXN_FREE;
        if (ok)
            rebuild(in, ts, r);
        dtc__unlock(&ts->ts_lock);
        if (!ok)
            continue;
        dtc_log(DTC_LOG_WARN, "recovered", &r->txid, NULL, "slot=%u state=%s participants=%u",
                i, dtc_txn_state_name(ts->ts_state), r->nentries);
        return 0;
    }
    return -1;
}

static dtc_result place_all(dtc_instance *in, struct live *l)
{
    if (l->count > in->max_txns) {
        dtc_log(DTC_LOG_ERROR, "recover_refused", NULL, NULL,
                "live_decisions=%zu max_txns=%u hint=\"start dtcd with --max-txns >= %zu\"", l->count,
                in->max_txns, l->count);
        return DTC_ELOG;
    }
    for (size_t i = 0; i < l->nrec; i++) {
        const struct dtc__dlog_rec *r = l->rec[i];
        if (r == NULL || has_slot(in, &r->txid))
            continue;
        if (r->nentries > in->max_parts || place(in, r) != 0) {
            dtc_log(DTC_LOG_ERROR, "recover_refused", &r->txid, NULL,
                    "participants=%u max_parts=%u error=\"too many participants or no free slot\"", r->nentries,
                    in->max_parts);
            return DTC_ELOG;
        }
    }
    return DTC_OK;
}

/* Keeps a copy of a torn tail's bytes before they are cleared (DIR/
 * dlog.<no>.torn-<offset>-<ms>): nothing readable is ever lost. */
static dtc_result save_torn(dtc_instance *in, const struct dtc__dlog_scan_out *s)
{
    char name[40], suffix[64], path[DTC_DATA_DIR_MAX + 128];
    uint64_t base = s->last_file * in->dlog_file_size;
    if (s->torn_from == 0)
        return DTC_OK;
    snprintf(name, sizeof name, "dlog.%016llx", (unsigned long long)s->last_file);
    snprintf(suffix, sizeof suffix, "torn-%llu-%lld", (unsigned long long)(s->torn_from - base),
             (long long)(dtc__now_ns() / 1000000));
    dtc_result rc = dtc__dlog_copy_aside(in->dlog_dir, name, suffix, s->torn_from - base,
                                         s->torn_to - base, path, sizeof path);
    if (rc == DTC_OK)
        dtc_log(DTC_LOG_WARN, "dlog_torn_tail", NULL, NULL,
                "file=%s offset=%llu bytes=%llu kept=%s why=\"no sync known to cover it\"", name,
                (unsigned long long)(s->torn_from - base),
                (unsigned long long)(s->torn_to - s->torn_from), path);
    return rc;
}

/* Sets the writer after the last record: in the last file (its torn
 * tail kept aside, then zero-filled), or in a new or never-used file. */
static dtc_result position(dtc_instance *in, const struct dtc__dlog_scan_out *s,
                           const struct dtc__dlog_id *id)
{
    struct dtc_shm_header *h = in->hdr;
    uint32_t size = in->dlog_file_size;
    uint64_t last = s->last_file, end = s->end;
    dtc_result rc;
    if (end == 0 || s->unused_last) {
        /* a new file: the spare renamed in, or the one renamed in before
         * a crash whose header never reached the disk (zero) */
        last = last + 1;
        rc = s->unused_last ? dtc__dlog_write_header(in->dlog_dir, last, size, id, end)
                            : dtc__dlog_take_spare(in->dlog_dir, last, size, in->dlog_group, id, end);
        end = last * size + DTC_DLOG_FILE_HDR;
    } else {
        rc = save_torn(in, s);
        if (rc == DTC_OK)
            rc = dtc__dlog_reset_tail(in->dlog_dir, last, end - last * size,
                                      s->torn_from ? s->torn_to - last * size : 0);
    }
    if (rc != DTC_OK)
        return DTC_ELOG;
    h->sh_dlog_fileno = last;
    h->sh_dlog_end = end;
    atomic_store(&h->sh_dlog_filed, end);
    atomic_store(&h->sh_dlog_written, end);
    atomic_store(&h->sh_dlog_durable, end);
    return DTC_OK;
}

/* The log's identity: DIR/dlog.control, made with the first log file;
 * refused if it names another instance, or is missing while files exist. */
static dtc_result identity(dtc_instance *in, struct dtc__dlog_id *id)
{
    uint64_t *v;
    dtc_result rc = dtc__dlog_control_read(in->dlog_dir, id);
    if (rc == DTC_OK && strncmp(id->instance, in->name, sizeof id->instance) != 0) {
        char hex[33];
        dtc__dlog_id_hex(id, hex);
        dtc_log(DTC_LOG_ERROR, "dlog_refused", NULL, NULL,
                "dir=%s error=\"the log belongs to another instance\" log=%s log_instance=%s "
                "instance=%s", in->dlog_dir, hex, id->instance, in->name);
        return DTC_ELOG;
    }
    if (rc != DTC_ENOTFOUND)
        return rc;
    long n = dtc__dlog_list(in->dlog_dir, &v);
    free(v);
    if (n != 0) {
        dtc_log(DTC_LOG_ERROR, "dlog_refused", NULL, NULL,
                "dir=%s error=\"dlog.control is missing but log files exist\" "
                "hint=\"a format 1 log, or the control file was removed: see "
                "docs/decision-log.md (Migration, Salvage)\"", in->dlog_dir);
        return DTC_ELOG;
    }
    dtc__dlog_spare_discard(in->dlog_dir); /* an older log's, if any */
    rc = dtc__dlog_control_create(in->dlog_dir, in->name, in->dlog_group, id);
    if (rc == DTC_OK) {
        char hex[33];
        dtc__dlog_id_hex(id, hex);
        dtc_log(DTC_LOG_INFO, "dlog_created", NULL, NULL, "dir=%s log=%s", in->dlog_dir, hex);
    }
    return rc;
}

dtc_result dtc__dlog_recover(dtc_instance *in)
{
    struct live l = {0};
    struct dtc__dlog_scan_out s;
    struct dtc__dlog_id id;
    int64_t t0 = dtc__now_ns();
    memset(&s, 0, sizeof s);
    dtc_result rc = rehash(&l) == 0 ? DTC_OK : DTC_ESYS;
    if (rc == DTC_OK)
        rc = identity(in, &id);
    if (rc == DTC_OK)
        rc = dtc__dlog_scan(in->dlog_dir, &id, replay_one, &l, false, &s);
    if (rc == DTC_OK && l.oom)
        rc = DTC_ESYS;
    if (rc == DTC_OK && s.file_size != 0 && s.file_size != in->dlog_file_size) {
        dtc_log(DTC_LOG_ERROR, "dlog_refused", NULL, NULL, "dir=%s file_bytes=%u want=%u",
                in->dlog_dir, s.file_size, in->dlog_file_size);
        rc = DTC_ELOG; /* dtcd read the size from the files before creating the segment */
    }
    if (rc == DTC_OK)
        rc = place_all(in, &l); /* before any byte changes: a refusal changes nothing */
    if (rc == DTC_OK)
        rc = position(in, &s, &id);
    for (uint32_t i = 0; rc == DTC_OK && i < l.njp; i++)
        rc = dtc__journal_restore(in, l.jp[i].name, l.jp[i].ckpt);
    if (rc == DTC_OK) {
        atomic_store(&in->hdr->sh_recovering, 0);
        dtc_log(DTC_LOG_INFO, "recover", NULL, NULL,
                "dir=%s live=%zu journals=%u end_lsn=%llu file=%016llx ms=%lld", in->dlog_dir,
                l.count, l.njp,
                (unsigned long long)in->hdr->sh_dlog_end, (unsigned long long)in->hdr->sh_dlog_fileno,
                (long long)((dtc__now_ns() - t0) / 1000000));
    } else {
        dtc_log(DTC_LOG_ERROR, "recover_failed", NULL, NULL, "dir=%s result=%s",
                in->dlog_dir, dtc_result_name(rc));
    }
    live_free(&l);
    return rc;
}

dtc_result dtc__recovering(const dtc_instance *in)
{
    const struct dtc_shm_header *h = in->hdr;
    if (!atomic_load(&h->sh_recovering))
        return DTC_OK;
    return dtc__proc_alive(h->sh_sup_pid, h->sh_sup_start) ? DTC_ERECOVERING
                                                            : DTC_ENOSUPERVISOR;
}

/* Free files kept for reuse: as many as the journal's retention may
 * hold before dtcd warns (read from the segment: bounded), at least the
 * log's own count. */
static uint32_t free_cap(const dtc_instance *in)
{
    uint32_t j = atomic_load(&in->hdr->sh_journal_max_files);
    j = j < DTC_DLOG_MAX_FILES ? j : DTC_DLOG_MAX_FILES;
    return j > in->dlog_files ? j : in->dlog_files;
}

/* Free files the spares have not drawn on for a minute (the fewest
 * there were, counted once a second) were not needed: beyond the log's
 * own count, one is deleted a minute.  A burst of retention does not keep
 * its files for good, and never discards many at once. */
static void trim_free(dtc_instance *in)
{
    static int64_t next_count, window_end; /* dtcd's tick alone calls this */
    static long fewest = -1;
    int64_t now = dtc__now_ns();
    if (now < next_count)
        return;
    next_count = now + 1000000000LL;
    long c = dtc__dlog_free_count(in->dlog_dir);
    fewest = fewest < 0 || c < fewest ? c : fewest;
    if (now < window_end)
        return;
    if (window_end != 0 && fewest > 0)
        (void)dtc__dlog_trim_free(in->dlog_dir, in->dlog_files);
    window_end = now + 60000000000LL;
    fewest = c;
}

void dtc__dlog_maintain(dtc_instance *in)
{
    if (!dtc__dlog_on(in) || atomic_load(&in->hdr->sh_recovering))
        return;
    static int64_t next_try; /* after a failure: once a second, not every tick */
    struct dtc__spare_job *job = &in->dlog_spare;
    uint64_t budget = dtc__dlog_spare_budget(job, atomic_load(&in->hdr->sh_dlog_written),
                                             in->dlog_file_size);
    uint64_t cur = in->hdr->sh_dlog_fileno;
    uint32_t holder;
    uint64_t jkeep = dtc__journal_keep_from(in, &holder); /* its records are not copied */
    if (cur >= in->dlog_files) { /* first: a pruned file may become the spare */
        uint64_t keep = cur - in->dlog_files + 1;
        dtc__dlog_prune(in->dlog_dir, keep < jkeep ? keep : jkeep, in->dlog_file_size, job,
                        free_cap(in), DTC_DLOG_PRUNE_TICK);
    }
    trim_free(in);
    if ((job->sj_fd >= 0 || (!dtc__dlog_spare_exists(in->dlog_dir) && dtc__now_ns() >= next_try))
        && dtc__dlog_spare_step(in->dlog_dir, in->dlog_file_size, in->dlog_group, job, budget) < 0)
        next_try = dtc__now_ns() + 1000000000LL;
    dtc__dlog_mark(in, false);
    dtc__journal_warn(in);
}
