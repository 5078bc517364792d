"""e2e workload "chain": <module> -> outer -> middle -> leaf, leaf burning CPU in one line.

Usage: python chain.py [SECONDS=5] [--selfcheck]

Prints first, on stdout, one JSON line:
  {"workload": "chain", "pid": ..., "python": "3.12.1", "tid": <main native tid>,
   "stack": [["<module>", L0], ["outer", L1], ["middle", L2], ["leaf", Lhot]], ...}
where each line is the line that frame is executing while leaf burns: the call sites, then
the hot line.  Then it burns for SECONDS (wall clock), prints {"end": true, "t_ns": ...}
and exits 0.  Nearly every sample of
the main thread must be exactly this stack.  All functions are module-level, so co_name and
co_qualname agree on every version.
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic


def leaf(deadline):
    x = 1
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot
    return x


def middle(deadline):
    return leaf(deadline)  # @call:middle


def outer(deadline):
    return middle(deadline)  # @call:outer


seconds, selfcheck, _ = _common.args()
m = _common.markers(__file__)
stack = [["<module>", m["call:module"]], ["outer", m["call:outer"]],
         ["middle", m["call:middle"]], ["leaf", m["hot"]]]
info = _common.base_info("chain", __file__)
info.update(tid=threading.get_native_id(), seconds=seconds, stack=stack)
_common.emit(info)

sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"main": threading.get_ident()}).start()
outer(clock() + seconds)  # @call:module
_common.emit({"end": True})
if sampler:
    sampler.join()
    _common.finish_selfcheck([sampler.verdict("main", stack, min_share=0.95)])
