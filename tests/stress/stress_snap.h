/* SPDX-License-Identifier: MIT */
/*
 * stress_snap.h - snapshot readers that keep looking at every stream of a
 * channel beside a consuming reader and the writers, and check each look:
 * every packet's decoded records agree with its native header and the
 * reader's count; every record intact, each writer's in order within the
 * look, timestamps that never go back (newest last); and none that the
 * consumer had returned before the look was sampled (those are consumed).
 * Include after stress_common.h; the records carry struct payload.
 *
 * The consumer calls snap_returned() after it returns each record; the run
 * calls snap_start() before its writers start and snap_stop() after its
 * consumer is done.
 */
#ifndef GRB_STRESS_SNAP_H
#define GRB_STRESS_SNAP_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <grb/grb.h>
#include <grb/native.h>

#define SNAP_READERS 2
#define SNAP_MAX_IDS 16
#define SNAP_MAX_STREAMS 64

struct snap_stats {
	uint64_t looks, packets, records, again, lost_packets;
};

struct snap_run {
	struct grb_channel *ch;
	const char *name;
	uint32_t nids, nstreams;
	/* Per writer id and stream: 1 + the highest sequence number the
	 * consumer returned, stored after it returned it. */
	uint64_t returned[SNAP_MAX_IDS][SNAP_MAX_STREAMS];
	int stop;
	struct snap_stats st[SNAP_READERS];
	pthread_t threads[SNAP_READERS];
};

static struct snap_run snap;

/* The consumer returned writer w's record seq from stream s. */
static inline void snap_returned(uint32_t w, uint32_t s, uint64_t seq)
{
	if (w < SNAP_MAX_IDS && s < SNAP_MAX_STREAMS)
		/* release: the record's return before the mark; pairs with the
		 * acquire of snap_look()'s caller, which samples after it. */
		__atomic_store_n(&snap.returned[w][s], seq + 1, __ATOMIC_RELEASE);
}

/* One look at stream s through r, sampled after pre[] was read: return
 * the records seen. */
static uint64_t snap_look(struct grb_reader *r, uint32_t s, const uint64_t *pre,
			  struct snap_stats *st)
{
	uint64_t last[SNAP_MAX_IDS] = { 0 }, last_ts = 0, n = 0;
	struct grb_packet pkt;
	int ret;

	while ((ret = grb_reader_get_next(r, &pkt)) == 0) {
		const struct grb_native_packet *h = (const struct grb_native_packet *)pkt.data;
		struct grb_packet_cursor cur = { 0, pkt.info.ts_begin };
		struct grb_record rec;
		uint64_t all = 0;
		int rr;

		st->packets++;
		while (grb_packet_record_next(r, &pkt, &cur, &rec) == 0)
			all++;
		if (all != pkt.info.records || cur.off != pkt.info.content_size)
			FAIL("%s: snapshot of stream %u packet %llu: %llu records decoded, %llu "
			     "said\n",
			     snap.name, s, (unsigned long long)pkt.info.seq,
			     (unsigned long long)all, (unsigned long long)pkt.info.records);
		if (h->magic != GRB_NATIVE_PACKET_MAGIC || h->seq != pkt.info.seq ||
		    h->records != pkt.info.records || h->content_size != pkt.info.content_size ||
		    h->ts_begin != pkt.info.ts_begin || h->ts_end != pkt.info.ts_end ||
		    h->packet_size != pkt.info.packet_size)
			FAIL("%s: snapshot of stream %u packet %llu: header disagrees\n", snap.name,
			     s, (unsigned long long)pkt.info.seq);
		grb_packet_cursor_init(&pkt, &cur);
		while ((rr = grb_packet_record_next(r, &pkt, &cur, &rec)) == 0) {
			struct payload p;

			n++;
			if (payload_check(rec.payload, rec.payload_len, &p) ||
			    p.writer >= snap.nids) {
				FAIL("%s: snapshot of stream %u: torn record\n", snap.name, s);
				continue;
			}
			if (p.seq + 1 <= last[p.writer])
				FAIL("%s: snapshot of stream %u: writer %u seq %llu after %llu\n",
				     snap.name, s, p.writer, (unsigned long long)p.seq,
				     (unsigned long long)last[p.writer] - 1);
			last[p.writer] = p.seq + 1;
			if (p.seq < pre[p.writer])
				FAIL("%s: snapshot of stream %u shows writer %u seq %llu, returned "
				     "before the sample\n",
				     snap.name, s, p.writer, (unsigned long long)p.seq);
			if (rec.ts < last_ts)
				FAIL("%s: snapshot of stream %u: timestamp back\n", snap.name, s);
			last_ts = rec.ts;
		}
		if (rr != -ENODATA)
			FAIL("%s: snapshot of stream %u: decode error %d\n", snap.name, s, rr);
		grb_reader_put(r, &pkt);
	}
	if (ret == -EAGAIN)
		st->again++;
	else if (ret != -ENODATA)
		FAIL("%s: snapshot of stream %u: get_next %d\n", snap.name, s, ret);
	st->looks++;
	st->records += n;
	return n;
}

