"""Assertions of the mixed-mode end-to-end tests, on data only: no processes, no hotloop, no
root.  run.py loads a recording into checks.Sample objects (frames read from the store, with
their kinds, C files and lines, modules and function starts) and calls these;
test_checks_mixed.py feeds them hand-made stacks, including rows that must fail.

A mixed stack (docs/schema.md) holds, outermost first: native frames, each CPython eval-loop
frame (kind 5) followed by the Python frames it runs, C frames between Python frames, and
kernel frames innermost.  What "exact" means for a call chain that crosses C code
(check_chain):

  1. The chain: the Python frames and the frames of the code under test (e.g. the test
     extension's module), in order, are exactly the expected list — names, file basenames and
     lines (a line of None matches any).  Nothing of them is missing, extra or out of order.
  2. What lies between two frames of the chain is only the interpreter's own machinery: eval
     frames and native frames of the interpreter's module (libpython3.X.so or the python3.X
     executable), named or "python3.X+0x...": the mixed view hides eval frames, and the
     calling machinery (cfunction_call, _PyObject_Vectorcall*, _PyFunction_Vectorcall, ...)
     differs between versions, so it is allowed but nothing else is — no kernel frame, no
     marker, no other library, no unknown address.
  3. Stitching: every Python frame comes right after an eval frame or after another Python
     frame (of the same eval call, 3.11+), as hotloop stores them.
Frames outside the chain's span (the native frames above <module>, what the innermost frame
called) are not part of the chain.
"""

import collections
import os
import re

import checks
from checks import (Result, KIND_PYTHON, KIND_NATIVE, KIND_KERNEL, KIND_SYNTHETIC, KIND_EVAL,
                    total)

INTERP_MODULE = re.compile(r"^(lib)?python3\.\d+")
OFFSET_NAME = re.compile(r"^(.+)\+0x([0-9a-f]+)$")
UNKNOWN_NAME = re.compile(r"^\[(unknown|kernel)( 0x[0-9a-f]+)?\]$|^$")
# Outermost frames of a fully unwound thread: _start (the main thread), clone/clone3 (the
# others; glibc marks the child's return address undefined there).
ROOTS = ("_start", "clone", "clone3", "__clone", "__clone3")
TRUNCATED = "[truncated"
# The native truncation counters (profile_counter) and the marker each puts at the root.
NATIVE_MARKERS = {
    "truncated.native_stack_end": "[truncated: native stack deeper than the copy]",
    "truncated.native_no_unwind_info": "[truncated: native code without unwind info]",
    "truncated.native_bad_step": "[truncated: native unwinding went astray]",
    "truncated.native_too_deep": "[truncated: more native frames than kept]",
}


def _base(path):
    return os.path.basename(path or "")


def is_interp_frame(f):
    """An eval frame, or a native frame of the interpreter's own module."""
    return f.kind in (KIND_NATIVE, KIND_EVAL) and INTERP_MODULE.match(_base(f.module)) is not None


def is_perfmap_frame(f):
    """A frame named from a perf map (CPython's -X perf trampolines: "py::qualname:file")."""
    return f.kind == KIND_NATIVE and f.name.startswith("py::")


def of_module(path):
    """keep-predicate: native frames of the ELF file at path."""
    real = os.path.realpath(path)
    return lambda f: f.kind == KIND_NATIVE and f.module and os.path.realpath(f.module) == real


def python_or(pred):
    return lambda f: f.kind == KIND_PYTHON or pred(f)


def key(f):
    return (f.kind, f.name, _base(f.file), f.line)


def _same(got, want):
    return got[:3] == tuple(want[:3]) and (want[3] is None or got[3] == want[3])


def _label(k):
    kind, name, base, line = k[:4]
    tag = {KIND_PYTHON: "", KIND_NATIVE: "[C] ", KIND_EVAL: "[eval] ",
           KIND_KERNEL: "[k] "}.get(kind, "[?] ")
    return "%s%s (%s:%s)" % (tag, name, base, "*" if line is None else line)


def fmt_chain(chain):
    return " -> ".join(_label(k) for k in chain) or "(empty)"


def short_fold(frames, keep_last=30):
    """The folded text of the innermost keep_last frames (eval frames shown, marked)."""
    frames = tuple(frames)
    cut = len(frames) > keep_last
    text = checks.fold(frames[-keep_last:])
    return ("...;" if cut else "") + text


