"""e2e workload "accuracy": three leaves with known CPU shares, measured by the process itself.

Usage: python accuracy.py [CPU_SECONDS=10] [--seed=N]

leaf_a, leaf_b and leaf_c run the same one-line loop for 50000, 30000 and 20000 iterations a
call (each +-20%, seeded random), called in a seeded random interleaved order, so they take
about 50%, 30% and 20% of the CPU.  Each call is bracketed by time.thread_time_ns(), so the
process knows each leaf's own CPU time exactly; the calls last 1-5 ms, so the bracketing and
the loop around the calls cost well under 1% of the time and are not counted as any leaf's.

Prints on stdout at start one JSON line (pid, tid, the three functions and their hot lines),
and at exit:
  {"measured": {"leaf_a": {"cpu_s": ..., "share": ..., "calls": ...}, ...},
   "leaves_cpu_s": ..., "total_cpu_s": ...}
"share" is the leaf's CPU time over the three leaves' total, the quantity hotloop's
"self samples of leaf_X / samples in any of the three" must match.
"""

import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def leaf_a(n):
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot_a
    return x


def leaf_b(n):
    x = 2
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot_b
    return x


def leaf_c(n):
    x = 3
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot_c
    return x


def run(cpu_seconds, seed):
    leaves = (leaf_a, leaf_b, leaf_c)
    base = (50000, 30000, 20000)
    spent = [0, 0, 0]
    calls = [0, 0, 0]
    rng = random.Random(seed)
    clock = time.thread_time_ns
    budget = int(cpu_seconds * 1e9)
    start = clock()
    while clock() - start < budget:
        i = rng.randrange(3)
        n = int(base[i] * rng.uniform(0.8, 1.2))
        t0 = clock()
        leaves[i](n)
        spent[i] += clock() - t0
        calls[i] += 1
    return spent, calls, clock() - start


seconds, _, flags = _common.args(default_seconds=10.0)
seed = 20240611
for f in flags:
    if f.startswith("seed="):
        seed = int(f.split("=", 1)[1])
m = _common.markers(__file__)
info = _common.base_info("accuracy", __file__)
info.update(tid=threading.get_native_id(), cpu_seconds=seconds, seed=seed,
            leaves={"leaf_a": m["hot_a"], "leaf_b": m["hot_b"], "leaf_c": m["hot_c"]})
_common.emit(info)

spent, calls, total = run(seconds, seed)
leaves_total = float(sum(spent))
measured = {}
for name, ns, c in zip(("leaf_a", "leaf_b", "leaf_c"), spent, calls):
    measured[name] = {"cpu_s": round(ns / 1e9, 6), "share": round(ns / leaves_total, 6),
                      "calls": c}
_common.emit({"measured": measured, "leaves_cpu_s": round(leaves_total / 1e9, 6),
              "total_cpu_s": round(total / 1e9, 6),
              "overhead_share": round(1 - leaves_total / total, 6)})
