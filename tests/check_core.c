/*
 * check_core.c - unit tests of libdtc's core: segment layout and
 * validation, the state machine's transitions, result codes, names and
 * ids, lock repair after a holder died, liveness under pid reuse, fault
 * points, the log format (logfmt, journald) and the metrics' lockless,
 * read-only reading.  Check with CK_FORK: every test runs in its own process, so
 * tests can kill processes holding locks on purpose.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/logfmt_lint.h"
#include "internal.h"

static char inst_name[DTC_INSTANCE_MAX];
static dtc_instance *inst;

static void seg_setup(void)
{
    static int counter;
    dtc_limits l;
    dtc_limits_default(&l);
    snprintf(inst_name, sizeof inst_name, "core-%d-%d", (int)getpid(), counter++);
    ck_assert_int_eq(dtc__segment_create(inst_name, &l, 0, NULL, &inst), DTC_OK);
}

static void seg_teardown(void)
{
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
}

START_TEST(segment_size_linear)
{
    dtc_limits a = {100, 10, 64}, b = {200, 10, 64}, c = {300, 10, 64};
    size_t sa = dtc_segment_size(&a), sb = dtc_segment_size(&b), sc = dtc_segment_size(&c);
    ck_assert_uint_gt(sb, sa);
    ck_assert_uint_eq(sc - sb, sb - sa);
    dtc_limits zero = {0, 10, 64}, huge = {DTC_LIMIT_MAX_TXNS + 1, 10, 64};
    ck_assert_uint_eq(dtc_segment_size(&zero), 0);
    ck_assert_uint_eq(dtc_segment_size(&huge), 0);
}
END_TEST

START_TEST(segment_attach_ok)
{
    dtc_instance *other;
    ck_assert_int_eq(dtc_open(inst_name, &other), DTC_OK);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(other, &st), DTC_OK);
    ck_assert_uint_eq(st.limits.max_txns, DTC_DEFAULT_MAX_TXNS);
    ck_assert_uint_eq(st.limits.max_parts_per_txn, DTC_DEFAULT_MAX_PARTS_PER_TXN);
    ck_assert_uint_eq(st.segment_size, dtc_segment_size(&st.limits));
    ck_assert_uint_eq(st.txns_in_use, 0);
    dtc_close(&other);
    ck_assert_ptr_null(other);
}
END_TEST

START_TEST(segment_missing)
{
    dtc_instance *other = (dtc_instance *)1;
    ck_assert_int_eq(dtc_open("no-such-instance-xyz", &other), DTC_ENOSEGMENT);
    ck_assert_ptr_null(other);
    ck_assert_int_eq(dtc_open("bad/name", &other), DTC_EINVAL);
}
END_TEST

/* Each scribble on the header makes attach fail with its own code. */
static void expect_attach(dtc_result want)
{
    dtc_instance *other = NULL;
    ck_assert_int_eq(dtc_open(inst_name, &other), want);
    ck_assert_ptr_null(other);
}

START_TEST(segment_bad_magic)
{
    inst->hdr->sh_magic ^= 1;
    expect_attach(DTC_EMAGIC);
}
END_TEST

START_TEST(segment_bad_version)
{
    inst->hdr->sh_version = DTC_LAYOUT_VERSION + 1;
    expect_attach(DTC_EVERSION);
}
END_TEST

START_TEST(segment_bad_sizes)
{
    inst->hdr->sh_max_txns = 101; /* size no longer matches the limits */
    expect_attach(DTC_ESIZE);
    inst->hdr->sh_max_txns = DTC_DEFAULT_MAX_TXNS;
    inst->hdr->sh_txn_slot_size += 64;
    expect_attach(DTC_ESIZE);
    inst->hdr->sh_txn_slot_size -= 64;
    inst->hdr->sh_format ^= 0x10;
    expect_attach(DTC_ESIZE);
}
END_TEST

START_TEST(segment_torn_header)
{
    atomic_store(&inst->hdr->sh_ready, 0); /* creator died mid-init */
    expect_attach(DTC_ECORRUPT);
}
END_TEST

START_TEST(segment_create_twice)
{
    dtc_limits l;
    dtc_instance *other = NULL;
    dtc_limits_default(&l);
    ck_assert_int_eq(dtc__segment_create(inst_name, &l, 0, NULL, &other), DTC_EEXIST);
}
END_TEST

START_TEST(transitions)
{
    static const int legal[][2] = {
        {DTC_TXN_FREE, DTC_TXN_ACTIVE},         {DTC_TXN_ACTIVE, DTC_TXN_PREPARING},
        {DTC_TXN_ACTIVE, DTC_TXN_ABORTING},     {DTC_TXN_PREPARING, DTC_TXN_PREPARED},
        {DTC_TXN_PREPARING, DTC_TXN_ABORTING},  {DTC_TXN_PREPARED, DTC_TXN_COMMITTING},
        {DTC_TXN_PREPARED, DTC_TXN_ABORTING},   {DTC_TXN_COMMITTING, DTC_TXN_COMMITTED},
        {DTC_TXN_COMMITTING, DTC_TXN_ABORTING}, {DTC_TXN_ABORTING, DTC_TXN_ABORTED},
        {DTC_TXN_ABORTING, DTC_TXN_HEURISTIC},  {DTC_TXN_COMMITTED, DTC_TXN_FREE},
        {DTC_TXN_ABORTED, DTC_TXN_FREE},        {DTC_TXN_HEURISTIC, DTC_TXN_FREE},
        {DTC_TXN_HEURISTIC, DTC_TXN_ABORTING},  {DTC_TXN_HEURISTIC, DTC_TXN_COMMITTING},
        {DTC_TXN_COMMITTING, DTC_TXN_HEURISTIC}}; /* the decision log failed */
    int nlegal = 0;
    for (int from = 0; from < DTC_TXN_STATE_COUNT; from++)
        for (int to = 0; to < DTC_TXN_STATE_COUNT; to++) {
            bool want = false;
            for (size_t k = 0; k < sizeof legal / sizeof legal[0]; k++)
                want |= legal[k][0] == from && legal[k][1] == to;
            ck_assert_msg(dtc__txn_transition_ok(from, to) == want, "%s -> %s",
                          dtc_txn_state_name(from), dtc_txn_state_name(to));
            nlegal += want;
        }
    ck_assert_int_eq(nlegal, 17);
    ck_assert(!dtc__txn_transition_ok(DTC_TXN_STATE_COUNT, DTC_TXN_FREE));
    ck_assert(!dtc__txn_transition_ok(DTC_TXN_ACTIVE, 99));
}
END_TEST

START_TEST(result_codes)
{
    for (int a = 0; a < DTC_RESULT_COUNT; a++) {
        ck_assert_str_ne(dtc_strerror(a), "unknown result code");
        ck_assert_str_ne(dtc_result_name(a), "DTC_E?");
        for (int b = 0; b < a; b++) {
            ck_assert_str_ne(dtc_strerror(a), dtc_strerror(b));
            ck_assert_str_ne(dtc_result_name(a), dtc_result_name(b));
        }
    }
    ck_assert_str_eq(dtc_strerror(DTC_RESULT_COUNT), "unknown result code");
    ck_assert_str_eq(dtc_strerror(-1), "unknown result code");
    ck_assert_str_eq(dtc_result_name(DTC_EREFUSED), "DTC_EREFUSED");
}
END_TEST

/* A reason "code: text" splits once; anything else is all text. */
START_TEST(reason_codes)
{
    static const struct { const char *in, *code, *text; } cases[] = {
        {"out_of_stock: out of stock: w has 1, wants 2", "out_of_stock",
         "out of stock: w has 1, wants 2"},
        {"held: w is held by another transaction", "held", "w is held by another transaction"},
        {"presumed abort: nothing was promised", "", "presumed abort: nothing was promised"},
        {"participant died", "", "participant died"},
        {"Code: upper case is text", "", "Code: upper case is text"},
        {"9lives: a digit first is text", "", "9lives: a digit first is text"},
        {"no_space:after the colon", "", "no_space:after the colon"},
        {"a_code_far_too_long_for_it: x", "", "a_code_far_too_long_for_it: x"},
        {"zone_full: ", "zone_full", ""},
        {"", "", ""},
    };
    char code[DTC_REASON_CODE_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_str_eq(dtc_reason_split(cases[i].in, code), cases[i].text);
        ck_assert_str_eq(code, cases[i].code);
    }
    ck_assert_str_eq(dtc_reason_split(NULL, code), "");
    ck_assert_str_eq(code, "");
}
END_TEST

