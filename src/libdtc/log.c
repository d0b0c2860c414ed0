/*
 * log.c - one key=value line per event:
 *   ts=2026-11-23T11:33:38.123456Z level=info pid=42 event=vote txid=... \
 *   participant=inventory vote=no reason="out of stock"
 * Each line is a strict logfmt record (log_format.c escapes every value)
 * written with a single write(2) on an O_APPEND descriptor, so lines of
 * concurrent processes never interleave.  Level from $DTC_LOG or
 * dtc_log_set_level (--log-level); dtc_log_reopen (a SIGHUP handler) makes
 * the next line reopen the log file after a rotation.  Events that can
 * repeat thousands of times a second go through a dtc__log_limit: one
 * line per second, with the count of those held back.
 *
 * When stderr is systemd's journal (the lines go to stderr and
 * $JOURNAL_STREAM names its device and inode, as systemd.exec(5) says to
 * check), a line is "<N>level=... event=..." instead: N the syslog
 * priority (sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG), which
 * journald strips and records as PRIORITY=, and no ts= or pid=, which it
 * records itself.  A plain write, no libsystemd.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
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

/* Whether stderr is the journal: -1 not known yet, 0 no, 1 yes.  Decided
 * by dtc_log_init (or the first line), from $JOURNAL_STREAM "DEV:INO"
 * against fstat(2) of descriptor 2. */
static _Atomic int log_journal = -1;
static const char *const journal_prio[] = {"<3>", "<4>", "<6>", "<7>"};

/* A decimal number of s up to `stop`; *s moves past it.  False if none. */
static bool decimal(const char **s, char stop, unsigned long long *out)
{
    char *end = NULL;
    if (**s < '0' || **s > '9')
        return false;
    errno = 0;
    *out = strtoull(*s, &end, 10);
    if (errno != 0 || *end != stop)
        return false;
    *s = end + (stop != '\0');
    return true;
}

