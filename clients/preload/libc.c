// SPDX-License-Identifier: MIT
/*
 * libgrb-preload-libc.so - trace the C library's allocator in a program
 * that knows nothing of grb: `grb record --preload libc -- PROGRAM` (or
 * LD_PRELOAD=libgrb-preload-libc.so with GRB_SESSION set).
 *
 * malloc, calloc, realloc, free, memalign, posix_memalign, aligned_alloc,
 * valloc and pvalloc call the next definition (the C library's, found with
 * dlsym(RTLD_NEXT)) and record an event with the sizes, the pointers and
 * the caller's address into a channel registered with the recording
 * session (<grb/session.h>).  The events carry the process and thread
 * ids (GRB_SESSION_CONFIG).
 *
 * Without a session (GRB_SESSION unset, or the recorder refused or is
 * gone) an allocation pays one load and one predictable branch more than
 * the C library's, and nothing is written.
 *
 * Recursion: dlsym may allocate (calloc for its error state) before the
 * real functions are known: those allocations come from a small static
 * arena, never freed.  The allocations of grb's own code while a preload
 * records (the first record of a thread claims a stream), and those of
 * the registration, are not recorded: the per-thread guard of preload.h.
 *
 * fork: the child of a registered process registers a channel of its own
 * at its first allocation (preload.c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

/* clang-format off */
#define LIBC_MALLOC_FIELDS(F)	F(u64, size) F(u64, ptr) F(u64, caller)
#define LIBC_CALLOC_FIELDS(F)	F(u64, nmemb) F(u64, size) F(u64, ptr) F(u64, caller)
#define LIBC_REALLOC_FIELDS(F)	F(u64, in_ptr) F(u64, size) F(u64, ptr) F(u64, caller)
#define LIBC_FREE_FIELDS(F)	F(u64, ptr) F(u64, caller)
#define LIBC_ALIGN_FIELDS(F)	F(u64, alignment) F(u64, size) F(u64, ptr) F(u64, caller)
#define LIBC_PMA_FIELDS(F)	F(u64, out_ptr) F(u64, alignment) F(u64, size) F(s32, result) \
				F(u64, caller)
/* clang-format on */
GRB_CTF_EVENT(ev_malloc, "libc:malloc", 1, LIBC_MALLOC_FIELDS)
GRB_CTF_EVENT(ev_calloc, "libc:calloc", 2, LIBC_CALLOC_FIELDS)
GRB_CTF_EVENT(ev_realloc, "libc:realloc", 3, LIBC_REALLOC_FIELDS)
GRB_CTF_EVENT(ev_free, "libc:free", 4, LIBC_FREE_FIELDS)
GRB_CTF_EVENT(ev_memalign, "libc:memalign", 5, LIBC_ALIGN_FIELDS)
GRB_CTF_EVENT(ev_posix_memalign, "libc:posix_memalign", 6, LIBC_PMA_FIELDS)
GRB_CTF_EVENT(ev_aligned_alloc, "libc:aligned_alloc", 7, LIBC_ALIGN_FIELDS)
GRB_CTF_EVENT(ev_valloc, "libc:valloc", 8, LIBC_MALLOC_FIELDS)
GRB_CTF_EVENT(ev_pvalloc, "libc:pvalloc", 9, LIBC_MALLOC_FIELDS)

static const struct grb_ctf_event_desc *const events[] = {
	&ev_malloc_event,	 &ev_calloc_event,   &ev_realloc_event,
	&ev_free_event,		 &ev_memalign_event, &ev_posix_memalign_event,
	&ev_aligned_alloc_event, &ev_valloc_event,   &ev_pvalloc_event,
};

/* The C library's functions. */
static struct {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
} real;
static int resolving;

/* The static arena of the allocations made while dlsym runs. */
#define BOOT_SIZE 8192
static unsigned char boot[BOOT_SIZE] __attribute__((aligned(64)));
static size_t boot_used;

static int is_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + BOOT_SIZE;
}

/* size bytes, zeroed (the arena is never reused), a 16-byte size header
 * before them for realloc. */
static void *boot_alloc(size_t size, size_t align)
{
	size_t off;

	if (align < 16)
		align = 16;
	off = (boot_used + 16 + align - 1) & ~(align - 1);
	if (off > BOOT_SIZE || size > BOOT_SIZE - off)
		return NULL;
	boot_used = off + size;
	memcpy(boot + off - 16, &size, sizeof(size));
	return boot + off;
}

/* 0 when the real functions are known; -1 while they are being looked up
 * (the caller then uses the arena) or if they cannot be found. */
