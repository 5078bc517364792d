#!/usr/bin/python3
"""Cost of `hotloop daemon` on a busy host: its CPU (% of one core), memory and store growth.

    sudo bench/daemon_bench.py [--procs 20] [--hz 49,99] [--window 60] [--windows 3]

Starts PROCS CPU-bound Python processes (tests/e2e/workloads/daemon_busy.py, 3 threads each:
outer -> middle -> leaf, four leaf variants), then for each rate runs the daemon (mixed mode,
async on, the defaults) selecting them by a cmdline token.  It skips the first, partial
window and one full window (warm-up: the dictionaries of functions, frames and stacks fill
then), and measures over the next WINDOWS windows, from the commit of one to the commit of
another:
- the daemon's CPU time from /proc/PID/stat (user + system; the BPF program's time is charged
  to the sampled processes);
- VmRSS and RssAnon at the end;
- samples the kernel could not hand over (ring buffer full) during the measured windows;
- store growth: the bytes of every table and index in use (SQLite's dbstat, read in a
  transaction, so the WAL's committed content counts and the WAL's own size, free pages and
  page reuse do not), divided by the windows in between and scaled to a day.  The growth of
  the sample rows (`window_sample`) is shown on its own: the dictionaries (function, frame,
  stack) stop growing once the workload's stacks are known, sample rows grow forever until
  retention deletes them.
Prints one table row per rate for docs/benchmarks.md ("Daemon").  Figures, not verdicts:
nothing here fails on a number.
"""
import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
HOTLOOP = os.environ.get("HOTLOOP_BIN", os.path.join(SOURCE, "build", "hotloop"))
BUSY = os.path.join(SOURCE, "tests", "e2e", "workloads", "daemon_busy.py")
PYTHON = os.environ.get("BENCH_PYTHON", "/root/.pyenv/versions/3.12.1/bin/python3.12")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def mem(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def used_bytes(db):
    """(windows committed, bytes in use by all tables and indexes, bytes in use by the sample
    rows: `window_sample`, or `sample` before schema 6),
    read in one transaction.  pgsize counts whole pages, so a page half full counts whole:
    over several windows of appended rows that evens out."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        con.execute("BEGIN")
        windows = con.execute("SELECT count(*) FROM window").fetchone()[0]
        total, sample = con.execute(
            "SELECT sum(pgsize),"
            " sum(CASE WHEN name IN ('sample', 'window_sample') THEN pgsize ELSE 0 END)"
            " FROM dbstat").fetchone()
        con.execute("COMMIT")
    finally:
        con.close()
    return windows, total, sample


def wait_windows(db, n, timeout):
    """Waits until the store holds @n windows; returns used_bytes() at that moment."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            u = used_bytes(db)
            if u[0] >= n:
                return u
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.2)
    sys.exit("bench/daemon_bench.py: the daemon wrote fewer than %d windows in %.0f s"
             % (n, timeout))


def file_bytes(db):
    """The file after folding the WAL in (what `ls` shows once the daemon checkpoints)."""
    try:
        con = sqlite3.connect(db, timeout=10)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    except sqlite3.Error:
        pass
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def run_rate(wd, token, hz, windows, window):
    db = os.path.join(wd, "bench-%d.db" % hz)
    conf = os.path.join(wd, "bench.conf")
    with open(conf, "w") as f:
        f.write("cmdline = %s\nstatus_file = %s/status\ncpu_budget = 0\n" % (token, wd))
    log = open(os.path.join(wd, "daemon-%d.log" % hz), "w")
    d = subprocess.Popen([HOTLOOP, "daemon", "--config", conf, "--db", db, "-F", str(hz),
                          "--window", str(window)], stdout=log, stderr=log)
    try:
        # Window 1 is partial (windows end on multiples of the window on the wall clock),
        # window 2 is the warm-up.
        w0, b0, s0 = wait_windows(db, 2, 3 * window + 30)
        c0, t0 = cpu_s(d.pid), time.time()
        w1, b1, s1 = wait_windows(db, w0 + windows, (windows + 1) * window + 30)
        c1, t1 = cpu_s(d.pid), time.time()
        m = mem(d.pid)
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        log.close()
    con = sqlite3.connect(db)
    nwin, samples, rows, lost = con.execute(
        "SELECT count(*), sum(samples), sum(last_rowid - first_rowid + 1), sum(lost) FROM window"
        " WHERE id > ? AND id <= ?", (w0, w1)).fetchone()
    con.close()
    per_day = 86400 / window / (w1 - w0)
    return {
        "hz": hz,
        "cpu_pct": 100 * (c1 - c0) / (t1 - t0),
        "rss_mib": m.get("VmRSS", 0) / 2**20,
        "anon_mib": m.get("RssAnon", 0) / 2**20,
        "growth_mb_day": (b1 - b0) * per_day / 1e6,
        "sample_mb_day": (s1 - s0) * per_day / 1e6,
        "bytes_per_row": (s1 - s0) / max(1, rows or 0),
        "samples_per_s": (samples or 0) / max(1, nwin) / window,
        "rows_per_window": (rows or 0) / max(1, nwin),
        "lost": lost or 0,
        "size_mb": file_bytes(db) / 1e6,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=20)
    ap.add_argument("--hz", default="49,99")
    ap.add_argument("--window", type=int, default=60, help="seconds (the daemon's default)")
    ap.add_argument("--windows", type=int, default=3, help="windows measured after warm-up")
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("bench/daemon_bench.py: run as root (the daemon loads BPF)")
    token = "hlbench-" + uuid.uuid4().hex[:10]
    wd = tempfile.mkdtemp(prefix="hotloop-daemon-bench-")
    procs = [subprocess.Popen([PYTHON, BUSY, token, "0", "3"], start_new_session=True)
             for _ in range(a.procs)]
    try:
        time.sleep(1)
        print("| Hz | window | daemon CPU (% of a core) | VmRSS MiB | RssAnon MiB | growth MB/day"
              " (all tables) | of which sample rows | bytes per sample row | samples/s stored |"
              " sample rows per window | samples lost | file MB at the end |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for hz in [int(x) for x in a.hz.split(",")]:
            r = run_rate(wd, token, hz, a.windows, a.window)
            print("| %d | %d s | %.2f | %.0f | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | %d | %.1f |"
                  % (r["hz"], a.window, r["cpu_pct"], r["rss_mib"], r["anon_mib"],
                     r["growth_mb_day"], r["sample_mb_day"], r["bytes_per_row"],
                     r["samples_per_s"], r["rows_per_window"], r["lost"], r["size_mb"]),
                  flush=True)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        subprocess.run(["rm", "-rf", wd])


if __name__ == "__main__":
    main()
