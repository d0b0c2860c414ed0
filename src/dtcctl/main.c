/*
 * main.c - dtcctl, the operator's command line over libdtc: global
 * options and the dispatch to a command.
 *
 *   dtcctl [--instance NAME] [--json] [--log-level L] COMMAND [OPTIONS]
 *
 * status, txns and participants print snapshots of the segment (as text,
 * or as one JSON object with --json; inspect.c); run drives one
 * transaction through begin, enlist and commit and prints its outcome
 * (run.c); retry and resolve are the operator's calls for stuck and
 * HEURISTIC transactions, show how one ended (operate.c).  Everything is
 * a thin layer over the public API in dtc/dtc.h: the tool never touches
 * the segment itself.
 *
 * Exit codes: 0 success (run: committed), 1 run: aborted or heuristic
 * (retry/resolve: participants still failing), 2 usage or system error
 * (bad option, no segment, begin failed, unknown transaction).
 * Strings read from the segment are untrusted: text output replaces
 * control bytes, JSON output escapes them and replaces invalid UTF-8
 * (render.c).
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "dtcctl.h"

static const char main_help[] =
    "usage: dtcctl [--instance NAME] [--json] [--log-level L] COMMAND [OPTIONS]\n"
    "\n"
    "Inspect a dtc instance and run transactions on it.\n"
    "\n"
    "commands:\n"
    "  status         supervisor, limits, usage and counters\n"
    "  txns           in-flight transactions and their participants\n"
    "  participants   registered participant processes\n"
    "  run            run one transaction: begin, enlist, commit\n"
    "  retry TXID     retry a transaction's failed deliveries now\n"
    "  resolve TXID --commit|--rollback\n"
    "                 end a HEURISTIC transaction (operator decision)\n"
    "  show TXID      how a transaction ended (committed, aborted, heuristic)\n"
    "                 or that it is in flight, with every participant\n"
    "  metrics        counters, latency histograms and participants in the\n"
    "                 Prometheus text format\n"
    "  top            a live view, refreshed every second (q quits)\n"
    "  journal-release NAME  stop keeping the log for a journal participant\n"
    "                 that is gone for good (its unreplayed records are lost)\n"
    "\n"
    "options (also accepted after the command):\n"
    "  --instance NAME  instance to use (default: $DTC_INSTANCE, else "
    "\"default\")\n"
    "  --json           one JSON object (status, txns, participants, run, show,\n"
    "                   retry, resolve)\n"
    "  --help           this help; 'dtcctl COMMAND --help' for a command\n"
    "  --log-level L    error (default), warn, info or debug: the library's log\n"
    "                   lines on stderr (as $DTC_LOG)\n"
    "  --version        print the version and exit\n"
    "\n"
    "exit: 0 ok / committed, 1 aborted (status: not healthy), 2 usage or\n"
    "system error\n";

static const struct command {
    const char *name;
    int (*fn)(struct ctl_opts *g, int argc, char **argv);
} commands[] = {
    {"status", ctl_cmd_status},
    {"txns", ctl_cmd_txns},
    {"participants", ctl_cmd_participants},
    {"run", ctl_cmd_run},
    {"retry", ctl_cmd_retry},
    {"resolve", ctl_cmd_resolve},
    {"show", ctl_cmd_show},
    {"metrics", ctl_cmd_metrics},
    {"top", ctl_cmd_top},
    {"journal-release", ctl_cmd_journal_release},
};

int main(int argc, char **argv)
{
    struct ctl_opts g = {NULL, false};
    const struct ctl_parse p = {&g, NULL, main_help, NULL, NULL, NULL, NULL};
    int i = 1;
    /* The outcome lines say what the library's warnings would; DTC_LOG=warn
     * (or info, debug) brings them back on stderr. */
    dtc_log_init(DTC_LOG_ERROR);
    /* A closed stdout (dtcctl run | head -1) must not kill run between
     * its begin and its commit: the write fails, ctl_finish_output says so. */
    signal(SIGPIPE, SIG_IGN);
    int code = ctl_getopt(argc, argv, &p, &i);
    if (code != PARSE_GO)
        return code;
    if (i >= argc)
        return ctl_usage_error(NULL, "missing command (status, txns, "
                           "participants, run, retry, resolve, show, metrics, top, "
                           "journal-release)");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            return commands[k].fn(&g, argc - i, argv + i);
    return ctl_usage_error(NULL, "unknown command '%s'", argv[i]);
}
