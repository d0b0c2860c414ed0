/*
 * view.c - dtcctl's metrics and top commands: their help, their options,
 * and the snapshot they are made from (metrics.c) or the live view that
 * repeats it (top.c).
 */
#include <stdint.h>
#include <stdio.h>

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

int ctl_cmd_top(struct ctl_opts *g, int argc, char **argv)
{
    struct top_opts o = {1000, 0};
    for (int i = 1; i < argc; i++) {
        int code = EXIT_FAIL, m = ctl_common_opt(argc, argv, &i, g, "top", top_help, &code);
        const char *v = NULL;
        if (m < 0)
            return code;
        if (m > 0)
            continue;
        uint32_t *dst = NULL;
        if ((m = ctl_opt_value(argc, argv, &i, "--interval-ms", NULL, &v)) != 0)
            dst = &o.interval_ms;
        else if ((m = ctl_opt_value(argc, argv, &i, "--frames", NULL, &v)) != 0)
            dst = &o.frames;
        if (m < 0)
            return ctl_usage_error("top", "option '%s' needs a value", argv[i]);
        if (dst == NULL)
            return ctl_usage_error("top", "unknown option '%s'", argv[i]);
        if (!ctl_parse_u32(v, dst) || (dst == &o.interval_ms && o.interval_ms > TIMEOUT_MAX_MS))
            return ctl_usage_error("top", "bad value '%s': want 1..%u", v,
                               dst == &o.interval_ms ? TIMEOUT_MAX_MS : UINT32_MAX);
    }
    if (g->json)
        return ctl_usage_error("top", "top has no --json (use 'dtcctl metrics' or 'status --json')");
    dtc_instance *inst = NULL;
    int code = ctl_open_instance(g, &inst);
    if (code != PARSE_GO)
        return code;
    code = view_top(inst, &o);
    dtc_close(&inst);
    return code == 0 ? ctl_finish_output(EXIT_DONE) : code;
}
