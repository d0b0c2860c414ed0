/*
 * view.c - dtcctl's metrics and top commands: their help and options;
 * metrics prints the library's rendering (dtc_metrics_text, the text
 * dtc-exporter serves), top the live view (top.c) of a snapshot (snap.c).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_opt.h"
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
