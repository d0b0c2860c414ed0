#!/usr/bin/env python3
"""test_metrics.py - dtcctl metrics and dtcctl top against a real instance.

  python3 tests/test_metrics.py BIN_DIR

A dtcd, a participant that votes yes and one that votes no (dtc-noop);
committed and aborted transactions through dtcctl run.  Then:
- `dtcctl metrics` passes `promtool check metrics`, and its numbers are
  the ones the run produced (commits, aborts, the no voter's no answers,
  which are not errors, the txn histogram's count); every sample has the
  dtc_instance label; dtc_up and dtc_build_info;
- `dtcctl top --frames 2` (no terminal) prints two frames naming both
  participants;
- `dtcctl top` in a tmux pane repaints with live figures and quits on q;
- with dtcd stopped (no segment) `dtcctl metrics` prints dtc_up 0 and
  exits 0, and no figure of the gone instance;
- docs/operations.md's textfile recipe, run as shown, writes dtc.prom
  while dtcd runs and leaves no stale dtc_supervisor_up 1 once it stopped.
Every process it starts is stopped by pid.  Exit 0 pass, 1 fail.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def ctl(inst, *args, timeout=30):
    return subprocess.run([os.path.join(BIN, "dtcctl"), "--instance", inst] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def metric(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all('%s="%s"' % kv in line for kv in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics(inst, commits, aborts):
    r = ctl(inst, "metrics")
    check(r.returncode == 0, "dtcctl metrics exits 0 (%d %s)" % (r.returncode, r.stderr.strip()))
    m = r.stdout
    if shutil.which("promtool") is None:
        check(False, "promtool is missing (Debian package prometheus)")
    else:
        p = subprocess.run(["promtool", "check", "metrics"], input=m, capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
              "promtool check metrics: rc=%d %s%s" % (p.returncode, p.stdout, p.stderr))
    check(metric(m, "dtc_transactions_committed_total") == commits,
          "committed_total is %d" % commits)
    check(metric(m, "dtc_transactions_aborted_total") == aborts, "aborted_total is %d" % aborts)
    check(metric(m, "dtc_participant_answers_total", participant="naysayer", answer="no")
          == aborts, "the no voter's answers_total{answer=no} is %d" % aborts)
    check(metric(m, "dtc_participant_errors_total", participant="naysayer") == 0
          and metric(m, "dtc_participant_answers_total", participant="naysayer",
                     answer="error") == 0, "a no vote is not an error (errors_total 0)")
    check(metric(m, "dtc_participant_errors_total", participant="yes") == 0,
          "the yes voter has no errors")
    check(metric(m, "dtc_participant_answers_total", participant="yes", answer="no") == 0,
          "the yes voter has no no answers")
    for who in ("yes", "naysayer"):
        total = sum(metric(m, "dtc_participant_answers_total", participant=who, answer=a) or 0
                    for a in ("yes", "no", "error"))
        served = metric(m, "dtc_participant_served_total", participant=who)
        check(0 < total <= served, "%s: answers yes+no+error (%s) <= served (%s); a stale "
              "request is taken and answers nothing" % (who, total, served))
    check(metric(m, "dtc_up") == 1, "dtc_up is 1")
    check(metric(m, "dtc_build_info", version=dtc_version()) == 1, "dtc_build_info says the version")
    check(all('{dtc_instance="%s"' % inst in line for line in m.splitlines()
              if line and not line.startswith("#")),
          "every sample is labelled dtc_instance (never instance=, Prometheus' own label)")
    check(metric(m, "dtc_phase_duration_seconds_count", phase="txn") == commits,
          "txn histogram counted every commit")
    check(metric(m, "dtc_phase_duration_seconds_bucket", phase="prepare", le="+Inf")
          == commits + aborts, "prepare histogram counted every prepare round")
    check(metric(m, "dtc_supervisor_up") == 1, "supervisor_up is 1")
    check(metric(m, "dtc_participant_up", participant="yes") == 1, "participant_up is 1")


def dtc_version():
    r = subprocess.run([os.path.join(BIN, "dtcctl"), "--version"], capture_output=True,
                       text=True, timeout=30)
    return r.stdout.split()[-1]


def test_metrics_down(inst):
    """dtcd stopped (no segment): dtc_up 0, exit 0, no figure of the gone instance."""
    r = ctl(inst, "metrics")
    m = r.stdout
    check(r.returncode == 0, "no segment: dtcctl metrics exits 0 (%d %s)"
          % (r.returncode, r.stderr.strip()))
    check(metric(m, "dtc_up") == 0, "no segment: dtc_up 0")
    check(metric(m, "dtc_supervisor_up") is None
          and metric(m, "dtc_transactions_committed_total") is None,
          "no segment: no stale supervisor_up or counter")
    if shutil.which("promtool") is not None:
        p = subprocess.run(["promtool", "check", "metrics"], input=m, capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 0, "no segment: promtool check metrics (%s%s)"
              % (p.stdout, p.stderr))


DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "operations.md")


def textfile_recipe(inst, tmp):
    """Runs docs/operations.md's textfile recipe (its instance and directory
    swapped for ours); the .prom file's text, None if there is none."""
    text = open(DOCS).read()
    m = re.search(r"textfile\s+collector.*?```sh\n(.*?)```", text, re.S)
    check(m is not None, "docs/operations.md shows the textfile recipe")
    if m is None:
        return None
    script = m.group(1).replace("--instance orders", "--instance " + inst)
    script = script.replace("/var/lib/node_exporter", tmp)
    env = dict(os.environ, PATH=BIN + ":" + os.environ.get("PATH", ""))
    subprocess.run(["bash", "-c", script], env=env, timeout=60, capture_output=True)
    path = os.path.join(tmp, "dtc.prom")
    return open(path).read() if os.path.exists(path) else None


