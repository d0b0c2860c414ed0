/*
 * test_damage.c - a damaged segment and bad input.
 *
 * Damage (with dtcd running and participants serving): garbage written
 * into a txn slot (state out of range; an entry's participant index out of
 * bounds), a participant's ring (requests with a wrong generation or
 * impossible indexes), a participant slot (state out of range,
 * unterminated name), and the header of a copy of the segment (sh_ready 0,
 * magic, version, size).  dtcd and `dtcctl status` must detect and report
 * it (corrupt_slots > 0, a dtcd log line event=quarantine), the damaged
 * slot is never reused, and the other slots keep serving.
 *
 * Bad input: malformed, oversized, NUL-containing payloads, unknown and
 * too-long names, txids that do not parse or do not exist, calls in the
 * wrong state: each gives its result code and changes nothing else.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "matrix_util.h"

static void teardown(void)
{
    h_fini();
}

static void start(const char *tag, const char *max_txns, const char *max_parts)
{
    h_init(tag);
    const char *const args[] = {"--tick-ms", "20", "--log-file", m_dtcd_log(),
                                "--max-txns", max_txns, "--max-participants", max_parts,
                                NULL};
    ck_assert_int_gt(h_start_dtcdv(args), 0);
}

/* Waits until corrupt_slots >= want (<= 3 s); returns the count. */
static uint32_t wait_corrupt(uint32_t want)
{
    dtc_status st = {0};
    int64_t end = h_now_ms() + 3000;
    while (h_now_ms() < end) {
        if (dtc_get_status(h_inst(), &st) == DTC_OK && st.corrupt_slots >= want)
            break;
        h_sleep_ms(10);
    }
    return st.corrupt_slots;
}

/* How many times `line` was logged by whoever may find a damaged slot
 * first: dtcd, a participant the test started (noop-*.err) or a forked
 * coordinator (coord.log). */
static int logged(const char *line)
{
    char path[PATH_MAX];
    int n = m_file_count(m_dtcd_log(), line);
    snprintf(path, sizeof path, "%s/coord.log", h_dir());
    n += m_file_count(path, line);
    DIR *d = opendir(h_dir());
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "noop-", 5) != 0 || len < 4 || strcmp(e->d_name + len - 4, ".err"))
            continue;
        snprintf(path, sizeof path, "%s/%s", h_dir(), e->d_name);
        n += m_file_count(path, line);
    }
    closedir(d);
    return n;
}

/* `dtcctl status` (text and JSON) reports n corrupt slots. */
static void ctl_reports_corrupt(uint32_t n)
{
    h_result r;
    char want[64];
    int unhealthy = n > 0; /* status is a health check: exit 1 with corrupt slots */
    ck_assert_int_eq(h_run(&r, 5000, "dtcctl", "--instance", h_instance(), "status", NULL),
                     unhealthy);
    snprintf(want, sizeof want, "corrupt slots:   %u", n);
    ck_assert_msg(strstr(r.out, want) != NULL, "dtcctl status: want '%s' in:\n%s", want, r.out);
    ck_assert_int_eq(h_run(&r, 5000, "dtcctl", "--instance", h_instance(), "--json", "status",
                           NULL),
                     unhealthy);
    ck_assert(h_json_valid(r.out));
    snprintf(want, sizeof want, "\"corrupt_slots\":%u", n);
    ck_assert_msg(strstr(r.out, want) != NULL, "dtcctl --json status: want %s in %s", want,
                  r.out);
    /* the listings still work with a damaged slot in the table */
    ck_assert_int_eq(h_run(&r, 5000, "dtcctl", "--instance", h_instance(), "txns", NULL), 0);
    ck_assert_int_eq(h_run(&r, 5000, "dtcctl", "--instance", h_instance(), "--json",
                           "participants", NULL),
                     0);
    ck_assert(h_json_valid(r.out));
}

/* n transactions enlisting `name`, in a forked child bounded by 8 s. */
static void txns_commit(const char *name, int n)
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        alarm(10);
        dtc_instance *in;
        if (dtc_open(h_instance(), &in) != DTC_OK)
            _exit(10);
        for (int i = 0; i < n; i++) {
            dtc_txid id;
            dtc_result rc = dtc_begin_transaction(in, NULL, &id);
            if (rc == DTC_OK)
                rc = dtc_enlist(in, &id, name, "x", 1);
            if (rc == DTC_OK)
                rc = dtc_commit_transaction(in, &id, NULL);
            if (rc != DTC_OK) {
                fprintf(stderr, "txn %d: %s\n", i, dtc_result_name(rc));
                _exit(11);
            }
        }
        _exit(0);
    }
    int st = 0, done = h_wait(c, 8000, &st);
    if (!done)
        h_kill9(c);
    ck_assert_msg(done && h_exit_code(st) == 0, "transactions on %s: done %d exit %d", name,
                  done, h_exit_code(st));
}