def chain_mismatch(frames, expected, keep, between_ok):
    """None when `frames` hold exactly the chain `expected` (module doc), else why not.
    expected: [(kind, name, file basename, line or None)], outermost first; keep(frame): is
    the frame part of the chain; between_ok(frame): may it sit between two chain frames
    (eval frames always may)."""
    picked = [(i, f) for i, f in enumerate(frames) if keep(f)]
    got = [key(f) for _, f in picked]
    if len(got) != len(expected) or not all(_same(g, w) for g, w in zip(got, expected)):
        return "chain is %s" % fmt_chain(got)
    for (i, a), (j, b) in zip(picked, picked[1:]):
        for f in frames[i + 1:j]:
            if f.kind != KIND_EVAL and not between_ok(f):
                return "between %s and %s: %s" % (_label(key(a)), _label(key(b)),
                                                   checks.fold([f]))
    for i, f in enumerate(frames):
        if f.kind == KIND_PYTHON and (i == 0 or frames[i - 1].kind not in (KIND_PYTHON,
                                                                           KIND_EVAL)):
            return "Python frame %s does not follow an eval frame (after %s)" % (
                f.name, checks.fold(frames[i - 1:i]) if i else "nothing")
    return None


def _top_failures(samples, why, n=5):
    c = collections.Counter()
    for s in samples:
        reason = why(s)
        if reason:
            c[(reason, short_fold(s.frames))] += s.weight
    return ["%6d  %s\n          %s" % (cnt, reason, stack)
            for (reason, stack), cnt in c.most_common(n)]


def check_chain(samples, expected, keep, between_ok, min_share, what="samples"):
    """At least min_share of the samples hold exactly the chain `expected` (chain_mismatch)."""
    expected = [tuple(e) for e in expected]
    n = total(samples)
    why = lambda s: chain_mismatch(s.frames, expected, keep, between_ok)
    hit = sum(s.weight for s in samples if why(s) is None)
    share = float(hit) / n if n else 0.0
    ok = n > 0 and share >= min_share
    msg = "%s: %d of %d (%.2f%%) are exactly %s; expected >= %.1f%%" % (
        what, hit, n, 100 * share, fmt_chain(expected), 100 * min_share)
    if not ok:
        msg += "\n  commonest mismatches (count, why, innermost frames):\n    " + \
               "\n    ".join(_top_failures(samples, why) or ["(no samples)"])
    return Result(ok, msg)


def python_names(s):
    return tuple(f.name for f in s.frames if f.kind == KIND_PYTHON)


def between_python(frames, upper, lower):
    """The frames between the innermost Python frame named `upper` and the Python frame right
    after it in the Python view, if that one is named `lower`; None otherwise."""
    py = [i for i, f in enumerate(frames) if f.kind == KIND_PYTHON]
    for a, b in reversed(list(zip(py, py[1:]))):
        if frames[a].name == upper:
            return tuple(frames[a + 1:b]) if frames[b].name == lower else None
    return None


def check_between(samples, upper, lower, judge, min_share, what):
    """Of the samples whose Python view ends in upper -> lower, at least min_share have
    between those two frames what judge(frames between) accepts (judge returns None, or why
    not)."""
    sel = [s for s in samples if python_names(s)[-2:] == (upper, lower)]
    n = total(sel)

    def why(s):
        b = between_python(s.frames, upper, lower)
        return "no %s -> %s" % (upper, lower) if b is None else judge(b)

    hit = sum(s.weight for s in sel if why(s) is None)
    share = float(hit) / n if n else 0.0
    ok = n > 0 and share >= min_share
    msg = ("%s: %d of %d samples ending in %s -> %s (%.2f%%) have the expected frames "
           "between; expected >= %.1f%%" % (what, hit, n, upper, lower, 100 * share,
                                             100 * min_share))
    if not ok:
        msg += "\n  commonest mismatches:\n    " + "\n    ".join(
            _top_failures(sel, why) or ["(no samples)"])
    return Result(ok, msg)


def interp_between(name_re=None):
    """judge for check_between: only interpreter frames (eval or native of the interpreter's
    module) between, at least one native one, none unnamed ("[unknown ...]"); and when
    name_re is given, one of them matches it."""
    pat = re.compile(name_re) if name_re else None

    def judge(between):
        bad = [f for f in between if not is_interp_frame(f)]
        if bad:
            return "not an interpreter frame between: %s" % checks.fold(bad[:3])
        native = [f for f in between if f.kind == KIND_NATIVE]
        if not native:
            return "no native frame between (%d eval frames)" % len(between)
        unknown = [f for f in native if UNKNOWN_NAME.match(f.name)]
        if unknown:
            return "unnamed frame between: %s" % checks.fold(unknown[:3])
        if pat and not any(pat.search(f.name) for f in between):
            return "no frame matching /%s/ between: %s" % (name_re, checks.fold(between))
        return None

    return judge


