/*
 * fuzz_snapshot.c - libFuzzer target: a snapshot of the participant store
 * written a piece at a time while the store changes
 * (participants/store/store_snap.c) is the state of its start.
 *
 * The input is a program of one-byte operations on an inventory store of
 * KEYS records: commits, prepares left prepared, releases, commits of
 * prepared transactions, compensations, ledger retirement, and walk
 * steps.  The first part (up to a 0xff byte, or the whole input) runs
 * before the snapshot starts; the rest runs while it is under way, its
 * walk steps taking a few items each.  Then the snapshot ends, is loaded
 * alone (read-only) and must equal the store's state at the start: the
 * records (dump), every transaction's ledger state, and the prepared
 * transactions.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"
#include "svc.h"
#include "fuzz.h"

enum { KEYS = 24, TXNS = 256 };

static char dir[300], snap_dir[300], snap_path[400], state_path[400];
static const char *seeds[KEYS];
static char seed_text[KEYS][16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s", fuzz_tmpdir());
    snprintf(state_path, sizeof state_path, "%s/inventory.state", dir);
    /* the snapshot alone, as a state file of its own directory's */
    snprintf(snap_dir, sizeof snap_dir, "%s/alone", dir);
    snprintf(snap_path, sizeof snap_path, "%s/inventory.state", snap_dir);
    FUZZ_CHECK(mkdir(snap_dir, 0700) == 0);
    for (int i = 0; i < KEYS; i++) {
        snprintf(seed_text[i], sizeof seed_text[i], "k%d=1000", i);
        seeds[i] = seed_text[i];
    }
    return 0;
}

/* The state to compare: the dump, each txid's ledger state, the
 * prepared ids (in a fixed order: by txid number). */
typedef struct picture {
    char *dump;
    size_t len;
    int ledger[TXNS];
    int prepared[TXNS];
} picture;

static void txid(int n, char *out)
{
    snprintf(out, STORE_TXID_MAX, "t%d", n);
}

static void take(const store *st, picture *p)
{
    FILE *f = open_memstream(&p->dump, &p->len);
    FUZZ_CHECK(f != NULL);
    store_dump(st, f);
    fclose(f);
    char ids[TXNS][STORE_TXID_MAX], id[STORE_TXID_MAX];
    memset(p->prepared, 0, sizeof p->prepared);
    size_t n = store_prepared_ids(st, ids, TXNS);
    for (size_t i = 0; i < n && i < TXNS; i++)
        p->prepared[atoi(ids[i] + 1) % TXNS] = 1;
    for (int i = 0; i < TXNS; i++) {
        txid(i, id);
        p->ledger[i] = store_ledger_state(st, id);
    }
}

static int no_one_holds(void *ctx, const char *id)
{
    (void)ctx;
    (void)id;
    return 0;
}

/* The transactions made so far: states as the program sees them. */
enum { T_NONE, T_PREPARED, T_APPLIED, T_DONE };
static int tstate[TXNS];
static int ntx;

/* One operation (b), on transaction pick (another byte). */
static void op(store *st, uint8_t b, uint8_t pick)
{
    char why[STORE_WHY_MAX], id[STORE_TXID_MAX], payload[64];
    store_outcome out;
    int t = pick % (ntx > 0 ? ntx : 1);
    switch (b % 7) {
    case 0: /* a new transaction, prepared and maybe committed */
    case 1:
        if (ntx == TXNS)
            return;
        txid(ntx, id);
        snprintf(payload, sizeof payload, "reserve k%d 1", pick % KEYS);
        if (store_enlist(st, id, payload, strlen(payload), why) == STORE_YES
            && store_prepare(st, id, why) == STORE_YES) {
            tstate[ntx] = T_PREPARED;
            if (b % 7 == 0 && store_commit(st, id, &out, why) == 0)
                tstate[ntx] = T_APPLIED;
        } else {
            (void)store_rollback(st, id, &out, why);
        }
        ntx++;
        return;
    case 2: /* commit a prepared one */
        txid(t, id);
        if (tstate[t] == T_PREPARED && store_commit(st, id, &out, why) == 0)
            tstate[t] = T_APPLIED;
        return;
    case 3: /* release a prepared one, or compensate an applied one */
        txid(t, id);
        if (tstate[t] == T_PREPARED || tstate[t] == T_APPLIED) {
            FUZZ_CHECK(store_rollback(st, id, &out, why) == 0);
            tstate[t] = T_DONE;
        }
        return;
    case 4: { /* retire what nobody holds, a few at a time */
        store_horizon h = {no_one_holds, NULL, 0, 0, 1 + pick % 4, 0};
        (void)store_retire(st, &h);
        return;
    }
    case 5: /* a walk step */
        if (st->st_snap != NULL)
            (void)store__snap_step(st, pick % 5);
        return;
    default:
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], why[STORE_WHY_MAX];
    unlink(state_path);
    unlink(snap_path);
    memset(tstate, 0, sizeof tstate);
    ntx = 0;
    store *st = store_open(dir, "inventory", &svc_inventory, seeds, KEYS, STORE_NO_FSYNC, NULL,
                           err, sizeof err);
    FUZZ_CHECK(st != NULL);
    const uint8_t *mark = memchr(data, 0xff, size);
    size_t before = mark != NULL ? (size_t)(mark - data) : size, i = 0;
    for (; i + 1 < before; i += 2)
        op(st, data[i], data[i + 1]);
    picture start, got;
    take(st, &start);
    int fd = open(snap_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    store_snap *sn = calloc(1, sizeof *sn);
    FUZZ_CHECK(sn != NULL);
    store__snap_begin(st, sn, fd, false, 0);
    for (i = before + 1; i + 1 < size; i += 2)
        op(st, data[i], data[i + 1]);
    store__snap_end(st);
    FUZZ_CHECK(sn->sn_w.sw_errno == 0);
    free(sn);
    close(fd);
    FUZZ_CHECK(store_flush(st, why) == 0);
    store *alone = store_open(snap_dir, "inventory", &svc_inventory, NULL, 0, STORE_READONLY,
                              NULL, err, sizeof err);
    FUZZ_CHECK(alone != NULL);
    take(alone, &got);
    FUZZ_CHECK(got.len == start.len && memcmp(got.dump, start.dump, got.len) == 0);
    FUZZ_CHECK(memcmp(got.ledger, start.ledger, sizeof got.ledger) == 0);
    FUZZ_CHECK(memcmp(got.prepared, start.prepared, sizeof got.prepared) == 0);
    store_close(&alone);
    store_close(&st);
    free(start.dump);
    free(got.dump);
    return 0;
}
