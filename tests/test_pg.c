/*
 * test_pg.c - dtc-pg against a real PostgreSQL: a throwaway cluster per
 * test (src/kit/pg_cluster.c), real dtcd, the four services and
 * dtc-pg.  Cases: an order committed at all five; refusals in
 * PostgreSQL (row rule, constraint) and elsewhere roll back everywhere;
 * a full pool refuses at once; concurrent coordinators all commit; the
 * PREPAREs of one batch run in PostgreSQL at the same time; a
 * hot row refuses ("locked:") instead of stalling; start errors and a
 * server down at start;
 * dtc-pg killed after PREPARE, the coordinator killed after its
 * decision, PostgreSQL stopped (immediate) in the commit, a simulated
 * reboot of dtc with transactions prepared in PostgreSQL, and a server
 * that stays down (HEURISTIC, kept by recovery, then dtcctl resolve
 * and retry); where the password comes from (--conninfo-file, PGPASSFILE,
 * --conninfo with a warning).  Over a unix socket
 * and over TCP.  Exit 77 (ctest SKIP) when PostgreSQL is not installed.
 */
#include <check.h>
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pg_cluster.h"
#include "spawn.h"

static struct bench_pgc pgc;
static int pg_tcp;
static pid_t pg_pid = -1;
static h_result res;

/* ---- the cluster ---------------------------------------------------------- */

static volatile sig_atomic_t guard_stop;

static void on_term(int sig)
{
    (void)sig;
    guard_stop = 1;
}

static pid_t postmaster_of(const char *data)
{
    char path[400];
    long pid = 0;
    snprintf(path, sizeof path, "%s/postmaster.pid", data);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%ld", &pid) != 1) // NOLINT(cert-err34-c): PostgreSQL's file
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

static pid_t guard_pid = -1;

/* A child that outlives a failed test: not in the harness's table (the
 * harness SIGKILLs its processes when a test dies), it watches its parent
 * and, when the test process is gone or it is told (SIGTERM), stops the
 * postmaster (SIGQUIT: immediate shutdown) and removes the cluster's
 * directory.  It leaves the test's process group and holds no descriptor of the test's (the harness's reaper
 * waits for its pipe to close). */
static void start_guard(void)
{
    pid_t parent = getpid();
    guard_pid = fork();
    ck_assert_int_ge(guard_pid, 0);
    if (guard_pid > 0)
        return;
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    setsid(); /* Check kills the test's process group when it ends */
    signal(SIGTERM, on_term);
    while (!guard_stop && getppid() == parent)
        h_sleep_ms(100);
    pid_t pm = postmaster_of(pgc.data);
    if (pm > 0 && kill(pm, SIGQUIT) == 0)
        for (int i = 0; i < 100 && kill(pm, 0) == 0; i++)
            h_sleep_ms(50);
    pgc.running = 0; /* stopped above: destroy only removes the dir */
    bench_pgc_destroy(&pgc);
    _exit(0);
}

static void stop_guard(void)
{
    if (guard_pid <= 0)
        return;
    kill(guard_pid, SIGTERM);
    for (int i = 0; i < 200 && waitpid(guard_pid, NULL, WNOHANG) == 0; i++)
        h_sleep_ms(50);
    guard_pid = -1;
}

static void conninfo(char *buf, size_t len)
{
    snprintf(buf, len, "host=%s port=%d user=dtcbench dbname=postgres",
             pg_tcp ? "127.0.0.1" : pgc.dir, pgc.port);
}

static PGresult *sql(const char *q)
{
    char ci[400];
    conninfo(ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, q);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
                  PQresultErrorMessage(r));
    PQfinish(c);
    return r;
}

/* The single number a query returns. */
static long sql_long(const char *q)
{
    PGresult *r = sql(q);
    ck_assert_int_eq(PQntuples(r), 1);
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static long balance(void)
{
    return sql_long("SELECT bal FROM acct WHERE id = 'alice'");
}

static long prepared_count(void)
{
    return sql_long("SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'dtc:%:pg'");
}

/* Starts a cluster (tcp: listening on 127.0.0.1 too) with the schema. */
static void cluster_start(int tcp)
{
    char why[512];
    pg_tcp = tcp;
    ck_assert_msg(bench_pgc_init(&pgc, why, sizeof why) == 0, "%s", why);
    start_guard();
    if (tcp) { /* after the include of pg_cluster.c's settings: wins */
        char conf[400];
        snprintf(conf, sizeof conf, "%s/postgresql.conf", pgc.data);
        FILE *f = fopen(conf, "a");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "listen_addresses = '127.0.0.1'\n");
        ck_assert_int_eq(fclose(f), 0);
    }
    ck_assert_msg(bench_pgc_start(&pgc, 1, 4, why, sizeof why) == 0, "%s", why);
    PQclear(sql("CREATE TABLE acct (id text PRIMARY KEY, bal bigint NOT NULL CHECK (bal >= 0));"
                "CREATE TABLE orders (id text PRIMARY KEY, acct text NOT NULL);"
                "INSERT INTO acct VALUES ('alice', 1000)"));
}