/* ---- txn slots ------------------------------------------------------------ */

START_TEST(test_damage_txn_state)
{
    start("dmg-state", "4", "8");
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_instance *in = h_inst();
    struct dtc_txn_slot *ts = dtc__txn(in, 2);
    ck_assert_int_eq(dtc__txn_lock(in, ts), DTC_OK);
    ck_assert_uint_eq(ts->ts_state, DTC_TXN_FREE);
    uint32_t gen = ts->ts_gen;
    ts->ts_state = 77; /* out of range */
    dtc__unlock(&ts->ts_lock);
    ck_assert_uint_ge(wait_corrupt(1), 1);
    ck_assert(ts->ts_flags & DTC_TS_QUARANTINED);
    ck_assert_int_ge(logged("event=quarantine slot=txn"), 1);
    ctl_reports_corrupt(1);
    /* 30 transactions over the 3 good slots; slot 2 never reused. */
    txns_commit("n1", 30);
    ck_assert_uint_eq(ts->ts_gen, gen);
    ck_assert_uint_eq(ts->ts_state, 77);
    /* counted once, not once per tick */
    h_sleep_ms(200);
    ck_assert_uint_eq(wait_corrupt(1), 1);
    /* a locker of the slot is refused */
    ck_assert_int_eq(dtc__txn_lock(in, ts), DTC_ECORRUPT);
}
END_TEST

START_TEST(test_damage_entry_index)
{
    start("dmg-entry", "4", "8");
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "n1", "x", 1), DTC_OK);
    struct dtc_txn_slot *ts = NULL;
    for (uint32_t i = 0; i < in->max_txns; i++)
        if (memcmp(dtc__txn(in, i)->ts_txid, id.bytes, 16) == 0)
            ts = dtc__txn(in, i);
    ck_assert_ptr_nonnull(ts);
    ck_assert_int_eq(dtc__txn_lock(in, ts), DTC_OK);
    uint32_t gen = ts->ts_gen;
    ts->ts_entries[0].te_part = 4000000000u; /* out of bounds */
    dtc__unlock(&ts->ts_lock);
    ck_assert_uint_ge(wait_corrupt(1), 1);
    ck_assert_int_ge(logged("event=quarantine slot=txn"), 1);
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_commit_transaction(in, &id, &rep), DTC_ECORRUPT);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, &rep), DTC_ECORRUPT);
    ctl_reports_corrupt(1);
    txns_commit("n1", 30);
    ck_assert_uint_eq(ts->ts_gen, gen);
    dtc_participant_info pi;
    ck_assert(h_find_participant("n1", &pi));
    ck_assert(pi.alive);
}
END_TEST

/* ---- a scribbled entry count while a driver waits (issue 9, finding 1) ---- */

/* The first slot in `state` (unlocked peek), polled up to timeout_ms. */
static uint32_t wait_slot_state(uint32_t state, uint32_t flags, int timeout_ms)
{
    dtc_instance *in = h_inst();
    int64_t end = h_now_ms() + timeout_ms;
    do {
        for (uint32_t i = 0; i < in->max_txns; i++) {
            struct dtc_txn_slot *ts = dtc__txn(in, i);
            if (ts->ts_state == state && (ts->ts_flags & flags) == flags)
                return i;
        }
        h_sleep_ms(5);
    } while (h_now_ms() < end);
    return in->max_txns;
}

/* Writes ts_nentries under the raw mutex (no validation, as a stray
 * writer would). */
static void scribble_nentries(struct dtc_txn_slot *ts, uint32_t value)
{
    ck_assert_int_eq(pthread_mutex_lock(&ts->ts_lock), 0);
    ts->ts_nentries = value;
    pthread_mutex_unlock(&ts->ts_lock);
}

/* A coordinator: begin, enlist "slow", commit; exits 0 if the commit
 * returned DTC_ECORRUPT, 20 + the result otherwise. */
