/*
 * internal.h - declarations shared by libdtc's source files (not public).
 *
 * Naming: dtc__ for library-internal functions.  Each group below lives
 * in the file named in its comment.  "With X held" in a comment is a
 * precondition, checked by DTC_ASSERT(dtc__lock_held(&X)) where cheap.
 */
#ifndef DTC_INTERNAL_H
#define DTC_INTERNAL_H

#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dtc/dtc.h"
#include "shm.h"

/* ---- preconditions (fault.c, lock.c) ---------------------------------- */

/* DTC_ASSERT(cond): with DTC_ASSERTS (the sanitizer build) a false cond
 * is a bug: logged with its place, then abort().  Otherwise compiled out
 * (cond is not evaluated).  For preconditions only: locks held, the
 * driver token, indexes within bounds; never for what shared memory says
 * (that is hostile input, checked and handled at run time). */
#if DTC_ASSERTS
#define DTC_ASSERT(cond) \
    ((cond) ? (void)0 : dtc__assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define DTC_ASSERT(cond) ((void)sizeof(!(cond)))
#endif
_Noreturn void dtc__assert_fail(const char *cond, const char *file, int line,
                                const char *func);
/* Whether this thread holds m, taken through dtc__lock (lock.c); how
 * many locks it holds ("with no lock held": DTC_ASSERT(dtc__locks_held()
 * == 0)).  Only defined with DTC_ASSERTS: use them inside DTC_ASSERT only.
 * With DTC_ASSERTS every lock taken is also checked against shm.h's lock
 * order (taking one out of order aborts). */
bool dtc__lock_held(const pthread_mutex_t *m);
unsigned dtc__locks_held(void);

/* A spare log file in the making, a step per dtcd tick
 * (dtc__dlog_spare_step, dlog.h); sj_fd -1 when none is. */
struct dtc__spare_job {
    int sj_fd;
    uint64_t sj_done;  /* bytes zero-filled so far */
    bool sj_recycled;  /* an old log file: only its first page is cleared */
    uint64_t sj_seen;  /* sh_dlog_written at the last step (the log's pace) */
};

/* The threads of this process waiting for their COMMIT's sync, and
 * whether one of them (the courier) is at work for all (courier.c).
 * Process memory, under c_mu alone. */
struct dtc__courier_reg;
struct dtc__courier {
    pthread_mutex_t c_mu;
    struct dtc__courier_reg *c_head;
    bool c_busy;
    _Atomic uint64_t c_carried; /* phase twos delivered for another thread */
};
void dtc__courier_init(struct dtc__courier *c);
uint64_t dtc__courier_carried(dtc_instance *in);
void dtc__courier_destroy(struct dtc__courier *c);

/* An attachment to a segment (process-local). */
struct dtc_instance {
    char name[DTC_INSTANCE_MAX];
    struct dtc_shm_header *hdr;
    size_t size;
    /* Copies of the header's geometry taken at attach and validated then:
     * never re-read from the segment, so a scribbled header cannot make
     * us index out of bounds. */
    uint32_t max_txns, max_parts, max_participants, ring_cap;
    size_t txn_off, part_off, txn_slot_size, part_slot_size;
    uint64_t serial;      /* unique per dtc_open in this process (caches) */
    /* The decision log, copied from the header at attach and validated
     * (dlog_dir empty: no log).  The descriptors are this process's own,
     * each used only under its lock (dlog.c). */
    char dlog_dir[DTC_DATA_DIR_MAX];
    uint32_t dlog_file_size, dlog_files;
    bool dlog_group;
    int dlog_wfd, dlog_sfd, dlog_ofd;
    uint64_t dlog_wno, dlog_sno, dlog_ono;
    unsigned char *dlog_obuf; /* the file writer's checked copy (dlog.c) */
    struct dtc__spare_job dlog_spare; /* dtcd's spare in the making (recover.c) */
    pid_t pid;            /* this process */
    uint64_t start_time;  /* this process's /proc start time */
    bool readonly;        /* mapped PROT_READ (dtc__open_readonly): no lock, no write */
    struct dtc__courier courier; /* this handle's group phase two (courier.c) */
    /* References to this handle: 1 from dtc_open until dtc_close, 1 per
     * registered participant until its unregister.  The last release
     * detaches and frees it (dtc__instance_release), so a dtc_close
     * while a participant still serves leaves the mapping to it. */
    atomic_uint refs;
};

/* Takes one more reference to in / drops one (segment.c). */
void dtc__instance_hold(dtc_instance *in);
void dtc__instance_release(dtc_instance *in);

/* pace.c: how a serving thread schedules itself: pace.h (dtc-bench's
 * floor paces its participants with it too). */
#include "pace.h"

/* A registered participant (process-local handle). */
struct dtc_participant {
    dtc_instance *in;
    uint32_t idx, gen;          /* our slot and its generation */
    char name[DTC_NAME_MAX];
    struct dtc__work *work;     /* one batch (ring_cap items), participant.c */
    struct dtc_ring_req *batch; /* the batch's requests as taken (ring.c) */
    struct dtc__pace pace;      /* busy or not: scheduling, see pace.c */
    uint32_t batch_answers[DTC_ANSWER_KINDS]; /* the batch being answered, by kind */
    atomic_bool busy;           /* a serve or the unregister runs: set and
                                 * cleared by that call (participant.c) */
    long batch_n;               /* requests of the batch whose answers may
                                   still be revised (dtc_participant_answer);
                                   0 outside serve_once's callbacks and flush */
    /* The prepare callback running now (participant.c sets both around
     * it): dtc_journal_prepare checks its request and stores the record's
     * end where the vote will carry it. */
    const dtc_request *cur_req;
    uint64_t *cur_jlsn;
    /* Our entry in the journal table (journal.c), checked by its gen. */
    bool jhave;
    uint32_t jidx, jgen;
    /* Our journal records not yet in the log (journal_stage.c); NULL
     * until the first. */
    struct dtc__jstage *jst;
};

/* journal_stage.c: whether p has journal records staged; whether one of
 * them is a prepare record (or a write that dropped one failed): then
 * they are written before the batch's answers are published. */
bool dtc__journal_staged(const dtc_participant *p);
bool dtc__journal_staged_prepare(const dtc_participant *p);
/* Writes everything p staged (one dtc__dlog_append_n).  DTC_OK, or
 * DTC_ELOG / an error of the table: what was staged is dropped. */
dtc_result dtc__journal_write(dtc_participant *p);
/* The write of a batch's staged records: DTC_ELOG also if a write since
 * the last one dropped a prepare record (then no yes vote of the batch
 * may be published as a yes). */
dtc_result dtc__journal_batch_write(dtc_participant *p);
/* Frees p's stage (after its last write). */
void dtc__journal_stage_free(dtc_participant *p);

/* ---- segment.c: create / attach / geometry ----------------------------- */

/* "/dtc.<name>" into buf. */
void dtc__shm_name(const char *instance, char *buf, size_t size);
/* The decision log a new segment announces (dir empty: none). */
struct dtc__dlog_cfg {
    char dir[DTC_DATA_DIR_MAX];
    uint32_t file_size, files;
};
/* Creates and initializes a fresh segment (fails with DTC_EEXIST if one
 * exists); mode 0600 or 0660.  With a log it starts recovering. */
dtc_result dtc__segment_create(const char *instance, const dtc_limits *l,
                               int group_access, const struct dtc__dlog_cfg *dl,
                               dtc_instance **out);
/* dtc_open, mapped read-only: for readers that take no lock and write
 * nothing (the metrics, metrics_read.c); nothing else may be given it. */
dtc_result dtc__open_readonly(const char *name, dtc_instance **out);
/* Validates an attached header against this build: magic, version,
 * format, sizes, limits, offsets.  Pure function of the bytes. */
dtc_result dtc__header_validate(const struct dtc_shm_header *h, size_t mapped);
/* Removes the segment name. */
void dtc__segment_unlink(const char *instance);

static inline struct dtc_txn_slot *dtc__txn(const dtc_instance *in, uint32_t i)
{
    DTC_ASSERT(i < in->max_txns);
    return (struct dtc_txn_slot *)((char *)in->hdr + in->txn_off
                                   + (size_t)i * in->txn_slot_size);
}
static inline struct dtc_part_slot *dtc__part(const dtc_instance *in, uint32_t i)
{
    DTC_ASSERT(i < in->max_participants);
    return (struct dtc_part_slot *)((char *)in->hdr + in->part_off
                                    + (size_t)i * in->part_slot_size);
}

/* ---- metrics_read.c: what the metrics show, read without a lock ---------- */

struct dtc__metrics_snap {
    dtc_status st;
    dtc_histogram hist[DTC_HIST_COUNT];
    dtc_participant_info *parts; /* max_participants of room (allocated) */
    size_t nparts;
    uint64_t by_state[DTC_TXN_STATE_COUNT]; /* transaction slots by state */
};
/* Reads the snapshot from an instance attached read-only, taking no lock:
 * each value is bounded, a slot changing owner meanwhile is left out.
 * dtc__metrics_snap_free releases it (also after a failure). */
dtc_result dtc__metrics_read(dtc_instance *in, struct dtc__metrics_snap *s);
void dtc__metrics_snap_free(struct dtc__metrics_snap *s);

/* ---- lock.c: the one lock wrapper --------------------------------------- */

/* Process-shared robust mutex / CLOCK_MONOTONIC condvar initializers. */
int dtc__mutex_init(pthread_mutex_t *m);
int dtc__cond_init(pthread_cond_t *c);

/* Called with the mutex held after EOWNERDEAD, before it is made
 * consistent.  Returns 0 if the protected state is repaired, -1 if it
 * cannot be (the caller then quarantines it). */
typedef int (*dtc__repair_fn)(dtc_instance *in, void *obj);

/* Locks m, waiting at most the lock limit (shm.h, "No lock waits
 * forever"); on EOWNERDEAD runs repair(in, obj) then marks it consistent.
 * DTC_OK, or DTC_ECORRUPT if the mutex is unrecoverable, held past the
 * limit, or repair failed (the lock is then NOT held). */
dtc_result dtc__lock(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                     void *obj);
void dtc__unlock(pthread_mutex_t *m);
/* dtc__lock, saying whether it gave up because m was held past the limit
 * (*timed_out; DTC_ECORRUPT, logged, the caller quarantines what m
 * guards).  timed_out may be NULL. */
dtc_result dtc__lock_timed(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                           void *obj, bool *timed_out);
/* dtc__lock_timed waiting at most limit ns: half the limit for a lock
 * taken while another is held (shm.h, "No lock waits forever"). */
dtc_result dtc__lock_within(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                            void *obj, int64_t limit, bool *timed_out);
/* One try at m, never waiting: DTC_OK (held; EOWNERDEAD repaired as
 * for dtc__lock), DTC_EBUSY if someone holds it, else DTC_ECORRUPT. */
dtc_result dtc__lock_try(dtc_instance *in, pthread_mutex_t *m, dtc__repair_fn repair,
                         void *obj);
/* The lock limit in ns: DTC_LOCK_LIMIT_MS or $DTC_LOCK_LIMIT_MS (shm.h). */
int64_t dtc__lock_limit_ns(void);

dtc_result dtc__txn_lock(dtc_instance *in, struct dtc_txn_slot *ts);
dtc_result dtc__part_lock(dtc_instance *in, struct dtc_part_slot *ps);
dtc_result dtc__reg_lock(dtc_instance *in);

/* The one validation of a txn slot (with ts_lock held): state, entry
 * count and every entry's indexes and strings within this process's
 * geometry.  Pure: changes nothing. */
bool dtc__txn_valid(const dtc_instance *in, const struct dtc_txn_slot *ts);
/* With ts_lock held: dtc__txn_valid, quarantining a slot that fails it
 * (DTC_TS_QUARANTINED, sh_corrupt_slots++, logged once).  0 if sound,
 * -1 if quarantined.  Run by dtc__txn_lock and by every driver that
 * re-acquires the lock after a wait. */
int dtc__txn_check(dtc_instance *in, struct dtc_txn_slot *ts);
/* Locks a txn slot even if it is (or turns out) quarantined, for the
 * listing and the operator's resolve only: *quarantined says so, and
 * then nothing in the slot is trusted beyond a bounded, sanitized read. */
dtc_result dtc__txn_lock_any(dtc_instance *in, struct dtc_txn_slot *ts, bool *quarantined);
/* Entries a reader may visit: ts_nentries bounded by max_parts. */
static inline uint32_t dtc__txn_nentries(const dtc_instance *in, const struct dtc_txn_slot *ts)
{
    return ts->ts_nentries < in->max_parts ? ts->ts_nentries : in->max_parts;
}

/* Repair functions (also used by the tests). */
int dtc__txn_repair(dtc_instance *in, void *ts);
int dtc__part_repair(dtc_instance *in, void *ps);
int dtc__reg_repair(dtc_instance *in, void *unused);

/* Waits on c (held m) until abs_ns (CLOCK_MONOTONIC).  Returns 0 when
 * woken, ETIMEDOUT, or EOWNERDEAD handled as for dtc__lock (repair run). */
int dtc__cond_wait_until(dtc_instance *in, pthread_cond_t *c, pthread_mutex_t *m,
                         dtc__repair_fn repair, void *obj, int64_t abs_ns);

/* ---- wake.c: the wake-up hand-off ("Waking a sleeper" in shm.h) --------- */

/* With the slot's lock held: true if the caller is the one to wake the
 * sleepers, with dtc__wake_send() once it released the slot's lock. */
bool dtc__wake_claim(struct dtc_wake *w);
/* Without the slot's lock: signals c under w's wk_lock (unless suspect). */
void dtc__wake_send(dtc_instance *in, struct dtc_wake *w, pthread_cond_t *c);
/* With the slot's lock held, when nobody alive waits on c (a new owner):
 * re-initializes c under wk_lock and clears the hand-off. */
void dtc__wake_renew(dtc_instance *in, struct dtc_wake *w, pthread_cond_t *c);
/* With the slot's lock m held: waits on c until abs_ns or one wait slice,
 * counted as a sleeper (as dtc__cond_wait_until).  Renews a suspect c
 * first if nobody else sleeps on it. */
int dtc__wake_wait(dtc_instance *in, struct dtc_wake *w, pthread_cond_t *c, pthread_mutex_t *m,
                   dtc__repair_fn repair, void *obj, int64_t abs_ns);

/* ---- proc.c: liveness safe against pid reuse ---------------------------- */

/* Start time of pid (/proc/PID/stat field 22), 0 if no such process. */
uint64_t dtc__proc_start_time(pid_t pid);
/* True if pid is alive and still has this start time. */
bool dtc__proc_alive(pid_t pid, uint64_t start);

/* ---- clock.c ------------------------------------------------------------ */

int64_t dtc__now_ns(void); /* CLOCK_MONOTONIC */

/* ---- fault.c: named crash points ---------------------------------------- */

/* If $DTC_CRASH_AT names `point` (optionally ":n" for the n-th hit), the
 * process SIGKILLs itself there.  The list of points is in fault.c. */
void dtc__fault(const char *point);

/* ---- labels.c ------------------------------------------------------------ */

/* Why dtcd adopted a slot (ts_adopt_why): "coordinator_died", ... ("" for
 * 0 or an unknown code), and back (0 for an unknown name). */
const char *dtc__adopt_why_name(uint32_t code);
uint32_t dtc__adopt_why_code(const char *why);

/* ---- txn.c: the 2PC state machine (more in txn.h) ------------------------ */

/* Is `from -> to` a legal transition? */
bool dtc__txn_transition_ok(dtc_txn_state from, dtc_txn_state to);

/* ---- answer.c: an entry receives an answer ------------------------------- */

/* An entry with this vote, last op and its answer is prepared (voted yes,
 * not rolled back since): dtc_entry_prepared, and the operator's commit. */
bool dtc__prepared(unsigned vote, unsigned op, unsigned status);
/* The txn slot a ring request points at (NULL if out of bounds). */
struct dtc_txn_slot *dtc__req_slot(const dtc_instance *in, const struct dtc_ring_req *rq);
/* With ts_lock held: the entry rq points at if it is still participant
 * (part, pgen)'s in rq's transaction, and (awaited) still waits for rq's
 * answer; else NULL. */
struct dtc_txn_entry *dtc__req_entry(const dtc_instance *in, struct dtc_txn_slot *ts,
                                     const struct dtc_ring_req *rq, uint32_t part,
                                     uint32_t pgen, bool awaited);
/* With ts_lock held: records answer st (reason may be NULL) for entry e
 * if it is still awaited; a failed commit or rollback is also kept as the
 * entry's last failed delivery. */
void dtc__entry_answer(struct dtc_txn_slot *ts, struct dtc_txn_entry *e,
                       dtc_entry_status st, const char *reason);
/* Without any lock: records participant (part, pgen)'s answer to rq and
 * wakes the driver when it waits for no more answers or st failed.
 * False if nobody awaits the answer any more. */
/* jlsn: the end of the journal prepare record a yes vote carries (0: none). */
bool dtc__answer_publish(dtc_instance *in, const struct dtc_ring_req *rq, uint32_t part,
                         uint32_t pgen, dtc_entry_status st, const char *reason, uint64_t jlsn);
/* Without any lock: records the outcome of an enlist step (no wake-up:
 * the prepare reads it). */
void dtc__answer_enlist(dtc_instance *in, const struct dtc_ring_req *rq, uint32_t part,
                        uint32_t pgen, dtc_entry_status st, const char *reason);
/* Without any lock: fails the n requests of participant (part, pgen) that
 * it will never answer (it died or left): DEAD answers, failed enlist
 * steps; wakes their drivers. */
void dtc__fail_requests(dtc_instance *in, const struct dtc_ring_req *reqs,
                        size_t n, uint32_t part, uint32_t pgen);

/* ---- status.c: reporting ------------------------------------------------- */

/* With ts_lock held: fills a dtc_txn_info from the slot.  A quarantined
 * slot is read bounded and sanitized: names that are not valid names and
 * reasons that are not printable text are replaced by "?". */
void dtc__txn_info_fill(const dtc_instance *in, const struct dtc_txn_slot *ts,
                        dtc_txn_info *out);
/* The most telling reason of an entry: its failed answer's, else its
 * failed vote's, else its last failed commit or rollback delivery's
 * (unless that request was answered yes since), else whatever the last
 * answer or enlist step said. */
const char *dtc__entry_reason(const struct dtc_txn_entry *e);
/* Sets o's reason, failed_reason and their codes from the raw reasons
 * ("code: text", dtc_reason_split); reads at most DTC_REASON_MAX bytes
 * of each. */
void dtc__entry_info_reason(dtc_entry_info *o, const char *reason, const char *failed_reason);

/* ---- registry.c: the table of participant slots -------------------------- */

/* Finds the LIVE participant slot named `name`; fills idx and gen. */
dtc_result dtc__part_find(dtc_instance *in, const char *name, uint32_t *idx,
                          uint32_t *gen);
/* dtc__part_find through a small per-thread cache of name -> (slot,
 * generation); *cached says whether the answer came from it (a cached
 * answer may be stale: the push's generation check tells). */
dtc_result dtc__part_resolve(dtc_instance *in, const char *name, uint32_t *idx,
                             uint32_t *gen, bool *cached);
void dtc__part_forget(dtc_instance *in, const char *name);
/* Takes a slot for this process under `name` (a dead holder's slot is
 * reclaimed first, its requests failed): *idx, *gen.  DTC_ENAMETAKEN if a
 * live process holds the name, DTC_EREGFULL if no slot is free.  Takes
 * sh_reg_lock then ps_lock. */
dtc_result dtc__part_take(dtc_instance *in, const char *name, uint32_t *idx, uint32_t *gen);
/* Frees participant slot idx held by a dead (or leaving) process, failing
 * its unanswered requests.  Takes sh_reg_lock then ps_lock. */
dtc_result dtc__part_reclaim(dtc_instance *in, uint32_t idx, uint32_t gen,
                             const char *why);

/* ---- ring.c: a participant's request ring ------------------------------ */

/* Pushes a request onto participant idx's ring if its generation is gen,
 * and wakes it if `wake`.  DTC_ENOTALIVE if the slot changed owner,
 * DTC_EBUSY if its ring is full. */
dtc_result dtc__part_push(dtc_instance *in, uint32_t idx, uint32_t gen,
                          const struct dtc_ring_req *rq, bool wake);
/* The participant side: waits until deadline for requests on its ring
 * (slot idx, generation gen) and copies the unanswered ones into out
 * (ring_cap of room), leaving them on the ring.  With `yield`, it yields
 * once after a wake-up before it takes them.  How many, or -1 if the
 * slot is no longer ours. */
long dtc__ring_take(dtc_instance *in, uint32_t idx, uint32_t gen, int64_t deadline,
                    bool yield, struct dtc_ring_req *out);
/* Drops the first n requests (answered) off the ring, if still ours, and
 * counts them as served and their answers by kind (metrics). */
void dtc__ring_advance(dtc_instance *in, uint32_t idx, uint32_t gen, long n,
                       const uint32_t answers[DTC_ANSWER_KINDS]);

/* ---- log.c -------------------------------------------------------------- */

bool dtc__log_enabled(dtc_log_level lvl);
/* on: this thread's info/debug lines gather and are written together at
 * the next dtc__log_batch() call, a warning, or PIPE_BUF bytes. */
void dtc__log_batch(bool on);
/* A rate limit for one kind of repeated event (a static per event kind):
 * at most one line per period; dtc__log_allow() says whether this one
 * may go out and, if so, how many it held back since the last one (the
 * line carries them as suppressed=N).  Per process, any thread. */
struct dtc__log_limit {
    _Atomic int64_t next_ns;     /* the earliest time of the next line */
    _Atomic uint64_t suppressed; /* held back since the last line */
};
#define DTC__LOG_LIMIT_NS 1000000000LL /* one line per second */
bool dtc__log_allow(struct dtc__log_limit *lim, uint64_t *suppressed);

/* ---- metrics.c ------------------------------------------------------------ */

/* Adds one observation of ns to the instance's histogram k. */
void dtc__hist_add(dtc_instance *in, dtc_hist_kind k, int64_t ns);

/* ---- notify.c: the service manager's notify socket ---------------------- */

/* Whether $NOTIFY_SOCKET names a socket. */
bool dtc__notify_on(void);
/* Sends one message ("READY=1\nSTATUS=..."); nothing without a socket. */
void dtc__notify(const char *msg);
/* The watchdog period the manager asks for, in ns; 0 if none. */
int64_t dtc__notify_watchdog_ns(void);

/* ---- log_format.c: one strict logfmt record ------------------------------ */

/* A record being built in b[cap]: n bytes so far; safe is the length at the
 * last pair boundary (where a cut record ends); inq: inside a quote of the
 * format's literal text; cut: the record did not fit. */
struct dtc__lbuf {
    char *b;
    size_t n, cap, safe;
    bool inq, cut;
};
/* Trusted literal text (keys, '=', spaces, constant values). */
void dtc__lb_text(struct dtc__lbuf *l, const char *s);
/* A value: bare or quoted and escaped (at most maxlen bytes of s). */
void dtc__lb_value(struct dtc__lbuf *l, const char *s, size_t maxlen);
/* A format whose every %s is a value (escaped); other conversions as printf. */
void dtc__lb_vformat(struct dtc__lbuf *l, const char *fmt, va_list ap);
/* Ends the record: " truncated=true" if it was cut, then the newline. */
void dtc__lb_finish(struct dtc__lbuf *l);

/* ---- names.c: which names are valid ------------------------------------- */

bool dtc__name_valid(const char *name); /* dtc_name_valid(name, DTC_NAME_MAX) */
/* A NUL-terminated string of printable ASCII within size bytes. */
bool dtc__text_safe(const char *s, size_t size);
/* A NUL-terminated valid participant name within size bytes. */
bool dtc__name_safe(const char *s, size_t size);

/* ---- strings (inline) ---------------------------------------------------- */

/* Copies NUL-terminated src into dst[size], truncating; always
 * terminates.  A plain copy: snprintf("%s") costs ten times more on the
 * hot path. */
static inline void dtc__strcopy(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- txid.c ------------------------------------------------------------- */

/* A fresh random (version 4) transaction id.  libuuid supplies a random
 * 122-bit base per thread every 4096 ids; ids in between add a counter to
 * it, so they stay unique without libuuid's per-call reseeding. */
void dtc__txid_new(dtc_txid *out);

#endif /* DTC_INTERNAL_H */
