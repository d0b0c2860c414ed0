/*
 * dtcctl.h - what the files of dtcctl share: exit codes, the global
 * options, the option parsing and error helpers (options.c), the output
 * helpers (render.c) and the commands (inspect.c, run.c, operate.c,
 * view.c with snap.c and top.c), each
 * called by main.c with argv at the command's name.
 */
#ifndef DTC_DTCCTL_H
#define DTC_DTCCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtc/dtc.h"

enum { EXIT_DONE = 0, EXIT_ABORTED = 1, EXIT_FAIL = 2 };
/* A constant of dtc.h as a string literal, for the help texts. */
#define CTL_STR_(x) #x
#define CTL_STR(x) CTL_STR_(x)
/* Parse results: go on, or stop with this exit code. */
enum { PARSE_GO = -1 };

struct ctl_opts {
    const char *instance; /* NULL: $DTC_INSTANCE, else "default" */
    bool json;
};

/* ---- messages and options (options.c) -------------------------------------- */

/* Prints "dtcctl: MSG" and a hint on stderr; returns EXIT_FAIL. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bad option value: "dtcctl: MSG", one line on stderr; EXIT_FAIL. */
int ctl_value_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "dtcctl: WHAT: RESULT: text" on stderr; returns EXIT_FAIL. */
int ctl_lib_error(const char *what, dtc_result rc);
/* Flushes stdout; a write error (full disk, closed pipe) is a failure. */
int ctl_finish_output(int code);
/* The codes of the options every command takes ('h' is --help / -h). */
enum { CTL_OPT_INSTANCE = 256, CTL_OPT_JSON, CTL_OPT_LOG_LEVEL, CTL_OPT_VERSION };

struct option;
/* One command's option parsing: the common options plus its own (own:
 * a getopt_long table ending with a zeroed entry, codes below 256;
 * shorts: their short letters as in getopt's optstring, e.g. "p:"). */
struct ctl_parse {
    struct ctl_opts *g;
    const char *cmd;   /* the command's name; NULL: the global options */
    const char *help;  /* printed by --help */
    const struct option *own;
    const char *shorts;
    int (*take)(void *ctx, int c, const char *arg); /* PARSE_GO or exit code */
    void *ctx;
};
/* getopt_long over argv[1..argc): PARSE_GO with the operands (options
 * removed, in order) at argv[*first..argc), or an exit code after a
 * message (one line for a bad value) or --help / --version. */
int ctl_getopt(int argc, char **argv, const struct ctl_parse *p, int *first);
/* Options of status, participants, metrics: only the common ones. */
int ctl_parse_list_opts(int argc, char **argv, struct ctl_opts *g, const char *cmd,
                        const char *help);
/* Opens the instance of g: PARSE_GO, or an exit code after a message. */
int ctl_open_instance(const struct ctl_opts *g, dtc_instance **out);
/* The instance name of g, resolved into name (PARSE_GO), else a usage
 * error said (its exit code). */
int ctl_instance_name(const struct ctl_opts *g, char name[DTC_INSTANCE_MAX]);
/* "dtcctl: instance 'NAME': RESULT: text" on stderr; returns EXIT_FAIL. */
int ctl_instance_error(const char *name, dtc_result rc);
/* Opens it and reads its status (inspect.c): PARSE_GO, or an exit code. */
int ctl_load_status(const struct ctl_opts *g, dtc_instance **inst, dtc_status *st);

/* ---- output (render.c; a transaction's lines: inspect.c) ------------------ */

/* Writes at most max bytes of s, control bytes shown as '?'. */
void ctl_put_text(const char *s, size_t max);
/* A JSON string of at most max bytes of s. */
void ctl_json_str(const char *s, size_t max);
const char *ctl_yes_no(int b);
const char *ctl_json_bool(int b);
/* " NAME: REASON[; ...]" of the entries that failed (render.c). */
void ctl_print_reasons(const dtc_txn_info *r);
/* The one outcome line of run, retry and resolve (render.c): "WORD RESULT
 * [cause=CAUSE] [adopted_why=WHY] [NAME: REASON; ...]", cause for a
 * heuristic outcome (dtc.h, "What each outcome carries"). */
void ctl_print_outcome(const char *word, dtc_result result, const dtc_txn_info *t);
/* Names the participants that are not prepared (resolve --commit was
 * refused: DTC_ENOTPREPARED), on stdout: text " NAME (WHY), ..." or a
 * JSON array. */
void ctl_print_not_prepared(const dtc_txn_info *t, bool json);
/* One transaction and its entries, as text lines or a JSON object
 * (txns.c).  from_log: read from the decision log, which keeps no begin
 * time, owner, attempts or payloads: those are left out. */
void ctl_txn_text(const dtc_txn_info *t, bool from_log);
void ctl_txn_json(const dtc_txn_info *t, bool from_log);

/* ---- the commands: argv[0] is the command's name --------------------------- */

int ctl_cmd_status(struct ctl_opts *g, int argc, char **argv);       /* inspect.c */
int ctl_cmd_txns(struct ctl_opts *g, int argc, char **argv);         /* txns.c */
int ctl_cmd_participants(struct ctl_opts *g, int argc, char **argv); /* inspect.c */
int ctl_cmd_run(struct ctl_opts *g, int argc, char **argv);          /* run.c */
int ctl_cmd_retry(struct ctl_opts *g, int argc, char **argv);        /* operate.c */
int ctl_cmd_resolve(struct ctl_opts *g, int argc, char **argv);      /* operate.c */
int ctl_cmd_show(struct ctl_opts *g, int argc, char **argv);         /* operate.c */
int ctl_cmd_metrics(struct ctl_opts *g, int argc, char **argv);      /* view.c */
int ctl_cmd_top(struct ctl_opts *g, int argc, char **argv);          /* view.c */
int ctl_cmd_journal_release(struct ctl_opts *g, int argc, char **argv); /* journal.c */
/* journal.c: the journal participants into v (*n, at most cap); returns
 * the index of the one holding the oldest file, -1 if none. */
int ctl_journal_load(dtc_instance *inst, dtc_journal_info *v, size_t cap, size_t *n);
/* status's journal lines (text), or its "journal" member (JSON). */
void ctl_journal_text(const dtc_journal_info *v, size_t n, int oldest);
void ctl_journal_json(const dtc_journal_info *v, size_t n, int oldest);

#endif /* DTC_DTCCTL_H */