static pid_t fork_slow_commit(void)
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        alarm(20);
        char log[PATH_MAX]; /* its own log: it may be the one to quarantine */
        snprintf(log, sizeof log, "%s/coord.log", h_dir());
        if (dtc_log_to_file(log) != DTC_OK)
            _exit(11);
        dtc_instance *in;
        dtc_txn_options o;
        dtc_txn_options_default(&o);
        o.prepare_timeout_ms = o.rollback_timeout_ms = o.commit_timeout_ms = 10000;
        dtc_txid id;
        if (dtc_open(h_instance(), &in) != DTC_OK || dtc_begin_transaction(in, &o, &id) != DTC_OK
            || dtc_enlist(in, &id, "slow", "x", 1) != DTC_OK)
            _exit(10);
        dtc_result rc = dtc_commit_transaction(in, &id, NULL);
        fprintf(stderr, "commit: %s\n", dtc_result_name(rc));
        _exit(rc == DTC_ECORRUPT ? 0 : 20 + (int)rc);
    }
    return c;
}

/* _i: 0, 1 the coordinator waits; 2, 3 dtcd's finisher waits (the
 * coordinator was killed).  Even: ts_nentries 100000, odd: max_parts+1
 * (one entry past the slot: the next slot's lock). */
START_TEST(test_damage_nentries_while_waiting)
{
    bool adopted = _i >= 2;
    start(adopted ? "dmg-nent-adopt" : "dmg-nent-coord", "4", "8");
    ck_assert_int_gt(h_start_noop("slow", "--delay-ms", "1500", NULL), 0);
    dtc_instance *in = h_inst();
    uint32_t value = _i % 2 == 0 ? 100000u : in->max_parts + 1;
    pid_t c = fork_slow_commit();
    uint32_t idx = wait_slot_state(DTC_TXN_PREPARING, 0, 3000);
    ck_assert_uint_lt(idx, in->max_txns - 1); /* a fresh coordinator takes slot 0 */
    struct dtc_txn_slot *ts = dtc__txn(in, idx);
    if (adopted) {
        ck_assert_int_ge(h_kill9(c), 0);
        ck_assert_uint_eq(wait_slot_state(DTC_TXN_ABORTING, DTC_TS_ADOPTED, 3000), idx);
        h_sleep_ms(50); /* the finisher waits for the rollback */
    }
    /* what lies just past the slot's entries: must stay untouched */
    unsigned char past[sizeof(struct dtc_txn_entry)];
    memcpy(past, &ts->ts_entries[in->max_parts], sizeof past);
    scribble_nentries(ts, value);
    if (!adopted) {
        int st = 0, done = h_wait(c, 10000, &st);
        if (!done)
            h_kill9(c);
        ck_assert_msg(done && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "coordinator: done %d exit %d (0: DTC_ECORRUPT; 128+n: signal n)", done,
                      h_exit_code(st));
    } else {
        int64_t end = h_now_ms() + 5000;
        while (!m_file_has(m_dtcd_log(), "result=DTC_ECORRUPT") && h_now_ms() < end
               && h_alive(h_dtcd_pid()))
            h_sleep_ms(20);
        ck_assert_msg(h_alive(h_dtcd_pid()), "dtcd died");
        ck_assert_msg(m_file_has(m_dtcd_log(), "result=DTC_ECORRUPT"),
                      "dtcd's finisher did not stop with DTC_ECORRUPT");
    }
    ck_assert_msg(memcmp(past, &ts->ts_entries[in->max_parts], sizeof past) == 0,
                  "a driver wrote past the slot's entries");
    ck_assert(ts->ts_flags & DTC_TS_QUARANTINED);
    ck_assert_uint_ge(wait_corrupt(1), 1);
    /* logged once, by whoever found it first */
    ck_assert_int_eq(logged("event=quarantine slot=txn"), 1);
    h_sleep_ms(300); /* a few ticks more: dtcd survives them */
    ck_assert_msg(h_alive(h_dtcd_pid()), "dtcd died");
    ck_assert_uint_eq(wait_corrupt(1), 1); /* counted once */
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    txns_commit("n1", 5);
    ctl_reports_corrupt(1);
}
END_TEST

/* ---- a quarantined transaction: visible, resolvable (issue 9, finding 6) -- */

static struct dtc_txn_slot *slot_of_id(const dtc_txid *id)
{
    dtc_instance *in = h_inst();
    for (uint32_t i = 0; i < in->max_txns; i++)
        if (memcmp(dtc__txn(in, i)->ts_txid, id->bytes, 16) == 0)
            return dtc__txn(in, i);
    ck_abort_msg("no slot for the txid");
    return NULL;
}

/* A transaction with n1 prepared (its record held); returns its slot. */
static struct dtc_txn_slot *prepared_txn(dtc_txid *id)
{
    dtc_instance *in = h_inst();
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, id, "n1", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_prepare_transaction(in, id, NULL), DTC_OK);
    return slot_of_id(id);
}

static const dtc_txn_info *listed(const dtc_txn_info *arr, size_t n, const dtc_txid *id)
{
    for (size_t k = 0; k < n; k++)
        if (memcmp(arr[k].id.bytes, id->bytes, 16) == 0)
            return &arr[k];
    return NULL;
}

