"""Fixtures of the python_bindings test: a real dtcd per test (own
instance name, own data dir), participant processes next to it (the C
services of build/bin and py_participant.py), every process stopped by
its pid at the end.  Environment (set by ctest, tests/CMakeLists.txt):
DTC_BIN_DIR (build/bin), DTC_LIBRARY (libdtc.so), DTC_LAYOUT_HELPER."""
import itertools
import os
import select
import subprocess
import sys
import time

import pytest

import dtc

HERE = os.path.dirname(os.path.abspath(__file__))
_serial = itertools.count()


def bin_path(name):
    return os.path.join(os.environ["DTC_BIN_DIR"], name)


def _wait_ready(proc, what, timeout=10.0):
    """Waits for the "ready ..." line a dtc program prints when it serves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.1)
        if r:
            line = proc.stdout.readline()
            if line.startswith("ready"):
                return
            if not line and proc.poll() is not None:
                break
    raise RuntimeError("%s did not get ready (exit %s)" % (what, proc.poll()))


class Cluster:
    """One dtcd instance and the participants started for a test."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.instance = "py-%d-%d" % (os.getpid(), next(_serial))
        self.procs = []
        self.start([bin_path("dtcd"), "--instance", self.instance,
                    "--data-dir", str(tmp_path / "dlog"),
                    "--log-file", str(tmp_path / "dtcd.log")], "dtcd")

    def start(self, argv, what):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True,
                                stderr=open(self.tmp / ("%s.err" % what), "w"))
        self.procs.append(proc)
        _wait_ready(proc, what)
        return proc

    def service(self, kind, *seeds):
        """A C service (dtc-inventory...) with its own data dir."""
        argv = [bin_path("dtc-" + kind), "--instance", self.instance,
                "--data-dir", str(self.tmp / kind)]
        for s in seeds:
            argv += ["--seed", s]
        return self.start(argv, kind)

    def py_participant(self, name, *extra):
        """py_participant.py as its own process; returns its call log path."""
        log = self.tmp / ("%s.calls" % name)
        log.touch()
        self.start([sys.executable, os.path.join(HERE, "py_participant.py"),
                    "--instance", self.instance, "--name", name, "--log", str(log)]
                   + list(extra), name)
        return log

    def dump(self, kind):
        """The service's records after it stopped: {key: value}."""
        out = subprocess.run([bin_path("dtc-" + kind), "--data-dir", str(self.tmp / kind),
                              "--dump"], capture_output=True, text=True, check=True)
        return {f[0]: int(f[1]) for f in (l.split() for l in out.stdout.splitlines())
                if len(f) >= 2 and f[1].lstrip("-").isdigit()}

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self):
        for proc in reversed(self.procs):  # participants first, dtcd last
            self.stop(proc)
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


@pytest.fixture
def tm(cluster):
    with dtc.TransactionManager(cluster.instance) as m:
        yield m
