"""Misuse of the bindings, each of which once crashed the interpreter,
cut a value silently or printed noise: closing a Participant inside a
callback or from another thread (a use-after-free in libdtc), two threads
serving one Participant, out-of-range integers and strings holding a NUL,
closing a TransactionManager while another thread commits, a Participant
subclass without commit/rollback, warn-level retry lines on a
coordinator's stderr.  Run under ASan too (tests/CMakeLists.txt)."""
import threading
import time

import pytest

import dtc


class Recorder(dtc.Participant):
    """An in-process participant; on_enlist runs inside the enlist callback."""

    def __init__(self, name, instance, on_enlist=None):
        super().__init__(name, instance=instance)
        self.on_enlist = on_enlist
        self.calls = []
        self.errors = []

    def enlist(self, txid, payload):
        self.calls.append(("enlist", txid))
        if self.on_enlist is not None:
            try:
                self.on_enlist(self)
            except Exception as exc:  # noqa: BLE001 - kept for the test
                self.errors.append(exc)
        return True

    def commit(self, txid, payload):
        self.calls.append(("commit", txid))

    def rollback(self, txid, payload):
        self.calls.append(("rollback", txid))


def wait_serving(p):
    """Until a thread of p is inside the library's serve."""
    deadline = time.monotonic() + 10
    while p._serving is None:
        assert time.monotonic() < deadline, "no thread started serving"
        time.sleep(0.01)
    time.sleep(0.05)  # past the Python side, into the C call


def serve_in_thread(p):
    t = threading.Thread(target=p.serve, kwargs={"handle_signals": False})
    t.start()
    return t


def serve_once_in_thread(p, timeout_ms):
    """A thread in p.serve_once(timeout_ms); its result in t.result."""
    def run():
        try:
            t.result = p.serve_once(timeout_ms)
        except BaseException as exc:  # noqa: BLE001 - checked by the test
            t.result = exc
    t = threading.Thread(target=run)
    t.result = None
    t.start()
    wait_serving(p)
    return t


def finish(tx):
    try:
        tx.rollback()
    except dtc.DtcError:
        pass


def test_close_inside_a_callback_is_deferred(cluster, tm):
    p = Recorder("closer", cluster.instance, on_enlist=lambda self: self.close())
    p.register()
    t = serve_in_thread(p)
    tx = tm.begin()
    tx.enlist("closer", "x")
    t.join(10)
    assert not t.is_alive(), "serve() did not return after close()"
    assert p.closed and p.errors == []
    assert p.calls == [("enlist", tx.id)]
    assert "closer" not in tm.participants()
    finish(tx)
    p.close()  # again: nothing left to do


def test_close_from_another_thread_waits_for_the_serve(cluster, tm):
    p = Recorder("other", cluster.instance)
    p.register()
    t = serve_once_in_thread(p, 1500)
    t0 = time.monotonic()
    p.close()
    assert time.monotonic() - t0 > 0.5, "close() did not wait for the serve"
    t.join(5)
    assert t.result == 0  # the serve ended normally, nothing freed under it
    assert p.closed and "other" not in tm.participants()
    with pytest.raises(ValueError, match="closed"):
        p.serve_once(0)


def test_close_stops_a_serving_thread(cluster, tm):
    p = Recorder("looping", cluster.instance)
    p.register()
    t = serve_in_thread(p)
    wait_serving(p)
    p.close()
    t.join(5)
    assert not t.is_alive() and "looping" not in tm.participants()


def test_one_thread_serves_a_participant(cluster, tm):
    p = Recorder("twice", cluster.instance)
    p.register()
    t = serve_once_in_thread(p, 1500)
    with pytest.raises(dtc.TransactionBusy, match="already served by thread"):
        p.serve_once(0)
    t.join(5)
    assert t.result == 0
    assert p.serve_once(0) == 0  # free again
    p.close()


def test_serve_from_a_callback_is_refused(cluster, tm):
    p = Recorder("nested", cluster.instance, on_enlist=lambda self: self.serve_once(0))
    p.register()
    tx = tm.begin()
    tx.enlist("nested", "x")
    assert p.serve_once(2000) == 1
    assert len(p.errors) == 1 and isinstance(p.errors[0], dtc.TransactionBusy)
    assert "this thread" in str(p.errors[0])
    finish(tx)
    p.close()


class Slow(Recorder):
    def __init__(self, name, instance):
        super().__init__(name, instance)
        self.voting = threading.Event()

    def prepare(self, txid, payload):
        self.voting.set()
        time.sleep(0.6)
        return True


