/*
 * main.c - dtc-exporter: a dtc instance's metrics over HTTP for
 * Prometheus (GET /metrics), the text `dtcctl metrics` prints.  It only
 * reads: the segment is attached read-only at each scrape, no lock is
 * taken, so it can neither disturb nor be held up by the instance.
 * Without a segment (dtcd stopped) a scrape says dtc_up 0.
 *
 * Runs in the foreground; SIGTERM or SIGINT stops it (exit 0).  Exit 2
 * for a bad option, 1 if it cannot listen.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "exporter.h"
#include "version_opt.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dtc-exporter [--instance NAME] [--listen ADDR:PORT]\n"
            "                    [--log-level error|warn|info|debug] [--help] [--version]\n"
            "Serves the metrics of dtc instance NAME ($DTC_INSTANCE or \"default\") for\n"
            "Prometheus at http://ADDR:PORT/metrics, in the text format `dtcctl metrics`\n"
            "prints: every sample labelled dtc_instance=\"NAME\"; dtc_up 0 while the\n"
            "instance has no segment (dtcd stopped).  Read-only: each scrape attaches\n"
            "to the segment read-only and takes no lock.\n"
            "  --listen ADDR:PORT  numeric address and port (default %s;\n"
            "                      [::1]:PORT for IPv6, PORT 0 for any free port)\n"
            "  --instance NAME     [A-Za-z0-9._-]{1,%d}\n"
            "  --log-level L       log lines on stderr (default info; as $DTC_LOG)\n"
            "Exit: 0 after SIGTERM or SIGINT, 1 if it cannot listen, 2 bad option.\n",
            EXP_DEFAULT_LISTEN, DTC_INSTANCE_MAX - 1);
}

static int bad_option(const char *msg)
{
    fprintf(stderr, "dtc-exporter: %s (dtc-exporter --help)\n", msg);
    return 2;
}

/* Options into *instance and *listen; -1 to go on, else an exit code. */
static int parse(int argc, char **argv, char instance[DTC_INSTANCE_MAX], struct exp_listen *l)
{
    static const struct option opts[] = {
        {"instance", required_argument, 0, 'i'}, {"listen", required_argument, 0, 'l'},
        {"log-level", required_argument, 0, 'L'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},         {0, 0, 0, 0}};
    const char *inst = NULL, *listen = EXP_DEFAULT_LISTEN, *level = NULL;
    char err[160];
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'i': inst = optarg; break;
        case 'l': listen = optarg; break;
        case 'L': level = optarg; break;
        case 'h': usage(stdout); return fflush(stdout) == 0 ? 0 : 1;
        case 'V': return dtc__version_print(argv[0]);
        case ':':
            snprintf(err, sizeof err, "option '%s' needs a value", argv[optind - 1]);
            return bad_option(err);
        default:
            snprintf(err, sizeof err, "unknown option '%s'", argv[optind - 1]);
            return bad_option(err);
        }
    }
    if (optind != argc) {
        snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]);
        return bad_option(err);
    }
    if (level != NULL && dtc__log_level_opt(argv[0], level) != 0)
        return 2;
    if ((inst != NULL && inst[0] == '\0') || dtc_resolve_instance(inst, instance) != DTC_OK) {
        snprintf(err, sizeof err, "--instance '%.64s': want [A-Za-z0-9._-]{1,%d}",
                 inst != NULL ? inst : getenv("DTC_INSTANCE"), DTC_INSTANCE_MAX - 1);
        return bad_option(err);
    }
    if (exp_listen_parse(listen, l, err, sizeof err) != 0)
        return bad_option(err);
    return -1;
}

int main(int argc, char **argv)
{
    static char instance[DTC_INSTANCE_MAX];
    struct exp_listen l = {0};
    dtc_log_init(DTC_LOG_INFO);
    int code = parse(argc, argv, instance, &l);
    if (code >= 0)
        return code;
    /* The stop signals are taken by sigwait below: blocked before the
     * server's thread starts, so it inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = exp_http_start(&l, instance);
    if (d == NULL) {
        dtc_log(DTC_LOG_ERROR, "listen_failed", NULL, NULL, "instance=%s listen=%s port=%u",
                instance, l.host, (unsigned)l.port);
        return 1;
    }
    unsigned port = exp_http_port(d);
    dtc_log(DTC_LOG_INFO, "start", NULL, NULL, "instance=%s listen=%s port=%u version=%s",
            instance, l.host, port, dtc_version());
    printf("ready listen=%s%s%s:%u\n", l.v6 ? "[" : "", l.host, l.v6 ? "]" : "", port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    dtc_log(DTC_LOG_INFO, "stop", NULL, NULL, "signal=%d", sig);
    exp_http_stop(d);
    return 0;
}
