/*
 * check_store.c - unit tests of the participant record store and the four
 * services' payload parsers: parsing, optimistic concurrency, holds,
 * constraints, idempotent commit/rollback and compensation, and the state
 * file (reload, prepared holds, torn and corrupt lines, compaction, seeds,
 * write failures, symlinks planted at the temp and lock names, the crash
 * point hook), and the ledger horizon (entries retired once the
 * coordinator lets go, kept while it may redeliver, compaction bounded
 * by live state).  No shared memory: the store does not use it.  Each
 * test runs in its own process (CK_FORK) and directory under one mkdtemp
 * base that the unchecked fixture removes.
 */
#include <check.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dtc/dtc.h"
#include "htab.h"
#include "store_compact.h"
#include "svc.h"

static char base[64];

/* ---- helpers ------------------------------------------------------------- */

static void make_base(void)
{
    snprintf(base, sizeof base, "/tmp/check_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_base(void)
{
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory for one test. */
static char *new_dir(void)
{
    static char dir[256];
    snprintf(dir, sizeof dir, "%s/t.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static store *open_seeded(const store_schema *sc, const char *dir, const char *const *seeds,
                          size_t n, store_info *info)
{
    char err[512];
    store *st = store_open(dir, sc->ss_service, sc, seeds, n, 0, info, err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    return st;
}

static store *open_inv(const char *dir)
{
    static const char *const seeds[] = {"w=10", "x=5"};
    return open_seeded(&svc_inventory, dir, seeds, 2, NULL);
}

static store_vote enlist(store *st, const char *txid, const char *payload, char *why)
{
    return store_enlist(st, txid, payload, strlen(payload), why);
}

/* enlist + prepare + commit + flush, each must succeed. */
static void run_commit(store *st, const char *txid, const char *payload)
{
    char why[STORE_WHY_MAX];
    store_outcome out;
    ck_assert_int_eq(enlist(st, txid, payload, why), STORE_YES);
    ck_assert_msg(store_prepare(st, txid, why) == STORE_YES, "prepare %s: %s", txid, why);
    ck_assert_msg(store_commit(st, txid, &out, why) == 0, "commit %s: %s", txid, why);
    ck_assert_int_eq(out, STORE_DONE);
    ck_assert_int_eq(store_flush(st, why), 0);
}

static int64_t value_of(const store *st, const char *key)
{
    const store_rec *r = store_get(st, key);
    ck_assert_msg(r != NULL && r->rc_present, "record %s missing", key);
    return r->rc_value;
}

static uint64_t version_of(const store *st, const char *key)
{
    const store_rec *r = store_get(st, key);
    return r ? r->rc_version : 0;
}

static char *dump_text(const store *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    store_dump(st, f);
    fclose(f);
    return buf;
}

static char *state_path(const char *dir, const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.state", dir, name);
    return path;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[1 << 16];
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void append_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* ---- payload parsing ------------------------------------------------------ */

START_TEST(parse_valid)
{
    store_ops ops;
    char why[STORE_WHY_MAX];

    ck_assert_int_eq(svc_inventory.ss_parse("reserve widget-1 3", &ops, why, sizeof why), 0);
    ck_assert_int_eq(ops.so_n, 1);
    ck_assert_int_eq(ops.so_op[0].op_kind, STORE_ADD);
    ck_assert_str_eq(ops.so_op[0].op_key, "widget-1");
    ck_assert_int_eq(ops.so_op[0].op_value, -3);
    ck_assert_int_eq(ops.so_op[0].op_must_exist, 0);

    ck_assert_int_eq(svc_inventory.ss_parse("  reserve  w   1000000000000000 ", &ops, why,
                                            sizeof why), 0);
    ck_assert_int_eq(ops.so_op[0].op_value, -1000000000000000LL);

    ck_assert_int_eq(svc_payment.ss_parse("charge alice.b 1250", &ops, why, sizeof why), 0);
    ck_assert_int_eq(ops.so_n, 1);
    ck_assert_str_eq(ops.so_op[0].op_key, "alice.b");
    ck_assert_int_eq(ops.so_op[0].op_value, -1250);
    ck_assert_int_eq(ops.so_op[0].op_must_exist, 1);

    ck_assert_int_eq(svc_order.ss_parse("create o-17 alice 999", &ops, why, sizeof why), 0);
    ck_assert_int_eq(ops.so_n, 1);
    ck_assert_int_eq(ops.so_op[0].op_kind, STORE_CREATE);
    ck_assert_str_eq(ops.so_op[0].op_key, "order:o-17");
    ck_assert_str_eq(ops.so_op[0].op_note, "alice");
    ck_assert_int_eq(ops.so_op[0].op_value, 999);

    ck_assert_int_eq(svc_shipping.ss_parse("schedule o-17 EU_west", &ops, why, sizeof why), 0);
    ck_assert_int_eq(ops.so_n, 2);
    ck_assert_int_eq(ops.so_op[0].op_kind, STORE_ADD);
    ck_assert_str_eq(ops.so_op[0].op_key, "zone:EU_west");
    ck_assert_int_eq(ops.so_op[0].op_value, -1);
    ck_assert_int_eq(ops.so_op[0].op_must_exist, 1);
    ck_assert_int_eq(ops.so_op[1].op_kind, STORE_CREATE);
    ck_assert_str_eq(ops.so_op[1].op_key, "ship:o-17");
    ck_assert_str_eq(ops.so_op[1].op_note, "EU_west");
}
END_TEST

static const struct bad_payload {
    const store_schema *schema;
    const char *payload;
    const char *expect; /* substring of the reason */
} bad_payloads[] = {
    {&svc_inventory, "", "empty"},
    {&svc_inventory, "   ", "empty"},
    {&svc_inventory, "take w 3", "unknown verb 'take'"},
    {&svc_inventory, "reserve", "missing fields"},
    {&svc_inventory, "reserve w", "missing fields"},
    {&svc_inventory, "reserve w 3 4", "extra fields"},
    {&svc_inventory, "reserve w 3 4 5 6 7 8 9 10", "extra fields"},
    {&svc_inventory, "reserve w abc", "QTY is not a non-negative integer"},
    {&svc_inventory, "reserve w -3", "QTY is not a non-negative integer"},
    {&svc_inventory, "reserve w +3", "QTY is not a non-negative integer"},
    {&svc_inventory, "reserve w 3x", "QTY is not a non-negative integer"},
    {&svc_inventory, "reserve w 0", "QTY must be > 0"},
    {&svc_inventory, "reserve w 99999999999999999999", "QTY overflows"},
    {&svc_inventory, "reserve w 1000000000000001", "QTY overflows"},
    {&svc_inventory, "reserve w/x 1", "bad SKU"},
    {&svc_inventory, "reserve w\x01 1", "non-printable byte 0x01"},
    {&svc_inventory, "reserve w\t1", "non-printable byte 0x09"},
    {&svc_inventory, "reserve w\xc3\xa9 1", "non-printable byte 0xc3"},
    {&svc_inventory,
     "reserve k234567890123456789012345678901234567890123456789012345678901234 1",
     "bad SKU"},
    {&svc_payment, "charge alice", "missing fields"},
    {&svc_payment, "charge alice 1.5", "AMOUNT_CENTS is not a non-negative integer"},
    {&svc_payment, "charge alice 0", "must be > 0"},
    {&svc_payment, "charge al;ce 5", "bad ACCOUNT"},
    {&svc_payment, "reserve alice 5", "unknown verb"},
    {&svc_order, "create o1 alice", "missing fields"},
    {&svc_order, "create o1 alice 5 6", "extra fields"},
    {&svc_order, "create o1 al!ce 5", "bad ACCOUNT"},
    {&svc_order, "create o1 alice 18446744073709551616", "overflows"},
    {&svc_order, /* "order:" + 58 characters does not fit a 63-byte key */
     "create o123456789012345678901234567890123456789012345678901234567 a 5",
     "bad ORDER_ID"},
    {&svc_order, /* the account is the note: at most 47 characters */
     "create o1 a23456789012345678901234567890123456789012345678 5", "bad ACCOUNT"},
    {&svc_shipping, "schedule o1", "missing fields"},
    {&svc_shipping, "schedule o1 EU x", "extra fields"},
    {&svc_shipping, "schedule o1 E U!", "extra fields"},
    {&svc_shipping, "schedule o1 EU!", "bad ZONE"},
    {&svc_shipping, "schedule o/1 EU", "bad ORDER_ID"},
    {&svc_shipping, "ship o1 EU", "unknown verb"},
};

START_TEST(parse_malformed)
{
    const struct bad_payload *b = &bad_payloads[_i];
    store_ops ops;
    char why[STORE_WHY_MAX] = "";
    ck_assert_msg(b->schema->ss_parse(b->payload, &ops, why, sizeof why) == -1,
                  "'%s' parsed", b->payload);
    ck_assert_msg(strncmp(why, "malformed payload: ", 19) == 0, "reason '%s'", why);
    ck_assert_msg(strstr(why, b->expect) != NULL, "'%s': reason '%s' lacks '%s'", b->payload,
                  why, b->expect);
}
END_TEST

START_TEST(enlist_rejects_bad_bytes)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX], big[STORE_PAYLOAD_MAX + 8];
    ck_assert_int_eq(store_enlist(st, "t1", "reserve w 1\0junk", 16, why), STORE_ERROR);
    ck_assert_str_eq(why, "malformed payload: NUL byte at offset 11");
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(store_enlist(st, "t2", big, strlen(big), why), STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(why, "longer than"));
    ck_assert_int_eq(enlist(st, "bad txid", "reserve w 1", why), STORE_ERROR);
    ck_assert_int_eq(enlist(st, "t3", "reserve w nope", why), STORE_ERROR);
    ck_assert_str_eq(why, "malformed payload: QTY is not a non-negative integer: 'nope'");
    /* an enlist error leaves nothing behind: prepare says not enlisted */
    ck_assert_int_eq(store_prepare(st, "t3", why), STORE_ERROR);
    ck_assert_str_eq(why, "not enlisted");
    store_close(&st);
}
END_TEST

START_TEST(seed_parsing)
{
    store_op op;
    char why[STORE_WHY_MAX];
    ck_assert_int_eq(store_parse_seed(&svc_order, "o1=250", &op, why, sizeof why), 0);
    ck_assert_str_eq(op.op_key, "order:o1");
    ck_assert_int_eq(op.op_value, 250);
    ck_assert_int_eq(store_parse_seed(&svc_shipping, "EU=0", &op, why, sizeof why), 0);
    ck_assert_str_eq(op.op_key, "zone:EU");
    ck_assert_int_eq(op.op_value, 0);
    ck_assert_int_eq(store_parse_seed(&svc_inventory, "w", &op, why, sizeof why), -1);
    ck_assert_int_eq(store_parse_seed(&svc_inventory, "=5", &op, why, sizeof why), -1);
    ck_assert_int_eq(store_parse_seed(&svc_inventory, "w=-1", &op, why, sizeof why), -1);
    ck_assert_int_eq(store_parse_seed(&svc_inventory, "w=1x", &op, why, sizeof why), -1);
    ck_assert_int_eq(store_parse_seed(&svc_inventory, "w w=1", &op, why, sizeof why), -1);
}
END_TEST

/* ---- enlist, OCC, holds, constraints ------------------------------------- */

START_TEST(enlist_idempotent)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    ck_assert_int_eq(enlist(st, "t1", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(enlist(st, "t1", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(enlist(st, "t1", "reserve w 2", why), STORE_ERROR);
    ck_assert_str_eq(why, "already enlisted");
    ck_assert_int_eq(store_prepare(st, "t1", why), STORE_YES);
    ck_assert_int_eq(store_prepare(st, "t1", why), STORE_YES); /* redelivery */
    store_close(&st);
}
END_TEST

/* A refusal's reason: its code, then its text (dtc_reason_split). */
static void ck_why(const char *why, const char *code, const char *text)
{
    char got[DTC_REASON_CODE_MAX];
    ck_assert_str_eq(dtc_reason_split(why, got), text);
    ck_assert_str_eq(got, code);
}

START_TEST(occ_version_conflict)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    ck_assert_uint_eq(version_of(st, "w"), 1);
    ck_assert_int_eq(enlist(st, "t1", "reserve w 1", why), STORE_YES);
    run_commit(st, "t2", "reserve w 2");
    ck_assert_uint_eq(version_of(st, "w"), 2);
    ck_assert_int_eq(value_of(st, "w"), 8);
    ck_assert_int_eq(store_prepare(st, "t1", why), STORE_NO);
    ck_why(why, "conflict", "version conflict on w");
    /* a key that did not exist at enlist and exists now conflicts too */
    ck_assert_int_eq(enlist(st, "t3", "reserve nope 1", why), STORE_YES);
    ck_assert_uint_eq(version_of(st, "nope"), 0);
    store_close(&st);
}
END_TEST

START_TEST(held_by_other)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    store_outcome out;
    ck_assert_int_eq(enlist(st, "t1", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(enlist(st, "t2", "reserve w 2", why), STORE_YES);
    ck_assert_int_eq(store_prepare(st, "t1", why), STORE_YES);
    ck_assert_str_eq(store_get(st, "w")->rc_holder, "t1");
    ck_assert_int_eq(store_prepare(st, "t2", why), STORE_NO);
    ck_why(why, "held", "w is held by another transaction");
    /* a prepare changes nothing but the hold: t2 can go once t1 let go */
    ck_assert_int_eq(value_of(st, "w"), 10);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_RELEASED);
    ck_assert_ptr_null(store_get(st, "w")->rc_holder);
    ck_assert_int_eq(store_prepare(st, "t2", why), STORE_YES);
    store_close(&st);
}
END_TEST

START_TEST(held_absent_key)
{
    static const char *const seeds[] = {"EU=5"};
    store *st = open_seeded(&svc_shipping, new_dir(), seeds, 1, NULL);
    char why[STORE_WHY_MAX];
    ck_assert_int_eq(enlist(st, "t1", "schedule o1 EU", why), STORE_YES);
    ck_assert_int_eq(enlist(st, "t2", "schedule o1 EU", why), STORE_YES);
    ck_assert_int_eq(store_prepare(st, "t1", why), STORE_YES);
    ck_assert_str_eq(store_get(st, "ship:o1")->rc_holder, "t1");
    ck_assert_int_eq(store_get(st, "ship:o1")->rc_present, 0);
    ck_assert_int_eq(store_prepare(st, "t2", why), STORE_NO);
    ck_assert_ptr_nonnull(strstr(why, "is held by another transaction"));
    ck_assert_ptr_eq(strstr(why, "held: "), why); /* its code first */
    store_close(&st);
}
END_TEST

/* Prepares payload as txid on st; returns the vote, reason in why. */
static store_vote try_prepare(store *st, const char *txid, const char *payload, char *why)
{
    ck_assert_int_eq(enlist(st, txid, payload, why), STORE_YES);
    return store_prepare(st, txid, why);
}

START_TEST(constraints)
{
    static const char *const inv[] = {"w=10"}, *const pay[] = {"alice=500"},
                             *const ship[] = {"EU=1", "US=2"};
    char why[STORE_WHY_MAX];
    store *st = open_seeded(&svc_inventory, new_dir(), inv, 1, NULL);
    ck_assert_int_eq(try_prepare(st, "t1", "reserve w 11", why), STORE_NO);
    ck_why(why, "out_of_stock", "out of stock: w has 10, wants 11");
    ck_assert_int_eq(try_prepare(st, "t2", "reserve nope 1", why), STORE_NO);
    ck_why(why, "out_of_stock", "out of stock: nope has 0, wants 1");
    ck_assert_int_eq(try_prepare(st, "t3", "reserve w 10", why), STORE_YES);
    store_close(&st);

    st = open_seeded(&svc_payment, new_dir(), pay, 1, NULL);
    ck_assert_int_eq(try_prepare(st, "t1", "charge alice 501", why), STORE_NO);
    ck_why(why, "insufficient_funds", "insufficient funds: alice has 500 cents, wants 501");
    ck_assert_int_eq(try_prepare(st, "t2", "charge bob 1", why), STORE_NO);
    ck_why(why, "unknown_account", "unknown account bob");
    store_close(&st);

    st = open_seeded(&svc_order, new_dir(), NULL, 0, NULL);
    run_commit(st, "t1", "create o1 alice 100");
    ck_assert_str_eq(store_get(st, "order:o1")->rc_note, "alice");
    ck_assert_int_eq(try_prepare(st, "t2", "create o1 bob 5", why), STORE_NO);
    ck_why(why, "exists", "order o1 exists");
    store_close(&st);

    st = open_seeded(&svc_shipping, new_dir(), ship, 2, NULL);
    run_commit(st, "t1", "schedule o1 EU");
    ck_assert_int_eq(value_of(st, "zone:EU"), 0);
    ck_assert_int_eq(try_prepare(st, "t2", "schedule o2 EU", why), STORE_NO);
    ck_why(why, "zone_full", "zone EU is full");
    ck_assert_int_eq(try_prepare(st, "t3", "schedule o1 US", why), STORE_NO);
    ck_why(why, "exists", "shipment o1 exists");
    ck_assert_int_eq(try_prepare(st, "t4", "schedule o4 MARS", why), STORE_NO);
    ck_why(why, "unknown_zone", "unknown zone MARS");
    store_close(&st);
}
END_TEST

/* ---- commit / rollback ---------------------------------------------------- */

START_TEST(commit_idempotent)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    store_outcome out;
    run_commit(st, "t1", "reserve w 3");
    ck_assert_int_eq(store_commit(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(value_of(st, "w"), 7);
    ck_assert_uint_eq(version_of(st, "w"), 2);
    ck_assert_uint_eq(store_ledger_count(st), 1);
    ck_assert_int_eq(store_ledger_state(st, "t1"), 1);
    ck_assert_ptr_null(store_get(st, "w")->rc_holder);
    /* in the ledger: a late prepare redelivery votes yes */
    ck_assert_int_eq(store_prepare(st, "t1", why), STORE_YES);
    store_close(&st);
}
END_TEST

START_TEST(commit_requires_prepare)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    store_outcome out;
    ck_assert_int_eq(store_commit(st, "t9", &out, why), -1);
    ck_assert_str_eq(why, "not prepared");
    ck_assert_int_eq(enlist(st, "t1", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(store_commit(st, "t1", &out, why), -1);
    ck_assert_str_eq(why, "not prepared");
    ck_assert_int_eq(store_prepare(st, "t9", why), STORE_ERROR);
    ck_assert_str_eq(why, "not enlisted");
    ck_assert_int_eq(value_of(st, "w"), 10);
    store_close(&st);
}
END_TEST

START_TEST(rollback_idempotent)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    store_outcome out;
    ck_assert_int_eq(store_rollback(st, "unknown", &out, why), 0);
    ck_assert_int_eq(out, STORE_FORGOTTEN);
    ck_assert_int_eq(try_prepare(st, "t1", "reserve w 4", why), STORE_YES);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_RELEASED);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_FORGOTTEN);
    ck_assert_int_eq(value_of(st, "w"), 10);
    ck_assert_uint_eq(version_of(st, "w"), 1);
    ck_assert_uint_eq(store_ledger_count(st), 0);
    ck_assert_int_eq(store_commit(st, "t1", &out, why), -1); /* released: gone */
    /* enlisted only: forgotten */
    ck_assert_int_eq(enlist(st, "t2", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(store_rollback(st, "t2", &out, why), 0);
    ck_assert_int_eq(out, STORE_FORGOTTEN);
    ck_assert_int_eq(store_prepare(st, "t2", why), STORE_ERROR);
    store_close(&st);
}
END_TEST

START_TEST(commit_then_rollback_compensates_once)
{
    store *st = open_inv(new_dir());
    char why[STORE_WHY_MAX];
    store_outcome out;
    run_commit(st, "t1", "reserve w 3");
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_COMPENSATED);
    ck_assert_int_eq(value_of(st, "w"), 10);
    ck_assert_uint_eq(version_of(st, "w"), 3);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(value_of(st, "w"), 10);
    ck_assert_uint_eq(version_of(st, "w"), 3);
    ck_assert_int_eq(store_ledger_state(st, "t1"), 2);
    ck_assert_int_eq(store_commit(st, "t1", &out, why), -1);
    ck_assert_int_eq(value_of(st, "w"), 10);
    store_close(&st);
}
END_TEST

START_TEST(compensate_create_deletes)
{
    store *st = open_seeded(&svc_order, new_dir(), NULL, 0, NULL);
    char why[STORE_WHY_MAX];
    store_outcome out;
    run_commit(st, "t1", "create o1 alice 100");
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_COMPENSATED);
    ck_assert_int_eq(store_get(st, "order:o1")->rc_present, 0);
    ck_assert_uint_eq(version_of(st, "order:o1"), 2);
    char *d = dump_text(st);
    ck_assert_str_eq(d, "ledger 1\n");
    free(d);
    run_commit(st, "t2", "create o1 bob 7"); /* the id is free again */
    ck_assert_int_eq(value_of(st, "order:o1"), 7);
    ck_assert_uint_eq(version_of(st, "order:o1"), 3);
    store_close(&st);
}
END_TEST

/* ---- persistence ------------------------------------------------------------ */

/* t1 committed, t3 committed then compensated, t2 prepared (holding w). */
static void make_history(store *st)
{
    char why[STORE_WHY_MAX];
    store_outcome out;
    run_commit(st, "t1", "reserve w 3");
    run_commit(st, "t3", "reserve w 1");
    ck_assert_int_eq(store_rollback(st, "t3", &out, why), 0);
    ck_assert_int_eq(try_prepare(st, "t2", "reserve w 2", why), STORE_YES);
    ck_assert_int_eq(store_flush(st, why), 0);
}

START_TEST(reload_keeps_state)
{
    static const char *const other[] = {"w=99", "y=1"};
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    store_info info;
    store_outcome out;
    store *st = open_inv(dir);
    make_history(st);
    char *before = dump_text(st);
    ck_assert_str_eq(before, "w 7 4\nx 5 1\nledger 2\n");
    ck_assert_int_eq(store_close(&st), 0);
    ck_assert_ptr_null(st);

    st = open_seeded(&svc_inventory, dir, other, 2, &info);
    ck_assert_int_eq(info.si_created, 0);
    ck_assert_int_eq(info.si_seeds_ignored, 1);
    ck_assert_uint_eq(info.si_prepared, 1);
    ck_assert_uint_eq(info.si_torn_line, 0);
    char *after = dump_text(st);
    ck_assert_str_eq(after, before);
    ck_assert_ptr_null(store_get(st, "y"));
    ck_assert_int_eq(store_ledger_state(st, "t1"), 1);
    ck_assert_int_eq(store_ledger_state(st, "t3"), 2);
    /* the prepared txn came back holding its key, and can commit */
    ck_assert_str_eq(store_get(st, "w")->rc_holder, "t2");
    ck_assert_int_eq(try_prepare(st, "t4", "reserve w 1", why), STORE_NO);
    ck_why(why, "held", "w is held by another transaction");
    ck_assert_int_eq(store_commit(st, "t2", &out, why), 0);
    ck_assert_int_eq(out, STORE_DONE);
    ck_assert_int_eq(value_of(st, "w"), 5);
    ck_assert_int_eq(store_commit(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(store_close(&st), 0);

    st = open_inv(dir);
    ck_assert_int_eq(value_of(st, "w"), 5);
    ck_assert_uint_eq(store_ledger_count(st), 3);
    ck_assert_ptr_null(store_get(st, "w")->rc_holder);
    store_close(&st);
    free(before);
    free(after);
}
END_TEST

/* A fake instance journal: records kept in memory, positions counted in
 * records, and the order of flush and checkpoint calls. */
/* What the fake journal and the fault hook saw, in order (this process:
 * a background compaction's child records into its own copy). */
static char jevents[64][48];
static int njevents;

static void jevent(const char *e)
{
    if (njevents < 64)
        snprintf(jevents[njevents++], sizeof jevents[0], "%s", e);
}

static void jevent_lsn(const char *what, uint64_t lsn)
{
    char e[48];
    snprintf(e, sizeof e, "%s %llu", what, (unsigned long long)lsn);
    jevent(e);
}

/* The index of the first event e at or after from; -1 if none. */
static int jevent_at(const char *e, int from)
{
    for (int i = from < 0 ? 0 : from; i < njevents; i++)
        if (strcmp(jevents[i], e) == 0)
            return i;
    return -1;
}

struct fake_journal {
    char lines[32][STORE_PAYLOAD_MAX + 64];
    int n;
    uint64_t durable, ckpt;
    int calls_ok; /* every flush came before its checkpoint, for its LSN */
};

static int fj_append(void *ctx, const char *line, size_t len)
{
    struct fake_journal *j = ctx;
    ck_assert_int_lt(j->n, 32);
    ck_assert_uint_lt(len, sizeof j->lines[0]);
    ck_assert_ptr_null(memchr(line, '\n', len));
    memcpy(j->lines[j->n], line, len);
    j->lines[j->n++][len] = '\0';
    return 0;
}

static int fj_position(void *ctx, uint64_t *lsn)
{
    struct fake_journal *j = ctx;
    *lsn = (uint64_t)j->n + 1; /* positions start at 1: 0 is "none" */
    return 0;
}

static int fj_flush(void *ctx, uint64_t lsn)
{
    struct fake_journal *j = ctx;
    j->durable = lsn > j->durable ? lsn : j->durable;
    jevent_lsn("flush", lsn);
    return 0;
}

static int fj_checkpoint(void *ctx, uint64_t lsn)
{
    struct fake_journal *j = ctx;
    j->calls_ok &= j->durable >= lsn; /* never past what is durable */
    j->ckpt = lsn;
    jevent_lsn("ckpt", lsn);
    return 0;
}

/* Journal mode: the log lines go to the journal (the file only mirrors
 * them, unsynced); a compaction stamps "journal LSN" after making the
 * journal durable there, then checkpoints; a reopening writer ignores the
 * mirror and the journal's lines after the LSN rebuild the state; a
 * reader (--dump) sees the mirror. */
START_TEST(journal_mode)
{
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    struct fake_journal fj = {.calls_ok = 1};
    store_journal sj = {fj_append, fj_position, fj_flush, fj_checkpoint, &fj};
    store *st = open_inv(dir);
    ck_assert_uint_eq(store_journal_lsn(st), 0); /* created: no stamp */
    store_set_journal(st, &sj);
    run_commit(st, "t1", "reserve w 3");
    ck_assert_int_eq(fj.n, 2);
    ck_assert_str_eq(fj.lines[0], "prepared t1 reserve w 3");
    ck_assert_str_eq(fj.lines[1], "applied t1 reserve w 3");
    ck_assert_int_eq(store_compact(st, why), 0);
    ck_assert_uint_eq(fj.ckpt, 3);
    ck_assert_int_eq(fj.calls_ok, 1);
    ck_assert_uint_eq(store_journal_lsn(st), 3);
    ck_assert_int_eq(try_prepare(st, "t2", "reserve w 2", why), STORE_YES);
    ck_assert_int_eq(store_flush(st, why), 0);
    ck_assert_int_eq(fj.n, 3); /* after the stamp: only in the journal (and mirror) */
    char *before = dump_text(st);
    ck_assert_int_eq(store_close(&st), 0);
    /* a reader shows the mirror */
    char err[512];
    store *ro = store_open(dir, "inventory", &svc_inventory, NULL, 0, STORE_READONLY, NULL, err,
                           sizeof err);
    ck_assert_msg(ro != NULL, "%s", err);
    ck_assert_str_eq(store_get(ro, "w")->rc_holder, "t2");
    store_close(&ro);
    /* a writer stops at the stamp: t2 comes back from the journal only */
    st = open_inv(dir);
    ck_assert_uint_eq(store_journal_lsn(st), 3);
    ck_assert_ptr_null(store_get(st, "w")->rc_holder);
    ck_assert_int_eq(store_replay_line(st, fj.lines[2], strlen(fj.lines[2]), why), 0);
    char *after = dump_text(st);
    ck_assert_str_eq(after, before);
    ck_assert_str_eq(store_get(st, "w")->rc_holder, "t2");
    ck_assert_int_eq(store_replay_line(st, "bad line", 8, why), -1);
    store_close(&st);
    free(before);
    free(after);
}
END_TEST

/* The background compaction's hook: records every point. */
static void bg_hook(const char *point)
{
    jevent(point);
}

/* A journal-mode store with a 2-line snapshot (w, x) and compactions
 * after twice that: t0, t1 and t2 committed, so the third flush started
 * a compaction stamped 7 (6 lines journaled before it). */
static store *bg_journal_store(const char *dir, struct fake_journal *fj, store_journal *sj)
{
    *sj = (store_journal){fj_append, fj_position, fj_flush, fj_checkpoint, fj};
    njevents = 0;
    store *st = open_inv(dir);
    store_set_journal(st, sj);
    store_set_compact_min(st, 2);
    store_set_compact_factor(st, 2);
    store_set_fault_hook(st, bg_hook);
    run_commit(st, "t0", "reserve w 1");
    run_commit(st, "t1", "reserve w 1");
    ck_assert_int_eq(jevent_at("store.before_rename", 0), -1); /* none yet */
    run_commit(st, "t2", "reserve w 1");
    return st;
}

/* Flushes until event e was seen (the snapshot written and synced), at
 * most 10 s; the last flush's warning in why. */
static void bg_flush_until(store *st, const char *e, char *why)
{
    for (int i = 0; i < 1000 && jevent_at(e, 0) < 0; i++) {
        ck_assert_int_eq(store_flush(st, why), 0);
        usleep(10000);
    }
    ck_assert_msg(jevent_at(e, 0) >= 0, "never saw %s", e);
}

/* On the journal a compaction runs in the background: its snapshot is
 * stamped with the journal's end at its start (7), not with the end when
 * it is renamed in (t3 was journaled meanwhile, at 7, and committed at 8
 * before the snapshot's walk reached w: w is written as it was at the
 * start); the journal is flushed to the stamp before the rename, and the
 * stamp is reported as the checkpoint only after the rename and the
 * directory's sync.  A writer reopening it replays t3 from the journal
 * after the stamp. */
START_TEST(journal_background_compaction)
{
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    static struct fake_journal fj;
    store_journal sj;
    store_outcome out;
    memset(&fj, 0, sizeof fj);
    fj.calls_ok = 1;
    store *st = bg_journal_store(dir, &fj, &sj);
    ck_assert_int_eq(fj.n, 6);
    ck_assert_ptr_nonnull(st->st_bg); /* started by the third flush */
    /* the flush that started it returned before anything was renamed in */
    ck_assert_int_eq(jevent_at("store.before_rename", 0), -1);
    ck_assert_ptr_null(strstr(read_text(state_path(dir, "inventory")), "\njournal "));
    ck_assert_int_eq(value_of(st, "w"), 7);
    ck_assert_int_eq(try_prepare(st, "t3", "reserve w 2", why), STORE_YES);
    ck_assert_int_eq(store_commit(st, "t3", &out, why), 0); /* w: 5, journaled at 8 */
    ck_assert_int_eq(fj.n, 8); /* journaled while the compaction runs */
    bg_flush_until(st, "ckpt 7", why);
    ck_assert_uint_eq(fj.ckpt, 7);
    ck_assert_uint_eq(store_journal_lsn(st), 7);
    ck_assert_int_eq(fj.calls_ok, 1);
    int f = jevent_at("flush 7", 0), br = jevent_at("store.before_rename", f);
    int ar = jevent_at("store.after_rename", br), bc = jevent_at("store.before_checkpoint", ar);
    ck_assert_msg(f >= 0 && br > f && ar > br && bc > ar && jevent_at("ckpt 7", 0) > bc,
                  "order: flush %d, before_rename %d, after_rename %d, before_checkpoint %d", f,
                  br, ar, bc);
    ck_assert_int_lt(jevent_at("store.bg_before_sync", 0), f); /* written, then synced */
    /* the snapshot holds w as at the start, then t3 in the mirror (the tail) */
    const char *text = read_text(state_path(dir, "inventory"));
    ck_assert_ptr_nonnull(strstr(text, "\nrec w 7 4\n"));
    ck_assert_ptr_nonnull(strstr(text, "\njournal 7\ncheckpoint\nprepared t3 reserve w 2\n"
                                       "applied t3 reserve w 2\n"));
    char *before = dump_text(st);
    store_close(&st);
    st = open_inv(dir);
    ck_assert_uint_eq(store_journal_lsn(st), 7);
    ck_assert_int_eq(value_of(st, "w"), 7); /* the mirror is not read */
    for (int i = 6; i < fj.n; i++) /* the journal's records from the stamp */
        ck_assert_int_eq(store_replay_line(st, fj.lines[i], strlen(fj.lines[i]), why), 0);
    char *after = dump_text(st);
    ck_assert_str_eq(after, before);
    store_close(&st);
    free(before);
    free(after);
}
END_TEST

/* A background compaction whose snapshot cannot be synced (fsync fails)
 * reports no checkpoint and leaves the state file as it was (no stamp),
 * its temp file removed, with a warning; the next compaction
 * checkpoints. */
static _Atomic int fsync_fail; /* __wrap_fsync fails this many calls */
/* __wrap_fsync sleeps this many ms first when syncing a temp file (slow_tmp)
 * or a directory (slow_dir): a slow disk, in the background thread */
static _Atomic int slow_tmp_ms, slow_dir_ms;
START_TEST(journal_background_sync_fails)
{
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char why[STORE_WHY_MAX], tmp[600];
    static struct fake_journal fj;
    store_journal sj;
    memset(&fj, 0, sizeof fj);
    fj.calls_ok = 1;
    store *st = bg_journal_store(dir, &fj, &sj);
    atomic_store(&fsync_fail, 1);
    for (int i = 0; i < 1000 && st->st_bg != NULL; i++) {
        ck_assert_int_eq(store_flush(st, why), 0);
        usleep(10000);
    }
    ck_assert_int_eq(atomic_load(&fsync_fail), 0); /* the snapshot's fsync failed */
    ck_assert_msg(strstr(why, "cannot compact") != NULL, "no warning: '%s'", why);
    ck_assert_int_ge(jevent_at("store.bg_before_sync", 0), 0);
    ck_assert_uint_eq(fj.ckpt, 0);
    ck_assert_uint_eq(store_journal_lsn(st), 0);
    ck_assert_int_eq(jevent_at("store.before_rename", 0), -1);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    ck_assert_ptr_null(strstr(read_text(path), "\njournal "));
    run_commit(st, "t3", "reserve w 1"); /* a new compaction, stamped 9 */
    bg_flush_until(st, "ckpt 9", why);
    ck_assert_uint_eq(store_journal_lsn(st), 9);
    ck_assert_int_eq(fj.calls_ok, 1);
    store_close(&st);
}
END_TEST

START_TEST(readonly_dump)
{
    const char *dir = new_dir();
    char err[512];
    store *st = open_seeded(&svc_order, dir, NULL, 0, NULL);
    run_commit(st, "t1", "create o2 bob 20");
    run_commit(st, "t2", "create o1 alice 1000");
    store_close(&st);
    st = store_open(dir, "order", &svc_order, NULL, 0, STORE_READONLY, NULL, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    char *d = dump_text(st);
    ck_assert_str_eq(d, "order:o1 1000 1 alice\norder:o2 20 1 bob\nledger 2\n");
    free(d);
    char why[STORE_WHY_MAX];
    ck_assert_int_eq(enlist(st, "t3", "create o3 c 1", why), STORE_YES);
    ck_assert_int_eq(store_prepare(st, "t3", why), STORE_ERROR); /* cannot log */
    store_close(&st);
    /* no file: refused, and nothing is created */
    const char *empty = new_dir();
    st = store_open(empty, "order", &svc_order, NULL, 0, STORE_READONLY, NULL, err, sizeof err);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, "no state file"));
    ck_assert_int_eq(access(state_path(empty, "order"), F_OK), -1);
}
END_TEST

START_TEST(seeds_only_without_file)
{
    static const char *const first[] = {"w=10"}, *const second[] = {"w=99", "z=1"},
                             *const dup[] = {"w=1", "w=2"};
    const char *dir = new_dir();
    char err[512];
    store_info info;
    store *st = open_seeded(&svc_inventory, dir, first, 1, &info);
    ck_assert_int_eq(info.si_created, 1);
    ck_assert_str_eq(read_text(state_path(dir, "inventory")),
                     "dtc-state 1 inventory\nrec w 10 1\ncheckpoint\n");
    store_close(&st);
    st = open_seeded(&svc_inventory, dir, second, 2, &info);
    ck_assert_int_eq(info.si_created, 0);
    ck_assert_int_eq(value_of(st, "w"), 10);
    ck_assert_ptr_null(store_get(st, "z"));
    store_close(&st);
    st = store_open(new_dir(), "inventory", &svc_inventory, dup, 2, 0, NULL, err, sizeof err);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, "duplicate seed for w"));
}
END_TEST

START_TEST(torn_last_line_ignored)
{
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char why[STORE_WHY_MAX];
    store_info info;
    store *st = open_inv(dir);
    run_commit(st, "t1", "reserve w 3");
    store_close(&st);
    append_text(path, "applied t9 reserve w"); /* crash mid-append */
    st = open_seeded(&svc_inventory, dir, NULL, 0, &info);
    ck_assert_uint_eq(info.si_torn_line, 7); /* header, 2 recs, checkpoint, 2 log lines */
    ck_assert_int_eq(value_of(st, "w"), 7);
    ck_assert_ptr_null(strstr(read_text(path), "t9")); /* cut off */
    run_commit(st, "t2", "reserve w 1"); /* appends land on a clean line */
    ck_assert_int_eq(store_flush(st, why), 0);
    store_close(&st);
    st = open_seeded(&svc_inventory, dir, NULL, 0, &info);
    ck_assert_uint_eq(info.si_torn_line, 0);
    ck_assert_int_eq(value_of(st, "w"), 6);
    store_close(&st);
}
END_TEST

static const struct corrupt_case {
    const char *text;
    const char *expect;
} corrupt_cases[] = {
    {"dtc-state 1 inventory\nrec w 10 1\ncheckpoint\nbogus line\nreleased t1\n", ":4: "},
    {"dtc-state 1 inventory\nrec w ten 1\ncheckpoint\n", ":2: bad record line"},
    {"dtc-state 1 inventory\nrec w 10 1\nrec w 10 1\ncheckpoint\n", ":3: duplicate record w"},
    {"dtc-state 1 inventory\nrec w 10 1\ncheckpoint\napplied t1 reserve w 1\n",
     ":4: applied t1 without a matching prepared line"},
    {"dtc-state 1 inventory\ncheckpoint\nreleased t1\nprepared t2 reserve w 1\n",
     ":3: released t1 that is not prepared"},
    {"dtc-state 1 inventory\ncheckpoint\ncompensated t1\n", ":3: compensated t1"},
    {"dtc-state 1 inventory\ncheckpoint\nprepared t1 reserve w zz\nreleased t1\n",
     ":3: malformed payload"},
    {"dtc-state 1 inventory\ncheckpoint\nprepared t1 reserve w 1\nprepared t2 reserve w 1\n",
     ":4: w held by two prepared transactions"},
    {"dtc-state 1 payment\ncheckpoint\n", ":1: not a 'dtc-state 1 inventory' file"},
    {"dtc-state 1 inventory\nrec w 10 1\n", "no checkpoint line"},
    {"dtc-state 1 inventory\nrec w 10 1\ncheckpoint\nrec x 1 1\n", ":4: unexpected 'rec'"},
    {"", "empty or torn header"},
};

START_TEST(corrupt_line_refused)
{
    const struct corrupt_case *c = &corrupt_cases[_i];
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char err[512] = "";
    write_text(path, c->text);
    store *st = store_open(dir, "inventory", &svc_inventory, NULL, 0, 0, NULL, err, sizeof err);
    ck_assert_msg(st == NULL, "case %d loaded", _i);
    ck_assert_msg(strstr(err, c->expect) != NULL, "case %d: '%s' lacks '%s'", _i, err,
                  c->expect);
    ck_assert_str_eq(read_text(path), c->text); /* untouched */
}
END_TEST

/* A compaction starts once the log outgrows STORE_COMPACT_FACTOR (4)
 * times the snapshot, not before: each one writes the whole state
 * (store.h). */
START_TEST(compaction_waits_for_the_factor)
{
    const char *dir = new_dir();
    char why[STORE_WHY_MAX], id[16];
    store *st = open_inv(dir);
    make_history(st);
    store_set_compact_min(st, 1);
    ck_assert_int_eq(store_compact(st, why), 0);
    size_t snap = st->st_snap_lines;
    ck_assert_uint_gt(snap, 2);
    bool past_twice = false;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "r%d", i);
        ck_assert_int_eq(try_prepare(st, id, "reserve x 1", why), STORE_YES);
        store_outcome out;
        ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
        ck_assert_int_eq(store_flush(st, why), 0);
        size_t lines = store_log_lines(st);
        if (lines > STORE_COMPACT_FACTOR * snap) {
            ck_assert_ptr_nonnull(st->st_bg); /* started by this flush */
            break;
        }
        ck_assert_ptr_null(st->st_bg);
        past_twice |= lines > 2 * snap;
    }
    ck_assert_ptr_nonnull(st->st_bg);
    ck_assert(past_twice);
    ck_assert_int_eq(store_close(&st), 0);
}
END_TEST

START_TEST(compaction_keeps_state)
{
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char why[STORE_WHY_MAX], id[16];
    store *st = open_inv(dir);
    make_history(st);
    store_set_compact_min(st, 4);
    store_set_compact_factor(st, 2);
    for (int i = 0; i < 20; i++) { /* rolled back: only log lines */
        snprintf(id, sizeof id, "r%d", i);
        ck_assert_int_eq(try_prepare(st, id, "reserve x 1", why), STORE_YES);
        store_outcome out;
        ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
        ck_assert_int_eq(store_flush(st, why), 0);
        /* compacted in the background: a flush waits for the running
         * compaction once the lines logged since it began pass the
         * threshold (4, or the snapshot's items: under 10 here), and
         * those lines are the new file's log: bounded by twice the
         * threshold plus two batches, not growing with the 20 rounds */
        ck_assert_msg(store_log_lines(st) <= 2 * 10 + 4, "log not compacted: %zu",
                      store_log_lines(st));
    }
    char *before = dump_text(st);
    ck_assert_int_eq(store_compact(st, why), 0);
    ck_assert_uint_eq(store_log_lines(st), 0);
    const char *text = read_text(path);
    ck_assert_ptr_nonnull(strstr(text, "prepared t2 reserve w 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "applied t1 reserve w 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "compensated t3\n"));
    ck_assert_ptr_null(strstr(text, "r19"));
    ck_assert_int_eq(access(path, F_OK), 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    run_commit(st, "t5", "reserve x 2"); /* appends after a compaction */
    char *expected = dump_text(st);
    store_close(&st);

    st = open_inv(dir);
    char *after = dump_text(st);
    ck_assert_str_eq(after, expected);
    ck_assert_str_ne(before, expected);
    ck_assert_int_eq(store_ledger_state(st, "t1"), 1);
    ck_assert_int_eq(store_ledger_state(st, "t3"), 2);
    ck_assert_int_eq(store_ledger_state(st, "t5"), 1);
    ck_assert_str_eq(store_get(st, "w")->rc_holder, "t2");
    store_outcome out;
    ck_assert_int_eq(store_commit(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(store_rollback(st, "t3", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    store_close(&st);
    free(before);
    free(after);
    free(expected);
}
END_TEST

/* Compactions in the background, a flush going on while one runs: after
 * many of them (and one still running at close, finished there), the
 * reloaded state is the same, no temp file is left and the file holds a
 * snapshot, not the whole history. */
START_TEST(background_compaction_loses_nothing)
{
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char why[STORE_WHY_MAX], id[16], tmp[600];
    store *st = open_inv(dir);
    store_set_compact_min(st, 4);
    store_set_compact_factor(st, 2);
    for (int i = 0; i < 60; i++) { /* 8 commits, the rest rolled back */
        store_outcome out;
        snprintf(id, sizeof id, "c%d", i);
        if (i % 5 == 0 && i < 40) {
            run_commit(st, id, i % 2 ? "reserve w 1" : "reserve x 1");
            continue;
        }
        ck_assert_int_eq(try_prepare(st, id, "reserve w 1", why), STORE_YES);
        ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
        ck_assert_int_eq(store_flush(st, why), 0);
    }
    ck_assert_int_eq(try_prepare(st, "p1", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(store_flush(st, why), 0);
    char *before = dump_text(st);
    store_close(&st);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    const char *text = read_text(path);
    ck_assert_msg(strstr(text, "\nprepared c0 ") == NULL, "c0's prepare line was never compacted");
    st = open_inv(dir);
    char *after = dump_text(st);
    ck_assert_str_eq(after, before);
    for (int i = 0; i < 60; i++) {
        snprintf(id, sizeof id, "c%d", i);
        ck_assert_int_eq(store_ledger_state(st, id), i % 5 == 0 && i < 40);
    }
    ck_assert_str_eq(store_get(st, "w")->rc_holder, "p1");
    store_close(&st);
    free(before);
    free(after);
}
END_TEST

/* n seeds "PREFIXdddd=VALUE" (VALUE < 0: the seed's number), at most
 * MANY_SEEDS: a store of many records. */
enum { MANY_SEEDS = 40000 };
static const char *const *many_seeds(int n, const char *prefix, int value)
{
    static char text[MANY_SEEDS][24];
    static const char *v[MANY_SEEDS];
    ck_assert_int_le(n, MANY_SEEDS);
    for (int i = 0; i < n; i++) {
        snprintf(text[i], sizeof text[i], "%s%04d=%d", prefix, i, value < 0 ? i : value);
        v[i] = text[i];
    }
    return v;
}

/* The dump, then "prepared ID" lines for the prepared transactions. */
static char *dump_with_prepared(const store *st)
{
    char ids[8][STORE_TXID_MAX], *d = dump_text(st);
    size_t n = store_prepared_ids(st, ids, 8);
    for (size_t i = 0; i < n && i < 8; i++) {
        char *more;
        ck_assert_int_gt(asprintf(&more, "%sprepared %s\n", d, ids[i]), 0);
        free(d);
        d = more;
    }
    return d;
}

/* The snapshot section (through "checkpoint\n") of the state file of
 * dir, loaded alone, read-only, from a new directory: its dump, and its
 * prepared transactions after it ("prepared ID" lines). */
static char *snapshot_alone(const store_schema *sc, const char *dir)
{
    char path[600], err[512];
    char *text = NULL;
    size_t len = 0;
    FILE *in = fopen(state_path(dir, sc->ss_service), "r");
    ck_assert_ptr_nonnull(in);
    ck_assert_int_gt(getdelim(&text, &len, '\0', in), 0); /* the whole file: no NUL in it */
    fclose(in);
    const char *end = strstr(text, "\ncheckpoint\n");
    ck_assert_ptr_nonnull(end);
    const char *alone = new_dir();
    snprintf(path, sizeof path, "%s/%s.state", alone, sc->ss_service);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, (size_t)(end - text) + strlen("\ncheckpoint\n"), f);
    fclose(f);
    free(text);
    store *ro = store_open(alone, sc->ss_service, sc, NULL, 0, STORE_READONLY, NULL, err,
                           sizeof err);
    ck_assert_msg(ro != NULL, "snapshot alone: %s", err);
    char *d = dump_with_prepared(ro);
    store_close(&ro);
    return d;
}

/* a and b are equal; else the first line that differs is shown. */
static void same_text(const char *what, const char *a, const char *b)
{
    size_t i = 0, line = 0;
    for (; a[i] != '\0' && a[i] == b[i]; i++)
        if (a[i] == '\n')
            line = i + 1;
    ck_assert_msg(a[i] == b[i], "%s: '%.60s' against '%.60s'", what, a + line, b + line);
}

static int no_one_holds(void *ctx, const char *txid)
{
    (void)ctx;
    (void)txid;
    return 0;
}

/* Flushes until a background compaction is under way; it starts at the
 * end of a flush, its walk at the next. */
static void start_background(store *st, const char *prefix, const char *payload)
{
    char why[STORE_WHY_MAX], id[32];
    store_outcome out;
    for (int i = 0; i < 100000 && st->st_bg == NULL; i++) {
        snprintf(id, sizeof id, "%s%d", prefix, i);
        ck_assert_int_eq(try_prepare(st, id, payload, why), STORE_YES);
        ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
        ck_assert_int_eq(store_flush(st, why), 0);
    }
    ck_assert_ptr_nonnull(st->st_bg);
}

/* A background compaction writes its snapshot a piece at a time while
 * the store changes, yet the snapshot is the state of its start: records
 * changed before the walk reaches them (early and late in the store's
 * list), ledger entries compensated or dropped meanwhile, entries added
 * after the start, a prepared transaction released and another prepared
 * after the start.  Without the lines written before each change, the
 * snapshot would hold the later values. */
START_TEST(background_snapshot_is_the_start)
{
    enum { N = 3000 };
    const char *const *seeds = many_seeds(N, "k", 100);
    char dir[256]; /* new_dir's buffer is reused by snapshot_alone */
    snprintf(dir, sizeof dir, "%s", new_dir());
    char why[STORE_WHY_MAX], err[512], id[32], payload[64];
    store_outcome out;
    store *st = store_open(dir, "inventory", &svc_inventory, seeds, N, STORE_NO_FSYNC, NULL,
                           err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    for (int i = 0; i < 10; i++) { /* ledger entries c0..c9 */
        snprintf(id, sizeof id, "c%d", i);
        snprintf(payload, sizeof payload, "reserve k%04d 1", i * 300 + 7);
        run_commit(st, id, payload);
    }
    ck_assert_int_eq(try_prepare(st, "p1", "reserve k2999 5", why), STORE_YES);
    store_set_compact_min(st, 1);
    store_set_compact_factor(st, 1);
    start_background(st, "r", "reserve k0001 1");
    char *start = dump_with_prepared(st);
    ck_assert_ptr_nonnull(strstr(start, "ledger 10\n"));
    size_t steps = 0;
    for (int i = 0; st->st_bg != NULL; i++, steps++) {
        ck_assert_int_lt(i, 10000);
        /* a record near the walk's front and one near its end */
        snprintf(id, sizeof id, "m%d", i);
        snprintf(payload, sizeof payload, "reserve k%04d 1", (i * 37) % N);
        if (i < 60)
            run_commit(st, id, payload);
        snprintf(id, sizeof id, "n%d", i);
        snprintf(payload, sizeof payload, "reserve k%04d 1", N - 1 - i % 100);
        if (i < 60 && i % 100 != 0) /* k2999 is held by p1 */
            run_commit(st, id, payload);
        if (i < 5) { /* c0..c4 compensated */
            snprintf(id, sizeof id, "c%d", i);
            ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
            ck_assert_int_eq(out, STORE_COMPENSATED);
        }
        if (i == 5) { /* every entry dropped, c5..c9 among them */
            store_horizon h = {no_one_holds, NULL, 0, 0, 100000, 0};
            ck_assert_uint_ge(store_retire(st, &h), 10);
        }
        if (i == 6) {
            ck_assert_int_eq(store_rollback(st, "p1", &out, why), 0);
            ck_assert_int_eq(out, STORE_RELEASED);
            ck_assert_int_eq(try_prepare(st, "p2", "reserve k0000 1", why), STORE_YES);
        }
        ck_assert_int_eq(store_flush(st, why), 0);
        ck_assert_msg(why[0] == '\0', "%s", why);
    }
    ck_assert_uint_gt(steps, 5); /* written in pieces, changes in between */
    char *snap = snapshot_alone(&svc_inventory, dir);
    same_text("the snapshot against the start", snap, start);
    /* and the whole file, its tail replayed, is the state now */
    char *now = dump_with_prepared(st);
    ck_assert_str_ne(now, start);
    store_close(&st);
    st = store_open(dir, "inventory", &svc_inventory, NULL, 0, STORE_NO_FSYNC, NULL, err,
                    sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    char *again = dump_with_prepared(st);
    /* the entries retired meanwhile come back from the tail: a restart
     * before the next compaction reloads them (store_retire) */
    char *la = strstr(again, "ledger "), *ln = strstr(now, "ledger ");
    ck_assert(la != NULL && ln != NULL);
    memmove(la, strchr(la, '\n') + 1, strlen(strchr(la, '\n') + 1) + 1);
    memmove(ln, strchr(ln, '\n') + 1, strlen(strchr(ln, '\n') + 1) + 1);
    same_text("reloaded against before", again, now);
    store_close(&st);
    free(start);
    free(snap);
    free(now);
    free(again);
}
END_TEST

/* A service with nothing to serve gives its time to a compaction under
 * way (store_idle): a large piece of the snapshot per call (a flush
 * takes a few dozen items when no line was logged), and the switch once
 * it is synced; the snapshot is the state of its start. */
START_TEST(idle_time_finishes_a_compaction)
{
    enum { N = 20000 };
    const char *const *seeds = many_seeds(N, "k", 100);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", new_dir());
    char why[STORE_WHY_MAX], err[512];
    store *st = store_open(dir, "inventory", &svc_inventory, seeds, N, 0, NULL, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    store_set_compact_min(st, 1);
    store_set_compact_factor(st, 1);
    start_background(st, "r", "reserve k0001 1");
    char *start = dump_with_prepared(st);
    ck_assert_int_eq(store_flush(st, why), 0); /* no line: a small piece */
    ck_assert_ptr_nonnull(st->st_bg);
    int calls = 0;
    for (; st->st_bg != NULL; calls++) {
        ck_assert_int_lt(calls, 1000);
        ck_assert_int_eq(store_idle(st, why), 0);
        ck_assert_msg(why[0] == '\0', "%s", why);
        if (st->st_bg != NULL)
            usleep(10000); /* the sync is a thread's */
    }
    ck_assert_int_ge(calls, 2); /* 20000 items: two pieces at least */
    char *snap = snapshot_alone(&svc_inventory, dir);
    same_text("the snapshot against the start", snap, start);
    ck_assert_int_eq(store_idle(st, why), 0); /* none under way: nothing */
    store_close(&st);
    free(start);
    free(snap);
}
END_TEST

/* Once the snapshot is written, the lines logged since the compaction
 * started (the tail) go to the temp file TAIL_PIECE (256 KiB) a flush
 * while the snapshot syncs, not all at once at the switch (megabytes
 * held a batch 5 ms); the switch appends the rest, and the file then
 * holds every line. */
START_TEST(background_tail_in_pieces)
{
    char dir[256], tmp[600], why[STORE_WHY_MAX], id[32];
    snprintf(dir, sizeof dir, "%s", new_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp", state_path(dir, "inventory"));
    store *st = open_inv(dir);
    store_set_compact_min(st, 4);
    store_set_compact_factor(st, 2);
    start_background(st, "s", "reserve w 1");
    store_set_compact_min(st, 1000000); /* not ended at once by the log's growth */
    atomic_store(&slow_tmp_ms, 400);
    ck_assert_int_eq(store_flush(st, why), 0); /* the walk: written, syncing (slowly) */
    struct stat sb;
    ck_assert_int_eq(stat(tmp, &sb), 0);
    off_t snap = sb.st_size;
    for (int i = 0; i < 16000; i++) { /* about 660 KB of lines, no flush */
        store_outcome out;
        snprintf(id, sizeof id, "b%d", i);
        ck_assert_int_eq(try_prepare(st, id, "reserve w 1", why), STORE_YES);
        ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
    }
    ck_assert_int_eq(store_flush(st, why), 0);
    ck_assert_int_eq(stat(tmp, &sb), 0);
    ck_assert_int_eq(sb.st_size - snap, 256 << 10); /* one piece */
    ck_assert_int_eq(store_flush(st, why), 0);
    ck_assert_int_eq(stat(tmp, &sb), 0);
    ck_assert_int_eq(sb.st_size - snap, 512 << 10); /* two */
    atomic_store(&slow_tmp_ms, 0);
    for (int i = 0; i < 1000 && st->st_bg != NULL; i++) {
        ck_assert_int_eq(store_flush(st, why), 0);
        usleep(10000);
    }
    ck_assert_ptr_null(st->st_bg);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    char *before = dump_with_prepared(st);
    store_close(&st);
    st = open_inv(dir);
    char *after = dump_with_prepared(st);
    same_text("reloaded against before", after, before);
    store_close(&st);
    free(before);
    free(after);
}
END_TEST

/* On the journal no flush waits for a sync of the compaction: the
 * snapshot's fsync and the directory's are a thread's, the rename is a
 * flush's, and the checkpoint is reported by a later flush once the
 * directory is synced (here each sync takes 300 ms, and no flush takes
 * 100). */
START_TEST(journal_compaction_syncs_off_the_flush)
{
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    static struct fake_journal fj;
    store_journal sj;
    memset(&fj, 0, sizeof fj);
    fj.calls_ok = 1;
    atomic_store(&slow_tmp_ms, 300);
    atomic_store(&slow_dir_ms, 300);
    store *st = bg_journal_store(dir, &fj, &sj); /* a compaction under way, stamped 7 */
    int renamed_in = -1, flushes = 0;
    for (; flushes < 1000 && jevent_at("ckpt 7", 0) < 0; flushes++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(store_flush(st, why), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        ck_assert_msg(ms < 100, "flush %d took %ld ms", flushes, ms);
        if (renamed_in < 0 && jevent_at("store.after_rename", 0) >= 0)
            renamed_in = flushes;
        usleep(10000);
    }
    atomic_store(&slow_tmp_ms, 0);
    atomic_store(&slow_dir_ms, 0);
    ck_assert_int_ge(renamed_in, 0);
    ck_assert_int_lt(renamed_in, flushes - 1); /* the checkpoint: a later flush */
    ck_assert_uint_eq(fj.ckpt, 7);
    ck_assert_int_eq(fj.calls_ok, 1);
    store_close(&st);
}
END_TEST

/* Records and ledger entries made after a snapshot's start are not in
 * it, even when they change again before it ends (an order created,
 * then compensated: "gone", its entry compensated). */
START_TEST(background_snapshot_leaves_out_younger_records)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", new_dir());
    static const char *const seeds[] = {"o1=5"};
    char why[STORE_WHY_MAX], err[512], id[32];
    store_outcome out;
    store *st = store_open(dir, "order", &svc_order, seeds, 1, STORE_NO_FSYNC, NULL, err,
                           sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    store_set_compact_min(st, 4);
    store_set_compact_factor(st, 1);
    for (int i = 0; st->st_bg == NULL; i++) {
        ck_assert_int_lt(i, 100);
        snprintf(id, sizeof id, "a%d", i);
        ck_assert_int_eq(try_prepare(st, id, "create o1 bob 1", why), STORE_NO);
        ck_assert_int_eq(store_rollback(st, id, &out, why), 0);
        snprintf(id, sizeof id, "b%d", i);
        char payload[64];
        snprintf(payload, sizeof payload, "create old%d bob 1", i);
        run_commit(st, id, payload);
    }
    char *start = dump_with_prepared(st);
    /* made after the start, before the walk's first step (no flush) */
    ck_assert_int_eq(try_prepare(st, "y1", "create young bob 2", why), STORE_YES);
    ck_assert_int_eq(store_commit(st, "y1", &out, why), 0);
    ck_assert_int_eq(store_rollback(st, "y1", &out, why), 0);
    ck_assert_int_eq(out, STORE_COMPENSATED); /* changed again: gone */
    ck_assert_int_eq(store_rollback(st, "b0", &out, why), 0); /* an old one goes */
    for (int i = 0; st->st_bg != NULL; i++) { /* the sync is a thread's */
        ck_assert_int_lt(i, 10000);
        ck_assert_int_eq(store_flush(st, why), 0);
        usleep(1000);
    }
    char *snap = snapshot_alone(&svc_order, dir);
    ck_assert_str_eq(snap, start);
    ck_assert_ptr_null(strstr(read_text(state_path(dir, "order")), "order:young"));
    store_close(&st);
    free(start);
    free(snap);
}
END_TEST

/* Every fsync of the store's code in this process (linked with
 * --wrap=fsync): STORE_NO_FSYNC must make none. */
static _Atomic int fsyncs;
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
    atomic_fetch_add(&fsyncs, 1);
    char link[64], target[512];
    struct stat sb;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    bool tmp = n > 4 && strcmp(target + n - 4, ".tmp") == 0;
    bool dir = fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode);
    int ms = tmp ? atomic_load(&slow_tmp_ms) : dir ? atomic_load(&slow_dir_ms) : 0;
    if (ms > 0)
        usleep((useconds_t)ms * 1000);
    int left = atomic_load(&fsync_fail);
    while (left > 0 && !atomic_compare_exchange_weak(&fsync_fail, &left, left - 1))
        ;
    if (left > 0) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

/* --no-fsync (STORE_NO_FSYNC) is honoured by the flush and by compaction
 * (it fsynced the snapshot and the directory before); and without it,
 * both sync.  store_syncs counts every one of them, and none with
 * STORE_NO_FSYNC. */
START_TEST(no_fsync_compacts_without_fsync)
{
    char why[STORE_WHY_MAX], err[512];
    for (int flags = STORE_NO_FSYNC; flags >= 0; flags -= STORE_NO_FSYNC) {
        const char *dir = new_dir();
        static const char *const seeds[] = {"w=10"};
        atomic_store(&fsyncs, 0);
        store *st = store_open(dir, "inventory", &svc_inventory, seeds, 1, flags, NULL, err,
                               sizeof err);
        ck_assert_msg(st != NULL, "%s", err);
        run_commit(st, "t1", "reserve w 1");
        ck_assert_int_eq(store_compact(st, why), 0);
        run_commit(st, "t2", "reserve w 1");
        uint64_t made = (uint64_t)atomic_load(&fsyncs);
        ck_assert_uint_eq(store_syncs(st), made);
        store_close(&st);
        if (flags == STORE_NO_FSYNC)
            ck_assert_msg(atomic_load(&fsyncs) == 0, "%d fsync calls with STORE_NO_FSYNC",
                          atomic_load(&fsyncs));
        else /* creation, 2 flushes, a compaction (file and directory) */
            ck_assert_int_ge(atomic_load(&fsyncs), 5);
    }
}
END_TEST

START_TEST(second_open_locked)
{
    const char *dir = new_dir();
    char err[512];
    store *st = open_inv(dir);
    store *st2 = store_open(dir, "inventory", &svc_inventory, NULL, 0, 0, NULL, err, sizeof err);
    ck_assert_ptr_null(st2);
    ck_assert_ptr_nonnull(strstr(err, "in use by another process"));
    store_close(&st);
    st2 = store_open(dir, "inventory", &svc_inventory, NULL, 0, 0, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(st2);
    store_close(&st2);
}
END_TEST

START_TEST(write_failure_is_an_error)
{
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char why[STORE_WHY_MAX];
    store_outcome out;
    struct stat sb;
    store *st = open_inv(dir);
    ck_assert_int_eq(try_prepare(st, "t0", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(store_flush(st, why), 0);
    ck_assert_int_eq(stat(path, &sb), 0);
    /* the file may grow by 10 more bytes: the next line is cut short */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {(rlim_t)sb.st_size + 10, (rlim_t)sb.st_size + 10};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    /* lines are buffered: the commit's line fails at the batch's flush,
     * before any answer is published; the store then refuses everything */
    ck_assert_int_eq(store_commit(st, "t0", &out, why), 0);
    ck_assert_int_eq(store_failed(st), 0);
    ck_assert_int_eq(store_flush(st, why), -1);
    ck_assert_ptr_nonnull(strstr(why, "state file write failed"));
    ck_assert_int_eq(store_failed(st), 1);
    ck_assert_int_eq(store_flush(st, why), -1);
    ck_assert_int_eq(enlist(st, "t1", "reserve x 1", why), STORE_ERROR);
    ck_assert_int_eq(store_rollback(st, "t0", &out, why), -1);
    store_close(&st);
    /* the partial line is the torn tail: a restart still has t0 prepared */
    st = open_inv(dir);
    ck_assert_str_eq(store_get(st, "w")->rc_holder, "t0");
    store_close(&st);
}
END_TEST

/* A victim file outside the store's directory (in base), with text. */
static const char *make_victim(const char *name, const char *text)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/%s", base, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(compaction_never_follows_tmp_symlink)
{
    const char *dir = new_dir(), *path = state_path(dir, "inventory");
    char why[STORE_WHY_MAX], tmp[600], dangling[600];
    struct stat sb;
    store *st = open_inv(dir);
    make_history(st);
    char *expected = dump_text(st);
    const char *victim = make_victim("victim", "do not touch\n");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(symlink(victim, tmp), 0);
    ck_assert_msg(store_compact(st, why) == 0, "compact: %s", why);
    ck_assert_str_eq(read_text(victim), "do not touch\n");
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    ck_assert_int_eq(lstat(tmp, &sb), -1);
    /* A dangling one: its target must not be created either. */
    snprintf(dangling, sizeof dangling, "%s/created-through-symlink", base);
    ck_assert_int_eq(symlink(dangling, tmp), 0);
    ck_assert_msg(store_compact(st, why) == 0, "compact: %s", why);
    ck_assert_int_eq(lstat(dangling, &sb), -1);
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    store_close(&st);
    st = open_inv(dir);
    char *after = dump_text(st);
    ck_assert_str_eq(after, expected);
    store_close(&st);
    free(expected);
    free(after);
}
END_TEST

/* A state file replaced by a symlink to someone else's file: the store
 * refuses to start, naming the file (it used to load the other file's
 * ledger through the link), and the victim stays byte for byte. */
START_TEST(state_symlink_not_followed)
{
    char other[256], dir[256]; /* new_dir reuses one buffer */
    snprintf(other, sizeof other, "%s", new_dir());
    snprintf(dir, sizeof dir, "%s", new_dir());
    char err[512];
    store *st = open_inv(other); /* a valid state file to be the victim */
    make_history(st);
    store_close(&st);
    char victim[512], link[512]; /* state_path and read_text reuse one buffer */
    snprintf(victim, sizeof victim, "%s", state_path(other, "inventory"));
    snprintf(link, sizeof link, "%s", state_path(dir, "inventory"));
    char *before = strdup(read_text(victim));
    ck_assert_ptr_nonnull(before);
    ck_assert_int_eq(symlink(victim, link), 0);
    st = store_open(dir, "inventory", &svc_inventory, NULL, 0, 0, NULL, err, sizeof err);
    ck_assert_msg(st == NULL, "opened through a planted symlink");
    ck_assert_msg(strstr(err, "inventory.state") != NULL, "unclear error: %s", err);
    ck_assert_str_eq(read_text(victim), before);
    free(before);
}
END_TEST

START_TEST(lock_symlink_refused)
{
    const char *dir = new_dir();
    char err[512], lock[600], dangling[600];
    struct stat sb;
    const char *victim = make_victim("lock-victim", "precious\n");
    snprintf(lock, sizeof lock, "%s/inventory.lock", dir);
    ck_assert_int_eq(symlink(victim, lock), 0);
    store *st = store_open(dir, "inventory", &svc_inventory, NULL, 0, 0, NULL, err, sizeof err);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, "inventory.lock") != NULL, "unclear error: %s", err);
    ck_assert_str_eq(read_text(victim), "precious\n");
    ck_assert_int_eq(unlink(lock), 0);
    snprintf(dangling, sizeof dangling, "%s/lock-through-symlink", base);
    ck_assert_int_eq(symlink(dangling, lock), 0);
    st = store_open(dir, "inventory", &svc_inventory, NULL, 0, 0, NULL, err, sizeof err);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(lstat(dangling, &sb), -1);
}
END_TEST

static char fault_seen[8][32];
static int nfault_seen;

static void record_fault(const char *point)
{
    if (nfault_seen < 8)
        snprintf(fault_seen[nfault_seen++], sizeof fault_seen[0], "%s", point);
}

START_TEST(fault_hook_points)
{
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    store *st = open_inv(dir);
    store_set_fault_hook(st, record_fault);
    ck_assert_int_eq(store_flush(st, why), 0); /* nothing written: no point */
    ck_assert_int_eq(nfault_seen, 0);
    ck_assert_int_eq(try_prepare(st, "t1", "reserve w 1", why), STORE_YES);
    ck_assert_int_eq(store_flush(st, why), 0);
    ck_assert_int_eq(store_compact(st, why), 0);
    ck_assert_int_eq(nfault_seen, 4);
    ck_assert_str_eq(fault_seen[0], "store.after_write");
    ck_assert_str_eq(fault_seen[1], "store.after_sync");
    ck_assert_str_eq(fault_seen[2], "store.before_rename");
    ck_assert_str_eq(fault_seen[3], "store.after_rename");
    store_set_fault_hook(st, NULL);
    store_close(&st);
}
END_TEST

/* ---- ledger horizon ------------------------------------------------------ */

/* A coordinator stand-in for store_retire: the txids it still holds. */
static const char *const *held_ids;
static int held_unsure;

static int fake_held(void *ctx, const char *txid)
{
    (void)ctx;
    if (held_unsure)
        return -1;
    for (size_t i = 0; held_ids && held_ids[i]; i++)
        if (strcmp(held_ids[i], txid) == 0)
            return 1;
    return 0;
}

static size_t retire(store *st, uint64_t durable, uint64_t written)
{
    store_horizon h = {fake_held, NULL, durable, written, 1000, 0};
    return store_retire(st, &h);
}

START_TEST(ledger_beyond_horizon_dropped)
{
    static const char *const held[] = {"t2", NULL};
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    store_outcome out;
    store *st = open_inv(dir);
    run_commit(st, "t1", "reserve w 1");
    run_commit(st, "t2", "reserve w 1");
    run_commit(st, "t3", "reserve x 1");
    ck_assert_int_eq(store_rollback(st, "t3", &out, why), 0);
    ck_assert_int_eq(out, STORE_COMPENSATED);
    held_ids = held;
    held_unsure = 1; /* the coordinator cannot tell: nothing goes */
    ck_assert_uint_eq(retire(st, 100, 100), 0);
    ck_assert_uint_eq(store_ledger_count(st), 3);
    held_unsure = 0;
    /* t1 and t3 unheld, but the log is durable only to 50 < 60 */
    ck_assert_uint_eq(retire(st, 50, 60), 0);
    ck_assert_uint_eq(store_ledger_count(st), 3);
    ck_assert_int_eq(store_commit(st, "t1", &out, why), 0); /* still answered */
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_uint_eq(retire(st, 59, 70), 0);
    ck_assert_uint_eq(retire(st, 60, 80), 2); /* durable reached the stamp */
    ck_assert_int_eq(store_ledger_state(st, "t1"), 0);
    ck_assert_int_eq(store_ledger_state(st, "t3"), 0);
    ck_assert_int_eq(store_ledger_state(st, "t2"), 1);
    /* t1 is forgotten: a commit of it is no longer a repeat */
    ck_assert_int_ne(store_commit(st, "t1", &out, why), 0);
    ck_assert_int_eq(store_flush(st, why), 0);
    /* compacted and reloaded, the dropped entries stay gone */
    ck_assert_int_eq(store_compact(st, why), 0);
    const char *text = read_text(state_path(dir, "inventory"));
    ck_assert_ptr_nonnull(strstr(text, "applied t2 reserve w 1\n"));
    ck_assert_ptr_null(strstr(text, " t1 "));
    ck_assert_ptr_null(strstr(text, " t3"));
    store_close(&st);
    st = open_inv(dir);
    ck_assert_uint_eq(store_ledger_count(st), 1);
    ck_assert_int_eq(value_of(st, "w"), 8);
    ck_assert_int_eq(value_of(st, "x"), 5);
    held_ids = NULL;
    store_close(&st);
}
END_TEST

START_TEST(ledger_inside_horizon_kept)
{
    static const char *const held[] = {"t1", NULL};
    const char *dir = new_dir();
    char why[STORE_WHY_MAX];
    store_outcome out;
    store *st = open_inv(dir);
    run_commit(st, "t1", "reserve w 2");
    run_commit(st, "t2", "reserve w 3");
    held_ids = held;
    /* t2 unheld, stamped 10: inside the horizon until the log is durable
     * there, and a redelivery meanwhile is still answered */
    ck_assert_uint_eq(retire(st, 5, 10), 0);
    ck_assert_int_eq(store_commit(st, "t2", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_uint_eq(retire(st, 9, 11), 0);
    ck_assert_int_eq(store_ledger_state(st, "t2"), 1);
    ck_assert_uint_eq(retire(st, 10, 12), 1);
    ck_assert_int_eq(store_ledger_state(st, "t2"), 0);
    for (uint64_t pos = 20; pos < 30; pos++) /* t1 held throughout */
        ck_assert_uint_eq(retire(st, pos, pos), 0);
    ck_assert_int_eq(store_ledger_state(st, "t1"), 1);
    /* the redelivered commit and rollback of t1 are answered idempotently */
    ck_assert_int_eq(store_commit(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(value_of(st, "w"), 5);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_COMPENSATED);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(value_of(st, "w"), 7);
    ck_assert_int_eq(store_flush(st, why), 0);
    /* kept across a compaction and a restart too */
    ck_assert_int_eq(store_compact(st, why), 0);
    store_close(&st);
    st = open_inv(dir);
    ck_assert_int_eq(store_ledger_state(st, "t1"), 2);
    ck_assert_int_eq(store_rollback(st, "t1", &out, why), 0);
    ck_assert_int_eq(out, STORE_ALREADY);
    ck_assert_int_eq(value_of(st, "w"), 7);
    held_ids = NULL;
    store_close(&st);
}
END_TEST

/* Size of the compacted state file after n committed transactions, each
 * retired (nothing held) every 100 when retire is set. */
static off_t compacted_size(int n, int retire_on)
{
    static const char *const seeds[] = {"a=1000000000", "b=1000000000"};
    const char *dir = new_dir();
    char why[STORE_WHY_MAX], id[16], err[512];
    struct stat sb;
    /* no fsync: thousands of flushes, and sizes are what is measured */
    store *st = store_open(dir, "inventory", &svc_inventory, seeds, 2, STORE_NO_FSYNC, NULL,
                           err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    held_ids = NULL;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "c%06d", i); /* same length: sizes compare */
        run_commit(st, id, i % 2 ? "reserve a 1" : "reserve b 1");
        if (retire_on && i % 100 == 99)
            retire(st, 0, 0); /* no decision log: unheld goes at once */
    }
    ck_assert_int_eq(store_compact(st, why), 0);
    ck_assert_int_eq(stat(state_path(dir, "inventory"), &sb), 0);
    ck_assert_uint_eq(store_ledger_count(st), retire_on ? (size_t)n % 100 : (size_t)n);
    store_close(&st);
    return sb.st_size;
}

START_TEST(compaction_bounded_by_live_state)
{
    off_t small = compacted_size(150, 1), big = compacted_size(3050, 1);
    off_t unbounded = compacted_size(3050, 0);
    /* the same live state (2 records, 50 entries): sizes differ only by
     * the digits of values and versions */
    ck_assert_msg(big <= small + 16, "compaction grew with history: %lld vs %lld bytes",
                  (long long)big, (long long)small);
    ck_assert_msg(unbounded > 20 * big, "without retirement: %lld bytes, with: %lld",
                  (long long)unbounded, (long long)big);
}
END_TEST

START_TEST(retire_budget_and_held_requeue)
{
    static const char *const held[] = {"h0", "h1", NULL};
    const char *dir = new_dir();
    char id[16];
    store *st = open_inv(dir);
    run_commit(st, "h0", "reserve x 1");
    run_commit(st, "h1", "reserve x 1");
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "u%d", i);
        run_commit(st, id, "reserve w 1");
    }
    held_ids = held;
    store_horizon h = {fake_held, NULL, 0, 0, 3, 0};
    /* the two held ones at the head go to the back: the third ask drops u0 */
    ck_assert_uint_eq(store_retire(st, &h), 1);
    ck_assert_int_eq(store_ledger_state(st, "u0"), 0);
    ck_assert_int_eq(store_ledger_state(st, "u1"), 1);
    ck_assert_uint_eq(store_retire(st, &h), 3); /* u1..u3 */
    ck_assert_uint_eq(store_retire(st, &h), 1); /* u4, then h0 h1 again */
    ck_assert_uint_eq(store_ledger_count(st), 2);
    ck_assert_int_eq(store_ledger_state(st, "h0"), 1);
    held_ids = NULL;
    store_close(&st);
}
END_TEST

/* A pass spread over several calls: never past the mark (entries added
 * after the answers were taken are kept, even when the answers say
 * nothing holds them), and at most the budget dropped per call. */
START_TEST(retire_stops_at_mark)
{
    const char *dir = new_dir();
    char id[16];
    store *st = open_inv(dir);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "a%d", i);
        run_commit(st, id, "reserve w 1");
    }
    held_ids = NULL;
    uint64_t mark = store_ledger_mark(st);
    run_commit(st, "b0", "reserve x 1"); /* newer than the answers */
    /* stamped 5, durable 0: found unheld, kept until 5 is durable */
    store_horizon h = {fake_held, NULL, 0, 5, 2, mark};
    ck_assert_uint_eq(store_retire(st, &h), 0);
    ck_assert_uint_eq(store_retire(st, &h), 0);
    ck_assert_uint_eq(store_retire(st, &h), 0);
    ck_assert_uint_eq(store_retire(st, &h), 0); /* stops at b0 */
    ck_assert_uint_eq(store_ledger_count(st), 6);
    h.sh_durable = 5;
    ck_assert_uint_eq(store_retire(st, &h), 2); /* the budget */
    ck_assert_uint_eq(store_retire(st, &h), 2);
    ck_assert_uint_eq(store_retire(st, &h), 1);
    ck_assert_uint_eq(store_retire(st, &h), 0);
    ck_assert_uint_eq(store_ledger_count(st), 1);
    ck_assert_int_eq(store_ledger_state(st, "b0"), 1);
    h.sh_mark = store_ledger_mark(st); /* the next pass */
    ck_assert_uint_eq(store_retire(st, &h), 1);
    ck_assert_int_eq(store_ledger_state(st, "b0"), 0);
    store_close(&st);
}
END_TEST

/* The kit's hash table against a plain array: a sliding window of keys
 * put, got, replaced and deleted (backward shift), through many grows,
 * with keys that share long prefixes (txids, "o-N"). */
START_TEST(htab_matches_a_model)
{
    enum { N = 20000, WINDOW = 3000 };
    static char keys[N][40];
    static int vals[N];
    htab h;
    htab_init(&h);
    for (int i = 0; i < N; i++) {
        if (i % 2)
            snprintf(keys[i], sizeof keys[i], "o-%d", i);
        else
            snprintf(keys[i], sizeof keys[i], "0000%04x-aaaa-4bbb-8ccc-%012d", i & 0xffff, i);
        vals[i] = i;
        ck_assert_int_eq(htab_put(&h, keys[i], &vals[i]), 0);
        ck_assert_int_eq(htab_put(&h, keys[i], &vals[i]), 0); /* a replace: same count */
        if (i >= WINDOW) {
            char probe[40];
            memcpy(probe, keys[i - WINDOW], sizeof probe); /* by contents, not pointer */
            ck_assert_ptr_eq(htab_del(&h, probe), &vals[i - WINDOW]);
            ck_assert_ptr_null(htab_del(&h, probe));
        }
        if (i % 997 == 0)
            for (int k = 0; k <= i; k++)
                ck_assert_ptr_eq(htab_get(&h, keys[k]), k + WINDOW > i ? &vals[k] : NULL);
    }
    ck_assert_uint_eq(h.ht_count, WINDOW);
    size_t pos = 0, seen = 0;
    for (int *v; (v = htab_next(&h, &pos)) != NULL; seen++)
        ck_assert_int_ge(*v, N - WINDOW);
    ck_assert_uint_eq(seen, WINDOW);
    htab_deinit(&h);
}
END_TEST

/* A background compaction's snapshot goes to the disk SNAP_PUSH bytes
 * at a time, so that its fsync finds little left to write (the
 * synchronous compaction's writer does not push). */
START_TEST(snapshot_pushed_in_pieces)
{
    enum { N = 40000 };
    const char *const *seeds = many_seeds(N, "sku", -1);
    const char *dir = new_dir();
    store *st = open_seeded(&svc_inventory, dir, seeds, N, NULL);
    for (int push = 0; push <= 1; push++) {
        char path[300];
        snprintf(path, sizeof path, "%s/snap.%d", dir, push);
        store_snap *sn = calloc(1, sizeof *sn);
        ck_assert_ptr_nonnull(sn);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        store__snap_begin(st, sn, fd, push, 0);
        ck_assert_uint_ge(store__snap_end(st), N);
        const snap_writer *w = &sn->sn_w;
        ck_assert_int_eq(w->sw_errno, 0);
        struct stat sb;
        ck_assert_int_eq(fstat(fd, &sb), 0);
        ck_assert_uint_eq(w->sw_written, (uint64_t)sb.st_size);
        ck_assert_uint_gt(w->sw_written, 2 * SNAP_PUSH);
        if (push) /* all but the last piece sent */
            ck_assert_uint_lt(w->sw_written - w->sw_pushed, SNAP_PUSH + sizeof w->sw_buf);
        else
            ck_assert_uint_eq(w->sw_pushed, 0);
        close(fd);
        free(sn);
    }
    /* the synchronous compaction's writer, in memory that was not zero
     * (M_PERTURB fills every allocation): it pushes nothing, fails nothing */
    char why[STORE_WHY_MAX];
    mallopt(M_PERTURB, 0x2a); /* allocations filled with 0xd5 bytes */
    int rc = store_compact(st, why);
    mallopt(M_PERTURB, 0);
    ck_assert_msg(rc == 0, "store_compact: %s", why);
    store_close(&st);
}
END_TEST

/* Growing is incremental: the put that grows moves no more than
 * HTAB_MOVE_STEP old slots, every later put and delete as many, each key
 * stays reachable and is iterated once while both tables are live, and
 * the old table is gone before the next grow. */
START_TEST(htab_grows_a_step_at_a_time)
{
    enum { N = 5000 };
    static char keys[N][16];
    static int vals[N];
    htab h;
    htab_init(&h);
    int grows = 0, checked = 0;
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        vals[i] = i;
        size_t cap = h.ht_cap;
        const htab_slot *old = h.ht_old;
        ck_assert_int_eq(htab_put(&h, keys[i], &vals[i]), 0);
        if (h.ht_cap != cap) {
            grows++;
            ck_assert_ptr_null(old); /* the last grow had finished */
            if (cap > 0) {
                ck_assert_ptr_nonnull(h.ht_old);
                ck_assert_uint_eq(h.ht_old_cap, cap);
                ck_assert_uint_le(h.ht_old_next, HTAB_MOVE_STEP);
            }
        } else if (h.ht_old != NULL) {
            ck_assert_uint_le(h.ht_old_next, (size_t)(i + 1) * HTAB_MOVE_STEP);
        }
        if (h.ht_old != NULL && h.ht_old_next > h.ht_old_cap / 2 && checked < grows) {
            checked = grows; /* halfway through a move: every key, once */
            for (int k = 0; k <= i; k++)
                ck_assert_ptr_eq(htab_get(&h, keys[k]), &vals[k]);
            ck_assert_ptr_eq(htab_del(&h, keys[0]), &vals[0]);
            ck_assert_ptr_null(htab_get(&h, keys[0]));
            ck_assert_int_eq(htab_put(&h, keys[0], &vals[0]), 0);
            size_t pos = 0, seen = 0;
            static unsigned char once[N];
            memset(once, 0, sizeof once);
            for (int *v; (v = htab_next(&h, &pos)) != NULL; seen++)
                ck_assert_uint_eq(once[*v]++, 0);
            ck_assert_uint_eq(seen, (size_t)i + 1);
        }
    }
    ck_assert_int_ge(grows, 9);
    ck_assert_int_ge(checked, 8);
    htab_deinit(&h);
}
END_TEST

/* ---- heap ---------------------------------------------------------------- */

/* ASan's allocator has no fast bins to turn off (gcc says so with
 * __SANITIZE_ADDRESS__, clang 14 with __has_feature) */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_UNDER_ASAN 1
#endif

#ifndef HEAP_UNDER_ASAN
/* A service's small frees must not pile up unmerged in glibc's fast bins,
 * for the next calloc or free to merge all at once in the middle of a
 * batch (store_heap.c).  Small blocks freed after store_heap_setup leave
 * none there; without it, all but the per-thread cache's few would. */
START_TEST(heap_setup_keeps_no_fast_bins)
{
    enum { N = 2048 };
    static void *b[N];
    ck_assert_int_eq(store_heap_setup(), 0);
    for (size_t i = 0; i < N; i++)
        ck_assert_ptr_nonnull(b[i] = malloc(48 + (i % 4) * 16));
    for (size_t i = 0; i < N; i += 2) /* every other one: no free neighbour */
        free(b[i]);
    struct mallinfo2 mi = mallinfo2();
    ck_assert_uint_eq(mi.smblks, 0);
    ck_assert_uint_eq(mi.fsmblks, 0);
    for (size_t i = 1; i < N; i += 2)
        free(b[i]);
}
END_TEST
#endif

/* ---- suite ----------------------------------------------------------------- */

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, htab_matches_a_model);
    tcase_add_test(tc, htab_grows_a_step_at_a_time);
    tcase_add_test(tc, snapshot_pushed_in_pieces);
    tcase_add_test(tc, parse_valid);
    tcase_add_loop_test(tc, parse_malformed, 0, (int)(sizeof bad_payloads / sizeof bad_payloads[0]));
    tcase_add_test(tc, seed_parsing);
    suite_add_tcase(s, tc);

    tc = tcase_create("txn");
    tcase_add_unchecked_fixture(tc, make_base, remove_base);
    tcase_add_test(tc, enlist_rejects_bad_bytes);
    tcase_add_test(tc, enlist_idempotent);
    tcase_add_test(tc, occ_version_conflict);
    tcase_add_test(tc, held_by_other);
    tcase_add_test(tc, held_absent_key);
    tcase_add_test(tc, constraints);
    tcase_add_test(tc, commit_idempotent);
    tcase_add_test(tc, commit_requires_prepare);
    tcase_add_test(tc, rollback_idempotent);
    tcase_add_test(tc, commit_then_rollback_compensates_once);
    tcase_add_test(tc, compensate_create_deletes);
    suite_add_tcase(s, tc);

    tc = tcase_create("file");
    tcase_add_unchecked_fixture(tc, make_base, remove_base);
    tcase_add_test(tc, reload_keeps_state);
    tcase_add_test(tc, readonly_dump);
    tcase_add_test(tc, seeds_only_without_file);
    tcase_add_test(tc, torn_last_line_ignored);
    tcase_add_loop_test(tc, corrupt_line_refused, 0,
                        (int)(sizeof corrupt_cases / sizeof corrupt_cases[0]));
    tcase_add_test(tc, compaction_keeps_state);
    tcase_add_test(tc, compaction_waits_for_the_factor);
    tcase_add_test(tc, background_compaction_loses_nothing);
    tcase_add_test(tc, background_snapshot_is_the_start);
    tcase_add_test(tc, idle_time_finishes_a_compaction);
    tcase_add_test(tc, background_tail_in_pieces);
    tcase_add_test(tc, journal_compaction_syncs_off_the_flush);
    tcase_add_test(tc, background_snapshot_leaves_out_younger_records);
    tcase_add_test(tc, no_fsync_compacts_without_fsync);
    tcase_add_test(tc, second_open_locked);
    tcase_add_test(tc, write_failure_is_an_error);
    tcase_add_test(tc, compaction_never_follows_tmp_symlink);
    tcase_add_test(tc, state_symlink_not_followed);
    tcase_add_test(tc, lock_symlink_refused);
    tcase_add_test(tc, fault_hook_points);
    tcase_add_test(tc, journal_mode);
    tcase_add_test(tc, journal_background_compaction);
    tcase_add_test(tc, journal_background_sync_fails);
    suite_add_tcase(s, tc);

    tc = tcase_create("ledger");
    tcase_add_unchecked_fixture(tc, make_base, remove_base);
    tcase_add_test(tc, ledger_beyond_horizon_dropped);
    tcase_add_test(tc, ledger_inside_horizon_kept);
    tcase_add_test(tc, compaction_bounded_by_live_state);
    tcase_add_test(tc, retire_budget_and_held_requeue);
    tcase_add_test(tc, retire_stops_at_mark);
    suite_add_tcase(s, tc);
#ifndef HEAP_UNDER_ASAN
    tc = tcase_create("heap");
    tcase_add_test(tc, heap_setup_keeps_no_fast_bins);
    suite_add_tcase(s, tc);
#endif
    return s;
}


int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
