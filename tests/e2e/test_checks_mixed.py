#!/usr/bin/python3
"""Unit tests of checks_mixed.py (the mixed-mode e2e assertions) and of elfinfo.py's readelf
parsers: table-driven, with rows that must fail, so a check that cannot fail is caught.  No
root, no hotloop, no readelf."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
import checks_mixed as cm  # noqa: E402
import elfinfo  # noqa: E402
from checks import Frame, Sample  # noqa: E402
from checks import KIND_PYTHON as PY, KIND_NATIVE as NAT, KIND_KERNEL as K  # noqa: E402
from checks import KIND_SYNTHETIC as SYN, KIND_EVAL as EV  # noqa: E402

W = "/w/cext.py"
LIBPY = "/p/lib/libpython3.12.so.1.0"
EXT = "/tmp/x/hotloop_testext.so"
C = "/src/tests/e2e/cext/hotloop_testext.c"


def py(name, line, file=W):
    return Frame(PY, name, file, line)


def nat(name, module=LIBPY, file="", line=0, address=0):
    return Frame(NAT, name, file, line, module, address)


def ev(module=LIBPY):
    return Frame(EV, "_PyEval_EvalFrameDefault", "ceval.c", 100, module, 0x1000)


ROOT = [nat("_start", "/p/bin/python3.12"), nat("Py_RunMain"), nat("PyEval_EvalCode")]


def cext_stack(**kw):
    """A 3.12-style stack of a sample in callback: one eval frame per entry."""
    parts = {
        "top": [ev(), py("<module>", 80), py("driver", 56)],
        "call": [nat("_PyObject_MakeTpCall"), nat("cfunction_call")],
        "ext": [nat("ext_entry", EXT, C, 50), nat("ext_helper", EXT, C, 66)],
        "back": [nat("PyObject_CallObject"), nat("_PyObject_VectorcallTstate")],
        "cb": [ev(), py("callback", 49)],
        "leaf": [nat("PyNumber_And")],
    }
    parts.update(kw)
    return ROOT + parts["top"] + parts["call"] + parts["ext"] + parts["back"] + parts["cb"] + \
        parts["leaf"]


EXPECTED = [(PY, "<module>", "cext.py", 80), (PY, "driver", "cext.py", 56),
            (NAT, "ext_entry", "hotloop_testext.c", 50),
            (NAT, "ext_helper", "hotloop_testext.c", 66), (PY, "callback", "cext.py", 49)]
KEEP = cm.python_or(cm.of_module(EXT))


class Chain(unittest.TestCase):
    def test_rows(self):
        old_style = (ROOT + [ev(), py("<module>", 80), nat("_PyFunction_Vectorcall"), ev(),
                             py("driver", 56), nat("cfunction_call"),
                             nat("ext_entry", EXT, C, 50), nat("ext_helper", EXT, C, 66),
                             nat("PyObject_CallObject"), ev(), py("callback", 49)])
        rows = [
            ("3.12 style", cext_stack(), True),
            ("3.8 style: an eval frame per Python frame", old_style, True),
            ("interpreter frames may differ", cext_stack(call=[nat("python3.11+0x5a7510",
                                                                   "/usr/bin/python3.11")]),
             True),
            ("no interpreter frame between is fine", cext_stack(call=[]), True),
            ("ext_helper missing", cext_stack(ext=[nat("ext_entry", EXT, C, 50)]), False),
            ("ext frames swapped", cext_stack(ext=[nat("ext_helper", EXT, C, 66),
                                                   nat("ext_entry", EXT, C, 50)]), False),
            ("wrong C line", cext_stack(ext=[nat("ext_entry", EXT, C, 51),
                                             nat("ext_helper", EXT, C, 66)]), False),
            ("wrong C file", cext_stack(ext=[nat("ext_entry", EXT, "/x/other.c", 50),
                                             nat("ext_helper", EXT, C, 66)]), False),
            ("callback above the extension",
             ROOT + [ev(), py("<module>", 80), py("driver", 56), py("callback", 49)]
             + [nat("ext_entry", EXT, C, 50), nat("ext_helper", EXT, C, 66)], False),
            ("a kernel frame between", cext_stack(call=[Frame(K, "do_syscall_64", "", 0)]),
             False),
            ("a marker between",
             cext_stack(back=[Frame(SYN, "[truncated: native unwinding went astray]", "", 0)]),
             False),
            ("another library between", cext_stack(back=[nat("memcpy", "/lib/libc.so.6")]),
             False),
            ("an unknown address between", cext_stack(back=[nat("[unknown 0x7f00]", "")]),
             False),
            ("Python frame not after its eval frame",
             cext_stack(cb=[nat("PyObject_Call"), py("callback", 49)]), False),
            ("extra Python frame", cext_stack(cb=[ev(), py("helper", 3), py("callback", 49)]),
             False),
            ("wrong Python line", cext_stack(cb=[ev(), py("callback", 48)]), False),
        ]
        for label, frames, want in rows:
            why = cm.chain_mismatch(frames, EXPECTED, KEEP, cm.is_interp_frame)
            self.assertEqual(why is None, want, "%s: %s" % (label, why))

    def test_any_line(self):
        exp = EXPECTED[:-1] + [(PY, "callback", "cext.py", None)]
        frames = cext_stack(cb=[ev(), py("callback", 12)])
        self.assertIsNone(cm.chain_mismatch(frames, exp, KEEP, cm.is_interp_frame))

    def test_share(self):
        good = Sample(cext_stack(), 97)
        bad = Sample(cext_stack(ext=[nat("ext_entry", EXT, C, 50)]), 3)
        self.assertTrue(cm.check_chain([good, bad], EXPECTED, KEEP, cm.is_interp_frame,
                                       0.97).ok)
        r = cm.check_chain([Sample(cext_stack(), 96), Sample(bad.frames, 4)], EXPECTED, KEEP,
                           cm.is_interp_frame, 0.97)
        self.assertFalse(r.ok)
        self.assertIn("chain is", r.message)
        self.assertIn("ext_entry (hotloop_testext.c:50) [hotloop_testext.so]", r.message)
        self.assertFalse(cm.check_chain([], EXPECTED, KEEP, cm.is_interp_frame, 0.5).ok)


SORT_TOP = ROOT + [ev(), py("<module>", 99), py("main_loop", 71), py("sort_people", 54)]


def sort_stack(between):
    return Sample(SORT_TOP + between + [ev(), py("by_age", 49)], 10)


class Between(unittest.TestCase):
    def test_rows(self):
        named = cm.interp_between(r"^list_sort(_impl)?(\.|$)")
        stripped = cm.interp_between()
        deb = "/usr/bin/python3.11"
        sort_c = [nat("builtin_sorted"), nat("list_sort"), nat("list_sort_impl"),
                  nat("PyObject_CallOneArg")]
        rows = [
            ("named", named, sort_c, True),
            ("named, a .part clone", named, [nat("list_sort_impl.part.0")], True),
            ("named but no list sort", named, [nat("builtin_sorted"), nat("PyObject_Call")],
             False),
            ("nothing between", named, [], False),
            ("stripped, offsets", stripped, [nat("python3.11+0x4f00", deb),
                                             nat("PyObject_VectorcallMethod", deb)], True),
            ("stripped, nothing between", stripped, [], False),
            ("stripped, unknown between", stripped, [nat("[unknown 0x55d0]", "")], False),
            ("stripped, libc between", stripped, [nat("qsort", "/lib/libc.so.6")], False),
        ]
        for label, judge, between, want in rows:
            r = cm.check_between([sort_stack(between)], "sort_people", "by_age", judge, 0.97,
                                 label)
            self.assertEqual(r.ok, want, "%s: %s" % (label, r.message))

    def test_selection(self):
        # Samples whose Python view does not end in sort_people -> by_age are not judged.
        other = Sample(SORT_TOP + [nat("list_sort")], 100)
        r = cm.check_between([other, sort_stack([nat("list_sort")])], "sort_people", "by_age",
                             cm.interp_between("list_sort"), 0.97, "x")
        self.assertTrue(r.ok, r.message)
        self.assertIn("1 of 1 samples", r.message.replace("10 of 10", "1 of 1"))
        self.assertFalse(cm.check_between([other], "sort_people", "by_age",
                                          cm.interp_between(), 0.5, "x").ok)


LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
WORKER = ROOT[:1] + [nat("clone3", LIBC), ev(), py("syscall_worker", 54), py("read_zeros", 39),
                     nat("os_readv_impl"), nat("__readv", LIBC)]
SYSCALL = [Frame(K, n, "", 0) for n in ("entry_SYSCALL_64_after_hwframe", "do_syscall_64",
                                        "__x64_sys_readv", "do_readv", "clear_user")]


class Kernel(unittest.TestCase):
    def test_layout_rows(self):
        rows = [
            ("syscall", WORKER + SYSCALL, True),
            ("interrupt in user code", WORKER[:-1] + [Frame(K, "asm_sysvec_apic_timer_interrupt",
                                                            "", 0)], True),
            ("no kernel frames", WORKER, False),
            ("user frame below kernel", WORKER + SYSCALL[:2] + [nat("__readv", LIBC)]
             + SYSCALL[2:], False),
            ("kernel above Python", ROOT[:1] + SYSCALL + WORKER[1:], False),
            ("unnamed kernel frame", WORKER + SYSCALL + [Frame(K, "[kernel 0xffffffff81]", "", 0)],
             False),
        ]
        for label, frames, want in rows:
            why = cm.kernel_mismatch(frames)
            self.assertEqual(why is None, want, "%s: %s" % (label, why))

    def test_syscall_rows(self):
        rows = [
            ("readv from libc", WORKER + SYSCALL, True),
            ("entered from libpython", WORKER[:-1] + SYSCALL, False),
            ("another syscall", WORKER + SYSCALL[:2] + [Frame(K, "__x64_sys_read", "", 0)],
             False),
        ]
        for label, frames, want in rows:
            why = cm.syscall_mismatch(frames, r"^libc[.-]", r"readv")
            self.assertEqual(why is None, want, "%s: %s" % (label, why))

    def test_checks(self):
        good = Sample(WORKER + SYSCALL, 97)
        irq = Sample(WORKER[:-1] + [Frame(K, "asm_sysvec_apic_timer_interrupt", "", 0)], 50)
        self.assertTrue(cm.check_kernel([good, irq], 0.97, "w").ok)
        self.assertFalse(cm.check_kernel([good, Sample(WORKER + SYSCALL[:1] + WORKER[-1:], 4)],
                                         0.97, "w").ok)
        # The interrupt sample is not inside a system call, so check_syscalls ignores it.
        self.assertTrue(cm.check_syscalls([good, irq], r"^libc[.-]", "readv", 0.97, "w").ok)
        self.assertFalse(cm.check_syscalls([irq], r"^libc[.-]", "readv", 0.5, "w").ok)


class Completeness(unittest.TestCase):
    def test_rows(self):
        rows = [
            ("main thread", ROOT + [ev(), py("f", 1)], None),
            ("thread", WORKER, None),
            ("marker at the root", [Frame(SYN, "[truncated: native stack deeper than the copy]",
                                          "", 0), py("f", 1)], "copy"),
            ("not a root", ROOT[1:] + [ev(), py("f", 1)], "not a thread root"),
            ("Python root", [py("f", 1)], "not a thread root"),
            ("no frames", [], "no frames"),
        ]
        for label, frames, want in rows:
            why = cm.incomplete_reason(tuple(frames))
            if want is None:
                self.assertIsNone(why, label)
            else:
                self.assertIn(want, why or "", label)

    def test_root_fde(self):
        # A stripped libc names clone3's child part "libc.so.6+0x112f91": a root when that
        # FDE marks the return address undefined.
        libc = "/sid/libc.so.6"
        facts = elfinfo.ElfFacts(libc, [(0x112f20, 0x112f63), (0x112f91, 0x112fa2)], [], [],
                                 None, [(0x112f91, 0x112fa2)])
        facts_of = lambda mod: facts if mod == libc else None
        rows = [
            (nat("libc.so.6+0x112f91", libc, address=0x112f91), None),
            (nat("libc.so.6+0x112f20", libc, address=0x112f20), "not a thread root"),
            (nat("libc.so.6+0x112f91", "/other/libc.so.6", address=0x112f91),
             "not a thread root"),
        ]
        for root, want in rows:
            why = cm.incomplete_reason((root, ev(), py("f", 1)), facts_of)
            if want is None:
                self.assertIsNone(why, root)
            else:
                self.assertIn(want, why or "", root)
        self.assertIn("not a thread root", cm.incomplete_reason((rows[0][0],)) or "")

    def test_share(self):
        ok = Sample(ROOT + [ev(), py("f", 1)], 97)
        cut = Sample([Frame(SYN, "[truncated: native code without unwind info]", "", 0)], 3)
        self.assertTrue(cm.check_completeness([ok, cut], 0.97, "x").ok)
        self.assertFalse(cm.check_completeness([Sample(ok.frames, 96), Sample(cut.frames, 4)],
                                               0.97, "x").ok)
        self.assertEqual(cm.completeness([ok, cut])[:2], (97, 100))

    def test_counters(self):
        marker = "[truncated: native stack deeper than the copy]"
        s = [Sample(ROOT, 98), Sample([Frame(SYN, marker, "", 0), py("f", 1)], 2)]
        good = cm.check_counters({"truncated.native_stack_end": 2}, s, {"samples": 100}, 0.03)
        self.assertTrue(all(r.ok for r in good), [r.message for r in good])
        uncounted = cm.check_counters({}, s, {"samples": 100}, 0.03)
        self.assertFalse(all(r.ok for r in uncounted))
        unshown = cm.check_counters({"truncated.native_bad_step": 1}, s[:1] + [Sample(ROOT, 2)],
                                    {"samples": 100}, 0.03)
        self.assertFalse(all(r.ok for r in unshown))
        many = cm.check_counters({"truncated.native_stack_end": 4},
                                 [Sample(ROOT, 96), Sample([Frame(SYN, marker, "", 0)], 4)],
                                 {"samples": 100}, 0.03)
        self.assertFalse(many[-1].ok, many[-1].message)


def fake_facts(symtab=False):
    # python3.11-like: .dynsym only.  FDEs: 0x1000..0x1100 (exported PyFoo),
    # 0x1100..0x1200 (static, no symbol), 0x1200..0x1300 (exported PyBar).
    syms = [(".dynsym", "PyFoo", 0x1000, 0x100, "FUNC"), (".dynsym", "PyBar", 0x1200, 0x100,
                                                          "FUNC")]
    if symtab:
        syms.append((".symtab", "static_fn", 0x1100, 0x100, "FUNC"))
    return elfinfo.ElfFacts("/usr/bin/python3.11",
                            [(0x1000, 0x1100), (0x1100, 0x1200), (0x1200, 0x1300)], syms,
                            [".text", ".eh_frame"] + ([".symtab"] if symtab else []))


class Names(unittest.TestCase):
    def test_rows(self):
        m = "/usr/bin/python3.11"
        facts = fake_facts()
        rows = [
            ("exported, at its start", nat("PyFoo", m, address=0x1000), facts, True),
            ("static, FDE start", nat("python3.11+0x1100", m, address=0x1100), facts, True),
            ("the nearest exported symbol for a static function",
             nat("PyFoo", m, address=0x1100), facts, False),
            ("offset not an FDE start", nat("python3.11+0x1180", m, address=0x1180), facts,
             False),
            ("code without unwind info keeps its address",
             nat("python3.11+0x2000", m, address=0x2000), facts, True),
            ("offset inside an exported function", nat("python3.11+0x1000", m,
                                                       address=0x1000), facts, False),
            ("offset name and stored start disagree", nat("python3.11+0x1100", m,
                                                          address=0x1000), facts, False),
            ("wrong module in the name", nat("libz.so.1+0x1100", m, address=0x1100), facts,
             False),
            ("a name .dynsym does not have", nat("static_fn", m, address=0x1100), facts, False),
            ("unknown address", nat("[unknown 0x7f001100]", ""), None, False),
            ("unknown, empty name", nat("", m), facts, False),
            ("DWARF names are not .dynsym's", nat("inlined_fn", m, "x.c", 3, 0x1100), facts,
             True),
            ("a .symtab file names static functions", nat("static_fn", m, address=0x1100),
             fake_facts(symtab=True), True),
            ("covered by a .symtab symbol, yet an offset",
             nat("python3.11+0x1100", m, address=0x1100), fake_facts(symtab=True), False),
            ("perf map frame", nat("py::f:/w/a.py", "[anonymous]", address=0x7f00), None,
             True),
            ("PLT entry", nat("memcpy@plt", m, address=0x1050), facts, True),
        ]
        for label, f, fx, want in rows:
            why = cm.name_problem(f, fx)
            self.assertEqual(why is None, want, "%s: %s" % (label, why))

    def test_check(self):
        m = "/usr/bin/python3.11"
        facts = fake_facts()
        good = [Sample([nat("PyFoo", m, address=0x1000), nat("python3.11+0x1100", m,
                                                            address=0x1100)], 5)]
        r = cm.check_names(good, lambda mod: facts if mod == m else None, "x")
        self.assertTrue(r.ok, r.message)
        self.assertIn("1 named module+0xSTART", r.message)
        bad = good + [Sample([nat("PyFoo", m, address=0x1100)], 2)]
        r = cm.check_names(bad, lambda mod: facts if mod == m else None, "x")
        self.assertFalse(r.ok)
        self.assertIn("the symbol at 0x1000", r.message)


class Trampolines(unittest.TestCase):
    def tramp(self, name, file=W):
        return nat("py::%s:%s" % (name, file), "[anonymous]", address=0x7f0000)

    def test_rows(self):
        good = ROOT + [self.tramp("<module>"), ev(), py("<module>", 80), py("driver", 56),
                       nat("ext_entry", EXT), nat("_PyEval_Vector"), self.tramp("callback"),
                       ev(), py("callback", 49)]
        rows = [
            ("every eval call through its trampoline", good, True),
            ("trampoline of another function",
             good[:-3] + [self.tramp("driver"), ev(), py("callback", 49)], False),
            ("no trampoline", good[:-3] + [ev(), py("callback", 49)], False),
            ("other file", good[:-3] + [self.tramp("callback", "/x.py"), ev(),
                                        py("callback", 49)], False),
            ("no eval frame at all", ROOT, False),
        ]
        for label, frames, want in rows:
            why = cm.trampoline_mismatch(frames)
            self.assertEqual(why is None, want, "%s: %s" % (label, why))


READELF_FRAMES = """
Contents of the .eh_frame section:

00000000 0000000000000014 00000000 CIE
  Version:               1
  DW_CFA_def_cfa: r7 (rsp) ofs 8

00000018 0000000000000010 0000001c FDE cie=00000000 pc=0000000000627bb0..0000000000627bd2
  DW_CFA_advance_loc: 4 to 0000000000627bb4
00000058 0000000000000024 00000030 FDE cie=0000002c pc=000000000041f020..0000000000420f10
"""

READELF_SYMS = """
Symbol table '.dynsym' contains 12 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND 
     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND initgroups@GLIBC_2.2.5 (2)
    10: 0000000000001260    17 FUNC    GLOBAL DEFAULT   10 PyInit_hotloop_testext
    11: 0000000000001150   135 FUNC    GLOBAL DEFAULT   10 ext_entry

Symbol table '.symtab' contains 34 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     9: 0000000000000000     0 FILE    LOCAL  DEFAULT  ABS hotloop_testext.c
    10: 00000000000011e0   116 FUNC    LOCAL  DEFAULT   10 ext_helper
    12: 0000000000401000 0x1a2b4 FUNC    GLOBAL DEFAULT   12 memcpy@@GLIBC_2.14
"""

READELF_SECTIONS = """
Section Headers:
  [Nr] Name              Type            Address          Off    Size   ES Flg Lk Inf Al
  [ 0]                   NULL            0000000000000000 000000 000000 00      0   0  0
  [16] .eh_frame_hdr     PROGBITS        0000000000aa6778 6a6778 0184f4 00   A  0   0  4
  [33] .gnu_debugdata    PROGBITS        0000000000000000 7edf48 000034 00      0   0  4
