/*
 * dtcctl.c - the operator's command line over libdtc.
 *
 *   dtcctl [--instance NAME] [--json] COMMAND [OPTIONS]
 *
 * status, txns and participants print snapshots of the segment (as text,
 * or as one JSON object with --json); run drives one transaction through
 * begin, enlist and commit and prints its outcome; retry and resolve are
 * the operator's calls for stuck and HEURISTIC transactions.  Everything here is a
 * thin layer over the public API in dtc/dtc.h: the tool never touches the
 * segment itself.
 *
 * Exit codes: 0 success (run: committed), 1 run: aborted or heuristic
 * (retry/resolve: participants still failing), 2 usage or system error
 * (bad option, no segment, begin failed, unknown transaction).
 * Strings read from the segment are untrusted: text output replaces
 * control bytes, JSON output escapes them and replaces invalid UTF-8.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtc/dtc.h"

enum { EXIT_DONE = 0, EXIT_ABORTED = 1, EXIT_FAIL = 2 };
/* What dtc_resolve_instance and dtc_enlist accept (src/names.c). */
#define NAME_RULE "[A-Za-z0-9._-]"
/* The library's cap on every phase deadline (coord.c options_ok). */
#define TIMEOUT_MAX_MS 3600000u
/* Parse results: go on, or stop with this exit code. */
enum { PARSE_GO = -1 };

struct ctl_opts {
    const char *instance; /* NULL: $DTC_INSTANCE, else "default" */
    bool json;
};

struct run_part {
    char name[DTC_NAME_MAX];
    const char *payload;
    size_t len;
};

struct run_args {
    struct run_part *parts; /* argc of them at most */
    size_t nparts;
    dtc_txn_options opts;
};

/* ---- messages ------------------------------------------------------------ */

static const char main_help[] =
    "usage: dtcctl [--instance NAME] [--json] COMMAND [OPTIONS]\n"
    "\n"
    "Inspect a dtc instance and run transactions on it.\n"
    "\n"
    "commands:\n"
    "  status         supervisor, limits, usage and counters\n"
    "  txns           in-flight transactions and their participants\n"
    "  participants   registered participant processes\n"
    "  run            run one transaction: begin, enlist, commit\n"
    "  retry TXID     retry a transaction's failed deliveries now\n"
    "  resolve TXID --commit|--rollback\n"
    "                 end a HEURISTIC transaction (operator decision)\n"
    "  show TXID      how a transaction ended (committed, aborted, heuristic)\n"
    "                 or that it is in flight, with every participant\n"
    "\n"
    "options (also accepted after the command):\n"
    "  --instance NAME  instance to use (default: $DTC_INSTANCE, else "
    "\"default\")\n"
    "  --json           one JSON object (status, txns, participants)\n"
    "  --help           this help; 'dtcctl COMMAND --help' for a command\n"
    "\n"
    "exit: 0 ok / committed, 1 aborted (status: not healthy), 2 usage or\n"
    "system error\n";

static const char status_help[] =
    "usage: dtcctl [--instance NAME] status [--json]\n"
    "\n"
    "Prints the instance, segment size, layout version, limits, supervisor\n"
    "pid and liveness, whether it is shutting down, slots in use, corrupt\n"
    "(quarantined) slots and the event counters.\n"
    "\n"
    "Usable as a health check: exit 0 if the supervisor is alive, the\n"
    "decision log is not being replayed and no slot is corrupt; exit 1\n"
    "otherwise (everything is still printed); exit 2 if there is no\n"
    "segment or it cannot be read.\n";

static const char txns_help[] =
    "usage: dtcctl [--instance NAME] txns [--json]\n"
    "\n"
    "Lists in-flight transactions: id, state, age, owner pid, whether the\n"
    "supervisor adopted it, and per participant the last op, its status,\n"
    "the prepare vote, delivery attempts and the last reason.\n";

static const char parts_help[] =
    "usage: dtcctl [--instance NAME] participants [--json]\n"
    "\n"
    "Lists registered participants: name, slot, pid, alive, pending\n"
    "requests and requests served since registration.\n";

static const char run_help[] =
    "usage: dtcctl [--instance NAME] run --participant NAME=PAYLOAD ...\n"
    "                 [--prepare-timeout-ms N] [--commit-timeout-ms N]\n"
    "\n"
    "Begins a transaction, enlists each participant in order with its\n"
    "payload and commits (both phases).  Prints 'txid UUID', then one of:\n"
    "  committed                               exit 0\n"
    "  aborted RESULT [NAME: REASON; ...]      exit 1\n"
    "  heuristic DTC_EHEURISTIC [NAME: ...]    exit 1 (needs an operator)\n"
    "  unknown RESULT MESSAGE                  exit 2 (system error)\n"
    "An enlist failure (unknown or dead participant, too many) rolls the\n"
    "transaction back and prints 'aborted RESULT NAME: MESSAGE' (exit 1).\n"
    "No segment, a failed begin or a bad option exits 2.\n"
    "\n"
    "  -p, --participant NAME=PAYLOAD  enlist NAME with PAYLOAD (repeatable)\n"
    "  --prepare-timeout-ms N          phase-one deadline (default 5000)\n"
    "  --commit-timeout-ms N           phase-two deadline (default 5000)\n"
    "Deadlines are 1..3600000 ms (at most 1 hour).  A participant NAME is\n"
    "[A-Za-z0-9._-]{1,31}, each at most once per transaction (else\n"
    "'aborted DTC_EDUPLICATE NAME: ...', exit 1).\n";

