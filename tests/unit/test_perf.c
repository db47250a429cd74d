// SPDX-License-Identifier: MIT
/*
 * test_perf.c - the perf client without perf: records as written and
 * decoded, a sampler signal nested in a reservation of its thread, losses
 * reported in band exactly once, the consumer view's data_head and
 * data_tail (wrapping, backpressure, release at record boundaries), its
 * wake-ups by record count and by byte watermark, and the ELF symbol
 * lookup (grb_perf_symtab_*) of this test's own functions.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grb/writer.h>
#include <grb/perf.h>

#include "check.h"

static uint64_t get64(const void *p, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)p + off, 8);
	return v;
}

static struct grb_perf_event_header get_hdr(const void *p)
{
	struct grb_perf_event_header h;

	memcpy(&h, p, sizeof(h));
	return h;
}

static void sample(struct grb_perf_sample *s, uint64_t ip, uint64_t period, uint32_t nr,
		   const uint64_t *callers)
{
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->pid = (uint32_t)getpid();
	s->tid = (uint32_t)syscall(SYS_gettid);
	s->period = period;
	s->nr_callers = nr;
	s->callers = callers;
}

/* The per-thread stream thread tid claimed at its first record. */
static uint32_t stream_of(struct grb_channel *ch, uint32_t tid)
{
	struct grb_stream_stats st;
	uint32_t i;

	for (i = 0; i < grb_channel_nr_streams(ch); i++)
		if (!grb_channel_read_stream_stats(ch, i, &st) && st.owner_tid == tid)
			return i;
	CHECK(!"the thread owns a stream");
	return 0;
}

/* One sample written and read back field by field. */
static void test_layout(void)
{
	uint64_t callers[3] = { 0x1111, 0x2222, 0x3333 }, ts = 0;
	struct grb_perf_event_header h;
	struct grb_perf_sample s;
	struct grb_channel *ch = grb_perf_channel_create(NULL);
	struct grb_record rec;
	struct grb_merge *m;
	uint32_t ids[2];

	CHECK(ch != NULL);
	if (!ch)
		return;
	sample(&s, 0xabcdef, 777, 3, callers);
	CHECK(grb_perf_write_sample(ch, &s, &ts) == 0);
	CHECK(grb_channel_finalize(ch) == 0);
	m = grb_merge_create(ch, 0);
	CHECK(grb_merge_next(m, &rec) == 0);
	h = get_hdr(rec.data);
	CHECK(h.type == GRB_PERF_RECORD_SAMPLE);
	CHECK(h.misc == GRB_PERF_MISC_USER);
	CHECK(h.size == GRB_PERF_SAMPLE_FIXED + 8 * 5);
	CHECK(rec.len == h.size);
	CHECK(rec.ts == ts);
	CHECK(get64(rec.data, 8) == 0xabcdef);
	memcpy(ids, (const char *)rec.data + 16, 8);
	CHECK(ids[0] == s.pid && ids[1] == s.tid);
	CHECK(get64(rec.data, 24) == ts);
	CHECK(get64(rec.data, 32) == 777);
	CHECK(get64(rec.data, 40) == 5);
	CHECK(get64(rec.data, 48) == GRB_PERF_CONTEXT_USER);
	CHECK(get64(rec.data, 56) == 0xabcdef);
	CHECK(get64(rec.data, 64) == 0x1111 && get64(rec.data, 80) == 0x3333);
	CHECK(grb_merge_next(m, &rec) == -ENODATA);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

/* The decoder refuses what no writer writes, and skips a discarded record. */
static void test_decode(void)
{
	const struct grb_config *cfg = grb_perf_config();
	uint64_t buf[16];
	struct grb_perf_event_header h = { GRB_PERF_RECORD_SAMPLE, GRB_PERF_MISC_USER, 56 };
	struct grb_record out;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, 8);
	buf[3] = 42; /* time */
	buf[5] = 1; /* nr */
	CHECK(grb_perf_record_decode(cfg, NULL, buf, sizeof(buf), 0, &out) == 0);
	CHECK(out.ts == 42 && out.len == 56 && !out.discarded);
	CHECK(grb_perf_record_decode(cfg, NULL, buf, 48, 0, &out) == -EPROTO);
	buf[5] = 2; /* nr past the record */
	CHECK(grb_perf_record_decode(cfg, NULL, buf, sizeof(buf), 0, &out) == -EPROTO);
	buf[5] = 1;
	h.size = 60; /* not 8-aligned */
	memcpy(buf, &h, 8);
	CHECK(grb_perf_record_decode(cfg, NULL, buf, sizeof(buf), 0, &out) == -EPROTO);
	/* A LOST_SAMPLES must carry its sample's time. */
	h = (struct grb_perf_event_header){ GRB_PERF_RECORD_LOST_SAMPLES, 0, 32 };
	memcpy(buf, &h, 8);
	buf[1] = 5;
	buf[3] = 41;
	h = (struct grb_perf_event_header){ GRB_PERF_RECORD_SAMPLE, GRB_PERF_MISC_USER, 56 };
	memcpy(&buf[4], &h, 8);
	buf[4 + 3] = 42;
	buf[4 + 5] = 1;
	CHECK(grb_perf_record_decode(cfg, NULL, buf, sizeof(buf), 0, &out) == -EPROTO);
	buf[3] = 42;
	CHECK(grb_perf_record_decode(cfg, NULL, buf, sizeof(buf), 0, &out) == 0);
	CHECK(out.len == 32 + 56 && out.ts == 42 && out.event_id == GRB_PERF_RECORD_SAMPLE);
	h = (struct grb_perf_event_header){ GRB_PERF_RECORD_DISCARDED, 0, 88 };
	memcpy(buf, &h, 8);
	CHECK(grb_perf_record_decode(cfg, NULL, buf, sizeof(buf), 7, &out) == 0);
	CHECK(out.discarded && out.len == 88 && out.ts == 7);
}

