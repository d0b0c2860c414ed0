/*
 * test_failures.c - every way phase one can fail leaves all four services
 * exactly as they were (records, values, versions, ledger count): a no
 * vote (out of stock), an error vote (dtc-noop --vote error; a service
 * with --fail-prepare 1), a malformed payload, and a prepare timeout (a
 * slow shipping service) after which the late participant releases its
 * hold and the same SKU and zone can be ordered again.
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

static long value_of(const h_dump *d, const char *key)
{
    const h_rec *r = h_dump_get(d, key);
    return r ? strtol(r->value, NULL, 10) : -999999;
}

static const dtc_entry_info *entry(const dtc_txn_info *t, const char *name)
{
    for (uint32_t i = 0; i < t->nentries && i < DTC_LIMIT_MAX_PARTS_PER_TXN; i++)
        if (strcmp(t->entries[i].name, name) == 0)
            return &t->entries[i];
    return NULL;
}

static void check_unchanged(const h_dump before[4])
{
    h_dump after[4];
    ck_assert_int_eq(h_dump_shop(after), 0);
    ck_assert_msg(h_shop_equal(before, after), "a failed order changed a service");
}

/* After a failure: slot freed, nothing committed, a clean order on the
 * same SKU/account/zone still commits (nothing left held). */
static void check_follow_up(const char *order_id, const dtc_txn_options *opts)
{
    ck_assert(h_wait_idle(2000));
    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 0);
    h_dump b[4], a[4];
    ck_assert_int_eq(h_dump_shop(b), 0);
    dtc_txn_info rep;
    dtc_result rc = h_order(h_inst(), order_id, "sku-1", 1, "alice", 100, "zone-a", opts, &rep);
    if (rc != DTC_OK)
        h_report_print("follow-up order", rc, &rep);
    ck_assert_int_eq(rc, DTC_OK);
    ck_assert_int_eq(h_dump_shop(a), 0);
    ck_assert_int_eq(value_of(&a[0], "sku-1"), value_of(&b[0], "sku-1") - 1);
    ck_assert_int_eq(value_of(&a[1], "alice"), value_of(&b[1], "alice") - 100);
}

START_TEST(test_failures_no_vote_out_of_stock)
{
    h_init("fail-novote");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    h_dump before[4];
    ck_assert_int_eq(h_dump_shop(before), 0);
    dtc_txn_info rep;
    /* sku-2 has 1 in stock */
    dtc_result rc = h_order(h_inst(), "o-1", "sku-2", 5, "alice", 500, "zone-a", NULL, &rep);
    ck_assert_int_eq(rc, DTC_EREFUSED);
    const dtc_entry_info *e = entry(&rep, "inventory");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->vote, DTC_ENTRY_NO);
    ck_assert_msg(strncmp(e->reason, "out of stock: ", 14) == 0, "reason: '%s'", e->reason);
    ck_assert_str_eq(e->reason_code, "out_of_stock"); /* the code, split off once */
    ck_assert(dtc_entry_failed(e));
    ck_assert_int_eq(dtc_entry_failure(e), DTC_ENTRY_NO);
    ck_assert_int_eq(rep.state, DTC_TXN_ABORTED);
    check_unchanged(before);
    /* and the balance: bob has 100 cents */
    rc = h_order(h_inst(), "o-2", "sku-1", 1, "bob", 500, "zone-a", NULL, &rep);
    ck_assert_int_eq(rc, DTC_EREFUSED);
    e = entry(&rep, "payment");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->vote, DTC_ENTRY_NO);
    ck_assert_str_eq(e->reason_code, "insufficient_funds");
    ck_assert_msg(strncmp(e->reason, "insufficient funds: ", 20) == 0, "reason: '%s'", e->reason);
    e = entry(&rep, "inventory"); /* voted yes: no failure, no code */
    ck_assert_ptr_nonnull(e);
    ck_assert(!dtc_entry_failed(e));
    ck_assert_str_eq(e->reason_code, "");
    check_unchanged(before);
    check_follow_up("o-3", NULL);
}
END_TEST

START_TEST(test_failures_error_vote_noop)
{
    h_init("fail-errvote");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    ck_assert_int_gt(h_start_noop("broken", "--vote", "error", NULL), 0);
    h_dump before[4];
    ck_assert_int_eq(h_dump_shop(before), 0);
    /* the four services plus a participant that reports an error */
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    static const char *const pl[][2] = {{"inventory", "reserve sku-1 2"},
                                        {"payment", "charge alice 2500"},
                                        {"order", "create o-1 alice 2500"},
                                        {"shipping", "schedule o-1 zone-a"},
                                        {"broken", "x"}};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(dtc_enlist(h_inst(), &id, pl[i][0], pl[i][1], strlen(pl[i][1])),
                         DTC_OK);
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EPARTICIPANT);
    const dtc_entry_info *e = entry(&rep, "broken");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->vote, DTC_ENTRY_ERROR);
    ck_assert_msg(strstr(e->reason, "error") != NULL, "reason: '%s'", e->reason);
    check_unchanged(before);
    check_follow_up("o-2", NULL);
}
END_TEST