/* One definition of a failed enlistment: its vote first, then its answer. */
START_TEST(entry_failure)
{
    for (int st = 0; st < DTC_ENTRY_STATUS_COUNT; st++) {
        bool bad = st == DTC_ENTRY_NO || st == DTC_ENTRY_ERROR || st == DTC_ENTRY_TIMEOUT
                   || st == DTC_ENTRY_DEAD;
        ck_assert_int_eq(dtc_entry_status_failed((dtc_entry_status)st), bad);
    }
    dtc_entry_info e = {.vote = DTC_ENTRY_YES, .status = DTC_ENTRY_YES};
    ck_assert(!dtc_entry_failed(&e));
    ck_assert_int_eq(dtc_entry_failure(&e), DTC_ENTRY_IDLE);
    e.status = DTC_ENTRY_TIMEOUT; /* a commit that timed out */
    ck_assert(dtc_entry_failed(&e));
    ck_assert_int_eq(dtc_entry_failure(&e), DTC_ENTRY_TIMEOUT);
    e.vote = DTC_ENTRY_NO; /* the vote is the telling one */
    ck_assert_int_eq(dtc_entry_failure(&e), DTC_ENTRY_NO);
    ck_assert(!dtc_entry_failed(NULL));
}
END_TEST

START_TEST(txid_roundtrip)
{
    dtc_txid a, b;
    char s[DTC_TXID_STRLEN];
    memset(&a, 0xab, sizeof a);
    dtc_txid_format(&a, s);
    ck_assert_uint_eq(strlen(s), 36);
    ck_assert_int_eq(dtc_txid_parse(s, &b), DTC_OK);
    ck_assert_mem_eq(a.bytes, b.bytes, 16);
    ck_assert_int_eq(dtc_txid_parse("not-a-uuid", &b), DTC_EINVAL);
    ck_assert_int_eq(dtc_txid_parse("abababab-abab-abab-abab-abababababaZ", &b), DTC_EINVAL);
    ck_assert_int_eq(dtc_txid_parse(NULL, &b), DTC_EINVAL);
}
END_TEST

/* Ids are random version 4 UUIDs: version and variant bits set, and
 * consecutive ids (also across a fork) share no structure: more than
 * their last 4 bytes differ.  (They once were one random base per thread
 * with a counter XORed into bytes 12..15.) */
static int differing_bytes(const dtc_txid *a, const dtc_txid *b, int upto)
{
    int d = 0;
    for (int i = 0; i < upto; i++)
        d += a->bytes[i] != b->bytes[i];
    return d;
}

START_TEST(txid_random_v4)
{
    enum { N = 200 };
    dtc_txid ids[N];
    int same_head = 0;
    for (int i = 0; i < N; i++) {
        dtc__txid_new(&ids[i]);
        ck_assert_uint_eq(ids[i].bytes[6] >> 4, 4);      /* version 4 */
        ck_assert_uint_eq(ids[i].bytes[8] >> 6, 2);      /* RFC 4122 variant */
        char s[DTC_TXID_STRLEN];
        dtc_txid_format(&ids[i], s);
        ck_assert(s[14] == '4' && strchr("89ab", s[19]) != NULL);
        if (i > 0)
            same_head += differing_bytes(&ids[i - 1], &ids[i], 12) < 6;
    }
    ck_assert_int_eq(same_head, 0); /* bytes 0..11 differ, id after id */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    dtc_txid mine;
    if (child == 0) {
        dtc__txid_new(&mine);
        _exit(write(fds[1], &mine, sizeof mine) == (ssize_t)sizeof mine ? 0 : 1);
    }
    dtc_txid theirs;
    dtc__txid_new(&mine);
    ck_assert_int_eq(read(fds[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);
    waitpid(child, NULL, 0);
    ck_assert_int_gt(differing_bytes(&mine, &theirs, 16), 6);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(names)
{
    ck_assert(dtc__name_valid("inventory"));
    ck_assert(dtc__name_valid("shipping-slow.2_b"));
    ck_assert(!dtc__name_valid(""));
    ck_assert(!dtc__name_valid("has space"));
    ck_assert(!dtc__name_valid("a/b"));
    ck_assert(!dtc__name_valid("0123456789012345678901234567890123")); /* 34 chars */
    char buf[DTC_INSTANCE_MAX];
    ck_assert_int_eq(dtc_resolve_instance("x y", buf), DTC_EINVAL);
    setenv("DTC_INSTANCE", "from-env", 1);
    ck_assert_int_eq(dtc_resolve_instance(NULL, buf), DTC_OK);
    ck_assert_str_eq(buf, "from-env");
    unsetenv("DTC_INSTANCE");
    ck_assert_int_eq(dtc_resolve_instance(NULL, buf), DTC_OK);
    ck_assert_str_eq(buf, "default");
}
END_TEST

START_TEST(liveness_pid_reuse)
{
    uint64_t start = dtc__proc_start_time(getpid());
    ck_assert_uint_gt(start, 0);
    ck_assert(dtc__proc_alive(getpid(), start));
    /* The start time does not move while the process grows (reading the
     * neighbouring field, vsize, once made dtcd reclaim live processes). */
    void *big = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(big, MAP_FAILED);
    ck_assert_uint_eq(dtc__proc_start_time(getpid()), start);
    munmap(big, 64 << 20);
    /* Same pid, other start time: the recorded process is gone. */
    ck_assert(!dtc__proc_alive(getpid(), start + 1));
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    ck_assert(!dtc__proc_alive(child, start));
    ck_assert(!dtc__proc_alive(0, start));
}
END_TEST

/* A child takes a txn slot's lock, optionally scribbles, and is killed. */
/* A child process locks m, writes value into *field (if field), and is
 * killed holding m. */
static void die_holding(pthread_mutex_t *m, uint32_t *field, uint32_t value)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        pthread_mutex_lock(m);
        if (field != NULL)
            *field = value;
        ck_assert_int_eq(write(fds[1], "x", 1), 1);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fds[0]);
    close(fds[1]);
}

static void die_holding_txn_lock(struct dtc_txn_slot *ts, uint32_t scribble_nentries)
{
    die_holding(&ts->ts_lock, scribble_nentries ? &ts->ts_nentries : NULL, scribble_nentries);
}

START_TEST(lock_owner_died_repaired)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, 3);
    ts->ts_pending = 7; /* stale count: repair recounts it */
    die_holding_txn_lock(ts, 0);
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_OK);
    ck_assert_uint_eq(ts->ts_pending, 0);
    ck_assert(!(ts->ts_flags & DTC_TS_QUARANTINED));
    dtc__unlock(&ts->ts_lock);
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_OK); /* consistent again */
    dtc__unlock(&ts->ts_lock);
}
END_TEST

START_TEST(lock_owner_died_quarantine)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, 5);
    die_holding_txn_lock(ts, 9999); /* out of bounds: cannot be trusted */
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_ECORRUPT);
    ck_assert(ts->ts_flags & DTC_TS_QUARANTINED);
    dtc_status st;
    dtc_get_status(inst, &st);
    ck_assert_uint_eq(st.corrupt_slots, 1);
    /* begin never hands out the quarantined slot */
    for (uint32_t i = 0; i < inst->max_txns - 1; i++) {
        dtc_txid id;
        ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    }
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ETXNFULL);
}
END_TEST

/* One string field of an entry, for txn_valid_verdict. */
struct str_field {
    size_t off, size;
};
#define STR_FIELD(f) {offsetof(struct dtc_txn_entry, f), sizeof(((struct dtc_txn_entry *)0)->f)}

/* The validation run at every txn slot lock reads each string's last
 * byte and checks the rest in full only when something is off: its
 * verdict is the full check's.  A string whose last byte is not NUL but
 * which ends earlier is sound; one with no NUL at all, or any bounded
 * field out of range, is not, and the lock quarantines the slot. */
START_TEST(txn_valid_verdict)
{
    static const struct str_field strs[] = {
        STR_FIELD(te_name),          STR_FIELD(te_reason),  STR_FIELD(te_vote_reason),
        STR_FIELD(te_enlist_reason), STR_FIELD(te_payload), STR_FIELD(te_failed_reason)};
    struct dtc_txn_slot *ts = dtc__txn(inst, 2);
    ts->ts_nentries = 2;
    for (uint32_t i = 0; i < 2; i++) {
        struct dtc_txn_entry *e = &ts->ts_entries[i];
        memset(e, 0, sizeof *e);
        snprintf(e->te_name, sizeof e->te_name, "n%u", i);
    }
    ck_assert(dtc__txn_valid(inst, ts));
    struct dtc_txn_entry *e = &ts->ts_entries[1];
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
        char *f = (char *)e + strs[k].off;
        f[strs[k].size - 1] = 'x'; /* ended earlier: sound */
        ck_assert_msg(dtc__txn_valid(inst, ts), "string %zu: NUL before its last byte", k);
        memset(f, 'x', strs[k].size); /* no NUL anywhere */
        ck_assert_msg(!dtc__txn_valid(inst, ts), "string %zu: unterminated", k);
        memset(f, 0, strs[k].size);
    }
    ck_assert(dtc__txn_valid(inst, ts));
    struct dtc_txn_entry good = *e;
    e->te_part = inst->max_participants;
    ck_assert(!dtc__txn_valid(inst, ts));
    *e = good;
    e->te_op = DTC_OP_COUNT;
    ck_assert(!dtc__txn_valid(inst, ts));
    *e = good;
    e->te_status = DTC_ENTRY_STATUS_COUNT;
    ck_assert(!dtc__txn_valid(inst, ts));
    *e = good;
    e->te_vote = DTC_ENTRY_STATUS_COUNT;
    ck_assert(!dtc__txn_valid(inst, ts));
    *e = good;
    e->te_enlist_status = DTC_ENTRY_STATUS_COUNT;
    ck_assert(!dtc__txn_valid(inst, ts));
    *e = good;
    e->te_payload_len = DTC_PAYLOAD_MAX + 1;
    ck_assert(!dtc__txn_valid(inst, ts));
    *e = good;
    ts->ts_nentries = inst->max_parts + 1;
    ck_assert(!dtc__txn_valid(inst, ts));
    ts->ts_nentries = 2;

    /* through the lock: ended early locks; unterminated quarantines */
    e->te_reason[sizeof e->te_reason - 1] = 'x';
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_OK);
    dtc__unlock(&ts->ts_lock);
    memset(e->te_reason, 'x', sizeof e->te_reason);
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_ECORRUPT);
    ck_assert(ts->ts_flags & DTC_TS_QUARANTINED);

    /* a participant slot's name, checked the same way at its lock */
    struct dtc_part_slot *ps = dtc__part(inst, 1);
    memset(ps->ps_name, 0, sizeof ps->ps_name);
    ps->ps_name[sizeof ps->ps_name - 1] = 'x';
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_OK);
    dtc__unlock(&ps->ps_lock);
    memset(ps->ps_name, 'x', sizeof ps->ps_name);
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_ECORRUPT);
    ck_assert_uint_eq(ps->ps_state, DTC_PS_QUARANTINED);
}
END_TEST