/* A sampler signal taken while the thread holds a reservation. */
static __attribute__((noinline)) int nested_site(struct grb_channel *ch, int discard)
{
	const struct grb_config *cfg = grb_perf_config();
	uint64_t body[5] = { 0x5151, 0, 0, 1, 0 };
	struct grb_ctx ctx;
	uint32_t ids[2] = { (uint32_t)getpid(), (uint32_t)syscall(SYS_gettid) };
	int ret;

	ctx.event_id = GRB_PERF_RECORD_SAMPLE;
	ctx.client_word = GRB_PERF_MISC_USER;
	ctx.payload_len = sizeof(body);
	ctx.lost = 0;
	ret = grb_reserve(cfg, ch, &ctx);
	if (ret)
		return ret;
	/* The timer's signal, now: the handler writes into this stream. */
	pthread_kill(pthread_self(), SIGPROF);
	memcpy(&body[1], ids, 8);
	body[2] = ctx.ts;
	grb_write(&ctx, body, sizeof(body));
	if (discard)
		return grb_discard(cfg, &ctx);
	grb_commit(cfg, &ctx);
	return 0;
}

static void test_nested(int discard)
{
	struct grb_perf_sampler_attr sa;
	struct grb_perf_sampler_stats st;
	struct grb_perf_sampler *s;
	struct grb_channel *ch = grb_perf_channel_create(NULL);
	struct grb_record rec[3];
	struct grb_merge *m;
	uint32_t tid = (uint32_t)syscall(SYS_gettid), ids[2], n = 0;
	uint64_t nr, i;
	int ret;

	CHECK(ch != NULL);
	grb_perf_sampler_attr_init(&sa);
	sa.freq_hz = 1; /* the timer itself never fires in this test */
	s = grb_perf_sampler_create(ch, &sa);
	CHECK(s != NULL);
	if (!ch || !s)
		return;
	CHECK(grb_perf_sampler_thread_start(s) == 0);
	CHECK(grb_perf_sampler_thread_start(s) == -EALREADY);
	CHECK(nested_site(ch, discard) == 0);
	CHECK(grb_perf_sampler_destroy(s) == -EBUSY);
	CHECK(grb_perf_sampler_thread_stop(s) == 0);
	CHECK(grb_perf_sampler_stats(s, &st) == 0);
	CHECK(st.written == 1 && st.committed == 1 && st.refused == 0 && st.threads == 1);
	CHECK(grb_channel_finalize(ch) == 0);
	m = grb_merge_create(ch, 0);
	while (n < 3 && (ret = grb_merge_next(m, &rec[n])) == 0)
		n++;
	/* The outer record (unless discarded), then the handler's. */
	CHECK(n == (discard ? 1u : 2u));
	if (n == (discard ? 1u : 2u)) {
		const struct grb_record *h = &rec[n - 1];

		if (!discard) {
			CHECK(get64(rec[0].data, 8) == 0x5151);
			CHECK(rec[0].ts < h->ts);
		}
		CHECK(get_hdr(h->data).type == GRB_PERF_RECORD_SAMPLE);
		memcpy(ids, (const char *)h->data + 16, 8);
		CHECK(ids[0] == (uint32_t)getpid() && ids[1] == tid);
		CHECK(get64(h->data, 32) == grb_perf_sampler_period(s));
		nr = get64(h->data, 40);
		/* The interrupted ip (in libc's pthread_kill: whether its
		 * frame pointer leads on depends on libc's code), then the
		 * return addresses found. */
		CHECK(nr >= 2);
		CHECK(get64(h->data, 48) == GRB_PERF_CONTEXT_USER);
		CHECK(get64(h->data, 56) == get64(h->data, 8));
		for (i = 2; i < nr; i++)
			CHECK(get64(h->data, 48 + 8 * i) != 0);
	}
	grb_merge_destroy(m);
	CHECK(grb_perf_sampler_destroy(s) == 0);
	grb_channel_destroy(ch);
}