static int journal_check(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (env == NULL || !decimal(&env, ':', &dev) || !decimal(&env, '\0', &ino)
        || fstat(2, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* True if this line goes to the journal: to stderr, stderr the journal. */
static bool to_journal(void)
{
    int j = atomic_load_explicit(&log_journal, memory_order_relaxed);
    if (j < 0) {
        j = journal_check();
        atomic_store(&log_journal, j);
    }
    return j == 1 && atomic_load_explicit(&log_fd, memory_order_relaxed) == 2;
}

/* The level named `name` (error, warn, info, debug; any case), or -1. */
static int level_of(const char *name)
{
    for (int i = 0; i <= DTC_LOG_DEBUG; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* A process killed in the middle of a write can leave its last line torn
 * (a SIGKILL can cut a write to a file short).  The next process logging
 * to that file ends the torn line first, so its own lines, and every one
 * after them, start on a line of their own. */
static void end_torn_line(int fd)
{
    struct stat sb;
    char last, self[32];
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
        return;
    /* fd is write-only: the last byte is read through a descriptor of
     * its own to the same file */
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int r = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (r < 0)
        return;
    struct stat rs;
    if (fstat(r, &rs) == 0 && rs.st_dev == sb.st_dev && rs.st_ino == sb.st_ino
        && pread(r, &last, 1, sb.st_size - 1) == 1 && last != '\n') {
        ssize_t w = write(fd, "\n", 1);
        (void)w;
    }
    close(r);
}

void dtc_log_init(dtc_log_level dflt)
{
    atomic_store(&log_journal, journal_check());
    end_torn_line(atomic_load(&log_fd));
    const char *env = getenv("DTC_LOG");
    int lvl = env != NULL ? level_of(env) : -1;
    if (env != NULL && lvl < 0) { /* said even when the level hides warnings */
        atomic_store(&log_level, DTC_LOG_WARN);
        dtc_log(DTC_LOG_WARN, "log_level_invalid", NULL, NULL,
                "DTC_LOG=%.32s want=error|warn|info|debug using=%s", env, level_names[dflt & 3]);
    }
    atomic_store(&log_level, lvl >= 0 ? lvl : (int)dflt);
}

dtc_result dtc_log_set_level(const char *name)
{
    int lvl = name != NULL ? level_of(name) : -1;
    if (lvl < 0)
        return DTC_EINVAL;
    atomic_store(&log_level, lvl);
    return DTC_OK;
}

/* The file lines go to (empty: stderr), kept for reopening; written only
 * by dtc_log_to_file, before the threads that log start. */
static char log_path[4096];
static volatile sig_atomic_t reopen_asked;

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0)
        end_torn_line(fd);
    return fd;
}

dtc_result dtc_log_to_file(const char *path)
{
    if (path == NULL || strlen(path) >= sizeof log_path)
        return DTC_EINVAL;
    int fd = open_log(path);
    if (fd < 0)
        return DTC_ESYS;
    memcpy(log_path, path, strlen(path) + 1);
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    return DTC_OK;
}

void dtc_log_reopen(void)
{
    reopen_asked = 1;
}

/* Reopens the log file if asked (after a rotation): the old descriptor is
 * closed only once the new one is in place; a failed reopen keeps it. */
static void reopen_if_asked(void)
{
    if (!reopen_asked)
        return;
    reopen_asked = 0;
    if (log_path[0] == '\0')
        return;
    int fd = open_log(log_path);
    if (fd < 0)
        return;
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
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

bool dtc__log_allow(struct dtc__log_limit *lim, uint64_t *suppressed)
{
    int64_t now = dtc__now_ns();
    int64_t next = atomic_load(&lim->next_ns);
    if (now < next
        || !atomic_compare_exchange_strong(&lim->next_ns, &next, now + DTC__LOG_LIMIT_NS)) {
        atomic_fetch_add(&lim->suppressed, 1);
        return false;
    }
    *suppressed = atomic_exchange(&lim->suppressed, 0);
    return true;
}

bool dtc__log_enabled(dtc_log_level lvl)
{
    return (int)lvl <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

void dtc_log(dtc_log_level lvl, const char *event, const dtc_txid *txid,
             const char *participant, const char *fmt, ...)
{
    if (!dtc__log_enabled(lvl))
        return;
    char line[2048];
    struct dtc__lbuf l = {line, 0, sizeof line, 0, false, false};
    struct timespec ts;
    struct tm tm;
    char head[96];
    if (to_journal()) {
        snprintf(head, sizeof head, "%slevel=%s event=", journal_prio[lvl & 3],
                 level_names[lvl & 3]);
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(head, sizeof head,
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s pid=%d event=",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ts.tv_nsec / 1000, level_names[lvl & 3], (int)my_pid());
    }
    dtc__lb_text(&l, head);
    dtc__lb_value(&l, event, 64);
    if (txid != NULL) {
        char s[DTC_TXID_STRLEN];
        dtc_txid_format(txid, s);
        dtc__lb_text(&l, " txid=");
        dtc__lb_text(&l, s);
    }
    if (participant != NULL) {
        dtc__lb_text(&l, " participant=");
        dtc__lb_value(&l, participant, DTC_NAME_MAX);
    }
    if (fmt != NULL && fmt[0] != '\0') {
        va_list ap;
        dtc__lb_text(&l, " ");
        va_start(ap, fmt);
        dtc__lb_vformat(&l, fmt, ap);
        va_end(ap);
    }
    dtc__lb_finish(&l);
    size_t n = l.n;
    reopen_if_asked();
    if (!batching || lvl <= DTC_LOG_WARN) { /* warnings go out at once, in order */
        flush_batch();
        out(line, n);
        return;
    }
    if (batch_len + n > sizeof batch_buf)
        flush_batch();
    memcpy(batch_buf + batch_len, line, n);
    batch_len += n;
}