/* A begin time scribbled to INT64_MIN in a prepared transaction: its
 * commit still succeeds, and the transaction's duration is not computed
 * by an overflowing subtraction (UBSan aborted the coordinator and dtcd
 * there: test_segfuzz seed 111872809826491). */
START_TEST(test_damage_begin_time)
{
    start("dmg-begin", "16", "4");
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_txid id;
    struct dtc_txn_slot *ts = prepared_txn(&id);
    ts->ts_begin_ns = INT64_MIN;
    dtc_txn_info info;
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &info), DTC_OK);
    ck_assert_int_eq(info.state, DTC_TXN_COMMITTED);
}
END_TEST

START_TEST(test_damage_quarantined_resolve)
{
    start("dmg-quar", "4", "8");
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_participant_info p0, p1;
    dtc_txid id, id2;
    /* one with a scribbled entry op (its name still readable), one with
     * an unterminated participant name (too damaged to resolve) */
    struct dtc_txn_slot *ts = prepared_txn(&id), *ts2 = prepared_txn(&id2);
    ck_assert(h_find_participant("n1", &p0));
    ck_assert_int_eq(pthread_mutex_lock(&ts->ts_lock), 0);
    ts->ts_entries[0].te_op = 200;
    pthread_mutex_unlock(&ts->ts_lock);
    ck_assert_int_eq(pthread_mutex_lock(&ts2->ts_lock), 0);
    memset(ts2->ts_entries[0].te_name, 'A', sizeof ts2->ts_entries[0].te_name);
    pthread_mutex_unlock(&ts2->ts_lock);
    ck_assert_uint_eq(wait_corrupt(2), 2);

    /* visible: listed with the flag, in the API and in dtcctl txns */
    dtc_txn_info arr[4];
    size_t n = 0;
    ck_assert_int_eq(dtc_list_transactions(in, arr, 4, &n), DTC_OK);
    ck_assert_uint_eq(n, 2);
    const dtc_txn_info *t1 = listed(arr, n, &id), *t2 = listed(arr, n, &id2);
    ck_assert_ptr_nonnull(t1);
    ck_assert_ptr_nonnull(t2);
    ck_assert(t1->quarantined && t2->quarantined);
    ck_assert_str_eq(t1->entries[0].name, "n1");
    ck_assert_str_eq(t2->entries[0].name, "?"); /* unreadable: sanitized */
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(in, &st), DTC_OK);
    ck_assert_uint_eq(st.txns_in_use, 2);
    h_result r;
    ck_assert_int_eq(h_run(&r, 5000, "dtcctl", "--instance", h_instance(), "txns", NULL), 0);
    ck_assert_msg(strstr(r.out, "quarantined") != NULL, "dtcctl txns:\n%s", r.out);
    ck_assert_int_eq(h_run(&r, 5000, "dtcctl", "--instance", h_instance(), "--json", "txns",
                           NULL),
                     0);
    ck_assert(h_json_valid(r.out));
    ck_assert_msg(strstr(r.out, "\"quarantined\":true") != NULL, "dtcctl --json txns: %s",
                  r.out);

    /* resolvable: rollback reaches n1 and the slot is freed */
    char tx[DTC_TXID_STRLEN], tx2[DTC_TXID_STRLEN];
    dtc_txid_format(&id, tx);
    dtc_txid_format(&id2, tx2);
    h_run(&r, 10000, "dtcctl", "--instance", h_instance(), "resolve", tx, "--rollback", NULL);
    ck_assert_msg(r.code == 0, "resolve of the quarantined slot: exit %d out=%s err=%s", r.code,
                  r.out, r.err);
    ck_assert(!(ts->ts_flags & DTC_TS_QUARANTINED));
    ck_assert_uint_eq(ts->ts_state, DTC_TXN_FREE);
    ck_assert(h_find_participant("n1", &p1));
    ck_assert_uint_ge(p1.served, p0.served + 1); /* the rollback */
    ck_assert_int_eq(dtc_list_transactions(in, arr, 4, &n), DTC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(listed(arr, n, &id2));
    ck_assert_uint_eq(wait_corrupt(0), 1);

    /* too damaged: stays quarantined and says so */
    dtc_txn_info rep;
    memset(&rep, 0, sizeof rep);
    ck_assert_int_eq(dtc_resolve_transaction(in, &id2, 0, &rep), DTC_ECORRUPT);
    ck_assert(rep.quarantined);
    h_run(&r, 10000, "dtcctl", "--instance", h_instance(), "resolve", tx2, "--rollback", NULL);
    ck_assert_msg(r.code != 0 && (strstr(r.err, "DTC_ECORRUPT") || strstr(r.err, dtc_strerror(DTC_ECORRUPT))),
                  "resolve of the unreadable slot: exit %d out=%s err=%s", r.code, r.out, r.err);
    ck_assert(ts2->ts_flags & DTC_TS_QUARANTINED);
    ck_assert_int_ge(logged("event=quarantine slot=txn"), 1);

    /* a quarantined slot is not busy: dtcd's SIGTERM takes no grace */
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(h_stop_dtcd(20000), 0);
    int64_t took = h_now_ms() - t0;
    ck_assert_msg(took < 2500, "dtcd took %lld ms to stop", (long long)took);
}
END_TEST

