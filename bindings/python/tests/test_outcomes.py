"""One answer per outcome (dtc.h, "What each outcome carries") through
the bindings: the exception, the report's cause and tm.outcome() agree
with what dtcctl and the log say (tests/test_answers.c)."""
import pytest

import dtc
from conftest import bin_path


def noop(cluster, name, *extra):
    cluster.start([bin_path("dtc-noop"), "--instance", cluster.instance, "--name", name]
                  + list(extra), name)


def test_heuristic_is_one_exception_with_its_cause(cluster, tm):
    noop(cluster, "fr", "--fail-rollback", "1000")
    noop(cluster, "vno", "--vote", "no", "--delay-ms", "300")
    tx = tm.begin()
    tx.enlist("fr", "x")
    tx.enlist("vno", "x")
    with pytest.raises(dtc.HeuristicOutcome) as ei:
        tx.commit()
    assert ei.value.report.state == "HEURISTIC" and ei.value.report.cause == "DTC_EREFUSED"
    out = tm.outcome(tx.id)
    assert (out.kind, out.result, out.cause) == ("heuristic", "DTC_EHEURISTIC", "DTC_EREFUSED")
    # an operator's commit: refused, vno is not prepared, nothing sent
    with pytest.raises(dtc.NotPrepared) as ei:
        tm.resolve(tx.id, commit=True)
    assert [e.name for e in ei.value.report.entries if not e.prepared] == ["vno"]
    assert tm.outcome(tx.id).kind == "heuristic"
    # an explicit rollback that fails the same way: the same exception
    tx2 = tm.begin()
    tx2.enlist("fr", "x")
    tx2.prepare()
    with pytest.raises(dtc.HeuristicOutcome) as ei:
        tx2.rollback()
    assert ei.value.report.cause == "DTC_EABORTED"


def test_ended_outcome_leaves_out_what_the_log_does_not_know(cluster, tm):
    noop(cluster, "a")
    with tm.transaction() as tx:
        tx.enlist("a", "x")
    out = tm.outcome(tx.id)
    assert out.from_log and (out.kind, out.result, out.cause) == ("committed", "DTC_OK", "DTC_OK")
    assert out.report.begin_unix_ms is None and out.report.owner_alive is None
    # rollback and commit are answered from the outcome once it ended
    assert tx.commit().state == "COMMITTED"
