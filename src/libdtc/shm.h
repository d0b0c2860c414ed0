/*
 * shm.h - the layout of a dtc shared-memory segment, and the lock order.
 *
 * One segment per instance, named "/dtc.<instance>", created by dtcd.
 *
 *   +------------------------+  offset 0
 *   | dtc_shm_header         |  magic, format, sizes, limits, supervisor,
 *   |                        |  counters, registry lock
 *   +------------------------+  sh_txn_off
 *   | dtc_txn_slot[max_txns] |  one per concurrent transaction, each
 *   |   + entries[max_parts] |  sh_txn_slot_size bytes
 *   +------------------------+  sh_part_off
 *   | dtc_part_slot[max_p]   |  one per registered participant process,
 *   |   + ring[ring_cap]     |  each sh_part_slot_size bytes
 *   +------------------------+  sh_total_size
 *
 * Who talks to whom.  A coordinator thread owns a transaction slot from
 * begin to the end of commit/rollback.  To ask participant P something it
 * writes the request into the slot's entry (under the txn lock), then
 * pushes (txn index, txn generation, entry, op) onto P's ring (under P's
 * lock) and wakes P (see below).  P, the only waiter on its condvar, takes
 * every pending request as one batch, runs its callbacks, calls flush
 * (one fsync), then writes each answer into the txn entry (under the txn
 * lock) and wakes the coordinator when the last awaited answer arrives.
 * The coordinator is the only waiter on its txn condvar.  Every wait is a
 * pthread_cond_timedwait on CLOCK_MONOTONIC.
 *
 * Waking a sleeper (wake.c; struct dtc_wake, one per slot, for both
 * kinds).  A waiter counts itself in wk_sleepers (under the slot's lock)
 * while it waits.  The one waker (a pusher, a participant publishing the
 * last answer) that finds sleepers and wk_sent clear sets wk_sent,
 * releases the slot's lock, and only then signals, holding wk_lock: the
 * woken process finds the slot's lock free (one wake-up, not two: a
 * signal under the slot's lock wakes it only to block on that mutex).
 * wk_lock serializes the signal with every re-initialization of the
 * condvar, which signalling under the slot's lock used to guarantee.
 * Later wakers see wk_sent and do not signal.  A waker that dies before
 * its signal delays the wake-up by one wait slice (DTC_WAIT_SLICE_MS):
 * nobody sleeps longer than that at a time.
 *
 * LOCK ORDER (the only one in dtc; any path that holds two locks takes
 * them in this order, and no path waits for another process while holding
 * a lock):
 *
 *     1. sh_reg_lock   (participant registry: names, pids of part slots)
 *     2. one ps_lock   (a participant slot: its ring and counters)
 *     3. that slot's ps_wake.wk_lock (its condvar: signal or re-init)
 *
 *   A waker takes a wk_lock alone, after releasing the slot's lock; only
 *   a re-initialization of the condvar takes it with the slot's lock held
 *   (ps_lock then ps_wake.wk_lock; ts_lock then ts_wake.wk_lock).
 *   A txn slot's ts_lock is held together with no other lock but its
 *   own ts_wake.wk_lock and sh_dlog_lock: the coordinator releases it
 *   before pushing onto a participant ring, and a participant releases
 *   its ps_lock before it touches a txn slot.
 *   sh_dlog_lock (decision log writer) is taken alone or with one
 *   ts_lock held (ts_lock, then sh_dlog_lock: the driver writes its
 *   record while it holds its slot); nothing but sh_dlog_out_lock is
 *   taken while it is held, and nobody waits for a sync under it but the
 *   writer that switches files.  The switch copies live slots without
 *   their locks (unlocked peeks, validated).
 *   sh_dlog_out_lock (the log buffer's file writer) is the innermost
 *   leaf: taken alone, under sh_dlog_lock (a writer that needs room in
 *   the buffer, the switch) or under sh_dlog_flush_lock (the leader of a
 *   group commit); nothing is taken while it is held.
 *   sh_dlog_flush_lock (group commit) and sh_sup_lock (supervisor
 *   identity) are held with no other lock but sh_dlog_out_lock under
 *   the first.
 *   sh_journal_lock (the journal table) is taken with no other lock
 *   held; sh_dlog_lock may be taken under it (journal_lock, then
 *   dlog_lock: a checkpoint's record); the switch reads the table
 *   without it (unlocked peeks, validated).
 *   A handle's courier mutex (c_mu, courier.c) is process memory, not
 *   the segment's: taken with no lock held, and nothing is taken under
 *   it.
 *   Checked: with DTC_ASSERTS (the sanitizer build) lock.c classifies
 *   every lock taken and aborts on one taken against this order.
 *
 * NO LOCK WAITS FOREVER.  Every lock is taken with a limit,
 * DTC_LOCK_LIMIT_MS (10 s; $DTC_LOCK_LIMIT_MS overrides it, read once per
 * process, for tests).  No lock is held across a wait for another process
 * or a sync but sh_dlog_lock across a file switch and sh_dlog_flush_lock
 * across one fdatasync, so a holder past the limit is taken for dead even
 * though the kernel did not say so (EOWNERDEAD needs the holder's robust
 * list, which a scribbling process can damage; a stopped process never
 * releases).  dtc__lock returns DTC_ECORRUPT (logged lock_timeout) and:
 *   - ts_lock: the slot is quarantined (DTC_TS_QUARANTINED |
 *     DTC_TS_LOCK_STUCK, sh_corrupt_slots++), written without the lock.
 *     Every locker peeks the flags first: dtc__txn_lock refuses a
 *     quarantined slot, dtc__txn_lock_any (listing, operator) a stuck one,
 *     so nobody waits on it again.  It is not listed; resolve cannot
 *     rebuild it (DTC_ECORRUPT).
 *   - ps_lock: the participant slot is quarantined (ps_state, written
 *     without its locks), peeked before every wait.
 *   - wk_lock: wk_suspect = DTC_WAKE_STUCK: nobody signals nor waits on
 *     that wk_lock again; the next re-initialization of the condvar
 *     (dtc__wake_renew, with the slot's lock held) re-initializes wk_lock
 *     too, as for an unrecoverable one.
 *   - sh_reg_lock, sh_dlog_lock, sh_sup_lock: logged, DTC_ECORRUPT to the
 *     caller, who fails cleanly (register, append a decision, claim the
 *     supervisor); the next caller tries again (the limit again).
 *   - sh_dlog_flush_lock (trylock, then a futex wait for the holder's
 *     sync): a flush that has waited past the limit returns DTC_ECORRUPT.
 *   A lock taken while another is held (wk_lock at a re-initialization,
 *   sh_dlog_lock under ts_lock) waits half the limit: its taker gives up
 *   and releases the outer lock before anyone waiting for that one does,
 *   so a slot is never quarantined because a lock nested in it is stuck.
 *   (ps_lock under sh_reg_lock waits the whole limit: a registry waiter
 *   that times out only fails its call.)
 *   One wait stays unbounded: pthread_cond_timedwait re-takes the slot's
 *   mutex after its timeout without a limit (glibc has no clocked form);
 *   a waiter is the slot's only driver, so nobody else should hold it.
 *
 * Repair on EOWNERDEAD (every lock goes through dtc__lock()):
 *   - ts_lock: the dead holder was a coordinator, participant or the
 *     supervisor mid-update.  Every update of a txn slot writes the entry
 *     fields first and the slot state last, so the slot is valid in either
 *     its old or new state; repair re-validates state, nentries, pending and
 *     every entry's indexes, quarantines the slot if they are out of range,
 *     and recounts ts_pending.
 *   - ps_lock: re-validates ring head/tail against the capacity (a bad
 *     ring is emptied: its requests' coordinators will time out and retry).
 *   - sh_reg_lock: re-validates every participant slot's state and name
 *     (an unterminated or invalid one is quarantined).
 *   - wk_lock: the dead holder may have died inside the signal, holding
 *     the condvar's internal lock, so repair sets wk_suspect: nobody
 *     signals that condvar until it is re-initialized, by a new owner or
 *     by a waiter that finds no other sleeper before it waits.
 *   - sh_sup_lock: nothing to repair (single-field writes).
 *   - sh_dlog_lock: nothing: sh_dlog_end moves only after a record is
 *     completely copied, so a torn record is overwritten by the next.
 *   - sh_dlog_out_lock: nothing: sh_dlog_filed moves only after the
 *     pwrite returned, so the next holder writes the same bytes again.
 *   - sh_dlog_flush_lock: nothing: sh_dlog_durable moves only after a
 *     sync returned.
 *   Validation is not only for EOWNERDEAD: dtc__txn_lock and
 *   dtc__part_lock re-validate their slot at every lock (dtc__txn_valid;
 *   dtc__part_repair), and a driver re-checks after every wait, so a slot
 *   scribbled on while nobody held its lock is quarantined by its next
 *   reader, who gets DTC_ECORRUPT.  Loops over entries are bounded by
 *   min(ts_nentries, max_parts) besides.
 *   A quarantined txn slot: listed (dtc_txn_info.quarantined, names and
 *   reasons sanitized), not counted busy by dtcd's shutdown, and ended by
 *   an operator only: resolve --rollback copies out every entry whose
 *   name is still a valid NUL-terminated name, looks the participants up
 *   (without the slot's lock), rebuilds the slot in place as HEURISTIC
 *   under a new generation (stale requests and drivers fall away; a live
 *   driver asleep on it leaves first) and resolves it as usual: freed
 *   once every participant acknowledged the rollback, else left
 *   HEURISTIC (sound) for a retry.  Too damaged to read (an unreadable
 *   name, a state out of range, or COMMITTING/COMMITTED: the commit may be
 *   decided) it stays quarantined: DTC_ECORRUPT.  resolve --commit and
 *   retry of a quarantined slot stay DTC_ECORRUPT.
 *   A lock holder that dies is never a condvar waiter (a waiter has
 *   released the mutex), so repair leaves condvars alone: a live waiter may
 *   still sleep on one.  Condvars are re-initialized when their slot gets
 *   a new owner (begin, adoption by dtcd, registration, reclaim): the one
 *   moment nobody can be waiting on them but a dead process.
 *
 * Shared memory is hostile input: every index read from the segment is
 * bounds-checked before use, and every (slot, generation) pair is
 * re-checked under the slot's lock, so a slot reused by another
 * transaction or participant is never mistaken for the old one.
 */
