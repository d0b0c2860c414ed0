/*
 * dtc_cell.c - the dtc side of the benchmark: starts dtcd on a unique
 * instance ("bench-<pid>", its decision log in the temp dir, or none for
 * noop-nolog) in a temp dir, starts the participant
 * processes of a mode (dtc-noop, or the services through services.c),
 * and provides the transaction: begin, enlist N, commit.  Stops all of it
 * (participants, then dtcd with SIGTERM, which removes the segment) and
 * removes the temp dir.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "dtc/dtc.h"

struct bench_dtc {
    const struct bench_opts *o;
    char instance[DTC_INSTANCE_MAX];
    char dir[256];
    struct bench_child dtcd;
    struct bench_child parts[BENCH_MAX_PARTS];
    char names[BENCH_MAX_PARTS][32];
    int nparts, mode, sets, no_log;
    unsigned epoch;
    dtc_instance *in;
    pid_t pids[BENCH_MAX_PARTS + 1];
};

static int list_max(const int *v, int n, int floor_value)
{
    int m = floor_value;
    for (int i = 0; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static int start_dtcd(struct bench_dtc *d)
{
    char path[4200], err[300], txns[16], parts[16];
    snprintf(path, sizeof path, "%s/dtcd", d->o->bin_dir);
    snprintf(err, sizeof err, "%s/dtcd.err", d->dir);
    snprintf(txns, sizeof txns, "%d", list_max(d->o->ncoords, d->o->nncoords, DTC_DEFAULT_MAX_TXNS));
    snprintf(parts, sizeof parts, "%d",
             list_max(d->o->nparts, d->o->nnparts, DTC_DEFAULT_MAX_PARTS_PER_TXN));
    char dlog[300];
    snprintf(dlog, sizeof dlog, "%s/dlog", d->dir);
    char *argv[] = {path, "--instance", d->instance, "--max-txns", txns,
                    "--max-parts", parts, "--data-dir", dlog,
                    d->no_log ? "--no-decision-log" : NULL, NULL};
    if (bench_spawn_ready(argv, err, 10000, &d->dtcd) != 0)
        return -1;
    dtc_result rc = dtc_open(d->instance, &d->in);
    if (rc != DTC_OK) {
        fprintf(stderr, "dtc-bench: dtc_open %s: %s\n", d->instance, dtc_strerror(rc));
        return -1;
    }
    return 0;
}

int bench_dtc_start(const struct bench_opts *o, int no_log, struct bench_dtc **out)
{
    struct bench_dtc *d = calloc(1, sizeof *d);
    const char *tmp = getenv("TMPDIR");
    if (d == NULL)
        return -1;
    d->o = o;
    d->no_log = no_log;
    *out = d;
    static int started; /* a second dtcd with the log (noop-journal) needs its own name */
    snprintf(d->instance, sizeof d->instance, "bench-%d%s%s", (int)getpid(), no_log ? "-nolog" : "",
             !no_log && started++ > 0 ? "-journal" : "");
    snprintf(d->dir, sizeof d->dir, "%s/dtc-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(d->dir) == NULL) {
        perror("dtc-bench: mkdtemp");
        d->dir[0] = '\0';
        return -1;
    }
    return start_dtcd(d);
}

static void stop_participants(struct bench_dtc *d)
{
    for (int k = 0; k < d->nparts; k++)
        bench_stop(&d->parts[k], 5000);
    d->nparts = 0;
}

