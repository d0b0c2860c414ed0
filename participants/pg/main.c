/*
 * main.c - dtc-pg's process: options, registration under --name (waiting
 * for dtcd's segment like the other services), recovery of the prepared
 * transactions it finds, "ready name=NAME pid=PID", then batches until
 * SIGTERM/SIGINT.  Between batches the pool's background rollbacks
 * progress, and recovery runs again every second while prepared
 * transactions are kept or unread, or after a connection came back.
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "part_proc.h"
#include "pg.h"


static dtc_result serve_loop(pg_ctx *x, const dtc_participant_ops *ops, int pending)
{
    int64_t last = pg_now_ns();
    while (!part_stop) {
        dtc_result rc = dtc_participant_serve_once(x->x_part, ops, 200, NULL);
        if (rc != DTC_OK)
            return rc;
        pg_pool_drive(x->x_pool, 0);
        if (pg_now_ns() - last >= 1000000000 && (pending != 0 || x->x_pool->p_reconnected)) {
            x->x_pool->p_reconnected = 0;
            pending = pg_recover(x, 0);
            last = pg_now_ns();
        }
    }
    return DTC_OK;
}

static int serve(const pg_opts *o)
{
    dtc_instance *inst = NULL;
    dtc_participant *part = NULL;
    static pg_pool pool;
    dtc_result rc = part_attach(o->instance, o->name, &inst);
    if (part_stopped_waiting(rc, o->name))
        return 0;
    if (rc == DTC_OK && (rc = dtc_participant_register(inst, o->name, &part)) != DTC_OK)
        dtc_close(&inst);
    if (rc != DTC_OK) {
        fprintf(stderr, "dtc-pg: %s: %s\n", o->name, dtc_strerror(rc));
        return 1;
    }
    pg_pool_init(&pool, o);
    static pg_ctx x; /* large (the requests sent off): not on the stack */
    x = (pg_ctx){.x_pool = &pool, .x_o = o, .x_inst = inst, .x_part = part};
    pool.p_settle = pg_settle_all;
    pool.p_settle_ctx = &x;
    dtc_participant_ops ops = pg_ops_template;
    ops.ctx = &x;
    char why[DTC_REASON_MAX] = "";
    int exit_code = 0;
    if (pg_conn_up(&pool, &pool.p_conns[o->pool], why, sizeof why) != 0
        && strncmp(why, "connection:", 11) != 0) {
        fprintf(stderr, "dtc-pg: %s: %s\n", o->name, why); /* a statement PostgreSQL refuses */
        exit_code = 1;
    } else {
        if (why[0] != '\0')
            dtc_log(DTC_LOG_WARN, "start", NULL, o->name, "error=%s action=retry", why);
        pool.p_reconnected = 0;
        int pending = pg_recover(&x, 0);
        dtc_log(DTC_LOG_INFO, "start", NULL, o->name, "pool=%d statements=%d", o->pool, o->nstmts);
        part_ready(o->name);
        if ((rc = serve_loop(&x, &ops, pending)) != DTC_OK) {
            dtc_log(DTC_LOG_ERROR, "serve", NULL, o->name, "error=%s", dtc_strerror(rc));
            exit_code = 1;
        }
    }
    dtc_participant_unregister(&part);
    pg_pool_close(&pool);
    dtc_close(&inst);
    dtc_log(DTC_LOG_INFO, "stop", NULL, o->name, "exit=%d", exit_code);
    return exit_code;
}

int main(int argc, char **argv)
{
    static pg_opts o;
    dtc_log_init(DTC_LOG_INFO);
    int rc = pg_parse_opts(&o, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    part_catch_signals();
    return serve(&o);
}