static int usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char show_help[] =
    "usage: dtcctl [--instance NAME] show TXID [--json]\n"
    "\n"
    "Prints the outcome of a transaction of the instance's recent history\n"
    "(in flight, committed, aborted or heuristic), what it was told, and\n"
    "every participant's last status and reason: from its slot while one\n"
    "holds it, else from the decision log (README \"Decision log\" says how\n"
    "far back).  Exit 0, 1 if HEURISTIC, 2 if never decided here, aged out\n"
    "or dtcd is still replaying its log (DTC_ERECOVERING).\n";

static const char retry_help[] =
    "usage: dtcctl [--instance NAME] retry TXID\n"
    "\n"
    "Makes a transaction's pending retries due now (whoever drives it: its\n"
    "coordinator, or dtcd after the coordinator exited); on a HEURISTIC\n"
    "transaction runs the rollback phase again.  Then waits (up to 30 s)\n"
    "for the outcome and prints what actually happened: 'committed' or\n"
    "'aborted RESULT ...' (exit 0: it ended), 'heuristic RESULT [NAME:\n"
    "REASON; ...]' or 'in-flight STATE' (exit 1: it still needs someone).\n"
    "An unknown transaction or a wrong state exits 2.  Recorded in the\n"
    "decision log.\n";

static const char resolve_help[] =
    "usage: dtcctl [--instance NAME] resolve TXID --commit|--rollback\n"
    "\n"
    "Ends a HEURISTIC transaction by sending commit or rollback to every\n"
    "participant; the decision is logged (synced) first, so if dtcctl dies\n"
    "dtcd carries it through.  Output and exit codes as for retry.\n";

/* Prints "dtcctl: MSG" and a hint on stderr; returns EXIT_FAIL. */
static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("dtcctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dtcctl %s%s--help'.\n", cmd ? cmd : "",
            cmd ? " " : "");
    return EXIT_FAIL;
}

static int lib_error(const char *what, dtc_result rc)
{
    fprintf(stderr, "dtcctl: %s: %s: %s\n", what, dtc_result_name(rc),
            dtc_strerror(rc));
    return EXIT_FAIL;
}

/* Flushes stdout; a write error (full disk, closed pipe) is a failure. */
static int finish_output(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "dtcctl: write error: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    return code;
}

/* ---- option parsing -------------------------------------------------------- */

/* Matches "--long VALUE", "--long=VALUE" or "-s VALUE" (shrt may be NULL)
 * at argv[*i].  Returns 1 and sets *val (advancing *i past a separate
 * value), 0 if argv[*i] is another option, -1 if the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *lng,
                     const char *shrt, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(lng);
    if (strncmp(a, lng, n) == 0 && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (strcmp(a, lng) != 0 && (shrt == NULL || strcmp(a, shrt) != 0))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Decimal 1..UINT32_MAX, nothing else (no sign, no spaces, no suffix). */
static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Options every command takes: --instance, --json (if json_ok), --help.
 * Returns 1 if consumed, 0 if not one of them, or an exit code via *code
 * (help printed or error) with return value -1. */
static int common_opt(int argc, char **argv, int *i, struct ctl_opts *g,
                      const char *cmd, const char *help, int *code)
{
    const char *v;
    int m = opt_value(argc, argv, i, "--instance", NULL, &v);
    if (m < 0) {
        *code = usage_error(cmd, "option '--instance' needs a value");
        return -1;
    }
    if (m > 0 && v[0] == '\0') {
        *code = usage_error(cmd, "option '--instance': the instance name is empty");
        return -1;
    }
    if (m > 0) {
        g->instance = v;
        return 1;
    }
    if (strcmp(argv[*i], "--json") == 0) {
        g->json = true;
        return 1;
    }
    if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
        fputs(help, stdout);
        *code = finish_output(EXIT_DONE);
        return -1;
    }
    return 0;
}

/* Options of status, txns, participants: only the common ones. */
static int parse_list_opts(int argc, char **argv, struct ctl_opts *g,
                           const char *cmd, const char *help)
{
    for (int i = 1; i < argc; i++) {
        int code = EXIT_FAIL;
        int m = common_opt(argc, argv, &i, g, cmd, help, &code);
        if (m < 0)
            return code;
        if (m == 0 && argv[i][0] == '-')
            return usage_error(cmd, "unknown option '%s'", argv[i]);
        if (m == 0)
            return usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    return PARSE_GO;
}

/* ---- attaching ----------------------------------------------------------- */

static int open_instance(const struct ctl_opts *g, dtc_instance **out)
{
    char name[DTC_INSTANCE_MAX];
    dtc_result rc = dtc_resolve_instance(g->instance, name);
    if (rc != DTC_OK && g->instance == NULL)
        return usage_error(NULL, "bad instance name in $DTC_INSTANCE: '%s': want "
                           NAME_RULE "{1,%d}", getenv("DTC_INSTANCE"),
                           DTC_INSTANCE_MAX - 1);
    if (rc != DTC_OK)
        return usage_error(NULL, "bad instance name '%s': want " NAME_RULE "{1,%d}",
                           g->instance, DTC_INSTANCE_MAX - 1);
    rc = dtc_open(name, out);
    if (rc != DTC_OK) {
        fprintf(stderr, "dtcctl: instance '%s': %s: %s\n", name,
                dtc_result_name(rc), dtc_strerror(rc));
        return EXIT_FAIL;
    }
    return PARSE_GO;
}

/* ---- text and JSON output ---------------------------------------------------- */

/* Writes at most max bytes of s, control bytes shown as '?'. */
static void put_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        putchar(c < 0x20 || c == 0x7f ? '?' : c);
    }
}

