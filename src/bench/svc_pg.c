/*
 * svc_pg.c - mode services-pg: the services mode with every payment
 * participant (k % 4 == 1) played by dtc-pg against a throwaway
 * PostgreSQL cluster (pg_cluster.c, fsync on), so the price of a
 * database as a dtc participant shows next to the file-backed services.
 * Participant k charges table acct<k> (our own integer in the name), one
 * account a<t> per coordinator thread as the payment service's seeds, so
 * transactions never conflict; its statement is "charge" with --rows
 * charge=1, so the payloads stay services.c's "charge a<t> 1".  The
 * cluster starts with the first services-pg cell and stops at the end of
 * the run.  Built without libpq the mode is reported as skipped.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#ifndef DTC_BENCH_HAVE_LIBPQ

int bench_svcpg_ready(int max_coords, char *why, size_t whysize)
{
    (void)max_coords;
    snprintf(why, whysize, "built without libpq");
    return -1;
}

void bench_svcpg_command(struct bench_svc_argv *a, const char *bin_dir, const char *instance,
                         int k, int max_coords, char name[32])
{
    (void)a;
    (void)bin_dir;
    (void)instance;
    (void)max_coords;
    snprintf(name, 32, "bs%d-pg", k);
}

void bench_svcpg_stop(void)
{
}

#else /* DTC_BENCH_HAVE_LIBPQ */

#include <libpq-fe.h>

static struct bench_pgc cluster;
static int state; /* 0 not started, 1 running, -1 failed (why kept) */
static char failed_why[512];

static void conninfo(char *buf, size_t size)
{
    snprintf(buf, size, "host=%s port=%d user=dtcbench dbname=postgres", cluster.dir,
             cluster.port);
}

/* The tables acct<k> of every payment participant a run can have. */
static int create_tables(int max_coords, char *why, size_t whysize)
{
    char ci[400], sql[256];
    conninfo(ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    int ok = PQstatus(c) == CONNECTION_OK;
    for (int k = 1; ok && k < BENCH_MAX_PARTS; k += 4) {
        snprintf(sql, sizeof sql,
                 "CREATE TABLE acct%d (id text PRIMARY KEY, bal bigint NOT NULL);"
                 "INSERT INTO acct%d SELECT 'a' || g, 1000000000000"
                 " FROM generate_series(0, %d) g",
                 k, k, max_coords - 1);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok)
        snprintf(why, whysize, "creating the tables: %.200s", PQerrorMessage(c));
    PQfinish(c);
    return ok ? 0 : -1;
}

int bench_svcpg_ready(int max_coords, char *why, size_t whysize)
{
    if (state == 0) {
        state = bench_pgc_init(&cluster, failed_why, sizeof failed_why) == 0
                        && bench_pgc_start(&cluster, 1, max_coords, failed_why,
                                           sizeof failed_why) == 0
                        && create_tables(max_coords, failed_why, sizeof failed_why) == 0
                    ? 1 : -1;
        if (state < 0)
            bench_pgc_destroy(&cluster);
    }
    if (state < 0)
        snprintf(why, whysize, "postgresql not available: %s", failed_why);
    return state > 0 ? 0 : -1;
}

/* Appends s to a's buffer and argv. */
static void add(struct bench_svc_argv *a, int *argc, size_t *used, const char *s)
{
    size_t len = strlen(s) + 1;
    if (*used + len > sizeof a->buf || *argc + 2 > (int)(sizeof a->argv / sizeof a->argv[0]))
        return;
    memcpy(a->buf + *used, s, len);
    a->argv[(*argc)++] = a->buf + *used;
    a->argv[*argc] = NULL;
    *used += len;
}

void bench_svcpg_command(struct bench_svc_argv *a, const char *bin_dir, const char *instance,
                         int k, int max_coords, char name[32])
{
    char path[4200], ci[400], stmt[160], pool[16];
    int argc = 0;
    size_t used = 0;
    snprintf(name, 32, "bs%d-pg", k);
    snprintf(path, sizeof path, "%s/dtc-pg", bin_dir);
    conninfo(ci, sizeof ci);
    snprintf(stmt, sizeof stmt,
             "charge=UPDATE acct%d SET bal = bal - $2::bigint WHERE id = $1 AND bal >= $2::bigint",
             k);
    /* one connection per coordinator, as pg's driver has three (a full
     * pool is a no vote); pg_cluster.c allows 3 * max_coords + 10 */
    snprintf(pool, sizeof pool, "%d", max_coords < 64 ? max_coords : 64);
    const char *const args[] = {path,         "--instance", instance, "--name", name,
                                "--conninfo", ci,           "--statement", stmt, "--rows",
                                "charge=1",   "--pool",     pool,     NULL};
    for (int i = 0; args[i] != NULL; i++)
        add(a, &argc, &used, args[i]);
}

void bench_svcpg_stop(void)
{
    if (state > 0)
        bench_pgc_destroy(&cluster);
    state = 0;
}

#endif
