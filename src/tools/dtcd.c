/*
 * dtcd.c - the supervisor daemon: a thin main over dtc_supervisor_run().
 * Runs in the foreground; SIGTERM/SIGINT stop it cleanly (exit 0).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtc/dtc.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dtcd [--instance NAME] [--data-dir DIR] [--log-file PATH] [--group]\n"
            "            [--max-txns N] [--max-parts N] [--max-participants N]\n"
            "            [--tick-ms N] [--orphan-timeout-ms N] [--shutdown-grace-ms N]\n"
            "            [--dlog-file-mb N] [--dlog-files N] [--no-decision-log]\n"
            "Creates the shared-memory segment of instance NAME ($DTC_INSTANCE or\n"
            "\"default\"), supervises it in the foreground, removes it on SIGTERM.\n"
            "The decision log lives in --data-dir ($DTC_DATA_DIR; default\n"
            "/var/lib/dtc/NAME for root, ~/.local/state/dtc/NAME otherwise); at\n"
            "start dtcd replays it, so commit decisions survive a reboot.\n"
            "--no-decision-log (benchmarks only) keeps decisions in memory alone.\n"
            "Limits: max-txns <= %d, max-parts <= %d, max-participants <= %d.\n",
            DTC_LIMIT_MAX_TXNS, DTC_LIMIT_MAX_PARTS_PER_TXN, DTC_LIMIT_MAX_PARTICIPANTS);
}

static int number(const char *opt, const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > 0xffffffffUL || s[0] == '-') {
        fprintf(stderr, "dtcd: %s: not a number: %s\n", opt, s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"instance", required_argument, 0, 'i'}, {"log-file", required_argument, 0, 'l'},
        {"group", no_argument, 0, 'g'},          {"max-txns", required_argument, 0, 't'},
        {"max-parts", required_argument, 0, 'p'}, {"max-participants", required_argument, 0, 'P'},
        {"tick-ms", required_argument, 0, 'k'},  {"orphan-timeout-ms", required_argument, 0, 'o'},
        {"shutdown-grace-ms", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'},
        {"data-dir", required_argument, 0, 'd'}, {"no-decision-log", no_argument, 0, 'N'},
        {"dlog-file-mb", required_argument, 0, 'm'}, {"dlog-files", required_argument, 0, 'f'},
        {0, 0, 0, 0}};
    dtc_supervisor_config cfg;
    dtc_supervisor_config_default(&cfg);
    cfg.ready_fd = 1;
    const char *log_file = NULL;
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *n = optind > 0 ? argv[optind - 1] : "";
        switch (c) {
        case 'i': cfg.instance = optarg; break;
        case 'l': log_file = optarg; break;
        case 'g': cfg.group_access = 1; break;
        case 't': bad = number(n, optarg, &cfg.limits.max_txns); break;
        case 'p': bad = number(n, optarg, &cfg.limits.max_parts_per_txn); break;
        case 'P': bad = number(n, optarg, &cfg.limits.max_participants); break;
        case 'k': bad = number(n, optarg, &cfg.tick_ms); break;
        case 'o': bad = number(n, optarg, &cfg.orphan_timeout_ms); break;
        case 's': bad = number(n, optarg, &cfg.shutdown_grace_ms); break;
        case 'd': cfg.data_dir = optarg; break;
        case 'N': cfg.no_decision_log = 1; break;
        case 'm': bad = number(n, optarg, &cfg.log_file_mb); break;
        case 'f': bad = number(n, optarg, &cfg.log_files); break;
        case 'h': usage(stdout); return 0;
        default: bad = 1;
        }
    }
    if (bad || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (dtc_segment_size(&cfg.limits) == 0) {
        fprintf(stderr, "dtcd: limits out of range\n");
        usage(stderr);
        return 2;
    }
    dtc_log_init(DTC_LOG_INFO);
    if (log_file != NULL && dtc_log_to_file(log_file) != DTC_OK) {
        fprintf(stderr, "dtcd: cannot open log file %s: %s\n", log_file, strerror(errno));
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    dtc_result rc = dtc_supervisor_run(&cfg, &stop);
    if (rc != DTC_OK) {
        fprintf(stderr, "dtcd: %s (%s)\n", dtc_strerror(rc), dtc_result_name(rc));
        return 1;
    }
    return 0;
}
