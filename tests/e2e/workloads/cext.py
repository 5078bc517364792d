"""e2e workload "cext": Python calls a C extension that calls back into Python.

Usage: python cext.py [SECONDS=5] [--selfcheck]
Needs $HOTLOOP_E2E_EXT_DIR (see _ext.py): run.py builds tests/e2e/cext/hotloop_testext.c.

  main thread:  <module> -> driver -> [C] ext_entry -> [C] ext_helper -> callback

Each call of ext_entry spends about 3 ms in ext_helper's C loop (holding the GIL) and then
about 2 ms in callback, a one-line Python loop; the loop counts are calibrated at start, so
every interpreter splits its time the same way.  driver calls ext_entry until SECONDS have
passed.  Before that, right after the import, the C loop runs for 0.15 s (_ext.use_right_away):
a profiler sees those addresses before it has read the new mapping, and must name them right
once it has.

Prints first one JSON line:
  {"workload": "cext", "pid": ..., "tid": <main native tid>, "module_file": <the .so>,
   "stack_c": [["<module>", L], ["driver", Lcall]],
   "stack_callback": [["<module>", L], ["driver", Lcall], ["callback", Lhot]],
   "c_iterations": N, "py_iterations": M, "perf_trampoline": true|false|null, ...}
stack_c is the Python view of a sample inside the C code, stack_callback of one inside the
callback.  perf_trampoline: sys.is_stack_trampoline_active() (3.12+ with -X perf), else null.
Then {"end": true, "calls": N} when the time is up.

--selfcheck: sys._current_frames() sampling sees Python frames only, and only when the main
thread lets the GIL go — on entering callback, never inside the C loop — so it checks the chain
<module> -> driver -> callback (callback's line aside).
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _ext  # noqa: E402

clock = time.monotonic
CB_N = 1000  # set by calibration below


def burn(n):
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @burn_hot
    return x


def callback():
    n = CB_N
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @cb_hot
    return x


def driver(ext, deadline, c_n):
    calls = 0
    while clock() < deadline:
        ext.ext_entry(callback, c_n)  # @call:driver
        calls += 1
    return calls


seconds, selfcheck, _ = _common.args()
m = _common.markers(__file__)
ext = _ext.load()
_ext.use_right_away(ext)
c_n = _ext.c_iterations(ext, 3.0)
CB_N = _ext.py_iterations(burn, 2.0)
trampoline = getattr(sys, "is_stack_trampoline_active", None)
stack_c = [["<module>", m["call:module"]], ["driver", m["call:driver"]]]
info = _common.base_info("cext", __file__)
info.update(tid=threading.get_native_id(), seconds=seconds, module_file=ext.__file__,
            stack_c=stack_c, stack_callback=stack_c + [["callback", m["cb_hot"]]],
            c_iterations=c_n, py_iterations=CB_N,
            perf_trampoline=trampoline() if trampoline else None)
_common.emit(info)

sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"main": threading.get_ident()}).start()
calls = driver(ext, clock() + seconds, c_n)  # @call:module
_common.emit({"end": True, "calls": calls})
if sampler:
    sampler.join()
    # The sampler gets the GIL when the main thread drops it, which it does on entering
    # callback (the C loop holds it): callback's line is mostly its first, so only the chain
    # above it is compared line by line.
    seen = sampler.seen["main"]
    n = sum(seen.values())
    want = [tuple(x) for x in stack_c]
    hits = sum(c for st, c in seen.items()
               if list(st[:-1]) == want and st[-1][0] == "callback")
    share = float(hits) / n if n else 0.0
    _common.finish_selfcheck([(n > 0 and share >= 0.9,
                               {"label": "main", "samples": n, "share": round(share, 4),
                                "top": [[list(map(list, x)), c]
                                        for x, c in seen.most_common(3)]})])
