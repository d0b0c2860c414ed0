/*
 * operate.c - dtcctl's operator calls on one transaction: retry and
 * resolve (then the outcome they led to, read back), and show (how it
 * ended, from its slot or the decision log).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "dtcctl.h"

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
    "usage: dtcctl [--instance NAME] retry TXID [--json]\n"
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
    "usage: dtcctl [--instance NAME] resolve TXID --commit|--rollback [--json]\n"
    "\n"
    "Ends a HEURISTIC transaction by sending commit or rollback to every\n"
    "participant; the decision is logged (synced) first, so if dtcctl dies\n"
    "dtcd carries it through.  Output and exit codes as for retry.\n"
    "--json (retry, resolve): one object: the call's result, whether the\n"
    "transaction had already ended, and the settled outcome as show --json\n"
    "prints it.\n";

/* ---- retry, resolve ------------------------------------------------------ */

enum { OPT_COMMIT = 1, OPT_ROLLBACK };

/* resolve's --commit / --rollback: one decision, said once. */
static int decision_take(void *ctx, int c, const char *v)
{
    int *decision = ctx, d = c == OPT_COMMIT;
    (void)v;
    if (*decision == d)
        return ctl_usage_error("resolve", "'%s' given twice: say it once",
                               d ? "--commit" : "--rollback");
    if (*decision >= 0)
        return ctl_usage_error("resolve", "--commit and --rollback: say one, not both");
    *decision = d;
    return PARSE_GO;
}

/* TXID plus, for resolve (decision != NULL), --commit or --rollback. */
static int parse_txid_cmd(int argc, char **argv, struct ctl_opts *g,
                          const char *help, dtc_txid *id, int *decision, bool json_ok)
{
    static const struct option own[] = {{"commit", no_argument, NULL, OPT_COMMIT},
                                        {"rollback", no_argument, NULL, OPT_ROLLBACK},
                                        {NULL, 0, NULL, 0}};
    const char *cmd = argv[0], *txid = NULL;
    const struct ctl_parse p = {g, cmd, help, decision ? own : NULL, NULL, decision_take,
                                decision};
    int first = 0, code = ctl_getopt(argc, argv, &p, &first);
    if (code != PARSE_GO)
        return code;
    if (first + 1 < argc)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[first + 1]);
    if (first < argc)
        txid = argv[first];
    if (g->json && !json_ok)
        return ctl_usage_error(cmd, "%s has no --json output", cmd);
    if (txid == NULL || dtc_txid_parse(txid, id) != DTC_OK)
        return ctl_usage_error(cmd, txid ? "bad TXID '%s'" : "missing TXID%s",
                           txid ? txid : "");
    if (decision && *decision < 0)
        return ctl_usage_error(cmd, "say --commit or --rollback");
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

/* "committed", "aborted RESULT reasons", "heuristic DTC_EHEURISTIC
 * cause=CAUSE reasons" (as run prints them) or "in-flight STATE"; exit 0
 * once it ended, 1 if it still needs someone. */
static int print_settled(const dtc_outcome *o)
{
    if (o->kind == DTC_OUTCOME_IN_FLIGHT) {
        printf("in-flight %s%s", dtc_txn_state_name(o->info.state),
               o->info.adopted ? " (dtcd is delivering it)" : "");
        ctl_print_reasons(&o->info);
        putchar('\n');
    } else if (o->kind == DTC_OUTCOME_COMMITTED) {
        printf("committed\n");
    } else {
        ctl_print_outcome(dtc_outcome_name(o->kind), o->result, &o->info);
    }
    return o->kind == DTC_OUTCOME_COMMITTED || o->kind == DTC_OUTCOME_ABORTED ? EXIT_DONE
                                                                               : EXIT_ABORTED;
}

static void show_json(const dtc_outcome *o);

/* resolve --commit refused (DTC_ENOTPREPARED): nothing was sent; prints
 * "refused DTC_ENOTPREPARED not prepared: NAME (WHY), ..." (or one JSON
 * object) and says so on stderr.  Exit 2, as for any call that did
 * nothing. */
static int report_not_prepared(const dtc_txn_info *t, bool json)
{
    if (json) {
        printf("{\"call\":\"%s\",\"refused\":true,\"not_prepared\":",
               dtc_result_name(DTC_ENOTPREPARED));
        ctl_print_not_prepared(t, true);
        printf("}\n");
        return EXIT_FAIL;
    }
    printf("refused %s not prepared:", dtc_result_name(DTC_ENOTPREPARED));
    ctl_print_not_prepared(t, false);
    printf("\n");
    fprintf(stderr, "dtcctl: resolve --commit refused: %s: %s; nothing was sent "
            "(resolve --rollback ends it)\n", dtc_result_name(DTC_ENOTPREPARED),
            dtc_strerror(DTC_ENOTPREPARED));
    return EXIT_FAIL;
}

