#!/usr/bin/env python3
"""test_systemd.py - dtc under a service manager, without one running.

  python3 tests/test_systemd.py BIN_DIR SYSTEMD_SRC_DIR SERVICES [--sanitized]

1. Every unit file of systemd/ (rendered by systemd_units.py; SERVICES is
   the comma-separated list the service template is made for) passes
   `systemd-analyze verify` with no complaint at all, rates <= 3.0 in
   `systemd-analyze security --offline=yes` and says nothing that would
   delete or hide the segment (DynamicUser=, RemoveIPC=yes, ProtectProc=);
   dtc@.target wants dtcd@ and each service unit is ordered after it.
2. The notify protocol, against a fake NOTIFY_SOCKET (a path, then an
   abstract "@name"): READY=1 with MAINPID comes only once the segment
   exists and dtcctl can read it; WATCHDOG=1 follows at half of
   WATCHDOG_USEC; SIGHUP reopens --log-file after a rotation; SIGTERM
   says STOPPING=1 and dtcd exits 0.
3. SystemCallFilter=: dtcd and the four services run under strace (a
   transaction through all four, SIGHUP, SIGTERM); every system call they
   make must pass their unit's filter (one outside it would kill the
   process under systemd).  Not in the sanitizer build (ASan makes calls
   of its own) nor without strace.
4. A service stopped (SIGTERM) while it waits for dtcd exits 0, so its
   unit ends "inactive", not "failed".
Every process it starts is stopped by pid; exit 0 pass, 1 fail, 77 skip.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import systemd_units

BIN, UNITS = sys.argv[1], sys.argv[2]
SERVICES = sys.argv[3].split(",")
SANITIZED = "--sanitized" in sys.argv[4:]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def verify_units(tmp):
    """Part 1; returns the rendered units {name: text}."""
    units = systemd_units.render(UNITS, BIN, os.path.join(tmp, "etc"), SERVICES)
    check(len(units) >= 2 + len(SERVICES), "units rendered: %s" % " ".join(sorted(units)))
    if shutil.which("systemd-analyze") is None:
        print("SKIP systemd-analyze is missing (Debian package systemd)")
        return units
    inst = "sdv%d" % os.getpid()
    paths = []
    for name, text in sorted(units.items()):
        bad = systemd_units.static_problems(name, text)
        check(not bad, "%s: %s" % (name, "; ".join(bad) or "no DynamicUser=, RemoveIPC=yes, "
                                   "ProtectProc=, root"))
        path = os.path.join(tmp, systemd_units.instance_name(name, inst))
        open(path, "w").write(text)
        paths.append(path)
        if name.endswith(".service"):
            level = systemd_units.exposure(path)
            check(level is not None and level <= systemd_units.MAX_EXPOSURE,
                  "%s: systemd-analyze security %s (at most %.1f)"
                  % (name, level, systemd_units.MAX_EXPOSURE))
    order_checks(units)
    ok, out = systemd_units.verify(paths)
    check(ok, "systemd-analyze verify: %s" % (out or "clean"))
    return units


def order_checks(units):
    """dtc@.target starts dtcd, and each service after it (ordering that
    no test can watch without a running systemd, so checked as text)."""
    need = {"dtc@.target": ["Wants=dtcd@%i.service", "After=dtcd@%i.service"]}
    for svc in SERVICES:
        need["dtc-%s@.service" % svc] = ["Wants=dtcd@%i.service", "After=dtcd@%i.service",
                                         "PartOf=dtc@%i.target", "WantedBy=dtc@%i.target"]
    for name, lines in sorted(need.items()):
        have = set("%s=%s" % kv for kv in systemd_units.settings(units.get(name, "")))
        missing = [line for line in lines if line not in have]
        check(not missing, "%s: %s" % (name, "missing " + ", ".join(missing) if missing
                                       else "starts after dtcd@%i in dtc@%i.target"))


def receive(sock, want, deadline, seen):
    """Messages until one holds `want`; all are appended to seen."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        seen.append(msg)
        if want in msg.split("\n"):
            return msg
    return None


