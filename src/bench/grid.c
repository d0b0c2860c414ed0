/*
 * grid.c - runs the grid.  For each N: start the floor's participants
 * (both variants) and the dtc-noop ones, and for each C alternate floor
 * and noop runs (so that noise from other work on the machine hits both
 * alike); then the
 * services modes for that N, compared with the floor measured just
 * before.  Each cell runs --repeat times; the row is the median run by
 * throughput.  dtc rows are cross-checked against dtcd's committed
 * counter, and their syncs per order are dtcd's decision log syncs plus
 * the participants' own (dtc_participant_info.syncs) over that count.
 * Then the PostgreSQL peer (pg, pg-nofsync): one cluster, started once
 * per mode, each C once (its N is its BENCH_PG_DBS
 * databases; its floor ratio is to the floor at N=3, when the grid has
 * it); and the services/pg ratios at each C.  No PostgreSQL is not an
 * error: those rows say why.  Exit code 1 if any transaction failed or
 * no row was printed.  Every run of a cell is announced on stderr as
 * [k/total], k the cell's number in the grid's order.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "version_opt.h"
#include "dtc/dtc.h"

struct grid {
    const struct bench_opts *o;
    struct bench_dtc *dtc;
    struct bench_dtc *dtc_nolog;        /* noop-nolog: dtcd without its log */
    struct bench_dtc *dtc_journal;      /* noop-journal: its own dtcd, with the log */
    double noop_tps[2][BENCH_MAX_LIST][BENCH_MAX_LIST]; /* [nolog][N index][C index] */
    double floor_tps[BENCH_MAX_LIST];   /* by C index, for the current N */
    double floor_n3[BENCH_MAX_LIST];    /* by C index, the floor at N=3 */
    int ni;                             /* the current N's index */
    double svc_tps[2][BENCH_MAX_LIST][BENCH_MAX_LIST]; /* [nofsync][N index][C index] */
    double pg_tps[2][BENCH_MAX_LIST];   /* [nofsync][C index] */
    int rows;
    int skipped;                        /* cells not run (pg unavailable) */
    int total;                          /* cells planned */
    uint64_t failures;
};

/* Cells the grid will run: every mode but the pg ones at each N and C,
 * the pg ones at each C. */
static int planned(const struct bench_opts *o)
{
    unsigned m = o->modes | 1u << MODE_FLOOR;
    int per_n = 0, pg = 0;
    for (int i = 0; i < MODE_COUNT; i++)
        if ((m >> i) & 1) {
            if (i == MODE_PG || i == MODE_PG_NOFSYNC)
                pg++;
            else
                per_n++;
        }
    return (per_n * o->nnparts + pg) * o->nncoords;
}

/* One run of cell number `at` past the cells already reported,
 * announced on stderr. */
static int run_cell(struct grid *g, int at, const struct bench_target *t,
                    struct bench_cell *cell)
{
    bench_progress_begin(g->o, g->rows + g->skipped + at + 1, g->total, cell);
    int rc = bench_run_cell(g->o, t, cell);
    bench_progress_end(cell, rc);
    return rc;
}

static int by_tps(const void *a, const void *b)
{
    double x = ((const struct bench_cell *)a)->tps, y = ((const struct bench_cell *)b)->tps;
    return (x > y) - (x < y);
}

/* The median of runs[0..n) by throughput, with the range and every failure. */
static struct bench_cell median(struct bench_cell *runs, int n)
{
    uint64_t failures = 0;
    for (int i = 0; i < n; i++)
        failures += runs[i].failures;
    qsort(runs, (size_t)n, sizeof *runs, by_tps);
    struct bench_cell m = runs[n / 2];
    m.tps_min = runs[0].tps;
    m.tps_max = runs[n - 1].tps;
    m.failures = failures;
    for (int i = 0; i < n && m.first_error[0] == '\0'; i++)
        memcpy(m.first_error, runs[i].first_error, sizeof m.first_error);
    return m;
}

/* Modes that run against the dtcd without a decision log: the log's
 * cost (noop-nolog), and "fsync off everywhere" (services-nofsync, the
 * peer of pg-nofsync). */
static bool nolog(int mode)
{
    return mode == MODE_NOOP_NOLOG || mode == MODE_SERVICES_NOFSYNC;
}

