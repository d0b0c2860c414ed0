/*
 * check_dlog.c - unit tests of the decision log (src/libdtc/dlog*.c,
 * src/libdtc/recover.c): record encoding and CRC32C, torn and corrupt tails,
 * the file switch with its checkpoint and the pruning of old files,
 * replay of the live set into a fresh segment, and the outcome lookup.
 * Each test gets its own segment and temp directory (CK_FORK).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"

static char inst_name[DTC_INSTANCE_MAX];
static char dir[256];
static dtc_instance *inst;

/* A fresh segment whose log lives in dir, recovered (empty log). */
static dtc_instance *open_log(uint32_t max_txns)
{
    static int counter;
    dtc_limits l;
    dtc_instance *in = NULL;
    struct dtc__dlog_cfg dl = {.files = DTC_DLOG_MIN_FILES};
    dtc_limits_default(&l);
    l.max_txns = max_txns;
    dl.file_size = dtc__dlog_min_file_size(max_txns);
    dtc__strcopy(dl.dir, dir, sizeof dl.dir);
    snprintf(inst_name, sizeof inst_name, "dlog-%d-%d", (int)getpid(), counter++);
    ck_assert_int_eq(dtc__segment_create(inst_name, &l, 0, &dl, &in), DTC_OK);
    ck_assert_int_eq(atomic_load(&in->hdr->sh_recovering), 1);
    ck_assert_int_eq(dtc__dlog_recover(in), DTC_OK);
    ck_assert_int_eq(atomic_load(&in->hdr->sh_recovering), 0);
    return in;
}

/* As after a reboot: the segment is gone, the files stay. */
static void reboot(void)
{
    uint32_t max = inst->max_txns;
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    inst = open_log(max);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_dlog.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    inst = open_log(8);
}

static void teardown(void)
{
    char cmd[300];
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void rec_init(struct dtc__dlog_rec *r, uint8_t type, unsigned char tag, uint32_t n)
{
    memset(r, 0, sizeof *r);
    r->type = type;
    r->state = type == DTC_DLOG_END ? DTC_TXN_COMMITTED : DTC_TXN_COMMITTING;
    memset(r->txid.bytes, tag, 16);
    r->commit_ms = 5000;
    r->nentries = n;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(r->entries[i].name, DTC_NAME_MAX, "part-%u", i);
        r->entries[i].status = DTC_ENTRY_YES;
        r->entries[i].vote = DTC_ENTRY_YES;
        snprintf(r->entries[i].reason, DTC_REASON_MAX, "reason %u", i);
    }
}

static uint64_t append(const struct dtc__dlog_rec *r)
{
    uint64_t end;
    ck_assert_int_eq(dtc__dlog_append(inst, r, &end), DTC_OK);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    return end;
}

START_TEST(encode_roundtrip)
{
    static unsigned char buf[DTC_DLOG_REC_MAX];
    struct dtc__dlog_rec r, d;
    rec_init(&r, DTC_DLOG_COMMIT, 7, DTC_LIMIT_MAX_PARTS_PER_TXN);
    memset(r.entries[3].reason, 'x', DTC_REASON_MAX - 1); /* longest reason */
    r.entries[3].reason[DTC_REASON_MAX - 1] = '\0';
    size_t len = dtc__dlog_encode(&r, 4096, buf);
    ck_assert_uint_eq(len % 8, 0);
    ck_assert_uint_le(len, DTC_DLOG_REC_MAX);
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4096, &d), len);
    ck_assert_uint_eq(d.type, DTC_DLOG_COMMIT);
    ck_assert_mem_eq(d.txid.bytes, r.txid.bytes, 16);
    ck_assert_uint_eq(d.nentries, r.nentries);
    for (uint32_t i = 0; i < r.nentries; i++) {
        ck_assert_str_eq(d.entries[i].name, r.entries[i].name);
        ck_assert_str_eq(d.entries[i].reason, r.entries[i].reason);
    }
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4104, &d), 0);    /* stale LSN */
    ck_assert_uint_eq(dtc__dlog_decode(buf, len - 8, 4096, &d), 0); /* cut short */
    for (size_t k = 4; k < len; k += 37) { /* any flipped byte is caught */
        buf[k] ^= 0x40;
        ck_assert_msg(dtc__dlog_decode(buf, len, 4096, &d) == 0, "flip at %zu", k);
        buf[k] ^= 0x40;
    }
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(dtc__dlog_decode(buf, sizeof buf, 4096, &d), 0); /* zeros: the end */
}
END_TEST

