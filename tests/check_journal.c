/*
 * check_journal.c - unit tests of the instance journal (src/libdtc/
 * journal.c and its records in dlog_format.c, recover.c): encoding of
 * the journal records, replay order and outcomes, the checkpoint rule
 * (never past the log's end, the log made durable first), the table
 * rebuilt after a host crash, and retention (files kept for a
 * participant's checkpoint, freed by a checkpoint or a release), and
 * the staged records (journal_stage.c): a batch's prepare records in the
 * log before its votes, commit records written with the next batch, when
 * the serve goes idle or at unregister, lost alone when the participant
 * process dies, a failed write that fails the batch's yes votes, a
 * forked child that leaves the stage to its parent, and a stage written
 * across file switches.
 * Each test gets its own segment and temp directory (CK_FORK).
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dlog.h"

static char inst_name[DTC_INSTANCE_MAX];
static char dir[256];
static dtc_instance *inst;
static dtc_participant *part;

static dtc_instance *create_seg(const char *name)
{
    dtc_limits l;
    dtc_instance *in = NULL;
    struct dtc__dlog_cfg dl = {.files = DTC_DLOG_MIN_FILES};
    dtc_limits_default(&l);
    l.max_txns = 8;
    dl.file_size = dtc__dlog_min_file_size(l.max_txns);
    dtc__strcopy(dl.dir, dir, sizeof dl.dir);
    ck_assert_int_eq(dtc__segment_create(name, &l, 0, &dl, &in), DTC_OK);
    ck_assert_int_eq(dtc__dlog_recover(in), DTC_OK);
    return in;
}

/* As after a host crash: the segment is gone, the files stay. */
static void reboot(void)
{
    dtc_participant_unregister(&part);
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    inst = create_seg(inst_name);
    ck_assert_int_eq(dtc_participant_register(inst, "jp", &part), DTC_OK);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_journal.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(inst_name, sizeof inst_name, "journal-%d", (int)getpid());
    inst = create_seg(inst_name);
    ck_assert_int_eq(dtc_participant_register(inst, "jp", &part), DTC_OK);
}

static void teardown(void)
{
    char cmd[300];
    dtc_participant_unregister(&part);
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A prepare record of txid tag..tag, as from the prepare callback. */
static uint64_t prepare(unsigned char tag, const char *bytes)
{
    dtc_request rq = {.op = DTC_OP_PREPARE};
    uint64_t vote = 0, end = 0;
    memset(rq.txid.bytes, tag, 16);
    part->cur_req = &rq;
    part->cur_jlsn = &vote;
    ck_assert_int_eq(dtc_journal_prepare(part, &rq, bytes, strlen(bytes), &end), DTC_OK);
    part->cur_req = NULL;
    part->cur_jlsn = NULL;
    ck_assert_uint_eq(vote, end); /* the vote carries the record's end */
    return end;
}

static void decide(unsigned char tag, uint8_t type)
{
    struct dtc__dlog_rec r;
    uint64_t end;
    memset(&r, 0, sizeof r);
    r.type = type;
    r.state = DTC_TXN_COMMITTED;
    memset(r.txid.bytes, tag, 16);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
}

START_TEST(encode_roundtrip)
{
    static unsigned char buf[DTC_DLOG_REC_MAX], data[DTC_JOURNAL_REC_MAX];
    struct dtc__dlog_rec r, d;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    r.type = DTC_DLOG_JPREPARE;
    r.nentries = 1;
    snprintf(r.entries[0].name, DTC_NAME_MAX, "%s", "a-participant-name-of-31-chars_");
    r.data = data;
    r.data_len = DTC_JOURNAL_REC_MAX; /* the largest */
    size_t len = dtc__dlog_encode(&r, 4096, 4096, buf);
    ck_assert_uint_eq(len, dtc__dlog_journal_len(r.entries[0].name, r.data_len));
    ck_assert_uint_le(len, DTC_DLOG_REC_MAX);
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4096, &d), len);
    ck_assert_uint_eq(d.type, DTC_DLOG_JPREPARE);
    ck_assert_str_eq(d.entries[0].name, r.entries[0].name);
    ck_assert_uint_eq(d.data_len, DTC_JOURNAL_REC_MAX);
    ck_assert_mem_eq(d.data, data, DTC_JOURNAL_REC_MAX);
    /* a payload length past the record (resealed) is no record */
    uint32_t big = DTC_JOURNAL_REC_MAX + 1, len32, crc;
    size_t at = DTC_DLOG_REC_HDR + DTC_DLOG_ENTRY_HDR + strlen(r.entries[0].name);
    memcpy(buf + at, &big, 4);
    memcpy(&len32, buf + 4, 4);
    crc = dtc__crc32c(0, buf + 4, len32 - 4);
    memcpy(buf, &crc, 4);
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4096, &d), 0);
    /* other records carry no payload */
    r.type = DTC_DLOG_COMMIT;
    len = dtc__dlog_encode(&r, 4096, 4096, buf);
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4096, &d), len);
    ck_assert_uint_eq(d.data_len, 0);
    ck_assert_ptr_null(d.data);
}
END_TEST

