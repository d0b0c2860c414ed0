"""The participant side: subclass Participant, then serve().

    class Ledger(dtc.Participant):
        def prepare(self, txid, payload):
            return self.can_apply(payload)      # False: vote no
        def commit(self, txid, payload):
            self.apply(txid, payload)           # raise: commit failed
        def rollback(self, txid, payload):
            self.forget(txid)

    Ledger("ledger", instance="shop").serve()   # until stop() / SIGTERM

commit and rollback are abstract: a subclass must define both (prepare
votes yes unless overridden).  The library calls these methods from
serve()'s thread, one request at a time.  prepare (and enlist) return
True for yes, False for no, or raise for an error vote; prepare may
also return dtc.READ_ONLY: the request changes nothing here, the
participant keeps nothing for it, and it is sent no commit or rollback
(XA's read-only vote; from enlist it means yes); commit and
rollback return normally on success or raise; the exception's text is
the reason the coordinator sees.  Like the C callbacks they must be
idempotent per transaction id.  The payload is str (UTF-8; undecodable
bytes kept as surrogates).

One thread serves a Participant at a time: serve_once() from a second
thread, or from inside a callback, raises TransactionBusy.  close() from
inside a callback is deferred until the serving call returns; close()
from another thread waits for the serving call to return (at most its
timeout: serve() polls every poll_ms), then unregisters.
"""
from __future__ import annotations

import abc
import ctypes
import signal
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from . import _lib
from .errors import BY_CODE, Result, check

_lib_ = _lib.lib
VOTE_YES, VOTE_NO, VOTE_ERROR, VOTE_READONLY = 0, 1, 2, 3


class _ReadOnly:
    """The type of READ_ONLY."""

    def __repr__(self) -> str:
        return "dtc.READ_ONLY"


# What prepare returns for a read-only vote (DTC_VOTE_READONLY).
READ_ONLY = _ReadOnly()


def _set_reason(rq: _lib.Request, exc: BaseException) -> None:
    """Copies str(exc) into the request's reason buffer (bounded, NUL)."""
    if not rq.reason:
        return
    msg = (str(exc) or type(exc).__name__).encode("utf-8", "replace")
    msg = msg.replace(b"\0", b" ")[:_lib.REASON_MAX - 1] + b"\0"
    ctypes.memmove(rq.reason, msg, len(msg))


