/*
 * exporter.h - what dtc-exporter's files share: the --listen address
 * (listen.c) and the HTTP server that serves /metrics (http.c); main.c
 * parses the options and waits for a stop signal.
 */
#ifndef DTC_EXPORTER_H
#define DTC_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dtc/dtc.h"

#define EXP_DEFAULT_LISTEN "127.0.0.1:9477"

/* A parsed --listen ADDR:PORT: a numeric IPv4 address, or an IPv6 one in
 * brackets; port 0..65535 (0: any free port). */
struct exp_listen {
    struct sockaddr_storage addr;
    socklen_t len;
    bool v6;
    uint16_t port;
    char host[48]; /* the address as given, without brackets */
};

/* Parses s into *out: 0, or -1 with a one-line reason in err. */
int exp_listen_parse(const char *s, struct exp_listen *out, char *err, size_t errsize);

struct MHD_Daemon;
/* Serves instance's metrics at http://ADDR:PORT/metrics from a thread of
 * its own; NULL if it cannot listen (said in the log). */
struct MHD_Daemon *exp_http_start(const struct exp_listen *l, const char *instance);
/* The port it listens on (the one chosen when --listen said 0). */
uint16_t exp_http_port(struct MHD_Daemon *d);
void exp_http_stop(struct MHD_Daemon *d);

#endif
