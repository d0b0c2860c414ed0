/*
 * svc_horizon.h - how far back a service keeps its ledger: it asks the
 * instance which transactions it still holds and how far its decision
 * log is durable, and lets the store retire the rest (store_retire).
 */
#ifndef DTC_PARTICIPANTS_SVC_HORIZON_H
#define DTC_PARTICIPANTS_SVC_HORIZON_H

#include "dtc/dtc.h"
#include "store.h"

/* One retirement pass; returns the entries dropped (0 when the instance
 * cannot tell now: recovering, a quarantined slot, an error). */
size_t svc_retire(store *st, dtc_instance *inst);

#endif
