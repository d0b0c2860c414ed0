/*
 * outcome.c - how a transaction ended, for a client that lost track of it
 * (dtc_transaction_outcome, dtcctl show) and for a restarted participant
 * holding it prepared (dtc_participant_outcome).  A slot answers while it
 * holds the transaction; after that, the decision log's last record about
 * it.  "Not found" is an answer only from an instance that has finished
 * replaying its log: before that nothing may be presumed.
 */
#include <stdlib.h>
#include <string.h>

#include "dlog.h"
#include "txn.h"

static const char *const outcome_names[DTC_OUTCOME_COUNT] = {
    [DTC_OUTCOME_IN_FLIGHT] = "in-flight",
    [DTC_OUTCOME_COMMITTED] = "committed",
    [DTC_OUTCOME_ABORTED] = "aborted",
    [DTC_OUTCOME_HEURISTIC] = "heuristic",
};

const char *dtc_outcome_name(dtc_outcome_kind k)
{
    return (unsigned)k < DTC_OUTCOME_COUNT ? outcome_names[k] : "invalid";
}

static dtc_outcome_kind kind_of_state(dtc_txn_state st)
{
    return st == DTC_TXN_COMMITTED   ? DTC_OUTCOME_COMMITTED
           : st == DTC_TXN_ABORTED   ? DTC_OUTCOME_ABORTED
           : st == DTC_TXN_HEURISTIC ? DTC_OUTCOME_HEURISTIC
                                     : DTC_OUTCOME_IN_FLIGHT;
}

/* The result an outcome carries (dtc.h, "What each outcome carries"),
 * from its kind and its cause (info.result). */
static void set_result(dtc_outcome *out)
{
    if (out->kind == DTC_OUTCOME_COMMITTED || out->info.result == DTC_OK) {
        if (out->kind == DTC_OUTCOME_COMMITTED)
            out->info.result = DTC_OK;
        else if (out->kind != DTC_OUTCOME_IN_FLIGHT)
            out->info.result = DTC_EABORTED; /* a rollback call's, logged by an older dtc */
    }
    out->result = out->kind == DTC_OUTCOME_HEURISTIC ? DTC_EHEURISTIC : out->info.result;
}

/* The outcome a log record tells. */
static void from_record(const struct dtc__dlog_rec *r, dtc_outcome *out)
{
    dtc_txn_info *t = &out->info;
    t->id = r->txid;
    t->state = r->type == DTC_DLOG_END         ? (dtc_txn_state)r->state
               : r->type == DTC_DLOG_HEURISTIC ? DTC_TXN_HEURISTIC
               : r->type == DTC_DLOG_COMMIT    ? DTC_TXN_COMMITTING
                                               : DTC_TXN_ABORTING;
    t->nentries = r->nentries;
    for (uint32_t i = 0; i < r->nentries; i++) {
        dtc_entry_info *e = &t->entries[i];
        memcpy(e->name, r->entries[i].name, sizeof e->name);
        e->status = (dtc_entry_status)r->entries[i].status;
        e->vote = (dtc_entry_status)r->entries[i].vote;
        e->op = e->vote == DTC_ENTRY_READONLY ? DTC_OP_PREPARE /* out of phase two */
                : r->state == DTC_TXN_COMMITTED || r->type == DTC_DLOG_COMMIT ? DTC_OP_COMMIT
                                                                             : DTC_OP_ROLLBACK;
        e->next_retry_ms = -1;
        dtc__entry_info_reason(e, r->entries[i].reason, "");
    }
    out->kind = kind_of_state(t->state);
    t->result = r->result < DTC_RESULT_COUNT ? (dtc_result)r->result : DTC_ECORRUPT;
    uint32_t why = (uint32_t)r->flags >> DTC_DLOG_F_ADOPT_SHIFT & DTC_DLOG_F_ADOPT_MASK;
    t->adopted = why != 0;
    t->one_phase = (r->flags & DTC_DLOG_F_ONE_PHASE) != 0;
    dtc__strcopy(t->adopted_why, dtc__adopt_why_name(why), sizeof t->adopted_why);
    set_result(out);
    out->from_log = 1;
    out->end_unix_ms = r->type == DTC_DLOG_END ? r->unix_ms : 0;
}

dtc_result dtc_transaction_outcome(dtc_instance *in, const dtc_txid *id, dtc_outcome *out)
{
    if (in == NULL || id == NULL || out == NULL)
        return DTC_EINVAL;
    memset(out, 0, sizeof *out);
    dtc_result rc = dtc_transaction_status(in, id, &out->info);
    if (rc == DTC_OK) {
        out->kind = kind_of_state(out->info.state);
        set_result(out);
        return DTC_OK;
    }
    if (rc != DTC_ENOTFOUND)
        return rc;
    if ((rc = dtc__recovering(in)) != DTC_OK)
        return rc;
    if (!dtc__dlog_on(in))
        return DTC_ENOTFOUND;
    struct dtc__dlog_rec *r = malloc(sizeof *r);
    if (r == NULL)
        return DTC_ESYS;
    rc = dtc__dlog_write_out(in); /* the files hold what the buffer does */
    if (rc == DTC_OK)
        rc = dtc__dlog_find(in->dlog_dir, id, r);
    if (rc == DTC_OK)
        from_record(r, out);
    free(r);
    return rc;
}

dtc_result dtc_participant_outcome(dtc_participant *p, const dtc_txid *id,
                                   dtc_outcome_kind *kind)
{
    if (p == NULL || id == NULL || kind == NULL)
        return DTC_EINVAL;
    dtc_outcome *o = malloc(sizeof *o);
    if (o == NULL)
        return DTC_ESYS;
    dtc_result rc = dtc_transaction_outcome(p->in, id, o);
    *kind = rc == DTC_OK ? o->kind : DTC_OUTCOME_IN_FLIGHT;
    /* decided, still being delivered: committed once the decision is
     * durable (it is logged before any commit is sent; an abort is
     * presumed anyway).  A slot is COMMITTING from before its COMMIT
     * record is synced: until then a host crash would make it a presumed
     * abort, so it is still in flight (the log's record, read once the
     * slot is gone, is durable or nobody acted on it).  A one-phase
     * commit has no durable decision: its participant commits only when
     * asked. */
    if (rc == DTC_OK && o->kind == DTC_OUTCOME_IN_FLIGHT && o->info.state == DTC_TXN_COMMITTING
        && !o->info.one_phase && (o->from_log || dtc__txn_commit_durable(p->in, id)))
        *kind = DTC_OUTCOME_COMMITTED;
    if (rc == DTC_OK && o->kind == DTC_OUTCOME_IN_FLIGHT && o->info.state == DTC_TXN_ABORTING)
        *kind = DTC_OUTCOME_ABORTED;
    if (rc == DTC_ENOTFOUND) { /* never decided here: presumed abort */
        *kind = DTC_OUTCOME_ABORTED;
        rc = DTC_OK;
    }
    free(o);
    return rc;
}
