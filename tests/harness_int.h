/*
 * harness_int.h - what the harness_*.c files share (not for tests: they
 * use harness.h): the process table of harness.c and the handle and
 * counters the starts use.
 */
#ifndef DTC_TEST_HARNESS_INT_H
#define DTC_TEST_HARNESS_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "dtc/dtc.h"

#ifndef DTC_BIN_DIR
#error "DTC_BIN_DIR must be defined by the build"
#endif

#define H_MAX_ARGS 64

extern dtc_instance *h__inst;   /* h_inst(): opened by h_start_dtcd */
extern pid_t h__dtcd_pid;       /* h_dtcd_pid() */
extern unsigned h__run_counter; /* numbers the labels of runs and starts */

/* The process table (harness.c): record a started process (with its
 * /proc start time), forget a reaped one, whether pid is one of ours. */
void h__record(pid_t pid, int is_dtcd);
void h__forget(pid_t pid);
int h__ours(pid_t pid);

/* Starts a participant (harness_dtcd.c) and waits until it is registered
 * under name and printed its "ready" line.  The pid or -1. */
pid_t h__start_and_wait(const char *label, const char *prog, const char *name,
                        const char **argv, const char *const env[]);

/* A NULL-terminated argument list from first and ap into argv (cap
 * entries including the NULL).  Returns how many. */
size_t h__collect(const char *first, va_list ap, const char **argv, size_t cap);

/* Bad log lines (not strict logfmt) in the *.err files of dir, each
 * printed on stderr (harness_logs.c). */
int h__lint_logs(const char *dir);

#endif /* DTC_TEST_HARNESS_INT_H */