/* pg_ctl stop -m immediate: a crash of the server. */
static void cluster_crash(void)
{
    char pgctl[4200], log[400];
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", pgc.bindir);
    snprintf(log, sizeof log, "%s/crash.log", pgc.dir);
    char *plain[] = {pgctl, "-D", pgc.data, "-w", "stop", "-m", "immediate", NULL};
    char *as_pg[] = {"runuser", "-u", "postgres", "--", pgctl, "-D", pgc.data, "-w", "stop",
                     "-m", "immediate", NULL};
    int st = dtc_kit_run(pgc.as_postgres ? as_pg : plain, log, pgc.dir, 30000);
    ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "immediate stop failed");
    pgc.running = 0;
}

static void cluster_restart(void)
{
    char why[512];
    ck_assert_msg(bench_pgc_start(&pgc, 1, 4, why, sizeof why) == 0, "%s", why);
}

static void teardown(void)
{
    bench_pgc_destroy(&pgc);
    stop_guard();
    h_fini();
}

/* ---- dtc-pg ----------------------------------------------------------------- */

/* dtc-pg with the database given as `how` (--conninfo or --conninfo-file)
 * `what`; env "K=V" additions (may be NULL). */
static pid_t start_pg_how(const char *retries, const char *const env[], const char *how,
                          const char *what)
{
    const char *const argv[] = {
        "--instance", h_instance(), "--name", "pg", how, what, "--pool", "4",
        "--statement", "debit=UPDATE acct SET bal = bal - $2::bigint WHERE id = $1 AND bal >= $2::bigint",
        "--rows", "debit=1",
        "--statement", "note=INSERT INTO orders VALUES ($1, $2)",
        "--statement", "audit=INSERT INTO orders VALUES ($2, $1)", /* $2: the txid */
        "--retries", retries ? retries : "4", "--log-level", "debug", NULL}; /* lines read */
    pg_pid = h_spawnv("pg", "dtc-pg", argv, env);
    ck_assert_int_gt(pg_pid, 0);
    if (!h_wait_participant("pg", pg_pid, 10000)) {
        char err[4096];
        h_read_output("pg", "err", err, sizeof err);
        ck_abort_msg("dtc-pg did not register: %s", err);
    }
    return pg_pid;
}

static pid_t start_pg_env(const char *retries, const char *const env[])
{
    char ci[400];
    conninfo(ci, sizeof ci);
    return start_pg_how(retries, env, "--conninfo", ci);
}

static pid_t start_pg(const char *retries)
{
    return start_pg_env(retries, NULL);
}

static void start_all(int tcp)
{
    h_init(tcp ? "pg-tcp" : "pg");
    cluster_start(tcp);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    start_pg(NULL);
}

/* begin; the shop's order o-ID and pg's payload; the txid. */
static void enlist_order(dtc_instance *in, const dtc_txn_options *o, dtc_txid *id,
                         const char *oid, const char *pg_payload)
{
    char ord[64], ship[64];
    snprintf(ord, sizeof ord, "create %s alice 100", oid);
    snprintf(ship, sizeof ship, "schedule %s zone-a", oid);
    ck_assert_int_eq(dtc_begin_transaction(in, o, id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, id, "inventory", "reserve sku-1 1", 15), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, id, "order", ord, strlen(ord)), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, id, "shipping", ship, strlen(ship)), DTC_OK);
    ck_assert_int_eq(dtc_enlist(in, id, "pg", pg_payload, strlen(pg_payload)), DTC_OK);
}

static const char *sku1(void)
{
    static h_dump d[4];
    ck_assert_int_eq(h_dump_shop(d), 0);
    return h_dump_get(&d[0], "sku-1")->value;
}

/* Waits (<= 20 s) for the outcome of id. */
static void wait_outcome(const dtc_txid *id, dtc_outcome_kind kind)
{
    dtc_outcome o;
    int64_t end = h_now_ms() + 20000;
    dtc_result rc;
    while (((rc = dtc_transaction_outcome(h_inst(), id, &o)) != DTC_OK || o.kind != kind)
           && h_now_ms() < end)
        h_sleep_ms(50);
    ck_assert_msg(rc == DTC_OK && o.kind == kind, "outcome %s, want %s", dtc_result_name(rc),
                  dtc_outcome_name(kind));
}

/* Waits (<= 20 s) until PostgreSQL holds n prepared gids of pg. */
static void wait_prepared(long n)
{
    int64_t end = h_now_ms() + 20000;
    while (prepared_count() != n && h_now_ms() < end)
        h_sleep_ms(50);
    ck_assert_int_eq(prepared_count(), n);
}

/* A forked coordinator committing id; exit 0 if committed. */
static pid_t fork_commit(const dtc_txid *id)
{
    pid_t pid = h_fork();
    ck_assert_int_ge(pid, 0);
    if (pid > 0)
        return pid;
    dtc_instance *in = NULL;
    if (dtc_open(h_instance(), &in) != DTC_OK)
        _exit(3);
    _exit(dtc_commit_transaction(in, id, NULL) == DTC_OK ? 0 : 1);
}

static dtc_txn_options patient(void)
{
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.commit_timeout_ms = 30000;
    o.max_retries = 40;
    return o;
}

/* ---- cases ------------------------------------------------------------------- */