START_TEST(prepare_only_from_its_callback)
{
    dtc_request rq = {.op = DTC_OP_PREPARE};
    static char big[DTC_JOURNAL_REC_MAX + 1];
    uint64_t vote;
    ck_assert_int_eq(dtc_journal_prepare(part, &rq, "x", 1, NULL), DTC_EINVAL);
    part->cur_req = &rq;
    part->cur_jlsn = &vote;
    ck_assert_int_eq(dtc_journal_prepare(part, &rq, big, sizeof big, NULL), DTC_ETOOBIG);
    part->cur_req = NULL;
}
END_TEST

struct seen {
    int n;
    dtc_journal_record r[16];
    char bytes[16][32];
};

static int keep_rec(void *ctx, const dtc_journal_record *r)
{
    struct seen *s = ctx;
    ck_assert_int_lt(s->n, 16);
    s->r[s->n] = *r;
    snprintf(s->bytes[s->n], 32, "%.*s", (int)r->len, (const char *)r->rec);
    s->n++;
    return 0;
}

/* Replay hands back only this participant's records, in log order, with
 * each transaction's outcome by the one rule: a durable COMMIT, its own
 * done record, or presumed abort. */
START_TEST(replay_order_and_outcomes)
{
    dtc_participant *other;
    ck_assert_int_eq(dtc_participant_register(inst, "other", &other), DTC_OK);
    uint64_t a = prepare(0xa1, "prep-a");
    dtc_participant *save = part;
    part = other;
    prepare(0xa1, "not-mine");
    part = save;
    uint64_t b = prepare(0xb2, "prep-b");
    decide(0xa1, DTC_DLOG_COMMIT);
    uint64_t c = prepare(0xc3, "prep-c");
    decide(0xc3, DTC_DLOG_COMPENSATE);
    uint64_t done;
    ck_assert_int_eq(dtc_journal_done(part, &(dtc_txid){{0}}, 1, "x", 1, &done), DTC_OK);
    dtc_txid ida;
    memset(ida.bytes, 0xa1, 16);
    ck_assert_int_eq(dtc_journal_done(part, &ida, 1, "done-a", 6, &done), DTC_OK);
    ck_assert_int_eq(dtc__dlog_flush(inst, done), DTC_OK);
    dtc_participant_unregister(&other);
    reboot(); /* the records survive a host crash once synced */
    struct seen s = {0};
    ck_assert_int_eq(dtc_journal_replay(part, 0, keep_rec, &s), DTC_OK);
    ck_assert_int_eq(s.n, 5);
    ck_assert_str_eq(s.bytes[0], "prep-a");
    ck_assert_int_eq(s.r[0].kind, DTC_JOURNAL_PREPARED);
    ck_assert_int_eq(s.r[0].outcome, DTC_OUTCOME_COMMITTED);
    ck_assert_uint_eq(s.r[0].end, a);
    ck_assert_str_eq(s.bytes[1], "prep-b");
    ck_assert_int_eq(s.r[1].outcome, DTC_OUTCOME_ABORTED); /* presumed */
    ck_assert_uint_eq(s.r[1].end, b);
    ck_assert_str_eq(s.bytes[2], "prep-c");
    /* being compensated (ABORTING), recovered as such: a decision being
     * delivered is a decision (the one rule): roll it back */
    ck_assert_int_eq(s.r[2].outcome, DTC_OUTCOME_ABORTED);
    ck_assert_uint_eq(s.r[2].end, c);
    ck_assert_int_eq(s.r[4].kind, DTC_JOURNAL_COMMITTED);
    ck_assert_str_eq(s.bytes[4], "done-a");
    ck_assert_uint_eq(s.r[4].end, done);
    for (int i = 1; i < s.n; i++)
        ck_assert_uint_gt(s.r[i].lsn, s.r[i - 1].lsn);
    /* from a checkpoint: only what follows it */
    struct seen t = {0};
    ck_assert_int_eq(dtc_journal_replay(part, b, keep_rec, &t), DTC_OK);
    ck_assert_int_eq(t.n, 3);
    ck_assert_str_eq(t.bytes[0], "prep-c");
}
END_TEST

