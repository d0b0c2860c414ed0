/*
 * logfmt_lint_main.c - dtc-logfmt-lint FILE...: exit 1 if a log record
 * (a line starting with "ts=") of any FILE is not strict logfmt, each bad
 * line printed; 2 on usage or an unreadable file.  scripts/stress.sh runs
 * it over the logs of its run.
 */
#include <stdio.h>

#include "logfmt_lint.h"

int main(int argc, char **argv)
{
    long bad = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: dtc-logfmt-lint FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        long b = logfmt_lint_file(argv[i], 1);
        if (b < 0) {
            perror(argv[i]);
            return 2;
        }
        bad += b;
    }
    return bad > 0;
}
