/*
 * svc_int.h - what the files of the service framework share (svc.c, the
 * callbacks and the loop; svc_opts.c, the options): the service's state.
 */
#ifndef DTC_SVC_INT_H
#define DTC_SVC_INT_H

#include <stddef.h>

#include "dtc/dtc.h"
#include "store.h"
#include "svc.h"
#include "svc_horizon.h"

typedef struct svc_opts {
    const char *instance;     /* NULL: $DTC_INSTANCE, else "default" */
    const char *data_dir;
    const char *name;
    const char **seeds;
    size_t nseeds;
    double fail_prepare, fail_commit;
    unsigned delay_prepare_ms;
    dtc_op crash_at;          /* DTC_OP_NONE: never */
    int dump;
    int no_fsync;             /* --no-fsync: benchmarks only */
    int own_fsync;            /* --own-fsync: the state file's log, not the journal */
    int group;                /* --group: group-writable data allowed
                                 when the group is one of ours */
    unsigned long compact_min; /* --compact-min: 0 = the store's default */
} svc_opts;

typedef struct svc {
    const store_schema *sv_schema;
    svc_opts sv_o;
    store *sv_store;
    unsigned short sv_rand[3]; /* erand48 state for fault injection */
    int sv_exit;               /* exit code once stopped */
    int sv_keep_ledger;        /* $DTC_KEEP_LEDGER set: never retire ledger
                                  entries (audits that read every one) */
    svc_horizon sv_hz;         /* the ledger retirement pass going on */
    /* The transactions prepared at the last recovery check, sorted: the
     * next check asks only about those still prepared (recover). */
    char (*sv_aged)[STORE_TXID_MAX];
    size_t sv_naged;
    /* The instance journal (svc_journal.c): the participant, the prepare
     * callback's request while store_prepare runs, the store's hooks. */
    dtc_participant *sv_part;
    const dtc_request *sv_cur_rq;
    store_journal sv_journal;
    uint64_t sv_syncs_told;     /* the store's syncs told to the library so far */
} svc;

/* svc_journal.c: with the store open and p registered, replays its
 * records after the snapshot's LSN from the instance journal, then puts
 * the store on the journal and stamps a snapshot, or, with --own-fsync or
 * --no-fsync, writes a complete state file and releases its hold on the
 * log.  0, or -1 (logged). */
int svc__journal_start(svc *s, dtc_instance *in, dtc_participant *p);
/* Whether the store is on the journal. */
int svc__journal_on(const svc *s);

/* Parses argv into s->sv_o: 0 ok, 1 help or version printed, -1 bad usage
 * (message printed). */
int svc__parse_opts(svc *s, int argc, char **argv);

#endif
