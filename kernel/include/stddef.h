/* SPDX-License-Identifier: MIT */
/*
 * stddef.h - the kernel module's: size_t, ptrdiff_t, NULL and offsetof
 * from the kernel's own headers (see stdint.h beside it).
 */
#ifndef GRB_KERNEL_STDDEF_H
#define GRB_KERNEL_STDDEF_H

#include <linux/types.h>
#include <linux/stddef.h>

#endif /* GRB_KERNEL_STDDEF_H */
