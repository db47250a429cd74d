// SPDX-License-Identifier: MIT
/*
 * testpoint.c - the test points' counters and hook (doc/testpoints.md).
 * Compiled only into the test-only libraries of tests/crash, with
 * GRB_TEST_POINTS defined; the ordinary libraries have neither this file
 * nor any call to it.  Environment-free, as the core: atomics only.
 */
#include <grb/grb.h>

#ifndef GRB_TEST_POINTS
#error "testpoint.c is for the test-only libraries (GRB_TEST_POINTS)"
#endif

static uint64_t tp_count[GRB_TP_NR];
static grb_tp_fn tp_hook;
static void *tp_arg;

/* One point a line, in the enum's order: kept as written. */
/* clang-format off */
static const char *const tp_names[GRB_TP_NR] = {
	[GRB_TP_NESTED_LOGGED] = "nested_logged", /* before RESERVED: it has no CAS yet */
	[GRB_TP_RESERVED] = "reserved",
	[GRB_TP_HEADER_WRITTEN] = "header_written",
	[GRB_TP_COMMIT_ADDED] = "commit_added",
	[GRB_TP_COMMIT_PUBLISHED] = "commit_published",
	[GRB_TP_PACKET_CLOSED] = "packet_closed",
	[GRB_TP_PACKET_OPENED] = "packet_opened",
	[GRB_TP_DELIVERED] = "delivered",
	[GRB_TP_LOST_COUNTED] = "lost_counted",
	[GRB_TP_PUSH_CLAIMED] = "push_claimed",
	[GRB_TP_PUSHED] = "pushed",
	[GRB_TP_READER_SWAP] = "reader_swap",
	[GRB_TP_CONSUMED] = "consumed",
};
/* clang-format on */

void grb_tp_set_hook(grb_tp_fn fn, void *arg)
{
	/* relaxed: published by the release store below. */
	__atomic_store_n(&tp_arg, arg, __ATOMIC_RELAXED);
	/* [X1] release: the argument (and whatever the test set up for the
	 * hook) before the function; pairs with [X2]. */
	__atomic_store_n(&tp_hook, fn, __ATOMIC_RELEASE);
}

uint64_t grb_tp_count(enum grb_tp point)
{
	if ((unsigned)point >= GRB_TP_NR)
		return 0;
	/* relaxed: a counter. */
	return __atomic_load_n(&tp_count[point], __ATOMIC_RELAXED);
}

const char *grb_tp_name(enum grb_tp point)
{
	return (unsigned)point < GRB_TP_NR ? tp_names[point] : NULL;
}

int grb_tp_lookup(const char *name)
{
	int i;

	for (i = 0; i < GRB_TP_NR; i++) {
		const char *a = tp_names[i], *b = name;

		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return i;
	}
	return -1;
}

void _grb_tp(enum grb_tp point)
{
	/* relaxed: a counter; its atomicity numbers the passes once each. */
	uint64_t pass = __atomic_add_fetch(&tp_count[point], 1, __ATOMIC_RELAXED);
	/* [X2] acquire: pairs with [X1]: the hook's argument and set-up. */
	grb_tp_fn fn = __atomic_load_n(&tp_hook, __ATOMIC_ACQUIRE);

	if (fn) /* relaxed: ordered by [X2] */
		fn(point, pass, __atomic_load_n(&tp_arg, __ATOMIC_RELAXED));
}
