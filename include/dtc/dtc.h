/*
 * dtc.h - public API of libdtc, a two-phase-commit transaction coordinator
 * for processes on one Linux host.
 *
 * All transaction state lives in one POSIX shared-memory segment per
 * instance, created by the supervisor daemon (dtcd).  Coordinators (any
 * process linking libdtc) begin transactions, enlist participants by name
 * with a payload, and drive prepare/commit/rollback.  Participants are
 * separate processes that register under a unique name and serve requests
 * through callbacks.  Every function returns a dtc_result; dtc_strerror()
 * names it.  See README.md for the architecture and failure semantics.
 */
#ifndef DTC_DTC_H
#define DTC_DTC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function declared in this header is libdtc.so's public ABI and
 * nothing else is: the library is built with hidden visibility and this
 * pragma gives the declarations below default visibility (the abi_symbols
 * test compares the two lists). */
#pragma GCC visibility push(default)

/* ---- version ----------------------------------------------------------- */

/* Equal to CMakeLists.txt's project(VERSION) (checked at configure time). */
#define DTC_VERSION_MAJOR 0
#define DTC_VERSION_MINOR 1
#define DTC_VERSION_PATCH 0
#define DTC_VERSION_STRING "0.1.0"

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH". */
const char *dtc_version(void);

/* ---- result codes ------------------------------------------------------ */

typedef enum dtc_result {
    DTC_OK = 0,
    DTC_EINVAL,        /* bad argument */
    DTC_ENOTFOUND,     /* transaction not found */
    DTC_ESTATE,        /* wrong state for this call */
    DTC_EBUSY,         /* another thread is driving this transaction, or
                          another call is using this participant handle */
    DTC_ETXNFULL,      /* too many concurrent transactions */
    DTC_EPARTFULL,     /* too many participants in the transaction */
    DTC_EUNKNOWN,      /* unknown participant (no such name registered) */
    DTC_ENOTALIVE,     /* participant not alive */
    DTC_EREFUSED,      /* prepare refused: a participant voted no */
    DTC_EPARTICIPANT,  /* a participant reported an error */
    DTC_ETIMEOUT,      /* a participant did not answer in time */
    DTC_ECOMMIT,       /* commit failed: everyone was rolled back */
    DTC_EROLLBACK,     /* rollback failed at some participant (internal: the
                          calls return DTC_EHEURISTIC for that outcome) */
    DTC_EHEURISTIC,    /* mixed outcome: needs an operator (dtcctl resolve) */
    DTC_EABORTED,      /* rolled back on request: by the supervisor (see
                          dtc_txn_info.adopted_why), its coordinator or an
                          operator */
    DTC_ENOSEGMENT,    /* no segment for this instance (is dtcd running?) */
    DTC_ENOSUPERVISOR, /* the supervisor is not running, and the call needs
                          it (its decision log is not replayed yet) */
    DTC_ESHUTDOWN,     /* the supervisor is shutting down: no new begins */
    DTC_EMAGIC,        /* the segment is not a dtc segment */
    DTC_EVERSION,      /* the segment has another layout version */
    DTC_ESIZE,         /* the segment's sizes do not match this build */
    DTC_ECORRUPT,      /* a slot or header in the segment is damaged */
    DTC_ENAMETAKEN,    /* a live participant already has this name */
    DTC_EREGFULL,      /* no free participant slot */
    DTC_ETOOBIG,       /* name, payload or reason too long */
    DTC_EEXIST,        /* a supervisor already runs this instance */
    DTC_ESYS,          /* a system call failed (see errno / the log) */
    DTC_ERECOVERING,   /* dtcd is replaying its decision log: ask again */
    DTC_ELOG,          /* the decision log cannot be written or read */
    DTC_EPERM,         /* the segment is not ours (owner, mode) or not ours
                          to open: never attached to */
    DTC_EDUPLICATE,    /* participant already enlisted in this transaction */
    DTC_ENOTPREPARED,  /* an operator's commit refused: a participant is not
                          prepared (it did not vote yes, or was rolled back) */
    DTC_RESULT_COUNT
} dtc_result;

/* What each outcome carries (the one rule every surface follows: the
 * library's calls, dtc_transaction_outcome, dtcctl's text and JSON, the
 * log's event=outcome line and the Python exceptions):
 *
 *   outcome     result (the call's return, dtc_outcome.result)   cause
 *   committed   DTC_OK                                           DTC_OK
 *   aborted     its cause: DTC_EREFUSED, DTC_EPARTICIPANT,        = result
 *               DTC_ETIMEOUT, DTC_ENOTALIVE (the prepare failed),
 *               DTC_ECOMMIT (compensated: the commit failed and
 *               everyone was rolled back), DTC_EABORTED (rolled back
 *               on request: dtcd, see adopted_why, or a rollback call)
 *   heuristic   DTC_EHEURISTIC                                   why the
 *               rollback that failed was started (DTC_EREFUSED, ...,
 *               DTC_ECOMMIT, DTC_EABORTED, or DTC_ELOG: a decision that
 *               could not be logged)
 *
 * The cause is dtc_txn_info.result.  A rollback call (dtc_rollback_
 * transaction, retry, resolve with commit == 0) that rolls the
 * transaction back everywhere returns DTC_OK: what was asked happened. */

/* Name of a result code, e.g. "participant voted no".  Never NULL. */
const char *dtc_strerror(dtc_result rc);
/* Symbolic name, e.g. "DTC_EREFUSED".  Never NULL. */
const char *dtc_result_name(dtc_result rc);

/* ---- limits ------------------------------------------------------------ */

