/* SPDX-License-Identifier: MIT */
/*
 * stdio.h - the kernel module's: the FILE type that the declarations of
 * a public header name (<grb/ftrace.h>'s grb_ftrace_show()), opaque.  The
 * kernel has no stdio; nothing in a module calls those functions.
 */
#ifndef GRB_KERNEL_STDIO_H
#define GRB_KERNEL_STDIO_H

typedef struct grb_kernel_no_stdio FILE;

#endif /* GRB_KERNEL_STDIO_H */
