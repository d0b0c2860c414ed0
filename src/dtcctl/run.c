/*
 * run.c - dtcctl run: one transaction through begin, enlist and commit,
 * and its outcome line (exit 0 committed, 1 aborted or heuristic).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opt.h"
#include "dtcctl.h"

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

_Static_assert(DTC_NAME_MAX == 32 && DTC_TIMEOUT_MAX_MS == 3600000, "run_help's numbers");
static const char run_help[] =
    "usage: dtcctl [--instance NAME] run --participant NAME=PAYLOAD ...\n"
    "                 [--prepare-timeout-ms N] [--commit-timeout-ms N] [--json]\n"
    "\n"
    "Begins a transaction, enlists each participant in order with its\n"
    "payload and commits (both phases).  Prints 'txid UUID', then one of:\n"
    "  committed                                 exit 0\n"
    "  aborted CAUSE [adopted_why=WHY] [NAME: REASON; ...]\n"
    "                                            exit 1\n"
    "  heuristic DTC_EHEURISTIC cause=CAUSE [NAME: REASON; ...]\n"
    "                                            exit 1 (needs an operator)\n"
    "  unknown RESULT MESSAGE                    exit 2 (system error)\n"
    "CAUSE is why it was rolled back: DTC_EREFUSED, DTC_EPARTICIPANT,\n"
    "DTC_ETIMEOUT, DTC_ENOTALIVE, DTC_ECOMMIT (compensated), DTC_EABORTED\n"
    "(rolled back by dtcd: adopted_why says why); 'dtcctl show TXID'\n"
    "adds each reason's code (reason_code=out_of_stock ...).  A prepare\n"
    "timeout is answered when it expires: the slow participant's rollback\n"
    "is not waited for.\n"
    "An enlist failure (unknown or dead participant, too many) rolls the\n"
    "transaction back and prints 'aborted RESULT NAME: MESSAGE' (exit 1).\n"
    "No segment, a failed begin or a bad option exits 2.\n"
    "\n"
    "  -p, --participant NAME=PAYLOAD  enlist NAME with PAYLOAD (repeatable)\n"
    "  --prepare-timeout-ms N          phase-one deadline (default 5000)\n"
    "  --commit-timeout-ms N           phase-two deadline (default 5000)\n"
    "Deadlines are 1.." CTL_STR(DTC_TIMEOUT_MAX_MS) " ms (at most 1 hour).  A participant NAME\n"
    "is " DTC_NAME_RULE "{1,31}, each at most once per transaction (else\n"
    "'aborted DTC_EDUPLICATE NAME: ...', exit 1).\n"
    "--json prints one object instead: txid, outcome (committed, aborted,\n"
    "heuristic, unknown), result, cause and the transaction as txns --json\n"
    "shows it (or enlist_failed: NAME); the exit codes stay.\n";

/* ---- run ----------------------------------------------------------------- */

/* NAME=PAYLOAD into *p (the payload points into argv). */
static int parse_part(const char *arg, struct run_part *p)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : 0;
    if (eq == NULL)
        return ctl_value_error("--participant: want NAME=PAYLOAD, got '%s'", arg);
    if (n == 0)
        return ctl_value_error("--participant: empty participant name in '%s'", arg);
    if (n >= DTC_NAME_MAX)
        return ctl_value_error("--participant: name longer than %d bytes: "
                               "'%.*s'", DTC_NAME_MAX - 1, (int)n, arg);
    memcpy(p->name, arg, n);
    p->name[n] = '\0';
    if (!dtc_name_valid(p->name, DTC_NAME_MAX))
        return ctl_value_error("--participant: bad participant name '%s': want " DTC_NAME_RULE
                               "{1,%d}", p->name, DTC_NAME_MAX - 1);
    p->payload = eq + 1;
    p->len = strlen(p->payload);
    if (p->len > DTC_PAYLOAD_MAX)
        return ctl_value_error("--participant: payload for '%s' longer than %d bytes",
                               p->name, DTC_PAYLOAD_MAX);
    return PARSE_GO;
}

enum { OPT_PREPARE_MS = 1, OPT_COMMIT_MS };

/* One of run's own options (getopt_long). */
static int run_take(void *ctx, int c, const char *v)
{
    struct run_args *ra = ctx;
    if (c == 'p') {
        int code = parse_part(v, &ra->parts[ra->nparts]);
        ra->nparts += code == PARSE_GO;
        return code;
    }
    const char *opt = c == OPT_PREPARE_MS ? "--prepare-timeout-ms" : "--commit-timeout-ms";
    uint32_t *dst = c == OPT_PREPARE_MS ? &ra->opts.prepare_timeout_ms
                                        : &ra->opts.commit_timeout_ms;
    return dtc__opt_u32("dtcctl", opt, v, 1, DTC_TIMEOUT_MAX_MS, " ms: at most 1 hour",
                        dst) == 0 ? PARSE_GO : EXIT_FAIL;
}