/* Losses in band: the first sample after them carries their count, once. */
static void test_lost_in_band(void)
{
	struct grb_channel_attr attr;
	struct grb_channel_stats cs;
	struct grb_perf_sample s;
	struct grb_channel *ch;
	struct grb_iter *it;
	struct grb_record rec;
	uint64_t refused = 0, ok = 0, lost = 0, samples = 0, ts = 0, i;
	int ret;

	grb_perf_channel_attr_init(&attr, 0, 0);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 2;
	attr.nr_streams = 1;
	ch = grb_perf_channel_create(&attr);
	CHECK(ch != NULL);
	if (!ch)
		return;
	it = grb_iter_create(ch, 0, 0);
	sample(&s, 0x77, 1, 0, NULL);
	/* Fill the ring, then lose 10. */
	while (refused < 10) {
		if (grb_perf_write_sample(ch, &s, NULL) == 0)
			ok++;
		else
			refused++;
	}
	/* Read everything; the next sample reports the 10. */
	while ((ret = grb_iter_next(it, &rec)) == 0) {
		CHECK(get_hdr(rec.data).type == GRB_PERF_RECORD_SAMPLE);
		samples++;
	}
	CHECK(samples == ok);
	for (i = 0; i < 3; i++)
		CHECK(grb_perf_write_sample(ch, &s, &ts) == 0);
	CHECK(grb_channel_finalize(ch) == 0);
	samples = 0;
	while ((ret = grb_iter_next(it, &rec)) == 0) {
		struct grb_perf_event_header h = get_hdr(rec.data);

		if (h.type == GRB_PERF_RECORD_LOST_SAMPLES) {
			uint32_t ids[2];

			CHECK(h.size == GRB_PERF_LOST_SIZE);
			lost += get64(rec.data, 8);
			memcpy(ids, (const char *)rec.data + 16, 8);
			CHECK(ids[0] == (uint32_t)getpid() && ids[1] == s.tid);
			CHECK(get64(rec.data, 24) == rec.ts);
			CHECK(samples == 0); /* in the first sample after the losses */
			h = get_hdr((const char *)rec.data + GRB_PERF_LOST_SIZE);
		}
		CHECK(h.type == GRB_PERF_RECORD_SAMPLE);
		samples++;
	}
	CHECK(ret == -ENODATA);
	CHECK(samples == 3 && lost == 10);
	CHECK(grb_channel_read_stats(ch, &cs) == 0);
	CHECK(cs.lost_total == 10 && cs.lost[GRB_LOST_FULL] == 10);
	grb_iter_destroy(it);
	grb_channel_destroy(ch);
}

