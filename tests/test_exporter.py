#!/usr/bin/env python3
"""test_exporter.py - dtc-exporter scraped by a real Prometheus server.

  python3 tests/test_exporter.py BIN_DIR SYSTEMD_SRC_DIR

A dtcd, a participant that votes yes and one that votes no (dtc-noop),
dtc-exporter on a free port (--listen 127.0.0.1:0) with its stderr a file
that $JOURNAL_STREAM names (as under systemd's journal), and a throwaway
Prometheus (a temp dir, a free port, a generated prometheus.yml scraping
the exporter every second).  Then:
- /metrics passes `promtool check metrics`; / answers, other paths 404,
  POST 405;
- Prometheus scrapes it: dtc_up is 1 with the target's own instance label
  and dtc_instance (no exported_instance); after more commits and aborts,
  its API shows dtc_transactions_committed_total moved by exactly as many
  and the no voter's answers counted as answer="no", not as errors;
- dtcd stopped: Prometheus sees dtc_up 0 and dtc_supervisor_up no more;
- the exporter's log lines carry a syslog priority and no ts= or pid=;
- the unit dtc-exporter@.service passes `systemd-analyze verify` and
  rates <= 3.0 in `systemd-analyze security --offline=yes`;
- a bad --listen exits 2 with one line naming it; a port in use exits 1.
Every process it starts is stopped by pid, with timeouts.  Exit 0 pass,
1 fail.
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

BIN, UNITS = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def ctl(inst, *args):
    return subprocess.run([os.path.join(BIN, "dtcctl"), "--instance", inst] + list(args),
                          capture_output=True, text=True, timeout=30)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(url, data=None, timeout=10):
    """(status, content type, body) of a request; status 0 if unreachable."""
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, "", ""


def read_line(proc, timeout):
    """The first line of proc's stdout within timeout, else ''."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().decode() if ready else ""


def query(prom, expr):
    """The instant vector of expr: [(labels, value)]."""
    st, _, body = http("http://127.0.0.1:%d/api/v1/query?%s"
                       % (prom, urllib.parse.urlencode({"query": expr})))
    if st != 200:
        return []
    data = json.loads(body)
    return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]


def wait_query(prom, expr, want, timeout=60):
    """Polls until expr's one value satisfies want(value); the last answer."""
    deadline = time.monotonic() + timeout
    got = []
    while time.monotonic() < deadline:
        got = query(prom, expr)
        if len(got) == 1 and want(got[0][1]):
            break
        time.sleep(0.5)
    return got


def test_endpoint(port):
    base = "http://127.0.0.1:%d" % port
    st, ctype, body = http(base + "/metrics")
    check(st == 200 and ctype.startswith("text/plain; version=0.0.4"),
          "GET /metrics: %d %s" % (st, ctype))
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and (p.stdout + p.stderr).strip() == "",
          "promtool check metrics on /metrics: rc=%d %s%s" % (p.returncode, p.stdout, p.stderr))
    check("\ndtc_up{" in body and "instance=" not in body.replace("dtc_instance=", ""),
          "/metrics: dtc_up, and no label named instance")
    check(http(base + "/")[0] == 200, "GET / answers")
    check(http(base + "/nope")[0] == 404, "GET /nope: 404")
    check(http(base + "/metrics", data=b"x")[0] == 405, "POST /metrics: 405")
    return body


def start_prometheus(tmp, target, procs):
    port = free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: dtc\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % target)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen(["prometheus", "--config.file", conf,
                             "--storage.tsdb.path", os.path.join(tmp, "tsdb"),
                             "--web.listen-address", "127.0.0.1:%d" % port,
                             "--log.level", "warn"], stdout=log, stderr=log)
    procs.append(prom)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and prom.poll() is None:
        if http("http://127.0.0.1:%d/-/ready" % port, timeout=2)[0] == 200:
            return port
        time.sleep(0.3)
    check(False, "prometheus ready on port %d (exit %s)" % (port, prom.poll()))
    return None


def run_txns(inst, n):
    commits = aborts = 0
    for _ in range(n):
        commits += ctl(inst, "run", "-p", "yes=x").returncode == 0
        aborts += ctl(inst, "run", "-p", "yes=x", "-p", "naysayer=y").returncode == 1
    check(commits == n and aborts == n, "%d commits and %d aborts (%d, %d)"
          % (n, n, commits, aborts))
    return commits, aborts


def test_scraped(prom, inst, exp_port):
    sel = '{job="dtc",dtc_instance="%s"}' % inst
    up = wait_query(prom, "dtc_up" + sel, lambda v: v == 1)
    check(len(up) == 1 and up[0][1] == 1, "prometheus: dtc_up 1 (%s)" % up)
    if up:
        labels = up[0][0]
        check(labels.get("instance") == "127.0.0.1:%d" % exp_port
              and "exported_instance" not in labels,
              "prometheus keeps its target label instance=, no exported_instance: %s" % labels)
    before = wait_query(prom, "dtc_transactions_committed_total" + sel, lambda v: v >= 3)
    check(len(before) == 1, "prometheus: committed_total scraped (%s)" % before)
    if not before:
        return
    v0 = before[0][1]
    commits, aborts = run_txns(inst, 5)
    after = wait_query(prom, "dtc_transactions_committed_total" + sel,
                       lambda v: v >= v0 + commits)
    check(len(after) == 1 and after[0][1] == v0 + commits,
          "prometheus: committed_total moved by %d (%s -> %s)" % (commits, v0, after))
    nay = '{job="dtc",dtc_instance="%s",participant="naysayer"' % inst
    no = wait_query(prom, "dtc_participant_answers_total" + nay + ',answer="no"}',
                    lambda v: v == 3 + aborts)
    check(len(no) == 1 and no[0][1] == 3 + aborts,
          "prometheus: the no voter's answers_total{answer=\"no\"} is %d (%s)"
          % (3 + aborts, no))
    err = query(prom, "dtc_participant_errors_total" + nay + "}")
    check(len(err) == 1 and err[0][1] == 0, "prometheus: no votes are not errors (%s)" % err)


