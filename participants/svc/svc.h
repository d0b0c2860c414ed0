/*
 * svc.h - the framework every dtc participant service runs on.
 *
 * A service is a store_schema (payload parser, refusal wording, seed
 * prefix) and a one-line main: SVC_MAIN(schema).  svc_main parses the
 * common options, opens the store, registers with libdtc under --name,
 * prints "ready name=NAME pid=PID" and serves the four callbacks (plus
 * flush: the group-commit fsync) until SIGTERM/SIGINT, then unregisters,
 * flushes and exits 0.  Fault options (--fail-prepare, --fail-commit,
 * --delay-prepare-ms, --crash-at) make failures reproducible in tests.
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage.
 */
#ifndef DTC_PARTICIPANTS_SVC_H
#define DTC_PARTICIPANTS_SVC_H

#include "store.h"

/* The four services (inventory.c, payment.c, order.c, shipping.c). */
extern const store_schema svc_inventory, svc_payment, svc_order, svc_shipping;

int svc_main(const store_schema *schema, int argc, char **argv);

/* Tests compile the service files with SVC_NO_MAIN to get the schemas. */
#ifndef SVC_NO_MAIN
#define SVC_MAIN(schema)                                                   \
    int main(int argc, char **argv) { return svc_main(&(schema), argc, argv); }
#else
#define SVC_MAIN(schema)
#endif

#endif
