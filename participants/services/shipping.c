/*
 * shipping.c - dtc-shipping: capacity per zone ("zone:ZONE") and
 * shipments ("ship:ORDER_ID", note = zone).
 *   payload  "schedule ORDER_ID ZONE"  -> capacity of ZONE -= 1 (no if
 *            used up or unknown) and a new shipment (no if it exists)
 *   seed     --seed ZONE=CAPACITY
 */
#include <string.h>

#include "svc.h"

#define ZONE_PREFIX "zone:"
#define SHIP_PREFIX "ship:"

static int shipping_parse(const char *payload, store_ops *ops, char *why, size_t len)
{
    char buf[STORE_PAYLOAD_MAX + 1], *f[STORE_FIELDS_MAX];
    store_op *zone = &ops->so_op[0], *ship = &ops->so_op[1];
    memset(ops, 0, sizeof *ops);
    if (store_parse_form(payload, "schedule ORDER_ID ZONE", buf, sizeof buf, f, why, len) != 0
        || store_check_key(SHIP_PREFIX, f[1], "ORDER_ID", ship->op_key, sizeof ship->op_key,
                           why, len) != 0
        || store_check_key("", f[2], "ZONE", ship->op_note, sizeof ship->op_note, why, len) != 0
        || store_check_key(ZONE_PREFIX, f[2], "ZONE", zone->op_key, sizeof zone->op_key, why,
                           len) != 0)
        return -1;
    ops->so_n = 2;
    zone->op_kind = STORE_ADD;
    zone->op_must_exist = 1;
    zone->op_value = -1;
    ship->op_kind = STORE_CREATE;
    return 0;
}

static void shipping_refuse(const store_op *op, const store_rec *rec, char *why, size_t len)
{
    if (op->op_kind == STORE_CREATE)
        snprintf(why, len, "exists: shipment %s exists", op->op_key + strlen(SHIP_PREFIX));
    else if (rec == NULL)
        snprintf(why, len, "unknown_zone: unknown zone %s", op->op_key + strlen(ZONE_PREFIX));
    else
        snprintf(why, len, "zone_full: zone %s is full", op->op_key + strlen(ZONE_PREFIX));
}

const store_schema svc_shipping = {
    .ss_service = "shipping",
    .ss_parse = shipping_parse,
    .ss_refuse = shipping_refuse,
    .ss_seed_prefix = ZONE_PREFIX,
};

SVC_MAIN(svc_shipping)
