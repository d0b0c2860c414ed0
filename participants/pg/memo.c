/*
 * memo.c - what dtc-pg remembers, in memory, about transactions it
 * voted on: the xid of each one it prepared (so a gid found gone can be
 * asked about with pg_xact_status) and the ones it refused before any
 * PREPARE reached PostgreSQL (so their rollback has nothing to do).  The
 * last PG_XIDS of each; a restart forgets them, and the callers then fall
 * back to PostgreSQL and dtc's outcome.
 */
#include <string.h>

#include "pg.h"

void pg_xid_put(pg_pool *p, const dtc_txid *id, unsigned long long xid)
{
    pg_xid *x = &p->p_xids[p->p_xid_next++ % PG_XIDS];
    x->x_id = *id;
    x->x_xid = xid;
}

unsigned long long pg_xid_get(const pg_pool *p, const dtc_txid *id)
{
    for (unsigned i = 0; i < PG_XIDS; i++) {
        const pg_xid *x = &p->p_xids[(p->p_xid_next - 1 - i) % PG_XIDS];
        if (x->x_xid != 0 && memcmp(&x->x_id, id, sizeof *id) == 0)
            return x->x_xid;
    }
    return 0;
}

void pg_unprepared_put(pg_pool *p, const dtc_txid *id)
{
    p->p_unprepared[p->p_unprepared_next++ % PG_XIDS] = *id;
}

int pg_unprepared_has(const pg_pool *p, const dtc_txid *id)
{
    unsigned n = p->p_unprepared_next < PG_XIDS ? p->p_unprepared_next : PG_XIDS;
    for (unsigned i = 0; i < n; i++)
        if (memcmp(&p->p_unprepared[i], id, sizeof *id) == 0)
            return 1;
    return 0;
}
