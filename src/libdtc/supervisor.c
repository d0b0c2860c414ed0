/*
 * supervisor.c - the loop of dtcd.
 *
 * Creates the segment (or re-attaches to the one a crashed dtcd left,
 * after validating it), then every tick:
 *   - reclaims the slot of every participant whose process died (pid and
 *     start time, so pid reuse cannot fool it), failing its unanswered
 *     requests so their coordinators stop waiting;
 *   - adopts every transaction whose coordinator died, or stalled past its
 *     deadline, or left it ACTIVE/PREPARED longer than the orphan
 *     timeout, and finishes it on a thread of its own with the same state
 *     machine a coordinator runs (txn.c): rolled back before the commit
 *     decision, committed after it;
 *   - frees the finished slots of dead coordinators.
 * On stop (SIGTERM) it refuses new begins, gives in-flight transactions
 * shutdown_grace_ms to finish, rolls back the rest, removes the segment.
 * Decisions still open (COMMITTING, compensating, HEURISTIC) live on in
 * the decision log: the next dtcd replays them (recover.c) before it
 * accepts a begin, and keeps the log's spare file and retention.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <limits.h>

#include "dlog.h"
#include "txn.h"

#define STALL_GRACE_NS (2LL * 1000000000) /* past a phase deadline */
#define LIVENESS_CACHE 128

struct sup {
    dtc_instance *in;
    const dtc_supervisor_config *cfg;
    _Atomic uint8_t *adopting; /* per txn slot: a finisher thread runs */
    _Atomic int threads;
    struct seen { pid_t pid; uint64_t start; bool alive; } cache[LIVENESS_CACHE];
    int ncache;
    int64_t watchdog_ns, next_watchdog, next_status; /* tell_manager */
};

/* A supervisor whose finishers were still running when it returned
 * (stuck on a slot that never answers, dtcd exits right after): theirs
 * to use until the process ends, so neither freed under them nor lost. */
static struct sup *left_to_finishers;

struct finisher {
    struct sup *s;
    uint32_t idx, gen;
    uint64_t token;
};

void dtc_supervisor_config_default(dtc_supervisor_config *c)
{
    memset(c, 0, sizeof *c);
    dtc_limits_default(&c->limits);
    c->log_file_mb = DTC_DLOG_FILE_MB;
    c->log_files = DTC_DLOG_FILES;
    c->tick_ms = 50;
    c->shutdown_grace_ms = 3000;
    c->orphan_timeout_ms = 30000;
    c->ready_fd = -1;
}

/* Liveness with a per-tick cache: one /proc read per distinct process. */
static bool alive(struct sup *s, pid_t pid, uint64_t start)
{
    for (int i = 0; i < s->ncache; i++)
        if (s->cache[i].pid == pid && s->cache[i].start == start)
            return s->cache[i].alive;
    bool a = dtc__proc_alive(pid, start);
    if (s->ncache < LIVENESS_CACHE)
        s->cache[s->ncache++] = (struct seen){pid, start, a};
    return a;
}

static void *finish_thread(void *arg)
{
    struct finisher *f = arg;
    struct sup *s = f->s;
    struct dtc_txn_slot *ts = dtc__txn(s->in, f->idx);
    struct txn_ref r = {s->in, ts, f->idx, f->gen, f->token, 0, true};
    if (dtc__txn_lock(s->in, ts) == DTC_OK) {
        dtc_result rc = DTC_OK;
        if (ts->ts_gen == f->gen && ts->ts_driver == f->token) {
            dtc__fault("sup.mid_finish");
            dtc_txid id;
            memcpy(id.bytes, ts->ts_txid, 16);
            rc = dtc__txn_drive(&r, DTC_TXN_ABORTED, DTC_EABORTED);
            /* !r.locked: the slot was quarantined under us and the lock
             * is no longer held; leave the slot alone. */
            dtc_log(r.locked ? DTC_LOG_INFO : DTC_LOG_ERROR, "finished", &id, NULL,
                    "by=dtcd state=%s result=%s",
                    r.locked ? dtc_txn_state_name(ts->ts_state) : "QUARANTINED",
                    dtc_result_name(rc));
            if (r.locked && ts->ts_gen == f->gen && ts->ts_driver == f->token) {
                ts->ts_driver = 0;
                if (!dtc__proc_alive(ts->ts_owner_pid, ts->ts_owner_start))
                    dtc__txn_release(&r); /* nobody left to tell */
            }
        }
        if (r.locked)
            dtc__txn_unlock(&r);
    }
    atomic_store(&s->adopting[f->idx], 0);
    atomic_fetch_sub(&s->threads, 1);
    free(f);
    return NULL;
}

