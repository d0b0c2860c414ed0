/*
 * htab.c - string-keyed open-addressing hash table (FNV-1a, linear
 * probing, backward-shift deletion).  See htab.h.
 */
#include "htab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

/* Index of key's slot (key hashes to hash), or of the empty slot where it
 * would go. */
static size_t find(const htab *h, const char *key, size_t hash)
{
    size_t mask = h->ht_cap - 1, i = hash & mask;
    for (const htab_slot *s = &h->ht_slots[i]; s->hs_key != NULL; s = &h->ht_slots[i]) {
        if (s->hs_hash == hash && strcmp(s->hs_key, key) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

void htab_init(htab *h)
{
    h->ht_slots = NULL;
    h->ht_cap = 0;
    h->ht_count = 0;
}

void htab_deinit(htab *h)
{
    free(h->ht_slots);
    htab_init(h);
}

void *htab_get(const htab *h, const char *key)
{
    if (h->ht_count == 0)
        return NULL;
    return h->ht_slots[find(h, key, hash_str(key))].hs_val;
}

static int grow(htab *h)
{
    htab old = *h;
    size_t cap = old.ht_cap ? old.ht_cap * 2 : 16;
    h->ht_slots = calloc(cap, sizeof *h->ht_slots);
    if (h->ht_slots == NULL) {
        *h = old;
        return -1;
    }
    h->ht_cap = cap;
    for (size_t i = 0; i < old.ht_cap; i++)
        if (old.ht_slots[i].hs_key != NULL)
            h->ht_slots[find(h, old.ht_slots[i].hs_key, old.ht_slots[i].hs_hash)] =
                old.ht_slots[i];
    free(old.ht_slots);
    return 0;
}

int htab_put(htab *h, const char *key, void *val)
{
    if ((h->ht_count + 1) * 2 > h->ht_cap && grow(h) != 0)
        return -1;
    size_t hash = hash_str(key), i = find(h, key, hash);
    if (h->ht_slots[i].hs_key == NULL)
        h->ht_count++;
    h->ht_slots[i] = (htab_slot){.hs_key = key, .hs_val = val, .hs_hash = hash};
    return 0;
}

void *htab_del(htab *h, const char *key)
{
    if (h->ht_count == 0)
        return NULL;
    size_t mask = h->ht_cap - 1, i = find(h, key, hash_str(key));
    void *val = h->ht_slots[i].hs_val;
    if (h->ht_slots[i].hs_key == NULL)
        return NULL;
    /* Backward shift: pull later members of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; h->ht_slots[j].hs_key != NULL; j = (j + 1) & mask) {
        size_t home = h->ht_slots[j].hs_hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            h->ht_slots[i] = h->ht_slots[j];
            i = j;
        }
    }
    h->ht_slots[i] = (htab_slot){0};
    h->ht_count--;
    return val;
}

void *htab_next(const htab *h, size_t *pos)
{
    for (; *pos < h->ht_cap; (*pos)++)
        if (h->ht_slots[*pos].hs_key != NULL)
            return h->ht_slots[(*pos)++].hs_val;
    return NULL;
}