def test_top_plain(inst):
    r = ctl(inst, "top", "--frames", "2", "--interval-ms", "200")
    frames = r.stdout.count("dtc top - instance " + inst)
    check(r.returncode == 0 and frames == 2 and "naysayer" in r.stdout and "\033[" not in r.stdout,
          "top --frames 2 without a terminal: 2 plain frames (rc=%d frames=%d)"
          % (r.returncode, frames))


def test_top_tmux(inst, load):
    if shutil.which("tmux") is None:
        check(False, "tmux is missing (Debian package tmux)")
        return
    sess = "dtctop%d" % os.getpid()
    sock = ["-L", sess]  # a private tmux server: nothing else's sessions
    cmd = "%s --instance %s top --interval-ms 300" % (os.path.join(BIN, "dtcctl"), inst)
    subprocess.run(["tmux"] + sock + ["new-session", "-d", "-s", sess, "-x", "150", "-y", "40",
                                      cmd], check=True, timeout=30)
    try:
        screen = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.5)
            screen = subprocess.run(["tmux"] + sock + ["capture-pane", "-p", "-t", sess],
                                    capture_output=True, text=True, timeout=30).stdout
            rate = re.search(r"throughput: (\d+) commits/s", screen)
            if rate and int(rate.group(1)) > 0 and "q quits" in screen:
                break
        check("dtc top - instance " + inst in screen and "naysayer" in screen,
              "top in tmux shows the instance and its participants")
        rate = re.search(r"throughput: (\d+) commits/s", screen)
        check(rate is not None and int(rate.group(1)) > 0,
              "top in tmux shows live throughput under load: %s"
              % (rate.group(0) if rate else screen[:300]))
        check(screen.count("dtc top - instance") == 1, "top repaints (one frame on screen)")
        subprocess.run(["tmux"] + sock + ["send-keys", "-t", sess, "q"], timeout=30)
        gone = False
        for _ in range(50):
            time.sleep(0.1)
            if subprocess.run(["tmux"] + sock + ["has-session", "-t", sess],
                              capture_output=True, timeout=30).returncode != 0:
                gone = True
                break
        check(gone, "q quits top")
    finally:
        subprocess.run(["tmux"] + sock + ["kill-server"], capture_output=True, timeout=30)
    load.send_signal(signal.SIGTERM)


def main():
    tmp = tempfile.mkdtemp(prefix="dtc-metrics-")
    inst = "met%d" % os.getpid()
    procs = []
    try:
        log = open(os.path.join(tmp, "procs.log"), "w")
        dtcd = subprocess.Popen([os.path.join(BIN, "dtcd"), "--instance", inst, "--data-dir",
                                 os.path.join(tmp, "dlog")], stdout=subprocess.PIPE, stderr=log)
        procs.append(dtcd)
        check(dtcd.stdout.readline().startswith(b"ready"), "dtcd ready")
        for name, vote in (("yes", "yes"), ("naysayer", "no")):
            procs.append(subprocess.Popen([os.path.join(BIN, "dtc-noop"), "--instance", inst,
                                           "--name", name, "--vote", vote],
                                          stdout=log, stderr=log))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ctl(inst, "participants").stdout.count("alive") < 2:
            time.sleep(0.1)
        commits = aborts = 0
        for _ in range(12):
            commits += ctl(inst, "run", "--participant", "yes=x").returncode == 0
            aborts += ctl(inst, "run", "--participant", "yes=x",
                          "--participant", "naysayer=y").returncode == 1
        check(commits == 12 and aborts == 12, "12 commits and 12 aborts (%d, %d)"
              % (commits, aborts))
        test_metrics(inst, commits, aborts)
        prom = textfile_recipe(inst, tmp)
        check(prom is not None and metric(prom, "dtc_supervisor_up") == 1,
              "the docs' textfile recipe writes dtc.prom (supervisor_up 1)")
        test_top_plain(inst)
        load = subprocess.Popen(["bash", "-c", "while :; do %s --instance %s run --participant "
                                 "yes=x >/dev/null; done" % (os.path.join(BIN, "dtcctl"), inst)])
        procs.append(load)
        test_top_tmux(inst, load)
        if load.poll() is None:
            load.send_signal(signal.SIGTERM)
        load.wait(timeout=30)
        dtcd.send_signal(signal.SIGTERM)
        check(dtcd.wait(timeout=60) == 0, "dtcd stopped")
        test_metrics_down(inst)
        prom = textfile_recipe(inst, tmp)
        check(prom is None or (metric(prom, "dtc_up") == 0
                               and metric(prom, "dtc_supervisor_up") is None),
              "dtcd stopped: the recipe's dtc.prom is not stale (%s)"
              % (prom if prom is None else prom[-200:]))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
