#!/usr/bin/python3
"""Cost of `hotloop daemon` on a busy host: its CPU (% of one core), memory and store growth.

    sudo bench/daemon_bench.py [--procs 20] [--hz 49,99] [--seconds 90] [--window 10]

Starts PROCS CPU-bound Python processes (tests/e2e/workloads/daemon_busy.py, 3 threads each:
outer -> middle -> leaf, four leaf variants), then for each rate runs the daemon (mixed mode,
async on, the defaults) selecting them by a cmdline token, lets it warm up for a third of
SECONDS, and measures over the rest: the daemon's CPU time from /proc/PID/stat (user +
system; the BPF program's time is charged to the sampled processes and is shown separately
when kernel.bpf_stats_enabled=1), VmRSS and RssAnon at the end, and the store's growth
(file + WAL) between the two points, extrapolated to a day.  Prints one table row per rate
for docs/benchmarks.md ("Daemon").  Figures, not verdicts: nothing here fails on a number.
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


def store_bytes(db):
    """The file and its WAL after folding the WAL in: a WAL only ever grows to SQLite's
    autocheckpoint size and is reused, so counting it would measure that, not growth."""
    try:
        con = sqlite3.connect(db, timeout=10)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    except sqlite3.Error:
        pass
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def run_rate(wd, token, hz, seconds, window):
    db = os.path.join(wd, "bench-%d.db" % hz)
    conf = os.path.join(wd, "bench.conf")
    with open(conf, "w") as f:
        f.write("cmdline = %s\nstatus_file = %s/status\ncpu_budget = 0\n" % (token, wd))
    log = open(os.path.join(wd, "daemon-%d.log" % hz), "w")
    d = subprocess.Popen([HOTLOOP, "daemon", "--config", conf, "--db", db, "-F", str(hz),
                          "--window", str(window)], stdout=log, stderr=log)
    try:
        time.sleep(seconds / 3)
        c0, t0, b0 = cpu_s(d.pid), time.time(), store_bytes(db)
        time.sleep(seconds * 2 / 3)
        c1, t1, b1 = cpu_s(d.pid), time.time(), store_bytes(db)
        m = mem(d.pid)
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        log.close()
    con = sqlite3.connect(db)
    windows, samples, rows = con.execute(
        "SELECT count(*), sum(samples), sum(last_rowid - first_rowid + 1) FROM window"
        " WHERE samples > 0").fetchone()
    con.close()
    return {
        "hz": hz,
        "cpu_pct": 100 * (c1 - c0) / (t1 - t0),
        "rss_mib": m.get("VmRSS", 0) / 2**20,
        "anon_mib": m.get("RssAnon", 0) / 2**20,
        "growth_mb_day": (b1 - b0) / (t1 - t0) * 86400 / 1e6,
        "samples_per_s": (samples or 0) / max(1, windows) / window,
        "rows_per_window": (rows or 0) / max(1, windows),
        "size_mb": store_bytes(db) / 1e6,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=20)
    ap.add_argument("--hz", default="49,99")
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--window", type=int, default=60)
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("bench/daemon_bench.py: run as root (the daemon loads BPF)")
    token = "hlbench-" + uuid.uuid4().hex[:10]
    wd = tempfile.mkdtemp(prefix="hotloop-daemon-bench-")
    procs = [subprocess.Popen([PYTHON, BUSY, token, "0", "3"], start_new_session=True)
             for _ in range(a.procs)]
    try:
        time.sleep(1)
        print("| Hz | daemon CPU (%% of a core) | VmRSS MiB | RssAnon MiB | store growth MB/day "
              "(%d s windows) | samples/s | rows per window |" % a.window)
        print("|---|---|---|---|---|---|---|")
        for hz in [int(x) for x in a.hz.split(",")]:
            r = run_rate(wd, token, hz, a.seconds, a.window)
            print("| %d | %.2f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
                r["hz"], r["cpu_pct"], r["rss_mib"], r["anon_mib"], r["growth_mb_day"],
                r["samples_per_s"], r["rows_per_window"]), flush=True)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        subprocess.run(["rm", "-rf", wd])


if __name__ == "__main__":
    main()
