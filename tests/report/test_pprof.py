#!/usr/bin/env python3
"""tests/report/test_pprof.py — the pprof output read by `go tool pprof` (Debian's golang-go):
-top agrees with `hotloop report --format top` (flat = self, cum = total, per function) in
every view, the sample total is the samples stored, and the sample labels (pid, tid,
thread_name, thread_state) are there.  Function names are unique in the synthetic store, so a
per-name comparison is exact."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import check, check_eq, done, hotloop, require_binaries, skip, sql, synth, tmpdir  # noqa

require_binaries()
go = shutil.which("go")
if not go:
    skip("go is not installed: scripts/install-deps installs Debian's golang-go")
d = tmpdir()
env = dict(os.environ, GOCACHE=os.path.join(d, "gocache"), HOME=d, PPROF_TMPDIR=d)
db = synth(os.path.join(d, "mixed.db"), samples=30000, stacks=800, functions=150, depth=14,
           threads=3, processes=2, mixed=True, seed=9)
stored = sql(db, "SELECT sum(weight) FROM sample")[0][0]


def pprof(path, *args):
    r = subprocess.run([go, "tool", "pprof", *args, path], capture_output=True, env=env,
                       text=True, timeout=300)
    if r.returncode:
        check(False, f"go tool pprof {args}", r.stderr[-2000:])
    return r.stdout


def name_of(label):
    """The function name in a top label: up to " (" or " [" (markers are whole)."""
    if label.startswith("["):
        return label
    return re.split(r" \(| \[", label, 1)[0]


def hotloop_top(*view):
    out = hotloop("report", db, "-n", "0", *view, check_rc=0)[1]
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(\S+)\s+(.*)$", line)
        if m:
            rows[name_of(m.group(4))] = (int(m.group(1)), int(m.group(2)))
    return rows


def pprof_top(path, *extra):
    out = pprof(path, "-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0", *extra)
    rows, total = {}, None
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(.*)$", line)
        if m:
            rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
        m = re.search(r"accounting for (\d+), [\d.]+% of \d+ total", line)
        if m:
            total = int(m.group(1))
    return rows, total


for view in ([], ["--python-only"], ["--native-only"]):
    path = os.path.join(d, "p.pb.gz")
    hotloop("report", db, "--format", "pprof", "-o", path, *view, check_rc=0)
    ours = hotloop_top(*view)
    theirs, total = pprof_top(path)
    check_eq(stored, total, f"pprof {view}: total samples")
    check_eq(sorted(ours), sorted(theirs), f"pprof {view}: the same functions")
    bad = [(n, ours[n], theirs.get(n)) for n in ours if ours[n] != theirs.get(n)]
    check(not bad, f"pprof {view}: flat/cum agree with self/total", str(bad[:5]))
    print(f"view {view or 'mixed'}: {len(ours)} functions compared")

# Labels, and the cpu sample type.
path = os.path.join(d, "p.pb.gz")
hotloop("report", db, "--format", "pprof", "-o", path, check_rc=0)
tags = pprof(path, "-tags")
for key in ("pid", "tid", "thread_name", "thread_state"):
    check(re.search(rf"^\s*{key}:", tags, re.M) is not None, f"label {key}", tags[:500])
check("gil" in tags and "MainThread" in tags, "label values", tags[:500])
tid = sql(db, "SELECT min(tid) FROM thread")[0][0]
rows, total = pprof_top(path, f"-tagfocus=tid={tid}")
expected = sql(db, "SELECT sum(weight) FROM samples WHERE tid = ?", tid)[0][0]
check_eq(expected, total, "tagfocus tid selects the thread's samples")
cpu = pprof(path, "-top", "-sample_index=cpu", "-unit=ms")
m = re.search(r"of ([\d.]+)ms total", cpu)
check(m and abs(float(m.group(1)) - stored * 1000 / 999) < 0.01 * stored, "cpu nanoseconds",
      cpu[:300])
done()
