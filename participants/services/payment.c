/*
 * payment.c - dtc-payment: balances in cents per account.
 *   payload  "charge ACCOUNT AMOUNT_CENTS"  -> balance -= AMOUNT (must stay
 *                                             >= 0; unknown account: no)
 *   seed     --seed ACCOUNT=CENTS
 */
#include <string.h>

#include "svc.h"

static int payment_parse(const char *payload, store_ops *ops, char *why, size_t len)
{
    char buf[STORE_PAYLOAD_MAX + 1], *f[STORE_FIELDS_MAX];
    store_op *op = &ops->so_op[0];
    int64_t cents;
    memset(ops, 0, sizeof *ops);
    if (store_parse_form(payload, "charge ACCOUNT AMOUNT_CENTS", buf, sizeof buf, f, why, len) != 0
        || store_check_key("", f[1], "ACCOUNT", op->op_key, sizeof op->op_key, why, len) != 0
        || store_parse_amount(f[2], "AMOUNT_CENTS", 0, &cents, why, len) != 0)
        return -1;
    ops->so_n = 1;
    op->op_kind = STORE_ADD;
    op->op_must_exist = 1;
    op->op_value = -cents;
    return 0;
}

static void payment_refuse(const store_op *op, const store_rec *rec, char *why, size_t len)
{
    if (rec == NULL)
        snprintf(why, len, "unknown_account: unknown account %s", op->op_key);
    else
        snprintf(why, len, "insufficient_funds: insufficient funds: %s has %lld cents, wants %lld", op->op_key,
                 (long long)rec->rc_value, -(long long)op->op_value);
}

const store_schema svc_payment = {
    .ss_service = "payment",
    .ss_parse = payment_parse,
    .ss_refuse = payment_refuse,
    .ss_seed_prefix = "",
};

SVC_MAIN(svc_payment)
