// SPDX-License-Identifier: MIT
/*
 * ftrace_snap_prog.c - a program built with -finstrument-functions that
 * calls the same two functions over and over for SECONDS seconds, for
 * `grb ftrace record --snapshot-on SIGUSR1` to record from outside:
 *
 *	ftrace_snap_prog SECONDS [BURST]
 *
 * With BURST (default 0: none) it sleeps a millisecond after every BURST
 * rounds, so that the buffers fill at a pace a test can follow.
 * Each round is snap_step() calling snap_leaf(): four records, entry and
 * exit of each, always in that order, so that any stretch of whole
 * records in time order follows the pattern.  The program knows nothing
 * of grb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NO_INSTR __attribute__((no_instrument_function))
/* Not inlined, and not static: each keeps its own symbol and name. */
#define TRACED __attribute__((noinline))

static volatile unsigned long sink;

void snap_leaf(unsigned long i);
void snap_step(unsigned long i);

TRACED void snap_leaf(unsigned long i)
{
	sink += i;
}

TRACED void snap_step(unsigned long i)
{
	snap_leaf(i);
}

static NO_INSTR double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NO_INSTR int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 1.0);
	unsigned long i = 0, burst = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s SECONDS [BURST]\n", argv[0]);
		return 2;
	}
	while (now() < end) {
		unsigned long k;

		for (k = 0; k < (burst ? burst : 64); k++)
			snap_step(i++);
		if (burst)
			usleep(1000);
	}
	printf("%lu rounds\n", i);
	return 0;
}
