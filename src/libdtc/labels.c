/*
 * labels.c - the printable names of transaction states, entry statuses
 * and request ops (the names logs, reports and dtcctl show).
 */

#include "internal.h"

static const char *const txn_states[DTC_TXN_STATE_COUNT] = {
    "FREE", "ACTIVE", "PREPARING", "PREPARED", "COMMITTING",
    "COMMITTED", "ABORTING", "ABORTED", "HEURISTIC"};
static const char *const entry_statuses[DTC_ENTRY_STATUS_COUNT] = {
    "idle", "pending", "yes", "no", "error", "timeout", "dead"};
static const char *const ops[DTC_OP_COUNT] = {
    "none", "enlist", "prepare", "commit", "rollback"};

const char *dtc_txn_state_name(dtc_txn_state s)
{
    return (unsigned)s < DTC_TXN_STATE_COUNT ? txn_states[s] : "INVALID";
}

const char *dtc_entry_status_name(dtc_entry_status s)
{
    return (unsigned)s < DTC_ENTRY_STATUS_COUNT ? entry_statuses[s] : "invalid";
}

const char *dtc_op_name(dtc_op op)
{
    return (unsigned)op < DTC_OP_COUNT ? ops[op] : "invalid";
}
