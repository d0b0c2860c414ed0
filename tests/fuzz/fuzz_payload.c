/*
 * fuzz_payload.c - libFuzzer target: the participant services' payload
 * parsers (ss_parse of inventory, payment, order, shipping) and
 * store_parse_seed, on a NUL-terminated copy of the input bounded to
 * STORE_PAYLOAD_MAX bytes (what dtc_enlist lets through).
 *
 * Beyond "no crash": a parse that succeeds yields 1..STORE_OPS_MAX ops
 * with valid keys and notes; one that fails says "malformed payload: ..."
 * in a terminated reason; the refusal wording never overruns its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "svc.h"
#include "fuzz.h"

static const store_schema *const schemas[] = {&svc_inventory, &svc_payment, &svc_order,
                                              &svc_shipping};

static void check_key(const char *k, size_t size)
{
    FUZZ_CHECK(strnlen(k, size) < size);
    FUZZ_CHECK(store__valid_key(k));
}

static void check_parse(const store_schema *s, const char *payload)
{
    store_ops ops;
    char why[STORE_WHY_MAX];
    memset(why, 0x7f, sizeof why);
    if (s->ss_parse(payload, &ops, why, sizeof why) != 0) {
        FUZZ_CHECK(strnlen(why, sizeof why) < sizeof why);
        FUZZ_CHECK(strncmp(why, "malformed payload: ", 19) == 0);
        return;
    }
    FUZZ_CHECK(ops.so_n >= 1 && ops.so_n <= STORE_OPS_MAX);
    for (int i = 0; i < ops.so_n; i++) {
        const store_op *op = &ops.so_op[i];
        store_rec rec;
        FUZZ_CHECK(op->op_kind == STORE_ADD || op->op_kind == STORE_CREATE);
        check_key(op->op_key, sizeof op->op_key);
        FUZZ_CHECK(strnlen(op->op_note, sizeof op->op_note) < sizeof op->op_note);
        FUZZ_CHECK(store__valid_note(op->op_note));
        FUZZ_CHECK(op->op_value >= -STORE_AMOUNT_MAX && op->op_value <= STORE_AMOUNT_MAX);
        /* the refusal wording, for an absent and a present record */
        s->ss_refuse(op, NULL, why, sizeof why);
        FUZZ_CHECK(strnlen(why, sizeof why) < sizeof why);
        memset(&rec, 0, sizeof rec);
        STORE_COPY(rec.rc_key, op->op_key);
        rec.rc_value = STORE_AMOUNT_MAX;
        rec.rc_present = 1;
        s->ss_refuse(op, &rec, why, sizeof why);
        FUZZ_CHECK(strnlen(why, sizeof why) < sizeof why);
    }
}

static void check_seed(const store_schema *s, const char *kv)
{
    store_op op;
    char why[STORE_WHY_MAX];
    if (store_parse_seed(s, kv, &op, why, sizeof why) != 0) {
        FUZZ_CHECK(strnlen(why, sizeof why) < sizeof why);
        FUZZ_CHECK(strncmp(why, "bad seed '", 10) == 0);
        return;
    }
    FUZZ_CHECK(op.op_kind == STORE_CREATE);
    check_key(op.op_key, sizeof op.op_key);
    FUZZ_CHECK(strncmp(op.op_key, s->ss_seed_prefix, strlen(s->ss_seed_prefix)) == 0);
    FUZZ_CHECK(op.op_value >= 0 && op.op_value <= STORE_AMOUNT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size < STORE_PAYLOAD_MAX ? size : STORE_PAYLOAD_MAX;
    char *payload = malloc(n + 1); /* exact size: ASan sees any overread */
    if (payload == NULL)
        return 0;
    memcpy(payload, data, n);
    payload[n] = '\0';
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        check_parse(schemas[i], payload);
        check_seed(schemas[i], payload);
    }
    free(payload);
    return 0;
}
