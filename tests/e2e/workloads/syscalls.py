"""e2e workload "syscalls": a thread that is busy in the kernel, inside a Python call.

Usage: python syscalls.py [SECONDS=5] [--selfcheck]

  syscall-worker:  ... -> syscall_worker -> read_zeros   (os.readv of 1 MiB from /dev/zero
                                                          into one preallocated buffer, in a
                                                          loop: the kernel clears the buffer,
                                                          so the thread is on-CPU in the
                                                          kernel most of the time, with the
                                                          GIL released)
  main thread:     starts the worker, then blocks in join() (off-CPU)

A busy loop rather than a blocking read: a thread blocked in a syscall is off-CPU, and a CPU
clock only samples threads that run.  The worker sets its OS thread name (prctl), like
zlib_thread.py.

Prints, once the worker runs, one JSON line:
  {"workload": "syscalls", "pid": ..., "worker": {"name": "syscall-worker", "tid": ...,
   "suffix": [["syscall_worker", L], ["read_zeros", Lreadv]], "bytes": 1048576}}
and {"end": true, "calls": N} when the worker is done.
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
BYTES = 1 << 20


def read_zeros(fd, buf, deadline, state):
    while clock() < deadline:
        os.readv(fd, [buf])  # @readv
        state["calls"] += 1


def syscall_worker(deadline, state, started):
    try:
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b"syscall-worker"), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    state["tid"] = threading.get_native_id()
    state["ident"] = threading.get_ident()
    fd = os.open("/dev/zero", os.O_RDONLY)
    buf = bytearray(BYTES)
    started.set()
    try:
        read_zeros(fd, buf, deadline, state)  # @call:worker
    finally:
        os.close(fd)


seconds, selfcheck, _ = _common.args()
m = _common.markers(__file__)
state = {"calls": 0}
started = threading.Event()
worker = threading.Thread(target=syscall_worker, name="syscall-worker",
                          args=(clock() + seconds, state, started))
worker.start()
started.wait()
info = _common.base_info("syscalls", __file__)
info.update(main_tid=threading.get_native_id(), seconds=seconds,
            worker={"name": "syscall-worker", "tid": state["tid"], "bytes": BYTES,
                    "suffix": [["syscall_worker", m["call:worker"]],
                               ["read_zeros", m["readv"]]]})
_common.emit(info)
sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"worker": state["ident"]}).start()
worker.join()
_common.emit({"end": True, "calls": state["calls"]})
if sampler:
    sampler.join()
    _common.finish_selfcheck([sampler.verdict("worker", info["worker"]["suffix"],
                                              min_share=0.9)])
