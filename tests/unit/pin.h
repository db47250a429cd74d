/* SPDX-License-Identifier: MIT */
/*
 * pin.h - pins the calling thread to one CPU, for the unit tests that
 * decide which CPU (and so which per-CPU stream) a record is written on.
 */
#ifndef GRB_TEST_PIN_H
#define GRB_TEST_PIN_H

#include <pthread.h>
#include <sched.h>

/* 0 when the thread now runs on cpu, -1 otherwise. */
static inline int pin(int cpu)
{
	cpu_set_t cs;

	CPU_ZERO(&cs);
	CPU_SET(cpu, &cs);
	if (pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs))
		return -1;
	return sched_getcpu() == cpu ? 0 : -1;
}

#endif /* GRB_TEST_PIN_H */
