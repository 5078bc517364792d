#!/usr/bin/python3
"""End-to-end test driver: records real CPython processes with build/hotloop and checks what
the store and the folded report say against what the workloads know about themselves.

    run.py SCENARIO INTERP      chain | threads | zlib | attach | fork | accuracy, on one
                                interpreter id of interpreters.py (3.8 ... 3.13, debian-3.11,
                                3.14)
    run.py badinput             bad input, once (uses Debian's python3.11)
    run.py workloads INTERP     runs every workload with --selfcheck (no hotloop, no root):
                                CPython's own view of each stack matches the markers
    run.py check-folded FOLDED EXPECT_JSON [MIN_SHARE]
                                the stack check alone, on a folded file and a workload's JSON
                                line (a "stack" list): for trying the checks by hand
    run.py fetch314             the ctest fixture that fetches CPython 3.14 (skips offline)

Exit status: 0 pass, 1 fail, 77 skipped (not root, interpreter or hotloop feature missing;
with CI=true these fail instead), 64 usage.

Environment: HOTLOOP_BIN (default <source>/build/hotloop), HOTLOOP_E2E_KEEP=1 keeps the work
directory (it is always kept, and named, when a test fails), CI=true.

Verdicts never depend on timing except sample plausibility (a generous fraction of duration
x frequency).  When there are too few samples the scenario runs again with twice the work, at
most twice (perf's jitdump-python.sh pattern).  Every process started here is killed on exit.
The checks themselves live in checks.py (unit-tested by test_checks.py).
"""

import ctypes
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import checks  # noqa: E402
import interpreters  # noqa: E402

SOURCE_DIR = interpreters.SOURCE_DIR
WORKLOADS = os.path.join(HERE, "workloads")
EXIT_PASS, EXIT_FAIL, EXIT_SKIP, EXIT_USAGE = 0, 1, 77, 64
MAX_RETRIES = 2
MS = 1000 * 1000  # ns

# Frequencies are primes so sampling never runs in lockstep with anything periodic.
FREQ = 199
FREQ_ACCURACY = 499


def workload(name):
    return os.path.join(WORKLOADS, name)


