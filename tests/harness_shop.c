/*
 * harness_shop.c - see harness.h: the four services ("shop") of the
 * crash and order tests: their dumps, starting them, an order across all
 * four, the all-or-nothing check after a crash, and forked coordinators.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

/* ---- dumps --------------------------------------------------------------- */

int h_dump_service(const char *service, const char *name, h_dump *d)
{
    static h_result r; /* large: keep it off the stack */
    char prog[64];
    memset(d, 0, sizeof *d);
    d->ledger = -1;
    snprintf(prog, sizeof prog, "dtc-%s", service);
    const char *argv[] = {"--dump", "--data-dir", h_data_dir(), "--name", name, NULL};
    if (h_runv(&r, 5000, NULL, prog, argv) != 0) {
        fprintf(stderr, "harness: %s --dump exit %d: %s\n", prog, r.code, r.err);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long v;
        if (sscanf(line, "ledger %ld", &v) == 1 && strncmp(line, "ledger ", 7) == 0) {
            d->ledger = v;
            continue;
        }
        if (d->n >= H_DUMP_MAX)
            continue;
        h_rec *rec = &d->recs[d->n];
        int used = 0;
        if (sscanf(line, "%63s %127s %ld %n", rec->key, rec->value, &rec->version, &used) < 3)
            continue;
        snprintf(rec->note, sizeof rec->note, "%s", line + used);
        size_t nl = strlen(rec->note);
        while (nl > 0 && isspace((unsigned char)rec->note[nl - 1]))
            rec->note[--nl] = '\0';
        d->n++;
    }
    return d->ledger >= 0 ? 0 : -1;
}

const h_rec *h_dump_get(const h_dump *d, const char *key)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->recs[i].key, key) == 0)
            return &d->recs[i];
    return NULL;
}

int h_dump_equal(const h_dump *a, const h_dump *b)
{
    if (a->n != b->n || a->ledger != b->ledger)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const h_rec *o = h_dump_get(b, a->recs[i].key);
        if (o == NULL || strcmp(o->value, a->recs[i].value) != 0
            || o->version != a->recs[i].version || strcmp(o->note, a->recs[i].note) != 0)
            return 0;
    }
    return 1;
}

void h_dump_print(const char *title, const h_dump *d)
{
    fprintf(stderr, "-- %s: %d records, ledger %ld\n", title, d->n, d->ledger);
    for (int i = 0; i < d->n; i++)
        fprintf(stderr, "   %s %s %ld %s\n", d->recs[i].key, d->recs[i].value,
                d->recs[i].version, d->recs[i].note);
}

/* ---- the four services ("shop") ----------------------------------------- */

int h_have_shop(void)
{
    return h_have_program("dtc-inventory") && h_have_program("dtc-payment")
           && h_have_program("dtc-order") && h_have_program("dtc-shipping");
}

int h_start_shop(const char *const shipping_extra[])
{
    if (h_start_service("inventory", "inventory", "--seed", "sku-1=10", "--seed",
                        "sku-2=1", NULL) < 0)
        return -1;
    if (h_start_service("payment", "payment", "--seed", "alice=100000", "--seed",
                        "bob=100", NULL) < 0)
        return -1;
    if (h_start_service("order", "order", NULL) < 0)
        return -1;
    const char *argv[H_MAX_ARGS];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--data-dir";
    argv[n++] = h_data_dir();
    argv[n++] = "--name";
    argv[n++] = "shipping";
    argv[n++] = "--seed";
    argv[n++] = "zone-a=100";
    for (size_t i = 0; shipping_extra && shipping_extra[i] && n < H_MAX_ARGS - 1; i++)
        argv[n++] = shipping_extra[i];
    argv[n] = NULL;
    char label[64];
    snprintf(label, sizeof label, "shipping-%u", h__run_counter++);
    return h__start_and_wait(label, "dtc-shipping", "shipping", argv, NULL) < 0 ? -1 : 0;
}

static const char *const shop_names[4] = {"inventory", "payment", "order", "shipping"};

int h_dump_shop(h_dump d[4])
{
    int rc = 0;
    for (int i = 0; i < 4; i++)
        if (h_dump_service(shop_names[i], shop_names[i], &d[i]) != 0)
            rc = -1;
    return rc;
}

int h_shop_equal(const h_dump a[4], const h_dump b[4])
{
    int eq = 1;
    for (int i = 0; i < 4; i++) {
        if (!h_dump_equal(&a[i], &b[i])) {
            h_dump_print("before", &a[i]);
            h_dump_print("after", &b[i]);
            eq = 0;
        }
    }
    return eq;
}

