// SPDX-License-Identifier: MIT
/*
 * stress_core.c - writers, nested signal-handler writers and a concurrent
 * consumer on every mode and alloc policy, with exact accounting.
 *
 * Per case: W writer threads (more than the cores, so they are preempted and
 * migrate; a helper thread also moves them between CPUs) write records that
 * carry (writer, seq, filler, checksum).  A signal thread interrupts them
 * with SIGUSR1; the handler writes records of its own (writer id W + i),
 * sometimes two nested ones, while the interrupted thread may hold a
 * reservation; some records are discarded after reserve, some are too big.
 * One consumer drains every stream concurrently and checks each record's
 * checksum, per (writer, stream) order, no duplicate, timestamps that never
 * go backwards in a stream and stay within their packet's range, and that
 * the records decoded in a packet are exactly the packet's committed count
 * (padding is never decoded).  At the end:
 *   attempts == committed + app-discarded + refused, each refusal counted by
 *   the library under its cause, and
 *   discard/blocking: delivered == committed;
 *   overwrite: delivered + overwritten == committed.
 *
 * GRB_STRESS_RECORDS (records per case, default 4,000,000) and
 * GRB_STRESS_SCALE (a factor) size the run; argv[1] picks one case by name.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "stress_common.h"
#include "stress_write.h"

#define NR_WRITERS 4
#define NR_IDS (2 * NR_WRITERS)
#define MAX_STREAMS 64

/* Writer-side counts, per writer id (threads 0..W-1, handlers W..2W-1). */
struct wcount {
	uint64_t attempts, committed, discarded;
	uint64_t err[8]; /* ENOBUFS, E2BIG, EBUSY, ETIMEDOUT, ENOSPC, ENODEV, EIO, other */
	uint64_t seq; /* next seq */
	char pad[64];
};

struct stress_case {
	const char *name;
	const struct grb_config *cfg;
	int (*write_one)(struct grb_channel *ch, const struct payload *p, uint32_t len, int how);
	int (*write_nested2)(struct grb_channel *ch, const struct payload *a,
			     const struct payload *b, uint32_t len);
	uint32_t subbuf_size, subbuf_count;
};

static struct wcount counts[NR_IDS];
static struct grb_channel *g_ch;
static const struct stress_case *g_case;
static uint64_t g_quota;
static volatile int g_stop_signals;
static pthread_t g_writers[NR_WRITERS];
static volatile int g_ready[NR_WRITERS];
static __thread int tls_writer = -1;

static void count_result(struct wcount *c, int ret)
{
	switch (ret) {
	case 0:
		c->committed++;
		break;
	case -ENOBUFS:
		c->err[0]++;
		break;
	case -E2BIG:
		c->err[1]++;
		break;
	case -EBUSY:
		c->err[2]++;
		break;
	case -ETIMEDOUT:
		c->err[3]++;
		break;
	case -ENOSPC:
		c->err[4]++;
		break;
	case -ENODEV:
		c->err[5]++;
		break;
	case -EIO:
		c->err[6]++;
		break;
	default:
		c->err[7]++;
		break;
	}
}

static const struct grb_config c_gd =
	STRESS_CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_go =
	STRESS_CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config c_gb =
	STRESS_CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING);
static const struct grb_config c_cd =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_co =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config c_cb =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING);
static const struct grb_config c_td =
	STRESS_CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config c_to =
	STRESS_CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);
static const struct grb_config c_tb =
	STRESS_CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_BLOCKING);
static const struct grb_config c_ad =
	STRESS_CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_rd =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config c_ro =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static const struct grb_config c_rb =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_BLOCKING);

