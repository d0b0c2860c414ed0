/*
 * check_parse.c - readers for "dtc-load check": the transaction table
 * (the kit's htab by txid),
 * the clients' files (B/E/F lines, see load.h), the services' state files
 * (DATA_DIR/NAME.state: the ledger says what each txid did there) and
 * their dumps ("KEY VALUE VERSION [NOTE]" lines, then "ledger N").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

static void out_of_memory(void)
{
    fprintf(stderr, "dtc-load check: out of memory\n");
    exit(2);
}

ltx *ltab_get(ltab *t, const char *id, int create)
{
    ltx *x = htab_get(&t->h, id);
    if (x != NULL || !create)
        return x;
    x = calloc(1, sizeof *x);
    if (x == NULL)
        out_of_memory();
    snprintf(x->id, sizeof x->id, "%s", id);
    x->client = -1;
    x->lat_us = -1;
    if (htab_put(&t->h, x->id, x) != 0)
        out_of_memory();
    t->n++;
    return x;
}

const ltx *ltab_next(const ltab *t, size_t *pos)
{
    return htab_next(&t->h, pos);
}

/* Splits line (modified) on tabs into at most max fields. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\n")] = '\0';
    while (n < max) {
        f[n++] = line;
        char *t = strchr(line, '\t');
        if (t == NULL)
            break;
        *t = '\0';
        line = t + 1;
    }
    return n;
}

int load_parse_client(ltab *t, const char *path, int client, uint64_t *begin_failures)
{
    FILE *fp = fopen(path, "r");
    char line[2048], *f[8];
    if (fp == NULL) {
        fprintf(stderr, "dtc-load check: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strchr(line, '\n') == NULL)
            continue; /* a torn last line: the client died writing it */
        int n = split_tabs(line, f, 8);
        if (f[0][0] == 'F' && n >= 2) {
            (*begin_failures)++;
        } else if (f[0][0] == 'B' && n >= 6) {
            ltx *x = ltab_get(t, f[1], 1);
            x->client = client;
            x->nbegun++;
            for (int k = 0; k < LOAD_NSVC; k++)
                snprintf(x->pay[k], LOAD_PAY_MAX, "%s", f[2 + k]);
        } else if (f[0][0] == 'E' && n >= 6) {
            ltx *x = ltab_get(t, f[1], 1);
            x->ended = 1;
            snprintf(x->result, sizeof x->result, "%s", f[2]);
            x->lat_us = strtoll(f[3], NULL, 10);
            snprintf(x->cls, sizeof x->cls, "%s", f[4]);
        }
    }
    fclose(fp);
    return 0;
}

/* Ledger and holds of one service: applied/compensated (last one wins),
 * prepared until released or applied. */
int load_parse_state(ltab *t, const char *path, int svc)
{
    FILE *fp = fopen(path, "r");
    char line[2048];
    if (fp == NULL) {
        fprintf(stderr, "dtc-load check: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strchr(line, '\n') == NULL)
            continue; /* torn last line: the store ignores it too */
        line[strcspn(line, "\n")] = '\0';
        char *verb = line, *id = strchr(line, ' ');
        if (id == NULL)
            continue;
        *id++ = '\0';
        char *payload = strchr(id, ' ');
        if (payload != NULL)
            *payload++ = '\0';
        int applied = strcmp(verb, "applied") == 0, comp = strcmp(verb, "compensated") == 0;
        int prep = strcmp(verb, "prepared") == 0, rel = strcmp(verb, "released") == 0;
        if (!applied && !comp && !prep && !rel)
            continue;
        ltx *x = ltab_get(t, id, 1);
        if (payload != NULL && (applied || prep)) {
            if (x->pay[svc][0] == '\0')
                snprintf(x->pay[svc], LOAD_PAY_MAX, "%s", payload);
            else if (strcmp(x->pay[svc], payload) != 0)
                x->paydiff[svc] = 1;
        }
        if (applied || comp) {
            x->st[svc] = applied ? 1 : 2;
            x->prep[svc] = 0;
        } else {
            x->prep[svc] = prep;
        }
    }
    fclose(fp);
    return 0;
}

const lrec *lrecs_get(const lrecs *r, const char *key)
{
    return htab_get(&r->h, key);
}

int load_parse_dump(lrecs *r, const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[1024], key[128], note[128];
    long long value;
    unsigned long long version;
    if (fp == NULL) {
        fprintf(stderr, "dtc-load check: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        note[0] = '\0';
        if (strncmp(line, "ledger ", 7) == 0)
            continue;
        // NOLINTNEXTLINE(cert-err34-c): store dumps of our services
        if (sscanf(line, "%127s %lld %llu %127s", key, &value, &version, note) < 3)
            continue;
        lrec *e = calloc(1, sizeof *e);
        if (e == NULL || (e->key = strdup(key)) == NULL || (e->note = strdup(note)) == NULL)
            out_of_memory();
        e->value = value;
        if (htab_put(&r->h, e->key, e) != 0)
            out_of_memory();
        r->n++;
    }
    fclose(fp);
    return 0;
}