/* The participant slot registered as `name` (LIVE), or NULL. */
static struct dtc_part_slot *part_named(const char *name)
{
    for (uint32_t i = 0; i < inst->max_participants; i++) {
        struct dtc_part_slot *ps = dtc__part(inst, i);
        if (ps->ps_state == DTC_PS_LIVE && strcmp(ps->ps_name, name) == 0)
            return ps;
    }
    return NULL;
}

#define BAD_TAIL 0x2000000000000001ULL /* (tail - head) * 8 wraps to 8 */

/* Issue 9.3: a dead participant's ring tail scribbled; re-registering
 * its name reclaims the slot: no heap overflow, nothing failed from the
 * bad ring, a clean new registration. */
START_TEST(reregister_scribbled_ring)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        dtc_instance *in2;
        dtc_participant *p;
        if (dtc_open(inst_name, &in2) != DTC_OK || dtc_participant_register(in2, "p1", &p) != DTC_OK)
            _exit(1);
        _exit(0); /* dies registered */
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct dtc_part_slot *ps = part_named("p1");
    ck_assert_ptr_nonnull(ps);
    ps->ps_tail = BAD_TAIL;
    dtc_participant *p = NULL;
    ck_assert_int_eq(dtc_participant_register(inst, "p1", &p), DTC_OK);
    ck_assert_ptr_eq(part_named("p1"), ps);
    ck_assert_uint_eq(ps->ps_head, ps->ps_tail);
    dtc_participant_info pi;
    size_t n = 0;
    ck_assert_int_eq(dtc_list_participants(inst, &pi, 1, &n), DTC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(pi.pending, 0);
    dtc_participant_unregister(&p);
    ck_assert_ptr_null(part_named("p1"));
}
END_TEST

/* Issue 9.3: a live participant unregisters with a scribbled ring (both
 * directions: tail far ahead, tail behind head). */
START_TEST(unregister_scribbled_ring)
{
    static const uint64_t heads[] = {0, 5};
    static const uint64_t tails[] = {BAD_TAIL, 3};
    for (int k = 0; k < 2; k++) {
        dtc_participant *p = NULL;
        ck_assert_int_eq(dtc_participant_register(inst, "p2", &p), DTC_OK);
        struct dtc_part_slot *ps = part_named("p2");
        ck_assert_ptr_nonnull(ps);
        ps->ps_head = heads[k];
        ps->ps_tail = tails[k];
        dtc_participant_unregister(&p);
        ck_assert_ptr_null(p);
        ck_assert_ptr_null(part_named("p2"));
        ck_assert_uint_eq(ps->ps_state, DTC_PS_FREE);
    }
}
END_TEST

static dtc_vote vote_yes(void *ctx, const dtc_request *rq)
{
    (void)ctx, (void)rq;
    return DTC_VOTE_YES;
}

static int done_ok(void *ctx, const dtc_request *rq)
{
    (void)ctx, (void)rq;
    return 0;
}

/* Registers `name` on inst: its handle in *p, its slot returned. */
static struct dtc_part_slot *registered(const char *name, dtc_participant **p)
{
    ck_assert_int_eq(dtc_participant_register(inst, name, p), DTC_OK);
    uint32_t idx, gen;
    ck_assert_int_eq(dtc__part_find(inst, name, &idx, &gen), DTC_OK);
    return dtc__part(inst, idx);
}

/* A pusher killed holding a participant's wake lock (it may have died
 * inside pthread_cond_signal): the next waker repairs it without
 * signalling and marks the condvar suspect; the participant re-initializes
 * it before its next wait, and waking works again. */
START_TEST(wake_lock_owner_died)
{
    dtc_participant *p;
    struct dtc_part_slot *ps = registered("waker-test", &p);
    die_holding(&ps->ps_wake.wk_lock, NULL, 0);
    dtc__wake_send(inst, &ps->ps_wake, &ps->ps_cond); /* EOWNERDEAD: repaired, no signal */
    ck_assert_uint_eq(atomic_load(&ps->ps_wake.wk_suspect), DTC_WAKE_SUSPECT);
    dtc__wake_send(inst, &ps->ps_wake, &ps->ps_cond); /* consistent: still suspect */
    ck_assert_uint_eq(atomic_load(&ps->ps_wake.wk_suspect), DTC_WAKE_SUSPECT);
    dtc_participant_ops ops = {NULL, vote_yes, done_ok, done_ok, NULL, NULL};
    unsigned served = 9;
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 30, &served), DTC_OK);
    ck_assert_uint_eq(served, 0);
    ck_assert_uint_eq(atomic_load(&ps->ps_wake.wk_suspect), 0); /* renewed before waiting */
    ck_assert_uint_eq(ps->ps_wake.wk_sleepers, 0);
    ck_assert_uint_eq(ps->ps_wake.wk_sent, 0);
    dtc_participant_unregister(&p);
}
END_TEST

/* dtc_close while a participant registered through the handle still
 * serves: the segment stays mapped for it (it used to be unmapped under
 * the serving participant: a crash, or a use-after-free), and the
 * participant's unregister detaches it. */
START_TEST(close_while_participant_serves)
{
    dtc_instance *in2 = NULL;
    ck_assert_int_eq(dtc_open(inst_name, &in2), DTC_OK);
    dtc_participant *p;
    ck_assert_int_eq(dtc_participant_register(in2, "outlives", &p), DTC_OK);
    dtc_close(&in2);
    ck_assert_ptr_null(in2);
    dtc_participant_ops ops = {NULL, vote_yes, done_ok, done_ok, NULL, NULL};
    unsigned served = 9;
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 10, &served), DTC_OK);
    ck_assert_uint_eq(served, 0);
    uint32_t idx, gen;
    ck_assert_int_eq(dtc__part_find(inst, "outlives", &idx, &gen), DTC_OK); /* still live */
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
    ck_assert_int_eq(dtc__part_find(inst, "outlives", &idx, &gen), DTC_EUNKNOWN);
}
END_TEST

/* One waiter in a slot's condvar, forked: it waits one wait slice. */
static pid_t fork_waiter(struct dtc_part_slot *ps, int ms)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (dtc__part_lock(inst, ps) != DTC_OK)
            _exit(3);
        dtc__wake_wait(inst, &ps->ps_wake, &ps->ps_cond, &ps->ps_lock, NULL, NULL,
                       dtc__now_ns() + (int64_t)ms * 1000000);
        dtc__unlock(&ps->ps_lock);
        _exit(0);
    }
    return pid;
}

/* A waker, forked: 0 if its signal returned within 3 s. */
static int wake_returns(struct dtc_part_slot *ps)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dtc__wake_send(inst, &ps->ps_wake, &ps->ps_cond);
        _exit(0);
    }
    int st = -1;
    for (int i = 0; i < 300 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
    }
    return 0;
}

/* A condvar re-initialized while a live waiter is inside it (the slot
 * taken over from an owner that a scribbled pid made look dead): the
 * waiter's return leaves glibc's counters of the fresh condvar below
 * zero (checked on glibc 2.36: __g_refs and __wrefs wrap).  The next
 * signal, with a new waiter inside, must still return (a wake-up it
 * misses is bounded by the wait slice); a signal that blocked here
 * would hang the answering participant. */
START_TEST(wake_renewed_under_live_waiter)
{
    dtc_participant *p;
    struct dtc_part_slot *ps = registered("renewed", &p);
    int st;
    pid_t first = fork_waiter(ps, 150);
    usleep(50000); /* inside its wait */
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_OK);
    dtc__wake_renew(inst, &ps->ps_wake, &ps->ps_cond);
    dtc__unlock(&ps->ps_lock);
    ck_assert_int_eq(waitpid(first, &st, 0), first); /* returned from the renewed one */
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t second = fork_waiter(ps, 2000);
    usleep(50000);
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_OK);
    bool claimed = dtc__wake_claim(&ps->ps_wake);
    dtc__unlock(&ps->ps_lock);
    ck_assert(claimed);
    ck_assert_msg(wake_returns(ps) == 0, "the signal hung on a condvar renewed under a waiter");
    ck_assert_int_eq(waitpid(second, &st, 0), second);
    dtc_participant_unregister(&p);
}
END_TEST

