/*
 * test_order.c - orders through the four real services (dtc-inventory,
 * -payment, -order, -shipping): a committed order shows in every state
 * file with new values and versions; two concurrent orders on one SKU end
 * with exactly one committed and the other refused; a service syncing
 * its own state file (--own-fsync) counts its syncs in its slot
 * (dtc_list_participants, dtcctl participants), services on the journal
 * none per batch.
 */
#include <check.h>
#include <signal.h>
#include <sys/wait.h>
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

static long version_of(const h_dump *d, const char *key)
{
    const h_rec *r = h_dump_get(d, key);
    return r ? r->version : -1;
}

START_TEST(test_order_commits_in_all_four_services)
{
    h_init("order-commit");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    h_dump b[4], a[4];
    ck_assert_int_eq(h_dump_shop(b), 0);
    ck_assert_int_eq(value_of(&b[0], "sku-1"), 10);
    ck_assert_int_eq(value_of(&b[1], "alice"), 100000);
    ck_assert_ptr_null(h_dump_get(&b[2], "order:o-1"));
    ck_assert_ptr_null(h_dump_get(&b[3], "ship:o-1"));

    dtc_txn_info rep;
    dtc_result rc = h_order(h_inst(), "o-1", "sku-1", 2, "alice", 2500, "zone-a", NULL, &rep);
    if (rc != DTC_OK)
        h_report_print("order", rc, &rep);
    ck_assert_int_eq(rc, DTC_OK);
    ck_assert_int_eq(rep.state, DTC_TXN_COMMITTED);
    ck_assert_uint_eq(rep.nentries, 4);
    for (uint32_t i = 0; i < 4; i++)
        ck_assert_int_eq(rep.entries[i].vote, DTC_ENTRY_YES);

    ck_assert_int_eq(h_dump_shop(a), 0);
    /* stock decreased, balance decreased, each with a new version */
    ck_assert_int_eq(value_of(&a[0], "sku-1"), 8);
    ck_assert_int_gt(version_of(&a[0], "sku-1"), version_of(&b[0], "sku-1"));
    ck_assert_int_eq(value_of(&a[1], "alice"), 97500);
    ck_assert_int_gt(version_of(&a[1], "alice"), version_of(&b[1], "alice"));
    /* untouched records keep value and version */
    ck_assert_int_eq(value_of(&a[0], "sku-2"), value_of(&b[0], "sku-2"));
    ck_assert_int_eq(version_of(&a[0], "sku-2"), version_of(&b[0], "sku-2"));
    ck_assert_int_eq(value_of(&a[1], "bob"), value_of(&b[1], "bob"));
    ck_assert_int_eq(version_of(&a[1], "bob"), version_of(&b[1], "bob"));
    /* order and shipment created, the zone's capacity used */
    const h_rec *o = h_dump_get(&a[2], "order:o-1");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_gt(o->version, 0);
    ck_assert_msg(strstr(o->value, "2500") || strstr(o->note, "2500"),
                  "order record does not show the amount: %s %s", o->value, o->note);
    ck_assert_msg(strstr(o->value, "alice") || strstr(o->note, "alice"),
                  "order record does not show the account: %s %s", o->value, o->note);
    const h_rec *s = h_dump_get(&a[3], "ship:o-1");
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(strstr(s->value, "zone-a") || strstr(s->note, "zone-a"),
                  "shipment does not name its zone: %s %s", s->value, s->note);
    ck_assert_int_eq(value_of(&a[3], "zone:zone-a"), 99);
    ck_assert_int_gt(version_of(&a[3], "zone:zone-a"), version_of(&b[3], "zone:zone-a"));
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(a[i].ledger, b[i].ledger + 1);

    /* a second order: applied on top, ledgers grow again */
    rc = h_order(h_inst(), "o-2", "sku-1", 8, "alice", 7500, "zone-a", NULL, &rep);
    ck_assert_int_eq(rc, DTC_OK);
    ck_assert_int_eq(h_dump_shop(b), 0);
    ck_assert_int_eq(value_of(&b[0], "sku-1"), 0);
    ck_assert_int_eq(value_of(&b[1], "alice"), 90000);
    ck_assert_ptr_nonnull(h_dump_get(&b[2], "order:o-2"));
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(b[i].ledger, a[i].ledger + 1);

    dtc_status st;
    ck_assert_int_eq(dtc_get_status(h_inst(), &st), DTC_OK);
    ck_assert_uint_eq(st.counters.committed, 2);
    ck_assert_uint_eq(st.txns_in_use, 0);
}
END_TEST

