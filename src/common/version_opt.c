/*
 * version_opt.c - prints a program's --version line (version_opt.h).
 */
#include "version_opt.h"

#include <stdio.h>
#include <string.h>

#include "dtc/dtc.h"

int dtc__version_print(const char *argv0)
{
    const char *slash = argv0 != NULL ? strrchr(argv0, '/') : NULL;
    const char *name = slash != NULL ? slash + 1 : argv0;
    if (name == NULL || name[0] == '\0')
        name = "dtc";
    printf("%s (dtc) %s\n", name, dtc_version());
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