static void commit_at_all_five(int tcp)
{
    start_all(tcp);
    dtc_txid id;
    dtc_txn_info rep;
    enlist_order(h_inst(), NULL, &id, "o-1", "debit alice 100");
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "payment", "charge alice 100", 16), DTC_OK);
    dtc_result rc = dtc_commit_transaction(h_inst(), &id, &rep);
    if (rc != DTC_OK)
        h_report_print("commit", rc, &rep);
    ck_assert_int_eq(rc, DTC_OK);
    ck_assert_int_eq(balance(), 900);
    ck_assert_int_eq(prepared_count(), 0);
    h_dump d[4];
    ck_assert_int_eq(h_dump_shop(d), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(d[i].ledger, 1);
    char log[16384];
    h_read_output("pg", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=commit") != NULL, "no commit logged: %s", log);
}

START_TEST(test_commit_at_all_five)
{
    commit_at_all_five(0);
}
END_TEST

START_TEST(test_commit_at_all_five_tcp)
{
    commit_at_all_five(1);
}
END_TEST

/* The server crashes between a transaction's statement and its PREPARE:
 * an error vote, everything rolled back; the next transaction gets a new
 * connection. */
START_TEST(test_pg_crash_before_prepare)
{
    start_all(0);
    dtc_txid id;
    dtc_txn_info rep;
    enlist_order(h_inst(), NULL, &id, "o-1", "debit alice 100");
    h_sleep_ms(200); /* the statement ran: the transaction is open */
    cluster_crash();
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EPARTICIPANT);
    int64_t took = h_now_ms() - t0;
    char log[16384];
    h_read_output("pg", "err", log, sizeof log);
    /* Seen gone before its PREPARE was sent: nothing prepared, nothing
     * to wait for.  Lost once the PREPARE was sent (a race with the
     * crash): maybe prepared, so the rollback needs the server and the
     * call waits for it up to the rollback timeout (5 s by default). */
    bool maybe = strstr(log, "event=rollback") != NULL && strstr(log, "result=failed") != NULL;
    ck_assert_msg(took < (maybe ? 6500 : 2000), "the refusal took %lld ms; dtc-pg's log: %s",
                  (long long)took, log);
    int found = 0;
    for (uint32_t i = 0; i < rep.nentries; i++)
        if (strcmp(rep.entries[i].name, "pg") == 0)
            found = rep.entries[i].vote == DTC_ENTRY_ERROR;
    ck_assert_msg(found, "pg did not vote error for the lost connection");
    ck_assert_msg(strstr(log, "vote=error reason=\"connection:") != NULL, "%s", log);
    cluster_restart();
    ck_assert_str_eq(sku1(), "10");
    enlist_order(h_inst(), NULL, &id, "o-2", "debit alice 100");
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_OK);
    ck_assert_int_eq(balance(), 900);
}
END_TEST

START_TEST(test_refusal_in_pg)
{
    start_all(0);
    dtc_txid id;
    dtc_txn_info rep;
    /* 0 rows: more than the balance */
    enlist_order(h_inst(), NULL, &id, "o-1", "debit alice 5000");
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EREFUSED);
    int found = 0;
    for (uint32_t i = 0; i < rep.nentries; i++)
        if (strcmp(rep.entries[i].name, "pg") == 0)
            found = strcmp(rep.entries[i].reason_code, "rows") == 0;
    ck_assert_msg(found, "pg's reason code is not 'rows'");
    /* a constraint: the same order id twice */
    PQclear(sql("INSERT INTO orders VALUES ('o-2', 'bob')"));
    enlist_order(h_inst(), NULL, &id, "o-2", "note o-2 alice");
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EREFUSED);
    found = 0;
    for (uint32_t i = 0; i < rep.nentries; i++)
        if (strcmp(rep.entries[i].name, "pg") == 0)
            found = strcmp(rep.entries[i].reason_code, "constraint") == 0;
    ck_assert_msg(found, "pg's reason code is not 'constraint'");
    ck_assert_int_eq(balance(), 1000);
    ck_assert_str_eq(sku1(), "10");
    ck_assert_int_eq(prepared_count(), 0);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM orders"), 1);
}
END_TEST

START_TEST(test_refusal_elsewhere)
{
    start_all(0);
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "debit alice 100", 15), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "inventory", "reserve sku-2 5", 15), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_EREFUSED);
    ck_assert_int_eq(balance(), 1000);
    ck_assert_int_eq(prepared_count(), 0);
    /* the pool is not left holding the transaction: the next commits */
    enlist_order(h_inst(), NULL, &id, "o-1", "debit alice 100");
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_OK);
    ck_assert_int_eq(balance(), 900);
    /* a statement with one parameter more than the payload's: the txid */
    char txt[DTC_TXID_STRLEN], q[128];
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "audit alice", 11), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_OK);
    dtc_txid_format(&id, txt);
    snprintf(q, sizeof q, "SELECT count(*) FROM orders WHERE id = '%s' AND acct = 'alice'", txt);
    ck_assert_int_eq(sql_long(q), 1);
}
END_TEST

/* Bad usage exits 2; a statement PostgreSQL refuses to prepare exits 1
 * and names it; dtc-pg started while the server is down comes up anyway
 * and serves once the server is back. */
START_TEST(test_start_errors_and_server_down)
{
    h_init("pg-start");
    cluster_start(0);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    char ci[400];
    conninfo(ci, sizeof ci);
    const char *const usage[] = {"--instance", h_instance(), "--name", "x", "--conninfo", ci,
                                 NULL};
    ck_assert_int_eq(h_runv(&res, 10000, NULL, "dtc-pg", usage), 2);
    ck_assert_msg(strstr(res.err, "--statement") != NULL, "usage: %s", res.err);
    const char *const badsql[] = {"--instance", h_instance(), "--name", "x", "--conninfo", ci,
                                  "--statement", "oops=UPDATE nosuchtable SET a = $1", NULL};
    ck_assert_int_eq(h_runv(&res, 10000, NULL, "dtc-pg", badsql), 1);
    ck_assert_msg(strstr(res.err, "statement oops") != NULL, "bad sql: %s", res.err);
    cluster_crash();
    start_pg(NULL); /* registers although the server is down */
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "debit alice 100", 15), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_EPARTICIPANT); /* error vote */
    cluster_restart();
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "debit alice 100", 15), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_OK);
    ck_assert_int_eq(balance(), 900);
}
END_TEST

