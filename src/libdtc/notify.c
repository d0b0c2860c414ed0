/*
 * notify.c - tells a service manager how dtcd is doing, over the notify
 * protocol: one datagram per message to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace), each
 * message newline-separated KEY=VALUE assignments ("READY=1",
 * "STOPPING=1", "STATUS=...", "WATCHDOG=1").  Without $NOTIFY_SOCKET
 * every call does nothing.  A send that fails is logged once and never
 * stops dtcd: supervision matters more than being watched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

/* The socket address from $NOTIFY_SOCKET; its length, 0 if none or bad. */
static socklen_t notify_addr(struct sockaddr_un *sa)
{
    const char *e = getenv("NOTIFY_SOCKET");
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (e == NULL || (e[0] != '/' && e[0] != '@'))
        return 0;
    size_t n = strlen(e);
    if (n < 2 || n >= sizeof sa->sun_path)
        return 0;
    memcpy(sa->sun_path, e, n);
    if (e[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: no NUL at the end either */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/'));
}

bool dtc__notify_on(void)
{
    struct sockaddr_un sa;
    return notify_addr(&sa) != 0;
}

void dtc__notify(const char *msg)
{
    static bool warned;
    struct sockaddr_un sa;
    socklen_t len = notify_addr(&sa);
    if (len == 0)
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t w = -1;
    if (fd >= 0) {
        w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
        close(fd);
    }
    if (w < 0 && !warned) {
        warned = true;
        dtc_log(DTC_LOG_WARN, "notify_failed", NULL, NULL, "socket=%.100s error=%s",
                getenv("NOTIFY_SOCKET"), strerror(errno));
    }
}

/* The watchdog period asked by $WATCHDOG_USEC (for us: $WATCHDOG_PID
 * unset or ours), in ns; 0 if none. */
int64_t dtc__notify_watchdog_ns(void)
{
    const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
    if (u == NULL || (p != NULL && strtol(p, NULL, 10) != (long)getpid()))
        return 0;
    char *end;
    errno = 0;
    unsigned long long us = strtoull(u, &end, 10);
    if (errno != 0 || end == u || *end != '\0' || us == 0 || us > 3600ULL * 1000000)
        return 0;
    return (int64_t)us * 1000;
}