/* With ts_lock held: takes the slot over and starts a finisher. */
static void adopt(struct sup *s, uint32_t idx, struct dtc_txn_slot *ts, bool owner_dead,
                  const char *why)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock) && idx < s->in->max_txns);
    struct finisher *f = malloc(sizeof *f);
    if (f == NULL)
        return;
    *f = (struct finisher){s, idx, ts->ts_gen, dtc__new_token(s->in)};
    /* Re-initialize the condvar (a dead waiter may haunt it: the dead
     * coordinator, or a dtcd killed while finishing it) unless the live
     * owner is itself inside a call, stalled, and may be waiting on it. */
    bool owner_waiting = !owner_dead && ts->ts_driver != 0
                         && (pid_t)(ts->ts_driver >> 32) == ts->ts_owner_pid;
    if (!owner_waiting)
        dtc__wake_renew(s->in, &ts->ts_wake, &ts->ts_cond);
    ts->ts_driver = f->token;
    ts->ts_flags |= DTC_TS_ADOPTED;
    ts->ts_adopt_why = dtc__adopt_why_code(why);
    dtc_txid id;
    memcpy(id.bytes, ts->ts_txid, 16);
    dtc_log(DTC_LOG_WARN, "adopt", &id, NULL, "slot=%u state=%s why=%s owner=%d", idx,
            dtc_txn_state_name(ts->ts_state), why, (int)ts->ts_owner_pid);
    atomic_store(&s->adopting[idx], 1);
    atomic_fetch_add(&s->threads, 1);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, finish_thread, f) != 0) {
        ts->ts_driver = 0;
        atomic_store(&s->adopting[idx], 0);
        atomic_fetch_sub(&s->threads, 1);
        free(f);
    }
    pthread_attr_destroy(&a);
}

/* With ts_lock held: why this slot needs dtcd, or NULL. */
static const char *needs_adoption(struct sup *s, struct dtc_txn_slot *ts, bool owner_dead,
                                  bool stopping, int64_t now)
{
    DTC_ASSERT(dtc__lock_held(&ts->ts_lock));
    uint32_t st = ts->ts_state;
    bool terminal = st == DTC_TXN_COMMITTED || st == DTC_TXN_ABORTED || st == DTC_TXN_HEURISTIC;
    if (terminal || (ts->ts_flags & DTC_TS_QUARANTINED))
        return NULL;
    if (owner_dead)
        return "coordinator_died";
    if (stopping)
        return "shutdown";
    /* the segment's times are compared, never subtracted: a scribbled
     * one (INT64_MIN, INT64_MAX) must not overflow */
    if (ts->ts_driver == 0 && (st == DTC_TXN_ACTIVE || st == DTC_TXN_PREPARED)
        && ts->ts_touch_ns < now - (int64_t)s->cfg->orphan_timeout_ms * 1000000)
        return "orphan_timeout";
    if (ts->ts_driver != 0 && ts->ts_deadline_ns != 0 && now - STALL_GRACE_NS > ts->ts_deadline_ns)
        return "coordinator_stalled";
    return NULL;
}

static void check_txn(struct sup *s, uint32_t idx, bool stopping, int64_t now)
{
    struct dtc_txn_slot *ts = dtc__txn(s->in, idx);
    if (ts->ts_state == DTC_TXN_FREE)
        return;
    /* dtc__txn_lock validates (and quarantines a scribbled slot), also
     * the slots our own finishers drive: they find out at their next
     * re-lock. */
    if (dtc__txn_lock(s->in, ts) != DTC_OK)
        return;
    if (ts->ts_state != DTC_TXN_FREE && !atomic_load(&s->adopting[idx])) {
        bool dead = !alive(s, ts->ts_owner_pid, ts->ts_owner_start);
        const char *why = needs_adoption(s, ts, dead, stopping, now);
        struct txn_ref r = {s->in, ts, idx, ts->ts_gen, 0, 0, true};
        /* the owner's own token: its driver died with it */
        bool driver_gone = ts->ts_driver == 0 || (pid_t)(ts->ts_driver >> 32) == ts->ts_owner_pid;
        if (why != NULL)
            adopt(s, idx, ts, dead, why);
        else if (dead && driver_gone)
            dtc__txn_end_orphan(&r); /* finished, owner gone (maybe before END): free it */
    }
    dtc__unlock(&ts->ts_lock);
}

