/*
 * status.c - read-only snapshots of a segment for dtcctl and tests:
 * header and counters, participant slots, transaction slots.  Each slot
 * is read under its own lock, one at a time.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

dtc_result dtc_get_status(dtc_instance *in, dtc_status *out)
{
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
                                   atomic_load(&h->sh_reclaimed), atomic_load(&h->sh_heuristic)};
    out->recovering = atomic_load(&h->sh_recovering) != 0;
    out->decision_log = in->dlog_dir[0] != '\0';
    out->dlog_file = h->sh_dlog_fileno;
    out->dlog_written_lsn = atomic_load(&h->sh_dlog_written);
    out->dlog_durable_lsn = atomic_load(&h->sh_dlog_durable);
    out->dlog_records = atomic_load(&h->sh_dlog_records);
    out->dlog_syncs = atomic_load(&h->sh_dlog_syncs);
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
        }
        *n += ps->ps_state == DTC_PS_LIVE;
        dtc__unlock(&ps->ps_lock);
    }
    return DTC_OK;
}

dtc_result dtc_list_transactions(dtc_instance *in, dtc_txn_info *arr, size_t cap, size_t *n)
{
    if (in == NULL || n == NULL || (cap > 0 && arr == NULL))
        return DTC_EINVAL;
    *n = 0;
    for (uint32_t i = 0; i < in->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(in, i);
        bool quarantined;
        if ((ts->ts_state == DTC_TXN_FREE && !(ts->ts_flags & DTC_TS_QUARANTINED))
            || dtc__txn_lock_any(in, ts, &quarantined) != DTC_OK)
            continue;
        /* a quarantined slot is listed (flagged), whatever its state says */
        bool used = ts->ts_state != DTC_TXN_FREE || quarantined;
        if (used && *n < cap)
            dtc__txn_info_fill(in, ts, &arr[*n]);
        *n += used;
        dtc__unlock(&ts->ts_lock);
    }
    return DTC_OK;
}
