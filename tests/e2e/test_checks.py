#!/usr/bin/python3
"""Unit tests of checks.py (the e2e assertions) and of the folded-text parser: table-driven,
with rows that must fail, so a check that cannot fail is caught.  No root, no hotloop."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import Frame, Sample, KIND_PYTHON as PY, KIND_NATIVE as NAT  # noqa: E402

F = "/work/tests/e2e/workloads/chain.py"
CHAIN = [["<module>", 52], ["outer", 38], ["middle", 34], ["leaf", 29]]
EXPECTED = checks.expected_frames(CHAIN, F)


def chain_frames(lines=(52, 38, 34, 29), file=F, names=("<module>", "outer", "middle", "leaf")):
    return [Frame(PY, n, file, l) for n, l in zip(names, lines)]


def folded_chain(count, lines=(52, 38, 34, 29), native=False):
    parts = []
    if native:
        parts += ["_start [python3.12]", "Py_BytesMain [libpython3.12.so.1.0]"]
    for n, l in zip(("<module>", "outer", "middle", "leaf"), lines):
        parts.append("%s (%s:%d)" % (n, F, l))
        if native:
            parts.append("_PyEval_EvalFrameDefault [libpython3.12.so.1.0]")
    return ";".join(parts) + " %d" % count


class ParseFolded(unittest.TestCase):
    def test_frames(self):
        rows = [
            ("leaf (/a/b.py:29)", Frame(PY, "leaf", "/a/b.py", 29)),
            ("A.<locals>.f (/a/b c.py:7)", Frame(PY, "A.<locals>.f", "/a/b c.py", 7)),
            ("<module> (<frozen importlib._bootstrap>:1)",
             Frame(PY, "<module>", "<frozen importlib._bootstrap>", 1)),
            ("f (/x/y.py)", Frame(PY, "f", "/x/y.py", 0)),
            ("deflate_slow [libz.so.1]", Frame(NAT, "deflate_slow", "libz.so.1", 0)),
            ("0x1234 [python3.14]", Frame(NAT, "0x1234", "python3.14", 0)),
            ("do_syscall_64_[k]", Frame(checks.KIND_KERNEL, "do_syscall_64", "", 0)),
            ("[truncated]", Frame(checks.KIND_SYNTHETIC, "[truncated]", "", 0)),
        ]
        for text, want in rows:
            self.assertEqual(checks.parse_frame(text), want, text)

    def test_lines(self):
        s = checks.parse_folded(folded_chain(5) + "\n[no frames] 3\n\n" +
                                folded_chain(2, native=True) + "\n")
        self.assertEqual([x.weight for x in s], [5, 3, 2])
        self.assertEqual(s[1].frames, ())
        self.assertEqual(s[0].python(), EXPECTED)
        self.assertEqual(s[2].python(), EXPECTED)  # native frames are ignored
        self.assertEqual(checks.total(s), 10)

    def test_malformed(self):
        for bad in ["leaf (/a.py:1)", "leaf (/a.py:1) x", " 5", "a;b 5x"]:
            with self.assertRaises(ValueError, msg=bad):
                checks.parse_folded(bad)

    def test_fold_roundtrip(self):
        line = folded_chain(1, native=True)
        s = checks.parse_folded(line)[0]
        self.assertEqual(checks.fold(s.frames) + " 1", line)


class ExactStack(unittest.TestCase):
    def run_rows(self, rows):
        for label, samples, min_share, want in rows:
            r = checks.check_exact_stack(samples, EXPECTED, min_share)
            self.assertEqual(r.ok, want, "%s: %s" % (label, r.message))

    def test_rows(self):
        good = Sample(chain_frames(), weight=990)
        self.run_rows([
            ("all on the chain", [Sample(chain_frames(), 100)], 0.99, True),
            ("99.0% on the chain", [good, Sample(chain_frames(lines=(52, 38, 34, 28)), 10)],
             0.99, True),
            ("98.9% on the chain", [Sample(chain_frames(), 989),
                                    Sample(chain_frames(lines=(52, 38, 34, 28)), 11)],
             0.99, False),
            ("no samples", [], 0.99, False),
            ("wrong hot line", [Sample(chain_frames(lines=(52, 38, 34, 30)), 100)], 0.99, False),
            ("wrong call-site line", [Sample(chain_frames(lines=(53, 38, 34, 29)), 100)], 0.99,
             False),
            ("wrong file", [Sample(chain_frames(file="/x/other.py"), 100)], 0.99, False),
            ("same basename elsewhere is fine",
             [Sample(chain_frames(file="chain.py"), 100)], 0.99, True),
            ("extra frame above <module>",
             [Sample([Frame(PY, "run", "/usr/lib/runpy.py", 86)] + chain_frames(), 100)], 0.99,
             False),
            ("missing middle",
             [Sample([f for f in chain_frames() if f.name != "middle"], 100)], 0.99, False),
            ("native frames interleaved are fine",
             [Sample([Frame(NAT, "_start", "python", 0)] + chain_frames()
                     + [Frame(NAT, "PyNumber_Add", "libpython", 0)], 100)], 0.99, True),
            ("no Python frames", [Sample([Frame(NAT, "main", "bash", 0)], 100)], 0.99, False),
        ])

    def test_message_shows_top_stacks(self):
        r = checks.check_exact_stack([Sample(chain_frames(lines=(1, 2, 3, 4)), 7)], EXPECTED,
                                     0.99)
        self.assertFalse(r.ok)
        self.assertIn("leaf (chain.py:4)", r.message)
        self.assertIn("0 of 7", r.message)


class Suffix(unittest.TestCase):
    def test_rows(self):
        boot = [Frame(PY, "_bootstrap", "/l/threading.py", 1012),
                Frame(PY, "run", "/l/threading.py", 992)]
        suf = (("alpha_outer", "threads.py", 54), ("alpha_leaf", "threads.py", 48))
        mk = lambda lines, w: Sample(boot + [Frame(PY, "alpha_outer", "/w/threads.py", lines[0]),
                                            Frame(PY, "alpha_leaf", "/w/threads.py", lines[1])], w)
        rows = [
            ("ok", [mk((54, 48), 96), mk((54, 47), 4)], 0.95, True),
            ("too many off", [mk((54, 48), 94), mk((54, 47), 6)], 0.95, False),
            ("empty", [], 0.95, False),
            ("leaf only", [Sample([Frame(PY, "alpha_leaf", "/w/threads.py", 48)], 10)], 0.95,
             False),
        ]
        for label, samples, share, want in rows:
            r = checks.check_suffix(samples, suf, share)
            self.assertEqual(r.ok, want, "%s: %s" % (label, r.message))


class State(unittest.TestCase):
    def test_rows(self):
        rows = [
            ([Sample([], 90, state=2), Sample([], 10, state=1)], 2, 0.9, True),
            ([Sample([], 89, state=2), Sample([], 11, state=1)], 2, 0.9, False),
            ([Sample([], 100, state=0)], 2, 0.9, False),
            ([], 1, 0.9, False),
        ]
        for samples, state, share, want in rows:
            self.assertEqual(checks.check_state(samples, state, share).ok, want)


class Plausible(unittest.TestCase):
    def test_rows(self):
        rows = [(500, 5, 199, 0.5, True), (497, 5, 199, 0.5, False), (0, 1, 99, 0.5, False),
                (1, 0.0, 99, 0.5, True)]
        for count, secs, freq, frac, want in rows:
            self.assertEqual(checks.check_plausible(count, secs, freq, frac).ok, want)


class Shares(unittest.TestCase):
    def leafs(self, a, b, c, other=0):
        mk = lambda name, w: Sample([Frame(PY, "<module>", "/w/accuracy.py", 80),
                                     Frame(PY, "run", "/w/accuracy.py", 60),
                                     Frame(PY, name, "/w/accuracy.py", 30)], w)
        s = [mk("leaf_a", a), mk("leaf_b", b), mk("leaf_c", c)]
        if other:
            s.append(Sample([Frame(PY, "<module>", "/w/accuracy.py", 80),
                             Frame(PY, "run", "/w/accuracy.py", 59)], other))
        return s

    def test_counts(self):
        counts = checks.self_counts(self.leafs(5, 3, 2, other=100),
                                    ["leaf_a", "leaf_b", "leaf_c"])
        self.assertEqual(counts, {"leaf_a": 5, "leaf_b": 3, "leaf_c": 2})

    def test_rows(self):
        measured = {"leaf_a": 0.50, "leaf_b": 0.30, "leaf_c": 0.20}
        rows = [
            ((500, 300, 200), True),
            ((529, 281, 190), True),    # +2.9pp
            ((531, 279, 190), False),   # +3.1pp
            ((470, 330, 200), True),    # -3.0pp exactly is within
            ((400, 300, 300), False),
            ((0, 0, 0), False),
        ]
        for (a, b, c), want in rows:
            counts = checks.self_counts(self.leafs(a, b, c), sorted(measured))
            r = checks.check_shares(counts, measured, 0.03)
            self.assertEqual(r.ok, want, r.message)


class Window(unittest.TestCase):
    def test_rows(self):
        s = [Sample([], 1, time_ns=t) for t in (5, 10, 15, 20, None)]
        self.assertEqual(len(checks.in_window(s, 10, 15)), 2)
        self.assertEqual(len(checks.in_window(s, 0, 100)), 4)


class FoldedTotal(unittest.TestCase):
    def test_rows(self):
        s = checks.parse_folded(folded_chain(5) + "\n[no frames] 3\n")
        self.assertTrue(checks.check_folded_total(s, 8).ok)
        self.assertFalse(checks.check_folded_total(s, 9).ok)


TK = checks.KIND_TASK
AF = "/w/async_handlers.py"


def async_sample(chain, weight=1, loop=True):
    """A sample whose frames are the event loop, then chain (["task", N] | [name, line])."""
    frames = [Frame(PY, "run_forever", "/py/asyncio/base_events.py", 600),
              Frame(PY, "Handle._run", "/py/asyncio/events.py", 84),
              Frame(NAT, "task_step", "_asyncio.so", 0)] if loop else []
    for item in chain:
        if item[0] == "task":
            frames.append(Frame(TK, "[task: %s]" % item[1], "", 0))
        else:
            frames.append(Frame(PY, item[0], AF, item[1]))
    return Sample(frames, weight)


class AsyncChains(unittest.TestCase):
    FEED = [["task", "Task-*"], ["main", 9], ["task", "feed"], ["handle_feed", 5],
            ["burn", 2]]
    SEARCH = [["task", "Task-*"], ["main", 9], ["task", "search"], ["handle_search", 7],
              ["burn", 2]]

    def test_logical(self):
        s = async_sample(self.FEED)
        self.assertEqual(checks.logical(s), [tuple(x) for x in self.FEED])
        self.assertEqual(checks.below_tasks(s), ["run_forever", "Handle._run"])
        # asyncio's own frames are left out; "(awaited by N)" is part of the marker only
        s = Sample(async_sample(self.FEED).frames[:5] +
                   (Frame(PY, "TaskGroup.__aexit__", "/py/asyncio/taskgroups.py", 72),
                    Frame(TK, "[task: feed (awaited by 2)]", "", 0)), 1)
        self.assertEqual(checks.logical(s)[-2:], [("main", 9), ("task", "feed")])
        self.assertIsNone(checks.logical(Sample(chain_frames(), 1)))
        # folded text keeps markers as synthetic frames
        parsed = checks.parse_frame("[task: feed]")
        self.assertEqual(checks.task_name(parsed), "feed")

    def test_rows(self):
        chains = {"feed": self.FEED, "search": self.SEARCH}
        wrong = [["task", "Task-*"], ["main", 9], ["task", "search"], ["handle_feed", 5],
                 ["burn", 2]]
        rows = [
            # (samples, min_attributed, max_other, ok)
            ([async_sample(self.FEED, 60), async_sample(self.SEARCH, 40)], 0.9, 0.01, True),
            ([async_sample(self.FEED, 60), Sample(chain_frames(), 5)], 0.9, 0.01, True),
            ([async_sample(self.FEED, 60), Sample(chain_frames(), 30)], 0.9, 0.01, False),
            ([async_sample(self.FEED, 99), async_sample(wrong, 1)], 0.9, 0.01, True),
            ([async_sample(self.FEED, 90), async_sample(wrong, 10)], 0.9, 0.01, False),
            ([], 0.9, 0.01, False),
        ]
        for samples, lo, hi, want in rows:
            r = checks.check_chains(samples, chains, lo, hi)
            self.assertEqual(r.ok, want, r.message)
        counts, others = checks.classify_chains(
            [async_sample(self.FEED, 3), async_sample(wrong, 2), Sample(chain_frames(), 1)],
            chains)
        self.assertEqual((counts["feed"], counts["search"], counts["other"],
                          counts["unattributed"]), (3, 0, 2, 1))
        self.assertEqual(sum(others.values()), 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
