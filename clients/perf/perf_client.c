// SPDX-License-Identifier: MIT
/*
 * perf_client.c - the perf client's configuration: perf records in
 * per-thread streams, losses reported in band as PERF_RECORD_LOST_SAMPLES,
 * the decoder, and the consumer view with perf's data_head / data_tail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/writer.h>
#include <grb/perf.h>

#include "perf_internal.h"

/* The calling thread's ids, for the LOST_SAMPLES records the header
 * callback writes: the losses are the thread's stream's.  Initial-exec:
 * the signal handler reads them, and a dynamic TLS access may allocate. */
static __thread uint32_t tls_tid __attribute__((tls_model("initial-exec")));
static uint32_t proc_pid;

uint32_t _grb_perf_tid(void)
{
	uint32_t t = tls_tid;

	if (_grb_unlikely(!t)) {
		/* gettid and getpid are async-signal-safe; a handler that
		 * interrupts this stores the same values. */
		t = (uint32_t)syscall(SYS_gettid);
		tls_tid = t;
		/* Relaxed: every thread stores the same value, and a reader
		 * that sees 0 computes it again. */
		__atomic_store_n(&proc_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
	}
	return t;
}

uint32_t _grb_perf_pid(void)
{
	uint32_t p;

	_grb_perf_tid();
	/* Relaxed: see _grb_perf_tid(). */
	p = __atomic_load_n(&proc_pid, __ATOMIC_RELAXED);
	return p;
}

static void put_header(char *p, uint32_t type, uint32_t misc, uint32_t size)
{
	struct grb_perf_event_header h;

	h.type = type;
	h.misc = (uint16_t)misc;
	h.size = (uint16_t)size;
	memcpy(p, &h, sizeof(h));
}

static uint32_t perf_header_size(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	return GRB_PERF_HEADER_SIZE + (ctx->lost ? GRB_PERF_LOST_SIZE : 0u);
}

static void perf_header_write(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	char *p = ctx->rec;

	(void)cfg;
	if (ctx->lost) {
		uint32_t ids[2] = { _grb_perf_pid(), _grb_perf_tid() };

		put_header(p, GRB_PERF_RECORD_LOST_SAMPLES, 0, GRB_PERF_LOST_SIZE);
		memcpy(p + 8, &ctx->lost, 8);
		memcpy(p + 16, ids, 8);
		memcpy(p + 24, &ctx->ts, 8);
		p += GRB_PERF_LOST_SIZE;
	}
	put_header(p, ctx->event_id, ctx->client_word, GRB_PERF_HEADER_SIZE + ctx->payload_len);
}

/* No packet header: a sub-buffer holds perf records only. */
static void perf_packet_nop(const struct grb_config *cfg, void *packet,
			    const struct grb_packet_info *info)
{
	(void)cfg;
	(void)packet;
	(void)info;
}

static void perf_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	put_header(ctx->rec, GRB_PERF_RECORD_DISCARDED, 0, ctx->slot_len);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The header at p, checked against avail: 0 or -EPROTO. */
static int get_header(const unsigned char *p, size_t avail, struct grb_perf_event_header *h)
{
	if (avail < GRB_PERF_HEADER_SIZE)
		return -EPROTO;
	memcpy(h, p, sizeof(*h));
	if (h->size < GRB_PERF_HEADER_SIZE || (h->size & 7u) || h->size > avail)
		return -EPROTO;
	return 0;
}

int _grb_perf_record_time(const unsigned char *p, const struct grb_perf_event_header *h,
			  uint64_t *ts)
{
	if (h->type == GRB_PERF_RECORD_SAMPLE) {
		uint64_t nr;

		if (h->size < GRB_PERF_SAMPLE_FIXED)
			return -EPROTO;
		nr = get64(p + 40);
		if (nr != (uint64_t)(h->size - GRB_PERF_SAMPLE_FIXED) / 8u)
			return -EPROTO;
		*ts = get64(p + 24);
		return 0;
	}
	/* Any other record ends with sample_id_all's trailer: pid, tid, time. */
	if (h->size < GRB_PERF_HEADER_SIZE + 16u)
		return -EPROTO;
	*ts = get64(p + h->size - 8);
	return 0;
}

int grb_perf_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			   size_t avail, uint64_t prev_ts, struct grb_record *out)
{
	const unsigned char *b = (const unsigned char *)rec;
	struct grb_perf_event_header h;
	uint64_t lost_ts = 0, ts;
	size_t off = 0;
	int have_lost = 0;

	(void)cfg;
	(void)client_data;
	if (get_header(b, avail, &h))
		return -EPROTO;
	if (h.type == GRB_PERF_RECORD_DISCARDED) {
		out->data = rec;
		out->payload = b + GRB_PERF_HEADER_SIZE;
		out->len = h.size;
		out->payload_len = h.size - GRB_PERF_HEADER_SIZE;
		out->ts = prev_ts;
		out->event_id = h.type;
		out->discarded = 1;
		return 0;
	}
	if (h.type == GRB_PERF_RECORD_LOST_SAMPLES) {
		if (h.size != GRB_PERF_LOST_SIZE)
			return -EPROTO;
		lost_ts = get64(b + 24);
		have_lost = 1;
		off = GRB_PERF_LOST_SIZE;
		if (get_header(b + off, avail - off, &h) ||
		    h.type == GRB_PERF_RECORD_LOST_SAMPLES || h.type == GRB_PERF_RECORD_DISCARDED)
			return -EPROTO;
	}
	if (_grb_perf_record_time(b + off, &h, &ts))
		return -EPROTO;
	/* Both records were written by one reservation, at its time. */
	if (have_lost && lost_ts != ts)
		return -EPROTO;
	out->data = rec;
	out->payload = b + off + GRB_PERF_HEADER_SIZE;
	out->len = (uint32_t)(off + h.size);
	out->payload_len = h.size - GRB_PERF_HEADER_SIZE;
	out->ts = ts;
	out->event_id = h.type;
	out->discarded = 0;
	return 0;
}

