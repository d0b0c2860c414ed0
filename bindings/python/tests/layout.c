/*
 * layout.c - prints the layout of every struct of dtc.h that the Python
 * bindings mirror (bindings/python/dtc/_lib.py), and the constants they
 * copy, as the C compiler sees them: "size STRUCT N", "offset STRUCT
 * FIELD N", "const NAME VALUE".  test_layout.py compares them with
 * ctypes, so a layout change in dtc.h fails the python_bindings test.
 */
#include <stddef.h>
#include <stdio.h>

#include "dtc/dtc.h"

#define SIZE(s) printf("size %s %zu\n", #s, sizeof(s))
#define OFF(s, f) printf("offset %s %s %zu\n", #s, #f, offsetof(s, f))
#define CONST(c) printf("const %s %ld\n", #c, (long)(c))

static void txn_structs(void)
{
    SIZE(dtc_txid);
    OFF(dtc_txid, bytes);
    SIZE(dtc_limits);
    OFF(dtc_limits, max_txns); OFF(dtc_limits, max_parts_per_txn);
    OFF(dtc_limits, max_participants);
    SIZE(dtc_txn_options);
    OFF(dtc_txn_options, prepare_timeout_ms); OFF(dtc_txn_options, commit_timeout_ms);
    OFF(dtc_txn_options, rollback_timeout_ms); OFF(dtc_txn_options, max_retries);
    SIZE(dtc_entry_info);
    OFF(dtc_entry_info, name); OFF(dtc_entry_info, op); OFF(dtc_entry_info, status);
    OFF(dtc_entry_info, vote); OFF(dtc_entry_info, attempts);
    OFF(dtc_entry_info, next_retry_ms); OFF(dtc_entry_info, reason);
    OFF(dtc_entry_info, reason_code); OFF(dtc_entry_info, failed_op);
    OFF(dtc_entry_info, failed_status); OFF(dtc_entry_info, failed_reason);
    OFF(dtc_entry_info, failed_reason_code); OFF(dtc_entry_info, payload_len);
    OFF(dtc_entry_info, payload);
    SIZE(dtc_txn_info);
    OFF(dtc_txn_info, id); OFF(dtc_txn_info, state); OFF(dtc_txn_info, generation);
    OFF(dtc_txn_info, owner_pid); OFF(dtc_txn_info, adopted); OFF(dtc_txn_info, age_ms);
    OFF(dtc_txn_info, nentries); OFF(dtc_txn_info, entries); OFF(dtc_txn_info, result);
    OFF(dtc_txn_info, quarantined); OFF(dtc_txn_info, begin_unix_ms);
    OFF(dtc_txn_info, owner_alive); OFF(dtc_txn_info, adopted_why);
    OFF(dtc_txn_info, one_phase);
    SIZE(dtc_outcome);
    OFF(dtc_outcome, kind); OFF(dtc_outcome, result); OFF(dtc_outcome, from_log);
    OFF(dtc_outcome, end_unix_ms); OFF(dtc_outcome, info);
}

static void participant_structs(void)
{
    SIZE(dtc_request);
    OFF(dtc_request, txid); OFF(dtc_request, op); OFF(dtc_request, payload);
    OFF(dtc_request, payload_len); OFF(dtc_request, reason);
    SIZE(dtc_participant_ops);
    OFF(dtc_participant_ops, enlist); OFF(dtc_participant_ops, prepare);
    OFF(dtc_participant_ops, commit); OFF(dtc_participant_ops, rollback);
    OFF(dtc_participant_ops, flush); OFF(dtc_participant_ops, ctx);
    SIZE(dtc_counters);
    OFF(dtc_counters, begun); OFF(dtc_counters, committed); OFF(dtc_counters, aborted);
    OFF(dtc_counters, timed_out); OFF(dtc_counters, reclaimed);
    OFF(dtc_counters, heuristic); OFF(dtc_counters, readonly_votes);
    OFF(dtc_counters, one_phase);
    SIZE(dtc_status);
    OFF(dtc_status, instance); OFF(dtc_status, limits); OFF(dtc_status, segment_size);
    OFF(dtc_status, layout_version); OFF(dtc_status, supervisor_pid);
    OFF(dtc_status, supervisor_alive); OFF(dtc_status, shutting_down);
    OFF(dtc_status, txns_in_use); OFF(dtc_status, participants_registered);
    OFF(dtc_status, corrupt_slots); OFF(dtc_status, counters);
    OFF(dtc_status, recovering); OFF(dtc_status, decision_log);
    OFF(dtc_status, dlog_file); OFF(dtc_status, dlog_written_lsn);
    OFF(dtc_status, dlog_durable_lsn); OFF(dtc_status, dlog_records);
    OFF(dtc_status, dlog_syncs);
    OFF(dtc_status, dlog_error);
    OFF(dtc_status, dlog_error_since_ms);
    SIZE(dtc_participant_info);
    OFF(dtc_participant_info, name); OFF(dtc_participant_info, slot);
    OFF(dtc_participant_info, pid); OFF(dtc_participant_info, alive);
    OFF(dtc_participant_info, pending); OFF(dtc_participant_info, served);
    OFF(dtc_participant_info, errors); OFF(dtc_participant_info, last_ns);
    OFF(dtc_participant_info, yes); OFF(dtc_participant_info, no);
    OFF(dtc_participant_info, syncs);
}

int main(void)
{
    txn_structs();
    participant_structs();
    CONST(DTC_NAME_MAX); CONST(DTC_PAYLOAD_MAX); CONST(DTC_REASON_MAX);
    CONST(DTC_INSTANCE_MAX); CONST(DTC_LIMIT_MAX_PARTS_PER_TXN); CONST(DTC_TXID_STRLEN);
    CONST(DTC_RESULT_COUNT); CONST(DTC_VOTE_YES); CONST(DTC_VOTE_NO); CONST(DTC_VOTE_ERROR);
    CONST(DTC_VOTE_READONLY);
    CONST(DTC_VERSION_MAJOR); CONST(DTC_VERSION_MINOR);
    printf("version %s\n", DTC_VERSION_STRING);
    return fflush(stdout) == 0 ? 0 : 1;
}