/* A participant handle serves one call at a time.  From inside a
 * callback, unregistering is refused (DTC_EBUSY, the handle intact: it
 * used to free the batch the callback ran in) and so is a nested serve;
 * a second thread's serve and unregister are refused while one serves. */
static dtc_participant *busy_p;
static dtc_participant_ops busy_ops;
static dtc_result busy_unreg = DTC_OK, busy_serve = DTC_OK;
static dtc_participant *busy_after;

static dtc_vote enlist_reenters(void *ctx, const dtc_request *rq)
{
    (void)ctx, (void)rq;
    dtc_participant *q = busy_p;
    busy_unreg = dtc_participant_unregister(&q);
    busy_after = q;
    busy_serve = dtc_participant_serve_once(busy_p, &busy_ops, 0, NULL);
    return DTC_VOTE_YES;
}

static void *serve_long(void *arg)
{
    (void)arg;
    unsigned served;
    return (void *)(intptr_t)dtc_participant_serve_once(busy_p, &busy_ops, 600, &served);
}

START_TEST(participant_busy_refused)
{
    dtc_participant *p;
    ck_assert_int_eq(dtc_participant_register(inst, "busy", &p), DTC_OK);
    busy_p = p;
    busy_ops = (dtc_participant_ops){enlist_reenters, vote_yes, done_ok, done_ok, NULL, NULL};
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(inst, &id, "busy", "x", 1), DTC_OK);
    unsigned served = 0;
    ck_assert_int_eq(dtc_participant_serve_once(p, &busy_ops, 1000, &served), DTC_OK);
    ck_assert_uint_eq(served, 1);
    ck_assert_ptr_eq(busy_after, p); /* not freed under the callback */
    ck_assert_int_eq(busy_unreg, DTC_EBUSY);
    ck_assert_int_eq(busy_serve, DTC_EBUSY);

    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, serve_long, NULL), 0);
    for (int i = 0; i < 1000 && !atomic_load(&p->busy); i++)
        usleep(10 * 1000); /* until the thread is in its serve */
    ck_assert(atomic_load(&p->busy));
    ck_assert_int_eq(dtc_participant_serve_once(p, &busy_ops, 0, &served), DTC_EBUSY);
    ck_assert_uint_eq(served, 0);
    dtc_participant *q = p;
    ck_assert_int_eq(dtc_participant_unregister(&q), DTC_EBUSY);
    ck_assert_ptr_eq(q, p);
    void *rc;
    ck_assert_int_eq(pthread_join(t, &rc), 0);
    ck_assert_int_eq((int)(intptr_t)rc, DTC_OK);
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
    ck_assert_ptr_null(p);
}
END_TEST

/* ---- bounded locks (issue 9, finding 8) ------------------------------
 * A lock whose holder never releases it and that the kernel cannot mark
 * owner-dead (its robust list damaged).  The faithful simulation: a live
 * holder stopped forever.  The "bounded" case runs with a short limit
 * (DTC_LOCK_LIMIT_MS, read once per process, set before the segment is
 * made). */
#define TEST_LIMIT_MS 300
#define TEST_SLACK_MS 1500

static void bounded_setup(void)
{
    setenv("DTC_LOCK_LIMIT_MS", "300", 1);
    seg_setup();
}

/* A child process locks m and stops itself forever, holding it.  It dies
 * with the test process (PR_SET_PDEATHSIG) if the test fails first. */
static pid_t stop_holding(pthread_mutex_t *m)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t parent = getpid();
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        pthread_mutex_lock(m);
        if (write(fds[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            raise(SIGSTOP);
    }
    char c;
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    close(fds[0]);
    close(fds[1]);
    return child;
}

static void stop_release(pid_t child)
{
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

static int64_t ms_since(int64_t t0)
{
    return (dtc__now_ns() - t0) / 1000000;
}

/* A txn slot whose lock is held forever: the locker gives up after the
 * limit with DTC_ECORRUPT and quarantines the slot; nobody waits on it
 * again (lock, listing, begin's scan). */
START_TEST(lock_holder_stopped_txn)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, 2);
    pid_t child = stop_holding(&ts->ts_lock);
    int64_t t0 = dtc__now_ns();
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_ECORRUPT);
    int64_t ms = ms_since(t0);
    ck_assert_int_ge(ms, TEST_LIMIT_MS - 10);
    ck_assert_int_lt(ms, TEST_LIMIT_MS + TEST_SLACK_MS);
    ck_assert(ts->ts_flags & DTC_TS_QUARANTINED);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(inst, &st), DTC_OK);
    ck_assert_uint_eq(st.corrupt_slots, 1);
    t0 = dtc__now_ns();
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_ECORRUPT);
    dtc_txn_info info[4];
    size_t n = 9;
    ck_assert_int_eq(dtc_list_transactions(inst, info, 4, &n), DTC_OK);
    for (uint32_t i = 0; i < inst->max_txns - 1; i++) {
        dtc_txid id;
        ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    }
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ETXNFULL);
    ck_assert_int_lt(ms_since(t0), TEST_LIMIT_MS / 2); /* no second wait */
    ck_assert_int_eq(dtc_get_status(inst, &st), DTC_OK);
    ck_assert_uint_eq(st.corrupt_slots, 1); /* counted once */
    stop_release(child);
}
END_TEST

/* A participant slot's lock held forever: quarantined, never waited on
 * again.  The registry lock held forever: registering fails cleanly
 * after the limit, each time. */
START_TEST(lock_holder_stopped_part_reg)
{
    ck_assert_int_eq(dtc__lock_limit_ns(), (int64_t)TEST_LIMIT_MS * 1000000);
    dtc_participant *p;
    struct dtc_part_slot *ps = registered("stuck", &p);
    pid_t child = stop_holding(&ps->ps_lock);
    int64_t t0 = dtc__now_ns();
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_ECORRUPT);
    int64_t ms = ms_since(t0);
    ck_assert_int_ge(ms, TEST_LIMIT_MS - 10);
    ck_assert_int_lt(ms, TEST_LIMIT_MS + TEST_SLACK_MS);
    ck_assert_uint_eq(ps->ps_state, DTC_PS_QUARANTINED);
    t0 = dtc__now_ns();
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_ECORRUPT);
    ck_assert_int_lt(ms_since(t0), TEST_LIMIT_MS / 2);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(inst, &st), DTC_OK);
    ck_assert_uint_eq(st.corrupt_slots, 1);
    stop_release(child);
    dtc_participant_unregister(&p); /* its slot stays quarantined */
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(ps->ps_state, DTC_PS_QUARANTINED);

    child = stop_holding(&inst->hdr->sh_reg_lock);
    for (int k = 0; k < 2; k++) {
        dtc_participant *q = NULL;
        t0 = dtc__now_ns();
        ck_assert_int_eq(dtc_participant_register(inst, "other", &q), DTC_ECORRUPT);
        ck_assert_ptr_null(q);
        ms = ms_since(t0);
        ck_assert_int_ge(ms, TEST_LIMIT_MS - 10);
        ck_assert_int_lt(ms, TEST_LIMIT_MS + TEST_SLACK_MS);
    }
    stop_release(child);
}
END_TEST

/* A wake lock held forever: the waker gives up after the limit and marks
 * it stuck; the next waker does not wait; the participant re-initializes
 * it (without waiting) before its next wait, and waking works again. */
START_TEST(lock_holder_stopped_wake)
{
    dtc_participant *p;
    struct dtc_part_slot *ps = registered("waker-stuck", &p);
    pid_t child = stop_holding(&ps->ps_wake.wk_lock);
    int64_t t0 = dtc__now_ns();
    dtc__wake_send(inst, &ps->ps_wake, &ps->ps_cond);
    int64_t ms = ms_since(t0);
    ck_assert_int_ge(ms, TEST_LIMIT_MS - 10);
    ck_assert_int_lt(ms, TEST_LIMIT_MS + TEST_SLACK_MS);
    ck_assert_uint_eq(atomic_load(&ps->ps_wake.wk_suspect), DTC_WAKE_STUCK);
    t0 = dtc__now_ns();
    dtc__wake_send(inst, &ps->ps_wake, &ps->ps_cond);
    ck_assert_int_lt(ms_since(t0), TEST_LIMIT_MS / 2);
    dtc_participant_ops ops = {NULL, vote_yes, done_ok, done_ok, NULL, NULL};
    unsigned served = 9;
    t0 = dtc__now_ns();
    ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 30, &served), DTC_OK);
    ck_assert_int_lt(ms_since(t0), TEST_LIMIT_MS / 2);
    ck_assert_uint_eq(served, 0);
    ck_assert_uint_eq(atomic_load(&ps->ps_wake.wk_suspect), 0); /* renewed */
    t0 = dtc__now_ns();
    dtc__wake_send(inst, &ps->ps_wake, &ps->ps_cond); /* a fresh wk_lock */
    ck_assert_int_lt(ms_since(t0), TEST_LIMIT_MS / 2);
    dtc_participant_unregister(&p);
    stop_release(child);
}
END_TEST

