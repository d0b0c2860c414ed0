/*
 * top.c - `dtcctl top`: a live view of an instance, one frame per
 * interval: throughput and latency percentiles over the last interval
 * (from the segment's histograms), transactions by state, the oldest in
 * flight, and every participant with its queue, answers and liveness.
 *
 * On a terminal each frame repaints the screen (ANSI clear and home, no
 * curses) and q quits; otherwise frames follow each other, separated by
 * a blank line, so the output can be piped or logged.  SIGINT,
 * SIGTERM and SIGHUP stop it; the terminal's mode is restored on every exit path.
 */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "view.h"

#define OLDEST_SHOWN 5

static volatile sig_atomic_t top_stop;

static void on_stop(int sig)
{
    (void)sig;
    top_stop = 1;
}

int64_t view_quantile_ns(const dtc_histogram *now, const dtc_histogram *before, double q)
{
    uint64_t d[DTC_HIST_BUCKETS], total = 0;
    for (unsigned b = 0; b < DTC_HIST_BUCKETS; b++) {
        uint64_t was = before != NULL ? before->bucket[b] : 0;
        d[b] = now->bucket[b] >= was ? now->bucket[b] - was : 0; /* a reset: nothing */
        total += d[b];
    }
    if (total == 0)
        return -1;
    double rank = q * (double)total, seen = 0;
    for (unsigned b = 0; b < DTC_HIST_BUCKETS; b++) {
        if (d[b] == 0 || seen + (double)d[b] < rank) {
            seen += (double)d[b];
            continue;
        }
        int64_t lo = b == 0 ? 0 : dtc_hist_bound_ns(b - 1);
        int64_t hi = b + 1 < DTC_HIST_BUCKETS ? dtc_hist_bound_ns(b) : 2 * lo;
        return lo + (int64_t)((double)(hi - lo) * ((rank - seen) / (double)d[b]));
    }
    return dtc_hist_bound_ns(DTC_HIST_BUCKETS - 2);
}

/* "850us", "1.2ms", "3.40s", or "-" */
static const char *dur(int64_t ns, char *b, size_t n)
{
    if (ns < 0)
        snprintf(b, n, "-");
    else if (ns < 1000000)
        snprintf(b, n, "%" PRId64 "us", ns / 1000);
    else if (ns < 1000000000)
        snprintf(b, n, "%.1fms", (double)ns / 1e6);
    else
        snprintf(b, n, "%.2fs", (double)ns / 1e9);
    return b;
}

static size_t dur_len(int64_t ns, char *b, size_t n)
{
    return strlen(dur(ns, b, n));
}

static double rate(uint64_t now, uint64_t before, double secs)
{
    return now >= before && secs > 0 ? (double)(now - before) / secs : 0;
}

