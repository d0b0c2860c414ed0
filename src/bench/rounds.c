/*
 * rounds.c - the sync rounds an order waits for, by each mode's design:
 * the syncs (fsync, fdatasync, a WAL flush) a transaction waits for one
 * after another before dtc_commit_transaction (or pg's COMMIT PREPARED)
 * returns.  Syncs that run side by side (N participants' prepare fsyncs)
 * are one round; a sync shared by a group commit is one round too.  The
 * measured counterpart is the syncs per order (grid.c): how many syncs
 * the machine made, divided by the orders committed.
 */
#include "bench.h"

/* One row per mode: rounds at N >= 2, and at N = 1, where dtc commits in
 * one phase (docs/api.md) unless the vote carries a journal prepare
 * record: no decision record, so the decision log's round is saved. */
static const struct {
    int mode, rounds, rounds_n1;
} table[] = {
    /* no dtc, no storage */
    {MODE_FLOOR, 0, 0},
    {MODE_FLOOR_WAKE, 0, 0},
    {MODE_FLOOR_ENLIST, 0, 0},
    /* dtc-noop syncs nothing; the decision log's group commit */
    {MODE_NOOP, 1, 0},
    /* dtcd --no-decision-log: nothing is synced */
    {MODE_NOOP_NOLOG, 0, 0},
    /* the prepare record rides on the COMMIT record's group commit
     * (dtc_journal_prepare: the record is durable with the decision) */
    {MODE_NOOP_JOURNAL, 1, 1},
    /* services on the journal: likewise one round, the COMMIT's sync */
    {MODE_SERVICES, 1, 1},
    /* the participants' prepare fsyncs, the decision log, the
     * participants' commit fsyncs (at N = 1: no decision log) */
    {MODE_SERVICES_OWNFSYNC, 3, 2},
    /* --no-fsync against dtcd --no-decision-log: nothing is synced */
    {MODE_SERVICES_NOFSYNC, 0, 0},
    /* dtc-pg's PREPARE TRANSACTION (a WAL flush) beside the journal's
     * unforced prepare records, the decision log (which also makes those
     * durable), dtc-pg's COMMIT PREPARED (a WAL flush).  At N = 1 the
     * only participant is an inventory service on the journal. */
    {MODE_SERVICES_PG, 3, 1},
    /* PREPARE TRANSACTION and COMMIT PREPARED each flush the WAL (the
     * databases' flushes run side by side: one round each) */
    {MODE_PG, 2, 2},
    /* fsync=off, synchronous_commit=off */
    {MODE_PG_NOFSYNC, 0, 0},
};

int bench_sync_rounds(int mode, int nparts)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].mode == mode)
            return nparts == 1 ? table[i].rounds_n1 : table[i].rounds;
    return -1;
}
