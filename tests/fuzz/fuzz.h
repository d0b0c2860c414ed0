/*
 * fuzz.h - helpers shared by the libFuzzer targets of tests/fuzz/.
 *
 * FUZZ_CHECK is an assert that NDEBUG cannot turn off: a failed check
 * aborts, and libFuzzer saves the input as a crash.  fuzz_tmpdir makes one
 * private directory per process (removed at exit with what is left in
 * it) for the targets that need a file.
 */
#ifndef DTC_TESTS_FUZZ_H
#define DTC_TESTS_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c) ((c) ? (void)0 : fuzz_fail(#c, __FILE__, __LINE__))

static inline void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    abort();
}

static char fuzz_dir[256];

static inline void fuzz_tmpdir_remove(void)
{
    DIR *d = opendir(fuzz_dir);
    struct dirent *e;
    char path[512];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(fuzz_dir);
}

/* A directory of this process's own under $TMPDIR (else /tmp); aborts if
 * it cannot be made. */
static inline const char *fuzz_tmpdir(void)
{
    const char *tmp = getenv("TMPDIR");
    if (fuzz_dir[0] != '\0')
        return fuzz_dir;
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/dtc-fuzz.XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(fuzz_dir) == NULL) {
        perror(fuzz_dir);
        abort();
    }
    atexit(fuzz_tmpdir_remove);
    return fuzz_dir;
}

#endif
