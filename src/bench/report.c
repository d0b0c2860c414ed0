/*
 * report.c - output: a readable table (one row per cell, the median run
 * by throughput when --repeat > 1, with the min-max range), then the
 * services/pg ratios by C; or with --format json one object {"cells":
 * [...], "skipped": [...], "ratios": [...], "rows": n} on stdout; or with
 * --format markdown the table in a code block, then the grid as Markdown
 * tables, two per mode (throughput; latency p99 / p99.9 / max), and the
 * syncs table (sync rounds and syncs per order), and the ratio tables.
 * Every format shows p99.9 and max.  A mode that could not run (no
 * PostgreSQL) is a line saying why in the table and an entry of
 * "skipped" in the JSON, never a cell.  Progress (a line per run of a
 * cell, from a ticker thread while it runs) and errors go to stderr.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static int printed;

/* Every reported cell, for the Markdown grid. */
static struct md_cell {
    int mode, nparts, ncoords;
    double tps, floor_ratio;
    double p99_us, p999_us, max_us; /* the tails, for the latency tables */
    double syncs_per_txn;           /* with syncs_known, for the syncs table */
    int syncs_known;
} cells[MODE_COUNT * BENCH_MAX_LIST * BENCH_MAX_LIST];
static int ncells;

/* When and under which load the run started. */
static char started[32];
static double load_start;

/* Skipped modes, kept for the JSON footer. */
static struct {
    int mode, nparts;
    char why[256];
} skipped[MODE_COUNT];
static int nskipped;

/* s as the inside of a JSON string. */
static void json_str(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
}

static int is_pg(int mode)
{
    return mode == MODE_PG || mode == MODE_PG_NOFSYNC;
}

static double load1(void)
{
    double l = 0;
    return getloadavg(&l, 1) == 1 ? l : -1;
}

/* The command line as a shell would take it back: arguments made of
 * plain characters as they are, others in single quotes. */
static void command_line(const struct bench_opts *o, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < o->argc && n < size; i++) {
        const char *a = o->argv[i];
        int plain = a[0] != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                               "0123456789_./,=:+-@%") == strlen(a);
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", plain ? "" : "'");
        for (; *a && n < size; a++)
            n += (size_t)snprintf(buf + n, size - n, *a == '\'' ? "'\\''" : "%c", *a);
        if (!plain && n < size)
            n += (size_t)snprintf(buf + n, size - n, "'");
    }
}

