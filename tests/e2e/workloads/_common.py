"""Helpers shared by the end-to-end workloads (imported from the workload's own directory).

Runs unchanged on CPython 3.8 through 3.14: no syntax or library newer than 3.8.  This module
never runs during the part of a workload that is measured; it only parses arguments, finds
the line numbers the tests expect, prints the workload's JSON line and, with --selfcheck,
compares those expectations with what CPython itself reports (sys._current_frames).

The expectations come from marker comments in the workload's own source: a line ending in
"# @tag" is line `tag` (markers()), so no test hard-codes a line number.

Every workload prints one JSON object per line on stdout (and nothing else on stdout except
the word "ready" where documented); diagnostics go to stderr.  Each object carries "t_ns"
(wall clock when it was printed); the first is printed when the measured part starts, and
workloads with a steady state print {"end": true, ...} when it ends.
"""

import collections
import json
import os
import re
import sys
import threading
import time

# One line, one statement sequence: every instruction of the loop, its test and its backward
# jump belong to this line, so "the line being executed" is well defined.  The constants keep
# x below 2**32, so no big-int arithmetic creeps in.  Workloads copy this exact line.
HOT_LINE_TEXT = "while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF"

# Iterations between two clock checks: a few ms on every version (60-100 ns an iteration),
# so the clock-check lines take well under 0.1% of the samples.
BATCH = 50000

_MARKER = re.compile(r"#\s*@([A-Za-z_][A-Za-z0-9_:.-]*)\s*$")


def markers(path):
    """{tag: line number} for every line of `path` ending in '# @tag'."""
    found = {}
    with open(path) as f:
        for lineno, text in enumerate(f, 1):
            m = _MARKER.search(text)
            if m:
                if m.group(1) in found:
                    raise ValueError("marker @%s appears twice in %s" % (m.group(1), path))
                found[m.group(1)] = lineno
    return found


def emit(obj):
    """Prints one JSON line on stdout, flushed (the driver may read it while we run), with
    "t_ns" = time.time_ns() added: the wall clock hotloop's profile.start_ns also uses, so the
    driver can tell samples of the steady state from start-up and shut-down.  When
    $HOTLOOP_E2E_OUT names a file, the line is also appended there (the driver reads that
    file, so it does not depend on what hotloop does with the command's stdout).  Also
    "cpu_ns" = the calling thread's CPU time and "proc_cpu_ns" the process's: on a busy
    machine a thread gets less CPU than wall time, and a cpu-clock sampler can only sample
    what ran."""
    obj = dict(obj)
    obj["t_ns"] = time.time_ns()
    obj["cpu_ns"] = time.thread_time_ns()
    obj["proc_cpu_ns"] = time.process_time_ns()
    line = json.dumps(obj, sort_keys=True) + "\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    out = os.environ.get("HOTLOOP_E2E_OUT")
    if out:
        with open(out, "a") as f:
            f.write(line)


def args(argv=None, default_seconds=5.0):
    """(seconds, selfcheck, extra flags) from `workload.py [SECONDS] [--selfcheck] [--flag]`."""
    argv = sys.argv[1:] if argv is None else argv
    seconds = default_seconds
    selfcheck = False
    flags = set()
    for a in argv:
        if a == "--selfcheck":
            selfcheck = True
        elif a.startswith("--"):
            flags.add(a[2:])
        else:
            seconds = float(a)
    return seconds, selfcheck, flags


def base_info(name, path):
    """Facts every workload reports."""
    return {
        "workload": name,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "file": os.path.abspath(path),
    }


def frame_chain(frame):
    """[(name, line), ...] outermost first, for a frame object."""
    out = []
    while frame is not None:
        out.append((frame.f_code.co_name, frame.f_lineno))
        frame = frame.f_back
    out.reverse()
    return out


class SelfSampler(object):
    """--selfcheck: a thread that samples other threads' Python stacks with
    sys._current_frames() every `interval` seconds, the way an outside profiler would, and
    counts the stacks it saw.  Never used while hotloop records (it would add a thread)."""

    def __init__(self, idents, duration=0.5, interval=0.002, delay=0.2):
        self.idents = dict(idents)  # label -> threading ident
        self.duration = duration
        self.interval = interval
        self.delay = delay
        self.seen = dict((label, collections.Counter()) for label in self.idents)
        self.thread = threading.Thread(target=self._run, name="selfcheck")
        self.thread.daemon = True

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        time.sleep(self.delay)
        end = time.monotonic() + self.duration
        while time.monotonic() < end:
            frames = sys._current_frames()
            for label, ident in self.idents.items():
                f = frames.get(ident)
                if f is not None:
                    self.seen[label][tuple(frame_chain(f))] += 1
            del frames
            time.sleep(self.interval)

    def join(self):
        self.thread.join()

    def verdict(self, label, suffix, min_share=0.8):
        """(ok, report): is `suffix` ([(name, line), ...], innermost last) the end of at least
        min_share of the stacks seen for `label`?  This sampler runs only when it gets the GIL,
        which a busy thread hands over at its eval-breaker points (a loop's back edge, a call
        such as the loop condition's clock()), and on a loaded machine it may see only ~10
        stacks: one at the loop condition's line was 1 in 9 in a CI run, so not 0.9."""
        seen = self.seen[label]
        total = sum(seen.values())
        suffix = [tuple(x) for x in suffix]
        hits = sum(c for st, c in seen.items() if list(st[-len(suffix):]) == suffix)
        top = [[list(map(list, st)), c] for st, c in seen.most_common(3)]
        share = float(hits) / total if total else 0.0
        ok = total > 0 and share >= min_share
        return ok, {"label": label, "expected_suffix": [list(x) for x in suffix],
                    "samples": total, "share": round(share, 4), "top": top}


def finish_selfcheck(results):
    """Prints the selfcheck verdicts as one JSON line; exits 1 if any failed."""
    ok = all(r[0] for r in results)
    emit({"selfcheck": "ok" if ok else "FAILED", "details": [r[1] for r in results]})
    if not ok:
        sys.stderr.write("selfcheck FAILED: CPython's own view of the stacks differs from the "
                         "markers\n")
        sys.exit(1)