/* The one recovery rule (dtc_participant_outcome): a decision still being
 * delivered is a decision (COMMITTING: commit, ABORTING: roll back); not
 * yet decided: keep.  (COMMITTING read "in flight, keep" before.) */
START_TEST(participant_outcome_one_rule)
{
    dtc_participant *p;
    dtc_txid id;
    ck_assert_int_eq(dtc_participant_register(inst, "rule", &p), DTC_OK);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    struct dtc_txn_slot *ts = NULL;
    for (uint32_t i = 0; i < inst->max_txns && ts == NULL; i++)
        if (dtc__txn(inst, i)->ts_state == DTC_TXN_ACTIVE)
            ts = dtc__txn(inst, i);
    ck_assert_ptr_nonnull(ts);
    static const struct { dtc_txn_state st; dtc_outcome_kind want; } cases[] = {
        {DTC_TXN_PREPARED, DTC_OUTCOME_IN_FLIGHT},
        {DTC_TXN_COMMITTING, DTC_OUTCOME_COMMITTED},
        {DTC_TXN_ABORTING, DTC_OUTCOME_ABORTED},
        {DTC_TXN_HEURISTIC, DTC_OUTCOME_HEURISTIC},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ts->ts_state = cases[k].st;
        dtc_outcome_kind kind = DTC_OUTCOME_COUNT;
        ck_assert_int_eq(dtc_participant_outcome(p, &id, &kind), DTC_OK);
        ck_assert_msg(kind == cases[k].want, "%s: %s, want %s", dtc_txn_state_name(cases[k].st),
                      dtc_outcome_name(kind), dtc_outcome_name(cases[k].want));
    }
    ts->ts_state = DTC_TXN_ACTIVE;
    dtc_txid never;
    memset(&never, 0x5a, sizeof never);
    dtc_outcome_kind kind = DTC_OUTCOME_COUNT;
    ck_assert_int_eq(dtc_participant_outcome(p, &never, &kind), DTC_OK);
    ck_assert_int_eq(kind, DTC_OUTCOME_ABORTED); /* never decided: presumed abort */
    ck_assert_int_eq(dtc_participant_unregister(&p), DTC_OK);
}
END_TEST

/* The metrics take no lock: with a participant's lock and a transaction
 * slot's lock held by a stopped process, dtc_metrics_text answers at
 * once, lists the participant, and quarantines nothing (a locker would
 * have waited the lock limit, then quarantined both). */
START_TEST(metrics_take_no_lock)
{
    dtc_participant *p;
    dtc_txid id;
    ck_assert_int_eq(dtc_participant_register(inst, "held", &p), DTC_OK);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    uint32_t idx, gen;
    ck_assert_int_eq(dtc__part_find(inst, "held", &idx, &gen), DTC_OK);
    struct dtc_part_slot *ps = dtc__part(inst, idx);
    struct dtc_txn_slot *ts = NULL;
    for (uint32_t i = 0; i < inst->max_txns && ts == NULL; i++)
        if (dtc__txn(inst, i)->ts_state == DTC_TXN_ACTIVE)
            ts = dtc__txn(inst, i);
    ck_assert_ptr_nonnull(ts);
    pid_t c1 = stop_holding(&ps->ps_lock), c2 = stop_holding(&ts->ts_lock);
    char *text = NULL;
    size_t len = 0;
    int64_t t0 = dtc__now_ns();
    /* counting syncs takes no lock either (the participant's is held) */
    ck_assert_int_eq(dtc_participant_count_syncs(p, 2), DTC_OK);
    ck_assert_int_eq(dtc_participant_count_syncs(p, 1), DTC_OK);
    ck_assert_int_eq(dtc_participant_count_syncs(NULL, 1), DTC_EINVAL);
    ck_assert_int_eq(dtc_metrics_text(inst_name, &text, &len), DTC_OK);
    ck_assert_int_lt(ms_since(t0), TEST_LIMIT_MS / 2);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    char want[160];
    snprintf(want, sizeof want, "dtc_participant_up{dtc_instance=\"%s\",participant=\"held\"} 1\n",
             inst_name);
    ck_assert_ptr_nonnull(strstr(text, want));
    snprintf(want, sizeof want,
             "dtc_transactions_in_flight{dtc_instance=\"%s\",state=\"ACTIVE\"} 1\n", inst_name);
    ck_assert_ptr_nonnull(strstr(text, want));
    snprintf(want, sizeof want,
             "dtc_participant_syncs_total{dtc_instance=\"%s\",participant=\"held\"} 3\n",
             inst_name);
    ck_assert_ptr_nonnull(strstr(text, want));
    free(text);
    ck_assert_uint_eq(ps->ps_state, DTC_PS_LIVE);
    ck_assert(!(ts->ts_flags & DTC_TS_QUARANTINED));
    ck_assert_uint_eq(atomic_load(&inst->hdr->sh_corrupt_slots), 0);
    stop_release(c1);
    stop_release(c2);
    dtc_participant_info info[4];
    size_t n = 0;
    ck_assert_int_eq(dtc_list_participants(inst, info, 4, &n), DTC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(info[0].syncs, 3);
    dtc_participant_unregister(&p);
}
END_TEST

/* The permissions of the mapping holding addr, from /proc/self/maps
 * ("r--s"), into perms[5]. */
static void map_perms(const void *addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    perms[0] = '\0';
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (unsigned long)addr >= lo
            && (unsigned long)addr < hi) {
            memcpy(perms, p, 5);
            break;
        }
    }
    fclose(f);
}

/* The metrics' attach is read-only: the segment is mapped without write
 * access (a write would fault), shared, and reads what the writers wrote. */
START_TEST(readonly_attach_cannot_write)
{
    dtc_instance *ro = NULL;
    char perms[5];
    ck_assert_int_eq(dtc__open_readonly(inst_name, &ro), DTC_OK);
    atomic_store(&inst->hdr->sh_begun, 42);
    ck_assert_uint_eq(atomic_load(&ro->hdr->sh_begun), 42);
    map_perms(ro->hdr, perms);
    ck_assert_str_eq(perms, "r--s");
    map_perms(inst->hdr, perms);
    ck_assert_str_eq(perms, "rw-s");
    dtc_close(&ro);
}
END_TEST

/* The metrics read a scribbled segment without harm: participant slots
 * full of random bytes (some marked live, a few with a valid name),
 * transaction states out of range.  Every value is bounded: the text is
 * printable ASCII, lists only validly named participants, and counts no
 * state that does not exist. */
START_TEST(metrics_hostile_segment)
{
    srand(7);
    for (uint32_t i = 0; i < inst->max_participants; i++) {
        struct dtc_part_slot *ps = dtc__part(inst, i);
        unsigned char *b = (unsigned char *)&ps->ps_state;
        size_t n = (size_t)((unsigned char *)ps->ps_ring - b);
        for (size_t k = 0; k < n; k++)
            b[k] = (unsigned char)rand();
        if (i % 2 == 0)
            ps->ps_state = DTC_PS_LIVE;
        if (i % 8 == 0)
            snprintf(ps->ps_name, sizeof ps->ps_name, "ok-%u", (unsigned)i);
    }
    uint32_t in_flight = 0;
    for (uint32_t i = 0; i < inst->max_txns; i++) {
        uint32_t st = (uint32_t)rand() % 3 == 0 ? (uint32_t)rand() : (uint32_t)rand() % 9;
        dtc__txn(inst, i)->ts_state = st;
        in_flight += st > DTC_TXN_FREE && st < DTC_TXN_STATE_COUNT;
    }
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(dtc_metrics_text(inst_name, &text, &len), DTC_OK);
    for (size_t k = 0; k < len; k++)
        ck_assert(text[k] == '\n' || (text[k] >= 0x20 && text[k] < 0x7f));
    char want[64];
    snprintf(want, sizeof want, "participant=\"ok-%u\"", 8u);
    ck_assert_ptr_nonnull(strstr(text, want));
    uint64_t sum = 0;
    for (const char *l = strstr(text, "\ndtc_transactions_in_flight{"); l != NULL;
         l = strstr(l + 1, "\ndtc_transactions_in_flight{"))
        sum += strtoull(strchr(l, '}') + 2, NULL, 10);
    ck_assert_uint_eq(sum, in_flight);
    free(text);
}
END_TEST

/* No segment: the text still says dtc_build_info and dtc_up 0, and
 * nothing else about the instance; a bad name gets no text. */