/* Length of the valid UTF-8 sequence at p (left bytes available), or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0; /* no overlong */
    else if (p[0] == 0xed)
        hi = 0x9f; /* no surrogates */
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f; /* <= U+10FFFF */
    if (n > left || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xbf)
            return 0;
    return n;
}

/* A JSON string of at most max bytes of s. */
static void json_str(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max);
    putchar('"');
    for (size_t k = 0; k < n;) {
        size_t u;
        if (p[k] == '"' || p[k] == '\\')
            printf("\\%c", p[k]);
        else if (p[k] < 0x20 || p[k] == 0x7f)
            printf("\\u%04x", p[k]);
        else if (p[k] < 0x80)
            putchar(p[k]);
        else if ((u = utf8_len(p + k, n - k)) > 0) {
            fwrite(p + k, 1, u, stdout);
            k += u;
            continue;
        } else
            fputs("\\ufffd", stdout);
        k++;
    }
    putchar('"');
}

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

static const char *json_bool(int b)
{
    return b ? "true" : "false";
}

/* ---- status -------------------------------------------------------------- */

static void status_text(const dtc_status *st)
{
    const dtc_counters *c = &st->counters;
    printf("instance:        ");
    put_text(st->instance, sizeof st->instance);
    printf("\nsegment size:    %zu bytes\n", st->segment_size);
    printf("layout version:  %" PRIu32 "\n", st->layout_version);
    printf("limits:          txns=%" PRIu32 " parts/txn=%" PRIu32
           " participants=%" PRIu32 "\n",
           st->limits.max_txns, st->limits.max_parts_per_txn,
           st->limits.max_participants);
    printf("supervisor:      pid %ld, %s\n", (long)st->supervisor_pid,
           st->supervisor_alive ? "alive" : "NOT ALIVE");
    printf("shutting down:   %s\n", yes_no(st->shutting_down));
    printf("transactions:    %" PRIu32 " in use / %" PRIu32 " max\n",
           st->txns_in_use, st->limits.max_txns);
    printf("participants:    %" PRIu32 " registered / %" PRIu32 " max\n",
           st->participants_registered, st->limits.max_participants);
    printf("corrupt slots:   %" PRIu32 "\n", st->corrupt_slots);
    printf("counters:        begun=%" PRIu64 " committed=%" PRIu64
           " aborted=%" PRIu64 " timed_out=%" PRIu64 " reclaimed=%" PRIu64
           " heuristic=%" PRIu64 "\n",
           c->begun, c->committed, c->aborted, c->timed_out, c->reclaimed,
           c->heuristic);
    if (!st->decision_log)
        printf("decision log:    NONE (dtcd --no-decision-log: a reboot breaks atomicity)\n");
    else
        printf("decision log:    %s file=%" PRIu64 " written_lsn=%" PRIu64 " durable_lsn=%"
               PRIu64 " records=%" PRIu64 " syncs=%" PRIu64 "\n",
               st->recovering ? "RECOVERING" : "ok", st->dlog_file, st->dlog_written_lsn,
               st->dlog_durable_lsn, st->dlog_records, st->dlog_syncs);
}

static void status_json(const dtc_status *st)
{
    const dtc_counters *c = &st->counters;
    printf("{\"instance\":");
    json_str(st->instance, sizeof st->instance);
    printf(",\"segment_size\":%zu,\"layout_version\":%" PRIu32,
           st->segment_size, st->layout_version);
    printf(",\"limits\":{\"max_txns\":%" PRIu32 ",\"max_parts_per_txn\":%" PRIu32
           ",\"max_participants\":%" PRIu32 "}",
           st->limits.max_txns, st->limits.max_parts_per_txn,
           st->limits.max_participants);
    printf(",\"supervisor\":{\"pid\":%ld,\"alive\":%s}",
           (long)st->supervisor_pid, json_bool(st->supervisor_alive));
    printf(",\"shutting_down\":%s,\"txns_in_use\":%" PRIu32
           ",\"participants_registered\":%" PRIu32 ",\"corrupt_slots\":%" PRIu32,
           json_bool(st->shutting_down), st->txns_in_use,
           st->participants_registered, st->corrupt_slots);
    printf(",\"counters\":{\"begun\":%" PRIu64 ",\"committed\":%" PRIu64
           ",\"aborted\":%" PRIu64 ",\"timed_out\":%" PRIu64
           ",\"reclaimed\":%" PRIu64 ",\"heuristic\":%" PRIu64 "}",
           c->begun, c->committed, c->aborted, c->timed_out, c->reclaimed,
           c->heuristic);
    printf(",\"decision_log\":{\"enabled\":%s,\"recovering\":%s,\"file\":%" PRIu64
           ",\"written_lsn\":%" PRIu64 ",\"durable_lsn\":%" PRIu64 ",\"records\":%" PRIu64
           ",\"syncs\":%" PRIu64 "}}\n",
           json_bool(st->decision_log), json_bool(st->recovering), st->dlog_file,
           st->dlog_written_lsn, st->dlog_durable_lsn, st->dlog_records, st->dlog_syncs);
}

