/*
 * harness_logs.c - every log line a test's processes wrote is a strict
 * logfmt record.  At the checked teardown (h_fini), each .err file of the
 * test directory (the stderr of every process the harness started: dtcd,
 * services, participants, dtcctl runs) is read; every line that is a log record
 * (starts with "ts=") must pass tests/tools/logfmt_lint.c.  Other lines
 * (a usage message, a sanitizer report) are not log records and are left
 * to the test that provoked them.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_int.h"
#include "tools/logfmt_lint.h"

/* Bad log lines in one file (each printed), 0 if none or unreadable. */
static int lint_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int bad = 0, no = 0;
    while (f != NULL && (len = getline(&line, &cap, f)) >= 0) {
        const char *why;
        size_t col;
        no++;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (strncmp(line, "ts=", 3) != 0)
            continue;
        if (logfmt_lint_line(line, (size_t)len, &why, &col) != 0 && bad++ < 5)
            fprintf(stderr, "harness: %s:%d:%zu: log line is not logfmt (%s): %.*s\n", path, no,
                    col + 1, why, (int)(len > 300 ? 300 : len), line);
    }
    free(line);
    if (f != NULL)
        fclose(f);
    return bad;
}

int h__lint_logs(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int bad = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[PATH_MAX];
        if (n < 5 || strcmp(e->d_name + n - 4, ".err") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        bad += lint_file(path);
    }
    if (d != NULL)
        closedir(d);
    return bad;
}
