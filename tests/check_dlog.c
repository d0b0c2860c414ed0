/*
 * check_dlog.c - unit tests of the decision log (src/libdtc/dlog*.c,
 * src/libdtc/recover.c, salvage.c): record encoding and CRC32C, the rule
 * that tells a torn tail (kept aside, wiped, the log goes on) from damage
 * (refused, nothing changed), identity (control file, file headers),
 * files of the wrong type, size or format, a never-used last file, the
 * salvage step, the file switch with its checkpoint and the pruning of
 * old files, replay of the live set into a fresh segment, and the
 * outcome lookup.
 * Each test gets its own segment and temp directory (CK_FORK).
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlog.h"

static char inst_name[DTC_INSTANCE_MAX];
static char dir[256];
static dtc_instance *inst;

/* A fresh segment of instance `name` whose log lives in dir, not yet
 * replayed. */
static dtc_instance *create_seg(const char *name, uint32_t max_txns)
{
    dtc_limits l;
    dtc_instance *in = NULL;
    struct dtc__dlog_cfg dl = {.files = DTC_DLOG_MIN_FILES};
    dtc_limits_default(&l);
    l.max_txns = max_txns;
    dl.file_size = dtc__dlog_min_file_size(max_txns);
    dtc__strcopy(dl.dir, dir, sizeof dl.dir);
    ck_assert_int_eq(dtc__segment_create(name, &l, 0, &dl, &in), DTC_OK);
    ck_assert_int_eq(atomic_load(&in->hdr->sh_recovering), 1);
    return in;
}

/* A fresh segment whose log lives in dir, recovered (empty log). */
static dtc_instance *open_log(uint32_t max_txns)
{
    static int counter;
    snprintf(inst_name, sizeof inst_name, "dlog-%d-%d", (int)getpid(), counter++);
    dtc_instance *in = create_seg(inst_name, max_txns);
    ck_assert_int_eq(dtc__dlog_recover(in), DTC_OK);
    ck_assert_int_eq(atomic_load(&in->hdr->sh_recovering), 0);
    return in;
}

/* As after a reboot: the segment is gone, the files stay. */
static void reboot(void)
{
    uint32_t max = inst->max_txns;
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    inst = create_seg(inst_name, max);
    ck_assert_int_eq(dtc__dlog_recover(inst), DTC_OK);
}

static int slot_state(unsigned char tag);

/* A checksum of every entry of dir: names, types, sizes, contents. */
static uint64_t dir_sum(void)
{
    DIR *d = opendir(dir);
    uint64_t sum = 0;
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[600];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ck_assert_int_eq(lstat(path, &st), 0);
        uint64_t h = dtc__crc32c(0, e->d_name, strlen(e->d_name)) * 1000003ull
                     + (uint64_t)st.st_mode * 31 + (uint64_t)st.st_size;
        int fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY) : -1;
        static unsigned char buf[1 << 16];
        for (ssize_t n; fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0;)
            h = h * 7 + dtc__crc32c((uint32_t)h, buf, (size_t)n);
        if (fd >= 0)
            close(fd);
        sum += h; /* order-free */
    }
    closedir(d);
    return sum;
}

/* As after a reboot, but the replay must refuse, changing no byte. */
static void reboot_refused(void)
{
    uint32_t max = inst->max_txns;
    uint64_t before = dir_sum();
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    inst = create_seg(inst_name, max);
    ck_assert_int_eq(dtc__dlog_recover(inst), DTC_ELOG);
    ck_assert_int_eq(atomic_load(&inst->hdr->sh_recovering), 1); /* nothing presumed */
    ck_assert_msg(dir_sum() == before, "a refused replay changed the directory");
}

/* The newest log file's number (also while a replay is refused). */
static uint64_t newest(void)
{
    uint64_t *v, no = 0;
    long n = dtc__dlog_list(dir, &v);
    if (n > 0)
        no = v[n - 1];
    free(v);
    return no;
}

