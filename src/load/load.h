/*
 * load.h - dtc-load: the stress load generator and its checker, used by
 * scripts/stress.sh.
 *
 *   dtc-load run    (client.c)  one client process: begin, enlist the four
 *                   services (reserve, charge, create, schedule), commit,
 *                   in a loop; one line per transaction in its own file.
 *   dtc-load check  (check.c, check_txn.c, check_parse.c, check_report.c)
 *                   reads the clients' files, the services' state files
 *                   and dumps, and checks atomicity, outcomes (nothing
 *                   acknowledged lost, nothing in doubt) and conservation.
 *
 * Client file format (tab-separated, one line per event, written with one
 * write(2) each so a SIGKILL never leaves a torn line in the middle):
 *   B TXID PAYLOAD_INV PAYLOAD_PAY PAYLOAD_ORD PAYLOAD_SHIP   begun (pending)
 *   E TXID RESULT LATENCY_US CLASS REASON                     told outcome
 *   F RESULT                                                  begin failed
 * RESULT is a dtc_result_name (DTC_OK = committed); CLASS is a short tag
 * of why it aborted (e.g. inventory:out-of-stock, enlist:DTC_ENOTALIVE).
 *
 * Keys: SKUs "skuN", accounts "acctN", zones "zN"; order ids unique per
 * client process ("cCpPIDnSEQ").  The seeds file given to check has lines
 * "SERVICE KEY VALUE" (the --seed options the script gave the services).
 */
#ifndef DTC_LOAD_H
#define DTC_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "htab.h"

#define LOAD_NSVC 4
#define LOAD_PAY_MAX 80   /* our payloads are short; longer ones are cut */
#define LOAD_ID_MAX 37
#define LOAD_RES_MAX 24
#define LOAD_CLS_MAX 40

enum { LOAD_INV = 0, LOAD_PAY, LOAD_ORD, LOAD_SHIP };
extern const char *const load_svc_names[LOAD_NSVC];

/* ---- client (client.c) --------------------------------------------------- */
int load_run(int argc, char **argv);

/* ---- checker ---------------------------------------------------------------- */

/* One transaction as the checker knows it. */
typedef struct ltx {
    char id[LOAD_ID_MAX];
    char pay[LOAD_NSVC][LOAD_PAY_MAX]; /* client's payloads (or a ledger's) */
    int client;                        /* client file index, -1: none began it */
    int nbegun;                        /* B lines for this txid (all files) */
    int ended;                         /* an E line was seen */
    char result[LOAD_RES_MAX];
    char cls[LOAD_CLS_MAX];
    int64_t lat_us;
    int st[LOAD_NSVC];                 /* 0 none, 1 applied, 2 compensated */
    int prep[LOAD_NSVC];               /* still prepared in the state file */
    int paydiff[LOAD_NSVC];            /* ledger payload != client payload */
} ltx;

/* Transactions by txid (check_parse.c over the kit's htab). */
typedef struct ltab {
    htab h;    /* txid -> ltx; keyed by its id */
    size_t n;
} ltab;
ltx *ltab_get(ltab *t, const char *id, int create);
/* Iteration: start with *pos = 0; the next transaction or NULL. */
const ltx *ltab_next(const ltab *t, size_t *pos);

/* A service's final records from its dump: key -> value, note. */
typedef struct lrec {
    char *key, *note;
    int64_t value;
} lrec;
typedef struct lrecs {
    htab h;    /* key -> lrec (the last line of a key wins) */
    size_t n;
} lrecs;
const lrec *lrecs_get(const lrecs *r, const char *key);

/* Parsers (check_parse.c); -1 with a message on stderr on I/O errors. */
int load_parse_client(ltab *t, const char *path, int client, uint64_t *begin_failures);
int load_parse_state(ltab *t, const char *path, int svc);
int load_parse_dump(lrecs *r, const char *path);

/* Violations (check.c): one "VIOLATION KIND ..." line each (the first
 * few of a kind), counted for the verdict. */
enum {
    LOAD_V_ATOM,    /* applied at some services, not at all four */
    LOAD_V_DOUBT,   /* still prepared at the end: nobody resolved it */
    LOAD_V_LOST,    /* told committed, yet not applied (or compensated) */
    LOAD_V_OUTCOME, /* told aborted, yet applied */
    LOAD_V_CONS,    /* conservation of stock, money, zone capacity */
    LOAD_V_LEDGER,  /* ledger vs clients: unknown txid, payload, reuse */
    LOAD_V_BUSY,    /* a request ring was full */
    LOAD_V_KINDS
};
__attribute__((format(printf, 2, 3)))
void load_violation(int kind, const char *fmt, ...);

/* The per-transaction invariants (check_txn.c). */
void load_check_txn(const ltx *x);

/* Summary (check_report.c): counts by outcome and class, latency. */
void load_report(const ltab *t, double elapsed_s, uint64_t begin_failures);

int load_check(int argc, char **argv);

#endif
