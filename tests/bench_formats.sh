#!/usr/bin/env bash
# bench_formats.sh DTC_BENCH PLOT_BENCH - the bench_formats test: the
# output formats of dtc-bench and scripts/plot-bench, on short runs.
#   1. --format markdown: the command line above the tables; one table per
#      mode with a header row of the C values and one row per N, in the
#      order given; every cell a number equal to the txn/s of the same row
#      of the text table (in the code block above), with its ratio to
#      floor (and floor-wake) for the dtc modes; below it the mode's
#      latency table of the same shape, every cell "p99 / p99.9 / max" equal
#      to the same row of the text table, in that order of size; the
#      noop/noop-nolog ratio table with one row per (C, N) whose ratio is
#      num / den; the syncs table, a row per (mode, N) with its sync
#      rounds (the mode's by design) and the syncs per order at each C,
#      equal to the text table's rounds and syncs/tx columns (0 for the
#      floors and noop-nolog, above 0 for noop at N=3: the decision log).
#   2. --format json with --repeat 2: valid JSON on stdout, every cell with
#      p99_us <= p999_us <= max_us, sync_rounds and syncs_per_txn (0 for
#      floor-wake; noop at N=1: 0 rounds, a one-phase commit), and on stderr one progress line
#      "[k/total] ... run r/2" per run of a cell.
#   3. plot-bench on that JSON writes a PNG (signature, size, dimensions).
# Not timed: no speed is asserted.  Each dtc-bench uses its own instance
# (bench-<pid>); files live in a mktemp -d directory.
set -euo pipefail
bench=${1:?usage: bench_formats.sh DTC_BENCH PLOT_BENCH}
plot=${2:?usage: bench_formats.sh DTC_BENCH PLOT_BENCH}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dtc-bench-formats.XXXXXX")
trap 'rm -rf "$dir"' EXIT

fail() {
    echo "bench_formats: $*" >&2
    exit 1
}

# 1. Markdown.
# shellcheck disable=SC2054 # the commas are dtc-bench's list syntax
md_args=(--quick --participants 1,3 --coordinators 1,4 --mode noop,noop-nolog,floor-wake
    --format markdown)
timeout 60 "$bench" "${md_args[@]}" >"$dir/md" 2>"$dir/md.err" \
    || { cat "$dir/md" "$dir/md.err"; fail "dtc-bench --format markdown failed"; }
cat "$dir/md"
python3 - "$dir/md" "${md_args[*]}" <<'EOF' || fail "markdown output has the wrong shape"
import re, sys
text = open(sys.argv[1]).read()
args = sys.argv[2]
lines = text.split("\n")
def die(msg):
    sys.exit("bench_formats: " + msg)
def num(s):
    s = s.strip()
    if not re.fullmatch(r"\d{1,3}(,\d{3})*", s):
        die(f"not a number with thousands separators: {s!r}")
    return int(s.replace(",", ""))

# The text table, in a code block, and its txn/s column by (mode, N, C).
if lines[0] != "```text" or "```" not in lines[1:]:
    die("no text table in a code block first")
end = lines.index("```", 1)
tps, tails = {}, {}
if lines[1].split()[10:13] != ["p99us", "p99.9us", "maxus"]:
    die(f"text table header without p99, p99.9 and max: {lines[1]!r}")
head = lines[1].split()
if head[-3:] != ["rounds", "syncs/tx", "fail"]:
    die(f"text table header without rounds and syncs/tx: {lines[1]!r}")
syncs = {}
for row in lines[2:end]:
    f = row.split()
    tps[(f[0], int(f[1]), int(f[2]))] = int(f[4])
    tails[(f[0], int(f[1]), int(f[2]))] = [int(x) for x in f[9:12]]
    syncs[(f[0], int(f[1]), int(f[2]))] = (int(f[len(head) - 4]), f[len(head) - 3])
if len(tps) != 4 * 2 * 2:
    die(f"{len(tps)} rows in the text table, want 16")
cmd = [l for l in lines[end:] if l.startswith("`") and l.endswith("`") and "dtc-bench" in l]
if len(cmd) != 1 or not cmd[0].endswith(" " + args + "`"):
    die(f"no command line ending in {args!r} above the tables: {cmd}")