def log(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class Skip(Exception):
    pass


class TooFewSamples(Exception):
    """Raised by a scenario when the plausibility check fails: run again with more work."""

    def __init__(self, result, results=()):
        Exception.__init__(self, result.message)
        self.result = result
        self.results = list(results)  # the checks made so far, reported after the last try


# --- processes --------------------------------------------------------------------------------

_children = []


def _die_with_parent():
    # Runs in the child before exec: SIGKILL it if this driver dies (ctest timeout kills).
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(argv, **kw):
    """Popen in a new session (so the whole group can be killed), remembered for cleanup."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent, **kw)
    _children.append(p)
    return p


def kill_all():
    for p in _children:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    # Workload pids learned from their JSON (a forked child may have left the group).
    for pid in list(_extra_pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


_extra_pids = set()


def _on_signal(signum, frame):
    kill_all()
    sys.exit(128 + signum)


def run(argv, timeout, env=None, **kw):
    """(returncode, stdout, stderr, seconds); kills the process group on timeout."""
    start = time.monotonic()
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
              universal_newlines=True, env=env, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += "\n[run.py: killed after the %d s timeout]" % timeout
        return None, out, err, time.monotonic() - start
    return p.returncode, out, err, time.monotonic() - start


# --- hotloop ----------------------------------------------------------------------------------

def hotloop_bin():
    return os.environ.get("HOTLOOP_BIN") or os.path.join(SOURCE_DIR, "build", "hotloop")


def preflight():
    """Root, the binary, and a `record` subcommand; Skip (or fail in CI) otherwise."""
    if os.geteuid() != 0:
        raise Skip("not root: hotloop record loads BPF programs (run the e2e tests as root)")
    exe = hotloop_bin()
    if not os.access(exe, os.X_OK):
        raise Skip("no hotloop binary at %s (build it, or set HOTLOOP_BIN)" % exe)
    rc, out, err, _ = run([exe, "record", "--help"], timeout=30)
    if rc != 0:
        raise Skip("%s record --help exits %s: no record subcommand yet (%s)"
                   % (exe, rc, (err or out).strip()[:200]))
    return exe


class Workdir(object):
    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="hotloop-e2e-%s-" % name)
        self.failed = False

    def file(self, name):
        return os.path.join(self.path, name)

    def close(self):
        if self.failed or os.environ.get("HOTLOOP_E2E_KEEP"):
            log("work directory kept: %s" % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def record(exe, wd, tag, args, timeout, env_extra=None):
    """Runs `hotloop record -o DB ARGS`; returns (rc, stdout, stderr, seconds, db, outfile).
    The workload's JSON lines go to outfile through $HOTLOOP_E2E_OUT."""
    db = wd.file("%s.db" % tag)
    outfile = wd.file("%s.jsonl" % tag)
    env = dict(os.environ)
    env["HOTLOOP_E2E_OUT"] = outfile
    env.update(env_extra or {})
    argv = [exe, "record", "-o", db] + [str(a) for a in args]
    log("$ " + " ".join(argv))
    rc, out, err, secs = run(argv, timeout=timeout, env=env)
    log("  exit %s after %.1f s; stderr:\n    %s" % (
        rc, secs, "\n    ".join(err.rstrip().splitlines()[-12:]) or "(empty)"))
    return rc, out, err, secs, db, outfile


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    out.append(json.loads(line))
    except OSError:
        pass
    return out


def folded(exe, db, extra=()):
    """(rc, [Sample], raw text, stderr) of `hotloop report DB --format folded`."""
    rc, out, err, _ = run([exe, "report", db, "--format", "folded"] + list(extra), timeout=120)
    samples = []
    if rc == 0:
        try:
            samples = checks.parse_folded(out)
        except ValueError as e:
            err += "\n" + str(e)
            rc = -1000
    return rc, samples, out, err


# --- the store --------------------------------------------------------------------------------

class Store(object):
    """Everything a test needs from a profile database, read with plain SQL (read-only)."""

    def __init__(self, path):
        self.path = path
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            self.integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            cols = [d[1] for d in con.execute("PRAGMA table_info(profile)")]
            rows = con.execute("SELECT * FROM profile").fetchall()
            self.profiles = [dict(zip(cols, r)) for r in rows]
            pcols = [d[1] for d in con.execute("PRAGMA table_info(process)")]
            self.processes = [dict(zip(pcols, r))
                              for r in con.execute("SELECT * FROM process").fetchall()]
            self.threads = {}
            for tid_row in con.execute("SELECT id, process_id, tid, name FROM thread"):
                self.threads[tid_row[0]] = tid_row[1:]
            functions = dict((r[0], r[1:]) for r in
                             con.execute("SELECT id, kind, name, file FROM function"))
            frames = dict((r[0], r[1:]) for r in
                          con.execute("SELECT id, function_id, line FROM frame"))
            stack = dict((r[0], r[1:]) for r in
                         con.execute("SELECT id, parent_id, frame_id FROM stack"))
            raw = con.execute("SELECT thread_id, stack_id, time_us, state, weight "
                              "FROM sample").fetchall()
            self.counters = dict(con.execute("SELECT name, value FROM profile_counter"))
        finally:
            con.close()
        start_ns = self.profiles[0]["start_ns"] if self.profiles else 0
        proc_pid = dict((p["id"], p["pid"]) for p in self.processes)
        cache = {0: ()}

        def resolve(sid):
            chain = []
            node = sid
            while node not in cache:
                if node not in stack or len(chain) > 100000:
                    raise ValueError("stack %d: broken parent chain at %d" % (sid, node))
                chain.append(node)
                node = stack[node][0]
            frames_out = cache[node]
            for n in reversed(chain):
                fid = stack[n][1]
                func_id, line = frames[fid]
                kind, name, file = functions[func_id]
                frames_out = frames_out + (checks.Frame(kind, name, file, line),)
                cache[n] = frames_out
            return cache[sid]

        self.samples = []
        for thread_id, stack_id, time_us, state, weight in raw:
            process_id, tid, tname = self.threads[thread_id]
            self.samples.append(checks.Sample(
                resolve(stack_id), weight=weight, pid=proc_pid.get(process_id), tid=tid,
                thread=tname, state=state, time_ns=start_ns + time_us * 1000))

    @property
    def profile(self):
        return self.profiles[0] if self.profiles else {}

    def process(self, pid):
        """The process row of pid; when there are several (hotloop starts a new row at each
        exec: the command's pid first runs hotloop's code, then the Python binary), the one
        that started last."""
        rows = [p for p in self.processes if p["pid"] == pid]
        rows.sort(key=lambda p: (p.get("start_ns") or 0, p["id"]))
        return rows[-1] if rows else None

    def thread_names(self, pid):
        """{tid: name} of a process."""
        ids = [p["id"] for p in self.processes if p["pid"] == pid]
        return dict((t[1], t[2]) for t in self.threads.values() if t[0] in ids)


def open_store(db, results):
    try:
        st = Store(db)
    except (sqlite3.Error, ValueError, IndexError, KeyError) as e:
        results.append(checks.Result(False, "the database %s cannot be read: %s" % (db, e)))
        return None
    results.append(checks.Result(st.integrity == "ok",
                                 "PRAGMA integrity_check: %s" % st.integrity))
    results.append(checks.Result(len(st.profiles) == 1,
                                 "%d profile row(s); expected 1" % len(st.profiles)))
    return st


def common_checks(exe, st, db, rc, err, results, want_rc=0):
    """Exit status, summary, and the store's invariants."""
    results.append(checks.Result(rc == want_rc, "hotloop record exit status %s; expected %d"
                                 % (rc, want_rc)))
    results.append(checks.Result("samples" in err, "the summary on stderr mentions samples"))
    if st is None:
        return
    stored = checks.total(st.samples)
    prof = st.profile
    results.append(checks.Result(
        prof.get("samples") in (stored, len(st.samples)),
        "profile.samples = %s; the sample table holds %d (weight %d)"
        % (prof.get("samples"), len(st.samples), stored)))
    results.append(checks.Result(prof.get("end_ns") is not None,
                                 "profile.end_ns is set (%s)" % prof.get("end_ns")))
    frc, fsamples, _, ferr = folded(exe, db)
    results.append(checks.Result(frc == 0, "hotloop report --format folded exit %s %s"
                                 % (frc, ferr.strip()[:300])))
    if frc == 0:
        results.append(checks.check_folded_total(fsamples, stored))


def check_python_version(st, pid, interp, results):
    p = st.process(pid)
    if p is None:
        results.append(checks.Result(False, "no process row for pid %d; processes: %s"
                                     % (pid, [x["pid"] for x in st.processes])))
        return
    want = "%d.%d" % interp.minor
    got = p.get("python_version") or ""
    results.append(checks.Result(
        got == want or got.startswith(want + "."),
        "process %d python_version %r (status %r, executable %r); expected %s.x"
        % (pid, got or None, p.get("python_status"), p.get("executable"), want)))


def steady_window(lines, margin_ns=50 * MS):
    """(start_ns, end_ns) between the workload's first JSON line and its "end" line, less a
    margin on each side; None when the workload printed no end line."""
    first = lines[0]
    end = [x for x in lines if x.get("end")]
    if not end:
        return None
    return first["t_ns"] + margin_ns, end[-1]["t_ns"] - margin_ns


def finish(results, title):
    bad = [r for r in results if not r.ok]
    log("")
    log("== %s: %d checks, %d failed" % (title, len(results), len(bad)))
    for r in results:
        log(("  ok    " if r.ok else "  FAIL  ") + r.message.replace("\n", "\n        "))
    return EXIT_FAIL if bad else EXIT_PASS


# --- scenarios --------------------------------------------------------------------------------

def sc_chain(exe, interp, wd, scale):
    seconds = 5.0 * scale
    rc, out, err, secs, db, jl = record(
        exe, wd, "chain", ["-F", FREQ, "--"] + interp.argv(workload("chain.py"), seconds),
        timeout=seconds + 120)
    results = []
    lines = read_jsonl(jl)
    if not lines:
        return [checks.Result(False, "chain.py printed nothing (stdout: %r)" % out[-500:])]
    info = lines[0]
    _extra_pids.add(info["pid"])
    st = open_store(db, results)
    common_checks(exe, st, db, rc, err, results)
    if st is None:
        return results
    check_python_version(st, info["pid"], interp, results)
    main = checks.of_thread(checks.of_pid(st.samples, info["pid"]), info["tid"])
    expected = checks.expected_frames(info["stack"], info["file"])
    win = steady_window(lines)
    if win is None:
        results.append(checks.Result(False, "chain.py printed no end line"))
        return results
    steady = checks.in_window(main, *win)
    plaus = checks.check_plausible(checks.total(steady), (win[1] - win[0]) / 1e9, FREQ, 0.5,
                                   "main thread, steady state")
    if not plaus.ok:
        raise TooFewSamples(plaus, results)
    results.append(plaus)
    results.append(checks.check_exact_stack(steady, expected, 0.99,
                                            "main-thread samples in the steady state"))
    # For information: the whole run, start-up and shut-down included.
    log("all %d main-thread samples (start-up included): %s" % (
        checks.total(main), checks.check_exact_stack(main, expected, 0.0).message))
    return results


def sc_threads(exe, interp, wd, scale):
    seconds = 5.0 * scale
    # --no-os-name: the workers keep their OS name (python3.X), so the names must come from
    # Python's threading module, as they do for a real service.  (3.14 sets OS thread names
    # from Python's itself; the check then passes either way.)
    rc, out, err, secs, db, jl = record(
        exe, wd, "threads",
        ["-F", FREQ, "--"] + interp.argv(workload("threads.py"), seconds, "--no-os-name"),
        timeout=seconds + 120)
    results = []
    lines = read_jsonl(jl)
    if not lines:
        return [checks.Result(False, "threads.py printed nothing (stdout: %r)" % out[-500:])]
    info = lines[0]
    _extra_pids.add(info["pid"])
    st = open_store(db, results)
    common_checks(exe, st, db, rc, err, results)
    if st is None:
        return results
    check_python_version(st, info["pid"], interp, results)
    names = st.thread_names(info["pid"])
    win = steady_window(lines)
    if win is None:
        return results + [checks.Result(False, "threads.py printed no end line")]
    procs = checks.of_pid(st.samples, info["pid"])
    worker_total = 0
    per = []
    for t in info["threads"]:
        got = names.get(t["tid"])
        results.append(checks.Result(got == t["name"], "thread %d is named %r in the store; "
                                     "expected %r (OS name %r)"
                                     % (t["tid"], got, t["name"], t["os_name"])))
        steady = checks.in_window(checks.of_thread(procs, t["tid"]), *win)
        worker_total += checks.total(steady)
        per.append((t, steady))
    span = (win[1] - win[0]) / 1e9
    plaus = [checks.check_plausible(worker_total, span, FREQ, 0.5,
                                    "both workers together (they share one GIL)")]
    plaus += [checks.check_plausible(checks.total(steady), span, FREQ, 0.15, t["name"])
              for t, steady in per]
    for p in plaus:
        if not p.ok:
            raise TooFewSamples(p, results)
    results += plaus
    for t, steady in per:
        suffix = checks.expected_frames(t["suffix"], info["file"])
        results.append(checks.check_suffix(steady, suffix, 0.95,
                                           "%s samples (steady state)" % t["name"]))
    return results


def sc_zlib(exe, interp, wd, scale):
    seconds = 5.0 * scale
    rc, out, err, secs, db, jl = record(
        exe, wd, "zlib", ["-F", FREQ, "--"] + interp.argv(workload("zlib_thread.py"), seconds),
        timeout=seconds + 120)
    results = []
    lines = read_jsonl(jl)
    if not lines:
        return [checks.Result(False, "zlib_thread.py printed nothing (stdout: %r)" % out[-500:])]
    info = lines[0]
    _extra_pids.add(info["pid"])
    st = open_store(db, results)
    common_checks(exe, st, db, rc, err, results)
    if st is None:
        return results
    check_python_version(st, info["pid"], interp, results)
    win = steady_window(lines)
    if win is None:
        return results + [checks.Result(False, "zlib_thread.py printed no end line")]
    span = (win[1] - win[0]) / 1e9
    procs = checks.of_pid(st.samples, info["pid"])
    z = info["zlib"]
    zs = checks.in_window(checks.of_thread(procs, z["tid"]), *win)
    ms = checks.in_window(checks.of_thread(procs, info["main_tid"]), *win)
    plaus = checks.check_plausible(checks.total(zs), span, FREQ, 0.25, "zlib-worker")
    plaus_main = checks.check_plausible(checks.total(ms), span, FREQ, 0.25, "main thread")
    if not (plaus.ok and plaus_main.ok):
        raise TooFewSamples(plaus if not plaus.ok else plaus_main, results)
    results += [plaus, plaus_main]
    results.append(checks.check_suffix(
        zs, checks.expected_frames([[z["function"], z["line"]]], info["file"]), 0.90,
        "zlib-worker samples attributed to compress_forever"))
    results.append(checks.check_state(zs, 2, 0.90, "zlib-worker samples not holding the GIL"))
    main_expected = checks.expected_frames(info["main_stack"], info["file"])
    results.append(checks.check_exact_stack(ms, main_expected, 0.95, "main-thread samples"))
    burning = [s for s in ms if s.python() == main_expected]
    results.append(checks.check_state(burning, 1, 0.90,
                                      "main-thread burning samples holding the GIL"))
    return results


def wait_ready(proc, timeout=60):
    """The workload's JSON line, once it printed "ready"."""
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        line = line.strip()
        if line.startswith("{"):
            info = json.loads(line)
        elif line == "ready":
            return info
    raise RuntimeError("the target did not print ready (exit %s)" % proc.poll())


def sc_attach(exe, interp, wd, scale):
    seconds = 3.0 * scale
    target = spawn(interp.argv(workload("attach_target.py"), 300), stdout=subprocess.PIPE,
                   universal_newlines=True)
    info = wait_ready(target)
    _extra_pids.add(info["pid"])
    time.sleep(0.3)
    rc, out, err, secs, db, jl = record(exe, wd, "attach",
                                        ["-F", FREQ, "-d", seconds, "-p", info["pid"]],
                                        timeout=seconds + 120)
    alive = target.poll() is None
    target.kill()
    target.wait()
    results = [checks.Result(alive, "the target still runs after the recording (detach "
                             "left it alone)")]
    st = open_store(db, results)
    common_checks(exe, st, db, rc, err, results)
    if st is None:
        return results
    check_python_version(st, info["pid"], interp, results)
    main = checks.of_thread(checks.of_pid(st.samples, info["pid"]), info["tid"])
    plaus = checks.check_plausible(checks.total(main), seconds, FREQ, 0.5, "main thread")
    if not plaus.ok:
        raise TooFewSamples(plaus, results)
    results.append(plaus)
    results.append(checks.check_exact_stack(
        main, checks.expected_frames(info["stack"], info["file"]), 0.99, "main-thread samples"))
    return results


def sc_fork(exe, interp, wd, scale):
    seconds = 4.0 * scale
    rc, out, err, secs, db, jl = record(
        exe, wd, "fork", ["-F", FREQ, "--"] + interp.argv(workload("forker.py"), seconds),
        timeout=seconds + 120)
    results = []
    lines = read_jsonl(jl)
    if not lines:
        return [checks.Result(False, "forker.py printed nothing (stdout: %r)" % out[-500:])]
    info = lines[0]
    _extra_pids.update([info["pid"], info["child_pid"]])
    done = [x for x in lines if "child_status" in x]
    results.append(checks.Result(done and done[0]["child_status"] == 0,
                                 "the child exited 0 (%s)" % (done[0] if done else "no line")))
    st = open_store(db, results)
    common_checks(exe, st, db, rc, err, results)
    if st is None:
        return results
    child = st.process(info["child_pid"])
    results.append(checks.Result(child is not None, "child pid %d is a process in the store "
                                 "(processes: %s)" % (info["child_pid"],
                                                      [p["pid"] for p in st.processes])))
    if child is None:
        return results
    results.append(checks.Result(child.get("parent_pid") == info["pid"],
                                 "child's parent_pid %r; expected %d"
                                 % (child.get("parent_pid"), info["pid"])))
    check_python_version(st, info["child_pid"], interp, results)
    cs = checks.of_pid(st.samples, info["child_pid"])
    plaus = checks.check_plausible(checks.total(cs), seconds, FREQ, 0.5, "child")
    if not plaus.ok:
        raise TooFewSamples(plaus, results)
    results.append(plaus)
    results.append(checks.check_exact_stack(
        cs, checks.expected_frames(info["child_stack"], info["file"]), 0.95, "child samples"))
    ps = checks.of_pid(st.samples, info["pid"])
    results.append(checks.check_exact_stack(
        ps, checks.expected_frames(info["parent_stack"], info["file"]), 0.5, "parent samples"))
    return results


def sc_accuracy(exe, interp, wd, scale):
    seconds = 10.0 * scale
    rc, out, err, secs, db, jl = record(
        exe, wd, "accuracy",
        ["-F", FREQ_ACCURACY, "--"] + interp.argv(workload("accuracy.py"), seconds),
        timeout=seconds * 3 + 120)
    results = []
    lines = read_jsonl(jl)
    meas = [x for x in lines if "measured" in x]
    if not lines or not meas:
        return [checks.Result(False, "accuracy.py printed no result (stdout: %r)" % out[-500:])]
    info, meas = lines[0], meas[-1]
    _extra_pids.add(info["pid"])
    st = open_store(db, results)
    common_checks(exe, st, db, rc, err, results)
    if st is None:
        return results
    check_python_version(st, info["pid"], interp, results)
    main = checks.of_thread(checks.of_pid(st.samples, info["pid"]), info["tid"])
    names = sorted(info["leaves"])
    counts = checks.self_counts(main, names)
    plaus = checks.check_plausible(sum(counts.values()), meas["leaves_cpu_s"], FREQ_ACCURACY,
                                   0.5, "samples in the three leaves")
    if not plaus.ok:
        raise TooFewSamples(plaus, results)
    results.append(plaus)
    measured = dict((n, meas["measured"][n]["share"]) for n in names)
    results.append(checks.check_shares(counts, measured, 0.03))
    return results


SCENARIOS = {
    "chain": sc_chain,
    "threads": sc_threads,
    "zlib": sc_zlib,
    "attach": sc_attach,
    "fork": sc_fork,
    "accuracy": sc_accuracy,
}


def run_scenario(name, interp_id):
    exe = preflight()
    interp = interpreters.find(interp_id)
    if not interp.ok:
        raise Skip("interpreter %s: %s" % (interp_id, interp.why_missing))
    log("scenario %s on %s (%s, %s)" % (name, interp.id, interp.version,
                                        " ".join(interp.argv_prefix)))
    scale = 1
    for attempt in range(MAX_RETRIES + 1):
        wd = Workdir("%s-%s" % (name, interp.id))
        try:
            results = SCENARIOS[name](exe, interp, wd, scale)
        except TooFewSamples as e:
            wd.failed = attempt == MAX_RETRIES
            wd.close()
            if attempt == MAX_RETRIES:
                return finish(e.results + [e.result], "%s on %s (after %d retries)"
                              % (name, interp.id, MAX_RETRIES))
            log("too few samples (%s): running again with %dx the work" % (e, scale * 2))
            scale *= 2
            kill_all()
            continue
        except Exception:
            wd.failed = True
            wd.close()
            raise
        code = finish(results, "%s on %s" % (name, interp.id))
        wd.failed = code != EXIT_PASS
        wd.close()
        return code


# --- bad input --------------------------------------------------------------------------------

def free_pid():
    """A pid that no process has (the pid of a child that was just reaped)."""
    p = subprocess.Popen(["true"])
    p.wait()
    pid = p.pid
    while os.path.exists("/proc/%d" % pid):
        pid += 7919
    return pid


def readable(exe, db, results, what):
    """The database opens read-only, passes integrity_check, and report reads it."""
    try:
        st = Store(db)
    except (sqlite3.Error, ValueError, IndexError, KeyError) as e:
        results.append(checks.Result(False, "%s: the database cannot be read: %s" % (what, e)))
        return None
    results.append(checks.Result(st.integrity == "ok", "%s: integrity_check %s"
                                 % (what, st.integrity)))
    frc, fs, _, ferr = folded(exe, db)
    results.append(checks.Result(frc == 0 and checks.total(fs) == checks.total(st.samples),
                                 "%s: report reads it (exit %s, %d folded vs %d stored) %s"
                                 % (what, frc, checks.total(fs), checks.total(st.samples),
                                    ferr.strip()[:200])))
    return st


def bad_nonexistent_pid(exe, interp, wd, results):
    pid = free_pid()
    rc, out, err, secs, db, _ = record(exe, wd, "nopid", ["-d", "2", "-p", pid], timeout=60)
    results.append(checks.Result(rc == 2, "record -p %d (no such process): exit %s; expected 2"
                                 % (pid, rc)))
    results.append(checks.Result(str(pid) in err, "the message names pid %d: %r"
                                 % (pid, err.strip()[:300])))


def bad_pid_exits(exe, interp, wd, results):
    target = spawn(interp.argv(workload("exiter.py"), 3), stdout=subprocess.PIPE,
                   universal_newlines=True)
    info = wait_ready(target)
    rc, out, err, secs, db, _ = record(exe, wd, "exits", ["-F", FREQ, "-d", 60, "-p", info["pid"]],
                                       timeout=120)
    target.wait()
    results.append(checks.Result(rc == 0, "record -p of a process that exits after 3 s: exit %s;"
                                 " expected 0" % rc))
    results.append(checks.Result(secs < 30, "recording ended %.1f s after it started, when the "
                                 "target exited (-d 60; limit 30 s)" % secs))
    results.append(checks.Result("samples" in err, "summary printed"))
    st = readable(exe, db, results, "target exited")
    if st:
        ps = checks.of_pid(st.samples, info["pid"])
        results.append(checks.check_exact_stack(
            ps, checks.expected_frames(info["stack"], info["file"]), 0.9,
            "samples of the exiting target"))


def bad_non_python(exe, interp, wd, results):
    rc, out, err, secs, db, jl = record(
        exe, wd, "nonpy", ["-F", FREQ, "--", "bash", workload("non_python.sh"), "3"], timeout=120)
    results.append(checks.Result(rc == 0, "record -- bash non_python.sh: exit %s; expected 0"
                                 % rc))
    lines = read_jsonl(jl)
    st = readable(exe, db, results, "non-Python target")
    if not st or not lines:
        results.append(checks.Result(bool(lines), "non_python.sh printed its pid"))
        return
    pid = lines[0]["pid"]
    p = st.process(pid)
    results.append(checks.Result(p is not None, "process %d (bash) is in the store" % pid))
    if p:
        results.append(checks.Result(
            p.get("python_version") is None and bool(p.get("python_status")),
            "python_version %r, python_status %r; expected NULL and a reason"
            % (p.get("python_version"), p.get("python_status"))))
    results.append(checks.Result(re.search(r"\b(0|no) python\b", err, re.I) is not None,
                                 "the summary says there is no Python ('0 Python' or 'no "
                                 "Python'): %r" % err.strip()[-400:]))
    n = checks.total(checks.of_pid(st.samples, pid))
    results.append(checks.Result(n > 0, "%d samples stored for the busy bash process" % n))
    py = sum(s.weight for s in checks.of_pid(st.samples, pid) if s.python())
    results.append(checks.Result(py == 0, "%d of them have Python frames; expected 0" % py))


def bad_corrupt_db(exe, interp, wd, results):
    good = None
    cases = []
    garbage = wd.file("garbage.db")
    with open(garbage, "wb") as f:
        f.write(b"this is not an SQLite database\n" * 100)
    cases.append(("garbage", garbage))
    empty = wd.file("empty.db")
    open(empty, "wb").close()
    cases.append(("empty file", empty))
    foreign = wd.file("foreign.db")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    cases.append(("foreign SQLite database", foreign))
    # A real profile cut in half.
    for name in os.listdir(wd.path):
        if name.endswith(".db") and name not in ("garbage.db", "empty.db", "foreign.db"):
            path = wd.file(name)
            if os.path.getsize(path) > 8192:
                good = path
                break
    if good:
        cut = wd.file("truncated.db")
        with open(good, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2])
        cases.append(("truncated profile", cut))
    for what, path in cases:
        for fmt in ("top", "folded"):
            rc, out, err, _ = run([exe, "report", path, "--format", fmt], timeout=60)
            ok = rc == 2 and os.path.basename(path) in err
            results.append(checks.Result(ok, "report --format %s of a %s: exit %s, stderr %r; "
                                         "expected exit 2 and a message naming the file"
                                         % (fmt, what, rc, err.strip()[:200])))


