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
#include <string.h>

#include "harness_int.h"
#include "tools/logfmt_lint.h"

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
        long b = logfmt_lint_file(path, 1);
        bad += b > 0 ? (int)b : 0;
    }
    if (d != NULL)
        closedir(d);
    return bad;
}