/* Every connection held by an enlisted transaction: the next one gets a
 * clear no ("pool:"), not a hang; once they end, the pool serves again. */
START_TEST(test_pool_full)
{
    start_all(0);
    dtc_txid held[4], id;
    dtc_txn_info rep;
    for (int i = 0; i < 4; i++) {
        char note[32];
        snprintf(note, sizeof note, "note h-%d alice", i);
        ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &held[i]), DTC_OK);
        ck_assert_int_eq(dtc_enlist(h_inst(), &held[i], "pg", note, strlen(note)), DTC_OK);
    }
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "note h-9 alice", 14), DTC_OK);
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_EREFUSED);
    ck_assert_int_lt(h_now_ms() - t0, 3000);
    ck_assert_msg(strcmp(rep.entries[0].reason_code, "pool") == 0, "reason: %s: %s",
                  rep.entries[0].reason_code, rep.entries[0].reason);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(dtc_rollback_transaction(h_inst(), &held[i], NULL), DTC_OK);
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "debit alice 100", 15), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_OK);
    ck_assert_int_eq(balance(), 900);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM orders"), 0);
}
END_TEST

/* Four coordinators at once, each on its own account: every transaction
 * commits, and the balances add up. */
START_TEST(test_concurrent_coordinators)
{
    start_all(0);
    PQclear(sql("INSERT INTO acct SELECT 'c' || g, 100 FROM generate_series(0, 3) g"));
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = h_fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] > 0)
            continue;
        dtc_instance *in = NULL;
        char pay[32];
        int n = snprintf(pay, sizeof pay, "debit c%d 1", k);
        if (dtc_open(h_instance(), &in) != DTC_OK)
            _exit(3);
        for (int i = 0; i < 15; i++) {
            dtc_txid id;
            if (dtc_begin_transaction(in, NULL, &id) != DTC_OK
                || dtc_enlist(in, &id, "pg", pay, (size_t)n) != DTC_OK
                || dtc_commit_transaction(in, &id, NULL) != DTC_OK)
                _exit(10 + i);
        }
        _exit(0);
    }
    for (int k = 0; k < 4; k++) {
        int st;
        ck_assert_int_eq(h_wait(kids[k], 30000, &st), 1);
        ck_assert_int_eq(h_exit_code(st), 0);
    }
    ck_assert_int_eq(sql_long("SELECT sum(bal) FROM acct WHERE id LIKE 'c%'"), 400 - 60);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

/* How many of pg's connections wait, in PostgreSQL, with a PREPARE
 * TRANSACTION for the standby (synchronous replication). */
/* Waits (at most 10 s) until commits really wait for the standby that
 * synchronous_standby_names names: a probe transaction that writes WAL
 * (a temporary table's catalog rows) is seen waiting on SyncRep (PostgreSQL's checkpointer publishes a new
 * list some time after the reload: a fixed 200 ms was too short on a
 * loaded machine), then cancelled (its commit stays, local).  1 once
 * seen. */
static void no_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* the cancelled probe's "committed locally" warning */
}

