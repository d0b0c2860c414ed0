/*
 * options.c - dtc-bench's command line.  Defaults: the full grid
 * (N = 1,3,10; C = 1,4,16,64,100), 2 s per cell, one run, every mode
 * (the PostgreSQL peer's fsync-off run is a mode of its own, pg-nofsync,
 * as services-nofsync is for the services).
 * --quick: 0.3 s per cell.  bin_dir: the directory of dtc-bench itself.
 * --format text (default), json (--json) or markdown.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli_opt.h"
#include "version_opt.h"

static const char *const mode_names[MODE_COUNT] = {"floor", "noop", "services",
                                                   "services-nofsync", "floor-enlist",
                                                   "floor-wake", "pg", "pg-nofsync",
                                                   "noop-nolog", "services-pg",
                                                   "noop-journal", "services-ownfsync"};

const char *bench_mode_name(int mode)
{
    return mode >= 0 && mode < MODE_COUNT ? mode_names[mode] : "?";
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dtc-bench [--participants 1,3,10] [--coordinators 1,4,16,64,100]\n"
            "                 [--seconds S | --txns K] [--repeat R] [--quick]\n"
            "                 [--format text|json|markdown] [--json (= --format json)]\n"
            "                 [--log-level error|warn|info|debug] [--version]\n"
            "                 [--mode noop|noop-nolog|noop-journal|services|\n"
            "                         services-ownfsync|services-nofsync|floor|\n"
            "                         floor-wake|pg|pg-nofsync|services-pg|all[,...]]\n"
            "                 (services-pg: services with every payment participant\n"
            "                 played by dtc-pg on a throwaway cluster; not in all)\n"
            "                 (dtc modes run with dtcd's decision log, as deployed;\n"
            "                 noop-nolog: a second dtcd with --no-decision-log, the\n"
            "                 log's cost; services-nofsync runs there too: no fsync\n"
            "                 anywhere, the peer of pg-nofsync; noop-journal:\n"
            "                 dtc-noop --journal " BENCH_JOURNAL_BYTES ", a prepare record per participant\n"
            "                 in the decision log that the COMMIT's group commit makes\n"
            "                 durable, on a third dtcd; services: the four services on\n"
            "                 the instance journal; services-ownfsync: each syncing its\n"
            "                 own state file per batch (--own-fsync); c/sync: commits per\n"
            "                 decision log fdatasync, the group commit; rounds: the syncs\n"
            "                 an order waits for one after another, by the mode's design\n"
            "                 (services 1: the COMMIT's group commit; services-ownfsync 3:\n"
            "                 prepare fsyncs, decision log, commit fsyncs; pg 2; services-pg\n"
            "                 3: dtc-pg's PREPARE, the decision log, its COMMIT PREPARED;\n"
            "                 noop and noop-journal 1; the no-fsync modes and the floor 0;\n"
            "                 at N=1 a one-phase commit saves the decision log's; syncs/tx:\n"
            "                 measured, the decision log's syncs plus every participant's\n"
            "                 own (dtcctl participants' SYNCS) over the orders committed,\n"
            "                 \"-\" where not counted: pg, services-pg, whose syncs are\n"
            "                 PostgreSQL's; in JSON sync_rounds and syncs_per_txn)\n"
            "                 (floor-wake: the floor with dtc's wake-up scheme, SCHED_BATCH\n"
            "                 participants signalled after unlock; floor-enlist: the floor\n"
            "                 plus one ENLIST message per participant, to price dtc's\n"
            "                 asynchronous enlist step; all: all but floor-enlist)\n"
            "                 (pg: PostgreSQL's own 2PC as a peer: a throwaway cluster in a\n"
            "                 temp dir, unix socket only, run as user postgres when root;\n"
            "                 3 databases (one WAL), per transaction one UPDATE in each,\n"
            "                 PREPARE TRANSACTION and COMMIT PREPARED; once per C, shown\n"
            "                 as N=3; pg-nofsync: the same cluster with fsync=off and\n"
            "                 synchronous_commit=off.  When services and pg both ran,\n"
            "                 services/pg ratios by C follow the table.  Without\n"
            "                 PostgreSQL the pg rows say why and the run goes on)\n"
            "                 (markdown: the text table in a code block, then the\n"
            "                 command, the date and load, one N x C table of txn/s per\n"
            "                 mode with the ratios to floor and floor-wake, a table of\n"
            "                 rounds and syncs per order by mode and N, and the\n"
            "                 ratio tables; scripts/plot-bench draws the JSON)\n"
            "                 [--bin-dir DIR]\n"
            "Progress goes to stderr: a line per run of a cell.\n"
            "Measures 2PC transactions/s, latency, CPU and context switches per\n"
            "transaction of dtc against the floor (bare mutex+condvar exchange).\n"
            "The floor always runs; each dtc row shows its ratio to it.  Exit code:\n"
            "0 ok, 1 a transaction failed or no row was measured, 2 bad usage.\n");
}

/* "1,3,10" into v (values 1..max); count, or -1. */
static int parse_list(const char *s, int *v, int max)
{
    int n = 0;
    char *end;
    do {
        long x = strtol(s, &end, 10);
        if (end == s || x < 1 || x > max || n == BENCH_MAX_LIST || (*end && *end != ','))
            return -1;
        v[n++] = (int)x;
        s = end + 1;
    } while (*end == ',');
    return n;
}

