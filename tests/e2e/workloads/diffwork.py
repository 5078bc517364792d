"""e2e workload "diffwork": four stages share the CPU in a fixed pattern, for `hotloop diff`.

Usage: python diffwork.py [ROUNDS=150] [--slow=STAGE] [--renamed]

Each round calls parse, transform, score and render once, in that order, each running the
one-line loop of _common.HOT_LINE_TEXT for a fixed number of iterations (STAGE_ITERATIONS:
25%, 20%, 40% and 15% of the work; a round takes about 20 ms at 100 ns an iteration).  The
work is fixed, not the time: two runs of one variant do the same thing, and differ only by
the machine's speed and where the samples fall.

  --slow=STAGE  that stage does 15% more iterations a call: the regression `hotloop diff` must
                find.  The other stages are unchanged, so their shares shrink a little.
  --renamed     the same work, but render runs as render_renamed (same file) and transform
                as transform in _diffwork_moved.py (same qualname, another file): the two keys
                `hotloop diff` must report as removed and added.

time.thread_time_ns() is read between two stages, so the process knows each stage's CPU
time; a stage's call lasts milliseconds, so the five reads a round cost well under 1%.

Prints on stdout at start one JSON line (pid, tid, variant, and per stage the function that
runs it: {"function": qualname, "file": co_filename, "iterations": per call}), and at exit:
  {"measured": {STAGE: {"cpu_s": ..., "calls": ...}, ...}, "stages_cpu_s": ...,
   "process_cpu_s": ..., "overhead_share": ...}
"overhead_share" is the part of the loop's CPU time spent outside the stages.  A stage's
share of the profile is its cpu_s over process_cpu_s (start-up included, as in the profile),
the quantity hotloop diff's total share of the stage's function estimates.
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _diffwork_moved  # noqa: E402

STAGES = ("parse", "transform", "score", "render")
STAGE_ITERATIONS = {"parse": 50000, "transform": 40000, "score": 80000, "render": 30000}
SLOWDOWN = 1.15


def parse(n):
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def transform(n):
    x = 2
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def score(n):
    x = 3
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def render(n):
    x = 4
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def render_renamed(n):
    x = 4
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def stage_functions(renamed):
    funcs = {"parse": parse, "transform": transform, "score": score, "render": render}
    if renamed:
        funcs["transform"] = _diffwork_moved.transform
        funcs["render"] = render_renamed
    return funcs


def run(rounds, funcs, iterations):
    # One clock read between two stages: the read belongs to neither, and a round of ~20 ms
    # needs only five of them (a thread CPU clock read is a system call, whose cost grows
    # when the machine is busy).
    clock = time.thread_time_ns
    calls = [(name, funcs[name], iterations[name]) for name in STAGES]
    spent = dict((name, 0) for name in STAGES)
    start = clock()
    for _ in range(rounds):
        t0 = clock()
        for name, func, n in calls:
            func(n)
            t1 = clock()
            spent[name] += t1 - t0
            t0 = t1
    return spent, clock() - start


# The number of rounds, not a time: the work is fixed, so the start-up's share of the CPU
# does not change with the machine's speed.
rounds_arg, _, flags = _common.args(default_seconds=150)
rounds = int(rounds_arg)
slow = None
renamed = False
for f in flags:
    if f.startswith("slow="):
        slow = f.split("=", 1)[1]
        if slow not in STAGES:
            sys.stderr.write("diffwork.py: --slow=%s: no such stage (%s)\n"
                             % (slow, ", ".join(STAGES)))
            sys.exit(64)
    elif f == "renamed":
        renamed = True
    else:
        sys.stderr.write("diffwork.py: unknown flag --%s\n" % f)
        sys.exit(64)

iterations = dict(STAGE_ITERATIONS)
if slow:
    iterations[slow] = int(iterations[slow] * SLOWDOWN)
funcs = stage_functions(renamed)
info = _common.base_info("diffwork", __file__)
info.update(tid=threading.get_native_id(), rounds=rounds, slow=slow, renamed=renamed,
            stages=dict((name, {"function": funcs[name].__name__,
                                "file": funcs[name].__code__.co_filename,
                                "iterations": iterations[name]}) for name in STAGES))
_common.emit(info)

spent, loop_ns = run(rounds, funcs, iterations)
process_ns = time.process_time_ns()
stages_ns = sum(spent.values())
_common.emit({"measured": dict((name, {"cpu_s": round(spent[name] / 1e9, 6), "calls": rounds})
                               for name in STAGES),
              "stages_cpu_s": round(stages_ns / 1e9, 6),
              "process_cpu_s": round(process_ns / 1e9, 6),
              "overhead_share": round(1 - float(stages_ns) / loop_ns, 6)})
