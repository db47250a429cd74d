/* SPDX-License-Identifier: MIT */
/*
 * stdint.h - the kernel module's: the fixed-width types the core and the
 * public headers use, from the kernel's own (<linux/types.h>).  The
 * compiler's stdint.h cannot serve: its uint64_t is unsigned long, the
 * kernel's unsigned long long.  Only the kernel build puts this directory
 * on the include path (kernel/Kbuild).
 */
#ifndef GRB_KERNEL_STDINT_H
#define GRB_KERNEL_STDINT_H

#include <linux/types.h>
#include <linux/limits.h>

typedef long intptr_t;

#ifndef UINT16_MAX
#define UINT16_MAX U16_MAX
#endif
#ifndef UINT32_MAX
#define UINT32_MAX U32_MAX
#endif
#ifndef UINT64_MAX
#define UINT64_MAX U64_MAX
#endif
#ifndef INT64_MAX
#define INT64_MAX S64_MAX
#endif

#endif /* GRB_KERNEL_STDINT_H */
