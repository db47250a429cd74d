// SPDX-License-Identifier: MIT
/*
 * test_cpu_set_nesting.c - a reservation nested beyond max_nesting on a
 * CPU outside the channel's CPU set, with the atomic and the rseq syncs:
 * both return the same code and count it once, in the same place.
 *
 * The CPU set is checked first: such a record is filtered (-ENODEV,
 * counted in filtered_cpu), not lost.  Beyond max_nesting on a CPU in the
 * set, both syncs refuse with -EBUSY and count it nested on that CPU's
 * stream.
 *
 * Needs CPUs 0 and 1; exits 77 (skipped) otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "drain.h"
#include "pin.h"

static const struct grb_config cfg_atomic =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_rseq =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);

struct outcome {
	int outside; /* the reservation past max_nesting on CPU 1 */
	int inside; /* the reservation past max_nesting on CPU 0 */
	int outside_flat; /* a reservation on CPU 1, not nested */
	struct grb_channel_stats st;
	int records;
	enum grb_sync sync; /* in use: the rseq sync may fall back to atomics */
};

/*
 * Reserves max_nesting records on CPU 0, the only CPU of the channel's
 * set, then one more on CPU 1 and one more on CPU 0; commits them, then
 * writes one record on CPU 1.
 */
static void run(const struct grb_config *cfg, struct outcome *out)
{
	unsigned char set[1] = { 0x1 };
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_ctx c[16], x;
	uint64_t v[16];
	unsigned int i;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.cpu_set = set;
	a.cpu_set_size = sizeof(set);
	ch = grb_channel_create(cfg, &a);
	CHECK(ch != NULL);
	if (!ch)
		return;
	out->sync = grb_channel_sync(ch, NULL);
	CHECK(pin(0) == 0);
	for (i = 0; i < cfg->max_nesting; i++) {
		c[i].event_id = 0;
		c[i].payload_len = 8;
		CHECK(grb_reserve(cfg, ch, &c[i]) == 0);
	}
	x.event_id = 0;
	x.payload_len = 8;
	CHECK(pin(1) == 0);
	out->outside = grb_reserve(cfg, ch, &x);
	CHECK(pin(0) == 0);
	out->inside = grb_reserve(cfg, ch, &x);
	for (i = cfg->max_nesting; i-- > 0;) {
		v[i] = i;
		grb_write(&c[i], &v[i], 8);
		grb_commit(cfg, &c[i]);
	}
	CHECK(pin(1) == 0);
	v[0] = 99;
	out->outside_flat = grb_write_record(cfg, ch, 0, &v[0], 8);
	CHECK(pin(0) == 0);
	grb_channel_flush(ch);
	out->records = drain(ch, 0, v, 16);
	CHECK(grb_channel_read_stats(ch, &out->st) == 0);
	grb_channel_destroy(ch);
}

static void check_outcome(const char *name, const struct outcome *o)
{
	printf("%s (%s in use): past max_nesting outside the set %d, inside %d; not nested "
	       "outside %d; filtered_cpu %llu, nested %llu, lost %llu, records %d\n",
	       name, o->sync == GRB_SYNC_PER_CPU_RSEQ ? "rseq" : "atomics", o->outside, o->inside,
	       o->outside_flat, (unsigned long long)o->st.filtered_cpu,
	       (unsigned long long)o->st.lost[GRB_LOST_NESTED],
	       (unsigned long long)o->st.lost_total, o->records);
	CHECK(o->outside == -ENODEV);
	CHECK(o->inside == -EBUSY);
	CHECK(o->outside_flat == -ENODEV);
	CHECK(o->st.filtered_cpu == 2);
	CHECK(o->st.lost[GRB_LOST_NESTED] == 1);
	CHECK(o->st.lost_total == 1);
	CHECK(o->records == 4);
}

int main(void)
{
	struct outcome atomic, rseq;
	cpu_set_t all;

	if (sched_getaffinity(0, sizeof(all), &all) || !CPU_ISSET(0, &all) || !CPU_ISSET(1, &all) ||
	    pin(1) || pin(0)) {
		printf("test_cpu_set_nesting: needs CPUs 0 and 1, skipped\n");
		return 77;
	}
	memset(&atomic, 0, sizeof(atomic));
	memset(&rseq, 0, sizeof(rseq));
	run(&cfg_atomic, &atomic);
	run(&cfg_rseq, &rseq);
	check_outcome("atomic", &atomic);
	check_outcome("rseq", &rseq);
	/* The two syncs agree. */
	CHECK(atomic.outside == rseq.outside && atomic.inside == rseq.inside);
	CHECK(atomic.st.filtered_cpu == rseq.st.filtered_cpu);
	CHECK(memcmp(atomic.st.lost, rseq.st.lost, sizeof(atomic.st.lost)) == 0);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	return check_exit("test_cpu_set_nesting");
}
