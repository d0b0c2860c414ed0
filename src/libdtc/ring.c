/*
 * ring.c - a participant slot's request ring: coordinators push requests
 * onto it (and wake the participant), the participant takes a batch off
 * it and advances its head once the batch's answers are published.
 *
 * Requests [ps_head, ps_tail) are unanswered (shm.h).  Locking: ps_lock
 * only; the wake-up is sent after it is released ("Waking a sleeper" in
 * shm.h).
 */
#include <sched.h>

#include <time.h>

#include "internal.h"

dtc_result dtc__part_push(dtc_instance *in, uint32_t idx, uint32_t gen,
                          const struct dtc_ring_req *rq, bool wake)
{
    if (idx >= in->max_participants)
        return DTC_ECORRUPT;
    struct dtc_part_slot *ps = dtc__part(in, idx);
    dtc_result rc = dtc__part_lock(in, ps);
    bool signal = false;
    if (rc != DTC_OK)
        return rc;
    if (ps->ps_state != DTC_PS_LIVE || ps->ps_gen != gen)
        rc = DTC_ENOTALIVE;
    else if (ps->ps_tail - ps->ps_head >= in->ring_cap)
        rc = DTC_EBUSY;
    else {
        ps->ps_ring[ps->ps_tail % in->ring_cap] = *rq;
        ps->ps_tail++;
        signal = wake && dtc__wake_claim(&ps->ps_wake);
    }
    dtc__unlock(&ps->ps_lock);
    if (signal)
        dtc__wake_send(in, &ps->ps_wake, &ps->ps_cond); /* after unlock: see shm.h */
    return rc;
}

long dtc__ring_take(dtc_instance *in, uint32_t idx, uint32_t gen, int64_t deadline,
                    bool yield, struct dtc_ring_req *out)
{
    DTC_ASSERT(idx < in->max_participants);
    struct dtc_part_slot *ps = dtc__part(in, idx);
    if (dtc__part_lock(in, ps) != DTC_OK)
        return -1;
    long n = 0;
    bool slept = false;
    while (ps->ps_state == DTC_PS_LIVE && ps->ps_gen == gen && ps->ps_head == ps->ps_tail
           && dtc__now_ns() < deadline) {
        dtc__wake_wait(in, &ps->ps_wake, &ps->ps_cond, &ps->ps_lock, dtc__part_repair, ps,
                       deadline);
        slept = true;
    }
    if (slept && yield && ps->ps_head != ps->ps_tail) {
        dtc__unlock(&ps->ps_lock);
        sched_yield();
        if (dtc__part_lock(in, ps) != DTC_OK)
            return -1;
    }
    if (ps->ps_state != DTC_PS_LIVE || ps->ps_gen != gen)
        n = -1;
    else
        for (uint64_t k = ps->ps_head; k != ps->ps_tail && n < (long)in->ring_cap; k++)
            out[n++] = ps->ps_ring[k % in->ring_cap];
    dtc__unlock(&ps->ps_lock);
    return n;
}

void dtc__ring_advance(dtc_instance *in, uint32_t idx, uint32_t gen, long n,
                       const uint32_t answers[DTC_ANSWER_KINDS])
{
    DTC_ASSERT(idx < in->max_participants && n >= 0 && (uint64_t)n <= in->ring_cap);
    struct dtc_part_slot *ps = dtc__part(in, idx);
    if (dtc__part_lock(in, ps) != DTC_OK)
        return;
    if (ps->ps_state == DTC_PS_LIVE && ps->ps_gen == gen) {
        ps->ps_head += (uint64_t)n;
        ps->ps_served += (uint64_t)n;
        for (unsigned k = 0; k < DTC_ANSWER_KINDS; k++)
            ps->ps_answers[k] += answers[k];
        if (n > 0) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            ps->ps_last_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        }
    }
    dtc__unlock(&ps->ps_lock);
}
