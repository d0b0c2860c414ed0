/*
 * usage.c - CPU time and context switches of this process (every thread,
 * getrusage RUSAGE_SELF) plus running children read from /proc: utime and
 * stime of /proc/PID/stat, the two ctxt_switches lines of
 * /proc/PID/status (participants and dtcd are single-threaded; a child
 * that cannot be read counts as zero).  Children stay alive across cells,
 * so RUSAGE_CHILDREN (reaped children only) would not see them.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* utime + stime of pid in seconds (fields 14 and 15 of /proc/PID/stat). */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long ut = 0, st = 0;
    // NOLINTNEXTLINE(cert-err34-c): /proc/PID/stat, written by the kernel
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static uint64_t proc_ctxsw(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    uint64_t total = 0;
    unsigned long long v;
    /* /proc/PID/status, written by the kernel: its numbers fit */
    // NOLINTBEGIN(cert-err34-c)
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1
            || sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
            total += v;
    // NOLINTEND(cert-err34-c)
    if (f != NULL)
        fclose(f);
    return total;
}

void bench_usage_sample(const pid_t *pids, int npids, struct bench_usage *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->cpu_s = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    out->ctxsw = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
    for (int i = 0; i < npids; i++) {
        out->cpu_s += proc_cpu_s(pids[i]);
        out->ctxsw += proc_ctxsw(pids[i]);
    }
}
