"""systemd_units.py - the unit files of systemd/ as the tests see them
(imported by test_systemd.py).

Every *.service.in, *.service and *.target in systemd/ is rendered as
`cmake --install` would (@DTC_BINDIR@ the build's bin, the service
template once per example service) and checked:
  - `systemd-analyze verify` says nothing at all;
  - `systemd-analyze security --offline=yes` rates each service <= 3.0;
  - no setting that deletes or hides what an instance shares: never
    DynamicUser= or RemoveIPC=yes (they remove the user's POSIX shared
    memory, the segment, when the unit stops), never ProtectProc=
    invisible|noaccess (dtc reads /proc/PID/stat of the other processes);
    a User= that is not root;
  - syscall_filter() expands the unit's SystemCallFilter= lines, for
    test_systemd.py to hold the programs' traced system calls to them.
"""
import glob
import os
import re
import subprocess

MAX_EXPOSURE = 3.0


def render(src_dir, bin_dir, conf_dir, services):
    """{unit name: text} for every unit file of src_dir."""
    units = {}
    pats = ("*.service.in", "*.service", "*.target.in", "*.target")
    for path in sorted(p for pat in pats for p in glob.glob(os.path.join(src_dir, pat))):
        name = os.path.basename(path)
        name = name[:-3] if name.endswith(".in") else name
        text = open(path).read()
        text = text.replace("@DTC_BINDIR@", bin_dir).replace("@DTC_CONFDIR@", conf_dir)
        if "@DTC_SERVICE@" in text:
            for svc in services:
                units["dtc-%s@.service" % svc] = (
                    text.replace("@DTC_SERVICE@", svc)
                    .replace("@DTC_SERVICE_VAR@", svc.upper() + "_OPTIONS"))
        else:
            units[name] = text
    return units


def instance_name(unit, inst):
    """dtcd@.service -> dtcd@INST.service (templates need an instance)."""
    return unit.replace("@.", "@%s." % inst)


def settings(text):
    """[(key, value)] of the unit's assignments, in order."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and line[0] not in "#;[" and "=" in line:
            key, value = line.split("=", 1)
            out.append((key.strip(), value.strip()))
    return out


def static_problems(name, text):
    """What a dtc unit must never say (see the file comment)."""
    left = re.findall(r"@[A-Z_]+@", text)
    bad = ["unset %s" % v for v in left]
    kv = settings(text)
    get = {k: v for k, v in kv}
    if get.get("DynamicUser", "no") not in ("no", "false", "0"):
        bad.append("DynamicUser= (it implies RemoveIPC=yes)")
    if get.get("RemoveIPC", "no") not in ("no", "false", "0"):
        bad.append("RemoveIPC=yes")
    if get.get("ProtectProc", "default") in ("invisible", "noaccess", "ptraceable"):
        bad.append("ProtectProc=%s hides the processes dtc checks" % get["ProtectProc"])
    if name.endswith(".service") and get.get("User", "root") in ("root", "0"):
        bad.append("runs as root (no User=)")
    return bad


def verify(paths):
    """(ok, output) of systemd-analyze verify over the files."""
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + paths,
                       capture_output=True, text=True, timeout=120)
    out = (r.stdout + r.stderr).strip()
    return r.returncode == 0 and out == "", out


def exposure(path):
    """systemd-analyze security --offline=yes's overall exposure, or None."""
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", path],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    return float(m.group(1)) if m else None


_groups = {}


def _expand(item):
    if not item.startswith("@"):
        return {item}
    if item not in _groups:
        r = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", item],
                           capture_output=True, text=True, timeout=60, check=True)
        names = set()
        for line in r.stdout.splitlines()[1:]:
            line = line.strip()
            if line and not line.startswith("#"):
                names |= _expand(line)
        _groups[item] = names
    return _groups[item]


def syscall_filter(text):
    """A predicate: is this system call let through the unit's
    SystemCallFilter= lines (allow-lists, then ~deny-lists)?"""
    allow, deny = None, set()
    for key, value in settings(text):
        if key != "SystemCallFilter" or not value:
            continue
        names = set()
        for item in value.lstrip("~").split():
            names |= _expand(item.split(":")[0])
        if value.startswith("~"):
            deny |= names
        else:
            allow = (allow or set()) | names
    return lambda call: (allow is None or call in allow) and call not in deny


def program(text):
    """The basename of ExecStart='s program."""
    for key, value in settings(text):
        if key == "ExecStart":
            return os.path.basename(value.lstrip("-@+!:").split()[0])
    return None
