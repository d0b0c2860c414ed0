/*
 * inspect.c - dtcctl status and participants: snapshots of the instance
 * as text or as one JSON object (--json); txns is in txns.c.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtcctl.h"

static const char status_help[] =
    "usage: dtcctl [--instance NAME] status [--json]\n"
    "\n"
    "Prints the instance, segment size, layout version, limits, supervisor\n"
    "pid and liveness, whether it is shutting down, slots in use, corrupt\n"
    "(quarantined) slots, the event counters and the decision log (its\n"
    "position, and its last write or sync error with since when), and the\n"
    "journal participants: which holds the oldest log file, how far behind.\n"
    "\n"
    "Usable as a health check: exit 0 if the supervisor is alive, the\n"
    "decision log is not being replayed and not failing, no slot is\n"
    "corrupt and no journal participant holds more log files than dtcd's\n"
    "bound; exit 1\n"
    "otherwise (everything is still printed); exit 2 if there is no\n"
    "segment or it cannot be read.\n";

static const char parts_help[] =
    "usage: dtcctl [--instance NAME] participants [--json]\n"
    "\n"
    "Lists registered participants: name, slot, pid, alive, pending\n"
    "requests, requests served and syncs of its own storage it counted\n"
    "(journal flushes are the decision log's) since registration.\n";

/* ---- status -------------------------------------------------------------- */

struct journal_view {
    dtc_journal_info v[DTC_JOURNAL_PARTS_MAX];
    size_t n;
    int oldest;
};

static void status_text(const dtc_status *st, const struct journal_view *j)
{
    const dtc_counters *c = &st->counters;
    printf("instance:        ");
    ctl_put_text(st->instance, sizeof st->instance);
    printf("\nsegment size:    %zu bytes\n", st->segment_size);
    printf("layout version:  %" PRIu32 "\n", st->layout_version);
    printf("limits:          txns=%" PRIu32 " parts/txn=%" PRIu32
           " participants=%" PRIu32 "\n",
           st->limits.max_txns, st->limits.max_parts_per_txn,
           st->limits.max_participants);
    printf("supervisor:      pid %ld, %s\n", (long)st->supervisor_pid,
           st->supervisor_alive ? "alive" : "NOT ALIVE");
    printf("shutting down:   %s\n", ctl_yes_no(st->shutting_down));
    printf("transactions:    %" PRIu32 " in use / %" PRIu32 " max\n",
           st->txns_in_use, st->limits.max_txns);
    printf("participants:    %" PRIu32 " registered / %" PRIu32 " max\n",
           st->participants_registered, st->limits.max_participants);
    printf("corrupt slots:   %" PRIu32 "\n", st->corrupt_slots);
    printf("counters:        begun=%" PRIu64 " committed=%" PRIu64
           " aborted=%" PRIu64 " timed_out=%" PRIu64 " reclaimed=%" PRIu64
           " heuristic=%" PRIu64 " readonly_votes=%" PRIu64 " one_phase=%" PRIu64 "\n",
           c->begun, c->committed, c->aborted, c->timed_out, c->reclaimed,
           c->heuristic, c->readonly_votes, c->one_phase);
    if (!st->decision_log) {
        printf("decision log:    NONE (dtcd --no-decision-log: a reboot breaks atomicity)\n");
        return;
    }
    printf("decision log:    %s file=%" PRIu64 " written_lsn=%" PRIu64 " durable_lsn=%"
           PRIu64 " records=%" PRIu64 " syncs=%" PRIu64 "\n",
           st->recovering ? "RECOVERING" : st->dlog_error != DTC_OK ? "FAILING" : "ok",
           st->dlog_file, st->dlog_written_lsn, st->dlog_durable_lsn, st->dlog_records,
           st->dlog_syncs);
    if (st->dlog_error != DTC_OK) {
        char when[32] = "?";
        time_t t = (time_t)(st->dlog_error_since_ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL)
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("decision log error: %s since %s (writes or syncs fail: %s)\n",
               dtc_result_name(st->dlog_error), when, dtc_strerror(st->dlog_error));
    }
    ctl_journal_text(j->v, j->n, j->oldest);
}

static void status_json(const dtc_status *st, const struct journal_view *j)
{
    const dtc_counters *c = &st->counters;
    printf("{\"instance\":");
    ctl_json_str(st->instance, sizeof st->instance);
    printf(",\"segment_size\":%zu,\"layout_version\":%" PRIu32,
           st->segment_size, st->layout_version);
    printf(",\"limits\":{\"max_txns\":%" PRIu32 ",\"max_parts_per_txn\":%" PRIu32
           ",\"max_participants\":%" PRIu32 "}",
           st->limits.max_txns, st->limits.max_parts_per_txn,
           st->limits.max_participants);
    printf(",\"supervisor\":{\"pid\":%ld,\"alive\":%s}",
           (long)st->supervisor_pid, ctl_json_bool(st->supervisor_alive));
    printf(",\"shutting_down\":%s,\"txns_in_use\":%" PRIu32
           ",\"participants_registered\":%" PRIu32 ",\"corrupt_slots\":%" PRIu32,
           ctl_json_bool(st->shutting_down), st->txns_in_use,
           st->participants_registered, st->corrupt_slots);
    printf(",\"counters\":{\"begun\":%" PRIu64 ",\"committed\":%" PRIu64
           ",\"aborted\":%" PRIu64 ",\"timed_out\":%" PRIu64
           ",\"reclaimed\":%" PRIu64 ",\"heuristic\":%" PRIu64
           ",\"readonly_votes\":%" PRIu64 ",\"one_phase\":%" PRIu64 "}",
           c->begun, c->committed, c->aborted, c->timed_out, c->reclaimed,
           c->heuristic, c->readonly_votes, c->one_phase);
    printf(",\"decision_log\":{\"enabled\":%s,\"recovering\":%s,\"file\":%" PRIu64
           ",\"written_lsn\":%" PRIu64 ",\"durable_lsn\":%" PRIu64 ",\"records\":%" PRIu64
           ",\"syncs\":%" PRIu64,
           ctl_json_bool(st->decision_log), ctl_json_bool(st->recovering), st->dlog_file,
           st->dlog_written_lsn, st->dlog_durable_lsn, st->dlog_records, st->dlog_syncs);
    if (st->dlog_error != DTC_OK)
        printf(",\"error\":\"%s\",\"error_since_unix_ms\":%" PRId64 "}",
               dtc_result_name(st->dlog_error), st->dlog_error_since_ms);
    else
        printf(",\"error\":null}");
    ctl_journal_json(j->v, j->n, j->oldest);
    printf("}\n");
}

