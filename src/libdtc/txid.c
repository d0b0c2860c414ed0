/*
 * txid.c - transaction ids: generation (random, version 4 UUIDs), text
 * form and parsing.
 */
#include <pthread.h>
#include <string.h>
#include <uuid/uuid.h>

#include "internal.h"

void dtc_txid_format(const dtc_txid *id, char out[DTC_TXID_STRLEN])
{
    uuid_unparse_lower(id->bytes, out);
}

static _Thread_local unsigned char txid_base[16];
static _Thread_local uint32_t txid_used = 4096;
static pthread_once_t txid_once = PTHREAD_ONCE_INIT;

/* A forked child must not continue its parent's sequence. */
static void txid_after_fork(void)
{
    txid_used = 4096;
}

static void txid_init(void)
{
    pthread_atfork(NULL, NULL, txid_after_fork);
}

void dtc__txid_new(dtc_txid *out)
{
    unsigned char *base = txid_base;
    pthread_once(&txid_once, txid_init);
    if (txid_used == 4096) {
        uuid_generate_random(base);
        txid_used = 0;
    }
    memcpy(out->bytes, base, 16);
    uint32_t k = ++txid_used; /* into bytes 12..15, clear of the version and
                          * variant bits (bytes 6 and 8) */
    for (int i = 15; i >= 12; i--, k >>= 8)
        out->bytes[i] ^= (unsigned char)k;
}

dtc_result dtc_txid_parse(const char *s, dtc_txid *out)
{
    if (s == NULL || out == NULL || strlen(s) != DTC_TXID_STRLEN - 1)
        return DTC_EINVAL;
    return uuid_parse(s, out->bytes) == 0 ? DTC_OK : DTC_EINVAL;
}