#ifndef DTC_SHM_H
#define DTC_SHM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "dtc/dtc.h"

#define DTC_SHM_MAGIC 0x44544353484d3031ULL /* "DTCSHM01", shows byte order */
#define DTC_LAYOUT_VERSION 10u /* 4: latency histograms, participant errors;
                                 5: answers by kind (yes, no, error);
                                 6: the decision log's last error;
                                 7: the instance journal;
                                 8: read-only votes (DTC_ENTRY_READONLY in
                                 te_status/te_vote), one-phase commit
                                 (ts_flags), their counters;
                                 9: a participant's own syncs (ps_syncs);
                                 10: the decision log's buffer */
#define DTC_CACHELINE 64
/* Nobody waits on a slot's condvar longer than this at a time, so a lost
 * wake-up (a waker died before signalling, a suspect condvar) costs no
 * more. */
#define DTC_WAIT_SLICE_MS 200
/* The longest anyone waits for a lock (see "No lock waits forever"
 * above): far above any hold (no hold spans another process's work; the
 * longest is a decision log file switch, one fdatasync).  Overridable per
 * process by $DTC_LOCK_LIMIT_MS, 1..DTC_LOCK_LIMIT_MAX_MS. */
#define DTC_LOCK_LIMIT_MS 10000
#define DTC_LOCK_LIMIT_MAX_MS 3600000

