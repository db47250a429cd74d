// SPDX-License-Identifier: MIT
/*
 * perf_sym.c - function symbols of a 64-bit ELF file of the host's byte
 * order, for the folded stacks: the functions of .symtab; for a stripped
 * file, those of the .symtab of its separate debug file
 * (/usr/lib/debug/.build-id/xx/yyyy.debug, named by its GNU build id) if
 * one is installed, else of its .dynsym; and the PT_LOAD segments that
 * turn a file offset into an address of the file's own.  Run by the
 * consumer only, never in a signal handler.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf_internal.h"

struct sym {
	uint64_t addr, size;
	const char *name; /* in names */
};

struct seg {
	uint64_t off, filesz, vaddr;
};

struct grb_perf_symtab {
	struct sym *syms;
	uint32_t nr_syms;
	struct seg *segs;
	uint32_t nr_segs;
	char *names;
	int from_dynsym; /* no .symtab: the symbols are .dynsym's */
	uint8_t build_id[64];
	uint32_t build_id_len;
};

/* The GNU build id of the file, from its SHT_NOTE sections. */
static void find_build_id(struct grb_perf_symtab *t, const unsigned char *f, uint64_t size,
			  const Elf64_Shdr *sh, uint32_t shnum)
{
	uint32_t i;

	for (i = 0; i < shnum; i++) {
		uint64_t off = sh[i].sh_offset, end = sh[i].sh_offset + sh[i].sh_size;

		if (sh[i].sh_type != SHT_NOTE || end > size || end < off)
			continue;
		while (off + sizeof(Elf64_Nhdr) <= end) {
			Elf64_Nhdr n;
			uint64_t name, desc;

			memcpy(&n, f + off, sizeof(n));
			name = off + sizeof(n);
			desc = name + ((n.n_namesz + 3u) & ~3u);
			if (desc + n.n_descsz > end)
				break;
			if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 &&
			    !memcmp(f + name, "GNU", 4) && n.n_descsz &&
			    n.n_descsz <= sizeof(t->build_id)) {
				memcpy(t->build_id, f + desc, n.n_descsz);
				t->build_id_len = n.n_descsz;
				return;
			}
			off = desc + ((n.n_descsz + 3u) & ~3u);
		}
	}
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = (const struct sym *)a, *y = (const struct sym *)b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Of aliases at one address, the sized one first. */
	return (x->size < y->size) - (x->size > y->size);
}

/* Is [off, off + len) inside a file of size size? */
static int in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static struct grb_perf_symtab *parse(const unsigned char *f, uint64_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)f;
	const Elf64_Shdr *sh, *tab = NULL, *str;
	struct grb_perf_symtab *t;
	uint64_t i, n, names_len;
	int from_dynsym = 0;
	uint32_t k;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
#else
	    eh->e_ident[EI_DATA] != ELFDATA2MSB ||
#endif
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size) ||
	    !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return NULL;
	sh = (const Elf64_Shdr *)(const void *)(f + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB)
			tab = &sh[i];
	for (i = 0; !tab && i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			tab = &sh[i];
	if (tab && tab->sh_type == SHT_DYNSYM)
		from_dynsym = 1;
	if (!tab || tab->sh_link >= eh->e_shnum || tab->sh_entsize != sizeof(Elf64_Sym) ||
	    !in_file(tab->sh_offset, tab->sh_size, size))
		return NULL;
	str = &sh[tab->sh_link];
	if (!in_file(str->sh_offset, str->sh_size, size) || !str->sh_size)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->from_dynsym = from_dynsym;
	find_build_id(t, f, size, sh, eh->e_shnum);
	n = tab->sh_size / sizeof(Elf64_Sym);
	names_len = str->sh_size;
	t->names = malloc(names_len + 1);
	t->syms = malloc((n ? n : 1) * sizeof(*t->syms));
	t->segs = malloc((eh->e_phnum ? eh->e_phnum : 1) * sizeof(*t->segs));
	if (!t->names || !t->syms || !t->segs) {
		_grb_perf_symtab_free(t);
		return NULL;
	}
	memcpy(t->names, f + str->sh_offset, names_len);
	t->names[names_len] = 0;
	for (i = 0; i < n; i++) {
		Elf64_Sym s;

		memcpy(&s, f + tab->sh_offset + i * sizeof(s), sizeof(s));
		if ((ELF64_ST_TYPE(s.st_info) != STT_FUNC &&
		     ELF64_ST_TYPE(s.st_info) != STT_GNU_IFUNC) ||
		    s.st_shndx == SHN_UNDEF || !s.st_value || s.st_name >= names_len)
			continue;
		t->syms[t->nr_syms].addr = s.st_value;
		t->syms[t->nr_syms].size = s.st_size;
		t->syms[t->nr_syms].name = t->names + s.st_name;
		t->nr_syms++;
	}
	qsort(t->syms, t->nr_syms, sizeof(*t->syms), sym_cmp);
	for (k = 0; k < eh->e_phnum; k++) {
		Elf64_Phdr p;

		memcpy(&p, f + eh->e_phoff + (uint64_t)k * sizeof(p), sizeof(p));
		if (p.p_type != PT_LOAD)
			continue;
		t->segs[t->nr_segs].off = p.p_offset;
		t->segs[t->nr_segs].filesz = p.p_filesz;
		t->segs[t->nr_segs].vaddr = p.p_vaddr;
		t->nr_segs++;
	}
	return t;
}

