"""e2e workload "async_idle": one busy task among many suspended ones, and tasks that finish
right after they burn.

Usage: python async_idle.py [SECONDS=5] [--tasks=N] [--work=W] [--blip=B] [--selfcheck]

N tasks (default 10,000) named "sleeper" wait in asyncio.sleep() the whole time: suspended
tasks, which must get no on-CPU sample.  One task, "worker", burns the CPU in two ways, half
each:

  [task: Task-*] main -> [task: worker] work -> burn                   (long-lived task)
  [task: Task-*] main -> [task: worker] work -> [task: blip] blip -> burn   (a new task per
                                                burn, which finishes right after it)

so many samples are taken in a task that is gone a moment later: such a sample is either
attributed to exactly this chain or counted as unattributed, never given another chain.
W and B (default 20,000 and 10,000) are the loop counts of the two burns: short ones (e.g.
1,000 and 3,000) make the worker resume and move on while a blip's sample is being read.

Prints first one JSON line:
  {"workload": "async_idle", "pid": ..., "tid": ..., "tasks": N,
   "chains": {"worker": [ITEM, ...], "blip": [ITEM, ...]}}
(ITEM as in async_handlers.py), {"phase": "suspended"} once every sleeper waits,
{"phase": "cancel"} before they are cancelled (and run once more), and {"end": true, "burns": ..., "blips": ...} at the end.
"""

import asyncio
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic
counts = {"burns": 0, "blips": 0}
sizes = {"work": 20000, "blip": 10000}


def burn(n):
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot
    counts["burns"] += 1
    return x


async def sleeper():
    await asyncio.sleep(3600)


async def blip():
    burn(sizes["blip"])  # @call:blip


async def work(deadline):
    while clock() < deadline:
        burn(sizes["work"])  # @call:work
        t = asyncio.ensure_future(blip())
        t.set_name("blip")
        counts["blips"] += 1
        await t  # @call:work_blip
        await asyncio.sleep(0)


async def main(deadline, n):
    sleepers = []
    for _ in range(n):
        t = asyncio.ensure_future(sleeper())
        t.set_name("sleeper")
        sleepers.append(t)
    await asyncio.sleep(0.2)  # every sleeper is suspended now
    _common.emit({"phase": "suspended"})
    w = asyncio.ensure_future(work(deadline))
    w.set_name("worker")
    await w  # @call:main
    _common.emit({"phase": "cancel"})  # the sleepers run again from here
    for t in sleepers:
        t.cancel()
    await asyncio.gather(*sleepers, return_exceptions=True)


def run():
    seconds, selfcheck, flags = _common.args()
    n = 10000
    for f in flags:
        key, _, value = f.partition("=")
        if key == "tasks":
            n = int(value)
        elif key in sizes:
            sizes[key] = int(value)
    m = _common.markers(__file__)
    root = [["task", "Task-*"], ["main", m["call:main"]], ["task", "worker"]]
    chains = {
        "worker": root + [["work", m["call:work"]], ["burn", m["hot"]]],
        "blip": root + [["work", m["call:work_blip"]], ["task", "blip"],
                        ["blip", m["call:blip"]], ["burn", m["hot"]]],
    }
    info = _common.base_info("async_idle", __file__)
    info.update(tid=threading.get_native_id(), seconds=seconds, tasks=n, chains=chains)
    _common.emit(info)
    start = clock()
    asyncio.run(main(start + 0.2 + seconds, n))
    end = dict(counts)
    end["end"] = True
    _common.emit(end)
    if selfcheck:
        _common.finish_selfcheck([(counts["burns"] > 0 and counts["blips"] > 0,
                                   {"label": "worker and blips burned", "counts": counts})])


if __name__ == "__main__":
    run()