static int sync_rep_effective(void)
{
    char ci[400];
    conninfo(ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, no_notice, NULL);
    int seen = 0, busy = 0;
    for (int64_t end = h_now_ms() + 10000; !seen && h_now_ms() < end; h_sleep_ms(20)) {
        if (!busy) /* a probe that ended without waiting: another */
            busy = PQsendQuery(c, "BEGIN; DROP TABLE IF EXISTS dtc_probe;"
                                  " CREATE TEMP TABLE dtc_probe (x int); COMMIT") == 1;
        ck_assert_int_eq(PQconsumeInput(c), 1);
        while (busy && !PQisBusy(c)) {
            PGresult *r = PQgetResult(c);
            busy = r != NULL;
            PQclear(r);
        }
        seen = sql_long("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
                        " AND query LIKE '%dtc_probe%'") > 0;
    }
    PQclear(sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE '%dtc_probe%' AND pid <> pg_backend_pid()"));
    for (PGresult *r; (r = PQgetResult(c)) != NULL;)
        PQclear(r);
    PQfinish(c);
    return seen;
}

static long prepares_waiting(void)
{
    return sql_long("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
                    " AND query LIKE '%PREPARE TRANSACTION%'");
}

/* pg's requests waiting in its ring. */
static unsigned pg_pending(void)
{
    dtc_participant_info parts[16];
    size_t n = 0;
    ck_assert_int_eq(dtc_list_participants(h_inst(), parts, 16, &n), DTC_OK);
    for (size_t i = 0; i < n && i < 16; i++)
        if (strcmp(parts[i].name, "pg") == 0)
            return parts[i].pending;
    return 0;
}

/* dtc-pg serves a batch's requests concurrently: two transactions whose
 * prepare requests wait together in its ring (dtc-pg stopped meanwhile)
 * have their PREPARE TRANSACTIONs in PostgreSQL at the same time, so one
 * WAL flush can serve both.  To see it, PostgreSQL holds every PREPARE
 * after its local flush (synchronous_standby_names names a standby that
 * never comes: the wait shows in pg_stat_activity); then the wait is
 * lifted and both commit.  One PREPARE at a time (the callbacks waiting
 * each for its own) never shows two. */
START_TEST(test_prepares_overlap)
{
    start_all(0);
    PQclear(sql("INSERT INTO acct VALUES ('o0', 10), ('o1', 10)"));
    dtc_txn_options o = patient();
    o.prepare_timeout_ms = 20000;
    dtc_txid id[2];
    pid_t kids[2];
    ck_assert_int_eq(kill(pg_pid, SIGSTOP), 0);
    for (int k = 0; k < 2; k++) {
        char pay[32];
        int n = snprintf(pay, sizeof pay, "debit o%d 1", k);
        ck_assert_int_eq(dtc_begin_transaction(h_inst(), &o, &id[k]), DTC_OK);
        ck_assert_int_eq(dtc_enlist(h_inst(), &id[k], "pg", pay, (size_t)n), DTC_OK);
        kids[k] = fork_commit(&id[k]);
    }
    int64_t end = h_now_ms() + 10000;
    while (pg_pending() < 4 && h_now_ms() < end) /* 2 enlists, 2 prepares */
        h_sleep_ms(10);
    ck_assert_uint_eq(pg_pending(), 4);
    PQclear(sql("ALTER SYSTEM SET synchronous_standby_names = 'dtc_test_nobody'"));
    PQclear(sql("SELECT pg_reload_conf()"));
    ck_assert_msg(sync_rep_effective(), "commits never waited for the named standby");
    ck_assert_int_eq(kill(pg_pid, SIGCONT), 0);
    long most = 0;
    end = h_now_ms() + 3000; /* dtc-pg gives a PREPARE 4 s */
    while (most < 2 && h_now_ms() < end) {
        long w = prepares_waiting();
        most = w > most ? w : most;
        h_sleep_ms(20);
    }
    PQclear(sql("ALTER SYSTEM RESET synchronous_standby_names"));
    PQclear(sql("SELECT pg_reload_conf()"));
    for (int k = 0; k < 2; k++) {
        int st;
        ck_assert_int_eq(h_wait(kids[k], 30000, &st), 1);
        ck_assert_msg(h_exit_code(st) == 0, "transaction %d did not commit", k);
    }
    ck_assert_msg(most == 2, "at most %ld PREPARE TRANSACTION at a time in PostgreSQL, want 2",
                  most);
    ck_assert_int_eq(sql_long("SELECT sum(bal) FROM acct WHERE id IN ('o0', 'o1')"), 18);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

/* Four coordinators on one row.  A statement that waits for the row
 * lock of another transaction would keep dtc-pg's prepare callback (and
 * so everything queued behind it, maybe that very transaction's turn)
 * waiting until the deadline: instead it finishes what is decided and
 * then refuses ("locked:"), as the services refuse a held record.  So
 * every transaction ends, committed or refused, none times out, and the
 * balance is exactly the commits. */
START_TEST(test_hot_row)
{
    start_all(0);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = h_fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] > 0)
            continue;
        dtc_instance *in = NULL;
        int commits = 0;
        if (dtc_open(h_instance(), &in) != DTC_OK)
            _exit(100);
        for (int i = 0; i < 10; i++) {
            dtc_txid id;
            dtc_txn_info rep;
            dtc_result rc = dtc_begin_transaction(in, NULL, &id);
            if (rc == DTC_OK)
                rc = dtc_enlist(in, &id, "pg", "debit alice 1", 13);
            if (rc == DTC_OK)
                rc = dtc_commit_transaction(in, &id, &rep);
            commits += rc == DTC_OK;
            if (rc != DTC_OK
                && (rc != DTC_EREFUSED || strcmp(rep.entries[0].reason_code, "locked") != 0)) {
                fprintf(stderr, "hot row: %s %s\n", dtc_result_name(rc), rep.entries[0].reason);
                _exit(100);
            }
        }
        _exit(commits);
    }
    int64_t t0 = h_now_ms();
    int commits = 0;
    for (int k = 0; k < 4; k++) {
        int st;
        ck_assert_int_eq(h_wait(kids[k], 60000, &st), 1);
        ck_assert_int_le(h_exit_code(st), 10);
        commits += h_exit_code(st);
    }
    fprintf(stderr, "hot row: %d of 40 committed in %lld ms\n", commits,
            (long long)(h_now_ms() - t0));
    ck_assert_int_lt(h_now_ms() - t0, 15000);
    ck_assert_int_gt(commits, 0);
    ck_assert_int_eq(balance(), 1000 - commits);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

/* Over TCP: dtc-pg killed after its PREPARE; the commit reaches the
 * restarted one. */
START_TEST(test_kill_after_prepare_tcp)
{
    start_all(1);
    dtc_txid id;
    dtc_txn_options o = patient();
    enlist_order(h_inst(), &o, &id, "o-1", "debit alice 100");
    ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &id, NULL), DTC_OK);
    ck_assert_int_eq(prepared_count(), 1);
    h_kill9(pg_pid);
    pid_t coord = fork_commit(&id);
    h_sleep_ms(300);
    ck_assert_int_eq(balance(), 1000); /* still prepared */
    start_pg(NULL);
    int st;
    ck_assert_int_eq(h_wait(coord, 30000, &st), 1);
    ck_assert_int_eq(h_exit_code(st), 0);
    ck_assert_int_eq(balance(), 900);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

