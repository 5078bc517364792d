"""e2e workload "sortsub": C code of the interpreter between two Python frames.

Usage: python sortsub.py [SECONDS=5] [--selfcheck]

  main thread:  <module> -> main_loop -> sort_people -> [C: sorted, list sort] -> by_age
                <module> -> main_loop -> subst -> re.sub -> [C: _sre's pattern_subx] -> repl

sort_people calls sorted(people, key=by_age); list.sort calls the key function once per item
from its C implementation (list_sort_impl).  subst calls re.sub(PATTERN, repl, text); the
regex engine calls repl once per match from C (pattern_subx).  by_age and repl each burn
about 30 us in a one-line Python loop, so nearly every sample of either phase is inside one of
them, below the C frames.  The two phases alternate, about half the time each.

Prints first one JSON line:
  {"workload": "sortsub", "pid": ..., "tid": ...,
   "sort": {"stack": [["<module>", L], ["main_loop", L], ["sort_people", L], ["by_age", Lhot]]},
   "sub": {"stack": [["<module>", L], ["main_loop", L], ["subst", L], ["sub", null],
                     ["repl", Lhot]], "sub_file": <re's file>}}
"sub" is re.sub itself (re/__init__.py or re.py): its line differs between versions, so it
is null and its file is given.  Then {"end": true, ...} when the time is up.
"""

import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _ext  # noqa: E402

clock = time.monotonic
KEY_N = 100  # both set by calibration below
REPL_N = 100
PATTERN = r"[a-z]+[0-9]"


def burn(n):
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @burn_hot
    return x


def by_age(person):
    n = KEY_N
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @key_hot
    return person[1]


def sort_people(people):
    return sorted(people, key=by_age)  # @call:sort_people


def repl(match):
    n = REPL_N
    x = 1
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # @repl_hot
    return match.group(0).upper()


def subst(text):
    return re.sub(PATTERN, repl, text)  # @call:subst


def main_loop(deadline, people, text):
    rounds = 0
    while clock() < deadline:
        sort_people(people)  # @call:main_sort
        subst(text)  # @call:main_subst
        rounds += 1
    return rounds


seconds, selfcheck, _ = _common.args()
m = _common.markers(__file__)
KEY_N = REPL_N = _ext.py_iterations(burn, 0.03)
# 100 people and 100 matches: ~3 ms per phase, so the phases alternate often.
people = [("p%d" % i, (i * 7919) % 97) for i in range(100)]
text = " ".join("word%d" % (i % 10) for i in range(100))
assert len(re.findall(PATTERN, text)) == 100
top = [["<module>", m["call:module"]]]
info = _common.base_info("sortsub", __file__)
info.update(tid=threading.get_native_id(), seconds=seconds, iterations=KEY_N,
            sort={"stack": top + [["main_loop", m["call:main_sort"]],
                                  ["sort_people", m["call:sort_people"]],
                                  ["by_age", m["key_hot"]]]},
            sub={"stack": top + [["main_loop", m["call:main_subst"]],
                                 ["subst", m["call:subst"]], ["sub", None],
                                 ["repl", m["repl_hot"]]],
                 "sub_file": os.path.abspath(re.sub.__code__.co_filename)})
_common.emit(info)

sampler = None
if selfcheck:
    sampler = _common.SelfSampler({"main": threading.get_ident()}).start()
rounds = main_loop(clock() + seconds, people, text)  # @call:module
_common.emit({"end": True, "rounds": rounds})
if sampler:
    sampler.join()
    seen = sampler.seen["main"]
    n = sum(seen.values())
    want_sort = [tuple(x) for x in info["sort"]["stack"]]
    names_sub = [x[0] for x in info["sub"]["stack"]]
    hits = 0
    for st, c in seen.items():
        if list(st) == want_sort:
            hits += c
        elif [x[0] for x in st] == names_sub and st[-1] == ("repl", m["repl_hot"]):
            hits += c
    share = float(hits) / n if n else 0.0
    _common.finish_selfcheck([(n > 0 and share >= 0.9,
                               {"label": "main", "samples": n, "share": round(share, 4),
                                "top": [[list(map(list, s)), c]
                                        for s, c in seen.most_common(3)]})])