STRESS_DEFINE_WRITE(gd, c_gd)
STRESS_DEFINE_WRITE(go, c_go)
STRESS_DEFINE_WRITE(gb, c_gb)
STRESS_DEFINE_WRITE(cd, c_cd)
STRESS_DEFINE_WRITE(co, c_co)
STRESS_DEFINE_WRITE(cb, c_cb)
STRESS_DEFINE_WRITE(td, c_td)
STRESS_DEFINE_WRITE(to, c_to)
STRESS_DEFINE_WRITE(tb, c_tb)
STRESS_DEFINE_WRITE(ad, c_ad)
STRESS_DEFINE_WRITE(rd, c_rd)
STRESS_DEFINE_WRITE(ro, c_ro)
STRESS_DEFINE_WRITE(rb, c_rb)

static const struct stress_case cases[] = {
	{ "global-discard", &c_gd, gd_one, gd_nested2, 4096, 4 },
	{ "global-overwrite", &c_go, go_one, go_nested2, 4096, 4 },
	{ "global-blocking", &c_gb, gb_one, gb_nested2, 4096, 4 },
	{ "percpu-discard", &c_cd, cd_one, cd_nested2, 2048, 4 },
	{ "percpu-overwrite", &c_co, co_one, co_nested2, 2048, 4 },
	{ "percpu-blocking", &c_cb, cb_one, cb_nested2, 2048, 4 },
	{ "perthread-discard", &c_td, td_one, td_nested2, 2048, 4 },
	{ "perthread-overwrite", &c_to, to_one, to_nested2, 2048, 4 },
	{ "perthread-blocking", &c_tb, tb_one, tb_nested2, 2048, 4 },
	{ "perthread-atomic-shared", &c_ad, ad_one, ad_nested2, 2048, 4 },
	{ "percpu-rseq-discard", &c_rd, rd_one, rd_nested2, 2048, 4 },
	{ "percpu-rseq-overwrite", &c_ro, ro_one, ro_nested2, 2048, 4 },
	{ "percpu-rseq-blocking", &c_rb, rb_one, rb_nested2, 2048, 4 },
};

/* Signal handler: one record, or two nested ones, from the handler's own
 * writer id.  It may interrupt the thread between reserve and commit. */
static void on_signal(int sig)
{
	int w = tls_writer, saved = errno, ret;
	struct wcount *c;
	struct payload a, b;
	uint32_t la;

	(void)sig;
	if (w < 0)
		return;
	c = &counts[NR_WRITERS + w];
	la = make_payload(&a, (uint32_t)(NR_WRITERS + w), c->seq);
	if (c->seq % 3 == 0) {
		make_payload(&b, (uint32_t)(NR_WRITERS + w), c->seq + 1);
		ret = g_case->write_nested2(g_ch, &a, &b, la);
		c->attempts += 2;
		count_result(c, -(ret & 0xffff));
		count_result(c, -((ret >> 16) & 0xffff));
		c->seq += 2;
	} else {
		c->attempts++;
		count_result(c, g_case->write_one(g_ch, &a, la, 0));
		c->seq++;
	}
	errno = saved;
}

static void *writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	struct wcount *c = &counts[w];
	struct payload p;
	uint64_t i;

	tls_writer = w;
	__atomic_store_n(&g_ready[w], 1, __ATOMIC_RELEASE);
	for (i = 0; i < g_quota; i++) {
		uint32_t len = make_payload(&p, (uint32_t)w, c->seq);
		int ret;

		c->attempts++;
		if (i % 997 == 13) {
			/* Too big for any sub-buffer: refused, counted. */
			static unsigned char big[1 << 16];

			ret = grb_write_record(g_case->cfg, g_ch, 0, big, g_case->subbuf_size);
			count_result(c, ret);
			continue;
		}
		{
			int how = i % 101 == 7;

			/* rseq: some commits (and discards) after a migration. */
			if (g_case->cfg->sync == GRB_SYNC_PER_CPU_RSEQ && i % 509 == 5)
				how += 2;
			ret = g_case->write_one(g_ch, &p, len, how);
		}
		/* Some work between records, and a yield now and then, so that
		 * the consumer keeps up part of the time. */
		{
			volatile uint32_t k;

			for (k = 0; k < (uint32_t)(i % 128); k++)
				;
			if (i % 512 == 0)
				sched_yield();
		}
		if (ret == 1) {
			c->discarded++;
			c->seq++;
			continue;
		}
		count_result(c, ret);
		c->seq++;
	}
	tls_writer = -1;
	return NULL;
}

