"""The mirrors of _lib.py against the C compiler's view of dtc.h
(layout.c): every struct's size and field offsets, the copied constants,
and the exception table against the library's result names."""
import ctypes
import os
import subprocess

import dtc
from dtc import _lib, errors, participant


def c_layout():
    out = subprocess.run([os.environ["DTC_LAYOUT_HELPER"]], capture_output=True,
                         text=True, check=True).stdout
    sizes, offsets, consts, version = {}, {}, {}, None
    for line in out.splitlines():
        f = line.split()
        if f[0] == "size":
            sizes[f[1]] = int(f[2])
        elif f[0] == "offset":
            offsets[(f[1], f[2])] = int(f[3])
        elif f[0] == "const":
            consts[f[1]] = int(f[2])
        elif f[0] == "version":
            version = f[1]
    return sizes, offsets, consts, version


def test_struct_sizes_and_offsets_match_c():
    sizes, offsets, _, _ = c_layout()
    assert set(sizes) == set(_lib.STRUCTS), "mirrored structs differ from layout.c's"
    for cname, cls in _lib.STRUCTS.items():
        assert ctypes.sizeof(cls) == sizes[cname], cname
        fields = [f[0] for f in cls._fields_]
        assert fields == [k[1] for k in offsets if k[0] == cname], cname
        for field in fields:
            assert getattr(cls, field).offset == offsets[(cname, field)], (cname, field)


def test_constants_and_version_match_c():
    _, _, consts, version = c_layout()
    assert consts["DTC_NAME_MAX"] == _lib.NAME_MAX
    assert consts["DTC_PAYLOAD_MAX"] == _lib.PAYLOAD_MAX
    assert consts["DTC_REASON_MAX"] == _lib.REASON_MAX
    assert consts["DTC_INSTANCE_MAX"] == _lib.INSTANCE_MAX
    assert consts["DTC_LIMIT_MAX_PARTS_PER_TXN"] == _lib.LIMIT_MAX_PARTS_PER_TXN
    assert consts["DTC_TXID_STRLEN"] == _lib.TXID_STRLEN
    assert (consts["DTC_VOTE_YES"], consts["DTC_VOTE_NO"], consts["DTC_VOTE_ERROR"],
            consts["DTC_VOTE_READONLY"]) == (participant.VOTE_YES, participant.VOTE_NO,
                                             participant.VOTE_ERROR, participant.VOTE_READONLY)
    assert (consts["DTC_VERSION_MAJOR"], consts["DTC_VERSION_MINOR"]) == (
        _lib.ABI_MAJOR, _lib.ABI_MINOR)
    assert consts["DTC_RESULT_COUNT"] == len(errors.Result)
    assert version == dtc.library_version() == dtc.__version__


def test_one_exception_per_result_code():
    for code in range(1, len(errors.Result)):
        cname = _lib.text(_lib.lib.dtc_result_name(code))
        assert cname == "DTC_" + errors.Result(code).name
        exc = errors.error(code)
        assert type(exc) is not dtc.DtcError and isinstance(exc, dtc.DtcError), cname
        assert exc.code == code and exc.name == cname
        assert str(exc) == _lib.text(_lib.lib.dtc_strerror(code))
    assert dtc.TransactionNotFound.code == errors.Result.ENOTFOUND
    assert dtc.ParticipantFailedToCommit.code == errors.Result.ECOMMIT
    assert dtc.ParticipantFailedToRollback.code == errors.Result.EROLLBACK
    assert dtc.PrepareRefused.code == errors.Result.EREFUSED