static struct grb_perf_symtab *load_file(const char *path)
{
	struct grb_perf_symtab *t = NULL;
	struct stat st;
	void *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f != MAP_FAILED) {
			t = parse((const unsigned char *)f, (uint64_t)st.st_size);
			munmap(f, (size_t)st.st_size);
		}
	}
	close(fd);
	return t;
}

struct grb_perf_symtab *_grb_perf_symtab_load(const char *path)
{
	struct grb_perf_symtab *t = load_file(path), *d;
	char dbg[64 + 2 * sizeof(t->build_id) + 8];
	size_t at;
	uint32_t i;

	if (!t || !t->from_dynsym || !t->build_id_len)
		return t;
	at = (size_t)snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%02x/", t->build_id[0]);
	for (i = 1; i < t->build_id_len; i++)
		at += (size_t)snprintf(dbg + at, sizeof(dbg) - at, "%02x", t->build_id[i]);
	snprintf(dbg + at, sizeof(dbg) - at, ".debug");
	d = load_file(dbg);
	/* The debug file's own .symtab, with the same build id; the
	 * segments stay the file's (the addresses are the same). */
	if (d && !d->from_dynsym && d->build_id_len == t->build_id_len &&
	    !memcmp(d->build_id, t->build_id, t->build_id_len)) {
		free(t->syms);
		free(t->names);
		t->syms = d->syms;
		t->nr_syms = d->nr_syms;
		t->names = d->names;
		t->from_dynsym = 0;
		d->syms = NULL;
		d->names = NULL;
	}
	_grb_perf_symtab_free(d);
	return t;
}

int _grb_perf_symtab_vaddr(const struct grb_perf_symtab *t, uint64_t off, uint64_t *vaddr)
{
	uint32_t i;

	for (i = 0; i < t->nr_segs; i++)
		if (off >= t->segs[i].off && off - t->segs[i].off < t->segs[i].filesz) {
			*vaddr = off - t->segs[i].off + t->segs[i].vaddr;
			return 0;
		}
	return -1;
}

const char *_grb_perf_symtab_lookup(const struct grb_perf_symtab *t, uint64_t vaddr,
				    uint64_t *start)
{
	uint32_t lo = 0, hi = t->nr_syms;

	/* The last symbol at or below vaddr. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* Back to the first of the aliases at that address (sized first). */
	while (lo > 1 && t->syms[lo - 2].addr == t->syms[lo - 1].addr)
		lo--;
	if (t->syms[lo - 1].size && vaddr - t->syms[lo - 1].addr >= t->syms[lo - 1].size)
		return NULL;
	if (start)
		*start = t->syms[lo - 1].addr;
	return t->syms[lo - 1].name;
}

void _grb_perf_symtab_free(struct grb_perf_symtab *t)
{
	if (!t)
		return;
	free(t->syms);
	free(t->segs);
	free(t->names);
	free(t);
}

struct grb_perf_symtab *grb_perf_symtab_open(const char *path)
{
	struct grb_perf_symtab *t;

	errno = 0;
	t = _grb_perf_symtab_load(path);
	if (!t && !errno)
		errno = ENOEXEC;
	return t;
}

const char *grb_perf_symtab_find(const struct grb_perf_symtab *t, uint64_t off, uint64_t *into)
{
	uint64_t vaddr, start;
	const char *name;

	if (!t || _grb_perf_symtab_vaddr(t, off, &vaddr))
		return NULL;
	name = _grb_perf_symtab_lookup(t, vaddr, &start);
	if (name && into)
		*into = vaddr - start;
	return name;
}

void grb_perf_symtab_close(struct grb_perf_symtab *t)
{
	_grb_perf_symtab_free(t);
}
