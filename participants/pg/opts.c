/*
 * opts.c - dtc-pg's command line: the database (--conninfo, or
 * --conninfo-file: a file only we may read, checked with fspath.h; a
 * password on the command line is warned about, since every user sees
 * it in ps; libpq's ~/.pgpass and PGPASSFILE work as ever), the
 * statements a payload may name (--statement VERB=SQL) and their
 * row-count rules (--rows VERB=N), the pool size and the time limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fspath.h"
#include "pg.h"
#include "cli_opt.h"
#include "part_opts.h"
#include "version_opt.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dtc-pg --name NAME --conninfo 'host=... dbname=...'\n"
            "              --statement VERB='SQL with $1..$n' [--statement ...] [options]\n"
            "  --instance NAME        dtc instance (default $DTC_INSTANCE or \"default\")\n"
            "  --name NAME            participant name; the gids are dtc:<txid>:NAME\n"
            "  --conninfo STR         libpq connection string (host=/path is a socket dir);\n"
            "                         no password here: every user sees it in ps (use\n"
            "                         ~/.pgpass, PGPASSFILE or --conninfo-file)\n"
            "  --conninfo-file FILE   read the connection string from FILE, which must be\n"
            "                         ours, readable by nobody else (chmod 600), in a\n"
            "                         directory nobody else may write\n"
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

/* --conninfo-file: the connection string from a file that nobody else
 * may read or replace (its directory's path and the file checked). */
static int take_conninfo_file(pg_opts *o, const char *path)
{
    char dir[PATH_MAX], msg[DTC_FS_MSG_MAX];
    const char *slash = strrchr(path, '/');
    int dlen = slash == NULL ? 1 : slash == path ? 1 : (int)(slash - path);
    if (o->conninfo != NULL)
        return bad("%s", "--conninfo and --conninfo-file: give one");
    snprintf(dir, sizeof dir, "%.*s", dlen, slash == NULL ? "." : path);
    int fd = dtc__fs_dir(dir, false, 0, msg, sizeof msg) == 0
                 ? dtc__fs_open(path, O_RDONLY, 0, DTC_FS_SECRET, msg, sizeof msg) : -1;
    if (fd < 0) { /* not a usage error: no "try --help" */
        fprintf(stderr, "dtc-pg: --conninfo-file: %s\n", msg);
        return -1;
    }
    size_t n = 0;
    ssize_t r = 1;
    while (r > 0 && n < sizeof o->conninfo_buf - 1)
        if ((r = read(fd, o->conninfo_buf + n, sizeof o->conninfo_buf - 1 - n)) > 0)
            n += (size_t)r;
    char more;
    bool too_long = r > 0 && read(fd, &more, 1) == 1;
    close(fd);
    o->conninfo_buf[n] = '\0';
    if (r < 0 || too_long || strlen(o->conninfo_buf) != n)
        return bad("--conninfo-file %s: %s", path,
                   r < 0 ? strerror(errno) : too_long ? "longer than 4095 bytes" : "a NUL byte in it");
    o->conninfo = o->conninfo_buf;
    return 0;
}

/* The connection string must parse; a password in it on the command line
 * is worth one warning. */
static int check_conninfo(const pg_opts *o, int from_file)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(o->conninfo, &err);
    if (opts == NULL) {
        int rc = bad("bad %s: %.*s", from_file ? "--conninfo-file" : "--conninfo",
                     err ? (int)strcspn(err, "\n") : 13, err ? err : "out of memory");
        PQfreemem(err);
        return rc;
    }
    for (PQconninfoOption *p = opts; !from_file && p->keyword != NULL; p++)
        if (strcmp(p->keyword, "password") == 0 && p->val != NULL && p->val[0] != '\0')
            dtc_log(DTC_LOG_WARN, "start", NULL, o->name,
                    "warning=password_on_command_line hint=\"every user sees --conninfo in ps: "
                    "use ~/.pgpass, PGPASSFILE or --conninfo-file\"");
    PQconninfoFree(opts);
    return 0;
}

static int take_opt(pg_opts *o, int c, const char *arg, const char **rows, int *nrows)
{
    uint64_t v = 0;
    int rc;
    switch (c) {
    case 'c':
        if (o->conninfo != NULL)
            return bad("%s", "--conninfo and --conninfo-file: give one");
        o->conninfo = arg;
        return 0;
    case 'C': return take_conninfo_file(o, arg);
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
        PART_LONGOPTS,
        {"conninfo", required_argument, NULL, 'c'}, {"statement", required_argument, NULL, 's'},
        {"conninfo-file", required_argument, NULL, 'C'},
        {"rows", required_argument, NULL, 'r'},     {"pool", required_argument, NULL, 'p'},
        {"op-timeout-ms", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'R'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *rows[PG_STMTS_MAX];
    int nrows = 0, c, taken;
    struct part_opts po = {NULL, NULL};
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
        if ((taken = part_opt(argv[0], c, optarg, &po)) != 0) {
            if (taken < 0)
                return -1;
            continue;
        }
        if (c == 'r' && nrows >= PG_STMTS_MAX)
            return bad("more than %d --rows", PG_STMTS_MAX);
        if (c == '?' || take_opt(o, c, optarg, rows, &nrows) != 0)
            return c == '?' ? bad("%s", "bad option") : -1;
    }
    if (optind < argc)
        return bad("unexpected argument '%s'", argv[optind]);
    o->instance = po.instance;
    o->name = po.name;
    if (o->name == NULL || o->conninfo == NULL || o->nstmts == 0)
        return bad("%s", "--name, --conninfo (or --conninfo-file) and at least one --statement "
                   "are required");
    if (check_conninfo(o, o->conninfo == o->conninfo_buf) != 0)
        return -1;
    return apply_rows(o, rows, nrows);
}