START_TEST(crc32c_known_value)
{
    /* RFC 3720's test vector: 32 bytes of zeros. */
    unsigned char zeros[32] = {0};
    ck_assert_uint_eq(dtc__crc32c(0, zeros, sizeof zeros), 0x8a9136aau);
    ck_assert_uint_eq(dtc__crc32c(0, "123456789", 9), 0xe3069283u);
}
END_TEST

struct seen {
    int n, commits, ends;
    uint64_t last_lsn;
};

static int count(void *ctx, const struct dtc__dlog_rec *r)
{
    struct seen *s = ctx;
    ck_assert_uint_gt(r->lsn, s->last_lsn); /* in order */
    s->last_lsn = r->lsn;
    s->n++;
    s->commits += r->type == DTC_DLOG_COMMIT;
    s->ends += r->type == DTC_DLOG_END;
    return 0;
}

START_TEST(scan_in_order)
{
    struct dtc__dlog_rec r;
    for (int i = 0; i < 50; i++) {
        rec_init(&r, i % 2 ? DTC_DLOG_END : DTC_DLOG_COMMIT, (unsigned char)(i / 2 + 1), 3);
        append(&r);
    }
    struct seen s = {0};
    uint64_t end;
    ck_assert_int_eq(dtc__dlog_scan(dir, count, &s, &end, NULL, NULL), DTC_OK);
    ck_assert_int_eq(s.n, 50);
    ck_assert_int_eq(s.commits, 25);
    ck_assert_uint_eq(end, inst->hdr->sh_dlog_end);
    ck_assert_uint_ge(atomic_load(&inst->hdr->sh_dlog_durable), end);
}
END_TEST

/* Garbage over the last record (a torn write): the scan stops before it,
 * recovery wipes it, and the log goes on from there. */
START_TEST(torn_tail_ignored_and_wiped)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t first = append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 2, 2);
    uint64_t second = append(&r);
    uint64_t no = inst->hdr->sh_dlog_fileno, size = inst->dlog_file_size;
    int fd = dtc__dlog_open(dir, no, O_RDWR);
    ck_assert_int_ge(fd, 0);
    unsigned char junk[24];
    memset(junk, 0xa5, sizeof junk);
    ck_assert_int_eq(pwrite(fd, junk, sizeof junk, (off_t)(first - no * size + 20)), sizeof junk);
    /* and a valid-looking record after the end must never be read */
    close(fd);
    struct seen s = {0};
    uint64_t end;
    ck_assert_int_eq(dtc__dlog_scan(dir, count, &s, &end, NULL, NULL), DTC_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_uint_eq(end, first);
    reboot(); /* recovery wipes from `first` on */
    ck_assert_uint_eq(inst->hdr->sh_dlog_end, first);
    fd = dtc__dlog_open(dir, no, O_RDONLY);
    unsigned char back[64];
    ck_assert_int_eq(pread(fd, back, sizeof back, (off_t)(second - no * size - 64)), 64);
    close(fd);
    for (size_t k = 0; k < sizeof back; k++)
        ck_assert_uint_eq(back[k], 0);
    rec_init(&r, DTC_DLOG_END, 1, 2);
    append(&r);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(dtc__dlog_scan(dir, count, &s, NULL, NULL, NULL), DTC_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.ends, 1);
}
END_TEST

/* Puts slot i in `state` with one entry, as a coordinator would. */
static void fake_slot(uint32_t i, uint32_t state, unsigned char tag)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, i);
    ts->ts_gen++;
    memset(ts->ts_txid, tag, 16);
    ts->ts_nentries = 1;
    memset(&ts->ts_entries[0], 0, sizeof ts->ts_entries[0]);
    snprintf(ts->ts_entries[0].te_name, DTC_NAME_MAX, "payment");
    ts->ts_entries[0].te_vote = DTC_ENTRY_YES;
    ts->ts_commit_ms = 5000;
    ts->ts_state = state;
}

