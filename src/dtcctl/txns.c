/*
 * txns.c - dtcctl txns: the transactions in flight, as text or one JSON
 * object, optionally filtered by state (--state) and age (--older-than);
 * and the text and JSON of one transaction, which show uses too.
 *
 * Wording: per participant, "request" is the last request sent to it
 * (enlist, prepare, commit, rollback), "answer" its answer to that request
 * (pending until it comes; none when nothing was recorded, as for a plain
 * yes to an enlist), and "vote" its prepare vote (none before it voted,
 * and for one that never did), so a participant mid-prepare reads
 * "request=prepare answer=pending vote=none".  Text and JSON use the same
 * words; "reason_code" is the machine-readable part of the reason.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_opt.h"
#include "dtcctl.h"

static const char txns_help[] =
    "usage: dtcctl [--instance NAME] txns [--json] [--state STATE[,STATE...]]\n"
    "                                     [--older-than DURATION]\n"
    "\n"
    "Lists in-flight transactions: id, state, when it began and its age,\n"
    "its owner pid and whether that process is alive, whether the supervisor\n"
    "adopted it (and why); per participant the last request sent, its\n"
    "answer (none, pending, yes, no, error, timeout, dead), the prepare vote\n"
    "(none until it voted, else as an answer), delivery attempts, the\n"
    "reason's code (reason_code, e.g. out_of_stock), the reason and the\n"
    "payload.  --json: the same fields under the same names, and the\n"
    "cause (dtc.h, \"What each outcome carries\").\n"
    "--state keeps only those states (ACTIVE, PREPARING, PREPARED,\n"
    "COMMITTING, COMMITTED, ABORTING, ABORTED, HEURISTIC; any case);\n"
    "--older-than keeps transactions at least that old: a number with its\n"
    "unit, ms, s, m or h (e.g. 500ms, 30s, 5m, 2h; a bare number is refused),\n"
    "at most 1000h.\n";

#define TXNS_AGE_MAX_MS (1000ull * 3600000) /* --older-than: 1000h */

struct txn_filter {
    unsigned states;    /* bit per dtc_txn_state; 0: all */
    uint64_t min_age_ms;
};

/* "1.2s", "3m04s", "2h01m": an age a person reads at a glance. */
static const char *human_age(uint64_t ms, char *b, size_t n)
{
    if (ms < 1000)
        snprintf(b, n, "%" PRIu64 "ms", ms);
    else if (ms < 60000)
        snprintf(b, n, "%.1fs", (double)ms / 1000);
    else if (ms < 3600000)
        snprintf(b, n, "%" PRIu64 "m%02" PRIu64 "s", ms / 60000, ms / 1000 % 60);
    else
        snprintf(b, n, "%" PRIu64 "h%02" PRIu64 "m", ms / 3600000, ms / 60000 % 60);
    return b;
}

/* "2026-12-02T14:50:01.123Z" */
static const char *iso_time(int64_t unix_ms, char *b, size_t n)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(b, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(b + k, n - k, ".%03dZ", (int)(unix_ms % 1000 + 1000) % 1000);
    return b;
}

/* The vote as far as it is known: while its prepare is answered but the
 * round not over, the answer is the vote; "none" before that (and for a
 * participant that never voted).  Text and JSON say the same. */
static const char *vote_word(const dtc_entry_info *e)
{
    dtc_entry_status v = e->vote == DTC_ENTRY_IDLE && e->op == DTC_OP_PREPARE ? e->status : e->vote;
    return v == DTC_ENTRY_IDLE || v == DTC_ENTRY_PENDING ? "none" : dtc_entry_status_name(v);
}

static const char *answer_word(const dtc_entry_info *e)
{
    return e->status == DTC_ENTRY_IDLE ? "none" : dtc_entry_status_name(e->status);
}

/* One entry; from_log: the decision log does not keep attempts, retries
 * or payloads, so they are left out rather than shown as 0 or "". */
