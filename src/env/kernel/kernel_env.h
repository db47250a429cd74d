/* SPDX-License-Identifier: MIT */
/*
 * kernel_env.h - what the module's own files share: the environment's
 * setup at load and its teardown at unload (env.c), the streams' memory
 * and the wait queue of the deferred wake-ups (env.c, for the device),
 * the device (dev.c).
 */
#ifndef GRB_KERNEL_ENV_H
#define GRB_KERNEL_ENV_H

#include <grb/kernel.h>

#include <linux/wait.h>

void _grb_kernel_env_init(void);
void _grb_kernel_env_exit(void);

/* A stream's memory (_grb_env_map), counted by references: get one on the
 * area at addr (NULL: no stream's), put it back; the last put frees it. */
struct grb_kmem;
struct grb_kmem *_grb_kernel_kmem_get(void *addr);
void _grb_kernel_kmem_put(struct grb_kmem *m);

/* The queue the deferred wake-ups wake ([K1]). */
wait_queue_head_t *_grb_kernel_wait_queue(void);

/* /dev/grb (dev.c): registered at load, removed at unload. */
int _grb_kernel_dev_init(void);
void _grb_kernel_dev_exit(void);

#endif /* GRB_KERNEL_ENV_H */