/* ---- participant rings and slots ------------------------------------------ */

START_TEST(test_damage_ring_request)
{
    start("dmg-ring", "4", "8");
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_instance *in = h_inst();
    dtc_participant_info p0, p1;
    ck_assert(h_find_participant("n1", &p0));
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "n1", "x", 1), DTC_OK);
    h_sleep_ms(100); /* its enlist step ran */
    uint32_t tidx = in->max_txns;
    for (uint32_t i = 0; i < in->max_txns; i++)
        if (memcmp(dtc__txn(in, i)->ts_txid, id.bytes, 16) == 0)
            tidx = i;
    ck_assert_uint_lt(tidx, in->max_txns);
    struct dtc_txn_slot *ts = dtc__txn(in, tidx);
    uint32_t pgen = dtc__part(in, p0.slot)->ps_gen;
    /* wrong txn generation; txn index and entry out of bounds; bad op;
     * a commit for an entry that is not awaiting one */
    struct dtc_ring_req bad[] = {
        {ts->ts_gen + 5, (uint16_t)tidx, 0, DTC_OP_COMMIT},
        {ts->ts_gen, 60000, 0, DTC_OP_PREPARE},
        {ts->ts_gen, (uint16_t)tidx, 250, DTC_OP_PREPARE},
        {ts->ts_gen, (uint16_t)tidx, 0, 200},
        {ts->ts_gen, (uint16_t)tidx, 0, DTC_OP_COMMIT},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        ck_assert_int_eq(dtc__part_push(in, p0.slot, pgen, &bad[k], true), DTC_OK);
    int64_t end = h_now_ms() + 3000;
    do {
        h_sleep_ms(10);
        ck_assert(h_find_participant("n1", &p1));
    } while (p1.pending > 0 && h_now_ms() < end);
    ck_assert_uint_eq(p1.pending, 0);
    ck_assert_uint_eq(p1.served, p0.served + 1 + 5); /* the enlist and the 5 */
    ck_assert(p1.alive);
    /* Nothing was answered into the txn: it is ACTIVE, nothing pending. */
    dtc_txn_info ti;
    ck_assert_int_eq(dtc_transaction_status(in, &id, &ti), DTC_OK);
    ck_assert_int_eq(ti.state, DTC_TXN_ACTIVE);
    ck_assert_int_eq(ti.entries[0].status, DTC_ENTRY_IDLE);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    txns_commit("n1", 10);
}
END_TEST

START_TEST(test_damage_participant_slot)
{
    start("dmg-part", "4", "4");
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    dtc_instance *in = h_inst();
    ck_assert_int_eq(dtc__reg_lock(in), DTC_OK);
    uint32_t a = in->max_participants, b = in->max_participants;
    for (uint32_t i = 0; i < in->max_participants; i++)
        if (dtc__part(in, i)->ps_state == DTC_PS_FREE) {
            if (a == in->max_participants)
                a = i;
            else if (b == in->max_participants)
                b = i;
        }
    ck_assert_uint_lt(b, in->max_participants);
    struct dtc_part_slot *pa = dtc__part(in, a), *pb = dtc__part(in, b);
    pa->ps_state = 9; /* out of range */
    memset(pb->ps_name, 'A', sizeof pb->ps_name); /* unterminated */
    pb->ps_pid = getpid();
    pb->ps_start = dtc__proc_start_time(getpid());
    pb->ps_state = DTC_PS_LIVE;
    dtc__unlock(&in->hdr->sh_reg_lock);
    ck_assert_uint_ge(wait_corrupt(2), 2);
    ck_assert_int_ge(m_file_count(m_dtcd_log(), "event=quarantine slot=participant"), 2);
    ck_assert_uint_eq(pa->ps_state, DTC_PS_QUARANTINED);
    ck_assert_uint_eq(pb->ps_state, DTC_PS_QUARANTINED);
    ctl_reports_corrupt(2);
    /* 4 slots: n1 and two quarantined leave one; a second newcomer finds
     * the registry full rather than a damaged slot. */
    ck_assert_int_gt(h_start_noop("n2", NULL), 0);
    h_result r;
    h_run(&r, 5000, "dtc-noop", "--instance", h_instance(), "--name", "n3", NULL);
    ck_assert_msg(r.code == 1 && strstr(r.err, "participant slot") != NULL,
                  "n3 with no sound slot left: exit %d err=%s", r.code, r.err);
    ck_assert_uint_eq(pa->ps_state, DTC_PS_QUARANTINED);
    ck_assert_uint_eq(pb->ps_state, DTC_PS_QUARANTINED);
    txns_commit("n1", 10);
    txns_commit("n2", 10);
}
END_TEST

