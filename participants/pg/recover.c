/*
 * recover.c - dtc-pg's prepared transactions after a restart or a lost
 * connection: every gid "dtc:<txid>:NAME" of this database in
 * pg_prepared_xacts gets the outcome dtc knows.  Committing or committed
 * ones are committed, aborting or aborted ones (or ones the instance never
 * decided: presumed abort) rolled back; undecided and HEURISTIC ones are
 * kept (their outcome will be delivered or an operator decides), and so
 * is everything while dtcd is still replaying its decision log
 * (DTC_ERECOVERING).  Also run while a statement waits (work.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* The txid of a gid of ours, or -1. */
static int our_gid(const pg_opts *o, const char *gid, dtc_txid *id)
{
    char txt[DTC_TXID_STRLEN];
    size_t n = strlen(gid);
    if (n != 4 + 36 + 1 + strlen(o->name) || strncmp(gid, "dtc:", 4) != 0 || gid[40] != ':'
        || strcmp(gid + 41, o->name) != 0)
        return -1;
    memcpy(txt, gid + 4, 36);
    txt[36] = '\0';
    return dtc_txid_parse(txt, id) == DTC_OK ? 0 : -1;
}

/* What dtc decided for a prepared gid, by the one recovery rule
 * (dtc_participant_outcome): 1 commit, 0 roll back, -1 keep (undecided,
 * HEURISTIC, or nothing may be presumed yet: dtcd replays its log). */
static int decided(pg_ctx *x, const dtc_txid *id, const char **what)
{
    dtc_outcome_kind kind;
    dtc_result rc = dtc_participant_outcome(x->x_part, id, &kind);
    if (rc != DTC_OK) {
        *what = rc == DTC_ERECOVERING ? "unknown(dtcd_recovering)" : dtc_result_name(rc);
        return -1;
    }
    *what = dtc_outcome_name(kind);
    return kind == DTC_OUTCOME_COMMITTED ? 1 : kind == DTC_OUTCOME_ABORTED ? 0 : -1;
}

/* Settles one prepared gid; 1 if it stays prepared. */
static int settle(pg_ctx *x, const char *gid, const dtc_txid *id, int quiet)
{
    const char *what = "";
    char sql[PG_GID_MAX + 32], why[DTC_REASON_MAX] = "";
    int commit = decided(x, id, &what);
    if (commit < 0) {
        if (!quiet)
            dtc_log(DTC_LOG_INFO, "recover", id, x->x_o->name, "gid=%s outcome=%s action=keep",
                    gid, what);
        return 1;
    }
    snprintf(sql, sizeof sql, "%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", gid);
    int frc = pg_finish_prepared(x, sql, why, sizeof why);
    dtc_log(frc < 0 ? DTC_LOG_WARN : DTC_LOG_INFO, "recover", id, x->x_o->name,
            "gid=%s outcome=%s action=%s error=%s", gid, what, commit ? "commit" : "rollback",
            frc < 0 ? why : "none");
    return frc < 0;
}

int pg_recover(pg_ctx *x, int quiet)
{
    char why[DTC_REASON_MAX] = "";
    int64_t deadline = pg_now_ns() + (int64_t)x->x_o->op_timeout_ms * 1000000;
    pg_conn *c = pg_pool_take_wait(x->x_pool, deadline, why, sizeof why);
    PGresult *r = NULL;
    if (c != NULL)
        r = pg_query(c, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"
                        " AND gid LIKE 'dtc:%' ORDER BY prepared", deadline, why, sizeof why);
    if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
        dtc_log(DTC_LOG_WARN, "recover", NULL, x->x_o->name, "error=%s what=\"cannot read pg_prepared_xacts\"",
                r ? PQresultErrorMessage(r) : why);
        if (r != NULL)
            PQclear(r);
        return -1;
    }
    int n = PQntuples(r), left = 0, ours = 0;
    char (*gids)[PG_GID_MAX] = n > 0 ? calloc((size_t)n, sizeof *gids) : NULL;
    for (int i = 0; gids != NULL && i < n; i++)
        snprintf(gids[i], PG_GID_MAX, "%s", PQgetvalue(r, i, 0));
    PQclear(r); /* c is free again: settle may use it */
    for (int i = 0; gids != NULL && i < n; i++) {
        dtc_txid id;
        if (our_gid(x->x_o, gids[i], &id) != 0)
            continue;
        ours++;
        left += settle(x, gids[i], &id, quiet);
    }
    free(gids);
    if (n > 0 && gids == NULL)
        return -1;
    if (ours > 0 && !quiet)
        dtc_log(DTC_LOG_INFO, "recover", NULL, x->x_o->name, "prepared=%d kept=%d", ours, left);
    return left;
}