static int resolve(void)
{
	if (real.malloc)
		return 0;
	if (resolving)
		return -1;
	resolving = 1;
	real.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	real.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real.aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	real.valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
	real.pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
	/* malloc last: its pointer says the others are known. */
	real.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
	if (!real.malloc || !real.calloc || !real.realloc || !real.free || !real.memalign ||
	    !real.posix_memalign || !real.aligned_alloc || !real.valloc || !real.pvalloc) {
		static const char msg[] = "libgrb-preload-libc: the C library's allocator "
					  "was not found\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			abort();
		abort();
	}
	return 0;
}

static struct grb_preload libc_preload = GRB_PRELOAD_INIT("libc", events);

#define P(x) , uint64_t x
#define S(x) , int32_t x
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_malloc, P(size) P(ptr) P(caller), size, ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_calloc, P(nmemb) P(size) P(ptr) P(caller), nmemb, size,
			 ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_realloc, P(in_ptr) P(size) P(ptr) P(caller), in_ptr,
			 size, ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_free, P(ptr) P(caller), ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_memalign, P(alignment) P(size) P(ptr) P(caller),
			 alignment, size, ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_posix_memalign,
			 P(out_ptr) P(alignment) P(size) S(result) P(caller), out_ptr, alignment,
			 size, result, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_aligned_alloc, P(alignment) P(size) P(ptr) P(caller),
			 alignment, size, ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_valloc, P(size) P(ptr) P(caller), size, ptr, caller)
GRB_PRELOAD_DEFINE_TRACE(&libc_preload, ev_pvalloc, P(size) P(ptr) P(caller), size, ptr, caller)
#undef S
#undef P

#define TRACE(ev, ...) GRB_PRELOAD_TRACE(&libc_preload, ev, __VA_ARGS__)
#define CALLER GRB_PRELOAD_CALLER
#define U64(p) GRB_PRELOAD_U64(p)

void *malloc(size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve())
		return boot_alloc(size, 16);
	p = real.malloc(size);
	TRACE(ev_malloc, size, U64(p), CALLER);
	return p;
}

void *calloc(size_t nmemb, size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve()) {
		if (size && nmemb > SIZE_MAX / size)
			return NULL;
		return boot_alloc(nmemb * size, 16);
	}
	p = real.calloc(nmemb, size);
	TRACE(ev_calloc, nmemb, size, U64(p), CALLER);
	return p;
}

void *realloc(void *ptr, size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve()) {
		p = boot_alloc(size, 16);
		if (p && ptr) {
			size_t old;

			memcpy(&old, (unsigned char *)ptr - 16, sizeof(old));
			memcpy(p, ptr, old < size ? old : size);
		}
		return p;
	}
	if (is_boot(ptr)) {
		/* From the arena: move it to the C library's heap. */
		size_t old;

		memcpy(&old, (unsigned char *)ptr - 16, sizeof(old));
		p = real.malloc(size);
		if (p)
			memcpy(p, ptr, old < size ? old : size);
	} else {
		p = real.realloc(ptr, size);
	}
	TRACE(ev_realloc, U64(ptr), size, U64(p), CALLER);
	return p;
}

void free(void *ptr)
{
	if (is_boot(ptr))
		return;
	if (__builtin_expect(!real.malloc, 0) && resolve())
		return; /* nothing but the arena was given out yet */
	TRACE(ev_free, U64(ptr), CALLER);
	real.free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve())
		return boot_alloc(size, alignment);
	p = real.memalign(alignment, size);
	TRACE(ev_memalign, alignment, size, U64(p), CALLER);
	return p;
}

int posix_memalign(void **memptr, size_t alignment, size_t size)
{
	int ret;

	if (__builtin_expect(!real.malloc, 0) && resolve()) {
		void *p = boot_alloc(size, alignment);

		if (!p)
			return ENOMEM;
		*memptr = p;
		return 0;
	}
	ret = real.posix_memalign(memptr, alignment, size);
	TRACE(ev_posix_memalign, U64(ret ? NULL : *memptr), alignment, size, ret, CALLER);
	return ret;
}

void *aligned_alloc(size_t alignment, size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve())
		return boot_alloc(size, alignment);
	p = real.aligned_alloc(alignment, size);
	TRACE(ev_aligned_alloc, alignment, size, U64(p), CALLER);
	return p;
}

void *valloc(size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve())
		return boot_alloc(size, 4096);
	p = real.valloc(size);
	TRACE(ev_valloc, size, U64(p), CALLER);
	return p;
}

void *pvalloc(size_t size)
{
	void *p;

	if (__builtin_expect(!real.malloc, 0) && resolve())
		return boot_alloc(size, 4096);
	p = real.pvalloc(size);
	TRACE(ev_pvalloc, size, U64(p), CALLER);
	return p;
}

GRB_PRELOAD_CONSTRUCTOR(libc_preload_init, &libc_preload)
{
	resolve();
}
