"""e2e workload "async_tree": a tree of suspended asyncio tasks built every way asyncio links a
task to the tasks awaiting it, for `hotloop dump --async`.

Usage: python async_tree.py [SECONDS=300] [--selfcheck]

Beside the main task (asyncio.run's, which never awaits them), six root tasks, each waiting on
its own children through:
  group     a TaskGroup (gather before 3.11) of worker-0 and worker-1
  gath      asyncio.gather(g-a, g-b)
  shielded  asyncio.shield(shielded-inner)
  waitfor   asyncio.wait_for(waitfor-inner, ...)
  waiting   asyncio.wait([wait-inner])
  ascomp    asyncio.as_completed([ascomp-inner])
Every leaf task waits in worker -> leaf -> Event.wait.  Nothing runs: the whole tree is
suspended until SECONDS pass (then everything finishes and the process exits 0).

Prints one JSON line {"workload": "async_tree", "pid": ..., "tasks": 15, "parents": {task
name: name of the task awaiting it, or null}} and then "ready"
on stdout once the tree is built.
"""

import asyncio
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


async def leaf(ev):
    await ev.wait()


async def worker(ev):
    await leaf(ev)


def named(coro, name):
    t = asyncio.ensure_future(coro)
    t.set_name(name)
    return t


async def group(ev):
    if hasattr(asyncio, "TaskGroup"):
        async with asyncio.TaskGroup() as tg:
            for i in range(2):
                tg.create_task(worker(ev), name="worker-%d" % i)
    else:
        await asyncio.gather(*[named(worker(ev), "worker-%d" % i) for i in range(2)])


async def gath(ev):
    await asyncio.gather(named(worker(ev), "g-a"), named(worker(ev), "g-b"))


async def shielded(ev):
    await asyncio.shield(named(worker(ev), "shielded-inner"))


async def waitfor(ev):
    await asyncio.wait_for(named(worker(ev), "waitfor-inner"), 3600)


async def waiting(ev):
    await asyncio.wait([named(worker(ev), "wait-inner")])


async def ascomp(ev):
    for f in asyncio.as_completed([named(worker(ev), "ascomp-inner")]):
        await f


async def main(seconds):
    ev = asyncio.Event()
    tasks = [named(f(ev), f.__name__)
             for f in (group, gath, shielded, waitfor, waiting, ascomp)]
    await asyncio.sleep(0.1)
    info = _common.base_info("async_tree", __file__)
    info["tasks"] = len(asyncio.all_tasks())
    parents = dict((t.get_name(), None) for t in tasks)  # main never awaits them: roots
    for parent, kids in (("group", ["worker-0", "worker-1"]), ("gath", ["g-a", "g-b"]),
                         ("shielded", ["shielded-inner"]), ("waitfor", ["waitfor-inner"]),
                         ("waiting", ["wait-inner"]), ("ascomp", ["ascomp-inner"])):
        parents.update((k, parent) for k in kids)
    info["parents"] = parents  # task name -> the task awaiting it (None: a root)
    _common.emit(info)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.sleep(seconds)
    ev.set()
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    seconds, selfcheck, _ = _common.args(default_seconds=300.0)
    asyncio.run(main(seconds))
    if selfcheck:
        _common.finish_selfcheck([(True, {"label": "the tree was built and finished"})])