/* Attaches and reads the status (needed by every list to size buffers). */
static int load_status(const struct ctl_opts *g, dtc_instance **inst,
                       dtc_status *st)
{
    int code = open_instance(g, inst);
    dtc_result rc;
    if (code != PARSE_GO)
        return code;
    rc = dtc_get_status(*inst, st);
    if (rc != DTC_OK) {
        dtc_close(inst);
        return lib_error("status", rc);
    }
    return PARSE_GO;
}

static int cmd_status(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_status st;
    int code = parse_list_opts(argc, argv, g, "status", status_help);
    if (code != PARSE_GO)
        return code;
    code = load_status(g, &inst, &st);
    if (code != PARSE_GO)
        return code;
    if (g->json)
        status_json(&st);
    else
        status_text(&st);
    dtc_close(&inst);
    bool healthy = st.supervisor_alive && !st.recovering && st.corrupt_slots == 0;
    return finish_output(healthy ? EXIT_DONE : EXIT_ABORTED);
}

/* ---- txns ---------------------------------------------------------------- */

static void entry_text(const dtc_entry_info *e)
{
    printf("    ");
    put_text(e->name, sizeof e->name);
    printf("  op=%s status=%s vote=%s attempts=%" PRIu32, dtc_op_name(e->op),
           dtc_entry_status_name(e->status), dtc_entry_status_name(e->vote),
           e->attempts);
    if (e->next_retry_ms >= 0)
        printf(" next_retry=%" PRId64 "ms", e->next_retry_ms);
    if (e->reason[0] != '\0') {
        printf(" reason=");
        put_text(e->reason, sizeof e->reason);
    }
    putchar('\n');
}

static void txn_text(const dtc_txn_info *t)
{
    char id[DTC_TXID_STRLEN];
    uint32_t n = t->nentries;
    dtc_txid_format(&t->id, id);
    printf("%s  %s  age=%" PRIu64 "ms owner=%ld adopted=%s participants=%" PRIu32
           "%s\n", id, dtc_txn_state_name(t->state), t->age_ms,
           (long)t->owner_pid, yes_no(t->adopted), n,
           t->quarantined ? "  quarantined (damaged: resolve --rollback)" : "");
    if (n > DTC_LIMIT_MAX_PARTS_PER_TXN)
        n = DTC_LIMIT_MAX_PARTS_PER_TXN;
    for (uint32_t k = 0; k < n; k++)
        entry_text(&t->entries[k]);
}

static void entry_json(const dtc_entry_info *e)
{
    printf("{\"name\":");
    json_str(e->name, sizeof e->name);
    printf(",\"op\":\"%s\",\"status\":\"%s\",\"vote\":\"%s\",\"attempts\":%"
           PRIu32 ",\"next_retry_ms\":%" PRId64 ",\"reason\":",
           dtc_op_name(e->op), dtc_entry_status_name(e->status),
           dtc_entry_status_name(e->vote), e->attempts, e->next_retry_ms);
    json_str(e->reason, sizeof e->reason);
    putchar('}');
}

static void txn_json(const dtc_txn_info *t)
{
    char id[DTC_TXID_STRLEN];
    uint32_t n = t->nentries;
    dtc_txid_format(&t->id, id);
    printf("{\"id\":\"%s\",\"state\":\"%s\",\"age_ms\":%" PRIu64
           ",\"owner_pid\":%ld,\"adopted\":%s,\"quarantined\":%s,\"entries\":[", id,
           dtc_txn_state_name(t->state), t->age_ms, (long)t->owner_pid,
           json_bool(t->adopted), json_bool(t->quarantined));
    if (n > DTC_LIMIT_MAX_PARTS_PER_TXN)
        n = DTC_LIMIT_MAX_PARTS_PER_TXN;
    for (uint32_t k = 0; k < n; k++) {
        if (k > 0)
            putchar(',');
        entry_json(&t->entries[k]);
    }
    printf("]}");
}

static void txns_print(const struct ctl_opts *g, const dtc_status *st,
                       const dtc_txn_info *arr, size_t n)
{
    if (g->json) {
        printf("{\"instance\":");
        json_str(st->instance, sizeof st->instance);
        printf(",\"count\":%zu,\"transactions\":[", n);
    } else if (n == 0) {
        printf("no transactions in flight\n");
    }
    for (size_t k = 0; k < n; k++) {
        if (g->json && k > 0)
            putchar(',');
        if (g->json)
            txn_json(&arr[k]);
        else
            txn_text(&arr[k]);
    }
    if (g->json)
        printf("]}\n");
}