/* Fills files until the log has moved `files` files on. */
static void fill_files(int files)
{
    struct dtc__dlog_rec r;
    uint64_t start = inst->hdr->sh_dlog_fileno;
    rec_init(&r, DTC_DLOG_END, 0x77, 1);
    for (long i = 0; inst->hdr->sh_dlog_fileno < start + (uint64_t)files; i++) {
        uint64_t end;
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
        ck_assert_int_lt(i, 10000000);
    }
}

START_TEST(switch_copies_live_and_prunes)
{
    struct dtc__dlog_rec r;
    fake_slot(0, DTC_TXN_COMMITTING, 0x11);
    rec_init(&r, DTC_DLOG_COMMIT, 0x11, 1);
    append(&r); /* its decision, in the first file */
    fake_slot(1, DTC_TXN_HEURISTIC, 0x22);
    fill_files(5);
    dtc__dlog_maintain(inst); /* deletes all but the last 3 files */
    uint64_t *v;
    long n = dtc__dlog_list(dir, &v);
    ck_assert_int_eq(n, DTC_DLOG_MIN_FILES);
    ck_assert_uint_eq(v[n - 1], inst->hdr->sh_dlog_fileno);
    free(v);
    char spare[300];
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    ck_assert_int_eq(access(spare, F_OK), 0); /* the next file is ready */
    /* the first file is gone, yet both decisions survive a reboot */
    reboot();
    int committing = 0, heuristic = 0;
    for (uint32_t i = 0; i < inst->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(inst, i);
        committing += ts->ts_state == DTC_TXN_COMMITTING && ts->ts_txid[0] == 0x11;
        heuristic += ts->ts_state == DTC_TXN_HEURISTIC && ts->ts_txid[0] == 0x22;
        if (ts->ts_state != DTC_TXN_FREE) {
            ck_assert(ts->ts_flags & DTC_TS_RECOVERED);
            ck_assert_str_eq(ts->ts_entries[0].te_name, "payment");
        }
    }
    ck_assert_int_eq(committing, 1);
    ck_assert_int_eq(heuristic, 1);
}
END_TEST

/* The file switch cannot rename a spare into place (a directory sits at
 * dlog.spare, so making one fails too): the append that needs the switch
 * fails with DTC_ELOG (its caller acts on nothing), what was written
 * stays readable, and once the obstacle is gone the log switches and goes
 * on. */
START_TEST(switch_failure_is_an_error)
{
    char spare[300];
    struct dtc__dlog_rec r;
    uint64_t end;
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    remove(spare);
    ck_assert_int_eq(mkdir(spare, 0700), 0);
    uint64_t no = inst->hdr->sh_dlog_fileno;
    rec_init(&r, DTC_DLOG_END, 0x33, 1);
    dtc_result rc = DTC_OK;
    for (long i = 0; rc == DTC_OK && i < 10000000; i++)
        rc = dtc__dlog_append(inst, &r, &end);
    ck_assert_int_eq(rc, DTC_ELOG);
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no); /* still the old file */
    struct seen s = {0};
    ck_assert_int_eq(dtc__dlog_scan(dir, count, &s, NULL, NULL, NULL), DTC_OK);
    ck_assert_int_gt(s.n, 1000);
    ck_assert_int_eq(rmdir(spare), 0);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no + 1);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
}
END_TEST

static int slot_state(unsigned char tag)
{
    for (uint32_t i = 0; i < inst->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(inst, i);
        if (ts->ts_state != DTC_TXN_FREE && ts->ts_txid[0] == tag)
            return (int)ts->ts_state;
    }
    return -1;
}

START_TEST(replay_live_set)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2); /* committed, ended */
    append(&r);
    rec_init(&r, DTC_DLOG_END, 1, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 2, 2); /* decided, not ended */
    append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 3, 2); /* commit failed: compensating */
    append(&r);
    rec_init(&r, DTC_DLOG_COMPENSATE, 3, 2);
    r.flags = DTC_DLOG_F_COMMIT_FAILED;
    append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 4, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_END, 5, 2); /* an abort: never live */
    append(&r);
    reboot();
    ck_assert_int_eq(slot_state(1), -1);
    ck_assert_int_eq(slot_state(2), DTC_TXN_COMMITTING);
    ck_assert_int_eq(slot_state(3), DTC_TXN_ABORTING);
    ck_assert_int_eq(slot_state(4), DTC_TXN_HEURISTIC);
    ck_assert_int_eq(slot_state(5), -1);
    reboot(); /* replay again: the same slots, none twice */
    int used = 0;
    for (uint32_t i = 0; i < inst->max_txns; i++)
        used += dtc__txn(inst, i)->ts_state != DTC_TXN_FREE;
    ck_assert_int_eq(used, 3);
}
END_TEST

