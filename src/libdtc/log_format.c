/*
 * log_format.c - builds one strict logfmt record for dtc_log.
 *
 * A record is "key=value" pairs separated by single spaces.  The keys and
 * the literal text of a format come from dtc's own code; every string a
 * format takes (%s, %.Ns, %.*s) is a value that may come from anywhere (a
 * payload, a reason, a path, a name read from the segment), so it is
 * written escaped: bare when it is non-empty printable ASCII without
 * space, '=', '"' or '\', else in double quotes with \" \\ \n \r \t and
 * \xHH for every other control byte and for bytes that are not part of a
 * valid UTF-8 sequence (valid UTF-8 stays as it is).  Other conversions
 * (numbers, characters) go through snprintf one at a time.
 *
 * A record that does not fit its buffer is cut at the last pair boundary
 * and ends with "truncated=true", so a cut never leaves half a quote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define LB_RESERVE 16 /* room kept for " truncated=true" */

static size_t lb_room(const struct dtc__lbuf *l)
{
    return l->cap - LB_RESERVE - 1 > l->n ? l->cap - LB_RESERVE - 1 - l->n : 0;
}

/* Stops the record at its last pair boundary. */
static void lb_cut(struct dtc__lbuf *l)
{
    if (!l->cut)
        l->n = l->safe;
    l->cut = true;
}

/* Literal text of a format (trusted): a space outside quotes ends a pair. */
static void lb_literal(struct dtc__lbuf *l, const char *s, size_t len)
{
    for (size_t i = 0; i < len && !l->cut; i++) {
        if (lb_room(l) == 0) {
            lb_cut(l);
            return;
        }
        char c = s[i];
        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = '_';
        if (c == ' ' && !l->inq)
            l->safe = l->n;
        if (c == '"')
            l->inq = !l->inq;
        l->b[l->n++] = c;
    }
}

void dtc__lb_text(struct dtc__lbuf *l, const char *s)
{
    lb_literal(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
               : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0)
        || (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return len;
}

static bool bare_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '=' || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* Appends the escape of s[i] (one byte or one UTF-8 sequence) to out;
 * returns how many input bytes it used, 0 if out has no room. */
static size_t escape_one(const unsigned char *s, size_t n, char *out, size_t room, size_t *w)
{
    char tmp[8];
    size_t used = 1, k;
    unsigned char c = s[0];
    if (c == '"' || c == '\\')
        k = (size_t)snprintf(tmp, sizeof tmp, "\\%c", c);
    else if (c == '\n' || c == '\r' || c == '\t')
        k = (size_t)snprintf(tmp, sizeof tmp, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c >= 0x20 && c < 0x7f)
        tmp[0] = (char)c, k = 1;
    else if (c >= 0x80 && (used = utf8_len(s, n)) > 0)
        memcpy(tmp, s, used), k = used;
    else
        used = 1, k = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
    if (k > room)
        return 0;
    memcpy(out, tmp, k);
    *w += k;
    return used;
}

void dtc__lb_value(struct dtc__lbuf *l, const char *s, size_t maxlen)
{
    if (l->cut)
        return;
    if (s == NULL)
        s = "(null)";
    size_t n = strnlen(s, maxlen);
    if (bare_ok(s, n)) {
        if (n > lb_room(l)) {
            lb_cut(l);
            return;
        }
        memcpy(l->b + l->n, s, n);
        l->n += n;
        return;
    }
    if (lb_room(l) < 2) {
        lb_cut(l);
        return;
    }
    l->b[l->n++] = '"';
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t room = lb_room(l) > 0 ? lb_room(l) - 1 : 0, w = 0; /* 1: the closing quote */
        size_t used = escape_one(u + i, n - i, l->b + l->n, room, &w);
        if (used == 0) {
            l->b[l->n++] = '"';
            lb_cut(l);
            return;
        }
        l->n += w;
        i += used;
    }
    l->b[l->n++] = '"';
}

