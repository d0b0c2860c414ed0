/*
 * journal_stage.c - a participant's journal records staged in its own
 * memory and written to the decision log together: one sh_dlog_lock and
 * one pwrite for a serve batch, where every record used to take both
 * (docs/journal.md, "Staged records").
 *
 * dtc_journal_prepare and dtc_journal_done stage (dtc__journal_stage);
 * dtc__journal_write appends everything staged in one dtc__dlog_append_n
 * and gives each prepare record's end to the yes vote that carries it.
 * When: before a batch with a staged prepare record publishes any answer
 * (participant.c: the vote's promise "my record is in the log before your
 * decision" holds, as the COMMIT is written after every vote); when a
 * serve finds nothing to do for 5 ms (participant.c, take); at
 * dtc_journal_end, _flush, _checkpoint, _replay and at unregister; at
 * once when a caller asks for a record's LSN; and when the stage is full
 * (STAGE_RECS records or STAGE_BYTES bytes).  Commit and rollback
 * records (unforced) may thus wait for the next batch: a participant
 * process that dies loses only those, and its replay hands back their
 * prepare records with their outcomes by the one rule, as after a host
 * crash that lost them.
 *
 * The stage belongs to the process that staged: a forked child (a
 * snapshot writer that calls dtc_journal_flush, say) never writes its
 * copy, which the parent writes; what the child's snapshot reflects of
 * it is either rewritten later at a larger LSN (replayed again,
 * idempotently) or about a vote never published (presumed abort) or a
 * commit already durable.
 *
 * A failed write drops what was staged and is remembered until the
 * serve's write of its batch reports it (dtc__journal_write), so no yes
 * vote whose record may be missing is ever published as a yes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlog.h"

/* Bounds of the stage: past either, the records are written at once. */
#define STAGE_RECS 1024u
#define STAGE_BYTES ((size_t)256 * 1024)
/* The encoding buffer: one pwrite for up to this much. */
#define STAGE_ENC ((size_t)64 * 1024)

struct staged {
    uint8_t type;
    uint16_t flags;
    dtc_txid txid;
    int64_t unix_ms;
    size_t off;     /* of its bytes in data */
    uint32_t len;
    uint64_t *jlsn; /* receives its end when written (NULL: nobody asks) */
};

struct dtc__jstage {
    struct staged v[STAGE_RECS];
    size_t n;
    size_t prepares;       /* staged prepare records among them */
    unsigned char *data;   /* the records' bytes */
    size_t used, cap;
    bool failed;           /* a write failed since the serve last asked */
    pid_t pid;             /* the process that staged (a fork's copy is not ours) */
    uint64_t ends[STAGE_RECS];
    struct dtc__dlog_rec scratch;
    unsigned char enc[STAGE_ENC];
};

static struct dtc__jstage *stage_of(dtc_participant *p)
{
    if (p->jst == NULL && (p->jst = calloc(1, sizeof *p->jst)) != NULL)
        p->jst->pid = getpid();
    return p->jst;
}

bool dtc__journal_staged(const dtc_participant *p)
{
    return p->jst != NULL && p->jst->n > 0;
}

bool dtc__journal_staged_prepare(const dtc_participant *p)
{
    return p->jst != NULL && (p->jst->prepares > 0 || p->jst->failed);
}

/* Builds staged record i of the participant (dtc__dlog_fill_fn). */
static void fill(void *ctx, size_t i, struct dtc__dlog_rec *r)
{
    dtc_participant *p = ctx;
    const struct staged *s = &p->jst->v[i];
    memset(r, 0, offsetof(struct dtc__dlog_rec, entries));
    r->type = s->type;
    r->flags = s->flags;
    r->txid = s->txid;
    r->unix_ms = s->unix_ms;
    r->nentries = 1;
    memset(&r->entries[0], 0, sizeof r->entries[0]);
    dtc__strcopy(r->entries[0].name, p->name, sizeof r->entries[0].name);
    r->data = s->len > 0 ? p->jst->data + s->off : NULL;
    r->data_len = s->len;
}

dtc_result dtc__journal_write(dtc_participant *p)
{
    struct dtc__jstage *st = p->jst;
    if (st == NULL || st->n == 0 || st->pid != getpid())
        return DTC_OK; /* nothing, or the parent's records (it writes them) */
    uint32_t idx;
    /* the table entry first: its checkpoint (the log's end when it is made)
     * lies before every record of ours */
    dtc_result rc = dtc__journal_entry(p, &idx);
    if (rc == DTC_OK && dtc__dlog_append_n(p->in, st->n, fill, p, &st->scratch, st->enc,
                                           sizeof st->enc, st->ends) != DTC_OK)
        rc = DTC_ELOG;
    for (size_t i = 0; rc == DTC_OK && i < st->n; i++)
        if (st->v[i].jlsn != NULL)
            *st->v[i].jlsn = st->ends[i];
    if (rc == DTC_OK && st->prepares > 0)
        dtc__fault("journal.after_prepare");
    if (rc != DTC_OK) {
        dtc_log(DTC_LOG_ERROR, "journal_write", NULL, p->name,
                "records=%zu prepares=%zu result=%s", st->n, st->prepares, dtc_result_name(rc));
        st->failed |= st->prepares > 0; /* a vote's record may be missing */
    }
    st->n = st->prepares = st->used = 0;
    return rc;
}

dtc_result dtc__journal_batch_write(dtc_participant *p)
{
    dtc_result rc = dtc__journal_write(p);
    if (p->jst != NULL && p->jst->failed) {
        p->jst->failed = false;
        rc = DTC_ELOG;
    }
    return rc;
}

dtc_result dtc__journal_stage(dtc_participant *p, uint8_t type, uint16_t flags, const dtc_txid *id,
                              const void *rec, size_t len, uint64_t *jlsn)
{
    struct dtc__jstage *st = stage_of(p);
    if (st == NULL)
        return DTC_ESYS;
    if (st->n == STAGE_RECS || st->used + len > STAGE_BYTES) {
        dtc_result rc = dtc__journal_write(p);
        if (rc != DTC_OK)
            return rc;
    }
    if (st->used + len > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->used + len)
            cap *= 2;
        unsigned char *d = realloc(st->data, cap);
        if (d == NULL)
            return DTC_ESYS;
        st->data = d;
        st->cap = cap;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct staged *s = &st->v[st->n++];
    *s = (struct staged){.type = type, .flags = flags, .off = st->used, .len = (uint32_t)len,
                         .jlsn = jlsn, .unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000};
    if (id != NULL)
        s->txid = *id;
    if (len > 0)
        memcpy(st->data + st->used, rec, len);
    st->used += len;
    st->prepares += type == DTC_DLOG_JPREPARE;
    return DTC_OK;
}

void dtc__journal_stage_free(dtc_participant *p)
{
    if (p->jst != NULL)
        free(p->jst->data);
    free(p->jst);
    p->jst = NULL;
}