static int cmd_txns(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_status st;
    dtc_txn_info *arr;
    size_t cap, n = 0;
    dtc_result rc;
    int code = parse_list_opts(argc, argv, g, "txns", txns_help);
    if (code != PARSE_GO || (code = load_status(g, &inst, &st)) != PARSE_GO)
        return code;
    cap = st.limits.max_txns > 0 ? st.limits.max_txns : 1;
    arr = calloc(cap, sizeof *arr);
    if (arr == NULL) {
        dtc_close(&inst);
        return usage_error(NULL, "out of memory for %zu transactions", cap);
    }
    rc = dtc_list_transactions(inst, arr, cap, &n);
    dtc_close(&inst);
    if (rc == DTC_OK)
        txns_print(g, &st, arr, n < cap ? n : cap);
    free(arr);
    return rc == DTC_OK ? finish_output(EXIT_DONE) : lib_error("txns", rc);
}

/* ---- participants -------------------------------------------------------- */

static void part_json(const dtc_participant_info *p)
{
    printf("{\"name\":");
    json_str(p->name, sizeof p->name);
    printf(",\"slot\":%" PRIu32 ",\"pid\":%ld,\"alive\":%s,\"pending\":%"
           PRIu32 ",\"served\":%" PRIu64 "}", p->slot, (long)p->pid,
           json_bool(p->alive), p->pending, p->served);
}

static void part_text(const dtc_participant_info *p)
{
    char name[DTC_NAME_MAX];
    size_t n = strnlen(p->name, sizeof name - 1);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)p->name[k];
        name[k] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    name[n] = '\0';
    printf("%-31s %5" PRIu32 " %8ld %-5s %8" PRIu32 " %10" PRIu64 "\n", name,
           p->slot, (long)p->pid, yes_no(p->alive), p->pending, p->served);
}

static void parts_print(const struct ctl_opts *g, const dtc_status *st,
                        const dtc_participant_info *arr, size_t n)
{
    if (g->json) {
        printf("{\"instance\":");
        json_str(st->instance, sizeof st->instance);
        printf(",\"count\":%zu,\"participants\":[", n);
    } else {
        printf("%-31s %5s %8s %-5s %8s %10s\n", "NAME", "SLOT", "PID",
               "ALIVE", "PENDING", "SERVED");
    }
    for (size_t k = 0; k < n; k++) {
        if (g->json && k > 0)
            putchar(',');
        if (g->json)
            part_json(&arr[k]);
        else
            part_text(&arr[k]);
    }
    if (g->json)
        printf("]}\n");
}

static int cmd_participants(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_status st;
    dtc_participant_info *arr;
    size_t cap, n = 0;
    dtc_result rc;
    int code = parse_list_opts(argc, argv, g, "participants", parts_help);
    if (code != PARSE_GO || (code = load_status(g, &inst, &st)) != PARSE_GO)
        return code;
    cap = st.limits.max_participants > 0 ? st.limits.max_participants : 1;
    arr = calloc(cap, sizeof *arr);
    if (arr == NULL) {
        dtc_close(&inst);
        return usage_error(NULL, "out of memory for %zu participants", cap);
    }
    rc = dtc_list_participants(inst, arr, cap, &n);
    dtc_close(&inst);
    if (rc == DTC_OK)
        parts_print(g, &st, arr, n < cap ? n : cap);
    free(arr);
    return rc == DTC_OK ? finish_output(EXIT_DONE)
                        : lib_error("participants", rc);
}

/* ---- run ----------------------------------------------------------------- */

/* NAME=PAYLOAD into *p (the payload points into argv). */
static int parse_part(const char *arg, struct run_part *p)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : 0;
    if (eq == NULL)
        return usage_error("run", "--participant wants NAME=PAYLOAD, got '%s'",
                           arg);
    if (n == 0)
        return usage_error("run", "empty participant name in '%s'", arg);
    if (n >= DTC_NAME_MAX)
        return usage_error("run", "participant name longer than %d bytes: "
                           "'%.*s'", DTC_NAME_MAX - 1, (int)n, arg);
    memcpy(p->name, arg, n);
    p->name[n] = '\0';
    if (strspn(p->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") != n)
        return usage_error("run", "bad participant name '%s': want " NAME_RULE
                           "{1,%d}", p->name, DTC_NAME_MAX - 1);
    p->payload = eq + 1;
    p->len = strlen(p->payload);
    if (p->len > DTC_PAYLOAD_MAX)
        return usage_error("run", "payload for '%s' longer than %d bytes",
                           p->name, DTC_PAYLOAD_MAX);
    return PARSE_GO;
}

/* The --*-timeout-ms options: 1 consumed, 0 not one, -1 error (*code). */
static int run_timeout_opt(int argc, char **argv, int *i, struct run_args *ra,
                           int *code)
{
    static const char *const names[] = {"--prepare-timeout-ms",
                                        "--commit-timeout-ms"};
    uint32_t *dst[] = {&ra->opts.prepare_timeout_ms,
                       &ra->opts.commit_timeout_ms};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *v;
        int m = opt_value(argc, argv, i, names[k], NULL, &v);
        if (m == 0)
            continue;
        if (m < 0)
            *code = usage_error("run", "option '%s' needs a value", names[k]);
        else if (!parse_u32(v, dst[k]) || *dst[k] > TIMEOUT_MAX_MS)
            *code = usage_error("run", "option '%s': bad number '%s' (want "
                                "1..%u ms: at most 1 hour)", names[k], v,
                                TIMEOUT_MAX_MS);
        else
            return 1;
        return -1;
    }
    return 0;
}

