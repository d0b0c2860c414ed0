/*
 * version_opt.h - the --version option every dtc program takes: one
 * helper, called from each program's option parsing.
 */
#ifndef DTC_VERSION_OPT_H
#define DTC_VERSION_OPT_H

/* Prints "NAME (dtc) X.Y.Z" on stdout, NAME being argv0's last path
 * component, X.Y.Z dtc_version().  Returns the exit code: 0, or 1 if
 * stdout could not be written. */
int dtc__version_print(const char *argv0);

#endif
