/*
 * preload_util.h - what the test-only LD_PRELOAD libraries
 * (powercut_preload.c, iofault_preload.c) both need: the path an open
 * descriptor names, found without malloc or stdio, so it is safe inside
 * any interposed call.
 */
#ifndef DTC_TESTS_PRELOAD_UTIL_H
#define DTC_TESTS_PRELOAD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Writes v in decimal at out (NUL-terminated); returns its length. */
static inline size_t preload_utoa(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* The absolute path /proc/self/fd/FD names now, " (deleted)" stripped,
 * into out[cap]; -1 if there is none. */
static inline int preload_fd_path(int fd, char *out, size_t cap)
{
    char link[40] = "/proc/self/fd/";
    preload_utoa((uint64_t)fd, link + strlen(link));
    ssize_t n = readlink(link, out, cap - 1);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    static const char del[] = " (deleted)";
    size_t dl = sizeof del - 1;
    if ((size_t)n > dl && memcmp(out + n - dl, del, dl) == 0)
        out[n - dl] = '\0';
    return out[0] == '/' ? 0 : -1;
}

#endif /* DTC_TESTS_PRELOAD_UTIL_H */
