/*
 * logfmt_lint.c - the strict logfmt tokenizer of logfmt_lint.h, used by
 * the test harness over every log file a test leaves, by check_core, by
 * the log fuzz target and (dtc-logfmt-lint) by scripts/stress.sh.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logfmt_lint.h"

static bool key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '.' || c == '-';
}

static bool bare_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

static bool hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of a valid UTF-8 multibyte sequence at s, 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
               : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)
        || (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* A quoted value starting at s[*i] == '"'; advances *i past it. */
static const char *quoted(const unsigned char *s, size_t n, size_t *i)
{
    for ((*i)++; *i < n; (*i)++) {
        unsigned char c = s[*i];
        if (c == '"') {
            (*i)++;
            return NULL;
        }
        if (c == '\\') {
            unsigned char e = *i + 1 < n ? s[*i + 1] : 0;
            if (e == 'x' && *i + 3 < n && hex(s[*i + 2]) && hex(s[*i + 3]))
                *i += 3;
            else if (e == '"' || e == '\\' || e == 'n' || e == 'r' || e == 't')
                *i += 1;
            else
                return "bad escape";
        } else if (c >= 0x80) {
            size_t k = utf8_seq(s + *i, n - *i);
            if (k == 0)
                return "byte that is not UTF-8";
            *i += k - 1;
        } else if (c < 0x20 || c == 0x7f) {
            return "control byte in a value";
        }
    }
    return "unterminated quote";
}

int logfmt_lint_line(const char *line, size_t n, const char **why, size_t *col)
{
    const unsigned char *s = (const unsigned char *)line;
    size_t i = 0;
    const char *err = n == 0 ? "empty line" : NULL;
    while (err == NULL && i < n) {
        size_t k = i;
        while (i < n && key_char(s[i]))
            i++;
        if (i == k)
            err = "expected a key";
        else if (i >= n || s[i] != '=')
            err = "expected '=' after the key";
        else if (++i >= n || s[i] == ' ')
            err = "empty value";
        else if (s[i] == '"')
            err = quoted(s, n, &i);
        else
            while (i < n && s[i] != ' ')
                if (!bare_char(s[i++])) {
                    err = "bad byte in a bare value";
                    i--;
                    break;
                }
        if (err == NULL && i < n && (s[i] != ' ' || ++i >= n))
            err = "expected one space between pairs";
    }
    if (err == NULL)
        return 0;
    *why = err;
    *col = i;
    return -1;
}

long logfmt_lint_file(const char *path, int records_only)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long bad = 0, no = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        const char *why;
        size_t col;
        no++;
        if (len > 0 && line[len - 1] != '\n')
            break; /* the last line, cut: its writer was killed in the middle
                    * of the write (SIGKILL ends a write to a file short) */
        len--;
        if (records_only && strncmp(line, "ts=", 3) != 0)
            continue;
        if (logfmt_lint_line(line, (size_t)len, &why, &col) != 0 && bad++ < 10)
            fprintf(stderr, "%s:%ld:%zu: not logfmt: %s: %.*s\n", path, no, col + 1, why,
                    (int)(len > 200 ? 200 : len), line);
    }
    free(line);
    fclose(f);
    return bad;
}