static int parse_run(int argc, char **argv, struct ctl_opts *g,
                     struct run_args *ra)
{
    static const struct option own[] = {
        {"participant", required_argument, NULL, 'p'},
        {"prepare-timeout-ms", required_argument, NULL, OPT_PREPARE_MS},
        {"commit-timeout-ms", required_argument, NULL, OPT_COMMIT_MS},
        {NULL, 0, NULL, 0}};
    const struct ctl_parse p = {g, "run", run_help, own, "p:", run_take, ra};
    int first = 0, code = ctl_getopt(argc, argv, &p, &first);
    if (code != PARSE_GO)
        return code;
    if (first < argc)
        return ctl_usage_error("run", "unexpected argument '%s'", argv[first]);
    if (ra->nparts == 0)
        return ctl_usage_error("run", "at least one --participant NAME=PAYLOAD "
                           "is needed");
    return PARSE_GO;
}

/* The word for a commit's result ("committed", "aborted", "heuristic",
 * "unknown") and its exit code.  The slot's state decides between aborted
 * and heuristic. */
static const char *outcome_word(dtc_result rc, const dtc_txn_info *r, int *code)
{
    *code = EXIT_ABORTED;
    switch (rc) {
    case DTC_OK:
        *code = EXIT_DONE;
        return "committed";
    case DTC_EHEURISTIC:
        return "heuristic";
    case DTC_EREFUSED:
    case DTC_EPARTICIPANT:
    case DTC_ETIMEOUT:
    case DTC_ENOTALIVE: /* a participant died before voting: rolled back */
    case DTC_ECOMMIT:
    case DTC_EABORTED:
        return r->state == DTC_TXN_HEURISTIC ? "heuristic" : "aborted";
    default: /* the outcome is not known: a system-level failure */
        *code = EXIT_FAIL;
        return "unknown";
    }
}

/* Prints the outcome of a commit (a line, or with json one object);
 * returns the exit code. */
static int print_outcome(bool json, const char *txid, dtc_result rc, const dtc_txn_info *r)
{
    int code;
    const char *word = outcome_word(rc, r, &code);
    if (json) {
        printf("{\"txid\":\"%s\",\"outcome\":\"%s\",\"result\":\"%s\",\"cause\":\"%s\","
               "\"transaction\":",
               txid, word, dtc_result_name(rc), dtc_result_name(code == EXIT_DONE ? DTC_OK : r->result));
        ctl_txn_json(r, false);
        printf("}\n");
    } else if (code == EXIT_DONE) {
        printf("committed\n");
    } else if (code == EXIT_FAIL) {
        printf("unknown %s %s\n", dtc_result_name(rc), dtc_strerror(rc));
    } else {
        ctl_print_outcome(word, rc, r);
    }
    return code;
}

/* An enlist failed: roll the begun transaction back, report an abort. */
static int enlist_failed(bool json, dtc_instance *inst, const dtc_txid *id, const char *txid,
                         const char *name, dtc_result rc)
{
    dtc_result rb = dtc_rollback_transaction(inst, id, NULL);
    if (json) {
        printf("{\"txid\":\"%s\",\"outcome\":\"aborted\",\"result\":\"%s\","
               "\"enlist_failed\":", txid, dtc_result_name(rc));
        ctl_json_str(name, DTC_NAME_MAX);
        printf(",\"message\":");
        ctl_json_str(dtc_strerror(rc), 200);
        printf("}\n");
    } else {
        printf("aborted %s ", dtc_result_name(rc));
        ctl_put_text(name, DTC_NAME_MAX);
        printf(": %s\n", dtc_strerror(rc));
    }
    if (rb != DTC_OK)
        fprintf(stderr, "dtcctl: rollback after the failed enlist: %s: %s\n",
                dtc_result_name(rb), dtc_strerror(rb));
    return EXIT_ABORTED;
}

static int run_txn(dtc_instance *inst, const struct run_args *ra, bool json)
{
    dtc_txid id;
    dtc_txn_info report;
    char s[DTC_TXID_STRLEN];
    dtc_result rc = dtc_begin_transaction(inst, &ra->opts, &id);
    if (rc != DTC_OK)
        return ctl_lib_error("begin", rc);
    dtc_txid_format(&id, s);
    if (!json) {
        printf("txid %s\n", s);
        fflush(stdout); /* visible even if the commit takes long */
    }
    for (size_t k = 0; k < ra->nparts; k++) {
        const struct run_part *p = &ra->parts[k];
        rc = dtc_enlist(inst, &id, p->name, p->payload, p->len);
        if (rc != DTC_OK)
            return enlist_failed(json, inst, &id, s, p->name, rc);
    }
    memset(&report, 0, sizeof report);
    rc = dtc_commit_transaction(inst, &id, &report);
    return print_outcome(json, s, rc, &report);
}

int ctl_cmd_run(struct ctl_opts *g, int argc, char **argv)
{
    struct run_args ra;
    dtc_instance *inst = NULL;
    int code;
    memset(&ra, 0, sizeof ra);
    dtc_txn_options_default(&ra.opts);
    ra.parts = calloc((size_t)argc, sizeof *ra.parts);
    if (ra.parts == NULL)
        return ctl_usage_error(NULL, "out of memory");
    code = parse_run(argc, argv, g, &ra);
    if (code == PARSE_GO && (code = ctl_open_instance(g, &inst)) == PARSE_GO) {
        code = run_txn(inst, &ra, g->json);
        dtc_close(&inst);
        code = ctl_finish_output(code);
    }
    free(ra.parts);
    return code;
}