/* One run of a dtc cell, checked against dtcd's committed counter. */
static int run_dtc(struct grid *g, int at, struct bench_cell *cell)
{
    struct bench_target t;
    struct bench_dtc *dtc = nolog(cell->mode)                    ? g->dtc_nolog
                            : cell->mode == MODE_NOOP_JOURNAL ? g->dtc_journal
                                                              : g->dtc;
    bench_dtc_target(dtc, &t);
    long long before = bench_dtc_committed(dtc), syncs = bench_dtc_syncs(dtc);
    long long own = bench_dtc_part_syncs(dtc);
    if (run_cell(g, at, &t, cell) != 0)
        return -1;
    long long after = bench_dtc_committed(dtc), synced = bench_dtc_syncs(dtc) - syncs;
    long long own_after = bench_dtc_part_syncs(dtc);
    if (syncs >= 0 && synced > 0)
        cell->commits_per_sync = (double)(after - before) / (double)synced;
    /* syncs per order: dtc-pg's are PostgreSQL's, not counted: unknown */
    bool log_known = nolog(cell->mode) || (syncs >= 0 && synced >= 0);
    if (cell->mode != MODE_SERVICES_PG && log_known && own >= 0 && own_after >= own
        && before >= 0 && after > before) {
        long long dlog = nolog(cell->mode) ? 0 : synced;
        cell->syncs_per_txn = (double)(dlog + own_after - own) / (double)(after - before);
        cell->syncs_known = 1;
    }
    long long want = (long long)(cell->txns - cell->failures);
    if (before < 0 || after - before != want) {
        fprintf(stderr, "dtc-bench: %s N=%d C=%d: dtcd counted %lld commits, we %lld\n",
                bench_mode_name(cell->mode), cell->nparts, cell->ncoords, after - before, want);
        cell->failures++;
        snprintf(cell->first_error, sizeof cell->first_error, "commit count mismatch");
    }
    return 0;
}

static void emit(struct grid *g, struct bench_cell *runs, int ci)
{
    struct bench_cell m = median(runs, g->o->repeat);
    double floor = m.mode == MODE_PG || m.mode == MODE_PG_NOFSYNC ? g->floor_n3[ci]
                                                                  : g->floor_tps[ci];
    if (m.mode == MODE_FLOOR) {
        g->floor_tps[ci] = m.tps;
        if (m.nparts == BENCH_PG_DBS)
            g->floor_n3[ci] = m.tps;
    } else
        m.floor_ratio = floor > 0 ? m.tps / floor : 0;
    if (m.mode == MODE_SERVICES || m.mode == MODE_SERVICES_NOFSYNC)
        g->svc_tps[m.mode == MODE_SERVICES_NOFSYNC][g->ni][ci] = m.tps;
    if (m.mode == MODE_PG || m.mode == MODE_PG_NOFSYNC)
        g->pg_tps[m.mode == MODE_PG_NOFSYNC][ci] = m.tps;
    if (m.mode == MODE_NOOP || m.mode == MODE_NOOP_NOLOG)
        g->noop_tps[m.mode == MODE_NOOP_NOLOG][g->ni][ci] = m.tps;
    g->failures += m.failures;
    bench_report_row(g->o, &m);
    g->rows++;
}

static int max_coords(const struct bench_opts *o)
{
    int m = 1;
    for (int i = 0; i < o->nncoords; i++)
        m = o->ncoords[i] > m ? o->ncoords[i] : m;
    return m;
}

/* One run of each floor-side mode (floor, floor-wake, floor-enlist,
 * noop) at N, C.  f[1] is the wake variant's floor. */
static int run_modes(struct grid *g, struct bench_floor *f[2], const int *modes, int nm,
                     struct bench_cell runs[][50], int n, int c, int r)
{
    for (int i = 0; i < nm; i++) {
        struct bench_target t;
        struct bench_cell *cell = &runs[i][r];
        *cell = (struct bench_cell){.mode = modes[i], .nparts = n, .ncoords = c, .run = r};
        if (modes[i] == MODE_NOOP || modes[i] == MODE_NOOP_NOLOG
            || modes[i] == MODE_NOOP_JOURNAL) {
            if (run_dtc(g, i, cell) != 0)
                return -1;
            continue;
        }
        bench_floor_target(f[modes[i] == MODE_FLOOR_WAKE], modes[i] == MODE_FLOOR_ENLIST, &t);
        if (run_cell(g, i, &t, cell) != 0)
            return -1;
        cell->syncs_known = 1; /* the floor keeps nothing: no sync */
    }
    return 0;
}

