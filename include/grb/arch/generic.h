/* SPDX-License-Identifier: MIT */
/*
 * grb/arch/generic.h - the architecture layer in C11 atomics: the local
 * atomics and the restartable-sequence operations of grb/arch/x86_64.h,
 * emulated with full (acq_rel, seq_cst) atomics.  Used on other
 * architectures, under TSan (which cannot see into assembly) and with
 * GRB_NO_LOCAL_ASM.
 *
 * Not to be included directly: <grb/static/env.h> chooses it.
 */
#ifndef GRB_ARCH_GENERIC_H
#define GRB_ARCH_GENERIC_H

static _grb_always_inline int _grb_local_cas(uint64_t *p, uint64_t *expected, uint64_t v)
{
	return __atomic_compare_exchange_n(p, expected, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static _grb_always_inline uint64_t _grb_local_fetch_add(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL);
}

/*
 * Elsewhere, and under TSan, which cannot see into assembly, the same
 * operations are emulated with sequentially consistent atomics.  The
 * protocol is unchanged: every word is then only ever changed atomically.
 *
 * An emulated sequence is not restarted when the thread is preempted, so
 * it cannot store the pair (last_end, last_ts) for the next one as a native
 * sequence does ([W13]): endp, expected_ts and ts are unused, and the rseq
 * sync then knows prev_ts from the thread's own last record, as the atomic
 * sync does (doc/ordering.md, "prev_ts").
 */
static _grb_always_inline int _grb_rseq_cas_pair_locked(struct _grb_rseq *rs, uint32_t cpu,
							uint64_t *p, uint64_t *endp,
							uint64_t expected, uint64_t expected_ts,
							uint64_t v, uint64_t ts)
{
	(void)endp;
	(void)expected_ts;
	(void)ts;
	if (__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED) != cpu)
		return GRB_RSEQ_ABORTED;
	return __atomic_compare_exchange_n(p, &expected, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ?
		       GRB_RSEQ_DONE :
		       GRB_RSEQ_CHANGED;
}

/* Emulated, the plain compare-and-store is the locked one after the fence
 * test. */
static _grb_always_inline int _grb_rseq_cas_pair(struct _grb_rseq *rs, uint32_t cpu, uint64_t *p,
						 uint64_t *endp, uint64_t expected,
						 uint64_t expected_ts, uint64_t v, uint64_t ts,
						 const uint32_t *fence)
{
	if (__atomic_load_n(fence, __ATOMIC_SEQ_CST))
		return GRB_RSEQ_ABORTED;
	return _grb_rseq_cas_pair_locked(rs, cpu, p, endp, expected, expected_ts, v, ts);
}

/* Never used emulated: the fast path then trusts the thread's pair. */
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
	if (__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED) != cpu)
		return GRB_RSEQ_ABORTED;
	*out = __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
	return GRB_RSEQ_DONE;
}

#endif /* GRB_ARCH_GENERIC_H */
