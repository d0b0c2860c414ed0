/*
 * part_proc.h - what every participant program does as a process, around
 * its serve loop (the services' svc.c, dtc-noop and dtc-pg): its signals,
 * its attaching to an instance whose dtcd may not be up yet, and its
 * ready line.
 */
#ifndef DTC_PART_PROC_H
#define DTC_PART_PROC_H

#include <signal.h>
#include <stdbool.h>

#include "dtc/dtc.h"

/* Set by SIGTERM or SIGINT: the serve loop ends. */
extern volatile sig_atomic_t part_stop;

/* SIGTERM and SIGINT set part_stop, SIGHUP reopens the log file (after a
 * rotation), SIGPIPE is ignored: a log reader that went away (dtc-x 2>&1
 * | head -1) must not kill a participant in the middle of a transaction. */
void part_catch_signals(void);

/* Attaches to instance (NULL: $DTC_INSTANCE, else "default"), waiting
 * (and saying so in the log, as participant `name`) while it has no
 * segment yet, or for a few tries while its segment reads as damaged
 * (dtcd may still be writing it).  DTC_ESHUTDOWN if part_stop was set
 * first, else what dtc_open said. */
dtc_result part_attach(const char *instance, const char *name, dtc_instance **out);

/* True when part_attach's rc means "stopped (SIGTERM, SIGINT) while
 * waiting for dtcd": a requested stop, so the program exits 0 (a unit
 * stopped before its instance came up ends "inactive", not "failed").
 * Logs the stop as participant `name`. */
bool part_stopped_waiting(dtc_result rc, const char *name);

/* Prints "ready name=NAME pid=PID" on stdout and flushes it: registered,
 * recovered, serving from now on (what the kit's dtc_kit_wait_ready and
 * scripts/lib.sh's dtc_wait_ready wait for). */
void part_ready(const char *name);

#endif
