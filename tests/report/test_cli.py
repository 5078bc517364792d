#!/usr/bin/env python3
"""tests/report/test_cli.py — `hotloop report` through its CLI on a synthetic mixed-mode store:
every format runs and is well-formed; folded counts sum to the samples stored; each filter,
alone and with each view, selects exactly the samples an SQL query names; usage and error
exits."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import (check, check_eq, done, folded_sum, hotloop, require_binaries, sql,  # noqa
                    synth, tmpdir)

require_binaries()
d = tmpdir()
db = synth(os.path.join(d, "mixed.db"), samples=20000, stacks=600, functions=150, depth=14,
           threads=3, processes=2, mixed=True, seed=5)
stored = sql(db, "SELECT sum(weight) FROM sample")[0][0]
start_us = sql(db, "SELECT start_ns / 1000 FROM profile")[0][0]

# Every format runs, and says something.
for fmt in ("top", "tree", "lines", "folded", "svg", "html", "speedscope", "json"):
    rc, out, err = hotloop("report", db, "--format", fmt, check_rc=0)
    check(len(out) > 100, f"{fmt}: output", f"{len(out)} bytes")
rc, out, err = hotloop("report", db, "--format", "pprof", "-o", os.path.join(d, "p.pb.gz"),
                       check_rc=0)
check(open(os.path.join(d, "p.pb.gz"), "rb").read(2) == b"\x1f\x8b", "pprof is gzip")

# json: the model adds up.
model = json.loads(hotloop("report", db, "--format", "json")[1])
check_eq(stored, sum(c[3] for c in model["counts"]), "json: counts sum to the samples")
check_eq(stored, model["summary"]["selected"], "json: summary.selected")
check(all(-1 <= s[0] < i for i, s in enumerate(model["stacks"])), "json: parents before children")

# speedscope: one profile per thread, weights sum to the samples.
ss = json.loads(hotloop("report", db, "--format", "speedscope")[1])
threads = sql(db, "SELECT count(DISTINCT thread_id) FROM sample")[0][0]
check_eq(threads, len(ss["profiles"]), "speedscope: one profile per thread")
check_eq(stored, sum(sum(p["weights"]) for p in ss["profiles"]), "speedscope: weights sum")
check(all(len(p["samples"]) == len(p["weights"]) for p in ss["profiles"]), "speedscope: shape")

# Folded round trip: the counts sum to the samples stored, in every view.
for view in ([], ["--python-only"], ["--native-only"]):
    out = hotloop("report", db, "--format", "folded", *view, check_rc=0)[1]
    check_eq(stored, folded_sum(out), f"folded {view}: counts sum to the samples stored")
    check(len(set(l.rsplit(" ", 1)[0] for l in out.splitlines())) == len(out.splitlines()),
          f"folded {view}: lines unique")

# The mixed view never shows the eval loop under a Python frame, the native view never a
# Python frame, the Python view never a native one.
mixed = hotloop("report", db, "--format", "folded")[1]
check("_PyEval_EvalFrameDefault" not in mixed.replace(
    "_PyEval_EvalFrameDefault (ceval.c) [libpython3.12.so.1.0] ", ""),
    "mixed: eval frames replaced by the Python frames they run")
native = hotloop("report", db, "--format", "folded", "--native-only")[1]
check(".py:" not in native, "native-only: no Python frames")
python = hotloop("report", db, "--format", "folded", "--python-only")[1]
check("[libz.so.1]" not in python and "_[k]" not in python, "python-only: no native frames")

# Filters against SQL.  Each oracle is a WHERE clause over the samples view.
pids = [r[0] for r in sql(db, "SELECT pid FROM process ORDER BY pid")]
tids = [r[0] for r in sql(db, "SELECT tid FROM thread ORDER BY tid")]
frames_of = "stack_id IN (SELECT stack_id FROM stack_frames WHERE function = '{}')"
filters = [
    (["--pid", str(pids[1])], f"pid = {pids[1]}"),
    (["--tid", str(tids[2])], f"tid = {tids[2]}"),
    (["--pid", str(pids[0]), "--tid", str(tids[1])], f"pid = {pids[0]} AND tid = {tids[1]}"),
    (["--thread", "^worker"], "thread LIKE 'worker%'"),
    (["--thread", "^MainThread$"], "thread = 'MainThread'"),
    (["--gil"], "state = 1"),
    (["--no-gil"], "state = 2"),
    (["--from", "3", "--to", "9.5"], "time_us >= 3000000 AND time_us < 9500000"),
    (["--from", "500ms"], "time_us >= 500000"),
    (["--to", "0.25m"], "time_us < 15000000"),
    (["--from", "@%.6f" % ((start_us + 2000000) / 1e6), "--to", "@%.6f" % ((start_us + 4000000) / 1e6)],
     "time_us >= 2000000 AND time_us < 4000000"),
    (["--focus", r"^handler_3 \("], frames_of.format("handler_3")),
    (["--ignore", r"^c_helper_1 \("], "NOT " + frames_of.format("c_helper_1")),
    (["--focus", "libz"], "stack_id IN (SELECT stack_id FROM stack_frames WHERE module LIKE '%libz%')"),
    (["--focus", r"^handler_0 \(", "--ignore", "^ksys_", "--gil"],
     frames_of.format("handler_0") + " AND state = 1 AND stack_id NOT IN "
     "(SELECT stack_id FROM stack_frames WHERE kind = 3)"),
]
for args, where in filters:
    expected = sql(db, f"SELECT coalesce(sum(weight), 0) FROM samples WHERE {where}")[0][0]
    check(expected > 0, f"{args}: the oracle selects something", str(expected))
    for view in ([], ["--python-only"], ["--native-only"]):
        out = hotloop("report", db, "--format", "folded", *args, *view, check_rc=0)[1]
        check_eq(expected, folded_sum(out), f"filter {args} {view}")
    top = hotloop("report", db, *args, check_rc=0)[1]
    m = re.match(r"(\d+) samples of (\d+) stored", top)
    check(m and int(m.group(1)) == expected and int(m.group(2)) == stored,
          f"top header {args}", top.splitlines()[0])

# Empty selections: exit 0, a note on stderr.
rc, out, err = hotloop("report", db, "--pid", "999999", "--format", "folded", check_rc=0)
check(out == "" and "no samples" in err, "empty selection: empty output, note on stderr")

# lines: --function picks functions; tree: --min-percent prunes.
out = hotloop("report", db, "--format", "lines", "--function", r"^handler_1 \(", check_rc=0)[1]
check(re.search(r"^handler_1 \(", out, re.M) is not None, "lines --function: the block")
check(re.search(r"^handler_2 \(", out, re.M) is None, "lines --function: only that one")
full = hotloop("report", db, "--format", "tree", "--min-percent", "0")[1]
pruned = hotloop("report", db, "--format", "tree", "--min-percent", "5")[1]
check(len(pruned.splitlines()) < len(full.splitlines()) and "left out" in pruned,
      "tree --min-percent prunes and says so")

# Usage errors: 64; bad input: 2.
for args in (["--format", "nope"], ["--from", "yesterday"], ["--focus", "("], ["--gil", "--no-gil"],
             ["--python-only", "--native-only"], ["--from", "10", "--to", "5"], ["-n", "x"],
             ["--thread", "[z-a]"], ["--min-percent", "101"], ["--function", "("]):
    check_eq(64, hotloop("report", db, *args)[0], f"usage error {args}")
check_eq(64, hotloop("report")[0], "report without FILE")
check_eq(64, hotloop("diff", db)[0], "diff with one FILE")
check_eq(2, hotloop("report", os.path.join(d, "missing.db"))[0], "missing file")
open(os.path.join(d, "junk.db"), "w").write("not a database at all, not even close" * 100)
check_eq(2, hotloop("report", os.path.join(d, "junk.db"))[0], "foreign file")
out_file = os.path.join(d, "candidates.txt")
check_eq(2, hotloop("candidates", os.path.join(d, "junk.db"), "-o", out_file)[0],
         "candidates of a foreign file")
check(not os.path.exists(out_file), "a failed candidates -o leaves no file behind")
check_eq(0, hotloop("candidates", db, "-o", out_file)[0], "candidates -o")
check("samples" in open(out_file).read(), "candidates -o writes the analysis")
check_eq(0, hotloop("report", "--help")[0], "report --help")
check_eq(0, hotloop("diff", "--help")[0], "diff --help")
done()
