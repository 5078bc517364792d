"""e2e workload "zlib": a thread that spends its time in zlib with the GIL released, and a
main thread that burns CPU in pure Python holding the GIL.

Usage: python zlib_thread.py [SECONDS=5] [--selfcheck]

  zlib-worker:  ... -> compress_forever   (calling zlib.compress on an ~8 MB buffer in a loop;
                                            zlib.compress releases the GIL around deflate(), so
                                            the thread is on-CPU without the GIL, inside zlib,
                                            while its Python stack ends in compress_forever at
                                            the zlib.compress line)
  main thread:  <module> -> main_burn      (pure Python, holding the GIL)

The worker sets its OS thread name (prctl) so every version shows "zlib-worker" (see
threads.py).  Prints, once the worker compresses, one JSON line on stdout:
  {"workload": "zlib", "pid": ..., "main_tid": ...,
   "main_stack": [["<module>", L], ["main_burn", Lhot]],
   "zlib": {"name": "zlib-worker", "tid": ..., "function": "compress_forever",
            "line": <line of the zlib.compress call>, "buffer_bytes": ...}}
and at exit a second line {"end": true, "zlib_calls": N, "seconds": ...}.
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

clock = time.monotonic


def make_buffer():
    # ~8 MB of text that compresses about 3:1: deflate has real work to do on every call.
    return b"".join(b"%d %x hotloop zlib workload\n" % (i, (i * 2654435761) & 0xFFFFFFFF)
                    for i in range(250000))


def compress_forever(data, deadline, state):
    while clock() < deadline:
        state["out"] = zlib.compress(data, 6)  # @zlib_call
        state["calls"] += 1


def zlib_worker(data, deadline, state, started):
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, ctypes.c_char_p(b"zlib-worker"), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    state["tid"] = threading.get_native_id()
    state["ident"] = threading.get_ident()
    started.set()
    compress_forever(data, deadline, state)


def main_burn(deadline):
    x = 1
    while clock() < deadline:
        n = _common.BATCH
        while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @main_hot
    return x


seconds, selfcheck, _ = _common.args()
m = _common.markers(__file__)
data = make_buffer()
state = {"calls": 0}
started = threading.Event()
deadline = clock() + seconds
worker = threading.Thread(target=zlib_worker, name="zlib-worker",
                          args=(data, deadline, state, started))
worker.start()
started.wait()

main_stack = [["<module>", m["call:module"]], ["main_burn", m["main_hot"]]]
info = _common.base_info("zlib", __file__)
info.update(main_tid=threading.get_native_id(), seconds=seconds, main_stack=main_stack,
            zlib={"name": "zlib-worker", "tid": state["tid"], "function": "compress_forever",
                  "line": m["zlib_call"], "buffer_bytes": len(data)})
_common.emit(info)

sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"main": threading.get_ident(),
                                   "zlib-worker": state["ident"]}).start()
main_burn(deadline)  # @call:module
worker.join()
_common.emit({"end": True, "zlib_calls": state["calls"], "seconds": seconds,
              "ratio": round(float(len(data)) / max(1, len(state.get("out", b""))), 2)})
if sampler:
    sampler.join()
    _common.finish_selfcheck([
        sampler.verdict("main", main_stack),
        sampler.verdict("zlib-worker", [["compress_forever", m["zlib_call"]]], min_share=0.8),
    ])