/* A format word folding every layout-affecting size: a build
 * with another pthread ABI or limits constant refuses to attach. */
#define DTC_FORMAT_WORD                                                    \
    ((uint32_t)(sizeof(pthread_mutex_t) << 24 | sizeof(pthread_cond_t) << 16 \
                | DTC_PAYLOAD_MAX << 4 | (sizeof(pid_t) & 0xf)))

#define DTC_DATA_DIR_MAX 200 /* decision log directory, including the NUL */
/* The decision log's buffer in the segment (dlog.c): records are copied
 * here and written to the file by whoever syncs next. */
#define DTC_DLOG_BUF (1u << 20)

/* ---- wake-up hand-off (wake.c) ------------------------------------------ */

/* One per slot, beside the slot's condvar; see "Waking a sleeper". */
/* Values of wk_suspect (0: sound). */
#define DTC_WAKE_SUSPECT 1u /* wk_lock's holder died: the condvar is suspect */
#define DTC_WAKE_STUCK 2u   /* wk_lock held past DTC_LOCK_LIMIT_MS: never taken */

struct dtc_wake {
    /* Held only around a signal of the slot's condvar by a waker that
     * released the slot's lock, and around every re-initialization of the
     * condvar (then with the slot's lock held: lock order 3). */
    pthread_mutex_t wk_lock;
    /* Under the slot's lock.  wk_sleepers: processes waiting on the
     * condvar (written by the waiters; a dead one stays counted until the
     * condvar is re-initialized).  wk_sent: a waker has claimed waking the
     * current sleepers; cleared by a waiter when its wait returns.  Both
     * cleared at re-initialization. */
    uint32_t wk_sleepers;
    uint32_t wk_sent;
    /* DTC_WAKE_SUSPECT: set under wk_lock by whoever repaired it
     * (EOWNERDEAD).  DTC_WAKE_STUCK: set without it by a waker that
     * waited DTC_LOCK_LIMIT_MS for wk_lock; then nobody takes wk_lock
     * until it is re-initialized.  Cleared when the condvar is
     * re-initialized.  While set, nobody signals. */
    _Atomic uint32_t wk_suspect;
};

