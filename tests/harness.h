/*
 * harness.h - helpers for multi-process integration tests (Check, CK_FORK).
 *
 * Every test calls h_init(tag) first: it picks a unique instance name
 * (t-<tag>-<pid>-<counter>) and a fresh temp directory, and forks a small
 * "reaper" process that outlives the test if it dies (a failed ck_assert
 * _exit()s in fork mode, a Check timeout SIGKILLs it).  Every process the
 * harness starts is recorded (pid and /proc start time) in a shared table;
 * h_fini() (the checked teardown) stops them in order and removes the
 * directory and the segment, and the reaper does the same for whatever is
 * left when the test process is gone.  Only processes the test started
 * are ever signalled, by pid, after checking their start time.
 *
 * Every wait is bounded; the programs are taken from DTC_BIN_DIR.
 */
#ifndef DTC_TEST_HARNESS_H
#define DTC_TEST_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dtc/dtc.h"

/* ---- lifecycle ------------------------------------------------------------ */

/* Unique instance + temp dir + reaper.  Call once at the top of a test. */
void h_init(const char *tag);
/* Stops every recorded process (dtcd first, then the others: SIGTERM,
 * bounded wait, SIGKILL), closes the handle, removes the dir and segment.
 * Idempotent; use it as the checked teardown. */
void h_fini(void);

const char *h_instance(void);
const char *h_dir(void);
/* Monotonic milliseconds. */
int64_t h_now_ms(void);
void h_sleep_ms(int ms);

/* ---- processes ------------------------------------------------------------ */

/* Starts DTC_BIN_DIR/prog with argv (NULL-terminated, without argv[0]);
 * env (may be NULL) is a NULL-terminated list of "K=V" added to the
 * environment.  stdout/stderr go to <dir>/<label>.out / .err.  The child
 * gets its own process group.  Returns the pid (recorded), or -1. */
pid_t h_spawnv(const char *label, const char *prog, const char *const argv[],
               const char *const env[]);
/* Same, arguments as a NULL-terminated list. */
pid_t h_spawn(const char *label, const char *prog, ...) __attribute__((sentinel));

/* fork(); the child must end with _exit().  Records the pid.  In the
 * child, the reaper's pipe is closed, the table is left alone, and
 * SIGTERM and SIGINT are back to their default: stopped, it dies of them
 * (Check's handler would kill the whole test's process group). */
pid_t h_fork(void);

/* Bounded waitpid: 1 and *status if it ended, 0 on timeout. */
int h_wait(pid_t pid, int timeout_ms, int *status);
/* SIGTERM, wait up to timeout_ms, then SIGKILL and reap.  Returns the
 * wait status (or -1 if not ours / already gone). */
int h_stop(pid_t pid, int timeout_ms);
/* SIGKILL and reap (bounded).  Returns the wait status or -1. */
int h_kill9(pid_t pid);
/* 1 if pid is a recorded process that has not been reaped and has not
 * exited (checks with WNOHANG, reaping it if it did). */
int h_alive(pid_t pid);

/* Exit code of a wait status: the code, 128+signal, or -1. */
int h_exit_code(int status);

/* ---- dtcd ----------------------------------------------------------------- */

/* Starts dtcd on h_instance() with extra args (NULL-terminated array, may
 * be NULL) and waits (<= 5 s) until dtc_open succeeds and the supervisor
 * is alive.  Returns its pid or -1. */
pid_t h_start_dtcdv(const char *const extra[]);
pid_t h_start_dtcd(void);
/* The same with env "K=V" additions (may be NULL), e.g. h_powercut_env. */
pid_t h_start_dtcd_env(const char *const extra[], const char *const env[]);
/* A handle to h_instance(), opened once by h_start_dtcd; NULL if not. */
dtc_instance *h_inst(void);
/* Stops dtcd (SIGTERM, <= timeout_ms) and returns its exit code (or -1). */
int h_stop_dtcd(int timeout_ms);
pid_t h_dtcd_pid(void);

