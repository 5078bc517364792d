#!/usr/bin/python3
"""The CPython interpreters the end-to-end tests cover, and how to run each one.

Run by the system /usr/bin/python3 (the driver run.py imports it).  This module finds
interpreters and reports why one is missing; it does not run workloads or judge results.

    find(id, fetch=True) -> Interp     never raises for a missing interpreter: check .ok
    require(id) -> Interp              applies the suite's policy to a missing interpreter:
                                       exit 77 (ctest "skipped") with the reason, or, when the
                                       environment says CI=true, exit 1 (nothing the machine
                                       supports may be skipped in CI)
    python3 tests/e2e/interpreters.py [--fetch] [--json]
                                       prints the table of what was found

Interpreter ids:
    3.8 ... 3.13   pyenv release builds (shared libpython, debug info); the highest installed
                   patch version of each minor under $PYENV_ROOT, `pyenv root` or ~/.pyenv
    debian-3.11    Debian's /usr/bin/python3.11: libpython linked in statically, stripped
    3.14           Debian sid's python3.14 run through sid's ld.so by the launcher that
                   tests/python314/fetch writes (fetched on demand when fetch=True)
"""

import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
FETCH_314 = os.path.join(SOURCE_DIR, "tests", "python314", "fetch")

PYENV_MINORS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
ALL_IDS = PYENV_MINORS + ("debian-3.11", "3.14")

EXIT_SKIP = 77

# Printed by every candidate interpreter to prove it runs; also the facts the tests need.
_PROBE = (
    "import sys, sysconfig, json; "
    "p = sysconfig.get_paths(); "
    "print(json.dumps({'version': sys.version.split()[0], 'executable': sys.executable, "
    "'include': p.get('include'), 'platinclude': p.get('platinclude')}))"
)


class Interp:
    """One interpreter.  argv_prefix is what to put before a script and its arguments
    (e.g. ["/root/.pyenv/versions/3.12.1/bin/python3.12"]); binary is the ELF file that holds
    the interpreter (what a profiler should find mapped in the process).  When the interpreter
    is missing, ok is False and why_missing says why and how to fix it."""

    def __init__(self, id, kind, argv_prefix=None, binary=None, version=None,
                 why_missing=None, include_dirs=None):
        self.id = id
        self.kind = kind  # 'pyenv', 'debian' or 'sid'
        self.argv_prefix = list(argv_prefix or [])
        self.binary = binary
        self.version = version
        self.why_missing = why_missing
        self.include_dirs = list(include_dirs or [])

    @property
    def ok(self):
        return self.why_missing is None

    @property
    def minor(self):
        """(3, 12) for '3.12.1'; None when missing."""
        if not self.version:
            return None
        return tuple(int(x) for x in self.version.split(".")[:2])

    def argv(self, *args):
        return self.argv_prefix + [str(a) for a in args]

    def as_dict(self):
        return {
            "id": self.id, "kind": self.kind, "ok": self.ok, "version": self.version,
            "argv_prefix": self.argv_prefix, "binary": self.binary,
            "include_dirs": self.include_dirs, "why_missing": self.why_missing,
        }

    def __repr__(self):
        return "Interp(%r)" % (self.as_dict(),)