#define DTC_NAME_MAX 32        /* participant name, including the NUL */
#define DTC_PAYLOAD_MAX 256    /* payload bytes per enlistment */
#define DTC_REASON_MAX 128     /* vote / error reason, including the NUL */
#define DTC_REASON_CODE_MAX 24 /* a reason's code (dtc_reason_split), incl. NUL */
#define DTC_INSTANCE_MAX 48    /* instance name, including the NUL */
#define DTC_JOURNAL_REC_MAX 4096 /* bytes of one journal record (dtc_journal_*) */
#define DTC_JOURNAL_PARTS_MAX 64 /* participants using the journal, per instance */
/* The characters of a participant or instance name (its rule, as the
 * messages print it: DTC_NAME_RULE "{1,31}" for a participant,
 * "{1,47}" for an instance); dtc_name_valid checks it. */
#define DTC_NAME_RULE "[A-Za-z0-9._-]"
/* The cap on every deadline of dtc_txn_options (and on the operator's
 * and tools' millisecond options that feed one): one hour. */
#define DTC_TIMEOUT_MAX_MS 3600000
/* The cap on dtc_txn_options.max_retries. */
#define DTC_RETRIES_MAX 100

#define DTC_DEFAULT_MAX_TXNS 100
#define DTC_DEFAULT_MAX_PARTS_PER_TXN 10
#define DTC_DEFAULT_MAX_PARTICIPANTS 64
/* The largest limits a segment may be created with. */
#define DTC_LIMIT_MAX_TXNS 1024
#define DTC_LIMIT_MAX_PARTS_PER_TXN 32
#define DTC_LIMIT_MAX_PARTICIPANTS 128

typedef struct dtc_limits {
    uint32_t max_txns;          /* concurrent transactions */
    uint32_t max_parts_per_txn; /* enlistments per transaction */
    uint32_t max_participants;  /* registered participant processes */
} dtc_limits;

/* Fills *l with the defaults above. */
void dtc_limits_default(dtc_limits *l);
/* Size in bytes of a segment built for these limits (0 if out of range). */
size_t dtc_segment_size(const dtc_limits *l);

/* ---- instance ---------------------------------------------------------- */

typedef struct dtc_instance dtc_instance;

/* Attaches to the segment of instance `name` (NULL: $DTC_INSTANCE, else
 * "default").  Fails with DTC_ENOSEGMENT, DTC_EPERM (owned by another
 * user, or a mode other than 0600/0660), DTC_EMAGIC, DTC_EVERSION,
 * DTC_ESIZE or DTC_ECORRUPT without touching the segment. */
dtc_result dtc_open(const char *name, dtc_instance **out);
/* Drops the handle (*inst = NULL): detached and freed at once, or, while
 * participants registered through it remain, when the last of them is
 * unregistered (they go on serving meanwhile).  No call on the handle
 * itself may run or follow. */
void dtc_close(dtc_instance **inst);
/* The instance name actually used (after the NULL / env default). */
const char *dtc_instance_name(const dtc_instance *inst);
/* Resolves NULL / $DTC_INSTANCE / "default" into buf; validates it
 * (DTC_ETOOBIG if too long, DTC_EINVAL if not DTC_NAME_RULE). */
dtc_result dtc_resolve_instance(const char *name, char buf[DTC_INSTANCE_MAX]);
/* True if name is 1..size-1 characters of DTC_NAME_RULE: a participant
 * name with size DTC_NAME_MAX, an instance name with DTC_INSTANCE_MAX. */
bool dtc_name_valid(const char *name, size_t size);

/* ---- transaction ids --------------------------------------------------- */

/* A transaction id: a random version 4 UUID (122 bits from
 * getrandom(2)), unique and unpredictable. */
typedef struct dtc_txid {
    unsigned char bytes[16];
} dtc_txid;

#define DTC_TXID_STRLEN 37 /* 36 characters and the NUL */
void dtc_txid_format(const dtc_txid *id, char out[DTC_TXID_STRLEN]);
dtc_result dtc_txid_parse(const char *s, dtc_txid *out);

/* ---- coordinator API --------------------------------------------------- */

typedef enum dtc_txn_state {
    DTC_TXN_FREE = 0,   /* slot unused */
    DTC_TXN_ACTIVE,     /* begun, enlisting */
    DTC_TXN_PREPARING,  /* prepare sent, collecting votes */
    DTC_TXN_PREPARED,   /* every participant voted yes */
    DTC_TXN_COMMITTING, /* the commit decision is taken */
    DTC_TXN_COMMITTED,  /* every participant acknowledged the commit */
    DTC_TXN_ABORTING,   /* the rollback decision is taken */
    DTC_TXN_ABORTED,    /* every participant acknowledged the rollback */
    DTC_TXN_HEURISTIC,  /* mixed outcome, kept for an operator */
    DTC_TXN_STATE_COUNT
} dtc_txn_state;

const char *dtc_txn_state_name(dtc_txn_state s);

/* Per-enlistment status of the last request sent to it. */
typedef enum dtc_entry_status {
    DTC_ENTRY_IDLE = 0, /* nothing asked yet */
    DTC_ENTRY_PENDING,  /* request sent, no answer yet */
    DTC_ENTRY_YES,      /* prepare: yes vote; commit/rollback: done */
    DTC_ENTRY_NO,       /* prepare: no vote */
    DTC_ENTRY_ERROR,    /* the participant reported an error */
    DTC_ENTRY_TIMEOUT,  /* no answer before the deadline */
    DTC_ENTRY_DEAD,     /* the participant died before answering */
    DTC_ENTRY_READONLY, /* prepare: a read-only vote (DTC_VOTE_READONLY):
                           it changed nothing, holds nothing, and is sent
                           no commit or rollback (left out of phase two) */
    DTC_ENTRY_STATUS_COUNT
} dtc_entry_status;

const char *dtc_entry_status_name(dtc_entry_status s);
/* Whether s is a failed answer: NO, ERROR, TIMEOUT or DEAD. */
bool dtc_entry_status_failed(dtc_entry_status s);

typedef enum dtc_op {
    DTC_OP_NONE = 0,
    DTC_OP_ENLIST,
    DTC_OP_PREPARE,
    DTC_OP_COMMIT,
    DTC_OP_ROLLBACK,
    DTC_OP_COUNT
} dtc_op;