void bench_report_header(const struct bench_opts *o)
{
    char cmd[4096];
    time_t now = time(NULL);
    struct tm tm;
    printed = 0;
    nskipped = 0;
    ncells = 0;
    strftime(started, sizeof started, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
    load_start = load1();
    if (o->format == BENCH_FMT_JSON) {
        command_line(o, cmd, sizeof cmd);
        printf("{\"cpus\": %ld, \"started\": \"%s\", \"load_start\": %.2f, \"command\": \"",
               sysconf(_SC_NPROCESSORS_ONLN), started, load_start);
        json_str(cmd);
        printf("\", \"seconds_per_cell\": %.3f, \"txns_per_cell\": %ld, \"repeat\": %d, "
               "\"cells\": [",
               o->txns ? 0.0 : o->seconds, o->txns, o->repeat);
        return;
    }
    if (o->format == BENCH_FMT_MARKDOWN)
        printf("```text\n");
    printf("%-17s %3s %4s %8s %9s %15s %6s %8s %8s %8s %8s %8s %8s %7s %6s %6s %7s %5s\n",
           "mode", "N", "C", "txns", "txn/s", "txn/s min-max", "floor", "p50us", "p90us", "p99us",
           "p99.9us", "maxus", "cpuus/tx", "cs/tx", "c/sync", "rounds", "syncs/tx", "fail");
}

/* The syncs per order as JSON ("syncs_per_txn": x, before the rounds),
 * left out when not known. */
static void json_syncs(const struct bench_cell *c)
{
    if (c->syncs_known)
        printf(", \"syncs_per_txn\": %.3f", c->syncs_per_txn);
    printf(", \"sync_rounds\": %d}", bench_sync_rounds(c->mode, c->nparts));
}

static void json_row(const struct bench_cell *c)
{
    printf("%s\n  {\"mode\": \"%s\", \"participants\": %d, \"coordinators\": %d, "
           "\"txns\": %llu, \"failures\": %llu, \"first_error\": \"%s\", "
           "\"elapsed_s\": %.4f, \"tps\": %.1f, \"tps_min\": %.1f, \"tps_max\": %.1f, "
           "\"floor_ratio\": %.4f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
           "\"p999_us\": %.1f, \"max_us\": %.1f, \"cpu_us_per_txn\": %.2f, "
           "\"ctxsw_per_txn\": %.3f, \"commits_per_sync\": %.2f",
           printed ? "," : "", bench_mode_name(c->mode), c->nparts, c->ncoords,
           (unsigned long long)c->txns, (unsigned long long)c->failures, c->first_error,
           c->elapsed_s, c->tps, c->tps_min, c->tps_max, c->floor_ratio, c->lat.p50_us,
           c->lat.p90_us, c->lat.p99_us, c->lat.p999_us, c->lat.max_us, c->cpu_us_per_txn,
           c->ctxsw_per_txn, c->commits_per_sync);
    json_syncs(c);
}

void bench_report_row(const struct bench_opts *o, const struct bench_cell *c)
{
    if (ncells < (int)(sizeof cells / sizeof cells[0]))
        cells[ncells++] = (struct md_cell){c->mode, c->nparts, c->ncoords, c->tps,
                                           c->floor_ratio, c->lat.p99_us, c->lat.p999_us,
                                           c->lat.max_us, c->syncs_per_txn, c->syncs_known};
    if (o->format == BENCH_FMT_JSON)
        json_row(c);
    else {
        char range[32], ratio[16];
        snprintf(range, sizeof range, "%.0f-%.0f", c->tps_min, c->tps_max);
        if (c->mode == MODE_FLOOR || (is_pg(c->mode) && c->floor_ratio == 0))
            snprintf(ratio, sizeof ratio, "-"); /* pg: no floor at N=3 in the grid */
        else
            snprintf(ratio, sizeof ratio, "%.2f", c->floor_ratio);
        char cps[16] = "-"; /* commits per decision log sync: the group commit */
        if (c->commits_per_sync > 0)
            snprintf(cps, sizeof cps, "%.1f", c->commits_per_sync);
        char spt[16] = "-"; /* syncs per order: unknown for pg, services-pg */
        if (c->syncs_known)
            snprintf(spt, sizeof spt, "%.2f", c->syncs_per_txn);
        printf("%-17s %3d %4d %8llu %9.0f %15s %6s %8.0f %8.0f %8.0f %8.0f %8.0f %8.1f %7.2f %6s %6d %7s %5llu%s%s\n",
               bench_mode_name(c->mode), c->nparts, c->ncoords, (unsigned long long)c->txns,
               c->tps, range, ratio, c->lat.p50_us, c->lat.p90_us, c->lat.p99_us,
               c->lat.p999_us, c->lat.max_us, c->cpu_us_per_txn, c->ctxsw_per_txn, cps,
               bench_sync_rounds(c->mode, c->nparts), spt, (unsigned long long)c->failures, c->first_error[0] ? " " : "", c->first_error);
    }
    printed++;
    fflush(stdout);
}

void bench_report_skip(const struct bench_opts *o, int mode, int nparts, const char *why)
{
    if (o->format != BENCH_FMT_JSON) {
        printf("%-17s %3d %4s %s\n", bench_mode_name(mode), nparts, "-", why);
        fflush(stdout);
    } else if (nskipped < MODE_COUNT) {
        skipped[nskipped].mode = mode;
        skipped[nskipped].nparts = nparts;
        snprintf(skipped[nskipped].why, sizeof skipped[nskipped].why, "%s", why);
        nskipped++;
    }
}

static const char *ratio_name(const struct bench_ratio *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", bench_mode_name(r->num_mode), bench_mode_name(r->den_mode));
    return buf;
}

static void json_footer(int rows, const struct bench_ratio *r, int nr)
{
    char name[64];
    printf("\n], \"skipped\": [");
    for (int i = 0; i < nskipped; i++) {
        printf("%s{\"mode\": \"%s\", \"participants\": %d, \"why\": \"", i ? ", " : "",
               bench_mode_name(skipped[i].mode), skipped[i].nparts);
        json_str(skipped[i].why);
        printf("\"}");
    }
    printf("], \"ratios\": [");
    for (int i = 0; i < nr; i++)
        printf("%s\n  {\"name\": \"%s\", \"participants\": %d, \"coordinators\": %d, "
               "\"num_tps\": %.1f, \"den_tps\": %.1f, \"ratio\": %.4f}",
               i ? "," : "", ratio_name(&r[i], name, sizeof name), r[i].nparts, r[i].ncoords,
               r[i].num_tps, r[i].den_tps, r[i].den_tps > 0 ? r[i].num_tps / r[i].den_tps : 0);
    printf("%s], \"rows\": %d, \"load_end\": %.2f}\n", nr ? "\n" : "", rows, load1());
}

/* One line per (pair, C): the ratio at every N the services ran. */
static void text_ratios(const struct bench_ratio *r, int nr)
{
    char name[64];
    if (nr > 0)
        printf("\nthroughput ratios at the same C (dtc at N; PostgreSQL over %d databases; "
               "noop/noop-nolog: the decision log's cost):\n", BENCH_PG_DBS);
    for (int i = 0; i < nr; i++) {
        int first = i == 0 || r[i].num_mode != r[i - 1].num_mode
                    || r[i].ncoords != r[i - 1].ncoords;
        if (first)
            printf("%s%-28s C=%-4d", i ? "\n" : "", ratio_name(&r[i], name, sizeof name),
                   r[i].ncoords);
        printf("%s N=%d %.2f (%.0f / %.0f txn/s)", first ? "" : ",", r[i].nparts,
               r[i].num_tps / r[i].den_tps, r[i].num_tps, r[i].den_tps);
    }
    if (nr > 0)
        printf("\n");
}

/* x rounded, with thousands separators: 12,345. */
static const char *thousands(double x, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%.0f", x > 0 ? x : 0), k = 0;
    for (int i = 0; i < n && (size_t)k + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    return buf;
}

/* ---- progress on stderr ------------------------------------------------- */

/* The run going on, shared with the ticker thread under mu. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* CLOCK_MONOTONIC; signalled at a start and to stop */
    pthread_t tid;
    int running, quit;       /* the ticker thread */
    int active;              /* a run is going on */
    int tty;                 /* stderr is a terminal: update in place */
    int64_t t0;              /* its start */
    int shown_s;             /* the last second shown */
    char line[160];
} prog = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Each whole second of a run from its third on: its elapsed time
 * (terminal) or a dot. */
static void *ticker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&prog.mu);
    while (!prog.quit) {
        struct timespec ts;
        if (prog.active) { /* the next whole second of the run */
            int64_t at = prog.t0 + (int64_t)(prog.shown_s > 2 ? prog.shown_s + 1 : 3) * 1000000000;
            ts = (struct timespec){(time_t)(at / 1000000000), (long)(at % 1000000000)};
        } else {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1;
        }
        pthread_cond_timedwait(&prog.cv, &prog.mu, &ts);
        int s = (int)((bench_now_ns() - prog.t0) / 1000000000);
        if (!prog.active || prog.quit || s <= 2 || s <= prog.shown_s)
            continue;
        prog.shown_s = s;
        if (prog.tty)
            fprintf(stderr, "\r%s %d s", prog.line, s);
        else
            fputc('.', stderr);
    }
    pthread_mutex_unlock(&prog.mu);
    return NULL;
}

