/*
 * main.c - dtc-load, the stress load generator and checker (src/load/), used by
 * scripts/stress.sh:
 *   dtc-load run   --out FILE [--instance I] [--client N] [--seed S]
 *                  [--skus N] [--accounts N] [--zones N] [--txns N]
 *                  [--max-qty N] [--max-cents N] [--incarnation N]
 *   dtc-load check --state-dir D --dump-dir D --seeds FILE [--elapsed-s S]
 *                  CLIENT_FILE...
 * See src/load/load.h for the file formats.
 */
#include <stdio.h>
#include <string.h>

#include "dtc/dtc.h"
#include "load.h"
#include "version_opt.h"

static void usage(FILE *out)
{
    fputs("usage: dtc-load run --out FILE [--instance I] [--client N] [--seed S]\n"
          "                    [--skus N] [--accounts N] [--zones N] [--txns N]\n"
          "                    [--max-qty N] [--max-cents N]\n"
          "       dtc-load check --state-dir D --dump-dir D --seeds FILE [--elapsed-s S]\n"
          "                    CLIENT_FILE...\n"
          "       dtc-load --log-level error|warn|info|debug run ...\n"
          "       dtc-load --version\n",
          out);
}

int main(int argc, char **argv)
{
    const char *level = NULL;
    if (argc >= 3 && strcmp(argv[1], "--log-level") == 0) { /* before the command */
        level = argv[2];
        argv[2] = argv[0];
        argc -= 2;
        argv += 2;
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        dtc_log_init(DTC_LOG_ERROR);
        if (level != NULL && dtc__log_level_opt(argv[0], level) != 0)
            return 2;
        return load_run(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return load_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0)
        return dtc__version_print(argv[0]);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
