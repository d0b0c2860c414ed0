/*
 * fuzz_dtcctl.c - libFuzzer target: dtcctl's command line (option and
 * argument parsing of every command), linked from a copy of
 * the files of src/dtcctl built with -Dmain=dtcctl_main.
 *
 * The input split on NUL bytes is argv[1..] (at most 32 arguments).
 * dtcctl never reaches a segment: DTC_INSTANCE names an instance that
 * does not exist, and every --instance value is rewritten to that name,
 * so a command that parses runs into "no segment" and returns.  Its
 * output goes to /dev/null (stdout and stderr reassigned; libFuzzer and
 * the sanitizers keep the real stderr).  The exit code must be 0, 1 or 2.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtc/dtc.h"
#include "fuzz.h"

int dtcctl_main(int argc, char **argv);

#define MAX_ARGS 32

static char instance[DTC_INSTANCE_MAX], instance_opt[DTC_INSTANCE_MAX + 16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(instance, sizeof instance, "dtc-fuzz-none-%ld", (long)getpid());
    snprintf(instance_opt, sizeof instance_opt, "--instance=%s", instance);
    setenv("DTC_INSTANCE", instance, 1);
    unsetenv("DTC_LOG");
    stdout = fopen("/dev/null", "w");
    stderr = fopen("/dev/null", "w");
    FUZZ_CHECK(stdout != NULL && stderr != NULL);
    FUZZ_CHECK(dtc_log_to_file("/dev/null") == DTC_OK); /* libdtc's own lines */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
    int argc = 0;
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[argc++] = "dtcctl";
    for (char *p = buf; argc <= MAX_ARGS && p <= buf + size; p += strlen(p) + 1)
        argv[argc++] = p;
    if (size == 0)
        argc = 1;
    argv[argc] = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--instance=", 11) == 0)
            argv[i] = instance_opt;
        else if (strcmp(argv[i], "--instance") == 0 && i + 1 < argc)
            argv[i + 1] = instance;
    }
    int code = dtcctl_main(argc, argv);
    FUZZ_CHECK(code >= 0 && code <= 2);
    fflush(stdout);
    fflush(stderr);
    free(buf);
    return 0;
}
