/*
 * htab.c - string-keyed open-addressing hash table (FNV-1a, linear
 * probing, backward-shift deletion, incremental growth).  See htab.h.
 */
#include "htab.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The tombstone a moved (or deleted) entry leaves in an old table: old
 * tables take no inserts, so their probe runs only ever end at NULL. */
static const char moved_mark[] = "";
#define HTAB_MOVED moved_mark

static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

/* Index of key's slot (key hashes to hash) in slots[cap], or of the
 * empty slot that ends its probe run.  Tombstones never match (their
 * key is not compared: the mark is ""). */
static size_t find_in(const htab_slot *slots, size_t cap, const char *key, size_t hash)
{
    size_t mask = cap - 1, i = hash & mask;
    for (const htab_slot *s = &slots[i]; s->hs_key != NULL; s = &slots[i]) {
        if (s->hs_key != HTAB_MOVED && s->hs_hash == hash && strcmp(s->hs_key, key) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

static size_t find(const htab *h, const char *key, size_t hash)
{
    return find_in(h->ht_slots, h->ht_cap, key, hash);
}

/* The old table's slot holding key, or NULL. */
static htab_slot *find_old(const htab *h, const char *key, size_t hash)
{
    if (h->ht_old == NULL)
        return NULL;
    htab_slot *s = &h->ht_old[find_in(h->ht_old, h->ht_old_cap, key, hash)];
    return s->hs_key != NULL ? s : NULL;
}

void htab_init(htab *h)
{
    *h = (htab){0};
}

void htab_deinit(htab *h)
{
    free(h->ht_slots);
    free(h->ht_old);
    htab_init(h);
}

/* Moves up to n old slots into the new table; frees the old one at its end. */
static void move_some(htab *h, size_t n)
{
    for (; h->ht_old != NULL && n > 0; n--) {
        htab_slot *s = &h->ht_old[h->ht_old_next];
        if (s->hs_key != NULL && s->hs_key != HTAB_MOVED) {
            size_t i = find(h, s->hs_key, s->hs_hash);
            assert(h->ht_slots[i].hs_key == NULL); /* a key lives in one table */
            h->ht_slots[i] = *s;
            s->hs_key = HTAB_MOVED;
        }
        if (++h->ht_old_next == h->ht_old_cap) {
            free(h->ht_old);
            h->ht_old = NULL;
            h->ht_old_cap = h->ht_old_next = 0;
        }
    }
}

/* Starts a grow: a fresh table twice the size; the current one becomes
 * the old one.  A grow still under way (it cannot be, by htab.h's
 * arithmetic) is finished first. */
static int grow(htab *h)
{
    size_t cap = h->ht_cap ? h->ht_cap * 2 : 16;
    htab_slot *fresh = calloc(cap, sizeof *fresh);
    if (fresh == NULL)
        return -1;
    move_some(h, SIZE_MAX);
    h->ht_old = h->ht_slots;
    h->ht_old_cap = h->ht_old != NULL ? h->ht_cap : 0;
    h->ht_old_next = 0;
    h->ht_slots = fresh;
    h->ht_cap = cap;
    return 0;
}

void *htab_get(const htab *h, const char *key)
{
    if (h->ht_count == 0)
        return NULL;
    size_t hash = hash_str(key);
    const htab_slot *s = find_old(h, key, hash);
    return s != NULL ? s->hs_val : h->ht_slots[find(h, key, hash)].hs_val;
}

int htab_put(htab *h, const char *key, void *val)
{
    if ((h->ht_count + 1) * 2 > h->ht_cap && grow(h) != 0)
        return -1;
    move_some(h, HTAB_MOVE_STEP);
    size_t hash = hash_str(key), i = find(h, key, hash);
    htab_slot *old = find_old(h, key, hash);
    if (old != NULL)
        old->hs_key = HTAB_MOVED; /* replaced: it lives in the new table now */
    else if (h->ht_slots[i].hs_key == NULL)
        h->ht_count++;
    h->ht_slots[i] = (htab_slot){.hs_key = key, .hs_val = val, .hs_hash = hash};
    return 0;
}

/* Removes slot i of the new table: backward shift, pulling later members
 * of the probe run into the hole. */
static void remove_at(htab *h, size_t i)
{
    size_t mask = h->ht_cap - 1;
    for (size_t j = (i + 1) & mask; h->ht_slots[j].hs_key != NULL; j = (j + 1) & mask) {
        size_t home = h->ht_slots[j].hs_hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            h->ht_slots[i] = h->ht_slots[j];
            i = j;
        }
    }
    h->ht_slots[i] = (htab_slot){0};
}

void *htab_del(htab *h, const char *key)
{
    if (h->ht_count == 0)
        return NULL;
    move_some(h, HTAB_MOVE_STEP);
    size_t hash = hash_str(key);
    void *val;
    htab_slot *old = find_old(h, key, hash);
    if (old != NULL) {
        val = old->hs_val;
        old->hs_key = HTAB_MOVED;
    } else {
        size_t i = find(h, key, hash);
        if (h->ht_slots[i].hs_key == NULL)
            return NULL;
        val = h->ht_slots[i].hs_val;
        remove_at(h, i);
    }
    h->ht_count--;
    return val;
}

void *htab_next(const htab *h, size_t *pos)
{
    for (; *pos < h->ht_old_cap; (*pos)++) {
        const htab_slot *s = &h->ht_old[*pos];
        if (s->hs_key != NULL && s->hs_key != HTAB_MOVED)
            return h->ht_old[(*pos)++].hs_val;
    }
    for (; *pos - h->ht_old_cap < h->ht_cap; (*pos)++)
        if (h->ht_slots[*pos - h->ht_old_cap].hs_key != NULL)
            return h->ht_slots[(*pos)++ - h->ht_old_cap].hs_val;
    return NULL;
}
