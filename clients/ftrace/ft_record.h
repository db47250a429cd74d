/* SPDX-License-Identifier: MIT */
/*
 * ft_record.h - what ft_record.c gives, which a kernel module builds too
 * (doc/kernel.md): the encoding of event descriptions.  Not installed.
 */
#ifndef GRB_FT_RECORD_H
#define GRB_FT_RECORD_H

#include <stdint.h>

#include <grb/ftrace.h>

/* A string's length that says "none" (a NULL print fmt). */
#define FT_DESC_NO_STRING 0xffffu

/*
 * The events in the encoding of doc/ftrace.md ("Event descriptions"), into
 * buf (cap bytes): per event u32 id, u32 nr_fields, the strings system,
 * name and print_fmt, then per field u32 kind, u32 len and the string
 * name; a string is a u16 length and its bytes (no NUL), or the length
 * FT_DESC_NO_STRING alone for none.  All in the machine's byte order.
 * Return: 0 with *len; -E2BIG it does not fit.
 */
int _grb_ftrace_events_encode(const struct grb_ftrace_event *const *events, uint32_t nr, void *buf,
			      uint32_t cap, uint32_t *len);

#endif /* GRB_FT_RECORD_H */
