"""A CPU-bound process for the daemon tests: outer -> middle -> leaf, forever or for a while.

    daemon_busy.py TOKEN [SECONDS] [THREADS]

TOKEN only sits in the command line, so the daemon's cmdline filter selects this test's
processes and nothing else on the host.  SECONDS 0 (default) runs until killed.  THREADS
spins that many threads, each in its own line of leaf(), for many distinct stacks.
"""
import sys
import threading
import time


def leaf(n, k):
    s = 0
    for i in range(n):
        if k == 0:
            s += i
        elif k == 1:
            s -= i
        elif k == 2:
            s ^= i
        else:
            s += i * k
    return s


def middle(k, deadline):
    while not deadline or time.time() < deadline:
        leaf(2000, k)


def outer(k, deadline):
    middle(k, deadline)


def main():
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    deadline = time.time() + seconds if seconds else 0
    for k in range(1, threads):
        threading.Thread(target=outer, args=(k % 4, deadline), daemon=True).start()
    outer(0, deadline)


main()
