/*
 * main.c - dtcd, the supervisor daemon: a thin main over dtc_supervisor_run().
 * Runs in the foreground; SIGTERM/SIGINT stop it cleanly (exit 0).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtc/dtc.h"
#include "cli_opt.h"
#include "version_opt.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        dtc_log_reopen(); /* logrotate moved the file */
    else
        stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dtcd [--instance NAME] [--data-dir DIR] [--log-file PATH] [--group]\n"
            "            [--log-level error|warn|info|debug]\n"
            "            [--max-txns N] [--max-parts N] [--max-participants N]\n"
            "            [--tick-ms N] [--orphan-timeout-ms N] [--shutdown-grace-ms N]\n"
            "            [--dlog-file-mb N] [--dlog-files N] [--no-decision-log]\n"
            "            [--journal-max-files N]\n"
            "            [--salvage[=apply]] [--version]\n"
            "Creates the shared-memory segment of instance NAME ($DTC_INSTANCE or\n"
            "\"default\"), supervises it in the foreground, removes it on SIGTERM.\n"
            "The decision log lives in --data-dir ($DTC_DATA_DIR; default\n"
            "/var/lib/dtc/NAME for root, ~/.local/state/dtc/NAME otherwise); at\n"
            "start dtcd replays it, so commit decisions survive a reboot.\n"
            "--no-decision-log (benchmarks only) keeps decisions in memory alone.\n"
            "A damaged log makes dtcd refuse to start, changing nothing; --salvage\n"
            "(with no dtcd running) then reports the damage and what a repair would\n"
            "lose, and --salvage=apply repairs it, keeping a copy of each file.\n"
            "Limits: max-txns 1..%d, max-parts 1..%d, max-participants 1..%d;\n"
            "tick-ms 1..60000, orphan-timeout-ms 1..%d, shutdown-grace-ms 0..%d,\n"
            "dlog-file-mb 1..1024, dlog-files 3..4096, journal-max-files 1..1000000.\n"
            "NAME is " DTC_NAME_RULE "{1,%d}.  The segment is created 0600 (0660 with\n"
            "--group); an existing one is taken over only if this user owns it and\n"
            "its mode is 0600 or 0660.  SIGHUP reopens --log-file (after a rotation).\n"
            "Under systemd (Type=notify) it sends READY=1 once recovery is done,\n"
            "STATUS= lines, STOPPING=1 on SIGTERM, and feeds WatchdogSec=.\n",
            DTC_LIMIT_MAX_TXNS, DTC_LIMIT_MAX_PARTS_PER_TXN, DTC_LIMIT_MAX_PARTICIPANTS,
            DTC_TIMEOUT_MAX_MS, DTC_TIMEOUT_MAX_MS, DTC_INSTANCE_MAX - 1);
}

/* The numeric options: their ranges, checked by one helper (cli_opt.h). */
static int number(int c, const char *s, dtc_supervisor_config *cfg)
{
    const struct {
        int c;
        const char *opt;
        uint32_t lo, hi, *dst;
    } nums[] = {
        {'t', "--max-txns", 1, DTC_LIMIT_MAX_TXNS, &cfg->limits.max_txns},
        {'p', "--max-parts", 1, DTC_LIMIT_MAX_PARTS_PER_TXN, &cfg->limits.max_parts_per_txn},
        {'P', "--max-participants", 1, DTC_LIMIT_MAX_PARTICIPANTS, &cfg->limits.max_participants},
        {'k', "--tick-ms", 1, 60000, &cfg->tick_ms},
        {'o', "--orphan-timeout-ms", 1, DTC_TIMEOUT_MAX_MS, &cfg->orphan_timeout_ms},
        {'s', "--shutdown-grace-ms", 0, DTC_TIMEOUT_MAX_MS, &cfg->shutdown_grace_ms},
        {'m', "--dlog-file-mb", 1, 1024, &cfg->log_file_mb},
        {'f', "--dlog-files", 3, 4096, &cfg->log_files},
        {'J', "--journal-max-files", 1, 1000000, &cfg->journal_max_files},
    };
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
        if (nums[k].c == c)
            return dtc__opt_u32("dtcd", nums[k].opt, s, nums[k].lo, nums[k].hi, NULL,
                                nums[k].dst) != 0;
    return 1;
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
        {"journal-max-files", required_argument, 0, 'J'},
        {"log-level", required_argument, 0, 'L'}, {"version", no_argument, 0, 'V'},
        {"salvage", optional_argument, 0, 'S'},
        {0, 0, 0, 0}};
    dtc_supervisor_config cfg;
    dtc_supervisor_config_default(&cfg);
    cfg.ready_fd = 1;
    const char *log_file = NULL, *log_level = NULL;
    char instance[DTC_INSTANCE_MAX];
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': cfg.instance = optarg; break;
        case 'l': log_file = optarg; break;
        case 'L': log_level = optarg; break;
        case 'g': cfg.group_access = 1; break;
        case 'd': cfg.data_dir = optarg; break;
        case 'N': cfg.no_decision_log = 1; break;
        case 'S':
            cfg.salvage = optarg == NULL ? 1 : strcmp(optarg, "apply") == 0 ? 2 : 0;
            if (cfg.salvage == 0) {
                fprintf(stderr, "dtcd: --salvage=%s: want --salvage or --salvage=apply\n", optarg);
                bad = 1;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': return dtc__version_print(argv[0]);
        case '?': /* getopt_long said which option */
            fputs("Try 'dtcd --help'.\n", stderr);
            return 2;
        default: bad = number(c, optarg, &cfg); /* one line said why */
        }
    }
    if (!bad && optind != argc) {
        fprintf(stderr, "dtcd: unexpected argument '%s' (try --help)\n", argv[optind]);
        bad = 1;
    }
    if (bad || dtc__opt_instance("dtcd", cfg.instance, instance) != 0)
        return 2;
    cfg.instance = instance;
    dtc_log_init(DTC_LOG_INFO);
    if (log_level != NULL && dtc__log_level_opt(argv[0], log_level) != 0)
        return 2;
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
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    dtc_result rc = dtc_supervisor_run(&cfg, &stop);
    if (rc != DTC_OK && cfg.salvage) {
        fprintf(stderr, "dtcd: --salvage: %s\n", rc == DTC_ELOG ? "the decision log is still "
                "damaged (see above)" : dtc_strerror(rc));
        return 1;
    }
    if (rc != DTC_OK) {
        fprintf(stderr, "dtcd: %s (%s)\n", dtc_strerror(rc), dtc_result_name(rc));
        return 1;
    }
    return 0;
}