/* Interrupts writers with SIGUSR1 and moves them between CPUs. */
static void *signal_main(void *arg)
{
	unsigned int seed = 12345, n = 0;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec ts = { 0, 20000 };

	(void)arg;
	while (!__atomic_load_n(&g_stop_signals, __ATOMIC_ACQUIRE)) {
		int w = (int)(rand_r(&seed) % NR_WRITERS);

		if (__atomic_load_n(&g_ready[w], __ATOMIC_ACQUIRE) == 1)
			pthread_kill(g_writers[w], SIGUSR1);
		if (++n % 50 == 0 && ncpu > 1) {
			cpu_set_t cs;

			CPU_ZERO(&cs);
			if (rand_r(&seed) % 3 == 0) {
				int i;

				for (i = 0; i < ncpu; i++)
					CPU_SET(i, &cs);
			} else {
				CPU_SET((int)(rand_r(&seed) % (unsigned)ncpu), &cs);
			}
			if (__atomic_load_n(&g_ready[w], __ATOMIC_ACQUIRE) == 1)
				pthread_setaffinity_np(g_writers[w], sizeof(cs), &cs);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Consumer state. */
struct cstate {
	uint64_t delivered[NR_IDS];
	uint64_t last_seq[NR_IDS][MAX_STREAMS];
	uint8_t *seen[NR_IDS];
	uint64_t seen_bits;
	uint64_t last_ts[MAX_STREAMS];
	uint64_t packets, records;
	uint64_t prev_lost[MAX_STREAMS];
};

static void check_packet(struct cstate *st, struct grb_reader *r, const struct grb_packet *pkt)
{
	struct grb_packet_cursor cur;
	struct grb_record rec;
	uint32_t s = pkt->stream_index;
	uint64_t n = 0, first = 1;
	int ret;

	st->packets++;
	if (pkt->info.lost < st->prev_lost[s])
		FAIL("stream %u: cumulative lost went down %llu -> %llu\n", s,
		     (unsigned long long)st->prev_lost[s], (unsigned long long)pkt->info.lost);
	st->prev_lost[s] = pkt->info.lost;
	grb_packet_cursor_init(pkt, &cur);
	while ((ret = grb_packet_record_next(r, pkt, &cur, &rec)) == 0) {
		struct payload p;
		uint32_t w;

		n++;
		if (rec.payload_len < PAYLOAD_FIXED) {
			FAIL("short record %u\n", rec.payload_len);
			continue;
		}
		memcpy(&p, rec.payload, PAYLOAD_FIXED);
		if (p.filler_len > MAX_FILLER || PAYLOAD_FIXED + p.filler_len > rec.payload_len ||
		    p.writer >= NR_IDS) {
			FAIL("bad record header writer %u filler %u len %u\n", p.writer,
			     p.filler_len, rec.payload_len);
			continue;
		}
		memcpy(p.filler, (const char *)rec.payload + PAYLOAD_FIXED, p.filler_len);
		if (payload_sum(&p) != p.sum) {
			FAIL("checksum mismatch writer %u seq %llu\n", p.writer,
			     (unsigned long long)p.seq);
			continue;
		}
		w = p.writer;
		if (p.seq < st->last_seq[w][s])
			FAIL("writer %u stream %u: seq %llu after %llu\n", w, s,
			     (unsigned long long)p.seq, (unsigned long long)st->last_seq[w][s] - 1);
		st->last_seq[w][s] = p.seq + 1;
		if (p.seq < st->seen_bits) {
			if (st->seen[w][p.seq / 8] & (1u << (p.seq % 8)))
				FAIL("writer %u seq %llu delivered twice\n", w,
				     (unsigned long long)p.seq);
			st->seen[w][p.seq / 8] |= (uint8_t)(1u << (p.seq % 8));
		}
		if (rec.ts < st->last_ts[s])
			FAIL("stream %u: timestamp went back %llu -> %llu\n", s,
			     (unsigned long long)st->last_ts[s], (unsigned long long)rec.ts);
		if (rec.ts < pkt->info.ts_begin || rec.ts > pkt->info.ts_end)
			FAIL("stream %u: ts %llu outside packet [%llu, %llu]\n", s,
			     (unsigned long long)rec.ts, (unsigned long long)pkt->info.ts_begin,
			     (unsigned long long)pkt->info.ts_end);
		if (first && rec.ts < pkt->info.ts_begin)
			FAIL("first record before packet begin\n");
		first = 0;
		st->last_ts[s] = rec.ts;
		st->delivered[w]++;
	}
	if (ret != -ENODATA)
		FAIL("stream %u packet %llu: record decode error %d\n", s,
		     (unsigned long long)pkt->info.seq, ret);
	if (n != pkt->info.records)
		FAIL("stream %u packet %llu: decoded %llu records, packet says %llu\n", s,
		     (unsigned long long)pkt->info.seq, (unsigned long long)n,
		     (unsigned long long)pkt->info.records);
	st->records += n;
}

struct consumer_arg {
	struct cstate *st;
	volatile int finalized;
	uint32_t nr_streams;
};

static void *consumer_main(void *arg)
{
	struct consumer_arg *ca = (struct consumer_arg *)arg;
	struct grb_reader *r[MAX_STREAMS];
	uint32_t i, n = ca->nr_streams, ended;
	struct grb_packet pkt;

	for (i = 0; i < n; i++) {
		r[i] = grb_reader_create(g_ch, i, 0);
		if (!r[i])
			FAIL("reader_create %u: %d\n", i, errno);
	}
	for (;;) {
		int progress = 0;

		ended = 0;
		for (i = 0; i < n; i++) {
			int ret, k;

			for (k = 0; k < 8; k++) {
				ret = grb_reader_get_next(r[i], &pkt);
				if (ret)
					break;
				check_packet(ca->st, r[i], &pkt);
				if (grb_reader_put(r[i], &pkt))
					FAIL("put failed\n");
				progress = 1;
			}
			if (ret == -ENODATA)
				ended++;
			else if (ret && ret != -EAGAIN)
				FAIL("stream %u: get_next %d\n", i, ret);
		}
		if (ended == n)
			break;
		if (!progress)
			sched_yield();
	}
	for (i = 0; i < n; i++)
		grb_reader_destroy(r[i]);
	return NULL;
}

static int run_case(const struct stress_case *sc, uint64_t total)
{
	struct grb_channel_attr a;
	struct cstate *st = (struct cstate *)calloc(1, sizeof(*st));
	struct consumer_arg ca;
	struct grb_channel_stats cs;
	pthread_t cons, sig;
	uint64_t attempts = 0, committed = 0, discarded = 0, delivered = 0, err[8] = { 0 };
	struct timespec t0, t1;
	int i, f0 = failures;

	memset(counts, 0, sizeof(counts));
	for (i = 0; i < NR_WRITERS; i++)
		g_ready[i] = 0;
	g_case = sc;
	g_quota = total / NR_WRITERS;
	st->seen_bits = g_quota * 2 + 16;
	for (i = 0; i < NR_IDS; i++)
		st->seen[i] = (uint8_t *)calloc(st->seen_bits / 8 + 1, 1);
	grb_channel_attr_init(&a);
	a.subbuf_size = sc->subbuf_size;
	a.subbuf_count = sc->subbuf_count;
	a.nr_streams = sc->cfg->sync == GRB_SYNC_ATOMIC ? 2 : 8; /* atomic: shared streams */
	a.blocking_timeout_us = 2000;
	/* rseq: flushes from the timer thread race with the writers. */
	if (sc->cfg->sync == GRB_SYNC_PER_CPU_RSEQ)
		a.switch_timer_us = 300;
	g_ch = grb_channel_create(sc->cfg, &a);
	if (!g_ch) {
		FAIL("%s: channel_create: %s\n", sc->name, grb_last_error());
		return 1;
	}
	ca.st = st;
	ca.finalized = 0;
	ca.nr_streams = grb_channel_nr_streams(g_ch);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&cons, NULL, consumer_main, &ca);
	for (i = 0; i < NR_WRITERS; i++)
		pthread_create(&g_writers[i], NULL, writer_main, (void *)(intptr_t)i);
	g_stop_signals = 0;
	pthread_create(&sig, NULL, signal_main, NULL);
	for (i = 0; i < NR_WRITERS; i++) {
		pthread_join(g_writers[i], NULL);
		__atomic_store_n(&g_ready[i], 2, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&g_stop_signals, 1, __ATOMIC_RELEASE);
	pthread_join(sig, NULL);
	grb_channel_finalize(g_ch);
	pthread_join(cons, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	grb_channel_read_stats(g_ch, &cs);
	for (i = 0; i < NR_IDS; i++) {
		int k;

		attempts += counts[i].attempts;
		committed += counts[i].committed;
		discarded += counts[i].discarded;
		delivered += st->delivered[i];
		for (k = 0; k < 8; k++)
			err[k] += counts[i].err[k];
		if (sc->cfg->mode != GRB_MODE_OVERWRITE && st->delivered[i] != counts[i].committed)
			FAIL("%s: writer %d committed %llu, delivered %llu\n", sc->name, i,
			     (unsigned long long)counts[i].committed,
			     (unsigned long long)st->delivered[i]);
	}
	if (attempts != committed + discarded + err[0] + err[1] + err[2] + err[3] + err[4] +
				err[5] + err[6] + err[7])
		FAIL("%s: attempts do not add up\n", sc->name);
	if (err[7] || err[5] || err[6])
		FAIL("%s: unexpected errors other=%llu enodev=%llu eio=%llu\n", sc->name,
		     (unsigned long long)err[7], (unsigned long long)err[5],
		     (unsigned long long)err[6]);
	if (cs.lost[GRB_LOST_FULL] + cs.lost[GRB_LOST_WRAP] != err[0])
		FAIL("%s: ENOBUFS %llu != lost full %llu + wrap %llu\n", sc->name,
		     (unsigned long long)err[0], (unsigned long long)cs.lost[GRB_LOST_FULL],
		     (unsigned long long)cs.lost[GRB_LOST_WRAP]);
	if (cs.lost[GRB_LOST_TOO_BIG] != err[1] || cs.lost[GRB_LOST_NESTED] != err[2] ||
	    cs.lost[GRB_LOST_TIMEOUT] != err[3] || cs.lost[GRB_LOST_NO_STREAM] != err[4])
		FAIL("%s: per-cause counts differ: too_big %llu/%llu nested %llu/%llu timeout "
		     "%llu/%llu no_stream %llu/%llu\n",
		     sc->name, (unsigned long long)cs.lost[GRB_LOST_TOO_BIG],
		     (unsigned long long)err[1], (unsigned long long)cs.lost[GRB_LOST_NESTED],
		     (unsigned long long)err[2], (unsigned long long)cs.lost[GRB_LOST_TIMEOUT],
		     (unsigned long long)err[3], (unsigned long long)cs.lost[GRB_LOST_NO_STREAM],
		     (unsigned long long)err[4]);
	if (delivered + cs.lost[GRB_LOST_OVERWRITTEN] != committed)
		FAIL("%s: delivered %llu + overwritten %llu != committed %llu\n", sc->name,
		     (unsigned long long)delivered,
		     (unsigned long long)cs.lost[GRB_LOST_OVERWRITTEN],
		     (unsigned long long)committed);
	if (sc->cfg->mode != GRB_MODE_OVERWRITE && cs.lost[GRB_LOST_OVERWRITTEN])
		FAIL("%s: overwritten records outside overwrite mode\n", sc->name);
	if (cs.invariant_failures)
		FAIL("%s: %llu invariant failures\n", sc->name,
		     (unsigned long long)cs.invariant_failures);
	if (cs.corrupt_packets)
		FAIL("%s: %llu packets skipped as corrupt\n", sc->name,
		     (unsigned long long)cs.corrupt_packets);
	if (sc->cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
		const char *why, *env = getenv("GRB_RSEQ");
		enum grb_sync in_use = grb_channel_sync(g_ch, &why);
		int want_fallback = env && (!strcmp(env, "0") || !strcmp(env, "off"));

		printf("%-24s sync in use: %s%s%s, remote commits %llu, fenced flushes %llu\n",
		       sc->name, in_use == GRB_SYNC_PER_CPU_RSEQ ? "rseq" : "atomic (fallback)",
		       why ? ": " : "", why ? why : "", (unsigned long long)cs.remote_commits,
		       (unsigned long long)cs.fenced_flushes);
		if (want_fallback != (in_use == GRB_SYNC_ATOMIC))
			FAIL("%s: sync in use %d, GRB_RSEQ=%s\n", sc->name, (int)in_use,
			     env ? env : "(unset)");
		cpu_set_t allowed;

		/* Migrations need two CPUs this process may run on. */
		if (in_use == GRB_SYNC_PER_CPU_RSEQ &&
		    sched_getaffinity(0, sizeof(allowed), &allowed) == 0 &&
		    CPU_COUNT(&allowed) > 1 && (!cs.remote_commits || !cs.fenced_flushes))
			FAIL("%s: the run made no remote commit or no fenced flush\n", sc->name);
	}
	if (!err[1] ||
	    !(counts[4].attempts + counts[5].attempts + counts[6].attempts + counts[7].attempts))
		FAIL("%s: the run exercised no too-big record or no signal handler\n", sc->name);
	printf("%-24s %6.2fs attempts=%llu committed=%llu delivered=%llu app_discarded=%llu "
	       "handler=%llu packets=%llu lost: full=%llu overwritten=%llu too_big=%llu "
	       "nested=%llu timeout=%llu wrap=%llu %s\n",
	       sc->name, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)attempts, (unsigned long long)committed,
	       (unsigned long long)delivered, (unsigned long long)discarded,
	       (unsigned long long)(counts[4].attempts + counts[5].attempts + counts[6].attempts +
				    counts[7].attempts),
	       (unsigned long long)st->packets, (unsigned long long)cs.lost[GRB_LOST_FULL],
	       (unsigned long long)cs.lost[GRB_LOST_OVERWRITTEN],
	       (unsigned long long)cs.lost[GRB_LOST_TOO_BIG],
	       (unsigned long long)cs.lost[GRB_LOST_NESTED],
	       (unsigned long long)cs.lost[GRB_LOST_TIMEOUT],
	       (unsigned long long)cs.lost[GRB_LOST_WRAP], failures == f0 ? "ok" : "FAILED");
	fflush(stdout);
	grb_channel_destroy(g_ch);
	for (i = 0; i < NR_IDS; i++)
		free(st->seen[i]);
	free(st);
	return failures != f0;
}

int main(int argc, char **argv)
{
	uint64_t total = stress_size(4000000, 4000);
	struct sigaction sa;
	size_t i;
	int bad = 0, ran = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	printf("stress_core: %llu records per case, %d writer threads + handlers, %ld CPUs\n",
	       (unsigned long long)total, NR_WRITERS, sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		bad += run_case(&cases[i], total);
		ran++;
	}
	printf("%d passed, %d failed\n", ran - bad, bad);
	return bad || !ran ? 1 : 0;
}
