/*
 * matrix_util.h - helpers for the crash matrix and damage tests, on top of
 * harness.h (which they never change): processes started with an extra
 * environment (DTC_CRASH_AT), a dtcd re-spawned on an existing segment,
 * and a reader of the services' state files (the ledgers) that says, per
 * transaction id, whether it is applied, compensated, or still prepared.
 */
#ifndef DTC_TEST_MATRIX_UTIL_H
#define DTC_TEST_MATRIX_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "dtc/dtc.h"
#include "harness.h"

/* The four services of the shop, in h_order's enlistment order. */
#define M_NSVC 4
extern const char *const m_svc[M_NSVC];

/* dtc-<svc[i]> under its own name, data in h_data_dir(), the same seeds as
 * h_start_shop; env (NULL-terminated "K=V" list, may be NULL) added to its
 * environment; waits until registered and "ready".  Returns the pid or -1. */
pid_t m_start_svc(int i, const char *const env[]);
/* Same with extra arguments (NULL-terminated, may be NULL). */
pid_t m_start_svc_args(int i, const char *const env[], const char *const extra[]);
/* All four; env and extra apply only to service idx (-1: none).  pids[]
 * gets the pids.  0 or -1. */
int m_start_shop(int idx, const char *const env[], const char *const extra[],
                 pid_t pids[M_NSVC]);

/* Spawns dtcd on h_instance() with env and extra args (both may be NULL),
 * logging to <dir>/dtcd.log (appended, so every dtcd of the test shares
 * it), and waits (<= 5 s) until it is the live supervisor of the segment.
 * For an existing segment (re-attach).  Returns the pid or -1. */
pid_t m_spawn_dtcd(const char *const env[], const char *const extra[]);
/* Path of the shared dtcd log file (pass to h_start_dtcdv as --log-file). */
const char *m_dtcd_log(void);
/* Polls dtc_get_status (via h_inst()) until the supervisor is pid and
 * alive (<= timeout_ms).  1 if so. */
int m_wait_supervisor(pid_t pid, int timeout_ms);

/* 1 if the file contains needle. */
int m_file_has(const char *path, const char *needle);
/* Number of occurrences of needle in the file. */
int m_file_count(const char *path, const char *needle);

/* ---- ledgers ------------------------------------------------------------ */

enum m_fate { M_NONE = 0, M_PREPARED, M_APPLIED, M_COMPENSATED, M_RELEASED };

#define M_MAX_TXIDS 64

typedef struct m_ledger {
    int n;
    char txid[M_MAX_TXIDS][DTC_TXID_STRLEN];
    enum m_fate fate[M_MAX_TXIDS];
} m_ledger;

/* Reads <data>/<name>.state.  0, or -1 if unreadable. */
int m_ledger_read(const char *name, m_ledger *l);
enum m_fate m_ledger_fate(const m_ledger *l, const char *txid);
const char *m_fate_name(enum m_fate f);

/* Reads the four ledgers.  0 or -1. */
int m_ledgers(m_ledger l[M_NSVC]);
/* Every txid seen in any ledger: 1 if each is applied at all four or at
 * none (compensated, released and never-prepared count as none) and none
 * is still PREPARED; else 0 with a description in why.  *napplied gets
 * how many txids are applied everywhere (may be NULL). */
int m_all_or_nothing(const m_ledger l[M_NSVC], char *why, size_t cap, int *napplied);
/* Number of service ledgers at which txid is applied. */
int m_applied_count(const m_ledger l[M_NSVC], const char *txid);
/* 1 if some ledger still has txid (any) PREPARED. */
int m_any_prepared(const m_ledger l[M_NSVC]);

/* The txid of the first "event=begin txid=" line of a log text. */
int m_txid_from_log(const char *log, char out[DTC_TXID_STRLEN]);

/* A new order on fresh ids through the library: DTC_OK if it committed
 * and is applied in all four ledgers. */
dtc_result m_order_commits(dtc_instance *in, const char *order_id, char *why, size_t cap);

#endif /* DTC_TEST_MATRIX_UTIL_H */
