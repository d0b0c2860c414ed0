/*
 * order.c - dtc-order: orders, record "order:ID" = amount, note = account.
 *   payload  "create ORDER_ID ACCOUNT AMOUNT_CENTS"  -> new record (no if
 *                                                      the order exists)
 *   seed     --seed ORDER_ID=AMOUNT (pre-existing orders)
 */
#include <string.h>

#include "svc.h"

#define ORDER_PREFIX "order:"

static int order_parse(const char *payload, store_ops *ops, char *why, size_t len)
{
    char buf[STORE_PAYLOAD_MAX + 1], *f[STORE_FIELDS_MAX];
    store_op *op = &ops->so_op[0];
    memset(ops, 0, sizeof *ops);
    if (store_parse_form(payload, "create ORDER_ID ACCOUNT AMOUNT_CENTS", buf, sizeof buf, f,
                         why, len) != 0
        || store_check_key(ORDER_PREFIX, f[1], "ORDER_ID", op->op_key, sizeof op->op_key, why,
                           len) != 0
        || store_check_key("", f[2], "ACCOUNT", op->op_note, sizeof op->op_note, why, len) != 0
        || store_parse_amount(f[3], "AMOUNT_CENTS", 0, &op->op_value, why, len) != 0)
        return -1;
    ops->so_n = 1;
    op->op_kind = STORE_CREATE;
    return 0;
}

static void order_refuse(const store_op *op, const store_rec *rec, char *why, size_t len)
{
    (void)rec;
    snprintf(why, len, "exists: order %s exists", op->op_key + strlen(ORDER_PREFIX));
}

const store_schema svc_order = {
    .ss_service = "order",
    .ss_parse = order_parse,
    .ss_refuse = order_refuse,
    .ss_seed_prefix = ORDER_PREFIX,
};

SVC_MAIN(svc_order)
