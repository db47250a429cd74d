/* SPDX-License-Identifier: MIT */
/*
 * string.h - the kernel module's: memcpy, memset and the rest from
 * <linux/string.h>, for a client module that includes a public header
 * that uses them (<grb/native.h>).
 */
#ifndef GRB_KERNEL_STRING_H
#define GRB_KERNEL_STRING_H

#include <linux/string.h>

#endif /* GRB_KERNEL_STRING_H */
