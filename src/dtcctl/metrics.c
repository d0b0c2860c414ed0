/*
 * metrics.c - `dtcctl metrics`: an instance in the Prometheus text
 * exposition format (version 0.0.4), for node_exporter's textfile
 * collector or a scrape wrapper.  Counters count since the segment was
 * created (a dtcd restart on a fresh segment resets them, which
 * Prometheus treats as a counter reset).  Also the snapshot both
 * metrics and top are made from.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "view.h"

static int64_t clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

dtc_result view_snap_take(dtc_instance *in, struct view_snap *s)
{
    memset(s, 0, sizeof *s);
    dtc_result rc = dtc_get_status(in, &s->st);
    if (rc == DTC_OK)
        rc = dtc_get_histograms(in, s->hist);
    size_t pcap = s->st.limits.max_participants, tcap = s->st.limits.max_txns;
    if (rc == DTC_OK) {
        s->parts = calloc(pcap ? pcap : 1, sizeof *s->parts);
        s->txns = calloc(tcap ? tcap : 1, sizeof *s->txns);
        rc = s->parts && s->txns ? DTC_OK : DTC_ESYS;
    }
    if (rc == DTC_OK)
        rc = dtc_list_participants(in, s->parts, pcap, &s->nparts);
    if (rc == DTC_OK)
        rc = dtc_list_transactions(in, s->txns, tcap, &s->ntxns);
    s->nparts = s->nparts < pcap ? s->nparts : pcap; /* the lists' own caps */
    s->ntxns = s->ntxns < tcap ? s->ntxns : tcap;
    s->mono_ns = clock_ns(CLOCK_MONOTONIC);
    s->real_ns = clock_ns(CLOCK_REALTIME);
    if (rc != DTC_OK)
        view_snap_free(s);
    return rc;
}

void view_snap_free(struct view_snap *s)
{
    free(s->parts);
    free(s->txns);
    s->parts = NULL;
    s->txns = NULL;
    s->nparts = s->ntxns = 0;
}

/* A label value: \\, \" and \n escaped; other control bytes dropped. */
static void label(FILE *out, const char *s, size_t max)
{
    putc('"', out);
    for (size_t i = 0; i < max && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c >= 0x20 && c != 0x7f)
            putc(c, out);
    }
    putc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample with the instance label (and one more label if lk != NULL). */
static void sample(FILE *out, const struct view_snap *s, const char *name, const char *lk,
                   const char *lv, size_t lmax, const char *value)
{
    fprintf(out, "%s{instance=", name);
    label(out, s->st.instance, sizeof s->st.instance);
    if (lk != NULL) {
        fprintf(out, ",%s=", lk);
        label(out, lv, lmax);
    }
    fprintf(out, "} %s\n", value);
}

static void sample_u64(FILE *out, const struct view_snap *s, const char *name, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRIu64, v);
    sample(out, s, name, NULL, NULL, 0, b);
}

static void counters(FILE *out, const struct view_snap *s)
{
    static const struct { const char *name, *help; size_t off; } c[] = {
        {"dtc_transactions_begun_total", "Transactions begun.", offsetof(dtc_counters, begun)},
        {"dtc_transactions_committed_total", "Transactions committed everywhere.",
         offsetof(dtc_counters, committed)},
        {"dtc_transactions_aborted_total", "Transactions rolled back everywhere.",
         offsetof(dtc_counters, aborted)},
        {"dtc_transactions_timed_out_total", "Prepare rounds that hit their timeout.",
         offsetof(dtc_counters, timed_out)},
        {"dtc_participants_reclaimed_total", "Dead participants whose slots were reclaimed.",
         offsetof(dtc_counters, reclaimed)},
        {"dtc_transactions_heuristic_total", "Transactions that needed an operator.",
         offsetof(dtc_counters, heuristic)},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&s->st.counters + c[i].off, sizeof v);
        family(out, c[i].name, "counter", c[i].help);
        sample_u64(out, s, c[i].name, v);
    }
    family(out, "dtc_decision_log_records_total", "counter", "Decision log records written.");
    sample_u64(out, s, "dtc_decision_log_records_total", s->st.dlog_records);
    family(out, "dtc_decision_log_syncs_total", "counter", "Decision log fdatasync calls.");
    sample_u64(out, s, "dtc_decision_log_syncs_total", s->st.dlog_syncs);
}

/* The log's last write or sync error: 1 (labelled with its result)
 * while failing, else 0; since when only while failing. */
static void dlog_error(FILE *out, const struct view_snap *s)
{
    const char *name = dtc_result_name(s->st.dlog_error);
    family(out, "dtc_decision_log_error", "gauge",
           "1 while the decision log's writes or syncs fail (label: the result).");
    if (s->st.dlog_error == DTC_OK) {
        sample_u64(out, s, "dtc_decision_log_error", 0);
        return;
    }
    sample(out, s, "dtc_decision_log_error", "result", name, strlen(name), "1");
    char b[32];
    snprintf(b, sizeof b, "%.3f", (double)s->st.dlog_error_since_ms / 1e3);
    family(out, "dtc_decision_log_error_since_timestamp_seconds", "gauge",
           "When the decision log's current error began.");
    sample(out, s, "dtc_decision_log_error_since_timestamp_seconds", NULL, NULL, 0, b);
}

