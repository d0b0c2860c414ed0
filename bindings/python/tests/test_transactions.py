"""Transactions through the bindings against a real dtcd, with a Python
participant process next to the C services."""
import uuid

import pytest

import dtc


def calls(log, txid):
    """The methods the Python participant ran for txid, in order."""
    return [l.split()[0] for l in log.read_text().splitlines() if l.split()[1] == txid]


def test_order_commits_at_inventory_and_python_participant(cluster, tm):
    inv = cluster.service("inventory", "sku1=10")
    ledger = cluster.py_participant("ledger")
    with tm.transaction() as tx:
        tx.enlist("inventory", "reserve sku1 3")
        tx.enlist("ledger", "debit acct1 300")
        assert tx.status.state == "ACTIVE"
    out = tx.outcome
    assert out.kind == "committed" and out.result == "DTC_OK"
    assert sorted(e.name for e in out.entries) == ["inventory", "ledger"]
    assert calls(ledger, tx.id) == ["prepare", "commit"]
    assert "debit acct1 300" in ledger.read_text()
    cluster.stop(inv)
    assert cluster.dump("inventory")["sku1"] == 7


def test_python_no_vote_rolls_everything_back(cluster, tm):
    inv = cluster.service("inventory", "sku1=10")
    ledger = cluster.py_participant("ledger", "--vote", "no")
    tx = tm.begin()
    tx.enlist("inventory", "reserve sku1 4")
    tx.enlist("ledger", "debit acct1 400")
    with pytest.raises(dtc.PrepareRefused) as ei:
        tx.commit()
    err = ei.value
    assert err.code == dtc.Result.EREFUSED and err.txid == tx.id
    votes = {e.name: e.vote for e in err.report.entries}
    assert votes["ledger"] == "no"
    assert calls(ledger, tx.id) == ["prepare", "rollback"]
    assert tx.outcome.kind == "aborted"
    cluster.stop(inv)
    assert cluster.dump("inventory")["sku1"] == 10


def test_python_error_vote_carries_its_reason(cluster, tm):
    cluster.py_participant("ledger", "--vote", "error")
    tx = tm.begin()
    tx.enlist("ledger", "debit acct9 1")
    with pytest.raises(dtc.ParticipantError) as ei:
        tx.commit()
    entry = ei.value.report.entries[0]
    assert entry.vote == "error" and "ledger closed for debit acct9 1" in entry.reason


def test_unknown_transaction_id(cluster, tm):
    unknown = str(uuid.uuid4())
    with pytest.raises(dtc.TransactionNotFound) as ei:
        tm.outcome(unknown)
    assert ei.value.code == dtc.Result.ENOTFOUND and ei.value.txid == unknown
    with pytest.raises(dtc.TransactionNotFound):
        tm.status(unknown)
    with pytest.raises(dtc.InvalidArgument):
        tm.outcome("not-a-transaction-id")


def test_context_manager_rolls_back_on_exception(cluster, tm):
    inv = cluster.service("inventory", "sku1=10")
    ledger = cluster.py_participant("ledger")
    with pytest.raises(KeyError):
        with tm.transaction() as tx:
            tx.enlist("inventory", "reserve sku1 5")
            tx.enlist("ledger", "debit acct1 500")
            raise KeyError("the order was cancelled")
    assert "commit" not in calls(ledger, tx.id)
    try:
        assert tx.outcome.kind == "aborted"
    except dtc.TransactionNotFound:
        pass  # rolled back before any decision: presumed aborted
    with pytest.raises(dtc.TransactionNotFound):
        tx.status
    cluster.stop(inv)
    assert cluster.dump("inventory")["sku1"] == 10


def test_unknown_participant_and_duplicate_enlist(cluster, tm):
    cluster.py_participant("ledger")
    with pytest.raises(dtc.UnknownParticipant):
        with tm.transaction() as tx:
            tx.enlist("nobody", "x")
    tx = tm.begin()
    tx.enlist("ledger", "a")
    with pytest.raises(dtc.AlreadyEnlisted):
        tx.enlist("ledger", "b")
    tx.rollback()
    assert "ledger" in tm.participants()


def test_python_commit_failure(cluster, tm):
    inv = cluster.service("inventory", "sku1=10")
    ledger = cluster.py_participant("ledger", "--fail-commit")
    tx = tm.begin(max_retries=1, commit_timeout_ms=1000)
    tx.enlist("inventory", "reserve sku1 2")
    tx.enlist("ledger", "debit acct1 200")
    with pytest.raises(dtc.ParticipantFailedToCommit) as ei:
        tx.commit()
    report = ei.value.report
    assert report.state == "ABORTED" and report.result == "DTC_ECOMMIT"
    entry = {e.name: e for e in report.entries}["ledger"]
    assert entry.failed_op == "commit" and entry.failed_reason == "disk full"
    assert calls(ledger, tx.id)[0] == "prepare" and calls(ledger, tx.id)[-1] == "rollback"
    cluster.stop(inv)
    assert cluster.dump("inventory")["sku1"] == 10


def test_python_read_only_vote_gets_no_commit(cluster, tm):
    inv = cluster.service("inventory", "sku1=10")
    ledger = cluster.py_participant("ledger", "--vote", "readonly")
    with tm.transaction() as tx:
        tx.enlist("inventory", "reserve sku1 2")
        tx.enlist("ledger", "look acct1")
    out = tx.outcome
    assert out.kind == "committed" and out.result == "DTC_OK"
    votes = {e.name: (e.vote, e.status) for e in out.entries}
    assert votes == {"inventory": ("yes", "yes"), "ledger": ("readonly", "readonly")}
    assert not out.report.one_phase
    assert calls(ledger, tx.id) == ["prepare"]  # no commit, no rollback
    cluster.stop(inv)
    assert cluster.dump("inventory")["sku1"] == 8


def test_python_one_phase_and_all_read_only(cluster, tm):
    yes = cluster.py_participant("ledger")
    ro = cluster.py_participant("audit", "--vote", "readonly")
    with tm.transaction() as tx:
        tx.enlist("ledger", "debit acct1 5")
    out = tx.outcome
    assert out.kind == "committed" and out.report.one_phase
    assert calls(yes, tx.id) == ["prepare", "commit"]
    with tm.transaction() as tx2:
        tx2.enlist("audit", "look acct1")
    out2 = tx2.outcome
    assert out2.kind == "committed" and not out2.report.one_phase
    assert [e.vote for e in out2.entries] == ["readonly"]
    assert calls(ro, tx2.id) == ["prepare"]
