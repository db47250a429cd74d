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
 * compiler from moving earlier stores after the instruction.  The result is
 * the instruction's own ZF (a flag output): no setcc and test after it. */
static _grb_always_inline int _grb_local_cas(uint64_t *p, uint64_t *expected, uint64_t v)
{
	uint64_t prev = *expected;
	int ok;

	__asm__ __volatile__("cmpxchgq %3, %1"
			     : "=@ccz"(ok), "+m"(*p), "+a"(prev)
			     : "r"(v)
			     : "memory");
	/* On success prev is *expected: the caller's value stays known. */
	if (!ok)
		*expected = prev;
	return ok;
}

/* Returns the value before the add. */
static _grb_always_inline uint64_t _grb_local_fetch_add(uint64_t *p, uint64_t v)
{
	uint64_t old = v;

	__asm__ __volatile__("xaddq %0, %1" : "+r"(old), "+m"(*p) : : "memory", "cc");
	return old;
}

#define GRB_RSEQ_NATIVE 1
/*
 * Each critical section is [1, 2).  Its descriptor (struct rseq_cs: version,
 * flags, start_ip, post_commit_offset, abort_ip) goes to a data section.
 * While the section runs, the thread's rseq_cs word points at it.  The kernel
 * moves a thread that is preempted, migrated or signalled inside [1, 2) to
 * the abort handler 4, which must follow the 4-byte signature.  The section's
 * last instruction is its final store: until it ran, the sequence's effect
 * is none (or, for the pair of _grb_rseq_cas_pair(), a pair no reservation
 * trusts).
 *
 * The sequences are "asm goto": their outcomes are jumps to the caller's
 * labels, so the inlined caller branches on them directly, with no result
 * register set and tested.  The abort handlers, which only the kernel
 * enters, are out of line, in their own executable section: the fast path
 * runs straight through.
 */
#define _GRB_RSEQ_BEGIN                          \
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
	"jne %l[aborted]\n\t"
/* After the final store (and the label 2 that ends the section). */
#define _GRB_RSEQ_ABORT                             \
	".pushsection __grb_rseq_abort, \"ax\"\n\t" \
	".long 0x53053053\n\t"                      \
	"4:\n\t"                                    \
	"jmp %l[aborted]\n\t"                       \
	".popsection\n\t"

/*
 * asm goto with outputs (the add below returns the count it stored): gcc 11
 * and clang 11 on.  Older compilers get a result register instead.
 */
#if defined(__clang__) ? __clang_major__ >= 11 : __GNUC__ >= 11
#define _GRB_ASM_GOTO_OUTPUTS 1
#endif

/*
 * On CPU cpu, with *fence zero and p[0] (the offset) == expected: stores
 * *endp = v and p[1] = ts (the stream's last_end and last_ts), then p[0] =
 * v, the final store.  The two stores before it are made only after the
 * compare; if the sequence is then aborted, they stay made and the offset
 * does not move (doc/ordering.md, "prev_ts", [W13]).  expected_ts is unused
 * (the emulation in arch/generic.h takes the same arguments).  _GRB_RSEQ_PAIR
 * is its body; chk adds its own test before the offset's compare, aborting
 * on a mismatch.  The memory words are inputs: the "memory" clobber says
 * the sequence may write them (asm goto takes no output operand before gcc
 * 11).
 */