static void gauges(FILE *out, const struct view_snap *s)
{
    family(out, "dtc_supervisor_up", "gauge", "1 if dtcd is alive.");
    sample_u64(out, s, "dtc_supervisor_up", s->st.supervisor_alive != 0);
    family(out, "dtc_recovering", "gauge", "1 while dtcd replays the decision log.");
    sample_u64(out, s, "dtc_recovering", s->st.recovering != 0);
    family(out, "dtc_corrupt_slots", "gauge", "Slots found damaged and quarantined.");
    sample_u64(out, s, "dtc_corrupt_slots", s->st.corrupt_slots);
    family(out, "dtc_transaction_slots", "gauge", "Transaction slots the segment holds.");
    sample_u64(out, s, "dtc_transaction_slots", s->st.limits.max_txns);
    uint64_t by[DTC_TXN_STATE_COUNT] = {0};
    for (size_t i = 0; i < s->ntxns; i++)
        if ((unsigned)s->txns[i].state < DTC_TXN_STATE_COUNT)
            by[s->txns[i].state]++;
    family(out, "dtc_transactions_in_flight", "gauge", "Transactions in a slot, by state.");
    for (unsigned k = DTC_TXN_ACTIVE; k < DTC_TXN_STATE_COUNT; k++) {
        char b[32];
        const char *name = dtc_txn_state_name((dtc_txn_state)k);
        snprintf(b, sizeof b, "%" PRIu64, by[k]);
        sample(out, s, "dtc_transactions_in_flight", "state", name, strlen(name), b);
    }
}

static void histograms(FILE *out, const struct view_snap *s)
{
    family(out, "dtc_phase_duration_seconds", "histogram",
           "Time of each step: txn (begin to committed), prepare round, decision "
           "(made durable), commit round.");
    for (unsigned k = 0; k < DTC_HIST_COUNT; k++) {
        const dtc_histogram *h = &s->hist[k];
        const char *phase = dtc_hist_name((dtc_hist_kind)k);
        uint64_t cum = 0;
        for (unsigned b = 0; b < DTC_HIST_BUCKETS; b++) {
            cum += h->bucket[b];
            fputs("dtc_phase_duration_seconds_bucket{instance=", out);
            label(out, s->st.instance, sizeof s->st.instance);
            fprintf(out, ",phase=\"%s\",le=", phase);
            if (b + 1 < DTC_HIST_BUCKETS)
                fprintf(out, "\"%g\"} %" PRIu64 "\n", (double)dtc_hist_bound_ns(b) / 1e9, cum);
            else
                fprintf(out, "\"+Inf\"} %" PRIu64 "\n", cum);
        }
        char b[48];
        snprintf(b, sizeof b, "%.9f", (double)h->sum_ns / 1e9);
        sample(out, s, "dtc_phase_duration_seconds_sum", "phase", phase, strlen(phase), b);
        snprintf(b, sizeof b, "%" PRIu64, cum); /* == the +Inf bucket, whatever the race */
        sample(out, s, "dtc_phase_duration_seconds_count", "phase", phase, strlen(phase), b);
    }
}

static void participants(FILE *out, const struct view_snap *s)
{
    static const char *const names[] = {"dtc_participant_up", "dtc_participant_pending",
                                        "dtc_participant_served_total",
                                        "dtc_participant_errors_total",
                                        "dtc_participant_last_answer_timestamp_seconds"};
    static const char *const types[] = {"gauge", "gauge", "counter", "counter", "gauge"};
    static const char *const helps[] = {
        "1 if the participant process is alive.", "Requests queued, not yet answered.",
        "Requests answered since it registered.", "Answers that were no votes or errors.",
        "When it last answered (0: never)."};
    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        family(out, names[m], types[m], helps[m]);
        for (size_t i = 0; i < s->nparts; i++) {
            const dtc_participant_info *p = &s->parts[i];
            char b[48];
            if (m == 0)
                snprintf(b, sizeof b, "%d", p->alive != 0);
            else if (m == 1)
                snprintf(b, sizeof b, "%" PRIu32, p->pending);
            else if (m == 2)
                snprintf(b, sizeof b, "%" PRIu64, p->served);
            else if (m == 3)
                snprintf(b, sizeof b, "%" PRIu64, p->errors);
            else
                snprintf(b, sizeof b, "%.3f", (double)p->last_ns / 1e9);
            sample(out, s, names[m], "participant", p->name, sizeof p->name, b);
        }
    }
}

void view_metrics_print(FILE *out, const struct view_snap *s)
{
    counters(out, s);
    gauges(out, s);
    dlog_error(out, s);
    histograms(out, s);
    participants(out, s);
}
