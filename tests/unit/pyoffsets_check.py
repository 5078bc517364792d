#!/usr/bin/python3
"""tests/unit/pyoffsets_check.py — collector/pyoffsets.c against the headers of every installed
CPython.

For each interpreter whose headers are found (pyenv's versions/3.X.Y/include/python3.X, the
system's /usr/include/python3.X, and sid's 3.14 fetched by tests/python314/fetch), compiles
pyoffsets_probe.c against them with -DPy_BUILD_CORE, runs it, and compares what it measured
with the table row for that minor version, printed by `test_pyoffsets --dump`:

  - offsets and numbers must be equal; "none" in the probe must be HL_OFF_NONE (65535);
  - tstate_size and frame_size ("bytes the sampler reads") must cover every field read from
    that buffer and stay within sizeof() of the struct;
  - every field of struct hl_pyver (read from collector/pyoffsets.h) must be in the dump and
    measured by the probe, so a new field cannot go unchecked;
  - before trusting the comparison, it is run on a deliberately altered copy of each row and
    must report every alteration (a check that cannot fail would pass anything).

Fields the installed headers cannot tell (PyDictKeysObject and PyModuleObject live in .c files
before 3.10/3.11) are listed as unverified, never counted as passed.

Exit status: 0 all found headers agree and every table row was checked; 1 a mismatch or an
error; 77 (skip) some row had no headers to check against, unless CI=true, which makes that a
failure.  Not x86-64: skip, the table describes x86-64 only.

Usage: pyoffsets_check.py --dump-cmd BUILD/tests/unit/test_pyoffsets
                          [--probe tests/unit/pyoffsets_probe.c] [--header collector/pyoffsets.h]
                          [--cc cc] [--include-dir DIR]...
--include-dir adds a header directory (the one holding Python.h) and disables the search.
"""
import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
NONE = 0xFFFF
SKIP = 77

# "Bytes the sampler reads" from one struct: which probed fields the read must cover, and the
# struct whose sizeof bounds it.
READ_SPANS = {
    "tstate_size": (
        ["tstate_next", "tstate_interp", "tstate_frame", "tstate_thread_id",
         "tstate_native_thread_id"],
        "PyThreadState",
    ),
    "frame_size": (
        ["frame_back", "frame_code", "frame_lasti", "frame_owner", "frame_is_entry"],
        "frame",
    ),
}


def log(msg):
    print(msg, flush=True)


def hl_pyver_fields(header):
    """Field names of struct hl_pyver, in order, from pyoffsets.h."""
    text = open(header, encoding="utf-8").read()
    m = re.search(r"struct hl_pyver \{(.*?)\n\};", text, re.S)
    if not m:
        raise SystemExit(f"error: no struct hl_pyver in {header}")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    names = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        m = re.match(r"(?:const\s+)?\w+\s+(.*)$", decl, re.S)
        if not m:
            raise SystemExit(f"error: cannot read the declaration {decl!r} in {header}")
        for name in m.group(1).split(","):
            name = name.strip().lstrip("*").strip()
            if not re.fullmatch(r"\w+", name):
                raise SystemExit(f"error: cannot read the declaration {decl!r} in {header}")
            names.append(name)
    return [n for n in names if n not in ("major", "minor")]


