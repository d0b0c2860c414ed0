/*
 * version_opt.h - the options every dtc program takes, --version and
 * --log-level: one helper each, called from each program's option parsing.
 */
#ifndef DTC_VERSION_OPT_H
#define DTC_VERSION_OPT_H

/* Prints "NAME (dtc) X.Y.Z" on stdout, NAME being argv0's last path
 * component, X.Y.Z dtc_version().  Returns the exit code: 0, or 1 if
 * stdout could not be written. */
int dtc__version_print(const char *argv0);

/* --log-level LEVEL: sets the log level (call it after dtc_log_init,
 * which would reset it).  0, or -1 after saying on stderr what a level
 * may be. */
int dtc__log_level_opt(const char *argv0, const char *level);

#endif
