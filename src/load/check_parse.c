/*
 * check_parse.c - readers for "dtc-load check": the transaction table,
 * the clients' files (B/E/F lines, see load.h), the services' state files
 * (DATA_DIR/NAME.state: the ledger says what each txid did there) and
 * their dumps ("KEY VALUE VERSION [NOTE]" lines, then "ledger N").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void ltab_grow(ltab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 4096;
    ltx **slot = calloc(cap, sizeof *slot); // NOLINT(bugprone-sizeof-expression): pointers
    if (slot == NULL) {
        fprintf(stderr, "dtc-load check: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i] != NULL) {
            size_t j = hash(t->slot[i]->id) & (cap - 1);
            while (slot[j] != NULL)
                j = (j + 1) & (cap - 1);
            slot[j] = t->slot[i];
        }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
}

ltx *ltab_get(ltab *t, const char *id, int create)
{
    if (t->cap == 0 || (create && (t->n + 1) * 2 > t->cap))
        ltab_grow(t);
    size_t j = hash(id) & (t->cap - 1);
    for (; t->slot[j] != NULL; j = (j + 1) & (t->cap - 1))
        if (strcmp(t->slot[j]->id, id) == 0)
            return t->slot[j];
    if (!create)
        return NULL;
    ltx *x = calloc(1, sizeof *x);
    if (x == NULL) {
        fprintf(stderr, "dtc-load check: out of memory\n");
        exit(2);
    }
    snprintf(x->id, sizeof x->id, "%s", id);
    x->client = -1;
    x->lat_us = -1;
    t->slot[j] = x;
    t->n++;
    return x;
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

static size_t bucket_of(const char *key)
{
    return hash(key) % 4096;
}

const lrec *lrecs_get(const lrecs *r, const char *key)
{
    for (const lrec *e = r->bucket[bucket_of(key)]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
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
        if (e == NULL || (e->key = strdup(key)) == NULL || (e->note = strdup(note)) == NULL) {
            fprintf(stderr, "dtc-load check: out of memory\n");
            exit(2);
        }
        e->value = value;
        size_t b = bucket_of(key);
        e->next = r->bucket[b];
        r->bucket[b] = e;
        r->n++;
    }
    fclose(fp);
    return 0;
}