def run_dtcd(tmp, address, bind_to, full):
    inst = "sdn%d%s" % (os.getpid(), "a" if address.startswith("@") else "p")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(bind_to)
    log = os.path.join(tmp, inst + ".log")
    env = dict(os.environ, NOTIFY_SOCKET=address, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([os.path.join(BIN, "dtcd"), "--instance", inst, "--data-dir",
                             os.path.join(tmp, inst + ".dlog"), "--log-file", log,
                             "--shutdown-grace-ms", "200"],
                            env=env, stdout=subprocess.DEVNULL)
    seen = []
    try:
        ready = receive(sock, "READY=1", time.monotonic() + 30, seen)
        check(ready is not None, "%s: READY=1 received" % address)
        if ready is None:
            return
        check("MAINPID=%d" % proc.pid in ready.split("\n"), "%s: READY carries MAINPID" % address)
        shm = os.path.exists("/dev/shm/dtc." + inst)
        st = subprocess.run([os.path.join(BIN, "dtcctl"), "status", "--instance", inst],
                            capture_output=True, text=True, timeout=30)
        check(shm and st.returncode == 0, "%s: at READY the segment is up (status rc=%d)"
              % (address, st.returncode))
        if full:
            check(receive(sock, "WATCHDOG=1", time.monotonic() + 3, seen) is not None,
                  "WATCHDOG=1 within 3 s for WATCHDOG_USEC=400000")
            os.rename(log, log + ".1")
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        check(receive(sock, "STOPPING=1", time.monotonic() + 30, seen) is not None,
              "%s: STOPPING=1 after SIGTERM" % address)
        rc = proc.wait(timeout=60)
        check(rc == 0, "%s: dtcd exit %d" % (address, rc))
        if full:
            new = open(log).read() if os.path.exists(log) else ""
            check("event=stop" in new and "event=start" in open(log + ".1").read(),
                  "SIGHUP: lines after the rotation go to a new --log-file")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        print("messages: %r" % seen, flush=True)


def wait_file(path, want, proc, seconds):
    """Until the file at path holds `want` (a substring) or proc ends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path) and want in open(path, errors="replace").read():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def traced_pid(trace):
    """The pid strace ran its command as (the first line's execve)."""
    with open(trace) as f:
        first = f.readline()
    return int(first.split()[0]) if "execve(" in first else None


def syscalls(trace):
    names = set()
    for line in open(trace):
        m = re.match(r"^\d+ +(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
        if m:
            names.add(m.group(1))
    return names


SEEDS = {"inventory": ["--seed", "sku-1=10"], "payment": ["--seed", "alice=100000"],
         "shipping": ["--seed", "zone-a=10"]}
ORDER = ["-p", "order=create o-1 alice 2500", "-p", "inventory=reserve sku-1 2",
         "-p", "payment=charge alice 2500", "-p", "shipping=schedule o-1 zone-a"]


def start_traced(tmp, tag, argv, env=None):
    """(strace process, its trace file, the program's stdout file)."""
    trace, out = os.path.join(tmp, tag + ".strace"), os.path.join(tmp, tag + ".out")
    proc = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, "--"] + argv, env=env,
                            stdout=open(out, "w"), stderr=open(out + ".err", "w"))
    return proc, trace, out


def trace_programs(tmp):
    """Part 3's runs: {program: set of system calls}, or None on failure."""
    inst = "sdt%d" % os.getpid()
    sock_path = os.path.join(tmp, "trace-notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="400000")
    procs = []  # (name, strace process, trace file)
    try:
        d = start_traced(tmp, "dtcd", [os.path.join(BIN, "dtcd"), "--instance", inst,
                                       "--data-dir", os.path.join(tmp, "trace-dlog")], env)
        procs.append(("dtcd", d[0], d[1]))
        if receive(sock, "READY=1", time.monotonic() + 30, []) is None:
            check(False, "traced dtcd: READY=1")
            return None
        for svc in SERVICES:
            prog = "dtc-" + svc
            p = start_traced(tmp, prog, [os.path.join(BIN, prog), "--instance", inst,
                                         "--data-dir", os.path.join(tmp, "svc-" + svc)]
                             + SEEDS.get(svc, []))
            procs.append((prog, p[0], p[1]))
            if not wait_file(p[2], "ready", p[0], 30):
                check(False, "traced %s: ready" % prog)
                return None
        run = subprocess.run([os.path.join(BIN, "dtcctl"), "--instance", inst, "run"] + ORDER,
                             capture_output=True, text=True, timeout=60)
        check("committed" in run.stdout, "traced: an order through %s: %s"
              % (",".join(SERVICES), run.stdout.strip().splitlines()[-1:]))
        for name, proc, trace in procs:
            os.kill(traced_pid(trace), signal.SIGHUP)
        time.sleep(0.3)
        for name, proc, trace in reversed(procs):
            os.kill(traced_pid(trace), signal.SIGTERM)
            rc = proc.wait(timeout=60)
            check(rc == 0, "traced %s: exit %d after SIGTERM" % (name, rc))
        return {name: syscalls(trace) for name, _, trace in procs}
    finally:
        for name, proc, trace in procs:
            if proc.poll() is None:
                pid = traced_pid(trace)
                if pid:
                    os.kill(pid, signal.SIGKILL)
                proc.kill()
                proc.wait()
        sock.close()


def check_syscalls(tmp, units):
    """Part 3: what each program called passes its unit's filter."""
    if SANITIZED or shutil.which("strace") is None or shutil.which("systemd-analyze") is None:
        print("SKIP system call filter: %s" % ("sanitizer build" if SANITIZED
                                               else "strace or systemd-analyze missing"))
        return
    seen = trace_programs(tmp)
    if seen is None:
        return
    for name, text in sorted(units.items()):
        prog = systemd_units.program(text)
        if not name.endswith(".service") or prog is None:
            continue
        if prog not in seen:
            print("NOT TRACED %s (%s): its system calls are not checked" % (name, prog))
            continue
        passes = systemd_units.syscall_filter(text)
        refused = sorted(c for c in seen[prog] if not passes(c))
        check(not refused, "%s: %d system calls of %s pass SystemCallFilter= %s"
              % (name, len(seen[prog]), prog, "(refused: %s)" % " ".join(refused)
                 if refused else ""))


def stop_while_waiting(tmp):
    """Part 4: SIGTERM to a service that waits for a dtcd not yet up."""
    inst = "sdw%d" % os.getpid()
    err = os.path.join(tmp, "waiting.err")
    proc = subprocess.Popen([os.path.join(BIN, "dtc-" + SERVICES[0]), "--instance", inst,
                             "--data-dir", os.path.join(tmp, "waiting")],
                            stdout=subprocess.DEVNULL, stderr=open(err, "w"))
    try:
        waiting = wait_file(err, "waiting=dtcd", proc, 30)
        check(waiting, "a service without dtcd logs waiting=dtcd")
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        check(waiting and rc == 0, "stopped while waiting for dtcd: exit %d (want 0)" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    if not os.path.exists(os.path.join(BIN, "dtcd")):
        print("no dtcd in " + BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="dtc-systemd-")
    try:
        units = verify_units(tmp)
        path = os.path.join(tmp, "notify.sock")
        run_dtcd(tmp, path, path, True)
        name = "dtc-notify-%d" % os.getpid()
        run_dtcd(tmp, "@" + name, "\0" + name, False)
        check_syscalls(tmp, units)
        stop_while_waiting(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