def is_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pyenv_root():
    """$PYENV_ROOT, else `pyenv root`, else ~/.pyenv (which may not exist)."""
    env = os.environ.get("PYENV_ROOT")
    if env:
        return env
    exe = shutil.which("pyenv")
    if exe:
        try:
            out = subprocess.run([exe, "root"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, universal_newlines=True,
                                 timeout=20).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return os.path.expanduser("~/.pyenv")


def _probe(interp, timeout=60):
    """Runs the interpreter once; fills version and include_dirs or sets why_missing."""
    try:
        proc = subprocess.run(interp.argv("-I", "-c", _PROBE), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout)
    except (OSError, subprocess.SubprocessError) as e:
        interp.why_missing = "%s does not run: %s" % (" ".join(interp.argv_prefix), e)
        return interp
    if proc.returncode != 0:
        interp.why_missing = "%s does not run (exit %d): %s" % (
            " ".join(interp.argv_prefix), proc.returncode, proc.stderr.strip()[-500:])
        return interp
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    interp.version = info["version"]
    dirs = []
    for d in (info.get("include"), info.get("platinclude")):
        # The parent too: Debian's python3.X/pyconfig.h includes <triplet/python3.X/pyconfig.h>.
        for x in (d, os.path.dirname(d) if d else None):
            if x and os.path.isdir(x) and x not in dirs:
                dirs.append(x)
    interp.include_dirs = dirs
    return interp


def _find_pyenv(minor):
    interp = Interp(minor, "pyenv")
    root = pyenv_root()
    versions = os.path.join(root, "versions")
    pat = re.compile(r"^%s\.(\d+)$" % re.escape(minor))
    best = None
    try:
        names = os.listdir(versions)
    except OSError:
        names = []
    for name in names:
        m = pat.match(name)
        if m and (best is None or int(m.group(1)) > best[0]):
            best = (int(m.group(1)), name)
    if best is None:
        interp.why_missing = ("no pyenv build of %s under %s (install it: pyenv install %s)"
                              % (minor, versions, minor))
        return interp
    exe = os.path.join(versions, best[1], "bin", "python" + minor)
    if not os.access(exe, os.X_OK):
        interp.why_missing = "%s is missing or not executable" % exe
        return interp
    interp.argv_prefix = [exe]
    interp.binary = os.path.realpath(exe)
    return _probe(interp)


def _find_debian_311():
    interp = Interp("debian-3.11", "debian")
    exe = "/usr/bin/python3.11"
    if not os.access(exe, os.X_OK):
        interp.why_missing = "%s not found (apt-get install python3.11)" % exe
        return interp
    interp.argv_prefix = [exe]
    interp.binary = os.path.realpath(exe)
    interp = _probe(interp)
    if interp.ok and interp.minor != (3, 11):
        interp.why_missing = "%s is %s, not 3.11" % (exe, interp.version)
    return interp


def _find_314(fetch):
    interp = Interp("3.14", "sid")
    cmd = [FETCH_314] if fetch else [FETCH_314, "--check"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as e:
        interp.why_missing = "%s failed: %s" % (" ".join(cmd), e)
        return interp
    if proc.returncode == 1 and not fetch:
        interp.why_missing = "not fetched yet (run %s)" % FETCH_314
        return interp
    if proc.returncode != 0:
        interp.why_missing = "%s failed (exit %d): %s" % (
            " ".join(cmd), proc.returncode, proc.stderr.strip()[-800:])
        return interp
    launcher = proc.stdout.strip().splitlines()[-1]
    root = os.path.dirname(os.path.dirname(launcher))
    interp.argv_prefix = [launcher]
    interp.binary = os.path.join(root, "usr", "bin", "python3.14")
    return _probe(interp)


def find(id, fetch=True):
    """The interpreter with this id; never raises for a missing one (see .why_missing).
    fetch=False never downloads 3.14; it reports it missing if it is not fetched yet."""
    if id in PYENV_MINORS:
        return _find_pyenv(id)
    if id == "debian-3.11":
        return _find_debian_311()
    if id == "3.14":
        return _find_314(fetch)
    raise ValueError("unknown interpreter id %r (known: %s)" % (id, ", ".join(ALL_IDS)))


def skip_or_fail(reason):
    """Ends the test: skipped (77) normally, failed (1) when CI=true."""
    if is_ci():
        print("FAIL: %s (CI=true: a missing prerequisite fails the test)" % reason,
              file=sys.stderr)
        sys.exit(1)
    print("SKIP: %s" % reason, file=sys.stderr)
    sys.exit(EXIT_SKIP)


def require(id, fetch=True):
    interp = find(id, fetch=fetch)
    if not interp.ok:
        skip_or_fail("interpreter %s: %s" % (id, interp.why_missing))
    return interp


def main(argv):
    fetch = "--fetch" in argv
    as_json = "--json" in argv
    unknown = [a for a in argv if a not in ("--fetch", "--json")]
    if unknown:
        print("usage: interpreters.py [--fetch] [--json]", file=sys.stderr)
        return 64
    found = [find(i, fetch=fetch) for i in ALL_IDS]
    if as_json:
        print(json.dumps([f.as_dict() for f in found], indent=2))
    else:
        print("%-12s %-8s %-9s %s" % ("id", "status", "version", "command / reason"))
        for f in found:
            if f.ok:
                print("%-12s %-8s %-9s %s" % (f.id, "found", f.version, " ".join(f.argv_prefix)))
            else:
                print("%-12s %-8s %-9s %s" % (f.id, "MISSING", "-", f.why_missing))
    missing = [f for f in found if not f.ok]
    return 1 if (missing and is_ci()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
