/*
 * store_snap.c - the store's snapshot: the state of one moment written as
 * the lines of a state file's snapshot section, a piece at a time while
 * the store goes on changing, with no copy of the store and no fork.
 *
 * The moment is the snapshot's start.  Every record and ledger entry
 * carries an epoch mark (rc_snap, ld_snap): the epoch of the last
 * snapshot that wrote it, or that saw it made.  The walk goes down the
 * store's lists of all records and all ledger entries (oldest first) and
 * writes each item not yet marked; store.c and store_ledger.c call
 * store__snap_touch_* before they change an item or drop it, which
 * writes the item's line first, as it was at the start (unchanged since,
 * or it would be marked).  Ledger entries added after the start are
 * marked when added; records are made absent, which writes nothing; and
 * the walk stops at the last item of the start.  So the snapshot holds each item of the start once, as it was
 * then, whatever the order of its lines: the copy-on-write a fork gave,
 * item by item.  The prepared transactions of the start (a few: bounded
 * by the transactions in flight) are copied at the start and written
 * last, after every record they hold (the loader wants the records
 * first: store_open.c).
 *
 * A snapshot written whole at once (store_compact.c) is the same walk
 * with no change in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

/* ---- the writer ---------------------------------------------------------- */

static void sw_drain(snap_writer *w)
{
    size_t off = 0;
    while (w->sw_errno == 0 && off < w->sw_len) {
        ssize_t n = write(w->sw_fd, w->sw_buf + off, w->sw_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->sw_errno = n < 0 ? errno : EIO;
        else
            off += (size_t)n;
    }
    w->sw_written += off;
    w->sw_len = 0;
    if (w->sw_push && w->sw_errno == 0 && w->sw_written - w->sw_pushed >= SNAP_PUSH) {
        /* start the writeback, wait for nothing: the service goes on */
        if (sync_file_range(w->sw_fd, (off_t)w->sw_pushed, (off_t)(w->sw_written - w->sw_pushed),
                            SYNC_FILE_RANGE_WRITE) != 0)
            w->sw_errno = errno;
        w->sw_pushed = w->sw_written;
    }
}

__attribute__((format(printf, 2, 3)))
static void sw_printf(snap_writer *w, const char *fmt, ...)
{
    char line[LINE_MAX_LEN + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line) {
        if (w->sw_errno == 0)
            w->sw_errno = EOVERFLOW;
        return;
    }
    if (w->sw_len + (size_t)n > sizeof w->sw_buf)
        sw_drain(w);
    memcpy(w->sw_buf + w->sw_len, line, (size_t)n);
    w->sw_len += (size_t)n;
}

/* ---- one item's line ------------------------------------------------------ */

static void put_rec(store_snap *sn, const store_rec *r)
{
    if (r->rc_present)
        sw_printf(&sn->sn_w, "rec %s %" PRId64 " %" PRIu64 "%s%s\n", r->rc_key, r->rc_value,
                  r->rc_version, r->rc_note[0] ? " " : "", r->rc_note);
    else if (r->rc_version > 0)
        sw_printf(&sn->sn_w, "gone %s %" PRIu64 "\n", r->rc_key, r->rc_version);
    else
        return; /* never existed: only held, or made for a hold */
    sn->sn_items++;
}

static void put_led(store_snap *sn, const store_led *ld)
{
    if (ld->ld_state == LED_APPLIED)
        sw_printf(&sn->sn_w, "applied %s %s\n", ld->ld_id, ld->ld_payload);
    else
        sw_printf(&sn->sn_w, "compensated %s\n", ld->ld_id);
    sn->sn_items++;
}

void store__snap_touch_rec(store *st, store_rec *r)
{
    if (st->st_snap == NULL || r->rc_snap == st->st_snap_epoch)
        return;
    r->rc_snap = st->st_snap_epoch;
    put_rec(st->st_snap, r);
}

void store__snap_touch_led(store *st, store_led *ld)
{
    if (st->st_snap == NULL || ld->ld_snap == st->st_snap_epoch)
        return;
    ld->ld_snap = st->st_snap_epoch;
    put_led(st->st_snap, ld);
}

/* ---- the lists of all items ---------------------------------------------- */

void store__snap_add_rec(store *st, store_rec *r)
{
    /* No mark: a record is made absent (version 0), which no snapshot
     * writes, and its first change marks it before changing it.  The
     * walk stops before it anyway (sn_rec_end). */
    r->rc_next = NULL;
    if (st->st_rec_tail != NULL)
        st->st_rec_tail->rc_next = r;
    else
        st->st_rec_head = r;
    st->st_rec_tail = r;
}

void store__snap_add_led(store *st, store_led *ld)
{
    ld->ld_snap = st->st_snap != NULL ? st->st_snap_epoch : 0;
    ld->ld_all_next = NULL;
    ld->ld_all_prev = st->st_led_tail;
    if (st->st_led_tail != NULL)
        st->st_led_tail->ld_all_next = ld;
    else
        st->st_led_head = ld;
    st->st_led_tail = ld;
}

void store__snap_drop_led(store *st, store_led *ld)
{
    store__snap_touch_led(st, ld);
    if (st->st_snap != NULL && st->st_snap->sn_led == ld)
        st->st_snap->sn_led = ld->ld_all_next; /* the walk goes on past it */
    if (ld->ld_all_prev != NULL)
        ld->ld_all_prev->ld_all_next = ld->ld_all_next;
    else
        st->st_led_head = ld->ld_all_next;
    if (ld->ld_all_next != NULL)
        ld->ld_all_next->ld_all_prev = ld->ld_all_prev;
    else
        st->st_led_tail = ld->ld_all_prev;
    ld->ld_all_prev = ld->ld_all_next = NULL;
}

/* ---- a snapshot ------------------------------------------------------------ */

/* A new epoch: no item carries it (after 2^32 snapshots the marks are
 * cleared, so that an old mark never passes for the new epoch). */
static void new_epoch(store *st)
{
    if (++st->st_snap_epoch != 0)
        return;
    for (store_rec *r = st->st_rec_head; r != NULL; r = r->rc_next)
        r->rc_snap = 0;
    for (store_led *ld = st->st_led_head; ld != NULL; ld = ld->ld_all_next)
        ld->ld_snap = 0;
    st->st_snap_epoch = 1;
}

/* Copies the prepared transactions' lines into sn_prep. */
static void copy_prepared(const store *st, store_snap *sn)
{
    const store_txn *tx;
    size_t pos = 0, cap = 0;
    while ((tx = htab_next(&st->st_txns, &pos)) != NULL) {
        if (!tx->tx_prepared)
            continue;
        size_t need = sn->sn_prep_len + STORE_TXID_MAX + strlen(tx->tx_payload) + 16;
        if (need > cap) {
            cap = need * 2;
            char *p = realloc(sn->sn_prep, cap);
            if (p == NULL) {
                sn->sn_w.sw_errno = ENOMEM;
                return;
            }
            sn->sn_prep = p;
        }
        int n = snprintf(sn->sn_prep + sn->sn_prep_len, cap - sn->sn_prep_len,
                         "prepared %s %s\n", tx->tx_id, tx->tx_payload);
        sn->sn_prep_len += (size_t)n;
        sn->sn_prep_n++;
    }
}

void store__snap_begin(store *st, store_snap *sn, int fd, bool push, uint64_t lsn)
{
    memset(sn, 0, sizeof *sn);
    sn->sn_w.sw_fd = fd;
    sn->sn_w.sw_push = push;
    sn->sn_lsn = lsn;
    new_epoch(st);
    sn->sn_rec = st->st_rec_head;
    sn->sn_rec_end = st->st_rec_tail;
    sn->sn_led = st->st_led_head;
    sn->sn_led_seq = st->st_led_seq;
    sw_printf(&sn->sn_w, "%s%s\n", STATE_MAGIC, st->st_schema->ss_service);
    copy_prepared(st, sn);
    st->st_snap = sn;
}

bool store__snap_step(store *st, size_t budget)
{
    store_snap *sn = st->st_snap;
    for (; budget > 0 && sn->sn_rec != NULL; budget--) {
        store_rec *r = sn->sn_rec;
        sn->sn_rec = r == sn->sn_rec_end ? NULL : r->rc_next;
        store__snap_touch_rec(st, r);
    }
    for (; budget > 0 && sn->sn_led != NULL; budget--) {
        store_led *ld = sn->sn_led;
        if (ld->ld_seq > sn->sn_led_seq) {
            sn->sn_led = NULL; /* added after the start: so are all after it */
            break;
        }
        sn->sn_led = ld->ld_all_next;
        store__snap_touch_led(st, ld);
    }
    return sn->sn_rec == NULL && sn->sn_led == NULL;
}

size_t store__snap_end(store *st)
{
    store_snap *sn = st->st_snap;
    store__snap_step(st, SIZE_MAX);
    for (size_t off = 0; off < sn->sn_prep_len;) { /* line by line: each fits */
        const char *nl = memchr(sn->sn_prep + off, '\n', sn->sn_prep_len - off);
        size_t n = (size_t)(nl - (sn->sn_prep + off)) + 1;
        sw_printf(&sn->sn_w, "%.*s", (int)n, sn->sn_prep + off);
        off += n;
    }
    sn->sn_items += sn->sn_prep_n;
    if (sn->sn_lsn > 0)
        sw_printf(&sn->sn_w, "journal %" PRIu64 "\n", sn->sn_lsn);
    sw_printf(&sn->sn_w, "checkpoint\n");
    sw_drain(&sn->sn_w);
    store__snap_abandon(st);
    return sn->sn_items;
}

void store__snap_abandon(store *st)
{
    store_snap *sn = st->st_snap;
    if (sn == NULL)
        return;
    free(sn->sn_prep);
    sn->sn_prep = NULL;
    sn->sn_prep_len = sn->sn_prep_n = 0;
    st->st_snap = NULL;
}
