"""e2e workload "attach": a long-running process for `hotloop record -p PID`.

Usage: python attach_target.py [SECONDS=600] [--selfcheck]

Prints on stdout one JSON line (pid, main tid, expected stack), then the line "ready" once
the hot loop is about to start, then burns CPU in
    <module> -> attach_outer -> attach_middle -> attach_leaf
until killed or SECONDS have passed (exit 0).  The driver waits for "ready", records with
-p, then kills it.
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic


def attach_leaf(deadline):
    x = 1
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot
    return x


def attach_middle(deadline):
    return attach_leaf(deadline)  # @call:attach_middle


def attach_outer(deadline):
    return attach_middle(deadline)  # @call:attach_outer


seconds, selfcheck, _ = _common.args(default_seconds=600.0)
m = _common.markers(__file__)
stack = [["<module>", m["call:module"]], ["attach_outer", m["call:attach_outer"]],
         ["attach_middle", m["call:attach_middle"]], ["attach_leaf", m["hot"]]]
info = _common.base_info("attach", __file__)
info.update(tid=threading.get_native_id(), seconds=seconds, stack=stack)
_common.emit(info)
sys.stdout.write("ready\n")
sys.stdout.flush()

sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"main": threading.get_ident()}).start()
attach_outer(clock() + seconds)  # @call:module
if sampler:
    sampler.join()
    _common.finish_selfcheck([sampler.verdict("main", stack)])
