// SPDX-License-Identifier: MIT
/*
 * crash_push.c - a writer process killed in overwrite mode between the
 * move of the offset into a packet's next lap and the push that moves
 * consumed past the packet and counts its records overwritten (SIGKILL at
 * GRB_TP_RESERVED of the reservation that opens the packet).  The
 * consumer in this process finishes the push: it must not read the
 * packet (its memory may hold the next lap's first bytes), must count its
 * records overwritten, find nothing corrupt, and read every other record
 * the ring still holds, once each: committed == read + overwritten, and
 * the record being reserved counted died on a per-thread stream.
 *
 *   crash_push [--kills N]
 *
 * For each sync (the single writer on per-thread streams, the atomic sync
 * on a global stream) N children write records into memory files with no
 * reader, each sizing records so that one ends a packet exactly, until the
 * packet to open is of the second lap or later (a packet chosen by the
 * child's number); the reservation that opens it dies.
 */
#include <grb/native.h>

#include "dead_child.h"

#ifndef GRB_TEST_POINTS
#error "crash_push needs the test points (link grb_tp)"
#endif

#define SB 4096u
#define COUNT 4u
#define MAX_SEQ 100000u

static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);

/* The child: writes until the record to reserve opens packet `target`
 * (of lap 1 or later, so that its opener pushes), then dies in that
 * reservation, after its move of the offset. */
static void child(const struct grb_config *cfg, int sock, uint32_t target)
{
	struct grb_channel *ch = dead_child_channel(cfg, sock, SB, COUNT);
	uint32_t len = 8;
	uint64_t seq, end = 0;
	char buf[256];

	memset(buf, 0x5a, sizeof(buf));
	for (seq = 0; seq < MAX_SEQ; seq++) {
		struct grb_ctx ctx = { .payload_len = len };
		uint64_t rem;

		if (end && !(end & (SB - 1)) && end / SB >= target) {
			dead_arm(seq);
		}
		if (grb_reserve(cfg, ch, &ctx))
			_exit(4); /* overwrite mode never refuses these */
		memcpy(buf, &seq, sizeof(seq));
		grb_write(&ctx, buf, len);
		end = ctx.pos + ctx.slot_len;
		grb_commit(cfg, &ctx);
		/* The next record fills the packet when what is left fits
		 * one with the same header and 8 to 255 bytes of payload. */
		rem = SB - (end & (SB - 1));
		len = 8;
		if (rem >= ctx.header_len + 8 && rem < ctx.header_len + sizeof(buf))
			len = (uint32_t)(rem - ctx.header_len);
	}
	_exit(5);
}

/* One child: fork, attach, drain after the kill, check.  Return 0 if
 * the consumer got exactly what it must. */
static int one(const struct grb_config *cfg, const char *name, uint32_t n, uint64_t died)
{
	uint8_t *seen = calloc(MAX_SEQ, 1);
	struct grb_stream_stats ss;
	struct grb_channel *ch;
	struct dead_drain d;
	uint64_t q, last, consumed = 0;
	int status = 0, bad;

	if (!seen)
		return 1;
	ch = dead_child_run("crash_push", cfg, child, COUNT + n % 5, &status);
	if (!ch) {
		free(seen);
		return 1;
	}
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL || !dead_sh->armed) {
		fprintf(stderr,
			"crash_push: %s child %u: status %d, not killed in its reservation\n", name,
			n, status);
		grb_channel_destroy(ch);
		free(seen);
		return 1;
	}
	bad = dead_child_drain("crash_push", name, n, ch, seen, MAX_SEQ, &d);
	grb_channel_read_stream_stats(ch, 0, &ss);
	last = dead_sh->armed_seq; /* reserved, never committed */
	/* The ring keeps the newest packets: from the first record read on,
	 * every committed one. */
	for (q = d.first; q < last; q++)
		if (!seen[q]) {
			fprintf(stderr,
				"crash_push: %s child %u: record %" PRIu64 " of %" PRIu64
				"..%" PRIu64 " not read\n",
				name, n, q, d.first, last - 1);
			bad = 1;
			break;
		}
	if (grb_channel_consumed_records(ch, 0, &consumed))
		fprintf(stderr, "crash_push: %s child %u: consumed records: %s\n", name, n,
			grb_last_error());
	if (d.first == UINT64_MAX || d.dups || ss.corrupt_packets || ss.committed != last ||
	    ss.committed != d.read + ss.lost[GRB_LOST_OVERWRITTEN] || consumed != d.read ||
	    ss.lost[GRB_LOST_DIED] != died ||
	    ss.lost_total != ss.lost[GRB_LOST_OVERWRITTEN] + ss.lost[GRB_LOST_DIED]) {
		fprintf(stderr,
			"crash_push: %s child %u: committed %" PRIu64 " (commits made %" PRIu64
			"), read %" PRIu64 " (%" PRIu64 " twice, from %" PRIu64
			"), overwritten %" PRIu64 ", died %" PRIu64 " (expected %" PRIu64
			"), lost %" PRIu64 ", corrupt packets %" PRIu64
			", consumed records %" PRIu64 "\n",
			name, n, ss.committed, last, d.read, d.dups, d.first,
			ss.lost[GRB_LOST_OVERWRITTEN], ss.lost[GRB_LOST_DIED], died, ss.lost_total,
			ss.corrupt_packets, consumed);
		bad = 1;
	}
	grb_channel_destroy(ch);
	free(seen);
	return bad;
}

int main(int argc, char **argv)
{
	uint32_t kills = 5, n, failed = 0, runs = 0;

	if (argc == 3 && !strcmp(argv[1], "--kills"))
		kills = (uint32_t)strtoul(argv[2], NULL, 0);
	else if (argc != 1) {
		fprintf(stderr, "usage: crash_push [--kills N]\n");
		return 2;
	}
	if (dead_shared_init(GRB_TP_RESERVED))
		return 1;
	for (n = 0; n < kills; n++) {
		/* The reservation left open is counted died on a per-thread
		 * stream, not on a shared one (doc/design.md, "Limits"). */
		failed += (uint32_t)one(&cfg_thread, "per-thread", n, 1);
		failed += (uint32_t)one(&cfg_global, "global atomic", n, 0);
		runs += 2;
	}
	printf("crash_push: %u of %u runs failed\n", failed, runs);
	return failed != 0;
}
