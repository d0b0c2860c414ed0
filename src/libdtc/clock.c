/*
 * clock.c - the monotonic clock every deadline, wait and age in dtc is
 * measured on (CLOCK_MONOTONIC, nanoseconds).
 */
#include <time.h>

#include "internal.h"

int64_t dtc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