/* ---- the header, on a copy of the segment --------------------------------- */

/* Copies the live segment to instance `name` with `scribble` applied. */
static void make_copy(const char *name, void (*scribble)(struct dtc_shm_header *, size_t *))
{
    dtc_instance *in = h_inst();
    char shm[96];
    snprintf(shm, sizeof shm, "/dtc.%s", name);
    shm_unlink(shm);
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    size_t size = in->size;
    char *copy = malloc(size);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, in->hdr, size);
    scribble((struct dtc_shm_header *)copy, &size);
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    ck_assert_int_eq(write(fd, copy, size), (ssize_t)size);
    close(fd);
    free(copy);
}

static void torn(struct dtc_shm_header *h, size_t *n) { (void)n; h->sh_ready = 0; }
static void magic(struct dtc_shm_header *h, size_t *n) { (void)n; h->sh_magic ^= 0x5a5a; }
static void version(struct dtc_shm_header *h, size_t *n) { (void)n; h->sh_version = 99; }
static void limits(struct dtc_shm_header *h, size_t *n) { (void)n; h->sh_max_txns = 100000; }
static void offset(struct dtc_shm_header *h, size_t *n) { (void)n; h->sh_part_off += 64; }
static void shorter(struct dtc_shm_header *h, size_t *n) { (void)h; *n -= 4096; }
static void no_nul(struct dtc_shm_header *h, size_t *n)
{
    (void)n;
    memset(h->sh_instance, 'x', sizeof h->sh_instance);
}

START_TEST(test_damage_header_copy)
{
    start("dmg-hdr", "4", "8");
    static const struct {
        void (*fn)(struct dtc_shm_header *, size_t *);
        dtc_result want;
        const char *what;
    } cases[] = {
        {torn, DTC_ECORRUPT, "sh_ready 0"},   {magic, DTC_EMAGIC, "magic"},
        {version, DTC_EVERSION, "version"},   {limits, DTC_ESIZE, "limits"},
        {offset, DTC_ESIZE, "offset"},        {shorter, DTC_ESIZE, "short"},
        {no_nul, DTC_ECORRUPT, "instance"},
    };
    char name[DTC_INSTANCE_MAX];
    snprintf(name, sizeof name, "%s-c", h_instance());
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        make_copy(name, cases[k].fn);
        dtc_instance *c = NULL;
        dtc_result rc = dtc_open(name, &c);
        ck_assert_msg(rc == cases[k].want, "%s: dtc_open gave %s, want %s", cases[k].what,
                      dtc_result_name(rc), dtc_result_name(cases[k].want));
        ck_assert_ptr_null(c);
        h_result r;
        h_run(&r, 5000, "dtcctl", "--instance", name, "status", NULL);
        ck_assert_msg(r.code == 2 && strstr(r.err, dtc_strerror(cases[k].want)) != NULL,
                      "%s: dtcctl status exit %d err=%s", cases[k].what, r.code, r.err);
        /* a dtcd refuses to take a damaged segment over */
        h_run(&r, 5000, "dtcd", "--instance", name, NULL);
        ck_assert_msg(r.code == 1, "%s: dtcd on the copy exit %d err=%s", cases[k].what,
                      r.code, r.err);
        char shm[96];
        snprintf(shm, sizeof shm, "/dtc.%s", name);
        shm_unlink(shm);
    }
    /* the live segment was not touched and serves */
    ck_assert_int_gt(h_start_noop("n1", NULL), 0);
    txns_commit("n1", 3);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.corrupt_slots, 0);
}
END_TEST

/* ---- bad input ------------------------------------------------------------ */

