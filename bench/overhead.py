#!/usr/bin/env python3
"""hotloop's overhead benchmark, side by side with `perf record` at the same frequency.

For each frequency (99, 999, 9999 Hz by default) it runs a workload (--workload; default
bench/workloads/cpubound.py, a fixed amount of CPU-bound Python work) unprofiled, under
`hotloop record -p` (once per --variant NAME=FLAGS, e.g. `--variant async=` `--variant
no-async=--no-async` on bench/workloads/asyncserver.py), and under
`perf record -e cpu-clock -g -p`, interleaved over several repetitions so machine noise hits
every configuration alike, and reports:

  speed      the target's speed as a ratio of the unprofiled run (median of repetitions)
  interrupt-only  hotloop attached to another (sleeping) process while the workload runs:
             the perf-event interrupts fire on every CPU at the same frequency and the BPF
             program runs but skips the workload, so this is the platform's cost of sampling
             at that rate, which any perf-event profiler pays; hotloop's own share of the
             slowdown is speed(hotloop) / speed(interrupt-only)
  cpu/sample the profiler process's own CPU time (user + system, from wait4) per sample
  bpf/sample hotloop's BPF program time per sample (kernel.bpf_stats_enabled), spent in the
             target's context and so part of its slowdown
  bytes/sample  output file size per sample (hotloop.db, perf.data); for hotloop also the
             sample table alone, i.e. what the file grows by per further sample
  lost       samples the profiler reports lost

  truncated  share of hotloop's samples whose stack is incomplete (and why, in the JSON)
  async      for recordings that rewrote asyncio samples: the share of samples given their
             logical (task) stack, and the collector's time spent finding tasks per such
             sample (async.cost_ns / async.attributed, registry scans included)

--mode picks hotloop's mode (python: Python frames only; mixed: kernel, native and Python
frames, the native stack unwound from a copy of the user stack); --perf picks perf's call
graph: fp (frame pointers, -g) or dwarf (--call-graph dwarf with the same stack copy size).

Timing is noisy on shared machines: read ratios within one run, never absolute times.
Usage (as root): bench/overhead.py [--reps 5] [--freqs 99,999,9999] [--mode python|mixed]
                 [--perf fp|dwarf] [--python /usr/bin/python3] [--workload FILE]
                 [--variant NAME=FLAGS ...]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(kind, hz, args, tmp):
    go = os.path.join(tmp, "go")
    if os.path.exists(go):
        os.unlink(go)
    target = subprocess.Popen([args.python, args.workload, str(args.units), "--wait-for", go],
                              stdout=subprocess.PIPE, text=True)
    prof = None
    out_file = None
    if kind == "interrupt-only":
        out_file = os.path.join(tmp, "idle.db")
        sleeper = subprocess.Popen(["sleep", "100000"])
        prof = subprocess.Popen([args.hotloop, "record", "--mode", args.mode, "-F", str(hz),
                                 "-o", out_file, "-p", str(sleeper.pid)],
                                stderr=subprocess.PIPE, text=True)
    elif kind in args.variants:
        out_file = os.path.join(tmp, "bench.db")
        prof = subprocess.Popen([args.hotloop, "record", "--mode", args.mode,
                                 "--stack-size", str(args.stack_size), "-F", str(hz)]
                                + args.variants[kind] + ["-o", out_file, "-p", str(target.pid)],
                                stderr=subprocess.PIPE, text=True)
    elif kind == "perf":
        out_file = os.path.join(tmp, "perf.data")
        graph = (["--call-graph", "dwarf,%d" % args.stack_size] if args.perf == "dwarf"
                 else ["-g"])
        prof = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(hz)]
                                + graph + ["-o", out_file, "-p", str(target.pid)],
                                stderr=subprocess.PIPE, text=True)
    if prof:
        # Give the profiler time to attach (hotloop loads and verifies its BPF program).
        deadline = time.time() + 10
        while time.time() < deadline and not (out_file and os.path.exists(out_file)):
            time.sleep(0.01)
        time.sleep(0.3)
    open(go, "w").close()
    out, _ = target.communicate()
    seconds = json.loads(out.strip().splitlines()[-1])["seconds"]
    result = {"kind": kind, "hz": hz, "seconds": seconds}
    if kind == "interrupt-only":
        prof.send_signal(2)
        prof.wait()
        prof.stderr.close()
        sleeper.kill()
        sleeper.wait()
        os.unlink(out_file)
        return result
    if prof:
        _, status, usage = os.wait4(prof.pid, 0)
        err = prof.stderr.read()
        prof.stderr.close()
        result["cpu"] = usage.ru_utime + usage.ru_stime
        result["bytes"] = os.path.getsize(out_file)
        if kind in args.variants:
            m = re.search(r"(\d+) samples \((\d+) lost, (\d+) truncated", err)
            result["samples"], result["lost"] = int(m.group(1)), int(m.group(2))
            result["truncated"] = int(m.group(3))
            m = re.search(r"collector CPU ([\d.]+) s", err)
            result["steady_cpu"] = float(m.group(1)) if m else None
            # The sample table alone: what each further sample adds to the file.
            import sqlite3
            db = sqlite3.connect(out_file)
            result["sample_bytes"] = db.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'sample'").fetchone()[0]
            result["counters"] = dict(db.execute(
                "SELECT name, value FROM profile_counter"))
            db.close()
        else:
            script = subprocess.run(["perf", "script", "-i", out_file, "-F", "time"],
                                    capture_output=True, text=True)
            result["samples"] = len(script.stdout.splitlines())
            stats = subprocess.run(["perf", "report", "-i", out_file, "--stats"],
                                   capture_output=True, text=True).stdout
            m = re.search(r"LOST events:\s+(\d+)", stats)
            result["lost"] = int(m.group(1)) if m else 0
        os.unlink(out_file)
    return result


def bpf_stats(enable):
    path = "/proc/sys/kernel/bpf_stats_enabled"
    try:
        with open(path) as f:
            old = f.read().strip()
        with open(path, "w") as f:
            f.write("1" if enable else "0")
        return old
    except OSError:
        return None


def bpf_ns_per_sample(args, hz, tmp):
    """One extra hotloop run reading its own BPF run-time counters."""
    go = os.path.join(tmp, "go")
    if os.path.exists(go):
        os.unlink(go)
    target = subprocess.Popen([args.python, args.workload, str(args.units // 4), "--wait-for",
                               go],
                              stdout=subprocess.DEVNULL)
    db = os.path.join(tmp, "bpf.db")
    prof = subprocess.Popen([args.hotloop, "-v", "record", "--mode", args.mode, "--stack-size",
                             str(args.stack_size), "-F", str(hz), "-o", db, "-p",
                             str(target.pid)], stderr=subprocess.PIPE, text=True)
    while not os.path.exists(db):
        time.sleep(0.01)
    time.sleep(0.3)
    open(go, "w").close()
    target.wait()
    err = prof.communicate()[1]
    os.unlink(db)
    m = re.search(r"sampler CPU ([\d.]+) us per stored sample", err)
    return float(m.group(1)) * 1000 if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--units", type=int, default=4000, help="work per run (~3.5 s unprofiled)")
    ap.add_argument("--freqs", default="99,999,9999")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--mode", default="python", choices=("python", "mixed", "native"))
    ap.add_argument("--perf", default="fp", choices=("fp", "dwarf"))
    ap.add_argument("--stack-size", type=int, default=32768)
    ap.add_argument("--hotloop", default=os.path.join(TOP, "build", "hotloop"))
    ap.add_argument("--workload", default=os.path.join(TOP, "bench", "workloads", "cpubound.py"))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                    help="a hotloop configuration: extra record flags, space-separated")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    freqs = [int(f) for f in args.freqs.split(",")]
    args.variants = dict((v.split("=", 1)[0], v.split("=", 1)[1].split())
                         for v in args.variant or ["hotloop="])
    kinds = ["interrupt-only"] + list(args.variants) + ["perf"]
    configs = [("none", 0)] + [(k, f) for f in freqs for k in kinds]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            # Rotate the order so no configuration always runs first (cache, turbo).
            order = configs[rep % len(configs):] + configs[:rep % len(configs)]
            for kind, hz in order:
                r = run_once(kind, hz, args, tmp)
                r["rep"] = rep
                results.append(r)
                print("rep %d %-8s %5s Hz: %.3f s" % (rep, kind, hz or "-", r["seconds"]),
                      file=sys.stderr)
        old = bpf_stats(True)
        bpf = {hz: bpf_ns_per_sample(args, hz, tmp) for hz in freqs}
        if old is not None:
            bpf_stats(old == "1")

    base = statistics.median(r["seconds"] for r in results if r["kind"] == "none")
    print("workload: %s, python: %s, work: %d units, %d repetitions, unprofiled median "
          "%.3f s, hotloop --mode %s, perf %s call graphs, stack copy %d bytes"
          % (os.path.basename(args.workload), args.python, args.units, args.reps, base,
             args.mode, args.perf, args.stack_size))
    print()
    print("| profiler | Hz | speed vs unprofiled | CPU per sample (µs) | BPF per sample (µs) "
          "| bytes per sample | samples | lost | truncated |")
    print("|---|---|---|---|---|---|---|---|---|")
    for hz in freqs:
        idle = [r for r in results if r["kind"] == "interrupt-only" and r["hz"] == hz]
        idle_speed = base / statistics.median(r["seconds"] for r in idle)
        print("| interrupt-only | %d | %.3f | - | - | - | - | - | - |" % (hz, idle_speed))
        for kind in kinds[1:]:
            rs = [r for r in results if r["kind"] == kind and r["hz"] == hz]
            hl = kind in args.variants
            speed = base / statistics.median(r["seconds"] for r in rs)
            samples = sum(r["samples"] for r in rs)
            cpu = sum(r["cpu"] for r in rs) / max(samples, 1) * 1e6
            steady = ""
            if hl and all(r.get("steady_cpu") is not None for r in rs):
                steady = " (%.1f steady)" % (sum(r["steady_cpu"] for r in rs)
                                             / max(samples, 1) * 1e6)
            nbytes = "%.1f" % (sum(r["bytes"] for r in rs) / max(samples, 1))
            if hl:
                nbytes += " (%.1f growth)" % (sum(r["sample_bytes"] for r in rs)
                                              / max(samples, 1))
            lost = sum(r["lost"] for r in rs)
            b = bpf.get(hz) if hl else None
            trunc = ("%.2f%%" % (100.0 * sum(r["truncated"] for r in rs) / max(samples, 1))
                     if hl else "-")
            print("| %s | %d | %.3f (%.3f of interrupt-only) | %.1f%s | %s | %s | %d | %d | %s |"
                  % (kind, hz, speed, speed / idle_speed, cpu, steady,
                     "%.2f" % (b / 1000) if b else "-", nbytes, samples // len(rs), lost,
                     trunc))
    for kind in args.variants:
        for hz in freqs:
            rs = [r for r in results if r["kind"] == kind and r["hz"] == hz]
            c = dict((k, sum(r["counters"].get(k, 0) for r in rs))
                     for k in ("async.attributed", "async.cost_ns", "async.scans",
                               "async.unattributed_no_task", "async.unattributed_read_failed"))
            if not c["async.attributed"]:
                continue
            samples = sum(r["samples"] for r in rs)
            print("\nasync (%s, %d Hz): %.1f%% of samples given their task stack, %.1f µs per "
                  "such sample finding tasks, %d registry scans, %d unattributed"
                  % (kind, hz, 100.0 * c["async.attributed"] / max(samples, 1),
                     c["async.cost_ns"] / 1e3 / c["async.attributed"], c["async.scans"],
                     c["async.unattributed_no_task"] + c["async.unattributed_read_failed"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"base": base, "results": results, "bpf_ns": bpf}, f, indent=1)


if __name__ == "__main__":
    main()
