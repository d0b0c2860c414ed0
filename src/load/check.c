/*
 * check.c - "dtc-load check": the invariants of a stress run, from the
 * clients' files and the services' persisted state (run after every
 * service stopped; after a reboot run too: a client's file from before a
 * reboot is one more CLIENT_FILE).
 *   1. atomicity: each txid applied at all four services or at none (a
 *      compensated txid counts as not applied); none still prepared (in
 *      doubt);
 *   2. outcomes: DTC_OK => applied everywhere and compensated nowhere
 *      (nothing acknowledged is lost); an abort result (or a failed
 *      enlist) => nowhere; no E line (client died) or an unknown result =>
 *      either, all-or-nothing; every txid in a ledger was begun by exactly
 *      one client; the ledger's payload is the one the client enlisted
 *      (1 and 2: check_txn.c);
 *   3. conservation: seed - final = sum of applied reservations (per SKU),
 *      of applied charges (per account), of applied schedules (per zone);
 *      one order:ID / ship:ID record per applied order, as enlisted;
 *      no record with a negative value.
 * Prints "VIOLATION kind txid=... what" lines and a summary; exit 1 if any.
 *
 *   dtc-load check --state-dir D --dump-dir D --seeds FILE
 *                  [--elapsed-s S] CLIENT_FILE...
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

#define SHOW_MAX 25 /* violation lines printed per kind */

static unsigned long nviol;
static unsigned long shown[LOAD_V_KINDS];

static const char *const vnames[LOAD_V_KINDS] = {
    "atomicity", "in-doubt", "lost-commit", "outcome", "conservation", "ledger",
    "back-pressure"};

