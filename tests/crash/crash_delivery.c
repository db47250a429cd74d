// SPDX-License-Identifier: MIT
/*
 * crash_delivery.c - a writer process killed inside the delivery that a
 * record's commit starts: the record ends its packet exactly, its commit's
 * add completes the packet's lap, and SIGKILL comes at the test point
 * right after that add (GRB_TP_COMMIT_ADDED), before the delivery marks
 * the packet.  The record is committed: the consumer in this process must
 * read it with every record before it, once each, count nothing died and
 * find nothing corrupt (doc/design.md, "A writer that exits or dies").
 *
 *   crash_delivery [--kills N]
 *
 * For each sync (the single writer on per-thread streams, the atomic sync
 * on a global stream) N children write records into memory files, each
 * until a record ends a packet exactly at a packet chosen by the child's
 * number; the child sizes the packet's last record to fill it.
 */
#include <grb/native.h>

#include "dead_child.h"

#ifndef GRB_TEST_POINTS
#error "crash_delivery needs the test points (link grb_tp)"
#endif

#define SB 4096u
#define MAX_SEQ 100000u

static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

/* The child: writes until a record that ends the packet number `target`
 * (or a later one) exactly is committing, then dies in its commit. */
static void child(const struct grb_config *cfg, int sock, uint32_t target)
{
	struct grb_channel *ch = dead_child_channel(cfg, sock, SB, 4);
	uint32_t len = 8;
	uint64_t seq;
	char buf[256];

	memset(buf, 0x5a, sizeof(buf));
	for (seq = 0; seq < MAX_SEQ; seq++) {
		struct grb_ctx ctx = { .payload_len = len };
		uint64_t end, rem;

		if (grb_reserve(cfg, ch, &ctx)) {
			/* The reader reads only after the kill: a full ring
			 * before the target is a test that cannot go on. */
			_exit(4);
		}
		memcpy(buf, &seq, sizeof(seq));
		grb_write(&ctx, buf, len);
		end = ctx.pos + ctx.slot_len;
		if (!(end & (SB - 1)) && end / SB > target) {
			dead_arm(seq);
		}
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
static int one(const struct grb_config *cfg, const char *name, uint32_t n)
{
	uint8_t *seen = calloc(MAX_SEQ, 1);
	struct grb_channel_stats cs;
	struct grb_channel *ch;
	struct dead_drain d;
	uint64_t q, last;
	int status = 0, bad;

	if (!seen)
		return 1;
	ch = dead_child_run("crash_delivery", cfg, child, 1 + n % 3, &status);
	if (!ch) {
		free(seen);
		return 1;
	}
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL || !dead_sh->armed) {
		fprintf(stderr,
			"crash_delivery: %s child %u: status %d, not killed in its commit\n", name,
			n, status);
		grb_channel_destroy(ch);
		free(seen);
		return 1;
	}
	bad = dead_child_drain("crash_delivery", name, n, ch, seen, MAX_SEQ, &d);
	grb_channel_read_stats(ch, &cs);
	last = dead_sh->armed_seq;
	for (q = 0; q <= last; q++)
		if (!seen[q]) {
			fprintf(stderr,
				"crash_delivery: %s child %u: record %" PRIu64 " of 0..%" PRIu64
				" (the last committed, its delivery killed) not read\n",
				name, n, q, last);
			bad = 1;
			break;
		}
	if (d.read != last + 1 || d.dups || cs.lost[GRB_LOST_DIED] || cs.corrupt_packets) {
		fprintf(stderr,
			"crash_delivery: %s child %u: read %" PRIu64 " of %" PRIu64 ", %" PRIu64
			" twice, %" PRIu64 " died, %" PRIu64 " corrupt packets\n",
			name, n, d.read, last + 1, d.dups, cs.lost[GRB_LOST_DIED],
			cs.corrupt_packets);
		bad = 1;
	}
	grb_channel_destroy(ch);
	free(seen);
	return bad;
}

int main(int argc, char **argv)
{
	uint32_t kills = 6, n, failed = 0, runs = 0;

	if (argc == 3 && !strcmp(argv[1], "--kills"))
		kills = (uint32_t)strtoul(argv[2], NULL, 0);
	else if (argc != 1) {
		fprintf(stderr, "usage: crash_delivery [--kills N]\n");
		return 2;
	}
	if (dead_shared_init(GRB_TP_COMMIT_ADDED))
		return 1;
	for (n = 0; n < kills; n++) {
		failed += (uint32_t)one(&cfg_thread, "per-thread", n);
		failed += (uint32_t)one(&cfg_global, "global atomic", n);
		runs += 2;
	}
	printf("crash_delivery: %u of %u runs failed\n", failed, runs);
	return failed != 0;
}
