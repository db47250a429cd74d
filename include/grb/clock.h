/* SPDX-License-Identifier: MIT */
/*
 * grb/clock.h - clocks for struct grb_config.clock_read.
 *
 * An environment without clock_gettime() (the kernel module's) defines
 * GRB_ENV_CLOCKS in its header (<grb/static/env.h> includes it) and
 * provides grb_clock_monotonic(), grb_clock_realtime() and grb_clock_tsc()
 * itself; the rest of this header is then left out.
 */
#ifndef GRB_CLOCK_H
#define GRB_CLOCK_H

#include <stdint.h>
#include <grb/static/env.h>

#ifndef GRB_ENV_CLOCKS
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* clock_gettime(clk) in ns: the vDSO for the clocks below.  The clocks
 * are never instrumented (no_instrument_function): a configuration takes
 * their address, so a program built with -finstrument-functions has a copy
 * of them that its own hooks would call while they write a record. */
static inline __attribute__((always_inline)) uint64_t _grb_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/** grb_clock_monotonic() - CLOCK_MONOTONIC in ns (the vDSO: no system call).
 * Real-time: async-signal-safe, wait-free. */
static inline __attribute__((always_inline, no_instrument_function)) uint64_t
grb_clock_monotonic(void)
{
	return _grb_clock_ns(CLOCK_MONOTONIC);
}

/** grb_clock_realtime() - CLOCK_REALTIME (Unix time) in ns (the vDSO: no
 * system call).  Real-time: async-signal-safe, wait-free. */
static inline __attribute__((always_inline, no_instrument_function)) uint64_t
grb_clock_realtime(void)
{
	return _grb_clock_ns(CLOCK_REALTIME);
}

/**
 * grb_clock_tsc() - the time-stamp counter, in cycles.  The read waits for
 * earlier loads (lfence; rdtsc), so that timestamps never decrease in stream
 * order (doc/ordering.md).  Use it only where grb_tsc_calibrate() succeeds
 * (an invariant TSC); on other architectures it returns CLOCK_MONOTONIC in
 * ns.  Real-time: async-signal-safe, wait-free, no system call.
 */
static inline __attribute__((always_inline, no_instrument_function)) uint64_t grb_clock_tsc(void)
{
#if defined(__x86_64__)
	uint64_t lo, hi;

	/* rdtsc clears the high halves of rax and rdx: no zero-extension. */
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (hi << 32) | lo;
#else
	return grb_clock_monotonic();
#endif
}

#pragma GCC visibility push(default)

/** What grb_tsc_calibrate() measured. */
struct grb_tsc_calibration {
	uint64_t freq_hz; /* TSC cycles per second */
	int64_t epoch_offset_s; /* Unix time of TSC value 0: whole seconds ... */
	uint64_t epoch_offset_cycles; /* ... plus this many cycles (CTF clock offset) */
	int64_t mono_offset_ns; /* CLOCK_MONOTONIC ns at TSC value 0 (may be negative) */
};

/**
 * grb_tsc_calibrate() - measure the TSC frequency against CLOCK_MONOTONIC
 * (about 20 ms) and where TSC 0 lies on the Unix and monotonic time lines.
 *
 * Return: 0; -ENOTSUP when the TSC is not invariant (no constant_tsc and
 * nonstop_tsc in /proc/cpuinfo) or the architecture has none; -EIO when the
 * measurement is inconsistent.  Not signal-safe (reads /proc, sleeps).
 */
int grb_tsc_calibrate(struct grb_tsc_calibration *cal);

/**
 * grb_tsc_to_ns() - TSC cycles to CLOCK_MONOTONIC ns with a calibration that
 * grb_tsc_calibrate() filled (freq_hz is never 0 then).
 * Return: the ns.  Real-time: async-signal-safe, wait-free, no system call.
 */
uint64_t grb_tsc_to_ns(const struct grb_tsc_calibration *cal, uint64_t cycles);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_ENV_CLOCKS */

#endif /* GRB_CLOCK_H */