const char *dtc_op_name(dtc_op op);

typedef struct dtc_txn_options {
    /* Each deadline is 1..DTC_TIMEOUT_MAX_MS, max_retries at most
     * DTC_RETRIES_MAX (dtc_begin refuses others with DTC_EINVAL). */
    uint32_t prepare_timeout_ms;  /* default 5000 */
    uint32_t commit_timeout_ms;   /* default 5000: whole commit phase */
    uint32_t rollback_timeout_ms; /* default 5000: whole rollback phase */
    uint32_t max_retries;         /* commit/rollback redeliveries, default 8:
                                     backoff 20 ms doubling, capped at 1 s,
                                     with jitter; about 3 s in all */
} dtc_txn_options;

void dtc_txn_options_default(dtc_txn_options *o);

/* What happened at one enlistment, for reports and status. */
typedef struct dtc_entry_info {
    char name[DTC_NAME_MAX];
    dtc_op op;                 /* last request sent */
    dtc_entry_status status;   /* its answer */
    dtc_entry_status vote;     /* the prepare vote (IDLE if none) */
    uint32_t attempts;         /* deliveries of the current op */
    int64_t next_retry_ms;     /* ms until the next delivery, -1 if none */
    /* The most telling reason (a failed answer's, else a failed vote's,
     * else the last one given): its text, and its machine-readable code
     * ("" if the participant gave none; see dtc_request.reason). */
    char reason[DTC_REASON_MAX];
    char reason_code[DTC_REASON_CODE_MAX];
    /* The last failed commit or rollback delivery (failed_op DTC_OP_NONE
     * if none), kept across phases: after a compensation it still says
     * whose commit failed and why. */
    dtc_op failed_op;
    dtc_entry_status failed_status;
    char failed_reason[DTC_REASON_MAX];
    char failed_reason_code[DTC_REASON_CODE_MAX];
    /* The payload it was enlisted with (payload_len bytes, NUL after). */
    uint32_t payload_len;
    char payload[DTC_PAYLOAD_MAX + 1];
} dtc_entry_info;

/* The failure of an enlistment: its vote if that failed, else its last
 * answer if that failed, else DTC_ENTRY_IDLE. */
dtc_entry_status dtc_entry_failure(const dtc_entry_info *e);
/* Whether the enlistment failed: dtc_entry_failure(e) != DTC_ENTRY_IDLE. */
bool dtc_entry_failed(const dtc_entry_info *e);
/* Whether the participant is prepared: it voted yes and was not rolled
 * back since (its last request a rollback it acknowledged).  An
 * operator's commit (dtc_resolve_transaction) needs every participant
 * prepared but the read-only voters (DTC_ENTRY_READONLY: out of the
 * transaction). */
bool dtc_entry_prepared(const dtc_entry_info *e);
/* Splits a reason "code: text" (code: 1..DTC_REASON_CODE_MAX-1 of
 * [a-z0-9_], starting with a letter or '_', then ": ") into code and text.
 * Returns the text (all of reason if it has no code, code then "").
 * dtc_entry_info carries reasons already split. */
const char *dtc_reason_split(const char *reason, char code[DTC_REASON_CODE_MAX]);

typedef struct dtc_txn_info {
    dtc_txid id;
    dtc_txn_state state;
    uint32_t generation;
    pid_t owner_pid;
    int adopted;               /* finished by the supervisor */
    uint64_t age_ms;
    uint32_t nentries;
    dtc_entry_info entries[DTC_LIMIT_MAX_PARTS_PER_TXN];
    dtc_result result;         /* the cause (see "What each outcome
                                  carries"): why it is aborting, aborted or
                                  heuristic; DTC_OK if nothing failed */
    int quarantined;           /* the slot is damaged (DTC_ECORRUPT): the
                                  fields above are a best-effort, sanitized
                                  read; dtc_resolve_transaction(.., 0, ..)
                                  rolls back what can still be read */
    int64_t begin_unix_ms;     /* when it began (CLOCK_REALTIME, ms) */
    int owner_alive;           /* the owner process still runs (pid + start time) */
    /* Why the supervisor took the transaction over ("" if it did not):
     * coordinator_died, coordinator_stalled, orphan_timeout, shutdown. */
    char adopted_why[DTC_REASON_CODE_MAX];
    /* 1: committed (or committing) in one phase (docs/api.md "One-phase
     * commit"): a single participant, no decision record; its vote was
     * the decision. */
    int one_phase;
} dtc_txn_info;

/* Starts a transaction; opts may be NULL (defaults).  DTC_ESHUTDOWN while
 * dtcd stops; DTC_ERECOVERING while it replays its decision log, and
 * DTC_ENOSUPERVISOR if the log is not replayed and no dtcd runs. */
dtc_result dtc_begin_transaction(dtc_instance *inst, const dtc_txn_options *opts,
                                 dtc_txid *out);
/* Adds participant `name` with `payload` (len bytes of text, no NUL
 * needed).  The participant runs its enlist work step (records the
 * versions the payload touches) asynchronously; its failure shows as an
 * error vote at prepare.  A participant enlists once per transaction:
 * a second enlistment of the same name is DTC_EDUPLICATE (the first
 * stays). */
dtc_result dtc_enlist(dtc_instance *inst, const dtc_txid *id, const char *name,
                      const void *payload, size_t len);
/* Phase one.  On a no vote, an error, a timeout or a dead participant
 * every enlisted participant is rolled back and the slot is freed; the
 * result says why (DTC_EREFUSED, DTC_EPARTICIPANT, DTC_ETIMEOUT, or
 * DTC_ENOTALIVE when a participant died before it voted).  If one of
 * those rollbacks fails, the result is DTC_EHEURISTIC and the slot is
 * kept for an operator (cause: why the rollback was started).  The call
 * returns once the rollback is decided and the participants that answered
 * acknowledged it: one whose prepare timed out is sent the rollback but
 * not waited for (presumed abort: it promised nothing, and rolls back a
 * late yes itself), so a prepare timeout returns after prepare_timeout_ms,
 * not after the slow participant.
 * `report` (may be NULL) receives what each participant answered. */