def bad_sigint_pid(exe, interp, wd, results):
    target = spawn(interp.argv(workload("attach_target.py"), 120), stdout=subprocess.PIPE,
                   universal_newlines=True)
    info = wait_ready(target)
    db = wd.file("sigint-p.db")
    argv = [exe, "record", "-o", db, "-F", str(FREQ), "-p", str(info["pid"])]
    log("$ " + " ".join(argv) + "   (SIGINT after 3 s)")
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += "[killed: did not stop within 30 s of SIGINT]"
    log("  exit %s; stderr: %s" % (p.returncode, err.strip()[-400:]))
    alive = target.poll() is None
    target.kill()
    target.wait()
    results.append(checks.Result(p.returncode == 0, "record -p, SIGINT: exit %s; expected 0"
                                 % p.returncode))
    results.append(checks.Result("samples" in err, "summary printed after SIGINT"))
    results.append(checks.Result(alive, "the target was left running"))
    st = readable(exe, db, results, "SIGINT during record -p")
    if st:
        results.append(checks.Result(st.profile.get("end_ns") is not None,
                                     "profile.end_ns set after SIGINT"))
        results.append(checks.check_exact_stack(
            checks.of_pid(st.samples, info["pid"]),
            checks.expected_frames(info["stack"], info["file"]), 0.95,
            "samples recorded before SIGINT"))