#ifdef DTC_CRASH_POINTS /* $DTC_CRASH_AT */
/* dtc-pg dies right after COMMIT PREPARED, before answering: the
 * redelivered commit finds the gid gone and dtc's outcome committing. */
START_TEST(test_kill_after_commit)
{
    h_init("pg-kc");
    cluster_start(0);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    start_pg_env(NULL, (const char *const[]){"DTC_CRASH_AT=pg.after_commit", NULL});
    dtc_txid id;
    dtc_txn_options o = patient();
    enlist_order(h_inst(), &o, &id, "o-1", "debit alice 100");
    pid_t coord = fork_commit(&id);
    int st;
    ck_assert_int_eq(h_wait(pg_pid, 10000, &st), 1);
    ck_assert_int_eq(h_exit_code(st), 128 + SIGKILL);
    ck_assert_int_eq(balance(), 900); /* committed, not yet answered */
    start_pg(NULL);
    ck_assert_int_eq(h_wait(coord, 30000, &st), 1);
    ck_assert_int_eq(h_exit_code(st), 0);
    char log[16384];
    h_read_output("pg", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "result=done why=gid_gone") != NULL, "no gone gid: %s", log);
}
END_TEST
#endif

/* Someone rolled the prepared transaction back behind dtc's back: the
 * commit finds the gid gone and PostgreSQL saying it aborted, so it
 * fails (not "already committed"), and everyone else is compensated. */
START_TEST(test_gid_rolled_back_by_hand)
{
    start_all(0);
    dtc_txid id;
    dtc_txn_info rep;
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.max_retries = 1;
    enlist_order(h_inst(), &o, &id, "o-1", "debit alice 100");
    ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &id, NULL), DTC_OK);
    char txt[DTC_TXID_STRLEN], q[160];
    dtc_txid_format(&id, txt);
    snprintf(q, sizeof q, "ROLLBACK PREPARED 'dtc:%s:pg'", txt);
    PQclear(sql(q));
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, &rep), DTC_ECOMMIT);
    int named = 0;
    for (uint32_t i = 0; i < rep.nentries; i++)
        if (strcmp(rep.entries[i].name, "pg") == 0)
            named = strstr(rep.entries[i].failed_reason, "PostgreSQL aborted") != NULL;
    ck_assert_msg(named, "pg's failed commit does not say why");
    ck_assert_int_eq(balance(), 1000);
    ck_assert_str_eq(sku1(), "10");
}
END_TEST

#ifdef DTC_CRASH_POINTS /* $DTC_CRASH_AT */
/* dtcctl run killed right after its commit decision was logged: dtcd
 * adopts the transaction and commits it in PostgreSQL too.  (A fresh
 * process: the crash point is read once per process.) */
START_TEST(test_coordinator_killed_after_decision)
{
    start_all(0);
    const char *const argv[] = {"--instance", h_instance(), "run",
                                "-p", "inventory=reserve sku-1 1",
                                "-p", "pg=debit alice 100", NULL};
    const char *const env[] = {"DTC_CRASH_AT=coord.after_commit_decision", NULL};
    ck_assert_int_eq(h_runv(&res, 10000, env, "dtcctl", argv), 128 + SIGKILL);
    ck_assert_int_eq(h_wait_idle(20000), 1);
    ck_assert_int_eq(balance(), 900);
    ck_assert_str_eq(sku1(), "9");
    ck_assert_int_eq(prepared_count(), 0);
    char log[16384];
    h_read_output("dtcd", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "event=adopt") != NULL, "dtcd did not adopt: %s", log);
}
END_TEST
#endif

START_TEST(test_pg_crash_mid_commit)
{
    start_all(0);
    dtc_txid id;
    dtc_txn_options o = patient();
    enlist_order(h_inst(), &o, &id, "o-1", "debit alice 100");
    ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &id, NULL), DTC_OK);
    cluster_crash();
    pid_t coord = fork_commit(&id);
    h_sleep_ms(500); /* commits fail, retried */
    cluster_restart();
    int st;
    ck_assert_int_eq(h_wait(coord, 40000, &st), 1);
    ck_assert_int_eq(h_exit_code(st), 0);
    ck_assert_int_eq(balance(), 900);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

/* Every dtc process killed, /dev/shm emptied: one transaction decided
 * (commit, dtc-pg dead before it got it) and one only prepared; after the
 * restart the first is committed from the log, the second presumed
 * aborted, both in PostgreSQL. */
