/*
 * main.c - dtc-ledger-bench: drives the record store through many
 * transactions (enlist, prepare, commit, flush in batches of 64,
 * STORE_NO_FSYNC) with the ledger retired every 10,000 transactions
 * against a stand-in coordinator that holds the newest --horizon
 * transactions, and prints the state file's size, the compactions' cost,
 * and how long a restart (load) and a dump take at the end.  --no-retire
 * shows the unbounded ledger for comparison.  Not a test: numbers for
 * docs/state-file.md ("Cost over many transactions").
 * Usage: dtc-ledger-bench [--txns N] [--horizon N] [--keys N] [--dir DIR]
 *                         [--no-retire]
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_opt.h"
#include "svc.h"

typedef struct bench {
    unsigned long b_txns, b_horizon, b_keys;
    int b_retire;
    unsigned long b_done;       /* transactions committed so far */
    double b_compact_s, b_compact_max_s;
    unsigned long b_compactions;
} bench;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The stand-in coordinator holds the newest b_horizon transactions. */
static int held(void *ctx, const char *txid)
{
    const bench *b = ctx;
    unsigned long n = strtoul(txid + 1, NULL, 10);
    return n + b->b_horizon >= b->b_done;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "dtc-ledger-bench: %s: %s\n", what, why);
    exit(1);
}

static void one_txn(store *st, unsigned long i, const bench *b)
{
    char id[STORE_TXID_MAX], payload[64], why[STORE_WHY_MAX];
    store_outcome out;
    snprintf(id, sizeof id, "b%012lu", i);
    int n = snprintf(payload, sizeof payload, "reserve k%lu 1", i % b->b_keys);
    if (store_enlist(st, id, payload, (size_t)n, why) != STORE_YES
        || store_prepare(st, id, why) != STORE_YES || store_commit(st, id, &out, why) != 0)
        die(id, why);
}

/* Flushes, timing the flush when it compacted (the log section emptied). */
static void flush(store *st, bench *b)
{
    char why[STORE_WHY_MAX];
    size_t before = store_log_lines(st);
    double t0 = now_s();
    if (store_flush(st, why) != 0)
        die("flush", why);
    if (store_log_lines(st) < before) {
        double dt = now_s() - t0;
        b->b_compact_s += dt;
        b->b_compact_max_s = dt > b->b_compact_max_s ? dt : b->b_compact_max_s;
        b->b_compactions++;
    }
}

static void run(store *st, bench *b)
{
    store_horizon h = {held, b, 0, 0, (size_t)-1, 0};
    for (unsigned long i = 0; i < b->b_txns; i++) {
        one_txn(st, i, b);
        b->b_done = i + 1;
        if (i % 64 == 63)
            flush(st, b);
        if (b->b_retire && i % 10000 == 9999)
            store_retire(st, &h);
    }
    flush(st, b);
}

static void parse(int argc, char **argv, bench *b, const char **dir)
{
    static const struct option opts[] = {
        {"txns", required_argument, NULL, 't'},   {"horizon", required_argument, NULL, 'H'},
        {"keys", required_argument, NULL, 'k'},   {"dir", required_argument, NULL, 'd'},
        {"no-retire", no_argument, NULL, 'n'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 't' || c == 'H' || c == 'k') {
            uint64_t v = 0;
            const char *opt = c == 't' ? "--txns" : c == 'H' ? "--horizon" : "--keys";
            if (dtc__opt_uint("dtc-ledger-bench", opt, optarg, c == 'k', ULONG_MAX, NULL, &v))
                exit(2);
            *(c == 't' ? &b->b_txns : c == 'H' ? &b->b_horizon : &b->b_keys) = (unsigned long)v;
        } else if (c == 'd') {
            *dir = optarg;
        } else if (c == 'n') {
            b->b_retire = 0;
        } else {
            printf("usage: dtc-ledger-bench [--txns N] [--horizon N] [--keys N] [--dir DIR] "
                   "[--no-retire]\n");
            exit(c == 'h' ? 0 : 2);
        }
    }
    if (b->b_keys == 0)
        die("--keys", "must be > 0");
}

int main(int argc, char **argv)
{
    bench b = {10000000, 100000, 1000, 1, 0, 0, 0, 0};
    char tmpl[] = "/tmp/dtc-ledger-bench.XXXXXX", err[512], why[STORE_WHY_MAX], path[600];
    const char *dir = NULL;
    parse(argc, argv, &b, &dir);
    signal(SIGHUP, SIG_IGN); /* a long run outlives its terminal */
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL)
        die("mkdtemp", "failed");
    char **seeds = calloc(b.b_keys, sizeof *seeds);
    for (unsigned long k = 0; seeds && k < b.b_keys; k++)
        if (asprintf(&seeds[k], "k%lu=1000000000000", k) < 0)
            die("seeds", "out of memory");
    store *st = store_open(dir, "inventory", &svc_inventory, (const char *const *)seeds,
                           b.b_keys, STORE_NO_FSYNC, NULL, err, sizeof err);
    if (st == NULL)
        die("open", err);
    double t0 = now_s();
    run(st, &b);
    double run_s = now_s() - t0;
    t0 = now_s();
    if (store_compact(st, why) != 0)
        die("compact", why);
    double final_compact_s = now_s() - t0;
    size_t ledger = store_ledger_count(st);
    store_close(&st);
    struct stat sb;
    snprintf(path, sizeof path, "%s/inventory.state", dir);
    if (stat(path, &sb) != 0)
        die(path, "stat failed");
    t0 = now_s();
    st = store_open(dir, "inventory", &svc_inventory, NULL, 0, STORE_READONLY, NULL, err, sizeof err);
    if (st == NULL)
        die("reopen", err);
    double load_s = now_s() - t0;
    int nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    FILE *devnull = nullfd >= 0 ? fdopen(nullfd, "w") : NULL;
    if (devnull == NULL && nullfd >= 0)
        close(nullfd);
    t0 = now_s();
    store_dump(st, devnull ? devnull : stdout);
    double dump_s = now_s() - t0;
    if (devnull)
        fclose(devnull);
    store_close(&st);
    printf("txns=%lu horizon=%lu keys=%lu retire=%s run_s=%.1f txns_per_s=%.0f\n", b.b_txns,
           b.b_horizon, b.b_keys, b.b_retire ? "yes" : "no", run_s, (double)b.b_txns / run_s);
    printf("ledger_entries=%zu file_bytes=%lld compactions=%lu compact_total_s=%.2f "
           "compact_max_ms=%.1f final_compact_ms=%.1f\n", ledger, (long long)sb.st_size,
           b.b_compactions, b.b_compact_s, b.b_compact_max_s * 1e3, final_compact_s * 1e3);
    printf("load_ms=%.1f dump_ms=%.1f (load + dump: dtc-SERVICE --dump)\n", load_s * 1e3,
           dump_s * 1e3);
    unlink(path);
    snprintf(path, sizeof path, "%s/inventory.lock", dir);
    unlink(path);
    if (dir == tmpl)
        rmdir(dir);
    for (unsigned long k = 0; seeds && k < b.b_keys; k++)
        free(seeds[k]);
    free(seeds);
    return 0;
}
