#!/usr/bin/python3
"""End-to-end tests of `hotloop daemon` (root: BPF).  One group per ctest:

    daemon.py basic     process churn (short-lived Python processes every 0.3 s + 5 long-running
                        ones): every long-running one sampled, short-lived ones that ran long
                        enough appear, fds / memory / tracked targets flat; concurrent
                        `report` while it writes; --service and --since; export pprof per
                        window; SIGKILL mid-window then restart (readable, no duplicate
                        windows); SIGHUP reload; SIGTERM writes the open window; status
    daemon.py faults    the store removed, then overwritten with garbage underneath (clear
                        error, a new file, no crash); a full disk on a small tmpfs (keeps
                        running, counts lost windows, resumes when space returns); retention
                        with a small size limit; the CPU budget governor lowering the rate
    daemon.py hostile   1,000 threads; a 10,000-frame recursion; a process that broke its own
                        frame links and a string length through ctypes (3.8, 3.12, 3.14):
                        bounded work, no crash, the bad samples counted
    daemon.py unit      daemon/hotloop.service: systemd-analyze verify; the daemon run with
                        exactly its capabilities and no_new_privs (samples, kernel names);
                        the unit under a real systemd in PID and mount namespaces of its own
                        (sandbox in effect, windows, reload, stop)

Every daemon here selects its processes with a cmdline regex holding a token unique to the
run, so other processes on the host do not matter.  Exit 0 pass, 1 fail, 77 skip (not root;
with CI=true a failure).  Timing never decides a verdict: waits are "until, at most".
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("HOTLOOP_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
HOTLOOP = os.environ.get("HOTLOOP_BIN", os.path.join(SOURCE, "build", "hotloop"))
sys.path.insert(0, HERE)
import interpreters  # noqa: E402

BUSY = os.path.join(HERE, "workloads", "daemon_busy.py")
HOSTILE = os.path.join(HERE, "workloads", "daemon_hostile.py")
EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77

children = []
failures = []


def log(msg):
    print(msg, flush=True)


def check(ok, what, detail=""):
    log("%s %s%s" % ("ok  " if ok else "FAIL", what, (": " + str(detail)) if detail else ""))
    if not ok:
        failures.append(what)
    return ok


def spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    children.append(p)
    return p


def kill(p, sig=signal.SIGKILL):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def cleanup():
    for p in children:
        kill(p)


def python(interp_id="3.12"):
    interp = interpreters.find(interp_id)
    if not interp.ok:
        raise SystemExit(skip("interpreter %s missing: %s" % (interp_id, interp.why_missing)))
    return interp.argv()


def skip(why):
    log("SKIP: " + why)
    return EXIT_FAIL if os.environ.get("CI") == "true" else EXIT_SKIP


def wait_until(pred, timeout, step=0.2):
    """pred() once it is true, or its value at the timeout.  An SQLite error counts as "not
    yet": a store the daemon has just created exists for a moment before its schema does."""
    def attempt():
        try:
            return pred()
        except sqlite3.Error:
            return None
    end = time.time() + timeout
    while time.time() < end:
        v = attempt()
        if v:
            return v
        time.sleep(step)
    return attempt()


