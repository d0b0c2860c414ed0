/*
 * metrics_read.c - what the metrics show, read from a segment attached
 * read-only (dtc__open_readonly) without taking a single lock: a scrape
 * can never wait on a lock holder, stopped or dead, nor repair anything.
 *
 * Reading without the lock means a value may be torn or stale by a
 * moment, and the segment is hostile input anyway: every count and index
 * comes from the process's own copy of the geometry, every state is
 * checked against its enum, a pending count is bounded by the ring, a
 * name must be a valid name.  A participant slot is read as a seqlock
 * would be: its generation and state before and after the copy must
 * agree, else the slot changed owner meanwhile and is left out of this
 * snapshot (the next scrape sees it).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* One live participant slot into *o; false if it is not live, or changed
 * owner while it was read. */
static bool part_read(const dtc_instance *in, uint32_t i, dtc_participant_info *o)
{
    const struct dtc_part_slot *ps = dtc__part(in, i);
    uint32_t gen = LOAD(ps->ps_gen);
    if (LOAD(ps->ps_state) != DTC_PS_LIVE)
        return false;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    char name[DTC_NAME_MAX];
    memcpy(name, ps->ps_name, sizeof name);
    pid_t pid = LOAD(ps->ps_pid);
    uint64_t start = LOAD(ps->ps_start);
    uint64_t pending = LOAD(ps->ps_tail) - LOAD(ps->ps_head);
    memset(o, 0, sizeof *o);
    o->served = LOAD(ps->ps_served);
    o->yes = LOAD(ps->ps_answers[DTC_ANSWER_YES]);
    o->no = LOAD(ps->ps_answers[DTC_ANSWER_NO]);
    o->errors = LOAD(ps->ps_answers[DTC_ANSWER_ERROR]);
    o->last_ns = LOAD(ps->ps_last_ns);
    o->syncs = LOAD(ps->ps_syncs);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (LOAD(ps->ps_gen) != gen || LOAD(ps->ps_state) != DTC_PS_LIVE
        || !dtc__name_safe(name, sizeof name))
        return false;
    memcpy(o->name, name, sizeof o->name);
    o->slot = i;
    o->pid = pid;
    o->alive = dtc__proc_alive(pid, start);
    o->pending = pending <= in->ring_cap ? (uint32_t)pending : in->ring_cap;
    o->last_ns = o->last_ns > 0 ? o->last_ns : 0;
    return true;
}

dtc_result dtc__metrics_read(dtc_instance *in, struct dtc__metrics_snap *s)
{
    DTC_ASSERT(in != NULL && s != NULL);
    memset(s, 0, sizeof *s);
    dtc_result rc = dtc_get_status(in, &s->st); /* no lock: atomics and reads */
    if (rc == DTC_OK)
        rc = dtc_get_histograms(in, s->hist);
    if (rc == DTC_OK && (s->parts = calloc(in->max_participants, sizeof *s->parts)) == NULL)
        rc = DTC_ESYS;
    if (rc != DTC_OK)
        return rc;
    for (uint32_t i = 0; i < in->max_participants; i++)
        s->nparts += part_read(in, i, &s->parts[s->nparts]);
    for (uint32_t i = 0; i < in->max_txns; i++) {
        uint32_t state = LOAD(dtc__txn(in, i)->ts_state);
        if (state < DTC_TXN_STATE_COUNT)
            s->by_state[state]++;
    }
    return DTC_OK;
}

void dtc__metrics_snap_free(struct dtc__metrics_snap *s)
{
    free(s->parts);
    s->parts = NULL;
    s->nparts = 0;
}