def bad_sigint_command(exe, interp, wd, results):
    db = wd.file("sigint-cmd.db")
    jl = wd.file("sigint-cmd.jsonl")
    env = dict(os.environ, HOTLOOP_E2E_OUT=jl)
    argv = [exe, "record", "-o", db, "-F", str(FREQ), "--"] + interp.argv(
        workload("chain.py"), 120)
    log("$ " + " ".join(argv) + "   (Ctrl-C, i.e. SIGINT to the process group, after 3 s)")
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
              env=env)
    time.sleep(3)
    os.killpg(p.pid, signal.SIGINT)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += "[killed: did not stop within 30 s of SIGINT]"
    log("  exit %s; stderr: %s" % (p.returncode, err.strip()[-400:]))
    lines = read_jsonl(jl)
    if lines:
        _extra_pids.add(lines[0]["pid"])
    # The command dies of SIGINT, so "the command failed": exit 1 (record --help).
    results.append(checks.Result(p.returncode == 1, "record -- COMMAND, Ctrl-C: exit %s; "
                                 "expected 1 (the command was interrupted)" % p.returncode))
    results.append(checks.Result("samples" in err, "summary printed after Ctrl-C"))
    st = readable(exe, db, results, "Ctrl-C during record -- COMMAND")
    if st:
        results.append(checks.Result(st.profile.get("exit_status") in (130, 1),
                                     "profile.exit_status %r; expected 130 (SIGINT)"
                                     % st.profile.get("exit_status")))
        results.append(checks.Result(checks.total(st.samples) > 0,
                                     "%d samples kept" % checks.total(st.samples)))


