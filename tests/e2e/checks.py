"""Assertions of the end-to-end tests, on data only: no processes, no hotloop, no root.

run.py loads a recording (the SQLite store, or `hotloop report --format folded` output) into
Sample objects and calls the check_* functions here; test_checks.py feeds them hand-written
samples and folded text, including rows that must fail.  Every check returns a Result whose
message states expected and actual values.

Frames are compared on Python frames only (kind 1): native, kernel and synthetic frames may
appear between and around them (mixed stacks), and the tests are about the Python view.  A
Python frame matches an expected (name, line) when its qualname equals name, its line equals
line, and its file's basename equals the workload's file basename (reports may shorten paths).
"""

import collections
import os
import re

KIND_PYTHON, KIND_NATIVE, KIND_KERNEL, KIND_SYNTHETIC, KIND_EVAL, KIND_TASK = 1, 2, 3, 4, 5, 6

# file: Python co_filename; native: the C source file of the line (store) or, parsed from
# folded text, the module's name.  module and address: native frames read from the store (the
# ELF path and the function's start, docs/schema.md); '' and 0 otherwise.
Frame = collections.namedtuple("Frame", "kind name file line module address")
Frame.__new__.__defaults__ = ("", 0)


class Sample(object):
    """One stored sample (or, from folded text, one folded line with weight = its count).
    frames: tuple of Frame, outermost first.  pid/tid/thread/state/time_ns are None when the
    source does not have them (folded text)."""

    __slots__ = ("pid", "tid", "thread", "state", "time_ns", "frames", "weight")

    def __init__(self, frames, weight=1, pid=None, tid=None, thread=None, state=None,
                 time_ns=None):
        self.frames = tuple(frames)
        self.weight = weight
        self.pid = pid
        self.tid = tid
        self.thread = thread
        self.state = state
        self.time_ns = time_ns

    def python(self):
        """((name, basename, line), ...) of the Python frames, outermost first."""
        return tuple((f.name, os.path.basename(f.file), f.line)
                     for f in self.frames if f.kind == KIND_PYTHON)

    def __repr__(self):
        return "Sample(%s x%d)" % (fold(self.frames), self.weight)


class Result(object):
    def __init__(self, ok, message):
        self.ok = bool(ok)
        self.message = message

    def __bool__(self):
        return self.ok

    __nonzero__ = __bool__

    def __repr__(self):
        return "%s: %s" % ("ok" if self.ok else "FAIL", self.message)


# --- folded text (docs/formats.md, report/label.h) -------------------------------------------
#   Python     qualname (file:line)   or qualname (file) when the line is unknown
#   native     name [module]
#   kernel     name_[k]
#   synthetic  name                   e.g. [truncated], [no frames]

_LINE_SUFFIX = re.compile(r"^(.*):(\d+)$")


def parse_frame(text):
    if text.endswith(")") and " (" in text:
        name, rest = text.split(" (", 1)
        rest = rest[:-1]
        m = _LINE_SUFFIX.match(rest)
        if m:
            return Frame(KIND_PYTHON, name, m.group(1), int(m.group(2)))
        return Frame(KIND_PYTHON, name, rest, 0)
    if text.endswith("_[k]"):
        return Frame(KIND_KERNEL, text[:-4], "", 0)
    if text.endswith("]") and " [" in text:
        name, module = text[:-1].rsplit(" [", 1)
        return Frame(KIND_NATIVE, name, module, 0)
    return Frame(KIND_SYNTHETIC, text, "", 0)


def parse_folded(text):
    """[Sample] from folded text; raises ValueError on a malformed line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        stack, sep, count = line.rpartition(" ")
        if not sep or not count.isdigit() or not stack:
            raise ValueError("folded line %d is not 'frames count': %r" % (n, line))
        frames = [] if stack == "[no frames]" else [parse_frame(f) for f in stack.split(";")]
        out.append(Sample(frames, weight=int(count)))
    return out


def fold(frames):
    parts = []
    for f in frames:
        if f.kind == KIND_PYTHON:
            parts.append("%s (%s:%d)" % (f.name, f.file, f.line) if f.line
                         else "%s (%s)" % (f.name, f.file))
        elif f.kind in (KIND_NATIVE, KIND_EVAL) and f.module:
            where = " (%s:%d)" % (os.path.basename(f.file), f.line) if f.file and f.line else ""
            parts.append("%s%s [%s]%s" % (f.name, where, os.path.basename(f.module),
                                          " {eval}" if f.kind == KIND_EVAL else ""))
        elif f.kind == KIND_NATIVE:
            parts.append("%s [%s]" % (f.name, os.path.basename(f.file)) if f.file else f.name)
        elif f.kind == KIND_KERNEL:
            parts.append(f.name + "_[k]")
        else:
            parts.append(f.name)
    return ";".join(parts) or "[no frames]"


def top_stacks(samples, n=10, python_only=False):
    """The n heaviest stacks as folded lines, 'count  stack' (for failure messages)."""
    c = collections.Counter()
    for s in samples:
        if python_only:
            key = ";".join("%s (%s:%d)" % x for x in s.python()) or "[no Python frames]"
        else:
            key = fold(s.frames)
        c[key] += s.weight
    # Deep start-up stacks run to kilobytes; the innermost end says the most.
    return ["%7d  %s" % (cnt, key if len(key) <= 400 else "..." + key[-400:])
            for key, cnt in c.most_common(n)]


# --- selections -------------------------------------------------------------------------------

def total(samples):
    return sum(s.weight for s in samples)


def of_thread(samples, tid):
    return [s for s in samples if s.tid == tid]


def of_pid(samples, pid):
    return [s for s in samples if s.pid == pid]


def in_window(samples, start_ns, end_ns):
    return [s for s in samples if s.time_ns is not None and start_ns <= s.time_ns <= end_ns]


def expected_frames(stack, file):
    """[(name, basename, line)] from a workload's [[name, line], ...] and its file."""
    base = os.path.basename(file)
    return tuple((name, base, int(line)) for name, line in stack)