static int parse_modes(const char *s, unsigned *out)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    *out = 1u << MODE_FLOOR;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int m = -1;
        for (int i = 0; i < MODE_COUNT; i++)
            if (strcmp(tok, mode_names[i]) == 0)
                m = i;
        if (strcmp(tok, "all") == 0)
            *out |= BENCH_MODES_ALL;
        else if (m < 0)
            return -1;
        else
            *out |= 1u << m;
    }
    return 0;
}

static int parse_format(const char *s, int *out)
{
    static const char *const names[] = {"text", "json", "markdown"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i; /* the order of enum bench_format */
            return 0;
        }
    return -1;
}

static void defaults(struct bench_opts *o)
{
    static char dir[PATH_MAX];
    static const int np[] = {1, 3, 10}, nc[] = {1, 4, 16, 64, 100};
    memset(o, 0, sizeof *o);
    memcpy(o->nparts, np, sizeof np);
    o->nnparts = 3;
    memcpy(o->ncoords, nc, sizeof nc);
    o->nncoords = 5;
    o->seconds = 2.0;
    o->repeat = 1;
    o->modes = BENCH_MODES_ALL;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    o->bin_dir = dir[0] ? dir : ".";
}

/* One option; 0, -1 (bad) or -2 (bad, already said in one line). */
static int apply(struct bench_opts *o, int c, const char *arg)
{
    char *end = NULL;
    uint64_t v = 0;
    int rc;
    switch (c) {
    case 'p': return (o->nnparts = parse_list(arg, o->nparts, BENCH_MAX_PARTS)) > 0 ? 0 : -1;
    case 'c': return (o->nncoords = parse_list(arg, o->ncoords, BENCH_MAX_COORDS)) > 0 ? 0 : -1;
    case 's': o->seconds = strtod(arg, &end); return *end || o->seconds <= 0 || o->seconds > 3600 ? -1 : 0;
    case 't': rc = dtc__opt_uint("dtc-bench", "--txns", arg, 1, LONG_MAX, NULL, &v);
              o->txns = (long)v; return rc ? -2 : 0;
    case 'r': rc = dtc__opt_uint("dtc-bench", "--repeat", arg, 1, 50, NULL, &v);
              o->repeat = (int)v; return rc ? -2 : 0;
    case 'm': return parse_modes(arg, &o->modes);
    case 'q': o->quick = 1; o->seconds = 0.3; return 0;
    case 'j': o->format = BENCH_FMT_JSON; return 0;
    case 'f': return parse_format(arg, &o->format);
    case 'b': o->bin_dir = arg; return 0;
    default: return -1;
    }
}

int bench_parse_options(int argc, char **argv, struct bench_opts *o)
{
    static const struct option longopts[] = {
        {"participants", required_argument, 0, 'p'}, {"coordinators", required_argument, 0, 'c'},
        {"seconds", required_argument, 0, 's'},      {"txns", required_argument, 0, 't'},
        {"repeat", required_argument, 0, 'r'},       {"mode", required_argument, 0, 'm'},
        {"quick", no_argument, 0, 'q'},              {"json", no_argument, 0, 'j'},
        {"bin-dir", required_argument, 0, 'b'},      {"help", no_argument, 0, 'h'},
        {"format", required_argument, 0, 'f'},       {"version", no_argument, 0, 'V'},
        {"log-level", required_argument, 0, 'L'},    {0, 0, 0, 0}};
    int c;
    defaults(o);
    o->argc = argc;
    o->argv = argv;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == 'V')
            return dtc__version_print(argv[0]) == 0 ? 1 : 2;
        if (c == 'L') {
            o->log_level = optarg; /* applied after dtc_log_init (grid.c) */
            continue;
        }
        int rc = c == '?' ? -2 : apply(o, c, optarg);
        if (rc == -1)
            fprintf(stderr, "dtc-bench: bad value for %s: '%s' (see --help)\n",
                    argv[optind - 1], optarg);
        if (rc != 0)
            return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "dtc-bench: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return 0;
}
