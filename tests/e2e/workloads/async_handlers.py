"""e2e workload "async_handlers": two asyncio request handlers reach the same leaf, burn(),
through different await chains, and measure their own CPU split.

Usage: python async_handlers.py [SECONDS=5] [--selfcheck] [--seed=N] [--connections=8]

The logical stacks of burn(), outermost first, without asyncio's own frames ([task: NAME] is
a task boundary; Task-* is asyncio's default name, here the main task of asyncio.run):

  feed:    [task: Task-*] main -> [task: conn] serve -> [task: feed] handle_feed
           -> [task: rank] rank -> score -> burn
  search:  [task: Task-*] main -> [task: conn] serve -> [task: search] handle_search
           -> [task: query] query -> lookup -> [task: fetch] fetch -> burn

All tasks come from a custom task factory (a Task subclass).  main gathers N concurrent
"conn" tasks (--connections, default 8: by the time a sample is read, the task it caught
has usually yielded to another), and each conn's serve gathers one task per handler each
round.  feed gathers two ranking tasks, which burn
through nested awaits (rank -> score).  search runs its query in a TaskGroup (3.11+; gather
before), and the query's fetch task is created by one function (spawn, called by query) and
awaited by another (lookup) — created before, awaited later, so it only runs while awaited.
Between handler and [task: query] asyncio's TaskGroup frames appear on 3.11+ (__aexit__, and
_aexit on 3.14).  Every burn() runs for 1-3 ms of CPU (seeded random sizes) and is bracketed
by time.thread_time_ns(), so the process knows each handler's CPU exactly; tasks yield with
asyncio.sleep(0) between burns, so all of them interleave.

Prints first one JSON line:
  {"workload": "async_handlers", "pid": ..., "tid": ..., "file": ...,
   "chains": {"feed": [ITEM, ...], "search": [ITEM, ...]}}
where ITEM is ["task", NAME] or [FUNCTION, LINE] (the line the frame is executing, from the
'# @tag' markers), and at the end
  {"end": true, "measured": {"feed": {"cpu_s": ..., "share": ...}, "search": {...}},
   "burns": N}
"share" is the handler's burn CPU over both handlers' — what hotloop's burn samples under
each handler must match.  --selfcheck walks the chain from inside burn() with asyncio's own
view (current_task, each awaiting task's coroutine frames and cr_await) and compares it with
the markers.
"""

import asyncio
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic
cpu = time.thread_time_ns
HAS_TASKGROUP = hasattr(asyncio, "TaskGroup")
ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__))

spent = {"feed": 0, "search": 0}
burns = [0]
rng = random.Random(20240611)
parent_of = {}   # task -> the task awaiting it (what the workload built, for --selfcheck)
seen_chains = {}  # handler -> chains seen by --selfcheck
selfcheck = False


def burn(handler, n):
    t0 = cpu()
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @hot
    spent[handler] += cpu() - t0
    burns[0] += 1
    if selfcheck and len(seen_chains.setdefault(handler, [])) < 20:
        seen_chains[handler].append(logical_chain())
    return x


def units():
    return rng.randint(15000, 45000)  # 1-3 ms at 60-100 ns an iteration


# --- feed: gather of ranking tasks, nested awaits ---------------------------------------------

async def score(rounds):
    for _ in range(rounds):
        burn("feed", units())  # @call:score
        await asyncio.sleep(0)


async def rank(rounds):
    await score(rounds)  # @call:rank


async def handle_feed(rounds):
    me = asyncio.current_task()
    ranks = []
    for _ in range(2):
        t = asyncio.ensure_future(rank(rounds))
        t.set_name("rank")
        parent_of[t] = me
        ranks.append(t)
    await asyncio.gather(*ranks)  # @call:feed


# --- search: TaskGroup, nested awaits, a task created in one place and awaited in another ----

async def fetch(rounds):
    for _ in range(rounds):
        burn("search", units())  # @call:fetch
        await asyncio.sleep(0)


def spawn(rounds, parent):
    t = asyncio.ensure_future(fetch(rounds))
    t.set_name("fetch")
    parent_of[t] = parent
    return t


async def lookup(task):
    return await task  # @call:lookup


async def query(rounds):
    task = spawn(rounds, asyncio.current_task())  # scheduled: it first runs once we wait
    return await lookup(task)  # @call:query


async def handle_search(rounds):
    me = asyncio.current_task()
    if HAS_TASKGROUP:
        async with asyncio.TaskGroup() as tg:  # @call:search_tg
            t = tg.create_task(query(rounds), name="query")
            parent_of[t] = me
    else:
        t = asyncio.ensure_future(query(rounds))
        t.set_name("query")
        parent_of[t] = me
        await asyncio.gather(t)  # @call:search_gather


