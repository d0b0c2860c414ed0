/*
 * journal.c - dtcctl's view of the instance journal: the journal lines
 * of `status` (text and JSON: which participant holds the oldest log file
 * and how far behind it is) and `journal-release NAME`, an operator's
 * release of a participant that is gone for good (docs/journal.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dtcctl.h"

static const char release_help[] =
    "usage: dtcctl [--instance NAME] journal-release PARTICIPANT [--json]\n"
    "\n"
    "Releases a journal participant that is gone for good: the decision log\n"
    "stops keeping its records (the files they hold are recycled).  What it\n"
    "loses: its records not yet reflected in its own checkpoint; if it ever\n"
    "comes back, a replay hands back only records written after the release.\n"
    "Exit 0 if released, 2 if it does not use the journal or on error.\n";

/* The journal participants (*n, at most cap) and which holds the oldest
 * file (-1: none). */
int ctl_journal_load(dtc_instance *inst, dtc_journal_info *v, size_t cap, size_t *n)
{
    if (dtc_journal_list(inst, v, cap, n) != DTC_OK)
        *n = 0;
    if (*n > cap)
        *n = cap;
    int oldest = -1;
    for (size_t i = 0; i < *n; i++)
        if (oldest < 0 || v[i].checkpoint_lsn < v[oldest].checkpoint_lsn)
            oldest = (int)i;
    return oldest;
}

void ctl_journal_text(const dtc_journal_info *v, size_t n, int oldest)
{
    if (n == 0)
        return;
    printf("journal:         %zu participant(s); oldest file held by ", n);
    ctl_put_text(v[oldest].name, sizeof v[oldest].name);
    printf(" (%" PRIu64 " files, %" PRIu64 " bytes behind)\n", v[oldest].held_files,
           v[oldest].behind_bytes);
    for (size_t i = 0; i < n; i++) {
        printf("  journal ");
        ctl_put_text(v[i].name, sizeof v[i].name);
        printf(": checkpoint_lsn=%" PRIu64 " behind_bytes=%" PRIu64 " held_files=%" PRIu64
               "%s\n", v[i].checkpoint_lsn, v[i].behind_bytes, v[i].held_files,
               v[i].over_bound ? " OVER --journal-max-files (release it if gone for good)" : "");
    }
}

void ctl_journal_json(const dtc_journal_info *v, size_t n, int oldest)
{
    printf(",\"journal\":{\"oldest_holder\":");
    if (oldest >= 0)
        ctl_json_str(v[oldest].name, sizeof v[oldest].name);
    else
        printf("null");
    printf(",\"participants\":[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"name\":", i ? "," : "");
        ctl_json_str(v[i].name, sizeof v[i].name);
        printf(",\"checkpoint_lsn\":%" PRIu64 ",\"behind_bytes\":%" PRIu64
               ",\"held_files\":%" PRIu64, v[i].checkpoint_lsn, v[i].behind_bytes,
               v[i].held_files);
        if (v[i].max_files != 0)
            printf(",\"max_files\":%" PRIu32, v[i].max_files);
        printf(",\"over_bound\":%s}", ctl_json_bool(v[i].over_bound));
    }
    printf("]}");
}

int ctl_cmd_journal_release(struct ctl_opts *g, int argc, char **argv)
{
    const struct ctl_parse p = {g, "journal-release", release_help, NULL, NULL, NULL, NULL};
    int first = 0, code = ctl_getopt(argc, argv, &p, &first);
    if (code != PARSE_GO)
        return code;
    if (first + 1 < argc)
        return ctl_usage_error("journal-release", "unexpected argument '%s'", argv[first + 1]);
    if (first >= argc)
        return ctl_usage_error("journal-release", "missing participant name");
    const char *name = argv[first];
    dtc_instance *inst = NULL;
    if ((code = ctl_open_instance(g, &inst)) != PARSE_GO)
        return code;
    dtc_result rc = dtc_journal_release(inst, name);
    dtc_close(&inst);
    if (rc != DTC_OK)
        return ctl_lib_error("journal-release", rc);
    if (g->json) {
        printf("{\"released\":");
        ctl_json_str(name, DTC_NAME_MAX);
        printf("}\n");
    } else {
        printf("released %s: the log no longer keeps its records\n", name);
    }
    return ctl_finish_output(EXIT_DONE);
}