static int start_one(struct bench_dtc *d, int mode, int k, int max_coords, const char *data)
{
    static struct bench_svc_argv a; /* large: not on the stack */
    char path[4200], err[400];
    if (mode == MODE_NOOP || mode == MODE_NOOP_JOURNAL) {
        bool j = mode == MODE_NOOP_JOURNAL;
        snprintf(d->names[k], sizeof d->names[k], "%s%d", j ? "bj" : "bn", k);
        snprintf(path, sizeof path, "%s/dtc-noop", d->o->bin_dir);
        char *argv[] = {path, "--instance", d->instance, "--name", d->names[k],
                        j ? "--journal" : NULL, BENCH_JOURNAL_BYTES,
                        "--journal-checkpoint", BENCH_JOURNAL_CKPT, NULL};
        snprintf(err, sizeof err, "%s/%s.err", d->dir, d->names[k]);
        return bench_spawn_ready(argv, err, 10000, &d->parts[k]);
    }
    if (mode == MODE_SERVICES_PG && k % 4 == 1)
        bench_svcpg_command(&a, d->o->bin_dir, d->instance, k, max_coords, d->names[k]);
    else
        bench_svc_command(&a, d->o->bin_dir, d->instance, data, k,
                          mode == MODE_SERVICES_NOFSYNC     ? BENCH_SVC_NOFSYNC
                          : mode == MODE_SERVICES_OWNFSYNC ? BENCH_SVC_OWNFSYNC
                                                           : BENCH_SVC_JOURNAL,
                          max_coords, d->names[k]);
    snprintf(err, sizeof err, "%s/%s.%d.err", d->dir, d->names[k], d->sets);
    return bench_spawn_ready(a.argv, err, 20000, &d->parts[k]);
}

int bench_dtc_participants(struct bench_dtc *d, int mode, int nparts, int max_coords)
{
    char data[300];
    stop_participants(d);
    d->mode = mode;
    snprintf(data, sizeof data, "%s/data%d", d->dir, ++d->sets);
    for (int k = 0; k < nparts; k++) {
        if (start_one(d, mode, k, max_coords, data) != 0)
            return -1;
        d->nparts = k + 1;
    }
    return 0;
}

static int dtc_txn(void *ctx, int thread, uint64_t seq)
{
    struct bench_dtc *d = ctx;
    char payload[DTC_PAYLOAD_MAX];
    dtc_txid id;
    dtc_result rc = dtc_begin_transaction(d->in, NULL, &id);
    for (int k = 0; rc == DTC_OK && k < d->nparts; k++) {
        int len = d->mode == MODE_NOOP || d->mode == MODE_NOOP_JOURNAL
                      ? snprintf(payload, sizeof payload, "noop")
                      : bench_svc_payload_epoch(payload, sizeof payload, k, thread, seq, d->epoch);
        rc = dtc_enlist(d->in, &id, d->names[k], payload, (size_t)len);
        if (rc != DTC_OK)
            dtc_rollback_transaction(d->in, &id, NULL);
    }
    if (rc == DTC_OK)
        rc = dtc_commit_transaction(d->in, &id, NULL);
    return (int)rc;
}

static const char *dtc_err(int code)
{
    return dtc_result_name((dtc_result)code);
}

void bench_dtc_target(struct bench_dtc *d, struct bench_target *t)
{
    d->epoch++;
    d->pids[0] = d->dtcd.pid;
    for (int k = 0; k < d->nparts; k++)
        d->pids[k + 1] = d->parts[k].pid;
    *t = (struct bench_target){dtc_txn, dtc_err, d, d->pids, d->nparts + 1};
}

long long bench_dtc_syncs(struct bench_dtc *d)
{
    dtc_status st;
    return dtc_get_status(d->in, &st) == DTC_OK && st.decision_log ? (long long)st.dlog_syncs : -1;
}

long long bench_dtc_part_syncs(struct bench_dtc *d)
{
    dtc_participant_info info[BENCH_MAX_PARTS];
    size_t n = 0;
    if (dtc_list_participants(d->in, info, BENCH_MAX_PARTS, &n) != DTC_OK || n > BENCH_MAX_PARTS)
        return -1;
    long long sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += (long long)info[k].syncs;
    return sum;
}

long long bench_dtc_committed(struct bench_dtc *d)
{
    dtc_status st;
    return dtc_get_status(d->in, &st) == DTC_OK ? (long long)st.counters.committed : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    (void)remove(path); /* best effort: keep going */
    return 0;
}

void bench_dtc_stop(struct bench_dtc **dp)
{
    struct bench_dtc *d = *dp;
    if (d == NULL)
        return;
    stop_participants(d);
    if (d->in != NULL)
        dtc_close(&d->in);
    if (d->dtcd.pid > 0 && bench_stop(&d->dtcd, 10000) != 0)
        fprintf(stderr, "dtc-bench: dtcd did not exit cleanly\n");
    if (d->dir[0] != '\0')
        nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
    *dp = NULL;
}
