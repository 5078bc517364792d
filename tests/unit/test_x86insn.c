/* tests/unit/test_x86insn.c — symbolize/x86insn.c: hand-picked encodings (prefixes, REX,
 * ModRM/SIB/displacement forms, immediates, VEX/EVEX, branches) with failure rows, then every
 * instruction of glibc and, when present, of pyenv's libpython3.12 against objdump's
 * boundaries. */
#define _GNU_SOURCE
#include "symbolize/x86insn.h"
#include "check.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct row {
	const char *what;
	const char *hex;
	int ret;
	unsigned length;
	enum hl_x86_branch branch;
	int64_t rel;
};

static const struct row rows[] = {
    {"nop", "90", 0, 1, HL_X86_OTHER, 0},
    {"ret", "c3", 0, 1, HL_X86_OTHER, 0},
    {"ret imm16", "c2 08 00", 0, 3, HL_X86_OTHER, 0},
    {"jmp rel32", "e9 10 00 00 00", 0, 5, HL_X86_JMP, 0x10},
    {"jmp rel32 backwards", "e9 fb ff ff ff", 0, 5, HL_X86_JMP, -5},
    {"jmp rel8", "eb fe", 0, 2, HL_X86_JMP, -2},
    {"je rel32", "0f 84 00 01 00 00", 0, 6, HL_X86_JCC, 0x100},
    {"jg rel32", "0f 8f 80 ff ff ff", 0, 6, HL_X86_JCC, -128},
    {"je rel8", "74 05", 0, 2, HL_X86_JCC, 5},
    {"loop rel8", "e2 f0", 0, 2, HL_X86_JCC, -16},
    {"call rel32", "e8 00 00 00 00", 0, 5, HL_X86_CALL, 0},
    {"call *rax: indirect", "ff d0", 0, 2, HL_X86_OTHER, 0},
    {"jmp *0x10(%rip): indirect", "ff 25 10 00 00 00", 0, 6, HL_X86_OTHER, 0},
    {"bnd jmp rel32", "f2 e9 00 00 00 00", 0, 6, HL_X86_JMP, 0},
    {"mov rax, [rip+disp32]", "48 8b 05 10 20 30 40", 0, 7, HL_X86_OTHER, 0},
    {"mov eax, [abs32] (SIB, no base)", "8b 04 25 00 10 00 00", 0, 7, HL_X86_OTHER, 0},
    {"lea r8, [rsp]", "4c 8d 04 24", 0, 4, HL_X86_OTHER, 0},
    {"mov [rbp-8], rdi", "48 89 7d f8", 0, 4, HL_X86_OTHER, 0},
    {"mov [rax+rbx*8+0x1000], ecx", "89 8c d8 00 10 00 00", 0, 7, HL_X86_OTHER, 0},
    {"movabs rax, imm64", "48 b8 01 02 03 04 05 06 07 08", 0, 10, HL_X86_OTHER, 0},
    {"mov eax, imm32", "b8 01 02 03 04", 0, 5, HL_X86_OTHER, 0},
    {"mov ax, imm16", "66 b8 34 12", 0, 4, HL_X86_OTHER, 0},
    {"mov eax, moffs64", "a1 00 00 00 00 00 00 00 00", 0, 9, HL_X86_OTHER, 0},
    {"mov eax, moffs32 (67)", "67 a1 00 00 00 00", 0, 6, HL_X86_OTHER, 0},
    {"mov dword [rax], imm32", "c7 00 01 00 00 00", 0, 6, HL_X86_OTHER, 0},
    {"mov word [rax], imm16", "66 c7 00 01 00", 0, 5, HL_X86_OTHER, 0},
    {"add rsp, imm8", "48 83 c4 08", 0, 4, HL_X86_OTHER, 0},
    {"add rsp, imm32", "48 81 c4 00 01 00 00", 0, 7, HL_X86_OTHER, 0},
    {"test cl, imm8", "f6 c1 01", 0, 3, HL_X86_OTHER, 0},
    {"not cl: F6 without immediate", "f6 d1", 0, 2, HL_X86_OTHER, 0},
    {"test ecx, imm32", "f7 c1 01 00 00 00", 0, 6, HL_X86_OTHER, 0},
    {"test cx, imm16", "66 f7 c1 01 00", 0, 5, HL_X86_OTHER, 0},
    {"neg rax: F7 without immediate", "48 f7 d8", 0, 3, HL_X86_OTHER, 0},
    {"enter", "c8 10 00 01", 0, 4, HL_X86_OTHER, 0},
    {"imul eax, ecx, imm32", "69 c1 00 01 00 00", 0, 6, HL_X86_OTHER, 0},
    {"push imm8", "6a 01", 0, 2, HL_X86_OTHER, 0},
    {"endbr64", "f3 0f 1e fa", 0, 4, HL_X86_OTHER, 0},
    {"nopl 0(rax,rax,1)", "0f 1f 44 00 00", 0, 5, HL_X86_OTHER, 0},
    {"cs nopw 0(rax,rax,1)", "66 2e 0f 1f 84 00 00 00 00 00", 0, 10, HL_X86_OTHER, 0},
    {"lock cmpxchg [rdi], esi", "f0 0f b1 37", 0, 4, HL_X86_OTHER, 0},
    {"pshufd xmm0, xmm1, imm8", "66 0f 70 c1 1b", 0, 5, HL_X86_OTHER, 0},
    {"pshufb xmm0, xmm1 (0F38)", "66 0f 38 00 c1", 0, 5, HL_X86_OTHER, 0},
    {"palignr xmm0, xmm1, imm8 (0F3A)", "66 0f 3a 0f c1 08", 0, 6, HL_X86_OTHER, 0},
    {"bt eax, imm8", "0f ba e0 03", 0, 4, HL_X86_OTHER, 0},
    {"ud2", "0f 0b", 0, 2, HL_X86_OTHER, 0},
    {"syscall", "0f 05", 0, 2, HL_X86_OTHER, 0},
    {"REX after a prefix", "66 48 0f 7e c0", 0, 5, HL_X86_OTHER, 0},
    {"a prefix after REX cancels REX.W", "48 66 b8 34 12", 0, 5, HL_X86_OTHER, 0},
    {"vzeroupper (VEX2, no ModRM)", "c5 f8 77", 0, 3, HL_X86_OTHER, 0},
    {"vmovdqu ymm0, [rdi] (VEX2)", "c5 fe 6f 07", 0, 4, HL_X86_OTHER, 0},
    {"vbroadcastss xmm0, [rip] (VEX3 map 2)", "c4 e2 79 18 05 00 00 00 00", 0, 9, HL_X86_OTHER, 0},
    {"vpermilps xmm0, xmm0, imm8 (VEX3 map 3)", "c4 e3 79 04 c0 01", 0, 6, HL_X86_OTHER, 0},
    {"vpshufd ymm0, ymm1, imm8 (VEX map 1 imm)", "c5 fd 70 c1 1b", 0, 5, HL_X86_OTHER, 0},
    {"vmovups zmm0, [rax] (EVEX)", "62 f1 7c 48 10 00", 0, 6, HL_X86_OTHER, 0},
    {"vmovdqu64 zmm16, [rsi+0x40] (EVEX disp8)", "62 e1 fe 48 6f 46 01", 0, 7, HL_X86_OTHER, 0},
    {"vpternlogd zmm0, zmm1, zmm2, imm8 (EVEX map 3)", "62 f3 75 48 25 c2 96", 0, 7, HL_X86_OTHER,
     0},
    /* Failure rows. */
    {"push es: invalid in 64-bit mode", "06", -EINVAL, 0, HL_X86_OTHER, 0},
    {"jmp far: invalid in 64-bit mode", "ea 00 00 00 00 00 00", -EINVAL, 0, HL_X86_OTHER, 0},
    {"VEX map 0: invalid", "c4 e0 79 18 05 00 00 00 00", -EINVAL, 0, HL_X86_OTHER, 0},
    {"truncated rel32", "e9 00 00", -ENODATA, 0, HL_X86_OTHER, 0},
    {"truncated ModRM", "48 8b", -ENODATA, 0, HL_X86_OTHER, 0},
    {"truncated SIB displacement", "8b 04 25 00", -ENODATA, 0, HL_X86_OTHER, 0},
    {"truncated immediate", "48 b8 01 02 03", -ENODATA, 0, HL_X86_OTHER, 0},
    {"prefixes only", "66 66 f3", -ENODATA, 0, HL_X86_OTHER, 0},
    {"empty", "", -ENODATA, 0, HL_X86_OTHER, 0},
    {"longer than 15 bytes", "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", -ENODATA, 0,
     HL_X86_OTHER, 0},
    {"exactly 15 bytes", "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 0, 15, HL_X86_OTHER, 0},
};

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (*s && n < max) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void test_rows(void)
{
	for (size_t r = 0; r < HL_ARRAY_SIZE(rows); r++) {
		uint8_t code[32];
		size_t n = unhex(rows[r].hex, code, sizeof(code));
		struct hl_x86_insn insn;
		char msg[256];
		int ret = hl_x86_decode(code, n, &insn);

		snprintf(msg, sizeof(msg), "%s: return", rows[r].what);
		CHECK_INT(rows[r].ret, ret, msg);
		if (ret)
			continue;
		snprintf(msg, sizeof(msg), "%s: length", rows[r].what);
		CHECK_INT(rows[r].length, insn.length, msg);
		snprintf(msg, sizeof(msg), "%s: branch", rows[r].what);
		CHECK_INT(rows[r].branch, insn.branch, msg);
		snprintf(msg, sizeof(msg), "%s: rel", rows[r].what);
		CHECK_INT(rows[r].rel, insn.rel, msg);
		/* The same bytes followed by more: the length does not change. */
		memset(code + n, 0x90, sizeof(code) - n);
		ret = hl_x86_decode(code, sizeof(code), &insn);
		snprintf(msg, sizeof(msg), "%s: length with bytes after it", rows[r].what);
		CHECK(!ret && insn.length == rows[r].length, msg);
	}
}

/* Every instruction objdump lists in @path: same length, and for jmp/jcc/call rel, the same
 * target.  objdump prints `fwait` (9b) merged with the x87 instruction after it, and a REX
 * prefix it considers unused on a line of its own: those lines are not instructions to us. */
static void test_objdump(const char *path)
{
	char cmd[1024], line[1024], msg[256];
	unsigned long total = 0, mismatched = 0, branches = 0;
	FILE *p;

	if (access(path, R_OK)) {
		fprintf(stderr, "SKIP objdump comparison: no %s\n", path);
		return;
	}
	snprintf(cmd, sizeof(cmd), "objdump -d -w '%s'", path);
	p = popen(cmd, "r");
	if (!p) {
		fprintf(stderr, "SKIP objdump comparison: cannot run objdump\n");
		return;
	}
	while (fgets(line, sizeof(line), p)) {
		unsigned long long addr, target;
		uint8_t code[32];
		char *tab1, *tab2, *mnem, *lt;
		struct hl_x86_insn insn;
		size_t n;
		int ret;

		/* "  addr:\tbytes\tmnemonic operands" */
		if (sscanf(line, " %llx:", &addr) != 1 || !(tab1 = strchr(line, '\t')) ||
		    !(tab2 = strchr(tab1 + 1, '\t')))
			continue;
		*tab2 = '\0';
		mnem = tab2 + 1;
		n = unhex(tab1 + 1, code, sizeof(code));
		if (!n || n > 15 || strstr(mnem, "(bad)") || code[0] == 0x9b ||
		    !strncmp(mnem, "rex", 3))
			continue;
		total++;
		ret = hl_x86_decode(code, n, &insn);
		if (ret || insn.length != n) {
			if (mismatched++ < 10)
				fprintf(stderr, "%s: %#llx: %s: ret %d length %u, objdump %zu\n",
					path, addr, tab1 + 1, ret, insn.length, n);
			continue;
		}
		/* The target is the hex number before " <symbol>" (prefixes like "data16
		 * rex.W call" come first). */
		lt = strstr(mnem, " <");
		if (lt) {
			*lt = '\0';
			lt = strrchr(mnem, ' ');
		}
		if (insn.branch != HL_X86_OTHER && lt && sscanf(lt, " %llx", &target) == 1) {
			branches++;
			if (addr + insn.length + (uint64_t)insn.rel != target && mismatched++ < 10)
				fprintf(stderr, "%s: %#llx: target %#llx, objdump %#llx\n", path,
					addr, addr + insn.length + (unsigned long long)insn.rel,
					target);
		}
	}
	pclose(p);
	snprintf(msg, sizeof(msg), "%s: %lu instructions, %lu branches agree with objdump", path,
		 total, branches);
	CHECK(total > 10000 && branches > 1000, msg);
	CHECK_INT(0, mismatched, msg);
	fprintf(stderr, "%s\n", msg);
}

int main(void)
{
	test_rows();
	if (system("command -v objdump >/dev/null 2>&1")) {
		fprintf(stderr, "SKIP objdump comparison: no objdump (apt install binutils)\n");
	} else {
		const char *pyenv = getenv("PYENV_ROOT"), *home = getenv("HOME");
		char lib[4096];

		test_objdump("/lib/x86_64-linux-gnu/libc.so.6");
		if (pyenv)
			snprintf(lib, sizeof(lib), "%s/versions/3.12.1/lib/libpython3.12.so.1.0",
				 pyenv);
		else
			snprintf(lib, sizeof(lib),
				 "%s/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
				 home ? home : "/root");
		test_objdump(lib);
	}
	return check_done();
}