/* ---- header -------------------------------------------------------------- */

struct dtc_shm_header {
    /* Written once by the creating dtcd before the segment is published
     * (ftruncate + fill, then sh_ready = 1); read-only afterwards. */
    uint64_t sh_magic;
    uint32_t sh_version;          /* DTC_LAYOUT_VERSION */
    uint32_t sh_format;           /* DTC_FORMAT_WORD */
    uint64_t sh_total_size;       /* whole segment */
    uint32_t sh_header_size;      /* sizeof(struct dtc_shm_header) */
    uint32_t sh_txn_slot_size;    /* bytes per txn slot, entries included */
    uint32_t sh_part_slot_size;   /* bytes per participant slot, ring incl. */
    uint32_t sh_ring_cap;         /* requests per participant ring */
    uint64_t sh_txn_off;          /* offset of txn slot 0 */
    uint64_t sh_part_off;         /* offset of participant slot 0 */
    uint32_t sh_max_txns;
    uint32_t sh_max_parts_per_txn;
    uint32_t sh_max_participants;
    uint32_t sh_pad0;
    char sh_instance[DTC_INSTANCE_MAX];
    _Atomic uint32_t sh_ready;    /* 1 once the header above is complete */

    /* Supervisor identity: written by dtcd under sh_sup_lock at start and
     * cleared at clean exit; read unlocked by anyone (a torn read only
     * makes a liveness check fail, which is re-done under the lock). */
    pthread_mutex_t sh_sup_lock;
    pid_t sh_sup_pid;
    uint64_t sh_sup_start;        /* /proc/PID/stat field 22 */
    /* Set by dtcd (atomic): DTC_SHUT_DRAINING on SIGTERM (begin refuses),
     * DTC_SHUT_GONE just before it unlinks the segment (participants
     * serving it stop); 0 while it runs. */
    _Atomic uint32_t sh_shutdown;

    /* Counters: atomics, written by whoever finishes the event, never
     * trusted for control decisions. */
    _Atomic uint64_t sh_begun;
    _Atomic uint64_t sh_committed;
    _Atomic uint64_t sh_aborted;
    _Atomic uint64_t sh_timed_out;
    _Atomic uint64_t sh_reclaimed;
    _Atomic uint64_t sh_heuristic;
    _Atomic uint32_t sh_corrupt_slots; /* quarantined slots, see repair */
    /* Read-only votes recorded in a slot (answer.c, by the participant
     * publishing the vote), and transactions that reached COMMITTED in
     * one phase (txn.c, by the driver); same rules as the counters above. */
    _Atomic uint64_t sh_readonly_votes;
    _Atomic uint64_t sh_one_phase;

