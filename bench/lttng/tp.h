// SPDX-License-Identifier: MIT
/*
 * tp.h - the LTTng-UST tracepoint provider of bench_lttng: one event,
 * grb_bench:write16, with two uint64_t fields (a 16-byte payload, as in
 * bench/bench_write.c).  Written with the documented (2.x compatibility)
 * macros TRACEPOINT_EVENT / TP_ARGS / TP_FIELDS / ctf_integer.
 */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER grb_bench

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./tp.h"

#if !defined(GRB_BENCH_LTTNG_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define GRB_BENCH_LTTNG_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

TRACEPOINT_EVENT(
	grb_bench,
	write16,
	TP_ARGS(uint64_t, a, uint64_t, b),
	TP_FIELDS(
		ctf_integer(uint64_t, a, a)
		ctf_integer(uint64_t, b, b)
	)
)

#endif /* GRB_BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
