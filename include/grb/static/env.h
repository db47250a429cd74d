/* SPDX-License-Identifier: MIT */
/*
 * grb/static/env.h - what the inline fast path needs below the core.
 *
 * Not to be included directly: include <grb/grb.h>.
 *
 * This header is environment-free: compiler hints, the atomics (the
 * __atomic builtins of GCC and clang on plain integers, so the headers
 * compile as C11 and as C++), memcpy/memset as compiler builtins, and the
 * restartable-sequence area's layout.  It then includes
 *
 *   - the environment's inline half, GRB_ENV_HEADER: by default
 *     <grb/env/user.h> (Linux user space: errno values, the current CPU,
 *     the calling thread's rseq area).  A kernel build, or the test that
 *     compiles the core freestanding, names its own.  The out-of-line half
 *     (memory, futex, clocks, timers, errors) is src/core/env.h;
 *   - the architecture: <grb/arch/x86_64.h> ("local" atomics without the
 *     lock prefix, rseq sequences in assembly) or <grb/arch/generic.h> (the
 *     same operations as C11 atomics: other architectures, TSan, and
 *     GRB_NO_LOCAL_ASM).
 *
 * Every use in the core carries an ordering label documented in
 * doc/ordering.md.
 */
#ifndef GRB_STATIC_ENV_H
#define GRB_STATIC_ENV_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

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
#define _grb_cas_acqrel(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define _grb_cas_seqcst(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define _grb_add_return_acqrel(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define _grb_fetch_add_acqrel(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define _grb_add_relaxed(p, v) ((void)__atomic_add_fetch((p), (v), __ATOMIC_RELAXED))
#define _grb_fence_seqcst() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define _grb_barrier() __asm__ __volatile__("" ::: "memory")

/* Builtins: a freestanding core needs no <string.h>. */
#define _grb_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define _grb_memset(d, c, n) __builtin_memset((d), (c), (n))

/*
 * Restartable sequences (rseq), for the per-CPU sync.
 *
 * struct _grb_rseq holds the fields of the kernel's struct rseq that the
 * library uses.  The environment finds the calling thread's area
 * (_grb_env_rseq_area(), src/core/env.h); the architecture runs the sequences
 * on it (grb/arch/).  cpu_id is negative while the thread has no
 * registration.
 */
struct _grb_rseq {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
} __attribute__((aligned(32)));

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

#ifdef GRB_ENV_HEADER
#include GRB_ENV_HEADER
#else
#include <grb/env/user.h>
#endif

/*
 * The writers' thread-local words (the nesting depth, the writer caches,
 * the last record's pair, the rseq area: src/core/write.c).
 * _GRB_TLS_DECLARE(type, name) declares one, _GRB_TLS_DEFINE(type, name)
 * defines it (type may be an array type), and _grb_tls(name) is the
 * calling thread's instance, an lvalue.  By default, initial-exec __thread
 * variables.  An environment whose writers are no threads names its own
 * (the Linux kernel module's: per-CPU variables, a writer running with
 * preemption disabled from its reservation to its commit, its interrupts
 * nesting as signal handlers do).
 */
#ifndef _GRB_TLS_DECLARE
#define _GRB_TLS_DECLARE(type, name) \
	extern __thread __typeof__(type) name __attribute__((tls_model("initial-exec")))
#define _GRB_TLS_DEFINE(type, name) \
	__thread __typeof__(type) name __attribute__((tls_model("initial-exec")))
#define _grb_tls(name) (name)
#endif

/*
 * The architecture layer.  On x86-64 the local atomics are single
 * instructions without the lock prefix and the rseq operations are
 * assembly; TSan cannot see inline assembly, so sanitizer builds and other
 * architectures use the generic variant (full atomics: correct, only
 * slower).  _GRB_LOCAL_GENERIC says the generic variant is in use.  An
 * environment that brings its own (the kernel module's, where the per-CPU
 * sync's sequences are local atomics run with preemption disabled)
 * defines GRB_ENV_ARCH in its header and provides the same names.
 */
#if defined(GRB_ENV_ARCH)
/* The environment's header provided the local atomics and sequences. */
#elif defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && !defined(GRB_NO_LOCAL_ASM)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define _GRB_LOCAL_GENERIC 1
#endif
#endif
#else
#define _GRB_LOCAL_GENERIC 1
#endif

#if defined(GRB_ENV_ARCH)
#elif !defined(_GRB_LOCAL_GENERIC)
#include <grb/arch/x86_64.h>
#else
#include <grb/arch/generic.h>
#endif

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_STATIC_ENV_H */
