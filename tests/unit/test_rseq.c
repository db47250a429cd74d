// SPDX-License-Identifier: MIT
/*
 * test_rseq.c - the per-CPU restartable-sequence sync, deterministically:
 * which sync is in use, records written on one CPU, a commit made after the
 * writer moved to another CPU (remote), a lap completed by a remote commit
 * and one completed locally after a remote commit, a flush from another
 * thread (fenced), the atomic fallback (GRB_RSEQ=0), and the refusal of a
 * caller whose sequences are emulated when the library's are native (or the
 * reverse).
 *
 * Needs two CPUs; exits 77 (skipped) on one.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "drain.h"
#include "pin.h"

static const struct grb_config cfg_rseq =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);

static int g_rseq; /* 1: restartable sequences in use, 0: the fallback */

static int put(struct grb_channel *ch, uint64_t v)
{
	return grb_write_record(&cfg_rseq, ch, 0, &v, sizeof(v));
}

static struct grb_channel *make(uint32_t sb, uint32_t n)
{
	struct grb_channel_attr a;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = n;
	return grb_channel_create(&cfg_rseq, &a);
}

/* A thread pinned on CPU 0 writes values first..first+n-1. */
struct filler {
	struct grb_channel *ch;
	uint64_t first, n;
	int ok;
};

static void *fill_main(void *arg)
{
	struct filler *f = (struct filler *)arg;
	uint64_t i;

	f->ok = pin(0) == 0;
	for (i = 0; f->ok && i < f->n; i++)
		f->ok = put(f->ch, f->first + i) == 0;
	return NULL;
}

static void *flush_main(void *arg)
{
	/* The flusher runs on CPU 1, the stream belongs to CPU 0. */
	if (pin(1) == 0)
		grb_channel_flush((struct grb_channel *)arg);
	return NULL;
}

static void run_filler(struct grb_channel *ch, uint64_t first, uint64_t n)
{
	struct filler f = { ch, first, n, 0 };
	pthread_t t;

	CHECK(pthread_create(&t, NULL, fill_main, &f) == 0);
	pthread_join(t, NULL);
	CHECK(f.ok);
}

/*
 * A sub-buffer of 256 bytes holds a 64-byte native packet header, the first
 * record with its extended header (24 bytes) and ten 16-byte records, 8 bytes
 * left.  The test thread reserves record 1 on CPU 0, moves to CPU 1; a thread
 * on CPU 0 writes 2..12: 12 does not fit and closes the sub-buffer.
 * Which of the two commits completes the lap depends on the order.
 */
static void test_remote_completion(int remote_last)
{
	struct grb_channel *ch = make(256, 4);
	struct grb_channel_stats st;
	struct grb_ctx ctx;
	uint64_t v = 1, out[64];
	int n, i;

	CHECK(ch != NULL);
	if (!ch)
		return;
	CHECK(pin(0) == 0);
	ctx.event_id = 0;
	ctx.payload_len = sizeof(v);
	CHECK(grb_reserve(&cfg_rseq, ch, &ctx) == 0);
	grb_write(&ctx, &v, sizeof(v));
	CHECK(pin(1) == 0);
	if (remote_last) {
		/* The others complete first; the remote commit completes the
		 * lap and must deliver it. */
		run_filler(ch, 2, 11);
		CHECK(drain_packets(ch, out, 64) == 0);
		grb_commit(&cfg_rseq, &ctx);
	} else {
		/* The remote commit first; the local one that completes the
		 * lap must count it. */
		grb_commit(&cfg_rseq, &ctx);
		CHECK(drain_packets(ch, out, 64) == 0);
		run_filler(ch, 2, 11);
	}
	n = drain_packets(ch, out, 64);
	CHECK(n == 11);
	for (i = 0; i < n && i < 11; i++)
		CHECK(out[i] == (uint64_t)i + 1);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.remote_commits == (uint64_t)g_rseq);
	CHECK(st.lost_total == 0 && st.invariant_failures == 0);
	grb_channel_destroy(ch);
}

static void test_local_and_flush(void)
{
	struct grb_channel *ch = make(4096, 4);
	struct grb_channel_stats st;
	uint64_t out[64];
	pthread_t t;
	int i, n;

	CHECK(ch != NULL);
	if (!ch)
		return;
	CHECK(pin(0) == 0);
	for (i = 1; i <= 5; i++)
		CHECK(put(ch, (uint64_t)i) == 0);
	/* Nothing delivered yet: the sub-buffer is open. */
	CHECK(drain_packets(ch, out, 64) == 0);
	CHECK(pthread_create(&t, NULL, flush_main, ch) == 0);
	pthread_join(t, NULL);
	n = drain_packets(ch, out, 64);
	CHECK(n == 5);
	for (i = 0; i < n && i < 5; i++)
		CHECK(out[i] == (uint64_t)i + 1);
	/* The writer goes on after the flush. */
	for (i = 6; i <= 8; i++)
		CHECK(put(ch, (uint64_t)i) == 0);
	CHECK(grb_channel_flush(ch) == 0);
	n = drain_packets(ch, out, 64);
	CHECK(n == 3 && out[0] == 6 && out[2] == 8);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.fenced_flushes == 2 * (uint64_t)g_rseq);
	/* the first flush's padding, committed from CPU 1 */
	CHECK(st.remote_commits == (uint64_t)g_rseq);
	CHECK(st.lost_total == 0 && st.invariant_failures == 0);
	grb_channel_destroy(ch);
}

int main(void)
{
	struct grb_channel *ch;
	const char *why;
	const char *env = getenv("GRB_RSEQ");
	int fallback = env && (!strcmp(env, "0") || !strcmp(env, "off"));
	enum grb_sync in_use;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || pin(1) || pin(0)) {
		printf("test_rseq: needs CPUs 0 and 1, skipped\n");
		return 77;
	}
	ch = make(4096, 4);
	CHECK(ch != NULL);
	if (!ch)
		return check_exit("test_rseq");
	in_use = grb_channel_sync(ch, &why);
	printf("test_rseq: sync in use: %s%s%s\n",
	       in_use == GRB_SYNC_PER_CPU_RSEQ ? "per-CPU rseq" : "atomic", why ? ", " : "",
	       why ? why : "");
	/* why lives as long as the channel. */
	if (fallback)
		CHECK(in_use == GRB_SYNC_ATOMIC && why && strstr(why, "GRB_RSEQ"));
	else
		CHECK(in_use == GRB_SYNC_PER_CPU_RSEQ && why == NULL);
	grb_channel_destroy(ch);
	g_rseq = in_use == GRB_SYNC_PER_CPU_RSEQ;
	{
		/* A caller built with the other kind of sequences (native
		 * against emulated) is refused. */
		struct grb_config other = cfg_rseq;

		other.abi ^= GRB_CONFIG_ABI_EMULATED;
		errno = 0;
		CHECK(grb_channel_create(&other, NULL) == NULL && errno == EINVAL);
		CHECK(strstr(grb_last_error(), "restartable sequences") != NULL);
	}
	test_remote_completion(1);
	test_remote_completion(0);
	test_local_and_flush();
	return check_exit("test_rseq");
}
