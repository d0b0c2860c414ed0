/*
 * svc_opts.c - the options of every participant service (dtc-inventory,
 * dtc-payment, dtc-order, dtc-shipping): parsing and checking them, the
 * usage text and --version (--instance, --name, --log-file and
 * --log-level: part_opts.c, as for every participant program).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_int.h"
#include "cli_opt.h"
#include "part_opts.h"
#include "version_opt.h"

/* ---- options ------------------------------------------------------------- */

static void usage(const store_schema *schema, FILE *out)
{
    fprintf(out,
            "usage: dtc-%s --data-dir DIR [options]\n"
            "  --instance NAME         dtc instance (default $DTC_INSTANCE or \"default\")\n"
            "  --data-dir DIR          where NAME.state lives (created if missing); it\n"
            "                          and every directory above it must be root's or\n"
            "                          ours and writable by nobody else\n"
            "  --group                 the data directory and files may be writable by\n"
            "                          their group, if it is one of ours (dtcd --group)\n"
            "  --name NAME             participant name (default \"%s\")\n"
            "  --seed KEY=VALUE        initial record, repeatable; only without a state file\n"
            "  --fail-prepare P        vote error with probability P (0..1)\n"
            "  --fail-commit P         fail commit with probability P (0..1)\n"
            "  --delay-prepare-ms N    sleep N ms in every prepare\n"
            "  --crash-at OP           SIGKILL itself on prepare|commit|rollback\n"
            "                          ($DTC_CRASH_AT=store.after_write etc.: see store.h;\n"
            "                          only in a -DDTC_CRASH_POINTS=ON build)\n"
            "  --compact-min N         compact the state file once its log exceeds\n"
            "                          max(N, %d x snapshot lines) lines (default %d)\n"
            "  --dump                  print the state file and exit\n"
            "  --no-fsync              write the state file without fsync (benchmarks:\n"
            "                          survives a process crash, not a power cut)\n"
            "  --own-fsync             keep the log in the state file, fsynced per batch,\n"
            "                          instead of the instance journal (docs/journal.md)\n"
            "  --log-file PATH         append log lines there (default stderr);\n"
            "                          SIGHUP reopens it (after a rotation)\n"
            "  --log-level LEVEL       error, warn, info (default) or debug\n"
            "  --help                  this text\n"
            "  --version               print the version and exit\n",
            schema->ss_service, schema->ss_service, STORE_COMPACT_FACTOR,
            STORE_COMPACT_MIN_DEFAULT);
}

__attribute__((format(printf, 2, 3)))
static int bad(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try --help)\n");
    return -1;
}

static int parse_prob(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return s[0] != '\0' && *end == '\0' && errno == 0 && *out >= 0.0 && *out <= 1.0 ? 0 : -1;
}

static int parse_crash(const char *s, dtc_op *out)
{
    static const dtc_op ops[] = {DTC_OP_PREPARE, DTC_OP_COMMIT, DTC_OP_ROLLBACK};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(s, dtc_op_name(ops[i])) == 0) {
            *out = ops[i];
            return 0;
        }
    return -1;
}

/* One option of the services' own; -1 if its argument is bad. */
static int take_opt(svc *s, int c, const char *arg, const char *prog)
{
    char why[STORE_WHY_MAX];
    store_op op;
    uint64_t v = 0;
    int rc;
    switch (c) {
    case 'd': s->sv_o.data_dir = arg; return 0;
    case 's':
        if (store_parse_seed(s->sv_schema, arg, &op, why, sizeof why) != 0)
            return bad(prog, "%s", why);
        s->sv_o.seeds[s->sv_o.nseeds++] = arg;
        return 0;
    case 'P':
        return parse_prob(arg, &s->sv_o.fail_prepare) == 0
                   ? 0 : bad(prog, "bad --fail-prepare '%s': want a probability 0..1", arg);
    case 'C':
        return parse_prob(arg, &s->sv_o.fail_commit) == 0
                   ? 0 : bad(prog, "bad --fail-commit '%s': want a probability 0..1", arg);
    case 'D':
        rc = dtc__opt_uint(prog, "--delay-prepare-ms", arg, 0, DTC_TIMEOUT_MAX_MS, NULL, &v);
        s->sv_o.delay_prepare_ms = (unsigned)v;
        return rc;
    case 'K':
        return parse_crash(arg, &s->sv_o.crash_at) == 0
                   ? 0 : bad(prog, "bad --crash-at '%s': want prepare, commit or rollback", arg);
    case 'M':
        rc = dtc__opt_uint(prog, "--compact-min", arg, 1, 100000000, NULL, &v);
        s->sv_o.compact_min = (unsigned long)v;
        return rc;
    case 'u': s->sv_o.dump = 1; return 0;
    case 'F': s->sv_o.no_fsync = 1; return 0;
    case 'O': s->sv_o.own_fsync = 1; return 0;
    case 'g': s->sv_o.group = 1; return 0;
    default: return bad(prog, "%s", "bad usage");
    }
}

/* 0 ok, 1 help printed, -1 bad usage (message printed). */
int svc__parse_opts(svc *s, int argc, char **argv)
{
    static const struct option longopts[] = {
        PART_LONGOPTS,
        {"data-dir", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},
        {"fail-prepare", required_argument, NULL, 'P'},
        {"fail-commit", required_argument, NULL, 'C'},
        {"delay-prepare-ms", required_argument, NULL, 'D'},
        {"crash-at", required_argument, NULL, 'K'},
        {"compact-min", required_argument, NULL, 'M'},
        {"dump", no_argument, NULL, 'u'},
        {"no-fsync", no_argument, NULL, 'F'},
        {"own-fsync", no_argument, NULL, 'O'},
        {"group", no_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int c, taken;
    struct part_opts po = {NULL, s->sv_schema->ss_service};
    if ((s->sv_o.seeds = calloc((size_t)argc + 1, sizeof *s->sv_o.seeds)) == NULL)
        return bad(argv[0], "%s", "out of memory");
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(s->sv_schema, stdout);
            return 1;
        }
        if (c == 'V')
            return dtc__version_print(argv[0]) == 0 ? 1 : -1;
        if ((taken = part_opt(argv[0], c, optarg, &po)) != 0) {
            if (taken < 0)
                return -1;
            continue;
        }
        if (c == '?' || take_opt(s, c, optarg, argv[0]) != 0)
            return c == '?' ? bad(argv[0], "%s", "bad option") : -1;
    }
    s->sv_o.instance = po.instance;
    s->sv_o.name = po.name;
    if (optind < argc)
        return bad(argv[0], "unexpected argument '%s'", argv[optind]);
    if (s->sv_o.data_dir == NULL || s->sv_o.data_dir[0] == '\0')
        return bad(argv[0], "%s", "--data-dir is required");
    return 0;
}
