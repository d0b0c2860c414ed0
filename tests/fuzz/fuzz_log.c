/*
 * fuzz_log.c - libFuzzer target: dtc_log's line building and escaping
 * (src/libdtc/log.c) with hostile event names, participant names and format
 * arguments, written to a file in a private temp dir.
 *
 * Input: flags byte (bit 0: a txid follows in 16 bytes; bits 1-2: level;
 * bit 3: batching, two lines then a flush; bit 4: no participant), a
 * byte choosing the format, then NUL-separated event, participant and
 * two string arguments.  Whatever they hold, each call must write
 * exactly one line of at most 2047 bytes that starts with "ts=", ends
 * with its only newline and is a strict logfmt record (the tokenizer of
 * tests/tools/logfmt_lint.c).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "fuzz.h"
#include "../tools/logfmt_lint.h"

static int read_fd = -1;

static const char *const formats[] = {NULL, "", "reason=%s detail=%s", "a=%.40s b=%s",
                                      "payload=%s", "v=%s error=\"constant text\" w=%s"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[512];
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "%s/log", fuzz_tmpdir());
    FUZZ_CHECK(dtc_log_to_file(path) == DTC_OK);
    read_fd = open(path, O_RDWR | O_CLOEXEC);
    FUZZ_CHECK(read_fd >= 0);
    setenv("DTC_LOG", "debug", 1);
    dtc_log_init(DTC_LOG_DEBUG);
    return 0;
}

/* The next NUL-terminated piece of the input (the rest if no NUL). */
static const char *piece(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
    size_t n = 0;
    while (*p < end && **p != '\0' && n < cap - 1)
        buf[n++] = (char)*(*p)++;
    if (*p < end && **p == '\0')
        (*p)++;
    buf[n] = '\0';
    return buf;
}

static void check_lines(int want)
{
    static char out[8192];
    ssize_t n = pread(read_fd, out, sizeof out, 0);
    int lines = 0;
    FUZZ_CHECK(n > 0 && n < (ssize_t)sizeof out && out[n - 1] == '\n');
    for (ssize_t i = 0, start = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '\n') {
            const char *why;
            size_t col;
            FUZZ_CHECK(i - start < 2048 && strncmp(out + start, "ts=", 3) == 0);
            FUZZ_CHECK(logfmt_lint_line(out + start, (size_t)(i - start), &why, &col) == 0);
            lines++;
            start = i + 1;
        } else {
            FUZZ_CHECK(c >= 0x20 && c != 0x7f);
        }
    }
    FUZZ_CHECK(lines == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    static char event[2048], part[2048], a1[2048], a2[2048];
    dtc_txid id;
    const dtc_txid *txid = NULL;
    if (size < 2)
        return 0;
    uint8_t flags = *p++;
    const char *fmt = formats[*p++ % (sizeof formats / sizeof formats[0])];
    dtc_log_level lvl = (dtc_log_level)((flags >> 1) & 3);
    bool batch = (flags & 8) != 0;
    if ((flags & 1) && end - p >= 16) {
        memcpy(id.bytes, p, 16);
        p += 16;
        txid = &id;
    }
    piece(&p, end, event, sizeof event);
    piece(&p, end, part, sizeof part);
    piece(&p, end, a1, sizeof a1);
    piece(&p, end, a2, sizeof a2);
    FUZZ_CHECK(ftruncate(read_fd, 0) == 0);
    if (batch)
        dtc__log_batch(true);
    dtc_log(lvl, event, txid, flags & 16 ? NULL : part, fmt, a1, a2);
    if (batch) {
        dtc_log(lvl, a1, NULL, part, fmt, event, a2);
        dtc__log_batch(false);
    }
    check_lines(batch ? 2 : 1);
    return 0;
}