/* Writes n bytes at offset off of the current log file. */
static void poke(uint64_t off, const void *b, size_t n)
{
    if (inst != NULL) /* what the buffer holds reaches the file first */
        ck_assert_int_eq(dtc__dlog_write_out(inst), DTC_OK);
    int fd = dtc__dlog_open(dir, newest(), O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* XORs one byte at offset off of the current log file. */
static void flip(uint64_t off)
{
    unsigned char c;
    int fd = dtc__dlog_open(dir, newest(), O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

/* The offset of an LSN in the current file. */
static uint64_t off_of(uint64_t lsn)
{
    return lsn - newest() * inst->dlog_file_size;
}

/* How many entries of dir have this in their name. */
static int files_named(const char *part)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_dlog.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    inst = open_log(8);
}

static void teardown(void)
{
    char cmd[300];
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void rec_init(struct dtc__dlog_rec *r, uint8_t type, unsigned char tag, uint32_t n)
{
    memset(r, 0, sizeof *r);
    r->type = type;
    r->state = type == DTC_DLOG_END ? DTC_TXN_COMMITTED : DTC_TXN_COMMITTING;
    memset(r->txid.bytes, tag, 16);
    r->commit_ms = 5000;
    r->nentries = n;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(r->entries[i].name, DTC_NAME_MAX, "part-%u", i);
        r->entries[i].status = DTC_ENTRY_YES;
        r->entries[i].vote = DTC_ENTRY_YES;
        snprintf(r->entries[i].reason, DTC_REASON_MAX, "reason %u", i);
    }
}

static uint64_t append(const struct dtc__dlog_rec *r)
{
    uint64_t end;
    ck_assert_int_eq(dtc__dlog_append(inst, r, &end), DTC_OK);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    return end;
}

START_TEST(encode_roundtrip)
{
    static unsigned char buf[DTC_DLOG_REC_MAX];
    struct dtc__dlog_rec r, d;
    rec_init(&r, DTC_DLOG_COMMIT, 7, DTC_LIMIT_MAX_PARTS_PER_TXN);
    memset(r.entries[3].reason, 'x', DTC_REASON_MAX - 1); /* longest reason */
    r.entries[3].reason[DTC_REASON_MAX - 1] = '\0';
    size_t len = dtc__dlog_encode(&r, 4096, 2048, buf);
    ck_assert_uint_eq(len % 8, 0);
    ck_assert_uint_le(len, DTC_DLOG_REC_MAX);
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4096, &d), len);
    ck_assert_uint_eq(d.type, DTC_DLOG_COMMIT);
    ck_assert_uint_eq(d.synced, 2048);
    ck_assert_mem_eq(d.txid.bytes, r.txid.bytes, 16);
    ck_assert_uint_eq(d.nentries, r.nentries);
    for (uint32_t i = 0; i < r.nentries; i++) {
        ck_assert_str_eq(d.entries[i].name, r.entries[i].name);
        ck_assert_str_eq(d.entries[i].reason, r.entries[i].reason);
    }
    ck_assert_uint_eq(dtc__dlog_decode(buf, len, 4104, &d), 0);    /* stale LSN */
    ck_assert_uint_eq(dtc__dlog_decode(buf, len - 8, 4096, &d), 0); /* cut short */
    for (size_t k = 4; k < len; k += 37) { /* any flipped byte is caught */
        buf[k] ^= 0x40;
        ck_assert_msg(dtc__dlog_decode(buf, len, 4096, &d) == 0, "flip at %zu", k);
        buf[k] ^= 0x40;
    }
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(dtc__dlog_decode(buf, sizeof buf, 4096, &d), 0); /* zeros: the end */
}
END_TEST

START_TEST(crc32c_known_value)
{
    /* RFC 3720's test vector: 32 bytes of zeros. */
    unsigned char zeros[32] = {0};
    ck_assert_uint_eq(dtc__crc32c(0, zeros, sizeof zeros), 0x8a9136aau);
    ck_assert_uint_eq(dtc__crc32c(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(dtc__crc32c_table(0, "123456789", 9), 0xe3069283u);
}
END_TEST

/* The CPU's crc32 instruction (when used) gives the table's CRC32C for
 * every length, alignment and running value (8-byte steps, then bytes). */
START_TEST(crc32c_instruction_equals_table)
{
    static unsigned char buf[4200];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 80; len++)
            ck_assert_uint_eq(dtc__crc32c(len * 31u, buf + off, len),
                              dtc__crc32c_table(len * 31u, buf + off, len));
    ck_assert_uint_eq(dtc__crc32c(7, buf + 3, 4100), dtc__crc32c_table(7, buf + 3, 4100));
    /* a running CRC over two pieces is the CRC of both */
    ck_assert_uint_eq(dtc__crc32c(dtc__crc32c(0, buf, 13), buf + 13, 1000),
                      dtc__crc32c_table(0, buf, 1013));
}
END_TEST

struct seen {
    int n, commits, ends;
    uint64_t last_lsn;
};

static int count(void *ctx, const struct dtc__dlog_rec *r);

/* Scans dir (quietly): its result, *o filled, records counted into *s. */
static dtc_result scan(struct seen *s, struct dtc__dlog_scan_out *o)
{
    if (inst != NULL) /* the files hold what the buffer does */
        ck_assert_int_eq(dtc__dlog_write_out(inst), DTC_OK);
    return dtc__dlog_scan(dir, NULL, count, s, true, o);
}

static int count(void *ctx, const struct dtc__dlog_rec *r)
{
    struct seen *s = ctx;
    ck_assert_uint_gt(r->lsn, s->last_lsn); /* in order */
    s->last_lsn = r->lsn;
    s->n++;
    s->commits += r->type == DTC_DLOG_COMMIT;
    s->ends += r->type == DTC_DLOG_END;
    return 0;
}

START_TEST(scan_in_order)
{
    struct dtc__dlog_rec r;
    for (int i = 0; i < 50; i++) {
        rec_init(&r, i % 2 ? DTC_DLOG_END : DTC_DLOG_COMMIT, (unsigned char)(i / 2 + 1), 3);
        append(&r);
    }
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, 50);
    ck_assert_int_eq(s.commits, 25);
    ck_assert_uint_eq(o.end, inst->hdr->sh_dlog_end);
    ck_assert_uint_eq(o.torn_from, 0);
    ck_assert_uint_ge(atomic_load(&inst->hdr->sh_dlog_durable), o.end);
}
END_TEST

/* A record past the last one whose write was torn (no sync covered it:
 * its header names its place, its body is junk): the scan ends before
 * it, recovery keeps a copy of it aside, wipes it, and the log goes on
 * from there.  Junk that is not shaped like a record of the file (no
 * place of its own) can never be read as one: not a torn tail. */
START_TEST(torn_tail_kept_aside_and_wiped)
{
    struct dtc__dlog_rec r;
    uint64_t e2;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t first = append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 2, 2);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &e2), DTC_OK); /* written, not synced */
    unsigned char junk[24];
    memset(junk, 0xa5, sizeof junk);
    poke(off_of(e2) + 64, junk, sizeof junk); /* past record 2: no place of its own */
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_uint_eq(o.end, e2);
    ck_assert_uint_eq(o.torn_from, 0);
    poke(off_of(first) + 24, junk, sizeof junk); /* record 2's body torn */
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_uint_eq(o.end, first);
    ck_assert_uint_eq(o.torn_from, first);
    ck_assert_uint_eq(o.torn_to, e2);
    reboot(); /* recovery keeps the bytes aside, wipes from `first` on */
    ck_assert_uint_eq(inst->hdr->sh_dlog_end, first);
    ck_assert_int_eq(files_named(".torn-"), 1);
    int fd = dtc__dlog_open(dir, inst->hdr->sh_dlog_fileno, O_RDONLY);
    unsigned char back[64];
    ck_assert_int_eq(pread(fd, back, sizeof back, (off_t)off_of(first)), 64);
    close(fd);
    for (size_t k = 0; k < sizeof back; k++)
        ck_assert_uint_eq(back[k], 0);
    rec_init(&r, DTC_DLOG_END, 1, 2);
    append(&r);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.ends, 1);
}
END_TEST

/* One flipped byte anywhere in a record a later record knows was synced
 * (its header or body) is damage: the scan names it, recovery refuses and
 * changes nothing; the live decision after it is not lost. */
START_TEST(damage_below_durable_refused)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t e1 = append(&r);
    rec_init(&r, DTC_DLOG_END, 1, 2);
    uint64_t e2 = append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 2, 2);
    append(&r);
    static const unsigned at[] = {0, 4, 8, 16, 24, 64, 70, 72, 90};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        struct seen s = {0};
        struct dtc__dlog_scan_out o;
        flip(off_of(e1) + at[k]);
        ck_assert_msg(scan(&s, &o) == DTC_ELOG, "flip at +%u not refused", at[k]);
        ck_assert(o.damaged && o.fixable);
        ck_assert_uint_eq(o.dmg_off, off_of(e1));
        ck_assert_uint_eq(o.next_ok, off_of(e2));
        ck_assert_ptr_nonnull(strstr(o.what, "durable"));
        if (k == 3)
            reboot_refused();
        flip(off_of(e1) + at[k]);
    }
    reboot(); /* undamaged again: replayed */
    ck_assert_int_eq(slot_state(2), DTC_TXN_HEURISTIC);
}
END_TEST

/* The newest records are covered by dtcd's MARK: before it, a flipped
 * last record cannot be told from a torn write (a torn tail); after it,
 * it is damage. */
START_TEST(mark_covers_the_newest_records)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t e1 = append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 2, 2);
    append(&r);
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    flip(off_of(e1) + 80);
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_uint_eq(o.torn_from, e1);
    flip(off_of(e1) + 80);
    uint64_t before = inst->hdr->sh_dlog_end;
    dtc__dlog_mark(inst, true);
    ck_assert_uint_gt(inst->hdr->sh_dlog_end, before);
    dtc__dlog_mark(inst, true); /* nothing new durable: no second mark */
    uint64_t after = inst->hdr->sh_dlog_end;
    dtc__dlog_mark(inst, true);
    ck_assert_uint_eq(inst->hdr->sh_dlog_end, after);
    flip(off_of(e1) + 80);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(scan(&s, &o), DTC_ELOG);
    reboot_refused();
}
END_TEST

/* A power cut in the middle of a sync: the pages of the unsynced records
 * reach the disk in any order, so a record may be missing (zeros) while
 * a later one made it.  Nothing after the hole was acknowledged (their
 * `synced` says so): a torn tail, recovered, not refused. */
START_TEST(power_cut_hole_is_torn)
{
    struct dtc__dlog_rec r;
    uint64_t e2, e3;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t e1 = append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 2, 2);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &e2), DTC_OK); /* written, not synced */
    rec_init(&r, DTC_DLOG_COMMIT, 3, 2);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &e3), DTC_OK);
    static const unsigned char zeros[DTC_DLOG_REC_MAX];
    poke(off_of(e1), zeros, e2 - e1); /* record 2's page never arrived */
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_uint_eq(o.end, e1);
    ck_assert_uint_eq(o.torn_to, e3);
    reboot();
    ck_assert_int_eq(slot_state(1), DTC_TXN_COMMITTING);
    ck_assert_int_eq(slot_state(3), -1); /* never acknowledged */
    ck_assert_int_eq(files_named(".torn-"), 1);
}
END_TEST