static void progress_start(void)
{
    pthread_condattr_t ca;
    prog.tty = isatty(STDERR_FILENO);
    if (pthread_condattr_init(&ca) != 0)
        return;
    /* (re)initialized with nobody waiting, never destroyed: the house
     * rule for every condvar, shared or not */
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0
        && pthread_cond_init(&prog.cv, &ca) == 0
        && pthread_create(&prog.tid, NULL, ticker, NULL) == 0)
        prog.running = 1;
    pthread_condattr_destroy(&ca);
}

void bench_progress_begin(const struct bench_opts *o, int k, int total,
                          const struct bench_cell *c)
{
    char len[32];
    if (!prog.running && !prog.quit)
        progress_start();
    if (o->txns > 0)
        snprintf(len, sizeof len, "%ld txns", o->txns);
    else
        snprintf(len, sizeof len, "%.1f s", o->seconds);
    pthread_mutex_lock(&prog.mu);
    snprintf(prog.line, sizeof prog.line, "dtc-bench: [%d/%d] %s N=%d C=%d run %d/%d (%s)...",
             k, total, bench_mode_name(c->mode), c->nparts, c->ncoords, c->run + 1, o->repeat,
             len);
    fputs(prog.line, stderr);
    prog.t0 = bench_now_ns();
    prog.shown_s = 0;
    prog.active = 1;
    pthread_cond_signal(&prog.cv);
    pthread_mutex_unlock(&prog.mu);
}

