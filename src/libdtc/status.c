/*
 * status.c - reporting: read-only snapshots of a segment for dtcctl and
 * tests (header and counters, participant slots, transaction slots), and
 * the one way a transaction slot becomes a dtc_txn_info, the reasons of
 * its entries split into code and text; the ids alone, for a participant
 * that asks once a second which transactions the slots still hold.  Each
 * slot is read under its own lock, one at a time (each_txn).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

dtc_result dtc_get_status(dtc_instance *in, dtc_status *out)
{
    DTC_ASSERT(dtc__locks_held() == 0); /* each slot locked alone */
    if (in == NULL || out == NULL)
        return DTC_EINVAL;
    struct dtc_shm_header *h = in->hdr;
    memset(out, 0, sizeof *out);
    snprintf(out->instance, sizeof out->instance, "%s", in->name);
    out->limits = (dtc_limits){in->max_txns, in->max_parts, in->max_participants};
    out->segment_size = in->size;
    out->layout_version = h->sh_version;
    out->supervisor_pid = h->sh_sup_pid;
    out->supervisor_alive = dtc__proc_alive(h->sh_sup_pid, h->sh_sup_start);
    out->shutting_down = atomic_load(&h->sh_shutdown) != 0;
    for (uint32_t i = 0; i < in->max_txns; i++)
        out->txns_in_use += dtc__txn(in, i)->ts_state != DTC_TXN_FREE
                            || (dtc__txn(in, i)->ts_flags & DTC_TS_QUARANTINED);
    for (uint32_t i = 0; i < in->max_participants; i++)
        out->participants_registered += dtc__part(in, i)->ps_state == DTC_PS_LIVE;
    out->corrupt_slots = atomic_load(&h->sh_corrupt_slots);
    out->counters = (dtc_counters){atomic_load(&h->sh_begun), atomic_load(&h->sh_committed),
                                   atomic_load(&h->sh_aborted), atomic_load(&h->sh_timed_out),
                                   atomic_load(&h->sh_reclaimed), atomic_load(&h->sh_heuristic),
                                   atomic_load(&h->sh_readonly_votes),
                                   atomic_load(&h->sh_one_phase)};
    out->recovering = atomic_load(&h->sh_recovering) != 0;
    out->decision_log = in->dlog_dir[0] != '\0';
    out->dlog_file = h->sh_dlog_fileno;
    out->dlog_written_lsn = atomic_load(&h->sh_dlog_written);
    out->dlog_durable_lsn = atomic_load(&h->sh_dlog_durable);
    out->dlog_records = atomic_load(&h->sh_dlog_records);
    out->dlog_syncs = atomic_load(&h->sh_dlog_syncs);
    uint32_t err = atomic_load(&h->sh_dlog_error); /* hostile: bounded */
    out->dlog_error = err == 0 ? DTC_OK : err < DTC_RESULT_COUNT ? (dtc_result)err : DTC_ECORRUPT;
    out->dlog_error_since_ms = err == 0 ? 0 : atomic_load(&h->sh_dlog_error_ms);
    return DTC_OK;
}

dtc_result dtc_list_participants(dtc_instance *in, dtc_participant_info *arr, size_t cap,
                                 size_t *n)
{
    if (in == NULL || n == NULL || (cap > 0 && arr == NULL))
        return DTC_EINVAL;
    *n = 0;
    for (uint32_t i = 0; i < in->max_participants; i++) {
        struct dtc_part_slot *ps = dtc__part(in, i);
        if (ps->ps_state != DTC_PS_LIVE || dtc__part_lock(in, ps) != DTC_OK)
            continue;
        if (ps->ps_state == DTC_PS_LIVE && *n < cap) {
            dtc_participant_info *o = &arr[*n];
            snprintf(o->name, sizeof o->name, "%.*s", DTC_NAME_MAX - 1, ps->ps_name);
            o->slot = i;
            o->pid = ps->ps_pid;
            o->alive = dtc__proc_alive(ps->ps_pid, ps->ps_start);
            uint64_t pending = ps->ps_tail - ps->ps_head; /* bounded by the lock's check */
            o->pending = pending <= in->ring_cap ? (uint32_t)pending : in->ring_cap;
            o->served = ps->ps_served;
            o->yes = ps->ps_answers[DTC_ANSWER_YES];
            o->no = ps->ps_answers[DTC_ANSWER_NO];
            o->errors = ps->ps_answers[DTC_ANSWER_ERROR];
            o->last_ns = ps->ps_last_ns;
            o->syncs = __atomic_load_n(&ps->ps_syncs, __ATOMIC_RELAXED);
        }
        *n += ps->ps_state == DTC_PS_LIVE;
        dtc__unlock(&ps->ps_lock);
    }
    return DTC_OK;
}

