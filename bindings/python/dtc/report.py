"""What the library reports about a transaction, as plain Python objects:
TxnReport (dtc_txn_info), Entry (dtc_entry_info), Outcome (dtc_outcome).
Enumerations are given by the library's own names ("committed",
"DTC_EREFUSED", "yes", ...)."""
from __future__ import annotations

from typing import Any, Callable, List

from . import _lib

_lib_ = _lib.lib


def _name(fn: Callable[[int], bytes], value: int) -> str:
    return _lib.text(fn(value))


class Entry:
    """One enlisted participant: its last request and answer."""

    def __init__(self, e: Any) -> None:
        self.name = _lib.text(e.name)
        self.op = _name(_lib_.dtc_op_name, e.op)
        self.status = _name(_lib_.dtc_entry_status_name, e.status)
        self.vote = _name(_lib_.dtc_entry_status_name, e.vote)
        self.attempts = e.attempts
        self.reason = _lib.text(e.reason)
        self.reason_code = _lib.text(e.reason_code)  # "out_of_stock", ... or ""
        self.failed_op = _name(_lib_.dtc_op_name, e.failed_op)
        self.failed_reason = _lib.text(e.failed_reason)
        self.payload = bytes(e.payload[:min(e.payload_len, _lib.PAYLOAD_MAX)])
        # voted yes and not rolled back since: what an operator's commit needs
        self.prepared = bool(_lib_.dtc_entry_prepared(e))

    def __repr__(self) -> str:
        return "<dtc.Entry %s op=%s status=%s vote=%s%s>" % (
            self.name, self.op, self.status, self.vote,
            " reason=%r" % self.reason if self.reason else "")


class TxnReport:
    """A transaction's slot: state name, its cause (`result`, also as
    `cause`: why it is aborting, aborted or heuristic; "DTC_OK" if nothing
    failed), entries.  From the decision log (from_log) the begin time
    and the owner are not known: None."""

    def __init__(self, info: Any, from_log: bool = False) -> None:
        self.txid = _lib.txid_str(info.id)
        self.state = _name(_lib_.dtc_txn_state_name, info.state)
        self.result = _name(_lib_.dtc_result_name, info.result)
        self.cause = self.result
        self.adopted = bool(info.adopted)
        self.adopted_why = _lib.text(info.adopted_why)  # "coordinator_stalled", ... or ""
        # committed in one phase: one participant, no decision record
        self.one_phase = bool(info.one_phase)
        self.begin_unix_ms = None if from_log else info.begin_unix_ms
        self.owner_alive = None if from_log else bool(info.owner_alive)
        n = min(info.nentries, _lib.LIMIT_MAX_PARTS_PER_TXN)
        self.entries: List[Entry] = [Entry(info.entries[i]) for i in range(n)]

    def __repr__(self) -> str:
        return "<dtc.TxnReport %s %s cause=%s %r>" % (self.txid, self.state, self.cause,
                                                      self.entries)


class Outcome:
    """How a transaction ended: kind is "committed", "aborted",
    "heuristic" or "in-flight"; result the C name of what its coordinator
    was told ("DTC_OK", the abort's cause such as "DTC_EREFUSED", or
    "DTC_EHEURISTIC"), cause why it was rolled back (dtc.h, "What each
    outcome carries")."""

    def __init__(self, out: Any) -> None:
        self.kind = _name(_lib_.dtc_outcome_name, out.kind)
        self.result = _name(_lib_.dtc_result_name, out.result)
        self.from_log = bool(out.from_log)
        self.end_unix_ms = out.end_unix_ms if out.end_unix_ms else None
        self.report = TxnReport(out.info, self.from_log)
        self.cause = self.report.cause
        self.entries = self.report.entries

    @property
    def committed(self) -> bool:
        return self.kind == "committed"

    def __repr__(self) -> str:
        return "<dtc.Outcome %s %s cause=%s %r>" % (self.kind, self.result, self.cause,
                                                    self.entries)