/* Identity: a file of another log, a control file of another instance,
 * a missing control file and a format 1 file are refused, unchanged. */
START_TEST(identity_refused)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_HEURISTIC, 1, 2);
    append(&r);
    unsigned char hdr[DTC_DLOG_FILE_HDR], orig[DTC_DLOG_FILE_HDR];
    struct dtc__dlog_id other = {.instance = "other"};
    memset(other.log_id, 0x42, 16);
    int fd = dtc__dlog_open(dir, inst->hdr->sh_dlog_fileno, O_RDONLY);
    ck_assert_int_eq(pread(fd, orig, sizeof orig, 0), (ssize_t)sizeof orig);
    close(fd);
    dtc__dlog_file_header(hdr, inst->hdr->sh_dlog_fileno, inst->dlog_file_size, &other, 0);
    poke(0, hdr, sizeof hdr);
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    struct dtc__dlog_id mine;
    ck_assert_int_eq(dtc__dlog_control_read(dir, &mine), DTC_OK);
    ck_assert_int_eq(dtc__dlog_scan(dir, &mine, count, &s, true, &o), DTC_ELOG);
    ck_assert_ptr_nonnull(strstr(o.what, "42424242"));
    ck_assert_ptr_nonnull(strstr(o.what, inst_name));
    reboot_refused();
    poke(0, orig, sizeof orig);
    /* format 1 */
    memcpy(hdr, orig, sizeof hdr);
    hdr[12] = 1;
    poke(0, hdr, sizeof hdr);
    ck_assert_int_eq(scan(&s, &o), DTC_ELOG);
    ck_assert_ptr_nonnull(strstr(o.what, "format 1"));
    reboot_refused();
    poke(0, orig, sizeof orig);
    /* the same log dir under another instance name */
    uint64_t before = dir_sum();
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    char other_name[DTC_INSTANCE_MAX + 4];
    snprintf(other_name, sizeof other_name, "%.40sx", inst_name);
    dtc_instance *o2 = create_seg(other_name, 8);
    ck_assert_int_eq(dtc__dlog_recover(o2), DTC_ELOG);
    dtc_close(&o2);
    dtc__segment_unlink(other_name);
    ck_assert(dir_sum() == before);
    inst = create_seg(inst_name, 8);
    ck_assert_int_eq(dtc__dlog_recover(inst), DTC_OK);
    ck_assert_int_eq(slot_state(1), DTC_TXN_HEURISTIC);
    /* no control file */
    char ctl[300], aside[300];
    snprintf(ctl, sizeof ctl, "%s/dlog.control", dir);
    snprintf(aside, sizeof aside, "%s/control.aside", dir);
    ck_assert_int_eq(rename(ctl, aside), 0);
    reboot_refused();
    ck_assert_int_eq(rename(aside, ctl), 0);
    reboot();
    ck_assert_int_eq(slot_state(1), DTC_TXN_HEURISTIC);
}
END_TEST

/* The current file replaced by a FIFO (never blocks), a directory, a
 * symlink, an empty or truncated copy, or a longer one: refused, the
 * thing left where it is. */
START_TEST(bad_files_refused)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_HEURISTIC, 1, 2);
    append(&r);
    char path[300], aside[300], cmd[1400];
    dtc__dlog_path(dir, inst->hdr->sh_dlog_fileno, path, sizeof path);
    snprintf(aside, sizeof aside, "%s/keep", dir);
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(rename(path, aside), 0);
        if (k == 0)
            ck_assert_int_eq(mkfifo(path, 0600), 0);
        else if (k == 1)
            ck_assert_int_eq(mkdir(path, 0700), 0);
        else if (k == 2)
            ck_assert_int_eq(symlink(aside, path), 0);
        else {
            const char *sz[] = {"0", "1000", "+2097152"};
            snprintf(cmd, sizeof cmd, "cp '%s' '%s' && truncate -s %s '%s'", aside, path,
                     k == 3 ? sz[0] : k == 4 ? sz[1] : sz[2], path);
            ck_assert_int_eq(system(cmd), 0);
        }
        reboot_refused();
        ck_assert_int_eq(k == 1 ? rmdir(path) : unlink(path), 0);
        ck_assert_int_eq(rename(aside, path), 0);
    }
    reboot();
    ck_assert_int_eq(slot_state(1), DTC_TXN_HEURISTIC);
}
END_TEST

/* A file renamed in whose header never reached the disk (all zero) is
 * provably unused: taken as the current file, nothing deleted. */
START_TEST(unused_last_file_taken_over)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_HEURISTIC, 1, 2);
    append(&r);
    uint64_t no = inst->hdr->sh_dlog_fileno;
    char path[300], cmd[700];
    dtc__dlog_path(dir, no + 1, path, sizeof path);
    snprintf(cmd, sizeof cmd, "truncate -s %u '%s' && chmod 600 '%s'", inst->dlog_file_size, path,
             path);
    ck_assert_int_eq(system(cmd), 0);
    reboot();
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no + 1);
    ck_assert_int_eq(slot_state(1), DTC_TXN_HEURISTIC);
    ck_assert_int_eq(access(path, F_OK), 0);
    rec_init(&r, DTC_DLOG_END, 1, 2);
    append(&r);
    reboot();
    ck_assert_int_eq(slot_state(1), -1);
}
END_TEST

/* dtcd --salvage: reports and changes nothing; =apply keeps a copy,
 * covers the damaged record, keeps every record after it. */
START_TEST(salvage_reports_then_repairs)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t e1 = append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 2, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 3, 2);
    append(&r);
    dtc__dlog_mark(inst, true);
    flip(off_of(e1) + 100); /* record 2's body */
    reboot_refused();
    uint64_t before = dir_sum();
    ck_assert_int_eq(dtc__dlog_salvage(dir, inst_name, false, false), DTC_ELOG);
    ck_assert(dir_sum() == before);
    ck_assert_int_eq(dtc__dlog_salvage(dir, "someone-else", false, true), DTC_ELOG);
    ck_assert(dir_sum() == before);
    ck_assert_int_eq(dtc__dlog_salvage(dir, inst_name, false, true), DTC_OK);
    ck_assert_int_eq(files_named(".damaged-"), 1);
    ck_assert_int_eq(dtc__dlog_salvage(dir, inst_name, false, false), DTC_OK); /* sound now */
    reboot();
    ck_assert_int_eq(slot_state(1), DTC_TXN_COMMITTING);
    ck_assert_int_eq(slot_state(2), -1); /* the damaged record: reported lost */
    ck_assert_int_eq(slot_state(3), DTC_TXN_HEURISTIC);
}
END_TEST

/* Puts slot i in `state` with one entry, as a coordinator would. */
static void fake_slot(uint32_t i, uint32_t state, unsigned char tag)
{
    struct dtc_txn_slot *ts = dtc__txn(inst, i);
    ts->ts_gen++;
    memset(ts->ts_txid, tag, 16);
    ts->ts_nentries = 1;
    memset(&ts->ts_entries[0], 0, sizeof ts->ts_entries[0]);
    snprintf(ts->ts_entries[0].te_name, DTC_NAME_MAX, "payment");
    ts->ts_entries[0].te_vote = DTC_ENTRY_YES;
    ts->ts_commit_ms = 5000;
    ts->ts_state = state;
}

