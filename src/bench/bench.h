/*
 * bench.h - internal interface of dtc-bench, the 2PC benchmark.
 *
 * One "cell" is one (mode, N participants, C coordinator threads) run.
 * driver.c runs C threads calling a transaction function for a duration
 * or a count; floor.c and dtc_cell.c provide the transaction functions
 * (the bare mutex+condvar floor, and real libdtc transactions);
 * procs.c starts and stops child processes (dtcd, participants);
 * usage.c measures CPU time and context switches of us and our children;
 * stats.c turns latency samples into percentiles; report.c prints the
 * table, the JSON or the Markdown grid, and the progress on stderr;
 * grid.c runs the whole grid; options.c parses argv.
 * The PostgreSQL peer (modes pg, pg-nofsync): the kit's pg_cluster.c
 * (src/kit/) runs a throwaway cluster (initdb, pg_ctl), pg.c its libpq
 * clients and their two-phase transaction.  Processes are started and
 * stopped with the kit's spawn.h (procs.c wraps it with our messages).
 */
#ifndef DTC_BENCH_H
#define DTC_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pg_cluster.h"
#include "spawn.h"

#define BENCH_MAX_LIST 16     /* values in --participants / --coordinators */
#define BENCH_MAX_PARTS 32    /* N limit (dtc's DTC_LIMIT_MAX_PARTS_PER_TXN) */
#define BENCH_MAX_COORDS 1000 /* C limit (dtcd --max-txns stays <= 1024) */
#define BENCH_MAX_CHILDREN 64 /* processes started at once */
/* --mode all: everything but the floor-enlist diagnostic. */
#define BENCH_MODES_ALL                                                    \
    (1u << MODE_FLOOR | 1u << MODE_FLOOR_WAKE | 1u << MODE_NOOP | 1u << MODE_SERVICES      \
     | 1u << MODE_SERVICES_NOFSYNC | 1u << MODE_PG | 1u << MODE_PG_NOFSYNC               \
     | 1u << MODE_NOOP_NOLOG | 1u << MODE_NOOP_JOURNAL | 1u << MODE_SERVICES_OWNFSYNC)
/* The prepare record dtc-noop journals in noop-journal, and how often it
 * checkpoints (commit records). */
#define BENCH_JOURNAL_BYTES "128"
#define BENCH_JOURNAL_CKPT "1000"

enum bench_mode {
    MODE_FLOOR = 0,       /* bare mutex+condvar exchange, no dtc */
    MODE_NOOP,            /* dtc with dtc-noop participants */
    MODE_SERVICES,        /* dtc with the four services, fsync on */
    MODE_SERVICES_NOFSYNC,/* same with --no-fsync */
    MODE_FLOOR_ENLIST,    /* the floor plus dtc's ENLIST message to each */
    MODE_FLOOR_WAKE,      /* the floor with dtc's wake-up scheme */
    MODE_PG,              /* PostgreSQL 2PC over BENCH_PG_DBS databases, fsync on */
    MODE_PG_NOFSYNC,      /* same with fsync=off, synchronous_commit=off */
    MODE_NOOP_NOLOG,      /* noop against a dtcd without its decision log */
    MODE_SERVICES_PG,     /* services with dtc-pg as payment (svc_pg.c) */
    MODE_NOOP_JOURNAL,    /* noop journaling a prepare record (dtc-noop --journal) */
    MODE_SERVICES_OWNFSYNC, /* services syncing their own state files (--own-fsync) */
    MODE_COUNT
};

const char *bench_mode_name(int mode);

enum bench_format {
    BENCH_FMT_TEXT = 0,   /* the table, row by row */
    BENCH_FMT_JSON,       /* one JSON object */
    BENCH_FMT_MARKDOWN    /* the table in a code block, then the N x C grid */
};

struct bench_opts {
    int nparts[BENCH_MAX_LIST], nnparts;
    int ncoords[BENCH_MAX_LIST], nncoords;
    double seconds;        /* per cell, if txns == 0 */
    long txns;             /* per cell in total, 0: use seconds */
    int repeat;            /* runs per cell; the median by throughput is shown */
    unsigned modes;        /* bit per enum bench_mode */
    int format;            /* enum bench_format; --json is --format json */
    const char *log_level; /* --log-level, NULL: warn ($DTC_LOG) */
    int quick;             /* short cells (the ctest) */
    const char *bin_dir;   /* where dtcd, dtc-noop and services live */
    int argc;              /* the command line, shown by --format markdown */
    char **argv;
};

