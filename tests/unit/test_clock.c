// SPDX-License-Identifier: MIT
/*
 * test_clock.c - the TSC clock: calibration against CLOCK_MONOTONIC and the
 * Unix epoch, conversion, and that an ordered read never goes backwards.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <grb/grb.h>
#include <grb/clock.h>
#include "check.h"

int main(void)
{
	struct grb_tsc_calibration cal;
	struct timespec rt, nap = { 0, 10 * 1000 * 1000 };
	uint64_t c0, m0, c1, m1, prev, i, conv, real;
	double err;
	int ret = grb_tsc_calibrate(&cal);

	if (ret == -ENOTSUP) {
		printf("test_clock: no invariant TSC here (%s): skipped\n", grb_last_error());
		return 77;
	}
	CHECK(ret == 0);
	CHECK(cal.freq_hz > 100000000ull && cal.freq_hz < 10000000000ull);
	/* Conversion agrees with CLOCK_MONOTONIC over 10 ms to 0.5%. */
	c0 = grb_clock_tsc();
	m0 = grb_clock_monotonic();
	nanosleep(&nap, NULL);
	c1 = grb_clock_tsc();
	m1 = grb_clock_monotonic();
	err = ((double)(grb_tsc_to_ns(&cal, c1) - grb_tsc_to_ns(&cal, c0)) - (double)(m1 - m0)) /
	      (double)(m1 - m0);
	CHECK(err < 0.005 && err > -0.005);
	/* Absolute: a converted TSC read is within 1 ms of CLOCK_MONOTONIC. */
	conv = grb_tsc_to_ns(&cal, grb_clock_tsc());
	real = grb_clock_monotonic();
	CHECK(conv + 1000000 > real && conv < real + 1000000);
	/* The epoch offset puts "now" within 1 s of CLOCK_REALTIME. */
	clock_gettime(CLOCK_REALTIME, &rt);
	{
		unsigned __int128 now =
			(unsigned __int128)grb_clock_tsc() * 1000000000u / cal.freq_hz;
		unsigned __int128 epoch =
			(unsigned __int128)cal.epoch_offset_s * 1000000000u +
			(unsigned __int128)cal.epoch_offset_cycles * 1000000000u / cal.freq_hz +
			now;
		unsigned __int128 want =
			(unsigned __int128)rt.tv_sec * 1000000000u + (unsigned __int128)rt.tv_nsec;

		CHECK(epoch + 1000000000u > want && epoch < want + 1000000000u);
	}
	prev = grb_clock_tsc();
	for (i = 0; i < 1000000; i++) {
		uint64_t t = grb_clock_tsc();

		CHECK(t >= prev);
		prev = t;
	}
	return check_exit("test_clock");
}