/* One non-string conversion, given its spec (e.g. "%016llx"). */
static void lb_number(struct dtc__lbuf *l, const char *spec, char conv, int len, va_list *ap)
{
    char tmp[512];
    int k;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    /* The branches differ only in va_arg's type, which clang-tidy's clone
     * check does not see. */
    // NOLINTBEGIN(bugprone-branch-clone)
    if (conv == 'f' || conv == 'g' || conv == 'e' || conv == 'F' || conv == 'G' || conv == 'E')
        k = len == 'L' ? snprintf(tmp, sizeof tmp, spec, va_arg(*ap, long double))
                       : snprintf(tmp, sizeof tmp, spec, va_arg(*ap, double));
    else if (conv == 'p')
        k = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, void *));
    else if (len == 'l')
        k = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, long));
    else if (len == 'q')
        k = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, long long));
    else if (len == 'z' || len == 't')
        k = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, size_t));
    else if (len == 'j')
        k = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, intmax_t));
    else
        k = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, int));
    // NOLINTEND(bugprone-branch-clone)
#pragma GCC diagnostic pop
    if (k < 0 || (size_t)k >= sizeof tmp)
        k = 0;
    for (int i = 0; i < k; i++)
        if (tmp[i] == ' ' || tmp[i] == '"' || tmp[i] == '=')
            tmp[i] = '_'; /* "% d" and friends: stay one bare value */
    lb_literal(l, tmp, (size_t)k);
}

/* Parses the conversion at fmt (just past '%') and writes it; returns the
 * position after it. */
static const char *lb_conversion(struct dtc__lbuf *l, const char *fmt, va_list *ap)
{
    char spec[32] = "%";
    size_t sn = 1;
    int prec = -1, len = 0;
    while (strchr("-+ #0", *fmt) != NULL && *fmt != '\0' && sn < 8)
        spec[sn++] = *fmt++;
    if (*fmt == '*') {
        sn += (size_t)snprintf(spec + sn, 8, "%d", va_arg(*ap, int) % 1000);
        fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9' && sn < 16)
        spec[sn++] = *fmt++;
    if (*fmt == '.') {
        fmt++;
        if (*fmt == '*') {
            prec = va_arg(*ap, int);
            fmt++;
        } else {
            prec = 0;
            while (*fmt >= '0' && *fmt <= '9')
                prec = prec * 10 + (*fmt++ - '0');
        }
        if (prec >= 0)
            sn += (size_t)snprintf(spec + sn, sizeof spec - sn - 4, ".%d", prec > 999 ? 999 : prec);
    }
    for (; strchr("hlzjtLq", *fmt) != NULL && *fmt != '\0'; fmt++) {
        len = len == 'l' && *fmt == 'l' ? 'q' : len == 'h' ? 'h' : *fmt;
        spec[sn++] = *fmt;
    }
    char conv = *fmt;
    if (conv == '\0')
        return fmt;
    spec[sn++] = conv;
    spec[sn] = '\0';
    if (conv == 's')
        dtc__lb_value(l, va_arg(*ap, const char *), prec < 0 ? SIZE_MAX : (size_t)prec);
    else if (conv == '%')
        lb_literal(l, "%", 1);
    else if (conv == 'c') {
        char c[2] = {(char)va_arg(*ap, int), '\0'};
        dtc__lb_value(l, c, 1);
    } else
        lb_number(l, spec, conv, len, ap);
    return fmt + 1;
}

void dtc__lb_vformat(struct dtc__lbuf *l, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    while (*fmt != '\0' && !l->cut) {
        const char *pct = strchr(fmt, '%');
        size_t lit = pct != NULL ? (size_t)(pct - fmt) : strlen(fmt);
        lb_literal(l, fmt, lit);
        if (pct == NULL)
            break;
        fmt = lb_conversion(l, pct + 1, &cp);
    }
    va_end(cp);
}

void dtc__lb_finish(struct dtc__lbuf *l)
{
    if (l->cut) {
        if (l->n > l->safe)
            l->n = l->safe;
        memcpy(l->b + l->n, " truncated=true", 15);
        l->n += 15;
    }
    l->b[l->n++] = '\n';
}