/* options.c: 0; 1 after --help; 2 after a usage error. */
int bench_parse_options(int argc, char **argv, struct bench_opts *o);

/* ---- clock and stats (stats.c) ---------------------------------------- */

int64_t bench_now_ns(void); /* CLOCK_MONOTONIC */

/* A growable array of latency samples (ns), one per coordinator thread. */
struct bench_samples {
    int64_t *v;
    size_t n, cap;
};

int bench_samples_add(struct bench_samples *s, int64_t ns);
void bench_samples_free(struct bench_samples *s);

struct bench_latency {
    double p50_us, p90_us, p99_us, p999_us, max_us;
};

/* Merges the arrays (consumed) and fills the percentiles. */
void bench_latency_of(struct bench_samples *per_thread, int n, struct bench_latency *out);

/* ---- CPU time and context switches (usage.c) -------------------------- */

struct bench_usage {
    double cpu_s;      /* user + system seconds */
    uint64_t ctxsw;    /* voluntary + involuntary */
};

/* Sample of this process (all threads) plus the listed children. */
void bench_usage_sample(const pid_t *pids, int npids, struct bench_usage *out);

/* ---- one cell (driver.c) ---------------------------------------------- */

/* One transaction by coordinator thread `thread` (its seq-th).  Returns 0
 * when committed, else a non-zero code naming the failure (err_name). */
typedef int (*bench_txn_fn)(void *ctx, int thread, uint64_t seq);
typedef const char *(*bench_err_fn)(int code);

struct bench_cell {
    int mode, nparts, ncoords, run;
    uint64_t txns, failures;
    char first_error[64];
    double elapsed_s, tps;
    struct bench_latency lat;
    double cpu_us_per_txn, ctxsw_per_txn;
    double floor_ratio;    /* tps / floor tps of the same (N, C); 0 if none */
    double commits_per_sync; /* dtc modes with a decision log: commits per
                                fdatasync of the log (group commit), 0 if none */
    double tps_min, tps_max; /* over the repeats */
    /* Syncs per order, measured: the decision log's syncs plus every
     * participant's own (dtc_participant_info.syncs) during the run, over
     * the transactions committed.  Known (syncs_known 1) for the floor
     * (0: no storage) and the dtc modes but services-pg, whose dtc-pg
     * syncs are PostgreSQL's; never for pg (not counted). */
    double syncs_per_txn;
    int syncs_known;
};

struct bench_target {
    bench_txn_fn txn;
    bench_err_fn err_name;
    void *ctx;
    const pid_t *pids;     /* children whose CPU counts */
    int npids;
};

/* Runs C threads for o->seconds (or o->txns in total); fills *cell. */
int bench_run_cell(const struct bench_opts *o, const struct bench_target *t,
                   struct bench_cell *cell);

/* rounds.c: the syncs an order of `mode` at N = nparts waits for one
 * after another, by the mode's design (its table says why); -1 for an
 * unknown mode. */
int bench_sync_rounds(int mode, int nparts);

/* ---- child processes (procs.c) ---------------------------------------- */

struct bench_child {
    pid_t pid;
    int out_fd;            /* its stdout (kept open until it stops) */
    char name[64];
};

/* Starts argv[0] (a path) with stdout to a pipe and stderr to err_path,
 * waits up to timeout_ms for a line starting with "ready".  0 or -1. */
int bench_spawn_ready(char *const argv[], const char *err_path, int timeout_ms,
                      struct bench_child *out);
/* SIGTERM, waits up to timeout_ms, then SIGKILL and reaps.  Returns the
 * exit status as from waitpid, or -1 if it had to be killed. */
int bench_stop(struct bench_child *c, int timeout_ms);

/* ---- the floor (floor.c) ---------------------------------------------- */

struct bench_floor;
/* Maps the floor's segment and forks n participant processes; with wake,
 * they use dtc's wake-up scheme (SCHED_BATCH, signal after unlock). */
int bench_floor_start(int nparts, int max_coords, int wake, struct bench_floor **out);
/* The floor's transaction; with enlist, each participant first gets an
 * ENLIST message it records without answering, as dtc_enlist does. */
void bench_floor_target(struct bench_floor *f, int enlist, struct bench_target *t);
void bench_floor_stop(struct bench_floor **f);

/* ---- dtc (dtc_cell.c, services.c) ------------------------------------- */

