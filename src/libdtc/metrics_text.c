/*
 * metrics_text.c - an instance in the Prometheus text exposition format
 * (version 0.0.4): dtc_metrics_text, the one rendering `dtcctl metrics`
 * and dtc-exporter's /metrics both print.
 *
 * The segment is attached read-only for the call and read without a lock
 * (metrics_read.c), so a scrape never waits on another process and never
 * writes a byte of the segment; it is attached afresh each time, so a
 * restarted dtcd's new segment is what the next scrape reads.  Every
 * sample carries dtc_instance="NAME" (not "instance": Prometheus sets
 * that target label itself).  Without a segment the text still says
 * dtc_build_info and dtc_up 0, so a scrape or a textfile never repeats
 * figures of an instance that is gone.  Counters count since the segment
 * was created: a new segment is a counter reset.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A label value: \\, \" and \n escaped; other control bytes and non-ASCII
 * dropped (the text stays valid UTF-8 whatever the bytes were). */
static void label(FILE *out, const char *key, const char *v)
{
    fprintf(out, ",%s=\"", key);
    for (size_t i = 0; v[i] != '\0'; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\\' || c == '"')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c >= 0x20 && c < 0x7f)
            putc(c, out);
    }
    putc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: dtc_instance, then up to two more labels (key NULL: none). */
static void sample(FILE *out, const char *inst, const char *name, const char *k1,
                   const char *v1, const char *k2, const char *v2, const char *value)
{
    fprintf(out, "%s{dtc_instance=\"%s\"", name, inst); /* a valid name: no escape */
    if (k1 != NULL)
        label(out, k1, v1);
    if (k2 != NULL)
        label(out, k2, v2);
    fprintf(out, "} %s\n", value);
}

static void sample_u64(FILE *out, const char *inst, const char *name, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRIu64, v);
    sample(out, inst, name, NULL, NULL, NULL, NULL, b);
}

/* A family of one unlabelled sample. */
static void single(FILE *out, const char *inst, const char *name, const char *type,
                   const char *help, uint64_t v)
{
    family(out, name, type, help);
    sample_u64(out, inst, name, v);
}

static void head(FILE *out, const char *inst, bool up)
{
    family(out, "dtc_build_info", "gauge", "The dtc library that read the instance (always 1).");
    sample(out, inst, "dtc_build_info", "version", dtc_version(), NULL, NULL, "1");
    single(out, inst, "dtc_up", "gauge",
           "1 if the instance's segment was read, 0 if not (no segment: dtcd is not running).",
           up);
}

