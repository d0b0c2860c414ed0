/*
 * http.c - dtc-exporter's HTTP side, on libmicrohttpd: GET (or HEAD)
 * /metrics answers the library's rendering of the instance
 * (dtc_metrics_text: the segment attached read-only for the scrape, no
 * lock taken), / a pointer to it, anything else 404 or 405.
 *
 * One internal thread serves every connection (a scrape is a few
 * microseconds of reading memory); connections are capped in number and
 * in idle time, so a slow or hostile client costs a slot, never the
 * exporter.  libmicrohttpd's own messages go to the log as logfmt lines.
 */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter.h"

#define EXP_MAX_CONNECTIONS 32
#define EXP_PER_IP_CONNECTIONS 8
#define EXP_IDLE_TIMEOUT_S 10

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char index_text[] = "dtc-exporter: the metrics are at /metrics\n";

/* What the last scrape's attach said, so a change is logged once, not
 * at every scrape (-1: none yet).  Written by the server's one thread. */
static _Atomic int last_rc = -1;

static void note_attach(const char *instance, dtc_result rc)
{
    int before = atomic_exchange(&last_rc, (int)rc);
    if (before == (int)rc)
        return;
    if (rc == DTC_OK)
        dtc_log(DTC_LOG_INFO, "instance_up", NULL, NULL, "instance=%s", instance);
    else
        dtc_log(rc == DTC_ENOSEGMENT ? DTC_LOG_WARN : DTC_LOG_ERROR, "instance_down", NULL, NULL,
                "instance=%s error=%s reason=%s metric=\"dtc_up 0\"", instance,
                dtc_result_name(rc), dtc_strerror(rc));
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result metrics(struct MHD_Connection *c, const char *instance)
{
    char *text = NULL;
    size_t len = 0;
    dtc_result rc = dtc_metrics_text(instance, &text, &len);
    if (text == NULL) {
        dtc_log(DTC_LOG_ERROR, "scrape_failed", NULL, NULL, "instance=%s error=%s", instance,
                dtc_result_name(rc));
        static char failed[] = "dtc-exporter: cannot render the metrics (see its log)\n";
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, failed, strlen(failed),
                     MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
    }
    note_attach(instance, rc);
    return reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE, content_type);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload;
    (void)req_cls;
    static char not_found[] = "not found: the metrics are at /metrics\n";
    static char not_allowed[] = "method not allowed: GET or HEAD\n";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *upload_size = 0; /* a body is not read */
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed),
                     MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
    }
    if (strcmp(url, "/metrics") == 0)
        return metrics(c, cls);
    if (strcmp(url, "/") == 0)
        return reply(c, MHD_HTTP_OK, (char *)index_text, strlen(index_text),
                     MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
    return reply(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found), MHD_RESPMEM_PERSISTENT,
                 "text/plain; charset=utf-8");
}

/* libmicrohttpd's messages, as one logfmt line each. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    dtc_log(DTC_LOG_WARN, "http_error", NULL, NULL, "error=%s", msg);
}

struct MHD_Daemon *exp_http_start(const struct exp_listen *l, const char *instance)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (l->v6)
        flags |= MHD_USE_IPv6;
    /* The address (MHD_OPTION_SOCK_ADDR) holds the port; the one given
     * here only names it in libmicrohttpd's messages. */
    return MHD_start_daemon(flags, l->port, NULL, NULL, handle, (void *)instance,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first: all */
                            MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&l->addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)EXP_MAX_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)EXP_PER_IP_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EXP_IDLE_TIMEOUT_S,
                            MHD_OPTION_END);
}

uint16_t exp_http_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return i != NULL ? i->port : 0;
}

void exp_http_stop(struct MHD_Daemon *d)
{
    MHD_stop_daemon(d);
}