def run_badinput():
    exe = preflight()
    interp = interpreters.find("debian-3.11")
    if not interp.ok:
        for i in interpreters.ALL_IDS:
            interp = interpreters.find(i, fetch=False)
            if interp.ok:
                break
    if not interp.ok:
        raise Skip("no Python interpreter found for the bad-input targets")
    wd = Workdir("badinput")
    results = []
    for case in (bad_nonexistent_pid, bad_pid_exits, bad_non_python, bad_sigint_pid,
                 bad_sigint_command, bad_corrupt_db):
        log("")
        log("-- %s" % case.__name__)
        before = len(results)
        try:
            case(exe, interp, wd, results)
        except Exception as e:  # one broken case must not hide the others
            results.append(checks.Result(False, "%s raised %s: %s"
                                         % (case.__name__, type(e).__name__, e)))
        for r in results[before:]:
            r.message = "[%s] %s" % (case.__name__[4:], r.message)
        kill_all()
    code = finish(results, "badinput (targets on %s)" % interp.id)
    wd.failed = code != EXIT_PASS
    wd.close()
    return code


# --- workloads alone --------------------------------------------------------------------------

WORKLOAD_SELFCHECKS = [
    ("chain.py", ["1", "--selfcheck"]),
    ("threads.py", ["1.5", "--selfcheck"]),
    ("zlib_thread.py", ["1.5", "--selfcheck"]),
    ("attach_target.py", ["1", "--selfcheck"]),
    ("forker.py", ["1", "--selfcheck"]),
    ("exiter.py", ["0.3", "--exit-code=3"]),
    ("accuracy.py", ["1"]),
]


