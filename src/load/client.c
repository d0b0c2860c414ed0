/*
 * client.c - "dtc-load run": one load client process.  Places random
 * orders in a loop, each a transaction enlisting the four services:
 *   inventory "reserve SKU QTY", payment "charge ACCOUNT CENTS",
 *   order "create ORDER_ID ACCOUNT CENTS", shipping "schedule ORDER_ID ZONE".
 * Hot keys on purpose (few SKUs, accounts, zones).  Before the commit it
 * appends the B line (txid, payloads), after it the E line (result, class,
 * reason, latency): see load.h.  Runs until SIGTERM/SIGINT, or until its
 * file holds --txns B lines (a restarted client does only the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtc/dtc.h"
#include "cli_opt.h"
#include "load.h"

const char *const load_svc_names[LOAD_NSVC] = {"inventory", "payment", "order", "shipping"};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct copts {
    const char *instance, *out;
    int client;
    uint64_t seed;
    long incarnation; /* how many times this client was started before */
    long skus, accounts, zones, txns;
    long max_qty, max_cents;
} copts;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static long pick(long n)
{
    return n > 0 ? (long)(rnd() % (uint64_t)n) : 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_flag)
        ;
}

/* One whole line with one write(2): a kill leaves whole lines only. */
static void put_line(int fd, const char *line, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            perror("dtc-load: write");
            exit(1);
        }
        line += w;
        len -= (size_t)w;
    }
}

/* Tabs and newlines in a reason would break the line format. */
static void clean(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r')
            *s = ' ';
}

/* CLASS and REASON of an outcome from the report (first failed entry).
 * The class is the entry's name and its refusal's code (dtc.h, "code:
 * text" reasons), or its failed status when it gave no code we know. */
static void classify(dtc_result rc, const dtc_txn_info *r, char *cls, size_t clen,
                     char *why, size_t wlen)
{
    static const struct { const char *code, *tag; } tags[] = {
        {"out_of_stock", "out-of-stock"},  {"insufficient_funds", "declined"},
        {"unknown_account", "declined"},   {"conflict", "conflict"},
        {"held", "held"},                  {"zone_full", "zone-full"},
        {"exists", "exists"},              {"rolled_back", "rolled-back"},
    };
    snprintf(cls, clen, "-");
    snprintf(why, wlen, "-");
    if (rc == DTC_OK)
        return;
    uint32_t n = r->nentries < DTC_LIMIT_MAX_PARTS_PER_TXN ? r->nentries
                                                          : DTC_LIMIT_MAX_PARTS_PER_TXN;
    for (uint32_t k = 0; k < n; k++) {
        const dtc_entry_info *e = &r->entries[k];
        if (!dtc_entry_failed(e))
            continue;
        const char *tag = dtc_entry_status_name(dtc_entry_failure(e));
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
            if (strcmp(e->reason_code, tags[i].code) == 0) {
                tag = tags[i].tag;
                break;
            }
        snprintf(cls, clen, "%.20s:%.18s", e->name, tag);
        snprintf(why, wlen, "%.31s: %.127s", e->name, e->reason[0] ? e->reason : tag);
        clean(cls);
        clean(why);
        return;
    }
    snprintf(cls, clen, "%.38s", dtc_result_name(rc));
}

/* B lines already in the file (a restarted client with --txns). */
static long count_begun(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    long n = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        n += line[0] == 'B' && line[1] == '\t';
    fclose(f);
    return n;
}


static int parse_opts(copts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        {"instance", required_argument, NULL, 'i'}, {"out", required_argument, NULL, 'o'},
        {"client", required_argument, NULL, 'c'},   {"seed", required_argument, NULL, 's'},
        {"skus", required_argument, NULL, 'k'},     {"accounts", required_argument, NULL, 'a'},
        {"zones", required_argument, NULL, 'z'},    {"txns", required_argument, NULL, 'n'},
        {"max-qty", required_argument, NULL, 'q'},  {"max-cents", required_argument, NULL, 'm'},
        {"incarnation", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0}};
    long v;
    int c, idx = 0;
    memset(o, 0, sizeof *o);
    o->skus = 6;
    o->accounts = 5;
    o->zones = 4;
    o->max_qty = 3;
    o->max_cents = 20000;
    while ((c = getopt_long(argc, argv, "", lo, &idx)) != -1) {
        switch (c) {
        case 'i': o->instance = optarg; continue;
        case 'o': o->out = optarg; continue;
        case 's':
            if (dtc__opt_uint("dtc-load run", "--seed", optarg, 0, UINT64_MAX, NULL, &o->seed))
                return -1;
            continue;
        default: break;
        }
        if (c == '?') {
            fprintf(stderr, "dtc-load run: bad option (see dtc-load --help)\n");
            return -1;
        }
        uint64_t u = 0;
        char opt[32];
        snprintf(opt, sizeof opt, "--%s", lo[idx].name);
        if (dtc__opt_uint("dtc-load run", opt, optarg,
                          c == 'n' || c == 'c' || c == 'I' ? 0 : 1, LONG_MAX, NULL, &u) != 0)
            return -1;
        v = (long)u;
        switch (c) {
        case 'c': o->client = (int)v; break;
        case 'k': o->skus = v; break;
        case 'a': o->accounts = v; break;
        case 'z': o->zones = v; break;
        case 'n': o->txns = v; break;
        case 'q': o->max_qty = v; break;
        case 'I': o->incarnation = v; break;
        default: o->max_cents = v; break;
        }
    }
    if (o->out == NULL || optind < argc) {
        fprintf(stderr, "dtc-load run: --out FILE is required, no arguments\n");
        return -1;
    }
    return 0;
}