def _share(hit, n):
    return float(hit) / n if n else 0.0


def _fmt_expected(expected):
    return " -> ".join("%s (%s:%d)" % x for x in expected)


# --- checks -----------------------------------------------------------------------------------

def check_exact_stack(samples, expected, min_share, what="samples"):
    """At least min_share of the samples' Python stacks are exactly `expected` (outermost
    first, nothing above or below)."""
    expected = tuple(expected)
    n = total(samples)
    hit = sum(s.weight for s in samples if s.python() == expected)
    share = _share(hit, n)
    ok = n > 0 and share >= min_share
    msg = ("%s: %d of %d (%.2f%%) are exactly %s; expected >= %.1f%%"
           % (what, hit, n, 100 * share, _fmt_expected(expected), 100 * min_share))
    if not ok:
        msg += "\n  top Python stacks of these samples:\n    " + "\n    ".join(
            top_stacks(samples, python_only=True) or ["(none)"])
    return Result(ok, msg)


def check_suffix(samples, suffix, min_share, what="samples"):
    """At least min_share of the samples' Python stacks end with `suffix` (innermost last)."""
    suffix = tuple(suffix)
    n = total(samples)
    k = len(suffix)
    hit = sum(s.weight for s in samples if s.python()[-k:] == suffix)
    share = _share(hit, n)
    ok = n > 0 and share >= min_share
    msg = ("%s: %d of %d (%.2f%%) end in %s; expected >= %.1f%%"
           % (what, hit, n, 100 * share, _fmt_expected(suffix), 100 * min_share))
    if not ok:
        msg += "\n  top Python stacks of these samples:\n    " + "\n    ".join(
            top_stacks(samples, python_only=True) or ["(none)"])
    return Result(ok, msg)


def check_present(samples, suffix, min_count=1, what="samples"):
    suffix = tuple(suffix)
    k = len(suffix)
    hit = sum(s.weight for s in samples if s.python()[-k:] == suffix)
    ok = hit >= min_count
    msg = "%s: %d end in %s; expected >= %d" % (what, hit, _fmt_expected(suffix), min_count)
    if not ok:
        msg += "\n  top Python stacks:\n    " + "\n    ".join(
            top_stacks(samples, python_only=True) or ["(none)"])
    return Result(ok, msg)


def check_state(samples, state, min_share, what="samples"):
    """At least min_share of the samples have this GIL state (1 holds, 2 does not)."""
    n = total(samples)
    counts = collections.Counter()
    for s in samples:
        counts[s.state] += s.weight
    share = _share(counts[state], n)
    ok = n > 0 and share >= min_share
    return Result(ok, "%s: %.2f%% of %d have state %d (state counts %s); expected >= %.1f%%"
                  % (what, 100 * share, n, state, dict(counts), 100 * min_share))


def check_plausible(count, seconds, frequency, min_fraction, what="samples"):
    """count >= min_fraction * seconds * frequency: hotloop did not drop most samples."""
    want = min_fraction * seconds * frequency
    ok = count >= want
    return Result(ok, "%s: %d samples for %.2f s at %d Hz; expected >= %.0f (%.0f%% of %.0f)"
                  % (what, count, seconds, frequency, want, 100 * min_fraction,
                     seconds * frequency))


def self_counts(samples, names):
    """{name: samples whose innermost Python frame is `name`} for the given names."""
    counts = dict((n, 0) for n in names)
    for s in samples:
        py = s.python()
        if py and py[-1][0] in counts:
            counts[py[-1][0]] += s.weight
    return counts