Ns, Cs = [1, 3], [1, 4]
for mode in ["floor", "floor-wake", "noop", "noop-nolog"]:
    legend = [i for i, l in enumerate(lines) if l.startswith(f"`{mode}`: txn/s")]
    if len(legend) != 1:
        die(f"no table for {mode}")
    i = legend[0] + 2
    if lines[i] != "| N \\ C | " + " | ".join(map(str, Cs)) + " |":
        die(f"{mode}: header {lines[i]!r}")
    if lines[i + 1] != "|---|" + "---|" * len(Cs):
        die(f"{mode}: separator {lines[i + 1]!r}")
    rows = []
    for l in lines[i + 2:]:
        if not l.startswith("|"):
            break
        rows.append(l)
    if len(rows) != len(Ns):
        die(f"{mode}: {len(rows)} rows, want one per N")
    for n, row in zip(Ns, rows):
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0] != f"{mode}, N={n}" or len(cells) != 1 + len(Cs):
            die(f"{mode}: row {row!r}")
        for c, cell in zip(Cs, cells[1:]):
            m = re.fullmatch(r"([\d,]+)(?: \(([\d.]+)(?:, ([\d.]+))?\))?", cell)
            if not m:
                die(f"{mode} N={n} C={c}: cell {cell!r}")
            if num(m.group(1)) != tps[(mode, n, c)]:
                die(f"{mode} N={n} C={c}: {cell!r} but the text table says {tps[(mode, n, c)]}")
            want = {"floor": 0, "floor-wake": 1}.get(mode, 2)
            got = sum(g is not None for g in m.groups()[1:])
            if got != want:
                die(f"{mode} N={n} C={c}: {got} ratios in {cell!r}, want {want}")
            for g in m.groups()[1:]:
                if g is not None:
                    float(g)
    legend = [i for i, l in enumerate(lines)
              if l == f"`{mode}`: latency p99 / p99.9 / max, us"]
    if len(legend) != 1 or legend[0] < i:
        die(f"no latency table for {mode} below its txn/s table")
    j = legend[0] + 2
    if lines[j] != "| N \\ C | " + " | ".join(map(str, Cs)) + " |":
        die(f"{mode} latency: header {lines[j]!r}")
    for n, row in zip(Ns, lines[j + 2:j + 2 + len(Ns)]):
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0] != f"{mode}, N={n}" or len(cells) != 1 + len(Cs):
            die(f"{mode} latency: row {row!r}")
        for c, cell in zip(Cs, cells[1:]):
            got = [num(x) for x in cell.split(" / ")]
            if got != tails[(mode, n, c)]:
                die(f"{mode} N={n} C={c}: tails {cell!r} but the text table says "
                    f"{tails[(mode, n, c)]}")
            if not 0 < got[0] <= got[1] <= got[2]:
                die(f"{mode} N={n} C={c}: tails {cell!r} not p99 <= p99.9 <= max")

legend = [i for i, l in enumerate(lines) if l.startswith("`noop/noop-nolog`")]
if len(legend) != 1:
    die("no noop/noop-nolog ratio table")
i = legend[0] + 2
if lines[i] != "| C | N | noop txn/s | noop-nolog txn/s | ratio |":
    die(f"ratio header {lines[i]!r}")
rows = [l for l in lines[i + 2:i + 2 + len(Cs) * len(Ns)] if l.startswith("|")]
if len(rows) != len(Cs) * len(Ns):
    die(f"{len(rows)} ratio rows, want {len(Cs) * len(Ns)}")
for row in rows:
    c, n, a, b, r = [x.strip() for x in row.strip("|").split("|")]
    a, b, r = num(a), num(b), float(r)
    if a != tps[("noop", int(n), int(c))] or b != tps[("noop-nolog", int(n), int(c))]:
        die(f"ratio row {row!r} does not match the text table")
    if abs(r - a / b) > 0.006 + 1 / b:
        die(f"ratio row {row!r}: {a} / {b} is not {r}")
legend = [i for i, l in enumerate(lines) if l.startswith("Sync rounds an order waits for")]
if len(legend) != 1:
    die("no syncs table")
i = legend[0] + 2
if lines[i] != "| mode | N | rounds | " + " | ".join(f"syncs/order C={c}" for c in Cs) + " |":
    die(f"syncs header {lines[i]!r}")