"""


class ReadelfParsers(unittest.TestCase):
    def test_fdes(self):
        self.assertEqual(elfinfo.parse_fdes(READELF_FRAMES),
                         [(0x627bb0, 0x627bd2), (0x41f020, 0x420f10)])
        self.assertEqual(elfinfo.parse_fdes("no frames here"), [])

    def test_root_fdes(self):
        text = READELF_FRAMES + """
Contents of the .debug_frame section:

00000000 0000000000000014 00000000 CIE
  DW_CFA_def_cfa: r7 (rsp) ofs 8

00000018 0000000000000010 0000001c FDE cie=00000000 pc=0000000000112f91..0000000000112fa2
  DW_CFA_undefined: r16 (rip)
  DW_CFA_nop
"""
        # .eh_frame: the CIE at 0 does not mark rip; .debug_frame: the FDE itself does.
        self.assertEqual(elfinfo.parse_root_fdes(text), [(0x112f91, 0x112fa2)])
        marked = READELF_FRAMES.replace("  DW_CFA_def_cfa: r7 (rsp) ofs 8\n",
                                        "  DW_CFA_def_cfa: r7 (rsp) ofs 8\n"
                                        "  DW_CFA_undefined: r16 (rip)\n")
        # Now the CIE at 0 marks it: its FDE (cie=00000000) is a root, the other is not.
        self.assertEqual(elfinfo.parse_root_fdes(marked), [(0x627bb0, 0x627bd2)])

    def test_symbols(self):
        syms = elfinfo.parse_symbols(READELF_SYMS)
        self.assertIn((".dynsym", "ext_entry", 0x1150, 135, "FUNC"), syms)
        self.assertIn((".symtab", "ext_helper", 0x11e0, 116, "FUNC"), syms)
        self.assertIn((".symtab", "memcpy", 0x401000, 0x1a2b4, "FUNC"), syms)
        self.assertFalse([s for s in syms if s[1] == "initgroups"], "undefined symbols are out")
        f = elfinfo.ElfFacts("x.so", [(0x1150, 0x11d7), (0x11e0, 0x1254)], syms,
                             elfinfo.parse_sections(READELF_SECTIONS))
        self.assertTrue(f.has_symtab)
        self.assertTrue(f.has_minidebug)
        self.assertEqual(f.covering(0x1200), ["ext_helper"])
        self.assertEqual(f.covering(0x11d8), [])
        self.assertEqual(f.exported_below(0x1200), ("ext_entry", 0x1150))
        self.assertEqual(f.fde_of(0x1200), (0x11e0, 0x1254))
        self.assertIsNone(f.fde_of(0x1000))

    def test_build_id(self):
        self.assertEqual(elfinfo.parse_build_id("    Build ID: 93ac61ec5a8e\n"), "93ac61ec5a8e")
        self.assertIsNone(elfinfo.parse_build_id("nothing"))


class Fold(unittest.TestCase):
    def test_store_frames(self):
        text = checks.fold([nat("ext_entry", EXT, C, 50), ev(), py("f", 3)])
        self.assertEqual(text, "ext_entry (hotloop_testext.c:50) [hotloop_testext.so];"
                         "_PyEval_EvalFrameDefault (ceval.c:100) [libpython3.12.so.1.0] {eval};"
                         "f (/w/cext.py:3)")


if __name__ == "__main__":
    unittest.main(verbosity=1)
