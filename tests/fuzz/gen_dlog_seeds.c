/*
 * gen_dlog_seeds.c - writes the seed inputs of fuzz_dlog (one flags byte,
 * then log bytes) into the directory given: a COMMIT record with two
 * entries, an END record without entries, a file header, and the
 * instance journal's records (a JPREPARE with its payload, a
 * JCHECKPOINT).  Built and
 * run by hand after a format change (its output is committed):
 *   bash tests/fuzz/run.sh --build-only dlog
 *   clang -std=c11 -D_GNU_SOURCE -fsanitize=address,undefined -I include -I src \
 *     tests/fuzz/gen_dlog_seeds.c build-fuzz/obj/libdtc-fuzz.a -luuid -lpthread -lrt \
 *     -o /tmp/gen_dlog_seeds && /tmp/gen_dlog_seeds tests/fuzz/corpus/dlog
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog.h"

static void put(const char *dir, const char *name, uint8_t flags, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(&flags, 1, 1, f) != 1 || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static unsigned char buf[DTC_DLOG_REC_MAX];
    static struct dtc__dlog_rec r;
    unsigned char hdr[DTC_DLOG_FILE_HDR];
    if (argc != 2) {
        fprintf(stderr, "usage: gen_dlog_seeds DIR\n");
        return 2;
    }
    r.type = DTC_DLOG_COMMIT;
    r.flags = DTC_DLOG_F_COPY;
    r.state = DTC_TXN_COMMITTING;
    memcpy(r.txid.bytes, "\x3f\x1c\x2a\x8e\x4b\x5d\x4c\x6e\x8f\x70\x11\x22\x33\x44\x55\x66", 16);
    r.unix_ms = 1767225600000;
    r.commit_ms = r.rollback_ms = 5000;
    r.max_retries = 10;
    r.nentries = 2;
    strcpy(r.entries[0].name, "inventory");
    r.entries[0].status = r.entries[0].vote = DTC_ENTRY_YES;
    strcpy(r.entries[1].name, "payment");
    r.entries[1].status = DTC_ENTRY_PENDING;
    r.entries[1].vote = DTC_ENTRY_NO;
    strcpy(r.entries[1].reason, "insufficient funds: alice has 10 cents, wants 1250");
    put(argv[1], "commit", 0, buf, dtc__dlog_encode(&r, DTC_DLOG_FILE_HDR, 0, buf));
    put(argv[1], "commit-at-lsn", 2, buf,
        dtc__dlog_encode(&r, 3u * (1u << 20) + 4096, 3u * (1u << 20) + 1024, buf));
    memset(&r.entries, 0, sizeof r.entries);
    r.type = DTC_DLOG_END;
    r.state = DTC_TXN_COMMITTED;
    r.nentries = 0;
    put(argv[1], "end", 0, buf, dtc__dlog_encode(&r, DTC_DLOG_FILE_HDR, 0, buf));
    static const char prep[] = "reserve sku-1 1 for o-17";
    uint64_t ckpt = 3u * (1u << 20) + 512;
    r.type = DTC_DLOG_JPREPARE;
    r.flags = 0;
    r.nentries = 1;
    strcpy(r.entries[0].name, "inventory");
    r.data = (const unsigned char *)prep;
    r.data_len = sizeof prep - 1;
    put(argv[1], "journal-prepare", 0, buf, dtc__dlog_encode(&r, DTC_DLOG_FILE_HDR, 0, buf));
    r.type = DTC_DLOG_JCHECKPOINT;
    r.flags = DTC_DLOG_F_COPY;
    memset(r.txid.bytes, 0, 16);
    r.data = (const unsigned char *)&ckpt;
    r.data_len = sizeof ckpt;
    put(argv[1], "journal-checkpoint", 0, buf, dtc__dlog_encode(&r, DTC_DLOG_FILE_HDR, 0, buf));
    struct dtc__dlog_id id = {.instance = "shop"};
    memset(id.log_id, 0x5a, sizeof id.log_id);
    dtc__dlog_file_header(hdr, 7, 1u << 24, &id, 6u * (1u << 24) + 4096);
    put(argv[1], "file-header", 4, hdr, sizeof hdr);
    return 0;
}