void load_violation(int kind, const char *fmt, ...)
{
    va_list ap;
    nviol++;
    if (shown[kind]++ >= SHOW_MAX)
        return;
    printf("VIOLATION %s ", vnames[kind]);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* "VIOLATION KIND: N more not shown", and per kind counts. */
static void violation_totals(void)
{
    for (int k = 0; k < LOAD_V_KINDS; k++)
        if (shown[k] > SHOW_MAX)
            printf("VIOLATION %s: %lu more not shown\n", vnames[k], shown[k] - SHOW_MAX);
    if (nviol == 0)
        return;
    printf("violations by kind:");
    for (int k = 0; k < LOAD_V_KINDS; k++)
        if (shown[k] > 0)
            printf(" %s=%lu", vnames[k], shown[k]);
    putchar('\n');
}

/* ---- conservation ------------------------------------------------------------ */

#define MAXKEYS 256
typedef struct keysum {
    char key[80];
    int64_t seed, used;
} keysum;

typedef struct cons {
    keysum k[LOAD_NSVC][MAXKEYS];
    int n[LOAD_NSVC];
} cons;

static keysum *keysum_get(cons *c, int svc, const char *key)
{
    for (int i = 0; i < c->n[svc]; i++)
        if (strcmp(c->k[svc][i].key, key) == 0)
            return &c->k[svc][i];
    return NULL;
}

static int load_seeds(cons *c, const char *path)
{
    FILE *fp = fopen(path, "r");
    char svc[32], key[64];
    long long v;
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    // NOLINTNEXTLINE(cert-err34-c): the seed file dtc-load wrote
    while (fscanf(fp, "%31s %63s %lld", svc, key, &v) == 3) {
        for (int s = 0; s < LOAD_NSVC; s++) {
            if (strcmp(svc, load_svc_names[s]) != 0 || c->n[s] >= MAXKEYS)
                continue;
            keysum *e = &c->k[s][c->n[s]++];
            snprintf(e->key, sizeof e->key, "%s%s", s == LOAD_SHIP ? "zone:" : "", key);
            e->seed = v;
        }
    }
    fclose(fp);
    return 0;
}

/* Sums the applied transactions' effects; checks the order/ship records. */
static void sum_applied(cons *c, const ltx *x, const lrecs *recs, unsigned long *norders)
{
    char a[64], b[64], d[64];
    long long v;
    // NOLINTNEXTLINE(cert-err34-c): payloads dtc-load made
    if (x->st[LOAD_INV] == 1 && sscanf(x->pay[LOAD_INV], "reserve %63s %lld", a, &v) == 2) {
        keysum *e = keysum_get(c, LOAD_INV, a);
        if (e != NULL)
            e->used += v;
        else
            load_violation(LOAD_V_CONS, "txid=%s reserved unseeded SKU %s", x->id, a);
    }
    // NOLINTNEXTLINE(cert-err34-c): payloads dtc-load made
    if (x->st[LOAD_PAY] == 1 && sscanf(x->pay[LOAD_PAY], "charge %63s %lld", a, &v) == 2) {
        keysum *e = keysum_get(c, LOAD_PAY, a);
        if (e != NULL)
            e->used += v;
        else
            load_violation(LOAD_V_CONS, "txid=%s charged unseeded account %s", x->id, a);
    }
    if (x->st[LOAD_SHIP] == 1 && sscanf(x->pay[LOAD_SHIP], "schedule %63s %63s", a, b) == 2) {
        char zk[80], sk[80];
        snprintf(zk, sizeof zk, "zone:%s", b);
        snprintf(sk, sizeof sk, "ship:%s", a);
        keysum *e = keysum_get(c, LOAD_SHIP, zk);
        if (e != NULL)
            e->used += 1;
        else
            load_violation(LOAD_V_CONS, "txid=%s scheduled in unseeded zone %s", x->id, b);
        const lrec *r = lrecs_get(&recs[LOAD_SHIP], sk);
        if (r == NULL || strcmp(r->note, b) != 0)
            load_violation(LOAD_V_CONS, "txid=%s applied at shipping but record %s is %s",
                           x->id, sk, r ? "in another zone" : "missing");
        norders[LOAD_SHIP]++;
    }
    if (x->st[LOAD_ORD] == 1
        // NOLINTNEXTLINE(cert-err34-c): payloads dtc-load made
        && sscanf(x->pay[LOAD_ORD], "create %63s %63s %lld", a, d, &v) == 3) {
        char ok[80];
        snprintf(ok, sizeof ok, "order:%s", a);
        const lrec *r = lrecs_get(&recs[LOAD_ORD], ok);
        if (r == NULL || r->value != v || strcmp(r->note, d) != 0)
            load_violation(LOAD_V_CONS, "txid=%s applied at order but record %s is %s",
                           x->id, ok, r ? "different" : "missing");
        norders[LOAD_ORD]++;
    }
}

static void check_conservation(cons *c, const lrecs *recs, const unsigned long *norders)
{
    for (int s = 0; s < LOAD_NSVC; s++) {
        for (int i = 0; i < c->n[s]; i++) {
            const keysum *e = &c->k[s][i];
            const lrec *r = lrecs_get(&recs[s], e->key);
            int64_t fin = r ? r->value : 0;
            if (e->seed - fin != e->used)
                load_violation(LOAD_V_CONS, "%s %s: seeded %lld - final %lld = %lld, but "
                               "applied transactions took %lld", load_svc_names[s], e->key,
                               (long long)e->seed, (long long)fin, (long long)(e->seed - fin),
                               (long long)e->used);
        }
        unsigned long nrec = 0;
        const lrec *r;
        for (size_t pos = 0; (r = htab_next(&recs[s].h, &pos)) != NULL;) {
            if (r->value < 0)
                load_violation(LOAD_V_CONS, "%s %s is negative: %lld", load_svc_names[s],
                               r->key, (long long)r->value);
            nrec += (s == LOAD_ORD && strncmp(r->key, "order:", 6) == 0)
                    || (s == LOAD_SHIP && strncmp(r->key, "ship:", 5) == 0);
        }
        if ((s == LOAD_ORD || s == LOAD_SHIP) && nrec != norders[s])
            load_violation(LOAD_V_CONS, "%s has %lu %s records but %lu applied transactions",
                      load_svc_names[s], nrec, s == LOAD_ORD ? "order:" : "ship:",
                      norders[s]);
    }
}

int load_check(int argc, char **argv)
{
    static const struct option lo[] = {
        {"state-dir", required_argument, NULL, 's'}, {"dump-dir", required_argument, NULL, 'd'},
        {"seeds", required_argument, NULL, 'S'},     {"elapsed-s", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0}};
    const char *state_dir = NULL, *dump_dir = NULL, *seeds = NULL;
    double elapsed = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's': state_dir = optarg; break;
        case 'd': dump_dir = optarg; break;
        case 'S': seeds = optarg; break;
        case 'e': elapsed = strtod(optarg, NULL); break;
        default: return 2;
        }
    }
    if (state_dir == NULL || dump_dir == NULL || seeds == NULL || optind >= argc) {
        fprintf(stderr, "usage: dtc-load check --state-dir D --dump-dir D --seeds FILE "
                        "[--elapsed-s S] CLIENT_FILE...\n");
        return 2;
    }
    static ltab t;
    static lrecs recs[LOAD_NSVC];
    static cons cs;
    uint64_t bfail = 0;
    char path[4096];
    int io = 0;
    for (int i = optind; i < argc; i++)
        io |= load_parse_client(&t, argv[i], i - optind, &bfail);
    for (int k = 0; k < LOAD_NSVC; k++) {
        snprintf(path, sizeof path, "%s/%s.state", state_dir, load_svc_names[k]);
        io |= load_parse_state(&t, path, k);
        snprintf(path, sizeof path, "%s/%s.dump", dump_dir, load_svc_names[k]);
        io |= load_parse_dump(&recs[k], path);
    }
    io |= load_seeds(&cs, seeds);
    if (io != 0)
        return 2;
    unsigned long norders[LOAD_NSVC] = {0};
    const ltx *x;
    for (size_t pos = 0; (x = ltab_next(&t, &pos)) != NULL;) {
        load_check_txn(x);
        sum_applied(&cs, x, recs, norders);
    }
    check_conservation(&cs, recs, norders);
    load_report(&t, elapsed, bfail);
    violation_totals();
    if (nviol > 0) {
        printf("check: FAILED, %lu violations\n", nviol);
        return 1;
    }
    printf("check: ok (%zu transactions: atomicity, nothing in doubt, nothing acknowledged "
           "lost, outcomes, conservation)\n", t.n);
    return 0;
}