/* Replay waits for dtcd's recovery: nothing is presumed before. */
START_TEST(replay_refused_while_recovering)
{
    struct seen s = {0};
    prepare(0x01, "p");
    atomic_store(&inst->hdr->sh_recovering, 1);
    inst->hdr->sh_sup_pid = getpid(); /* a supervisor that is alive */
    inst->hdr->sh_sup_start = 0;
    dtc_result rc = dtc_journal_replay(part, 0, keep_rec, &s);
    ck_assert(rc == DTC_ERECOVERING || rc == DTC_ENOSUPERVISOR);
    ck_assert_int_eq(s.n, 0);
    atomic_store(&inst->hdr->sh_recovering, 0);
}
END_TEST

static uint64_t table_ckpt(const char *name)
{
    dtc_journal_info v[DTC_JOURNAL_PARTS_MAX];
    size_t n;
    ck_assert_int_eq(dtc_journal_list(inst, v, DTC_JOURNAL_PARTS_MAX, &n), DTC_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].checkpoint_lsn;
    return UINT64_MAX;
}

/* A checkpoint never runs past the log: it makes the log durable first;
 * it lives in the segment and, through the log, survives a host crash. */
START_TEST(checkpoint_rule)
{
    uint64_t end = prepare(0x05, "p");
    ck_assert_uint_lt(atomic_load(&inst->hdr->sh_dlog_durable), end);
    ck_assert_int_eq(dtc_journal_checkpoint(part, end + 4096), DTC_EINVAL);
    ck_assert_int_eq(dtc_journal_checkpoint(part, end), DTC_OK);
    ck_assert_uint_ge(atomic_load(&inst->hdr->sh_dlog_durable), end);
    ck_assert_uint_eq(table_ckpt("jp"), end);
    uint64_t now;
    ck_assert_int_eq(dtc_journal_end(part, &now), DTC_OK);
    ck_assert_int_eq(dtc_journal_flush(part, now), DTC_OK);
    reboot();
    ck_assert_uint_eq(table_ckpt("jp"), end);
}
END_TEST

static void fill_files(int files)
{
    struct dtc__dlog_rec r;
    memset(&r, 0, sizeof r);
    r.type = DTC_DLOG_END;
    r.state = DTC_TXN_COMMITTED;
    uint64_t start = inst->hdr->sh_dlog_fileno;
    for (long i = 0; inst->hdr->sh_dlog_fileno < start + (uint64_t)files; i++) {
        uint64_t end;
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
        ck_assert_int_lt(i, 10000000);
    }
}

static uint64_t oldest_file(void)
{
    uint64_t *v, o;
    long n = dtc__dlog_list(dir, &v);
    ck_assert_int_gt(n, 0);
    o = v[0];
    free(v);
    return o;
}

/* Files holding a participant's unreplayed records stay past --dlog-files
 * (their records are not copied at a switch), even across a host crash;
 * its checkpoint, or an operator's release, frees them. */
/* dtcd's ticks, enough for any pruning here to finish (a tick takes at
 * most DTC_DLOG_PRUNE_TICK files out of the log). */
static void ticks(void)
{
    for (int i = 0; i < 8; i++)
        dtc__dlog_maintain(inst);
}

