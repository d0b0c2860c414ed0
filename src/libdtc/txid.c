/*
 * txid.c - transaction ids: generation (random version 4 UUIDs: 122
 * random bits each), text form and parsing.
 *
 * The random bytes come from getrandom(2) in batches: one call fills a
 * per-thread buffer for TXID_BATCH ids, so a begin costs a memcpy, not a
 * system call.  A forked child empties its buffer: it never hands out
 * ids its parent may also hand out.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#include "internal.h"

void dtc_txid_format(const dtc_txid *id, char out[DTC_TXID_STRLEN])
{
    uuid_unparse_lower(id->bytes, out);
}

/* 16 ids per getrandom call: 256 bytes, the size getrandom(2) always
 * returns in full once the pool is initialized. */
#define TXID_BATCH 16

static _Thread_local unsigned char txid_pool[TXID_BATCH][16];
static _Thread_local unsigned txid_next = TXID_BATCH; /* TXID_BATCH: empty */
static pthread_once_t txid_once = PTHREAD_ONCE_INIT;

static void txid_after_fork(void)
{
    txid_next = TXID_BATCH;
}

static void txid_init(void)
{
    pthread_atfork(NULL, NULL, txid_after_fork);
}

/* Refills the pool; false if getrandom is unavailable or failed. */
static bool txid_refill(void)
{
    unsigned char *p = &txid_pool[0][0];
    size_t want = sizeof txid_pool, got = 0;
    while (got < want) {
        ssize_t n = getrandom(p + got, want - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    txid_next = 0;
    return true;
}

void dtc__txid_new(dtc_txid *out)
{
    pthread_once(&txid_once, txid_init);
    if (txid_next >= TXID_BATCH && !txid_refill()) {
        uuid_generate_random(out->bytes); /* libuuid's own source */
        return;
    }
    memcpy(out->bytes, txid_pool[txid_next], 16);
    memset(txid_pool[txid_next], 0, 16); /* handed out once */
    txid_next++;
    out->bytes[6] = (unsigned char)((out->bytes[6] & 0x0f) | 0x40); /* version 4 */
    out->bytes[8] = (unsigned char)((out->bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

dtc_result dtc_txid_parse(const char *s, dtc_txid *out)
{
    if (s == NULL || out == NULL || strlen(s) != DTC_TXID_STRLEN - 1)
        return DTC_EINVAL;
    return uuid_parse(s, out->bytes) == 0 ? DTC_OK : DTC_EINVAL;
}
