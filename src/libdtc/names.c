/*
 * names.c - names of states, ops and statuses; validation of participant
 * and instance names; transaction ids; defaults of limits and options.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

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

bool dtc__name_valid(const char *name)
{
    size_t n = 0;
    if (name == NULL)
        return false;
    for (; name[n] != '\0'; n++) {
        unsigned char c = (unsigned char)name[n];
        if (n >= DTC_NAME_MAX - 1 || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

dtc_result dtc_resolve_instance(const char *name, char buf[DTC_INSTANCE_MAX])
{
    if (name == NULL || name[0] == '\0')
        name = getenv("DTC_INSTANCE");
    if (name == NULL || name[0] == '\0')
        name = "default";
    if (strlen(name) >= DTC_INSTANCE_MAX)
        return DTC_ETOOBIG;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
            return DTC_EINVAL;
    memcpy(buf, name, strlen(name) + 1);
    return DTC_OK;
}

void dtc_txid_format(const dtc_txid *id, char out[DTC_TXID_STRLEN])
{
    uuid_unparse_lower(id->bytes, out);
}

static _Thread_local unsigned char txid_base[16];
static _Thread_local uint32_t txid_used = 4096;
static pthread_once_t txid_once = PTHREAD_ONCE_INIT;

/* A forked child must not continue its parent's sequence. */
static void txid_after_fork(void)
{
    txid_used = 4096;
}

static void txid_init(void)
{
    pthread_atfork(NULL, NULL, txid_after_fork);
}

void dtc__txid_new(dtc_txid *out)
{
    unsigned char *base = txid_base;
    pthread_once(&txid_once, txid_init);
    if (txid_used == 4096) {
        uuid_generate_random(base);
        txid_used = 0;
    }
    memcpy(out->bytes, base, 16);
    uint32_t k = ++txid_used; /* into bytes 12..15, clear of the version and
                          * variant bits (bytes 6 and 8) */
    for (int i = 15; i >= 12; i--, k >>= 8)
        out->bytes[i] ^= (unsigned char)k;
}

dtc_result dtc_txid_parse(const char *s, dtc_txid *out)
{
    if (s == NULL || out == NULL || strlen(s) != DTC_TXID_STRLEN - 1)
        return DTC_EINVAL;
    return uuid_parse(s, out->bytes) == 0 ? DTC_OK : DTC_EINVAL;
}

void dtc_limits_default(dtc_limits *l)
{
    l->max_txns = DTC_DEFAULT_MAX_TXNS;
    l->max_parts_per_txn = DTC_DEFAULT_MAX_PARTS_PER_TXN;
    l->max_participants = DTC_DEFAULT_MAX_PARTICIPANTS;
}

void dtc_txn_options_default(dtc_txn_options *o)
{
    o->prepare_timeout_ms = 5000;
    o->commit_timeout_ms = 5000;
    o->rollback_timeout_ms = 5000;
    o->max_retries = 8; /* with the backoff: about 3 s, a restart's time */
}
