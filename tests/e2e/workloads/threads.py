"""e2e workload "threads": two named CPU-bound worker threads with different chains.

Usage: python threads.py [SECONDS=5] [--selfcheck] [--no-os-name]

  alpha-worker:  ... -> alpha_outer -> alpha_leaf
  beta-worker:   ... -> beta_outer -> beta_mid -> beta_leaf
  main thread:   starts both, then blocks in join() (off-CPU: it should get almost no samples)

The frames above the *_outer functions are threading's bootstrap frames (Thread._bootstrap,
_bootstrap_inner, run) whose lines differ between versions; the tests check the suffix.

Thread names: threading.Thread(name=...) sets only the Python-level name before 3.14; 3.14
also sets the OS thread name (/proc/PID/task/TID/comm).  So that every version shows the
name the same way to a profiler, each worker also sets its OS name with prctl(PR_SET_NAME)
unless --no-os-name is given.  The JSON reports what /proc says.

Prints, once both workers run, one JSON line on stdout:
  {"workload": "threads", "pid": ..., "main_tid": ...,
   "threads": [{"name": "alpha-worker", "tid": ..., "os_name": "alpha-worker",
                "suffix": [["alpha_outer", L1], ["alpha_leaf", Lhot]]}, {... beta ...}]}
and {"end": true} once both workers finished.
"""

import ctypes
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

clock = time.monotonic
PR_SET_NAME = 15


def set_os_name(name):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def alpha_leaf(deadline):
    x = 1
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @alpha_hot
    return x


def alpha_outer(deadline, started):
    started()
    return alpha_leaf(deadline)  # @call:alpha_outer


def beta_leaf(deadline):
    x = 7
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @beta_hot
    return x


def beta_mid(deadline):
    return beta_leaf(deadline)  # @call:beta_mid


def beta_outer(deadline, started):
    started()
    return beta_mid(deadline)  # @call:beta_outer


def main():
    seconds, selfcheck, flags = _common.args()
    m = _common.markers(__file__)
    suffixes = {
        "alpha-worker": [["alpha_outer", m["call:alpha_outer"]], ["alpha_leaf", m["alpha_hot"]]],
        "beta-worker": [["beta_outer", m["call:beta_outer"]], ["beta_mid", m["call:beta_mid"]],
                        ["beta_leaf", m["beta_hot"]]],
    }
    tids = {}
    ready = threading.Event()
    lock = threading.Lock()

    def started_hook(name):
        def started():
            if "no-os-name" not in flags:
                set_os_name(name)
            with lock:
                tids[name] = (threading.get_native_id(), threading.get_ident())
                if len(tids) == 2:
                    ready.set()
        return started

    deadline = clock() + seconds
    workers = [
        threading.Thread(target=alpha_outer, name="alpha-worker",
                         args=(deadline, started_hook("alpha-worker"))),
        threading.Thread(target=beta_outer, name="beta-worker",
                         args=(deadline, started_hook("beta-worker"))),
    ]
    for t in workers:
        t.start()
    ready.wait()

    info = _common.base_info("threads", __file__)
    info.update(main_tid=threading.get_native_id(), seconds=seconds, threads=[])
    for t in workers:
        tid = tids[t.name][0]
        try:
            with open("/proc/self/task/%d/comm" % tid) as f:
                os_name = f.read().strip()
        except OSError:
            os_name = None
        info["threads"].append({"name": t.name, "tid": tid, "os_name": os_name,
                                "suffix": suffixes[t.name]})
    _common.emit(info)

    sampler = None
    if selfcheck:
        sampler = _common.SelfSampler(dict((n, v[1]) for n, v in tids.items())).start()
    for t in workers:
        t.join()
    _common.emit({"end": True})
    if sampler:
        sampler.join()
        _common.finish_selfcheck([sampler.verdict(n, suffixes[n]) for n in sorted(suffixes)])


main()