START_TEST(test_reboot_with_pg_prepared)
{
    start_all(0);
    dtc_txid a, b;
    dtc_txn_options o = patient();
    enlist_order(h_inst(), &o, &a, "o-1", "debit alice 100");
    ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &a, NULL), DTC_OK);
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), &o, &b), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &b, "pg", "note o-9 alice", 14), DTC_OK); /* a's row lock: not alice's balance */
    dtc_txn_info rep;
    dtc_result rc = dtc_prepare_transaction(h_inst(), &b, &rep);
    if (rc != DTC_OK)
        h_report_print("prepare b", rc, &rep);
    ck_assert_int_eq(rc, DTC_OK);
    ck_assert_int_eq(prepared_count(), 2);
    h_kill9(pg_pid);
    pid_t coord = fork_commit(&a);
    int64_t end = h_now_ms() + 5000;
    dtc_txn_info ti;
    while ((dtc_transaction_status(h_inst(), &a, &ti) != DTC_OK || ti.state != DTC_TXN_COMMITTING)
           && h_now_ms() < end)
        h_sleep_ms(10);
    ck_assert_int_eq(ti.state, DTC_TXN_COMMITTING);
    /* COMMITTING comes before the COMMIT record is synced: the reboot
     * keeps the decision once the one recovery rule calls it committed */
    dtc_participant *probe = NULL;
    ck_assert_int_eq(dtc_participant_register(h_inst(), "probe", &probe), DTC_OK);
    dtc_outcome_kind kind = DTC_OUTCOME_IN_FLIGHT;
    while (dtc_participant_outcome(probe, &a, &kind) == DTC_OK && kind != DTC_OUTCOME_COMMITTED
           && h_now_ms() < end + 5000)
        h_sleep_ms(10);
    ck_assert_int_eq(kind, DTC_OUTCOME_COMMITTED);
    ck_assert_int_eq(dtc_participant_unregister(&probe), DTC_OK);
    /* the reboot */
    dtc_participant_info parts[16];
    size_t n = 0;
    ck_assert_int_eq(dtc_list_participants(h_inst(), parts, 16, &n), DTC_OK);
    kill(h_dtcd_pid(), SIGKILL);
    kill(coord, SIGKILL);
    for (size_t i = 0; i < n && i < 16; i++)
        if (parts[i].alive)
            kill(parts[i].pid, SIGKILL);
    h_kill9(h_dtcd_pid());
    h_kill9(coord);
    for (size_t i = 0; i < n && i < 16; i++)
        if (parts[i].alive)
            h_kill9(parts[i].pid);
    char shm[DTC_INSTANCE_MAX + 8];
    snprintf(shm, sizeof shm, "/dtc.%s", h_instance());
    ck_assert_int_eq(shm_unlink(shm), 0);
    ck_assert_int_eq(prepared_count(), 2);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    ck_assert_int_eq(h_start_shop(NULL), 0);
    start_pg(NULL);
    wait_outcome(&a, DTC_OUTCOME_COMMITTED);
    wait_prepared(0);
    ck_assert_int_eq(balance(), 900);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM orders"), 0);
    char log[16384];
    h_read_output("pg", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "action=rollback") != NULL, "no presumed abort logged: %s", log);
}
END_TEST

/* The server stays down through every retry: HEURISTIC, listed by dtcctl
 * txns; once it is back, dtcctl resolve --commit finishes it. */
START_TEST(test_pg_down_heuristic_then_resolve)
{
    h_init("pg-down");
    cluster_start(0);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    start_pg("0");
    dtc_txid id[2];
    const char *const payload[2] = {"debit alice 100", "note o-7 alice"};
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.max_retries = 1;
    o.commit_timeout_ms = 1500;
    o.rollback_timeout_ms = 1500;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(dtc_begin_transaction(h_inst(), &o, &id[i]), DTC_OK);
        ck_assert_int_eq(dtc_enlist(h_inst(), &id[i], "pg", payload[i], strlen(payload[i])), DTC_OK);
        ck_assert_int_eq(dtc_prepare_transaction(h_inst(), &id[i], NULL), DTC_OK);
    }
    cluster_crash();
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id[i], NULL), DTC_EHEURISTIC);
    const char *const txns[] = {"--instance", h_instance(), "txns", NULL};
    h_runv(&res, 5000, NULL, "dtcctl", txns);
    ck_assert_msg(strstr(res.out, "HEURISTIC") != NULL, "txns: %s", res.out);
    cluster_restart();
    h_sleep_ms(1500); /* dtc-pg's recovery runs: it must keep both */
    ck_assert_int_eq(prepared_count(), 2);
    char txt[2][DTC_TXID_STRLEN];
    dtc_txid_format(&id[0], txt[0]);
    dtc_txid_format(&id[1], txt[1]);
    const char *const resolve[] = {"--instance", h_instance(), "resolve", txt[0], "--commit", NULL};
    ck_assert_msg(h_runv(&res, 20000, NULL, "dtcctl", resolve) == 0, "resolve: %d %s %s",
                  res.code, res.out, res.err);
    const char *const retry[] = {"--instance", h_instance(), "retry", txt[1], NULL};
    ck_assert_msg(h_runv(&res, 20000, NULL, "dtcctl", retry) == 0, "retry: %d %s %s", res.code,
                  res.out, res.err);
    ck_assert_int_eq(balance(), 900);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM orders"), 0);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

/* pg_hba.conf: role dtcpw over the socket needs its password (first
 * line: the first match wins); reloaded, and waited for (<= 5 s) until a
 * connection without it is refused. */