def check_shares(counts, measured, tolerance):
    """hotloop's self shares (counts / their sum) within `tolerance` (a fraction, 0.03 = 3
    percentage points) of the measured shares.  measured: {name: share}."""
    n = sum(counts.values())
    lines = ["%-8s %9s %9s %8s" % ("leaf", "hotloop", "measured", "diff")]
    ok = n > 0
    for name in sorted(measured):
        got = _share(counts.get(name, 0), n)
        want = float(measured[name])
        diff = got - want
        bad = abs(diff) > tolerance + 1e-9  # 0.47 - 0.50 is -0.030000000000000027
        if bad:
            ok = False
        lines.append("%-8s %8.2f%% %8.2f%% %+7.2fpp%s" % (
            name, 100 * got, 100 * want, 100 * diff, "  <-" if bad else ""))
    return Result(ok, "self shares over %d leaf samples, tolerance +-%.1fpp:\n  %s"
                  % (n, 100 * tolerance, "\n  ".join(lines)))


def check_folded_total(folded_samples, stored):
    """Invariant: the folded report's counts sum to the samples stored."""
    got = total(folded_samples)
    return Result(got == stored, "folded counts sum to %d; the store holds %d samples"
                  % (got, stored))


# --- asyncio logical stacks (function kind 6: "[task: NAME]", docs/schema.md) -----------------

_TASK_MARKER = re.compile(r"^\[task: (.*?)(?: \(awaited by \d+\))?\]$")


def task_name(frame):
    """NAME of a task marker frame (kind 6 from the store, or "[task: NAME]" parsed from
    folded text as synthetic), else None."""
    if frame.kind not in (KIND_TASK, KIND_SYNTHETIC):
        return None
    m = _TASK_MARKER.match(frame.name)
    return m.group(1) if m else None


def logical(sample, skip_dir="/asyncio/"):
    """The logical part of a sample: from its first task marker inward, as
    [("task", NAME) | (name, line)], without native frames and without Python frames of files
    under skip_dir (asyncio's own, which differ between versions).  None without a marker."""
    out = None
    for f in sample.frames:
        name = task_name(f)
        if name is not None:
            out = (out or []) + [("task", name)]
        elif out is not None and f.kind == KIND_PYTHON and not (skip_dir and skip_dir in f.file):
            out.append((f.name, f.line))
    return out


def below_tasks(sample):
    """Python frame names below (outside) the first task marker: the event loop."""
    out = []
    for f in sample.frames:
        if task_name(f) is not None:
            return out
        if f.kind == KIND_PYTHON:
            out.append(f.name)
    return out


def classify_chains(samples, chains):
    """{label: weight} of samples whose logical stack is exactly chains[label] (a list of
    ["task", NAME] | [name, line]); "unattributed" (no task marker) and "other" (a logical
    stack matching no chain), and the Counter of the "other" stacks."""
    want = dict((label, [tuple(x) for x in chain]) for label, chain in chains.items())
    counts = collections.Counter(dict((label, 0) for label in want))
    counts["unattributed"] = counts["other"] = 0
    others = collections.Counter()
    for s in samples:
        lg = logical(s)
        if lg is None:
            counts["unattributed"] += s.weight
            continue
        for label, chain in want.items():
            if lg == chain:
                counts[label] += s.weight
                break
        else:
            counts["other"] += s.weight
            others[" -> ".join("[task: %s]" % x[1] if x[0] == "task" else "%s:%s" % x
                               for x in lg)] += s.weight
    return counts, others


def check_chains(samples, chains, min_attributed, max_other, what="samples"):
    """At least min_attributed of the samples carry a logical stack, and of those at most
    max_other have one that is none of the expected chains (a wrong chain is a
    misattribution; an unattributed sample is only counted)."""
    counts, others = classify_chains(samples, chains)
    n = total(samples)
    attributed = n - counts["unattributed"]
    share = _share(attributed, n)
    other = _share(counts["other"], attributed)
    ok = n > 0 and share >= min_attributed and other <= max_other
    msg = ("%s: %d of %d (%.2f%%) have a logical stack, expected >= %.1f%%; of those %d "
           "(%.2f%%) match no expected chain, expected <= %.1f%%; per chain %s"
           % (what, attributed, n, 100 * share, 100 * min_attributed, counts["other"],
              100 * other, 100 * max_other,
              dict((k, v) for k, v in counts.items() if k not in ("other", "unattributed"))))
    if others:
        msg += "\n  stacks matching no chain:\n    " + "\n    ".join(
            "%7d  %s" % (c, k) for k, c in others.most_common(5))
    if not ok or not attributed:
        msg += "\n  expected chains:\n    " + "\n    ".join(
            "%s: %s" % (label, chain) for label, chain in sorted(chains.items()))
    return Result(ok, msg)

