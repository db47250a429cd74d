/* SPDX-License-Identifier: MIT */
/*
 * kernel_env.h - what module.c needs of env.c: the environment's setup at
 * load and its teardown at unload.
 */
#ifndef GRB_KERNEL_ENV_H
#define GRB_KERNEL_ENV_H

#include <grb/kernel.h>

void _grb_kernel_env_init(void);
void _grb_kernel_env_exit(void);

#endif /* GRB_KERNEL_ENV_H */
