/* SPDX-License-Identifier: MIT */
/*
 * grb/kernel.h - what grb.ko offers a client module beyond the core's API
 * (<grb/grb.h>): its memory accounting, and the publication of a channel
 * on /dev/grb for consumers in user space (<grb/kdev.h>).  Kernel builds
 * only (doc/kernel.md).
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

struct grb_channel;

/*
 * grb_kernel_publish() - list ch on /dev/grb under name, with the client's
 * description of its records (desc_size bytes, copied; for the CTF client
 * the encoding of its events, nr_events of them), for a consumer in user
 * space to read (doc/kernel.md, "Reading from user space").  The channel
 * is disabled: it records only between a consumer's GRB_KDEV_START and
 * GRB_KDEV_STOP (or the close of its last descriptor).  Process context.
 * Return: 0; -EINVAL (a name of 1 to 31 bytes, a description of at most
 * 1 MiB), -EEXIST (the channel or the name is published), -ENOMEM.
 */
int grb_kernel_publish(struct grb_channel *ch, const char *name, const void *desc,
		       uint32_t desc_size, uint32_t nr_events);

/*
 * grb_kernel_unpublish() - withdraw ch (finalize it first, so that its
 * consumer gets every record: it is told by POLLHUP).  After it returns
 * the channel may be destroyed: a consumer that still maps its streams
 * keeps their memory until it unmaps them, and its descriptors answer
 * -ENODEV.  Process context.
 */
void grb_kernel_unpublish(struct grb_channel *ch);

#endif /* GRB_KERNEL_H */