START_TEST(test_bad_input_api)
{
    start("bad-api", "8", "8");
    pid_t pids[M_NSVC];
    ck_assert_int_eq(m_start_shop(-1, NULL, NULL, pids), 0);
    dtc_instance *in = h_inst();
    m_ledger before[M_NSVC], after[M_NSVC];
    ck_assert_int_eq(m_ledgers(before), 0);
    dtc_status s0, s1;
    ck_assert_int_eq(dtc_get_status(in, &s0), DTC_OK);

    dtc_txid id, nosuch;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    char big[DTC_PAYLOAD_MAX + 2];
    memset(big, 'a', sizeof big);
    char longname[DTC_NAME_MAX + 8];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(dtc_enlist(in, &id, "payment", "a\0b", 3), DTC_EINVAL);
    ck_assert_int_eq(dtc_enlist(in, &id, "payment", big, DTC_PAYLOAD_MAX + 1), DTC_ETOOBIG);
    ck_assert_int_eq(dtc_enlist(in, &id, "nobody", "x", 1), DTC_EUNKNOWN);
    ck_assert_int_eq(dtc_enlist(in, &id, longname, "x", 1), DTC_ETOOBIG);
    ck_assert_int_eq(dtc_enlist(in, &id, "bad name!", "x", 1), DTC_EINVAL);
    ck_assert_int_eq(dtc_enlist(in, &id, NULL, "x", 1), DTC_EINVAL);
    ck_assert_int_eq(dtc_enlist(in, &id, "payment", NULL, 4), DTC_EINVAL);
    /* nothing was added by the refused enlists */
    dtc_txn_info ti;
    ck_assert_int_eq(dtc_transaction_status(in, &id, &ti), DTC_OK);
    ck_assert_uint_eq(ti.nentries, 0);
    ck_assert_int_eq(ti.state, DTC_TXN_ACTIVE);

    /* malformed for the service: enlist is accepted, the vote is not yes */
    ck_assert_int_eq(dtc_enlist(in, &id, "payment", "charge alice banana", 19), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "inventory", "frobnicate", 10), DTC_OK);
    dtc_result rc = dtc_commit_transaction(in, &id, &ti);
    ck_assert_msg(rc == DTC_EPARTICIPANT || rc == DTC_EREFUSED, "malformed payload: %s",
                  dtc_result_name(rc));
    ck_assert_int_eq(ti.state, DTC_TXN_ABORTED);

    /* a txid whose slot is gone: commit and rollback answer from the
     * decision log (dtc.h), the other calls find nothing */
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), rc);
    ck_assert_int_eq(dtc_prepare_transaction(in, &id, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_transaction_status(in, &id, &ti), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_enlist(in, &id, "payment", "charge alice 1", 14), DTC_ENOTFOUND);
    memset(&nosuch, 0x42, sizeof nosuch);
    ck_assert_int_eq(dtc_retry_transaction(in, &nosuch, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_resolve_transaction(in, &nosuch, 1, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_txid_parse("not-a-txid", &nosuch), DTC_EINVAL);
    ck_assert_int_eq(dtc_txid_parse("", &nosuch), DTC_EINVAL);

    /* the wrong state: enlist after prepare, resolve of a live txn,
     * prepare after commit (the slot is gone: not found) */
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "payment", "charge alice 1", 14), DTC_OK);
    ck_assert_int_eq(dtc_prepare_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "order", "create w-1 alice 1", 18), DTC_ESTATE);
    ck_assert_int_eq(dtc_resolve_transaction(in, &id, 1, NULL), DTC_ESTATE);
    ck_assert_int_eq(dtc_transaction_status(in, &id, &ti), DTC_OK);
    ck_assert_int_eq(ti.state, DTC_TXN_PREPARED);
    ck_assert_uint_eq(ti.nentries, 1);
    ck_assert_int_eq(dtc_rollback_transaction(in, &id, NULL), DTC_OK);

    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK); /* empty */
    ck_assert_int_eq(dtc_prepare_transaction(in, &id, NULL), DTC_ENOTFOUND);

    /* bad options */
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.prepare_timeout_ms = 0;
    ck_assert_int_eq(dtc_begin_transaction(in, &o, &id), DTC_EINVAL);

    /* nothing else changed */
    ck_assert(h_wait_idle(2000));
    ck_assert_int_eq(m_ledgers(after), 0);
    for (int i = 0; i < M_NSVC; i++)
        for (int k = 0; k < after[i].n; k++)
            ck_assert_msg(after[i].fate[k] != M_APPLIED
                              || m_ledger_fate(&before[i], after[i].txid[k]) == M_APPLIED,
                          "%s applied %s", m_svc[i], after[i].txid[k]);
    ck_assert_int_eq(dtc_get_status(in, &s1), DTC_OK);
    ck_assert_uint_eq(s1.counters.committed, s0.counters.committed + 1); /* the empty one */
    ck_assert_uint_eq(s1.participants_registered, M_NSVC);
    ck_assert_uint_eq(s1.corrupt_slots, 0);
    char why[1024];
    ck_assert_msg(m_order_commits(in, "ok-1", why, sizeof why) == DTC_OK, "%s", why);
}
END_TEST

