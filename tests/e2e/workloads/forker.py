"""e2e workload "fork": a parent that runs one chain, forks, and a child that runs another.

Usage: python forker.py [SECONDS=3] [--parent-seconds=0.5] [--selfcheck]

  parent:  <module> -> parent_outer -> parent_leaf   for --parent-seconds, then fork,
           then waits for the child (blocked in waitpid: no samples)
  child:   <module> -> child_outer -> child_leaf     for SECONDS, then os._exit(0)

The fork happens at module level, so the child's outermost frame is the same <module> frame,
now at the line that calls child_outer.  Prints on stdout, from the parent, right after the
fork, one JSON line:
  {"workload": "fork", "pid": <parent>, "child_pid": ..., "parent_stack": [...],
   "child_stack": [["<module>", L], ["child_outer", L], ["child_leaf", Lhot]]}
and after the child exited {"child_pid": ..., "child_status": 0}.
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic


def parent_leaf(deadline):
    x = 1
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @parent_hot
    return x


def parent_outer(deadline):
    return parent_leaf(deadline)  # @call:parent_outer


def child_leaf(deadline):
    x = 3
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @child_hot
    return x


def child_outer(deadline):
    return child_leaf(deadline)  # @call:child_outer


seconds, selfcheck, flags = _common.args(default_seconds=3.0)
parent_seconds = 0.5
for f in flags:
    if f.startswith("parent-seconds="):
        parent_seconds = float(f.split("=", 1)[1])
m = _common.markers(__file__)
parent_stack = [["<module>", m["call:parent"]], ["parent_outer", m["call:parent_outer"]],
                ["parent_leaf", m["parent_hot"]]]
child_stack = [["<module>", m["call:child"]], ["child_outer", m["call:child_outer"]],
               ["child_leaf", m["child_hot"]]]

parent_outer(clock() + parent_seconds)  # @call:parent
sys.stdout.flush()
sys.stderr.flush()
pid = os.fork()
if pid == 0:
    sampler = None
    if selfcheck:
        sampler = _common.SelfSampler({"child": threading.get_ident()}).start()
    child_outer(clock() + seconds)  # @call:child
    if sampler:
        sampler.join()
        try:
            _common.finish_selfcheck([sampler.verdict("child", child_stack)])
        except SystemExit as e:
            sys.stdout.flush()
            os._exit(e.code or 0)
    sys.stdout.flush()
    os._exit(0)

info = _common.base_info("fork", __file__)
info.update(child_pid=pid, seconds=seconds, parent_seconds=parent_seconds,
            parent_stack=parent_stack, child_stack=child_stack)
_common.emit(info)
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
_common.emit({"child_pid": pid, "child_status": code})
sys.exit(1 if code else 0)
