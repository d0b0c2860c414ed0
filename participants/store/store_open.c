/*
 * store_open.c - the store as a whole, on top of its layers (store_file.h
 * the file, store_int.h the records, store_compact.h compaction):
 * store_open loads and replays the state file, store_flush is the group
 * commit (and starts compactions), store_close; the settings, a journal
 * record's replay, and the dump.  A new state file is fsynced, renamed
 * into place and its directory fsynced before store_open returns, so
 * nothing is answered from a file a power cut could lose.
 * Crash points (the fault hook, see store_set_fault_hook in store.h):
 * store.after_write, store.after_sync.
 * Format: see store.h.  A torn last line (no newline: a crash mid-append)
 * is cut off with a warning; any other bad line refuses the load with its
 * line number, so state is never silently lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_compact.h"

/* ---- loading ------------------------------------------------------------- */

/* Cuts the next space-separated token off *p (NULL if none). */
static char *token(char **p)
{
    char *t = *p, *sp;
    if (t == NULL || *t == '\0')
        return NULL;
    sp = strchr(t, ' ');
    *p = sp ? sp + 1 : NULL;
    if (sp)
        *sp = '\0';
    return t;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (s == NULL || *s == '\0' || *end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* "rec KEY VALUE VERSION [NOTE]" and "gone KEY VERSION". */
static int load_rec(store *st, char *rest, int present, char *why)
{
    char *key = token(&rest), *val = present ? token(&rest) : "0";
    char *ver = token(&rest), *note = present ? token(&rest) : NULL;
    int64_t v, version;
    store_rec *r;
    if (key == NULL || !store__valid_key(key)
        || parse_i64(val, &v) != 0 || parse_i64(ver, &version) != 0 || version <= 0
        || v < 0 || rest != NULL || (note && !store__valid_note(note))) {
        WHY("bad record line");
        return -1;
    }
    if (store__rec_find(st, key) != NULL) {
        WHY("duplicate record %s", key);
        return -1;
    }
    if ((r = store__rec_get(st, key)) == NULL) {
        WHY("out of memory");
        return -1;
    }
    r->rc_value = v;
    r->rc_present = present;
    r->rc_version = (uint64_t)version;
    STORE_COPY(r->rc_note, note ? note : "");
    return 0;
}

/* "prepared TXID PAYLOAD": a promise; reload it holding its keys. */
static int load_prepared(store *st, const char *txid, const char *payload, char *why)
{
    store_txn *tx;
    const store_rec *r;
    if (htab_get(&st->st_txns, txid) || htab_get(&st->st_ledger, txid)) {
        WHY("transaction %s seen twice", txid);
        return -1;
    }
    if ((tx = store__txn_new(st, txid, payload, why)) == NULL)
        return -1;
    if ((r = store__held_by_other(st, tx)) != NULL) {
        WHY("%s held by two prepared transactions", r->rc_key);
        return -1;
    }
    for (int i = 0; i < tx->tx_ops.so_n; i++)
        if (store__rec_get(st, tx->tx_ops.so_op[i].op_key) == NULL) {
            WHY("out of memory");
            return -1;
        }
    store__hold(st, tx);
    return 0;
}

/* Ledger lines: snapshot entries, or log lines replayed. */
static int load_ledger(store *st, const char *verb, const char *txid,
                       const char *payload, int snapshot, char *why)
{
    store_txn *tx = htab_get(&st->st_txns, txid);
    store_led *ld = htab_get(&st->st_ledger, txid);
    int applied = strcmp(verb, "applied") == 0;
    if (snapshot) {
        store_ops ops;
        if (ld != NULL || tx != NULL) {
            WHY("transaction %s seen twice", txid);
            return -1;
        }
        if (applied && st->st_schema->ss_parse(payload, &ops, why, STORE_WHY_MAX) != 0)
            return -1;
        if (store__ledger_add(st, txid, applied ? LED_APPLIED : LED_COMPENSATED,
                              applied ? payload : NULL) == NULL) {
            WHY("out of memory");
            return -1;
        }
        return 0;
    }
    if (applied) {
        if (tx == NULL || !tx->tx_prepared || payload == NULL
            || strcmp(tx->tx_payload, payload) != 0) {
            WHY("applied %s without a matching prepared line", txid);
            return -1;
        }
        return store__apply_txn(st, tx, 0, why);
    }
    if (ld == NULL || ld->ld_state != LED_APPLIED) {
        WHY("compensated %s that is not applied", txid);
        return -1;
    }
    return store__compensate(st, ld, 0, why);
}

static int load_released(store *st, const char *txid, char *why)
{
    store_txn *tx = htab_get(&st->st_txns, txid);
    if (tx == NULL || !tx->tx_prepared) {
        WHY("released %s that is not prepared", txid);
        return -1;
    }
    store__txn_drop(st, tx);
    return 0;
}

/* One line after the header.  *snapshot is cleared by "checkpoint". */
static int load_line(store *st, char *line, int *snapshot, char *why)
{
    char *rest = line, *verb = token(&rest), *txid;
    int snap = *snapshot;
    if (verb == NULL) {
        WHY("empty line");
        return -1;
    }
    if (strcmp(verb, "checkpoint") == 0 && snap && rest == NULL) {
        *snapshot = 0;
        return 0;
    }
    if (strcmp(verb, "journal") == 0 && snap) {
        int64_t lsn;
        if (rest == NULL || parse_i64(rest, &lsn) != 0 || lsn <= 0) {
            WHY("bad journal line");
            return -1;
        }
        st->st_journal_lsn = (uint64_t)lsn;
        return 0;
    }
    if (snap && (strcmp(verb, "rec") == 0 || strcmp(verb, "gone") == 0))
        return load_rec(st, rest, verb[0] == 'r', why);
    txid = token(&rest);
    if (txid == NULL || !store__valid_txid(txid)) {
        WHY("bad or missing transaction id");
        return -1;
    }
    if (strcmp(verb, "prepared") == 0 && rest != NULL)
        return load_prepared(st, txid, rest, why);
    if (strcmp(verb, "applied") == 0 && rest != NULL)
        return load_ledger(st, verb, txid, rest, snap, why);
    if (strcmp(verb, "compensated") == 0 && rest == NULL)
        return load_ledger(st, verb, txid, NULL, snap, why);
    if (strcmp(verb, "released") == 0 && rest == NULL && !snap)
        return load_released(st, txid, why);
    WHY("unexpected '%.20s' line", verb);
    return -1;
}

/* Replays the whole file; *good receives the length without a torn tail.
 * A snapshot stamped "journal LSN" is followed by an unsynced mirror of
 * journal records: a writer (readonly 0) stops at its checkpoint line
 * and replays the journal instead (svc_journal.c); a reader shows it. */
static int load_file(store *st, char *buf, size_t len, size_t *good, int readonly,
                     store_info *info, char *err, size_t errlen)
{
    char why[STORE_WHY_MAX];
    int snapshot = 1;
    unsigned lineno = 0;
    for (size_t off = 0; off < len; lineno++) {
        char *line = buf + off, *nl = memchr(line, '\n', len - off);
        if (nl == NULL) {
            if (lineno == 0)
                break; /* a torn header is a damaged file */
            info->si_torn_line = lineno + 1;
            break;
        }
        *nl = '\0';
        off = (size_t)(nl - buf) + 1;
        *good = off;
        if (strlen(line) != (size_t)(nl - line)) {
            snprintf(err, errlen, "%s:%u: NUL byte in line", st->st_file.sf_path, lineno + 1);
            return -1;
        }
        if (lineno == 0) {
            if (strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)) != 0
                || strcmp(line + strlen(STATE_MAGIC), st->st_schema->ss_service) != 0) {
                snprintf(err, errlen, "%s:1: not a 'dtc-state 1 %s' file", st->st_file.sf_path,
                         st->st_schema->ss_service);
                return -1;
            }
            continue;
        }
        int was_snapshot = snapshot;
        if (load_line(st, line, &snapshot, why) != 0) {
            snprintf(err, errlen, "%s:%u: %s", st->st_file.sf_path, lineno + 1, why);
            return -1;
        }
        if (was_snapshot && snapshot)
            st->st_snap_lines++;
        else if (!was_snapshot)
            st->st_log_lines++;
        if (was_snapshot && !snapshot && st->st_journal_lsn > 0 && !readonly)
            break; /* the mirror: the journal has the truth */
    }
    if (lineno == 0 || snapshot) {
        snprintf(err, errlen, "%s: %s", st->st_file.sf_path,
                 lineno == 0 ? "empty or torn header" : "no checkpoint line");
        return -1;
    }
    return 0;
}

