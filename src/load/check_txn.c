/*
 * check_txn.c - the per-transaction invariants of "dtc-load check", from
 * what the client was told (its B/E lines) and what each service's state
 * file says it did (applied, compensated, still prepared):
 *   atomicity  applied (and not compensated) at all four services or at
 *              none; a client killed before its E line (chaos, a reboot)
 *              allows either, but all-or-nothing;
 *   in doubt   still prepared at the end (after the final drain nothing
 *              may be left unresolved);
 *   lost       told committed (E line with DTC_OK) but not applied at
 *              every service, or compensated at any: nothing
 *              acknowledged may be lost, by a crash or a reboot;
 *   outcome    told aborted but applied somewhere;
 *   ledger     a txid no client began, begun twice (a txid reused, e.g.
 *              after a reboot), or a payload other than the enlisted one;
 *   back-pressure  a participant's request ring was full.
 */
#include <stdio.h>
#include <string.h>

#include "load.h"

/* Results after which the transaction must be applied nowhere: every
 * abort's cause, and DTC_EHEURISTIC, a rollback that failed somewhere
 * (dtc.h, "What each outcome carries"), which the final drain finishes. */
static int is_abort(const ltx *x)
{
    static const char *const aborts[] = {"DTC_EREFUSED", "DTC_EPARTICIPANT", "DTC_ETIMEOUT",
                                         "DTC_ENOTALIVE", "DTC_ECOMMIT", "DTC_EABORTED",
                                         "DTC_EHEURISTIC"};
    if (strncmp(x->cls, "enlist:", 7) == 0)
        return 1;
    for (size_t i = 0; i < sizeof aborts / sizeof aborts[0]; i++)
        if (strcmp(x->result, aborts[i]) == 0)
            return 1;
    return 0;
}

static int is_committed(const ltx *x)
{
    return x->ended && strcmp(x->result, "DTC_OK") == 0;
}

static const char *st_name(int st)
{
    return st == 1 ? "applied" : st == 2 ? "compensated" : "absent";
}

/* "inventory=applied payment=absent ..." */
static void where(const ltx *x, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int k = 0; k < LOAD_NSVC && off < len; k++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s=%s%s", k ? " " : "",
                                load_svc_names[k], st_name(x->st[k]),
                                x->prep[k] ? "+prepared" : "");
}

/* What the client was told, for the messages. */
static void told(const ltx *x, char *buf, size_t len)
{
    if (x->client < 0)
        snprintf(buf, len, "begun by no client");
    else if (!x->ended)
        snprintf(buf, len, "told nothing: client killed before the outcome");
    else
        snprintf(buf, len, "told %s %s", x->result, x->cls);
}

static int napplied(const ltx *x)
{
    int n = 0;
    for (int k = 0; k < LOAD_NSVC; k++)
        n += x->st[k] == 1;
    return n;
}

static void check_atomic(const ltx *x, const char *w, const char *t)
{
    int n = napplied(x);
    if (n != 0 && n != LOAD_NSVC)
        load_violation(LOAD_V_ATOM, "txid=%s applied at %d of 4: %s (%s)", x->id, n, w, t);
    for (int k = 0; k < LOAD_NSVC; k++)
        if (x->prep[k])
            load_violation(LOAD_V_DOUBT, "txid=%s still prepared (in doubt, holding keys) "
                           "at %s: %s (%s)", x->id, load_svc_names[k], w, t);
}

/* Told committed: applied at all four, compensated at none. */
static void check_acknowledged(const ltx *x, const char *w)
{
    char miss[160];
    size_t off = 0;
    miss[0] = '\0';
    for (int k = 0; k < LOAD_NSVC && off < sizeof miss; k++)
        if (x->st[k] != 1)
            off += (size_t)snprintf(miss + off, sizeof miss - off, "%s%s at %s",
                                    off ? ", " : "", st_name(x->st[k]), load_svc_names[k]);
    if (miss[0] != '\0')
        load_violation(LOAD_V_LOST, "txid=%s told committed (DTC_OK) but %s: %s", x->id,
                       miss, w);
}

static void check_ledger(const ltx *x, const char *w)
{
    if (x->client < 0 && napplied(x) > 0)
        load_violation(LOAD_V_LEDGER, "txid=%s in the ledgers but begun by no client: %s",
                       x->id, w);
    if (x->nbegun > 1)
        load_violation(LOAD_V_LEDGER, "txid=%s begun %d times (a txid was reused): %s",
                       x->id, x->nbegun, w);
    for (int k = 0; k < LOAD_NSVC; k++)
        if (x->paydiff[k])
            load_violation(LOAD_V_LEDGER, "txid=%s at %s: the state file's payload differs "
                           "from the enlisted '%s'", x->id, load_svc_names[k], x->pay[k]);
}

void load_check_txn(const ltx *x)
{
    char w[256], t[128];
    where(x, w, sizeof w);
    told(x, t, sizeof t);
    check_atomic(x, w, t);
    check_ledger(x, w);
    if (!x->ended)
        return;
    /* A few clients can never fill a 2000-request ring if coordinators
     * wait for their answers: a full ring means lost back-pressure. */
    if (strstr(x->cls, "DTC_EBUSY") != NULL || strcmp(x->result, "DTC_EBUSY") == 0)
        load_violation(LOAD_V_BUSY, "txid=%s: a participant's request ring was full (%s)",
                       x->id, t);
    if (is_committed(x))
        check_acknowledged(x, w);
    else if (is_abort(x) && napplied(x) != 0)
        load_violation(LOAD_V_OUTCOME, "txid=%s %s but %s", x->id, t, w);
}