/* One transaction; returns 0, or -1 if begin failed (nothing written but F). */
static int one_txn(dtc_instance *inst, const copts *o, int fd, unsigned long seq)
{
    char pay[LOAD_NSVC][LOAD_PAY_MAX], oid[48], line[1400], ids[DTC_TXID_STRLEN];
    char cls[LOAD_CLS_MAX], why[300];
    static dtc_txn_info report;
    dtc_txid id;
    long acct = pick(o->accounts), cents = 100 + pick(o->max_cents - 99);
    snprintf(oid, sizeof oid, "c%dp%ldn%lu", o->client, (long)getpid(), seq);
    int bad = 0;
    bad += LOAD_PAY_MAX <= snprintf(pay[LOAD_INV], LOAD_PAY_MAX, "reserve sku%ld %ld", pick(o->skus), 1 + pick(o->max_qty));
    bad += LOAD_PAY_MAX <= snprintf(pay[LOAD_PAY], LOAD_PAY_MAX, "charge acct%ld %ld", acct, cents);
    bad += LOAD_PAY_MAX <= snprintf(pay[LOAD_ORD], LOAD_PAY_MAX, "create %s acct%ld %ld", oid, acct, cents);
    bad += LOAD_PAY_MAX <= snprintf(pay[LOAD_SHIP], LOAD_PAY_MAX, "schedule %s z%ld", oid, pick(o->zones));
    if (bad) {
        fprintf(stderr, "dtc-load run: payload too long\n");
        exit(2);
    }

    int64_t t0 = now_us();
    dtc_result rc = dtc_begin_transaction(inst, NULL, &id);
    if (rc != DTC_OK) {
        int n = snprintf(line, sizeof line, "F\t%s\n", dtc_result_name(rc));
        put_line(fd, line, (size_t)n);
        return -1;
    }
    dtc_txid_format(&id, ids);
    int n = snprintf(line, sizeof line, "B\t%s\t%s\t%s\t%s\t%s\n", ids, pay[0], pay[1], pay[2],
                     pay[3]);
    put_line(fd, line, (size_t)n);
    for (int k = 0; k < LOAD_NSVC; k++) {
        rc = dtc_enlist(inst, &id, load_svc_names[k], pay[k], strlen(pay[k]));
        if (rc != DTC_OK) {
            dtc_result rb = dtc_rollback_transaction(inst, &id, NULL);
            n = snprintf(line, sizeof line, "E\t%s\t%s\t%lld\tenlist:%s\t%s: enlist failed, rollback %s\n",
                         ids, dtc_result_name(rc), (long long)(now_us() - t0),
                         dtc_result_name(rc), load_svc_names[k], dtc_result_name(rb));
            put_line(fd, line, (size_t)n);
            if (rc == DTC_EUNKNOWN || rc == DTC_ENOTALIVE)
                sleep_ms(5); /* a service restarting: do not spin */
            return 0;
        }
    }
    memset(&report, 0, sizeof report);
    rc = dtc_commit_transaction(inst, &id, &report);
    int64_t lat = now_us() - t0;
    classify(rc, &report, cls, sizeof cls, why, sizeof why);
    n = snprintf(line, sizeof line, "E\t%s\t%s\t%lld\t%s\t%s\n", ids, dtc_result_name(rc),
                 (long long)lat, cls, why);
    put_line(fd, line, (size_t)n);
    return 0;
}

int load_run(int argc, char **argv)
{
    copts o;
    dtc_instance *inst = NULL;
    if (parse_opts(&o, argc, argv) != 0)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* a closed terminal must not cut a run short */
    rng_state = (o.seed * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)o.client << 32)
                ^ (uint64_t)o.incarnation * 0xD1B54A32D192ED03ULL ^ 0x2545F4914F6CDD1DULL;
    if (rng_state == 0)
        rng_state = 1;
    long done = o.txns > 0 ? count_begun(o.out) : 0;
    int fd = open(o.out, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "dtc-load run: %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    dtc_result rc = DTC_ENOSEGMENT;
    for (int tries = 0; tries < 200 && !stop_flag; tries++) {  /* 10 s */
        if ((rc = dtc_open(o.instance, &inst)) == DTC_OK)
            break;
        sleep_ms(50);
    }
    if (rc != DTC_OK) {
        fprintf(stderr, "dtc-load run: open %s: %s\n", o.instance ? o.instance : "(default)",
                dtc_strerror(rc));
        close(fd);
        return 1;
    }
    printf("ready client=%d pid=%ld\n", o.client, (long)getpid());
    fflush(stdout);
    unsigned long seq = 0;
    long fails = 0;
    while (!stop_flag && (o.txns == 0 || done < o.txns)) {
        if (one_txn(inst, &o, fd, seq++) == 0) {
            done++;
            fails = 0;
        } else {
            /* no supervisor, table full...: back off a little */
            sleep_ms(fails < 10 ? 2 : 20);
            fails++;
        }
    }
    dtc_close(&inst);
    close(fd);
    return 0;
}