    /* Participant registry lock (lock order 1): held while a participant
     * slot changes owner (register, unregister, reclaim), so that two
     * processes cannot take the same name. */
    pthread_mutex_t sh_reg_lock;

    /* ---- decision log (dlog.c; README "Decision log") ---------------- */
    /* Written once by the creating dtcd before sh_ready; read-only after
     * (and re-validated by every reader: NUL-terminated, absolute).
     * Empty: the instance runs without a log (--no-decision-log). */
    char sh_dlog_dir[DTC_DATA_DIR_MAX];
    uint32_t sh_dlog_file_size;   /* bytes per log file, header included */
    uint32_t sh_dlog_files;       /* files kept before the oldest goes */
    /* 1 from creation until dtcd has replayed the log into slots; then 0
     * (dtcd, atomic store).  While 1, begin and "not found" answers are
     * refused with DTC_ERECOVERING: nothing may be presumed aborted. */
    _Atomic uint32_t sh_recovering;
    /* Writer state, under sh_dlog_lock (lock order: taken with at most one
     * ts_lock held, never the other way round; no wait inside but for
     * room in sh_dlog_buf and a file switch).  The current file's number
     * and the LSN where the next record goes.  A record is copied into
     * sh_dlog_buf at sh_dlog_end; a holder that dies mid-copy leaves
     * sh_dlog_end unchanged: the next writer overwrites the torn bytes.
     * Repair: none needed. */
    pthread_mutex_t sh_dlog_lock;
    uint64_t sh_dlog_fileno;
    uint64_t sh_dlog_end;
    /* == sh_dlog_end, published (release) after each record is copied
     * whole into sh_dlog_buf: a flusher and a reader read it without
     * sh_dlog_lock.  Everything below it is in the log (buffer or file). */
    _Atomic uint64_t sh_dlog_written;
    /* The file writer (dlog.c, "The log buffer"): sh_dlog_out_lock (a
     * leaf: taken alone, under sh_dlog_lock or under sh_dlog_flush_lock)
     * is held around the one pwrite of [sh_dlog_filed, sh_dlog_written)
     * from sh_dlog_buf into the current file; sh_dlog_filed (atomic
     * store under it, after the pwrite returned) says what the files
     * hold.  Hostile input: a reader bounds it by sh_dlog_written, the
     * buffer's size and the current file before it writes a byte.  A
     * holder that dies mid-pwrite left sh_dlog_filed: the next one writes
     * the same bytes again.  Repair: none needed. */
    pthread_mutex_t sh_dlog_out_lock;
    _Atomic uint64_t sh_dlog_filed;
    /* Group commit: one flusher at a time holds sh_dlog_flush_lock (never
     * with any other lock; taken with trylock only), syncs the file and
     * raises sh_dlog_durable to what was written before its sync.
     * Everything below sh_dlog_durable is on stable storage.  A flusher
     * that dies raised nothing: the next one syncs again. */
    pthread_mutex_t sh_dlog_flush_lock;
    _Atomic uint64_t sh_dlog_durable;
    /* Group commit by generation (dlog.c, dtc__dlog_flush).  The leader
     * of sync number sh_dlog_sync_no (stored when it takes the flush
     * lock, with sh_dlog_sync_target = UINT64_MAX: not known yet) stores
     * its target, what its sync covers, once it has written the buffer
     * out; after the sync it stores sh_dlog_sync_done, bumps
     * sh_dlog_gen_seq[k % 2] and wakes every waiter there (the sync
     * covered them), then bumps sh_dlog_gen_seq[(k + 1) % 2] and wakes
     * one waiter there (the next leader).  A waiter sleeps on the word of
     * the sync that will cover it: k if its record is not past the
     * target (or the target is not known), k + 1 if it is.  All written
     * by the flush lock's holder (atomics); read by waiters only to pick
     * a word and to see a sync already ended: a wrong value costs a
     * wake-up or a slice (waits are sliced), never a wrong answer. */
    _Atomic uint64_t sh_dlog_sync_no;
    _Atomic uint64_t sh_dlog_sync_target;
    _Atomic uint64_t sh_dlog_sync_done;
    _Atomic uint32_t sh_dlog_gen_seq[2];
    _Atomic uint64_t sh_dlog_syncs;   /* counter: fdatasync calls */
    _Atomic uint64_t sh_dlog_records; /* counter: records written */
    /* The log's last write or sync failure (dtc__dlog_note): its
     * dtc_result (0: none) and since when (wall clock, ms; set when the
     * error first appears, kept while it repeats).  Atomics, no lock: set
     * by whichever process failed, cleared by the next one whose sync
     * succeeds; only reported (status, metrics), never trusted
     * for control: a reader bounds the result (dtc_result_name). */
    _Atomic uint32_t sh_dlog_error;
    _Atomic int64_t sh_dlog_error_ms;