dtc_result dtc_prepare_transaction(dtc_instance *inst, const dtc_txid *id,
                                   dtc_txn_info *report);
/* Phase two (runs phase one first on an ACTIVE transaction).  DTC_OK once
 * every participant committed, else the outcome's result (above).  An
 * ACTIVE transaction with one enlistment commits in one phase (XA's
 * TMONEPHASE): prepare, then commit, with no decision record between: the
 * single vote decides (dtc_txn_info.one_phase; not if its yes vote
 * carries a journal record, whose durability needs the COMMIT record).
 * Read-only voters (DTC_VOTE_READONLY) are sent no commit; if every vote
 * is read-only there is no decision record either (docs/api.md).  The
 * slot is freed on return unless the outcome is DTC_EHEURISTIC.  Called
 * again once the slot is gone, it answers from the outcome (decision
 * log): DTC_OK if it committed, the abort's cause if it was rolled back;
 * DTC_ENOTFOUND if this instance has no record of it. */
dtc_result dtc_commit_transaction(dtc_instance *inst, const dtc_txid *id,
                                  dtc_txn_info *report);
/* Rolls back every enlisted participant: DTC_OK once all acknowledged,
 * DTC_EHEURISTIC if one could not be rolled back, whatever its vote (its
 * enlist step may have done work; the slot is kept for an operator).  DTC_ESTATE once the commit is decided.
 * Idempotent: called again once the slot is gone it answers from the
 * outcome (decision log): DTC_OK if it was rolled back, DTC_ESTATE if
 * it committed; DTC_ENOTFOUND if this instance has no record of it. */
dtc_result dtc_rollback_transaction(dtc_instance *inst, const dtc_txid *id,
                                    dtc_txn_info *report);
/* Operator: retries the transaction's failed deliveries now.  On a
 * HEURISTIC transaction it runs the rollback phase again (the slot is freed
 * if every participant acknowledges). */
dtc_result dtc_retry_transaction(dtc_instance *inst, const dtc_txid *id,
                                 dtc_txn_info *report);
/* Operator: ends a HEURISTIC transaction by sending commit (commit != 0)
 * or rollback to every participant; the slot is freed once all
 * acknowledged.  DTC_ESTATE on a transaction that is not HEURISTIC.  A
 * commit is sent only if every participant is prepared (voted yes and
 * was not rolled back since): otherwise nothing is sent and the result
 * is DTC_ENOTPREPARED (report: who is not; the log names them). */
dtc_result dtc_resolve_transaction(dtc_instance *inst, const dtc_txid *id, int commit,
                                   dtc_txn_info *report);
/* Snapshot of one transaction's slot. */
dtc_result dtc_transaction_status(dtc_instance *inst, const dtc_txid *id,
                                  dtc_txn_info *out);

/* How a transaction ended, or that it has not. */
typedef enum dtc_outcome_kind {
    DTC_OUTCOME_IN_FLIGHT = 0, /* in a slot, not yet ended */
    DTC_OUTCOME_COMMITTED,     /* every participant committed */
    DTC_OUTCOME_ABORTED,       /* rolled back everywhere (or presumed) */
    DTC_OUTCOME_HEURISTIC,     /* mixed: waits for an operator */
    DTC_OUTCOME_COUNT
} dtc_outcome_kind;

/* "in-flight", "committed", "aborted", "heuristic". */
const char *dtc_outcome_name(dtc_outcome_kind k);

typedef struct dtc_outcome {
    dtc_outcome_kind kind;
    dtc_result result;   /* what the coordinator was told ("What each
                            outcome carries"): DTC_OK, the abort's cause,
                            or DTC_EHEURISTIC (cause: info.result) */
    int from_log;        /* 1: read from the decision log (slot gone) */
    int64_t end_unix_ms; /* wall clock of the end record, 0 if in flight */
    dtc_txn_info info;   /* state, the cause, and every participant's
                            last status, vote and reason.  From the log
                            the slot-only fields are not known and are
                            0 / "": begin_unix_ms, age_ms, owner_pid,
                            owner_alive, generation, attempts,
                            next_retry_ms, payload (dtcctl leaves them
                            out) */
} dtc_outcome;

/* The outcome of any transaction of the instance's recent history: from
 * its slot while one holds it, else from the decision log (the last
 * DTC_DLOG_HISTORY_MIN transactions at least; README "Decision log").
 * DTC_ENOTFOUND for an id never decided here or aged out: presumed
 * aborted.  DTC_ERECOVERING while dtcd replays the log after a restart
 * (ask again: only a recovered instance may answer "not found"), and
 * DTC_ENOSUPERVISOR while the log is not replayed and no dtcd runs (ask
 * again once it does). */
dtc_result dtc_transaction_outcome(dtc_instance *inst, const dtc_txid *id,
                                   dtc_outcome *out);

/* ---- participant API --------------------------------------------------- */

typedef enum dtc_vote {
    DTC_VOTE_YES = 0, /* can commit: the work is prepared and durable */
    DTC_VOTE_NO,      /* refuses: cannot prepare (conflict, no stock...) */
    DTC_VOTE_ERROR,   /* failed: could not do the work (with a reason) */
    /* Read-only (XA_RDONLY): the request changes nothing here.  The
     * participant keeps nothing for the transaction (no prepare record,
     * no journal record: a dtc_journal_prepare before it turns the vote
     * into an error) and has released whatever its enlist step held; it
     * is sent no commit and no rollback whatever the outcome, and its
     * entry ends with vote and status DTC_ENTRY_READONLY.  A transaction
     * whose every participant votes read-only commits with no decision
     * record (there is nothing to make durable): docs/api.md. */
    DTC_VOTE_READONLY
} dtc_vote;