dtc_result h_order(dtc_instance *in, const char *order_id, const char *sku, int qty,
                   const char *account, long cents, const char *zone,
                   const dtc_txn_options *opts, dtc_txn_info *report)
{
    char pl[4][DTC_PAYLOAD_MAX];
    snprintf(pl[0], sizeof pl[0], "reserve %s %d", sku, qty);
    snprintf(pl[1], sizeof pl[1], "charge %s %ld", account, cents);
    snprintf(pl[2], sizeof pl[2], "create %s %s %ld", order_id, account, cents);
    snprintf(pl[3], sizeof pl[3], "schedule %s %s", order_id, zone);
    dtc_txid id;
    dtc_result rc = dtc_begin_transaction(in, opts, &id);
    if (rc != DTC_OK)
        return rc;
    for (int i = 0; i < 4; i++) {
        rc = dtc_enlist(in, &id, shop_names[i], pl[i], strlen(pl[i]));
        if (rc != DTC_OK) {
            dtc_rollback_transaction(in, &id, NULL);
            return rc;
        }
    }
    return dtc_commit_transaction(in, &id, report);
}

void h_report_print(const char *title, dtc_result rc, const dtc_txn_info *t)
{
    fprintf(stderr, "-- %s: %s, state %s, %u entries\n", title, dtc_result_name(rc),
            dtc_txn_state_name(t->state), t->nentries);
    for (uint32_t i = 0; i < t->nentries && i < DTC_LIMIT_MAX_PARTS_PER_TXN; i++)
        fprintf(stderr, "   %s op=%s status=%s vote=%s reason=%s\n", t->entries[i].name,
                dtc_op_name(t->entries[i].op), dtc_entry_status_name(t->entries[i].status),
                dtc_entry_status_name(t->entries[i].vote), t->entries[i].reason);
}

void h_txns_bounded(const char *const names[], int n, int timeout_ms)
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        alarm((unsigned)(timeout_ms / 1000 + 2)); /* a hang kills the child */
        dtc_instance *in;
        if (dtc_open(h_instance(), &in) != DTC_OK)
            _exit(10);
        for (int i = 0; i < n; i++) {
            dtc_txid id;
            dtc_result rc = dtc_begin_transaction(in, NULL, &id);
            for (int k = 0; rc == DTC_OK && names[k]; k++)
                rc = dtc_enlist(in, &id, names[k], "x", 1);
            if (rc == DTC_OK)
                rc = dtc_commit_transaction(in, &id, NULL);
            if (rc != DTC_OK) {
                fprintf(stderr, "txn %d: %s\n", i, dtc_result_name(rc));
                _exit(11);
            }
        }
        dtc_close(&in);
        _exit(0);
    }
    int st = 0, done = h_wait(c, timeout_ms, &st);
    if (!done)
        h_kill9(c);
    ck_assert_msg(done, "%d transactions did not finish within %d ms (hang)", n, timeout_ms);
    ck_assert_msg(h_exit_code(st) == 0, "transactions failed: child exit %d", h_exit_code(st));
}

pid_t h_fork_commit(const char *const names[])
{
    pid_t c = h_fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        dtc_instance *in;
        dtc_txid id;
        dtc_result rc = dtc_open(h_instance(), &in);
        if (rc == DTC_OK)
            rc = dtc_begin_transaction(in, NULL, &id);
        for (int k = 0; rc == DTC_OK && names[k]; k++)
            rc = dtc_enlist(in, &id, names[k], "x", 1);
        if (rc != DTC_OK)
            _exit(10);
        _exit(dtc_commit_transaction(in, &id, NULL) == DTC_OK ? 0 : 11);
    }
    return c;
}

static long rec_value(const h_dump *d, const char *key)
{
    const h_rec *r = h_dump_get(d, key);
    return r ? strtol(r->value, NULL, 10) : -1;
}

int h_shop_check(const char *what, long order_cents, const int *told, int n)
{
    static const char *const names[4] = {"inventory", "payment", "order", "shipping"};
    ck_assert_msg(h_wait_idle(20000), "%s: transactions still in flight", what);
    h_dump dump[4];
    ck_assert_int_eq(h_dump_shop(dump), 0);
    int committed = dump[2].n; /* one order record per committed order */
    int ok = 1;
    for (int i = 1; i < 4; i++)
        ok &= dump[i].ledger == dump[0].ledger;
    ok &= dump[0].ledger == committed;
    ok &= rec_value(&dump[0], "sku-1") == 10 - committed;
    ok &= rec_value(&dump[0], "sku-2") == 1;
    ok &= rec_value(&dump[1], "alice") == 100000 - (long)committed * order_cents;
    ok &= rec_value(&dump[1], "bob") == 100;
    ok &= rec_value(&dump[3], "zone:zone-a") == 100 - committed;
    if (!ok)
        for (int i = 0; i < 4; i++)
            h_dump_print(names[i], &dump[i]);
    ck_assert_msg(ok, "%s: the services disagree (%d committed orders; see the dumps above)",
                  what, committed);
    for (int k = 0; told != NULL && k < n; k++) {
        char key[32];
        snprintf(key, sizeof key, "order:o-%d", k);
        ck_assert_msg(!told[k] || h_dump_get(&dump[2], key) != NULL,
                      "%s: o-%d was reported committed but is not", what, k);
    }
    return committed;
}