START_TEST(metrics_text_no_segment)
{
    char *text = NULL, want[160];
    size_t len = 0;
    ck_assert_int_eq(dtc_metrics_text("core-no-such-instance", &text, &len), DTC_ENOSEGMENT);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "dtc_up{dtc_instance=\"core-no-such-instance\"} 0\n"));
    snprintf(want, sizeof want,
             "dtc_build_info{dtc_instance=\"core-no-such-instance\",version=\"%s\"} 1\n",
             dtc_version());
    ck_assert_ptr_nonnull(strstr(text, want));
    ck_assert_ptr_null(strstr(text, "dtc_supervisor_up"));
    ck_assert_ptr_null(strstr(text, "_total"));
    free(text);
    text = (char *)"untouched";
    ck_assert_int_eq(dtc_metrics_text("bad name", &text, &len), DTC_EINVAL);
    ck_assert_ptr_null(text);
}
END_TEST

/* A busy participant that goes idle (its waits time out empty) returns
 * to SCHED_OTHER and stops yielding within DTC_PACE_HOLD serves.  (It
 * stayed under SCHED_BATCH while idle when only non-empty batches
 * counted.) */
START_TEST(pace_idle_returns_to_other)
{
    dtc_participant *p;
    ck_assert_int_eq(dtc_participant_register(inst, "pace-test", &p), DTC_OK);
    ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
    dtc__pace_after_batch(&p->pace, 2); /* a busy batch */
    ck_assert_int_eq(sched_getscheduler(0), SCHED_BATCH);
    ck_assert(dtc__pace_yield(&p->pace));
    dtc_participant_ops ops = {NULL, vote_yes, done_ok, done_ok, NULL, NULL};
    for (int i = 0; i < DTC_PACE_HOLD; i++)
        ck_assert_int_eq(dtc_participant_serve_once(p, &ops, 5, NULL), DTC_OK);
    ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
    ck_assert(!dtc__pace_yield(&p->pace));
    dtc_participant_unregister(&p);
}
END_TEST

/* dtc_participant_answer: a prepare answered yes by its callback and
 * revised to no in the batch's flush is a no for the coordinator; outside
 * a batch, or for another pointer than the callback's, it is refused. */
static const dtc_request *answer_rq;
static dtc_participant *answer_p;
static _Atomic int answer_done;
static dtc_result answer_rc;

static dtc_vote vote_yes_keep(void *ctx, const dtc_request *rq)
{
    (void)ctx;
    answer_rq = rq;
    return DTC_VOTE_YES;
}

static const dtc_request *answer_revised;

static int flush_revise(void *ctx)
{
    (void)ctx;
    dtc_request other = {0};
    if (answer_rq == NULL || answer_revised != NULL)
        return 0; /* the prepare's batch only */
    answer_revised = answer_rq;
    if (dtc_participant_answer(answer_p, &other, DTC_VOTE_NO) != DTC_EINVAL)
        return -1;
    snprintf(answer_rq->reason, DTC_REASON_MAX, "revised: no after all");
    return dtc_participant_answer(answer_p, answer_rq, DTC_VOTE_NO) == DTC_OK ? 0 : -1;
}

static void *answer_coordinator(void *arg)
{
    dtc_txid id;
    (void)arg;
    answer_rc = dtc_begin_transaction(inst, NULL, &id);
    if (answer_rc == DTC_OK)
        answer_rc = dtc_enlist(inst, &id, "reviser", "x", 1);
    if (answer_rc == DTC_OK)
        answer_rc = dtc_commit_transaction(inst, &id, NULL);
    atomic_store(&answer_done, 1);
    return NULL;
}

START_TEST(answer_revised_in_flush)
{
    pthread_t t;
    ck_assert_int_eq(dtc_participant_register(inst, "reviser", &answer_p), DTC_OK);
    dtc_request none = {0};
    ck_assert_int_eq(dtc_participant_answer(answer_p, &none, DTC_VOTE_NO), DTC_EINVAL);
    answer_rq = answer_revised = NULL;
    atomic_store(&answer_done, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, answer_coordinator, NULL), 0);
    dtc_participant_ops ops = {NULL, vote_yes_keep, done_ok, done_ok, flush_revise, NULL};
    for (int i = 0; i < 500 && !atomic_load(&answer_done); i++)
        ck_assert_int_eq(dtc_participant_serve_once(answer_p, &ops, 10, NULL), DTC_OK);
    pthread_join(t, NULL);
    ck_assert_msg(answer_rc == DTC_EREFUSED, "commit: %s, want refused",
                  dtc_result_name(answer_rc));
    ck_assert_ptr_nonnull(answer_rq);
    /* the batch is over: its answers are final */
    ck_assert_int_eq(dtc_participant_answer(answer_p, answer_rq, DTC_VOTE_YES), DTC_EINVAL);
    dtc_participant_unregister(&answer_p);
}
END_TEST

/* The ids alone: every slot in use listed (a count past cap), the same
 * ids as the full listing, a quarantined slot counted, never listed. */
START_TEST(transaction_ids_listed)
{
    dtc_txid id[3], got[4];
    size_t n = 9, quar = 9;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id[i]), DTC_OK);
    ck_assert_int_eq(dtc_list_transaction_ids(inst, got, 2, &n, &quar), DTC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(quar, 0);
    ck_assert_int_eq(dtc_list_transaction_ids(inst, got, 4, &n, &quar), DTC_OK);
    ck_assert_uint_eq(n, 3);
    for (int i = 0; i < 3; i++) {
        int seen = 0;
        for (size_t k = 0; k < n; k++)
            seen += memcmp(got[k].bytes, id[i].bytes, sizeof id[i].bytes) == 0;
        ck_assert_int_eq(seen, 1);
    }
    struct dtc_txn_slot *ts = NULL;
    for (uint32_t i = 0; i < inst->max_txns && ts == NULL; i++)
        if (memcmp(dtc__txn(inst, i)->ts_txid, id[1].bytes, sizeof id[1].bytes) == 0)
            ts = dtc__txn(inst, i);
    ck_assert_ptr_nonnull(ts);
    ts->ts_flags |= DTC_TS_QUARANTINED;
    ck_assert_int_eq(dtc_list_transaction_ids(inst, got, 4, &n, &quar), DTC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(quar, 1);
    for (size_t k = 0; k < n; k++)
        ck_assert(memcmp(got[k].bytes, id[1].bytes, sizeof id[1].bytes) != 0);
    ck_assert_int_eq(dtc_list_transaction_ids(inst, NULL, 1, &n, &quar), DTC_EINVAL);
    ck_assert_int_eq(dtc_list_transaction_ids(inst, NULL, 0, &n, NULL), DTC_EINVAL);
    ck_assert_int_eq(dtc_list_transaction_ids(inst, NULL, 0, &n, &quar), DTC_OK);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(begin_refused_on_shutdown)
{
    dtc_txid id;
    atomic_store(&inst->hdr->sh_shutdown, 1);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ESHUTDOWN);
    atomic_store(&inst->hdr->sh_shutdown, 0);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.prepare_timeout_ms = 0;
    ck_assert_int_eq(dtc_begin_transaction(inst, &o, &id), DTC_EINVAL);
}
END_TEST

/* Begins refused on a full table: one begin_refused line per second,
 * the next carrying how many were held back (suppressed=N); every refusal
 * is counted by exactly one line.  (Each refusal was a warn line: 8,400
 * in 2 s with 128 threads.) */
static int refused_lines(const char *path, unsigned long long *counted)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lines = 0;
    *counted = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "event=begin_refused") == NULL)
            continue;
        const char *sup = strstr(line, " suppressed=");
        lines++;
        *counted += 1 + (sup != NULL ? strtoull(sup + strlen(" suppressed="), NULL, 10) : 0);
    }
    ck_assert_ptr_nonnull(f);
    fclose(f);
    return lines;
}

START_TEST(begin_refused_rate_limited)
{
    char path[] = "/tmp/dtc-refused-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
    dtc_txid id;
    for (uint32_t i = 0; i < inst->max_txns; i++)
        ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    int64_t t0 = dtc__now_ns();
    enum { FLOOD = 400 };
    for (int i = 0; i < FLOOD; i++)
        ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ETXNFULL);
    int64_t secs = (dtc__now_ns() - t0) / 1000000000 + 1;
    unsigned long long counted;
    int lines = refused_lines(path, &counted);
    ck_assert_int_ge(lines, 1);
    ck_assert_int_le(lines, secs + 1);
    usleep(1100 * 1000); /* the next refusal tells the rest */
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ETXNFULL);
    ck_assert_int_eq(refused_lines(path, &counted), lines + 1);
    ck_assert_uint_eq(counted, FLOOD + 1);
    ck_assert_int_eq(logfmt_lint_file(path, 0), 0);
    unlink(path);
}
END_TEST

/* A log file whose writer was SIGKILLed in the middle of a line: the cut
 * last line (no newline) is not a record to lint; a bad complete line
 * still is. */
