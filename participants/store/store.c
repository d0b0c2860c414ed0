/*
 * store.c - the store's record and transaction model: optimistic reads at
 * enlist, checks and holds at prepare, apply at commit, release or
 * compensation at rollback, and the payload-parsing helpers services use.
 * Every state change is logged (store__append) before memory changes.
 * Lines are buffered until store_flush, which the service calls before
 * any answer of the batch is visible: a failed write or fsync fails the
 * whole batch and stops the service, whose restart reloads the file as
 * it was.  See store.h.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- validation and parsing helpers ------------------------------------ */

static int key_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
}

static int valid_chars(const char *s, size_t max, int colon)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (n >= max || !key_char((unsigned char)s[n]) || (!colon && s[n] == ':'))
            return 0;
    return n > 0;
}

int store__valid_txid(const char *s)
{
    return valid_chars(s, STORE_TXID_MAX - 1, 0);
}

int store__valid_key(const char *s)
{
    return valid_chars(s, STORE_KEY_MAX - 1, 1);
}

int store__valid_note(const char *s)
{
    return s[0] == '\0' || valid_chars(s, STORE_NOTE_MAX - 1, 1);
}

int store_check_key(const char *prefix, const char *s, const char *what,
                    char *out, size_t outsize, char *why, size_t len)
{
    size_t plen = strlen(prefix), max = outsize - 1 - plen;
    if (!valid_chars(s, max, 1)) {
        snprintf(why, len, "malformed payload: bad %s '%.40s' (want [A-Za-z0-9._:-]{1,%zu})",
                 what, s, max);
        return -1;
    }
    memcpy(out, prefix, plen); // NOLINT(bugprone-not-null-terminated-result): store__copy terminates
    store__copy(out + plen, outsize - plen, s);
    return 0;
}

int store_parse_amount(const char *s, const char *what, int allow_zero,
                       int64_t *out, char *why, size_t len)
{
    char *end;
    if (!isdigit((unsigned char)s[0])) {
        snprintf(why, len, "malformed payload: %s is not a non-negative integer: '%.40s'", what, s);
        return -1;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0') {
        snprintf(why, len, "malformed payload: %s is not a non-negative integer: '%.40s'", what, s);
        return -1;
    }
    if (errno == ERANGE || v > STORE_AMOUNT_MAX) {
        snprintf(why, len, "malformed payload: %s overflows (max %lld): '%.40s'", what,
                 (long long)STORE_AMOUNT_MAX, s);
        return -1;
    }
    if (v == 0 && !allow_zero) {
        snprintf(why, len, "malformed payload: %s must be > 0", what);
        return -1;
    }
    *out = v;
    return 0;
}

