/* SPDX-License-Identifier: MIT */
/*
 * stress_write.h - the writers' side the stress tests of the core share: the
 * native configuration with a nesting limit of 2, a thread's move to another
 * CPU between reserve and commit, and one function pair per configuration
 * that writes a record (committed, discarded, or committed after a move)
 * and two nested ones.  Include after stress_common.h.
 */
#ifndef GRB_STRESS_WRITE_H
#define GRB_STRESS_WRITE_H

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

/* Native format with a nesting limit of 2: a thread's record and the
 * handler's first nested one fit; the handler's second, while the thread
 * holds its record, is refused (GRB_LOST_NESTED). */
#define STRESS_CFG(ALLOC, SYNC, MODE)                                                          \
	{                                                                                      \
		.abi = GRB_CONFIG_ABI, .alloc = (ALLOC), .sync = (SYNC), .mode = (MODE),       \
		.wakeup = GRB_WAKEUP_NONE, .ts_bits = 32, .max_nesting = 2, .record_align = 8, \
		.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),          \
		.min_record_size = GRB_NATIVE_COMPACT_SIZE, .clock_read = grb_clock_monotonic, \
		.record_header_size = grb_native_header_size,                                  \
		.record_header_write = grb_native_header_write,                                \
		.packet_begin = grb_native_packet_begin, .packet_end = grb_native_packet_end,  \
		.record_decode = grb_native_record_decode,                                     \
		.record_discard = grb_native_record_discard, .name = "stress",                 \
	}

/*
 * Moves the calling thread to another CPU and back to all of them, between a
 * reservation and its commit: with the rseq sync the commit is then made
 * from another CPU than the stream's.
 */
static inline void migrate_self(void)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), cpu = sched_getcpu(), i;
	cpu_set_t cs;

	if (ncpu < 2 || cpu < 0)
		return;
	CPU_ZERO(&cs);
	CPU_SET((cpu + 1) % ncpu, &cs);
	if (pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs))
		return;
	CPU_ZERO(&cs);
	for (i = 0; i < ncpu; i++)
		CPU_SET(i, &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
}

/*
 * NAME_one(ch, p, len, how) writes one record of len payload bytes.  how: 0
 * commit, 1 reserve then discard, 2 commit after moving to another CPU, 3
 * discard after moving.  Return 0 when committed, 1 when discarded by
 * choice, or the reserve error.
 *
 * NAME_nested2(ch, a, b, len) reserves a (len bytes), then b inside it (as a
 * signal handler would), commits b, then a.  Return the two reserve errors
 * as (-ra) | ((-rb) << 16): 0 when both were committed.
 */
#define STRESS_DEFINE_WRITE(NAME, CFG)                                                       \
	static int NAME##_one(struct grb_channel *ch, const struct payload *p, uint32_t len, \
			      int how)                                                       \
	{                                                                                    \
		struct grb_ctx ctx;                                                          \
		int ret;                                                                     \
		memset(&ctx, 0, sizeof(ctx));                                                \
		ctx.payload_len = len;                                                       \
		ret = grb_reserve(&CFG, ch, &ctx);                                           \
		if (ret)                                                                     \
			return ret;                                                          \
		grb_write(&ctx, p, len);                                                     \
		if (how >= 2)                                                                \
			migrate_self();                                                      \
		if (how & 1) {                                                               \
			grb_discard(&CFG, &ctx);                                             \
			return 1;                                                            \
		}                                                                            \
		grb_commit(&CFG, &ctx);                                                      \
		return 0;                                                                    \
	}                                                                                    \
	static int NAME##_nested2(struct grb_channel *ch, const struct payload *a,           \
				  const struct payload *b, uint32_t len)                     \
	{                                                                                    \
		struct grb_ctx ca, cb;                                                       \
		int ra, rb;                                                                  \
		memset(&ca, 0, sizeof(ca));                                                  \
		memset(&cb, 0, sizeof(cb));                                                  \
		ca.payload_len = len;                                                        \
		cb.payload_len = PAYLOAD_FIXED + b->filler_len;                              \
		ra = grb_reserve(&CFG, ch, &ca);                                             \
		if (ra == 0)                                                                 \
			grb_write(&ca, a, len);                                              \
		rb = grb_reserve(&CFG, ch, &cb);                                             \
		if (rb == 0) {                                                               \
			grb_write(&cb, b, cb.payload_len);                                   \
			grb_commit(&CFG, &cb);                                               \
		}                                                                            \
		if (ra == 0)                                                                 \
			grb_commit(&CFG, &ca);                                               \
		return (-ra) | ((-rb) << 16);                                                \
	}

#endif
