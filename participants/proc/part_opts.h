/*
 * part_opts.h - the options every participant program takes (the
 * services, dtc-noop and dtc-pg), parsed in one place: --instance,
 * --name, --log-file and --log-level.  --help, --version and the rest
 * stay each program's.
 */
#ifndef DTC_PART_OPTS_H
#define DTC_PART_OPTS_H

#include <getopt.h>

/* Their getopt_long entries, for a program's table. */
#define PART_LONGOPTS                                                                        \
    {"instance", required_argument, NULL, 'i'}, {"name", required_argument, NULL, 'n'},     \
        {"log-file", required_argument, NULL, 'l'}, {"log-level", required_argument, NULL, 'L'}

struct part_opts {
    const char *instance; /* NULL: $DTC_INSTANCE, else "default" */
    const char *name;     /* the program's default until --name */
};

/* Option c (as getopt_long returned it) with its arg: 1 if it is one of
 * PART_LONGOPTS and was taken (into o; the log file opened, the log
 * level set), 0 if it is the program's own, -1 after one line
 * "PROG: ... (try --help)" on stderr if its value is bad.  A name must
 * not start with '.' (a service's files are named after it). */
int part_opt(const char *prog, int c, const char *arg, struct part_opts *o);

#endif