/* Fills files until the log has moved `files` files on. */
static void fill_files(int files)
{
    struct dtc__dlog_rec r;
    uint64_t start = inst->hdr->sh_dlog_fileno;
    rec_init(&r, DTC_DLOG_END, 0x77, 1);
    for (long i = 0; inst->hdr->sh_dlog_fileno < start + (uint64_t)files; i++) {
        uint64_t end;
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
        ck_assert_int_lt(i, 10000000);
    }
}

/* The log buffer (dlog.c): a record copied in is in no file until someone
 * writes the buffer out; a scribbled record in the buffer is never
 * written (its CRC is checked first): the write-out and the flush fail,
 * the log's error is set, and the file keeps only what came before. */
START_TEST(buffer_scribble_never_written)
{
    struct dtc__dlog_rec r;
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t e1 = append(&r), e2;
    rec_init(&r, DTC_DLOG_COMMIT, 2, 2);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &e2), DTC_OK);
    ck_assert_uint_eq(atomic_load(&inst->hdr->sh_dlog_filed), e1); /* copied, not filed */
    ck_assert_int_eq(dtc__dlog_scan(dir, NULL, count, &s, true, &o), DTC_OK);
    ck_assert_int_eq(s.n, 1);
    inst->hdr->sh_dlog_buf[(e1 + 40) % DTC_DLOG_BUF] ^= 0x10; /* record 2's txid */
    ck_assert_int_eq(dtc__dlog_write_out(inst), DTC_ELOG);
    ck_assert_int_eq(dtc__dlog_flush(inst, e2), DTC_ELOG);
    ck_assert_uint_eq(atomic_load(&inst->hdr->sh_dlog_filed), e1);
    ck_assert_uint_ne(atomic_load(&inst->hdr->sh_dlog_error), 0);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(dtc__dlog_scan(dir, NULL, count, &s, true, &o), DTC_OK);
    ck_assert_int_eq(s.n, 1); /* nothing of the scribbled record on disk */
    ck_assert_uint_eq(o.end, e1);
    ck_assert_uint_eq(o.torn_to, 0);
}
END_TEST

/* More records than the buffer holds, each of a different size: the
 * buffer wraps, a writer that finds no room writes it out itself, and
 * the file holds every record, in order, once a reader drained it. */
START_TEST(buffer_wraps_and_makes_room)
{
    struct dtc__dlog_rec r;
    uint64_t first = inst->hdr->sh_dlog_end, end = first, n = 0;
    while (end - first < 3ull * DTC_DLOG_BUF) {
        rec_init(&r, DTC_DLOG_END, (unsigned char)n, 1 + (uint32_t)(n % 7));
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
        n++;
        uint64_t filed = atomic_load(&inst->hdr->sh_dlog_filed);
        ck_assert_uint_le(end - filed, DTC_DLOG_BUF); /* never more than it holds */
    }
    ck_assert_uint_gt(atomic_load(&inst->hdr->sh_dlog_filed), first); /* room was made */
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK); /* scan() writes the rest out first */
    ck_assert_uint_eq(s.n, n);
    ck_assert_uint_eq(o.end, end);
}
END_TEST

/* Journal records of exact lengths fill the current file to its last
 * byte; the next record switches files (the buffer holds nothing the
 * file lacks: nothing to write out, not an error), and every record is
 * read back. */
START_TEST(file_filled_to_its_last_byte)
{
    static unsigned char data[DTC_JOURNAL_REC_MAX];
    struct dtc__dlog_rec r;
    memset(&r, 0, sizeof r);
    r.type = DTC_DLOG_JDONE;
    r.nentries = 1;
    snprintf(r.entries[0].name, DTC_NAME_MAX, "filler");
    r.data = data;
    struct dtc_shm_header *h = inst->hdr;
    uint64_t no = h->sh_dlog_fileno, file_end = (no + 1) * inst->dlog_file_size, end;
    size_t maxlen = dtc__dlog_journal_len("filler", DTC_JOURNAL_REC_MAX);
    size_t minlen = dtc__dlog_journal_len("filler", 0);
    int n = 0;
    while (h->sh_dlog_end < file_end) {
        uint64_t left = file_end - h->sh_dlog_end;
        size_t want = left >= maxlen + minlen || left == maxlen ? maxlen
                      : left <= maxlen                        ? (size_t)left
                                                              : (size_t)left - minlen;
        uint32_t d = want > minlen + 8 ? (uint32_t)(want - minlen - 8) : 0;
        while (dtc__dlog_journal_len("filler", d) < want)
            d++;
        ck_assert_uint_eq(dtc__dlog_journal_len("filler", d), want);
        r.data_len = d;
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
        n++;
    }
    ck_assert_uint_eq(h->sh_dlog_end, file_end); /* to its last byte */
    ck_assert_uint_eq(h->sh_dlog_fileno, no);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    rec_init(&r, DTC_DLOG_COMMIT, 7, 2);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK); /* the switch */
    ck_assert_uint_eq(h->sh_dlog_fileno, no + 1);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, n + 1);
    ck_assert_uint_eq(o.end, end);
}
END_TEST

START_TEST(switch_copies_live_and_prunes)
{
    struct dtc__dlog_rec r;
    fake_slot(0, DTC_TXN_COMMITTING, 0x11);
    rec_init(&r, DTC_DLOG_COMMIT, 0x11, 1);
    append(&r); /* its decision, in the first file */
    fake_slot(1, DTC_TXN_HEURISTIC, 0x22);
    fill_files(5);
    uint64_t *v;
    long before = dtc__dlog_list(dir, &v);
    free(v);
    dtc__dlog_maintain(inst); /* a tick takes DTC_DLOG_PRUNE_TICK files out */
    long n = dtc__dlog_list(dir, &v);
    free(v);
    ck_assert_int_eq(n, before - (long)DTC_DLOG_PRUNE_TICK);
    dtc__dlog_maintain(inst); /* the next: all but the last 3 */
    n = dtc__dlog_list(dir, &v);
    ck_assert_int_eq(n, DTC_DLOG_MIN_FILES);
    ck_assert_uint_eq(v[n - 1], inst->hdr->sh_dlog_fileno);
    free(v);
    char spare[300];
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    ck_assert_int_eq(access(spare, F_OK), 0); /* the next file is ready */
    /* the first file is gone, yet both decisions survive a reboot */
    reboot();
    int committing = 0, heuristic = 0;
    for (uint32_t i = 0; i < inst->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(inst, i);
        committing += ts->ts_state == DTC_TXN_COMMITTING && ts->ts_txid[0] == 0x11;
        heuristic += ts->ts_state == DTC_TXN_HEURISTIC && ts->ts_txid[0] == 0x22;
        if (ts->ts_state != DTC_TXN_FREE) {
            ck_assert(ts->ts_flags & DTC_TS_RECOVERED);
            ck_assert_str_eq(ts->ts_entries[0].te_name, "payment");
        }
    }
    ck_assert_int_eq(committing, 1);
    ck_assert_int_eq(heuristic, 1);
}
END_TEST

/* dtcd's spare is made a step at a time: each step zero-fills no more
 * than its budget of DIR/dlog.spare.tmp, the last one syncs and renames
 * it to dlog.spare; a job dropped halfway leaves no temp file.  (Made at
 * once, a 16 MiB spare's writeback held the log's group commits for 4-9
 * ms.) */
