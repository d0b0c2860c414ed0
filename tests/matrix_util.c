/*
 * matrix_util.c - see matrix_util.h.
 */
#include "matrix_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const m_svc[M_NSVC] = {"inventory", "payment", "order", "shipping"};

static unsigned m_counter;

#define M_MAX_ARGS 32

pid_t m_start_svc(int i, const char *const env[])
{
    return m_start_svc_args(i, env, NULL);
}

pid_t m_start_svc_args(int i, const char *const env[], const char *const extra[])
{
    static const char *const seeds[M_NSVC][4] = {
        {"--seed", "sku-1=1000", "--seed", "sku-2=1"},
        {"--seed", "alice=100000", "--seed", "bob=100"},
        {NULL, NULL, NULL, NULL},
        {"--seed", "zone-a=100", NULL, NULL},
    };
    const char *argv[M_MAX_ARGS];
    char prog[64], label[64];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--data-dir";
    argv[n++] = h_data_dir();
    argv[n++] = "--name";
    argv[n++] = m_svc[i];
    for (int k = 0; k < 4 && seeds[i][k]; k++)
        argv[n++] = seeds[i][k];
    for (size_t k = 0; extra && extra[k] && n < M_MAX_ARGS - 1; k++)
        argv[n++] = extra[k];
    argv[n] = NULL;
    snprintf(prog, sizeof prog, "dtc-%s", m_svc[i]);
    snprintf(label, sizeof label, "m-%s-%u", m_svc[i], m_counter++);
    pid_t pid = h_spawnv(label, prog, argv, env);
    if (pid < 0)
        return -1;
    if (!h_wait_participant(m_svc[i], pid, 5000)) {
        char err[1024];
        h_read_output(label, "err", err, sizeof err);
        fprintf(stderr, "matrix: %s did not register: %s\n", m_svc[i], err);
        return -1;
    }
    char out[512];
    int64_t end = h_now_ms() + 5000;
    for (h_read_output(label, "out", out, sizeof out); !strstr(out, "ready name=");
         h_read_output(label, "out", out, sizeof out)) {
        if (h_now_ms() >= end || !h_alive(pid)) {
            fprintf(stderr, "matrix: %s never printed ready\n", m_svc[i]);
            return -1;
        }
        h_sleep_ms(5);
    }
    return pid;
}

int m_start_shop(int idx, const char *const env[], const char *const extra[],
                 pid_t pids[M_NSVC])
{
    for (int i = 0; i < M_NSVC; i++)
        if ((pids[i] = m_start_svc_args(i, i == idx ? env : NULL, i == idx ? extra : NULL)) < 0)
            return -1;
    return 0;
}

const char *m_dtcd_log(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dtcd.log", h_dir());
    return path;
}

int m_wait_supervisor(pid_t pid, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    for (;;) {
        dtc_status st;
        if (h_inst() && dtc_get_status(h_inst(), &st) == DTC_OK && st.supervisor_alive
            && st.supervisor_pid == pid)
            return 1;
        if (!h_alive(pid) || h_now_ms() >= end)
            return 0;
        h_sleep_ms(10);
    }
}

pid_t m_spawn_dtcd(const char *const env[], const char *const extra[])
{
    const char *argv[M_MAX_ARGS];
    char label[64];
    size_t n = 0;
    argv[n++] = "--instance";
    argv[n++] = h_instance();
    argv[n++] = "--shutdown-grace-ms";
    argv[n++] = "1000";
    argv[n++] = "--log-file";
    argv[n++] = m_dtcd_log();
    for (size_t i = 0; extra && extra[i] && n < M_MAX_ARGS - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    snprintf(label, sizeof label, "dtcd-m%u", m_counter++);
    pid_t pid = h_spawnv(label, "dtcd", argv, env);
    if (pid < 0)
        return -1;
    if (!m_wait_supervisor(pid, 5000)) {
        char err[1024];
        h_read_output(label, "err", err, sizeof err);
        fprintf(stderr, "matrix: dtcd %d not supervising: %s\n", (int)pid, err);
        return -1;
    }
    return pid;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int m_file_count(const char *path, const char *needle)
{
    char *buf = slurp(path);
    int n = 0;
    for (const char *p = buf; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(buf);
    return n;
}

int m_file_has(const char *path, const char *needle)
{
    return m_file_count(path, needle) > 0;
}

/* ---- ledgers -------------------------------------------------------------- */

static int ledger_slot(m_ledger *l, const char *txid)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->txid[i], txid) == 0)
            return i;
    if (l->n >= M_MAX_TXIDS)
        return -1;
    snprintf(l->txid[l->n], DTC_TXID_STRLEN, "%s", txid);
    l->fate[l->n] = M_NONE;
    return l->n++;
}

int m_ledger_read(const char *name, m_ledger *l)
{
    char path[PATH_MAX];
    memset(l, 0, sizeof *l);
    snprintf(path, sizeof path, "%s/%s.state", h_data_dir(), name);
    char *buf = slurp(path);
    if (buf == NULL)
        return -1;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char verb[32], txid[64];
        if (sscanf(line, "%31s %63s", verb, txid) != 2 || strlen(txid) != DTC_TXID_STRLEN - 1)
            continue;
        enum m_fate f;
        if (strcmp(verb, "prepared") == 0)
            f = M_PREPARED;
        else if (strcmp(verb, "applied") == 0)
            f = M_APPLIED;
        else if (strcmp(verb, "compensated") == 0)
            f = M_COMPENSATED;
        else if (strcmp(verb, "released") == 0)
            f = M_RELEASED;
        else
            continue;
        int k = ledger_slot(l, txid);
        if (k >= 0)
            l->fate[k] = f; /* in log order: the last word wins */
    }
    free(buf);
    return 0;
}