def run_workloads(interp_id):
    interp = interpreters.find(interp_id)
    if not interp.ok:
        raise Skip("interpreter %s: %s" % (interp_id, interp.why_missing))
    results = []
    for name, args in WORKLOAD_SELFCHECKS:
        rc, out, err, secs = run(interp.argv(workload(name), *args), timeout=120)
        want = 3 if name == "exiter.py" else 0
        lines = []
        try:
            lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        except ValueError as e:
            err += "\nbad JSON: %s" % e
        ok = rc == want and bool(lines) and lines[0].get("python") == interp.version
        sc = [x for x in lines if "selfcheck" in x]
        if "--selfcheck" in args:
            ok = ok and bool(sc) and sc[-1]["selfcheck"] == "ok"
        if name == "accuracy.py":
            m = [x for x in lines if "measured" in x]
            ok = ok and bool(m) and m[-1]["overhead_share"] < 0.01
        msg = "%s %s: exit %s (want %d), %d JSON lines%s" % (
            name, " ".join(args), rc, want, len(lines),
            (", selfcheck " + sc[-1]["selfcheck"]) if sc else "")
        if not ok:
            msg += "\n  stdout: %s\n  stderr: %s" % (out.strip()[-1500:], err.strip()[-1500:])
        results.append(checks.Result(ok, msg))
    return finish(results, "workloads on %s %s" % (interp.id, interp.version))


