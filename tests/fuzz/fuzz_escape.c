/*
 * fuzz_escape.c - libFuzzer target: dtcctl's output escapers, ctl_json_str
 * (JSON string, invalid UTF-8 replaced) and ctl_put_text (control bytes
 * shown as '?'), from src/dtcctl/render.c (in the fuzz archive, main
 * renamed); stdout is captured in a memory stream.
 *
 * Input: a byte choosing the bound (< 0x80: none; else its low 7 bits, as
 * for a fixed-size field), then the string (cut at a NUL, as in a field).
 * ctl_json_str's output is checked against an independent decoder: a quoted
 * JSON string with only \", \\ and \uXXXX escapes, no raw control byte,
 * valid UTF-8 (no overlong form, surrogate or code point past U+10FFFF),
 * and unescaped it gives back the input with each byte that starts no
 * valid sequence replaced by U+FFFD.  ctl_put_text must keep the length and
 * change exactly the control bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/dtcctl/dtcctl.h"
#include "fuzz.h"

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if none:
 * decodes the code point and checks its range (the other way round from
 * dtcctl's utf8_len, which checks byte ranges). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, cp = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, cp = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Runs fn(s, max) with stdout captured; returns the output (malloc'd). */
static char *capture(void (*fn)(const char *, size_t), const char *s, size_t max, size_t *len)
{
    char *out = NULL;
    FILE *saved = stdout, *mem = open_memstream(&out, len);
    FUZZ_CHECK(mem != NULL);
    stdout = mem;
    fn(s, max);
    stdout = saved;
    FUZZ_CHECK(fclose(mem) == 0);
    return out;
}

static void check_json(const char *s, size_t max)
{
    size_t olen, n = strnlen(s, max), i = 1, got = 0;
    char *out = capture(ctl_json_str, s, max, &olen);
    const unsigned char *o = (const unsigned char *)out, *in = (const unsigned char *)s;
    int *dec = malloc((olen + 1) * sizeof *dec); /* a byte, or -1 for U+FFFD */
    FUZZ_CHECK(dec != NULL);
    FUZZ_CHECK(olen >= 2 && o[0] == '"' && o[olen - 1] == '"');
    while (i < olen - 1) {
        if (o[i] == '\\') {
            FUZZ_CHECK(i + 1 < olen - 1);
            if (o[i + 1] == '"' || o[i + 1] == '\\') {
                dec[got++] = o[i + 1];
                i += 2;
                continue;
            }
            FUZZ_CHECK(o[i + 1] == 'u' && i + 6 <= olen - 1);
            int v = 0;
            for (int k = 2; k < 6; k++) {
                int h = hexval(o[i + k]);
                FUZZ_CHECK(h >= 0);
                v = v * 16 + h;
            }
            FUZZ_CHECK(v < 0x20 || v == 0x7f || v == 0xfffd);
            dec[got++] = v == 0xfffd ? -1 : v;
            i += 6;
            continue;
        }
        FUZZ_CHECK(o[i] >= 0x20 && o[i] != 0x7f && o[i] != '"');
        size_t u = utf8_seq(o + i, olen - 1 - i);
        FUZZ_CHECK(u > 0);
        for (size_t k = 0; k < u; k++)
            dec[got++] = o[i + k];
        i += u;
    }
    /* what it should say: the input, invalid bytes replaced one by one */
    size_t want = 0;
    for (size_t k = 0; k < n;) {
        size_t u = utf8_seq(in + k, n - k);
        if (u == 0) {
            FUZZ_CHECK(want < got && dec[want++] == -1);
            k++;
            continue;
        }
        for (; u > 0; u--, k++)
            FUZZ_CHECK(want < got && dec[want++] == in[k]);
    }
    FUZZ_CHECK(want == got);
    free(dec);
    free(out);
}

static void check_text(const char *s, size_t max)
{
    size_t olen, n = strnlen(s, max);
    char *out = capture(ctl_put_text, s, max, &olen);
    FUZZ_CHECK(olen == n);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        FUZZ_CHECK(c < 0x20 || c == 0x7f ? out[k] == '?' : out[k] == s[k]);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1, max = data[0] < 0x80 ? n + 1 : (size_t)(data[0] & 0x7f);
    char *s = malloc(n + 1); /* exact size: ASan sees any overread */
    FUZZ_CHECK(s != NULL);
    memcpy(s, data + 1, n);
    s[n] = '\0';
    check_json(s, max);
    check_text(s, max);
    free(s);
    return 0;
}