/* ---- settings and flush -------------------------------------------------- */

void store_set_compact_min(store *st, size_t n)
{
    st->st_compact_min = n;
}

void store_set_compact_factor(store *st, size_t f)
{
    st->st_compact_factor = f >= 1 ? f : 1;
}

void store_set_fault_hook(store *st, void (*fn)(const char *point))
{
    st->st_file.sf_fault = fn;
}

void store_set_journal(store *st, const store_journal *j)
{
    st->st_journal = j;
}

uint64_t store_journal_lsn(const store *st)
{
    return st->st_journal_lsn;
}

int store_replay_line(store *st, const char *line, size_t len, char *why)
{
    char buf[LINE_MAX_LEN];
    int snapshot = 0;
    if (len == 0 || len >= sizeof buf || memchr(line, '\n', len) != NULL
        || memchr(line, '\0', len) != NULL) {
        WHY("bad journal record (%zu bytes)", len);
        return -1;
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    return load_line(st, buf, &snapshot, why);
}

int store_flush(store *st, char *why)
{
    store_file *f = &st->st_file;
    why[0] = '\0';
    if (f->sf_failed) {
        WHY("state file write failed earlier; restart the participant");
        return -1;
    }
    if (store__file_drain(f, why) != 0)
        return -1;
    int dirty = f->sf_dirty;
    if (dirty)
        FAULT(f, "store.after_write");
    /* a background compaction that ended: its file, the tail (this batch
     * included) appended, becomes the state file (synced too in own-file
     * mode; on the journal its stamp then becomes the checkpoint); or one
     * starts (store_bg.c). */
    int switched = store__bg_step(st, why);
    if (switched < 0)
        return -1;
    if (dirty) {
        /* journal mode: the mirror is never synced, the journal is */
        if (!switched && st->st_journal == NULL && store__file_sync(f, why) != 0)
            return -1;
        f->sf_dirty = 0;
        FAULT(f, "store.after_sync");
    }
    return 0; /* a failed compaction leaves a warning in why */
}

int store_idle(store *st, char *why)
{
    why[0] = '\0';
    if (st->st_file.sf_failed) {
        WHY("state file write failed earlier; restart the participant");
        return -1;
    }
    return store__bg_idle(st, why);
}

/* ---- open / close -------------------------------------------------------- */

/* Loads an existing file; a torn tail is cut off unless read-only. */
static int open_existing(store *st, char *buf, size_t len, int flags,
                         store_info *info, char *err, size_t errlen)
{
    size_t good = 0;
    if (load_file(st, buf, len, &good, flags & STORE_READONLY, info, err, errlen) != 0)
        return -1;
    if (flags & STORE_READONLY)
        return 0;
    return store__file_open_append(&st->st_file, good, len, err, errlen);
}

/* No file yet: seeds become the first snapshot. */
static int create_new(store *st, const char *const *seeds, size_t nseeds,
                      char *err, size_t errlen)
{
    char why[STORE_WHY_MAX];
    if (store__seed(st, seeds, nseeds, why) != 0 || store_compact(st, why) != 0) {
        snprintf(err, errlen, "%s: %s", st->st_file.sf_path, why);
        return -1;
    }
    return 0;
}

store *store_open(const char *dir, const char *name, const store_schema *schema,
                  const char *const *seeds, size_t nseeds, int flags,
                  store_info *info, char *err, size_t errlen)
{
    store *st = calloc(1, sizeof *st);
    store_info dummy = {0};
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;
    info = info ? info : &dummy;
    memset(info, 0, sizeof *info);
    snprintf(err, errlen, "out of memory");
    if (st == NULL)
        return NULL;
    st->st_schema = schema;
    st->st_compact_min = STORE_COMPACT_MIN_DEFAULT;
    st->st_compact_factor = STORE_COMPACT_FACTOR;
    htab_init(&st->st_recs);
    htab_init(&st->st_txns);
    htab_init(&st->st_ledger);
    store_file *f = &st->st_file;
    if (store__file_init(f, dir, name, flags) != 0)
        goto out;
    if (!(flags & STORE_READONLY) && store__file_lock(f, name, err, errlen) != 0)
        goto out;
    if (!(flags & STORE_READONLY))
        unlink(f->sf_old); /* a replaced file's name, left by a crash */
    buf = store__file_read(f, &len, err, errlen);
    if (buf != NULL) {
        info->si_seeds_ignored = nseeds > 0;
        rc = open_existing(st, buf, len, flags, info, err, errlen);
    } else if (errno != ENOENT) {
        /* err says what is wrong */
    } else if (flags & STORE_READONLY) {
        snprintf(err, errlen, "%s: no state file", f->sf_path);
    } else {
        info->si_created = 1;
        rc = create_new(st, seeds, nseeds, err, errlen);
    }
out:
    free(buf);
    if (rc != 0) {
        f->sf_failed = 1;
        store_close(&st);
        return NULL;
    }
    info->si_prepared = (unsigned)st->st_txns.ht_count;
    info->si_records = st->st_recs.ht_count;
    info->si_ledger = st->st_ledger.ht_count;
    return st;
}

int store_close(store **stp)
{
    store *st = *stp;
    char why[STORE_WHY_MAX];
    int rc = 0;
    if (st == NULL)
        return 0;
    if (!st->st_file.sf_failed && st->st_file.sf_fd >= 0)
        rc = store_flush(st, why);
    if (!st->st_file.sf_failed && store__bg_finish(st, why) != 0)
        rc = -1;
    store__bg_abandon(st); /* failed: the old file is the state */
    store__file_close(&st->st_file);
    store__free_all(st);
    free(st);
    *stp = NULL;
    return rc;
}

/* ---- dump ----------------------------------------------------------------- */

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const store_rec *const *)a)->rc_key,
                  (*(const store_rec *const *)b)->rc_key);
}

void store_dump(const store *st, FILE *out)
{
    /* an array of pointers: sizeof *v is a pointer's size, as meant */
    const store_rec **v = calloc(st->st_recs.ht_count + 1, sizeof *v); // NOLINT(bugprone-sizeof-expression)
    const store_rec *r;
    size_t n = 0, pos = 0;
    while (v != NULL && (r = htab_next(&st->st_recs, &pos)) != NULL)
        if (r->rc_present)
            v[n++] = r;
    if (n > 1)
        qsort(v, n, sizeof *v, by_key); // NOLINT(bugprone-sizeof-expression): pointers sorted
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s %" PRId64 " %" PRIu64 "%s%s\n", v[i]->rc_key, v[i]->rc_value,
                v[i]->rc_version, v[i]->rc_note[0] ? " " : "", v[i]->rc_note);
    fprintf(out, "ledger %zu\n", store_ledger_count(st));
    free(v);
}