START_TEST(lint_skips_a_cut_last_line)
{
    char path[] = "/tmp/check_core_lint.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static const char good[] = "ts=2026-12-07T07:14:54.171085Z level=warn pid=1 event=enlist\n";
    static const char cut[] = "ts=2026-12-07T07:14:54.171085Z level=warn pid=1 event=enlist tx";
    ck_assert_int_eq(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    ck_assert_int_eq(write(fd, cut, strlen(cut) - 2), (ssize_t)strlen(cut) - 2); /* "event=enlist " */
    ck_assert_int_eq(logfmt_lint_file(path, 0), 0);
    ck_assert_int_eq(write(fd, "\n", 1), 1); /* the same line, whole: not logfmt */
    ck_assert_int_eq(logfmt_lint_file(path, 0), 1);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(empty_transaction_commits)
{
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(inst, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(inst, &id, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_enlist(inst, &id, "nobody", "x", 1), DTC_EUNKNOWN);
}
END_TEST

#ifdef DTC_CRASH_POINTS /* else $DTC_CRASH_AT is ignored (check_fault_off) */
START_TEST(fault_point_kills)
{
    setenv("DTC_CRASH_AT", "test.point:2", 1);
    dtc__fault("other.point");
    dtc__fault("test.point"); /* first hit: survives */
    dtc__fault("test.point"); /* second: SIGKILL */
}
END_TEST
#endif

/* Batched log lines are written in order, at the end of the batch or at
 * once before a warning; none is lost. */
START_TEST(log_batching)
{
    char path[] = "/tmp/dtc-logtest-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("DTC_LOG", "info", 1);
    dtc_log_init(DTC_LOG_WARN);
    ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
    dtc__log_batch(true);
    dtc_log(DTC_LOG_INFO, "first", NULL, NULL, NULL);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0); /* gathered, not written yet */
    dtc_log(DTC_LOG_WARN, "second", NULL, NULL, NULL);
    dtc_log(DTC_LOG_INFO, "third", NULL, NULL, NULL);
    dtc__log_batch(false);
    dtc_log(DTC_LOG_DEBUG, "hidden", NULL, NULL, NULL);
    char buf[4096] = {0};
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    unlink(path);
    ck_assert_uint_gt(n, 0);
    char *a = strstr(buf, "event=first"), *b = strstr(buf, "event=second"),
         *c = strstr(buf, "event=third");
    ck_assert(a != NULL && b != NULL && c != NULL && a < b && b < c);
    ck_assert_ptr_null(strstr(buf, "hidden"));
}
END_TEST

/* Makes stderr the file at path and $JOURNAL_STREAM say DEV:INO of it
 * (plus `ino_delta`: 1 names another file), then logs one line per level
 * (debug shown). */
static void log_levels_to(const char *path, int ino_delta)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    struct stat st;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);
    ck_assert_int_eq(fstat(2, &st), 0);
    char env[64];
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
    if (ino_delta >= 0)
        setenv("JOURNAL_STREAM", env, 1);
    else
        unsetenv("JOURNAL_STREAM");
    setenv("DTC_LOG", "debug", 1);
    dtc_log_init(DTC_LOG_WARN);
    dtc_log(DTC_LOG_ERROR, "e_line", NULL, "part", "reason=%s", "disk full");
    dtc_log(DTC_LOG_WARN, "w_line", NULL, NULL, NULL);
    dtc_log(DTC_LOG_INFO, "i_line", NULL, NULL, "n=%d", 3);
    dtc_log(DTC_LOG_DEBUG, "d_line", NULL, NULL, NULL);
}

static int read_lines(const char *path, char lines[][256], int max)
{
    FILE *f = fopen(path, "r");
    int n = 0;
    ck_assert_ptr_nonnull(f);
    while (n < max && fgets(lines[n], 256, f) != NULL)
        n++;
    fclose(f);
    unlink(path);
    return n;
}

/* stderr is the journal ($JOURNAL_STREAM is its DEV:INO): each line
 * starts with its syslog priority, has no ts= or pid= (journald records
 * both), and is strict logfmt after the prefix. */
START_TEST(log_journal_stream)
{
    char path[] = "/tmp/dtc-journal-XXXXXX", lines[8][256];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    log_levels_to(path, 0);
    ck_assert_int_eq(read_lines(path, lines, 8), 4);
    ck_assert_str_eq(lines[0], "<3>level=error event=e_line participant=part "
                               "reason=\"disk full\"\n");
    ck_assert_str_eq(lines[1], "<4>level=warn event=w_line\n");
    ck_assert_str_eq(lines[2], "<6>level=info event=i_line n=3\n");
    ck_assert_str_eq(lines[3], "<7>level=debug event=d_line\n");
    for (int i = 0; i < 4; i++) {
        const char *why;
        size_t col;
        ck_assert_int_eq(logfmt_lint_line(lines[i] + 3, strlen(lines[i] + 3) - 1, &why, &col), 0);
    }
}
END_TEST

/* A line torn by a process killed mid-write (stress_chaos: "ts=2026-12-0"
 * then the next process's line glued to it) is ended by the next process
 * that logs to the file: dtc_log_to_file, and dtc_log_init on a stderr
 * that is that file. */
START_TEST(log_ends_torn_line)
{
    for (int via_stderr = 1; via_stderr >= 0; via_stderr--) { /* stderr first: log_to_file stays */
        char path[] = "/tmp/dtc-torn-XXXXXX", lines[8][256];
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "ts=2026-12-0", 12), 12);
        if (via_stderr) {
            ck_assert_int_ge(dup2(fd, 2), 0);
            dtc_log_init(DTC_LOG_INFO);
        } else {
            dtc_log_init(DTC_LOG_INFO);
            ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
        }
        close(fd);
        dtc_log(DTC_LOG_ERROR, "after_torn", NULL, NULL, "k=v");
        int n = read_lines(path, lines, 8);
        ck_assert_msg(n == 2, "via_stderr=%d: %d lines, first: %s", via_stderr, n, lines[0]);
        ck_assert_str_eq(lines[0], "ts=2026-12-0\n");
        ck_assert_int_eq(strncmp(lines[1], "ts=", 3), 0);
        ck_assert_ptr_nonnull(strstr(lines[1], " event=after_torn k=v"));
        unlink(path);
    }
}
END_TEST

/* $JOURNAL_STREAM naming another file (stderr redirected away from the
 * journal), or unset: the lines are as ever, ts= and pid= first. */
START_TEST(log_journal_elsewhere)
{
    for (int delta = 1; delta >= -1; delta -= 2) {
        char path[] = "/tmp/dtc-journal-XXXXXX", lines[8][256], want[64];
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        log_levels_to(path, delta);
        ck_assert_int_eq(read_lines(path, lines, 8), 4);
        snprintf(want, sizeof want, " level=error pid=%d event=e_line ", (int)getpid());
        ck_assert_int_eq(strncmp(lines[0], "ts=", 3), 0);
        ck_assert_ptr_nonnull(strstr(lines[0], want));
        for (int i = 0; i < 4; i++) {
            const char *why;
            size_t col;
            ck_assert_int_eq(strncmp(lines[i], "ts=", 3), 0);
            ck_assert_int_eq(logfmt_lint_line(lines[i], strlen(lines[i]) - 1, &why, &col), 0);
        }
    }
}
END_TEST

static int lint_str(const char *s, const char **why, size_t *col)
{
    return logfmt_lint_line(s, strlen(s), why, col);
}

/* Every line is a strict logfmt record whatever the values hold: spaces,
 * quotes, '=', backslashes, newlines, control and non-UTF-8 bytes, valid
 * UTF-8, empty and over-long strings, a hostile event and participant. */
START_TEST(log_strict_logfmt)
{
    static const char *const values[] = {
        "out of stock: sku-1 has 8", "fr\"o\\b", "a=b", "", "line\nbreak\ttab\r",
        "\x01\x1b[31m\x7f", "caf\xc3\xa9 \xe2\x82\xac", "bad \xc3\x28 \xff\xfe", "plain"};
    char path[] = "/tmp/dtc-logfmt-XXXXXX", big[1500];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    setenv("DTC_LOG", "info", 1);
    dtc_log_init(DTC_LOG_WARN);
    ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
    size_t nv = sizeof values / sizeof values[0];
    for (size_t i = 0; i < nv; i++)
        dtc_log(DTC_LOG_INFO, values[i], NULL, values[(i + 1) % nv], "reason=%s n=%d payload=%.*s",
                values[i], (int)i, 5, values[(i + 2) % nv]);
    dtc_log(DTC_LOG_INFO, "big", NULL, NULL, "a=%s b=%s", big, big); /* cut, still valid */
    dtc_log(DTC_LOG_INFO, "literal", NULL, NULL, "error=\"a constant text\" n=%zu", (size_t)7);
    ck_assert_int_eq(logfmt_lint_file(path, 0), 0);
    FILE *f = fopen(path, "r");
    char line[4096];
    int lines = 0, cut = 0, quoted = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        lines++;
        cut += strstr(line, " truncated=true\n") != NULL;
        quoted += strstr(line, "reason=\"out of stock: sku-1 has 8\"") != NULL;
    }
    ck_assert_ptr_nonnull(f);
    fclose(f);
    unlink(path);
    ck_assert_int_eq(lines, (int)nv + 2);
    ck_assert_int_eq(cut, 1);
    ck_assert_int_eq(quoted, 1);
    /* the tokenizer itself refuses what the old lines held */
    const char *why;
    size_t col;
    ck_assert_int_ne(lint_str("a=b c", &why, &col), 0);
    ck_assert_int_ne(lint_str("reason=out of", &why, &col), 0);
    ck_assert_int_ne(lint_str("p=\"fr\"o\"", &why, &col), 0);
    ck_assert_int_eq(lint_str("p=\"fr\\\"o\"", &why, &col), 0);
}
END_TEST

