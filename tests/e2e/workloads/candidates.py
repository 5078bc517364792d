"""The labeled workloads of `hotloop candidates` (tests/e2e/run.py, scenario candidates).

    python candidates.py WORKLOAD SECONDS

Each workload spends its time in one hot function and measures its own ground truth, printed
in its "end" line, so the label the test checks against is not an assumption:

  storage       Filter._match, the generic predicate of DESIGN.md: true candidate, codegen.
                Ground truth: the same reads with a filter generated per read operation run
                `speedup` times faster (measured here, on the same rows).
  storage_fast  the same service with the generated filters: Filter._match never runs.
  numeric       lcg, a pure-Python integer loop: true candidate, JIT.  Ground truth: it calls
                no C function at all (c_share 0).
  zlib, hashlib, regex, join, syscall
                negative controls: compress_block, hash_block, regex_scan, join_buffers,
                read_zeros spend their time in one C call each (zlib.compress, sha256, a
                backtracking regex, bytes.join of large buffers, os.read of 1 MiB).  Ground
                truth: c_share, the share of the loop's wall time inside that call.

Runs unchanged on CPython 3.8 through 3.14.
"""
import hashlib
import os
import random
import re
import sys
import time
import zlib

from _common import emit


class Key:
    def __init__(self, name, value):
        self.name = name
        self.value = value

    def matches(self, encoded):
        return encoded == self.value


class Filter:
    """Keeps the rows matching one read operation's criteria."""

    def __init__(self, keys, specialize=False):
        self._keys = keys
        if specialize:
            # Generated once per read operation: straight-line comparisons, no zip, no
            # generator, no method call per field.  Shadows the generic method.
            args = ", ".join("e%d" % i for i in range(len(keys)))
            test = " and ".join("e%d == %r" % (i, k.value) for i, k in enumerate(keys))
            self._match = eval("lambda %s: %s" % (args, test))

    def _match(self, *encoded_keys):
        return all(k.matches(e) for k, e in zip(self._keys, encoded_keys))

    def select(self, rows):
        return [row for row in rows if self._match(*row)]


# Three kinds of read operation, each with its own criteria.
READ_OPS = [
    [Key("region", 1), Key("tier", 2), Key("live", 1)],
    [Key("region", 3), Key("tier", 0), Key("live", 0)],
    [Key("region", 0), Key("tier", 1), Key("live", 1)],
]


def make_rows(n):
    rng = random.Random(42)
    return [(rng.randrange(4), rng.randrange(3), rng.randrange(2)) for _ in range(n)]


def serve(rows, seconds, specialize):
    filters = [Filter(keys, specialize) for keys in READ_OPS]
    end = time.monotonic() + seconds
    reads = 0
    while time.monotonic() < end:
        filters[reads % len(filters)].select(rows)
        reads += 1
    return reads


def storage_speedup(rows):
    """Ground truth: how much faster the generated filters serve the same reads."""
    def timed(specialize):
        filters = [Filter(keys, specialize) for keys in READ_OPS]
        t = time.perf_counter()
        for f in filters * 3:
            f.select(rows)
        return time.perf_counter() - t
    return timed(False) / timed(True)


def lcg(n):
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def numeric(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        lcg(50000)
    return {"c_share": 0.0}


def timed_loop(seconds, call, arg):
    """Runs call(arg) for `seconds`; returns the share of the wall time inside the call."""
    inside = 0.0
    start = time.perf_counter()
    end = start + seconds
    now = start
    while now < end:
        t = time.perf_counter()
        call(arg)
        now = time.perf_counter()
        inside += now - t
    return {"c_share": inside / (now - start)}


def text_block(size):
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    out, length = [], 0
    while length < size:
        out.append(rng.choice(words) + str(rng.randrange(1000)))
        length += len(out[-1]) + 1
    return " ".join(out)


# The negative controls: each hot function is one C call on a large input.

def compress_block(block):
    return zlib.compress(block, 6)


def hash_block(block):
    return hashlib.sha256(block).digest()


PATTERN = re.compile(r"\b(\w*t\w*?)(\d{2,3})\b")


def regex_scan(text):
    return PATTERN.findall(text)


def join_buffers(chunks):
    return b"".join(chunks)


def read_zeros(fd):
    return os.read(fd, 1 << 20)


def negative(name, seconds):
    if name == "zlib":
        return timed_loop(seconds, compress_block, text_block(1 << 18).encode())
    if name == "hashlib":
        return timed_loop(seconds, hash_block, os.urandom(1 << 20))
    if name == "regex":
        return timed_loop(seconds, regex_scan, text_block(1 << 16))
    if name == "join":
        return timed_loop(seconds, join_buffers, [os.urandom(1 << 16)] * 128)
    fd = os.open("/dev/zero", os.O_RDONLY)
    try:
        return timed_loop(seconds, read_zeros, fd)
    finally:
        os.close(fd)


def main():
    name, seconds = sys.argv[1], float(sys.argv[2])
    info = {"workload": name, "pid": os.getpid(), "python": "%d.%d.%d" % sys.version_info[:3]}
    if name in ("storage", "storage_fast"):
        rows = make_rows(20000)
        # The invariance ground truth: _match reads self._keys, one list per read operation.
        emit(dict(info, function="Filter._match", label="codegen" if name == "storage" else None,
                  key="self._keys", key_objects=len({id(keys) for keys in READ_OPS})))
        reads = serve(rows, seconds, name == "storage_fast")
        end = {"end": True, "reads": reads, "reads_per_s": reads / seconds}
        if name == "storage":  # storage_fast must never run the generic _match
            end["speedup"] = storage_speedup(rows)
        emit(end)
        return
    if name == "numeric":
        emit(dict(info, function="lcg", label="jit"))
        emit(dict(numeric(seconds), end=True))
        return
    function = {"zlib": "compress_block", "hashlib": "hash_block", "regex": "regex_scan",
                "join": "join_buffers", "syscall": "read_zeros"}[name]
    emit(dict(info, function=function, label="none"))
    emit(dict(negative(name, seconds), end=True))


if __name__ == "__main__":
    main()