/* Floor, floor-wake, floor-enlist and noop cells for N = n, alternating
 * per run so that noise from other work on the machine hits them alike. */
static int floor_and_noop(struct grid *g, int n)
{
    const struct bench_opts *o = g->o;
    static struct bench_cell runs[6][50];
    static const int order[] = {MODE_FLOOR_WAKE, MODE_FLOOR_ENLIST, MODE_NOOP, MODE_NOOP_NOLOG,
                                MODE_NOOP_JOURNAL};
    int modes[6], nm = 0, rc = 0;
    modes[nm++] = MODE_FLOOR;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if ((o->modes >> order[i]) & 1)
            modes[nm++] = order[i];
    struct bench_floor *f[2] = {NULL, NULL};
    if (bench_floor_start(n, max_coords(o), 0, &f[0]) != 0)
        return -1;
    if (((o->modes >> MODE_FLOOR_WAKE) & 1) && bench_floor_start(n, max_coords(o), 1, &f[1]) != 0) {
        bench_floor_stop(&f[0]);
        return -1;
    }
    if (((o->modes >> MODE_NOOP) & 1) && bench_dtc_participants(g->dtc, MODE_NOOP, n, max_coords(o)) != 0)
        rc = -1;
    if (((o->modes >> MODE_NOOP_NOLOG) & 1)
        && bench_dtc_participants(g->dtc_nolog, MODE_NOOP, n, max_coords(o)) != 0)
        rc = -1;
    if (((o->modes >> MODE_NOOP_JOURNAL) & 1)
        && bench_dtc_participants(g->dtc_journal, MODE_NOOP_JOURNAL, n, max_coords(o)) != 0)
        rc = -1;
    for (int ci = 0; rc == 0 && ci < o->nncoords; ci++) {
        for (int r = 0; rc == 0 && r < o->repeat; r++)
            rc = run_modes(g, f, modes, nm, runs, n, o->ncoords[ci], r);
        for (int i = 0; rc == 0 && i < nm; i++)
            emit(g, runs[i], ci);
    }
    bench_floor_stop(&f[0]);
    bench_floor_stop(&f[1]);
    return rc;
}

static int services(struct grid *g, int mode, int n)
{
    const struct bench_opts *o = g->o;
    if (bench_dtc_participants(nolog(mode) ? g->dtc_nolog : g->dtc, mode, n, max_coords(o)) != 0)
        return -1;
    for (int ci = 0; ci < o->nncoords; ci++) {
        struct bench_cell runs[50];
        for (int r = 0; r < o->repeat; r++) {
            runs[r] = (struct bench_cell){.mode = mode, .nparts = n, .ncoords = o->ncoords[ci], .run = r};
            if (run_dtc(g, 0, &runs[r]) != 0)
                return -1;
        }
        emit(g, runs, ci);
    }
    return 0;
}

static int grid_n(struct grid *g, int n)
{
    unsigned modes = g->o->modes;
    if (floor_and_noop(g, n) != 0)
        return -1;
    if (((modes >> MODE_SERVICES) & 1) && services(g, MODE_SERVICES, n) != 0)
        return -1;
    if (((modes >> MODE_SERVICES_OWNFSYNC) & 1) && services(g, MODE_SERVICES_OWNFSYNC, n) != 0)
        return -1;
    if (((modes >> MODE_SERVICES_NOFSYNC) & 1) && services(g, MODE_SERVICES_NOFSYNC, n) != 0)
        return -1;
    if ((modes >> MODE_SERVICES_PG) & 1) {
        char why[600];
        if (bench_svcpg_ready(max_coords(g->o), why, sizeof why) != 0)
            bench_report_skip(g->o, MODE_SERVICES_PG, n, why);
        else if (services(g, MODE_SERVICES_PG, n) != 0)
            return -1;
    }
    return 0;
}

/* The PostgreSQL peer's cells, each C once; a mode that cannot start is
 * reported as skipped, not as an error. */
