/* SPDX-License-Identifier: MIT */
/*
 * grb/env/kernel.h - the inline half of the Linux kernel environment
 * (doc/kernel.md): the error numbers, the CPU, the writers' thread-local
 * words, the architecture layer and the clocks.  The out-of-line half is
 * src/env/kernel/env.c.
 *
 * The kernel build (kernel/Kbuild) names it as GRB_ENV_HEADER; a client
 * module is compiled with the same flags.  Not to be included directly.
 *
 * A writer in the kernel is a CPU: it runs with preemption disabled from
 * grb_reserve() to grb_commit(), so that its reservation, its nesting
 * depth and its writer cache stay on one CPU, and the interrupts that
 * write on that CPU meanwhile (hard and soft interrupts, NMIs) nest in
 * its reservation last in, first out, as signal handlers nest in a
 * thread's in user space.  The core's thread-local words are therefore
 * per-CPU variables, and the per-CPU sync's sequences, restartable in
 * user space, are local atomics here: the CPU runs one instruction at a
 * time, and nothing else changes a per-CPU stream's offset or commit
 * counters but its own CPU (a flush from elsewhere runs on that CPU:
 * _grb_env_on_cpu()).
 */
#ifndef GRB_ENV_KERNEL_H
#define GRB_ENV_KERNEL_H

#include <linux/errno.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/ktime.h>
#include <asm/local.h>
#ifdef CONFIG_X86
#include <asm/msr.h>
#endif

/* The CPU the caller runs on.  A writer runs with preemption disabled:
 * the value stays true until its commit. */
int _grb_env_getcpu_slow(void);

static _grb_always_inline int _grb_env_getcpu(void)
{
	return (int)raw_smp_processor_id();
}

/* The running task's id (0 for a CPU's idle task): what the ftrace
 * client's records carry as common_pid (<grb/ftrace.h>), as ftrace's own
 * do. */
#define GRB_ENV_TASK_ID() ((int32_t)task_pid_nr(current))

/* The writers' thread-local words are the CPU's (see above), named apart
 * (name_pcpu): a core file that used a bare name, which user space allows,
 * would not compile here rather than reach the per-CPU area's template. */
#define _GRB_TLS_DECLARE(type, name) DECLARE_PER_CPU(type, name##_pcpu)
#define _GRB_TLS_DEFINE(type, name) DEFINE_PER_CPU(type, name##_pcpu)
#define _grb_tls(name) (*raw_cpu_ptr(&(name##_pcpu)))

/*
 * The architecture layer (<grb/static/env.h> includes no other).
 *
 * Local atomics: atomic against the calling CPU's interrupts, whose
 * writers they serve (doc/ordering.md, "Local atomics").  On x86-64 the
 * kernel's local operations: cmpxchg and xadd without the lock prefix,
 * with a "memory" clobber, release and acquire by x86-TSO.  Elsewhere
 * acq_rel atomics: correct, without the speed-up.
 */
#define GRB_ENV_ARCH 1

#ifdef CONFIG_X86_64
static _grb_always_inline int _grb_local_cas(uint64_t *p, uint64_t *expected, uint64_t v)
{
	uint64_t old = *expected, prev = cmpxchg_local(p, old, v);

	if (prev == old)
		return 1;
	*expected = prev;
	return 0;
}

