/*
 * options.c - dtcctl's option parsing shared by every command, its error
 * messages and exit codes, and attaching to the instance.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- option parsing -------------------------------------------------------- */

/* Matches "--long VALUE", "--long=VALUE" or "-s VALUE" (shrt may be NULL)
 * at argv[*i].  Returns 1 and sets *val (advancing *i past a separate
 * value), 0 if argv[*i] is another option, -1 if the value is missing. */
int ctl_opt_value(int argc, char **argv, int *i, const char *lng,
                     const char *shrt, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(lng);
    if (strncmp(a, lng, n) == 0 && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (strcmp(a, lng) != 0 && (shrt == NULL || strcmp(a, shrt) != 0))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Decimal 1..UINT32_MAX, nothing else (no sign, no spaces, no suffix). */
bool ctl_parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Options every command takes: --instance, --json (if json_ok), --help.
 * Returns 1 if consumed, 0 if not one of them, or an exit code via *code
 * (help printed or error) with return value -1. */
int ctl_common_opt(int argc, char **argv, int *i, struct ctl_opts *g,
                      const char *cmd, const char *help, int *code)
{
    const char *v;
    int m = ctl_opt_value(argc, argv, i, "--instance", NULL, &v);
    if (m < 0) {
        *code = ctl_usage_error(cmd, "option '--instance' needs a value");
        return -1;
    }
    if (m > 0 && v[0] == '\0') {
        *code = ctl_usage_error(cmd, "option '--instance': the instance name is empty");
        return -1;
    }
    if (m > 0) {
        g->instance = v;
        return 1;
    }
    if (strcmp(argv[*i], "--json") == 0) {
        g->json = true;
        return 1;
    }
    if ((m = ctl_opt_value(argc, argv, i, "--log-level", NULL, &v)) != 0) {
        if (m < 0 || dtc__log_level_opt(argv[0], v) != 0) {
            *code = EXIT_FAIL;
            return -1;
        }
        return 1;
    }
    if (strcmp(argv[*i], "--version") == 0) {
        *code = dtc__version_print(argv[0]) == 0 ? EXIT_DONE : EXIT_FAIL;
        return -1;
    }
    if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
        fputs(help, stdout);
        *code = ctl_finish_output(EXIT_DONE);
        return -1;
    }
    return 0;
}

/* Options of status, txns, participants: only the common ones. */
int ctl_parse_list_opts(int argc, char **argv, struct ctl_opts *g,
                           const char *cmd, const char *help)
{
    for (int i = 1; i < argc; i++) {
        int code = EXIT_FAIL;
        int m = ctl_common_opt(argc, argv, &i, g, cmd, help, &code);
        if (m < 0)
            return code;
        if (m == 0 && argv[i][0] == '-')
            return ctl_usage_error(cmd, "unknown option '%s'", argv[i]);
        if (m == 0)
            return ctl_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    return PARSE_GO;
}


/* ---- attaching ----------------------------------------------------------- */

int ctl_instance_name(const struct ctl_opts *g, char name[DTC_INSTANCE_MAX])
{
    dtc_result rc = dtc_resolve_instance(g->instance, name);
    if (rc != DTC_OK && g->instance == NULL)
        return ctl_usage_error(NULL, "bad instance name in $DTC_INSTANCE: '%s': want "
                           NAME_RULE "{1,%d}", getenv("DTC_INSTANCE"),
                           DTC_INSTANCE_MAX - 1);
    if (rc != DTC_OK)
        return ctl_usage_error(NULL, "bad instance name '%s': want " NAME_RULE "{1,%d}",
                           g->instance, DTC_INSTANCE_MAX - 1);
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