/* ---- participants --------------------------------------------------------- */

/* Polls dtc_list_participants (every 10 ms, <= timeout_ms) until `name` is
 * registered by `pid` (any pid if pid <= 0) and alive.  1 on success. */
int h_wait_participant(const char *name, pid_t pid, int timeout_ms);
/* Info about `name` (1 if found). */
int h_find_participant(const char *name, dtc_participant_info *out);
/* dtc-noop --instance I --name NAME [extra...]; waits until registered.
 * Returns the pid or -1. */
pid_t h_start_noop(const char *name, ...) __attribute__((sentinel));
/* dtc-noop --journal BYTES as `name` (stdout in <dir>/<label>.out; env
 * additions may be NULL); waits (20 s) until it has replayed its journal
 * and prints ready.  Returns the pid. */
pid_t h_start_jnoop(const char *name, const char *label, const char *bytes,
                    const char *const env[]);
/* The same with extra arguments (NULL-terminated, may be NULL). */
pid_t h_start_jnoopv(const char *name, const char *label, const char *bytes,
                     const char *const extra[], const char *const env[]);
/* A HEURISTIC transaction made by a coordinator that then exits: a commit
 * that fails at participant "a" after one retry is compensated, "b"
 * refuses its rollbacks (the caller started them: dtc-noop
 * --fail-commit / --fail-rollback).  Its id into *id. */
void h_heuristic_exited(dtc_txid *id);
/* dtc-<service> --instance I --data-dir <dir>/data --name NAME [extra...];
 * waits until registered.  Returns the pid or -1. */
pid_t h_start_service(const char *service, const char *name, ...)
    __attribute__((sentinel));
/* The same with env "K=V" additions (may be NULL) before the extra args. */
pid_t h_start_service_env(const char *service, const char *name, const char *const env[],
                          ...) __attribute__((sentinel));
/* 1 if DTC_BIN_DIR/prog exists and is executable. */
int h_have_program(const char *prog);

/* Polls dtc_get_status until txns_in_use == 0 (<= timeout_ms). 1 if so. */
int h_wait_idle(int timeout_ms);

/* ---- running a command ---------------------------------------------------- */

typedef struct h_result {
    int code;          /* exit code, 128+signal, or -1 on timeout */
    char out[8192];    /* stdout (truncated) */
    char err[8192];    /* stderr (truncated) */
} h_result;

/* Runs DTC_BIN_DIR/prog (argv NULL-terminated, without argv[0]; env
 * "K=V" additions, may be NULL), waits <= timeout_ms (then SIGKILL).
 * Returns r->code. */
int h_runv(h_result *r, int timeout_ms, const char *const env[], const char *prog,
           const char *const argv[]);
int h_run(h_result *r, int timeout_ms, const char *prog, ...) __attribute__((sentinel));

/* ---- a service's records (--dump) ----------------------------------------- */

#define H_DUMP_MAX 64

typedef struct h_rec {
    char key[64];
    char value[128];
    long version;
    char note[128];
} h_rec;

typedef struct h_dump {
    int n;
    h_rec recs[H_DUMP_MAX];
    long ledger;       /* -1 if no "ledger N" line */
} h_dump;

/* dtc-<service> --dump --data-dir <dir>/data --name NAME.  0 on success
 * (exit 0 and a ledger line), -1 otherwise (d->n = 0, ledger -1). */
int h_dump_service(const char *service, const char *name, h_dump *d);
const h_rec *h_dump_get(const h_dump *d, const char *key);
/* 1 if both have the same records (key, value, version, note) and ledger. */
int h_dump_equal(const h_dump *a, const h_dump *b);
/* Prints a dump to stderr (for failure messages). */
void h_dump_print(const char *title, const h_dump *d);

/* ---- misc ------------------------------------------------------------------ */

/* 1 if s is one syntactically valid JSON value (and nothing else but
 * whitespace). */