def test_closing_a_transaction_manager_waits_for_its_calls(cluster):
    p = Slow("slow", cluster.instance)
    p.register()
    t = serve_in_thread(p)
    tm = dtc.TransactionManager(cluster.instance)
    tx = tm.begin()
    tx.enlist("slow", "x")
    result = {}

    def commit():
        try:
            result["report"] = tx.commit()
        except BaseException as exc:  # noqa: BLE001 - checked below
            result["error"] = exc

    c = threading.Thread(target=commit)
    c.start()
    assert p.voting.wait(10)  # the commit now waits for the slow vote
    t0 = time.monotonic()
    tm.close()
    assert time.monotonic() - t0 > 0.3, "close() did not wait for the commit"
    c.join(10)
    assert "error" not in result and result["report"].state == "COMMITTED"
    with pytest.raises(ValueError, match="TransactionManager is closed"):
        tm.begin()
    p.close()
    t.join(5)


@pytest.mark.parametrize("bad", [2**40, 2**31, -1])
def test_out_of_range_timeout_raises(cluster, bad):
    p = Recorder("ints", cluster.instance)
    with pytest.raises(OverflowError, match="timeout_ms=%d is out of range" % bad):
        p.serve_once(bad)
    with pytest.raises(TypeError, match="timeout_ms must be an int"):
        p.serve_once(1.5)
    p.close()


@pytest.mark.parametrize("option", ["prepare_timeout_ms", "commit_timeout_ms",
                                    "rollback_timeout_ms", "max_retries"])
def test_out_of_range_options_raise(tm, option):
    for bad in (2**32, 2**40 + 5000, -1):
        with pytest.raises(OverflowError, match="%s=%d is out of range" % (option, bad)):
            tm.begin(**{option: bad})
    with pytest.raises(TypeError):
        tm.begin(**{option: "5000"})


def test_strings_with_nul_raise(cluster, tm):
    ledger = cluster.py_participant("n1")
    with pytest.raises(ValueError, match="participant name 'n1\\\\x00evil' holds a NUL"):
        Recorder("n1\0evil", cluster.instance)
    with pytest.raises(ValueError, match="instance name .* holds a NUL"):
        dtc.TransactionManager(cluster.instance + "\0other")
    with pytest.raises(ValueError, match="instance name .* holds a NUL"):
        Recorder("x", cluster.instance + "\0other")
    tx = tm.begin()
    with pytest.raises(ValueError, match="participant name .* holds a NUL"):
        tx.enlist("n1\0evil", "x")
    with pytest.raises(ValueError, match="payload .* holds a NUL"):
        tx.enlist("n1", "debit\0acct1")
    with pytest.raises(ValueError, match="payload .* holds a NUL"):
        tx.enlist("n1", b"debit\0acct1")
    with pytest.raises(ValueError, match="transaction id .* holds a NUL"):
        tm.outcome(tx.id + "\0junk")
    with pytest.raises(TypeError, match="participant name must be a str"):
        tx.enlist(b"n1", "x")
    with pytest.raises(ValueError, match="log level .* holds a NUL"):
        dtc.set_log_level("info\0x")
    tx.rollback()
    assert tx.id not in ledger.read_text()  # nothing reached n1


def test_participant_base_is_abstract():
    class OnlyPrepare(dtc.Participant):
        def prepare(self, txid, payload):
            return True

    with pytest.raises(TypeError, match="abstract.*commit, rollback"):
        OnlyPrepare("x")

    class NoRollback(OnlyPrepare):
        def commit(self, txid, payload):
            pass

    with pytest.raises(TypeError, match="abstract.*rollback"):
        NoRollback("x")

    class Whole(NoRollback):
        def rollback(self, txid, payload):
            pass

    Whole("x").close()  # never registered: nothing to undo


def test_retries_are_not_warnings_by_default(cluster, tm, capfd):
    """A scheduled retry is an info line: a coordinator's stderr stays
    quiet at the default level, and says it at "info"."""
    cluster.py_participant("ledger", "--fail-commit")

    def failing_commit():
        tx = tm.begin(max_retries=1, commit_timeout_ms=1000)
        tx.enlist("ledger", "debit acct1 1")
        with pytest.raises(dtc.ParticipantFailedToCommit):
            tx.commit()

    capfd.readouterr()
    failing_commit()
    assert "retry_scheduled" not in capfd.readouterr().err
    dtc.set_log_level("info")
    try:
        failing_commit()
        err = capfd.readouterr().err
        assert "level=info" in err and "event=retry_scheduled" in err
    finally:
        dtc.set_log_level("warn")
    with pytest.raises(dtc.InvalidArgument):
        dtc.set_log_level("loud")