class Participant(_lib.Closing, abc.ABC):
    """A participant process: registers `name` at `instance` (None:
    $DTC_INSTANCE, else "default") on the first serve() and serves
    requests through the methods below (commit and rollback must be
    overridden)."""

    poll_ms = 200  # serve(): the longest wait before stop() is seen

    def __init__(self, name: str, instance: Optional[str] = None) -> None:
        self._name_c = _lib.c_text(name, "participant name")
        self._instance_c = (_lib.c_text(instance, "instance name")
                            if instance is not None else None)
        self.name = name
        self._instance_name = instance
        self._inst = ctypes.c_void_p()
        self._part = ctypes.c_void_p()
        self._stop = threading.Event()
        self._pending: Optional[BaseException] = None  # raised in a callback
        # One lock over the handle: who serves, and whether close() waits.
        self._lock = threading.RLock()  # RLock: a signal handler may close()
        self._idle = threading.Condition(self._lock)
        self._serving: Optional[threading.Thread] = None
        self._close_pending = False
        self._closed = False
        self._ops = _lib.ParticipantOps(
            enlist=_lib.VOTE_FN(self._vote_cb("enlist")),
            prepare=_lib.VOTE_FN(self._vote_cb("prepare")),
            commit=_lib.DONE_FN(self._done_cb("commit")),
            rollback=_lib.DONE_FN(self._done_cb("rollback")),
            flush=_lib.FLUSH_FN(self._flush_cb))

    # ---- to override -------------------------------------------------

    def enlist(self, txid: str, payload: str) -> bool:
        """Enlist work step (records what the payload touches): a vote."""
        return True

    def prepare(self, txid: str, payload: str) -> Any:
        """The vote: True yes, False no, READ_ONLY read-only (nothing to
        change: no commit or rollback follows), raise for an error vote."""
        return True

    @abc.abstractmethod
    def commit(self, txid: str, payload: str) -> None:
        """Make the prepared work durable; raise if it cannot be."""

    @abc.abstractmethod
    def rollback(self, txid: str, payload: str) -> None:
        """Undo the prepared work (also for never-prepared ids)."""

    def flush(self) -> None:
        """Once after every batch, before its answers are published."""

    # ---- serving -------------------------------------------------------

    def _closed_error(self) -> ValueError:
        return ValueError("dtc: participant %r is closed" % self.name)

    def _register_locked(self) -> None:
        if self._closed or self._close_pending:
            raise self._closed_error()
        if self._part:
            return
        if not self._inst:
            check(_lib_.dtc_open(self._instance_c, ctypes.byref(self._inst)))
        check(_lib_.dtc_participant_register(self._inst, self._name_c,
                                             ctypes.byref(self._part)))

    def register(self) -> None:
        """Attaches and registers the name (done by serve() if needed)."""
        with self._lock:
            self._register_locked()

    def serve_once(self, timeout_ms: Optional[int] = None) -> int:
        """Serves one batch, waiting up to timeout_ms (0..2**31-1): how
        many requests.  TransactionBusy if another thread serves this
        participant or a callback of it calls this."""
        wait = _lib.c_int(self.poll_ms if timeout_ms is None else timeout_ms,
                          "timeout_ms", 0, _lib.INT_MAX)
        me = threading.current_thread()
        with self._lock:
            if self._serving is not None:
                raise BY_CODE[Result.EBUSY](
                    "dtc: participant %r is already served by %s (one thread "
                    "serves a participant; callbacks may not serve)"
                    % (self.name, "this thread" if self._serving is me
                       else "thread %r" % self._serving.name))
            self._register_locked()
            self._serving = me
        served = ctypes.c_uint()
        try:
            rc = _lib_.dtc_participant_serve_once(self._part, ctypes.byref(self._ops),
                                                  wait, ctypes.byref(served))
        finally:
            with self._lock:
                self._serving = None
                if self._close_pending:
                    self._close_locked()
                self._idle.notify_all()
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        check(rc)
        return served.value

    def serve(self, handle_signals: bool = True) -> None:
        """Serves until stop() or close() (from a callback, another thread
        or, with handle_signals in the main thread, SIGTERM/SIGINT)."""
        old: Dict[signal.Signals, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                old[sig] = signal.signal(sig, lambda *_: self.stop())
        try:
            self.register()
            while not self._stop.is_set():
                self.serve_once()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        self._stop.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def outcome(self, txid: str) -> str:
        """Recovery: "committed", "aborted", "in-flight" or "heuristic" for
        a transaction this process holds prepared."""
        from .coordinator import _txid
        tid = _txid(txid)
        kind = ctypes.c_int()
        with self._lock:
            self._register_locked()
            check(_lib_.dtc_participant_outcome(self._part, ctypes.byref(tid),
                                                ctypes.byref(kind)))
        return _lib.text(_lib_.dtc_outcome_name(kind.value))

    def close(self) -> None:
        """Unregisters and detaches; serve() then returns.  From inside a
        callback: done when the serving call returns.  From another
        thread while one serves: waits for that call to return first."""
        me = threading.current_thread()
        with self._lock:
            self._stop.set()
            if self._serving is me:  # inside a callback: its batch is in use
                self._close_pending = True
                return
            if self._serving is not None:
                self._close_pending = True
                while self._serving is not None:
                    self._idle.wait()
            self._close_locked()

    def _close_locked(self) -> None:
        self._close_pending = False
        self._closed = True
        if self._part:
            check(_lib_.dtc_participant_unregister(ctypes.byref(self._part)))
        if self._inst:
            _lib_.dtc_close(ctypes.byref(self._inst))

    # ---- ctypes callbacks: never let an exception into C ---------------

    @staticmethod
    def _args(rq: _lib.Request) -> Tuple[str, str]:
        payload = ctypes.string_at(rq.payload, rq.payload_len) if rq.payload else b""
        return _lib.txid_str(rq.txid), payload.decode("utf-8", "surrogateescape")

    def _vote_cb(self, method: str) -> Callable[[Any, Any], int]:
        def cb(_ctx: Any, rqp: Any) -> int:
            rq = rqp.contents
            try:
                vote = getattr(self, method)(*self._args(rq))
                if vote is READ_ONLY:
                    return VOTE_READONLY if method == "prepare" else VOTE_YES
                return VOTE_YES if vote else VOTE_NO
            except Exception as exc:  # noqa: BLE001 - an error vote
                _set_reason(rq, exc)
            except BaseException as exc:  # KeyboardInterrupt...: after the batch
                self._pending = exc
                _set_reason(rq, exc)
            return VOTE_ERROR
        return cb

    def _done_cb(self, method: str) -> Callable[[Any, Any], int]:
        def cb(_ctx: Any, rqp: Any) -> int:
            rq = rqp.contents
            try:
                getattr(self, method)(*self._args(rq))
                return 0
            except Exception as exc:  # noqa: BLE001 - a failed delivery
                _set_reason(rq, exc)
            except BaseException as exc:
                self._pending = exc
                _set_reason(rq, exc)
            return -1
        return cb

    def _flush_cb(self, _ctx: Any) -> int:
        try:
            self.flush()
            return 0
        except BaseException as exc:  # noqa: BLE001
            self._pending = exc
            return -1
