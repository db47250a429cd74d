/* SPDX-License-Identifier: MIT */
/*
 * stdbool.h - the kernel module's: bool, true and false from the kernel's
 * own headers (see stdint.h beside it).
 */
#ifndef GRB_KERNEL_STDBOOL_H
#define GRB_KERNEL_STDBOOL_H

#include <linux/types.h>
#include <linux/stddef.h>

#endif /* GRB_KERNEL_STDBOOL_H */