SYSCALL_ENTRY = r"^(entry_SYSCALL_64|do_syscall_64)"


def kernel_mismatch(frames):
    """None when the kernel frames of a sample sit where they belong, else why not: they are
    the innermost frames, all of them (nothing of user space below any of them), the Python
    frames are above them, and every one is named (kallsyms)."""
    ks = [i for i, f in enumerate(frames) if f.kind == KIND_KERNEL]
    if not ks:
        return "no kernel frames"
    first = ks[0]
    if ks != list(range(first, len(frames))):
        return "a user frame below a kernel frame: %s" % checks.fold(
            [f for f in frames[first:] if f.kind != KIND_KERNEL][:3])
    if not any(f.kind == KIND_PYTHON for f in frames[:first]):
        return "no Python frame above the kernel frames"
    unnamed = [f for f in frames[first:] if UNKNOWN_NAME.match(f.name)]
    if unnamed:
        return "unnamed kernel frame: %s" % unnamed[0].name
    return None


def syscall_mismatch(frames, user_module_re, syscall_re):
    """For a sample inside a system call (a kernel frame matches SYSCALL_ENTRY): None when the
    user frame right above the kernel frames — the one that made the call — is in a module
    matching user_module_re (libc's syscall wrapper) and a kernel frame matches syscall_re,
    else why not."""
    ks = [i for i, f in enumerate(frames) if f.kind == KIND_KERNEL]
    above = frames[ks[0] - 1] if ks and ks[0] else None
    if above is None or above.kind != KIND_NATIVE or \
            not re.search(user_module_re, _base(above.module)):
        return "the system call was made from %s, not from /%s/" % (
            checks.fold([above]) if above else "nothing", user_module_re)
    if not any(re.search(syscall_re, f.name) for f in frames if f.kind == KIND_KERNEL):
        return "no kernel frame matches /%s/" % syscall_re
    return None


def in_syscall(s):
    return any(f.kind == KIND_KERNEL and re.search(SYSCALL_ENTRY, f.name) for f in s.frames)


def _share_check(samples, why, min_share, what, claim):
    n = total(samples)
    hit = sum(s.weight for s in samples if why(s) is None)
    share = float(hit) / n if n else 0.0
    ok = n > 0 and share >= min_share
    msg = "%s: %d of %d (%.2f%%) %s; expected >= %.1f%%" % (what, hit, n, 100 * share, claim,
                                                          100 * min_share)
    if not ok:
        msg += "\n  commonest mismatches:\n    " + "\n    ".join(
            _top_failures(samples, why) or ["(no samples)"])
    return Result(ok, msg)


def check_kernel(samples, min_share, what):
    """Of the samples with kernel frames, at least min_share have them as kernel_mismatch
    wants."""
    sel = [s for s in samples if any(f.kind == KIND_KERNEL for f in s.frames)]
    return _share_check(sel, lambda s: kernel_mismatch(s.frames), min_share,
                        what + " with kernel frames",
                        "have them innermost, all named, below the Python frames")


def check_syscalls(samples, user_module_re, syscall_re, min_share, what):
    """Of the samples inside a system call, at least min_share pass syscall_mismatch."""
    sel = [s for s in samples if in_syscall(s)]
    return _share_check(sel, lambda s: syscall_mismatch(s.frames, user_module_re, syscall_re),
                        min_share, what + " inside a system call",
                        "entered the kernel from /%s/ and show /%s/"
                        % (user_module_re, syscall_re))


def trampoline_mismatch(frames):
    """None when every eval frame that starts Python frames is entered through the -X perf
    trampoline of its first Python frame's code — the native frame right above it is named
    "py::QUALNAME:FILENAME" from /tmp/perf-PID.map, as CPython 3.12+ writes it — else why
    not."""
    groups = 0
    for i, f in enumerate(frames):
        if f.kind == KIND_EVAL and i + 1 < len(frames) and frames[i + 1].kind == KIND_PYTHON:
            groups += 1
            code = frames[i + 1]
            want = "py::%s:%s" % (code.name, code.file)
            prev = frames[i - 1] if i else None
            if prev is None or prev.name != want:
                return "the eval frame of %s is entered from %s, not from the trampoline %s" % (
                    code.name, checks.fold([prev]) if prev else "nothing", want)
    return None if groups else "no eval frame followed by Python frames"