rows = []
for l in lines[i + 2:]:
    if not l.startswith("|"):
        break
    rows.append([x.strip() for x in l.strip("|").split("|")])
want_rounds = {("floor", 1): 0, ("floor", 3): 0, ("floor-wake", 1): 0, ("floor-wake", 3): 0,
               ("noop", 1): 0, ("noop", 3): 1, ("noop-nolog", 1): 0, ("noop-nolog", 3): 0}
if sorted((r[0], int(r[1])) for r in rows) != sorted(want_rounds):
    die(f"syncs table rows {[r[:2] for r in rows]}, want one per (mode, N)")
for r in rows:
    mode, n = r[0], int(r[1])
    if int(r[2]) != want_rounds[(mode, n)]:
        die(f"{mode} N={n}: {r[2]} rounds, want {want_rounds[(mode, n)]}")
    for c, cell in zip(Cs, r[3:]):
        text_rounds, text_syncs = syncs[(mode, n, c)]
        if text_rounds != int(r[2]) or cell != text_syncs:
            die(f"{mode} N={n} C={c}: {r[2]} rounds, {cell} syncs but the text table says "
                f"{text_rounds}, {text_syncs}")
        if mode == "noop" and n == 3:
            if not float(cell) > 0:
                die(f"noop N=3 C={c}: {cell} syncs per order, the decision log syncs")
        elif mode != "noop" and float(cell) != 0:
            die(f"{mode} N={n} C={c}: {cell} syncs per order, nothing is synced")
print("bench_formats: markdown grid ok")
EOF

# 2. JSON and the progress lines.
timeout 60 "$bench" --quick --participants 1 --coordinators 1,4 --mode noop,floor-wake \
    --repeat 2 --format json >"$dir/run.json" 2>"$dir/json.err" \
    || { cat "$dir/json.err"; fail "dtc-bench --format json failed"; }
cat "$dir/json.err"
python3 - "$dir/run.json" "$dir/json.err" <<'EOF' || fail "json or progress output is wrong"
import json, re, sys
run = json.load(open(sys.argv[1]))
if len(run["cells"]) != 6 or run["cpus"] < 1:
    sys.exit(f"bench_formats: {len(run['cells'])} cells, want 6")
for c in run["cells"]:
    if not 0 < c["p99_us"] <= c["p999_us"] <= c["max_us"]:
        sys.exit(f"bench_formats: {c['mode']} C={c['coordinators']}: p99 {c['p99_us']}, "
                 f"p99.9 {c['p999_us']}, max {c['max_us']}: want 0 < p99 <= p99.9 <= max")
    want = (0, 0.0) if c["mode"] == "floor-wake" else (0, None)
    got = (c.get("sync_rounds"), c.get("syncs_per_txn"))
    if got[0] != want[0] or got[1] is None or (want[1] is not None and got[1] != want[1]):
        sys.exit(f"bench_formats: {c['mode']} C={c['coordinators']}: sync_rounds, "
                 f"syncs_per_txn {got}, want {want} (None: any number)")
seen = {}
for l in open(sys.argv[2]):
    m = re.match(r"dtc-bench: \[(\d+)/6\] (\S+) N=1 C=(\d+) run (\d)/2 \(0\.3 s\)\.\.\. [\d,]+ txn/s$",
                 l.rstrip("\n"))
    if m:
        seen.setdefault(int(m.group(1)), set()).add((m.group(2), m.group(3), m.group(4)))
if sorted(seen) != list(range(1, 7)) or any(len(v) != 2 for v in seen.values()):
    sys.exit(f"bench_formats: progress lines {seen}, want cells 1..6 with runs 1 and 2")
print("bench_formats: json and progress ok")
EOF

# 3. The plot.
"$plot" -o "$dir/grid.png" "$dir/run.json" || fail "plot-bench failed"
python3 - "$dir/grid.png" <<'EOF' || fail "plot-bench did not write a valid PNG"
import struct, sys
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
    sys.exit("bench_formats: not a PNG")
w, h = struct.unpack(">II", data[16:24])
if len(data) < 10000 or w < 400 or h < 300:
    sys.exit(f"bench_formats: PNG of {len(data)} bytes, {w}x{h}: too small for a plot")
print(f"bench_formats: PNG ok, {len(data)} bytes, {w}x{h}")
EOF
