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

/*
 * Restartable sequences (rseq), for the per-CPU sync.
 *
 * struct _grb_rseq holds the fields of the kernel's struct rseq that the
 * library uses.  The thread's area is glibc's registration when glibc made one
 * (glibc 2.35 and later, __rseq_size != 0).  Otherwise the library registers
 * _grb_tls_rseq for the thread on its first per-CPU reservation
 * (src/env_user.c).  cpu_id is negative while the thread has no registration.
 */
struct _grb_rseq {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
} __attribute__((aligned(32)));

extern __thread struct _grb_rseq _grb_tls_rseq __attribute__((tls_model("initial-exec")));

/* The signature before every abort handler: the one glibc registers. */
#define GRB_RSEQ_SIG 0x53053053u
/*
 * The CPU of a stream whose channel fell back to atomics: no cpu_id ever
 * equals it (not even the negative ones of an unregistered area, -1 and
 * -2), so every sequence on such a stream aborts at its first test.
 */
#define GRB_RSEQ_NO_CPU 0x80000000u
/* Results of the _grb_rseq_*() operations. */
#define GRB_RSEQ_DONE 0 /* the final store was made */
#define GRB_RSEQ_CHANGED 1 /* the word did not hold the expected value */
#define GRB_RSEQ_ABORTED 2 /* another CPU, preempted, signalled, or fenced */

static _grb_always_inline struct _grb_rseq *_grb_rseq_area(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	if (_grb_likely(&__rseq_size != NULL && __rseq_size != 0))
		return (struct _grb_rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
#endif
	return &_grb_tls_rseq;
}

#if defined(__x86_64__) && !defined(_GRB_LOCAL_GENERIC)
#define GRB_RSEQ_NATIVE 1
/*
 * Each critical section is [1, 2).  Its descriptor (struct rseq_cs: version,
 * flags, start_ip, post_commit_offset, abort_ip) goes to a data section.
 * While the section runs, the thread's rseq_cs word points at it.  The kernel
 * moves a thread that is preempted, migrated or signalled inside [1, 2) to
 * the abort handler 4, which must follow the 4-byte signature.  The section's
 * last instruction is its only store: either it ran, or nothing did.
 */
#define _GRB_RSEQ_BEGIN                                                                    \
	"movl $2, %[ret]\n\t"                                                              \
	".pushsection __grb_rseq_cs, \"aw\"\n\t"                                           \
	".balign 32\n\t"                                                                   \
	"3:\n\t"                                                                           \
	".long 0, 0\n\t"                                                                   \
	".quad 1f, 2f - 1f, 4f\n\t"                                                        \
	".popsection\n\t"                                                                  \
	"leaq 3b(%%rip), %%rax\n\t"                                                        \
	"movq %%rax, %[cs]\n\t"                                                            \
	"1:\n\t"                                                                           \
	"cmpl %[cpu], %[cpu_id]\n\t"                                                       \
	"jne 5f\n\t"
#define _GRB_RSEQ_ABORT                                                                    \
	"jmp 5f\n\t"                                                                       \
	".long 0x53053053\n\t"                                                             \
	"4:\n\t"                                                                           \
	"movl $2, %[ret]\n\t"                                                              \
	"5:\n\t"

/*
 * On CPU cpu, with *fence zero: if *p == expected, *p = v by a plain store.
 * Serialised with every other section on that CPU.
 */
static _grb_always_inline int _grb_rseq_cas(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t expected, uint64_t v,
					    const uint32_t *fence)
{
	int ret;

	__asm__ __volatile__(_GRB_RSEQ_BEGIN
			     "cmpl $0, %[fence]\n\t"
			     "jne 5f\n\t"
			     "movl $1, %[ret]\n\t"
			     "cmpq %[exp], %[p]\n\t"
			     "jne 5f\n\t"
			     "movq %[v], %[p]\n\t"
			     "2:\n\t"
			     "movl $0, %[ret]\n\t" _GRB_RSEQ_ABORT
			     : [ret] "=&r"(ret), [cs] "=m"(rs->rseq_cs), [p] "+m"(*p)
			     : [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [fence] "m"(*fence),
			       [exp] "r"(expected), [v] "r"(v)
			     : "rax", "memory", "cc");
	return ret;
}

/*
 * As _grb_rseq_cas(), without the fence test and with a locked cmpxchg as the
 * final instruction: atomic also against other CPUs' atomic operations.
 * Used while a remote thread holds the stream's fence.
 */
static _grb_always_inline int _grb_rseq_cas_locked(struct _grb_rseq *rs, uint32_t cpu,
						   uint64_t *p, uint64_t expected, uint64_t v)
{
	int ret;

	__asm__ __volatile__(_GRB_RSEQ_BEGIN
			     "movl $1, %[ret]\n\t"
			     "movq %[exp], %%rax\n\t"
			     "lock cmpxchgq %[v], %[p]\n\t"
			     "2:\n\t"
			     "jne 5f\n\t"
			     "movl $0, %[ret]\n\t" _GRB_RSEQ_ABORT
			     : [ret] "=&r"(ret), [cs] "=m"(rs->rseq_cs), [p] "+m"(*p)
			     : [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [exp] "r"(expected),
			       [v] "r"(v)
			     : "rax", "memory", "cc");
	return ret;
}

/* On CPU cpu: *p += v by a plain store; *out = the new value. */
static _grb_always_inline int _grb_rseq_add(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t v, uint64_t *out)
{
	int ret;
	uint64_t tmp;

	__asm__ __volatile__(_GRB_RSEQ_BEGIN
			     "movq %[p], %[tmp]\n\t"
			     "addq %[v], %[tmp]\n\t"
			     "movq %[tmp], %[p]\n\t"
			     "2:\n\t"
			     "movl $0, %[ret]\n\t" _GRB_RSEQ_ABORT
			     : [ret] "=&r"(ret), [tmp] "=&r"(tmp), [cs] "=m"(rs->rseq_cs),
			       [p] "+m"(*p)
			     : [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [v] "r"(v)
			     : "rax", "memory", "cc");
	*out = tmp;
	return ret;
}
#else
/*
 * Elsewhere, and under TSan, which cannot see into assembly, the same
 * operations are emulated with sequentially consistent atomics.  The
 * protocol is unchanged: every word is then only ever changed atomically.
 */
static _grb_always_inline int _grb_rseq_cas_locked(struct _grb_rseq *rs, uint32_t cpu,
						   uint64_t *p, uint64_t expected, uint64_t v)
{
	if (__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED) != cpu)
		return GRB_RSEQ_ABORTED;
	return __atomic_compare_exchange_n(p, &expected, v, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST)
		       ? GRB_RSEQ_DONE
		       : GRB_RSEQ_CHANGED;
}

/* Emulated, the plain compare-and-store is the locked one after the fence
 * test. */
static _grb_always_inline int _grb_rseq_cas(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t expected, uint64_t v,
					    const uint32_t *fence)
{
	if (__atomic_load_n(fence, __ATOMIC_SEQ_CST))
		return GRB_RSEQ_ABORTED;
	return _grb_rseq_cas_locked(rs, cpu, p, expected, v);
}

static _grb_always_inline int _grb_rseq_add(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t v, uint64_t *out)
{
	if (__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED) != cpu)
		return GRB_RSEQ_ABORTED;
	*out = __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
	return GRB_RSEQ_DONE;
}
#endif

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_STATIC_ENV_H */
