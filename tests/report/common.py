"""tests/report/common.py — helpers of the report tests: the binaries, synthetic stores, running
hotloop, SQL oracles, skipping (exit 77) or failing under CI=true."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HOTLOOP = os.environ.get("HOTLOOP_BIN", "build/hotloop")
SYNTH = os.environ.get("HOTLOOP_SYNTH", "build/hotloop-synth")

failures = 0
checks = 0


def skip(reason):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true: nothing the machine should have may be skipped)")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(77)


def check(cond, what, detail=""):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}" + (f": {detail}" if detail else ""), flush=True)


def check_eq(expected, actual, what):
    check(expected == actual, what, f"expected {expected!r}, got {actual!r}")


def done():
    print(f"{checks - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


def tmpdir():
    d = tempfile.mkdtemp(prefix="hl_report_test.")
    import atexit
    atexit.register(shutil.rmtree, d, True)
    return d


def require_binaries():
    for b in (HOTLOOP, SYNTH):
        if not os.access(b, os.X_OK):
            print(f"FAIL: {b} is not built (cmake --build BUILD)")
            sys.exit(1)


def synth(path, **kw):
    args = [SYNTH, path]
    for k, v in kw.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            args.append(flag)
        else:
            args += [flag, str(v)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return path


def hotloop(*args, check_rc=None, binary=False):
    r = subprocess.run([HOTLOOP, *args], capture_output=True)
    if check_rc is not None and r.returncode != check_rc:
        print(f"FAIL: hotloop {' '.join(args)}: exit {r.returncode}, expected {check_rc}\n"
              f"{r.stderr.decode(errors='replace')}")
        global failures
        failures += 1
    out = r.stdout if binary else r.stdout.decode(errors="replace")
    return r.returncode, out, r.stderr.decode(errors="replace")


def sql(path, query, *params):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(query, params).fetchall()
    finally:
        db.close()


def folded_sum(text):
    total = 0
    for line in text.splitlines():
        total += int(line.rsplit(" ", 1)[1])
    return total