/* A reader that is done: what it saw overwritten, and no corrupt packet. */
static void snap_reader_done(struct grb_reader *r, struct snap_stats *st)
{
	st->lost_packets += grb_reader_lost_packets(r);
	if (grb_reader_corrupt_packets(r))
		FAIL("%s: snapshot found a corrupt packet\n", snap.name);
	grb_reader_destroy(r);
}

/* Loops over every stream: a kept reader sampled again, or a new one. */
static void *snap_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct snap_stats *st = &snap.st[id];
	struct grb_reader *keep[SNAP_MAX_STREAMS] = { NULL };
	unsigned int seed = 77u + (unsigned int)id;
	struct timespec pause = { 0, 50000 };
	uint32_t s, w;

	while (!__atomic_load_n(&snap.stop, __ATOMIC_ACQUIRE)) {
		for (s = 0; s < snap.nstreams; s++) {
			uint64_t pre[SNAP_MAX_IDS];
			struct grb_reader *r;

			/* acquire: pairs with snap_returned(). */
			for (w = 0; w < snap.nids; w++)
				pre[w] = __atomic_load_n(&snap.returned[w][s], __ATOMIC_ACQUIRE);
			if (keep[s] && rand_r(&seed) % 2) {
				if (grb_reader_snapshot_restart(keep[s]))
					FAIL("%s: snapshot restart failed\n", snap.name);
				snap_look(keep[s], s, pre, st);
				continue;
			}
			r = grb_reader_create(snap.ch, s, GRB_READER_SNAPSHOT);
			if (!r) {
				FAIL("%s: snapshot reader %u: %d\n", snap.name, s, errno);
				continue;
			}
			snap_look(r, s, pre, st);
			if (!keep[s])
				keep[s] = r;
			else
				snap_reader_done(r, st);
		}
		nanosleep(&pause, NULL);
	}
	for (s = 0; s < SNAP_MAX_STREAMS; s++)
		if (keep[s])
			snap_reader_done(keep[s], st);
	return NULL;
}

/* Starts the snapshot readers on ch's streams; nids writer ids. */
static int snap_start(struct grb_channel *ch, const char *name, uint32_t nids)
{
	int i;

	memset(&snap, 0, sizeof(snap));
	snap.ch = ch;
	snap.name = name;
	snap.nids = nids;
	snap.nstreams = grb_channel_nr_streams(ch);
	if (nids > SNAP_MAX_IDS || snap.nstreams > SNAP_MAX_STREAMS) {
		FAIL("%s: %u writer ids, %u streams: too many for the snapshot readers\n", name,
		     nids, snap.nstreams);
		return -1;
	}
	for (i = 0; i < SNAP_READERS; i++)
		pthread_create(&snap.threads[i], NULL, snap_main, (void *)(intptr_t)i);
	return 0;
}

/* Stops them; *sum gets their totals. */
static void snap_stop(struct snap_stats *sum)
{
	int i;

	__atomic_store_n(&snap.stop, 1, __ATOMIC_RELEASE);
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < SNAP_READERS; i++) {
		pthread_join(snap.threads[i], NULL);
		sum->looks += snap.st[i].looks;
		sum->packets += snap.st[i].packets;
		sum->records += snap.st[i].records;
		sum->again += snap.st[i].again;
		sum->lost_packets += snap.st[i].lost_packets;
	}
}

#endif