START_TEST(spare_made_in_steps)
{
    enum { SIZE = 10u << 20, STEP = 4u << 20 };
    char tmp[300], spare[300];
    struct stat st;
    snprintf(tmp, sizeof tmp, "%s/dlog.spare.tmp", dir);
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    remove(spare);
    struct dtc__spare_job job = {.sj_fd = -1};
    for (uint64_t want = STEP; want < SIZE; want += STEP) {
        ck_assert_int_eq(dtc__dlog_spare_step(dir, SIZE, false, &job, STEP), 0);
        ck_assert_int_eq(stat(tmp, &st), 0);
        ck_assert_int_eq(st.st_size, (off_t)want);
        ck_assert_int_ne(access(spare, F_OK), 0);
    }
    ck_assert_int_eq(dtc__dlog_spare_step(dir, SIZE, false, &job, STEP), 1);
    ck_assert_int_eq(job.sj_fd, -1);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(stat(spare, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)SIZE);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_ge((uint64_t)st.st_blocks * 512, SIZE); /* written, not a hole */
    /* dropped halfway: the temp file goes with it */
    ck_assert_int_eq(dtc__dlog_spare_step(dir, SIZE, false, &job, STEP), 0);
    ck_assert_int_eq(access(tmp, F_OK), 0);
    dtc__dlog_spare_drop(dir, &job);
    ck_assert_int_eq(job.sj_fd, -1);
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

/* A file of n bytes of `byte` at DIR/name, mode 0600; its inode. */
static ino_t make_file(const char *d, const char *name, size_t n, int byte)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", d, name);
    unsigned char *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    memset(b, byte, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, n), (ssize_t)n);
    ck_assert_int_eq(fstat(fd, &st), 0);
    close(fd);
    free(b);
    return st.st_ino;
}

/* The inode at DIR/name, 0 if none. */
static ino_t inode_at(const char *d, const char *name)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", d, name);
    return lstat(path, &st) == 0 ? st.st_ino : 0;
}

/* Pruning with dtcd's spare job idle and no spare: the oldest pruned file
 * becomes the spare (renamed, then its header's page cleared by a step;
 * its other bytes stay as they were), the others are unlinked; with a spare already there, or a file
 * of another size, nothing is recycled.  (An unlink made the disk discard
 * a file's blocks, and the log's syncs waited behind it.) */
START_TEST(pruned_file_becomes_the_spare)
{
    enum { SIZE = 2u << 20 };
    char d[280], path[400];
    snprintf(d, sizeof d, "%s/recycle", dir);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    ino_t first = make_file(d, "dlog.0000000000000001", SIZE, 0xab);
    make_file(d, "dlog.0000000000000002", SIZE, 0xab);
    make_file(d, "dlog.0000000000000003", SIZE, 0xab);
    make_file(d, "dlog.0000000000000004", SIZE, 0xab);
    make_file(d, "dlog.0000000000000005", SIZE, 0xab);
    struct dtc__spare_job job = {.sj_fd = -1};
    dtc__dlog_prune(d, 3, SIZE, &job, 0, UINT32_MAX);
    ck_assert_int_ge(job.sj_fd, 0);
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000001"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000002"), 0);
    ck_assert_uint_ne(inode_at(d, "dlog.0000000000000003"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.spare.tmp"), first);
    while (dtc__dlog_spare_step(d, SIZE, false, &job, 1u << 20) == 0)
        ;
    ck_assert_int_eq(job.sj_fd, -1);
    ck_assert_uint_eq(inode_at(d, "dlog.spare"), first);
    snprintf(path, sizeof path, "%s/dlog.spare", d);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    long nonzero = 0, total = 0;
    for (int c; (c = fgetc(f)) != EOF; total++)
        nonzero += c != 0;
    fclose(f);
    ck_assert_int_eq(total, SIZE);
    ck_assert_int_eq(nonzero, SIZE - DTC_DLOG_SPARE_CLEAR);
    /* a spare is there: the next pruned file is unlinked */
    make_file(d, "dlog.0000000000000006", SIZE, 0xab);
    dtc__dlog_prune(d, 4, SIZE, &job, 0, UINT32_MAX);
    ck_assert_int_eq(job.sj_fd, -1);
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000003"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.spare.tmp"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.spare"), first);
    /* no spare, but a file of another size: unlinked, not taken */
    ck_assert_int_eq(remove(path), 0);
    snprintf(path, sizeof path, "%s/dlog.0000000000000004", d);
    ck_assert_int_eq(remove(path), 0);
    make_file(d, "dlog.0000000000000004", SIZE / 2, 0xab);
    make_file(d, "dlog.0000000000000007", SIZE, 0xab);
    dtc__dlog_prune(d, 5, SIZE, &job, 0, UINT32_MAX);
    ck_assert_int_eq(job.sj_fd, -1);
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000004"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.spare.tmp"), 0);
}
END_TEST

/* Bytes of file d/name: how many, and how many are not zero; the first
 * DTC_DLOG_SPARE_CLEAR must be. */
static void spare_bytes(const char *d, const char *name, long *total, long *nonzero)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", d, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    *total = *nonzero = 0;
    for (int c; (c = fgetc(f)) != EOF; ++*total) {
        *nonzero += c != 0;
        ck_assert(c == 0 || *total >= (long)DTC_DLOG_SPARE_CLEAR);
    }
    fclose(f);
}

/* Bytes this process passed to write(2) and its kind so far
 * (/proc/self/io: wchar). */
static unsigned long long bytes_written(void)
{
    unsigned long long v = 0;
    char line[128];
    FILE *f = fopen("/proc/self/io", "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "wchar: %llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* A writer that finds neither a spare nor a free file makes its next log
 * file without writing it: its blocks reserved (fallocate), reading as
 * zeros past the header.  It zero-filled the whole file before, under
 * the log's lock: every commit of the host waited 10-15 ms at C=64. */
START_TEST(writer_spare_writes_no_zeros)
{
    enum { SIZE = 16u << 20 };
    char d[280], path[400];
    struct stat st;
    snprintf(d, sizeof d, "%s/writer", dir);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    struct dtc__dlog_id id = {.instance = "writer"};
    memset(id.log_id, 0x22, sizeof id.log_id);
    unsigned long long before = bytes_written();
    ck_assert_int_eq(dtc__dlog_take_spare(d, 3, SIZE, false, &id, 0), DTC_OK);
    unsigned long long wrote = bytes_written() - before;
    ck_assert_msg(wrote < SIZE / 16, "the writer wrote %llu bytes for its spare", wrote);
    snprintf(path, sizeof path, "%s/dlog.0000000000000003", d);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, SIZE);
    ck_assert_int_ge((long long)st.st_blocks * 512, SIZE); /* reserved */
    FILE *f = fopen(path, "rb"); /* zeros past the header's page */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, DTC_DLOG_SPARE_CLEAR, SEEK_SET), 0);
    long total = DTC_DLOG_SPARE_CLEAR, nonzero = 0;
    for (int c; (c = fgetc(f)) != EOF; total++)
        nonzero += c != 0;
    fclose(f);
    ck_assert_int_eq(total, SIZE);
    ck_assert_int_eq(nonzero, 0);
    ck_assert_int_eq(inode_at(d, "dlog.spare.writer"), 0);
}
END_TEST

/* Pruned files beyond the one that becomes dtcd's spare are kept as free
 * files (at most free_max, and no more than the log files the directory
 * holds; the rest unlinked) and become the next spares, dtcd's and a
 * writer's, their header's page cleared, their old bytes kept; a free
 * file of another size is removed, never used; trimming deletes one at a
 * time down to a floor; a new log removes them all. */
