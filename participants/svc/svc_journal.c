/*
 * svc_journal.c - a service's record store on the instance journal
 * (docs/journal.md): its log lines become journal records (a "prepared"
 * line the prepare record its yes vote carries, the others commit or
 * rollback records), its state file holds only snapshots stamped with the
 * journal LSN they cover, and at start its records after that LSN are
 * replayed into the store as its file's log section would be.  The
 * prepared transactions found then are resolved by svc.c's recover(), the
 * one rule (dtc_participant_outcome).
 */
#include <string.h>
#include <time.h>

#include "part_proc.h"
#include "svc_int.h"

/* A log line as a journal record: "prepared TXID ..." from the prepare
 * callback (the record its vote carries), else a done record. */
static int j_append(void *ctx, const char *line, size_t len)
{
    svc *s = ctx;
    if (strncmp(line, "prepared ", 9) == 0) {
        if (s->sv_cur_rq == NULL)
            return -1; /* only store_prepare writes it, from on_prepare */
        return dtc_journal_prepare(s->sv_part, s->sv_cur_rq, line, len, NULL) == DTC_OK ? 0 : -1;
    }
    const char *sp = memchr(line, ' ', len);
    char txt[DTC_TXID_STRLEN];
    dtc_txid id;
    size_t n = sp != NULL ? len - (size_t)(sp + 1 - line) : 0;
    n = n < DTC_TXID_STRLEN - 1 ? n : DTC_TXID_STRLEN - 1;
    memcpy(txt, sp != NULL ? sp + 1 : line, n);
    txt[n] = '\0';
    char *end = strchr(txt, ' ');
    if (end != NULL)
        *end = '\0';
    if (dtc_txid_parse(txt, &id) != DTC_OK)
        return -1;
    int committed = strncmp(line, "applied ", 8) == 0;
    return dtc_journal_done(s->sv_part, &id, committed, line, len, NULL) == DTC_OK ? 0 : -1;
}

static int j_position(void *ctx, uint64_t *lsn)
{
    svc *s = ctx;
    return dtc_journal_end(s->sv_part, lsn) == DTC_OK ? 0 : -1;
}

static int j_flush(void *ctx, uint64_t lsn)
{
    svc *s = ctx;
    return dtc_journal_flush(s->sv_part, lsn) == DTC_OK ? 0 : -1;
}

static int j_checkpoint(void *ctx, uint64_t lsn)
{
    svc *s = ctx;
    return dtc_journal_checkpoint(s->sv_part, lsn) == DTC_OK ? 0 : -1;
}

struct replay_ctx {
    svc *s;
    size_t lines;
    int failed;
};

static int replay_one(void *ctx, const dtc_journal_record *r)
{
    struct replay_ctx *x = ctx;
    char why[STORE_WHY_MAX];
    if (store_replay_line(x->s->sv_store, r->rec, r->len, why) != 0) {
        dtc_log(DTC_LOG_ERROR, "journal_replay", &r->txid, x->s->sv_o.name,
                "lsn=%llu error=\"%s\"", (unsigned long long)r->lsn, why);
        x->failed = 1;
        return 1;
    }
    x->lines++;
    return 0;
}

/* Replays the records after the snapshot, waiting out dtcd's recovery
 * (nothing is presumed before it). */
static int replay(svc *s, uint64_t from)
{
    struct replay_ctx x = {s, 0, 0};
    dtc_result rc;
    for (int i = 0;; i++) {
        rc = dtc_journal_replay(s->sv_part, from, replay_one, &x);
        if ((rc != DTC_ERECOVERING && rc != DTC_ENOSUPERVISOR) || x.lines > 0 || part_stop)
            break;
        if (i % 50 == 0)
            dtc_log(DTC_LOG_INFO, "journal_replay", NULL, s->sv_o.name, "waiting=dtcd_recovering");
        struct timespec t = {0, 100000000};
        nanosleep(&t, NULL);
    }
    if (rc != DTC_OK || x.failed) {
        dtc_log(DTC_LOG_ERROR, "journal_replay", NULL, s->sv_o.name, "from_lsn=%llu result=%s",
                (unsigned long long)from, dtc_result_name(rc));
        return -1;
    }
    dtc_log(DTC_LOG_INFO, "journal_replay", NULL, s->sv_o.name, "from_lsn=%llu records=%zu",
            (unsigned long long)from, x.lines);
    return 0;
}

/* Own-file mode (--own-fsync, --no-fsync): the records a run on the
 * journal left after its snapshot were replayed; a complete state file
 * now holds them, and the log stops keeping this service's records. */
static int leave_journal(svc *s, dtc_instance *in, uint64_t from)
{
    char why[STORE_WHY_MAX];
    if (from > 0 && store_compact(s->sv_store, why) != 0) {
        dtc_log(DTC_LOG_ERROR, "journal", NULL, s->sv_o.name, "leave=failed error=\"%s\"", why);
        return -1;
    }
    dtc_result rc = dtc_journal_release(in, s->sv_o.name);
    if (rc == DTC_OK)
        dtc_log(DTC_LOG_INFO, "journal", NULL, s->sv_o.name, "mode=own_file left=journal");
    return rc == DTC_OK || rc == DTC_ENOTFOUND || rc == DTC_ESTATE ? 0 : -1;
}

int svc__journal_start(svc *s, dtc_instance *in, dtc_participant *p)
{
    uint64_t lsn;
    char why[STORE_WHY_MAX];
    s->sv_part = p;
    /* A snapshot without an LSN was written by the own-file mode (its log
     * section complete) or just created: nothing of it is in the journal.
     * With one, its later records are in the journal only: replayed
     * whatever the mode now. */
    uint64_t from = store_journal_lsn(s->sv_store);
    if (dtc_journal_end(p, &lsn) != DTC_OK) {
        if (from > 0) {
            dtc_log(DTC_LOG_ERROR, "journal", NULL, s->sv_o.name,
                    "error=\"the state file goes on in the journal after lsn %llu, but the "
                    "instance has no decision log: start dtcd with its data directory\"",
                    (unsigned long long)from);
            return -1;
        }
        if (!s->sv_o.own_fsync && !s->sv_o.no_fsync)
            dtc_log(DTC_LOG_WARN, "journal", NULL, s->sv_o.name,
                    "mode=own_file why=\"the instance has no decision log\"");
        return 0;
    }
    if (from > 0 && replay(s, from) != 0)
        return -1;
    if (s->sv_o.own_fsync || s->sv_o.no_fsync)
        return leave_journal(s, in, from);
    s->sv_journal = (store_journal){j_append, j_position, j_flush, j_checkpoint, s};
    store_set_journal(s->sv_store, &s->sv_journal);
    if (store_compact(s->sv_store, why) != 0) { /* stamps the LSN it covers */
        dtc_log(DTC_LOG_ERROR, "journal", NULL, s->sv_o.name, "error=\"%s\"", why);
        return -1;
    }
    dtc_log(DTC_LOG_INFO, "journal", NULL, s->sv_o.name, "mode=journal");
    return 0;
}

int svc__journal_on(const svc *s)
{
    return s->sv_journal.sj_append != NULL;
}
