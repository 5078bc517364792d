#!/usr/bin/python3
"""A long run of `hotloop daemon` under process churn: does anything grow that should not?

    sudo bench/daemon_soak.py [--minutes 60] [--long 5] [--churn-per-min 100] [--window 60]

Starts LONG Python processes that stay for the whole run (each busy about 5% of the time, in
a few distinct stacks) and, all along, CHURN short-lived ones per minute (each busy ~0.1 s,
then exits), all selected by a cmdline token; runs the daemon on them (mixed mode, async on,
49 Hz, the defaults) and, once a minute, reads its VmRSS, RssAnon, open fds, tracked
processes and cache bytes (status file), windows written and the store's size.  Prints one
row per minute, then the change between the end of the warm-up (a third of the run) and the
end: a leak shows as steady growth there, while a working daemon is flat.  Figures, not
verdicts: the light load leaves the machine usable for other work meanwhile.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
HOTLOOP = os.environ.get("HOTLOOP_BIN", os.path.join(SOURCE, "build", "hotloop"))
PYTHON = os.environ.get("BENCH_PYTHON", "/root/.pyenv/versions/3.12.1/bin/python3.12")

# A long-running worker: ~5% busy, in one of four leaf variants; a short one: ~0.1 s busy.
WORKER = r"""
import sys, time
def leaf(k):
    s = 0
    for i in range(20000):
        s += i * k
    return s
def middle(k):
    return leaf(k)
k, seconds = int(sys.argv[2]), float(sys.argv[3])
end = time.time() + seconds
while time.time() < end:
    t = time.time()
    middle(k)
    if seconds > 1:
        time.sleep(max(0.0, 19 * (time.time() - t)))
"""


def status_of(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def mem(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--long", type=int, default=5)
    ap.add_argument("--churn-per-min", type=int, default=100)
    ap.add_argument("--window", type=int, default=60)
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("bench/daemon_soak.py: run as root (the daemon loads BPF)")
    # A SIGTERM (timeout, kill) still stops the workers and the daemon: finally runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench/daemon_soak.py: terminated"))
    token = "hlsoak-" + uuid.uuid4().hex[:10]
    wd = tempfile.mkdtemp(prefix="hotloop-daemon-soak-")
    db, conf, st = (os.path.join(wd, n) for n in ("soak.db", "soak.conf", "status"))
    with open(conf, "w") as f:
        f.write("cmdline = %s\nstatus_file = %s\n" % (token, st))
    log = open(os.path.join(wd, "daemon.log"), "w")
    d = subprocess.Popen([HOTLOOP, "daemon", "--config", conf, "--db", db, "--window",
                          str(a.window)], stdout=log, stderr=log)
    longs = [subprocess.Popen([PYTHON, "-c", WORKER, token, str(i % 4), "1e9"])
             for i in range(a.long)]
    shorts, rows, started = [], [], 0
    t0 = time.time()
    next_row, next_short = t0 + 60, t0
    try:
        while time.time() - t0 < a.minutes * 60:
            now = time.time()
            if now >= next_short:
                shorts.append(subprocess.Popen([PYTHON, "-c", WORKER, token,
                                                str(started % 4), "0.1"]))
                started += 1
                next_short += 60.0 / a.churn_per_min
            shorts = [p for p in shorts if p.poll() is None]
            if now >= next_row:
                s, m = status_of(st), mem(d.pid)
                row = {"minute": round((now - t0) / 60), "rss": m.get("VmRSS", 0),
                       "anon": m.get("RssAnon", 0),
                       "fds": len(os.listdir("/proc/%d/fd" % d.pid)),
                       "tracked": len(s.get("targets", [])),
                       "cache_mib": s.get("cache_bytes", 0) / 2**20,
                       "windows": s.get("windows_written", 0),
                       "store_mb": s.get("db_bytes", 0) / 1e6, "cpu_s": s.get("cpu_total_s", 0),
                       "started": started}
                rows.append(row)
                print("| %(minute)d | %(rss).1f | %(anon).1f | %(fds)d | %(tracked)d | "
                      "%(cache_mib).1f | %(windows)s | %(store_mb).1f | %(started)d |" % row,
                      flush=True)
                next_row += 60
            time.sleep(0.05)
    finally:
        for p in longs + shorts:
            p.kill()
            p.wait()
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        log.close()
    if len(rows) >= 3:
        w = rows[len(rows) // 3]
        e = rows[-1]
        print("from minute %d to %d: VmRSS %+.1f MiB, RssAnon %+.1f MiB, fds %+d, tracked "
              "processes %d -> %d, caches %+.1f MiB; %d short-lived processes started; "
              "daemon exit %s" % (w["minute"], e["minute"], e["rss"] - w["rss"],
                                  e["anon"] - w["anon"], e["fds"] - w["fds"], w["tracked"],
                                  e["tracked"], e["cache_mib"] - w["cache_mib"], started,
                                  d.returncode))
    print("work directory (log, status, store): %s" % wd)


if __name__ == "__main__":
    main()