int h_json_valid(const char *s);
/* Contents of <dir>/<label>.<ext> (ext "out" or "err") into buf. */
void h_read_output(const char *label, const char *ext, char *buf, size_t cap);
/* The data directory given to services: <dir>/data. */
const char *h_data_dir(void);
/* dtcd's decision log directory (--data-dir): <dir>/dlog. */
const char *h_dlog_dir(void);

/* ---- the four services ------------------------------------------------- */

/* 1 if dtc-inventory, -payment, -order and -shipping are built. */
int h_have_shop(void);
/* Starts inventory (sku-1=10, sku-2=1), payment (alice=100000, bob=100),
 * order and shipping (zone-a=100, plus shipping_extra args, may be NULL),
 * each under its service name, data in h_data_dir().  0 or -1. */
int h_start_shop(const char *const shipping_extra[]);
/* Dumps the four services (inventory, payment, order, shipping). */
int h_dump_shop(h_dump d[4]);
/* 1 if all four dumps are equal; prints the differing ones otherwise. */
int h_shop_equal(const h_dump a[4], const h_dump b[4]);
/* begin; enlist inventory "reserve SKU QTY", payment "charge ACCOUNT
 * CENTS", order "create ID ACCOUNT CENTS", shipping "schedule ID ZONE";
 * commit.  Rolls back after a failed enlist. */
dtc_result h_order(dtc_instance *in, const char *order_id, const char *sku, int qty,
                   const char *account, long cents, const char *zone,
                   const dtc_txn_options *opts, dtc_txn_info *report);
/* After a crash test: waits until idle (<= 20 s), then asserts that the
 * four services agree all-or-nothing (equal ledgers, one order record per
 * committed order) and conserve stock, money and capacity from the seeds
 * sku-1=10, sku-2=1, alice=100000, bob=100, zone-a=100, every committed
 * order taking 1 sku-1, order_cents of alice's and 1 zone-a slot; and that
 * every order o-K with told[K] set (K < n; told may be NULL) is committed.
 * `what` names the case in messages.  Returns the committed orders. */
int h_shop_check(const char *what, long order_cents, const int *told, int n);
/* Prints a commit report to stderr. */
void h_report_print(const char *title, dtc_result rc, const dtc_txn_info *t);

/* In a forked child, n transactions each enlisting every name (payload
 * "x") and committing; asserts all committed within timeout_ms (a hang
 * fails the test instead of hanging it). */
void h_txns_bounded(const char *const names[], int n, int timeout_ms);
/* Forks a coordinator that begins, enlists every name (payload "x") and
 * commits; it exits 0 if committed, 10 or 11 otherwise.  Returns its pid
 * (tests kill it on purpose mid-transaction). */
pid_t h_fork_commit(const char *const names[]);
/* ---- power cut (tests/tools/powercut*.c) ------------------------------ */

/* Fills env (cap >= 6) with the "K=V" strings that run a program under the
 * power-cut preload: LD_PRELOAD=<bin>/libdtc_powercut.so,
 * DTC_POWERCUT_JOURNAL=<dir>/powercut.journal, DTC_POWERCUT_ROOT=<dir>,
 * ASAN_OPTIONS (inherited + verify_asan_link_order=0, so an ASan program
 * accepts the preload); NULL-terminated, for h_spawnv / h_runv.  The
 * strings live until the next call.  Returns how many (0 if cap is short). */
size_t h_powercut_env(const char *env[], size_t cap);
/* The journal's path: <dir>/powercut.journal. */
const char *h_powercut_journal(void);
/* The power cut, once every traced process is dead: dtc-powercut cut, then
 * dtc-powercut apply (root <dir>).  0 if both exit 0; otherwise prints
 * their output to stderr and returns -1.  apply's output is kept in
 * <dir>/powercut.apply. */
int h_powercut_apply(void);

/* Runs the suite (CK_FORK, CK_NORMAL): the main of every test program. */
int h_run_suite(Suite *s);

#endif /* DTC_TEST_HARNESS_H */
