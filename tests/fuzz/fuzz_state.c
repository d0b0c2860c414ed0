/*
 * fuzz_state.c - libFuzzer target: the participant store's state-file
 * loader (participants/store/store_file.c, layout in store.h).
 *
 * The input becomes DIR/fuzz.state in a private temp dir; store_open
 * loads it read-only (no lock, no truncation, no compaction) with the
 * schema its header names (inventory if none), then the loaded store is
 * dumped and queried, closed and the file removed.  A file that loads
 * must leave a consistent store: terminated valid keys and txids, and
 * counts that agree with store_info.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "svc.h"
#include "fuzz.h"

static const store_schema *const schemas[] = {&svc_inventory, &svc_payment, &svc_order,
                                              &svc_shipping};
static char state_path[512];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(state_path, sizeof state_path, "%s/fuzz.state", fuzz_tmpdir());
    devnull = fopen("/dev/null", "w");
    if (devnull == NULL)
        abort();
    return 0;
}

/* The schema named by a "dtc-state 1 SERVICE" first line, else inventory. */
static const store_schema *schema_of(const uint8_t *data, size_t size)
{
    static const char magic[] = "dtc-state 1 ";
    size_t m = sizeof magic - 1;
    if (size > m && memcmp(data, magic, m) == 0)
        for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
            size_t n = strlen(schemas[i]->ss_service);
            if (size >= m + n && memcmp(data + m, schemas[i]->ss_service, n) == 0)
                return schemas[i];
        }
    return schemas[0];
}

static void write_file(const uint8_t *data, size_t size)
{
    int fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    while (size > 0) {
        ssize_t w = write(fd, data, size);
        FUZZ_CHECK(w > 0);
        data += w;
        size -= (size_t)w;
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const store_schema *schema = schema_of(data, size);
    store_info info;
    char err[512], ids[8][STORE_TXID_MAX];
    write_file(data, size);
    memset(err, 0x7f, sizeof err);
    store *st = store_open(fuzz_tmpdir(), "fuzz", schema, NULL, 0, STORE_READONLY, &info, err,
                           sizeof err);
    if (st == NULL) {
        FUZZ_CHECK(strnlen(err, sizeof err) < sizeof err);
    } else {
        FUZZ_CHECK(!info.si_created);
        FUZZ_CHECK(store_ledger_count(st) == info.si_ledger);
        FUZZ_CHECK(!store_failed(st));
        size_t n = store_prepared_ids(st, ids, 8);
        FUZZ_CHECK(n == info.si_prepared);
        for (size_t i = 0; i < n && i < 8; i++) {
            FUZZ_CHECK(strnlen(ids[i], STORE_TXID_MAX) < STORE_TXID_MAX);
            FUZZ_CHECK(ids[i][0] != '\0');
        }
        store_dump(st, devnull);
        FUZZ_CHECK(store_close(&st) == 0 && st == NULL);
    }
    unlink(state_path);
    return 0;
}
