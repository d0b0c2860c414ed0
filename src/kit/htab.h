/*
 * htab.h - a string-keyed hash table (the kit's one: the participant
 * store's records and ledger, dtc-load check's transactions and records).
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones in the live table).  The table does not own keys or values:
 * each value holds its own key, and the key pointer handed to htab_put
 * must stay valid until the entry is removed.  Grows at 1/2 load; never
 * shrinks.
 *
 * Growing is incremental, so that no put pays for the whole table (a
 * service's order table of about 100k entries took up to 10.9 ms to
 * rehash in one go, and every order waited: docs/performance.md, "Three
 * stalls removed"): the grown table starts empty, the old one is kept,
 * and every put and delete moves HTAB_MOVE_STEP of the old slots across,
 * leaving a tombstone behind.  A key lives in exactly one of the two
 * tables; lookups try the old one, then the new.  The old table is freed
 * once the last slot has moved,
 * long before the new one is half full again (a grow at count n leaves
 * 2n old slots, moved within 2n / HTAB_MOVE_STEP puts; the next grow is
 * n puts away).
 */
#ifndef DTC_KIT_HTAB_H
#define DTC_KIT_HTAB_H

#include <stddef.h>

typedef struct htab_slot {
    const char *hs_key; /* NULL: empty; htab_moved in an old table */
    void *hs_val;
    size_t hs_hash;     /* the key's hash: compared before the key (a probe
                         * past another key touches no key's memory), and
                         * reused by growing and deleting */
} htab_slot;

typedef struct htab {
    htab_slot *ht_slots;
    size_t ht_cap;       /* power of two, or 0 before the first put */
    size_t ht_count;     /* entries in both tables */
    htab_slot *ht_old;   /* the table being moved out of, or NULL */
    size_t ht_old_cap;
    size_t ht_old_next;  /* old slots below it have moved */
} htab;

/* Old slots moved by each put and delete while a grow is under way. */
#define HTAB_MOVE_STEP 8

void htab_init(htab *h);
void htab_deinit(htab *h);
/* The value stored under key, or NULL. */
void *htab_get(const htab *h, const char *key);
/* Inserts or replaces; returns -1 only when memory runs out. */
int htab_put(htab *h, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *htab_del(htab *h, const char *key);
/* Iteration: start with *pos = 0; returns the next value or NULL at the
 * end (the old table's entries, then the new one's).  The table must not
 * change during an iteration. */
void *htab_next(const htab *h, size_t *pos);

#endif
