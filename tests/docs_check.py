#!/usr/bin/env python3
"""docs_check.py SRC_DIR BIN_DIR - the docs_check test: what comments and
docs point at exists, and what they list is what the code has.

  1. Every repository path named in a tracked text file (src/..., tests/...,
     docs/..., a relative ../ link) exists: a file, a folder, or, for a
     glob (tests/tools/powercut*.c) or a placeholder in capitals
     (tests/fuzz/corpus/TARGET/), at least one match.  A path right after
     '$' or '/' is a variable's or an install tree's (not checked).
  2. Every file name (NAME.c, .h in quotes, .sh, .py, .cmake, .md) named
     in a comment or doc is the name of a tracked file (or of the .in
     template it is generated from, or a placeholder in capitals).
  3. The crash points: every point the code fires (dtc__fault, dtc_fault,
     the store's FAULT hook) is in src/libdtc/fault.c's list, and every
     listed point is fired somewhere.
  4. docs/limits.md's segment sizes are those dtcd prints (ready ...
     size=BYTES) for the same limits.

Exit 0 when all hold, 1 with one line per problem.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

SRC, BIN = sys.argv[1], sys.argv[2]
os.chdir(SRC)
problems = []

def tracked():
    """The repository's files: git's list, else the tree without build dirs."""
    r = subprocess.run(["git", "ls-files"], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout:
        return r.stdout.split()
    out = []
    for d, dirs, files in os.walk("."):
        dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
        out += [os.path.relpath(os.path.join(d, f)) for f in files]
    return out


FILES = tracked()
TEXT = {}
for f in FILES:
    # .gitignore names what must never be in the repository
    if not os.path.isfile(f) or f.endswith((".png", ".gz")) or f == ".gitignore":
        continue
    try:
        with open(f, encoding="utf-8") as fh:
            TEXT[f] = fh.read()
    except UnicodeDecodeError:
        pass

TOP = "src|tests|docs|scripts|participants|bindings|man|completion|cmake|systemd|include"
PATH_RE = re.compile(r"(?<![A-Za-z0-9_./$-])((?:\.\./)*(?:%s)/[A-Za-z0-9_./@+-]*[A-Za-z0-9_/])"
                     r"([*{$]?)" % TOP)


def exists(path, follow):
    """A path exists, or (a glob, a placeholder) something matches it."""
    pattern = re.sub(r"(?<=/)[A-Z][A-Z_]+(?=[/._]|$)", "*", path)
    pattern = re.sub(r"(?<=_)[A-Z][A-Z_]+(?=[/.]|$)", "*", pattern)
    if follow:
        pattern += "*"
    if pattern != path:
        return bool(glob.glob(pattern))
    return os.path.exists(path)


def check_paths():
    for f, txt in TEXT.items():
        for m in PATH_RE.finditer(txt):
            p, follow = m.group(1), m.group(2)
            if p.startswith("../"):  # a relative link: from the file's folder
                p = os.path.normpath(os.path.join(os.path.dirname(f), p))
            if not exists(p, follow):
                line = txt.count("\n", 0, m.start()) + 1
                problems.append("%s:%d: no such path in the repository: %s" % (f, line, p))


NAME_RE = re.compile(r"(?<![A-Za-z0-9_./$<-])([A-Za-z0-9_-]+\.(?:c|sh|py|cmake|md))\b"
                     r"(?![A-Za-z0-9_(-])")


def comments(f, txt):
    """A C file's comments (blanks elsewhere, so line numbers hold); any
    other file whole."""
    if not f.endswith((".c", ".h")):
        return txt
    return re.sub(r'/\*.*?\*/|//[^\n]*|("(?:\\.|[^"\\\n])*")|[^\n]',
                  lambda m: m.group(0) if m.group(0).startswith("/") and m.group(1) is None
                  else "\n" * m.group(0).count("\n") or " ", txt, flags=re.S)


def check_names():
    names = {os.path.basename(f) for f in FILES}
    for f, full in TEXT.items():
        txt = comments(f, full)
        for m in NAME_RE.finditer(txt):
            n = m.group(1)
            if n in names or n + ".in" in names or re.search(r"[A-Z]{4,}", n):
                continue
            line = txt.count("\n", 0, m.start()) + 1
            problems.append("%s:%d: names a file the repository does not have: %s"
                            % (f, line, n))


POINT_RE = re.compile(r'"((?:coord|part|sup|lock|dlog|store|pg)\.[a-z_]+)"')


def check_crash_points():
    fired = set()
    for f, txt in TEXT.items():
        if f.endswith((".c", ".h")) and f.startswith(("src/", "participants/")) \
                and f != "src/libdtc/fault.c":
            code = re.sub(r"/\*.*?\*/", "", txt, flags=re.S)  # not the comments
            code = re.sub(r"^#include.*$", "", code, flags=re.M)
            fired |= set(POINT_RE.findall(code))
    head = TEXT["src/libdtc/fault.c"].split("*/", 1)[0]
    listed = set(re.findall(r"\b((?:coord|part|sup|lock|dlog|store|pg)\.[a-z_]+)", head))
    listed -= {"store.h", "dlog.h", "pg.h"}  # the headers it names
    for p in sorted(fired - listed):
        problems.append("src/libdtc/fault.c: crash point %s is fired but not in its list" % p)
    for p in sorted(listed - fired):
        problems.append("src/libdtc/fault.c: crash point %s is listed but fired nowhere" % p)
    if not fired:
        problems.append("no crash point found in the code (the pattern is broken)")


def dtcd_size(txns, parts, participants):
    """The size dtcd prints for these limits, from a throwaway dtcd."""
    with tempfile.TemporaryDirectory(prefix="dtc-docs-") as tmp:
        inst = "docs-check-%d" % os.getpid()
        p = subprocess.Popen([os.path.join(BIN, "dtcd"), "--instance", inst, "--data-dir",
                              os.path.join(tmp, "dlog"), "--max-txns", str(txns),
                              "--max-parts", str(parts), "--max-participants",
                              str(participants), "--dlog-file-mb", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = p.stdout.readline()
        finally:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    m = re.search(r"\bsize=(\d+)", line)
    return int(m.group(1)) if m else None


def check_limits():
    rows = re.findall(r"^\| (\d+) / (\d+) / (\d+)[^|]*\| ([\d,]+) bytes", TEXT["docs/limits.md"],
                      re.M)
    if not rows:
        problems.append("docs/limits.md: no 'TXNS / PARTS / PARTICIPANTS | N bytes' row found")
    for txns, parts, nparts, doc in rows:
        got = dtcd_size(txns, parts, nparts)
        want = int(doc.replace(",", ""))
        if got != want:
            problems.append("docs/limits.md: %s / %s / %s says %s bytes, dtcd prints size=%s"
                            % (txns, parts, nparts, doc, got))


check_paths()
check_names()
check_crash_points()
check_limits()
for p in problems:
    print("docs_check: " + p, file=sys.stderr)
print("docs_check: %d files, %d problem(s)" % (len(TEXT), len(problems)))
sys.exit(1 if problems else 0)
