/*
 * noop.c - dtc-noop, a participant that keeps no data: it
 * answers every request at once with a configurable vote.  Used by tests
 * (limits, crashes, condvar hazards) and by the benchmark as the pure
 * cost of coordination.
 *   dtc-noop --instance I --name N [--vote yes|no|error] [--delay-ms N]
 *            [--fail-commit N]   (fail the first N commits)
 *            [--fail-rollback N] (fail the first N rollbacks)
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtc/dtc.h"
#include "part_proc.h"
#include "version_opt.h"

static dtc_vote vote = DTC_VOTE_YES;
static long delay_ms, fail_commits, fail_rollbacks;

static dtc_vote prepare(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    if (delay_ms > 0) {
        struct timespec t = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
        nanosleep(&t, NULL);
    }
    if (vote != DTC_VOTE_YES)
        snprintf(rq->reason, DTC_REASON_MAX, "noop configured to vote %s",
                 vote == DTC_VOTE_NO ? "no" : "error");
    return vote;
}

static int commit(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    if (fail_commits > 0) {
        fail_commits--;
        snprintf(rq->reason, DTC_REASON_MAX, "noop injected commit failure");
        return -1;
    }
    return 0;
}

static int rollback(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    if (fail_rollbacks > 0) {
        fail_rollbacks--;
        snprintf(rq->reason, DTC_REASON_MAX, "noop injected rollback failure");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"instance", required_argument, 0, 'i'}, {"name", required_argument, 0, 'n'},
        {"vote", required_argument, 0, 'v'},     {"delay-ms", required_argument, 0, 'd'},
        {"fail-commit", required_argument, 0, 'f'},
        {"fail-rollback", required_argument, 0, 'r'}, {"version", no_argument, 0, 'V'},
        {"log-level", required_argument, 0, 'L'},
        {0, 0, 0, 0}};
    const char *instance = NULL, *name = "noop", *level = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': instance = optarg; break;
        case 'n': name = optarg; break;
        case 'v':
            vote = strcmp(optarg, "no") == 0      ? DTC_VOTE_NO
                   : strcmp(optarg, "error") == 0 ? DTC_VOTE_ERROR
                                                  : DTC_VOTE_YES;
            break;
        case 'd': delay_ms = strtol(optarg, NULL, 10); break;
        case 'f': fail_commits = strtol(optarg, NULL, 10); break;
        case 'r': fail_rollbacks = strtol(optarg, NULL, 10); break;
        case 'V': return dtc__version_print(argv[0]);
        case 'L': level = optarg; break;
        default:
            fprintf(stderr, "usage: dtc-noop --instance I --name N [--vote yes|no|error] "
                            "[--delay-ms N] [--fail-commit N] [--fail-rollback N]\n"
                            "                [--log-level LEVEL] [--version]\n");
            return 2;
        }
    }
    dtc_log_init(DTC_LOG_WARN);
    if (level != NULL && dtc__log_level_opt(argv[0], level) != 0)
        return 2;
    part_catch_signals(); /* SIGTERM/SIGINT stop it, SIGHUP does not, SIGPIPE ignored */
    dtc_instance *in = NULL;
    dtc_participant *p;
    dtc_result rc = dtc_open(instance, &in);
    if (rc == DTC_OK)
        rc = dtc_participant_register(in, name, &p);
    if (rc != DTC_OK) {
        fprintf(stderr, "dtc-noop: %s\n", dtc_strerror(rc));
        dtc_close(&in);
        return 1;
    }
    printf("ready name=%s pid=%d\n", name, (int)getpid());
    fflush(stdout);
    dtc_participant_ops ops = {NULL, prepare, commit, rollback, NULL, NULL};
    rc = dtc_participant_serve(p, &ops, &part_stop);
    dtc_participant_unregister(&p);
    dtc_close(&in);
    return rc == DTC_OK ? 0 : 1;
}
