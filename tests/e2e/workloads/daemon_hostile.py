"""Hostile targets for the daemon tests (the corruption knows the layouts of 3.8–3.10 and
3.11–3.14).

    daemon_hostile.py TOKEN threads   1,000 threads: 4 spinning, the rest asleep
    daemon_hostile.py TOKEN deep      a 10,000-frame recursion spinning at its bottom
    daemon_hostile.py TOKEN corrupt   three spinning threads whose interpreter state is
                                      broken through ctypes: a frame whose `previous` link
                                      points at itself (a cycle), one whose link points at
                                      unmapped memory, and a code object whose qualname
                                      claims 2**40 characters

The corrupted threads never return from their frames, so the interpreter itself never
follows the broken links; only a profiler reading them does.  Prints "ready" when set up.
"""
import ctypes
import gc
import sys
import threading
import time


def spin():
    x = 0
    while True:
        x += 1


def sleeper(ev):
    ev.wait()


def threads_mode():
    ev = threading.Event()
    for _ in range(996):
        threading.Thread(target=sleeper, args=(ev,), daemon=True).start()
    for _ in range(3):
        threading.Thread(target=spin, daemon=True).start()
    print("ready", flush=True)
    spin()


def recurse(n):
    if n == 0:
        spin()
    return recurse(n - 1)


def deep_mode():
    sys.setrecursionlimit(20000)
    print("ready", flush=True)
    recurse(10000)


# 3.11+: PyFrameObject {ob_refcnt, ob_type, f_back, f_frame, ...} and the link a profiler
# follows is _PyInterpreterFrame.previous (collector/pyoffsets.c: frame_back = 8).
# 3.8-3.10: the link is PyFrameObject.f_back itself (frame_back = 24).
F_FRAME = 24
PREVIOUS = 8
F_BACK = 24
STR_LENGTH = 16  # PyASCIIObject.length, after the object header
NEW_FRAMES = sys.version_info >= (3, 11)


def break_link(how):
    frame = sys._getframe()
    if NEW_FRAMES:
        at = ctypes.c_void_p.from_address(id(frame) + F_FRAME).value
        link = ctypes.c_void_p.from_address(at + PREVIOUS)
    else:
        at = id(frame)
        link = ctypes.c_void_p.from_address(at + F_BACK)
    link.value = at if how == "cycle" else 0xDEAD0000BEEF
    spin()


def long_name_victim():
    spin()


def corrupt_mode():
    # <= 3.10 the garbage collector follows f_back: it must not meet the broken links.
    gc.disable()
    code = long_name_victim.__code__
    # A private copy of the name profilers read (co_qualname 3.11+, co_name before), so no
    # other object shares the broken str.
    name = "".join(["long_name_", "victim_", str(time.time_ns())])
    if NEW_FRAMES:
        long_name_victim.__code__ = code.replace(co_qualname=name)
        victim = long_name_victim.__code__.co_qualname
    else:
        long_name_victim.__code__ = code.replace(co_name=name)
        victim = long_name_victim.__code__.co_name
    ctypes.c_ssize_t.from_address(id(victim) + STR_LENGTH).value = 1 << 40
    for target, args in ((break_link, ("cycle",)), (break_link, ("wild",)),
                         (long_name_victim, ())):
        threading.Thread(target=target, args=args, daemon=True).start()
    print("ready", flush=True)
    spin()


{"threads": threads_mode, "deep": deep_mode, "corrupt": corrupt_mode}[sys.argv[2]]()
