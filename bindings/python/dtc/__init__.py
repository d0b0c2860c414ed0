"""dtc: Python bindings of libdtc, the two-phase-commit transaction
coordinator (ctypes over libdtc.so, standard library only).

Coordinator: TransactionManager(instance).begin() / .transaction() ->
Transaction (enlist, commit, rollback, status, outcome).  Participant:
subclass Participant (prepare, commit, rollback) and call serve().
Failures raise DtcError subclasses, one per dtc_result (errors.py).
$DTC_LIBRARY names the libdtc.so to load (see _lib.py for the search).
"""
from ._lib import library_path
from .coordinator import Transaction, TransactionManager
from .errors import *  # noqa: F401,F403 - one exception per result code
from .errors import __all__ as _errors_all
from .participant import Participant
from .report import Entry, Outcome, TxnReport

__version__ = "0.1.0"


def library_version():
    """The version of the libdtc.so loaded (its dtc_version())."""
    from . import _lib
    return _lib.text(_lib.lib.dtc_version())


__all__ = ["TransactionManager", "Transaction", "Participant", "Outcome", "TxnReport",
           "Entry", "library_path", "library_version", "__version__"] + _errors_all
