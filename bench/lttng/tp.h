// SPDX-License-Identifier: MIT
/*
 * tp.h - the LTTng-UST tracepoint provider of bench_lttng: one event per
 * payload size of bench/bench_write.c, each carrying the same bytes:
 *
 *	grb_bench:write8	one uint64_t (8 bytes)
 *	grb_bench:write16	two uint64_t (16 bytes)
 *	grb_bench:write64	an array of 8 uint64_t (64 bytes)
 *	grb_bench:write256	an array of 32 uint64_t (256 bytes)
 *
 * Written with the documented (2.x compatibility) macros TRACEPOINT_EVENT /
 * TP_ARGS / TP_FIELDS / ctf_integer / ctf_array.
 */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER grb_bench

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./tp.h"

#if !defined(GRB_BENCH_LTTNG_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define GRB_BENCH_LTTNG_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

TRACEPOINT_EVENT(grb_bench, write8, TP_ARGS(uint64_t, a), TP_FIELDS(ctf_integer(uint64_t, a, a)))

TRACEPOINT_EVENT(grb_bench, write16, TP_ARGS(uint64_t, a, uint64_t, b),
		 TP_FIELDS(ctf_integer(uint64_t, a, a) ctf_integer(uint64_t, b, b)))

TRACEPOINT_EVENT(grb_bench, write64, TP_ARGS(const uint64_t *, w),
		 TP_FIELDS(ctf_array(uint64_t, w, w, 8)))

TRACEPOINT_EVENT(grb_bench, write256, TP_ARGS(const uint64_t *, w),
		 TP_FIELDS(ctf_array(uint64_t, w, w, 32)))

#endif /* GRB_BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
