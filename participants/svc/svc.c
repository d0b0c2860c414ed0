/*
 * svc.c - the participant service framework: store, libdtc registration,
 * the serve loop with its callbacks, signals, fault injection and event
 * logging (options: svc_opts.c).  The callbacks translate between
 * dtc_request (binary txid, reason buffer) and the store (text txid); the
 * store decides, svc.c only logs and injects faults.  See svc.h.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtc/dtc.h"
#include "fspath.h"
#include "svc.h"
#include "svc_horizon.h"
#include "part_proc.h"
#include "svc_int.h"
#include "cli_opt.h"

_Static_assert(STORE_WHY_MAX == DTC_REASON_MAX, "reason buffers differ");
_Static_assert(STORE_PAYLOAD_MAX == DTC_PAYLOAD_MAX, "payload limits differ");
_Static_assert(STORE_TXID_MAX == DTC_TXID_STRLEN, "txid text lengths differ");


/* ---- callbacks ------------------------------------------------------------ */

static const char *const vote_names[] = {"yes", "no", "error"};

/* Copies the store's reason into the request's buffer. */
static void answer(const dtc_request *rq, const char *why)
{
    if (rq->reason != NULL)
        snprintf(rq->reason, DTC_REASON_MAX, "%s", why);
}

/* --crash-at: die before answering, as a real crash would. */
static void maybe_crash(const svc *s, const dtc_request *rq)
{
    if (s->sv_o.crash_at != rq->op)
        return;
    dtc_log(DTC_LOG_WARN, "fault", &rq->txid, s->sv_o.name, "crash_at=%s action=sigkill",
            dtc_op_name(rq->op));
    kill(getpid(), SIGKILL);
}

/* Fault injection with probability p; logs and fills the reason. */
static int inject(svc *s, const dtc_request *rq, double p, const char *what)
{
    if (p <= 0.0 || erand48(s->sv_rand) >= p)
        return 0;
    dtc_log(DTC_LOG_INFO, "fault", &rq->txid, s->sv_o.name, "what=%s", what);
    answer(rq, what);
    return 1;
}

/* The store's reasons may begin with a code ("code: text", dtc.h); the
 * log shows the text, the coordinator gets both.  A yes is logged at
 * debug, a no (a business answer: out of stock) at info: at the default
 * level a service writes no line per request (docs/operations.md, "Log
 * levels"). */
static dtc_vote to_vote(svc *s, const dtc_request *rq, const char *event,
                        store_vote v, const char *why)
{
    char code[DTC_REASON_CODE_MAX];
    const char *text = dtc_reason_split(why, code);
    dtc_log(v == STORE_YES ? DTC_LOG_DEBUG : DTC_LOG_INFO, event, &rq->txid, s->sv_o.name,
            "vote=%s reason=%s", vote_names[v], text);
    answer(rq, why);
    return v == STORE_YES ? DTC_VOTE_YES : v == STORE_NO ? DTC_VOTE_NO : DTC_VOTE_ERROR;
}

static dtc_vote on_enlist(void *ctx, const dtc_request *rq)
{
    svc *s = ctx;
    char id[DTC_TXID_STRLEN], why[STORE_WHY_MAX];
    dtc_txid_format(&rq->txid, id);
    store_vote v = store_enlist(s->sv_store, id, rq->payload, rq->payload_len, why);
    dtc_log(DTC_LOG_DEBUG, "enlist", &rq->txid, s->sv_o.name, "payload=%.*s",
            (int)strnlen(rq->payload, rq->payload_len), rq->payload);
    return to_vote(s, rq, "enlist", v, why);
}

