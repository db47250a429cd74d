/* SPDX-License-Identifier: MIT */
/*
 * grb/kernel.h - what grb.ko offers a client module beyond the core's API
 * (<grb/grb.h>): its memory accounting.  Kernel builds only
 * (doc/kernel.md).
 */
#ifndef GRB_KERNEL_H
#define GRB_KERNEL_H

#include <stdint.h>

/* The environment's allocations since grb.ko was loaded: stream memory
 * (vmalloc) and the rest (kvzalloc).  With every channel, reader and
 * merge destroyed, maps == unmaps, allocs == frees and map_bytes == 0. */
struct grb_kernel_mem_stats {
	uint64_t maps, unmaps;
	uint64_t allocs, frees;
	uint64_t map_bytes; /* stream memory still allocated */
};

void grb_kernel_mem(struct grb_kernel_mem_stats *st);

#endif /* GRB_KERNEL_H */