    /* ---- the instance journal (journal.c, docs/journal.md) ----------- */
    /* Which participants keep records in the log and how far their own
     * storage covers them (retention: no file holding a record at or
     * after a jn_ckpt is deleted).  Written under sh_journal_lock (taken
     * alone, or before sh_dlog_lock), by the participant (its entry made
     * at its first record, its checkpoint), an operator (release) and
     * dtcd's replay (before sh_recovering clears); read unlocked by the
     * file switch, retention, status: a reader bounds the name (NUL
     * within DTC_NAME_MAX) and takes jn_ckpt as a hint (retention keeps
     * more, never less, than the smallest it reads: stores are 64-bit).
     * jn_gen changes when an entry is freed, so a participant's cached
     * index is checked. */
    pthread_mutex_t sh_journal_lock;
    /* dtcd's --journal-max-files (atomic store at its start; 0: none):
     * status and metrics flag a participant holding more files. */
    _Atomic uint32_t sh_journal_max_files;
    struct dtc_shm_journal {
        char jn_name[DTC_NAME_MAX]; /* "" : free */
        _Atomic uint32_t jn_gen;
        _Atomic uint64_t jn_ckpt;   /* LSN: its storage reflects all below */
    } sh_journal[DTC_JOURNAL_PARTS_MAX];

    /* ---- metrics (metrics.c) ------------------------------------------ */
    /* Latency histograms, one per enum dtc_hist_kind: atomics added to
     * (relaxed) by whichever process timed the step, two per observation
     * (its bucket and the sum; the count is the buckets' total); never
     * trusted for control decisions, read as they are (a reader may see a
     * bucket counted before its sum: harmless). */
    struct dtc_shm_hist {
        _Atomic uint64_t hi_bucket[DTC_HIST_BUCKETS]; /* le the bound, not cumulative */
        _Atomic uint64_t hi_sum_ns;
    } sh_hist[DTC_HIST_COUNT];

    /* ---- the log buffer (dlog.c, "The log buffer") -------------------- */
    /* The byte of LSN l is at sh_dlog_buf[l % DTC_DLOG_BUF].  Bytes
     * [sh_dlog_end, ...) are written under sh_dlog_lock, never past
     * sh_dlog_filed + DTC_DLOG_BUF (what the files hold may be
     * overwritten); [sh_dlog_filed, sh_dlog_written) is read under
     * sh_dlog_out_lock, copied out and checked record by record (CRC)
     * before a byte reaches a file: a scribble here is refused, never
     * written. */
    unsigned char sh_dlog_buf[DTC_DLOG_BUF] __attribute__((aligned(DTC_CACHELINE)));
} __attribute__((aligned(DTC_CACHELINE)));

#define DTC_SHUT_DRAINING 1u
#define DTC_SHUT_GONE 2u

/* ---- transaction slots ------------------------------------------------- */

