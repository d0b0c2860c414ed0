/*
 * options.c - dtcctl's option parsing shared by every command, its error
 * messages and exit codes, and attaching to the instance.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opt.h"
#include "dtcctl.h"
#include "version_opt.h"

/* ---- messages ------------------------------------------------------------ */

/* Prints "dtcctl: MSG" and a hint on stderr; returns EXIT_FAIL. */
int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("dtcctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dtcctl %s%s--help'.\n", cmd ? cmd : "",
            cmd ? " " : "");
    return EXIT_FAIL;
}

/* A bad option value: "dtcctl: MSG", one line; returns EXIT_FAIL. */
int ctl_value_error(const char *fmt, ...)
{
    va_list ap;
    fputs("dtcctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAIL;
}

int ctl_lib_error(const char *what, dtc_result rc)
{
    fprintf(stderr, "dtcctl: %s: %s: %s\n", what, dtc_result_name(rc),
            dtc_strerror(rc));
    return EXIT_FAIL;
}

/* Flushes stdout; a write error (full disk, closed pipe) is a failure. */
int ctl_finish_output(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "dtcctl: write error: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    return code;
}

/* ---- option parsing (getopt_long) ---------------------------------------- */

/* The options every command takes, ahead of a command's own. */
static const struct option common_opts[] = {
    {"instance", required_argument, NULL, CTL_OPT_INSTANCE},
    {"json", no_argument, NULL, CTL_OPT_JSON},
    {"log-level", required_argument, NULL, CTL_OPT_LOG_LEVEL},
    {"version", no_argument, NULL, CTL_OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
};
#define COMMON_N (sizeof common_opts / sizeof common_opts[0])
#define OWN_MAX 8

/* A common option: PARSE_GO, or an exit code (help, version, error). */
static int take_common(int c, const char *arg, struct ctl_opts *g, const char *help)
{
    switch (c) {
    case CTL_OPT_INSTANCE:
        if (arg[0] == '\0')
            return ctl_value_error("option '--instance': the instance name is empty");
        g->instance = arg;
        return PARSE_GO;
    case CTL_OPT_JSON: g->json = true; return PARSE_GO;
    case CTL_OPT_LOG_LEVEL: return dtc__log_level_opt("dtcctl", arg) == 0 ? PARSE_GO : EXIT_FAIL;
    case CTL_OPT_VERSION: return dtc__version_print("dtcctl") == 0 ? EXIT_DONE : EXIT_FAIL;
    default: /* 'h' */
        fputs(help, stdout);
        return ctl_finish_output(EXIT_DONE);
    }
}

/* What getopt_long refused ('?' unknown, ':' value missing), said once. */
static int refused(int c, char **argv, const char *cmd)
{
    const char *what = optind > 0 ? argv[optind - 1] : "";
    char shrt[3] = {'-', (char)optopt, '\0'};
    if (strncmp(what, "--", 2) != 0 && optopt > ' ' && optopt < 127)
        what = shrt; /* "-x", or a letter within "-px" */
    if (c == ':')
        return ctl_usage_error(cmd, "option '%s' needs a value", what);
    return ctl_usage_error(cmd, "unknown option '%s'", what);
}

int ctl_getopt(int argc, char **argv, const struct ctl_parse *p, int *first)
{
    struct option all[COMMON_N + OWN_MAX + 1];
    size_t n = COMMON_N;
    memcpy(all, common_opts, sizeof common_opts);
    for (size_t k = 0; p->own != NULL && p->own[k].name != NULL && k < OWN_MAX; k++)
        all[n++] = p->own[k];
    memset(&all[n], 0, sizeof all[n]);
    char shorts[16];
    /* "+": the global options stop at the command's name; ":": a missing
     * value is ':', told apart from an unknown option ('?'). */
    snprintf(shorts, sizeof shorts, "%s:h%s", p->cmd == NULL ? "+" : "",
             p->shorts != NULL ? p->shorts : "");
    int c;
    optind = 0; /* a full reset: main parsed with another optstring */
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
        int code;
        if (c == 'h' || c >= CTL_OPT_INSTANCE)
            code = take_common(c, optarg, p->g, p->help);
        else if (c != '?' && c != ':' && p->take != NULL)
            code = p->take(p->ctx, c, optarg);
        else
            return refused(c, argv, p->cmd);
        if (code != PARSE_GO)
            return code;
    }
    *first = optind;
    return PARSE_GO;
}

/* Options of status, participants, metrics: only the common ones. */
int ctl_parse_list_opts(int argc, char **argv, struct ctl_opts *g, const char *cmd,
                        const char *help)
{
    const struct ctl_parse p = {g, cmd, help, NULL, NULL, NULL, NULL};
    int first = 0, code = ctl_getopt(argc, argv, &p, &first);
    if (code != PARSE_GO)
        return code;
    if (first < argc)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[first]);
    return PARSE_GO;
}

/* ---- attaching ----------------------------------------------------------- */

int ctl_instance_name(const struct ctl_opts *g, char name[DTC_INSTANCE_MAX])
{
    if (dtc__opt_instance("dtcctl", g->instance, name) != 0)
        return EXIT_FAIL;
    return PARSE_GO;
}

int ctl_instance_error(const char *name, dtc_result rc)
{
    fprintf(stderr, "dtcctl: instance '%s': %s: %s\n", name, dtc_result_name(rc),
            dtc_strerror(rc));
    return EXIT_FAIL;
}

int ctl_open_instance(const struct ctl_opts *g, dtc_instance **out)
{
    char name[DTC_INSTANCE_MAX];
    int code = ctl_instance_name(g, name);
    if (code != PARSE_GO)
        return code;
    dtc_result rc = dtc_open(name, out);
    return rc == DTC_OK ? PARSE_GO : ctl_instance_error(name, rc);
}