/* A bad $DTC_LOG is said, even at a level that hides warnings, and
 * dtc_log_set_level refuses unknown names. */
START_TEST(log_level_names)
{
    char path[] = "/tmp/dtc-loglvl-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
    setenv("DTC_LOG", "verbose", 1);
    dtc_log_init(DTC_LOG_ERROR);
    ck_assert_int_eq(dtc_log_set_level("loud"), DTC_EINVAL);
    dtc_log(DTC_LOG_WARN, "hidden", NULL, NULL, NULL);
    ck_assert_int_eq(dtc_log_set_level("DEBUG"), DTC_OK);
    dtc_log(DTC_LOG_DEBUG, "shown", NULL, NULL, NULL);
    char buf[4096] = {0};
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    unlink(path);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "event=log_level_invalid DTC_LOG=verbose"));
    ck_assert_ptr_null(strstr(buf, "event=hidden"));
    ck_assert_ptr_nonnull(strstr(buf, "event=shown"));
}
END_TEST

/* SIGHUP's dtc_log_reopen: after the file is renamed away (a rotation),
 * the next line goes to a new file at the path. */
START_TEST(log_reopen)
{
    char dir[] = "/tmp/dtc-logrot-XXXXXX", path[64], old[80];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/d.log", dir);
    snprintf(old, sizeof old, "%s/d.log.1", dir);
    setenv("DTC_LOG", "info", 1);
    dtc_log_init(DTC_LOG_WARN);
    ck_assert_int_eq(dtc_log_to_file(path), DTC_OK);
    dtc_log(DTC_LOG_INFO, "before", NULL, NULL, NULL);
    ck_assert_int_eq(rename(path, old), 0);
    dtc_log(DTC_LOG_INFO, "still_old", NULL, NULL, NULL);
    dtc_log_reopen();
    dtc_log(DTC_LOG_INFO, "after", NULL, NULL, NULL);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    char buf[1024] = {0};
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "event=after"));
    ck_assert_ptr_null(strstr(buf, "event=still_old"));
    unlink(path);
    unlink(old);
    rmdir(dir);
}
END_TEST

#if DTC_ASSERTS
/* The lock wrapper knows which locks this thread holds. */
START_TEST(lock_held_recorded)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, 2), *other = dtc__txn(inst, 4);
    ck_assert(!dtc__lock_held(&ts->ts_lock));
    ck_assert_int_eq(dtc__txn_lock(inst, ts), DTC_OK);
    ck_assert(dtc__lock_held(&ts->ts_lock));
    ck_assert(!dtc__lock_held(&other->ts_lock));
    ck_assert_int_eq(dtc__locks_held(), 1);
    dtc__unlock(&ts->ts_lock);
    ck_assert(!dtc__lock_held(&ts->ts_lock));
    /* two at once, in the lock order: the registry, then a slot */
    struct dtc_part_slot *ps = dtc__part(inst, 0);
    ck_assert_int_eq(dtc__reg_lock(inst), DTC_OK);
    ck_assert_int_eq(dtc__part_lock(inst, ps), DTC_OK);
    ck_assert(dtc__lock_held(&inst->hdr->sh_reg_lock) && dtc__lock_held(&ps->ps_lock));
    ck_assert_int_eq(dtc__locks_held(), 2);
    dtc__unlock(&inst->hdr->sh_reg_lock);
    ck_assert(dtc__lock_held(&ps->ps_lock));
    dtc__unlock(&ps->ps_lock);
    ck_assert(!dtc__lock_held(&inst->hdr->sh_reg_lock));
    ck_assert_int_eq(dtc__locks_held(), 0);
}
END_TEST

/* Locks taken against shm.h's lock order abort (DTC_ASSERT), even when
 * nothing deadlocked: a txn slot's lock, then the registry. */
START_TEST(lock_order_txn_then_registry_aborts)
{
    dtc__segment_unlink(inst_name); /* the abort skips the teardown */
    ck_assert_int_eq(dtc__txn_lock(inst, dtc__txn(inst, 0)), DTC_OK);
    dtc__reg_lock(inst);
}
END_TEST

/* ... two participant slots at once */
START_TEST(lock_order_two_part_slots_aborts)
{
    dtc__segment_unlink(inst_name);
    ck_assert_int_eq(dtc__part_lock(inst, dtc__part(inst, 0)), DTC_OK);
    dtc__part_lock(inst, dtc__part(inst, 1));
}
END_TEST

/* ... the group-commit lock, which is taken alone, under a slot's lock */
START_TEST(lock_order_flush_lock_not_alone_aborts)
{
    dtc__segment_unlink(inst_name);
    ck_assert_int_eq(dtc__txn_lock(inst, dtc__txn(inst, 0)), DTC_OK);
    dtc__lock_try(inst, &inst->hdr->sh_dlog_flush_lock, NULL, NULL);
}
END_TEST

/* A broken precondition aborts (here: an answer written without the
 * slot's lock). */
START_TEST(precondition_aborts)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, 1);
    dtc__segment_unlink(inst_name); /* the abort skips the teardown */
    dtc__entry_answer(ts, &ts->ts_entries[0], DTC_ENTRY_YES, NULL);
}
END_TEST
#endif

Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *seg = tcase_create("segment");
    tcase_add_checked_fixture(seg, seg_setup, seg_teardown);
    tcase_add_test(seg, segment_attach_ok);
    tcase_add_test(seg, segment_bad_magic);
    tcase_add_test(seg, segment_bad_version);
    tcase_add_test(seg, segment_bad_sizes);
    tcase_add_test(seg, segment_torn_header);
    tcase_add_test(seg, segment_create_twice);
    tcase_add_test(seg, lock_owner_died_repaired);
    tcase_add_test(seg, lock_owner_died_quarantine);
    tcase_add_test(seg, txn_valid_verdict);
    tcase_add_test(seg, log_strict_logfmt);
    tcase_add_test(seg, log_level_names);
    tcase_add_test(seg, log_reopen);
    tcase_add_test(seg, reregister_scribbled_ring);
    tcase_add_test(seg, unregister_scribbled_ring);
    tcase_add_test(seg, wake_lock_owner_died);
    tcase_add_test(seg, wake_renewed_under_live_waiter);
    tcase_add_test(seg, close_while_participant_serves);
    tcase_add_test(seg, participant_busy_refused);
    tcase_add_test(seg, pace_idle_returns_to_other);
    tcase_add_test(seg, begin_refused_on_shutdown);
    tcase_add_test(seg, transaction_ids_listed);
    tcase_add_test(seg, lint_skips_a_cut_last_line);
    tcase_add_test(seg, empty_transaction_commits);
    tcase_add_test(seg, readonly_attach_cannot_write);
    tcase_add_test(seg, metrics_hostile_segment);
    tcase_add_test(seg, participant_outcome_one_rule);
    tcase_add_test(seg, begin_refused_rate_limited);
    tcase_add_test(seg, answer_revised_in_flush);
#if DTC_ASSERTS
    tcase_add_test(seg, lock_held_recorded);
    tcase_add_test_raise_signal(seg, precondition_aborts, SIGABRT);
    tcase_add_test_raise_signal(seg, lock_order_txn_then_registry_aborts, SIGABRT);
    tcase_add_test_raise_signal(seg, lock_order_two_part_slots_aborts, SIGABRT);
    tcase_add_test_raise_signal(seg, lock_order_flush_lock_not_alone_aborts, SIGABRT);
#endif
    suite_add_tcase(s, seg);
    TCase *bounded = tcase_create("bounded");
    tcase_add_checked_fixture(bounded, bounded_setup, seg_teardown);
    tcase_set_timeout(bounded, 10); /* an unbounded lock hangs: a timeout */
    tcase_add_test(bounded, lock_holder_stopped_txn);
    tcase_add_test(bounded, lock_holder_stopped_part_reg);
    tcase_add_test(bounded, lock_holder_stopped_wake);
    tcase_add_test(bounded, metrics_take_no_lock);
    suite_add_tcase(s, bounded);
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, segment_size_linear);
    tcase_add_test(pure, segment_missing);
    tcase_add_test(pure, transitions);
    tcase_add_test(pure, result_codes);
    tcase_add_test(pure, txid_roundtrip);
    tcase_add_test(pure, txid_random_v4);
    tcase_add_test(pure, reason_codes);
    tcase_add_test(pure, entry_failure);
    tcase_add_test(pure, names);
    tcase_add_test(pure, liveness_pid_reuse);
    tcase_add_test(pure, log_batching);
    tcase_add_test(pure, log_journal_stream);
    tcase_add_test(pure, log_journal_elsewhere);
    tcase_add_test(pure, log_ends_torn_line);
    tcase_add_test(pure, metrics_text_no_segment);
#ifdef DTC_CRASH_POINTS
    tcase_add_test_raise_signal(pure, fault_point_kills, SIGKILL);
#endif
    suite_add_tcase(s, pure);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