static dtc_txid begin_pair(const char *sku, const char *account, long cents)
{
    char p0[64], p1[64];
    snprintf(p0, sizeof p0, "reserve %s 1", sku);
    snprintf(p1, sizeof p1, "charge %s %ld", account, cents);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "inventory", p0, strlen(p0)), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "payment", p1, strlen(p1)), DTC_OK);
    return id;
}

START_TEST(test_order_same_sku_conflict)
{
    h_init("order-conflict");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    h_dump b[4], a[4];
    ck_assert_int_eq(h_dump_shop(b), 0);

    /* Both enlisted (versions recorded) before either prepares. */
    dtc_txid t1 = begin_pair("sku-1", "alice", 100);
    dtc_txid t2 = begin_pair("sku-1", "bob", 50);
    /* let both enlist work steps run */
    h_sleep_ms(50);
    dtc_txn_info r1, r2;
    dtc_result rc1 = dtc_commit_transaction(h_inst(), &t1, &r1);
    dtc_result rc2 = dtc_commit_transaction(h_inst(), &t2, &r2);
    if (rc1 != DTC_OK)
        h_report_print("T1", rc1, &r1);
    if (rc2 != DTC_OK)
        h_report_print("T2", rc2, &r2);
    ck_assert_msg((rc1 == DTC_OK) != (rc2 == DTC_OK), "T1 %s, T2 %s: want exactly one commit",
                  dtc_result_name(rc1), dtc_result_name(rc2));
    ck_assert_int_eq(rc1, DTC_OK);
    ck_assert_int_eq(rc2, DTC_EREFUSED);
    /* the refusal comes from inventory */
    int inv_no = 0;
    for (uint32_t i = 0; i < r2.nentries; i++)
        if (strcmp(r2.entries[i].name, "inventory") == 0 && r2.entries[i].vote == DTC_ENTRY_NO)
            inv_no = 1;
    ck_assert_msg(inv_no, "inventory did not vote no for T2");

    ck_assert_int_eq(h_dump_shop(a), 0);
    ck_assert_int_eq(value_of(&a[0], "sku-1"), 9);
    ck_assert_int_eq(version_of(&a[0], "sku-1"), version_of(&b[0], "sku-1") + 1);
    ck_assert_int_eq(value_of(&a[1], "alice"), 100000 - 100);
    /* T2's payment was rolled back: bob unchanged */
    ck_assert_int_eq(value_of(&a[1], "bob"), 100);
    ck_assert_int_eq(version_of(&a[1], "bob"), version_of(&b[1], "bob"));
    ck_assert_int_eq(a[0].ledger, b[0].ledger + 1);
    ck_assert(h_wait_idle(1000));
}
END_TEST

START_TEST(test_order_same_sku_prepared_holds)
{
    /* T1 prepared (holding sku-1) while T2 prepares: T2 refused (held),
     * then T1 commits. */
    h_init("order-held");
    ck_assert_int_gt(h_start_dtcd(), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    dtc_txid t1 = begin_pair("sku-1", "alice", 100);
    ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &t1, NULL), DTC_OK);
    dtc_txid t2 = begin_pair("sku-1", "bob", 50);
    dtc_txn_info r2;
    dtc_result rc2 = dtc_commit_transaction(h_inst(), &t2, &r2);
    ck_assert_msg(rc2 == DTC_EREFUSED, "T2 against a held SKU: %s", dtc_result_name(rc2));
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &t1, NULL), DTC_OK);
    h_dump a[4];
    ck_assert_int_eq(h_dump_shop(a), 0);
    ck_assert_int_eq(value_of(&a[0], "sku-1"), 9);
    ck_assert_int_eq(value_of(&a[1], "bob"), 100);
    ck_assert(h_wait_idle(1000));
}
END_TEST

