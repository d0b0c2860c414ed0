"""The participant side: subclass Participant, then serve().

    class Ledger(dtc.Participant):
        def prepare(self, txid, payload):
            return self.can_apply(payload)      # False: vote no
        def commit(self, txid, payload):
            self.apply(txid, payload)           # raise: commit failed
        def rollback(self, txid, payload):
            self.forget(txid)

    Ledger("ledger", instance="shop").serve()   # until stop() / SIGTERM

The library calls these methods from serve()'s thread, one request at a
time.  prepare (and enlist) return True for yes, False for no, or raise
for an error vote; commit and rollback return normally on success or
raise; the exception's text is the reason the coordinator sees.  Like the
C callbacks they must be idempotent per transaction id.  The payload is
str (UTF-8; undecodable bytes kept as surrogates).
"""
import ctypes
import signal
import threading

from . import _lib
from .errors import check

_lib_ = _lib.lib
VOTE_YES, VOTE_NO, VOTE_ERROR = 0, 1, 2


def _set_reason(rq, exc):
    """Copies str(exc) into the request's reason buffer (bounded, NUL)."""
    if not rq.reason:
        return
    msg = (str(exc) or type(exc).__name__).encode("utf-8", "replace")
    msg = msg[:_lib.REASON_MAX - 1] + b"\0"
    ctypes.memmove(rq.reason, msg, len(msg))


class Participant(_lib.Closing):
    """A participant process: registers `name` at `instance` (None:
    $DTC_INSTANCE, else "default") on the first serve() and serves
    requests through the methods below (override them)."""

    poll_ms = 200  # serve(): the longest wait before stop() is seen

    def __init__(self, name, instance=None):
        self.name = name
        self._instance_name = instance
        self._inst = ctypes.c_void_p()
        self._part = ctypes.c_void_p()
        self._stop = threading.Event()
        self._pending = None  # a BaseException raised in a callback
        self._ops = _lib.ParticipantOps(
            enlist=_lib.VOTE_FN(self._vote_cb("enlist")),
            prepare=_lib.VOTE_FN(self._vote_cb("prepare")),
            commit=_lib.DONE_FN(self._done_cb("commit")),
            rollback=_lib.DONE_FN(self._done_cb("rollback")),
            flush=_lib.FLUSH_FN(self._flush_cb))

    # ---- to override -------------------------------------------------

    def enlist(self, txid, payload):
        """Enlist work step (records what the payload touches): a vote."""
        return True

    def prepare(self, txid, payload):
        """The vote: True yes, False no, raise for an error vote."""
        return True

    def commit(self, txid, payload):
        """Make the prepared work durable; raise if it cannot be."""

    def rollback(self, txid, payload):
        """Undo the prepared work (also for never-prepared ids)."""

    def flush(self):
        """Once after every batch, before its answers are published."""

    # ---- serving -------------------------------------------------------

    def register(self):
        """Attaches and registers the name (done by serve() if needed)."""
        if self._part:
            return
        if not self._inst:
            name = self._instance_name.encode() if self._instance_name is not None else None
            check(_lib_.dtc_open(name, ctypes.byref(self._inst)))
        check(_lib_.dtc_participant_register(self._inst, self.name.encode(),
                                             ctypes.byref(self._part)))

    def serve_once(self, timeout_ms=None):
        """Serves one batch, waiting up to timeout_ms: how many requests."""
        self.register()
        served = ctypes.c_uint()
        wait = self.poll_ms if timeout_ms is None else timeout_ms
        rc = _lib_.dtc_participant_serve_once(self._part, ctypes.byref(self._ops),
                                              int(wait), ctypes.byref(served))
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        check(rc)
        return served.value

    def serve(self, handle_signals=True):
        """Serves until stop() (from a callback, another thread or, with
        handle_signals in the main thread, SIGTERM/SIGINT)."""
        old = {}
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

    def stop(self):
        self._stop.set()

    def outcome(self, txid):
        """Recovery: "committed", "aborted", "in-flight" or "heuristic" for
        a transaction this process holds prepared."""
        from .coordinator import _txid
        self.register()
        kind = ctypes.c_int()
        check(_lib_.dtc_participant_outcome(self._part, ctypes.byref(_txid(txid)),
                                            ctypes.byref(kind)))
        return _lib.text(_lib_.dtc_outcome_name(kind.value))

    def close(self):
        """Unregisters and detaches."""
        if self._part:
            _lib_.dtc_participant_unregister(ctypes.byref(self._part))
        if self._inst:
            _lib_.dtc_close(ctypes.byref(self._inst))

    # ---- ctypes callbacks: never let an exception into C ---------------

    @staticmethod
    def _args(rq):
        payload = ctypes.string_at(rq.payload, rq.payload_len) if rq.payload else b""
        return _lib.txid_str(rq.txid), payload.decode("utf-8", "surrogateescape")

    def _vote_cb(self, method):
        def cb(_ctx, rqp):
            rq = rqp.contents
            try:
                return VOTE_YES if getattr(self, method)(*self._args(rq)) else VOTE_NO
            except Exception as exc:  # noqa: BLE001 - an error vote
                _set_reason(rq, exc)
            except BaseException as exc:  # KeyboardInterrupt...: after the batch
                self._pending = exc
                _set_reason(rq, exc)
            return VOTE_ERROR
        return cb

    def _done_cb(self, method):
        def cb(_ctx, rqp):
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

    def _flush_cb(self, _ctx):
        try:
            self.flush()
            return 0
        except BaseException as exc:  # noqa: BLE001
            self._pending = exc
            return -1