def check_trampolines(samples, min_share, what):
    n = total(samples)
    hit = sum(s.weight for s in samples if trampoline_mismatch(s.frames) is None)
    share = float(hit) / n if n else 0.0
    ok = n > 0 and share >= min_share
    msg = ("%s: %d of %d (%.2f%%) enter every eval call through its perf-map trampoline "
           "(py::qualname:file); expected >= %.1f%%" % (what, hit, n, 100 * share,
                                                        100 * min_share))
    if not ok:
        msg += "\n  commonest mismatches:\n    " + "\n    ".join(
            _top_failures(samples, lambda s: trampoline_mismatch(s.frames)) or ["(none)"])
    return Result(ok, msg)


# --- completeness -----------------------------------------------------------------------------

def is_root_frame(f, facts_of=None):
    """Is f a thread's outermost frame: a native _start or clone*, or (stripped libraries
    name them MODULE+0xSTART) a frame whose function start lies in an FDE that marks the
    return address undefined, the ABI's end-of-stack mark (facts_of(module) -> ElfFacts)."""
    if f.kind != KIND_NATIVE:
        return False
    if f.name in ROOTS:
        return True
    facts = facts_of(f.module) if facts_of and f.module and not f.module.startswith("[") \
        else None
    return facts is not None and facts.is_root(f.address)


def incomplete_reason(frames, facts_of=None):
    """None when the stack was unwound to its thread's root (is_root_frame outermost, no
    truncation marker anywhere), else why not."""
    for f in frames:
        if f.kind == KIND_SYNTHETIC and f.name.startswith(TRUNCATED):
            return f.name
    if not frames:
        return "[no frames]"
    if not is_root_frame(frames[0], facts_of):
        return "outermost frame is %s, not a thread root (%s, or an FDE marking the return " \
               "address undefined)" % (checks.fold(frames[:1]), "/".join(ROOTS))
    return None


def completeness(samples, facts_of=None):
    """(complete weight, total weight, Counter of reasons of the others)."""
    reasons = collections.Counter()
    ok = 0
    for s in samples:
        r = incomplete_reason(s.frames, facts_of)
        if r is None:
            ok += s.weight
        else:
            reasons[r] += s.weight
    return ok, total(samples), reasons


def check_completeness(samples, min_share, what, facts_of=None):
    ok, n, reasons = completeness(samples, facts_of)
    share = float(ok) / n if n else 0.0
    good = n > 0 and share >= min_share
    msg = "%s: %d of %d (%.2f%%) unwound to the thread's root; expected >= %.1f%%" % (
        what, ok, n, 100 * share, 100 * min_share)
    if reasons:
        msg += "\n  the others: " + "; ".join("%s x%d" % (r, c) for r, c in
                                             reasons.most_common(6))
    if not good:
        c = collections.Counter()
        for s in samples:
            if incomplete_reason(s.frames, facts_of):
                c[short_fold(s.frames, 20)] += s.weight
        msg += "\n  commonest incomplete stacks:\n    " + "\n    ".join(
            "%6d  %s" % (cnt, st) for st, cnt in c.most_common(5))
    return Result(good, msg)


def check_counters(counters, all_samples, profile, max_share, what="profile"):
    """The native truncation counters agree with the markers in the stored stacks (every
    truncated sample is counted and shown), and they stay under max_share of the samples."""
    results = []
    shown = collections.Counter()
    for s in all_samples:
        for f in s.frames:
            if f.kind == KIND_SYNTHETIC and f.name in NATIVE_MARKERS.values():
                shown[f.name] += s.weight
                break
    for name, marker in sorted(NATIVE_MARKERS.items()):
        counted = counters.get(name, 0)
        results.append(Result(counted == shown[marker], "%s: counter %s = %d, samples "
                              "showing %r: %d; expected equal" % (what, name, counted, marker,
                                                                  shown[marker])))
    n = profile.get("samples") or total(all_samples)
    native = sum(counters.get(k, 0) for k in NATIVE_MARKERS)
    share = float(native) / n if n else 0.0
    results.append(Result(n > 0 and share <= max_share,
                          "%s: %d of %d samples (%.2f%%) counted as natively truncated "
                          "(profile.truncated %s); expected <= %.1f%%"
                          % (what, native, n, 100 * share, profile.get("truncated"),
                             100 * max_share)))
    return results