/* Reports what an operator's call actually led to: the call may have
 * driven the transaction itself, or made the retries of dtcd (which
 * adopted it) due now; either way the outcome is read back.  With json:
 * the call's own result and whether the transaction had already ended,
 * then what show --json prints. */
static int report_operator(dtc_instance *inst, const dtc_txid *id, dtc_result rc,
                           const dtc_txn_info *call_report, bool json)
{
    dtc_outcome o;
    if (rc == DTC_ENOTPREPARED)
        return report_not_prepared(call_report, json);
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
        return ctl_lib_error("transaction", rc);
    }
    dtc_result orc = settled_outcome(inst, id, 30000, &o);
    if (orc != DTC_OK)
        return ctl_lib_error("transaction", rc == DTC_ENOTFOUND ? rc : orc);
    if (json) {
        printf("{\"call\":\"%s\",\"already_ended\":%s,\"settled\":", dtc_result_name(rc),
               ctl_json_bool(rc == DTC_ENOTFOUND));
        show_json(&o);
        printf("}\n");
        return o.kind == DTC_OUTCOME_COMMITTED || o.kind == DTC_OUTCOME_ABORTED ? EXIT_DONE
                                                                                 : EXIT_ABORTED;
    }
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
    int code = parse_txid_cmd(argc, argv, g, help, &id, decision, true);
    if (code != PARSE_GO || (code = ctl_open_instance(g, &inst)) != PARSE_GO)
        return code;
    dtc_txn_info *report = calloc(1, sizeof *report);
    if (report == NULL) {
        dtc_close(&inst);
        return ctl_usage_error(NULL, "out of memory");
    }
    rc = decision ? dtc_resolve_transaction(inst, &id, *decision, report)
                  : dtc_retry_transaction(inst, &id, report);
    code = report_operator(inst, &id, rc, report, g->json);
    free(report);
    dtc_close(&inst);
    return ctl_finish_output(code);
}

/* ---- show ------------------------------------------------------------------ */

static void show_json(const dtc_outcome *o)
{
    printf("{\"outcome\":\"%s\",\"result\":\"%s\",\"cause\":\"%s\",\"from_log\":%s",
           dtc_outcome_name(o->kind), dtc_result_name(o->result), dtc_result_name(o->info.result),
           ctl_json_bool(o->from_log));
    if (o->end_unix_ms > 0)
        printf(",\"end_unix_ms\":%" PRId64, o->end_unix_ms);
    printf(",\"transaction\":");
    ctl_txn_json(&o->info, o->from_log);
    putchar('}');
}

static void show_text(const dtc_outcome *o)
{
    printf("outcome:  %s\nresult:   %s\ncause:    %s\nsource:   %s\n", dtc_outcome_name(o->kind),
           dtc_result_name(o->result), dtc_result_name(o->info.result),
           o->from_log ? "decision log (slot gone)" : "slot");
    if (o->end_unix_ms > 0) {
        time_t t = (time_t)(o->end_unix_ms / 1000);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        printf("ended:    %s\n", when);
    }
    ctl_txn_text(&o->info, o->from_log);
}

int ctl_cmd_show(struct ctl_opts *g, int argc, char **argv)
{
    dtc_instance *inst = NULL;
    dtc_outcome o;
    dtc_txid id;
    int code = parse_txid_cmd(argc, argv, g, show_help, &id, NULL, true);
    if (code != PARSE_GO || (code = ctl_open_instance(g, &inst)) != PARSE_GO)
        return code;
    dtc_result rc = dtc_transaction_outcome(inst, &id, &o);
    dtc_close(&inst);
    if (rc != DTC_OK)
        return ctl_lib_error("show", rc);
    if (g->json) {
        show_json(&o);
        putchar('\n');
    } else {
        show_text(&o);
    }
    return ctl_finish_output(o.kind == DTC_OUTCOME_HEURISTIC ? EXIT_ABORTED : EXIT_DONE);
}

int ctl_cmd_retry(struct ctl_opts *g, int argc, char **argv)
{
    return cmd_operator(g, argc, argv, retry_help, NULL);
}

int ctl_cmd_resolve(struct ctl_opts *g, int argc, char **argv)
{
    int decision = -1;
    return cmd_operator(g, argc, argv, resolve_help, &decision);
}