static void require_password(const char *ci)
{
    char hba[400], old[16384];
    snprintf(hba, sizeof hba, "%s/pg_hba.conf", pgc.data);
    FILE *f = fopen(hba, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(old, 1, sizeof old - 1, f);
    old[n] = '\0';
    fclose(f);
    f = fopen(hba, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "local all dtcpw scram-sha-256\n%s", old);
    ck_assert_int_eq(fclose(f), 0);
    PQclear(sql("SELECT pg_reload_conf()"));
    for (int i = 0; i < 100; i++) {
        PGconn *c = PQconnectdb(ci);
        int ok = PQstatus(c) == CONNECTION_OK;
        PQfinish(c);
        if (!ok)
            return;
        h_sleep_ms(50);
    }
    ck_abort_msg("a connection as dtcpw without a password still works");
}

/* One debit of 100 through pg; the balance after it. */
static long debit_100(void)
{
    dtc_txid id;
    ck_assert_int_eq(dtc_begin_transaction(h_inst(), NULL, &id), DTC_OK);
    ck_assert_int_eq(dtc_enlist(h_inst(), &id, "pg", "debit alice 100", 15), DTC_OK);
    ck_assert_int_eq(dtc_commit_transaction(h_inst(), &id, NULL), DTC_OK);
    return balance();
}

/* Where the password comes from: never the command line unless one
 * insists (then a warning).  A --conninfo-file others may read is
 * refused; one only we may read works; so do libpq's PGPASSFILE and a
 * password in --conninfo, the latter with its warning. */
START_TEST(test_password_sources)
{
    h_init("pg-secret");
    setenv("PGPASSFILE", "/nonexistent", 1); /* never this user's own ~/.pgpass */
    cluster_start(0);
    ck_assert_int_gt(h_start_dtcdv((const char *const[]){"--tick-ms", "20", NULL}), 0);
    PQclear(sql("CREATE ROLE dtcpw LOGIN PASSWORD 'pw-9f3a'; GRANT ALL ON acct, orders TO dtcpw"));
    char ci[400], file[4200], pass[4200], line[600], log[16384];
    snprintf(ci, sizeof ci, "host=%s port=%d user=dtcpw dbname=postgres", pgc.dir, pgc.port);
    require_password(ci);

    snprintf(file, sizeof file, "%s/pg.conninfo", h_dir());
    snprintf(line, sizeof line, "%s\npassword=pw-9f3a\n", ci);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    ck_assert_int_eq(fchmod(fd, 0644), 0);
    close(fd);
    const char *const open_file[] = {"--instance", h_instance(), "--name", "pg",
                                     "--conninfo-file", file, "--statement", "x=SELECT 1", NULL};
    h_runv(&res, 10000, NULL, "dtc-pg", open_file);
    ck_assert_msg(res.code == 2 && strstr(res.err, "pg.conninfo: readable or writable by others "
                                                   "(mode 0644); chmod go=") != NULL,
                  "a conninfo file others may read: exit %d err=%s", res.code, res.err);
    ck_assert_int_eq(chmod(file, 0600), 0);
    start_pg_how(NULL, NULL, "--conninfo-file", file);
    ck_assert_int_eq(debit_100(), 900);
    h_read_output("pg", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "password") == NULL, "log: %s", log);
    ck_assert_int_ge(h_stop(pg_pid, 5000), 0);

    snprintf(pass, sizeof pass, "%s/pgpass", h_dir());
    fd = open(pass, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "*:*:*:dtcpw:pw-9f3a\n", 20), 20);
    close(fd);
    char env1[4300];
    snprintf(env1, sizeof env1, "PGPASSFILE=%s", pass);
    start_pg_how(NULL, (const char *const[]){env1, NULL}, "--conninfo", ci);
    ck_assert_int_eq(debit_100(), 800);
    h_read_output("pg", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "password") == NULL, "log: %s", log);
    ck_assert_int_ge(h_stop(pg_pid, 5000), 0);

    snprintf(line, sizeof line, "%s password=pw-9f3a", ci);
    start_pg_how(NULL, NULL, "--conninfo", line);
    ck_assert_int_eq(debit_100(), 700);
    h_read_output("pg", "err", log, sizeof log);
    ck_assert_msg(strstr(log, "level=warn") != NULL
                      && strstr(log, "warning=password_on_command_line") != NULL,
                  "no warning about the password in --conninfo: %s", log);
}
END_TEST

static int have_postgres(void)
{
    glob_t g;
    int found = 0;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
        found = g.gl_pathc > 0;
        globfree(&g);
    }
    return found || system("pg_config --bindir >/dev/null 2>&1") == 0;
}

int main(void)
{
    if (!have_postgres()) { /* dtc-pg missing is a failure, not a skip */
        printf("SKIP: no PostgreSQL server binaries (initdb, pg_ctl)\n");
        return 77;
    }
    /* one case per test: CK_RUN_CASE=<name> runs one */
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"commit", test_commit_at_all_five},
        {"commit_tcp", test_commit_at_all_five_tcp},
        {"pg_crash_before_prepare", test_pg_crash_before_prepare},
        {"refusal_pg", test_refusal_in_pg},
        {"refusal_elsewhere", test_refusal_elsewhere},
        {"start_errors", test_start_errors_and_server_down},
        {"pool_full", test_pool_full},
        {"concurrent", test_concurrent_coordinators},
        {"prepares_overlap", test_prepares_overlap},
        {"hot_row", test_hot_row},
        {"kill_after_prepare_tcp", test_kill_after_prepare_tcp},
#ifdef DTC_CRASH_POINTS
        {"kill_after_commit", test_kill_after_commit},
#endif
        {"gid_rolled_back_by_hand", test_gid_rolled_back_by_hand},
#ifdef DTC_CRASH_POINTS
        {"coordinator_killed", test_coordinator_killed_after_decision},
#endif
        {"pg_crash_mid_commit", test_pg_crash_mid_commit},
        {"reboot", test_reboot_with_pg_prepared},
        {"pg_down_heuristic", test_pg_down_heuristic_then_resolve},
        {"password_sources", test_password_sources},
    };
    Suite *s = suite_create("pg");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return h_run_suite(s);
}