# --- names ------------------------------------------------------------------------------------

def name_problem(f, facts):
    """None when native frame f is named as hotloop promises, else why not.  facts: the
    elfinfo.ElfFacts of f's module, or None (not an ELF file we can read).
      - never an unknown address ("[unknown 0x...]", "[kernel 0x...]", empty);
      - "MODULE+0xSTART": MODULE is the module's basename, START the frame's stored function
        start, START is where an FDE of the module's unwind tables begins (or lies in no FDE
        at all: code without unwind info keeps its address), and no function symbol of the
        file covers START (else hotloop should have used its name);
      - a name without file:line in a file that has no .symtab (names from .dynsym): a
        symbol of that name starts at the frame's function start — a frame inside a function
        the file does not export never takes the name of the exported symbol below it."""
    if UNKNOWN_NAME.match(f.name):
        return "unknown address %r" % f.name
    if is_perfmap_frame(f) or not f.module or f.module.startswith("["):
        return None
    m = OFFSET_NAME.match(f.name)
    if m:
        if m.group(1) != _base(f.module):
            return "%s: module part is not %s" % (f.name, _base(f.module))
        start = int(m.group(2), 16)
        if start != f.address:
            return "%s: stored function start is 0x%x" % (f.name, f.address)
        if facts is None:
            return None
        fde = facts.fde_of(start)
        if fde is not None and fde[0] != start:
            return "%s: 0x%x is inside FDE 0x%x..0x%x, not at its start" % (
                f.name, start, fde[0], fde[1])
        # In no FDE at all (hand-written code without unwind info, .init, PLT): no function
        # start is known, and native.h promises the address itself — still never a name.
        cover = facts.covering(start)
        if cover:
            return "%s: the symbol %s covers it" % (f.name, "/".join(cover))
        return None
    if facts is None or facts.has_symtab or facts.has_minidebug or f.line or f.file \
            or f.name.endswith("@plt"):
        return None
    starts = facts.by_name.get(f.name)
    if not starts:
        return "%s: %s has no symbol of that name (.dynsym only)" % (f.name, _base(f.module))
    if f.address not in starts:
        return "%s: the frame's function starts at 0x%x, the symbol at %s" % (
            f.name, f.address, "/".join("0x%x" % v for v in sorted(starts)))
    return None


def check_names(samples, facts_of, what):
    """Every native and eval frame of the samples passes name_problem.  facts_of(module) ->
    ElfFacts or None.  Also returns how many distinct frames were verified against the unwind
    tables (as a figure)."""
    seen = {}
    for s in samples:
        for f in s.frames:
            if f.kind in (KIND_NATIVE, KIND_EVAL):
                k = (f.name, f.module, f.address, f.line, f.file)
                if k not in seen:
                    seen[k] = [f, 0]
                seen[k][1] += s.weight
    problems = []
    offset_names = 0
    dynsym_names = 0
    for k, (f, w) in seen.items():
        facts = facts_of(f.module) if f.module and not f.module.startswith("[") else None
        p = name_problem(f, facts)
        if OFFSET_NAME.match(f.name) and facts is not None:
            offset_names += 1
        elif facts is not None and not facts.has_symtab and not f.line and not f.file:
            dynsym_names += 1
        if p:
            problems.append((w, p))
    problems.sort(reverse=True)
    ok = not problems
    msg = ("%s: %d distinct native frames, %d named module+0xSTART (checked against the unwind "
           "tables), %d named from .dynsym (checked against the symbol's start); %d wrongly "
           "named" % (what, len(seen), offset_names, dynsym_names, len(problems)))
    if problems:
        msg += ":\n    " + "\n    ".join("%6d samples  %s" % (w, p) for w, p in problems[:12])
    return Result(ok, msg)


# --- figures ----------------------------------------------------------------------------------

def figures(samples, counters, span_s, facts_of=None):
    """The numbers each mixed scenario prints: completeness, counters, samples per second."""
    ok, n, reasons = completeness(samples, facts_of)
    return {
        "samples": n,
        "complete_pct": round(100.0 * ok / n, 2) if n else None,
        "samples_per_s": round(n / span_s, 1) if span_s > 0 else None,
        "counters": dict((k, v) for k, v in sorted(counters.items())
                         if k.startswith("truncated.") or k.startswith("stitch.")),
        "incomplete": dict(reasons.most_common(4)),
    }