enum m_fate m_ledger_fate(const m_ledger *l, const char *txid)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->txid[i], txid) == 0)
            return l->fate[i];
    return M_NONE;
}

const char *m_fate_name(enum m_fate f)
{
    static const char *const names[] = {"none", "PREPARED", "applied", "compensated",
                                        "released"};
    return (unsigned)f < 5 ? names[f] : "?";
}

int m_ledgers(m_ledger l[M_NSVC])
{
    int rc = 0;
    for (int i = 0; i < M_NSVC; i++)
        if (m_ledger_read(m_svc[i], &l[i]) != 0)
            rc = -1;
    return rc;
}

int m_applied_count(const m_ledger l[M_NSVC], const char *txid)
{
    int n = 0;
    for (int i = 0; i < M_NSVC; i++)
        n += m_ledger_fate(&l[i], txid) == M_APPLIED;
    return n;
}

int m_any_prepared(const m_ledger l[M_NSVC])
{
    for (int i = 0; i < M_NSVC; i++)
        for (int k = 0; k < l[i].n; k++)
            if (l[i].fate[k] == M_PREPARED)
                return 1;
    return 0;
}

int m_all_or_nothing(const m_ledger l[M_NSVC], char *why, size_t cap, int *napplied)
{
    int ok = 1, all = 0;
    if (cap)
        why[0] = '\0';
    for (int i = 0; i < M_NSVC; i++)
        for (int k = 0; k < l[i].n; k++) {
            const char *t = l[i].txid[k];
            /* evaluate each txid once: at the first ledger holding it */
            int first = 1;
            for (int j = 0; j < i; j++)
                if (m_ledger_fate(&l[j], t) != M_NONE)
                    first = 0;
            if (!first)
                continue;
            int applied = m_applied_count(l, t), prepared = 0;
            for (int j = 0; j < M_NSVC; j++)
                prepared += m_ledger_fate(&l[j], t) == M_PREPARED;
            if (applied == M_NSVC)
                all++;
            if ((applied != 0 && applied != M_NSVC) || prepared) {
                ok = 0;
                size_t used = strlen(why);
                snprintf(why + used, cap - used, "txid %s:", t);
                for (int j = 0; j < M_NSVC; j++) {
                    used = strlen(why);
                    snprintf(why + used, cap - used, " %s=%s", m_svc[j],
                             m_fate_name(m_ledger_fate(&l[j], t)));
                }
                used = strlen(why);
                snprintf(why + used, cap - used, "; ");
            }
        }
    if (napplied)
        *napplied = all;
    return ok;
}

int m_txid_from_log(const char *log, char out[DTC_TXID_STRLEN])
{
    const char *p = strstr(log, "event=begin txid=");
    out[0] = '\0';
    if (p == NULL)
        return -1;
    p += strlen("event=begin txid=");
    if (strlen(p) < DTC_TXID_STRLEN - 1)
        return -1;
    memcpy(out, p, DTC_TXID_STRLEN - 1);
    out[DTC_TXID_STRLEN - 1] = '\0';
    return 0;
}

dtc_result m_order_commits(dtc_instance *in, const char *order_id, char *why, size_t cap)
{
    char pl[M_NSVC][DTC_PAYLOAD_MAX];
    snprintf(pl[0], sizeof pl[0], "reserve sku-1 1");
    snprintf(pl[1], sizeof pl[1], "charge alice 100");
    snprintf(pl[2], sizeof pl[2], "create %s alice 100", order_id);
    snprintf(pl[3], sizeof pl[3], "schedule %s zone-a", order_id);
    dtc_txn_options o;
    dtc_txn_options_default(&o);
    o.prepare_timeout_ms = 2000;
    o.commit_timeout_ms = 2000;
    o.rollback_timeout_ms = 2000;
    dtc_txid id;
    dtc_txn_info rep;
    memset(&rep, 0, sizeof rep);
    if (cap)
        why[0] = '\0';
    dtc_result rc = dtc_begin_transaction(in, &o, &id);
    if (rc != DTC_OK) {
        snprintf(why, cap, "begin: %s", dtc_result_name(rc));
        return rc;
    }
    for (int i = 0; i < M_NSVC && rc == DTC_OK; i++)
        if ((rc = dtc_enlist(in, &id, m_svc[i], pl[i], strlen(pl[i]))) != DTC_OK) {
            snprintf(why, cap, "enlist %s: %s", m_svc[i], dtc_result_name(rc));
            dtc_rollback_transaction(in, &id, NULL);
            return rc;
        }
    rc = dtc_commit_transaction(in, &id, &rep);
    if (rc != DTC_OK) {
        size_t used = (size_t)snprintf(why, cap, "commit: %s state=%s", dtc_result_name(rc),
                                       dtc_txn_state_name(rep.state));
        for (uint32_t k = 0; k < rep.nentries && used < cap; k++)
            used += (size_t)snprintf(why + used, cap - used, " [%s %s/%s vote=%s: %s]",
                                     rep.entries[k].name, dtc_op_name(rep.entries[k].op),
                                     dtc_entry_status_name(rep.entries[k].status),
                                     dtc_entry_status_name(rep.entries[k].vote),
                                     rep.entries[k].reason);
        return rc;
    }
    char t[DTC_TXID_STRLEN];
    dtc_txid_format(&id, t);
    m_ledger l[M_NSVC];
    if (m_ledgers(l) != 0 || m_applied_count(l, t) != M_NSVC) {
        snprintf(why, cap, "committed %s but applied at %d of 4 ledgers", t,
                 m_applied_count(l, t));
        return DTC_ECORRUPT;
    }
    return DTC_OK;
}