/* clang-format off */
static const struct grb_config perf_cfg = {
	.abi = GRB_CONFIG_ABI,
	.alloc = GRB_ALLOC_PER_THREAD,
	.sync = GRB_SYNC_SINGLE_WRITER,
	.mode = GRB_MODE_DISCARD,
	.wakeup = GRB_WAKEUP_WRITER,
	.ts_bits = 64,
	.max_nesting = 4,
	.record_align = 8,
	.packet_header_size = 0,
	.min_record_size = GRB_PERF_HEADER_SIZE,
	.clock_read = grb_clock_monotonic,
	.record_header_size = perf_header_size,
	.record_header_write = perf_header_write,
	.packet_begin = perf_packet_nop,
	.packet_end = perf_packet_nop,
	.record_decode = grb_perf_record_decode,
	.record_discard = perf_record_discard,
	.name = "perf",
	.packet_published = NULL,
	.prev_ts_exact = 0,
};
/* clang-format on */

const struct grb_config *grb_perf_config(void)
{
	return &perf_cfg;
}

void grb_perf_channel_attr_init(struct grb_channel_attr *attr, uint32_t wake_events,
				uint32_t wake_watermark)
{
	grb_channel_attr_init(attr);
	attr->subbuf_size = 64u * 1024u;
	attr->subbuf_count = 8;
	attr->nr_streams = 64;
	attr->name = "perf";
	if (wake_events) {
		attr->wake_policy = GRB_WAKE_RECORDS;
		attr->wake_every = wake_events;
	} else if (wake_watermark) {
		attr->wake_policy = GRB_WAKE_BYTES;
		attr->wake_every = wake_watermark;
	} else {
		attr->wake_policy = GRB_WAKE_PACKET;
	}
}

struct grb_channel *grb_perf_channel_create(const struct grb_channel_attr *attr)
{
	struct grb_channel_attr a;

	if (!attr) {
		grb_perf_channel_attr_init(&a, 0, 0);
		attr = &a;
	}
	return grb_channel_create(&perf_cfg, attr);
}

int grb_perf_write_sample(struct grb_channel *ch, const struct grb_perf_sample *s, uint64_t *ts)
{
	uint32_t n = s->nr_callers < GRB_PERF_MAX_CALLERS ? s->nr_callers : GRB_PERF_MAX_CALLERS;
	uint64_t body[5];
	uint32_t ids[2] = { s->pid, s->tid };
	struct grb_ctx ctx;
	int ret;

	_grb_perf_tid();
	ctx.event_id = GRB_PERF_RECORD_SAMPLE;
	ctx.client_word = GRB_PERF_MISC_USER;
	ctx.payload_len = GRB_PERF_SAMPLE_FIXED - GRB_PERF_HEADER_SIZE + 8u * (n + 2u);
	ret = grb_reserve(&perf_cfg, ch, &ctx);
	if (ret)
		return ret;
	body[0] = s->ip;
	memcpy(&body[1], ids, 8);
	body[2] = ctx.ts;
	body[3] = s->period;
	body[4] = n + 2u;
	grb_write(&ctx, body, sizeof(body));
	body[0] = GRB_PERF_CONTEXT_USER;
	body[1] = s->ip;
	grb_write(&ctx, body, 16);
	if (n)
		grb_write(&ctx, s->callers, 8u * n);
	if (ts)
		*ts = ctx.ts;
	grb_commit(&perf_cfg, &ctx);
	return 0;
}