static int parse_run(int argc, char **argv, struct ctl_opts *g,
                     struct run_args *ra)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        int code = EXIT_FAIL;
        int m = common_opt(argc, argv, &i, g, "run", run_help, &code);
        if (m == 0)
            m = run_timeout_opt(argc, argv, &i, ra, &code);
        if (m < 0)
            return code;
        if (m > 0)
            continue;
        m = opt_value(argc, argv, &i, "--participant", "-p", &v);
        if (m < 0)
            return usage_error("run", "option '%s' needs a value", argv[i]);
        if (m == 0)
            return usage_error("run", "%s '%s'", argv[i][0] == '-'
                               ? "unknown option" : "unexpected argument",
                               argv[i]);
        if ((code = parse_part(v, &ra->parts[ra->nparts])) != PARSE_GO)
            return code;
        ra->nparts++;
    }
    if (g->json)
        return usage_error("run", "run has no --json output");
    if (ra->nparts == 0)
        return usage_error("run", "at least one --participant NAME=PAYLOAD "
                           "is needed");
    return PARSE_GO;
}

static bool status_bad(dtc_entry_status s)
{
    return s == DTC_ENTRY_NO || s == DTC_ENTRY_ERROR || s == DTC_ENTRY_TIMEOUT
           || s == DTC_ENTRY_DEAD;
}

/* One entry's part of a reason list; false if it has nothing to say on
 * this pass (0: failures only, 1: any reason). */
static bool print_entry_reason(const dtc_entry_info *e, int pass, int shown)
{
    dtc_entry_status bad = status_bad(e->vote) ? e->vote
                           : status_bad(e->status) ? e->status
                           : DTC_ENTRY_IDLE;
    bool delivery = e->failed_op != DTC_OP_NONE;
    if (pass == 0 ? bad == DTC_ENTRY_IDLE && !delivery : e->reason[0] == '\0')
        return false;
    fputs(shown ? "; " : " ", stdout);
    put_text(e->name, sizeof e->name);
    fputs(": ", stdout);
    if (pass == 0 && delivery && bad == DTC_ENTRY_IDLE) {
        /* it answered since (compensated, or committed on a retry) */
        printf("%s failed (%s): ", dtc_op_name(e->failed_op),
               dtc_entry_status_name(e->failed_status));
        put_text(e->failed_reason, sizeof e->failed_reason);
    } else if (e->reason[0] != '\0') {
        put_text(e->reason, sizeof e->reason);
    } else {
        fputs(dtc_entry_status_name(bad), stdout);
    }
    return true;
}

/* Appends " NAME: REASON[; NAME: REASON...]" for every entry whose vote or
 * last answer was no / error / timeout / dead, or whose commit or
 * rollback failed on the way (the status name stands in for an empty
 * reason); if there is none, every entry that left a reason. */
static void print_reasons(const dtc_txn_info *r)
{
    uint32_t n = r->nentries < DTC_LIMIT_MAX_PARTS_PER_TXN
                     ? r->nentries : DTC_LIMIT_MAX_PARTS_PER_TXN;
    int shown = 0;
    for (int pass = 0; pass < 2 && shown == 0; pass++)
        for (uint32_t k = 0; k < n; k++)
            shown += print_entry_reason(&r->entries[k], pass, shown);
}

/* Prints the outcome line of a commit; returns the exit code.  The
 * slot's state decides the word: a rollback that failed leaves it
 * HEURISTIC, whatever the result code says. */
static int print_outcome(dtc_result rc, const dtc_txn_info *r)
{
    const char *word = r->state == DTC_TXN_HEURISTIC ? "heuristic" : "aborted";
    switch (rc) {
    case DTC_OK:
        printf("committed\n");
        return EXIT_DONE;
    case DTC_EHEURISTIC:
        word = "heuristic";
        /* fall through */
    case DTC_EREFUSED:
    case DTC_EPARTICIPANT:
    case DTC_ETIMEOUT:
    case DTC_ENOTALIVE: /* a participant died before voting: rolled back */
    case DTC_ECOMMIT:
    case DTC_EROLLBACK:
    case DTC_EABORTED:
    case DTC_ELOG:
        printf("%s %s", word, dtc_result_name(rc));
        print_reasons(r);
        putchar('\n');
        return EXIT_ABORTED;
    default: /* the outcome is not known: a system-level failure */
        printf("unknown %s %s\n", dtc_result_name(rc), dtc_strerror(rc));
        return EXIT_FAIL;
    }
}