void bench_progress_end(const struct bench_cell *c, int rc)
{
    char tps[32];
    pthread_mutex_lock(&prog.mu);
    prog.active = 0;
    if (prog.tty && prog.shown_s > 0)
        fprintf(stderr, "\r%s", prog.line);
    if (rc != 0)
        fprintf(stderr, " could not run\n");
    else if (c->failures > 0)
        fprintf(stderr, " %s txn/s, %llu failed\n", thousands(c->tps, tps, sizeof tps),
                (unsigned long long)c->failures);
    else
        fprintf(stderr, " %s txn/s\n", thousands(c->tps, tps, sizeof tps));
    pthread_mutex_unlock(&prog.mu);
}

/* Ends the ticker thread (before the footer; a later run starts it anew). */
static void progress_stop(void)
{
    if (!prog.running)
        return;
    pthread_mutex_lock(&prog.mu);
    prog.quit = 1;
    pthread_cond_signal(&prog.cv);
    pthread_mutex_unlock(&prog.mu);
    pthread_join(prog.tid, NULL); /* the condvar stays: see progress_start */
    prog.running = 0;
    prog.quit = 0;
}

/* ---- the Markdown grid --------------------------------------------------- */

static const struct md_cell *find(int mode, int nparts, int ncoords)
{
    for (int i = 0; i < ncells; i++)
        if (cells[i].mode == mode && cells[i].nparts == nparts && cells[i].ncoords == ncoords)
            return &cells[i];
    return NULL;
}

/* A cell of the grid: txn/s, then its ratio to floor and to floor-wake
 * at the same N and C where those ran. */
static void md_value(const struct md_cell *c, char *buf, size_t size)
{
    char tps[32], wake[16] = "";
    if (c == NULL) {
        snprintf(buf, size, "-");
        return;
    }
    const struct md_cell *w = find(MODE_FLOOR_WAKE, c->nparts, c->ncoords);
    if (c->mode != MODE_FLOOR && c->mode != MODE_FLOOR_WAKE && w != NULL && w->tps > 0)
        snprintf(wake, sizeof wake, ", %.2f", c->tps / w->tps);
    thousands(c->tps, tps, sizeof tps);
    if (c->floor_ratio > 0)
        snprintf(buf, size, "%s (%.2f%s)", tps, c->floor_ratio, wake);
    else if (wake[0])
        snprintf(buf, size, "%s (-%s)", tps, wake);
    else
        snprintf(buf, size, "%s", tps);
}

/* The tails of a cell: "p99 / p99.9 / max" in microseconds. */
static void md_tails(const struct md_cell *c, char *buf, size_t size)
{
    char a[32], b[32], m[32];
    if (c == NULL)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%s / %s / %s", thousands(c->p99_us, a, sizeof a),
                 thousands(c->p999_us, b, sizeof b), thousands(c->max_us, m, sizeof m));
}

/* One table: a row per N the mode ran at, a column per C; its cells
 * throughput (tails 0) or the latency tails (tails 1). */
static void md_table(const struct bench_opts *o, int mode, const int *ns, int nn, int tails)
{
    printf("| N \\ C |");
    for (int ci = 0; ci < o->nncoords; ci++)
        printf(" %d |", o->ncoords[ci]);
    printf("\n|---|");
    for (int ci = 0; ci < o->nncoords; ci++)
        printf("---|");
    for (int j = 0; j < nn; j++) {
        printf("\n| %s, N=%d |", bench_mode_name(mode), ns[j]);
        for (int ci = 0; ci < o->nncoords; ci++) {
            char v[96];
            const struct md_cell *c = find(mode, ns[j], o->ncoords[ci]);
            if (tails)
                md_tails(c, v, sizeof v);
            else
                md_value(c, v, sizeof v);
            printf(" %s |", v);
        }
    }
    printf("\n\n");
}

/* The mode's tables: throughput, then latency tails; a row per N it ran
 * at, a column per C. */
static void md_mode(const struct bench_opts *o, int mode)
{
    int ns[BENCH_MAX_LIST + 1], nn = 0, wake = 0;
    for (int i = 0; i < ncells; i++) {
        wake |= cells[i].mode == MODE_FLOOR_WAKE;
        int seen = cells[i].mode != mode;
        for (int j = 0; j < nn && !seen; j++)
            seen = ns[j] == cells[i].nparts;
        if (!seen && nn <= BENCH_MAX_LIST)
            ns[nn++] = cells[i].nparts;
    }
    if (nn == 0)
        return;
    printf("`%s`: txn/s%s\n\n", bench_mode_name(mode),
           mode == MODE_FLOOR ? ""
           : mode == MODE_FLOOR_WAKE || !wake ? " (ratio to floor)"
                                              : " (ratio to floor, to floor-wake)");
    md_table(o, mode, ns, nn, 0);
    printf("`%s`: latency p99 / p99.9 / max, us\n\n", bench_mode_name(mode));
    md_table(o, mode, ns, nn, 1);
}