static int pg_cells(struct grid *g)
{
    const struct bench_opts *o = g->o;
    static const int modes[] = {MODE_PG, MODE_PG_NOFSYNC};
    struct bench_pg *p = NULL;
    char why[512], line[600];
    int rc = 0, opened = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (!((o->modes >> modes[i]) & 1))
            continue;
        if (!opened)
            opened = bench_pg_open(max_coords(o), &p, why, sizeof why) == 0 ? 1 : -1;
        if (opened < 0 || bench_pg_mode(p, modes[i], why, sizeof why) != 0) {
            snprintf(line, sizeof line, "postgresql not available: %s", why);
            bench_report_skip(o, modes[i], BENCH_PG_DBS, line);
            g->skipped += o->nncoords;
            continue;
        }
        for (int ci = 0; rc == 0 && ci < o->nncoords; ci++) {
            struct bench_cell runs[50];
            for (int r = 0; rc == 0 && r < o->repeat; r++) {
                struct bench_target t;
                runs[r] = (struct bench_cell){.mode = modes[i], .nparts = BENCH_PG_DBS,
                                              .ncoords = o->ncoords[ci], .run = r};
                bench_pg_target(p, &t);
                rc = run_cell(g, 0, &t, &runs[r]);
            }
            if (rc == 0)
                emit(g, runs, ci);
        }
    }
    bench_pg_close(&p);
    return rc;
}

/* services/pg and services-nofsync/pg-nofsync at each C, every N. */
static int ratios(const struct grid *g, struct bench_ratio *out)
{
    int n = 0;
    for (int ci = 0; ci < g->o->nncoords; ci++) /* the decision log's cost */
        for (int ni = 0; ni < g->o->nnparts; ni++)
            if (g->noop_tps[0][ni][ci] > 0 && g->noop_tps[1][ni][ci] > 0)
                out[n++] = (struct bench_ratio){MODE_NOOP, MODE_NOOP_NOLOG, g->o->nparts[ni],
                                                g->o->ncoords[ci], g->noop_tps[0][ni][ci],
                                                g->noop_tps[1][ni][ci]};
    for (int f = 0; f < 2; f++)
        for (int ci = 0; ci < g->o->nncoords; ci++)
            for (int ni = 0; ni < g->o->nnparts; ni++)
                if (g->svc_tps[f][ni][ci] > 0 && g->pg_tps[f][ci] > 0)
                    out[n++] = (struct bench_ratio){
                        f ? MODE_SERVICES_NOFSYNC : MODE_SERVICES, f ? MODE_PG_NOFSYNC : MODE_PG,
                        g->o->nparts[ni], g->o->ncoords[ci], g->svc_tps[f][ni][ci],
                        g->pg_tps[f][ci]};
    return n;
}

int bench_run(const struct bench_opts *o)
{
    struct bench_opts eff = *o;
    struct grid g = {.o = &eff, .total = planned(&eff)};
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* a closed terminal must not cut a run short */
    dtc_log_init(DTC_LOG_WARN);
    if (o->log_level != NULL && dtc__log_level_opt("dtc-bench", o->log_level) != 0)
        return 2;
    int rc = 0;
    unsigned need_dtc = 1u << MODE_NOOP | 1u << MODE_SERVICES | 1u << MODE_SERVICES_NOFSYNC
                        | 1u << MODE_SERVICES_PG | 1u << MODE_SERVICES_OWNFSYNC;
    if ((eff.modes & need_dtc) != 0 && bench_dtc_start(&eff, 0, &g.dtc) != 0)
        rc = -1;
    if (rc == 0 && (eff.modes & (1u << MODE_NOOP_NOLOG | 1u << MODE_SERVICES_NOFSYNC)) != 0
        && bench_dtc_start(&eff, 1, &g.dtc_nolog) != 0)
        rc = -1;
    if (rc == 0 && (eff.modes & 1u << MODE_NOOP_JOURNAL) != 0
        && bench_dtc_start(&eff, 0, &g.dtc_journal) != 0)
        rc = -1;
    bench_report_header(&eff);
    for (int i = 0; rc == 0 && i < eff.nnparts; i++) {
        g.ni = i;
        rc = grid_n(&g, eff.nparts[i]);
    }
    bench_dtc_stop(&g.dtc);
    bench_dtc_stop(&g.dtc_nolog);
    bench_dtc_stop(&g.dtc_journal);
    bench_svcpg_stop();
    if (rc == 0)
        rc = pg_cells(&g);
    dtc_kit_kill_all();
    static struct bench_ratio r[3 * BENCH_MAX_LIST * BENCH_MAX_LIST];
    bench_report_footer(&eff, g.rows, r, ratios(&g, r));
    if (rc != 0)
        fprintf(stderr, "dtc-bench: aborted: could not start or run a cell\n");
    if (g.failures > 0)
        fprintf(stderr, "dtc-bench: %llu transactions failed\n", (unsigned long long)g.failures);
    return rc != 0 || g.failures > 0 || g.rows == 0 ? 1 : 0;
}
