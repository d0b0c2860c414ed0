/*
 * view.c - dtcctl's metrics and top commands: their help, their options,
 * and the snapshot they are made from (metrics.c) or the live view that
 * repeats it (top.c).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_opt.h"
#include "dtcctl.h"
#include "view.h"

static const char metrics_help[] =
    "usage: dtcctl [--instance NAME] metrics\n"
    "\n"
    "Prints the instance in the Prometheus text exposition format: event\n"
    "counters, transactions in flight by state, latency histograms\n"
    "(dtc_phase_duration_seconds: txn, prepare, decision, commit) and per\n"
    "participant liveness, queue, answers, errors and last answer time.\n"
    "For node_exporter's textfile collector:\n"
    "  dtcctl metrics > DIR/dtc.prom.tmp && mv DIR/dtc.prom.tmp DIR/dtc.prom\n";

static const char top_help[] =
    "usage: dtcctl [--instance NAME] top [--interval-ms N] [--frames N]\n"
    "\n"
    "A live view: throughput, latency percentiles over the last interval,\n"
    "transactions by state and the oldest in flight, participants with\n"
    "their queue, answers, errors and liveness.  On a terminal it repaints\n"
    "every --interval-ms (default 1000) until q or Ctrl-C; piped, it prints\n"
    "one frame per interval.  --frames N stops after N frames.\n";

int ctl_cmd_metrics(struct ctl_opts *g, int argc, char **argv)
{
    int code = ctl_parse_list_opts(argc, argv, g, "metrics", metrics_help);
    dtc_instance *inst = NULL;
    struct view_snap s;
    if (code != PARSE_GO || (code = ctl_open_instance(g, &inst)) != PARSE_GO)
        return code;
    dtc_result rc = view_snap_take(inst, &s);
    if (rc != DTC_OK) {
        dtc_close(&inst);
        return ctl_lib_error("metrics", rc);
    }
    view_metrics_print(stdout, &s);
    view_snap_free(&s);
    dtc_close(&inst);
    return ctl_finish_output(EXIT_DONE);
}

enum { OPT_INTERVAL = 1, OPT_FRAMES };

static int top_take(void *ctx, int c, const char *v)
{
    struct top_opts *o = ctx;
    int rc = c == OPT_INTERVAL
                 ? dtc__opt_u32("dtcctl", "--interval-ms", v, 1, DTC_TIMEOUT_MAX_MS, NULL,
                                &o->interval_ms)
                 : dtc__opt_u32("dtcctl", "--frames", v, 1, UINT32_MAX, NULL, &o->frames);
    return rc == 0 ? PARSE_GO : EXIT_FAIL;
}

int ctl_cmd_top(struct ctl_opts *g, int argc, char **argv)
{
    static const struct option own[] = {{"interval-ms", required_argument, NULL, OPT_INTERVAL},
                                        {"frames", required_argument, NULL, OPT_FRAMES},
                                        {NULL, 0, NULL, 0}};
    struct top_opts o = {1000, 0};
    const struct ctl_parse p = {g, "top", top_help, own, NULL, top_take, &o};
    int first = 0, code = ctl_getopt(argc, argv, &p, &first);
    if (code != PARSE_GO)
        return code;
    if (first < argc)
        return ctl_usage_error("top", "unexpected argument '%s'", argv[first]);
    if (g->json)
        return ctl_usage_error("top", "top has no --json (use 'dtcctl metrics' or 'status --json')");
    dtc_instance *inst = NULL;
    if ((code = ctl_open_instance(g, &inst)) != PARSE_GO)
        return code;
    code = view_top(inst, &o);
    dtc_close(&inst);
    return code == 0 ? ctl_finish_output(EXIT_DONE) : code;
}
