/*
 * view.c - dtcctl's metrics and top commands: their help and options;
 * metrics prints the library's rendering (dtc_metrics_text, the text
 * dtc-exporter serves), top the live view (top.c) of a snapshot (snap.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dtcctl.h"
#include "view.h"

static const char metrics_help[] =
    "usage: dtcctl [--instance NAME] metrics\n"
    "\n"
    "Prints the instance in the Prometheus text exposition format (the text\n"
    "dtc-exporter serves): event counters, transactions in flight by state,\n"
    "latency histograms (dtc_phase_duration_seconds: txn, prepare, decision,\n"
    "commit) and per participant liveness, queue, answers by kind (yes, no,\n"
    "error) and last answer time; every sample labelled dtc_instance.  It\n"
    "reads the segment read-only, taking no lock.  Without a segment (dtcd\n"
    "stopped) it prints dtc_up 0 and exits 0.  For node_exporter's textfile\n"
    "collector, write it to a temporary file and rename that over DIR/dtc.prom\n"
    "when the command succeeds; when it fails, remove DIR/dtc.prom (a stale\n"
    "file would repeat the last figures).  dtc-exporter serves it over HTTP.\n";

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
    char name[DTC_INSTANCE_MAX], *text = NULL;
    size_t len = 0;
    int code = ctl_parse_list_opts(argc, argv, g, "metrics", metrics_help);
    if (code != PARSE_GO || (code = ctl_instance_name(g, name)) != PARSE_GO)
        return code;
    dtc_result rc = dtc_metrics_text(name, &text, &len);
    if (text == NULL)
        return ctl_lib_error("metrics", rc);
    fwrite(text, 1, len, stdout);
    free(text);
    /* No segment is a state (dtc_up 0), not an error: a textfile must
     * say it rather than keep the last figures.  Any other failure to
     * read it is said, and fails. */
    if (rc != DTC_OK && rc != DTC_ENOSEGMENT) {
        ctl_finish_output(EXIT_FAIL);
        return ctl_instance_error(name, rc);
    }
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