class Daemon:
    def __init__(self, wd, token, name="d", conf_extra="", db=None, window="1"):
        self.wd = wd
        self.db = db or os.path.join(wd, name + ".db")
        self.status = os.path.join(wd, name + ".status")
        self.conf = os.path.join(wd, name + ".conf")
        self.log = os.path.join(wd, name + ".log")
        with open(self.conf, "w") as f:
            f.write("# written by tests/e2e/daemon.py\n")
            f.write("cmdline = %s\n" % token)
            f.write("status_file = %s\n" % self.status)
            f.write("window = %s\n" % window)
            f.write("rescan_interval = 2s\n")
            f.write(conf_extra)
        self.proc = None

    def start(self, extra=(), prefix=()):
        self.logf = open(self.log, "a")
        self.proc = spawn(list(prefix) + [HOTLOOP, "daemon", "--config", self.conf, "--db",
                                          self.db] + list(extra),
                          stdout=self.logf, stderr=self.logf)
        return self

    def status_json(self):
        try:
            with open(self.status) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill(self.proc)
            rc = None
        self.logf.close()
        return rc

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def q(db, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def report(db, *args, timeout=60):
    r = subprocess.run([HOTLOOP, "report", db] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def fds_of(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---- basic ------------------------------------------------------------------------------------

def group_basic(wd):
    py = python("3.12")
    token = "hltest-" + uuid.uuid4().hex[:12]
    d = Daemon(wd, token).start()
    longs = [spawn(py + [BUSY, token + "-long", "0"]) for _ in range(5)]
    check(wait_until(lambda: (d.status_json() or {}).get("windows_written", 0) >= 2, 30),
          "the daemon writes windows")

    # Churn: 64 short-lived Python processes, one every 0.3 s (or as fast as this machine
    # starts them), each busy for 0.8 s (long enough to be found and sampled), while report
    # reads the store concurrently.  The count, not the time, ends the loop: a loaded machine
    # takes longer, not fewer.
    shorts, fds, rss, targets, readers, marks = [], [], [], [], [], set()
    end = time.time() + 120
    next_short = 0
    while len(shorts) < 64 and time.time() < end:
        if time.time() >= next_short:
            shorts.append(spawn(py + [BUSY, token + "-short", "0.8"], stdout=subprocess.DEVNULL))
            next_short = time.time() + 0.3
        if len(shorts) % 10 == 5 and len(readers) < len(shorts) // 10 + 1:
            readers.append(report(d.db, "--format", "folded"))
        if len(shorts) in (15, 60) and len(shorts) not in marks:
            marks.add(len(shorts))
            fds.append(fds_of(d.proc.pid))
            rss.append(rss_of(d.proc.pid))
            targets.append(len((d.status_json() or {}).get("targets", [])))
        time.sleep(0.05)
    for p in shorts:
        p.wait(timeout=30)
    check(d.alive(), "the daemon survives the churn")
    check(all(rc == 0 for rc, _, _ in readers) and readers,
          "report reads the store while the daemon writes it",
          [(rc, err[-200:]) for rc, _, err in readers if rc])
    log("fds %s, rss %s, targets %s during the churn" % (fds, rss, targets))
    check(len(fds) == 2 and fds[1] <= fds[0] + 4, "file descriptors stay flat", fds)
    check(len(rss) == 2 and rss[1] <= rss[0] + 16 * 2**20, "memory stays flat (within 16 MiB)", rss)
    # Exited targets are released at the next window: what is tracked stays near the live set.
    time.sleep(3)
    live = len((d.status_json() or {}).get("targets", []))
    check(live <= 5 + 4, "exited processes are released (targets tracked: %d)" % live)

    # Reload, then SIGKILL mid-window, restart.
    os.kill(d.proc.pid, signal.SIGHUP)
    check(wait_until(lambda: "reloading the configuration" in d.log_text(), 10), "SIGHUP reloads")
    time.sleep(2.5)
    d.proc.kill()
    d.proc.wait()
    d.logf.close()
    wins_before = q(d.db, "SELECT count(*) FROM window")[0][0]
    check(q(d.db, "PRAGMA integrity_check")[0][0] == "ok", "the store is intact after SIGKILL")
    d.start()
    check(wait_until(lambda: (d.status_json() or {}).get("pid") == d.proc.pid and
                     (d.status_json() or {}).get("windows_written", 0) >= 2, 30),
          "the restarted daemon writes windows")
    rc = d.stop()
    check(rc == 0, "SIGTERM: exit 0", rc)
    for p in longs:
        kill(p)

    # The store's verdicts.
    check(q(d.db, "SELECT count(*) FROM (SELECT profile_id, start_ns FROM window"
                  " GROUP BY 1, 2 HAVING count(*) > 1)")[0][0] == 0, "no duplicate windows")
    check(q(d.db, "SELECT count(*) FROM window")[0][0] > wins_before, "windows after the restart")
    bad = q(d.db, "SELECT count(*) FROM window w WHERE samples != (SELECT coalesce(sum(weight), 0)"
                  " FROM window_sample WHERE rowid BETWEEN w.first_rowid AND w.last_rowid)")[0][0]
    check(bad == 0, "every window's samples are its rows' weights", bad)
    per_pid = dict(q(d.db, "SELECT process.pid, sum(s.weight) FROM window_sample s JOIN thread ON"
                           " thread.id = s.thread_id JOIN process ON process.id = thread.process_id"
                           " GROUP BY process.pid"))
    check(all(per_pid.get(p.pid, 0) > 0 for p in longs), "every long-running process is sampled",
          {p.pid: per_pid.get(p.pid, 0) for p in longs})
    sampled_shorts = sum(1 for p in shorts if per_pid.get(p.pid, 0) > 0)
    log("short-lived processes sampled: %d of %d" % (sampled_shorts, len(shorts)))
    check(sampled_shorts >= len(shorts) * 0.8, "short-lived processes that ran 0.8 s appear",
          "%d of %d" % (sampled_shorts, len(shorts)))
    rc, out, err = report(d.db, "--format", "folded", "--python-only")
    check(rc == 0 and "outer" in out and "middle" in out and "leaf" in out,
          "folded report shows outer -> middle -> leaf", err[-300:])
    folded_total = sum(int(l.rsplit(" ", 1)[1]) for l in out.splitlines() if l.strip())
    stored = q(d.db, "SELECT sum(weight) FROM window_sample")[0][0]
    check(folded_total == stored, "folded counts sum to the samples stored", (folded_total, stored))
    service = q(d.db, "SELECT service FROM process WHERE pid = ?", (longs[0].pid,))[0][0]
    rc, out, err = report(d.db, "--format", "folded", "--service", service, "--since", "1h")
    check(rc == 0 and out.strip(), "--service %s --since 1h selects samples" % service, err[-300:])
    rc, out, err = report(d.db, "--format", "folded", "--service", "no-such.service")
    check(rc == 0 and not out.strip(), "--service of another name selects nothing")
    outdir = os.path.join(wd, "pprof")
    r = subprocess.run([HOTLOOP, "export", d.db, "--format", "pprof", "-o", outdir],
                       capture_output=True, text=True, timeout=120)
    files = os.listdir(outdir) if os.path.isdir(outdir) else []
    nonempty = q(d.db, "SELECT count(*) FROM window WHERE samples > 0")[0][0]
    check(r.returncode == 0 and len(files) == nonempty and
          all(open(os.path.join(outdir, f), "rb").read(2) == b"\x1f\x8b" for f in files),
          "export writes one gzipped pprof per window with samples", (r.returncode, len(files), nonempty, r.stderr[-200:]))
    r = subprocess.run([HOTLOOP, "diff", d.db, d.db, "--base-service", service,
                        "--service", service], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "diff of a service with itself finds no regression", r.stderr[-300:])


# ---- faults -----------------------------------------------------------------------------------

def group_faults(wd):
    py = python("3.12")
    token = "hltest-" + uuid.uuid4().hex[:12]
    busy = [spawn(py + [BUSY, token, "0", "4"]) for _ in range(2)]

    # Removed, then overwritten with garbage.
    d = Daemon(wd, token, "rm").start()
    check(wait_until(lambda: (d.status_json() or {}).get("windows_written", 0) >= 2, 30),
          "windows written")
    os.unlink(d.db)
    check(wait_until(lambda: os.path.exists(d.db) and
                     "removed or replaced" in d.log_text(), 15), "a removed store: error, new file")
    check(wait_until(lambda: os.path.exists(d.db) and
                     q(d.db, "SELECT count(*) FROM window")[0][0] >= 1, 15),
          "the new store gets windows")
    with open(d.db, "r+b") as f:
        f.write(os.urandom(4096))
    check(wait_until(lambda: "is damaged: moved to" in d.log_text(), 15),
          "a store overwritten with garbage: moved aside")
    check(wait_until(lambda: os.path.exists(d.db) and
                     q(d.db, "SELECT count(*) FROM window")[0][0] >= 1, 15),
          "a new store after the damaged one")
    check(any(n.startswith("rm.db.damaged-") for n in os.listdir(wd)), "the damaged file is kept")
    check(d.alive(), "no crash")
    check(d.stop() == 0, "exit 0")

    # A full disk.
    mnt = os.path.join(wd, "small")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=384k", "hltest", mnt], check=True)
    try:
        d = Daemon(wd, token, "full", db=os.path.join(mnt, "full.db"),
                   conf_extra="retention_size = 0\n").start()
        check(wait_until(lambda: (d.status_json() or {}).get("windows_dropped", 0) >= 2, 60),
              "a full disk: lost windows counted", d.status_json())
        check(d.alive(), "keeps running on a full disk")
        check("lost" in d.log_text(), "the log says windows were lost")
        written = (d.status_json() or {}).get("windows_written", 0)
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        check(wait_until(lambda: (d.status_json() or {}).get("windows_written", 0) >= written + 2,
                         40), "resumes when space returns", d.status_json())
        check(d.stop() == 0, "exit 0")
        rc, out, err = report(d.db, "--format", "folded")
        check(rc == 0 and out.strip(), "the store is readable after the full disk", err[-300:])
    finally:
        subprocess.run(["umount", "-l", mnt])

    # Retention with a small size limit (python mode and many threads, so sample rows, not
    # the names of functions, fill the file).
    limit = 256 * 1024
    d = Daemon(wd, token, "ret", conf_extra="retention_size = 256K\nmode = python\n").start(
        ["-F", "499"])
    sizes = []
    ok = wait_until(lambda: (d.status_json() or {}).get("windows_deleted", 0) >= 3, 60)
    for _ in range(5):
        time.sleep(1)
        sizes.append((d.status_json() or {}).get("db_bytes", 0))
    check(ok, "retention deletes old windows", d.status_json())
    d.stop()
    for p in busy:
        kill(p)
    final = os.path.getsize(d.db) + (os.path.getsize(d.db + "-wal") if os.path.exists(d.db + "-wal") else 0)
    log("store sizes while running %s, after stop %d, limit %d" % (sizes, final, limit))
    # Retention runs after each window: the file may pass the limit by one window in between.
    check(all(s <= limit * 1.25 for s in sizes), "the file stays at the limit (one window's slack)",
          sizes)
    first = q(d.db, "SELECT min(id) FROM window")[0][0]
    check(first and first > 1, "the oldest windows are gone", first)
    check(q(d.db, "PRAGMA integrity_check")[0][0] == "ok", "the store is intact after retention")

    # The CPU budget: a budget no daemon can meet (a thousandth of a percent of a core) must
    # bring the rate down to min_frequency, in status, in the log, in the windows' recorded
    # rate and in the samples the kernel takes.
    busy = [spawn(py + [BUSY, token, "0", "4"]) for _ in range(2)]
    d = Daemon(wd, token, "gov", conf_extra="cpu_budget = 0.001\nmin_frequency = 5\n").start(
        ["-F", "49"])
    # The governor measures every 5 s and ignores the first two intervals of a session.
    check(wait_until(lambda: (d.status_json() or {}).get("frequency_hz") == 5, 60),
          "over the CPU budget: status shows the rate lowered to min_frequency",
          d.status_json())
    st = d.status_json() or {}
    check(st.get("configured_hz") == 49 and "over the budget" in st.get("throttled", ""),
          "status says why the rate is lowered", st.get("throttled"))
    check("over the budget" in d.log_text() and "5 Hz instead of 49" in d.log_text(),
          "the log says the rate was lowered")
    wins = q(d.db, "SELECT count(*) FROM window")[0][0]
    check(wait_until(lambda: q(d.db, "SELECT count(*) FROM window")[0][0] >= wins + 4, 30),
          "windows at the lowered rate")
    check(d.stop() == 0, "exit 0")
    for p in busy:
        kill(p)
    # Per second of window: the windows at 49 Hz against those at 5 Hz, leaving out the first
    # (partial) window and the one the rate changed in (it records the rate at its end).  A
    # tenth of the rate: fewer than half the samples, however loaded the machine is.
    rates = dict(q(d.db, "SELECT frequency_hz, sum(samples) * 1e9 / sum(end_ns - start_ns)"
                         " FROM window WHERE id > 1 AND samples > 0 AND id !="
                         " (SELECT min(id) FROM window WHERE frequency_hz != 49)"
                         " GROUP BY frequency_hz"))
    log("samples per second by recorded rate: %s" % rates)
    check(49 in rates and 5 in rates and rates[5] < rates[49] / 2,
          "the kernel samples at the lowered rate", rates)


# ---- hostile ----------------------------------------------------------------------------------

# The corrupted and deep targets run under each frame layout: PyFrameObject links (3.8),
# _PyInterpreterFrame (3.12) and 3.14's tagged references; 1,000 threads under 3.12.
HOSTILE_INTERPS = ("3.8", "3.12", "3.14")


def group_hostile(wd):
    token = "hltest-" + uuid.uuid4().hex[:12]
    d = Daemon(wd, token, window="2").start()
    procs = {}
    for interp in HOSTILE_INTERPS:
        py = python(interp)
        for mode in ("threads", "deep", "corrupt") if interp == "3.12" else ("deep", "corrupt"):
            p = spawn(py + [HOSTILE, token, mode], stdout=subprocess.PIPE, text=True)
            check(p.stdout.readline().strip() == "ready", "%s %s workload ready" % (interp, mode))
            procs[interp, mode] = p
    time.sleep(10)
    check(d.alive(), "no crash with hostile targets")
    st = d.status_json() or {}
    check(st.get("cpu_percent", 100) < 50, "bounded work: the daemon's CPU %.1f%%" %
          st.get("cpu_percent", -1))
    check(d.stop() == 0, "exit 0")
    for p in procs.values():
        kill(p)
    by_pid = dict(q(d.db, "SELECT process.pid, sum(s.weight) FROM window_sample s JOIN thread ON"
                          " thread.id = s.thread_id JOIN process ON process.id = thread.process_id"
                          " GROUP BY process.pid"))
    for (interp, mode), p in procs.items():
        check(by_pid.get(p.pid, 0) > 0, "%s %s: sampled" % (interp, mode), by_pid.get(p.pid, 0))
    threads = q(d.db, "SELECT count(DISTINCT thread.tid) FROM thread JOIN process ON"
                      " process.id = thread.process_id WHERE process.pid = ?",
                (procs["3.12", "threads"].pid,))[0][0]
    check(1 <= threads <= 1001, "1,000 threads: the spinning ones stored (%d threads)" % threads)
    counters = dict(q(d.db, "SELECT name, sum(value) FROM profile_counter GROUP BY name"))
    log("counters: %s" % counters)
    for interp in HOSTILE_INTERPS:
        rc, out, err = report(d.db, "--format", "folded", "--pid",
                              str(procs[interp, "deep"].pid))
        check(rc == 0 and "[truncated: deeper than the frame limit]" in out,
              "%s: the 10,000-frame recursion is truncated, with its marker" % interp, err[-300:])
        rc, out, err = report(d.db, "--format", "folded", "--pid",
                              str(procs[interp, "corrupt"].pid))
        check(rc == 0 and "[truncated: frame cycle]" in out,
              "%s: the frame cycle is cut, with its marker" % interp, err[-300:])
        check("[truncated: unreadable frame]" in out,
              "%s: the link into unmapped memory is cut, with its marker" % interp)
        check("[unreadable code object]" in out,
              "%s: the code object with a 2**40-character name is unreadable, marked" % interp)
    check(counters.get("truncated.too_deep", 0) > 0 and counters.get("truncated.cycle", 0) > 0
          and counters.get("truncated.read_failed", 0) > 0
          and counters.get("frames.unresolved_code", 0) > 0, "the bad samples are counted")


# ---- the systemd unit -----------------------------------------------------------------------

UNIT = os.path.join(SOURCE, "daemon", "hotloop.service")


def unit_capabilities():
    """The unit's CapabilityBoundingSet, as setpriv(1) capability names."""
    with open(UNIT) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return [c[len("CAP_"):].lower() for c in line.split("=", 1)[1].split()]
    return []


def group_unit(wd):
    """The unit file as systemd reads it (systemd-analyze verify), and the daemon run with
    exactly the unit's capabilities and no_new_privs, on a file system read-only but for its
    store's directory: it must sample, write windows and name kernel frames so.  Then the unit
    under a real systemd (group_unit_systemd)."""
    unit = os.path.join(wd, "hotloop.service")
    with open(UNIT) as f:
        text = f.read().replace("ExecStart=/usr/local/bin/hotloop", "ExecStart=" + HOTLOOP)
    with open(unit, "w") as f:
        f.write(text)
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
    check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
          "systemd-analyze verify: no complaint", (r.stdout + r.stderr)[-500:])
    caps = unit_capabilities()
    check(set(caps) >= {"bpf", "perfmon", "sys_ptrace"}, "the unit's capabilities: %s" % caps)
    token = "hltest-" + uuid.uuid4().hex[:12]
    # Time in the kernel (copying out of /dev/zero), so samples have kernel frames to name.
    busy = spawn(python("3.12") + ["-c", "import os, sys\nfd = os.open('/dev/zero', os.O_RDONLY)"
                                   "\nwhile True: os.read(fd, 1 << 20)", token])
    d = Daemon(wd, token, window="2")
    # ProtectSystem=strict with ReadWritePaths=<the store's directory>, as a mount namespace
    # can give it: everything read-only but the work directory.
    d.start(prefix=["unshare", "--mount", "--propagation", "private", "sh", "-ec",
                    'mount --bind "$0" "$0"; mount -o remount,bind,ro /; '
                    'mount -o remount,bind,rw "$0"; shift; exec "$@"', wd, "--",
                    "setpriv", "--bounding-set=-all," + ",".join("+" + c for c in caps),
                    "--inh-caps=-all", "--no-new-privs"])
    got = wait_until(lambda: (q(d.db, "SELECT count(*) FROM window WHERE samples > 0")
                              or [[0]])[0][0] >= 2, 30)
    check(got, "with the unit's capabilities: windows with samples written")
    check(d.stop() == 0, "exit 0")
    kill(busy)
    log_text = d.log_text()
    check("kallsyms" not in log_text, "no complaint about /proc/kallsyms", log_text[-500:])
    named = q(d.db, "SELECT count(*) FROM function WHERE kind = 3 AND name NOT LIKE '[%'")[0][0]
    check(named > 0, "kernel frames named (%d kernel functions)" % named)


    group_unit_systemd(wd)


# Capability numbers (linux/capability.h) of the names the unit gives; a name missing here
# counts as bit 63, which no process has, so the capability check fails until it is added.
CAP_NUMBERS = {"dac_read_search": 2, "sys_ptrace": 19, "syslog": 34, "perfmon": 38, "bpf": 39}

# Boots systemd as PID 1 of new PID and mount (and UTS, IPC, network) namespaces.  Whatever systemd writes at boot
# lands on private tmpfs mounts (its boot-time tmpfiles empty /tmp: on the host's /tmp that
# lost this machine's logs once); its only unit is hotloop.service, sandbox unchanged.
SYSTEMD_BOOT = r"""
mount --make-rprivate /
for d in /run /tmp /var/tmp /var/lib/hotloop /etc/hotloop /var/log/journal; do
    if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
done
mkdir -p /run/systemd/system
sed "s|^ExecStart=/usr/local/bin/hotloop|ExecStart=$HL_BIN|; s|^After=.*|DefaultDependencies=no|" \
    "$HL_UNIT" > /run/systemd/system/hotloop.service
printf '[Unit]\nDefaultDependencies=no\nWants=hotloop.service\n' > /run/systemd/system/hl.target
printf 'window = 2s\nfrequency = 49\n' > /etc/hotloop/daemon.conf
exec env container=hotloop-test /lib/systemd/systemd --system --unit=hl.target
"""


def group_unit_systemd(wd):
    """The unit under a real systemd (PID 1 in a PID namespace of its own: it cannot sample
    the host's processes from there, which the part above covers): it starts with exactly the
    unit's capabilities, no_new_privs and a read-only root; it writes windows into its
    StateDirectory; `systemctl reload` applies a changed configuration; `systemctl stop` ends
    it with status 0."""
    if not os.access("/lib/systemd/systemd", os.X_OK):
        check(False, "systemd is installed (scripts/install-deps)")
        return
    made = [d for d in ("/var/lib/hotloop", "/etc/hotloop") if not os.path.isdir(d)]
    for d in made:
        os.makedirs(d)  # mount points for the private tmpfs; removed below
    env = dict(os.environ, HL_BIN=HOTLOOP, HL_UNIT=UNIT)
    # Its own host name and network too: systemd sets the host name and brings up lo at boot.
    boot = spawn(["unshare", "--pid", "--mount", "--mount-proc", "--uts", "--ipc", "--net",
                  "--kill-child", "sh", "-ec",
                  SYSTEMD_BOOT], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        systemd_checks(boot.pid)
    finally:
        kill(boot)
        boot.wait()
        for d in made:
            os.rmdir(d)


def systemd_checks(unshare_pid):
    def pid1():
        r = subprocess.run(["pgrep", "-P", str(unshare_pid)], capture_output=True, text=True)
        return r.stdout.split()[0] if r.stdout.split() else None

    def inside(*argv):
        r = subprocess.run(["nsenter", "-t", pid1(), "-m", "-p", "--"] + list(argv),
                           capture_output=True, text=True, timeout=30)
        return r.stdout

    def status():
        try:
            return json.loads(inside("cat", "/run/hotloop/status") or "{}")
        except ValueError:
            return {}

    running = wait_until(lambda: pid1() and inside("systemctl", "is-active",
                                                   "hotloop").strip() == "active", 30)
    check(running, "systemd %s: hotloop.service active" %
          (inside("systemctl", "--version").split("\n")[0] if pid1() else "(did not boot)"))
    if not running:
        return
    main = inside("systemctl", "show", "-p", "MainPID", "--value", "hotloop").strip()
    proc = inside("cat", "/proc/%s/status" % main)
    fields = dict(l.split(":", 1) for l in proc.splitlines() if ":" in l)
    want = sum(1 << CAP_NUMBERS.get(c, 63) for c in unit_capabilities())
    caps = {k: int(fields.get(k, "-1").strip(), 16) for k in ("CapEff", "CapBnd", "CapAmb")}
    check(all(v == want for v in caps.values()) and fields.get("NoNewPrivs", "").strip() == "1",
          "the daemon's capabilities are the unit's (%#x), no_new_privs" % want,
          {k: hex(v) for k, v in caps.items()})
    mounts = {}
    for l in inside("cat", "/proc/%s/mountinfo" % main).splitlines():
        f = l.split()
        mounts[f[4]] = f[5].split(",")
    check("ro" in mounts.get("/", []) and "rw" in mounts.get("/var/lib/hotloop", []),
          "root read-only, the state directory writable",
          (mounts.get("/"), mounts.get("/var/lib/hotloop")))
    check(wait_until(lambda: status().get("windows_written", 0) >= 2, 20),
          "windows written to /var/lib/hotloop", status())
    inside("sh", "-c", "printf 'window = 3s\\nfrequency = 29\\n' > /etc/hotloop/daemon.conf")
    inside("systemctl", "reload", "hotloop")
    check(wait_until(lambda: status().get("configured_hz") == 29
                     and status().get("window_s") == 3.0, 20),
          "systemctl reload: the new frequency and window apply", status())
    inside("systemctl", "stop", "hotloop")
    shown = inside("systemctl", "show", "-p", "Result", "-p", "ExecMainStatus", "hotloop")
    check("Result=success" in shown and "ExecMainStatus=0" in shown,
          "systemctl stop: exit status 0", shown)
    windows = inside("sqlite3", "/var/lib/hotloop/hotloop.db", "SELECT count(*) FROM window")
    check(windows.strip().isdigit() and int(windows) >= 3, "the store holds the windows",
          windows)


GROUPS = {"basic": group_basic, "faults": group_faults, "hostile": group_hostile,
          "unit": group_unit}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in GROUPS:
        print(__doc__)
        return 64
    if os.geteuid() != 0:
        return skip("not root: the daemon loads BPF")
    if not os.access(HOTLOOP, os.X_OK):
        return skip("no hotloop binary at " + HOTLOOP)
    wd = tempfile.mkdtemp(prefix="hotloop-daemon-%s-" % sys.argv[1])
    log("work directory " + wd)
    try:
        GROUPS[sys.argv[1]](wd)
    finally:
        cleanup()
    if failures:
        log("FAILED: %s (work directory kept: %s)" % (", ".join(failures), wd))
        return EXIT_FAIL
    subprocess.run(["rm", "-rf", wd])
    log("PASS")
    return EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