/* An enlist failed: roll the begun transaction back, report an abort. */
static int enlist_failed(dtc_instance *inst, const dtc_txid *id,
                         const char *name, dtc_result rc)
{
    dtc_result rb = dtc_rollback_transaction(inst, id, NULL);
    printf("aborted %s ", dtc_result_name(rc));
    put_text(name, DTC_NAME_MAX);
    printf(": %s\n", dtc_strerror(rc));
    if (rb != DTC_OK)
        fprintf(stderr, "dtcctl: rollback after the failed enlist: %s: %s\n",
                dtc_result_name(rb), dtc_strerror(rb));
    return EXIT_ABORTED;
}

static int run_txn(dtc_instance *inst, const struct run_args *ra)
{
    dtc_txid id;
    dtc_txn_info report;
    char s[DTC_TXID_STRLEN];
    dtc_result rc = dtc_begin_transaction(inst, &ra->opts, &id);
    if (rc != DTC_OK)
        return lib_error("begin", rc);
    dtc_txid_format(&id, s);
    printf("txid %s\n", s);
    fflush(stdout); /* visible even if the commit takes long */
    for (size_t k = 0; k < ra->nparts; k++) {
        const struct run_part *p = &ra->parts[k];
        rc = dtc_enlist(inst, &id, p->name, p->payload, p->len);
        if (rc != DTC_OK)
            return enlist_failed(inst, &id, p->name, rc);
    }
    memset(&report, 0, sizeof report);
    rc = dtc_commit_transaction(inst, &id, &report);
    return print_outcome(rc, &report);
}

static int cmd_run(struct ctl_opts *g, int argc, char **argv)
{
    struct run_args ra;
    dtc_instance *inst = NULL;
    int code;
    memset(&ra, 0, sizeof ra);
    dtc_txn_options_default(&ra.opts);
    ra.parts = calloc((size_t)argc, sizeof *ra.parts);
    if (ra.parts == NULL)
        return usage_error(NULL, "out of memory");
    code = parse_run(argc, argv, g, &ra);
    if (code == PARSE_GO && (code = open_instance(g, &inst)) == PARSE_GO) {
        code = run_txn(inst, &ra);
        dtc_close(&inst);
        code = finish_output(code);
    }
    free(ra.parts);
    return code;
}

/* ---- retry, resolve ------------------------------------------------------ */

/* TXID plus, for resolve (decision != NULL), --commit or --rollback. */
static int parse_txid_cmd(int argc, char **argv, struct ctl_opts *g,
                          const char *help, dtc_txid *id, int *decision, bool json_ok)
{
    const char *cmd = argv[0], *txid = NULL;
    for (int i = 1; i < argc; i++) {
        int code = EXIT_FAIL;
        int m = common_opt(argc, argv, &i, g, cmd, help, &code);
        if (m < 0)
            return code;
        if (m > 0)
            continue;
        if (decision && (strcmp(argv[i], "--commit") == 0
                         || strcmp(argv[i], "--rollback") == 0)) {
            int d = strcmp(argv[i], "--commit") == 0;
            if (*decision == d)
                return usage_error(cmd, "'%s' given twice: say it once", argv[i]);
            if (*decision >= 0)
                return usage_error(cmd, "--commit and --rollback: say one, not both");
            *decision = d;
        } else if (argv[i][0] == '-')
            return usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (txid != NULL)
            return usage_error(cmd, "unexpected argument '%s'", argv[i]);
        else
            txid = argv[i];
    }
    if (g->json && !json_ok)
        return usage_error(cmd, "%s has no --json output", cmd);
    if (txid == NULL || dtc_txid_parse(txid, id) != DTC_OK)
        return usage_error(cmd, txid ? "bad TXID '%s'" : "missing TXID%s",
                           txid ? txid : "");
    if (decision && *decision < 0)
        return usage_error(cmd, "say --commit or --rollback");
    return PARSE_GO;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The transaction's outcome once nobody drives it any more (dtcd may be
 * redelivering: wait up to wait_ms).  DTC_OK with *o filled, or why not. */
static dtc_result settled_outcome(dtc_instance *inst, const dtc_txid *id, int wait_ms,
                                  dtc_outcome *o)
{
    dtc_result rc;
    for (int waited = 0;; waited += 50) {
        rc = dtc_transaction_outcome(inst, id, o);
        if (rc != DTC_OK || o->kind != DTC_OUTCOME_IN_FLIGHT || waited >= wait_ms)
            return rc;
        sleep_ms(50);
    }
}

/* "committed", "aborted RESULT reasons", "heuristic RESULT reasons" or
 * "in-flight STATE"; exit 0 once it ended, 1 if it still needs someone. */
static int print_settled(const dtc_outcome *o)
{
    printf("%s", dtc_outcome_name(o->kind));
    if (o->kind == DTC_OUTCOME_IN_FLIGHT)
        printf(" %s%s", dtc_txn_state_name(o->info.state),
               o->info.adopted ? " (dtcd is delivering it)" : "");
    else if (o->kind != DTC_OUTCOME_COMMITTED)
        printf(" %s", dtc_result_name(o->result));
    if (o->kind != DTC_OUTCOME_COMMITTED)
        print_reasons(&o->info);
    putchar('\n');
    return o->kind == DTC_OUTCOME_COMMITTED || o->kind == DTC_OUTCOME_ABORTED ? EXIT_DONE
                                                                               : EXIT_ABORTED;
}

