/*
 * report.c - output: a readable table (one row per cell, the median run
 * by throughput when --repeat > 1, with the min-max range), or with
 * --json one object {"cells": [...], "rows": n, "note": ...} on stdout.
 * Progress and errors go to stderr.
 */
#include <stdio.h>
#include <unistd.h>

#include "bench.h"

static int printed;

void bench_report_header(const struct bench_opts *o)
{
    printed = 0;
    if (o->json) {
        printf("{\"cpus\": %ld, \"seconds_per_cell\": %.3f, \"txns_per_cell\": %ld, "
               "\"repeat\": %d, \"cells\": [",
               sysconf(_SC_NPROCESSORS_ONLN), o->txns ? 0.0 : o->seconds, o->txns, o->repeat);
        return;
    }
    printf("%-16s %3s %4s %8s %9s %15s %6s %8s %8s %8s %8s %8s %8s %7s %5s\n", "mode", "N", "C",
           "txns", "txn/s", "txn/s min-max", "floor", "p50us", "p90us", "p99us", "p99.9us",
           "maxus", "cpuus/tx", "cs/tx", "fail");
}

static void json_row(const struct bench_cell *c)
{
    printf("%s\n  {\"mode\": \"%s\", \"participants\": %d, \"coordinators\": %d, "
           "\"txns\": %llu, \"failures\": %llu, \"first_error\": \"%s\", "
           "\"elapsed_s\": %.4f, \"tps\": %.1f, \"tps_min\": %.1f, \"tps_max\": %.1f, "
           "\"floor_ratio\": %.4f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
           "\"p999_us\": %.1f, \"max_us\": %.1f, \"cpu_us_per_txn\": %.2f, "
           "\"ctxsw_per_txn\": %.3f}",
           printed ? "," : "", bench_mode_name(c->mode), c->nparts, c->ncoords,
           (unsigned long long)c->txns, (unsigned long long)c->failures, c->first_error,
           c->elapsed_s, c->tps, c->tps_min, c->tps_max, c->floor_ratio, c->lat.p50_us,
           c->lat.p90_us, c->lat.p99_us, c->lat.p999_us, c->lat.max_us, c->cpu_us_per_txn,
           c->ctxsw_per_txn);
}

void bench_report_row(const struct bench_opts *o, const struct bench_cell *c)
{
    if (o->json)
        json_row(c);
    else {
        char range[32], ratio[16];
        snprintf(range, sizeof range, "%.0f-%.0f", c->tps_min, c->tps_max);
        if (c->mode == MODE_FLOOR)
            snprintf(ratio, sizeof ratio, "-");
        else
            snprintf(ratio, sizeof ratio, "%.2f", c->floor_ratio);
        printf("%-16s %3d %4d %8llu %9.0f %15s %6s %8.0f %8.0f %8.0f %8.0f %8.0f %8.1f %7.2f %5llu%s%s\n",
               bench_mode_name(c->mode), c->nparts, c->ncoords, (unsigned long long)c->txns,
               c->tps, range, ratio, c->lat.p50_us, c->lat.p90_us, c->lat.p99_us,
               c->lat.p999_us, c->lat.max_us, c->cpu_us_per_txn, c->ctxsw_per_txn,
               (unsigned long long)c->failures, c->first_error[0] ? " " : "", c->first_error);
    }
    printed++;
    fflush(stdout);
}

void bench_report_footer(const struct bench_opts *o, int rows)
{
    if (o->json)
        printf("\n], \"rows\": %d}\n", rows);
    fflush(stdout);
}
