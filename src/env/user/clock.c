// SPDX-License-Identifier: MIT
/*
 * clock.c - TSC calibration (user space): frequency against CLOCK_MONOTONIC,
 * and the position of TSC 0 on the Unix and monotonic time lines, for trace
 * metadata and conversions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <grb/clock.h>
#include "core/env.h"

/* Whether /proc/cpuinfo lists both invariant-TSC flags. */
static int tsc_invariant(void)
{
	char line[4096];
	int constant = 0, nonstop = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		constant = strstr(line, " constant_tsc") != NULL;
		nonstop = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return constant && nonstop;
}

/* One (clock, tsc) pair taken in the narrowest of a few windows. */
static void sample(uint64_t (*clock_ns)(void), uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	int i;

	for (i = 0; i < 16; i++) {
		uint64_t a = clock_ns(), c = grb_clock_tsc(), b = clock_ns();

		if (i == 0 || b - a < best) {
			best = b - a;
			*ns = a + (b - a) / 2;
			*tsc = c;
		}
	}
}

int grb_tsc_calibrate(struct grb_tsc_calibration *cal)
{
#if defined(__x86_64__)
	uint64_t m0, c0, m1, c1, r, cr, m, cm;
	unsigned __int128 epoch_ns_at_0;
	__int128 mono_at_0;

	if (!cal)
		return -EINVAL;
	if (!tsc_invariant()) {
		_grb_env_set_error("TSC: not invariant (constant_tsc/nonstop_tsc missing)");
		return -ENOTSUP;
	}
	sample(_grb_env_monotonic_ns, &m0, &c0);
	_grb_env_sleep_ns(20 * 1000 * 1000);
	sample(_grb_env_monotonic_ns, &m1, &c1);
	if (m1 <= m0 || c1 <= c0) {
		_grb_env_set_error("TSC: calibration went backwards");
		return -EIO;
	}
	cal->freq_hz = (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / (m1 - m0));
	if (cal->freq_hz < 1000000u) {
		_grb_env_set_error("TSC: implausible frequency %llu Hz",
				   (unsigned long long)cal->freq_hz);
		return -EIO;
	}
	/* Unix time of TSC 0 = realtime now - tsc now / freq. */
	sample(_grb_env_realtime_ns, &r, &cr);
	epoch_ns_at_0 = (unsigned __int128)r - (unsigned __int128)cr * 1000000000u / cal->freq_hz;
	cal->epoch_offset_s = (int64_t)(epoch_ns_at_0 / 1000000000u);
	cal->epoch_offset_cycles =
		(uint64_t)((epoch_ns_at_0 % 1000000000u) * cal->freq_hz / 1000000000u);
	sample(_grb_env_monotonic_ns, &m, &cm);
	mono_at_0 = (__int128)m - (__int128)((unsigned __int128)cm * 1000000000u / cal->freq_hz);
	cal->mono_offset_ns = (int64_t)mono_at_0;
	return 0;
#else
	(void)cal;
	_grb_env_set_error("TSC: not available on this architecture");
	return -ENOTSUP;
#endif
}

uint64_t grb_tsc_to_ns(const struct grb_tsc_calibration *cal, uint64_t cycles)
{
	return (uint64_t)((int64_t)((unsigned __int128)cycles * 1000000000u / cal->freq_hz) +
			  cal->mono_offset_ns);
}
