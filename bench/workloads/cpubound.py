"""A CPU-bound Python workload with a realistic stack depth, for overhead benchmarks.

Does a fixed amount of work -- a small expression evaluator walking trees recursively,
sorting with a key function, dict and string work -- and prints one JSON line with the
seconds it took (perf_counter), so a benchmark can compare speed with and without a profiler
attached.  Usage: cpubound.py [WORK_UNITS] [--wait-for FILE]; with --wait-for it waits until
FILE exists before starting the clock, so a profiler can attach first.

Runs unchanged on CPython 3.8 to 3.14.
"""
import json
import os
import random
import sys
import time


def build(rng, depth):
    if depth == 0:
        return rng.randrange(1, 9)
    return (rng.choice("+-*"), build(rng, depth - 1), build(rng, depth - 1))


def evaluate(node):
    if isinstance(node, int):
        return node
    op, left, right = node
    a, b = evaluate(left), evaluate(right)
    if op == "+":
        return (a + b) & 0xFFFF
    if op == "-":
        return (a - b) & 0xFFFF
    return (a * b) & 0xFFFF


def rank(words):
    return sorted(words, key=lambda w: (len(w), w[::-1]))


def count(words):
    seen = {}
    for w in words:
        seen[w] = seen.get(w, 0) + 1
    return max(seen.values())


def unit(rng, trees, words):
    total = 0
    for t in trees:
        total += evaluate(t)
    total += len(rank(words)[0]) + count(words)
    return total


def main():
    units = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 4000
    if "--wait-for" in sys.argv:
        path = sys.argv[sys.argv.index("--wait-for") + 1]
        while not os.path.exists(path):
            time.sleep(0.005)
    rng = random.Random(7)
    trees = [build(rng, 9) for _ in range(4)]
    words = ["".join(rng.choice("abcdef") for _ in range(rng.randrange(3, 9)))
             for _ in range(2000)]
    start = time.perf_counter()
    checksum = 0
    for _ in range(units):
        checksum += unit(rng, trees, words)
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "units": units, "checksum": checksum}))


if __name__ == "__main__":
    main()
