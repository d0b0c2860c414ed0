/*
 * proc.c - process liveness that survives pid reuse: a process is named
 * by (pid, start time), the start time being field 22 of /proc/PID/stat
 * (clock ticks since boot).  A live pid with another start time is a new
 * process, so the old owner is dead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

uint64_t dtc__proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and ')': skip past the
     * last ')'.  Then field 3 is the state; field 22 is 19 fields later. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    p++;
    if (p[0] == ' ' && p[1] == 'Z') /* a zombie is dead for our purposes */
        return 0;
    for (int field = 3; field < 22 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return 0;
    return strtoull(p + 1, NULL, 10);
}

bool dtc__proc_alive(pid_t pid, uint64_t start)
{
    if (pid <= 0 || start == 0)
        return false;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    return dtc__proc_start_time(pid) == start;
}