static dtc_vote on_prepare(void *ctx, const dtc_request *rq)
{
    svc *s = ctx;
    char id[DTC_TXID_STRLEN], why[STORE_WHY_MAX];
    maybe_crash(s, rq);
    if (s->sv_o.delay_prepare_ms > 0) {
        struct timespec ts = {(time_t)(s->sv_o.delay_prepare_ms / 1000),
                              (long)(s->sv_o.delay_prepare_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    if (inject(s, rq, s->sv_o.fail_prepare, "injected prepare failure"))
        return DTC_VOTE_ERROR;
    dtc_txid_format(&rq->txid, id);
    s->sv_cur_rq = rq; /* the journal's prepare record (svc_journal.c) */
    store_vote v = store_prepare(s->sv_store, id, why);
    s->sv_cur_rq = NULL;
    return to_vote(s, rq, "vote", v, why);
}

static const char *const outcome_names[] = {"done", "already done", "released",
                                            "compensated", "nothing to undo"};

/* Logs a commit/rollback result and fills the reason. */
static int finish(svc *s, const dtc_request *rq, int rc, store_outcome out, const char *why)
{
    const char *event = rq->op == DTC_OP_COMMIT ? "commit" : "rollback";
    if (rc != 0) {
        char code[DTC_REASON_CODE_MAX];
        dtc_log(DTC_LOG_WARN, event, &rq->txid, s->sv_o.name, "result=failed error=%s",
                dtc_reason_split(why, code));
        answer(rq, why);
        return -1;
    }
    if (out == STORE_COMPENSATED)
        event = "compensate";
    dtc_log(out == STORE_COMPENSATED ? DTC_LOG_INFO : DTC_LOG_DEBUG, event, &rq->txid,
            s->sv_o.name, "outcome=%s", outcome_names[out]);
    return 0;
}

static int on_commit(void *ctx, const dtc_request *rq)
{
    svc *s = ctx;
    char id[DTC_TXID_STRLEN], why[STORE_WHY_MAX];
    store_outcome out = STORE_DONE;
    maybe_crash(s, rq);
    if (inject(s, rq, s->sv_o.fail_commit, "injected commit failure"))
        return -1;
    dtc_txid_format(&rq->txid, id);
    int rc = store_commit(s->sv_store, id, &out, why);
    return finish(s, rq, rc, out, why);
}

static int on_rollback(void *ctx, const dtc_request *rq)
{
    svc *s = ctx;
    char id[DTC_TXID_STRLEN], why[STORE_WHY_MAX];
    store_outcome out = STORE_DONE;
    maybe_crash(s, rq);
    dtc_txid_format(&rq->txid, id);
    int rc = store_rollback(s->sv_store, id, &out, why);
    return finish(s, rq, rc, out, why);
}

/* Tells the library the store's syncs since the last call (the
 * participant's own syncs: dtcctl participants, the metrics).  Journal
 * flushes are not among them: they are the decision log's. */
static void tell_syncs(svc *s)
{
    uint64_t n = store_syncs(s->sv_store) - s->sv_syncs_told;
    if (s->sv_part == NULL || n == 0)
        return;
    if (n > UINT_MAX)
        n = UINT_MAX;
    if (dtc_participant_count_syncs(s->sv_part, (unsigned)n) == DTC_OK)
        s->sv_syncs_told += n;
}

/* What a store call left: a failure stops this process (its memory may
 * be ahead of the disk, and a restart reloads the truth; the batch's
 * answers become errors, the library's job), a warning is logged. */
static int after_store(svc *s, int rc, const char *why)
{
    tell_syncs(s);
    if (rc != 0) {
        dtc_log(DTC_LOG_ERROR, "flush", NULL, s->sv_o.name, "error=%s action=stopping", why);
        s->sv_exit = 1;
        part_stop = 1;
    } else if (why[0] != '\0') {
        dtc_log(DTC_LOG_WARN, "compact", NULL, s->sv_o.name, "warning=%s", why);
    }
    return rc;
}

/* After every batch: one fsync (store_flush). */
static int on_flush(void *ctx)
{
    svc *s = ctx;
    char why[STORE_WHY_MAX];
    int rc = store_flush(s->sv_store, why);
    return after_store(s, rc, why);
}

/* Nothing to serve: a larger piece of a background compaction
 * (store_idle). */
static int on_idle(svc *s)
{
    char why[STORE_WHY_MAX];
    int rc = store_idle(s->sv_store, why);
    return after_store(s, rc, why);
}

/* ---- main ----------------------------------------------------------------- */

/* The data directory holds promises: nobody else may be able to replace
 * files in it, nor any directory on its path (fspath.h: the rule, and
 * the missing directories made 0700, or 0770 with --group).  One line on
 * stderr says which check failed and what fixes it. */
static int data_dir_ok(const svc *s, bool create)
{
    char msg[DTC_FS_MSG_MAX];
    bool group = s->sv_o.group != 0;
    if (dtc__fs_dir(s->sv_o.data_dir, group, create ? (group ? 0770 : 0700) : 0, msg,
                    sizeof msg) == 0)
        return 0;
    fprintf(stderr, "dtc-%s: %s\n", s->sv_schema->ss_service, msg);
    return -1;
}

static int dump(svc *s)
{
    char err[512];
    if (data_dir_ok(s, false) != 0)
        return 1;
    store *st = store_open(s->sv_o.data_dir, s->sv_o.name, s->sv_schema, NULL, 0,
                           STORE_READONLY | (s->sv_o.group ? STORE_GROUP : 0), NULL, err,
                           sizeof err);
    if (st == NULL) {
        fprintf(stderr, "dtc-%s: %s\n", s->sv_schema->ss_service, err);
        return 1;
    }
    store_dump(st, stdout);
    store_close(&st);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int open_store(svc *s)
{
    char err[512];
    store_info info;
    if (data_dir_ok(s, true) != 0)
        return -1;
    s->sv_store = store_open(s->sv_o.data_dir, s->sv_o.name, s->sv_schema, s->sv_o.seeds,
                             s->sv_o.nseeds, (s->sv_o.no_fsync ? STORE_NO_FSYNC : 0)
                                                 | (s->sv_o.group ? STORE_GROUP : 0),
                             &info, err, sizeof err);
    if (s->sv_store == NULL) {
        dtc_log(DTC_LOG_ERROR, "start", NULL, s->sv_o.name, "error=%s", err);
        fprintf(stderr, "dtc-%s: %s\n", s->sv_schema->ss_service, err);
        return -1;
    }
    store_set_fault_hook(s->sv_store, dtc_fault);
    if (s->sv_o.compact_min > 0)
        store_set_compact_min(s->sv_store, (size_t)s->sv_o.compact_min);
    if (info.si_torn_line)
        dtc_log(DTC_LOG_WARN, "start", NULL, s->sv_o.name,
                "warning=torn_last_line_ignored line=%u", info.si_torn_line);
    if (info.si_seeds_ignored)
        dtc_log(DTC_LOG_INFO, "start", NULL, s->sv_o.name, "seeds=ignored why=state_file_exists");
    dtc_log(DTC_LOG_INFO, "start", NULL, s->sv_o.name,
            "state=%s records=%zu ledger=%zu prepared=%u", info.si_created ? "created" : "loaded",
            info.si_records, info.si_ledger, info.si_prepared);
    return 0;
}


static int txid_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Keeps ids[0..n) (sorted here) as the prepared transactions of this
 * check, for the next; returns the ones of them that were already
 * prepared at the last check, moved to the front (all of them if all). */
static size_t age(svc *s, char (*ids)[STORE_TXID_MAX], size_t n, bool all)
{
    size_t k = 0;
    if (n > 0)
        qsort(ids, n, sizeof *ids, txid_cmp);
    char (*keep)[STORE_TXID_MAX] = n ? malloc(n * sizeof *keep) : NULL;
    if (keep != NULL)
        memcpy(keep, ids, n * sizeof *keep);
    for (size_t i = 0; i < n; i++)
        if (all || (s->sv_aged != NULL
                    && bsearch(ids[i], s->sv_aged, s->sv_naged, sizeof *ids, txid_cmp) != NULL))
            memmove(ids[k++], ids[i], sizeof *ids);
    free(s->sv_aged);
    s->sv_aged = keep;
    s->sv_naged = keep ? n : 0;
    return k;
}

/* Prepared transactions whose coordinator is gone get the outcome dtc
 * knows: committed ones are committed, aborted ones (or ones the instance
 * never decided: presumed abort) released; in-flight and HEURISTIC ones
 * are kept (their outcome will be delivered), and so is everything while
 * dtcd is still replaying its decision log.  Run at start (all: a
 * restarted participant's reloaded prepared transactions) and then every
 * second between batches, never during one, so no request of this
 * process races with it: a transaction found in flight at start may have
 * given up on this participant just before it registered.  The checks
 * between batches ask only about transactions prepared at the check
 * before too: a busy service always has some prepared for a moment, and
 * asking about each of them every second was a stall of milliseconds in
 * every service at once (docs/performance.md, "Tails"). */
static void recover(svc *s, dtc_participant *p, bool all)
{
    size_t n = store_prepared_ids(s->sv_store, NULL, 0);
    char (*ids)[STORE_TXID_MAX] = n ? calloc(n, sizeof *ids) : NULL;
    char why[STORE_WHY_MAX];
    bool waiting = false;
    size_t acted = 0;
    n = ids ? store_prepared_ids(s->sv_store, ids, n) : 0;
    size_t asked = age(s, ids, n, all);
    for (size_t i = 0; i < asked; i++) {
        dtc_txid id;
        dtc_outcome_kind kind;
        store_outcome out;
        if (dtc_txid_parse(ids[i], &id) != DTC_OK)
            continue;
        dtc_result rc = dtc_participant_outcome(p, &id, &kind);
        waiting |= rc == DTC_ERECOVERING || rc == DTC_ENOSUPERVISOR;
        if (rc != DTC_OK || (kind != DTC_OUTCOME_COMMITTED && kind != DTC_OUTCOME_ABORTED))
            continue;
        bool commit = kind == DTC_OUTCOME_COMMITTED;
        int frc = commit ? store_commit(s->sv_store, ids[i], &out, why)
                         : store_rollback(s->sv_store, ids[i], &out, why);
        char code[DTC_REASON_CODE_MAX];
        acted++;
        dtc_log(frc ? DTC_LOG_WARN : DTC_LOG_INFO, "recover", &id, s->sv_o.name,
                "outcome=%s action=%s error=%s", dtc_outcome_name(kind),
                commit ? "commit" : "release", frc ? dtc_reason_split(why, code) : "none");
    }
    if (waiting)
        dtc_log(DTC_LOG_INFO, "recover", NULL, s->sv_o.name,
                "waiting=dtcd_recovering prepared=%zu note=\"nothing presumed until its log is replayed\"", n);
    if ((all ? n : acted) > 0 && store_flush(s->sv_store, why) != 0)
        dtc_log(DTC_LOG_ERROR, "recover", NULL, s->sv_o.name, "error=%s", why);
    free(ids);
}

/* Serves batches until stopped, re-checking prepared transactions,
 * starting a pass of ledger retirement and flushing (store_flush: a
 * finished background compaction) every second (see recover,
 * svc_horizon.c); the pass goes a small step after every batch.  A
 * wait of 100 ms or more with no request is idle time, given to a
 * background compaction (on_idle).  A failed flush stops the loop
 * (after_store set sv_exit). */
static dtc_result serve_loop(svc *s, dtc_instance *inst, dtc_participant *p,
                             const dtc_participant_ops *ops)
{
    struct timespec last, now, before;
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (!part_stop) {
        unsigned served = 0;
        clock_gettime(CLOCK_MONOTONIC, &before);
        dtc_result rc = dtc_participant_serve_once(p, ops, 200, &served);
        if (rc != DTC_OK)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited_ms = (now.tv_sec - before.tv_sec) * 1000
                         + (now.tv_nsec - before.tv_nsec) / 1000000;
        if (served == 0 && waited_ms >= 100 && on_idle(s) != 0)
            return DTC_OK;
        if (now.tv_sec > last.tv_sec) {
            if (store_prepared_ids(s->sv_store, NULL, 0) > 0)
                recover(s, p, false);
            if (!s->sv_keep_ledger)
                svc_retire_begin(&s->sv_hz, s->sv_store, inst);
            /* an idle service too goes on with a background compaction
             * (store_bg.c), and finishes it (on the journal: its
             * checkpoint) */
            if (on_flush(s) != 0)
                return DTC_OK;
            last = now;
        }
        svc_retire_step(&s->sv_hz, s->sv_store);
    }
    return DTC_OK;
}

/* Attaches to the instance, waiting (and saying so) while dtcd is not up
 * yet: a service may start before dtcd, as after a reboot. */

/* Registers, opens the store and serves until stopped; returns the exit
 * code.  Registration comes first, so that a taken name touches no file. */
static int serve(svc *s)
{
    dtc_instance *inst = NULL;
    dtc_participant *p = NULL;
    dtc_participant_ops ops = {on_enlist, on_prepare, on_commit, on_rollback, on_flush, s};
    char resolved[DTC_INSTANCE_MAX];
    char prog[DTC_NAME_MAX + 8];
    snprintf(prog, sizeof prog, "dtc-%s", s->sv_schema->ss_service);
    if (dtc__opt_instance(prog, s->sv_o.instance, resolved) != 0)
        return 2;
    dtc_result rc = part_attach(s->sv_o.instance, s->sv_o.name, &inst);
    if (part_stopped_waiting(rc, s->sv_o.name))
        return 0;
    if (rc == DTC_OK && (rc = dtc_participant_register(inst, s->sv_o.name, &p)) != DTC_OK)
        dtc_close(&inst);
    if (rc != DTC_OK) {
        fprintf(stderr, "dtc-%s: %s: %s\n", s->sv_schema->ss_service, s->sv_o.name,
                dtc_strerror(rc));
        return 1;
    }
    if (open_store(s) != 0 || svc__journal_start(s, inst, p) != 0) {
        s->sv_exit = 1;
    } else {
        recover(s, p, true);
        tell_syncs(s); /* opening: a new state file, a torn tail cut */
        part_ready(s->sv_o.name);
        if ((rc = serve_loop(s, inst, p, &ops)) != DTC_OK) {
            dtc_log(DTC_LOG_ERROR, "serve", NULL, s->sv_o.name, "error=%s", dtc_strerror(rc));
            s->sv_exit = 1;
        }
    }
    svc_retire_free(&s->sv_hz);
    free(s->sv_aged);
    /* the store first: its last flush may use the journal (svc_journal.c);
     * a clean stop on the journal leaves a complete snapshot */
    char why[STORE_WHY_MAX];
    if (s->sv_store != NULL && s->sv_exit == 0 && svc__journal_on(s)
        && store_compact(s->sv_store, why) != 0)
        dtc_log(DTC_LOG_WARN, "stop", NULL, s->sv_o.name, "compact=failed error=\"%s\"", why);
    if (s->sv_store != NULL && store_close(&s->sv_store) != 0)
        s->sv_exit = 1;
    dtc_participant_unregister(&p);
    dtc_close(&inst);
    dtc_log(DTC_LOG_INFO, "stop", NULL, s->sv_o.name, "exit=%d", s->sv_exit);
    return s->sv_exit;
}

int svc_main(const store_schema *schema, int argc, char **argv)
{
    svc s;
    int rc;
    (void)store_heap_setup(); /* refused: only slower tails */
    memset(&s, 0, sizeof s);
    s.sv_schema = schema;
    const char *keep = getenv("DTC_KEEP_LEDGER");
    s.sv_keep_ledger = keep != NULL && keep[0] != '\0';
    dtc_log_init(DTC_LOG_INFO);
    rc = svc__parse_opts(&s, argc, argv);
    if (rc == 0 && s.sv_o.dump)
        rc = dump(&s);
    else if (rc == 0) {
        long seed = (long)getpid() ^ (long)time(NULL);
        memcpy(s.sv_rand, &seed, sizeof s.sv_rand < sizeof seed ? sizeof s.sv_rand : sizeof seed);
        part_catch_signals();
        rc = serve(&s);
    } else {
        rc = rc > 0 ? 0 : 2;
    }
    free(s.sv_o.seeds);
    return rc;
}
