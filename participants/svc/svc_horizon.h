/*
 * svc_horizon.h - how far back a service keeps its ledger: it asks the
 * instance which transactions it still holds and how far its decision
 * log is durable, and lets the store retire the rest (store_retire), a
 * little after every batch rather than all at once.
 */
#ifndef DTC_PARTICIPANTS_SVC_HORIZON_H
#define DTC_PARTICIPANTS_SVC_HORIZON_H

#include "dtc/dtc.h"
#include "htab.h"
#include "store.h"

/* A retirement pass: the instance's answers, taken once, used by many
 * small steps. */
typedef struct svc_horizon {
    htab hz_set;                       /* txid text -> itself: held */
    char (*hz_ids)[DTC_TXID_STRLEN];   /* the set's keys */
    size_t hz_cap;
    store_horizon hz_h;
    int hz_active;                     /* a pass is going on */
} svc_horizon;

/* Starts a pass (the previous one ends): lists the transactions the
 * instance holds.  0, or -1 when it cannot tell now (recovering, a
 * quarantined slot, an error): no pass then. */
int svc_retire_begin(svc_horizon *hz, store *st, dtc_instance *inst);
/* One small step of the pass (a bounded number of entries asked and
 * dropped); returns the entries dropped. */
size_t svc_retire_step(svc_horizon *hz, store *st);
void svc_retire_free(svc_horizon *hz);

#endif
