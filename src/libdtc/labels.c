/*
 * labels.c - the printable names of transaction states, entry statuses,
 * request ops and the reasons dtcd adopts a transaction (the names logs,
 * reports and dtcctl show).
 */

#include <string.h>

#include "internal.h"

static const char *const txn_states[DTC_TXN_STATE_COUNT] = {
    "FREE", "ACTIVE", "PREPARING", "PREPARED", "COMMITTING",
    "COMMITTED", "ABORTING", "ABORTED", "HEURISTIC"};
static const char *const entry_statuses[DTC_ENTRY_STATUS_COUNT] = {
    "idle", "pending", "yes", "no", "error", "timeout", "dead", "readonly"};
static const char *const ops[DTC_OP_COUNT] = {
    "none", "enlist", "prepare", "commit", "rollback"};
/* ts_adopt_why codes: 0 is "not adopted". */
static const char *const adopt_whys[] = {
    "", "coordinator_died", "coordinator_stalled", "orphan_timeout", "shutdown", "recovered"};
#define ADOPT_WHYS (sizeof adopt_whys / sizeof adopt_whys[0])

const char *dtc__adopt_why_name(uint32_t code)
{
    return code < ADOPT_WHYS ? adopt_whys[code] : "";
}

uint32_t dtc__adopt_why_code(const char *why)
{
    for (uint32_t k = 1; why != NULL && k < ADOPT_WHYS; k++)
        if (strcmp(why, adopt_whys[k]) == 0)
            return k;
    return 0;
}

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