/* One enlistment.  All fields under the owning txn slot's ts_lock. */
struct dtc_txn_entry {
    uint32_t te_part;          /* participant slot index: bounds-check! */
    uint32_t te_part_gen;      /* that slot's ps_gen at enlist/redelivery */
    uint8_t te_op;             /* dtc_op: last request pushed */
    uint8_t te_status;         /* dtc_entry_status of te_op's answer */
    uint8_t te_vote;           /* prepare vote, kept after prepare */
    uint8_t te_enlist_status;  /* YES / NO / ERROR once the work step ran */
    uint16_t te_attempts;      /* deliveries of te_op */
    uint16_t te_payload_len;   /* <= DTC_PAYLOAD_MAX */
    int64_t te_next_retry_ns;  /* CLOCK_MONOTONIC, 0 = none */
    /* End LSN of the participant's journal prepare record carried by its
     * yes vote (0: none; it syncs its own storage).  The COMMIT record
     * must come after it (txn.c checks, hostile input: never trusted
     * beyond that check). */
    uint64_t te_jlsn;
    char te_name[DTC_NAME_MAX];
    char te_reason[DTC_REASON_MAX];      /* last answer's reason */
    char te_vote_reason[DTC_REASON_MAX]; /* the prepare vote's reason */
    char te_enlist_reason[DTC_REASON_MAX];
    /* The last failed commit or rollback answer (te_failed_op NONE if
     * none): kept when the next phase re-arms the entry, so a report
     * after compensation still names who failed and why. */
    uint8_t te_failed_op;
    uint8_t te_failed_status;
    char te_failed_reason[DTC_REASON_MAX];
    char te_payload[DTC_PAYLOAD_MAX + 1]; /* NUL-terminated */
};

/* Flags in ts_flags. */
#define DTC_TS_ADOPTED 0x1u       /* the supervisor took the slot over */
#define DTC_TS_COMMIT_FAILED 0x2u /* aborting because a commit failed */
#define DTC_TS_QUARANTINED 0x4u   /* damaged: never reused, reported */
#define DTC_TS_RECOVERED 0x8u     /* rebuilt from the decision log */
/* ts_lock was held past DTC_LOCK_LIMIT_MS: set (with QUARANTINED) without
 * the lock by the locker that gave up; the lock is never taken again. */
#define DTC_TS_LOCK_STUCK 0x10u
/* One-phase commit (txn.c): set by the driver that starts the commit of
 * an ACTIVE transaction with one enlistment; cleared again if its yes
 * vote carries a journal record (that record needs the COMMIT's sync). */
#define DTC_TS_ONE_PHASE 0x20u
/* COMMITTING without a decision record (one-phase, or every vote
 * read-only), set by the driver before it leaves PREPARED: the file
 * switch copies no COMMIT for it and no driver logs one. */
#define DTC_TS_NO_DECISION 0x40u

struct dtc_txn_slot {
    /* ts_lock guards every field below but ts_wake's own wk_lock and
     * wk_suspect; lock with dtc__lock(). */
    pthread_mutex_t ts_lock;
    /* Waited on only by the slot's driver (ts_driver; see adopt() for a
     * stalled owner waiting beside dtcd's finisher); signalled and
     * re-initialized only under ts_wake.wk_lock, re-initialized whenever
     * the slot gets a new owner.  Never destroyed. */
    pthread_cond_t ts_cond;
    struct dtc_wake ts_wake;  /* ts_cond's wake-up hand-off */
    uint32_t ts_state;        /* dtc_txn_state; written last in an update */
    uint32_t ts_gen;          /* +1 each time the slot is (re)allocated */
    uint32_t ts_flags;        /* DTC_TS_* */
    uint32_t ts_nentries;     /* <= sh_max_parts_per_txn */
    uint32_t ts_pending;      /* entries with status PENDING */
    uint32_t ts_result;       /* dtc_result recorded at the decision */
    unsigned char ts_txid[16];
    pid_t ts_owner_pid;       /* coordinator process (or dtcd if adopted) */
    uint64_t ts_owner_start;  /* its /proc start time: pid-reuse safe */
    uint64_t ts_driver;       /* token of the thread in a call, 0 = none */
    int64_t ts_begin_ns;      /* CLOCK_MONOTONIC at begin */
    int64_t ts_touch_ns;      /* last call by the owner (orphan detection) */
    int64_t ts_deadline_ns;   /* current phase deadline, 0 = none */
    uint32_t ts_prepare_ms, ts_commit_ms, ts_rollback_ms, ts_max_retries;
    /* LSN just past this transaction's last durable decision record
     * (commit, compensation, heuristic, operator); 0 = none yet.  A driver
     * that finds the slot COMMITTING with 0 here logs the decision again
     * before it sends anything (the first driver died before its flush). */
    uint64_t ts_dlsn;
    uint32_t ts_dtype;        /* the type of that record (dlog.h) */
    /* Why dtcd adopted the slot (labels.c: dtc__adopt_why_*; 0 = it did
     * not): written by dtcd under ts_lock when it adopts, cleared at
     * claim; read bounded (an unknown code reads as ""). */
    uint32_t ts_adopt_why;
    struct dtc_txn_entry ts_entries[]; /* sh_max_parts_per_txn of them */
};

