"""e2e workload "mixed": CPU-bound Python, C extension and zlib work, for stack completeness.

Usage: python mixed.py [SECONDS=5] [--selfcheck]
Needs $HOTLOOP_E2E_EXT_DIR (see _ext.py) holding hotloop_testext.so and its stripped twin
hotloop_testext_stripped.so (run.py builds both from tests/e2e/cext/hotloop_testext.c).

  main thread:   <module> -> run_phases -> py_phase -> burn            pure Python
                                        -> ext_phase -> [C] ext_entry -> [C] ext_helper
                                                     -> callback
                                        -> stripped_phase -> [C, stripped] ext_entry
                                                     -> [C, stripped] ext_helper -> callback
                                        -> zlib_phase                  zlib.compress
  zlib-worker:   ... -> compress_loop                                  zlib, GIL released

Each phase of the main thread takes about 2 ms a round.  Both extensions run for 0.15 s right
after their import (_ext.use_right_away, see cext.py).  The worker compresses in parallel
with the GIL released, so the process also has a non-main thread whose stacks must unwind
to that thread's root.

Prints first one JSON line:
  {"workload": "mixed", "pid": ..., "tid": ..., "worker_tid": ...,
   "module_file": <hotloop_testext.so>, "stripped_file": <hotloop_testext_stripped.so>, ...}
then {"end": true, "rounds": N} when the time is up.
"""

import ctypes
import os
import sys
import threading
import time
import zlib

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
    return burn(CB_N)


def py_phase(n):
    return burn(n)


def ext_phase(ext, n):
    return ext.ext_entry(callback, n)


def stripped_phase(ext, n):
    return ext.ext_entry(callback, n)


def zlib_phase(data):
    return len(zlib.compress(data, 6))


def run_phases(deadline, ext, stripped, c_n, py_n, data):
    rounds = 0
    while clock() < deadline:
        py_phase(py_n)
        ext_phase(ext, c_n)
        stripped_phase(stripped, c_n)
        zlib_phase(data)
        rounds += 1
    return rounds


def compress_loop(data, deadline):
    n = 0
    while clock() < deadline:
        zlib.compress(data, 6)
        n += 1
    return n


def zlib_worker(data, deadline, state, started):
    try:
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b"zlib-worker"), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    state["tid"] = threading.get_native_id()
    started.set()
    compress_loop(data, deadline)


def make_data(size):
    # Text that compresses about 3:1, so deflate has real work to do.
    out = b"".join(b"%d %x hotloop mixed workload\n" % (i, (i * 2654435761) & 0xFFFFFFFF)
                   for i in range(size // 30 + 1))
    return out[:size]


seconds, selfcheck, _ = _common.args()
ext = _ext.load("hotloop_testext")
stripped = _ext.load("hotloop_testext_stripped")
_ext.use_right_away(ext)
_ext.use_right_away(stripped)
c_n = _ext.c_iterations(ext, 1.0)
py_n = _ext.py_iterations(burn, 2.0)
CB_N = py_n // 2
small = make_data(96 * 1024)   # ~2 ms of deflate
big = make_data(1024 * 1024)
deadline = clock() + seconds
state = {}
started = threading.Event()
worker = threading.Thread(target=zlib_worker, name="zlib-worker",
                          args=(big, deadline, state, started))
worker.start()
started.wait()
info = _common.base_info("mixed", __file__)
info.update(tid=threading.get_native_id(), worker_tid=state["tid"], seconds=seconds,
            module_file=ext.__file__, stripped_file=stripped.__file__, c_iterations=c_n,
            py_iterations=py_n)
_common.emit(info)
sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"main": threading.get_ident()}).start()
rounds = run_phases(deadline, ext, stripped, c_n, py_n, small)  # @call:module
worker.join()
_common.emit({"end": True, "rounds": rounds})
if sampler:
    sampler.join()
    seen = sampler.seen["main"]
    n = sum(seen.values())
    top = ("<module>", _common.markers(__file__)["call:module"])
    ok = n > 0 and all(len(st) > 1 and st[0] == top and st[1][0] == "run_phases"
                       for st in seen)
    _common.finish_selfcheck([(ok, {"label": "main", "samples": n,
                                    "top": [[list(map(list, s)), c]
                                            for s, c in seen.most_common(3)]})])
