/*
 * registry.c - the table of participant slots: lookup by name (and a
 * per-thread cache of it), taking a slot for a name, and reclaiming the
 * slot of a participant that died or left.
 *
 * Ownership changes (take, reclaim) hold sh_reg_lock then ps_lock;
 * lookups hold only ps_lock (the lock order: shm.h).  A reclaimed
 * participant's unanswered requests are failed after both locks are
 * released, since that touches transaction slots.
 */
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

dtc_result dtc__part_find(dtc_instance *in, const char *name, uint32_t *idx,
                          uint32_t *gen)
{
    for (uint32_t i = 0; i < in->max_participants; i++) {
        struct dtc_part_slot *ps = dtc__part(in, i);
        /* Unlocked peek (a torn read only misses); re-checked below. */
        if (ps->ps_state != DTC_PS_LIVE || strncmp(ps->ps_name, name, DTC_NAME_MAX) != 0)
            continue;
        if (dtc__part_lock(in, ps) != DTC_OK)
            continue;
        bool match = ps->ps_state == DTC_PS_LIVE
                     && strncmp(ps->ps_name, name, DTC_NAME_MAX) == 0;
        pid_t pid = ps->ps_pid;
        *idx = i;
        *gen = ps->ps_gen;
        dtc__unlock(&ps->ps_lock);
        if (!match)
            continue;
        if (kill(pid, 0) != 0) /* quick check; dtcd does the pid-reuse-safe one */
            return DTC_ENOTALIVE;
        return DTC_OK;
    }
    return DTC_EUNKNOWN;
}

#define NAME_CACHE DTC_LIMIT_MAX_PARTS_PER_TXN /* a whole transaction's names */

static _Thread_local struct name_cache {
    uint64_t serial; /* dtc_instance.serial, 0 = empty */
    uint32_t idx, gen;
    char name[DTC_NAME_MAX];
} name_cache[NAME_CACHE];
static _Thread_local unsigned name_cache_next;

dtc_result dtc__part_resolve(dtc_instance *in, const char *name, uint32_t *idx,
                             uint32_t *gen, bool *cached)
{
    for (unsigned i = 0; i < NAME_CACHE; i++) {
        struct name_cache *c = &name_cache[i];
        if (c->serial == in->serial && strcmp(c->name, name) == 0) {
            *idx = c->idx;
            *gen = c->gen;
            *cached = true;
            return DTC_OK;
        }
    }
    *cached = false;
    dtc_result rc = dtc__part_find(in, name, idx, gen);
    if (rc == DTC_OK) {
        struct name_cache *c = &name_cache[name_cache_next++ % NAME_CACHE];
        *c = (struct name_cache){in->serial, *idx, *gen, ""};
        dtc__strcopy(c->name, name, sizeof c->name);
    }
    return rc;
}

void dtc__part_forget(dtc_instance *in, const char *name)
{
    for (unsigned i = 0; i < NAME_CACHE; i++)
        if (name_cache[i].serial == in->serial && strcmp(name_cache[i].name, name) == 0)
            name_cache[i].serial = 0;
}

/* With sh_reg_lock held: frees slot idx if it still has generation gen;
 * copies its unanswered requests into *reqs (malloc'd). */
static size_t reclaim_locked(dtc_instance *in, uint32_t idx, uint32_t gen,
                             struct dtc_ring_req **reqs)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_reg_lock) && idx < in->max_participants);
    struct dtc_part_slot *ps = dtc__part(in, idx);
    size_t n = 0;
    *reqs = NULL;
    if (dtc__part_lock(in, ps) != DTC_OK)
        return 0;
    if (ps->ps_state == DTC_PS_LIVE && ps->ps_gen == gen) {
        /* dtc__part_lock emptied a ring out of bounds; bounded again here
         * (never a count from the segment into malloc unchecked) */
        uint64_t pending = ps->ps_tail - ps->ps_head;
        if (ps->ps_tail < ps->ps_head || pending > in->ring_cap) {
            dtc_log(DTC_LOG_WARN, "repair", NULL, NULL, "what=ring action=emptied slot=%u", idx);
            pending = 0;
        }
        *reqs = malloc((pending ? pending : 1) * sizeof **reqs);
        for (uint64_t k = 0; *reqs != NULL && k < pending; k++)
            (*reqs)[n++] = ps->ps_ring[(ps->ps_head + k) % in->ring_cap];
        ps->ps_head = ps->ps_tail;
        ps->ps_state = DTC_PS_FREE;
        ps->ps_pid = 0;
        ps->ps_start = 0;
        dtc__wake_renew(in, &ps->ps_wake, &ps->ps_cond); /* a dead waiter may haunt it */
    }
    dtc__unlock(&ps->ps_lock);
    return n;
}

