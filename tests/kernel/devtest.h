/* SPDX-License-Identifier: MIT */
/*
 * devtest.h - what grb_devtest.ko (the module) and kdev_check (its
 * consumer in user space) agree on: the channel's name, its
 * configuration and its records (tests/kernel/run_vm.sh runs both).
 */
#ifndef GRB_DEVTEST_H
#define GRB_DEVTEST_H

#include <stdint.h>
#include <grb/grb.h>
#include <grb/native.h>

#define DEVTEST_CHANNEL "devtest"
#define DEVTEST_DESC "grb_devtest: struct devtest_record"
#define DEVTEST_MAGIC 0x74766564u /* "devt" */
#define DEVTEST_SUBBUF_SIZE 4096u
#define DEVTEST_SUBBUF_COUNT 8u

/* Per-CPU streams with the per-CPU sync, discard mode, and the writer
 * wake-up: the delivering writer wakes a poll of /dev/grb (through
 * grb.ko's irq_work). */
#define DEVTEST_CONFIG                                                                       \
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, \
				 grb_clock_monotonic, GRB_WAKEUP_WRITER)

/* One record: its CPU's hrtimer writer numbers its committed records
 * from 0, so that a gap is a record the consumer missed. */
struct devtest_record {
	uint32_t cpu;
	uint32_t magic;
	uint64_t seq;
};

#endif /* GRB_DEVTEST_H */