/* The ratio tables: one per pair of modes, a row per (C, N). */
static void md_ratios(const struct bench_ratio *r, int nr)
{
    char name[64], a[32], b[32], note[64];
    for (int i = 0; i < nr; i++) {
        if (i == 0 || r[i].num_mode != r[i - 1].num_mode) {
            if (r[i].num_mode == MODE_NOOP)
                snprintf(note, sizeof note, "the decision log's cost");
            else
                snprintf(note, sizeof note, "N: the services'; PostgreSQL over %d databases",
                         BENCH_PG_DBS);
            printf("%s`%s` (%s):\n\n| C | N | %s txn/s | %s txn/s | ratio |\n|---|---|---|---|---|",
                   i ? "\n\n" : "", ratio_name(&r[i], name, sizeof name), note,
                   bench_mode_name(r[i].num_mode), bench_mode_name(r[i].den_mode));
        }
        printf("\n| %d | %d | %s | %s | %.2f |", r[i].ncoords, r[i].nparts,
               thousands(r[i].num_tps, a, sizeof a), thousands(r[i].den_tps, b, sizeof b),
               r[i].den_tps > 0 ? r[i].num_tps / r[i].den_tps : 0);
    }
    if (nr > 0)
        printf("\n");
}

/* The syncs table: a row per (mode, N) in the order they ran, its sync
 * rounds (by design), then the syncs per order measured at each C ("-":
 * not run, or not known). */
static void md_syncs(const struct bench_opts *o)
{
    printf("Sync rounds an order waits for (by design) and syncs per order (measured):\n\n"
           "| mode | N | rounds |");
    for (int ci = 0; ci < o->nncoords; ci++)
        printf(" syncs/order C=%d |", o->ncoords[ci]);
    printf("\n|---|---|---|");
    for (int ci = 0; ci < o->nncoords; ci++)
        printf("---|");
    for (int i = 0; i < ncells; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = cells[j].mode == cells[i].mode && cells[j].nparts == cells[i].nparts;
        if (seen)
            continue;
        printf("\n| %s | %d | %d |", bench_mode_name(cells[i].mode), cells[i].nparts,
               bench_sync_rounds(cells[i].mode, cells[i].nparts));
        for (int ci = 0; ci < o->nncoords; ci++) {
            const struct md_cell *c = find(cells[i].mode, cells[i].nparts, o->ncoords[ci]);
            if (c != NULL && c->syncs_known)
                printf(" %.2f |", c->syncs_per_txn);
            else
                printf(" - |");
        }
    }
    printf("\n\n");
}

static void md_footer(const struct bench_opts *o, const struct bench_ratio *r, int nr)
{
    static const int order[] = {MODE_FLOOR,        MODE_FLOOR_WAKE,        MODE_FLOOR_ENLIST,
                                MODE_NOOP,         MODE_NOOP_JOURNAL,      MODE_NOOP_NOLOG,
                                MODE_SERVICES,     MODE_SERVICES_OWNFSYNC, MODE_SERVICES_NOFSYNC,
                                MODE_SERVICES_PG,  MODE_PG,                MODE_PG_NOFSYNC};
    _Static_assert(sizeof order / sizeof order[0] == MODE_COUNT, "every mode has its table");
    char cmd[4096];
    command_line(o, cmd, sizeof cmd);
    printf("```\n\n`%s`\n\n", cmd);
    printf("Run %s on %ld CPUs, load average %.2f at the start and %.2f at the end; ", started,
           sysconf(_SC_NPROCESSORS_ONLN), load_start, load1());
    if (o->txns > 0)
        printf("%ld transactions a run", o->txns);
    else
        printf("%.1f s a run", o->seconds);
    if (o->repeat > 1)
        printf(", median of %d runs", o->repeat);
    printf(".\n\n");
    for (size_t i = 0; ncells > 0 && i < sizeof order / sizeof order[0]; i++)
        md_mode(o, order[i]);
    if (ncells > 0)
        md_syncs(o);
    md_ratios(r, nr);
}

void bench_report_footer(const struct bench_opts *o, int rows, const struct bench_ratio *r,
                         int nr)
{
    progress_stop();
    if (o->format == BENCH_FMT_JSON)
        json_footer(rows, r, nr);
    else if (o->format == BENCH_FMT_MARKDOWN)
        md_footer(o, r, nr);
    else
        text_ratios(r, nr);
    fflush(stdout);
}
