/* SPDX-License-Identifier: MIT */
/*
 * grb/static/env.h - the environment layer used by the inline fast path.
 *
 * Not to be included directly: include <grb/grb.h>.
 *
 * Everything the core needs from its environment that must be inline lives
 * here: atomics and fences, "local" atomics (atomic only against the same
 * thread: signal handlers), the current CPU, branch hints.  The out-of-line
 * part (memory, futex, clock, errors) is src/env_internal.h.  A kernel build
 * provides the same names over the kernel's primitives.
 *
 * Atomics use the __atomic builtins of GCC and clang on plain integers, so
 * the headers compile as C11 and as C++.  Every use in the core carries an
 * ordering label documented in doc/ordering.md.
 */
#ifndef GRB_STATIC_ENV_H
#define GRB_STATIC_ENV_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define _grb_likely(x) __builtin_expect(!!(x), 1)
#define _grb_unlikely(x) __builtin_expect(!!(x), 0)
#define _grb_always_inline inline __attribute__((always_inline))
#define _grb_noinline __attribute__((noinline))
#define _grb_cold __attribute__((cold))

#define GRB_CACHELINE 64

/* Plain atomics (many threads, many processes). */
#define _grb_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define _grb_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define _grb_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define _grb_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define _grb_cas_acqrel(p, expp, v)                                                        \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define _grb_cas_seqcst(p, expp, v)                                                        \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define _grb_add_return_acqrel(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define _grb_add_relaxed(p, v) ((void)__atomic_add_fetch((p), (v), __ATOMIC_RELAXED))
#define _grb_fence_seqcst() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define _grb_barrier() __asm__ __volatile__("" ::: "memory")

/*
 * Local atomics: atomic with respect to the calling thread and its signal
 * handlers only, like the kernel's local_t.  Other threads may read the word
 * concurrently and see either the old or the new value, never a torn one.
 * On x86-64 they are single instructions without the lock prefix; TSan cannot
 * see inline assembly, so sanitizer builds and other architectures use the
 * full atomics, which are correct (only slower).
 */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && !defined(GRB_NO_LOCAL_ASM)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define _GRB_LOCAL_GENERIC 1
#endif
#endif
#else
#define _GRB_LOCAL_GENERIC 1
#endif

#ifndef _GRB_LOCAL_GENERIC
/* Release semantics come from x86-TSO: the "memory" clobber keeps the
 * compiler from moving earlier stores after the instruction. */
static _grb_always_inline int _grb_local_cas(uint64_t *p, uint64_t *expected, uint64_t v)
{
	uint64_t prev = *expected;
	unsigned char ok;

	__asm__ __volatile__("cmpxchgq %3, %1\n\tsete %0"
			     : "=q"(ok), "+m"(*p), "+a"(prev)
			     : "r"(v)
			     : "memory", "cc");
	*expected = prev;
	return ok;
}

static _grb_always_inline uint64_t _grb_local_add_return(uint64_t *p, uint64_t v)
{
	uint64_t old = v;

	__asm__ __volatile__("xaddq %0, %1" : "+r"(old), "+m"(*p) : : "memory", "cc");
	return old + v;
}
#else
static _grb_always_inline int _grb_local_cas(uint64_t *p, uint64_t *expected, uint64_t v)
{
	return __atomic_compare_exchange_n(p, expected, v, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static _grb_always_inline uint64_t _grb_local_add_return(uint64_t *p, uint64_t v)
{
	return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL);
}
#endif

/*
 * The CPU the calling thread runs on, for per-CPU stream selection.  With
 * glibc's restartable-sequence registration (glibc 2.35 and later) it is one
 * load from the thread's rseq area; otherwise sched_getcpu().  Migration right
 * after the read is harmless with the atomic sync: the CPU only picks a stream.
 */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
int _grb_env_getcpu_slow(void);

static _grb_always_inline int _grb_env_getcpu(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	if (_grb_likely(&__rseq_size != NULL && __rseq_size != 0)) {
		const char *tp = (const char *)__builtin_thread_pointer();
		/* cpu_id is the second 32-bit word of struct rseq; the kernel
		 * updates it on migration, so a relaxed read suffices. */
		int cpu = (int)__atomic_load_n((const uint32_t *)(tp + __rseq_offset + 4),
					       __ATOMIC_RELAXED);
		if (_grb_likely(cpu >= 0))
			return cpu;
	}
#endif
	return _grb_env_getcpu_slow();
}

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_STATIC_ENV_H */
