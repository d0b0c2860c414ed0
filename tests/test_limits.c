/*
 * test_limits.c - limits and argument errors against a real dtcd and
 * dtc-noop participants: the transaction table and the per-transaction
 * enlistment table fill up with their own errors and are freed again by
 * rollback; unknown names, long names, long payloads and unknown or
 * finished transaction ids fail with the documented codes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void teardown(void)
{
    h_fini();
}

static uint32_t in_use(void)
{
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    return st.txns_in_use;
}

START_TEST(test_limits_tables)
{
    h_init("limits-tables");
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_instance *in = h_inst();
    char names[DTC_DEFAULT_MAX_PARTS_PER_TXN + 1][16];
    for (int i = 0; i <= DTC_DEFAULT_MAX_PARTS_PER_TXN; i++) {
        snprintf(names[i], sizeof names[i], "p%d", i);
        ck_assert_int_gt(h_start_noop(names[i], NULL), 0);
    }

    /* One transaction takes 10 enlistments; the 11th is refused. */
    static dtc_txid ids[DTC_DEFAULT_MAX_TXNS];
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &ids[0]), DTC_OK);
    for (int i = 0; i < DTC_DEFAULT_MAX_PARTS_PER_TXN; i++)
        ck_assert_int_eq(dtc_enlist(in, &ids[0], names[i], "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &ids[0], names[DTC_DEFAULT_MAX_PARTS_PER_TXN], "x", 1),
                     DTC_EPARTFULL);
    dtc_txn_info ti;
    ck_assert_int_eq(dtc_transaction_status(in, &ids[0], &ti), DTC_OK);
    ck_assert_uint_eq(ti.nentries, DTC_DEFAULT_MAX_PARTS_PER_TXN);
    ck_assert_int_eq(ti.state, DTC_TXN_ACTIVE);

    /* 99 more ACTIVE transactions fill the table; the 101st is refused. */
    for (int i = 1; i < DTC_DEFAULT_MAX_TXNS; i++)
        ck_assert_int_eq(dtc_begin_transaction(in, NULL, &ids[i]), DTC_OK);
    ck_assert_uint_eq(in_use(), DTC_DEFAULT_MAX_TXNS);
    dtc_txid extra;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &extra), DTC_ETXNFULL);
    ck_assert_uint_eq(in_use(), DTC_DEFAULT_MAX_TXNS);

    /* Rolling everything back frees every slot. */
    for (int i = 0; i < DTC_DEFAULT_MAX_TXNS; i++)
        ck_assert_int_eq(dtc_rollback_transaction(in, &ids[i], NULL), DTC_OK);
    ck_assert_uint_eq(in_use(), 0);

    /* And the tables are usable again: a full transaction commits. */
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    for (int i = 0; i < DTC_DEFAULT_MAX_PARTS_PER_TXN; i++)
        ck_assert_int_eq(dtc_enlist(in, &id, names[i], "y", 1), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    ck_assert_uint_eq(in_use(), 0);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(in, &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 1);
    ck_assert_uint_eq(st.counters.begun, DTC_DEFAULT_MAX_TXNS + 1);
}
END_TEST

START_TEST(test_limits_same_participant_repeated)
{
    h_init("limits-repeat");
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--max-parts", "4", NULL}), 0);
    dtc_instance *in = h_inst();
    static const char *const names[] = {"rep", "rep2", "rep3", "rep4", "rep5"};
    for (int i = 0; i < 5; i++)
        ck_assert_int_gt(h_start_noop(names[i], NULL), 0);
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(in, &st), DTC_OK);
    ck_assert_uint_eq(st.limits.max_parts_per_txn, 4);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);
    /* a participant is enlisted once per transaction (issue 9: a repeat
     * used to be accepted and silently collapsed into the first) */
    ck_assert_int_eq(dtc_enlist(in, &id, "rep", "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "rep", "x", 1), DTC_EDUPLICATE);
    for (int i = 1; i < 4; i++)
        ck_assert_int_eq(dtc_enlist(in, &id, names[i], "x", 1), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, &id, "rep5", "x", 1), DTC_EPARTFULL);
    ck_assert_int_eq(dtc_enlist(in, &id, "rep", "x", 1), DTC_EDUPLICATE);
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    ck_assert_uint_eq(in_use(), 0);
}
END_TEST

START_TEST(test_limits_argument_errors)
{
    h_init("limits-args");
    ck_assert_int_gt(h_start_dtcd(), 0);
    dtc_instance *in = h_inst();
    ck_assert_int_gt(h_start_noop("ok", NULL), 0);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(in, NULL, &id), DTC_OK);

    ck_assert_int_eq(dtc_enlist(in, &id, "nobody", "x", 1), DTC_EUNKNOWN);

    char longname[DTC_NAME_MAX + 8];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(dtc_enlist(in, &id, longname, "x", 1), DTC_ETOOBIG);
    /* exactly DTC_NAME_MAX characters: one too many (the NUL counts) */
    longname[DTC_NAME_MAX] = '\0';
    ck_assert_int_eq(dtc_enlist(in, &id, longname, "x", 1), DTC_ETOOBIG);

    static char payload[DTC_PAYLOAD_MAX + 1];
    memset(payload, 'p', sizeof payload);
    ck_assert_int_eq(dtc_enlist(in, &id, "ok", payload, DTC_PAYLOAD_MAX + 1), DTC_ETOOBIG);
    /* the largest payload fits */
    ck_assert_int_eq(dtc_enlist(in, &id, "ok", payload, DTC_PAYLOAD_MAX), DTC_OK);

    /* The failed enlistments left nothing behind. */
    dtc_txn_info ti;
    ck_assert_int_eq(dtc_transaction_status(in, &id, &ti), DTC_OK);
    ck_assert_uint_eq(ti.nentries, 1);

    /* An id nobody began. */
    dtc_txid bogus;
    ck_assert_int_eq(dtc_txid_parse("01234567-89ab-cdef-0123-456789abcdef", &bogus), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(in, &bogus, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_prepare_transaction(in, &bogus, NULL), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_transaction_status(in, &bogus, &ti), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_enlist(in, &bogus, "ok", "x", 1), DTC_ENOTFOUND);

    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    /* Finished: the slot is gone; a commit asked again is answered from
     * the decision log (dtc.h), the other calls find nothing. */
    ck_assert_int_eq(dtc_commit_transaction(in, &id, NULL), DTC_OK);
    ck_assert_int_eq(dtc_transaction_status(in, &id, &ti), DTC_ENOTFOUND);
    ck_assert_int_eq(dtc_enlist(in, &id, "ok", "x", 1), DTC_ENOTFOUND);
    ck_assert_uint_eq(in_use(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_limits_tables);
    tcase_add_test(tc, test_limits_same_participant_repeated);
    tcase_add_test(tc, test_limits_argument_errors);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