/* One request handed to a callback.  `reason` is a buffer the callback
 * may fill (NUL-terminated, at most DTC_REASON_MAX bytes).  A refusal
 * that a program should tell apart begins with a code and ": ", e.g.
 * "out_of_stock: widget has 3, wants 5": coordinators then find
 * "out_of_stock" in dtc_entry_info.reason_code and the rest in .reason
 * (dtc_reason_split).  The example services' codes: out_of_stock,
 * insufficient_funds, unknown_account, unknown_zone, zone_full, exists,
 * conflict, held, rolled_back, malformed. */
typedef struct dtc_request {
    dtc_txid txid;
    dtc_op op;
    const char *payload; /* NUL-terminated copy */
    size_t payload_len;
    char *reason;
} dtc_request;

/* Callbacks of a participant.  enlist and prepare return a vote (an enlist
 * NO or ERROR makes the prepare vote the same without calling prepare);
 * commit and rollback return 0 on success, -1 with a reason on failure.
 * They must be idempotent per transaction id.  flush (may be NULL) is
 * called once after every batch, before any answer of the batch is
 * published: the place for one fsync covering the whole batch. */
typedef struct dtc_participant_ops {
    dtc_vote (*enlist)(void *ctx, const dtc_request *rq);
    dtc_vote (*prepare)(void *ctx, const dtc_request *rq);
    int (*commit)(void *ctx, const dtc_request *rq);
    int (*rollback)(void *ctx, const dtc_request *rq);
    int (*flush)(void *ctx);
    void *ctx;
} dtc_participant_ops;

typedef struct dtc_participant dtc_participant;

/* Registers this process under `name`.  DTC_ENAMETAKEN if a live process
 * holds the name; a dead holder's slot is reclaimed first.  DTC_EREGFULL
 * if every slot is taken, DTC_ETOOBIG for a name of DTC_NAME_MAX
 * characters or more, DTC_EINVAL for one not of DTC_NAME_RULE.  Once
 * unregistered, the name is free again. */
dtc_result dtc_participant_register(dtc_instance *inst, const char *name,
                                    dtc_participant **out);
/* Waits up to timeout_ms for requests and serves every pending one as one
 * batch.  *served (may be NULL) receives how many were served.  Errors as
 * for dtc_participant_serve.  While several coordinators keep the
 * participant busy, the serving thread runs under SCHED_BATCH and yields
 * once after each wake-up, so that each wake-up serves a larger batch;
 * idle or fed by one coordinator it runs under SCHED_OTHER, as started.
 * DTC_PARTICIPANT_SCHED=other in the environment turns this off.
 * One serve at a time per handle: DTC_EBUSY (nothing served) while
 * another thread serves it or when called from one of its callbacks. */
dtc_result dtc_participant_serve_once(dtc_participant *p,
                                      const dtc_participant_ops *ops,
                                      int timeout_ms, unsigned *served);
/* Revises the answer to rq, a request a callback of the batch being
 * served was handed (the same pointer), until the batch's flush returns:
 * called from a callback or from flush, never later.  From rq's own
 * callback it only checks that rq may still be revised (DTC_OK): that
 * callback's return value is its answer, so a revision is made from a
 * later callback of the batch or from flush.  v is the prepare
 * vote, or for commit and rollback YES (done) or ERROR (failed; NO means
 * ERROR there); the reason buffer rq->reason stays the callback's to
 * fill.  So a participant may send a batch's work off in its callbacks,
 * answer provisionally, and give each request its verdict in flush once
 * the work has run concurrently (dtc-pg: PostgreSQL then groups the
 * WAL flushes of the batch's PREPAREs and COMMIT PREPAREDs).  Nothing is
 * published before flush returns, so a provisional answer is never seen.
 * DTC_EINVAL outside a batch, for a request of another batch, or for an
 * enlist step (its answer is published at once). */
dtc_result dtc_participant_answer(dtc_participant *p, const dtc_request *rq, dtc_vote v);
/* Serves until *stop becomes non-zero (checked at least every 200 ms).
 * Returns DTC_ENOSEGMENT when dtcd stopped and removed the segment,
 * DTC_ENOTALIVE if the slot was reclaimed (this process was presumed
 * dead). */
dtc_result dtc_participant_serve(dtc_participant *p,
                                 const dtc_participant_ops *ops,
                                 volatile sig_atomic_t *stop);
/* The one recovery rule, for a participant that restarted with
 * transactions it holds prepared (the services, dtc-pg and the journal's
 * replay all use it): *kind says COMMITTED (commit it: the commit
 * decision is durable: COMMITTED, or COMMITTING once its COMMIT record is
 * synced (before that it is IN_FLIGHT); a one-phase commit's
 * COMMITTING is IN_FLIGHT: no decision record makes it durable, so the
 * commit is applied only when delivered), ABORTED (roll it back:
 * ABORTING or ABORTED, or an id the instance never decided, presumed
 * abort), IN_FLIGHT (not decided yet) or HEURISTIC (keep it prepared:
 * its outcome will be delivered).  Acting on COMMITTED or ABORTED before
 * the outcome's delivery is safe: the delivery then finds it done
 * (commit and rollback are idempotent; a compensation rolls back a
 * commit).  DTC_ERECOVERING: dtcd has not finished replaying its
 * decision log, so nothing may be presumed yet; keep it and ask again
 * (DTC_ENOSUPERVISOR likewise, while no dtcd runs to replay it).
 * (dtc_participant_in_doubt, its older form, was removed in 0.1.0: it had
 * no caller and told too little.) */
dtc_result dtc_participant_outcome(dtc_participant *p, const dtc_txid *id,
                                   dtc_outcome_kind *kind);