START_TEST(pruned_files_kept_free_then_reused)
{
    enum { SIZE = 1u << 20 };
    char d[280];
    long total, nonzero;
    snprintf(d, sizeof d, "%s/free", dir);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    ino_t ino[8];
    for (int i = 1; i <= 7; i++) {
        char name[32];
        snprintf(name, sizeof name, "dlog.%016x", i);
        ino[i] = make_file(d, name, SIZE, 0xab);
    }
    struct dtc__spare_job job = {.sj_fd = -1};
    dtc__dlog_prune(d, 5, SIZE, &job, 2, UINT32_MAX);
    ck_assert_uint_eq(inode_at(d, "dlog.spare.tmp"), ino[1]);
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000002"), ino[2]);
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000003"), ino[3]);
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000004"), 0); /* unlinked: two are free */
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000004"), 0);
    ck_assert_uint_ne(inode_at(d, "dlog.0000000000000005"), 0);
    while (dtc__dlog_spare_step(d, SIZE, false, &job, 1u << 20) == 0)
        ;
    ck_assert_uint_eq(inode_at(d, "dlog.spare"), ino[1]);
    /* the spare taken: dtcd's next one is a free file */
    char path[400];
    snprintf(path, sizeof path, "%s/dlog.spare", d);
    ck_assert_int_eq(unlink(path), 0);
    while (dtc__dlog_spare_step(d, SIZE, false, &job, 1u << 20) == 0)
        ;
    ino_t got = inode_at(d, "dlog.spare");
    ck_assert(got == ino[2] || got == ino[3]);
    spare_bytes(d, "dlog.spare", &total, &nonzero);
    ck_assert_int_eq(total, SIZE);
    ck_assert_int_eq(nonzero, SIZE - DTC_DLOG_SPARE_CLEAR);
    /* a writer that finds no spare takes the last free file */
    ck_assert_int_eq(unlink(path), 0);
    struct dtc__dlog_id id = {.instance = "free"};
    memset(id.log_id, 0x11, sizeof id.log_id);
    ck_assert_int_eq(dtc__dlog_take_spare(d, 9, SIZE, false, &id, 0), DTC_OK);
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000009"), got == ino[2] ? ino[3] : ino[2]);
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000002"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000003"), 0);
    /* a free file of another size: removed, a new spare zero-filled */
    make_file(d, "dlog.free.00000000000000ff", SIZE / 2, 0xab);
    while (dtc__dlog_spare_step(d, SIZE, false, &job, 1u << 20) == 0)
        ;
    ck_assert_uint_eq(inode_at(d, "dlog.free.00000000000000ff"), 0);
    spare_bytes(d, "dlog.spare", &total, &nonzero);
    ck_assert_int_eq(total, SIZE);
    ck_assert_int_eq(nonzero, 0);
    /* no more free files than the log files the directory holds now */
    ck_assert_int_eq(unlink(path), 0);
    char name[40];
    for (int i = 0x20; i <= 0x22; i++) {
        snprintf(name, sizeof name, "dlog.free.%016x", i);
        make_file(d, name, SIZE, 0xab);
    }
    for (int i = 0x10; i <= 0x13; i++) {
        snprintf(name, sizeof name, "dlog.%016x", i);
        make_file(d, name, SIZE, 0xab);
    }
    for (int i = 5; i <= 9; i++) { /* the older ones, out of the way */
        snprintf(path, sizeof path, "%s/dlog.%016x", d, i);
        unlink(path);
    }
    dtc__dlog_prune(d, 0x11, SIZE, NULL, 100, UINT32_MAX); /* 4 log files, 3 free: kept */
    ck_assert_uint_ne(inode_at(d, "dlog.free.0000000000000010"), 0);
    ck_assert_int_eq(dtc__dlog_free_count(d), 4);
    make_file(d, "dlog.0000000000000014", SIZE, 0xab);
    dtc__dlog_prune(d, 0x12, SIZE, NULL, 100, UINT32_MAX); /* 4 log files, 4 free: unlinked */
    ck_assert_uint_eq(inode_at(d, "dlog.0000000000000011"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000011"), 0);
    ck_assert_int_eq(dtc__dlog_free_count(d), 4);
    /* trimmed one at a time, never below `keep` */
    ck_assert(!dtc__dlog_trim_free(d, 4));
    ck_assert(dtc__dlog_trim_free(d, 2));
    ck_assert_int_eq(dtc__dlog_free_count(d), 3);
    ck_assert(dtc__dlog_trim_free(d, 2));
    ck_assert(!dtc__dlog_trim_free(d, 2));
    ck_assert_int_eq(dtc__dlog_free_count(d), 2);
    /* a new log takes none of them */
    make_file(d, "dlog.free.0000000000000001", SIZE, 0xab);
    dtc__dlog_spare_discard(d);
    ck_assert_uint_eq(inode_at(d, "dlog.free.0000000000000001"), 0);
    ck_assert_uint_eq(inode_at(d, "dlog.spare"), 0);
}
END_TEST

/* Pruning below a point read from the segment (hostile: a scribbled
 * sh_dlog_fileno) never deletes the newest DTC_DLOG_MIN_FILES files of
 * the directory: the current file, with its copy of every live decision,
 * stays.  (It deleted every file below the scribbled number before.) */
START_TEST(prune_keeps_the_newest_files)
{
    enum { SIZE = 1u << 20 };
    char d[280];
    snprintf(d, sizeof d, "%s/hostile", dir);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    static const char *const names[] = {"dlog.0000000000000004", "dlog.0000000000000005",
                                        "dlog.0000000000000006", "dlog.0000000000000007",
                                        "dlog.0000000000000008"};
    for (int i = 0; i < 5; i++)
        make_file(d, names[i], SIZE, 0xab);
    dtc__dlog_prune(d, UINT64_MAX / 2, SIZE, NULL, 0, UINT32_MAX);
    ck_assert_uint_eq(inode_at(d, names[0]), 0);
    ck_assert_uint_eq(inode_at(d, names[1]), 0);
    for (int i = 2; i < 5; i++)
        ck_assert_uint_ne(inode_at(d, names[i]), 0);
    dtc__dlog_prune(d, UINT64_MAX, SIZE, NULL, 0, UINT32_MAX);
    for (int i = 2; i < 5; i++)
        ck_assert_uint_ne(inode_at(d, names[i]), 0);
}
END_TEST

/* A spare step keeps up with the log: twice what it grew since the last
 * tick, at least DTC_DLOG_SPARE_STEP, at most a whole file; a segment
 * that went backwards (scribbled, or a new one) paces nothing. */
START_TEST(spare_keeps_the_logs_pace)
{
    enum { SIZE = 64u << 20 };
    struct dtc__spare_job job = {.sj_fd = -1};
    ck_assert_uint_eq(dtc__dlog_spare_budget(&job, 1000, SIZE), DTC_DLOG_SPARE_STEP);
    ck_assert_uint_eq(dtc__dlog_spare_budget(&job, 1000 + (5u << 20), SIZE), 10u << 20);
    ck_assert_uint_eq(dtc__dlog_spare_budget(&job, 1000 + (5u << 20), SIZE), DTC_DLOG_SPARE_STEP);
    ck_assert_uint_eq(dtc__dlog_spare_budget(&job, UINT64_MAX, SIZE), SIZE);
    ck_assert_uint_eq(dtc__dlog_spare_budget(&job, 7, SIZE), DTC_DLOG_SPARE_STEP);
    ck_assert_uint_eq(dtc__dlog_spare_budget(&job, 7 + (40u << 20), SIZE), SIZE);
}
END_TEST

/* The file switch cannot rename a spare into place (a directory sits at
 * dlog.spare, so making one fails too): the append that needs the switch
 * fails with DTC_ELOG (its caller acts on nothing), what was written
 * stays readable, and once the obstacle is gone the log switches and goes
 * on. */
START_TEST(switch_failure_is_an_error)
{
    char spare[300];
    struct dtc__dlog_rec r;
    uint64_t end;
    snprintf(spare, sizeof spare, "%s/dlog.spare", dir);
    remove(spare);
    ck_assert_int_eq(mkdir(spare, 0700), 0);
    uint64_t no = inst->hdr->sh_dlog_fileno;
    rec_init(&r, DTC_DLOG_END, 0x33, 1);
    dtc_result rc = DTC_OK;
    for (long i = 0; rc == DTC_OK && i < 10000000; i++)
        rc = dtc__dlog_append(inst, &r, &end);
    ck_assert_int_eq(rc, DTC_ELOG);
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no); /* still the old file */
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_gt(s.n, 1000);
    ck_assert_int_eq(rmdir(spare), 0);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no + 1);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
}
END_TEST