struct bench_dtc;
/* Starts dtcd on instance "bench-<pid>" (limits from the grid). */
/* no_log: dtcd --no-decision-log (the log's cost, mode noop-nolog). */
int bench_dtc_start(const struct bench_opts *o, int no_log, struct bench_dtc **out);
/* dtcd's committed counter and decision log syncs (-1 if unknown). */
long long bench_dtc_syncs(struct bench_dtc *d);
/* Starts n participants of `mode` (noop or services) for up to max_coords
 * coordinators; stops the previous set. */
int bench_dtc_participants(struct bench_dtc *d, int mode, int nparts, int max_coords);
void bench_dtc_target(struct bench_dtc *d, struct bench_target *t);
void bench_dtc_stop(struct bench_dtc **d);
/* The participants' own syncs (dtc_list_participants' syncs, summed), or -1. */
long long bench_dtc_part_syncs(struct bench_dtc *d);
/* dtcd's committed counter (dtc_get_status), or -1. */
long long bench_dtc_committed(struct bench_dtc *d);

/* services.c: argv and payloads of the services. */
struct bench_svc_argv {
    char *argv[16 + 2 * BENCH_MAX_COORDS];
    char buf[64 * (16 + 2 * BENCH_MAX_COORDS)];
};
/* How a service keeps its state: on the instance journal (the default),
 * without any fsync, or syncing its own state file. */
enum bench_svc_sync { BENCH_SVC_JOURNAL, BENCH_SVC_NOFSYNC, BENCH_SVC_OWNFSYNC };
/* Builds the command of participant k (0-based) of a services run. */
void bench_svc_command(struct bench_svc_argv *a, const char *bin_dir, const char *instance,
                       const char *data_dir, int k, enum bench_svc_sync sync, int max_coords,
                       char name[32]);
/* Payload of participant k for coordinator `thread`, transaction seq of
 * the cell numbered epoch.  Returns its length (snprintf). */
int bench_svc_payload_epoch(char *buf, size_t size, int k, int thread, uint64_t seq,
                            unsigned epoch);

/* ---- services-pg (svc_pg.c) ----------------------------------------------- */

/* Starts the cluster of services-pg once (0), or -1 with why. */
int bench_svcpg_ready(int max_coords, char *why, size_t whysize);
/* The command of payment participant k (dtc-pg), named bs<k>-pg. */
void bench_svcpg_command(struct bench_svc_argv *a, const char *bin_dir, const char *instance,
                         int k, int max_coords, char name[32]);
/* Stops and removes the cluster.  Safe to repeat. */
void bench_svcpg_stop(void);

/* ---- the PostgreSQL peer (pg.c; its cluster: src/kit/pg_cluster.h) ------ */

struct bench_pg;
/* The cluster for max_coords client threads (initdb).  0, or -1 with why
 * filled ("built without libpq", "no initdb ...", ...); *out is then NULL. */
int bench_pg_open(int max_coords, struct bench_pg **out, char *why, size_t whysize);
/* (Re)starts the cluster for mode (MODE_PG: fsync on; MODE_PG_NOFSYNC:
 * off), creates the databases on the first start, connects the clients.
 * 0, or -1 with why filled. */
int bench_pg_mode(struct bench_pg *p, int mode, char *why, size_t whysize);
void bench_pg_target(struct bench_pg *p, struct bench_target *t);
/* Disconnects, stops the cluster, removes its directory. */
void bench_pg_close(struct bench_pg **p);

/* ---- output (report.c) ------------------------------------------------- */

/* A throughput ratio of two modes at the same C (services/pg). */
struct bench_ratio {
    int num_mode, den_mode;
    int nparts, ncoords;   /* the numerator's N; C */
    double num_tps, den_tps;
};

void bench_report_header(const struct bench_opts *o);
void bench_report_row(const struct bench_opts *o, const struct bench_cell *c);
/* A mode that could not run: one line in the table, an entry of
 * "skipped" in the JSON. */
void bench_report_skip(const struct bench_opts *o, int mode, int nparts, const char *why);
void bench_report_footer(const struct bench_opts *o, int rows, const struct bench_ratio *r,
                         int nr);
/* Progress on stderr, whatever the format: a line before run c->run of
 * cell k of total, an update each second once it has run 2 s (in place
 * on a terminal, dots otherwise), its throughput when it ends (rc: the
 * bench_run_cell result). */
void bench_progress_begin(const struct bench_opts *o, int k, int total,
                          const struct bench_cell *c);
void bench_progress_end(const struct bench_cell *c, int rc);

/* grid.c: runs everything; the exit code. */
int bench_run(const struct bench_opts *o);

#endif /* DTC_BENCH_H */