START_TEST(replay_refuses_more_than_fits)
{
    struct dtc__dlog_rec r;
    for (unsigned char t = 1; t <= 9; t++) { /* 9 live decisions, 8 slots */
        rec_init(&r, DTC_DLOG_COMMIT, t, 1);
        append(&r);
    }
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    dtc_limits l;
    dtc_limits_default(&l);
    l.max_txns = 8;
    struct dtc__dlog_cfg dl = {.files = DTC_DLOG_MIN_FILES, .file_size = dtc__dlog_min_file_size(8)};
    dtc__strcopy(dl.dir, dir, sizeof dl.dir);
    ck_assert_int_eq(dtc__segment_create(inst_name, &l, 0, &dl, &inst), DTC_OK);
    ck_assert_int_eq(dtc__dlog_recover(inst), DTC_ELOG);
    ck_assert_int_eq(atomic_load(&inst->hdr->sh_recovering), 1); /* nothing presumed */
    dtc_txid id;
    memset(id.bytes, 0x55, 16);
    dtc_outcome o;
    /* no dtcd runs to finish the replay: said so, nothing presumed */
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_ENOSUPERVISOR);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ENOSUPERVISOR);
    /* a live supervisor (this process stands in) is still replaying */
    inst->hdr->sh_sup_start = dtc__proc_start_time(getpid());
    inst->hdr->sh_sup_pid = getpid();
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_ERECOVERING);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ERECOVERING);
    inst->hdr->sh_sup_pid = 0;
}
END_TEST

START_TEST(outcome_from_log)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 9, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_END, 9, 2);
    snprintf(r.entries[1].reason, DTC_REASON_MAX, "done late");
    append(&r);
    rec_init(&r, DTC_DLOG_END, 10, 1);
    r.state = DTC_TXN_ABORTED;
    r.result = DTC_EREFUSED;
    r.entries[0].vote = DTC_ENTRY_NO;
    append(&r);
    fill_files(1); /* the records are in an older file now */
    dtc_outcome o;
    dtc_txid id;
    memset(id.bytes, 9, 16);
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_COMMITTED);
    ck_assert_int_eq(o.from_log, 1);
    ck_assert_uint_eq(o.info.nentries, 2);
    ck_assert_str_eq(o.info.entries[1].reason, "done late");
    memset(id.bytes, 10, 16);
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_ABORTED);
    ck_assert_int_eq(o.result, DTC_EREFUSED);
    memset(id.bytes, 11, 16);
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_ENOTFOUND);
}
END_TEST

/* A file holds two full checkpoints of the largest table. */
START_TEST(min_file_size_holds_checkpoints)
{
    ck_assert_uint_ge(dtc__dlog_min_file_size(DTC_LIMIT_MAX_TXNS),
                      2u * DTC_LIMIT_MAX_TXNS * DTC_DLOG_REC_MAX);
    ck_assert_uint_eq(dtc__dlog_min_file_size(1) % DTC_DLOG_MIN_FILE, 0);
}
END_TEST

static Suite *dlog_suite(void)
{
    Suite *s = suite_create("dlog");
    TCase *tc = tcase_create("dlog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, encode_roundtrip);
    tcase_add_test(tc, crc32c_known_value);
    tcase_add_test(tc, scan_in_order);
    tcase_add_test(tc, torn_tail_ignored_and_wiped);
    tcase_add_test(tc, switch_copies_live_and_prunes);
    tcase_add_test(tc, switch_failure_is_an_error);
    tcase_add_test(tc, replay_live_set);
    tcase_add_test(tc, replay_refuses_more_than_fits);
    tcase_add_test(tc, outcome_from_log);
    tcase_add_test(tc, min_file_size_holds_checkpoints);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dlog_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
