"""An asyncio server-like workload with 1,000 concurrent tasks, for overhead benchmarks.

1,000 connection tasks (gathered by the main task) each serve their share of WORK_UNITS x 40
requests: a handler awaits a lookup and a render coroutine, yields to the event loop between
steps (asyncio.sleep(0)), and does some dict, string and arithmetic work, so samples land in
tasks whose awaiter chains hotloop reconstructs.  Prints one JSON line with the seconds the
requests took (perf_counter).  Usage: asyncserver.py [WORK_UNITS] [--wait-for FILE] (as
cpubound.py).  Runs unchanged on CPython 3.8 to 3.14.
"""
import asyncio
import json
import os
import sys
import time

CONNECTIONS = 1000
REQUESTS_PER_UNIT = 40


def parse(raw):
    fields = {}
    for part in raw.split("&"):
        k, _, v = part.partition("=")
        fields[k] = v
    return fields


def render(user, fields):
    rows = ["%s=%s" % (k, v) for k, v in sorted(fields.items())]
    body = "<li>" + "</li><li>".join(rows) + "</li>"
    return len(body) + sum(ord(c) for c in user["name"]) % 7


async def lookup(table, fields):
    await asyncio.sleep(0)
    key = int(fields["id"]) % len(table)
    x = 1
    for _ in range(200):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return table[key]


async def handle(table, raw):
    fields = parse(raw)
    user = await lookup(table, fields)
    await asyncio.sleep(0)
    return render(user, fields)


async def connection(i, n, table):
    total = 0
    for k in range(n):
        raw = "id=%d&conn=%d&page=%d&q=search+term&lang=en" % (k, i, k % 7)
        total += await handle(table, raw)
    return total


async def main(units):
    table = [{"name": "user%d" % i, "id": i} for i in range(512)]
    per = units * REQUESTS_PER_UNIT // CONNECTIONS
    start = time.perf_counter()
    tasks = []
    for i in range(CONNECTIONS):
        t = asyncio.ensure_future(connection(i, per, table))
        t.set_name("conn-%d" % i)
        tasks.append(t)
    checksum = sum(await asyncio.gather(*tasks))
    return time.perf_counter() - start, checksum


def run():
    units = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 4000
    if "--wait-for" in sys.argv:
        path = sys.argv[sys.argv.index("--wait-for") + 1]
        while not os.path.exists(path):
            time.sleep(0.005)
    elapsed, checksum = asyncio.run(main(units))
    print(json.dumps({"seconds": elapsed, "units": units, "checksum": checksum}))


if __name__ == "__main__":
    run()
