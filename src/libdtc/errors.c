/*
 * errors.c - the result-code table: one message and one symbol per
 * dtc_result, so every tool prints failures the same way.
 */
#include "dtc/dtc.h"

static const struct {
    const char *sym;
    const char *msg;
} results[DTC_RESULT_COUNT] = {
    [DTC_OK] = {"DTC_OK", "success"},
    [DTC_EINVAL] = {"DTC_EINVAL", "bad argument"},
    [DTC_ENOTFOUND] = {"DTC_ENOTFOUND", "transaction not found"},
    [DTC_ESTATE] = {"DTC_ESTATE", "wrong transaction state for this call"},
    [DTC_EBUSY] = {"DTC_EBUSY", "busy: another call is driving this transaction or serving this participant"},
    [DTC_ETXNFULL] = {"DTC_ETXNFULL", "too many concurrent transactions"},
    [DTC_EPARTFULL] = {"DTC_EPARTFULL", "too many participants in the transaction"},
    [DTC_EUNKNOWN] = {"DTC_EUNKNOWN", "unknown participant"},
    [DTC_ENOTALIVE] = {"DTC_ENOTALIVE", "participant not alive"},
    [DTC_EREFUSED] = {"DTC_EREFUSED", "prepare refused: a participant voted no"},
    [DTC_EPARTICIPANT] = {"DTC_EPARTICIPANT", "a participant reported an error"},
    [DTC_ETIMEOUT] = {"DTC_ETIMEOUT", "a participant did not answer in time"},
    [DTC_ECOMMIT] = {"DTC_ECOMMIT", "commit failed: all participants rolled back"},
    [DTC_EROLLBACK] = {"DTC_EROLLBACK", "rollback failed at a participant"},
    [DTC_EHEURISTIC] = {"DTC_EHEURISTIC", "heuristic (mixed) outcome: operator action needed"},
    [DTC_EABORTED] = {"DTC_EABORTED", "rolled back on request (by the supervisor, the coordinator or an operator)"},
    [DTC_ENOSEGMENT] = {"DTC_ENOSEGMENT", "no segment for this instance (is dtcd running?)"},
    [DTC_ENOSUPERVISOR] = {"DTC_ENOSUPERVISOR", "the supervisor is not running"},
    [DTC_ESHUTDOWN] = {"DTC_ESHUTDOWN", "the supervisor is shutting down"},
    [DTC_EMAGIC] = {"DTC_EMAGIC", "not a dtc segment (bad magic)"},
    [DTC_EVERSION] = {"DTC_EVERSION", "segment has another layout version"},
    [DTC_ESIZE] = {"DTC_ESIZE", "segment sizes do not match this build"},
    [DTC_ECORRUPT] = {"DTC_ECORRUPT", "segment slot or header damaged"},
    [DTC_ENAMETAKEN] = {"DTC_ENAMETAKEN", "a live participant already has this name"},
    [DTC_EREGFULL] = {"DTC_EREGFULL", "no free participant slot"},
    [DTC_ETOOBIG] = {"DTC_ETOOBIG", "name, payload or reason too long"},
    [DTC_EEXIST] = {"DTC_EEXIST", "a supervisor already runs this instance"},
    [DTC_ESYS] = {"DTC_ESYS", "system call failed"},
    [DTC_ERECOVERING] = {"DTC_ERECOVERING", "dtcd is still replaying its decision log"},
    [DTC_ELOG] = {"DTC_ELOG", "the decision log cannot be written or read"},
    [DTC_EPERM] = {"DTC_EPERM", "segment not ours (owner or mode) or no permission to open it"},
    [DTC_EDUPLICATE] = {"DTC_EDUPLICATE", "participant already enlisted in this transaction"},
    [DTC_ENOTPREPARED] = {"DTC_ENOTPREPARED", "commit refused: a participant is not prepared"},
};

const char *dtc_strerror(dtc_result rc)
{
    if ((unsigned)rc >= DTC_RESULT_COUNT || results[rc].msg == NULL)
        return "unknown result code";
    return results[rc].msg;
}

const char *dtc_result_name(dtc_result rc)
{
    if ((unsigned)rc >= DTC_RESULT_COUNT || results[rc].sym == NULL)
        return "DTC_E?";
    return results[rc].sym;
}