/* A writer killed between renaming the spare into the next file and
 * writing its header leaves that file (all zero) behind: the next switch
 * takes it as it is.  One holding something shaped like a record of its
 * own (a torn one) is never overwritten: that switch fails, the file
 * unchanged. */
START_TEST(switch_takes_a_file_renamed_in_unused)
{
    uint64_t no = inst->hdr->sh_dlog_fileno, end;
    char path[300], cmd[700];
    dtc__dlog_path(dir, no + 1, path, sizeof path);
    snprintf(cmd, sizeof cmd, "truncate -s %u '%s' && chmod 600 '%s'", inst->dlog_file_size, path,
             path);
    ck_assert_int_eq(system(cmd), 0);
    fill_files(1); /* asserts every append succeeds */
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no + 1);
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_uint_eq(o.last_file, no + 1);
    /* the next one, with a byte past its header */
    dtc__dlog_path(dir, no + 2, path, sizeof path);
    snprintf(cmd, sizeof cmd, "truncate -s %u '%s' && chmod 600 '%s'", inst->dlog_file_size, path,
             path);
    ck_assert_int_eq(system(cmd), 0);
    struct dtc__dlog_rec r;
    unsigned char rec[DTC_DLOG_REC_MAX];
    uint64_t at = (no + 2) * inst->dlog_file_size + 4096; /* a record of that file */
    rec_init(&r, DTC_DLOG_END, 0x44, 1);
    size_t len = dtc__dlog_encode(&r, at, at, rec);
    rec[len - 1] ^= 1; /* torn: its CRC fails, yet it has its place */
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ck_assert_int_eq(pwrite(fd, rec, len, 4096), (ssize_t)len);
    close(fd);
    rec_init(&r, DTC_DLOG_END, 0x33, 1);
    dtc_result rc = DTC_OK;
    for (long i = 0; rc == DTC_OK && i < 10000000; i++)
        rc = dtc__dlog_append(inst, &r, &end);
    ck_assert_int_eq(rc, DTC_ELOG);
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no + 1);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)inst->dlog_file_size);
    unsigned char b = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(pread(fd, &b, 1, 4096 + 8), 1);
    close(fd);
    ck_assert_int_eq(b, (unsigned char)at);
}
END_TEST

/* Writes DIR/dlog.spare as dtcd's recycling leaves an old file: the
 * bytes of log file `no` (its records, at its own positions), the
 * header's page zero. */
static void spare_from_file(uint64_t no)
{
    char path[400];
    uint32_t size = inst->dlog_file_size;
    unsigned char *b = malloc(size);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(dtc__dlog_write_out(inst), DTC_OK);
    int fd = dtc__dlog_open(dir, no, O_RDONLY);
    ck_assert_int_eq(pread(fd, b, size, 0), (ssize_t)size);
    close(fd);
    memset(b, 0, DTC_DLOG_SPARE_CLEAR);
    snprintf(path, sizeof path, "%s/dlog.spare", dir);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ck_assert_int_eq(write(fd, b, size), (ssize_t)size);
    close(fd);
    free(b);
}

/* Bytes of the current file past `lsn` that are not zero. */
static long nonzero_past(uint64_t lsn)
{
    static unsigned char b[1u << 16];
    long nz = 0;
    int fd = dtc__dlog_open(dir, inst->hdr->sh_dlog_fileno, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ssize_t n;
    for (off_t off = (off_t)off_of(lsn); (n = pread(fd, b, sizeof b, off)) > 0; off += n)
        for (ssize_t k = 0; k < n; k++)
            nz += b[k] != 0;
    close(fd);
    return nz;
}

/* A file recycled as the spare keeps its old records (only its header's
 * page is cleared): they name the old file's positions, so the scan ends
 * where the new file's records end, a restart finds no torn tail and
 * clears nothing, and the log goes on over them. */
START_TEST(recycled_spare_old_records_never_read)
{
    struct dtc__dlog_rec r;
    uint64_t no = inst->hdr->sh_dlog_fileno, end = 0;
    rec_init(&r, DTC_DLOG_END, 0x55, 2);
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    spare_from_file(no);
    fill_files(1);
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, no + 1);
    end = append(&r);
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_uint_eq(o.last_file, no + 1);
    ck_assert_uint_eq(o.end, end);
    ck_assert_uint_eq(o.torn_from, 0);
    long old = nonzero_past(end);
    ck_assert_int_gt(old, 0);
    reboot();
    ck_assert_uint_eq(inst->hdr->sh_dlog_end, end);
    ck_assert_int_eq(files_named(".torn-"), 0);
    ck_assert_int_eq(nonzero_past(end), old);
    end = append(&r);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_uint_eq(o.end, end);
}
END_TEST

/* A new log takes no spare an older log left in the directory: its
 * records would name the new log's positions (both number their files
 * from 1), and once the new records reached one of them, a decision
 * nobody made here would be replayed. */
START_TEST(new_log_takes_no_old_spare)
{
    struct dtc__dlog_rec r;
    char cmd[700];
    uint64_t end = 0;
    ck_assert_uint_eq(inst->hdr->sh_dlog_fileno, 1);
    rec_init(&r, DTC_DLOG_END, 0x55, 2);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
    rec_init(&r, DTC_DLOG_HEURISTIC, 9, 2);
    ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    spare_from_file(1);
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    snprintf(cmd, sizeof cmd, "rm -f '%s'/dlog.0* '%s'/dlog.control", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    inst = open_log(8); /* a new log, its first file numbered 1 again */
    rec_init(&r, DTC_DLOG_END, 0x55, 2);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(dtc__dlog_append(inst, &r, &end), DTC_OK);
    ck_assert_int_eq(dtc__dlog_flush(inst, end), DTC_OK);
    reboot();
    ck_assert_int_eq(slot_state(9), -1);
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(scan(&s, &o), DTC_OK);
    ck_assert_int_eq(s.n, 100);
}
END_TEST

static int slot_state(unsigned char tag)
{
    for (uint32_t i = 0; i < inst->max_txns; i++) {
        struct dtc_txn_slot *ts = dtc__txn(inst, i);
        if (ts->ts_state != DTC_TXN_FREE && ts->ts_txid[0] == tag)
            return (int)ts->ts_state;
    }
    return -1;
}

START_TEST(replay_live_set)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2); /* committed, ended */
    append(&r);
    rec_init(&r, DTC_DLOG_END, 1, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 2, 2); /* decided, not ended */
    append(&r);
    rec_init(&r, DTC_DLOG_COMMIT, 3, 2); /* commit failed: compensating */
    append(&r);
    rec_init(&r, DTC_DLOG_COMPENSATE, 3, 2);
    r.flags = DTC_DLOG_F_COMMIT_FAILED;
    append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 4, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_END, 5, 2); /* an abort: never live */
    append(&r);
    reboot();
    ck_assert_int_eq(slot_state(1), -1);
    ck_assert_int_eq(slot_state(2), DTC_TXN_COMMITTING);
    ck_assert_int_eq(slot_state(3), DTC_TXN_ABORTING);
    ck_assert_int_eq(slot_state(4), DTC_TXN_HEURISTIC);
    ck_assert_int_eq(slot_state(5), -1);
    reboot(); /* replay again: the same slots, none twice */
    int used = 0;
    for (uint32_t i = 0; i < inst->max_txns; i++)
        used += dtc__txn(inst, i)->ts_state != DTC_TXN_FREE;
    ck_assert_int_eq(used, 3);
}
END_TEST

