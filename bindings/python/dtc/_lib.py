"""libdtc.so loaded with ctypes: the mirrored structs and prototypes.

Every struct here mirrors include/dtc/dtc.h field by field, in order; the
python_bindings test compares each one's size and field offsets with the
C compiler's (bindings/python/tests/layout.c), so a layout change in dtc.h fails loudly.
The library is found through $DTC_LIBRARY, else next to an installed
package (PREFIX/lib/python3*/dist-packages/dtc -> PREFIX/lib...), else the
dynamic linker's own search (ctypes.util.find_library, libdtc.so.MAJOR),
else a source tree's build/lib.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import operator
import os
import pathlib
from typing import Any, Iterator, Optional, Tuple, Union

# The ABI these mirrors are written for: libdtc.so.0, version 0.1.x.
ABI_MAJOR, ABI_MINOR = 0, 1
SONAME = "libdtc.so.%d" % ABI_MAJOR

NAME_MAX = 32
PAYLOAD_MAX = 256
REASON_MAX = 128
REASON_CODE_MAX = 24
INSTANCE_MAX = 48
LIMIT_MAX_PARTS_PER_TXN = 32
TXID_STRLEN = 37
INT_MAX = 2**31 - 1      # a C int argument (timeouts)
UINT32_MAX = 2**32 - 1   # a uint32_t field (dtc_txn_options)

_enum = ctypes.c_int
_pid_t = ctypes.c_int


class Txid(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_ubyte * 16)]


class Limits(ctypes.Structure):
    _fields_ = [("max_txns", ctypes.c_uint32),
                ("max_parts_per_txn", ctypes.c_uint32),
                ("max_participants", ctypes.c_uint32)]


class TxnOptions(ctypes.Structure):
    _fields_ = [("prepare_timeout_ms", ctypes.c_uint32),
                ("commit_timeout_ms", ctypes.c_uint32),
                ("rollback_timeout_ms", ctypes.c_uint32),
                ("max_retries", ctypes.c_uint32)]


class EntryInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * NAME_MAX),
                ("op", _enum),
                ("status", _enum),
                ("vote", _enum),
                ("attempts", ctypes.c_uint32),
                ("next_retry_ms", ctypes.c_int64),
                ("reason", ctypes.c_char * REASON_MAX),
                ("reason_code", ctypes.c_char * REASON_CODE_MAX),
                ("failed_op", _enum),
                ("failed_status", _enum),
                ("failed_reason", ctypes.c_char * REASON_MAX),
                ("failed_reason_code", ctypes.c_char * REASON_CODE_MAX),
                ("payload_len", ctypes.c_uint32),
                ("payload", ctypes.c_char * (PAYLOAD_MAX + 1))]


class TxnInfo(ctypes.Structure):
    _fields_ = [("id", Txid),
                ("state", _enum),
                ("generation", ctypes.c_uint32),
                ("owner_pid", _pid_t),
                ("adopted", ctypes.c_int),
                ("age_ms", ctypes.c_uint64),
                ("nentries", ctypes.c_uint32),
                ("entries", EntryInfo * LIMIT_MAX_PARTS_PER_TXN),
                ("result", _enum),
                ("quarantined", ctypes.c_int),
                ("begin_unix_ms", ctypes.c_int64),
                ("owner_alive", ctypes.c_int),
                ("adopted_why", ctypes.c_char * REASON_CODE_MAX),
                ("one_phase", ctypes.c_int)]


class Outcome(ctypes.Structure):
    _fields_ = [("kind", _enum),
                ("result", _enum),
                ("from_log", ctypes.c_int),
                ("end_unix_ms", ctypes.c_int64),
                ("info", TxnInfo)]


class Request(ctypes.Structure):
    _fields_ = [("txid", Txid),
                ("op", _enum),
                ("payload", ctypes.c_void_p),
                ("payload_len", ctypes.c_size_t),
                ("reason", ctypes.c_void_p)]


VOTE_FN = ctypes.CFUNCTYPE(_enum, ctypes.c_void_p, ctypes.POINTER(Request))
DONE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(Request))
FLUSH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class ParticipantOps(ctypes.Structure):
    _fields_ = [("enlist", VOTE_FN),
                ("prepare", VOTE_FN),
                ("commit", DONE_FN),
                ("rollback", DONE_FN),
                ("flush", FLUSH_FN),
                ("ctx", ctypes.c_void_p)]


class Counters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("begun", "committed", "aborted", "timed_out", "reclaimed", "heuristic",
                 "readonly_votes", "one_phase")]


class Status(ctypes.Structure):
    _fields_ = [("instance", ctypes.c_char * INSTANCE_MAX),
                ("limits", Limits),
                ("segment_size", ctypes.c_size_t),
                ("layout_version", ctypes.c_uint32),
                ("supervisor_pid", _pid_t),
                ("supervisor_alive", ctypes.c_int),
                ("shutting_down", ctypes.c_int),
                ("txns_in_use", ctypes.c_uint32),
                ("participants_registered", ctypes.c_uint32),
                ("corrupt_slots", ctypes.c_uint32),
                ("counters", Counters),
                ("recovering", ctypes.c_int),
                ("decision_log", ctypes.c_int),
                ("dlog_file", ctypes.c_uint64),
                ("dlog_written_lsn", ctypes.c_uint64),
                ("dlog_durable_lsn", ctypes.c_uint64),
                ("dlog_records", ctypes.c_uint64),
                ("dlog_syncs", ctypes.c_uint64),
                ("dlog_error", ctypes.c_int),
                ("dlog_error_since_ms", ctypes.c_int64)]


class ParticipantInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * NAME_MAX),
                ("slot", ctypes.c_uint32),
                ("pid", _pid_t),
                ("alive", ctypes.c_int),
                ("pending", ctypes.c_uint32),
                ("served", ctypes.c_uint64),
                ("errors", ctypes.c_uint64),
                ("last_ns", ctypes.c_int64),
                ("yes", ctypes.c_uint64),
                ("no", ctypes.c_uint64),
                ("syncs", ctypes.c_uint64)]


# Mirrored structs by their C name (the layout test walks this).
STRUCTS = {
    "dtc_txid": Txid, "dtc_limits": Limits, "dtc_txn_options": TxnOptions,
    "dtc_entry_info": EntryInfo, "dtc_txn_info": TxnInfo, "dtc_outcome": Outcome,
    "dtc_request": Request, "dtc_participant_ops": ParticipantOps,
    "dtc_counters": Counters, "dtc_status": Status,
    "dtc_participant_info": ParticipantInfo,
}

_P = ctypes.POINTER
_c_p = ctypes.c_void_p  # dtc_instance *, dtc_participant *: opaque
_PROTOTYPES = {
    "dtc_version": (ctypes.c_char_p, []),
    "dtc_strerror": (ctypes.c_char_p, [_enum]),
    "dtc_result_name": (ctypes.c_char_p, [_enum]),
    "dtc_txn_state_name": (ctypes.c_char_p, [_enum]),
    "dtc_entry_status_name": (ctypes.c_char_p, [_enum]),
    "dtc_op_name": (ctypes.c_char_p, [_enum]),
    "dtc_outcome_name": (ctypes.c_char_p, [_enum]),
    "dtc_open": (_enum, [ctypes.c_char_p, _P(_c_p)]),
    "dtc_close": (None, [_P(_c_p)]),
    "dtc_instance_name": (ctypes.c_char_p, [_c_p]),
    "dtc_txid_format": (None, [_P(Txid), ctypes.c_char_p]),
    "dtc_txid_parse": (_enum, [ctypes.c_char_p, _P(Txid)]),
    "dtc_txn_options_default": (None, [_P(TxnOptions)]),
    "dtc_begin_transaction": (_enum, [_c_p, _P(TxnOptions), _P(Txid)]),
    "dtc_enlist": (_enum, [_c_p, _P(Txid), ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_size_t]),
    "dtc_prepare_transaction": (_enum, [_c_p, _P(Txid), _P(TxnInfo)]),
    "dtc_commit_transaction": (_enum, [_c_p, _P(Txid), _P(TxnInfo)]),
    "dtc_rollback_transaction": (_enum, [_c_p, _P(Txid), _P(TxnInfo)]),
    "dtc_retry_transaction": (_enum, [_c_p, _P(Txid), _P(TxnInfo)]),
    "dtc_resolve_transaction": (_enum, [_c_p, _P(Txid), ctypes.c_int, _P(TxnInfo)]),
    "dtc_entry_prepared": (ctypes.c_bool, [_P(EntryInfo)]),
    "dtc_transaction_status": (_enum, [_c_p, _P(Txid), _P(TxnInfo)]),
    "dtc_transaction_outcome": (_enum, [_c_p, _P(Txid), _P(Outcome)]),
    "dtc_participant_register": (_enum, [_c_p, ctypes.c_char_p, _P(_c_p)]),
    "dtc_participant_serve_once": (_enum, [_c_p, _P(ParticipantOps), ctypes.c_int,
                                           _P(ctypes.c_uint)]),
    "dtc_participant_outcome": (_enum, [_c_p, _P(Txid), _P(_enum)]),
    "dtc_participant_unregister": (_enum, [_P(_c_p)]),
    "dtc_get_status": (_enum, [_c_p, _P(Status)]),
    "dtc_list_participants": (_enum, [_c_p, _P(ParticipantInfo), ctypes.c_size_t,
                                      _P(ctypes.c_size_t)]),
    "dtc_log_init": (None, [_enum]),
    "dtc_log_set_level": (_enum, [ctypes.c_char_p]),
    "dtc_log_to_file": (_enum, [ctypes.c_char_p]),
}
LOG_WARN = 1  # dtc_log_level: the library's default


def _candidates() -> Iterator[str]:
    env = os.environ.get("DTC_LIBRARY")
    if env:
        yield env
        return
    here = pathlib.Path(__file__).resolve().parent
    if len(here.parents) > 3:  # PREFIX/lib/python3[.X]/dist-packages/dtc
        prefix = here.parents[3]
        for d in sorted(prefix.glob("lib/*-linux-*")) + [prefix / "lib", prefix / "lib64"]:
            if (d / SONAME).exists():
                yield str(d / SONAME)
    found = ctypes.util.find_library("dtc")
    if found:
        yield found
    yield SONAME
    build = here.parents[2] / "build" / "lib" / SONAME  # a source tree's build
    if build.exists():
        yield str(build)


def _load() -> Tuple[ctypes.CDLL, str]:
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        for name, (res, args) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        version = lib.dtc_version().decode()
        major, minor = (int(x) for x in version.split(".")[:2])
        if (major, minor) != (ABI_MAJOR, ABI_MINOR):
            raise ImportError("dtc: %s is libdtc %s; these bindings mirror %d.%d "
                              "(set $DTC_LIBRARY)" % (path, version, ABI_MAJOR, ABI_MINOR))
        lib.dtc_log_init(LOG_WARN)  # $DTC_LOG, if set, says the level
        return lib, path
    raise ImportError("dtc: libdtc not found (set $DTC_LIBRARY to libdtc.so's path): "
                      + "; ".join(errors))


lib, library_path = _load()


def text(b: Optional[bytes]) -> str:
    """A C string of the library (NUL-terminated bytes) as str."""
    return b.decode("utf-8", "replace") if b is not None else ""


def txid_str(tid: Txid) -> str:
    buf = ctypes.create_string_buffer(TXID_STRLEN)
    lib.dtc_txid_format(ctypes.byref(tid), buf)
    return buf.value.decode()


# ---- arguments on their way to C: checked, never silently cut ---------

def c_text(value: str, what: str) -> bytes:
    """A str argument for a C string, as UTF-8.  TypeError if not a str;
    ValueError if it holds a NUL (C would end the string there: "n1\\0x"
    would act as "n1")."""
    if not isinstance(value, str):
        raise TypeError("dtc: %s must be a str, not %s" % (what, type(value).__name__))
    if "\0" in value:
        raise ValueError("dtc: %s %r holds a NUL character" % (what, value))
    return value.encode("utf-8")


def c_payload(value: Union[str, bytes, object], what: str = "payload") -> bytes:
    """A payload: bytes as they are, anything else as str(value) in UTF-8.
    ValueError if it holds a NUL (the library refuses those)."""
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        data = str(value).encode("utf-8", "surrogateescape")
    if b"\0" in data:
        raise ValueError("dtc: %s %r holds a NUL byte" % (what, value))
    return data


def c_int(value: Any, what: str, lo: int, hi: int) -> int:
    """An int argument for a C integer of range lo..hi: TypeError if not
    an int, OverflowError if out of range (ctypes would cut it)."""
    if isinstance(value, bool):
        raise TypeError("dtc: %s must be an int, not bool" % what)
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError("dtc: %s must be an int, not %s"
                        % (what, type(value).__name__)) from None
    if not lo <= n <= hi:
        raise OverflowError("dtc: %s=%d is out of range (%d..%d)" % (what, n, lo, hi))
    return n


class Closing:
    """A handle over the library: close() releases it; usable in a with
    block (closed at the end)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
