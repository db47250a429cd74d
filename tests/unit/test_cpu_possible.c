// SPDX-License-Identifier: MIT
/*
 * test_cpu_possible.c - per-CPU channels on machines whose possible-CPU
 * list has holes: "0-3,8-11" is 8 CPUs with ids up to 11, and CPUs 8 to 11
 * must get streams, not be filtered.  A list that cannot be read as one
 * makes the library fall back on what the system says otherwise.
 *
 * The test shows the library other contents of
 * /sys/devices/system/cpu/possible by bind-mounting a file over it in a
 * mount namespace of its own (which goes with the process); it exits 77
 * (skipped) where it may not (no CAP_SYS_ADMIN).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

#define POSSIBLE "/sys/devices/system/cpu/possible"
#define FAKE "test_cpu_possible.list"

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

static int mounted;

/* Shows text as the possible-CPU list; 0 or -1. */
static int show_possible(const char *text)
{
	FILE *f;

	if (mounted && umount2(POSSIBLE, 0) == 0)
		mounted = 0;
	f = fopen(FAKE, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f))
		return -1;
	if (mount(FAKE, POSSIBLE, NULL, MS_BIND, NULL))
		return -1;
	mounted = 1;
	return 0;
}

/* The streams of a per-CPU channel on the CPUs of set (NULL: all), or
 * -errno. */
static int nr_streams(const unsigned char *set, size_t size, uint32_t *cpu0)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_stream_stats st;
	int n;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.subbuf_count = 2;
	a.cpu_set = set;
	a.cpu_set_size = size;
	ch = grb_channel_create(&cfg, &a);
	if (!ch) {
		printf("  %s\n", grb_last_error());
		return -errno;
	}
	n = (int)grb_channel_nr_streams(ch);
	if (cpu0 && grb_channel_read_stream_stats(ch, 0, &st) == 0)
		*cpu0 = st.cpu;
	grb_channel_destroy(ch);
	return n;
}

int main(void)
{
	unsigned char cpu9[2] = { 0, 1u << 1 };
	cpu_set_t affinity;
	uint32_t cpu = UINT32_MAX;
	int i, highest = 0, n;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    show_possible("0-3,8-11\n")) {
		printf("test_cpu_possible: cannot bind-mount over %s (%s), skipped\n", POSSIBLE,
		       strerror(errno));
		return 77;
	}

	/* Holes: ids up to 11, every one a stream. */
	n = nr_streams(NULL, 0, NULL);
	printf("possible 0-3,8-11: %d streams\n", n);
	CHECK(n == 12);
	n = nr_streams(cpu9, sizeof(cpu9), &cpu);
	printf("possible 0-3,8-11, set {9}: %d streams, on CPU %u\n", n, cpu);
	CHECK(n == 1 && cpu == 9);

	CHECK(show_possible("0\n") == 0);
	CHECK(nr_streams(NULL, 0, NULL) == 1);
	CHECK(show_possible("0,2\n") == 0);
	CHECK(nr_streams(NULL, 0, NULL) == 3);

	/* Not a CPU list: at least every CPU this thread may run on. */
	CHECK(sched_getaffinity(0, sizeof(affinity), &affinity) == 0);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &affinity))
			highest = i;
	CHECK(show_possible("cpus\n") == 0);
	n = nr_streams(NULL, 0, NULL);
	printf("possible \"cpus\": %d streams (highest CPU of this thread: %d)\n", n, highest);
	CHECK(n >= highest + 1);

	if (mounted)
		umount2(POSSIBLE, 0);
	unlink(FAKE);
	return check_exit("test_cpu_possible");
}
