/*
 * recover.c - dtcd's replay of the decision log into a fresh segment
 * (after a reboot, or a restart that removed the segment), and its
 * upkeep of the log files.
 *
 * Replay reads every record in order and keeps the live set: the last
 * decision (COMMIT, COMPENSATE, HEURISTIC) of every transaction with no
 * END after it.  It positions the writer after the last valid record
 * (zero-filling the rest of that file, so a torn tail is gone for good),
 * then gives every live transaction a slot, adopted and flagged
 * RECOVERED, with its participants by name only: the finisher redelivers
 * the outcome as they register again.  Only then is sh_recovering
 * cleared; until then nobody may presume an abort (DTC_ERECOVERING, or
 * DTC_ENOSUPERVISOR while no dtcd runs to finish the replay).
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

static int replay_one(void *ctx, const struct dtc__dlog_rec *r)
{
    struct live *l = ctx;
    if (r->type == DTC_DLOG_END)
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
        e->te_op = st == DTC_TXN_COMMITTING ? DTC_OP_COMMIT : DTC_OP_ROLLBACK;
        e->te_status = r->entries[i].status == DTC_ENTRY_PENDING ? DTC_ENTRY_DEAD : r->entries[i].status;
        e->te_vote = r->entries[i].vote;
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

/* Sets the writer after the last valid record (a first file if none). */
static dtc_result position(dtc_instance *in, uint64_t end, uint64_t last)
{
    struct dtc_shm_header *h = in->hdr;
    uint32_t size = in->dlog_file_size;
    if (end == 0) {
        last = last + 1;
        if (dtc__dlog_take_spare(in->dlog_dir, last, size, in->dlog_group) != DTC_OK)
            return DTC_ELOG;
        end = last * size + DTC_DLOG_FILE_HDR;
    }
    if (dtc__dlog_reset_tail(in->dlog_dir, last, end - last * size, size) != DTC_OK)
        return DTC_ELOG;
    h->sh_dlog_fileno = last;
    h->sh_dlog_end = end;
    atomic_store(&h->sh_dlog_written, end);
    atomic_store(&h->sh_dlog_durable, end);
    return DTC_OK;
}

/* Removes files after `last` (a new file whose header never reached the
 * disk: nothing in it was ever durable). */
static void drop_after(const char *dir, uint64_t last)
{
    uint64_t *v;
    long n = dtc__dlog_list(dir, &v);
    for (long i = 0; i < n; i++) {
        if (v[i] <= last)
            continue;
        char path[DTC_DATA_DIR_MAX + 64];
        dtc__dlog_path(dir, v[i], path, sizeof path);
        dtc_log(DTC_LOG_WARN, "dlog_drop", NULL, NULL, "file=%016llx why=invalid_header",
                (unsigned long long)v[i]);
        remove(path);
    }
    free(v);
}

dtc_result dtc__dlog_recover(dtc_instance *in)
{
    struct live l = {0};
    uint64_t end = 0, last = 0;
    uint32_t size = 0;
    int64_t t0 = dtc__now_ns();
    dtc_result rc = rehash(&l) == 0 ? DTC_OK : DTC_ESYS;
    if (rc == DTC_OK)
        rc = dtc__dlog_scan(in->dlog_dir, replay_one, &l, &end, &last, &size);
    if (rc == DTC_OK && l.oom)
        rc = DTC_ESYS;
    if (rc == DTC_OK && size != 0 && size != in->dlog_file_size)
        rc = DTC_ELOG; /* dtcd read the size from the files before creating the segment */
    if (rc == DTC_OK) {
        drop_after(in->dlog_dir, last);
        rc = position(in, end, last);
    }
    if (rc == DTC_OK)
        rc = place_all(in, &l);
    if (rc == DTC_OK) {
        atomic_store(&in->hdr->sh_recovering, 0);
        dtc_log(DTC_LOG_INFO, "recover", NULL, NULL,
                "dir=%s live=%zu end_lsn=%llu file=%016llx ms=%lld", in->dlog_dir, l.count,
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

void dtc__dlog_maintain(dtc_instance *in)
{
    char spare[DTC_DATA_DIR_MAX + 64];
    struct stat st;
    if (!dtc__dlog_on(in) || atomic_load(&in->hdr->sh_recovering))
        return;
    static int64_t next_try; /* after a failure: once a second, not every tick */
    snprintf(spare, sizeof spare, "%s/dlog.spare", in->dlog_dir);
    if (lstat(spare, &st) != 0 && dtc__now_ns() >= next_try
        && dtc__dlog_make_spare(in->dlog_dir, in->dlog_file_size, in->dlog_group) != DTC_OK)
        next_try = dtc__now_ns() + 1000000000LL;
    uint64_t cur = in->hdr->sh_dlog_fileno;
    if (cur >= in->dlog_files)
        dtc__dlog_prune(in->dlog_dir, cur - in->dlog_files + 1);
}