/* Calls fn for every transaction slot in use (or quarantined), each
 * under its own lock, one at a time. */
typedef void (*txn_visit_fn)(dtc_instance *in, struct dtc_txn_slot *ts, bool quarantined,
                             void *ctx);

static void each_txn(dtc_instance *in, txn_visit_fn fn, void *ctx)
{
    DTC_ASSERT(dtc__locks_held() == 0); /* each slot locked alone */
    for (uint32_t i = 0; i < in->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(in, i);
        bool quarantined;
        if ((ts->ts_state == DTC_TXN_FREE && !(ts->ts_flags & DTC_TS_QUARANTINED))
            || dtc__txn_lock_any(in, ts, &quarantined) != DTC_OK)
            continue;
        if (ts->ts_state != DTC_TXN_FREE || quarantined)
            fn(in, ts, quarantined, ctx);
        dtc__unlock(&ts->ts_lock);
    }
}

struct info_list {
    dtc_txn_info *arr;
    size_t cap, n;
};

static void add_info(dtc_instance *in, struct dtc_txn_slot *ts, bool quarantined, void *ctx)
{
    struct info_list *l = ctx;
    (void)quarantined; /* listed, flagged, whatever its state says */
    if (l->n < l->cap)
        dtc__txn_info_fill(in, ts, &l->arr[l->n]);
    l->n++;
}

dtc_result dtc_list_transactions(dtc_instance *in, dtc_txn_info *arr, size_t cap, size_t *n)
{
    if (in == NULL || n == NULL || (cap > 0 && arr == NULL))
        return DTC_EINVAL;
    struct info_list l = {arr, cap, 0};
    each_txn(in, add_info, &l);
    *n = l.n;
    return DTC_OK;
}

struct id_list {
    dtc_txid *ids;
    size_t cap, n, quarantined;
};

static void add_id(dtc_instance *in, struct dtc_txn_slot *ts, bool quarantined, void *ctx)
{
    struct id_list *l = ctx;
    (void)in;
    if (quarantined)
        l->quarantined++; /* its id cannot be trusted: not listed */
    else if (l->n++ < l->cap)
        memcpy(l->ids[l->n - 1].bytes, ts->ts_txid, sizeof l->ids[l->n - 1].bytes);
}

dtc_result dtc_list_transaction_ids(dtc_instance *in, dtc_txid *ids, size_t cap, size_t *n,
                                   size_t *quarantined)
{
    if (in == NULL || n == NULL || quarantined == NULL || (cap > 0 && ids == NULL))
        return DTC_EINVAL;
    struct id_list l = {ids, cap, 0, 0};
    each_txn(in, add_id, &l);
    *n = l.n;
    *quarantined = l.quarantined;
    return DTC_OK;
}

/* ---- a transaction slot as a report ------------------------------------ */

const char *dtc_reason_split(const char *reason, char code[DTC_REASON_CODE_MAX])
{
    code[0] = '\0';
    if (reason == NULL)
        return "";
    size_t n = 0;
    while (n < DTC_REASON_CODE_MAX - 1
           && ((reason[n] >= 'a' && reason[n] <= 'z') || reason[n] == '_'
               || (n > 0 && reason[n] >= '0' && reason[n] <= '9')))
        n++;
    if (n == 0 || reason[n] != ':' || reason[n + 1] != ' ')
        return reason; /* no code: all of it is text */
    memcpy(code, reason, n);
    code[n] = '\0';
    return reason + n + 2;
}

void dtc__entry_info_reason(dtc_entry_info *o, const char *reason, const char *failed_reason)
{
    char raw[DTC_REASON_MAX]; /* bounded first: the reasons may be shared memory */
    dtc__strcopy(raw, reason, sizeof raw);
    dtc__strcopy(o->reason, dtc_reason_split(raw, o->reason_code), sizeof o->reason);
    dtc__strcopy(raw, failed_reason, sizeof raw);
    dtc__strcopy(o->failed_reason, dtc_reason_split(raw, o->failed_reason_code),
                 sizeof o->failed_reason);
}

const char *dtc__entry_reason(const struct dtc_txn_entry *e)
{
    if (dtc_entry_status_failed(e->te_status) && e->te_reason[0])
        return e->te_reason; /* the answer in hand failed */
    if (dtc_entry_status_failed(e->te_vote) && e->te_vote_reason[0])
        return e->te_vote_reason; /* why it was rolled back, whatever came after */
    /* who made it compensate, or HEURISTIC: unless the same request was
     * answered yes since (a redelivery that worked) */
    bool since_done = e->te_op == e->te_failed_op && e->te_status == DTC_ENTRY_YES;
    if (e->te_failed_op != DTC_OP_NONE && e->te_failed_reason[0] && !since_done)
        return e->te_failed_reason;
    return e->te_reason[0] ? e->te_reason : e->te_enlist_reason;
}

