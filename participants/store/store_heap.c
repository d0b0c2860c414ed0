/*
 * store_heap.c - the heap policy of a process that holds a store
 * (store_heap_setup, store.h).
 *
 * A busy store frees small blocks by the thousand (ledger entries and
 * their payloads as they retire, transactions as they end).  glibc keeps
 * small frees in its fast bins without merging them.  Whenever a free
 * leaves a free region of 64 KiB or more, or the heap must grow for a
 * request, glibc first merges and sorts everything in the fast bins
 * (malloc_consolidate), inside whichever call came next: a transaction's
 * calloc or free in the middle of a batch.  In the services at 64
 * coordinators that held batches for up to 8 ms of CPU, and every order
 * in flight waited (docs/performance.md, "Fast bins").  With the fast
 * bins off, each free merges its block at once: a little more per free
 * (glibc's per-thread cache still takes the first ones), no pile.
 */
#include <malloc.h>

#include "store.h"

int store_heap_setup(void)
{
    return mallopt(M_MXFAST, 0) == 1 ? 0 : -1;
}