# --- main -------------------------------------------------------------------------------------

def usage():
    sys.stderr.write(__doc__)
    return EXIT_USAGE


def main(argv):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        if len(argv) == 2 and argv[0] in SCENARIOS:
            return run_scenario(argv[0], argv[1])
        if argv == ["badinput"]:
            return run_badinput()
        if len(argv) == 2 and argv[0] == "workloads":
            return run_workloads(argv[1])
        if argv == ["fetch314"]:
            interp = interpreters.find("3.14", fetch=True)
            if not interp.ok:
                raise Skip("CPython 3.14: %s" % interp.why_missing)
            log("CPython %s: %s" % (interp.version, " ".join(interp.argv_prefix)))
            return EXIT_PASS
        if argv and argv[0] == "check-folded" and len(argv) in (3, 4):
            with open(argv[1]) as f:
                samples = checks.parse_folded(f.read())
            with open(argv[2]) as f:
                info = json.loads(f.readline())
            share = float(argv[3]) if len(argv) == 4 else 0.99
            r = checks.check_exact_stack(samples, checks.expected_frames(info["stack"],
                                                                         info["file"]), share)
            return finish([r], "check-folded %s" % argv[1])
        return usage()
    except Skip as e:
        interpreters.skip_or_fail(str(e))
    finally:
        kill_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