static void entry_text(const dtc_entry_info *e, bool from_log)
{
    printf("    ");
    ctl_put_text(e->name, sizeof e->name);
    printf("  request=%s answer=%s vote=%s", dtc_op_name(e->op), answer_word(e), vote_word(e));
    if (!from_log)
        printf(" attempts=%" PRIu32, e->attempts);
    if (!from_log && e->next_retry_ms >= 0)
        printf(" next_retry=%" PRId64 "ms", e->next_retry_ms);
    if (e->reason_code[0] != '\0') {
        printf(" reason_code=");
        ctl_put_text(e->reason_code, sizeof e->reason_code);
    }
    if (e->reason[0] != '\0') {
        printf(" reason=\"");
        ctl_put_text(e->reason, sizeof e->reason);
        putchar('"');
    }
    if (!from_log) {
        printf(" payload=\"");
        ctl_put_text(e->payload, e->payload_len < sizeof e->payload ? e->payload_len : 0);
        putchar('"');
    }
    putchar('\n');
}

void ctl_txn_text(const dtc_txn_info *t, bool from_log)
{
    char id[DTC_TXID_STRLEN], age[24], when[40];
    uint32_t n = t->nentries;
    dtc_txid_format(&t->id, id);
    printf("%s  %s", id, dtc_txn_state_name(t->state));
    if (!from_log)
        printf("  began %s (%s ago)  owner %ld %s", iso_time(t->begin_unix_ms, when, sizeof when),
               human_age(t->age_ms, age, sizeof age), (long)t->owner_pid,
               t->owner_alive ? "alive" : "gone");
    if (t->adopted) {
        printf("  adopted by dtcd");
        if (t->adopted_why[0] != '\0') {
            printf(" (");
            ctl_put_text(t->adopted_why, sizeof t->adopted_why);
            putchar(')');
        }
    }
    if (t->one_phase)
        printf("  one_phase (no decision record)");
    printf("  participants=%" PRIu32 "%s\n", n,
           t->quarantined ? "  quarantined (damaged: resolve --rollback)" : "");
    if (n > DTC_LIMIT_MAX_PARTS_PER_TXN)
        n = DTC_LIMIT_MAX_PARTS_PER_TXN;
    for (uint32_t k = 0; k < n; k++)
        entry_text(&t->entries[k], from_log);
}

static void entry_json(const dtc_entry_info *e, bool from_log)
{
    printf("{\"name\":");
    ctl_json_str(e->name, sizeof e->name);
    printf(",\"op\":\"%s\",\"status\":\"%s\",\"vote\":\"%s\"", dtc_op_name(e->op), answer_word(e),
           vote_word(e));
    if (!from_log)
        printf(",\"attempts\":%" PRIu32 ",\"next_retry_ms\":%" PRId64, e->attempts,
               e->next_retry_ms);
    printf(",\"reason_code\":");
    ctl_json_str(e->reason_code, sizeof e->reason_code);
    printf(",\"reason\":");
    ctl_json_str(e->reason, sizeof e->reason);
    if (!from_log) {
        printf(",\"payload\":");
        ctl_json_str(e->payload, e->payload_len < sizeof e->payload ? e->payload_len : 0);
    }
    putchar('}');
}

void ctl_txn_json(const dtc_txn_info *t, bool from_log)
{
    char id[DTC_TXID_STRLEN], when[40];
    uint32_t n = t->nentries;
    dtc_txid_format(&t->id, id);
    printf("{\"id\":\"%s\",\"state\":\"%s\",\"cause\":\"%s\"", id, dtc_txn_state_name(t->state),
           dtc_result_name(t->result));
    if (!from_log)
        printf(",\"age_ms\":%" PRIu64 ",\"begin_unix_ms\":%" PRId64 ",\"begin\":\"%s\","
               "\"owner_pid\":%ld,\"owner_alive\":%s",
               t->age_ms, t->begin_unix_ms, iso_time(t->begin_unix_ms, when, sizeof when),
               (long)t->owner_pid, ctl_json_bool(t->owner_alive));
    printf(",\"adopted\":%s", ctl_json_bool(t->adopted));
    if (t->adopted_why[0] != '\0') {
        printf(",\"adopted_why\":");
        ctl_json_str(t->adopted_why, sizeof t->adopted_why);
    }
    printf(",\"one_phase\":%s", ctl_json_bool(t->one_phase));
    printf(",\"quarantined\":%s,\"entries\":[", ctl_json_bool(t->quarantined));
    if (n > DTC_LIMIT_MAX_PARTS_PER_TXN)
        n = DTC_LIMIT_MAX_PARTS_PER_TXN;
    for (uint32_t k = 0; k < n; k++) {
        if (k > 0)
            putchar(',');
        entry_json(&t->entries[k], from_log);
    }
    printf("]}");
}

