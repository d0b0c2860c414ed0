/*
 * part_opts.c - the options every participant program takes
 * (part_opts.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dtc/dtc.h"
#include "cli_opt.h"
#include "part_opts.h"
#include "version_opt.h"

static int bad(const char *prog, const char *what, const char *arg, const char *why)
{
    fprintf(stderr, "%s: %s '%s'%s%s (try --help)\n", dtc__prog_name(prog), what, arg,
            why[0] ? ": " : "", why);
    return -1;
}

int part_opt(const char *prog, int c, const char *arg, struct part_opts *o)
{
    switch (c) {
    case 'i':
        o->instance = arg; /* "" would silently mean $DTC_INSTANCE / default */
        return arg[0] != '\0' ? 1 : bad(prog, "--instance", arg, "the instance name is empty");
    case 'n':
        o->name = arg;
        if (dtc__opt_name(dtc__prog_name(prog), "--name", arg) != 0)
            return -1;
        return arg[0] != '.' ? 1 : bad(prog, "bad --name", arg, "must not start with '.'");
    case 'l':
        return dtc_log_to_file(arg) == DTC_OK ? 1 : bad(prog, "--log-file", arg, strerror(errno));
    case 'L':
        return dtc__log_level_opt(prog, arg) == 0 ? 1 : -1;
    default:
        return 0;
    }
}
