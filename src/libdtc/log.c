/*
 * log.c - one key=value line per event:
 *   ts=2026-11-23T11:33:38.123456Z level=info pid=42 event=vote txid=... \
 *   participant=inventory vote=no reason="out of stock"
 * Each line is written with a single write(2) on an O_APPEND descriptor,
 * so lines of concurrent processes never interleave.  Level from $DTC_LOG.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static _Atomic int log_level = DTC_LOG_WARN;
static _Atomic int log_fd = 2;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Our pid, without a getpid(2) per line (glibc no longer caches it); a
 * forked child refreshes it. */
static _Atomic pid_t log_pid;
static pthread_once_t log_pid_once = PTHREAD_ONCE_INIT;

static void pid_refresh(void)
{
    atomic_store(&log_pid, getpid());
}

static void pid_setup(void)
{
    pid_refresh();
    pthread_atfork(NULL, NULL, pid_refresh);
}

static pid_t my_pid(void)
{
    pthread_once(&log_pid_once, pid_setup);
    return atomic_load_explicit(&log_pid, memory_order_relaxed);
}

void dtc_log_init(dtc_log_level dflt)
{
    const char *env = getenv("DTC_LOG");
    int lvl = (int)dflt;
    if (env != NULL)
        for (int i = 0; i <= DTC_LOG_DEBUG; i++)
            if (strcasecmp(env, level_names[i]) == 0)
                lvl = i;
    atomic_store(&log_level, lvl);
}

dtc_result dtc_log_to_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return DTC_ESYS;
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    return DTC_OK;
}

/* Batching (participants, one batch of requests): lines gather in a
 * per-thread buffer no larger than PIPE_BUF and go out in one write, so a
 * batch costs one system call instead of one per event, and lines still
 * never interleave with other processes' (a write of at most PIPE_BUF
 * bytes is atomic even on a pipe).  A warning or error flushes what
 * gathered and goes out at once: it may precede a deliberate crash. */
static _Thread_local char batch_buf[4096];
static _Thread_local size_t batch_len;
static _Thread_local bool batching;

static void out(const char *buf, size_t n)
{
    ssize_t w = write(atomic_load(&log_fd), buf, n);
    (void)w;
}

static void flush_batch(void)
{
    if (batch_len > 0)
        out(batch_buf, batch_len);
    batch_len = 0;
}

void dtc__log_batch(bool on)
{
    flush_batch();
    batching = on;
}

bool dtc__log_enabled(dtc_log_level lvl)
{
    return (int)lvl <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* Replaces newlines and other control bytes (DEL too, as dtcctl does) so
 * one event stays one line of plain text. */
static void sanitize(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            s[i] = ' ';
}

void dtc_log(dtc_log_level lvl, const char *event, const dtc_txid *txid,
             const char *participant, const char *fmt, ...)
{
    if (!dtc__log_enabled(lvl))
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s pid=%d event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
                     level_names[lvl & 3], (int)my_pid(), event);
    if (txid != NULL && n < (int)sizeof line) {
        char s[DTC_TXID_STRLEN];
        dtc_txid_format(txid, s);
        n += snprintf(line + n, sizeof line - (size_t)n, " txid=%s", s);
    }
    if (participant != NULL && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " participant=%s", participant);
    if (fmt != NULL && fmt[0] != '\0' && n < (int)sizeof line - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    sanitize(line, (size_t)n);
    line[n++] = '\n';
    if (!batching || lvl <= DTC_LOG_WARN) { /* warnings go out at once, in order */
        flush_batch();
        out(line, (size_t)n);
        return;
    }
    if (batch_len + (size_t)n > sizeof batch_buf)
        flush_batch();
    memcpy(batch_buf + batch_len, line, (size_t)n);
    batch_len += (size_t)n;
}