/* data_head / data_tail: what fits, released at record boundaries, wrapping. */
static void test_mmap(void)
{
	/* 72-byte records: some wrap around the end of the area. */
	const uint32_t size = GRB_PERF_MMAP_MIN_SIZE, rec_size = GRB_PERF_SAMPLE_FIXED + 24;
	const uint64_t caller = 0x1234;
	const uint64_t total = 3 * size / rec_size + 7;
	struct grb_perf_mmap *m;
	struct grb_perf_sample s;
	struct grb_channel *ch;
	uint64_t head, tail = 0, next = 0, i;
	char *bounce = malloc(GRB_PERF_BOUNCE_SIZE);
	int wrapped = 0;

	ch = grb_perf_channel_create(NULL);
	CHECK(ch != NULL && bounce != NULL);
	if (!ch || !bounce)
		return;
	CHECK(grb_perf_mmap_open(ch, 0, size - 8) == NULL && errno == EINVAL);
	/* Samples of a known period (their sequence number). */
	sample(&s, 0x99, 0, 1, &caller);
	CHECK(grb_perf_write_sample(ch, &s, NULL) == 0);
	m = grb_perf_mmap_open(ch, stream_of(ch, s.tid), size);
	CHECK(m != NULL);
	if (!m)
		return;
	for (i = 1; i < total / 2; i++) {
		sample(&s, 0x99, i, 1, &caller);
		CHECK(grb_perf_write_sample(ch, &s, NULL) == 0);
	}
	head = grb_perf_mmap_data_head(m);
	/* Committed records are visible at once, without a flush, as far as
	 * the area holds them. */
	CHECK(head == (size / rec_size) * rec_size);
	CHECK(grb_perf_mmap_set_tail(m, rec_size / 2) == -EINVAL);
	CHECK(grb_perf_mmap_set_tail(m, head + rec_size) == -EINVAL);
	for (i = total / 2; i < total; i++) {
		sample(&s, 0x99, i, 1, &caller);
		CHECK(grb_perf_write_sample(ch, &s, NULL) == 0);
	}
	/* Consume in steps: release half of what is there each time. */
	while (next < total) {
		uint64_t pos, stop;

		head = grb_perf_mmap_data_head(m);
		CHECK(head - tail <= size);
		if (head == tail)
			break;
		stop = tail + (head - tail + 1) / 2;
		for (pos = tail; pos < stop;) {
			const struct grb_perf_event_header *h = grb_perf_mmap_event(m, pos, bounce);

			CHECK(h != NULL);
			if (!h)
				break;
			CHECK(h->type == GRB_PERF_RECORD_SAMPLE && h->size == rec_size);
			CHECK(get64(h, 32) == next);
			if ((const void *)h == bounce)
				wrapped++;
			next++;
			pos += h->size;
		}
		CHECK(grb_perf_mmap_set_tail(m, pos) == 0);
		tail = pos;
		CHECK(grb_perf_mmap_data_tail(m) == tail);
	}
	CHECK(next == total);
	CHECK(wrapped > 0);
	CHECK(grb_perf_mmap_event(m, tail, bounce) == NULL);
	CHECK(grb_perf_mmap_corrupt(m) == 0);
	grb_perf_mmap_close(m);
	grb_channel_destroy(ch);
	free(bounce);
}

/* Wake-ups: a waiting consumer wakes at the 4th record (or 4 * 64 bytes),
 * not before. */
struct waker {
	struct grb_channel *ch;
	sem_t ready, go;
	uint32_t tid;
};

static void *waker_fn(void *p)
{
	struct waker *w = (struct waker *)p;
	struct grb_perf_sample s;
	int i;

	sample(&s, 0x42, 1, 0, NULL); /* 64-byte records */
	w->tid = s.tid;
	for (i = 0; i < 3; i++)
		CHECK(grb_perf_write_sample(w->ch, &s, NULL) == 0);
	sem_post(&w->ready);
	while (sem_wait(&w->go))
		;
	CHECK(grb_perf_write_sample(w->ch, &s, NULL) == 0);
	return NULL;
}

