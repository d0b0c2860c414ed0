/*
 * main.c - dtc-noop, a participant that keeps no data: it
 * answers every request at once with a configurable vote.  Used by tests
 * (limits, crashes, condvar hazards) and by the benchmark as the pure
 * cost of coordination.
 *   dtc-noop --instance I --name N [--vote yes|no|error|readonly] [--delay-ms N]
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
 * Every value is checked: a bad one is one line on stderr, exit 2.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtc/dtc.h"
#include "cli_opt.h"
#include "part_opts.h"
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
    if (vote == DTC_VOTE_NO || vote == DTC_VOTE_ERROR)
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

#define NOOP_STR_(x) #x
#define NOOP_STR(x) NOOP_STR_(x)
static const char noop_usage[] =
    "usage: dtc-noop [--instance I] [--name N] [--vote yes|no|error|readonly] [--delay-ms N]\n"
    "                [--fail-commit N] [--fail-rollback N] [--journal BYTES]\n"
    "                [--journal-checkpoint N] [--log-file PATH] [--log-level LEVEL]\n"
    "                [--help] [--version]\n"
    "A participant that keeps no data and answers every request at once.\n"
    "  --instance NAME      dtc instance (default $DTC_INSTANCE or \"default\")\n"
    "  --name NAME          participant name (default \"noop\")\n"
    "  --vote yes|no|error|readonly\n"
    "                       its prepare vote (default yes; readonly: it changes\n"
    "                       nothing, keeps no journal record, gets no commit)\n"
    "  --delay-ms N         sleep N ms (0.." NOOP_STR(DTC_TIMEOUT_MAX_MS) ") in every prepare\n"
    "  --fail-commit N      fail the first N commits (0..1000000)\n"
    "  --fail-rollback N    fail the first N rollbacks (0..1000000)\n"
    "  --journal BYTES      journal a prepare record of BYTES (0.." NOOP_STR(DTC_JOURNAL_REC_MAX) ") bytes\n"
    "                       in the instance's decision log (docs/journal.md),\n"
    "                       a commit or rollback record, and replay at start\n"
    "  --journal-checkpoint N  checkpoint after every N of those (0: never)\n"
    "  --log-file PATH      append log lines there (default stderr); SIGHUP\n"
    "                       reopens it (after a rotation)\n"
    "  --log-level LEVEL    error, warn (default), info or debug\n"
    "  --help               this text\n"
    "  --version            print the version and exit\n";

/* One option's value; 0, or -1 after one line saying what is wrong. */
static int noop_opt(int c, const char *arg)
{
    uint64_t v = 0;
    int rc = 0;
    switch (c) {
    case 'v':
        if (strcmp(arg, "yes") == 0 || strcmp(arg, "no") == 0 || strcmp(arg, "error") == 0
            || strcmp(arg, "readonly") == 0) {
            vote = arg[0] == 'y' ? DTC_VOTE_YES : arg[0] == 'n' ? DTC_VOTE_NO
                   : arg[0] == 'e' ? DTC_VOTE_ERROR : DTC_VOTE_READONLY;
            return 0;
        }
        fprintf(stderr, "dtc-noop: --vote: '%s': want yes, no, error or readonly\n", arg);
        return -1;
    case 'd': rc = dtc__opt_uint("dtc-noop", "--delay-ms", arg, 0, DTC_TIMEOUT_MAX_MS, NULL, &v);
              delay_ms = (long)v; return rc;
    case 'f': rc = dtc__opt_uint("dtc-noop", "--fail-commit", arg, 0, 1000000, NULL, &v);
              fail_commits = (long)v; return rc;
    case 'r': rc = dtc__opt_uint("dtc-noop", "--fail-rollback", arg, 0, 1000000, NULL, &v);
              fail_rollbacks = (long)v; return rc;
    case 'j': rc = dtc__opt_uint("dtc-noop", "--journal", arg, 0, DTC_JOURNAL_REC_MAX, NULL, &v);
              journal_bytes = (long)v; return rc;
    case 'c': rc = dtc__opt_uint("dtc-noop", "--journal-checkpoint", arg, 0, 1000000000, NULL,
                                 &v);
              journal_ckpt = (long)v; return rc;
    default: return -1;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        PART_LONGOPTS,
        {"vote", required_argument, 0, 'v'},     {"delay-ms", required_argument, 0, 'd'},
        {"fail-commit", required_argument, 0, 'f'},
        {"fail-rollback", required_argument, 0, 'r'}, {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},
        {"journal", required_argument, 0, 'j'}, {"journal-checkpoint", required_argument, 0, 'c'},
        {0, 0, 0, 0}};
    struct part_opts po = {NULL, "noop"};
    char inst[DTC_INSTANCE_MAX];
    int c, taken;
    dtc_log_init(DTC_LOG_WARN);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((taken = part_opt(argv[0], c, optarg, &po)) != 0) {
            if (taken < 0)
                return 2;
            continue;
        }
        switch (c) {
        case 'h': fputs(noop_usage, stdout); return fflush(stdout) == 0 ? 0 : 1;
        case 'V': return dtc__version_print(argv[0]);
        case '?': fputs("Try 'dtc-noop --help'.\n", stderr); return 2;
        default:
            if (noop_opt(c, optarg) != 0)
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dtc-noop: unexpected argument '%s' (try --help)\n", argv[optind]);
        return 2;
    }
    if (dtc__opt_instance("dtc-noop", po.instance, inst) != 0)
        return 2;
    const char *name = po.name;
    part_catch_signals(); /* SIGTERM/SIGINT stop it, SIGHUP does not, SIGPIPE ignored */
    dtc_instance *in = NULL;
    dtc_participant *p = NULL;
    dtc_result rc = dtc_open(inst, &in);
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
    part_ready(name);
    dtc_participant_ops ops = {NULL, prepare, commit, rollback, NULL, NULL};
    rc = dtc_participant_serve(p, &ops, &part_stop);
    dtc_participant_unregister(&p);
    dtc_close(&in);
    return rc == DTC_OK ? 0 : 1;
}