/* Damage in a file the log has moved past (synced whole at the switch):
 * refused; salvage covers the damaged record and the later decisions
 * stay. */
START_TEST(damage_in_older_file)
{
    struct dtc__dlog_rec r;
    uint64_t old_no = inst->hdr->sh_dlog_fileno;
    rec_init(&r, DTC_DLOG_COMMIT, 1, 2);
    uint64_t e1 = append(&r);
    rec_init(&r, DTC_DLOG_HEURISTIC, 2, 2);
    append(&r);
    fill_files(1);
    rec_init(&r, DTC_DLOG_HEURISTIC, 3, 2);
    append(&r);
    char path[300];
    dtc__dlog_path(dir, old_no, path, sizeof path);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint64_t off = e1 - old_no * inst->dlog_file_size + 90;
    unsigned char c;
    struct seen s = {0};
    struct dtc__dlog_scan_out o;
    ck_assert_int_eq(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 1;
    ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
    ck_assert_int_eq(scan(&s, &o), DTC_ELOG);
    ck_assert_uint_eq(o.dmg_file, old_no);
    ck_assert_ptr_nonnull(strstr(o.what, "synced whole"));
    reboot_refused();
    ck_assert_int_eq(dtc__dlog_salvage(dir, inst_name, false, true), DTC_OK);
    reboot();
    ck_assert_int_eq(slot_state(1), DTC_TXN_COMMITTING);
    ck_assert_int_eq(slot_state(2), -1); /* its record was the damaged one */
    ck_assert_int_eq(slot_state(3), DTC_TXN_HEURISTIC);
}
END_TEST

START_TEST(replay_refuses_more_than_fits)
{
    struct dtc__dlog_rec r;
    for (unsigned char t = 1; t <= 9; t++) { /* 9 live decisions, 8 slots */
        rec_init(&r, DTC_DLOG_COMMIT, t, 1);
        append(&r);
    }
    dtc_close(&inst);
    dtc__segment_unlink(inst_name);
    dtc_limits l;
    dtc_limits_default(&l);
    l.max_txns = 8;
    struct dtc__dlog_cfg dl = {.files = DTC_DLOG_MIN_FILES, .file_size = dtc__dlog_min_file_size(8)};
    dtc__strcopy(dl.dir, dir, sizeof dl.dir);
    ck_assert_int_eq(dtc__segment_create(inst_name, &l, 0, &dl, &inst), DTC_OK);
    ck_assert_int_eq(dtc__dlog_recover(inst), DTC_ELOG);
    ck_assert_int_eq(atomic_load(&inst->hdr->sh_recovering), 1); /* nothing presumed */
    dtc_txid id;
    memset(id.bytes, 0x55, 16);
    dtc_outcome o;
    /* no dtcd runs to finish the replay: said so, nothing presumed */
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_ENOSUPERVISOR);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ENOSUPERVISOR);
    /* a live supervisor (this process stands in) is still replaying */
    inst->hdr->sh_sup_start = dtc__proc_start_time(getpid());
    inst->hdr->sh_sup_pid = getpid();
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_ERECOVERING);
    ck_assert_int_eq(dtc_begin_transaction(inst, NULL, &id), DTC_ERECOVERING);
    inst->hdr->sh_sup_pid = 0;
}
END_TEST

START_TEST(outcome_from_log)
{
    struct dtc__dlog_rec r;
    rec_init(&r, DTC_DLOG_COMMIT, 9, 2);
    append(&r);
    rec_init(&r, DTC_DLOG_END, 9, 2);
    snprintf(r.entries[1].reason, DTC_REASON_MAX, "done late");
    append(&r);
    rec_init(&r, DTC_DLOG_END, 10, 1);
    r.state = DTC_TXN_ABORTED;
    r.result = DTC_EREFUSED;
    r.entries[0].vote = DTC_ENTRY_NO;
    append(&r);
    fill_files(1); /* the records are in an older file now */
    dtc_outcome o;
    dtc_txid id;
    memset(id.bytes, 9, 16);
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_COMMITTED);
    ck_assert_int_eq(o.from_log, 1);
    ck_assert_uint_eq(o.info.nentries, 2);
    ck_assert_str_eq(o.info.entries[1].reason, "done late");
    memset(id.bytes, 10, 16);
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_OK);
    ck_assert_int_eq(o.kind, DTC_OUTCOME_ABORTED);
    ck_assert_int_eq(o.result, DTC_EREFUSED);
    memset(id.bytes, 11, 16);
    ck_assert_int_eq(dtc_transaction_outcome(inst, &id, &o), DTC_ENOTFOUND);
}
END_TEST

/* A file holds two full checkpoints of the largest table. */
START_TEST(min_file_size_holds_checkpoints)
{
    ck_assert_uint_ge(dtc__dlog_min_file_size(DTC_LIMIT_MAX_TXNS),
                      2u * DTC_LIMIT_MAX_TXNS * DTC_DLOG_REC_MAX);
    ck_assert_uint_eq(dtc__dlog_min_file_size(1) % DTC_DLOG_MIN_FILE, 0);
}
END_TEST

static Suite *dlog_suite(void)
{
    Suite *s = suite_create("dlog");
    TCase *tc = tcase_create("dlog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, encode_roundtrip);
    tcase_add_test(tc, crc32c_known_value);
    tcase_add_test(tc, crc32c_instruction_equals_table);
    tcase_add_test(tc, scan_in_order);
    tcase_add_test(tc, torn_tail_kept_aside_and_wiped);
    tcase_add_test(tc, damage_below_durable_refused);
    tcase_add_test(tc, mark_covers_the_newest_records);
    tcase_add_test(tc, power_cut_hole_is_torn);
    tcase_add_test(tc, identity_refused);
    tcase_add_test(tc, bad_files_refused);
    tcase_add_test(tc, unused_last_file_taken_over);
    tcase_add_test(tc, salvage_reports_then_repairs);
    tcase_add_test(tc, damage_in_older_file);
    tcase_add_test(tc, buffer_scribble_never_written);
    tcase_add_test(tc, buffer_wraps_and_makes_room);
    tcase_add_test(tc, file_filled_to_its_last_byte);
    tcase_add_test(tc, switch_copies_live_and_prunes);
    tcase_add_test(tc, switch_failure_is_an_error);
    tcase_add_test(tc, spare_made_in_steps);
    tcase_add_test(tc, spare_keeps_the_logs_pace);
    tcase_add_test(tc, pruned_file_becomes_the_spare);
    tcase_add_test(tc, pruned_files_kept_free_then_reused);
    tcase_add_test(tc, writer_spare_writes_no_zeros);
    tcase_add_test(tc, prune_keeps_the_newest_files);
    tcase_add_test(tc, switch_takes_a_file_renamed_in_unused);
    tcase_add_test(tc, recycled_spare_old_records_never_read);
    tcase_add_test(tc, new_log_takes_no_old_spare);
    tcase_add_test(tc, replay_live_set);
    tcase_add_test(tc, replay_refuses_more_than_fits);
    tcase_add_test(tc, outcome_from_log);
    tcase_add_test(tc, min_file_size_holds_checkpoints);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dlog_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
