/*
 * inventory.c - dtc-inventory: stock per SKU.
 *   payload  "reserve SKU QTY"  -> stock of SKU -= QTY (must stay >= 0;
 *                                  an unknown SKU has stock 0)
 *   seed     --seed SKU=QTY
 */
#include <string.h>

#include "svc.h"

static int inventory_parse(const char *payload, store_ops *ops, char *why, size_t len)
{
    char buf[STORE_PAYLOAD_MAX + 1], *f[STORE_FIELDS_MAX];
    store_op *op = &ops->so_op[0];
    int64_t qty;
    memset(ops, 0, sizeof *ops);
    if (store_parse_form(payload, "reserve SKU QTY", buf, sizeof buf, f, why, len) != 0
        || store_check_key("", f[1], "SKU", op->op_key, sizeof op->op_key, why, len) != 0
        || store_parse_amount(f[2], "QTY", 0, &qty, why, len) != 0)
        return -1;
    ops->so_n = 1;
    op->op_kind = STORE_ADD;
    op->op_value = -qty;
    return 0;
}

static void inventory_refuse(const store_op *op, const store_rec *rec, char *why, size_t len)
{
    snprintf(why, len, "out_of_stock: out of stock: %s has %lld, wants %lld", op->op_key,
             rec ? (long long)rec->rc_value : 0LL, -(long long)op->op_value);
}

const store_schema svc_inventory = {
    .ss_service = "inventory",
    .ss_parse = inventory_parse,
    .ss_refuse = inventory_refuse,
    .ss_seed_prefix = "",
};

SVC_MAIN(svc_inventory)
