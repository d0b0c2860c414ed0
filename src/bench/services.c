/*
 * services.c - how the benchmark drives the four real services.
 * Participant k runs service k % 4 (inventory, payment, order, shipping)
 * as "bs<k>-<service>" with its own data dir.  Coordinator thread t uses
 * its own keys (sku s<t>, account a<t>, zone z<t>, seeded with plenty), so
 * transactions never conflict: every one must commit.  Order ids carry
 * the cell's epoch, the thread, the sequence number and k, so they are
 * unique over the whole run.  services: on the instance journal;
 * services-ownfsync: each syncing its own state file (--own-fsync);
 * services-nofsync: no fsync anywhere (--no-fsync).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const kinds[] = {"inventory", "payment", "order", "shipping"};
static const char *const seed_key[] = {"s", "a", NULL, "z"}; /* sku, account, zone */

/* Appends s to a's buffer and argv; false when full. */
static int add(struct bench_svc_argv *a, int *argc, size_t *used, const char *s)
{
    size_t len = strlen(s) + 1;
    if (*used + len > sizeof a->buf || *argc + 2 > (int)(sizeof a->argv / sizeof a->argv[0]))
        return 0;
    memcpy(a->buf + *used, s, len);
    a->argv[(*argc)++] = a->buf + *used;
    a->argv[*argc] = NULL;
    *used += len;
    return 1;
}

void bench_svc_command(struct bench_svc_argv *a, const char *bin_dir, const char *instance,
                       const char *data_dir, int k, enum bench_svc_sync sync, int max_coords,
                       char name[32])
{
    char tmp[4096];
    int argc = 0, kind = k % 4;
    size_t used = 0;
    snprintf(name, 32, "bs%d-%s", k, kinds[kind]);
    snprintf(tmp, sizeof tmp, "%s/dtc-%s", bin_dir, kinds[kind]);
    add(a, &argc, &used, tmp);
    add(a, &argc, &used, "--instance");
    add(a, &argc, &used, instance);
    add(a, &argc, &used, "--data-dir");
    add(a, &argc, &used, data_dir);
    add(a, &argc, &used, "--name");
    add(a, &argc, &used, name);
    if (sync != BENCH_SVC_JOURNAL)
        add(a, &argc, &used, sync == BENCH_SVC_NOFSYNC ? "--no-fsync" : "--own-fsync");
    for (int t = 0; seed_key[kind] != NULL && t < max_coords; t++) {
        char seed[64];
        snprintf(seed, sizeof seed, "%s%d=1000000000000", seed_key[kind], t);
        add(a, &argc, &used, "--seed");
        add(a, &argc, &used, seed);
    }
}

int bench_svc_payload_epoch(char *buf, size_t size, int k, int thread, uint64_t seq,
                            unsigned epoch)
{
    unsigned long long q = (unsigned long long)seq;
    switch (k % 4) {
    case 0: return snprintf(buf, size, "reserve s%d 1", thread);
    case 1: return snprintf(buf, size, "charge a%d 1", thread);
    case 2: return snprintf(buf, size, "create o%u-%d-%llu-%d a%d 1", epoch, thread, q, k, thread);
    default: return snprintf(buf, size, "schedule o%u-%d-%llu-%d z%d", epoch, thread, q, k, thread);
    }
}
