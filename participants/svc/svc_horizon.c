/*
 * svc_horizon.c - the ledger horizon of a service.  A commit or rollback
 * can reach a participant again only from a transaction slot: the
 * coordinator's retries, dtcd's adoption, an operator's retry or resolve,
 * or, after a restart of the host, the slot recovery gives every decision
 * of the decision log that has no END record.  The END record is written
 * before a slot lets go of its transaction, but not forced.  So a ledger
 * entry may go once no slot holds its transaction and the log is durable
 * up to where it was written when that was seen (store_retire does the
 * bookkeeping).  While dtcd replays its log nothing is retired, nor
 * while a slot is quarantined (its transaction id cannot be trusted).
 * The slots are listed once a second (svc_retire_begin); the entries
 * older than that listing are then asked about a step at a time, after
 * each batch (svc_retire_step), so that no batch waits for a whole pass.
 */
#include <stdlib.h>

#include "htab.h"
#include "svc_horizon.h"

/* Entries asked about, and dropped, per step: a step stays well under a
 * millisecond, and a pass of tens of thousands of entries spreads over
 * the batches of a second instead of stalling one of them. */
#define STEP_BUDGET 256

static int held(void *ctx, const char *txid)
{
    return htab_get(ctx, txid) != NULL;
}

/* The instance's status, if it can answer for its slots now. */
static int usable(dtc_instance *inst, dtc_status *s)
{
    return dtc_get_status(inst, s) == DTC_OK && !s->recovering && s->corrupt_slots == 0;
}

int svc_retire_begin(svc_horizon *hz, store *st, dtc_instance *inst)
{
    dtc_status before, after;
    dtc_txid *ids = NULL;
    size_t n = 0, quarantined = 0;
    int rc = -1;
    hz->hz_active = 0;
    htab_deinit(&hz->hz_set);
    htab_init(&hz->hz_set);
    if (store_ledger_count(st) == 0 || !usable(inst, &before))
        return -1;
    uint64_t mark = store_ledger_mark(st); /* entries older than the list */
    size_t cap = before.limits.max_txns ? before.limits.max_txns : 1;
    if (cap > hz->hz_cap) {
        free(hz->hz_ids);
        hz->hz_cap = 0;
        if ((hz->hz_ids = calloc(cap, sizeof *hz->hz_ids)) == NULL)
            return -1;
        hz->hz_cap = cap;
    }
    ids = calloc(cap, sizeof *ids);
    if (ids == NULL || dtc_list_transaction_ids(inst, ids, cap, &n, &quarantined) != DTC_OK
        || n > cap || quarantined > 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        dtc_txid_format(&ids[i], hz->hz_ids[i]);
        if (htab_put(&hz->hz_set, hz->hz_ids[i], hz->hz_ids[i]) != 0)
            goto out;
    }
    if (!usable(inst, &after))
        goto out;
    hz->hz_h = (store_horizon){held, &hz->hz_set,
                               before.decision_log ? before.dlog_durable_lsn : 0,
                               after.decision_log ? after.dlog_written_lsn : 0, STEP_BUDGET,
                               mark};
    hz->hz_active = 1;
    rc = 0;
out:
    free(ids);
    return rc;
}

size_t svc_retire_step(svc_horizon *hz, store *st)
{
    return hz->hz_active ? store_retire(st, &hz->hz_h) : 0;
}

void svc_retire_free(svc_horizon *hz)
{
    htab_deinit(&hz->hz_set);
    free(hz->hz_ids);
    hz->hz_ids = NULL;
    hz->hz_cap = 0;
    hz->hz_active = 0;
}
