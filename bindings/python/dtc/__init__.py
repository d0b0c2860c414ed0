"""dtc: Python bindings of libdtc, the two-phase-commit transaction
coordinator (ctypes over libdtc.so, standard library only).

Coordinator: TransactionManager(instance).begin() / .transaction() ->
Transaction (enlist, commit, rollback, status, outcome).  Participant:
subclass Participant (prepare, commit, rollback) and call serve().
Failures raise DtcError subclasses, one per dtc_result (errors.py).
$DTC_LIBRARY names the libdtc.so to load (see _lib.py for the search).
The library logs warnings and errors to stderr ($DTC_LOG or
set_log_level() for another level, log_to_file() for a file).
"""
from __future__ import annotations

from ._lib import library_path
from .coordinator import Transaction, TransactionManager
from .errors import *  # noqa: F401,F403 - one exception per result code
from .errors import __all__ as _errors_all
from .errors import check as _check
from .participant import READ_ONLY, Participant
from .report import Entry, Outcome, TxnReport

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the libdtc.so loaded (its dtc_version())."""
    from . import _lib
    return _lib.text(_lib.lib.dtc_version())


def set_log_level(level: str) -> None:
    """The library's log level: "error", "warn" (the default, unless
    $DTC_LOG says otherwise), "info" or "debug".  InvalidArgument for
    another name."""
    from . import _lib
    _check(_lib.lib.dtc_log_set_level(_lib.c_text(level, "log level")))


def log_to_file(path: str) -> None:
    """Appends the library's log lines to `path` instead of stderr."""
    from . import _lib
    _check(_lib.lib.dtc_log_to_file(_lib.c_text(str(path), "log file")))


__all__ = ["TransactionManager", "Transaction", "Participant", "READ_ONLY", "Outcome", "TxnReport",
           "Entry", "library_path", "library_version", "set_log_level", "log_to_file",
           "__version__"] + _errors_all
