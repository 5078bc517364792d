"""e2e workload "exiter": burns CPU for SECONDS, then exits — for "the target exits while
hotloop records" (hotloop record -p PID -d LONGER).

Usage: python exiter.py [SECONDS=2] [--exit-code=N]

Prints on stdout one JSON line (pid, expected stack) and "ready", burns in
    <module> -> exiter_outer -> exiter_leaf
and exits with status N (default 0).
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic


def exiter_leaf(deadline):
    x = 1
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot
    return x


def exiter_outer(deadline):
    return exiter_leaf(deadline)  # @call:exiter_outer


seconds, _, flags = _common.args(default_seconds=2.0)
code = 0
for f in flags:
    if f.startswith("exit-code="):
        code = int(f.split("=", 1)[1])
m = _common.markers(__file__)
stack = [["<module>", m["call:module"]], ["exiter_outer", m["call:exiter_outer"]],
         ["exiter_leaf", m["hot"]]]
info = _common.base_info("exiter", __file__)
info.update(tid=threading.get_native_id(), seconds=seconds, stack=stack, exit_code=code)
_common.emit(info)
sys.stdout.write("ready\n")
sys.stdout.flush()
exiter_outer(clock() + seconds)  # @call:module
sys.exit(code)
