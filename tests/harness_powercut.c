/*
 * harness_powercut.c - see harness.h: running programs under the power-cut
 * preload (tests/tools/powercut*.c) and applying the cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

/* ---- power cut ---------------------------------------------------------- */

const char *h_powercut_journal(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/powercut.journal", h_dir());
    return path;
}

size_t h_powercut_env(const char *env[], size_t cap)
{
    static char pre[PATH_MAX + 16], jour[PATH_MAX + 32], root[PATH_MAX + 32], asan[1024];
    if (cap < 6)
        return 0;
    const char *inherited = getenv("ASAN_OPTIONS");
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s/libdtc_powercut.so", DTC_BIN_DIR);
    snprintf(jour, sizeof jour, "DTC_POWERCUT_JOURNAL=%s", h_powercut_journal());
    snprintf(root, sizeof root, "DTC_POWERCUT_ROOT=%s", h_dir());
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
             inherited ? inherited : "", inherited && inherited[0] ? ":" : "");
    size_t n = 0;
    env[n++] = pre;
    env[n++] = jour;
    env[n++] = root;
    env[n++] = asan;
    env[n] = NULL;
    return n;
}

int h_powercut_apply(void)
{
    h_result r;
    const char *journal = h_powercut_journal();
    if (h_runv(&r, 10000, NULL, "dtc-powercut", (const char *const[]){"cut", journal, NULL})
        != 0) {
        fprintf(stderr, "harness: dtc-powercut cut: exit %d\n%s%s", r.code, r.out, r.err);
        return -1;
    }
    int code = h_runv(&r, 60000, NULL, "dtc-powercut",
                      (const char *const[]){"apply", journal, h_dir(), NULL});
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/powercut.apply", h_dir());
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s%s", r.out, r.err);
        fclose(f);
    }
    if (code != 0) {
        fprintf(stderr, "harness: dtc-powercut apply: exit %d\n%s%s", code, r.out, r.err);
        return -1;
    }
    return 0;
}
