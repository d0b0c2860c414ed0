/*
 * listen.c - dtc-exporter's --listen ADDR:PORT: numeric addresses only
 * (127.0.0.1:9477, 0.0.0.0:9477, [::1]:9477, [::]:9477), so the address
 * it binds is the one written, never a name resolved at start.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "exporter.h"

/* Decimal 0..65535, digits only. */
static int port_parse(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    if (*s == '\0' || strlen(s) > 5)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int exp_listen_parse(const char *s, struct exp_listen *out, char *err, size_t errsize)
{
    const char *colon = NULL, *host = s;
    size_t hlen;
    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        const char *close = strstr(s, "]:");
        host = s + 1;
        colon = close != NULL ? close + 1 : NULL;
        hlen = close != NULL ? (size_t)(close - host) : 0;
        out->v6 = true;
    } else {
        colon = strrchr(s, ':');
        hlen = colon != NULL ? (size_t)(colon - s) : 0;
    }
    uint16_t port;
    if (colon == NULL || hlen == 0 || hlen >= sizeof out->host || port_parse(colon + 1, &port)) {
        snprintf(err, errsize, "--listen '%s': want ADDR:PORT, ADDR numeric (127.0.0.1, "
                 "[::1]) and PORT 0..65535", s);
        return -1;
    }
    out->port = port;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    if (out->v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        out->len = sizeof *a;
        if (inet_pton(AF_INET6, out->host, &a->sin6_addr) == 1)
            return 0;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&out->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        out->len = sizeof *a;
        if (inet_pton(AF_INET, out->host, &a->sin_addr) == 1)
            return 0;
    }
    snprintf(err, errsize, "--listen '%s': '%s' is not a numeric %s address%s", s, out->host,
             out->v6 ? "IPv6" : "IPv4", out->v6 || strchr(out->host, ':') == NULL ? ""
             : " (an IPv6 address goes in brackets: [::1]:9477)");
    return -1;
}
