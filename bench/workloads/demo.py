"""A small storage service, for hotloop's demo and benchmarks.

The main thread answers "read" requests: it scans rows and keeps those matching the request's
criteria with a generic predicate, `Filter._match` -- the pattern hotloop exists to find (see
DESIGN.md, "The problem it exists for").  A second thread compresses the responses with zlib,
which releases the GIL.  Runs for SECONDS (default 5) and prints what it did.

Runs unchanged on CPython 3.8 to 3.14.
"""
import random
import sys
import threading
import time
import zlib


class Key:
    def __init__(self, name, value):
        self.name = name
        self.value = value

    def matches(self, encoded):
        return encoded == self.value


class Filter:
    def __init__(self, keys):
        self._keys = keys

    def _match(self, *encoded_keys):
        return all(k.matches(e) for k, e in zip(self._keys, encoded_keys))

    def select(self, rows):
        return [row for row in rows if self._match(*row)]


def make_rows(n, seed):
    rng = random.Random(seed)
    return [(rng.randrange(4), rng.randrange(3), rng.randrange(2)) for _ in range(n)]


def serve_reads(rows, seconds, responses):
    f = Filter([Key("region", 1), Key("tier", 2), Key("live", 1)])
    end = time.monotonic() + seconds
    served = 0
    while time.monotonic() < end:
        hits = f.select(rows)
        responses.append(repr(hits[:200]).encode())
        served += 1
    return served


def compress_responses(responses, stop, counts):
    while not stop.is_set():
        if responses:
            payload = responses.pop() * 64
            counts[0] += len(zlib.compress(payload, 9))
        else:
            time.sleep(0.001)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    rows = make_rows(20000, seed=42)
    responses, counts, stop = [], [0], threading.Event()
    worker = threading.Thread(target=compress_responses, args=(responses, stop, counts),
                              name="compressor")
    worker.start()
    served = serve_reads(rows, seconds, responses)
    stop.set()
    worker.join()
    print("served %d reads, compressed %d bytes" % (served, counts[0]))


if __name__ == "__main__":
    main()
