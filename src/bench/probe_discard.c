/*
 * probe_discard.c - dtc-probe-discard: what removing an old log file does
 * to the log's syncs (docs/performance.md, "Old log files recycled").
 *
 * One thread writes 128 bytes and fdatasyncs, over and over, in a
 * preallocated file (the decision log's group commit); another, like
 * dtcd's tick, every 400 ms gets rid of an old 16 MiB file of written
 * blocks and has a zero-filled spare made, 256 KiB pieces at a time
 * (sync_file_range), then syncs the directory:
 *   unlink    a new spare file is written and the old file unlinked
 *   recycle   the old file is renamed and zero-filled over its own blocks
 * It prints the syncs' percentiles and the slowest removal (unlink only).
 * Usage: dtc-probe-discard unlink|recycle DIR [SECONDS]; DIR on the file
 * system under test (files DIR/probe.*, removed at the end).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { FILE_BYTES = 16 << 20, PIECE = 256 << 10, MAX_SYNCS = 1 << 20 };

static const char *dir;
static int recycle;
static atomic_int stop;
static double slowest_unlink_ms;
static unsigned char piece[PIECE];

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void path_of(char *buf, size_t size, const char *name, int no)
{
    snprintf(buf, size, "%s/probe.%s%d", dir, name, no);
}

/* Writes FILE_BYTES of zeros over fd, a piece at a time, each sent to the
 * disk before the next, then fdatasync; -1 on error. */
static int zero_fill(int fd)
{
    for (off_t at = 0; at < FILE_BYTES; at += PIECE)
        if (pwrite(fd, piece, PIECE, at) != PIECE
            || sync_file_range(fd, at, PIECE, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE
                                                   | SYNC_FILE_RANGE_WAIT_AFTER) != 0)
            return -1;
    return fdatasync(fd);
}

static int fill_new(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = fd >= 0 ? zero_fill(fd) : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

static int sync_dir(void)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 ? fsync(fd) : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* One old file goes, one spare is made: file `no` is old, `no + 1` new. */
static int turn(int no)
{
    char old[512], next[512];
    path_of(old, sizeof old, "f", no);
    path_of(next, sizeof next, "f", no + 1);
    if (!recycle) {
        if (fill_new(next) != 0)
            return -1;
        double t = now_ms();
        int rc = unlink(old);
        double took = now_ms() - t;
        slowest_unlink_ms = took > slowest_unlink_ms ? took : slowest_unlink_ms;
        return rc == 0 ? sync_dir() : -1;
    }
    if (rename(old, next) != 0)
        return -1;
    int fd = open(next, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    int rc = fd >= 0 ? zero_fill(fd) : -1;
    if (fd >= 0)
        close(fd);
    return rc == 0 ? sync_dir() : -1;
}

static void *tick(void *arg)
{
    char path[512];
    int no = 0;
    (void)arg;
    path_of(path, sizeof path, "f", 0);
    if (fill_new(path) != 0) {
        perror("probe: first file");
        exit(1);
    }
    while (!atomic_load(&stop)) {
        if (turn(no++) != 0) {
            perror("probe: turn");
            exit(1);
        }
        usleep(400000);
    }
    path_of(path, sizeof path, "f", no);
    unlink(path);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The log thread: syncs until `seconds` pass; their latencies into lat. */
static size_t log_syncs(int fd, double seconds, double *lat)
{
    size_t n = 0;
    off_t at = 0;
    for (double end = now_ms() + seconds * 1e3; now_ms() < end && n < MAX_SYNCS;) {
        double t = now_ms();
        if (pwrite(fd, piece, 128, at) != 128 || fdatasync(fd) != 0) {
            perror("probe: log sync");
            exit(1);
        }
        lat[n++] = now_ms() - t;
        at = (at + 4096) % FILE_BYTES;
    }
    return n;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    if (argc < 3 || (strcmp(argv[1], "unlink") != 0 && strcmp(argv[1], "recycle") != 0)) {
        fprintf(stderr, "usage: dtc-probe-discard unlink|recycle DIR [SECONDS]\n");
        return 2;
    }
    recycle = strcmp(argv[1], "recycle") == 0;
    dir = argv[2];
    double seconds = argc > 3 ? strtod(argv[3], &end) : 8;
    if ((end != NULL && (end == argv[3] || *end != '\0')) || !(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "dtc-probe-discard: SECONDS must be a number in (0, 600]\n");
        return 2;
    }
    char logp[512];
    snprintf(logp, sizeof logp, "%s/probe.log", dir);
    static double lat[MAX_SYNCS];
    int fd = open(logp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || zero_fill(fd) != 0) {
        perror("probe: log file");
        return 1;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, tick, NULL) != 0)
        return 1;
    size_t n = log_syncs(fd, seconds, lat);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    close(fd);
    unlink(logp);
    if (n == 0)
        return 1;
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("%-7s syncs=%zu p50=%.3f p99=%.3f p99.9=%.3f max=%.3f ms", argv[1], n, lat[n / 2],
           lat[n * 99 / 100], lat[n * 999 / 1000], lat[n - 1]);
    if (!recycle)
        printf(" slowest_unlink=%.2f ms", slowest_unlink_ms);
    printf("\n");
    return 0;
}
