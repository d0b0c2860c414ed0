/*
 * store_ledger.c - the store's ledger queues and their retirement.  Every
 * ledger entry (an applied or compensated transaction) sits in one of two
 * FIFOs: st_led_new (not yet found unheld by the coordinator, oldest
 * first) or st_led_gone (found unheld, stamped with the coordinator's
 * written log position, stamps ascending).  store_retire drops the head
 * of st_led_gone once the coordinator's durable position has reached its
 * stamp, then asks about the head of st_led_new.  So the ledger, and with
 * it every snapshot, is bounded by the transactions a redelivery can
 * still reach, not by history.  See store_retire in store.h.  Every
 * entry is also on the store's list of all entries, in ld_seq order,
 * which a snapshot walks (store_snap.c).
 */
#include <stdlib.h>

#include "store_int.h"

static void ledq_push(store_ledq *q, store_led *ld)
{
    ld->ld_next = NULL;
    ld->ld_prev = q->lq_tail;
    if (q->lq_tail != NULL)
        q->lq_tail->ld_next = ld;
    else
        q->lq_head = ld;
    q->lq_tail = ld;
}

static store_led *ledq_pop(store_ledq *q)
{
    store_led *ld = q->lq_head;
    if (ld == NULL)
        return NULL;
    q->lq_head = ld->ld_next;
    if (q->lq_head != NULL)
        q->lq_head->ld_prev = NULL;
    else
        q->lq_tail = NULL;
    ld->ld_next = ld->ld_prev = NULL;
    return ld;
}

store_led *store__ledger_add(store *st, const char *txid, int state, const char *payload)
{
    store_led *ld = calloc(1, sizeof *ld);
    if (ld == NULL || (payload && (ld->ld_payload = strdup(payload)) == NULL))
        goto fail;
    STORE_COPY(ld->ld_id, txid);
    ld->ld_state = state;
    ld->ld_seq = st->st_led_seq + 1;
    if (htab_put(&st->st_ledger, ld->ld_id, ld) == 0) {
        st->st_led_seq++;
        ledq_push(&st->st_led_new, ld);
        store__snap_add_led(st, ld);
        return ld;
    }
fail:
    if (ld)
        free(ld->ld_payload);
    free(ld);
    return NULL;
}

static void drop(store *st, store_led *ld)
{
    store__snap_drop_led(st, ld);
    htab_del(&st->st_ledger, ld->ld_id);
    free(ld->ld_payload);
    free(ld);
}

size_t store_retire(store *st, const store_horizon *h)
{
    size_t dropped = 0, asked = 0, n = st->st_ledger.ht_count;
    store_ledq found = {NULL, NULL};
    store_led *ld;
    while ((ld = st->st_led_gone.lq_head) != NULL && ld->ld_stamp <= h->sh_durable
           && dropped < h->sh_budget) {
        drop(st, ledq_pop(&st->st_led_gone));
        dropped++;
    }
    /* at most one round through the queue: a held entry goes to its back;
     * never past the mark (entries newer than the answers) */
    for (; asked < h->sh_budget && asked < n && (ld = st->st_led_new.lq_head) != NULL;
         asked++) {
        if (h->sh_mark != 0 && ld->ld_seq >= h->sh_mark)
            break;
        int held = h->sh_held(h->sh_ctx, ld->ld_id);
        if (held < 0)
            break;
        ld = ledq_pop(&st->st_led_new);
        ledq_push(held ? &st->st_led_new : &found, ld);
    }
    while ((ld = ledq_pop(&found)) != NULL) {
        ld->ld_stamp = h->sh_written;
        if (h->sh_written <= h->sh_durable) {
            drop(st, ld); /* already durable (or no decision log) */
            dropped++;
        } else {
            ledq_push(&st->st_led_gone, ld);
        }
    }
    return dropped;
}

uint64_t store_ledger_mark(const store *st)
{
    return st->st_led_seq + 1;
}
