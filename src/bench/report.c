/*
 * report.c - output: a readable table (one row per cell, the median run
 * by throughput when --repeat > 1, with the min-max range), then the
 * services/pg ratios by C; or with --json one object {"cells": [...],
 * "skipped": [...], "ratios": [...], "rows": n} on stdout.  A mode that
 * could not run (no PostgreSQL) is a line saying why in the table and an
 * entry of "skipped" in the JSON, never a cell.  Progress and errors go
 * to stderr.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static int printed;

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

void bench_report_header(const struct bench_opts *o)
{
    printed = 0;
    nskipped = 0;
    if (o->json) {
        printf("{\"cpus\": %ld, \"seconds_per_cell\": %.3f, \"txns_per_cell\": %ld, "
               "\"repeat\": %d, \"cells\": [",
               sysconf(_SC_NPROCESSORS_ONLN), o->txns ? 0.0 : o->seconds, o->txns, o->repeat);
        return;
    }
    printf("%-16s %3s %4s %8s %9s %15s %6s %8s %8s %8s %8s %8s %8s %7s %6s %5s\n", "mode", "N",
           "C", "txns", "txn/s", "txn/s min-max", "floor", "p50us", "p90us", "p99us", "p99.9us",
           "maxus", "cpuus/tx", "cs/tx", "c/sync", "fail");
}

static void json_row(const struct bench_cell *c)
{
    printf("%s\n  {\"mode\": \"%s\", \"participants\": %d, \"coordinators\": %d, "
           "\"txns\": %llu, \"failures\": %llu, \"first_error\": \"%s\", "
           "\"elapsed_s\": %.4f, \"tps\": %.1f, \"tps_min\": %.1f, \"tps_max\": %.1f, "
           "\"floor_ratio\": %.4f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
           "\"p999_us\": %.1f, \"max_us\": %.1f, \"cpu_us_per_txn\": %.2f, "
           "\"ctxsw_per_txn\": %.3f, \"commits_per_sync\": %.2f}",
           printed ? "," : "", bench_mode_name(c->mode), c->nparts, c->ncoords,
           (unsigned long long)c->txns, (unsigned long long)c->failures, c->first_error,
           c->elapsed_s, c->tps, c->tps_min, c->tps_max, c->floor_ratio, c->lat.p50_us,
           c->lat.p90_us, c->lat.p99_us, c->lat.p999_us, c->lat.max_us, c->cpu_us_per_txn,
           c->ctxsw_per_txn, c->commits_per_sync);
}

void bench_report_row(const struct bench_opts *o, const struct bench_cell *c)
{
    if (o->json)
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
        printf("%-16s %3d %4d %8llu %9.0f %15s %6s %8.0f %8.0f %8.0f %8.0f %8.0f %8.1f %7.2f %6s %5llu%s%s\n",
               bench_mode_name(c->mode), c->nparts, c->ncoords, (unsigned long long)c->txns,
               c->tps, range, ratio, c->lat.p50_us, c->lat.p90_us, c->lat.p99_us,
               c->lat.p999_us, c->lat.max_us, c->cpu_us_per_txn, c->ctxsw_per_txn, cps,
               (unsigned long long)c->failures, c->first_error[0] ? " " : "", c->first_error);
    }
    printed++;
    fflush(stdout);
}

void bench_report_skip(const struct bench_opts *o, int mode, int nparts, const char *why)
{
    if (!o->json) {
        printf("%-16s %3d %4s %s\n", bench_mode_name(mode), nparts, "-", why);
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
    printf("%s], \"rows\": %d}\n", nr ? "\n" : "", rows);
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

void bench_report_footer(const struct bench_opts *o, int rows, const struct bench_ratio *r,
                         int nr)
{
    if (o->json)
        json_footer(rows, r, nr);
    else
        text_ratios(r, nr);
    fflush(stdout);
}