START_TEST(retention)
{
    uint64_t first = inst->hdr->sh_dlog_fileno;
    prepare(0x07, "held");
    fill_files(5);
    ticks();
    ck_assert_uint_eq(oldest_file(), first); /* held for jp */
    dtc_journal_info v[4];
    size_t n;
    ck_assert_int_eq(dtc_journal_list(inst, v, 4, &n), DTC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(v[0].held_files, 6);
    ck_assert_uint_gt(v[0].behind_bytes, 5ull * inst->dlog_file_size);
    reboot(); /* the table comes back from the log alone */
    ck_assert_uint_le(table_ckpt("jp"), first * inst->dlog_file_size + 4096);
    ticks();
    ck_assert_uint_eq(oldest_file(), first);
    struct seen s = {0};
    ck_assert_int_eq(dtc_journal_replay(part, 0, keep_rec, &s), DTC_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.bytes[0], "held");
    /* a checkpoint at the end frees them */
    uint64_t now;
    ck_assert_int_eq(dtc_journal_end(part, &now), DTC_OK);
    ck_assert_int_eq(dtc_journal_checkpoint(part, now), DTC_OK);
    ticks();
    ck_assert_uint_eq(oldest_file(), inst->hdr->sh_dlog_fileno - DTC_DLOG_MIN_FILES + 1);
    /* released: held no more, and gone from the table after a crash too */
    prepare(0x08, "again");
    fill_files(4);
    ticks();
    ck_assert_uint_lt(oldest_file(), inst->hdr->sh_dlog_fileno - DTC_DLOG_MIN_FILES + 1);
    ck_assert_int_eq(dtc_journal_release(inst, "nobody"), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_journal_release(inst, "jp"), DTC_OK);
    ck_assert_uint_eq(table_ckpt("jp"), UINT64_MAX);
    ticks();
    ck_assert_uint_eq(oldest_file(), inst->hdr->sh_dlog_fileno - DTC_DLOG_MIN_FILES + 1);
    fill_files(1); /* the release record is synced by the switch */
    reboot();
    ck_assert_uint_eq(table_ckpt("jp"), UINT64_MAX);
}
END_TEST

/* ---- staged records: a participant serving real transactions -------- */

struct count {
    const dtc_txid *id;
    int prepares, dones;
    uint64_t prepare_lsn, done_end, commit_lsn;
};

static int count_rec(void *ctx, const struct dtc__dlog_rec *r)
{
    struct count *c = ctx;
    if (memcmp(r->txid.bytes, c->id->bytes, 16) != 0)
        return 0;
    if (r->type == DTC_DLOG_JPREPARE) {
        c->prepares++;
        c->prepare_lsn = r->lsn;
    }
    if (r->type == DTC_DLOG_JDONE) {
        c->dones++;
        c->done_end = r->lsn + dtc__dlog_journal_len(r->entries[0].name, r->data_len);
    }
    if (r->type == DTC_DLOG_COMMIT)
        c->commit_lsn = r->lsn;
    return 0;
}

/* What the log holds about transaction id: its buffer written out
 * (everything a participant wrote is in the segment's buffer or the
 * files), then the files read. */
static struct count in_log(const dtc_txid *id)
{
    struct count c = {.id = id};
    struct dtc__dlog_scan_out s;
    ck_assert_int_eq(dtc__dlog_write_out(inst), DTC_OK);
    ck_assert_int_eq(dtc__dlog_scan(dir, NULL, count_rec, &c, false, &s), DTC_OK);
    return c;
}

static dtc_participant *serving;

static dtc_vote j_prepare(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    return dtc_journal_prepare(serving, rq, "prep", 4, NULL) == DTC_OK ? DTC_VOTE_YES
                                                                      : DTC_VOTE_ERROR;
}

static int j_done(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    int committed = rq->op == DTC_OP_COMMIT;
    return dtc_journal_done(serving, &rq->txid, committed, "done", 4, NULL) == DTC_OK ? 0 : -1;
}

struct coord {
    dtc_txid id;
    bool commit; /* commit the prepared transaction, else begin and prepare */
    _Atomic int done;
    dtc_result rc;
};

static void *coordinate(void *arg)
{
    struct coord *c = arg;
    if (c->commit)
        c->rc = dtc_commit_transaction(inst, &c->id, NULL);
    else if ((c->rc = dtc_enlist(inst, &c->id, serving->name, "x", 1)) == DTC_OK)
        c->rc = dtc_prepare_transaction(inst, &c->id, NULL);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Runs phase one of a new transaction (c->commit false) or phase two of
 * c with p serving; phase two stops serving with the batch that answered
 * its one commit request.  0 if all went well (no ck_assert: a child
 * process runs it too). */
static int run_phase(dtc_participant *p, struct coord *c)
{
    pthread_t t;
    serving = p;
    atomic_store(&c->done, 0);
    if (!c->commit && dtc_begin_transaction(inst, NULL, &c->id) != DTC_OK)
        return 1;
    if (pthread_create(&t, NULL, coordinate, c) != 0)
        return 2;
    dtc_participant_ops ops = {NULL, j_prepare, j_done, j_done, NULL, NULL};
    unsigned served = 0;
    for (int i = 0; i < 1000 && !atomic_load(&c->done) && !(c->commit && served > 0); i++)
        if (dtc_participant_serve_once(p, &ops, 10, &served) != DTC_OK)
            return 3;
    pthread_join(t, NULL);
    return c->rc == DTC_OK ? 0 : 4;
}

/* A yes vote's prepare record, staged by its callback, is in the log when
 * the vote is seen, before the COMMIT; the commit record is staged, not
 * written, when its answer is out, and the next serve that finds nothing
 * to do writes it. */
START_TEST(staged_prepare_before_vote_done_on_idle)
{
    struct coord c = {.commit = false};
    ck_assert_int_eq(run_phase(part, &c), 0);
    struct count k = in_log(&c.id); /* prepared: its vote was published */
    ck_assert_int_eq(k.prepares, 1);
    ck_assert(!dtc__journal_staged(part));
    c.commit = true;
    ck_assert_int_eq(run_phase(part, &c), 0);
    k = in_log(&c.id);
    ck_assert_uint_gt(k.commit_lsn, k.prepare_lsn);
    ck_assert_int_eq(k.dones, 0); /* answered, staged */
    ck_assert(dtc__journal_staged(part));
    dtc_participant_ops ops = {NULL, j_prepare, j_done, j_done, NULL, NULL};
    unsigned served = 1;
    ck_assert_int_eq(dtc_participant_serve_once(part, &ops, 10, &served), DTC_OK);
    ck_assert_uint_eq(served, 0);
    ck_assert(!dtc__journal_staged(part));
    ck_assert_int_eq(in_log(&c.id).dones, 1);
}
END_TEST

/* A staged commit record goes to the log before the next batch's prepare
 * record (with it, when that batch comes within the idle wait: back to
 * back, in order); the last one is written at unregister. */
START_TEST(staged_done_with_next_batch_and_at_unregister)
{
    struct coord a = {.commit = false}, b = {.commit = false};
    ck_assert_int_eq(run_phase(part, &a), 0);
    a.commit = true;
    ck_assert_int_eq(run_phase(part, &a), 0);
    ck_assert_int_eq(in_log(&a.id).dones, 0);
    ck_assert_int_eq(run_phase(part, &b), 0);
    struct count ka = in_log(&a.id), kb = in_log(&b.id);
    ck_assert_int_eq(ka.dones, 1);
    ck_assert_uint_eq(ka.done_end, kb.prepare_lsn); /* back to back, in order */
    b.commit = true;
    ck_assert_int_eq(run_phase(part, &b), 0);
    ck_assert_int_eq(in_log(&b.id).dones, 0);
    dtc_participant_unregister(&part);
    ck_assert_int_eq(in_log(&b.id).dones, 1);
}
END_TEST

/* A batch whose staged prepare record cannot be written publishes no yes
 * vote: the vote is an error, the transaction is not committed, and the
 * record is not in the log. */
START_TEST(staged_write_failure_fails_the_vote)
{
    struct dtc_shm_header *h = inst->hdr;
    uint64_t saved = h->sh_dlog_end;
    h->sh_dlog_end = h->sh_dlog_fileno * inst->dlog_file_size; /* scribbled: writes fail */
    struct coord c = {.commit = false};
    int rc = run_phase(part, &c);
    h->sh_dlog_end = saved;
    ck_assert_int_eq(rc, 4);
    ck_assert_msg(c.rc == DTC_EPARTICIPANT, "prepare: %s", dtc_result_name(c.rc));
    ck_assert_int_eq(in_log(&c.id).prepares, 0);
    dtc_outcome o; /* its END could not be written either: not found, presumed abort */
    dtc_result orc = dtc_transaction_outcome(inst, &c.id, &o);
    ck_assert_msg(orc == DTC_ENOTFOUND || (orc == DTC_OK && o.kind == DTC_OUTCOME_ABORTED),
                  "outcome: %s", dtc_result_name(orc));
}
END_TEST

static int keep_all(void *ctx, const dtc_journal_record *r)
{
    struct seen *s = ctx;
    if (s->n < 16)
        s->r[s->n] = *r;
    s->n++;
    return 0;
}

/* A participant process that dies with its commit record staged loses
 * that record alone: its replay hands back the prepare record with the
 * outcome of the durable decision (committed), and nothing else. */
START_TEST(crash_loses_only_staged_done)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct coord c = {.commit = false};
        dtc_participant *p;
        if (dtc_open(inst_name, &inst) != DTC_OK) /* a handle of its own (its pid) */
            _exit(9);
        if (dtc_participant_register(inst, "jcrash", &p) != DTC_OK || run_phase(p, &c) != 0)
            _exit(10);
        c.commit = true;
        if (run_phase(p, &c) != 0 || !dtc__journal_staged(p))
            _exit(11);
        if (write(fds[1], c.id.bytes, 16) != 16)
            _exit(12);
        raise(SIGKILL); /* dies with the commit record staged */
        _exit(13);
    }
    close(fds[1]);
    dtc_txid id;
    ck_assert_int_eq(read(fds[0], id.bytes, 16), 16);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(fds[0]);
    struct count k = in_log(&id);
    ck_assert_int_eq(k.prepares, 1);
    ck_assert_int_eq(k.dones, 0);
    ck_assert_uint_gt(k.commit_lsn, k.prepare_lsn);
    dtc_participant *p;
    ck_assert_int_eq(dtc_participant_register(inst, "jcrash", &p), DTC_OK);
    struct seen s = {0};
    ck_assert_int_eq(dtc_journal_replay(p, 0, keep_all, &s), DTC_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.r[0].kind, DTC_JOURNAL_PREPARED);
    ck_assert_mem_eq(s.r[0].txid.bytes, id.bytes, 16);
    ck_assert_int_eq(s.r[0].outcome, DTC_OUTCOME_COMMITTED);
    dtc_participant_unregister(&p);
}
END_TEST

