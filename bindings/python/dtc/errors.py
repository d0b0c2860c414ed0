"""Result codes and exceptions: one DtcError subclass per dtc_result.

A failing call raises the subclass of its code; `.code` is the Result,
`.name` the C name ("DTC_EREFUSED"), str() the library's dtc_strerror().
Calls that drive a transaction add `.txid` and `.report` (a TxnReport:
what each participant answered).  The python_bindings test checks that
the table covers every code the library names, in order.
"""
import enum

from . import _lib


class Result(enum.IntEnum):
    OK = 0
    EINVAL = 1
    ENOTFOUND = 2
    ESTATE = 3
    EBUSY = 4
    ETXNFULL = 5
    EPARTFULL = 6
    EUNKNOWN = 7
    ENOTALIVE = 8
    EREFUSED = 9
    EPARTICIPANT = 10
    ETIMEOUT = 11
    ECOMMIT = 12
    EROLLBACK = 13
    EHEURISTIC = 14
    EABORTED = 15
    ENOSEGMENT = 16
    ENOSUPERVISOR = 17
    ESHUTDOWN = 18
    EMAGIC = 19
    EVERSION = 20
    ESIZE = 21
    ECORRUPT = 22
    ENAMETAKEN = 23
    EREGFULL = 24
    ETOOBIG = 25
    EEXIST = 26
    ESYS = 27
    ERECOVERING = 28
    ELOG = 29
    EPERM = 30
    EDUPLICATE = 31
    ENOTPREPARED = 32


class DtcError(Exception):
    """A dtc call failed; `.code` says why (a Result)."""

    code = None

    def __init__(self, message=None, txid=None, report=None):
        self.txid = txid
        self.report = report
        super().__init__(message or _lib.text(_lib.lib.dtc_strerror(self.code)))

    @property
    def name(self):
        return _lib.text(_lib.lib.dtc_result_name(self.code))


_CLASSES = [
    ("InvalidArgument", Result.EINVAL),
    ("TransactionNotFound", Result.ENOTFOUND),
    ("WrongState", Result.ESTATE),
    ("TransactionBusy", Result.EBUSY),
    ("TooManyTransactions", Result.ETXNFULL),
    ("TooManyParticipants", Result.EPARTFULL),
    ("UnknownParticipant", Result.EUNKNOWN),
    ("ParticipantNotAlive", Result.ENOTALIVE),
    ("PrepareRefused", Result.EREFUSED),
    ("ParticipantError", Result.EPARTICIPANT),
    ("ParticipantTimeout", Result.ETIMEOUT),
    ("ParticipantFailedToCommit", Result.ECOMMIT),
    ("ParticipantFailedToRollback", Result.EROLLBACK),
    ("HeuristicOutcome", Result.EHEURISTIC),
    ("TransactionAborted", Result.EABORTED),
    ("InstanceNotRunning", Result.ENOSEGMENT),
    ("SupervisorNotRunning", Result.ENOSUPERVISOR),
    ("ShuttingDown", Result.ESHUTDOWN),
    ("NotADtcSegment", Result.EMAGIC),
    ("SegmentVersionMismatch", Result.EVERSION),
    ("SegmentSizeMismatch", Result.ESIZE),
    ("SegmentCorrupt", Result.ECORRUPT),
    ("ParticipantNameTaken", Result.ENAMETAKEN),
    ("ParticipantRegistryFull", Result.EREGFULL),
    ("TooBig", Result.ETOOBIG),
    ("SupervisorExists", Result.EEXIST),
    ("SystemCallFailed", Result.ESYS),
    ("Recovering", Result.ERECOVERING),
    ("DecisionLogError", Result.ELOG),
    ("PermissionDenied", Result.EPERM),
    ("AlreadyEnlisted", Result.EDUPLICATE),
    ("NotPrepared", Result.ENOTPREPARED),
]

# code -> subclass; the classes are also this module's names.
BY_CODE = {}
for _name, _code in _CLASSES:
    BY_CODE[_code] = type(_name, (DtcError,), {"code": _code, "__module__": __name__})
    globals()[_name] = BY_CODE[_code]
__all__ = ["Result", "DtcError"] + [n for n, _ in _CLASSES]


def error(code, txid=None, report=None):
    """The exception for a non-OK result code."""
    try:
        cls = BY_CODE[Result(code)]
    except (ValueError, KeyError):
        e = DtcError("dtc result %d (unknown to these bindings)" % code, txid, report)
        e.code = code
        return e
    return cls(txid=txid, report=report)


def check(code, txid=None, report=None):
    """Raises the result's exception unless it is OK."""
    if code != Result.OK:
        raise error(code, txid, report)