dtc_result dtc__part_reclaim(dtc_instance *in, uint32_t idx, uint32_t gen,
                             const char *why)
{
    struct dtc_ring_req *reqs;
    if (idx >= in->max_participants)
        return DTC_EINVAL;
    char name[DTC_NAME_MAX];
    memcpy(name, dtc__part(in, idx)->ps_name, sizeof name);
    name[DTC_NAME_MAX - 1] = '\0';
    dtc_result rc = dtc__reg_lock(in);
    if (rc != DTC_OK)
        return rc;
    size_t n = reclaim_locked(in, idx, gen, &reqs);
    dtc__unlock(&in->hdr->sh_reg_lock);
    dtc__fault("sup.mid_reclaim");
    dtc__fail_requests(in, reqs, n, idx, gen);
    free(reqs);
    atomic_fetch_add(&in->hdr->sh_reclaimed, 1);
    dtc_log(DTC_LOG_INFO, "reclaim", NULL, name, "slot=%u why=%s unanswered=%zu",
            idx, why, n);
    return DTC_OK;
}

/* With sh_reg_lock held: a slot to register `name` in, reclaiming a dead
 * holder of the name.  Sets *dead_* when a dead holder was found. */
static dtc_result pick_slot(dtc_instance *in, const char *name, uint32_t *out,
                            int64_t *dead_idx, uint32_t *dead_gen)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_reg_lock));
    int64_t free_idx = -1;
    *dead_idx = -1;
    for (uint32_t i = 0; i < in->max_participants; i++) {
        struct dtc_part_slot *ps = dtc__part(in, i);
        if (ps->ps_state == DTC_PS_FREE && free_idx < 0)
            free_idx = i;
        if (ps->ps_state != DTC_PS_LIVE || strncmp(ps->ps_name, name, DTC_NAME_MAX) != 0)
            continue;
        if (dtc__proc_alive(ps->ps_pid, ps->ps_start))
            return DTC_ENAMETAKEN;
        *dead_idx = i;
        *dead_gen = ps->ps_gen;
    }
    if (*dead_idx >= 0)
        free_idx = *dead_idx;
    if (free_idx < 0)
        return DTC_EREGFULL;
    *out = (uint32_t)free_idx;
    return DTC_OK;
}

static void slot_take(dtc_instance *in, struct dtc_part_slot *ps, const char *name)
{
    DTC_ASSERT(dtc__lock_held(&in->hdr->sh_reg_lock) && dtc__lock_held(&ps->ps_lock));
    /* Identity first, state last: an unlocked reader sees LIVE only
     * once the name is complete. */
    snprintf(ps->ps_name, sizeof ps->ps_name, "%s", name);
    ps->ps_pid = in->pid;
    ps->ps_start = in->start_time;
    ps->ps_gen++;
    ps->ps_head = ps->ps_tail = 0;
    ps->ps_served = 0;
    memset(ps->ps_answers, 0, sizeof ps->ps_answers);
    ps->ps_last_ns = 0;
    __atomic_store_n(&ps->ps_syncs, 0, __ATOMIC_RELAXED);
    dtc__wake_renew(in, &ps->ps_wake, &ps->ps_cond);
    ps->ps_state = DTC_PS_LIVE;
}

dtc_result dtc__part_take(dtc_instance *in, const char *name, uint32_t *idx, uint32_t *gen)
{
    struct dtc_ring_req *reqs = NULL;
    size_t n = 0;
    int64_t dead_idx = -1;
    uint32_t dead_gen = 0;
    dtc_result rc = dtc__reg_lock(in);
    if (rc != DTC_OK)
        return rc;
    rc = pick_slot(in, name, idx, &dead_idx, &dead_gen);
    if (rc == DTC_OK && dead_idx >= 0)
        n = reclaim_locked(in, (uint32_t)dead_idx, dead_gen, &reqs);
    if (rc == DTC_OK) {
        struct dtc_part_slot *ps = dtc__part(in, *idx);
        if ((rc = dtc__part_lock(in, ps)) == DTC_OK) {
            slot_take(in, ps, name);
            *gen = ps->ps_gen;
            dtc__unlock(&ps->ps_lock);
        }
    }
    dtc__unlock(&in->hdr->sh_reg_lock);
    if (dead_idx >= 0 && rc == DTC_OK) {
        dtc__fail_requests(in, reqs, n, (uint32_t)dead_idx, dead_gen);
        dtc_log(DTC_LOG_INFO, "reclaim", NULL, name, "slot=%u why=name_reused_after_death",
                (uint32_t)dead_idx);
    }
    free(reqs);
    return rc;
}