/* Frees the slot and the handle (*p = NULL); pending requests are failed
 * as from a dead process.  DTC_EBUSY, and nothing freed, while a serve of
 * the handle runs (from one of its callbacks or another thread): call it
 * again once the serve returned.  The caller makes sure no call starts
 * on the handle once this one began. */
dtc_result dtc_participant_unregister(dtc_participant **p);
/* Adds n to the count of syncs (fsync, fdatasync, of files or
 * directories) the participant made of its own storage, shown by
 * dtc_list_participants (syncs), `dtcctl participants` and the metric
 * dtc_participant_syncs_total.  Syncs of the instance journal are the
 * decision log's (dtc_status.dlog_syncs): not counted here.  Any thread
 * may call it, also during a serve; no lock is taken.  DTC_EINVAL if p
 * is NULL; DTC_ENOTALIVE if the slot is no longer the handle's
 * (reclaimed): nothing counted. */
dtc_result dtc_participant_count_syncs(dtc_participant *p, unsigned n);

/* ---- the instance journal (docs/journal.md) ------------------------------
 *
 * A participant may keep its prepare and commit records in the instance's
 * decision log instead of syncing storage of its own: one group commit
 * then makes a whole transaction durable.  The contract:
 *
 * - From its prepare callback, before voting yes, it appends its prepare
 *   record (dtc_journal_prepare).  The record is not synced; the yes vote
 *   carries its LSN.  The coordinator writes its COMMIT record after every
 *   vote, so the COMMIT's sync covers every prepare record before it (the
 *   log is durable as a prefix).  A yes vote thus promises: "my prepare
 *   record is in the log before your decision".  An abort forces nothing:
 *   a prepare record without a durable COMMIT is a presumed abort.
 * - It appends its commit or rollback record (dtc_journal_done), unforced.
 *   It applies a commit only when asked to: as soon as the COMMIT is in
 *   the log, while its group commit runs (its commit record and whatever
 *   later transactions see of it follow the COMMIT in the same log: a
 *   host crash loses them together; nobody outside is told "committed"
 *   before the sync).  So before telling anything outside the host about
 *   a commit, it calls dtc_journal_flush up to its commit record's end.
 * - Its own storage becomes a checkpoint, written when it likes: call
 *   dtc_journal_flush(lsn) BEFORE the storage that reflects its records
 *   below lsn is made durable (never let durable storage run ahead of a
 *   log that a host crash could shorten), then dtc_journal_checkpoint(lsn)
 *   once it is.  The log keeps every record at or after the checkpoint.
 * - At start, after registering, it loads its checkpoint and calls
 *   dtc_journal_replay from the checkpoint's LSN before serving: its own
 *   records, in log order, each with its transaction's outcome.  Replay
 *   is idempotent for a participant that applies records idempotently: a
 *   crash during replay hands the same records back again.
 * - A participant that syncs its own storage (dtc_participant_ops.flush)
 *   needs none of this; both kinds can be in one transaction. */

typedef enum dtc_journal_kind {
    DTC_JOURNAL_PREPARED = 0, /* a prepare record (dtc_journal_prepare) */
    DTC_JOURNAL_COMMITTED,    /* a commit record (dtc_journal_done, committed) */
    DTC_JOURNAL_ROLLED_BACK   /* a rollback record (dtc_journal_done, not) */
} dtc_journal_kind;

/* One of the participant's records, handed back by dtc_journal_replay. */
typedef struct dtc_journal_record {
    dtc_journal_kind kind;
    dtc_txid txid;
    uint64_t lsn, end;  /* where the record starts and ends in the log */
    const void *rec;    /* its bytes, valid during the callback only */
    size_t len;         /* <= DTC_JOURNAL_REC_MAX */
    /* Its transaction's outcome, by dtc_participant_outcome's rule:
     * COMMITTED (apply it), ABORTED (rolled back, or presumed abort),
     * IN_FLIGHT or HEURISTIC (keep it prepared: the outcome will be
     * delivered as a commit or rollback request).  For a commit or
     * rollback record: COMMITTED or ABORTED, as the record says. */
    dtc_outcome_kind outcome;
} dtc_journal_record;

/* Appends the prepare record of request rq (the one the prepare callback
 * runs for) to the log, unsynced.  The record is staged (its bytes
 * copied) and written with the batch's other records in one write before
 * any answer of the batch is published; the yes vote of this request
 * carries its end.  With lsn (may be NULL) it is written at once and
 * *lsn receives its end (no batching).  DTC_EINVAL outside a prepare
 * callback of p or with len > DTC_JOURNAL_REC_MAX; DTC_ESTATE if the
 * instance has no decision log; DTC_ELOG if it cannot be written (then
 * vote DTC_VOTE_ERROR; a staged record that cannot be written turns the
 * batch's yes votes into errors); DTC_EREGFULL if DTC_JOURNAL_PARTS_MAX
 * participants use the journal already. */
dtc_result dtc_journal_prepare(dtc_participant *p, const dtc_request *rq, const void *rec,
                               size_t len, uint64_t *lsn);
/* Appends p's commit (committed != 0) or rollback record of `id`,
 * unsynced.  Staged: written with p's next write (its next batch with a
 * prepare record, a serve that finds nothing to do for 5 ms or until its
 * timeout, dtc_journal_end,
 * _flush, _checkpoint, _replay, unregister); a process that dies first
 * loses it, as a host crash loses an unsynced one.  With lsn (may be
 * NULL) it is written at once and *lsn receives its end.  Errors as
 * above.  The journal calls of one handle are made by one thread at a
 * time (its serving thread). */
dtc_result dtc_journal_done(dtc_participant *p, const dtc_txid *id, int committed,
                            const void *rec, size_t len, uint64_t *lsn);
/* The log's end now, after writing p's staged records: a checkpoint LSN
 * for a participant whose storage reflects every record it has appended
 * (an idle one too). */
dtc_result dtc_journal_end(dtc_participant *p, uint64_t *lsn);
/* Makes the log durable below lsn (one group commit, if not yet).
 * DTC_EINVAL if nothing was written up to lsn. */
