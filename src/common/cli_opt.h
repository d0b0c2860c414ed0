/*
 * cli_opt.h - checked option values for every dtc program: bounded
 * integers, durations with a unit, instance and participant names.  A bad
 * value gets ONE line on stderr naming the program, the option, the value
 * and what is accepted; nothing else (no usage dump).
 */
#ifndef DTC_CLI_OPT_H
#define DTC_CLI_OPT_H

#include <stdint.h>

#include "dtc/dtc.h"

/* A program's display name: argv0's last path component ("dtc" if none). */
const char *dtc__prog_name(const char *argv0);

/* S, the value of option OPT ("--tick-ms"), as a decimal integer in
 * LO..HI: digits only (no sign, space, base prefix or suffix).  0 with
 * *out set, or -1 after one line on stderr:
 *   PROG: OPT: not a number: 'S' (want LO..HI[UNIT])
 *   PROG: OPT: out of range: 'S' (want LO..HI[UNIT])
 * UNIT (may be NULL) is printed right after the range, e.g. " ms". */
int dtc__opt_uint(const char *prog, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                  const char *unit, uint64_t *out);
/* The same into a uint32_t (hi at most UINT32_MAX). */
int dtc__opt_u32(const char *prog, const char *opt, const char *s, uint32_t lo, uint32_t hi,
                 const char *unit, uint32_t *out);

/* S as a duration with its unit: N followed by ms, s, m or h ("500ms",
 * "30s", "5m", "2h"), LO_MS..HI_MS once in milliseconds.  A bare number
 * is refused (which unit would it be?).  0 with *ms set, or -1 after one
 * line on stderr naming OPT, S and what is accepted. */
int dtc__opt_duration_ms(const char *prog, const char *opt, const char *s, uint64_t lo_ms,
                         uint64_t hi_ms, uint64_t *ms);

/* The instance name: OPT_VALUE (--instance; never empty), else
 * $DTC_INSTANCE, else "default", resolved into buf.  0, or -1 after one
 * line on stderr saying where the bad name came from and the rule
 * (DTC_NAME_RULE{1,47}). */
int dtc__opt_instance(const char *prog, const char *opt_value, char buf[DTC_INSTANCE_MAX]);

/* S as a participant name (dtc_name_valid, DTC_NAME_MAX).  0, or -1
 * after "PROG: bad OPT 'S': want DTC_NAME_RULE{1,31}" on stderr. */
int dtc__opt_name(const char *prog, const char *opt, const char *s);

#endif
