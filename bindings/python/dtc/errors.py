"""Result codes and exceptions: one DtcError subclass per dtc_result.

A failing call raises the subclass of its code; `.code` is the Result,
`.name` the C name ("DTC_EREFUSED"), str() the library's dtc_strerror().
Calls that drive a transaction add `.txid` and `.report` (a TxnReport:
what each participant answered).  The python_bindings test checks that
the table covers every code the library names, in order.
"""
from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Type

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

    code: Any = None  # a Result in every subclass

    def __init__(self, message: Optional[str] = None, txid: Optional[str] = None,
                 report: Any = None) -> None:
        self.txid = txid
        self.report = report
        super().__init__(message or _lib.text(_lib.lib.dtc_strerror(self.code)))

    @property
    def name(self) -> str:
        return _lib.text(_lib.lib.dtc_result_name(self.code))


# One subclass per result code (the layout test checks the table is whole).


class InvalidArgument(DtcError):
    code = Result.EINVAL


class TransactionNotFound(DtcError):
    code = Result.ENOTFOUND


class WrongState(DtcError):
    code = Result.ESTATE


class TransactionBusy(DtcError):
    code = Result.EBUSY


class TooManyTransactions(DtcError):
    code = Result.ETXNFULL


class TooManyParticipants(DtcError):
    code = Result.EPARTFULL


class UnknownParticipant(DtcError):
    code = Result.EUNKNOWN


class ParticipantNotAlive(DtcError):
    code = Result.ENOTALIVE


class PrepareRefused(DtcError):
    code = Result.EREFUSED


class ParticipantError(DtcError):
    code = Result.EPARTICIPANT


class ParticipantTimeout(DtcError):
    code = Result.ETIMEOUT


class ParticipantFailedToCommit(DtcError):
    code = Result.ECOMMIT


class ParticipantFailedToRollback(DtcError):
    code = Result.EROLLBACK


class HeuristicOutcome(DtcError):
    code = Result.EHEURISTIC


class TransactionAborted(DtcError):
    code = Result.EABORTED


class InstanceNotRunning(DtcError):
    code = Result.ENOSEGMENT


class SupervisorNotRunning(DtcError):
    code = Result.ENOSUPERVISOR


class ShuttingDown(DtcError):
    code = Result.ESHUTDOWN


class NotADtcSegment(DtcError):
    code = Result.EMAGIC


class SegmentVersionMismatch(DtcError):
    code = Result.EVERSION


class SegmentSizeMismatch(DtcError):
    code = Result.ESIZE


class SegmentCorrupt(DtcError):
    code = Result.ECORRUPT


class ParticipantNameTaken(DtcError):
    code = Result.ENAMETAKEN


class ParticipantRegistryFull(DtcError):
    code = Result.EREGFULL


class TooBig(DtcError):
    code = Result.ETOOBIG


class SupervisorExists(DtcError):
    code = Result.EEXIST


class SystemCallFailed(DtcError):
    code = Result.ESYS


class Recovering(DtcError):
    code = Result.ERECOVERING


class DecisionLogError(DtcError):
    code = Result.ELOG


class PermissionDenied(DtcError):
    code = Result.EPERM


class AlreadyEnlisted(DtcError):
    code = Result.EDUPLICATE


class NotPrepared(DtcError):
    code = Result.ENOTPREPARED


# code -> subclass.
BY_CODE: Dict[Result, Type[DtcError]] = {cls.code: cls for cls in DtcError.__subclasses__()}
__all__ = ["Result", "DtcError"] + [cls.__name__ for cls in BY_CODE.values()]


def error(code: int, txid: Optional[str] = None, report: Any = None) -> DtcError:
    """The exception for a non-OK result code."""
    try:
        cls = BY_CODE[Result(code)]
    except (ValueError, KeyError):
        e = DtcError("dtc result %d (unknown to these bindings)" % code, txid, report)
        e.code = code
        return e
    return cls(txid=txid, report=report)


def check(code: int, txid: Optional[str] = None, report: Any = None) -> None:
    """Raises the result's exception unless it is OK."""
    if code != Result.OK:
        raise error(code, txid, report)