dtc_result dtc_journal_flush(dtc_participant *p, uint64_t lsn);
/* p's durable storage reflects every one of its records below lsn: the
 * log may drop them.  Makes the log durable below lsn first (the rule
 * above), then records the checkpoint (in the segment, and in the log for
 * dtcd after a host crash).  DTC_EINVAL if lsn is past the log's end. */
dtc_result dtc_journal_checkpoint(dtc_participant *p, uint64_t lsn);
/* Hands p's own records at or after from_lsn back to fn, in log order
 * (including ones a host crash would lose, while the host is up: see
 * docs/journal.md for why that is consistent).  fn returns non-zero to
 * stop.  DTC_ERECOVERING (or DTC_ENOSUPERVISOR) while dtcd has not
 * replayed the log: nothing handed back, call again later. */
typedef int (*dtc_journal_fn)(void *ctx, const dtc_journal_record *r);
dtc_result dtc_journal_replay(dtc_participant *p, uint64_t from_lsn, dtc_journal_fn fn,
                              void *ctx);

/* A journal participant as dtcd keeps it (status, metrics). */
typedef struct dtc_journal_info {
    char name[DTC_NAME_MAX];
    uint64_t checkpoint_lsn; /* the log holds its records from here */
    uint64_t behind_bytes;   /* the log's end minus its checkpoint */
    uint64_t held_files;     /* log files kept for it (its checkpoint's on) */
    uint32_t max_files;      /* dtcd --journal-max-files (0: unknown) */
    int over_bound;          /* held_files > max_files: warned of */
} dtc_journal_info;

/* The journal participants (at most cap into out; *n: how many exist). */
dtc_result dtc_journal_list(dtc_instance *inst, dtc_journal_info *out, size_t cap, size_t *n);
/* An operator's release of a participant that is gone for good: the log
 * stops keeping its records (they are lost: a later replay of it hands
 * back only records written after the release).  DTC_ENOTFOUND if it
 * does not use the journal. */
dtc_result dtc_journal_release(dtc_instance *inst, const char *name);

/* ---- introspection (dtcctl) -------------------------------------------- */

typedef struct dtc_counters {
    uint64_t begun, committed, aborted, timed_out, reclaimed, heuristic;
    uint64_t readonly_votes; /* prepare votes that were read-only */
    uint64_t one_phase;      /* transactions committed in one phase */
} dtc_counters;

typedef struct dtc_status {
    char instance[DTC_INSTANCE_MAX];
    dtc_limits limits;
    size_t segment_size;
    uint32_t layout_version;
    pid_t supervisor_pid;
    int supervisor_alive;
    int shutting_down;
    uint32_t txns_in_use;
    uint32_t participants_registered;
    uint32_t corrupt_slots;     /* slots found damaged and quarantined */
    dtc_counters counters;
    int recovering;             /* dtcd is replaying the decision log */
    int decision_log;           /* 0: the instance runs without one */
    uint64_t dlog_file;         /* number of the log file being written */
    uint64_t dlog_written_lsn;  /* log position written so far */
    uint64_t dlog_durable_lsn;  /* ... and synced to stable storage */
    uint64_t dlog_records, dlog_syncs; /* since the segment was created */
    /* The log's last write or sync failure: DTC_OK while writes and syncs
     * succeed; else its result and since when (wall clock, ms since the
     * epoch); cleared by the next successful sync. */
    dtc_result dlog_error;
    int64_t dlog_error_since_ms;
} dtc_status;

dtc_result dtc_get_status(dtc_instance *inst, dtc_status *out);

typedef struct dtc_participant_info {
    char name[DTC_NAME_MAX];
    uint32_t slot;
    pid_t pid;
    int alive;
    uint32_t pending;   /* requests queued, not yet answered */
    uint64_t served;    /* requests answered since registration */
    uint64_t errors;    /* answers that were errors (not no votes) */
    int64_t last_ns;    /* CLOCK_REALTIME of its last answer, 0 = none */
    uint64_t yes;       /* answers that were yes: enlist accepted, yes vote, done */
    uint64_t no;        /* answers that were no: refused at enlist or prepare */
    uint64_t syncs;     /* syncs of its own storage it counted since registration
                           (dtc_participant_count_syncs); journal flushes are
                           decision-log syncs, counted in dtc_status.dlog_syncs */
} dtc_participant_info;

/* ---- metrics: latency histograms kept in the segment --------------------- */

typedef enum dtc_hist_kind {
    DTC_HIST_TXN = 0,  /* begin -> every participant committed */
    DTC_HIST_PREPARE,  /* the prepare round: requests out, every vote in */
    DTC_HIST_DECISION, /* the commit decision made durable (decision log) */
    DTC_HIST_COMMIT,   /* the commit round: requests out, every ack in */
    DTC_HIST_COUNT
} dtc_hist_kind;

#define DTC_HIST_BUCKETS 18 /* the last one is +Inf */

typedef struct dtc_histogram {
    uint64_t bucket[DTC_HIST_BUCKETS]; /* observations <= dtc_hist_bound_ns(i), not cumulative */
    uint64_t count;
    uint64_t sum_ns;
} dtc_histogram;

/* Short name ("txn", "prepare", "decision", "commit"); NULL if out of range. */
const char *dtc_hist_name(dtc_hist_kind k);
/* Upper bound of bucket i in ns (50 us ... 10 s); INT64_MAX for the last. */
int64_t dtc_hist_bound_ns(unsigned i);
/* Every histogram of the instance, as counted since its segment was made. */
dtc_result dtc_get_histograms(dtc_instance *inst, dtc_histogram out[DTC_HIST_COUNT]);

