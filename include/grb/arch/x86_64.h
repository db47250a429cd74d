/* SPDX-License-Identifier: MIT */
/*
 * grb/arch/x86_64.h - the architecture layer on x86-64: "local" atomics
 * (atomic only against the calling thread and its signal handlers, like
 * the kernel's local_t: no lock prefix) and the restartable sequences of
 * the per-CPU sync, in assembly.
 *
 * Not to be included directly: <grb/static/env.h> chooses it.  The generic
 * variant, <grb/arch/generic.h>, provides the same names.
 */
#ifndef GRB_ARCH_X86_64_H
#define GRB_ARCH_X86_64_H

/*
 * Local atomics: other threads may read the word concurrently and see
 * either the old or the new value, never a torn one.
 */
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

#define GRB_RSEQ_NATIVE 1
/*
 * Each critical section is [1, 2).  Its descriptor (struct rseq_cs: version,
 * flags, start_ip, post_commit_offset, abort_ip) goes to a data section.
 * While the section runs, the thread's rseq_cs word points at it.  The kernel
 * moves a thread that is preempted, migrated or signalled inside [1, 2) to
 * the abort handler 4, which must follow the 4-byte signature.  The section's
 * last instruction is its only store: either it ran, or nothing did.
 */
#define _GRB_RSEQ_BEGIN                          \
	"movl $2, %[ret]\n\t"                    \
	".pushsection __grb_rseq_cs, \"aw\"\n\t" \
	".balign 32\n\t"                         \
	"3:\n\t"                                 \
	".long 0, 0\n\t"                         \
	".quad 1f, 2f - 1f, 4f\n\t"              \
	".popsection\n\t"                        \
	"leaq 3b(%%rip), %%rax\n\t"              \
	"movq %%rax, %[cs]\n\t"                  \
	"1:\n\t"                                 \
	"cmpl %[cpu], %[cpu_id]\n\t"             \
	"jne 5f\n\t"
#define _GRB_RSEQ_ABORT        \
	"jmp 5f\n\t"           \
	".long 0x53053053\n\t" \
	"4:\n\t"               \
	"movl $2, %[ret]\n\t"  \
	"5:\n\t"

/*
 * On CPU cpu, with *fence zero and p[0] (the offset) == expected: stores
 * *endp = v and p[1] = ts (the stream's last_end and last_ts), then p[0] =
 * v, the final store.  The two stores before it are made only after the
 * compare; if the sequence is then aborted, they stay made and the offset
 * does not move (doc/ordering.md, "prev_ts", [W13]).  expected_ts is unused
 * (the emulation in arch/generic.h takes the same arguments).  _GRB_RSEQ_PAIR
 * is its body; chk adds its own test before the offset's compare.
 */
#define _GRB_RSEQ_PAIR(chk)                                                                   \
	__asm__ __volatile__(_GRB_RSEQ_BEGIN "cmpl $0, %[fence]\n\t"                          \
					     "jne 5f\n\t" chk "movl $1, %[ret]\n\t"           \
					     "cmpq %[exp], %[p]\n\t"                          \
					     "jne 5f\n\t"                                     \
					     "movq %[v], %[end]\n\t"                          \
					     "movq %[ts], %[lts]\n\t"                         \
					     "movq %[v], %[p]\n\t"                            \
					     "2:\n\t"                                         \
					     "movl $0, %[ret]\n\t" _GRB_RSEQ_ABORT            \
			     : [ret] "=&r"(ret), [cs] "=m"(rs->rseq_cs), [p] "+m"(p[0]),      \
			       [lts] "+m"(p[1]), [end] "+m"(*endp)                            \
			     : [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [fence] "m"(*fence), \
			       [exp] "r"(expected), [v] "r"(v), [ts] "r"(ts)                  \
			     : "rax", "memory", "cc")

static _grb_always_inline int _grb_rseq_cas_pair(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
						 uint64_t *endp, uint64_t expected,
						 uint64_t expected_ts, uint64_t v, uint64_t ts,
						 const uint32_t *fence)
{
	int ret;

	(void)expected_ts;
	/* [W13] last_end, then last_ts, then the offset, in one sequence. */
	_GRB_RSEQ_PAIR("");
	return ret;
}

/*
 * As _grb_rseq_cas_pair(), and GRB_RSEQ_ABORTED unless *endp (last_end) ==
 * expected as well: the caller's last_ts is then the timestamp of the
 * record that ends at expected ([W14]).
 */
static _grb_always_inline int _grb_rseq_cas_pair_at_end(struct _grb_rseq *rs, uint32_t cpu,
							uint64_t *p, uint64_t *endp,
							uint64_t expected, uint64_t expected_ts,
							uint64_t v, uint64_t ts,
							const uint32_t *fence)
{
	int ret;

	(void)expected_ts;
	/* [W14] last_end == expected, tested in the sequence; then [W13]. */
	_GRB_RSEQ_PAIR("cmpq %[exp], %[end]\n\tjne 5f\n\t");
	return ret;
}

/*
 * As _grb_rseq_cas_pair(), without the fence test and with a locked cmpxchg
 * as the final instruction: atomic also against other CPUs' atomic
 * operations.  Used while a remote thread holds the stream's fence.  The
 * compare of the offset before the two stores keeps them to a sequence that
 * found the offset it expects, as in _grb_rseq_cas_pair().
 */
static _grb_always_inline int _grb_rseq_cas_pair_locked(struct _grb_rseq *rs, uint32_t cpu,
							uint64_t *p, uint64_t *endp,
							uint64_t expected, uint64_t expected_ts,
							uint64_t v, uint64_t ts)
{
	int ret;

	(void)expected_ts;
	/* [W13] last_end, then last_ts, then the locked cmpxchg. */
	__asm__ __volatile__(_GRB_RSEQ_BEGIN "movl $1, %[ret]\n\t"
					     "cmpq %[exp], %[p]\n\t"
					     "jne 5f\n\t"
					     "movq %[v], %[end]\n\t"
					     "movq %[ts], %[lts]\n\t"
					     "movq %[exp], %%rax\n\t"
					     "lock cmpxchgq %[v], %[p]\n\t"
					     "2:\n\t"
					     "jne 5f\n\t"
					     "movl $0, %[ret]\n\t" _GRB_RSEQ_ABORT
			     : [ret] "=&r"(ret), [cs] "=m"(rs->rseq_cs), [p] "+m"(p[0]),
			       [lts] "+m"(p[1]), [end] "+m"(*endp)
			     : [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [exp] "r"(expected),
			       [v] "r"(v), [ts] "r"(ts)
			     : "rax", "memory", "cc");
	return ret;
}

/* On CPU cpu: *p += v by a plain store; *out = the new value. */
static _grb_always_inline int _grb_rseq_add(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t v, uint64_t *out)
{
	int ret;
	uint64_t tmp;

	__asm__ __volatile__(
		_GRB_RSEQ_BEGIN "movq %[p], %[tmp]\n\t"
				"addq %[v], %[tmp]\n\t"
				"movq %[tmp], %[p]\n\t"
				"2:\n\t"
				"movl $0, %[ret]\n\t" _GRB_RSEQ_ABORT
		: [ret] "=&r"(ret), [tmp] "=&r"(tmp), [cs] "=m"(rs->rseq_cs), [p] "+m"(*p)
		: [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [v] "r"(v)
		: "rax", "memory", "cc");
	*out = tmp;
	return ret;
}

#endif /* GRB_ARCH_X86_64_H */
