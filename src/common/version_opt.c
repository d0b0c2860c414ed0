/*
 * version_opt.c - a program's --version line and its --log-level
 * (version_opt.h).
 */
#include "version_opt.h"

#include "cli_opt.h"

#include <stdio.h>
#include <string.h>

#include "dtc/dtc.h"

int dtc__log_level_opt(const char *argv0, const char *level)
{
    if (level != NULL && dtc_log_set_level(level) == DTC_OK)
        return 0;
    fprintf(stderr, "%s: --log-level: '%s': want error, warn, info or debug\n",
            dtc__prog_name(argv0), level != NULL ? level : "");
    return -1;
}

int dtc__version_print(const char *argv0)
{
    const char *name = dtc__prog_name(argv0);
    printf("%s (dtc) %s\n", name, dtc_version());
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
