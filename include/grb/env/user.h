/* SPDX-License-Identifier: MIT */
/*
 * grb/env/user.h - the inline half of the Linux user-space environment:
 * errno values, the calling thread's CPU and its restartable-sequence area
 * (glibc's registration, or the library's own).  The out-of-line half is
 * src/env/user/.
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
 * The thread's rseq area is glibc's registration when glibc made one (glibc
 * 2.35 and later, __rseq_size != 0).  Otherwise the library registers
 * _grb_tls_rseq for the thread on its first per-CPU reservation
 * (src/env/user/env.c).
 */
extern __thread struct _grb_rseq _grb_tls_rseq __attribute__((tls_model("initial-exec")));

static _grb_always_inline struct _grb_rseq *_grb_rseq_area(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	if (_grb_likely(&__rseq_size != NULL && __rseq_size != 0))
		return (struct _grb_rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
#endif
	return &_grb_tls_rseq;
}

#endif /* GRB_ENV_USER_H */