/* Attaches and reads the status (needed by every list to size buffers). */
int ctl_load_status(const struct ctl_opts *g, dtc_instance **inst, dtc_status *st)
{
    int code = ctl_open_instance(g, inst);
    dtc_result rc;
    if (code != PARSE_GO)
        return code;
    rc = dtc_get_status(*inst, st);
    if (rc != DTC_OK) {
        dtc_close(inst);
        return ctl_lib_error("status", rc);
    }
    return PARSE_GO;
}

int ctl_cmd_status(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_status st;
    int code = ctl_parse_list_opts(argc, argv, g, "status", status_help);
    if (code != PARSE_GO)
        return code;
    code = ctl_load_status(g, &inst, &st);
    if (code != PARSE_GO)
        return code;
    static struct journal_view j;
    j.oldest = ctl_journal_load(inst, j.v, DTC_JOURNAL_PARTS_MAX, &j.n);
    if (g->json)
        status_json(&st, &j);
    else
        status_text(&st, &j);
    dtc_close(&inst);
    bool healthy = st.supervisor_alive && !st.recovering && st.corrupt_slots == 0
                   && st.dlog_error == DTC_OK;
    for (size_t i = 0; i < j.n; i++)
        healthy = healthy && !j.v[i].over_bound;
    return ctl_finish_output(healthy ? EXIT_DONE : EXIT_ABORTED);
}

/* ---- participants -------------------------------------------------------- */

static void part_json(const dtc_participant_info *p)
{
    printf("{\"name\":");
    ctl_json_str(p->name, sizeof p->name);
    printf(",\"slot\":%" PRIu32 ",\"pid\":%ld,\"alive\":%s,\"pending\":%"
           PRIu32 ",\"served\":%" PRIu64 ",\"syncs\":%" PRIu64 "}", p->slot, (long)p->pid,
           ctl_json_bool(p->alive), p->pending, p->served, p->syncs);
}

static void part_text(const dtc_participant_info *p)
{
    char name[DTC_NAME_MAX];
    size_t n = strnlen(p->name, sizeof name - 1);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)p->name[k];
        name[k] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    name[n] = '\0';
    printf("%-31s %5" PRIu32 " %8ld %-5s %8" PRIu32 " %10" PRIu64 " %10" PRIu64 "\n", name,
           p->slot, (long)p->pid, ctl_yes_no(p->alive), p->pending, p->served, p->syncs);
}

static void parts_print(const struct ctl_opts *g, const dtc_status *st,
                        const dtc_participant_info *arr, size_t n)
{
    if (g->json) {
        printf("{\"instance\":");
        ctl_json_str(st->instance, sizeof st->instance);
        printf(",\"count\":%zu,\"participants\":[", n);
    } else {
        printf("%-31s %5s %8s %-5s %8s %10s %10s\n", "NAME", "SLOT", "PID",
               "ALIVE", "PENDING", "SERVED", "SYNCS");
    }
    for (size_t k = 0; k < n; k++) {
        if (g->json && k > 0)
            putchar(',');
        if (g->json)
            part_json(&arr[k]);
        else
            part_text(&arr[k]);
    }
    if (g->json)
        printf("]}\n");
}

int ctl_cmd_participants(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_status st;
    dtc_participant_info *arr;
    size_t cap, n = 0;
    dtc_result rc;
    int code = ctl_parse_list_opts(argc, argv, g, "participants", parts_help);
    if (code != PARSE_GO || (code = ctl_load_status(g, &inst, &st)) != PARSE_GO)
        return code;
    cap = st.limits.max_participants > 0 ? st.limits.max_participants : 1;
    arr = calloc(cap, sizeof *arr);
    if (arr == NULL) {
        dtc_close(&inst);
        return ctl_usage_error(NULL, "out of memory for %zu participants", cap);
    }
    rc = dtc_list_participants(inst, arr, cap, &n);
    dtc_close(&inst);
    if (rc == DTC_OK)
        parts_print(g, &st, arr, n < cap ? n : cap);
    free(arr);
    return rc == DTC_OK ? ctl_finish_output(EXIT_DONE)
                        : ctl_lib_error("participants", rc);
}

