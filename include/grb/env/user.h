/* SPDX-License-Identifier: MIT */
/*
 * grb/env/user.h - the inline half of the Linux user-space environment:
 * errno values and the calling thread's CPU.  The out-of-line half is
 * src/env/user/ (the thread's restartable-sequence area among the rest).
 *
 * Not to be included directly: <grb/static/env.h> includes it unless the
 * build names another environment with GRB_ENV_HEADER.
 */
#ifndef GRB_ENV_USER_H
#define GRB_ENV_USER_H

#include <errno.h>

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
 * The thread pointer.  The library's thread-locals are initial-exec, at the
 * same offset from it in every thread: the fast path reaches its writer
 * cache by the offset the channel keeps (struct grb_channel.tls_off), with
 * no GOT load and no index arithmetic.  Without the builtin, it indexes
 * _grb_tls_writers.
 */
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define GRB_ENV_TLS_OFFSET 1
#endif
#endif
#ifdef GRB_ENV_TLS_OFFSET
static _grb_always_inline char *_grb_env_thread_pointer(void)
{
	return (char *)__builtin_thread_pointer();
}
#endif

#endif /* GRB_ENV_USER_H */