/* Reports what an operator's call actually led to: the call may have
 * driven the transaction itself, or made the retries of dtcd (which
 * adopted it) due now; either way the outcome is read back. */
static int report_operator(dtc_instance *inst, const dtc_txid *id, dtc_result rc)
{
    dtc_outcome o;
    switch (rc) {
    case DTC_OK:
    case DTC_EHEURISTIC:
    case DTC_EREFUSED:
    case DTC_EPARTICIPANT:
    case DTC_ETIMEOUT:
    case DTC_ECOMMIT:
    case DTC_EROLLBACK:
    case DTC_EABORTED:
    case DTC_ENOTFOUND: /* ended already: the log may know how */
        break;
    default:
        return lib_error("transaction", rc);
    }
    dtc_result orc = settled_outcome(inst, id, 30000, &o);
    if (orc != DTC_OK)
        return lib_error("transaction", rc == DTC_ENOTFOUND ? rc : orc);
    if (rc == DTC_ENOTFOUND)
        printf("already ended: ");
    return print_settled(&o);
}

static int cmd_operator(struct ctl_opts *g, int argc, char **argv,
                        const char *help, int *decision)
{
    dtc_instance *inst = NULL;
    dtc_txid id;
    dtc_result rc;
    int code = parse_txid_cmd(argc, argv, g, help, &id, decision, false);
    if (code != PARSE_GO || (code = open_instance(g, &inst)) != PARSE_GO)
        return code;
    rc = decision ? dtc_resolve_transaction(inst, &id, *decision, NULL)
                  : dtc_retry_transaction(inst, &id, NULL);
    code = report_operator(inst, &id, rc);
    dtc_close(&inst);
    return finish_output(code);
}

/* ---- show ------------------------------------------------------------------ */

static void show_json(const dtc_outcome *o)
{
    printf("{\"outcome\":\"%s\",\"result\":\"%s\",\"from_log\":%s,\"end_unix_ms\":%" PRId64
           ",\"transaction\":",
           dtc_outcome_name(o->kind), dtc_result_name(o->result), json_bool(o->from_log),
           o->end_unix_ms);
    txn_json(&o->info);
    printf("}\n");
}

static void show_text(const dtc_outcome *o)
{
    printf("outcome:  %s\nresult:   %s\nsource:   %s\n", dtc_outcome_name(o->kind),
           dtc_result_name(o->result), o->from_log ? "decision log (slot gone)" : "slot");
    if (o->end_unix_ms > 0) {
        time_t t = (time_t)(o->end_unix_ms / 1000);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        printf("ended:    %s\n", when);
    }
    txn_text(&o->info);
}

static int cmd_show(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_outcome o;
    dtc_txid id;
    int code = parse_txid_cmd(argc, argv, g, show_help, &id, NULL, true);
    if (code != PARSE_GO || (code = open_instance(g, &inst)) != PARSE_GO)
        return code;
    dtc_result rc = dtc_transaction_outcome(inst, &id, &o);
    dtc_close(&inst);
    if (rc != DTC_OK)
        return lib_error("show", rc);
    if (g->json)
        show_json(&o);
    else
        show_text(&o);
    return finish_output(o.kind == DTC_OUTCOME_HEURISTIC ? EXIT_ABORTED : EXIT_DONE);
}

static int cmd_retry(struct ctl_opts *g, int argc, char **argv)
{
    return cmd_operator(g, argc, argv, retry_help, NULL);
}

static int cmd_resolve(struct ctl_opts *g, int argc, char **argv)
{
    int decision = -1;
    return cmd_operator(g, argc, argv, resolve_help, &decision);
}

/* ---- main ---------------------------------------------------------------- */

static const struct command {
    const char *name;
    int (*fn)(struct ctl_opts *g, int argc, char **argv);
} commands[] = {
    {"status", cmd_status},
    {"txns", cmd_txns},
    {"participants", cmd_participants},
    {"run", cmd_run},
    {"retry", cmd_retry},
    {"resolve", cmd_resolve},
    {"show", cmd_show},
};

int main(int argc, char **argv)
{
    struct ctl_opts g = {NULL, false};
    int i = 1;
    /* The outcome lines say what the library's warnings would; DTC_LOG=warn
     * (or info, debug) brings them back on stderr. */
    dtc_log_init(DTC_LOG_ERROR);
    /* A closed stdout (dtcctl run | head -1) must not kill run between
     * its begin and its commit: the write fails, finish_output says so. */
    signal(SIGPIPE, SIG_IGN);
    for (; i < argc && argv[i][0] == '-'; i++) {
        int code = EXIT_FAIL;
        int m = common_opt(argc, argv, &i, &g, NULL, main_help, &code);
        if (m < 0)
            return code;
        if (m == 0)
            return usage_error(NULL, "unknown option '%s'", argv[i]);
    }
    if (i >= argc)
        return usage_error(NULL, "missing command (status, txns, "
                           "participants, run, retry, resolve, show)");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            return commands[k].fn(&g, argc - i, argv + i);
    return usage_error(NULL, "unknown command '%s'", argv[i]);
}
