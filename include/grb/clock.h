/* SPDX-License-Identifier: MIT */
/*
 * grb/clock.h - clocks for struct grb_config.clock_read.
 */
#ifndef GRB_CLOCK_H
#define GRB_CLOCK_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** grb_clock_monotonic() - CLOCK_MONOTONIC in ns (the vDSO: no system call).
 * Real-time: async-signal-safe, wait-free. */
static inline uint64_t grb_clock_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#ifdef __cplusplus
}
#endif

#endif /* GRB_CLOCK_H */