def test_down(prom, inst, dtcd):
    dtcd.send_signal(signal.SIGTERM)
    check(dtcd.wait(timeout=60) == 0, "dtcd stopped")
    sel = '{job="dtc",dtc_instance="%s"}' % inst
    down = wait_query(prom, "dtc_up" + sel, lambda v: v == 0)
    check(len(down) == 1 and down[0][1] == 0, "dtcd stopped: prometheus sees dtc_up 0 (%s)"
          % down)
    sup = query(prom, "dtc_supervisor_up" + sel)
    check(sup == [], "dtcd stopped: no stale dtc_supervisor_up (%s)" % sup)


def test_journal_lines(errfile):
    lines = [line for line in open(errfile).read().splitlines() if line]
    check(len(lines) >= 2 and all(re.match(r"<[3-7]>level=", line) for line in lines),
          "exporter under $JOURNAL_STREAM: every line has a priority prefix (%s)" % lines[:3])
    check(not any(" ts=" in line or line.startswith("ts=") or " pid=" in line
                  for line in lines), "exporter under $JOURNAL_STREAM: no ts= or pid=")
    check(any(line.startswith("<6>level=info event=start ") for line in lines)
          and any(line.startswith("<4>level=warn event=instance_down ") for line in lines),
          "start is <6> (info), the instance going down <4> (warn)")


def test_unit(tmp):
    if shutil.which("systemd-analyze") is None:
        check(False, "systemd-analyze is missing (Debian package systemd)")
        return
    text = open(os.path.join(UNITS, "dtc-exporter@.service.in")).read()
    path = os.path.join(tmp, "dtc-exporter@orders.service")
    with open(path, "w") as f:
        f.write(text.replace("@DTC_BINDIR@", BIN))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                       capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and out == "", "unit: systemd-analyze verify: rc=%d %s"
          % (r.returncode, out))
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", path],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    check(m is not None and float(m.group(1)) <= 3.0,
          "unit: systemd-analyze security --offline=yes <= 3.0 (%s)"
          % (m.group(1) if m else (r.stdout + r.stderr)[-300:]))


def test_options():
    exe = os.path.join(BIN, "dtc-exporter")
    for bad, word in (("127.0.0.1:99999", "0..65535"), ("::1:9477", "brackets"),
                      ("localhost:9477", "numeric"), ("127.0.0.1", "ADDR:PORT")):
        r = subprocess.run([exe, "--listen", bad], capture_output=True, text=True, timeout=30)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and "--listen" in lines[0]
              and word in lines[0], "--listen %s: exit 2, one line naming it (%d %s)"
              % (bad, r.returncode, r.stderr.strip()))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        r = subprocess.run([exe, "--listen", "127.0.0.1:%d" % taken.getsockname()[1]],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "event=listen_failed" in r.stderr,
              "a port in use: exit 1, event=listen_failed (%d %s)"
              % (r.returncode, r.stderr.strip()[-200:]))
    finally:
        taken.close()


def start_instance(tmp, inst, procs):
    log = open(os.path.join(tmp, "procs.log"), "w")
    dtcd = subprocess.Popen([os.path.join(BIN, "dtcd"), "--instance", inst, "--data-dir",
                             os.path.join(tmp, "dlog")], stdout=subprocess.PIPE, stderr=log)
    procs.append(dtcd)
    check(read_line(dtcd, 60).startswith("ready"), "dtcd ready")
    for name, vote in (("yes", "yes"), ("naysayer", "no")):
        procs.append(subprocess.Popen([os.path.join(BIN, "dtc-noop"), "--instance", inst,
                                       "--name", name, "--vote", vote], stdout=log, stderr=log))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ctl(inst, "participants").stdout.count("alive") < 2:
        time.sleep(0.1)
    return dtcd


def start_exporter(tmp, inst, procs):
    errfile = os.path.join(tmp, "exporter.err")
    err = open(errfile, "w")
    st = os.fstat(err.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    env.pop("DTC_LOG", None)
    exp = subprocess.Popen([os.path.join(BIN, "dtc-exporter"), "--instance", inst,
                            "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=err,
                           env=env)
    procs.append(exp)
    m = re.match(r"ready listen=127\.0\.0\.1:(\d+)$", read_line(exp, 30).strip())
    check(m is not None, "dtc-exporter ready")
    return (int(m.group(1)) if m else None), errfile


def stop_all(procs):
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            print("FAIL %s is missing (Debian package prometheus)" % tool)
            return 1
    tmp = tempfile.mkdtemp(prefix="dtc-exporter-")
    inst = "exp%d" % os.getpid()
    procs = []
    try:
        test_unit(tmp)
        test_options()
        dtcd = start_instance(tmp, inst, procs)
        run_txns(inst, 3)
        exp_port, errfile = start_exporter(tmp, inst, procs)
        if exp_port is not None:
            exporter = procs[-1]
            test_endpoint(exp_port)
            prom = start_prometheus(tmp, exp_port, procs)
            if prom is not None:
                test_scraped(prom, inst, exp_port)
                test_down(prom, inst, dtcd)
            exporter.send_signal(signal.SIGTERM)
            check(exporter.wait(timeout=30) == 0, "dtc-exporter exits 0 on SIGTERM")
            test_journal_lines(errfile)
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