void dtc__txn_info_fill(const dtc_instance *in, const struct dtc_txn_slot *ts,
                        dtc_txn_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id.bytes, ts->ts_txid, sizeof out->id.bytes);
    out->state = ts->ts_state < DTC_TXN_STATE_COUNT ? (dtc_txn_state)ts->ts_state : DTC_TXN_FREE;
    out->generation = ts->ts_gen;
    out->owner_pid = ts->ts_owner_pid;
    out->adopted = (ts->ts_flags & DTC_TS_ADOPTED) != 0;
    out->quarantined = (ts->ts_flags & DTC_TS_QUARANTINED) != 0;
    /* a candidate (DTC_TS_ONE_PHASE alone, while its vote is awaited) is
     * not yet one-phase: only once its commit is decided without a record */
    out->one_phase = (ts->ts_flags & (DTC_TS_ONE_PHASE | DTC_TS_NO_DECISION))
                     == (DTC_TS_ONE_PHASE | DTC_TS_NO_DECISION);
    /* differences in unsigned arithmetic: a scribbled time (INT64_MIN,
     * INT64_MAX) must not overflow */
    int64_t now = dtc__now_ns(), begin = ts->ts_begin_ns;
    out->age_ms = begin < now ? ((uint64_t)now - (uint64_t)begin) / 1000000 : 0;
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    out->begin_unix_ms = (int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000
                         - (int64_t)(out->age_ms < INT64_MAX / 2 ? out->age_ms : 0);
    out->owner_alive = dtc__proc_alive(ts->ts_owner_pid, ts->ts_owner_start);
    if (out->adopted)
        dtc__strcopy(out->adopted_why,
                     ts->ts_adopt_why == 0 && (ts->ts_flags & DTC_TS_RECOVERED)
                         ? "recovered" : dtc__adopt_why_name(ts->ts_adopt_why),
                     sizeof out->adopted_why);
    out->nentries = dtc__txn_nentries(in, ts);
    out->result = ts->ts_result < DTC_RESULT_COUNT ? (dtc_result)ts->ts_result : DTC_ECORRUPT;
    for (uint32_t i = 0; i < out->nentries; i++) {
        const struct dtc_txn_entry *e = &ts->ts_entries[i];
        dtc_entry_info *o = &out->entries[i];
        snprintf(o->name, sizeof o->name, "%.*s", DTC_NAME_MAX - 1, e->te_name);
        o->op = e->te_op < DTC_OP_COUNT ? (dtc_op)e->te_op : DTC_OP_NONE;
        o->status = e->te_status < DTC_ENTRY_STATUS_COUNT ? (dtc_entry_status)e->te_status : DTC_ENTRY_IDLE;
        o->vote = e->te_vote < DTC_ENTRY_STATUS_COUNT ? (dtc_entry_status)e->te_vote : DTC_ENTRY_IDLE;
        o->attempts = e->te_attempts;
        int64_t next = e->te_next_retry_ns;
        o->next_retry_ms = next == 0 ? -1
                           : next > now ? (int64_t)(((uint64_t)next - (uint64_t)now) / 1000000)
                                        : 0;
        dtc__entry_info_reason(o, dtc__entry_reason(e), e->te_failed_reason);
        o->failed_op = e->te_failed_op < DTC_OP_COUNT ? (dtc_op)e->te_failed_op : DTC_OP_NONE;
        o->failed_status = e->te_failed_status < DTC_ENTRY_STATUS_COUNT
                               ? (dtc_entry_status)e->te_failed_status : DTC_ENTRY_IDLE;
        o->payload_len = e->te_payload_len <= DTC_PAYLOAD_MAX ? e->te_payload_len : 0;
        memcpy(o->payload, e->te_payload, o->payload_len);
        o->payload[o->payload_len] = '\0';
        if (out->quarantined) {
            if (!dtc__name_safe(e->te_name, sizeof e->te_name))
                dtc__strcopy(o->name, "?", sizeof o->name);
            if (!dtc__text_safe(o->reason, sizeof o->reason))
                dtc__strcopy(o->reason, "?", sizeof o->reason);
            if (!dtc__text_safe(o->failed_reason, sizeof o->failed_reason))
                dtc__strcopy(o->failed_reason, "?", sizeof o->failed_reason);
        }
    }
}