/* ---- participant slots ------------------------------------------------- */

/* One queued request.  Written by a coordinator under the ring's ps_lock. */
struct dtc_ring_req {
    uint32_t rq_gen;   /* ts_gen when pushed */
    uint16_t rq_txn;   /* txn slot index: bounds-check! */
    uint8_t rq_entry;  /* entry index: bounds-check! */
    uint8_t rq_op;     /* dtc_op */
};

enum dtc_part_state {
    DTC_PS_FREE = 0,
    DTC_PS_LIVE = 1,
    DTC_PS_QUARANTINED = 2
};

/* What a participant answered, as counted in ps_answers (metrics). */
enum dtc__answer_kind {
    DTC_ANSWER_YES = 0, /* enlist accepted, voted yes, commit/rollback done */
    DTC_ANSWER_NO,      /* refused: a no at enlist or prepare (business) */
    DTC_ANSWER_ERROR,   /* failed: an error answer, or a yes its flush lost */
    DTC_ANSWER_KINDS
};

struct dtc_part_slot {
    /* ps_lock guards the ring, the counters, ps_cond's waits and ps_wake
     * (but its own wk_lock and wk_suspect).  ps_state,
     * ps_gen, ps_name, ps_pid and ps_start change only with both
     * sh_reg_lock and ps_lock held, so either lock suffices to read them. */
    pthread_mutex_t ps_lock;
    /* Waited on only by the participant process (with ps_lock); signalled
     * and re-initialized only under ps_wake.wk_lock; re-initialized at
     * every registration and reclaim, and by the participant itself when
     * suspect.  Never destroyed. */
    pthread_cond_t ps_cond;
    struct dtc_wake ps_wake;  /* ps_cond's wake-up hand-off */
    uint32_t ps_state;        /* enum dtc_part_state */
    uint32_t ps_gen;          /* +1 at every registration */
    char ps_name[DTC_NAME_MAX];
    pid_t ps_pid;
    uint64_t ps_start;
    /* Ring: requests [ps_head, ps_tail) are unanswered; the participant
     * advances ps_head only after it published the answers, so a dead
     * participant's unanswered requests are exactly [ps_head, ps_tail).
     * Free-running counters; index = counter % sh_ring_cap. */
    uint64_t ps_head;
    uint64_t ps_tail;
    uint64_t ps_served;
    /* Under ps_lock, by the participant with each batch it answers: its
     * answers (enlist, prepare, commit, rollback) by kind, indexed by
     * enum dtc__answer_kind (yes, no, error), and CLOCK_REALTIME ns of its
     * last answer (0: none yet).  Reset at registration.  Read without
     * the lock by the metrics (metrics_read.c): bounded, never trusted. */
    uint64_t ps_answers[DTC_ANSWER_KINDS];
    int64_t ps_last_ns;
    /* Written only by the participant process itself, atomically
     * (__atomic_fetch_add, no lock), through dtc_participant_count_syncs:
     * the syncs of its own storage (fsync, fdatasync) since it
     * registered.  Reset at registration (under both locks).  A counter
     * to show, never a count, index or size: read atomically, without
     * trust. */
    uint64_t ps_syncs;
    struct dtc_ring_req ps_ring[]; /* sh_ring_cap of them */
};

#endif /* DTC_SHM_H */
