/* SPDX-License-Identifier: MIT */
/*
 * errno.h - the kernel module's: the error numbers (<linux/errno.h>) that
 * the public headers return, for a client module that includes one of them
 * (<grb/native.h>).  There is no errno variable: errors are negative
 * return values.
 */
#ifndef GRB_KERNEL_ERRNO_H
#define GRB_KERNEL_ERRNO_H

#include <linux/errno.h>

#endif /* GRB_KERNEL_ERRNO_H */
