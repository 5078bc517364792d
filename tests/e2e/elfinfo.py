"""What the end-to-end tests know about an ELF file independently of hotloop: where its
functions start according to its unwind tables, and its symbols.

The facts come from binutils' readelf, not from hotloop's own ELF code, so they can judge it:
    readelf -wN --debug-dump=frames FILE
                                       every FDE of the file's own .eh_frame and .debug_frame
                                       with its pc range: "... FDE cie=... pc=START..END"
                                       (-wN: not those of a separate debug file)
    readelf -sW FILE                   .dynsym and .symtab (when the file has one)
    readelf -SW FILE                   section names (.gnu_debugdata: MiniDebugInfo)
    readelf -n FILE                    the build id (a separate debug file under
                                       /usr/lib/debug/.build-id/ gives hotloop names too)
The parsers take readelf's text and do no I/O (unit-tested in test_checks_mixed.py); load()
runs readelf.  Addresses are the file's virtual addresses, as hotloop stores them in
frame.address and shows them in "module+0xSTART" names.
"""

import os
import re
import subprocess

DEBUG_ROOT = "/usr/lib/debug"

_FDE = re.compile(r"\bFDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)")
_SECTION = re.compile(r"^Symbol table '([^']+)'")
# "    12: 0000000000001150   140 FUNC    GLOBAL DEFAULT   11 ext_entry"
_SYMBOL = re.compile(r"^\s*\d+:\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+\w+\s+"
                     r"(\w+)\s+(\S+)")


def parse_fdes(text):
    """[(start, end)] of every FDE in `readelf --debug-dump=frames` output."""
    return [(int(m.group(1), 16), int(m.group(2), 16)) for m in _FDE.finditer(text)]


_SECTION_NAME = re.compile(r"^\s*\[\s*\d+\]\s+(\S+)")


def parse_sections(text):
    """[name] of the sections in `readelf -SW` output."""
    return [m.group(1) for m in map(_SECTION_NAME.match, text.splitlines()) if m]


_BUILD_ID = re.compile(r"Build ID:\s*([0-9a-f]+)")


def parse_build_id(text):
    m = _BUILD_ID.search(text)
    return m.group(1) if m else None


_ENTRY = re.compile(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ (CIE|FDE)"
                    r"(?: cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+))?")
_CONTENTS = re.compile(r"^Contents of the (\S+) section")


def parse_root_fdes(text):
    """[(start, end)] of the FDEs that mark the return address undefined (DW_CFA_undefined on
    r16, rip), in their own instructions or their CIE's: the ABI's mark of a thread's
    outermost frame (glibc's _start, and the child's part of clone/clone3).  A stack unwound
    to its root ends in one of these."""
    cie_undef = {}
    fdes = []  # [section, cie, start, end, undefined]
    section = None
    cur = None
    for line in text.splitlines():
        m = _CONTENTS.match(line)
        if m:
            section = m.group(1)
            cur = None
            continue
        m = _ENTRY.match(line)
        if m:
            if m.group(2) == "CIE":
                cur = ["cie", (section, m.group(1))]
                cie_undef[cur[1]] = False
            else:
                cur = ["fde", [section, m.group(3), int(m.group(4), 16), int(m.group(5), 16),
                               False]]
                fdes.append(cur[1])
            continue
        if cur and "DW_CFA_undefined: r16" in line:
            if cur[0] == "cie":
                cie_undef[cur[1]] = True
            else:
                cur[1][4] = True
    return [(start, end) for sec, cie, start, end, undef in fdes
            if undef or cie_undef.get((sec, cie))]


def parse_symbols(text):
    """[(table, name, value, size, type)] of the defined symbols in `readelf -sW` output;
    table is ".dynsym" or ".symtab", name without its "@VERSION" suffix."""
    out = []
    table = None
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            table = m.group(1)
            continue
        m = _SYMBOL.match(line)
        if not m or table is None:
            continue
        value, size, typ, bind, ndx, name = m.groups()
        if ndx == "UND" or not name:
            continue
        size = int(size, 16) if size.startswith("0x") else int(size)
        out.append((table, name.split("@", 1)[0], int(value, 16), size, typ))
    return out


class ElfFacts(object):
    """Unwind-table function starts and symbols of one file."""

    def __init__(self, path, fdes, symbols, sections=(), debug_file=None, root_fdes=()):
        self.path = path
        self.root_fdes = sorted(root_fdes)
        self.sections = list(sections)
        self.has_minidebug = ".gnu_debugdata" in self.sections
        self.debug_file = debug_file
        self.fdes = sorted(fdes)
        self.fde_starts = set(s for s, _ in fdes)
        self.symbols = symbols
        self.has_symtab = any(t == ".symtab" for t, _, _, _, _ in symbols)
        self.by_name = {}
        for table, name, value, size, typ in symbols:
            self.by_name.setdefault(name, set()).add(value)

    @property
    def is_named(self):
        """Does a symbolizer have names for the file's static functions: a .symtab,
        MiniDebugInfo, or a separate debug file found by build id."""
        return self.has_symtab or self.has_minidebug or self.debug_file is not None

    def fde_of(self, addr):
        """(start, end) of the FDE holding addr, or None."""
        for s, e in self.fdes:  # a few thousand; called for a few hundred frames
            if s <= addr < e:
                return (s, e)
        return None

    def is_root(self, addr):
        """Is addr inside an FDE that marks the return address undefined (a thread's
        outermost frame)?"""
        return any(s <= addr < e for s, e in self.root_fdes)

    def covering(self, addr):
        """Names of the function symbols whose [value, value + size) holds addr."""
        return sorted(set(name for _, name, value, size, typ in self.symbols
                          if typ in ("FUNC", "IFUNC") and value <= addr < value + size))

    def exported_below(self, addr):
        """(name, value) of the highest .dynsym function symbol at or below addr, or None:
        what a symbolizer that takes "the nearest symbol" would call addr."""
        best = None
        for table, name, value, size, typ in self.symbols:
            if table == ".dynsym" and typ in ("FUNC", "IFUNC") and value <= addr:
                if best is None or value > best[1]:
                    best = (name, value)
        return best


def _readelf(args, path):
    proc = subprocess.run(["readelf"] + args + [path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    if proc.returncode != 0:
        raise OSError("readelf %s %s failed (exit %d): %s" % (
            " ".join(args), path, proc.returncode, proc.stderr.strip()[:300]))
    return proc.stdout


_cache = {}


def load(path):
    """ElfFacts of path (cached); raises OSError when readelf is missing or fails."""
    if path not in _cache:
        frames = _readelf(["-wN", "--debug-dump=frames"], path)
        fdes = parse_fdes(frames)
        syms = parse_symbols(_readelf(["-sW"], path))
        sections = parse_sections(_readelf(["-SW"], path))
        bid = parse_build_id(_readelf(["-n"], path))
        debug = None
        if bid and len(bid) > 2:
            cand = os.path.join(DEBUG_ROOT, ".build-id", bid[:2], bid[2:] + ".debug")
            debug = cand if os.path.exists(cand) else None
        _cache[path] = ElfFacts(path, fdes, syms, sections, debug, parse_root_fdes(frames))
    return _cache[path]