static bool keep(const struct txn_filter *f, const dtc_txn_info *t)
{
    return (f->states == 0 || (f->states & (1u << t->state)) != 0)
           && t->age_ms >= f->min_age_ms;
}

static void txns_print(const struct ctl_opts *g, const dtc_status *st,
                       const struct txn_filter *f, const dtc_txn_info *arr, size_t n)
{
    size_t shown = 0;
    for (size_t k = 0; k < n; k++)
        shown += keep(f, &arr[k]);
    if (g->json) {
        printf("{\"instance\":");
        ctl_json_str(st->instance, sizeof st->instance);
        printf(",\"count\":%zu,\"in_flight\":%zu,\"transactions\":[", shown, n);
    } else if (shown == 0) {
        printf(n == 0 ? "no transactions in flight\n"
                      : "no transaction in flight matches (%zu in flight)\n", n);
    }
    for (size_t k = 0, out = 0; k < n; k++) {
        if (!keep(f, &arr[k]))
            continue;
        if (g->json && out++ > 0)
            putchar(',');
        if (g->json)
            ctl_txn_json(&arr[k], false);
        else
            ctl_txn_text(&arr[k], false);
    }
    if (g->json)
        printf("]}\n");
}

/* "ACTIVE,prepared" into a state mask; false on an unknown name. */
static bool parse_states(const char *v, unsigned *mask)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        unsigned k = DTC_TXN_ACTIVE;
        while (k < DTC_TXN_STATE_COUNT && strcasecmp(tok, dtc_txn_state_name(k)) != 0)
            k++;
        if (k == DTC_TXN_STATE_COUNT)
            return false;
        *mask |= 1u << k;
    }
    return *mask != 0 && strlen(v) < sizeof buf;
}

enum { OPT_STATE = 1, OPT_OLDER };

static int txns_take(void *ctx, int c, const char *v)
{
    struct txn_filter *f = ctx;
    if (c == OPT_OLDER) /* with its unit: a bare number is refused */
        return dtc__opt_duration_ms("dtcctl", "--older-than", v, 0, TXNS_AGE_MAX_MS,
                                    &f->min_age_ms) == 0 ? PARSE_GO : EXIT_FAIL;
    if (parse_states(v, &f->states))
        return PARSE_GO;
    return ctl_value_error("--state: want STATE[,STATE...] (e.g. PREPARING,HEURISTIC), "
                           "got '%s'", v);
}

static int parse_txns(int argc, char **argv, struct ctl_opts *g, struct txn_filter *f)
{
    static const struct option own[] = {{"state", required_argument, NULL, OPT_STATE},
                                        {"older-than", required_argument, NULL, OPT_OLDER},
                                        {NULL, 0, NULL, 0}};
    const struct ctl_parse p = {g, "txns", txns_help, own, NULL, txns_take, f};
    int first = 0, code = ctl_getopt(argc, argv, &p, &first);
    if (code != PARSE_GO)
        return code;
    if (first < argc)
        return ctl_usage_error("txns", "unexpected argument '%s'", argv[first]);
    return PARSE_GO;
}

int ctl_cmd_txns(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_status st;
    struct txn_filter f = {0, 0};
    size_t n = 0;
    int code = parse_txns(argc, argv, g, &f);
    if (code != PARSE_GO || (code = ctl_load_status(g, &inst, &st)) != PARSE_GO)
        return code;
    size_t cap = st.limits.max_txns > 0 ? st.limits.max_txns : 1;
    dtc_txn_info *arr = calloc(cap, sizeof *arr);
    if (arr == NULL) {
        dtc_close(&inst);
        return ctl_usage_error(NULL, "out of memory for %zu transactions", cap);
    }
    dtc_result rc = dtc_list_transactions(inst, arr, cap, &n);
    dtc_close(&inst);
    if (rc == DTC_OK)
        txns_print(g, &st, &f, arr, n < cap ? n : cap);
    free(arr);
    return rc == DTC_OK ? ctl_finish_output(EXIT_DONE) : ctl_lib_error("txns", rc);
}
