/* symbolize/elf.c — see elf.h.  libelf errors are translated where they enter: the caller
 * sees -errno values, and the libelf message goes to the debug log. */
#define _GNU_SOURCE
#include "symbolize/elf.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hl_elf {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
};

struct hl_elf *hl_elf__open_fd(int fd)
{
	struct hl_elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		close(fd);
		errno = ENOEXEC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	e->fd = fd;
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &e->ehdr)) {
		hl_debug("elf: not an ELF object: %s", elf_errmsg(-1));
		hl_elf__free(e);
		errno = ENOEXEC;
		return NULL;
	}
	return e;
}

struct hl_elf *hl_elf__open_mem(void *buf, size_t size)
{
	struct hl_elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOEXEC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->fd = -1;
	e->elf = elf_memory(buf, size);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &e->ehdr)) {
		hl_elf__free(e);
		errno = ENOEXEC;
		return NULL;
	}
	return e;
}

struct Elf *hl_elf__libelf(struct hl_elf *e)
{
	return e->elf;
}

struct hl_elf *hl_elf__open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	return hl_elf__open_fd(fd);
}

void hl_elf__free(struct hl_elf *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

bool hl_elf__is_dyn(const struct hl_elf *e)
{
	return e->ehdr.e_type == ET_DYN;
}

static int find_in_symtab(struct hl_elf *e, Elf_Scn *scn, const GElf_Shdr *sh, const char *name,
			  uint64_t *vaddr, uint64_t *size)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;

	if (!data || !sh->sh_entsize)
		return -ENOENT;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		s = elf_strptr(e->elf, sh->sh_link, sym.st_name);
		if (s && !strcmp(s, name)) {
			*vaddr = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

int hl_elf__find_symbol(struct hl_elf *e, const char *name, uint64_t *vaddr, uint64_t *size)
{
	static const Elf64_Word order[] = {SHT_DYNSYM, SHT_SYMTAB};
	size_t k;

	for (k = 0; k < 2; k++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e->elf, scn))) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != order[k])
				continue;
			if (!find_in_symtab(e, scn, &sh, name, vaddr, size))
				return 0;
		}
	}
	return -ENOENT;
}

int hl_elf__find_section(struct hl_elf *e, const char *name, uint64_t *vaddr, uint64_t *size,
			 const void **data)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		const char *s;

		if (!gelf_getshdr(scn, &sh))
			continue;
		s = elf_strptr(e->elf, shstrndx, sh.sh_name);
		if (!s || strcmp(s, name))
			continue;
		if (vaddr)
			*vaddr = sh.sh_addr;
		if (size)
			*size = sh.sh_size;
		if (data) {
			Elf_Data *d = sh.sh_type == SHT_NOBITS ? NULL : elf_getdata(scn, NULL);

			*data = d ? d->d_buf : NULL;
		}
		return 0;
	}
	return -ENOENT;
}

int hl_elf__read_vaddr(struct hl_elf *e, uint64_t vaddr, void *buf, size_t len)
{
	size_t i, n, file_size;
	char *image;

	if (elf_getphdrnum(e->elf, &n))
		return -ENOENT;
	image = elf_rawfile(e->elf, &file_size);
	if (!image)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t off;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr > ph.p_filesz ||
		    len > ph.p_filesz - (vaddr - ph.p_vaddr))
			continue;
		off = ph.p_offset + (vaddr - ph.p_vaddr);
		if (off > file_size || len > file_size - off)
			return -ENOENT;
		memcpy(buf, image + off, len);
		return 0;
	}
	return -ENOENT;
}

int hl_elf__load_bias(struct hl_elf *e, uint64_t map_start, uint64_t map_offset, uint64_t *bias)
{
	const uint64_t page_mask = ~(uint64_t)4095;
	size_t i, n;

	if (elf_getphdrnum(e->elf, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		/* mmap maps whole pages: the segment's page-aligned start lands at map_start. */
		if ((ph.p_offset & page_mask) == map_offset) {
			*bias = map_start - (ph.p_vaddr & page_mask);
			return 0;
		}
	}
	return -ENOENT;
}

bool hl_elf__needs(struct hl_elf *e, const char *prefix)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			s = elf_strptr(e->elf, sh.sh_link, dyn.d_un.d_val);
			if (s && !strncmp(s, prefix, strlen(prefix)))
				return true;
		}
	}
	return false;
}

int hl_elf__build_id(struct hl_elf *e, char *buf, size_t size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;
			size_t i;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 || !nh.n_descsz ||
			    memcmp((const char *)data->d_buf + name_off, "GNU", 4))
				continue;
			if (size < nh.n_descsz * 2 + 1)
				return -ENOSPC;
			for (i = 0; i < nh.n_descsz; i++)
				snprintf(buf + 2 * i, 3, "%02x", desc[i]);
			return 0;
		}
	}
	return -ENOENT;
}

int hl_elf__for_each_string(struct hl_elf *e, const char *section, size_t min_len,
			    int (*cb)(const char *s, size_t len, void *arg), void *arg)
{
	const char *data, *p, *end;
	uint64_t size;
	int ret;

	if (hl_elf__find_section(e, section, NULL, &size, (const void **)&data) || !data)
		return -ENOENT;
	end = data + size;
	for (p = data; p < end;) {
		const char *s = p;

		while (p < end && *p >= 0x20 && *p < 0x7f)
			p++;
		if (p < end && *p == '\0' && (size_t)(p - s) >= min_len) {
			ret = cb(s, (size_t)(p - s), arg);
			if (ret)
				return ret;
		}
		p++;
	}
	return 0;
}
