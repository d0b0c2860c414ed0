/*
 * htab.h - a string-keyed hash table (the kit's one: the participant
 * store's records and ledger, dtc-load check's transactions and records).
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones).  The table does not own keys or values: each value holds
 * its own key, and the key pointer handed to htab_put must stay valid
 * until the entry is removed.  Grows at 1/2 load; never shrinks.
 */
#ifndef DTC_KIT_HTAB_H
#define DTC_KIT_HTAB_H

#include <stddef.h>

typedef struct htab_slot {
    const char *hs_key; /* NULL: empty */
    void *hs_val;
    size_t hs_hash;     /* the key's hash: compared before the key (a probe
                         * past another key touches no key's memory), and
                         * reused by growing and deleting */
} htab_slot;

typedef struct htab {
    htab_slot *ht_slots;
    size_t ht_cap;   /* power of two, or 0 before the first put */
    size_t ht_count;
} htab;

void htab_init(htab *h);
void htab_deinit(htab *h);
/* The value stored under key, or NULL. */
void *htab_get(const htab *h, const char *key);
/* Inserts or replaces; returns -1 only when memory runs out. */
int htab_put(htab *h, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *htab_del(htab *h, const char *key);
/* Iteration: start with *pos = 0; returns the next value or NULL at the
 * end.  The table must not change during an iteration. */
void *htab_next(const htab *h, size_t *pos);

#endif
