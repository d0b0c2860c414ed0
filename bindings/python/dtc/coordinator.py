"""The coordinator side: TransactionManager and Transaction.

    tm = TransactionManager("shop")          # attach to dtcd's instance
    with tm.transaction() as tx:             # commit on normal exit,
        tx.enlist("inventory", "reserve sku1 2")   # rollback on exception
        tx.enlist("payment", "charge acct1 300")

A failed commit raises the DtcError subclass of its result
(PrepareRefused when a participant voted no, ...); everything was rolled
back then, and `err.report` says what each participant answered.  A
heuristic outcome (a participant that promised could not be rolled back)
raises HeuristicOutcome from commit() and rollback() alike, its cause in
`err.report.cause` (dtc.h, "What each outcome carries").
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable, List, Optional, Union

from . import _lib
from .errors import DtcError, Result, check
from .report import Outcome, TxnReport

_lib_ = _lib.lib
TxidLike = Union[str, "Transaction", _lib.Txid]


def _txid(value: TxidLike) -> _lib.Txid:
    """A Txid from its text form (or a Transaction, or a Txid)."""
    if isinstance(value, Transaction):
        return value._tid
    if isinstance(value, _lib.Txid):
        return value
    tid = _lib.Txid()
    check(_lib_.dtc_txid_parse(_lib.c_text(str(value), "transaction id"),
                               ctypes.byref(tid)))
    return tid


class TransactionManager(_lib.Closing):
    """An attachment to a dtc instance (dtc_open): None means
    $DTC_INSTANCE, else "default".  Close it (or use `with`).  Threads
    may share it; close() waits for the calls in progress to return."""

    def __init__(self, instance: Optional[str] = None) -> None:
        self._inst = ctypes.c_void_p()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._calls = 0  # library calls in progress on _inst
        name = _lib.c_text(instance, "instance name") if instance is not None else None
        check(_lib_.dtc_open(name, ctypes.byref(self._inst)))
        self.instance = _lib.text(_lib_.dtc_instance_name(self._inst))

    def close(self) -> None:
        with self._lock:
            while self._calls:
                self._idle.wait()
            if self._inst:
                _lib_.dtc_close(ctypes.byref(self._inst))

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        """fn(instance, *args), the instance kept open until it returns."""
        with self._lock:
            if not self._inst:
                raise ValueError("dtc: the TransactionManager is closed")
            self._calls += 1
        try:
            return fn(self._inst, *args)
        finally:
            with self._lock:
                self._calls -= 1
                if not self._calls:
                    self._idle.notify_all()

    def begin(self, prepare_timeout_ms: Optional[int] = None,
              commit_timeout_ms: Optional[int] = None,
              rollback_timeout_ms: Optional[int] = None,
              max_retries: Optional[int] = None) -> "Transaction":
        """Starts a transaction (library defaults for options left None).
        An option outside 0..2**32-1 raises OverflowError; the library
        refuses values outside its own limits (InvalidArgument)."""
        opts = _lib.TxnOptions()
        _lib_.dtc_txn_options_default(ctypes.byref(opts))
        for field, value in (("prepare_timeout_ms", prepare_timeout_ms),
                             ("commit_timeout_ms", commit_timeout_ms),
                             ("rollback_timeout_ms", rollback_timeout_ms),
                             ("max_retries", max_retries)):
            if value is not None:
                setattr(opts, field, _lib.c_int(value, field, 0, _lib.UINT32_MAX))
        tid = _lib.Txid()
        check(self._call(_lib_.dtc_begin_transaction, ctypes.byref(opts),
                         ctypes.byref(tid)))
        return Transaction(self, tid)

    def transaction(self, **options: Optional[int]) -> "Transaction":
        """begin() for a `with` block: commits on normal exit, rolls back
        if the block raises."""
        return self.begin(**options)

    def outcome(self, txid: TxidLike) -> Outcome:
        """How transaction `txid` (text form) ended, or that it has not:
        an Outcome.  TransactionNotFound if this instance never decided it
        (presumed aborted) or it aged out of the decision log."""
        tid = _txid(txid)
        out = _lib.Outcome()
        rc = self._call(_lib_.dtc_transaction_outcome, ctypes.byref(tid),
                        ctypes.byref(out))
        check(rc, txid=_lib.txid_str(tid))
        return Outcome(out)

    def status(self, txid: TxidLike) -> TxnReport:
        """The slot of an in-flight transaction: a TxnReport.
        TransactionNotFound once it has ended (see outcome())."""
        tid = _txid(txid)
        info = _lib.TxnInfo()
        rc = self._call(_lib_.dtc_transaction_status, ctypes.byref(tid),
                        ctypes.byref(info))
        check(rc, txid=_lib.txid_str(tid))
        return TxnReport(info)

    def _operator(self, fn: Callable[..., int], txid: TxidLike,
                  *args: Any) -> Optional[TxnReport]:
        tid = _txid(txid)
        info = _lib.TxnInfo()
        rc = self._call(fn, ctypes.byref(tid), *args, ctypes.byref(info))
        report = TxnReport(info) if rc != Result.ENOTFOUND else None
        check(rc, txid=_lib.txid_str(tid), report=report)
        return report

    def retry(self, txid: TxidLike) -> Optional[TxnReport]:
        """Operator: retries the transaction's failed deliveries now (on a
        HEURISTIC one, the rollback phase again).  The report."""
        return self._operator(_lib_.dtc_retry_transaction, txid)

    def resolve(self, txid: TxidLike, commit: bool) -> Optional[TxnReport]:
        """Operator: ends a HEURISTIC transaction, committed (commit=True)
        or rolled back.  A commit is refused (NotPrepared, nothing sent;
        err.report's entries say who is not `prepared`) unless every
        participant voted yes and was not rolled back since."""
        return self._operator(_lib_.dtc_resolve_transaction, txid, 1 if commit else 0)

    def participants(self) -> List[str]:
        """Names of the registered, live participants."""
        st = _lib.Status()
        check(self._call(_lib_.dtc_get_status, ctypes.byref(st)))
        arr = (_lib.ParticipantInfo * max(1, st.limits.max_participants))()
        n = ctypes.c_size_t()
        check(self._call(_lib_.dtc_list_participants, arr, len(arr), ctypes.byref(n)))
        return [_lib.text(p.name) for p in arr[:min(n.value, len(arr))] if p.alive]


class Transaction:
    """One transaction, from TransactionManager.begin()."""

    def __init__(self, tm: TransactionManager, tid: _lib.Txid) -> None:
        self._tm = tm
        self._tid = tid
        self.id = _lib.txid_str(tid)
        self.finished = False

    def __repr__(self) -> str:
        return "<dtc.Transaction %s>" % self.id

    def _drive(self, fn: Callable[..., int]) -> TxnReport:
        info = _lib.TxnInfo()
        rc = self._tm._call(fn, ctypes.byref(self._tid), ctypes.byref(info))
        if rc == Result.ENOTFOUND:  # no slot, nothing to report
            check(rc, txid=self.id)
        report = TxnReport(info)
        check(rc, txid=self.id, report=report)
        return report

    def enlist(self, name: str, payload: Union[str, bytes] = "") -> None:
        """Adds participant `name` with `payload` (str or bytes)."""
        data = _lib.c_payload(payload)
        check(self._tm._call(_lib_.dtc_enlist, ctypes.byref(self._tid),
                             _lib.c_text(name, "participant name"), data, len(data)),
              txid=self.id)

    def prepare(self) -> TxnReport:
        """Phase one; a failed prepare rolls everything back and raises."""
        try:
            return self._drive(_lib_.dtc_prepare_transaction)
        except Exception:
            self.finished = True
            raise

    def commit(self) -> TxnReport:
        """Both phases (or phase two after prepare()): the report, or the
        exception of the result (everything rolled back, except for
        HeuristicOutcome)."""
        self.finished = True
        return self._drive(_lib_.dtc_commit_transaction)

    def rollback(self) -> TxnReport:
        """Rolls back every enlisted participant; idempotent (once ended it
        answers from the outcome).  HeuristicOutcome if one that voted yes
        could not be rolled back."""
        self.finished = True
        return self._drive(_lib_.dtc_rollback_transaction)

    @property
    def status(self) -> TxnReport:
        """The slot's state while in flight (TransactionNotFound after)."""
        return self._tm.status(self._tid)

    @property
    def outcome(self) -> Outcome:
        """How it ended (or "in-flight"): an Outcome."""
        return self._tm.outcome(self._tid)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.finished:
            return
        if exc_type is None:
            self.commit()
            return
        try:
            self.rollback()
        except DtcError as err:  # the block's own exception goes on
            if hasattr(exc, "add_note"):
                exc.add_note("dtc: the rollback of %s failed too: %s" % (self.id, err))