START_TEST(test_failures_error_vote_service)
{
    h_init("fail-svcerr");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop((const char *const[]){"--fail-prepare", "1", NULL}), 0);
    h_dump before[4];
    ck_assert_int_eq(h_dump_shop(before), 0);
    dtc_txn_info rep;
    dtc_result rc = h_order(h_inst(), "o-1", "sku-1", 2, "alice", 2500, "zone-a", NULL, &rep);
    ck_assert_int_eq(rc, DTC_EPARTICIPANT);
    const dtc_entry_info *e = entry(&rep, "shipping");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->vote, DTC_ENTRY_ERROR);
    check_unchanged(before);
    ck_assert(h_wait_idle(2000));
}
END_TEST

START_TEST(test_failures_malformed_payload)
{
    h_init("fail-malformed");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    h_dump before[4];
    ck_assert_int_eq(h_dump_shop(before), 0);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    static const char *const pl[][2] = {{"inventory", "reserve sku-1 lots"},
                                        {"payment", "charge alice 2500"},
                                        {"order", "create o-1 alice 2500"},
                                        {"shipping", "schedule o-1 zone-a"}};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(dtc_enlist(h_inst(), &id, pl[i][0], pl[i][1], strlen(pl[i][1])),
                         DTC_OK);
    dtc_txn_info rep;
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EPARTICIPANT);
    const dtc_entry_info *e = entry(&rep, "inventory");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->vote, DTC_ENTRY_ERROR);
    ck_assert_msg(strstr(e->reason, "malformed") != NULL, "reason: '%s'", e->reason);
    check_unchanged(before);

    /* other malformed shapes, one service each */
    static const char *const bad[][2] = {{"payment", "charge alice"},
                                         {"order", "create o-9 alice -5"},
                                         {"shipping", "schedule"},
                                         {"inventory", "steal sku-1 1"}};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
        ck_assert_int_eq(dtc_enlist(h_inst(), &id, bad[i][0], bad[i][1], strlen(bad[i][1])),
                         DTC_OK);
        dtc_result rc = dtc_commit_transaction(h_inst(), &id, &rep);
        ck_assert_msg(rc == DTC_EPARTICIPANT, "%s '%s': %s", bad[i][0], bad[i][1],
                      dtc_result_name(rc));
        e = entry(&rep, bad[i][0]);
        ck_assert_ptr_nonnull(e);
        ck_assert_msg(strstr(e->reason, "malformed") != NULL, "%s '%s': reason '%s'",
                      bad[i][0], bad[i][1], e->reason);
    }
    check_unchanged(before);
    check_follow_up("o-2", NULL);
}
END_TEST

START_TEST(test_failures_prepare_timeout)
{
    h_init("fail-timeout");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop((const char *const[]){"--delay-prepare-ms", "2000", NULL}),
                     0);
    h_dump before[4];
    ck_assert_int_eq(h_dump_shop(before), 0);
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.prepare_timeout_ms = 300;
    /* The rollback that follows waits for acks; shipping is asleep in its
     * prepare for 2 s, so bound that phase too, or the call lasts 2 s. */
    o.rollback_timeout_ms = 500;
    dtc_txn_info rep;
    int64_t t0 = h_now_ms();
    dtc_result rc = h_order(h_inst(), "o-1", "sku-1", 2, "alice", 2500, "zone-a", &o, &rep);
    int64_t took = h_now_ms() - t0;
    if (rc != DTC_ETIMEOUT)
        h_report_print("slow order", rc, &rep);
    ck_assert_int_eq(rc, DTC_ETIMEOUT);
    ck_assert_msg(took < 1500, "300 ms prepare + 500 ms rollback deadlines took %lld ms",
                  (long long)took);
    const dtc_entry_info *e = entry(&rep, "shipping");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->vote, DTC_ENTRY_TIMEOUT);
    check_unchanged(before);

    /* Wait until the late participant has answered and released its hold
     * (nothing pending at shipping), then check again. */
    int64_t end = h_now_ms() + 6000;
    dtc_participant_info pi;
    int drained = 0;
    while (!drained && h_now_ms() < end) {
        if (h_find_participant("shipping", &pi) && pi.pending == 0 && h_now_ms() - t0 > 2000)
            drained = 1;
        else
            h_sleep_ms(20);
    }
    ck_assert_msg(drained, "shipping still has requests pending");
    check_unchanged(before);
    /* Same SKU and zone: commits (the slow prepare fits a 5 s deadline). */
    check_follow_up("o-2", NULL);
    h_dump a[4];
    ck_assert_int_eq(h_dump_shop(a), 0);
    ck_assert_ptr_nonnull(h_dump_get(&a[3], "ship:o-2"));
    ck_assert_ptr_null(h_dump_get(&a[3], "ship:o-1"));
    ck_assert_ptr_null(h_dump_get(&a[2], "order:o-1"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failures");
    TCase *tc = tcase_create("failures");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_failures_no_vote_out_of_stock);
    tcase_add_test(tc, test_failures_error_vote_noop);
    tcase_add_test(tc, test_failures_error_vote_service);
    tcase_add_test(tc, test_failures_malformed_payload);
    tcase_add_test(tc, test_failures_prepare_timeout);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
