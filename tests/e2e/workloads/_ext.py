"""Helpers of the workloads that call the test C extension (tests/e2e/cext/hotloop_testext.c).

Runs unchanged on CPython 3.8 through 3.14.  run.py builds the extension for the interpreter
under test into a temporary directory and names it in $HOTLOOP_E2E_EXT_DIR; a workload that
runs without it exits 2 with a message saying so.  Like _common, nothing here runs during the
measured part of a workload.
"""

import importlib
import os
import sys
import time


def load(name="hotloop_testext"):
    """The extension module `name` from $HOTLOOP_E2E_EXT_DIR."""
    d = os.environ.get("HOTLOOP_E2E_EXT_DIR")
    if not d or not os.path.isdir(d):
        sys.stderr.write("HOTLOOP_E2E_EXT_DIR is not set to a directory: run this workload "
                         "through tests/e2e/run.py, which builds the extension\n")
        sys.exit(2)
    if d not in sys.path:
        sys.path.insert(0, d)
    return importlib.import_module(name)


def use_right_away(ext, seconds=0.15):
    """Runs the extension's C loop for `seconds` right after its import, as a service uses a
    library it just loaded: hotloop samples these addresses before it knows the mapping (the
    samples are truncated, and counted), and must still name the same addresses correctly
    once it does — a profiler that remembered "unknown" for them would show it for the rest
    of the run."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        ext.ext_entry(noop, 100000)


def best_of(fn, repeat=3):
    """The shortest of `repeat` timed calls of fn(), in seconds."""
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
    return best


def noop():
    return None


def c_iterations(ext, ms, probe=200000):
    """How many iterations of ext_helper's loop take about `ms` milliseconds."""
    dt = best_of(lambda: ext.ext_entry(noop, probe))
    return max(1000, int(probe * (ms / 1000.0) / max(dt, 1e-9)))


def py_iterations(burn, ms, probe=20000):
    """How many iterations of burn(n) (a one-line Python loop) take about `ms` milliseconds."""
    dt = best_of(lambda: burn(probe))
    return max(100, int(probe * (ms / 1000.0) / max(dt, 1e-9)))