# --- the server -----------------------------------------------------------------------------

async def serve(deadline):
    me = asyncio.current_task()
    while clock() < deadline:
        feed = asyncio.ensure_future(handle_feed(3))
        feed.set_name("feed")
        search = asyncio.ensure_future(handle_search(4))
        search.set_name("search")
        parent_of[feed] = parent_of[search] = me
        await asyncio.gather(feed, search)  # @call:serve


class ServerTask(asyncio.Task):
    """Every task of this program is one of these: a custom task factory, as servers use
    for tracing; hotloop must read it as the C Task it derives from."""


def task_factory(loop, coro, **kwargs):
    return ServerTask(coro, loop=loop, **kwargs)


async def main(deadline, connections):
    asyncio.get_running_loop().set_task_factory(task_factory)
    me = asyncio.current_task()
    conns = []
    for _ in range(connections):
        t = asyncio.ensure_future(serve(deadline))
        t.set_name("conn")
        parent_of[t] = me
        conns.append(t)
    await asyncio.gather(*conns)  # @call:main


# --- --selfcheck: the logical chain as asyncio itself sees it --------------------------------

def coro_frames(coro):
    """[(name, line)] of a suspended coroutine's await chain, outermost first, without
    asyncio's own frames."""
    out = []
    while coro is not None and hasattr(coro, "cr_frame"):
        f = coro.cr_frame
        if f is None:
            break
        if not os.path.abspath(f.f_code.co_filename).startswith(ASYNCIO_DIR):
            out.append((f.f_code.co_name, f.f_lineno))
        coro = coro.cr_await
    return out


def logical_chain():
    """The chain from the root task down to burn(), as [("task", name) | (name, line)]."""
    task = asyncio.current_task()
    # The running task: its frames are live, from its coroutine's frame to burn's caller.
    frames = []
    f = sys._getframe(2)  # burn's caller (1 is burn)
    top = task.get_coro().cr_frame
    while f is not None:
        frames.append((f.f_code.co_name, f.f_lineno))
        if f is top:
            break
        f = f.f_back
    chain = [("task", task.get_name())] + frames[::-1] + [("burn", M["hot"])]
    task = parent_of.get(task)
    while task is not None:
        name = "Task-*" if task.get_name().startswith("Task-") else task.get_name()
        chain = [("task", name)] + coro_frames(task.get_coro()) + chain
        task = parent_of.get(task)
    return chain


M = _common.markers(__file__)


def expected_chains():
    main = [["task", "Task-*"], ["main", M["call:main"]], ["task", "conn"],
            ["serve", M["call:serve"]]]
    feed = main + [["task", "feed"], ["handle_feed", M["call:feed"]], ["task", "rank"],
                   ["rank", M["call:rank"]], ["score", M["call:score"]], ["burn", M["hot"]]]
    search_line = M["call:search_tg"] if HAS_TASKGROUP else M["call:search_gather"]
    search = main + [["task", "search"], ["handle_search", search_line], ["task", "query"],
                     ["query", M["call:query"]], ["lookup", M["call:lookup"]],
                     ["task", "fetch"], ["fetch", M["call:fetch"]], ["burn", M["hot"]]]
    return {"feed": feed, "search": search}


def run():
    global selfcheck
    seconds, selfcheck, flags = _common.args()
    connections = 8
    for f in flags:
        if f.startswith("seed="):
            rng.seed(int(f.split("=", 1)[1]))
        if f.startswith("connections="):
            connections = int(f.split("=", 1)[1])
    chains = expected_chains()
    info = _common.base_info("async_handlers", __file__)
    info.update(tid=threading.get_native_id(), seconds=seconds, chains=chains,
                taskgroup=HAS_TASKGROUP)
    _common.emit(info)
    asyncio.run(main(clock() + seconds, connections))
    total = float(sum(spent.values())) or 1.0
    measured = dict((h, {"cpu_s": round(ns / 1e9, 6), "share": round(ns / total, 6)})
                    for h, ns in spent.items())
    _common.emit({"end": True, "measured": measured, "burns": burns[0]})
    if selfcheck:
        results = []
        for handler, want in sorted(chains.items()):
            want = [tuple(x) for x in want]
            got = seen_chains.get(handler, [])
            ok = bool(got) and all(c == want for c in got)
            results.append((ok, {"label": handler, "expected": want,
                                 "seen": [list(map(list, c)) for c in got[:2]],
                                 "samples": len(got)}))
        results.append((spent["feed"] > 0 and spent["search"] > 0,
                        {"label": "both handlers burned", "spent_ns": spent}))
        _common.finish_selfcheck(results)


if __name__ == "__main__":
    run()