/* A forked helper stopped with SIGTERM at once dies of it and leaves the
 * test running (it must not run Check's handler, which kills the whole
 * process group: the test then died of "signal 15" now and then). */
START_TEST(test_forked_child_stops_alone)
{
    h_init("order-fork-term");
    for (int k = 0; k < 20; k++) {
        pid_t c = h_fork();
        ck_assert_int_ge(c, 0);
        if (c == 0) {
            for (;;)
                pause();
        }
        ck_assert_int_eq(kill(c, SIGTERM), 0); /* at once: mid-fork in the child */
        int st;
        ck_assert_int_eq(h_wait(c, 5000, &st), 1);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    }
    h_fini();
}
END_TEST

/* The syncs every participant counted, by shop name (-1: not listed). */
static void syncs_of(long long out[4])
{
    static const char *const names[4] = {"inventory", "payment", "order", "shipping"};
    dtc_participant_info info[16];
    size_t n = 0;
    ck_assert_int_eq(dtc_list_participants(h_inst(), info, 16, &n), DTC_OK);
    ck_assert_uint_le(n, 16);
    for (int k = 0; k < 4; k++) {
        out[k] = -1;
        for (size_t i = 0; i < n; i++)
            if (strcmp(info[i].name, names[k]) == 0)
                out[k] = (long long)info[i].syncs;
    }
}

/* dtcctl participants --json: the "syncs" of participant name, -1 if none. */
static long long cli_syncs(const char *name)
{
    h_result r;
    char key[64];
    h_run(&r, 10000, "dtcctl", "--instance", h_instance(), "participants", "--json", NULL);
    ck_assert_msg(r.code == 0 && h_json_valid(r.out), "exit %d: %s %s", r.code, r.out, r.err);
    snprintf(key, sizeof key, "\"name\":\"%s\"", name);
    const char *at = strstr(r.out, key), *syncs = at ? strstr(at, "\"syncs\":") : NULL;
    const char *end = at ? strchr(at, '}') : NULL;
    return syncs && syncs < end ? strtoll(syncs + strlen("\"syncs\":"), NULL, 10) : -1;
}

/* shipping --own-fsync syncs its state file at the prepare's and the
 * commit's flush: both counted before it answers, so when the order
 * returns; the three on the journal sync nothing of their own (the
 * journal's flushes are the decision log's). */
START_TEST(test_order_counts_own_syncs)
{
    h_init("order-syncs");
    ck_assert_int_gt(h_start_dtcd(), 0);
    const char *const own[] = {"--own-fsync", NULL};
    ck_assert_int_eq(h_start_shop(own), 0);
    long long b[4], a[4];
    syncs_of(b);
    for (int k = 0; k < 4; k++)
        ck_assert_int_ge(b[k], 0);
    dtc_txn_info rep;
    dtc_result rc = h_order(h_inst(), "o-s", "sku-1", 1, "alice", 100, "zone-a", NULL, &rep);
    if (rc != DTC_OK)
        h_report_print("order", rc, &rep);
    ck_assert_int_eq(rc, DTC_OK);
    syncs_of(a);
    ck_assert_msg(a[3] >= b[3] + 2, "shipping (--own-fsync): %lld syncs, then %lld", b[3], a[3]);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(a[k] == b[k], "participant %d on the journal: %lld syncs, then %lld", k,
                      b[k], a[k]);
    ck_assert_int_eq(cli_syncs("shipping"), a[3]);
    ck_assert_int_eq(cli_syncs("inventory"), a[0]);
    h_fini();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("order");
    TCase *tc = tcase_create("order");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_order_commits_in_all_four_services);
    tcase_add_test(tc, test_forked_child_stops_alone);
    tcase_add_test(tc, test_order_same_sku_conflict);
    tcase_add_test(tc, test_order_same_sku_prepared_holds);
    tcase_add_test(tc, test_order_counts_own_syncs);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