START_TEST(test_bad_input_dtcctl)
{
    start("bad-ctl", "8", "8");
    pid_t pids[M_NSVC];
    ck_assert_int_eq(m_start_shop(-1, NULL, NULL, pids), 0);
    m_ledger before[M_NSVC], after[M_NSVC];
    ck_assert_int_eq(m_ledgers(before), 0);
    const char *I = h_instance();
    h_result r;
    char big[DTC_PAYLOAD_MAX + 32], longname[64];
    snprintf(big, sizeof big, "payment=%0*d", DTC_PAYLOAD_MAX + 1, 0);
    snprintf(longname, sizeof longname, "%0*d=x", DTC_NAME_MAX + 2, 0);
    struct {
        const char *argv[8];
        int code;
        const char *err_has;
    } cases[] = {
        {{"--instance", I, "run", "-p", "nobody=x", NULL}, 1, NULL},
        {{"--instance", I, "run", "-p", "noequals", NULL}, 2, "NAME=PAYLOAD"},
        {{"--instance", I, "run", "-p", big, NULL}, 2, "longer than"},
        {{"--instance", I, "run", "-p", longname, NULL}, 2, "longer than"},
        {{"--instance", I, "run", NULL}, 2, "at least one"},
        {{"--instance", I, "run", "-p", "payment=x", "--prepare-timeout-ms", "abc", NULL}, 2,
         "--prepare-timeout-ms: not a number: 'abc'"},
        {{"--instance", I, "retry", "not-a-txid", NULL}, 2, "bad TXID"},
        {{"--instance", I, "resolve", "not-a-txid", "--commit", NULL}, 2, "bad TXID"},
        {{"--instance", I, "retry", "00000000-0000-4000-8000-000000000000", NULL}, 2, NULL},
        {{"--instance", I, "frobnicate", NULL}, 2, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        h_runv(&r, 5000, NULL, "dtcctl", cases[k].argv);
        ck_assert_msg(r.code == cases[k].code, "case %zu (%s %s): exit %d want %d out=%s err=%s",
                      k, cases[k].argv[2], cases[k].argv[3] ? cases[k].argv[3] : "", r.code,
                      cases[k].code, r.out, r.err);
        if (cases[k].err_has)
            ck_assert_msg(strstr(r.err, cases[k].err_has) != NULL, "case %zu: err=%s", k, r.err);
    }
    /* the unknown participant: reported as such */
    const char *const a0[] = {"--instance", I, "run", "-p", "nobody=x", NULL};
    h_runv(&r, 5000, NULL, "dtcctl", a0);
    ck_assert_msg(strstr(r.out, "DTC_EUNKNOWN") != NULL, "out=%s", r.out);
    /* a nonexistent txid says not found */
    const char *const a1[] = {"--instance", I, "retry", "00000000-0000-4000-8000-000000000000",
                              NULL};
    h_runv(&r, 5000, NULL, "dtcctl", a1);
    ck_assert_msg(strstr(r.err, "not found") != NULL || strstr(r.out, "not found") != NULL,
                  "retry of an unknown txid: out=%s err=%s", r.out, r.err);
    ck_assert(h_wait_idle(2000));
    ck_assert_int_eq(m_ledgers(after), 0);
    for (int i = 0; i < M_NSVC; i++)
        ck_assert_msg(after[i].n == before[i].n, "%s ledger changed", m_svc[i]);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 0);
    ck_assert_uint_eq(st.participants_registered, M_NSVC);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("damage");
    TCase *tc = tcase_create("damage");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_damage_txn_state);
    tcase_add_test(tc, test_damage_entry_index);
    tcase_add_loop_test(tc, test_damage_nentries_while_waiting, 0, 4);
    tcase_add_test(tc, test_damage_quarantined_resolve);
    tcase_add_test(tc, test_damage_begin_time);
    tcase_add_test(tc, test_damage_ring_request);
    tcase_add_test(tc, test_damage_participant_slot);
    tcase_add_test(tc, test_damage_header_copy);
    suite_add_tcase(s, tc);
    TCase *bi = tcase_create("bad_input");
    tcase_add_checked_fixture(bi, NULL, teardown);
    tcase_set_timeout(bi, 30);
    tcase_add_test(bi, test_bad_input_api);
    tcase_add_test(bi, test_bad_input_dtcctl);
    suite_add_tcase(s, bi);
    return h_run_suite(s);
}
