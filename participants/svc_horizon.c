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
 */
#include <stdlib.h>

#include "htab.h"
#include "svc_horizon.h"

static int held(void *ctx, const char *txid)
{
    return htab_get(ctx, txid) != NULL;
}

/* The instance's status, if it can answer for its slots now. */
static int usable(dtc_instance *inst, dtc_status *s)
{
    return dtc_get_status(inst, s) == DTC_OK && !s->recovering && s->corrupt_slots == 0;
}

size_t svc_retire(store *st, dtc_instance *inst)
{
    dtc_status before, after;
    dtc_txn_info *arr = NULL;
    char (*ids)[DTC_TXID_STRLEN] = NULL;
    size_t n = 0, cap, dropped = 0;
    htab set;
    htab_init(&set);
    if (store_ledger_count(st) == 0 || !usable(inst, &before))
        return 0;
    cap = before.limits.max_txns;
    arr = calloc(cap ? cap : 1, sizeof *arr);
    ids = calloc(cap ? cap : 1, sizeof *ids);
    if (arr == NULL || ids == NULL || dtc_list_transactions(inst, arr, cap, &n) != DTC_OK
        || n > cap)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (arr[i].quarantined)
            goto out;
        dtc_txid_format(&arr[i].id, ids[i]);
        if (htab_put(&set, ids[i], ids[i]) != 0)
            goto out;
    }
    if (!usable(inst, &after))
        goto out;
    store_horizon h = {held, &set, before.decision_log ? before.dlog_durable_lsn : 0,
                       after.decision_log ? after.dlog_written_lsn : 0, (size_t)1 << 18};
    dropped = store_retire(st, &h);
out:
    htab_deinit(&set);
    free(ids);
    free(arr);
    return dropped;
}