static void test_wake(uint32_t events, uint32_t watermark)
{
	struct grb_channel_attr attr;
	struct grb_perf_mmap *m;
	struct waker w;
	pthread_t th;
	uint64_t head;
	int ret;

	grb_perf_channel_attr_init(&attr, events, watermark);
	attr.nr_streams = 1;
	w.ch = grb_perf_channel_create(&attr);
	CHECK(w.ch != NULL);
	if (!w.ch)
		return;
	sem_init(&w.ready, 0, 0);
	sem_init(&w.go, 0, 0);
	CHECK(pthread_create(&th, NULL, waker_fn, &w) == 0);
	while (sem_wait(&w.ready))
		;
	m = grb_perf_mmap_open(w.ch, stream_of(w.ch, w.tid), GRB_PERF_MMAP_MIN_SIZE);
	CHECK(m != NULL);
	if (!m)
		return;
	/* 3 records (192 bytes): readable, so no sleep. */
	CHECK(grb_perf_mmap_wait(m, 1000000000ull) == 0);
	head = grb_perf_mmap_data_head(m);
	CHECK(head == 3 * 64);
	CHECK(grb_perf_mmap_set_tail(m, head) == 0);
	/* Nothing new: no wake-up. */
	CHECK(grb_perf_mmap_wait(m, 50000000ull) == -ETIMEDOUT);
	sem_post(&w.go);
	/* The 4th record crosses the unit: woken long before 20 s. */
	ret = grb_perf_mmap_wait(m, 20000000000ull);
	CHECK(ret == 0);
	CHECK(grb_perf_mmap_data_head(m) == 4 * 64);
	pthread_join(th, NULL);
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	grb_perf_mmap_close(m);
	grb_channel_destroy(w.ch);
}

/* Looked up by their addresses in this very program (more than a byte
 * of code each). */
void perf_symtab_probe(void);
void perf_symtab_probe2(void);
static volatile int probe_sink;
__attribute__((noinline)) void perf_symtab_probe(void)
{
	probe_sink = 1;
	probe_sink = 2;
}

__attribute__((noinline)) void perf_symtab_probe2(void)
{
	probe_sink = 3;
}

/* The file offset of addr in the file mapped there (/proc/self/maps). */
static int mapped_at(uintptr_t addr, char *path, size_t size, uint64_t *off)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long s, e, pgoff;
		int at = 0;

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &s, &e, &pgoff, &at) < 3 || !at ||
		    addr < s || addr >= e)
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, size, "%s", line + at);
		*off = addr - s + pgoff;
		found = path[0] == '/';
	}
	fclose(f);
	return found;
}

static void test_symtab(void)
{
	uintptr_t addr = (uintptr_t)&perf_symtab_probe;
	struct grb_perf_symtab *t;
	char path[4096];
	uint64_t off = 0, into = 99;
	const char *name;

	CHECK(mapped_at(addr, path, sizeof(path), &off));
	t = grb_perf_symtab_open(path);
	CHECK(t);
	if (!t)
		return;
	name = grb_perf_symtab_find(t, off, &into);
	CHECK(name && !strcmp(name, "perf_symtab_probe"));
	CHECK(into == 0);
	name = grb_perf_symtab_find(t, off + 1, &into);
	CHECK(name && !strcmp(name, "perf_symtab_probe"));
	CHECK(into == 1);
	/* Another function of the same file. */
	CHECK(mapped_at((uintptr_t)&perf_symtab_probe2, path, sizeof(path), &off));
	name = grb_perf_symtab_find(t, off, NULL);
	CHECK(name && !strcmp(name, "perf_symtab_probe2"));
	/* No segment holds an offset past the file. */
	CHECK(!grb_perf_symtab_find(t, UINT64_MAX / 2, &into));
	grb_perf_symtab_close(t);
	grb_perf_symtab_close(NULL);
	errno = 0;
	CHECK(!grb_perf_symtab_open("/nonexistent/grb-test"));
	CHECK(errno == ENOENT);
	/* A file that is no ELF. */
	{
		char tmp[] = "/tmp/grb-test-symtab-XXXXXX";
		int fd = mkstemp(tmp);

		CHECK(fd >= 0);
		if (fd >= 0) {
			CHECK(write(fd, "no ELF file here, only text\n", 28) == 28);
			close(fd);
			t = grb_perf_symtab_open(tmp);
			CHECK(!t);
			CHECK(errno == ENOEXEC);
			grb_perf_symtab_close(t);
			unlink(tmp);
		}
	}
}

int main(void)
{
	test_layout();
	test_decode();
	test_nested(0);
	test_nested(1);
	test_lost_in_band();
	test_mmap();
	test_wake(4, 0);
	test_wake(0, 256);
	test_symtab();
	return check_exit("test_perf");
}
