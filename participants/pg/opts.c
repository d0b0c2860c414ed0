/*
 * opts.c - dtc-pg's command line: the database (--conninfo), the
 * statements a payload may name (--statement VERB=SQL) and their
 * row-count rules (--rows VERB=N), the pool size and the time limits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "cli_opt.h"
#include "version_opt.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dtc-pg --name NAME --conninfo 'host=... dbname=...'\n"
            "              --statement VERB='SQL with $1..$n' [--statement ...] [options]\n"
            "  --instance NAME        dtc instance (default $DTC_INSTANCE or \"default\")\n"
            "  --name NAME            participant name; the gids are dtc:<txid>:NAME\n"
            "  --conninfo STR         libpq connection string (host=/path is a socket dir)\n"
            "  --statement VERB=SQL   what payload \"VERB ARG...\" runs, ARGs bound as $1..$n\n"
            "  --rows VERB=N          VERB must touch exactly N rows, else it votes no\n"
            "  --pool N               connections (default 8, at most %d)\n"
            "  --op-timeout-ms N      one statement or PREPARE at most (default 4000)\n"
            "  --retries N            reconnects per commit/rollback delivery (default 4)\n"
            "  --log-file PATH        append log lines there (default stderr); SIGHUP\n"
            "                         reopens it (after a rotation)\n"
            "  --log-level LEVEL      error, warn, info (default) or debug\n"
            "  --help                 this text\n"
            "  --version              print the version and exit\n",
            PG_POOL_MAX);
}

__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dtc-pg: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try --help)\n");
    return -1;
}

/* DTC_NAME_RULE, shorter than max, no leading '.'. */
static int valid_word(const char *s, size_t max)
{
    return dtc_name_valid(s, max) && s[0] != '.';
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && *out >= lo && *out <= hi
               ? 0 : -1;
}

static pg_stmt *find_stmt(pg_opts *o, const char *verb)
{
    for (int i = 0; i < o->nstmts; i++)
        if (strcmp(o->stmts[i].st_verb, verb) == 0)
            return &o->stmts[i];
    return NULL;
}

/* Splits "VERB=REST" into verb (validated) and rest; NULL if bad. */
static const char *split(const char *arg, char verb[PG_VERB_MAX])
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= PG_VERB_MAX)
        return NULL;
    memcpy(verb, arg, (size_t)(eq - arg));
    verb[eq - arg] = '\0';
    return valid_word(verb, PG_VERB_MAX) ? eq + 1 : NULL;
}

static int take_statement(pg_opts *o, const char *arg)
{
    char verb[PG_VERB_MAX];
    const char *sql = split(arg, verb);
    if (sql == NULL || sql[0] == '\0')
        return bad("bad --statement '%s': want VERB=SQL, VERB " DTC_NAME_RULE "{1,%d}", arg,
                   PG_VERB_MAX - 1);
    if (find_stmt(o, verb) != NULL)
        return bad("--statement %s given twice", verb);
    if (o->nstmts >= PG_STMTS_MAX)
        return bad("more than %d statements", PG_STMTS_MAX);
    pg_stmt *st = &o->stmts[o->nstmts++];
    snprintf(st->st_verb, sizeof st->st_verb, "%s", verb);
    st->st_sql = sql;
    st->st_rows = -1;
    return 0;
}

/* --rows may come before or after its --statement: kept until the end. */
static int take_rows(const char *arg, const char **rows, int *nrows)
{
    char verb[PG_VERB_MAX];
    const char *n = split(arg, verb);
    long v;
    if (n == NULL || parse_long(n, 0, 1000000000L, &v) != 0)
        return bad("bad --rows '%s': want VERB=N", arg);
    rows[(*nrows)++] = arg;
    return 0;
}

static int apply_rows(pg_opts *o, const char *const *rows, int nrows)
{
    for (int i = 0; i < nrows; i++) {
        char verb[PG_VERB_MAX];
        const char *n = split(rows[i], verb);
        pg_stmt *st = find_stmt(o, verb);
        if (st == NULL)
            return bad("--rows %s: no --statement %s", verb, verb);
        parse_long(n, 0, 1000000000L, &st->st_rows);
    }
    return 0;
}

static int take_opt(pg_opts *o, int c, const char *arg, const char **rows, int *nrows)
{
    uint64_t v = 0;
    int rc;
    switch (c) {
    case 'i':
        o->instance = arg;
        return arg[0] != '\0' ? 0 : bad("%s", "--instance: the instance name is empty");
    case 'n':
        o->name = arg;
        if (dtc__opt_name("dtc-pg", "--name", arg) != 0)
            return -1;
        return arg[0] != '.' ? 0 : bad("bad --name '%s': must not start with '.'", arg);
    case 'c': o->conninfo = arg; return 0;
    case 's': return take_statement(o, arg);
    case 'r': return take_rows(arg, rows, nrows);
    case 'p':
        rc = dtc__opt_uint("dtc-pg", "--pool", arg, 1, PG_POOL_MAX, NULL, &v);
        o->pool = (int)v;
        return rc;
    case 't':
        rc = dtc__opt_uint("dtc-pg", "--op-timeout-ms", arg, 10, 600000, NULL, &v);
        o->op_timeout_ms = (int)v;
        return rc;
    case 'R':
        rc = dtc__opt_uint("dtc-pg", "--retries", arg, 0, DTC_RETRIES_MAX, NULL, &v);
        o->retries = (int)v;
        return rc;
    default: return bad("%s", "bad usage");
    }
}

int pg_parse_opts(pg_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"instance", required_argument, NULL, 'i'}, {"name", required_argument, NULL, 'n'},
        {"conninfo", required_argument, NULL, 'c'}, {"statement", required_argument, NULL, 's'},
        {"rows", required_argument, NULL, 'r'},     {"pool", required_argument, NULL, 'p'},
        {"op-timeout-ms", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'R'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {"log-file", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0}};
    const char *rows[PG_STMTS_MAX];
    int nrows = 0, c;
    memset(o, 0, sizeof *o);
    o->pool = 8;
    o->op_timeout_ms = 4000;
    o->retries = 4;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == 'V')
            return dtc__version_print(argv[0]) == 0 ? 1 : -1;
        if (c == 'L' && dtc__log_level_opt(argv[0], optarg) != 0)
            return -1;
        if (c == 'l' && dtc_log_to_file(optarg) != DTC_OK)
            return bad("--log-file '%s': cannot open it", optarg);
        if (c == 'L' || c == 'l')
            continue;
        if (c == 'r' && nrows >= PG_STMTS_MAX)
            return bad("more than %d --rows", PG_STMTS_MAX);
        if (c == '?' || take_opt(o, c, optarg, rows, &nrows) != 0)
            return c == '?' ? bad("%s", "bad option") : -1;
    }
    if (optind < argc)
        return bad("unexpected argument '%s'", argv[optind]);
    if (o->name == NULL || o->conninfo == NULL || o->nstmts == 0)
        return bad("%s", "--name, --conninfo and at least one --statement are required");
    return apply_rows(o, rows, nrows);
}