def read_dump(cmd):
    """{minor: {field: value}} from `test_pyoffsets --dump`."""
    try:
        out = subprocess.run([cmd, "--dump"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"error: cannot run {cmd} --dump (build the test_pyoffsets target): {e}")
    rows = {}
    for line in out.splitlines():
        ver, field, value = line.split()
        major, minor = ver.split(".")
        if major != "3":
            raise SystemExit(f"error: unexpected dump line {line!r}")
        rows.setdefault(int(minor), {})[field] = int(value)
    if not rows:
        raise SystemExit(f"error: {cmd} --dump printed no rows")
    return rows


def cache_dir():
    """Where tests/python314/fetch unpacks sid's 3.14 (same rules as the script)."""
    if os.environ.get("HOTLOOP_CACHE"):
        return [os.environ["HOTLOOP_CACHE"]]
    xdg = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    return ["/var/cache/hotloop", os.path.join(xdg, "hotloop")]


def executable(path):
    return path if os.access(path, os.X_OK) else None


def pyenv_root():
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    try:
        return subprocess.run(["pyenv", "root"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def find_headers(minors):
    """[(label, include dir, extra cc args, interpreter or None)] for every header set found,
    per minor."""
    found = {m: [] for m in minors}
    root = pyenv_root()
    for m in minors:
        for inc in sorted(glob.glob(f"{root}/versions/3.{m}.*/include/python3.{m}")):
            # Debug and free-threaded builds ("3.13.0t", "3.12.1-debug") have other layouts.
            ver = inc.split("/versions/")[1].split("/")[0]
            if re.fullmatch(rf"3\.{m}\.\d+", ver):
                found[m].append((f"pyenv {ver}", inc, [],
                                 executable(f"{root}/versions/{ver}/bin/python3.{m}")))
        inc = f"/usr/include/python3.{m}"
        if os.path.exists(f"{inc}/Python.h"):
            found[m].append((f"system {inc}", inc, [], executable(f"/usr/bin/python3.{m}")))
        for cache in cache_dir():
            base = f"{cache}/python3.{m}/usr/include"
            inc = f"{base}/python3.{m}"
            if os.path.exists(f"{inc}/Python.h") and os.path.exists(f"{cache}/python3.{m}/.complete"):
                # Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>; search
                # that root after the system's, so it cannot shadow libc headers.
                found[m].append((f"debian sid {inc}", inc, ["-idirafter", base],
                                 executable(f"{cache}/python3.{m}/bin/python3.{m}")))
                break
    return found


def probe(cc, probe_src, label, inc, extra, tmp):
    """{field: ("none",) | ("off", off, size) | ("value", v) | ("unknown", why)}, sizes, version."""
    exe = os.path.join(tmp, re.sub(r"\W", "_", label))
    cmd = [cc, "-std=gnu11", "-Wall", "-DNDEBUG", "-I", inc, "-I", os.path.join(inc, "internal"),
           *extra, probe_src, "-o", exe]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"probe does not compile against {inc}:\n  {' '.join(cmd)}\n"
                           + res.stderr[-3000:])
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    facts, sizes, version, what = {}, {}, None, {}
    for line in out.splitlines():
        line, _, comment = line.partition(" # ")
        tok = line.split()
        if tok[0] == "version":
            version = (int(tok[1]), int(tok[2]), tok[3])
        elif tok[0] == "sizeof":
            sizes[tok[1]] = int(tok[2])
        elif tok[1] == "none":
            facts[tok[0]] = ("none",)
        elif tok[1] == "value":
            facts[tok[0]] = ("value", int(tok[2]))
        elif tok[1] == "unknown":
            facts[tok[0]] = ("unknown", " ".join(tok[2:]))
        else:
            facts[tok[0]] = ("off", int(tok[1]), int(tok[2]))
        what[tok[0]] = comment
    return facts, sizes, version, what


def compare(row, facts, sizes, what):
    """(mismatches, unverified) of one table row against one probe run."""
    bad, unverified = [], []
    for field, value in row.items():
        if field in READ_SPANS:
            covered, struct = READ_SPANS[field]
            for f in covered:
                fact = facts.get(f)
                if fact and fact[0] == "off" and value < fact[1] + fact[2]:
                    bad.append(f"{field} = {value} does not cover {f} "
                               f"(bytes {fact[1]}..{fact[1] + fact[2] - 1})")
            if struct in sizes and value > sizes[struct]:
                bad.append(f"{field} = {value} reads past sizeof({struct}) = {sizes[struct]}")
            continue
        fact = facts.get(field)
        if fact is None:
            bad.append(f"{field}: pyoffsets_probe.c does not measure it; add it there")
        elif fact[0] == "none":
            if value != NONE:
                bad.append(f"{field} = {value}, but these headers have no such field "
                           f"(expected HL_OFF_NONE)")
        elif fact[0] == "unknown":
            unverified.append(f"{field} = {value if value != NONE else 'HL_OFF_NONE'}: {fact[1]}")
        else:
            want = fact[1]
            if value != want:
                shown = "HL_OFF_NONE" if value == NONE else value
                bad.append(f"{field} = {shown}, headers say {want} ({what.get(field, '')})")
    return bad, unverified


# Run by the interpreter itself: reads its own objects at the row's offsets (ctypes) for the
# fields its headers do not describe.  Must run on 3.8.  Prints "field ok" or "field bad why".
RUNTIME_SCRIPT = r"""
import ctypes, json, sys, types
row, want = json.loads(sys.argv[1]), sys.argv[2:]

def word(addr, t=ctypes.c_ssize_t):
    return t.from_address(addr).value

def report(field, ok, why):
    print(field, "ok" if ok else "bad " + why)

if "module_dict" in want:
    mod = types.ModuleType("hotloop_probe")
    got = word(id(mod) + row["module_dict"])
    report("module_dict", got == id(mod.__dict__),
           "the word there is %#x, the module's __dict__ is at %#x" % (got, id(mod.__dict__)))

keyfields = [f for f in ("dictkeys_size", "dictkeys_nentries", "dictkeys_indices") if f in want]
if keyfields:
    # A combined table: dk_indices holds dk_size one-byte indices (dk_size <= 128), then
    # the entries {hash, key, value} in insertion order.
    keys = ["hotloop_key_%d" % i for i in range(5)]
    values = [object() for _ in keys]
    d = {}
    for k, v in zip(keys, values):
        d[k] = v
    dk = word(id(d) + row["dict_keys"])
    size = word(dk + row["dictkeys_size"]) if "dictkeys_size" in want else None
    nentries = word(dk + row["dictkeys_nentries"])
    ok = size in (8, 16, 32, 64, 128)
    entries = dk + row["dictkeys_indices"] + (size or 0)
    seen = []
    if ok:
        for i in range(len(keys)):
            e = entries + 24 * i
            seen.append((word(e + 8), word(e + 16)))
    expect = [(id(k), id(v)) for k, v in zip(keys, values)]
    index = ([word(dk + row["dictkeys_indices"] + j, ctypes.c_int8) for j in range(size)]
             if ok else [])
    if "dictkeys_size" in want:
        report("dictkeys_size", ok and seen == expect,
               "dk_size read as %r, entries found there %r" % (size, seen[:2]))
    if "dictkeys_nentries" in want:
        report("dictkeys_nentries", nentries == len(keys),
               "dk_nentries read as %d for %d keys" % (nentries, len(keys)))
    if "dictkeys_indices" in want:
        report("dictkeys_indices",
               ok and seen == expect and sorted(i for i in index if i >= 0) == list(range(5)),
               "indices %r, entries %r" % (index, seen[:2]))

def node_of(addr):
    # A struct llist_node {next, prev}: its neighbours point back at it.
    nxt, prv = word(addr), word(addr + 8)
    return nxt != 0 and prv != 0 and word(nxt + 8) == addr and word(prv) == addr

if "partial_args" in want:
    import functools
    p = functools.partial(len, "hotloop")
    got = word(id(p) + row["partial_args"])
    report("partial_args", got == id(p.args), "the word there is %#x, args at %#x"
           % (got, id(p.args)))

if "deque_leftblock" in want or "deque_leftindex" in want:
    import collections
    items = [object() for _ in range(200)]
    dq = collections.deque(items)
    for _ in range(3):
        dq.popleft()  # leftindex 3 of a block other than the right one
    block = word(id(dq) + row["deque_leftblock"])
    index = word(id(dq) + row["deque_leftindex"])
    ok = 0 <= index < 64 and block != 0 and word(block + 8 + 8 * index) == id(dq[0])
    for f in ("deque_leftblock", "deque_leftindex"):
        if f in want:
            report(f, ok, "block %#x index %d do not lead to the first item" % (block, index))

if "asend_gen" in want:
    async def agen():
        yield 1
    g = agen()
    asend = g.asend(None)
    got = word(id(asend) + row["asend_gen"])
    report("asend_gen", got == id(g), "the word there is %#x, the generator is at %#x"
           % (got, id(g)))
    asend.close()

taskfields = [f for f in want if f.startswith(("task_", "fut_")) or f == "wakeup_task"]
if taskfields:
    import asyncio
    NONE = 0xFFFF
    checks = {}

    async def leaf(fut):
        await fut

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        others = [asyncio.ensure_future(asyncio.sleep(10)) for _ in range(3)]
        t = asyncio.ensure_future(leaf(fut))
        t.set_name("hotloop-task")
        more = [asyncio.ensure_future(asyncio.sleep(10)) for _ in range(3)]
        await asyncio.sleep(0)
        ta = id(t)
        checks["task_size"] = (type(t).__basicsize__ == row["task_size"],
                               "type(task).__basicsize__ is %d" % type(t).__basicsize__)
        checks["task_coro"] = (word(ta + row["task_coro"]) == id(t.get_coro()), "not the coroutine")
        checks["task_name"] = (word(ta + row["task_name"]) == id(t.get_name()), "not the name")
        checks["task_fut_waiter"] = (word(ta + row["task_fut_waiter"]) == id(fut),
                                     "not the awaited future")
        checks["fut_state"] = (word(ta + row["fut_state"], ctypes.c_int32) == 0 and
                               word(id(fut) + row["fut_state"], ctypes.c_int32) == 0,
                               "pending is not 0")
        wake = word(id(fut) + row["fut_callback0"])
        if sys.version_info < (3, 10):
            ok = row["wakeup_task"] != NONE and word(wake + row["wakeup_task"]) == ta
        else:
            ok = row["wakeup_task"] == NONE and word(wake + 8) == id(type(len))
        checks["wakeup_task"] = (ok, "the awaited future's first callback does not lead to "
                                 "the task")
        cb1, cb2 = (lambda f: None), (lambda f: None)
        f2 = loop.create_future()
        f2.add_done_callback(cb1)
        f2.add_done_callback(cb2)
        lst = word(id(f2) + row["fut_callbacks"])
        ok = (word(id(f2) + row["fut_callback0"]) == id(cb1) and lst != 0 and
              word(lst + 8) == id(list) and word(lst + 16) == 1)
        if ok:
            item = word(word(lst + 24))
            ok = word(item + 8) == id(tuple) and word(item + row["tuple_items"]) == id(cb2)
        checks["fut_callback0"] = (ok, "not the first callback")
        checks["fut_callbacks"] = (ok, "not a list of (callback, context)")
        if sys.version_info >= (3, 14):
            checks["fut_awaited_by"] = (word(id(fut) + row["fut_awaited_by"]) == ta,
                                        "not the awaiting task")
            checks["fut_awaited_by_is_set"] = (
                word(id(fut) + row["fut_awaited_by_is_set"], ctypes.c_int8) == 0 and
                word(id(fut) + row["fut_awaited_by_is_set"] - 1, ctypes.c_int8) == 0,
                "is_set is not 0 next to is_task 0 for a plain future")
            checks["task_node"] = (node_of(ta + row["task_node"]), "not a list node")
        else:
            for f in ("fut_awaited_by", "fut_awaited_by_is_set", "task_node"):
                checks[f] = (row[f] == NONE, "%s %d: this version has no such field"
                             % (sys.version.split()[0], row[f]))
        fut.set_result(None)
        await t
        checks["fut_state"] = (checks["fut_state"][0] and
                               word(ta + row["fut_state"], ctypes.c_int32) == 2,
                               "pending 0 then finished 2 not seen")
        for o in others + more:
            o.cancel()

    asyncio.run(main())
    for f in taskfields:
        ok, why = checks.get(f, (False, "not checked"))
        report(f, ok, why)
"""


def runtime_check(python, row, fields):
    """{field: None if the running interpreter agrees, else why not}."""
    res = subprocess.run([python, "-I", "-c", RUNTIME_SCRIPT, json.dumps(row), *fields],
                         capture_output=True, text=True, timeout=60)
    got = {}
    for line in res.stdout.splitlines():
        field, verdict = line.split(" ", 1)
        got[field] = None if verdict == "ok" else verdict[4:]
    for f in fields:
        if f not in got:
            got[f] = f"{python} did not check it: {res.stderr.strip()[-500:]}"
    return got


def self_test(row, facts, sizes, what):
    """The comparison must notice any single altered field of a row that matched."""
    missed = []
    for field, value in row.items():
        if field in READ_SPANS:
            covered = [facts[f] for f in READ_SPANS[field][0] if facts.get(f, ("",))[0] == "off"]
            if not covered:
                continue
            altered = max(f[1] + f[2] for f in covered) - 1  # one byte short
        elif facts.get(field, ("unknown",))[0] == "unknown":
            continue
        else:
            altered = value + 8 if value != NONE else 8
        bad, _ = compare({field: altered}, facts, sizes, what)
        if not bad:
            missed.append(field)
    return missed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump-cmd", required=True)
    ap.add_argument("--probe", default=os.path.join(HERE, "pyoffsets_probe.c"))
    ap.add_argument("--header", default=os.path.join(SOURCE, "collector", "pyoffsets.h"))
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--include-dir", action="append", default=[])
    args = ap.parse_args()
    ci = os.environ.get("CI", "").lower() == "true"

    if platform.machine() != "x86_64":
        log(f"SKIP: the tables describe x86-64; this machine is {platform.machine()}")
        return SKIP

    failures = []
    fields = hl_pyver_fields(args.header)
    rows = read_dump(args.dump_cmd)
    for minor, row in sorted(rows.items()):
        missing = [f for f in fields if f not in row]
        extra = [f for f in row if f not in fields]
        if missing:
            failures.append(f"3.{minor}: test_pyoffsets --dump lacks {', '.join(missing)}: "
                            "add them to HL_PYVER_FIELDS in tests/unit/test_pyoffsets.c")
        if extra:
            failures.append(f"3.{minor}: --dump prints {', '.join(extra)}, not in {args.header}")

    if args.include_dir:
        found = {m: [] for m in rows}
        for inc in args.include_dir:
            ver = open(os.path.join(inc, "patchlevel.h")).read()
            m = int(re.search(r"#define PY_MINOR_VERSION\s+(\d+)", ver).group(1))
            found.setdefault(m, []).append((inc, inc, [], None))
    else:
        found = find_headers(sorted(rows))

    checked, unverified_all, not_found = [], [], []
    self_tested = runtime_self_tested = False
    with tempfile.TemporaryDirectory(prefix="pyoffsets.") as tmp:
        for minor in sorted(rows):
            if not found.get(minor):
                not_found.append(f"3.{minor}")
                continue
            row = rows[minor]
            for label, inc, extra, python in found[minor]:
                try:
                    facts, sizes, version, what = probe(args.cc, args.probe, label, inc, extra,
                                                        tmp)
                except (RuntimeError, subprocess.CalledProcessError) as e:
                    failures.append(f"3.{minor} [{label}]: {e}")
                    continue
                if version[:2] != (3, minor):
                    failures.append(f"3.{minor} [{label}]: headers are {version[2]}")
                    continue
                bad, unverified = compare(row, facts, sizes, what)
                # What the headers cannot tell, the interpreter built from them can.
                unknown = [f for f, fact in facts.items() if fact[0] == "unknown"]
                at_run_time = {}
                if unknown and python:
                    at_run_time = runtime_check(python, row, unknown)
                    bad += [f"{f} = {row[f]} disagrees with the running {python}: {why}"
                            for f, why in at_run_time.items() if why]
                    unverified = [u for u in unverified if u.split(" ")[0] not in at_run_time]
                failures += [f"3.{minor} [{label} {version[2]}]: {b}" for b in bad]
                unverified_all += [f"3.{minor} [{label}]: {u}" for u in unverified]
                n_headers = len(row) - len(unknown)
                log(f"{'FAIL' if bad else 'ok  '} 3.{minor} vs {label} ({version[2]}): "
                    f"{len(row)} fields, {len(bad)} wrong; {n_headers} from the headers, "
                    f"{len(at_run_time)} at run time, {len(unverified)} unverified")
                checked.append(f"{version[2]} ({label})")
                if bad:
                    continue
                if not self_tested:
                    self_tested = True
                    missed = self_test(row, facts, sizes, what)
                    if missed:
                        failures.append("self-test: an altered value of "
                                        f"{', '.join(missed)} was not reported")
                if at_run_time and not runtime_self_tested:
                    runtime_self_tested = True
                    for f in at_run_time:
                        altered = dict(row, **{f: row[f] + 8})
                        if not runtime_check(python, altered, [f])[f]:
                            failures.append(f"self-test: {f} + 8 passed the run-time check")
    if checked and not self_tested:
        failures.append("self-test did not run: no row matched its headers")

    for u in unverified_all:
        log(f"unverified {u}")
    for f in failures:
        log(f"FAIL {f}")
    log(f"checked against: {', '.join(checked) if checked else 'nothing'}")
    if failures:
        return 1
    if not_found:
        msg = (f"no headers found for {', '.join(not_found)} (pyenv install 3.X.Y under "
               f"{pyenv_root()}, or tests/python314/fetch for 3.14)")
        if ci:
            log(f"FAIL {msg}; CI=true makes this a failure")
            return 1
        log(f"SKIP {msg}")
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
