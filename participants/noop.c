/*
 * noop.c - dtc-noop, a participant that keeps no data: it
 * answers every request at once with a configurable vote.  Used by tests
 * (limits, crashes, condvar hazards) and by the benchmark as the pure
 * cost of coordination.
 *   dtc-noop --instance I --name N [--vote yes|no|error] [--delay-ms N]
 *            [--fail-commit N]   (fail the first N commits)
 *            [--fail-rollback N] (fail the first N rollbacks)
 *            [--journal BYTES]   (journal a prepare record of BYTES bytes,
 *                                 the enlist payload padded with '.', and
 *                                 an empty commit or rollback record: the
 *                                 instance journal, docs/journal.md)
 *            [--journal-checkpoint N] (checkpoint every N done records;
 *                                 it keeps nothing, so its checkpoint is
 *                                 the log's end)
 * With --journal it replays its records at start and prints each one:
 *   replay kind=prepared|committed|rolled_back txid=T outcome=O payload=P
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
static long delay_ms, fail_commits, fail_rollbacks, journal_bytes = -1, journal_ckpt;
static dtc_participant *part;

/* The journal's prepare record: the payload padded to journal_bytes. */
static dtc_vote journal_prepare(const dtc_request *rq)
{
    static char rec[DTC_JOURNAL_REC_MAX];
    size_t n = rq->payload_len < (size_t)journal_bytes ? rq->payload_len : (size_t)journal_bytes;
    memcpy(rec, rq->payload, n);
    memset(rec + n, '.', (size_t)journal_bytes - n);
    dtc_result rc = dtc_journal_prepare(part, rq, rec, (size_t)journal_bytes, NULL);
    if (rc == DTC_OK)
        return DTC_VOTE_YES;
    snprintf(rq->reason, DTC_REASON_MAX, "journal: %s", dtc_strerror(rc));
    return DTC_VOTE_ERROR;
}

/* The journal's commit or rollback record; every journal_ckpt of them a
 * checkpoint at the log's end (a noop's storage reflects every record). */
static int journal_done(const dtc_request *rq, int committed)
{
    static long done;
    uint64_t end;
    if (dtc_journal_done(part, &rq->txid, committed, NULL, 0, NULL) != DTC_OK) {
        snprintf(rq->reason, DTC_REASON_MAX, "journal record failed");
        return -1;
    }
    if (journal_ckpt > 0 && ++done % journal_ckpt == 0 && dtc_journal_end(part, &end) == DTC_OK)
        dtc_journal_checkpoint(part, end);
    return 0;
}

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
    return vote == DTC_VOTE_YES && journal_bytes >= 0 ? journal_prepare(rq) : vote;
}

static int commit(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    if (fail_commits > 0) {
        fail_commits--;
        snprintf(rq->reason, DTC_REASON_MAX, "noop injected commit failure");
        return -1;
    }
    return journal_bytes >= 0 ? journal_done(rq, 1) : 0;
}

static int rollback(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    if (fail_rollbacks > 0) {
        fail_rollbacks--;
        snprintf(rq->reason, DTC_REASON_MAX, "noop injected rollback failure");
        return -1;
    }
    return journal_bytes >= 0 ? journal_done(rq, 0) : 0;
}

static int print_record(void *ctx, const dtc_journal_record *r)
{
    static const char *const kinds[] = {"prepared", "committed", "rolled_back"};
    char id[37];
    (void)ctx;
    dtc_txid_format(&r->txid, id);
    size_t n = 0; /* the payload: up to the padding */
    while (n < r->len && ((const char *)r->rec)[n] != '.')
        n++;
    printf("replay kind=%s txid=%s outcome=%s payload=%.*s\n",
           kinds[r->kind <= DTC_JOURNAL_ROLLED_BACK ? r->kind : 0], id,
           dtc_outcome_name(r->outcome), (int)n, (const char *)r->rec);
    return 0;
}

/* Replays its records (waiting out dtcd's recovery, 30 s at most). */
static dtc_result replay(void)
{
    dtc_result rc;
    for (int i = 0; i < 300; i++) {
        rc = dtc_journal_replay(part, 0, print_record, NULL);
        if (rc != DTC_ERECOVERING && rc != DTC_ENOSUPERVISOR)
            break;
        struct timespec t = {0, 100000000};
        nanosleep(&t, NULL);
    }
    printf("replayed result=%s\n", dtc_result_name(rc));
    return rc;
}

/* A count 0..max, nothing else; -1 if bad. */
static long count(const char *opt, const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || v > max) {
        fprintf(stderr, "dtc-noop: --%s: want 0..%ld, got '%s'\n", opt, max, s);
        return -1;
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"instance", required_argument, 0, 'i'}, {"name", required_argument, 0, 'n'},
        {"vote", required_argument, 0, 'v'},     {"delay-ms", required_argument, 0, 'd'},
        {"fail-commit", required_argument, 0, 'f'},
        {"fail-rollback", required_argument, 0, 'r'}, {"version", no_argument, 0, 'V'},
        {"log-level", required_argument, 0, 'L'}, {"journal", required_argument, 0, 'j'},
        {"journal-checkpoint", required_argument, 0, 'c'},
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
        case 'j':
            if ((journal_bytes = count("journal", optarg, DTC_JOURNAL_REC_MAX)) < 0)
                return 2;
            break;
        case 'c':
            if ((journal_ckpt = count("journal-checkpoint", optarg, 1000000000L)) < 0)
                return 2;
            break;
        default:
            fprintf(stderr, "usage: dtc-noop --instance I --name N [--vote yes|no|error] "
                            "[--delay-ms N] [--fail-commit N] [--fail-rollback N]\n"
                            "                [--journal BYTES] [--journal-checkpoint N]\n"
                            "                [--log-level LEVEL] [--version]\n");
            return 2;
        }
    }
    dtc_log_init(DTC_LOG_WARN);
    if (level != NULL && dtc__log_level_opt(argv[0], level) != 0)
        return 2;
    part_catch_signals(); /* SIGTERM/SIGINT stop it, SIGHUP does not, SIGPIPE ignored */
    dtc_instance *in = NULL;
    dtc_participant *p = NULL;
    dtc_result rc = dtc_open(instance, &in);
    if (rc == DTC_OK)
        rc = dtc_participant_register(in, name, &p);
    part = p;
    if (rc == DTC_OK && journal_bytes >= 0)
        rc = replay();
    if (rc != DTC_OK) {
        fprintf(stderr, "dtc-noop: %s\n", dtc_strerror(rc));
        dtc_participant_unregister(&p);
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
