#!/usr/bin/env python3
"""docs_commands.py SRC_DIR BUILD_DIR SANITIZE - the docs_commands test:
the shell commands README.md and docs/*.md show do run.

Every ```sh block of README.md and docs/*.md carries a marker on the line
above it (an HTML comment, invisible once rendered):

  <!-- docs-test: run session=NAME -->   run it; the blocks of one
                                          session run in order (README.md,
                                          then docs/ by name) in one bash
  <!-- docs-test: skip WHY -->           not run, and why (printed)

An unmarked block fails the test.  A session runs under bash -e -o
pipefail in a temp directory (also its $HOME), in a process group of its
own that is killed at the end, with a timeout, after these substitutions:
  build/bin/ -> BUILD_DIR/bin/, build-release -> BUILD_DIR (the suite's
  build stands in for the one the docs make), tests/ and scripts/ paths ->
  SRC_DIR/..., the instance names quickstart and demo -> names of the
  test's own.  Lines that configure or build the source tree (cmake -S .,
  cmake --build build...) are not run: the suite built it already.  In a
  sanitizer build (SANITIZE=ON) the sessions that link or load the
  installed library with a plain compiler or python3 are not run.
Prints what it ran and what it did not; exit 1 if a session failed or a
block is unmarked.
"""
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile

SRC, BUILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SANITIZE = sys.argv[3] == "ON"
os.chdir(SRC)
# Sessions that link or load the installed libdtc.so from a plain program.
PLAIN_ONLY = {"install": "an ASan-built libdtc cannot be linked by a plain cc or "
                         "loaded into python3"}
MARK = re.compile(r"<!--\s*docs-test:\s*(run\s+session=(\S+)|skip\s+(.*?))\s*-->")

problems, ran, skipped = [], [], []
sessions = {}  # name -> [(file, line, text)]


def blocks(path):
    """(line, marker match or None, block text) of every ```sh block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            j = i - 1
            while j >= 0 and lines[j].strip() == "":
                j -= 1
            mark = MARK.search(lines[j]) if j >= 0 else None
            k = i + 1
            while k < len(lines) and lines[k].strip() != "```":
                k += 1
            yield i + 1, mark, lines[i + 1:k]
            i = k
        i += 1


def is_tree_build(cmd):
    return re.match(r"cmake\s+(-S\s+\.(\s|$)|--build\s+build(\s|$|-release))", cmd) is not None


for path in ["README.md"] + sorted(glob.glob("docs/*.md")):
    for line, mark, text in blocks(path):
        where = "%s:%d" % (path, line)
        if mark is None:
            problems.append("%s: a ```sh block with no docs-test marker above it" % where)
        elif mark.group(3) is not None:
            skipped.append("%s: %s" % (where, mark.group(3)))
        else:
            sessions.setdefault(mark.group(2), []).append((where, text))


def script_of(name, parts, tmp):
    tag = "docs-%s-%d" % (name[:8], os.getpid())
    out = []
    for where, text in parts:
        out.append("echo '--- %s' >&2" % where)
        for raw in text:
            cmd = raw.strip()
            first = re.split(r"&&|;", cmd)[0].strip()
            if is_tree_build(first):
                skipped.append("%s: '%s': the suite built the tree already" % (where, cmd[:60]))
                continue
            cmd = raw.replace("build/bin/", BUILD + "/bin/").replace("build-release", BUILD)
            cmd = re.sub(r"(?<![\w/.$-])(tests|scripts)/", SRC + r"/\1/", cmd)
            cmd = re.sub(r"\b(quickstart|demo)\b", tag, cmd)
            out.append(cmd)
    return tag, "\n".join(out) + "\n"


def run_session(name, parts):
    if SANITIZE and name in PLAIN_ONLY:
        for where, _ in parts:
            skipped.append("%s: %s" % (where, PLAIN_ONLY[name]))
        return
    with tempfile.TemporaryDirectory(prefix="dtc-docs-cmd-") as tmp:
        tag, script = script_of(name, parts, tmp)
        env = dict(os.environ, HOME=os.path.join(tmp, "home"), TMPDIR=tmp)
        env.pop("DTC_INSTANCE", None)
        env.pop("DTC_DATA_DIR", None)
        os.makedirs(env["HOME"])
        p = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        try:
            out, _ = p.communicate(timeout=120)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
            out = ""
        try:
            os.killpg(p.pid, signal.SIGKILL)  # whatever it left running
        except ProcessLookupError:
            pass
        p.wait()
        for seg in glob.glob("/dev/shm/dtc." + tag):
            os.unlink(seg)
        names = ", ".join(w for w, _ in parts)
        if rc != 0:
            problems.append("session %s (%s) failed: %s\n%s" % (name, names, rc, out))
        else:
            ran.append("session %s: %s\n    %s" % (name, names,
                                                  out.strip().replace("\n", "\n    ")))


for name, parts in sessions.items():
    run_session(name, parts)
for r in ran:
    print("docs_commands: ran " + r)
for s in skipped:
    print("docs_commands: not run: " + s)
for p in problems:
    print("docs_commands: FAIL " + p, file=sys.stderr)
if not ran:
    problems.append("no block ran")
sys.exit(1 if problems else 0)
