/*
 * client.c - a program outside the dtc tree, built by the install_tree
 * test against an installed dtc (once with pkg-config, once with
 * find_package): it runs one real transaction through the installed
 * library.
 *
 * usage: client INSTANCE PARTICIPANT
 * Begins a transaction, enlists PARTICIPANT, commits, reads the outcome
 * back, prints "committed TXID" and exits 0; anything else exits 1.
 */
#include <stdio.h>
#include <string.h>

#include <dtc/dtc.h>

static int fail(const char *what, dtc_result rc)
{
    fprintf(stderr, "client: %s: %s (%s)\n", what, dtc_result_name(rc), dtc_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    static const char payload[] = "install-tree";
    dtc_instance *inst = NULL;
    dtc_txid id;
    dtc_outcome out;
    char txt[DTC_TXID_STRLEN];
    dtc_result rc;
    if (argc != 3) {
        fprintf(stderr, "usage: client INSTANCE PARTICIPANT\n");
        return 2;
    }
    if (strcmp(dtc_version(), DTC_VERSION_STRING) != 0) {
        fprintf(stderr, "client: header %s, library %s\n", DTC_VERSION_STRING, dtc_version());
        return 1;
    }
    if ((rc = dtc_open(argv[1], &inst)) != DTC_OK)
        return fail("open", rc);
    if ((rc = dtc_begin_transaction(inst, NULL, &id)) != DTC_OK)
        return fail("begin", rc);
    if ((rc = dtc_enlist(inst, &id, argv[2], payload, sizeof payload - 1)) != DTC_OK)
        return fail("enlist", rc);
    if ((rc = dtc_commit_transaction(inst, &id, NULL)) != DTC_OK)
        return fail("commit", rc);
    if ((rc = dtc_transaction_outcome(inst, &id, &out)) != DTC_OK)
        return fail("outcome", rc);
    dtc_txid_format(&id, txt);
    if (out.kind != DTC_OUTCOME_COMMITTED || out.info.nentries != 1
        || strcmp(out.info.entries[0].name, argv[2]) != 0) {
        fprintf(stderr, "client: %s: outcome %s with %u entries\n", txt,
                dtc_outcome_name(out.kind), out.info.nentries);
        return 1;
    }
    printf("committed %s\n", txt);
    dtc_close(&inst);
    return 0;
}