/* ---------------------------------------------------------------------
 * The consumer view: perf's data_head / data_tail over one stream.
 */
struct grb_perf_mmap {
	struct grb_iter *it;
	char *data;
	uint32_t size;
	uint64_t head, tail;
	/* A record taken from the stream that did not fit yet. */
	char *pending;
	uint32_t pending_len;
	uint64_t corrupt;
};

struct grb_perf_mmap *grb_perf_mmap_open(struct grb_channel *ch, uint32_t stream, uint32_t size)
{
	struct grb_perf_mmap *m;

	if (size < GRB_PERF_MMAP_MIN_SIZE || (size & (size - 1))) {
		grb_error_set("grb_perf_mmap_open: size %u: a power of two at least %u", size,
			      GRB_PERF_MMAP_MIN_SIZE);
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->size = size;
	m->data = malloc(size);
	/* A record is at most the u16 size of its last perf record past a
	 * LOST_SAMPLES one. */
	m->pending = malloc(GRB_PERF_LOST_SIZE + GRB_PERF_BOUNCE_SIZE);
	if (!m->data || !m->pending) {
		free(m->data);
		free(m->pending);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->it = grb_iter_create(ch, stream, 0);
	if (!m->it) {
		int e = errno;

		free(m->data);
		free(m->pending);
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

int grb_perf_mmap_close(struct grb_perf_mmap *m)
{
	if (!m)
		return -EINVAL;
	grb_iter_destroy(m->it);
	free(m->data);
	free(m->pending);
	free(m);
	return 0;
}

static void ring_put(struct grb_perf_mmap *m, const char *src, uint32_t len)
{
	uint32_t at = (uint32_t)(m->head & (m->size - 1));
	uint32_t first = m->size - at < len ? m->size - at : len;

	memcpy(m->data + at, src, first);
	memcpy(m->data, src + first, len - first);
	m->head += len;
}

uint64_t grb_perf_mmap_data_head(struct grb_perf_mmap *m)
{
	struct grb_record rec;
	int ret;

	for (;;) {
		if (!m->pending_len) {
			ret = grb_iter_next(m->it, &rec);
			if (ret == -EPROTO) {
				m->corrupt++;
				continue;
			}
			if (ret)
				break;
			memcpy(m->pending, rec.data, rec.len);
			m->pending_len = rec.len;
		}
		if (m->pending_len > m->size - (m->head - m->tail))
			break;
		ring_put(m, m->pending, m->pending_len);
		m->pending_len = 0;
	}
	return m->head;
}

uint64_t grb_perf_mmap_data_tail(const struct grb_perf_mmap *m)
{
	return m->tail;
}

/* The header of the record at pos (pos within the area). */
static void ring_header(const struct grb_perf_mmap *m, uint64_t pos,
			struct grb_perf_event_header *h)
{
	uint32_t at = (uint32_t)(pos & (m->size - 1));
	uint32_t first = m->size - at < 8u ? m->size - at : 8u;

	memcpy(h, m->data + at, first);
	memcpy((char *)h + first, m->data, 8u - first);
}

int grb_perf_mmap_set_tail(struct grb_perf_mmap *m, uint64_t tail)
{
	uint64_t p = m->tail;

	if (tail < m->tail || tail > m->head)
		return -EINVAL;
	/* Only at a record boundary: walk the records being released. */
	while (p < tail) {
		struct grb_perf_event_header h;

		ring_header(m, p, &h);
		p += h.size;
	}
	if (p != tail)
		return -EINVAL;
	m->tail = tail;
	return 0;
}

const struct grb_perf_event_header *grb_perf_mmap_event(const struct grb_perf_mmap *m, uint64_t pos,
							void *bounce)
{
	struct grb_perf_event_header h;
	uint32_t at, first;

	if (pos < m->tail || pos + GRB_PERF_HEADER_SIZE > m->head)
		return NULL;
	ring_header(m, pos, &h);
	if (h.size < GRB_PERF_HEADER_SIZE || pos + h.size > m->head)
		return NULL;
	at = (uint32_t)(pos & (m->size - 1));
	if (at + h.size <= m->size)
		return (const struct grb_perf_event_header *)(const void *)(m->data + at);
	first = m->size - at;
	memcpy(bounce, m->data + at, first);
	memcpy((char *)bounce + first, m->data, h.size - first);
	return (const struct grb_perf_event_header *)bounce;
}

int grb_perf_mmap_wait(struct grb_perf_mmap *m, uint64_t timeout_ns)
{
	return grb_reader_wait(grb_iter_reader(m->it), timeout_ns);
}

uint64_t grb_perf_mmap_corrupt(const struct grb_perf_mmap *m)
{
	return m->corrupt;
}
