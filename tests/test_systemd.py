#!/usr/bin/env python3
"""test_systemd.py - dtcd under a service manager, without one running.

  python3 tests/test_systemd.py BIN_DIR SYSTEMD_SRC_DIR

1. The unit files (systemd/*.service.in, @DTC_BINDIR@ set to BIN_DIR) pass
   `systemd-analyze verify` with no complaint at all.
2. The notify protocol, against a fake NOTIFY_SOCKET (a path, then an
   abstract "@name"): READY=1 with MAINPID comes only once the segment
   exists and dtcctl can read it; WATCHDOG=1 follows at half of
   WATCHDOG_USEC; SIGHUP reopens --log-file after a rotation; SIGTERM
   says STOPPING=1 and dtcd exits 0.
Every process it starts is stopped by pid; exit 0 pass, 1 fail, 77 skip.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN, UNITS = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def verify_units(tmp):
    if shutil.which("systemd-analyze") is None:
        print("SKIP systemd-analyze is missing (Debian package systemd)")
        return
    inst = "sdv%d" % os.getpid()
    files = []
    for src, name in (("dtcd@.service.in", "dtcd@%s.service" % inst),
                      ("dtc-service@.service.in", "dtc-service@inventory.service")):
        text = open(os.path.join(UNITS, src)).read().replace("@DTC_BINDIR@", BIN)
        path = os.path.join(tmp, name)
        open(path, "w").write(text)
        files.append(path)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + files,
                       capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and out == "", "systemd-analyze verify: rc=%d %s" % (r.returncode, out))


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


def main():
    if not os.path.exists(os.path.join(BIN, "dtcd")):
        print("no dtcd in " + BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="dtc-systemd-")
    try:
        verify_units(tmp)
        path = os.path.join(tmp, "notify.sock")
        run_dtcd(tmp, path, path, True)
        name = "dtc-notify-%d" % os.getpid()
        run_dtcd(tmp, "@" + name, "\0" + name, False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
