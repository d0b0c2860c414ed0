/*
 * cli_opt.c - checked option values for every dtc program (cli_opt.h):
 * one parser and one message per kind of value.
 */
#include "cli_opt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dtc__prog_name(const char *argv0)
{
    const char *slash = argv0 != NULL ? strrchr(argv0, '/') : NULL;
    const char *name = slash != NULL ? slash + 1 : argv0;
    return name == NULL || name[0] == '\0' ? "dtc" : name;
}

/* Leading decimal digits of s into *v; the rest in *end.  False if s
 * does not start with a digit or the number overflows. */
static bool digits(const char *s, uint64_t *v, const char **end)
{
    char *e;
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long long n = strtoull(s, &e, 10);
    *v = n;
    *end = e;
    return errno == 0;
}

int dtc__opt_uint(const char *prog, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                  const char *unit, uint64_t *out)
{
    uint64_t v = 0;
    const char *end = NULL;
    bool num = digits(s, &v, &end);              /* false on overflow too */
    bool clean = end != NULL && *end == '\0';    /* digits and nothing else */
    const char *why = clean ? "out of range" : "not a number";
    if (num && clean && v >= lo && v <= hi) {
        *out = v;
        return 0;
    }
    fprintf(stderr, "%s: %s: %s: '%s' (want %" PRIu64 "..%" PRIu64 "%s)\n", prog, opt, why,
            s != NULL ? s : "", lo, hi, unit != NULL ? unit : "");
    return -1;
}

int dtc__opt_u32(const char *prog, const char *opt, const char *s, uint32_t lo, uint32_t hi,
                 const char *unit, uint32_t *out)
{
    uint64_t v;
    if (dtc__opt_uint(prog, opt, s, lo, hi, unit, &v) != 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* ms as "N" followed by its largest exact unit: 0ms, 500ms, 30s, 1h. */
static void put_ms(char *buf, size_t size, uint64_t ms)
{
    const char *unit = ms != 0 && ms % 3600000 == 0 ? "h"
                       : ms != 0 && ms % 60000 == 0 ? "m"
                       : ms != 0 && ms % 1000 == 0  ? "s" : "ms";
    uint64_t div = unit[0] == 'h' ? 3600000 : unit[0] == 'm' && unit[1] == '\0' ? 60000
                   : unit[0] == 's' ? 1000 : 1;
    snprintf(buf, size, "%" PRIu64 "%s", ms / div, unit);
}

int dtc__opt_duration_ms(const char *prog, const char *opt, const char *s, uint64_t lo_ms,
                         uint64_t hi_ms, uint64_t *ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    uint64_t v = 0;
    const char *end = NULL;
    if (digits(s, &v, &end))
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
            if (strcmp(end, units[k].suffix) == 0 && v <= hi_ms / units[k].ms
                && v * units[k].ms >= lo_ms) {
                *ms = v * units[k].ms;
                return 0;
            }
    char lo[32], hi[32];
    put_ms(lo, sizeof lo, lo_ms);
    put_ms(hi, sizeof hi, hi_ms);
    fprintf(stderr, "%s: %s: bad duration '%s' (want %s..%s, with its unit: 500ms, 30s, "
            "5m or 2h)\n", prog, opt, s != NULL ? s : "", lo, hi);
    return -1;
}

int dtc__opt_instance(const char *prog, const char *opt_value, char buf[DTC_INSTANCE_MAX])
{
    if (opt_value != NULL && opt_value[0] == '\0') {
        fprintf(stderr, "%s: --instance: the instance name is empty\n", prog);
        return -1;
    }
    if (dtc_resolve_instance(opt_value, buf) == DTC_OK)
        return 0;
    if (opt_value == NULL) {
        const char *env = getenv("DTC_INSTANCE");
        fprintf(stderr, "%s: bad instance name in $DTC_INSTANCE: '%s': want " DTC_NAME_RULE
                "{1,%d}\n", prog, env != NULL ? env : "", DTC_INSTANCE_MAX - 1);
    } else {
        fprintf(stderr, "%s: bad instance name '%s': want " DTC_NAME_RULE "{1,%d}\n", prog,
                opt_value, DTC_INSTANCE_MAX - 1);
    }
    return -1;
}

int dtc__opt_name(const char *prog, const char *opt, const char *s)
{
    if (dtc_name_valid(s, DTC_NAME_MAX))
        return 0;
    fprintf(stderr, "%s: bad %s '%s': want " DTC_NAME_RULE "{1,%d}\n", prog, opt,
            s != NULL ? s : "", DTC_NAME_MAX - 1);
    return -1;
}