/* A forked child (a snapshot writer) that calls the journal does not
 * write its copy of the parent's staged records: the parent writes them,
 * once. */
START_TEST(fork_child_leaves_the_stage_to_its_parent)
{
    dtc_txid id;
    uint64_t end;
    memset(id.bytes, 0x5e, 16);
    ck_assert_int_eq(dtc_journal_done(part, &id, 1, "done", 4, NULL), DTC_OK);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(dtc_journal_end(part, &end) == DTC_OK && dtc_journal_flush(part, end) == DTC_OK
                  ? 0
                  : 1);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(in_log(&id).dones, 0);
    ck_assert(dtc__journal_staged(part));
    ck_assert_int_eq(dtc_journal_end(part, &end), DTC_OK);
    ck_assert_int_eq(in_log(&id).dones, 1);
}
END_TEST

struct big {
    int n;
    uint64_t last_end;
    bool ordered;
};

static int check_big(void *ctx, const dtc_journal_record *r)
{
    struct big *b = ctx;
    unsigned char want = (unsigned char)b->n;
    b->ordered &= r->lsn >= b->last_end && r->txid.bytes[0] == want && r->len == 4000
                  && ((const unsigned char *)r->rec)[3999] == want;
    b->last_end = r->end;
    b->n++;
    return 0;
}

