/*
 * render.c - dtcctl's text and JSON output of untrusted strings (text
 * replaces control bytes, JSON escapes them and replaces invalid UTF-8),
 * the reason lists and the one outcome line of a transaction.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dtcctl.h"

/* ---- text and JSON output ---------------------------------------------------- */

/* Writes at most max bytes of s, control bytes shown as '?'. */
void ctl_put_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        putchar(c < 0x20 || c == 0x7f ? '?' : c);
    }
}

/* Length of the valid UTF-8 sequence at p (left bytes available), or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0; /* no overlong */
    else if (p[0] == 0xed)
        hi = 0x9f; /* no surrogates */
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f; /* <= U+10FFFF */
    if (n > left || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xbf)
            return 0;
    return n;
}

/* A JSON string of at most max bytes of s. */
void ctl_json_str(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max);
    putchar('"');
    for (size_t k = 0; k < n;) {
        size_t u;
        if (p[k] == '"' || p[k] == '\\')
            printf("\\%c", p[k]);
        else if (p[k] < 0x20 || p[k] == 0x7f)
            printf("\\u%04x", p[k]);
        else if (p[k] < 0x80)
            putchar(p[k]);
        else if ((u = utf8_len(p + k, n - k)) > 0) {
            fwrite(p + k, 1, u, stdout);
            k += u;
            continue;
        } else
            fputs("\\ufffd", stdout);
        k++;
    }
    putchar('"');
}

const char *ctl_yes_no(int b)
{
    return b ? "yes" : "no";
}

const char *ctl_json_bool(int b)
{
    return b ? "true" : "false";
}

/* ---- reasons ------------------------------------------------------------- */

/* One entry's part of a reason list; false if it has nothing to say on
 * this pass (0: failures only, 1: any reason). */
static bool print_entry_reason(const dtc_entry_info *e, int pass, int shown)
{
    dtc_entry_status bad = dtc_entry_failure(e);
    bool delivery = e->failed_op != DTC_OP_NONE;
    if (pass == 0 ? bad == DTC_ENTRY_IDLE && !delivery : e->reason[0] == '\0')
        return false;
    fputs(shown ? "; " : " ", stdout);
    ctl_put_text(e->name, sizeof e->name);
    fputs(": ", stdout);
    if (pass == 0 && delivery && bad == DTC_ENTRY_IDLE) {
        /* it answered since (compensated, or committed on a retry) */
        printf("%s failed (%s): ", dtc_op_name(e->failed_op),
               dtc_entry_status_name(e->failed_status));
        ctl_put_text(e->failed_reason, sizeof e->failed_reason);
    } else if (e->reason[0] != '\0') {
        ctl_put_text(e->reason, sizeof e->reason);
    } else {
        fputs(dtc_entry_status_name(bad), stdout);
    }
    return true;
}

/* Appends " NAME: REASON[; NAME: REASON...]" for every entry whose vote or
 * last answer was no / error / timeout / dead, or whose commit or
 * rollback failed on the way (the status name stands in for an empty
 * reason); if there is none, every entry that left a reason. */
void ctl_print_reasons(const dtc_txn_info *r)
{
    uint32_t n = r->nentries < DTC_LIMIT_MAX_PARTS_PER_TXN
                     ? r->nentries : DTC_LIMIT_MAX_PARTS_PER_TXN;
    int shown = 0;
    for (int pass = 0; pass < 2 && shown == 0; pass++)
        for (uint32_t k = 0; k < n; k++)
            shown += print_entry_reason(&r->entries[k], pass, shown);
}

/* ---- outcome lines --------------------------------------------------------- */

void ctl_print_outcome(const char *word, dtc_result result, const dtc_txn_info *t)
{
    printf("%s %s", word, dtc_result_name(result));
    if (t->state == DTC_TXN_HEURISTIC || result == DTC_EHEURISTIC)
        printf(" cause=%s", dtc_result_name(t->result));
    if (t->adopted_why[0] != '\0') {
        printf(" adopted_why=");
        ctl_put_text(t->adopted_why, sizeof t->adopted_why);
    }
    ctl_print_reasons(t);
    putchar('\n');
}

/* Why entry e is not prepared (dtc_entry_prepared), or NULL if it is. */
static const char *not_prepared_why(const dtc_entry_info *e)
{
    if (dtc_entry_prepared(e) || e->vote == DTC_ENTRY_READONLY)
        return NULL; /* a read-only voter is out of the transaction */
    if (e->vote == DTC_ENTRY_YES)
        return "rolled back";
    return e->vote == DTC_ENTRY_NO ? "voted no"
           : e->vote == DTC_ENTRY_IDLE ? "never voted" : dtc_entry_status_name(e->vote);
}

void ctl_print_not_prepared(const dtc_txn_info *t, bool json)
{
    uint32_t n = t->nentries < DTC_LIMIT_MAX_PARTS_PER_TXN ? t->nentries
                                                           : DTC_LIMIT_MAX_PARTS_PER_TXN;
    int shown = 0;
    if (json)
        putchar('[');
    for (uint32_t k = 0; k < n; k++) {
        const char *why = not_prepared_why(&t->entries[k]);
        if (why == NULL)
            continue;
        if (json) {
            printf("%s{\"name\":", shown++ ? "," : "");
            ctl_json_str(t->entries[k].name, sizeof t->entries[k].name);
            printf(",\"why\":\"%s\"}", why);
        } else {
            fputs(shown++ ? ", " : " ", stdout);
            ctl_put_text(t->entries[k].name, sizeof t->entries[k].name);
            printf(" (%s)", why);
        }
    }
    if (json)
        putchar(']');
}
