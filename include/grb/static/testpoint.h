/* SPDX-License-Identifier: MIT */
/*
 * grb/static/testpoint.h - named points after each observable side effect of
 * the write path and the readers, for the crash tests (doc/testpoints.md).
 * Not to be included directly: <grb/grb.h> brings it.
 *
 * Only a build that defines GRB_TEST_POINTS has them: the test-only
 * libraries of tests/crash (grb_tp, grb_ctf_tp) and the programs linked
 * with them.  Everywhere else _GRB_TP() is an empty statement, so the
 * ordinary libraries and every inline fast path compile to the same code
 * as without this header.
 */
#ifndef GRB_STATIC_TESTPOINT_H
#define GRB_STATIC_TESTPOINT_H

#ifdef GRB_TEST_POINTS

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* The points, in the order a record meets them (doc/testpoints.md). */
enum grb_tp {
	GRB_TP_NESTED_LOGGED, /* a nested write's entry is in the log, its CAS not made */
	GRB_TP_RESERVED, /* the offset moved over the record */
	GRB_TP_HEADER_WRITTEN, /* the record header is written */
	GRB_TP_COMMIT_ADDED, /* the commit's add to the slot's counter */
	GRB_TP_COMMIT_PUBLISHED, /* a commit stored the committed position */
	GRB_TP_PACKET_CLOSED, /* a close (switch or flush) committed the padding */
	GRB_TP_PACKET_OPENED, /* an open wrote and committed the packet header */
	GRB_TP_DELIVERED, /* a delivery published done (and the id) */
	GRB_TP_LOST_COUNTED, /* a loss counter was incremented */
	GRB_TP_PUSH_CLAIMED, /* overwrite: an opener moved consumed past a packet */
	GRB_TP_PUSHED, /* overwrite: the opener pushed consumed past a packet */
	GRB_TP_READER_SWAP, /* a consuming reader swapped its spare in */
	GRB_TP_CONSUMED, /* a consuming reader stored consumed (packet or record) */
	GRB_TP_NR
};

/*
 * The hook: called at every pass of every point, with the point and its
 * pass number (1 for the first pass, counted across the process's
 * threads).  From any writer context, signal handlers included: it must
 * be async-signal-safe.
 */
typedef void (*grb_tp_fn)(enum grb_tp point, uint64_t pass, void *arg);

/* Sets (or, with NULL, clears) the process's hook; not async-signal-safe
 * with respect to itself. */
void grb_tp_set_hook(grb_tp_fn fn, void *arg);
/* How many times point was passed in this process. */
uint64_t grb_tp_count(enum grb_tp point);
/* The point's name ("reserved", ...), or NULL out of range. */
const char *grb_tp_name(enum grb_tp point);
/* The point named name, or -1. */
int grb_tp_lookup(const char *name);

/* Counts a pass of point and calls the hook (src/testpoint.c). */
void _grb_tp(enum grb_tp point);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#define _GRB_TP(p) _grb_tp(GRB_TP_##p)

#else

#define _GRB_TP(p) ((void)0)

#endif /* GRB_TEST_POINTS */

#endif /* GRB_STATIC_TESTPOINT_H */