#define _GRB_RSEQ_PAIR(chk)                                                                     \
	__asm__ goto(_GRB_RSEQ_BEGIN "cmpl $0, %[fence]\n\t"                                    \
				     "jne %l[aborted]\n\t" chk "cmpq %[exp], %[p]\n\t"          \
				     "jne %l[changed]\n\t"                                      \
				     "movq %[v], %[end]\n\t"                                    \
				     "movq %[ts], %[lts]\n\t"                                   \
				     "movq %[v], %[p]\n\t"                                      \
				     "2:\n\t" _GRB_RSEQ_ABORT                                   \
		     :                                                                          \
		     : [cs] "m"(rs->rseq_cs), [p] "m"(p[0]), [lts] "m"(p[1]), [end] "m"(*endp), \
		       [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [fence] "m"(*fence),           \
		       [exp] "r"(expected), [v] "r"(v), [ts] "r"(ts)                            \
		     : "rax", "memory", "cc"                                                    \
		     : aborted, changed)

static _grb_always_inline int _grb_rseq_cas_pair(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
						 uint64_t *endp, uint64_t expected,
						 uint64_t expected_ts, uint64_t v, uint64_t ts,
						 const uint32_t *fence)
{
	(void)expected_ts;
	/* [W13] last_end, then last_ts, then the offset, in one sequence. */
	_GRB_RSEQ_PAIR("");
	return GRB_RSEQ_DONE;
aborted:
	return GRB_RSEQ_ABORTED;
changed:
	return GRB_RSEQ_CHANGED;
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
	(void)expected_ts;
	/* [W14] last_end == expected, tested in the sequence; then [W13]. */
	_GRB_RSEQ_PAIR("cmpq %[exp], %[end]\n\tjne %l[aborted]\n\t");
	return GRB_RSEQ_DONE;
aborted:
	return GRB_RSEQ_ABORTED;
changed:
	return GRB_RSEQ_CHANGED;
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
	(void)expected_ts;
	/* [W13] last_end, then last_ts, then the locked cmpxchg. */
	__asm__ goto(_GRB_RSEQ_BEGIN "cmpq %[exp], %[p]\n\t"
				     "jne %l[changed]\n\t"
				     "movq %[v], %[end]\n\t"
				     "movq %[ts], %[lts]\n\t"
				     "movq %[exp], %%rax\n\t"
				     "lock cmpxchgq %[v], %[p]\n\t"
				     "2:\n\t"
				     "jne %l[changed]\n\t" _GRB_RSEQ_ABORT
		     :
		     : [cs] "m"(rs->rseq_cs), [p] "m"(p[0]), [lts] "m"(p[1]), [end] "m"(*endp),
		       [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [exp] "r"(expected), [v] "r"(v),
		       [ts] "r"(ts)
		     : "rax", "memory", "cc"
		     : aborted, changed);
	return GRB_RSEQ_DONE;
aborted:
	return GRB_RSEQ_ABORTED;
changed:
	return GRB_RSEQ_CHANGED;
}

/* On CPU cpu: *p += v by a plain store; *out = the new value. */
static _grb_always_inline int _grb_rseq_add(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
					    uint64_t v, uint64_t *out)
{
	uint64_t tmp;

#ifdef _GRB_ASM_GOTO_OUTPUTS
	__asm__ goto(_GRB_RSEQ_BEGIN "movq %[p], %[tmp]\n\t"
				     "addq %[v], %[tmp]\n\t"
				     "movq %[tmp], %[p]\n\t"
				     "2:\n\t" _GRB_RSEQ_ABORT
		     : [tmp] "=&r"(tmp)
		     : [cs] "m"(rs->rseq_cs), [p] "m"(*p), [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id),
		       [v] "r"(v)
		     : "rax", "memory", "cc"
		     : aborted);
	*out = tmp;
	return GRB_RSEQ_DONE;
aborted:
	return GRB_RSEQ_ABORTED;
#else
	int ret;

	__asm__ __volatile__(
		"movl $2, %[ret]\n\t"
		".pushsection __grb_rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0, 0\n\t"
		".quad 1f, 2f - 1f, 4f\n\t"
		".popsection\n\t"
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, %[cs]\n\t"
		"1:\n\t"
		"cmpl %[cpu], %[cpu_id]\n\t"
		"jne 5f\n\t"
		"movq %[p], %[tmp]\n\t"
		"addq %[v], %[tmp]\n\t"
		"movq %[tmp], %[p]\n\t"
		"2:\n\t"
		"movl $0, %[ret]\n\t"
		"jmp 5f\n\t"
		".long 0x53053053\n\t"
		"4:\n\t"
		"movl $2, %[ret]\n\t"
		"5:\n\t"
		: [ret] "=&r"(ret), [tmp] "=&r"(tmp), [cs] "=m"(rs->rseq_cs), [p] "+m"(*p)
		: [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [v] "r"(v)
		: "rax", "memory", "cc");
	*out = tmp;
	return ret;
#endif
}

#endif /* GRB_ARCH_X86_64_H */