static void counters(FILE *out, const char *inst, const dtc_status *st)
{
    const struct { const char *name, *help; uint64_t v; } c[] = {
        {"dtc_transactions_begun_total", "Transactions begun.", st->counters.begun},
        {"dtc_transactions_committed_total", "Transactions committed everywhere.",
         st->counters.committed},
        {"dtc_transactions_aborted_total", "Transactions rolled back everywhere.",
         st->counters.aborted},
        {"dtc_transactions_timed_out_total", "Prepare rounds that hit their timeout.",
         st->counters.timed_out},
        {"dtc_participants_reclaimed_total", "Dead participants whose slots were reclaimed.",
         st->counters.reclaimed},
        {"dtc_transactions_heuristic_total", "Transactions that needed an operator.",
         st->counters.heuristic},
        {"dtc_readonly_votes_total", "Prepare votes that were read-only (left out of phase two).",
         st->counters.readonly_votes},
        {"dtc_transactions_one_phase_total",
         "Transactions committed in one phase (one participant, no decision record).",
         st->counters.one_phase},
        {"dtc_decision_log_records_total", "Decision log records written.", st->dlog_records},
        {"dtc_decision_log_syncs_total", "Decision log fdatasync calls.", st->dlog_syncs},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        single(out, inst, c[i].name, "counter", c[i].help, c[i].v);
}

static void gauges(FILE *out, const char *inst, const struct dtc__metrics_snap *s)
{
    const struct { const char *name, *help; uint64_t v; } g[] = {
        {"dtc_supervisor_up", "1 if dtcd is alive.", s->st.supervisor_alive != 0},
        {"dtc_recovering", "1 while dtcd replays the decision log.", s->st.recovering != 0},
        {"dtc_corrupt_slots", "Slots found damaged and quarantined.", s->st.corrupt_slots},
        {"dtc_transaction_slots", "Transaction slots the segment holds.",
         s->st.limits.max_txns},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        single(out, inst, g[i].name, "gauge", g[i].help, g[i].v);
    family(out, "dtc_transactions_in_flight", "gauge", "Transactions in a slot, by state.");
    for (unsigned k = DTC_TXN_ACTIVE; k < DTC_TXN_STATE_COUNT; k++) {
        char b[32];
        snprintf(b, sizeof b, "%" PRIu64, s->by_state[k]);
        sample(out, inst, "dtc_transactions_in_flight", "state",
               dtc_txn_state_name((dtc_txn_state)k), NULL, NULL, b);
    }
}

/* The decision log's last write or sync error: 1 (labelled with its
 * result) while failing, else 0; since when only while failing. */
static void dlog_error(FILE *out, const char *inst, const dtc_status *st)
{
    family(out, "dtc_decision_log_error", "gauge",
           "1 while the decision log's writes or syncs fail (label: the result).");
    if (st->dlog_error == DTC_OK) {
        sample_u64(out, inst, "dtc_decision_log_error", 0);
        return;
    }
    sample(out, inst, "dtc_decision_log_error", "result", dtc_result_name(st->dlog_error),
           NULL, NULL, "1");
    char b[32];
    snprintf(b, sizeof b, "%.3f", (double)st->dlog_error_since_ms / 1e3);
    family(out, "dtc_decision_log_error_since_timestamp_seconds", "gauge",
           "When the decision log's current error began.");
    sample(out, inst, "dtc_decision_log_error_since_timestamp_seconds", NULL, NULL, NULL, NULL, b);
}

static void histograms(FILE *out, const char *inst, const struct dtc__metrics_snap *s)
{
    family(out, "dtc_phase_duration_seconds", "histogram",
           "Time of each step: txn (begin to committed), prepare round, decision "
           "(made durable), commit round.");
    for (unsigned k = 0; k < DTC_HIST_COUNT; k++) {
        const dtc_histogram *h = &s->hist[k];
        const char *phase = dtc_hist_name((dtc_hist_kind)k);
        uint64_t cum = 0;
        char le[32], b[48];
        for (unsigned i = 0; i < DTC_HIST_BUCKETS; i++) {
            cum += h->bucket[i];
            if (i + 1 < DTC_HIST_BUCKETS)
                snprintf(le, sizeof le, "%g", (double)dtc_hist_bound_ns(i) / 1e9);
            else
                snprintf(le, sizeof le, "+Inf");
            snprintf(b, sizeof b, "%" PRIu64, cum);
            sample(out, inst, "dtc_phase_duration_seconds_bucket", "phase", phase, "le", le, b);
        }
        snprintf(b, sizeof b, "%.9f", (double)h->sum_ns / 1e9);
        sample(out, inst, "dtc_phase_duration_seconds_sum", "phase", phase, NULL, NULL, b);
        snprintf(b, sizeof b, "%" PRIu64, cum); /* == the +Inf bucket, whatever the race */
        sample(out, inst, "dtc_phase_duration_seconds_count", "phase", phase, NULL, NULL, b);
    }
}

/* Participant metric m of p, as text. */
static void part_value(unsigned m, const dtc_participant_info *p, char *b, size_t size)
{
    if (m == 0)
        snprintf(b, size, "%d", p->alive != 0);
    else if (m == 1)
        snprintf(b, size, "%" PRIu32, p->pending);
    else if (m == 2)
        snprintf(b, size, "%" PRIu64, p->served);
    else if (m == 3)
        snprintf(b, size, "%" PRIu64, p->errors);
    else if (m == 5)
        snprintf(b, size, "%" PRIu64, p->syncs);
    else
        snprintf(b, size, "%.3f", (double)p->last_ns / 1e9);
}

static void answers(FILE *out, const char *inst, const struct dtc__metrics_snap *s)
{
    family(out, "dtc_participant_answers_total", "counter",
           "Answers (enlist, prepare, commit, rollback) by kind: yes, no (refused), error.");
    for (size_t i = 0; i < s->nparts; i++) {
        const dtc_participant_info *p = &s->parts[i];
        const struct { const char *answer; uint64_t v; } a[] = {
            {"yes", p->yes}, {"no", p->no}, {"error", p->errors}};
        for (size_t k = 0; k < sizeof a / sizeof a[0]; k++) {
            char b[32];
            snprintf(b, sizeof b, "%" PRIu64, a[k].v);
            sample(out, inst, "dtc_participant_answers_total", "participant", p->name, "answer",
                   a[k].answer, b);
        }
    }
}

static void participants(FILE *out, const char *inst, const struct dtc__metrics_snap *s)
{
    static const struct { const char *name, *type, *help; } m[] = {
        {"dtc_participant_up", "gauge", "1 if the participant process is alive."},
        {"dtc_participant_pending", "gauge", "Requests queued, not yet answered."},
        {"dtc_participant_served_total", "counter", "Requests answered since it registered."},
        {"dtc_participant_errors_total", "counter",
         "Answers that were errors (a no vote is not an error: see answers_total)."},
        {"dtc_participant_last_answer_timestamp_seconds", "gauge",
         "When it last answered (0: never)."},
        {"dtc_participant_syncs_total", "counter",
         "Syncs of its own storage it counted since it registered (journal flushes are "
         "decision log syncs)."},
    };
    for (unsigned k = 0; k < sizeof m / sizeof m[0]; k++) {
        family(out, m[k].name, m[k].type, m[k].help);
        for (size_t i = 0; i < s->nparts; i++) {
            char b[48];
            part_value(k, &s->parts[i], b, sizeof b);
            sample(out, inst, m[k].name, "participant", s->parts[i].name, NULL, NULL, b);
        }
    }
    answers(out, inst, s);
}

/* The journal participants (journal.c): what each keeps of the log. */
static void journal(FILE *out, const char *inst, dtc_instance *in)
{
    static const struct { const char *name, *help; } m[] = {
        {"dtc_journal_retained_bytes",
         "Log bytes kept for a journal participant: the log's end minus its checkpoint."},
        {"dtc_journal_held_files", "Log files kept for a journal participant."},
        {"dtc_journal_over_bound",
         "1 if it holds more log files than dtcd --journal-max-files (warned of)."},
    };
    dtc_journal_info v[DTC_JOURNAL_PARTS_MAX];
    size_t n = 0;
    if (dtc_journal_list(in, v, DTC_JOURNAL_PARTS_MAX, &n) != DTC_OK || n == 0)
        return;
    n = n < DTC_JOURNAL_PARTS_MAX ? n : DTC_JOURNAL_PARTS_MAX;
    for (unsigned k = 0; k < sizeof m / sizeof m[0]; k++) {
        family(out, m[k].name, "gauge", m[k].help);
        for (size_t i = 0; i < n; i++) {
            char b[32];
            uint64_t x = k == 0 ? v[i].behind_bytes : k == 1 ? v[i].held_files
                                                             : (uint64_t)(v[i].over_bound != 0);
            snprintf(b, sizeof b, "%" PRIu64, x);
            sample(out, inst, m[k].name, "participant", v[i].name, NULL, NULL, b);
        }
    }
}

/* The text of instance inst: attaches read-only, reads, renders.  Returns
 * what attaching said (the text says dtc_up 0 unless DTC_OK). */
static dtc_result render(FILE *out, const char *inst)
{
    dtc_instance *in = NULL;
    struct dtc__metrics_snap s;
    dtc_result rc = dtc__open_readonly(inst, &in);
    if (rc == DTC_OK)
        rc = dtc__metrics_read(in, &s);
    head(out, inst, rc == DTC_OK);
    if (rc == DTC_OK) {
        counters(out, inst, &s.st);
        gauges(out, inst, &s);
        dlog_error(out, inst, &s.st);
        histograms(out, inst, &s);
        participants(out, inst, &s);
        journal(out, inst, in);
    }
    if (in != NULL)
        dtc__metrics_snap_free(&s);
    dtc_close(&in);
    return rc;
}

dtc_result dtc_metrics_text(const char *name, char **text, size_t *len)
{
    char inst[DTC_INSTANCE_MAX];
    if (text == NULL || len == NULL)
        return DTC_EINVAL;
    *text = NULL;
    *len = 0;
    dtc_result rc = dtc_resolve_instance(name, inst);
    if (rc != DTC_OK)
        return rc;
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    if (out == NULL)
        return DTC_ESYS;
    rc = render(out, inst);
    bool bad = ferror(out) != 0;
    if (fclose(out) != 0 || bad) {
        free(buf);
        return DTC_ESYS;
    }
    *text = buf;
    *len = n;
    return rc;
}