static void check_participant(struct sup *s, uint32_t idx)
{
    struct dtc_part_slot *ps = dtc__part(s->in, idx);
    if (ps->ps_state == DTC_PS_FREE || dtc__part_lock(s->in, ps) != DTC_OK)
        return;
    bool sound = dtc__part_repair(s->in, ps) == 0; /* quarantines garbage */
    bool live = sound && ps->ps_state == DTC_PS_LIVE;
    uint32_t gen = ps->ps_gen;
    pid_t pid = ps->ps_pid;
    uint64_t start = ps->ps_start;
    dtc__unlock(&ps->ps_lock);
    if (live && !alive(s, pid, start))
        dtc__part_reclaim(s->in, idx, gen, "process_died");
}

static void tick(struct sup *s, bool stopping)
{
    dtc__dlog_maintain(s->in);
    int64_t now = dtc__now_ns();
    s->ncache = 0;
    for (uint32_t i = 0; i < s->in->max_participants; i++)
        check_participant(s, i);
    for (uint32_t i = 0; i < s->in->max_txns; i++)
        check_txn(s, i, stopping, now);
}

/* The service manager (notify.c): a STATUS line every 5 s, and its
 * watchdog fed at half the period it asked for. */
static void tell_manager(struct sup *s)
{
    int64_t now = dtc__now_ns();
    if (s->watchdog_ns > 0 && now >= s->next_watchdog) {
        dtc__notify("WATCHDOG=1");
        s->next_watchdog = now + s->watchdog_ns / 2;
    }
    dtc_status st;
    if (now < s->next_status || !dtc__notify_on() || dtc_get_status(s->in, &st) != DTC_OK)
        return;
    char msg[192];
    snprintf(msg, sizeof msg, "STATUS=supervising %s: %u in flight, %llu committed, %llu aborted",
             s->in->name, st.txns_in_use, (unsigned long long)st.counters.committed,
             (unsigned long long)st.counters.aborted);
    dtc__notify(msg);
    s->next_status = now + 5000000000LL;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* The decision log's directory: the option, $DTC_DATA_DIR, or the
 * default for this user; made absolute and checked (dlog_file.c). */
static dtc_result dlog_dir(const dtc_supervisor_config *cfg, const char *name, char *out)
{
    char buf[DTC_DATA_DIR_MAX];
    const char *dir = cfg->data_dir ? cfg->data_dir : getenv("DTC_DATA_DIR");
    const char *home = getenv("HOME"), *xdg = getenv("XDG_STATE_HOME");
    int n;
    if (dir != NULL && dir[0] != '\0')
        n = snprintf(buf, sizeof buf, "%s", dir);
    else if (geteuid() == 0)
        n = snprintf(buf, sizeof buf, "/var/lib/dtc/%s", name);
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(buf, sizeof buf, "%s/dtc/%s", xdg, name);
    else
        n = snprintf(buf, sizeof buf, "%s/.local/state/dtc/%s", home ? home : "/nonexistent", name);
    if (n < 0 || (size_t)n >= sizeof buf)
        return DTC_ETOOBIG;
    dtc_result rc = dtc__dlog_dir_prepare(buf, cfg->group_access != 0);
    if (rc == DTC_OK && realpath(buf, out) == NULL)
        rc = DTC_ELOG;
    if (rc == DTC_OK && strlen(out) >= DTC_DATA_DIR_MAX - 32)
        rc = DTC_ETOOBIG;
    return rc;
}

/* What a new segment announces of the log: its directory and sizes (the
 * size the existing files have, else the configured one, at least what
 * a full checkpoint needs). */
static dtc_result dlog_config(const dtc_supervisor_config *cfg, const char *name,
                              struct dtc__dlog_cfg *dl)
{
    char dir[PATH_MAX];
    memset(dl, 0, sizeof *dl);
    if (cfg->no_decision_log)
        return DTC_OK;
    dtc_result rc = dlog_dir(cfg, name, dir);
    if (rc != DTC_OK)
        return rc;
    dtc__strcopy(dl->dir, dir, sizeof dl->dir);
    uint64_t mb = cfg->log_file_mb ? cfg->log_file_mb : DTC_DLOG_FILE_MB;
    uint64_t size = mb << 20, min = dtc__dlog_min_file_size(cfg->limits.max_txns);
    size = size < min ? min : size > DTC_DLOG_MAX_FILE ? DTC_DLOG_MAX_FILE : size;
    uint32_t existing = dtc__dlog_existing_size(dir);
    dl->file_size = existing ? existing : (uint32_t)size;
    dl->files = cfg->log_files ? cfg->log_files : DTC_DLOG_FILES;
    if (dl->files < DTC_DLOG_MIN_FILES)
        dl->files = DTC_DLOG_MIN_FILES;
    if (dl->files > DTC_DLOG_MAX_FILES)
        dl->files = DTC_DLOG_MAX_FILES;
    if (dl->file_size < min) {
        dtc_log(DTC_LOG_ERROR, "dlog_config", NULL, NULL,
                "error=\"existing log files are too small\" file_bytes=%u max_txns=%u", dl->file_size,
                cfg->limits.max_txns);
        return DTC_ELOG;
    }
    return DTC_OK;
}

/* Creates the segment, or takes over the one a dead dtcd left. */
static dtc_result attach(const dtc_supervisor_config *cfg, const char *name, dtc_instance **in)
{
    struct dtc__dlog_cfg dl;
    dtc_result rc = dlog_config(cfg, name, &dl);
    if (rc != DTC_OK)
        return rc;
    rc = dtc__segment_create(name, &cfg->limits, cfg->group_access, &dl, in);
    if (rc == DTC_OK)
        atomic_store(&(*in)->hdr->sh_journal_max_files,
                     cfg->journal_max_files ? cfg->journal_max_files : DTC_JOURNAL_MAX_FILES);
    if (rc != DTC_EEXIST)
        return rc;
    if ((rc = dtc_open(name, in)) != DTC_OK) {
        dtc_log(DTC_LOG_ERROR, "attach_refused", NULL, NULL, "instance=%s result=%s", name,
                dtc_result_name(rc));
        return rc;
    }
    struct dtc_shm_header *h = (*in)->hdr;
    if (dtc__proc_alive(h->sh_sup_pid, h->sh_sup_start) && h->sh_sup_pid != getpid()) {
        dtc_log(DTC_LOG_ERROR, "already_running", NULL, NULL, "instance=%s pid=%d", name,
                (int)h->sh_sup_pid);
        dtc_close(in);
        return DTC_EEXIST;
    }
    atomic_store(&(*in)->hdr->sh_journal_max_files,
                 cfg->journal_max_files ? cfg->journal_max_files : DTC_JOURNAL_MAX_FILES);
    dtc_log(DTC_LOG_WARN, "reattach", NULL, NULL, "instance=%s previous_pid=%d", name,
            (int)h->sh_sup_pid);
    return DTC_OK;
}

static dtc_result claim_supervisor(dtc_instance *in)
{
    struct dtc_shm_header *h = in->hdr;
    dtc_result rc = dtc__lock(in, &h->sh_sup_lock, NULL, NULL);
    if (rc != DTC_OK)
        return rc;
    if (dtc__proc_alive(h->sh_sup_pid, h->sh_sup_start) && h->sh_sup_pid != in->pid)
        rc = DTC_EEXIST; /* lost a race with another dtcd */
    else {
        h->sh_sup_pid = in->pid;
        h->sh_sup_start = in->start_time;
        atomic_store(&h->sh_shutdown, 0);
    }
    dtc__unlock(&h->sh_sup_lock);
    return rc;
}

static void announce(const dtc_supervisor_config *cfg, dtc_instance *in)
{
    dtc_limits big = {DTC_LIMIT_MAX_TXNS, DTC_LIMIT_MAX_PARTS_PER_TXN, DTC_LIMIT_MAX_PARTICIPANTS};
    dtc_log(DTC_LOG_INFO, "start", NULL, NULL,
            "instance=%s size=%zu max_txns=%u max_parts=%u max_participants=%u "
            "largest_limits_size=%zu",
            in->name, in->size, in->max_txns, in->max_parts, in->max_participants,
            dtc_segment_size(&big));
    if (cfg->ready_fd >= 0) {
        dprintf(cfg->ready_fd, "ready instance=%s size=%zu\n", in->name, in->size);
    }
    char msg[160];
    snprintf(msg, sizeof msg, "READY=1\nMAINPID=%d\nSTATUS=supervising %s", (int)getpid(),
             in->name);
    dtc__notify(msg); /* after recovery: begins are accepted from here on */
}

/* Stop: no new begins, a grace period, then everything left is finished. */
static void shutdown_instance(struct sup *s)
{
    atomic_store(&s->in->hdr->sh_shutdown, DTC_SHUT_DRAINING);
    dtc__notify("STOPPING=1\nSTATUS=stopping: finishing in-flight transactions");
    dtc_log(DTC_LOG_INFO, "shutdown", NULL, NULL, "grace_ms=%u", s->cfg->shutdown_grace_ms);
    int64_t until = dtc__now_ns() + (int64_t)s->cfg->shutdown_grace_ms * 1000000;
    bool busy = true;
    for (int round = 0; busy && round < 10000; round++) {
        bool past = dtc__now_ns() >= until;
        tick(s, past);
        busy = atomic_load(&s->threads) > 0;
        for (uint32_t i = 0; !busy && i < s->in->max_txns; i++) {
            /* unlocked peek; a quarantined slot waits for an operator,
             * like a HEURISTIC one: it never finishes by waiting */
            const struct dtc_txn_slot *ts = dtc__txn(s->in, i);
            uint32_t st = ts->ts_state;
            busy = st != DTC_TXN_FREE && st != DTC_TXN_HEURISTIC
                   && !(ts->ts_flags & DTC_TS_QUARANTINED);
        }
        if (busy)
            sleep_ms(s->cfg->tick_ms);
        if (past && dtc__now_ns() >= until + 4 * (int64_t)s->cfg->shutdown_grace_ms * 1000000)
            break; /* bounded: a participant that never answers */
    }
}

/* dtcd --salvage: the log of an instance no dtcd runs for. */
static dtc_result salvage(const dtc_supervisor_config *cfg, const char *name)
{
    char dir[PATH_MAX];
    dtc_instance *in = NULL;
    if (dtc_open(name, &in) == DTC_OK) {
        bool running = dtc__proc_alive(in->hdr->sh_sup_pid, in->hdr->sh_sup_start);
        pid_t pid = in->hdr->sh_sup_pid;
        dtc_close(&in);
        if (running) {
            dtc_log(DTC_LOG_ERROR, "already_running", NULL, NULL,
                    "instance=%s pid=%d error=\"stop dtcd before --salvage\"", name, (int)pid);
            return DTC_EEXIST;
        }
    }
    dtc_result rc = dlog_dir(cfg, name, dir);
    return rc == DTC_OK ? dtc__dlog_salvage(dir, name, cfg->group_access != 0, cfg->salvage == 2)
                        : rc;
}

dtc_result dtc_supervisor_run(const dtc_supervisor_config *cfg, volatile sig_atomic_t *stop)
{
    char name[DTC_INSTANCE_MAX];
    dtc_instance *in = NULL;
    dtc_result rc = dtc_resolve_instance(cfg->instance, name);
    if (rc == DTC_OK && cfg->salvage)
        return cfg->no_decision_log ? DTC_EINVAL : salvage(cfg, name);
    if (rc == DTC_OK)
        rc = attach(cfg, name, &in);
    if (rc == DTC_OK && (rc = claim_supervisor(in)) != DTC_OK)
        dtc_close(&in);
    if (rc != DTC_OK)
        return rc;
    if (dtc__dlog_on(in) && atomic_load(&in->hdr->sh_recovering))
        dtc__notify("STATUS=recovering: replaying the decision log");
    if (dtc__dlog_on(in) && atomic_load(&in->hdr->sh_recovering)
        && (rc = dtc__dlog_recover(in)) != DTC_OK) {
        in->hdr->sh_sup_pid = 0; /* the segment stays, recovering: nothing presumed */
        dtc_close(&in);
        return rc;
    }
    struct sup *s = calloc(1, sizeof *s); /* finishers may outlive this call */
    if (s != NULL)
        *s = (struct sup){.in = in, .cfg = cfg, .watchdog_ns = dtc__notify_watchdog_ns()};
    if (s == NULL || (s->adopting = calloc(in->max_txns, sizeof *s->adopting)) == NULL) {
        free(s);
        dtc_close(&in);
        return DTC_ESYS;
    }
    announce(cfg, in);
    while (!*stop) {
        tick(s, false);
        tell_manager(s);
        sleep_ms(cfg->tick_ms ? cfg->tick_ms : 50);
    }
    shutdown_instance(s);
    for (int i = 0; i < 200 && atomic_load(&s->threads) > 0; i++)
        sleep_ms(10);
    if (dtc__dlog_on(in))
        dtc__dlog_mark(in, true);
    dtc_status st;
    dtc_get_status(in, &st);
    dtc_log(DTC_LOG_INFO, "stop", NULL, NULL, "left_in_use=%u committed=%llu aborted=%llu",
            st.txns_in_use, (unsigned long long)st.counters.committed,
            (unsigned long long)st.counters.aborted);
    in->hdr->sh_sup_pid = 0;
    atomic_store(&in->hdr->sh_shutdown, DTC_SHUT_GONE);
    dtc__segment_unlink(name);
    if (atomic_load(&s->threads) == 0) {
        free(s->adopting);
        free(s);
        dtc_close(&in);
    } else {
        left_to_finishers = s; /* still theirs: kept, and reachable */
    }
    return DTC_OK;
}