/* Instance `name` (NULL: $DTC_INSTANCE, else "default") in the Prometheus
 * text exposition format 0.0.4, as `dtcctl metrics` and dtc-exporter
 * print it: every sample labelled dtc_instance="NAME".  The segment is
 * attached read-only for the call and read without taking any lock.
 * *text is NUL-terminated, *len long, malloc'd: free() it.  Returns what
 * attaching said: DTC_OK, or DTC_ENOSEGMENT (no dtcd), DTC_EPERM, ... and
 * then the text says dtc_up 0.  *text stays NULL only for DTC_EINVAL,
 * DTC_ETOOBIG (bad name) and DTC_ESYS when the text itself could not be
 * made (no memory). */
dtc_result dtc_metrics_text(const char *name, char **text, size_t *len);

/* Fills up to cap entries; *n receives the number of in-use slots (it
 * may be more than cap: the rest is not written).  With cap 0, arr may
 * be NULL: a count only.  DTC_EINVAL if n is NULL. */
dtc_result dtc_list_participants(dtc_instance *inst, dtc_participant_info *arr,
                                 size_t cap, size_t *n);
dtc_result dtc_list_transactions(dtc_instance *inst, dtc_txn_info *arr,
                                 size_t cap, size_t *n);
/* The ids of the transactions slots hold now, each slot read under its
 * own lock: up to cap into ids, *n the number of such slots (may be more
 * than cap).  A quarantined slot's id cannot be trusted: it is not
 * listed, *quarantined counts them.  What a participant needs to know
 * whether a transaction can still reach it (docs/api.md), without what
 * dtc_list_transactions also reads (entries, reasons, the owner's
 * liveness from /proc): cheap enough for a serve loop.  DTC_EINVAL if n
 * or quarantined is NULL, or ids is NULL with cap > 0. */
dtc_result dtc_list_transaction_ids(dtc_instance *inst, dtc_txid *ids, size_t cap,
                                    size_t *n, size_t *quarantined);

/* ---- supervisor -------------------------------------------------------- */

/* The decision log's defaults (README "Decision log"). */
#define DTC_DLOG_FILE_MB 16       /* one preallocated log file */
#define DTC_DLOG_FILES 8          /* files kept: the history and live set */
#define DTC_DLOG_HISTORY_MIN 100000 /* outcomes answerable, at least */
/* A journal participant holding more log files than this is warned of
 * (dtcd's log, every minute; status, metrics): docs/journal.md. */
#define DTC_JOURNAL_MAX_FILES 64

typedef struct dtc_supervisor_config {
    const char *instance;   /* NULL: $DTC_INSTANCE or "default" */
    /* Decision log directory.  NULL: $DTC_DATA_DIR, else /var/lib/dtc/
     * INSTANCE for root, else $XDG_STATE_HOME (or ~/.local/state)/dtc/
     * INSTANCE.  Created 0700 (0770 with group_access). */
    const char *data_dir;
    int no_decision_log;    /* 1: no log at all (benchmarks: a reboot
                               breaks atomicity) */
    uint32_t log_file_mb;   /* default DTC_DLOG_FILE_MB (0: the same) */
    uint32_t log_files;     /* default DTC_DLOG_FILES (0: the same) */
    dtc_limits limits;
    int group_access;       /* create the segment 0660 instead of 0600 */
    uint32_t tick_ms;       /* loop period, default 50 */
    uint32_t shutdown_grace_ms; /* SIGTERM: time for in-flight txns, 3000 */
    uint32_t orphan_timeout_ms; /* idle ACTIVE/PREPARED txns, default 30000 */
    int ready_fd;           /* if >= 0: "ready instance=N size=B" written here */
    /* 1: only report the decision log's damage and what a repair would
     * lose (dtcd --salvage); 2: repair it, copies kept (--salvage=apply).
     * dtc_supervisor_run then returns DTC_OK if the log is (now) sound,
     * DTC_ELOG if damage remains. */
    int salvage;
    /* Warn of a journal participant holding more log files than this
     * (default DTC_JOURNAL_MAX_FILES; dtcd --journal-max-files). */
    uint32_t journal_max_files;
} dtc_supervisor_config;

void dtc_supervisor_config_default(dtc_supervisor_config *c);
/* Creates (or re-attaches to and validates) the segment, then loops until
 * *stop; on stop, refuses new begins, waits for in-flight transactions,
 * rolls back the rest and removes the segment. */
dtc_result dtc_supervisor_run(const dtc_supervisor_config *cfg,
                              volatile sig_atomic_t *stop);

/* ---- test hooks -------------------------------------------------------- */

/* A named crash point: if $DTC_CRASH_AT is "point" (or "point:n", the
 * n-th hit), the process SIGKILLs itself here.  libdtc's own points are
 * listed in src/libdtc/fault.c; participant frameworks add theirs. */
void dtc_fault(const char *point);

/* ---- logging ----------------------------------------------------------- */

typedef enum dtc_log_level {
    DTC_LOG_ERROR = 0,
    DTC_LOG_WARN,
    DTC_LOG_INFO,
    DTC_LOG_DEBUG
} dtc_log_level;

/* Level from $DTC_LOG if set, else `dflt`.  Daemons pass DTC_LOG_INFO;
 * the library's own default is DTC_LOG_WARN. */
void dtc_log_init(dtc_log_level dflt);
/* The level by name (error, warn, info, debug; any case): --log-level.
 * DTC_EINVAL for any other name (the level stays). */
dtc_result dtc_log_set_level(const char *name);
/* Append log lines to `path` instead of stderr. */
dtc_result dtc_log_to_file(const char *path);
/* Async-signal-safe (call it from a SIGHUP handler): the next line
 * reopens the log file, so a rotated log is let go. */
void dtc_log_reopen(void);
/* One strict logfmt record: ts level pid event [txid] [participant], then
 * `fmt`, whose literal text holds keys and '=' and whose every %s is a
 * value, escaped and quoted as needed ("reason=%s", never "reason=\"%s\""). */
void dtc_log(dtc_log_level lvl, const char *event, const dtc_txid *txid,
             const char *participant, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* DTC_DTC_H */