/* Returns the value before the add.  local_t is one long, as the word. */
static _grb_always_inline uint64_t _grb_local_fetch_add(uint64_t *p, uint64_t v)
{
	BUILD_BUG_ON(sizeof(local_t) != sizeof(uint64_t));
	return (uint64_t)local_add_return((long)v, (local_t *)(void *)p) - v;
}
#else
static _grb_always_inline int _grb_local_cas(uint64_t *p, uint64_t *expected, uint64_t v)
{
	return __atomic_compare_exchange_n(p, expected, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static _grb_always_inline uint64_t _grb_local_fetch_add(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL);
}
#endif

/*
 * The per-CPU sync's sequences: on the stream's CPU (cpu), the operation
 * as a local atomic; on another CPU, GRB_RSEQ_ABORTED.  Preemption being
 * disabled, the CPU tested stays the caller's until it commits, and an
 * interrupt that writes the stream between the test and the local atomic
 * makes the cmpxchg fail (GRB_RSEQ_CHANGED), as a signal handler's record
 * restarts a user-space sequence.  Nothing restarts them, so they keep no
 * pair (last_end, last_ts) for the next record: GRB_RSEQ_NATIVE is not
 * defined, and a record's prev_ts comes from the CPU's own last record
 * (_grb_tls_prev), the only writer of its depth-1 records
 * (doc/ordering.md, "prev_ts").  GRB_RSEQ_LOCAL: a commit from another CPU
 * (a writer that broke the contract above) needs the barrier [C3].
 *
 * rs, the CPU's area (_grb_env_rseq_area()), holds the CPU's number; the
 * tests read the CPU itself.
 */
#define GRB_RSEQ_LOCAL 1

static _grb_always_inline int _grb_rseq_cas_pair_locked(struct _grb_rseq *rs, uint32_t cpu,
							uint64_t *p, uint64_t *endp,
							uint64_t expected, uint64_t expected_ts,
							uint64_t v, uint64_t ts)
{
	(void)rs;
	(void)endp;
	(void)expected_ts;
	(void)ts;
	if (_grb_unlikely(raw_smp_processor_id() != cpu))
		return GRB_RSEQ_ABORTED;
	/* [W11] a flush holds the fence: acq_rel CAS, as [W5]. */
	return _grb_cas_acqrel(p, &expected, v) ? GRB_RSEQ_DONE : GRB_RSEQ_CHANGED;
}

static _grb_always_inline int _grb_rseq_cas_pair(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
						 uint64_t *endp, uint64_t expected,
						 uint64_t expected_ts, uint64_t v, uint64_t ts,
						 const uint32_t *fence)
{
	(void)rs;
	(void)endp;
	(void)expected_ts;
	(void)ts;
	if (_grb_unlikely(raw_smp_processor_id() != cpu))
		return GRB_RSEQ_ABORTED;
	/* relaxed: only a flush on this CPU, with its interrupts off, takes
	 * the fence (_grb_env_on_cpu()); a writer that finds it held is an
	 * NMI in that flush, and program order is all it needs. */
	if (_grb_unlikely(_grb_load_relaxed(fence)))
		return GRB_RSEQ_ABORTED;
	/* [W10] local cmpxchg on the stream's CPU: atomic against its
	 * interrupts, the only other writers of the offset there. */
	return _grb_local_cas(p, &expected, v) ? GRB_RSEQ_DONE : GRB_RSEQ_CHANGED;
}

/* Without GRB_RSEQ_NATIVE the fast path never uses it. */
static _grb_always_inline int _grb_rseq_cas_pair_at_end(struct _grb_rseq *rs, uint32_t cpu,
							uint64_t *p, uint64_t *endp,
							uint64_t expected, uint64_t expected_ts,
							uint64_t v, uint64_t ts,
							const uint32_t *fence)
{
	return _grb_rseq_cas_pair(rs, cpu, p, endp, expected, expected_ts, v, ts, fence);
}

static _grb_always_inline int _grb_rseq_add(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t v, uint64_t *out)
{
	(void)rs;
	if (_grb_unlikely(raw_smp_processor_id() != cpu))
		return GRB_RSEQ_ABORTED;
	/* [C4] local xadd on the stream's CPU. */
	*out = _grb_local_fetch_add(p, v) + v;
	return GRB_RSEQ_DONE;
}

/*
 * The clocks of <grb/clock.h>, always inlined as user space's are (a
 * constant configuration folds its clock).  grb_clock_monotonic(): the
 * NMI-safe monotonic clock, which reads the clocksource after the loads
 * before it (the TSC by rdtsc_ordered()).  It may step back by a little on
 * one CPU only when an NMI reads it during a timekeeping update, and
 * across CPUs around one: a reader then skips the packet (doc/kernel.md).
 */
#define GRB_ENV_CLOCKS 1

static _grb_always_inline uint64_t grb_clock_monotonic(void)
{
	return ktime_get_mono_fast_ns();
}

static _grb_always_inline uint64_t grb_clock_realtime(void)
{
	return ktime_get_real_fast_ns();
}

static _grb_always_inline uint64_t grb_clock_tsc(void)
{
#ifdef CONFIG_X86
	return rdtsc_ordered();
#else
	return ktime_get_mono_fast_ns();
#endif
}

#endif /* GRB_ENV_KERNEL_H */