int store_split(const char *payload, char *buf, size_t buflen, char **fields,
                int maxfields, int *nfields, char *why, size_t len)
{
    size_t n = strlen(payload);
    if (n >= buflen) {
        snprintf(why, len, "malformed payload: longer than %zu bytes", buflen - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)payload[i] < 0x20 || (unsigned char)payload[i] > 0x7e) {
            snprintf(why, len, "malformed payload: non-printable byte 0x%02x at offset %zu",
                     (unsigned char)payload[i], i);
            return -1;
        }
    memcpy(buf, payload, n + 1);
    *nfields = 0;
    for (char *save = NULL, *f = strtok_r(buf, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
        if (*nfields == maxfields) {
            snprintf(why, len, "malformed payload: extra fields");
            return -1;
        }
        fields[(*nfields)++] = f;
    }
    if (*nfields == 0) {
        snprintf(why, len, "malformed payload: empty");
        return -1;
    }
    return 0;
}

int store_parse_form(const char *payload, const char *usage, char *buf,
                     size_t buflen, char **fields, char *why, size_t len)
{
    int want = 1, n;
    size_t vlen = strcspn(usage, " ");
    for (const char *p = usage; *p; p++)
        want += *p == ' ';
    if (store_split(payload, buf, buflen, fields, STORE_FIELDS_MAX, &n, why, len) != 0)
        return -1;
    if (strlen(fields[0]) != vlen || strncmp(fields[0], usage, vlen) != 0) {
        snprintf(why, len, "malformed payload: unknown verb '%.20s' (want '%s')", fields[0], usage);
        return -1;
    }
    if (n != want) {
        snprintf(why, len, "malformed payload: %s fields (want '%s')", n < want ? "missing" : "extra",
                 usage);
        return -1;
    }
    return 0;
}

int store_parse_seed(const store_schema *schema, const char *kv, store_op *op,
                     char *why, size_t len)
{
    char buf[STORE_KEY_MAX + 32], inner[STORE_WHY_MAX];
    const char *eq = strchr(kv, '=');
    size_t max = STORE_KEY_MAX - 1 - strlen(schema->ss_seed_prefix);
    if (eq == NULL) {
        snprintf(why, len, "bad seed '%.60s': want KEY=VALUE", kv);
        return -1;
    }
    if ((size_t)(eq - kv) > max) {
        snprintf(why, len, "bad seed '%.60s...': key too long (%zu bytes, at most %zu)", kv,
                 (size_t)(eq - kv), max);
        return -1;
    }
    if (strlen(eq) >= 32) {
        snprintf(why, len, "bad seed '%.60s': value too long (%zu bytes, at most 30 digits)",
                 kv, strlen(eq + 1));
        return -1;
    }
    memcpy(buf, kv, (size_t)(eq - kv));
    buf[eq - kv] = '\0';
    memset(op, 0, sizeof *op);
    op->op_kind = STORE_CREATE;
    if (store_check_key(schema->ss_seed_prefix, buf, "key", op->op_key, sizeof op->op_key,
                        inner, sizeof inner) != 0
        || store_parse_amount(eq + 1, "value", 1, &op->op_value, inner, sizeof inner) != 0) {
        /* the helpers speak of payloads: keep only what is wrong */
        snprintf(why, len, "bad seed '%.60s': %s", kv, inner + strlen("malformed payload: "));
        return -1;
    }
    return 0;
}

/* ---- logging ------------------------------------------------------------- */

int store__append(store *st, char *why, const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (st->st_file.sf_fd < 0 || n < 0 || n >= (int)sizeof line - 1) {
        WHY("cannot log to the state file (read-only or line too long)");
        return -1;
    }
    if (st->st_file.sf_failed) {
        WHY("state file write failed earlier; restart the participant");
        return -1;
    }
    /* journal mode: the record is the durable copy; the file's log
     * section only mirrors it, unsynced (--dump reads it) */
    if (st->st_journal != NULL
        && st->st_journal->sj_append(st->st_journal->sj_ctx, line, (size_t)n) != 0) {
        WHY("journal append failed");
        st->st_file.sf_failed = 1;
        return -1;
    }
    line[n++] = '\n';
    if (store__file_put(&st->st_file, line, (size_t)n, why) != 0)
        return -1;
    st->st_log_lines++;
    return 0;
}

/* ---- records, transactions, ledger ------------------------------------- */

store_rec *store__rec_find(const store *st, const char *key)
{
    return htab_get(&st->st_recs, key);
}

/* The record of key, added absent (version 0) if unknown; NULL on ENOMEM. */
store_rec *store__rec_get(store *st, const char *key)
{
    store_rec *r = store__rec_find(st, key);
    if (r != NULL)
        return r;
    if ((r = calloc(1, sizeof *r)) == NULL)
        return NULL;
    STORE_COPY(r->rc_key, key);
    if (htab_put(&st->st_recs, r->rc_key, r) != 0) {
        free(r);
        return NULL;
    }
    store__snap_add_rec(st, r);
    return r;
}

static uint64_t version_of(const store *st, const char *key)
{
    const store_rec *r = store__rec_find(st, key);
    return r ? r->rc_version : 0;
}

/* A new enlisted txn with the versions its ops read; NULL with why. */
store_txn *store__txn_new(store *st, const char *txid, const char *payload, char *why)
{
    store_txn *tx = calloc(1, sizeof *tx);
    if (tx == NULL) {
        WHY("out of memory");
        return NULL;
    }
    if (st->st_schema->ss_parse(payload, &tx->tx_ops, why, STORE_WHY_MAX) != 0) {
        free(tx);
        return NULL;
    }
    STORE_COPY(tx->tx_id, txid);
    STORE_COPY(tx->tx_payload, payload);
    for (int i = 0; i < tx->tx_ops.so_n; i++)
        tx->tx_ver[i] = version_of(st, tx->tx_ops.so_op[i].op_key);
    if (htab_put(&st->st_txns, tx->tx_id, tx) != 0) {
        free(tx);
        WHY("out of memory");
        return NULL;
    }
    return tx;
}

void store__txn_drop(store *st, store_txn *tx)
{
    for (int i = 0; i < tx->tx_ops.so_n; i++) {
        store_rec *r = store__rec_find(st, tx->tx_ops.so_op[i].op_key);
        if (r != NULL && r->rc_holder == tx->tx_id)
            r->rc_holder = NULL;
    }
    htab_del(&st->st_txns, tx->tx_id);
    free(tx);
}

const store_rec *store__held_by_other(store *st, const store_txn *tx)
{
    for (int i = 0; i < tx->tx_ops.so_n; i++) {
        const store_rec *r = store__rec_find(st, tx->tx_ops.so_op[i].op_key);
        if (r != NULL && r->rc_holder != NULL && r->rc_holder != tx->tx_id)
            return r;
    }
    return NULL;
}

/* Records are created before the "prepared" line is written, so holding
 * cannot fail afterwards. */
static int reserve_recs(store *st, const store_ops *ops, char *why)
{
    for (int i = 0; i < ops->so_n; i++)
        if (store__rec_get(st, ops->so_op[i].op_key) == NULL) {
            WHY("out of memory");
            return -1;
        }
    return 0;
}

void store__hold(store *st, store_txn *tx)
{
    for (int i = 0; i < tx->tx_ops.so_n; i++)
        store__rec_find(st, tx->tx_ops.so_op[i].op_key)->rc_holder = tx->tx_id;
    tx->tx_prepared = 1;
}

/* ---- planning and applying ops ----------------------------------------- */

typedef struct plan {
    int64_t pl_value[STORE_OPS_MAX];
    int pl_present[STORE_OPS_MAX];
} plan;

/* Computes the records' values after ops (sign +1) or their inverse (-1),
 * ops applied in order.  check: enforce the constraints (prepare).
 * 0 ok; 1 refused (why from the schema); -1 error (overflow). */
static int make_plan(const store *st, const store_ops *ops, int sign, int check,
                     plan *pl, char *why)
{
    for (int i = 0; i < ops->so_n; i++) {
        const store_op *op = &ops->so_op[i];
        const store_rec *r = store__rec_find(st, op->op_key);
        int64_t have = r && r->rc_present ? r->rc_value : 0;
        int present = r && r->rc_present;
        for (int j = 0; j < i; j++)
            if (strcmp(ops->so_op[j].op_key, op->op_key) == 0) {
                have = pl->pl_value[j];
                present = pl->pl_present[j];
            }
        if (op->op_kind == STORE_ADD) {
            int64_t delta = sign > 0 ? op->op_value : -op->op_value;
            if (__builtin_add_overflow(have, delta, &pl->pl_value[i])) {
                WHY("value of %s would overflow", op->op_key);
                return -1;
            }
            pl->pl_present[i] = 1;
            if (check && ((op->op_must_exist && !present) || pl->pl_value[i] < 0))
                goto refuse;
        } else {
            if (check && sign > 0 && present)
                goto refuse;
            pl->pl_value[i] = sign > 0 ? op->op_value : 0;
            pl->pl_present[i] = sign > 0;
        }
        continue;
    refuse:
        st->st_schema->ss_refuse(op, r && r->rc_present ? r : NULL, why, STORE_WHY_MAX);
        return 1;
    }
    return 0;
}

/* Writes a plan into the records (reserve_recs ran first); each touched
 * record's version +1.  A snapshot under way gets each record's line as
 * it was, first (store_snap.c). */
static void apply_plan(store *st, const store_ops *ops, int sign, const plan *pl)
{
    for (int i = 0; i < ops->so_n; i++) {
        const store_op *op = &ops->so_op[i];
        store_rec *r = store__rec_find(st, op->op_key);
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= strcmp(ops->so_op[j].op_key, op->op_key) != 0;
        store__snap_touch_rec(st, r);
        r->rc_value = pl->pl_value[i];
        r->rc_present = pl->pl_present[i];
        if (op->op_kind == STORE_CREATE)
            STORE_COPY(r->rc_note, sign > 0 ? op->op_note : "");
        r->rc_version += first;
    }
}

/* Commit of a prepared txn: apply, release, enter in the ledger.  log:
 * append "applied" first (live); 0 on replay.  Everything that can fail
 * before the line is written is checked first; an allocation failure
 * after it leaves memory behind the file, so the store fails. */
int store__apply_txn(store *st, store_txn *tx, int log, char *why)
{
    plan pl;
    if (make_plan(st, &tx->tx_ops, +1, 0, &pl, why) != 0
        || reserve_recs(st, &tx->tx_ops, why) != 0
        || (log && store__append(st, why, "applied %s %s", tx->tx_id, tx->tx_payload) != 0))
        return -1;
    if (store__ledger_add(st, tx->tx_id, LED_APPLIED, tx->tx_payload) == NULL) {
        WHY("out of memory");
        st->st_file.sf_failed |= log;
        return -1;
    }
    apply_plan(st, &tx->tx_ops, +1, &pl);
    store__txn_drop(st, tx);
    return 0;
}

/* Rollback of an applied txn: apply the inverse ops, once.  log as above. */
int store__compensate(store *st, store_led *ld, int log, char *why)
{
    store_ops ops;
    plan pl;
    if (st->st_schema->ss_parse(ld->ld_payload, &ops, why, STORE_WHY_MAX) != 0
        || make_plan(st, &ops, -1, 0, &pl, why) != 0
        || reserve_recs(st, &ops, why) != 0
        || (log && store__append(st, why, "compensated %s", ld->ld_id) != 0))
        return -1;
    apply_plan(st, &ops, -1, &pl);
    store__snap_touch_led(st, ld);
    ld->ld_state = LED_COMPENSATED;
    free(ld->ld_payload);
    ld->ld_payload = NULL;
    return 0;
}

int store__seed(store *st, const char *const *seeds, size_t n, char *why)
{
    for (size_t i = 0; i < n; i++) {
        store_op op;
        store_rec *r;
        if (store_parse_seed(st->st_schema, seeds[i], &op, why, STORE_WHY_MAX) != 0)
            return -1;
        if (store__rec_find(st, op.op_key) != NULL) {
            WHY("duplicate seed for %s", op.op_key);
            return -1;
        }
        if ((r = store__rec_get(st, op.op_key)) == NULL) {
            WHY("out of memory");
            return -1;
        }
        r->rc_value = op.op_value;
        r->rc_present = 1;
        r->rc_version = 1;
    }
    return 0;
}

void store__free_all(store *st)
{
    htab *tabs[] = {&st->st_recs, &st->st_txns, &st->st_ledger};
    for (size_t t = 0; t < 3; t++) {
        void *v;
        size_t pos = 0;
        while ((v = htab_next(tabs[t], &pos)) != NULL) {
            if (t == 2)
                free(((store_led *)v)->ld_payload);
            free(v);
        }
        htab_deinit(tabs[t]);
    }
}

/* ---- the four operations ------------------------------------------------ */

static int usable(const store *st, const char *txid, char *why)
{
    if (st->st_file.sf_failed) {
        WHY("state file write failed earlier; restart the participant");
        return 0;
    }
    if (!store__valid_txid(txid)) {
        WHY("bad transaction id");
        return 0;
    }
    return 1;
}

store_vote store_enlist(store *st, const char *txid, const char *payload,
                        size_t len, char *why)
{
    why[0] = '\0';
    if (!usable(st, txid, why))
        return STORE_ERROR;
    if (htab_get(&st->st_ledger, txid) != NULL) {
        WHY("transaction already finished here");
        return STORE_ERROR;
    }
    store_txn *tx = htab_get(&st->st_txns, txid);
    if (tx != NULL) {
        if (strlen(payload) == len && strcmp(tx->tx_payload, payload) == 0)
            return STORE_YES; /* redelivery */
        WHY("already enlisted");
        return STORE_ERROR;
    }
    if (len > STORE_PAYLOAD_MAX) {
        WHY("malformed payload: longer than %d bytes", STORE_PAYLOAD_MAX);
        return STORE_ERROR;
    }
    if (strlen(payload) != len) {
        WHY("malformed payload: NUL byte at offset %zu", strlen(payload));
        return STORE_ERROR;
    }
    return store__txn_new(st, txid, payload, why) ? STORE_YES : STORE_ERROR;
}

store_vote store_prepare(store *st, const char *txid, char *why)
{
    const store_led *ld = htab_get(&st->st_ledger, txid);
    store_txn *tx = htab_get(&st->st_txns, txid);
    const store_rec *r;
    plan pl;
    why[0] = '\0';
    if (!usable(st, txid, why))
        return STORE_ERROR;
    if (ld != NULL && ld->ld_state == LED_APPLIED)
        return STORE_YES;
    if (ld != NULL) {
        WHY("rolled_back: transaction was rolled back (compensated) here");
        return STORE_ERROR;
    }
    if (tx == NULL) {
        WHY("not enlisted");
        return STORE_ERROR;
    }
    if (tx->tx_prepared)
        return STORE_YES;
    for (int i = 0; i < tx->tx_ops.so_n; i++)
        if (version_of(st, tx->tx_ops.so_op[i].op_key) != tx->tx_ver[i]) {
            WHY("conflict: version conflict on %s", tx->tx_ops.so_op[i].op_key);
            return STORE_NO;
        }
    if ((r = store__held_by_other(st, tx)) != NULL) {
        WHY("held: %s is held by another transaction", r->rc_key);
        return STORE_NO;
    }
    if (make_plan(st, &tx->tx_ops, +1, 1, &pl, why) != 0)
        return STORE_NO; /* 1: refused; else overflow: the change cannot be made */
    if (reserve_recs(st, &tx->tx_ops, why) != 0
        || store__append(st, why, "prepared %s %s", txid, tx->tx_payload) != 0)
        return STORE_ERROR;
    store__hold(st, tx);
    return STORE_YES;
}

int store_commit(store *st, const char *txid, store_outcome *out, char *why)
{
    const store_led *ld = htab_get(&st->st_ledger, txid);
    store_txn *tx = htab_get(&st->st_txns, txid);
    why[0] = '\0';
    if (!usable(st, txid, why))
        return -1;
    if (ld != NULL && ld->ld_state == LED_APPLIED) {
        *out = STORE_ALREADY;
        return 0;
    }
    if (ld != NULL) {
        WHY("rolled_back: transaction was rolled back (compensated) here");
        return -1;
    }
    if (tx == NULL || !tx->tx_prepared) {
        WHY("not prepared");
        return -1;
    }
    if (store__apply_txn(st, tx, 1, why) != 0)
        return -1;
    *out = STORE_DONE;
    return 0;
}

int store_rollback(store *st, const char *txid, store_outcome *out, char *why)
{
    store_led *ld = htab_get(&st->st_ledger, txid);
    store_txn *tx = htab_get(&st->st_txns, txid);
    why[0] = '\0';
    if (!usable(st, txid, why))
        return -1;
    if (ld != NULL && ld->ld_state == LED_COMPENSATED) {
        *out = STORE_ALREADY;
        return 0;
    }
    if (ld != NULL) {
        if (store__compensate(st, ld, 1, why) != 0)
            return -1;
        *out = STORE_COMPENSATED;
        return 0;
    }
    *out = STORE_FORGOTTEN;
    if (tx != NULL && tx->tx_prepared) {
        if (store__append(st, why, "released %s", txid) != 0)
            return -1;
        *out = STORE_RELEASED;
    }
    if (tx != NULL)
        store__txn_drop(st, tx);
    return 0;
}

/* ---- introspection ------------------------------------------------------ */

size_t store_prepared_ids(const store *st, char (*ids)[STORE_TXID_MAX], size_t cap)
{
    const store_txn *tx;
    size_t n = 0, pos = 0;
    while ((tx = htab_next(&st->st_txns, &pos)) != NULL)
        if (tx->tx_prepared && n++ < cap)
            STORE_COPY(ids[n - 1], tx->tx_id);
    return n;
}

const store_rec *store_get(const store *st, const char *key)
{
    return store__rec_find(st, key);
}

size_t store_ledger_count(const store *st)
{
    return st->st_ledger.ht_count;
}

int store_ledger_state(const store *st, const char *txid)
{
    const store_led *ld = htab_get(&st->st_ledger, txid);
    return ld ? ld->ld_state : 0;
}

size_t store_log_lines(const store *st)
{
    return st->st_log_lines;
}

int store_failed(const store *st)
{
    return st->st_file.sf_failed;
}

uint64_t store_syncs(const store *st)
{
    return st->st_file.sf_syncs;
}
