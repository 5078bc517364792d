#!/usr/bin/env python3
"""tests/report/test_diff.py — `hotloop diff` on synthetic stores (bench/synth_store.c).

- diff(A, A) reports nothing and exits 0;
- a function made 15% slower (its stacks' weight x 1.15, head sampled with another seed) fails
  the gate (exit 1) and is named first;
- a renamed function and a function moved to another file show as removed/added, exit 0;
- two samplings of one distribution (N seed pairs) pass the gate: the false-positive rate is
  printed, for the default gate and for threshold 0 (the test alone, significance 0.05);
- every format writes.
The stores are synthetic, so sampling is independent; docs/formats.md ("diff") discusses real
recordings, whose samples are not."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import check, check_eq, done, hotloop, require_binaries, synth, tmpdir  # noqa

require_binaries()
d = tmpdir()
LAYOUT = dict(samples=50000, stacks=1000, functions=150, depth=12, threads=2, layout_seed=7)


def store(name, seed, **extra):
    return synth(os.path.join(d, name), seed=seed, **LAYOUT, **extra)


def diff_json(base, head, *args):
    rc, out, err = hotloop("diff", base, head, "--format", "json", *args)
    return rc, json.loads(out) if out else None


a = store("a.db", 1)
rc, j = diff_json(a, a)
check_eq(0, rc, "diff A A: exit 0")
check(j and not any(f["status"] != "unchanged" for f in j["functions"]), "diff A A: no change")
check(j and all(f["p_self"] == 1 and f["p_total"] == 1 for f in j["functions"]), "diff A A: p = 1")

# The function to slow down: the Python function with the most self samples.
model = json.loads(hotloop("report", a, "--format", "json")[1])
self_of = {}
for stack, thread, state, weight in model["counts"]:
    if stack >= 0:
        fn = model["frames"][model["stacks"][stack][1]][0]
        self_of[fn] = self_of.get(fn, 0) + weight
hot = max((f for f in self_of if model["functions"][f]["kind"] == "py"), key=self_of.get)
hot_name = model["functions"][hot]["name"]
hot_label = f"{hot_name} ({model['functions'][hot]['file']})"
print(f"slowing down {hot_label}: {100 * self_of[hot] / model['summary']['selected']:.2f}% self")

slow = store("slow.db", 2, boost=f"{hot_name}=1.15")
rc, j = diff_json(a, slow)
check_eq(1, rc, "15% slower: exit 1")
regressions = [f for f in j["functions"] if f["status"] == "regression"] if j else []
check(regressions and regressions[0]["function"] == hot_label,
      "15% slower: named first", regressions[0]["function"] if regressions else "none")
rc, text, err = hotloop("diff", a, slow)
check(rc == 1 and "FAIL" in text and hot_label in text, "text verdict names it")
rc, md, err = hotloop("diff", a, slow, "--format", "markdown")
check(rc == 1 and "❌" in md and f"`{hot_label}`" in md, "markdown names it")
for fmt in ("html", "svg"):
    out = os.path.join(d, f"diff.{fmt}")
    rc = hotloop("diff", a, slow, "--format", fmt, "-o", out)[0]
    check(rc == 1 and os.path.getsize(out) > 10000, f"diff --format {fmt}")

# Renamed and moved functions: removed and added, not crashed on, not a regression.
other = hot_name + "_renamed"
moved_fn = "handler_3" if hot_name != "handler_3" else "handler_4"
renamed = store("renamed.db", 3, rename=f"{hot_name}={other}", move=f"{moved_fn}=/srv/lib/moved.py")
rc, j = diff_json(a, renamed)
status = {f["function"]: f["status"] for f in j["functions"]} if j else {}
check_eq("removed", status.get(hot_label), "renamed: the old name is removed")
check_eq("added", status.get(f"{other} ({model['functions'][hot]['file']})"), "renamed: the new name is added")
moved_old = [k for k in status if k.startswith(moved_fn + " (")]
check(status.get(f"{moved_fn} (/srv/lib/moved.py)") == "added" and
      any(status[k] == "removed" for k in moved_old), "moved: removed from one file, added to the other")
check_eq(0, rc, "renamed/moved: exit 0")

# False positives: two samplings of one distribution.
N = int(os.environ.get("HOTLOOP_DIFF_RUNS", "20"))
fp_default = fp_zero = 0
for i in range(N):
    base = store("base.db", 1000 + i)
    head = store("head.db", 2000 + i)
    fp_default += hotloop("diff", base, head)[0] == 1
    fp_zero += hotloop("diff", base, head, "--threshold", "0", "--significance", "0.05")[0] == 1
print(f"false positives: default gate (0.5 pp, p < 0.01): {fp_default}/{N}; "
      f"threshold 0, p < 0.05: {fp_zero}/{N}")
check_eq(0, fp_default, "default gate: no false positive")
check(fp_zero <= max(1, N // 10), "threshold 0: false-positive rate near the significance level",
      f"{fp_zero}/{N}")
# With threshold 0 the test alone must still see the 15% slowdown.
check_eq(1, hotloop("diff", a, slow, "--threshold", "0")[0], "threshold 0: slowdown found")
done()