/* A stage larger than the encoding buffer and than the rest of the file:
 * written in several writes, across file switches, every record whole and
 * in order. */
START_TEST(stage_across_file_switches)
{
    static unsigned char rec[4000];
    uint64_t first = inst->hdr->sh_dlog_fileno, end;
    for (int i = 0; i < 600; i++) {
        dtc_txid id = {{0}};
        id.bytes[0] = (unsigned char)i;
        memset(rec, i & 0xff, sizeof rec);
        ck_assert_int_eq(dtc_journal_done(part, &id, 1, rec, sizeof rec, NULL), DTC_OK);
    }
    ck_assert_int_eq(dtc_journal_end(part, &end), DTC_OK); /* writes the rest */
    ck_assert(!dtc__journal_staged(part));
    ck_assert_uint_ge(inst->hdr->sh_dlog_fileno, first + 2);
    struct big b = {.ordered = true};
    ck_assert_int_eq(dtc_journal_replay(part, 0, check_big, &b), DTC_OK);
    ck_assert_int_eq(b.n, 600);
    ck_assert(b.ordered);
    ck_assert_uint_le(b.last_end, end);
}
END_TEST

static Suite *journal_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, encode_roundtrip);
    tcase_add_test(tc, prepare_only_from_its_callback);
    tcase_add_test(tc, replay_order_and_outcomes);
    tcase_add_test(tc, replay_refused_while_recovering);
    tcase_add_test(tc, checkpoint_rule);
    tcase_add_test(tc, retention);
    tcase_add_test(tc, staged_prepare_before_vote_done_on_idle);
    tcase_add_test(tc, staged_done_with_next_batch_and_at_unregister);
    tcase_add_test(tc, crash_loses_only_staged_done);
    tcase_add_test(tc, staged_write_failure_fails_the_vote);
    tcase_add_test(tc, fork_child_leaves_the_stage_to_its_parent);
    tcase_add_test(tc, stage_across_file_switches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(journal_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