static void frame_head(const struct view_snap *s, const struct view_snap *p)
{
    char when[32];
    time_t t = (time_t)(s->real_ns / 1000000000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    printf("dtc top - instance %.*s - %s - supervisor pid %ld %s%s\n",
           (int)sizeof s->st.instance, s->st.instance, when, (long)s->st.supervisor_pid,
           s->st.supervisor_alive ? "alive" : "NOT ALIVE",
           s->st.recovering ? " (recovering)" : "");
    double secs = p != NULL ? (double)(s->mono_ns - p->mono_ns) / 1e9 : 0;
    const dtc_counters *c = &s->st.counters, *o = p != NULL ? &p->st.counters : c;
    printf("throughput: %.0f commits/s  %.0f aborts/s  %.0f begins/s   "
           "totals: %" PRIu64 " committed, %" PRIu64 " aborted, %" PRIu64 " heuristic\n",
           rate(c->committed, o->committed, secs), rate(c->aborted, o->aborted, secs),
           rate(c->begun, o->begun, secs), c->committed, c->aborted, c->heuristic);
    printf("latency %-26s p50      p90      p99\n", p != NULL ? "over the last interval" : "since the start");
    for (unsigned k = 0; k < DTC_HIST_COUNT; k++) {
        char a[16], b[16], d[16];
        const dtc_histogram *h = &s->hist[k], *ph = p != NULL ? &p->hist[k] : NULL;
        printf("  %-31s %-8s %-8s %s\n", dtc_hist_name((dtc_hist_kind)k),
               dur(view_quantile_ns(h, ph, 0.5), a, sizeof a),
               dur(view_quantile_ns(h, ph, 0.9), b, sizeof b),
               dur(view_quantile_ns(h, ph, 0.99), d, sizeof d));
    }
}

static void frame_txns(const struct view_snap *s)
{
    uint32_t by[DTC_TXN_STATE_COUNT] = {0};
    for (size_t i = 0; i < s->ntxns; i++)
        if ((unsigned)s->txns[i].state < DTC_TXN_STATE_COUNT)
            by[s->txns[i].state]++;
    printf("transactions in flight: %zu", s->ntxns);
    for (unsigned k = DTC_TXN_ACTIVE; k < DTC_TXN_STATE_COUNT; k++)
        if (by[k] > 0)
            printf("  %s %" PRIu32, dtc_txn_state_name((dtc_txn_state)k), by[k]);
    putchar('\n');
    size_t pick[OLDEST_SHOWN] = {0};
    int np = 0;
    for (int r = 0; r < OLDEST_SHOWN; r++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s->ntxns; i++) {
            bool taken = false;
            for (int j = 0; j < np; j++)
                taken |= pick[j] == i;
            if (!taken && (best == SIZE_MAX || s->txns[i].age_ms > s->txns[best].age_ms))
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        pick[np++] = best;
        char id[DTC_TXID_STRLEN], age[16];
        dtc_txid_format(&s->txns[best].id, id);
        printf("  %s  %-11s age %-8s owner %ld%s\n", id,
               dtc_txn_state_name(s->txns[best].state),
               dur((int64_t)s->txns[best].age_ms * 1000000, age, sizeof age),
               (long)s->txns[best].owner_pid, s->txns[best].adopted ? " (adopted by dtcd)" : "");
    }
}

static void frame_parts(const struct view_snap *s, const struct view_snap *p)
{
    double secs = p != NULL ? (double)(s->mono_ns - p->mono_ns) / 1e9 : 0;
    printf("participants: %zu\n  %-20s %8s %-9s %8s %10s %8s %9s %s\n", s->nparts, "NAME", "PID",
           "ALIVE", "PENDING", "SERVED", "ERRORS", "ANSWERS/s", "LAST ANSWER");
    for (size_t i = 0; i < s->nparts; i++) {
        const dtc_participant_info *x = &s->parts[i];
        uint64_t before = x->served;
        for (size_t j = 0; p != NULL && j < p->nparts; j++)
            if (p->parts[j].slot == x->slot && p->parts[j].pid == x->pid)
                before = p->parts[j].served;
        char last[24];
        if (x->last_ns > 0)
            snprintf(last + dur_len(s->real_ns - x->last_ns, last, sizeof last - 4),
                     5, " ago");
        printf("  %-20.20s %8ld %-9s %8" PRIu32 " %10" PRIu64 " %8" PRIu64 " %9.0f %s\n",
               x->name, (long)x->pid, x->alive ? "yes" : "NO", x->pending, x->served,
               x->errors, rate(x->served, before, secs), x->last_ns > 0 ? last : "never");
    }
}

/* Waits up to ms for the interval to pass; true if q was typed. */
static bool wait_key(bool tty, uint32_t ms)
{
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    if (!tty) {
        struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
        nanosleep(&t, NULL);
        return false;
    }
    if (poll(&pfd, 1, (int)ms) <= 0)
        return false;
    char c;
    return read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q');
}

int view_top(dtc_instance *in, const struct top_opts *o)
{
    bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    struct termios saved, raw;
    if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        tty = false;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* the terminal went away: stop, restoring it */
    struct view_snap snaps[2];
    int cur = 0, code = 0;
    bool have_prev = false;
    for (uint32_t n = 0; !top_stop && (o->frames == 0 || n < o->frames); n++) {
        if (view_snap_take(in, &snaps[cur]) != DTC_OK) {
            fprintf(stderr, "dtcctl top: the instance cannot be read any more\n");
            code = 2;
            break;
        }
        const struct view_snap *prev = have_prev ? &snaps[1 - cur] : NULL;
        fputs(tty ? "\033[H\033[2J" : (n > 0 ? "\n" : ""), stdout);
        frame_head(&snaps[cur], prev);
        frame_txns(&snaps[cur]);
        frame_parts(&snaps[cur], prev);
        if (tty)
            printf("(q quits; every %" PRIu32 " ms)\n", o->interval_ms);
        fflush(stdout);
        if (have_prev)
            view_snap_free(&snaps[1 - cur]);
        have_prev = true;
        cur = 1 - cur;
        if ((o->frames == 0 || n + 1 < o->frames) && wait_key(tty, o->interval_ms))
            break;
    }
    if (have_prev)
        view_snap_free(&snaps[1 - cur]);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return code;
}
