// SPDX-License-Identifier: MIT
/*
 * ctf_trace.c - the CTF trace writer: creates the trace directory and its
 * metadata, creates the channel, and runs a consumer thread that appends
 * every packet to its stream file and to the stream's packet index.
 *
 * Layout of a trace directory:
 *
 *	metadata		TSDL text (grb_ctf_metadata)
 *	<channel>_<N>		one file per stream that delivered a packet
 *				(N: the CPU of a per-CPU stream, else the index)
 *	index/<channel>_<N>.idx	the LTTng packet index of that file
 *
 * Stream and index files are created when their first packet arrives, so
 * that no empty file is left.  Only whole packets are written: after an I/O
 * error the file being written is cut back to its last whole packet and
 * every later packet is taken from the ring and dropped (counted), so that
 * writers never block and what is on disk stays a valid trace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/ctf.h>

#include "ctf_index.h"
#include "ctf_internal.h"

#define ERR_MAX 512
#define NAME_MAX_LEN 128
/* After the stop, a stream that delivers nothing for this long (a writer
 * that never committed its record) is given up. */
#define DRAIN_TIMEOUT_NS 2000000000ull

struct ctf_stream {
	struct grb_reader *r;
	char name[NAME_MAX_LEN + 16]; /* <channel>_<N> */
	int fd, idx_fd; /* -1 until the first packet */
	uint64_t size, idx_size; /* bytes of whole packets / entries on disk */
	int ended; /* the reader returned -ENODATA */
	uint32_t cpu; /* of a per-CPU stream, else UINT32_MAX */
	int started; /* a packet was taken (or the stream was closed) */
	/* Added to a ring packet's number for its file's: 1 when the file
	 * starts with an extra empty packet, and one more for each part of a
	 * packet written before its delivery (grb_ctf_trace_stream_take). */
	uint64_t seq_shift;
	/* early: ring packet early_seq has its first early_k records
	 * written early, up to stream position early_end. */
	int early;
	uint64_t early_seq, early_k, early_end;
	/* The last packet on disk: its sequence number, end, discarded count. */
	uint64_t last_seq, last_ts_end, last_discarded;
	/* Written by the consumer only; read with relaxed loads by the stats. */
	uint64_t packets, events, bytes;
	uint64_t packets_dropped, events_dropped;
	uint64_t bad_packets; /* -EPROTO from the reader */
	struct grb_iter *it; /* fed traces: the iterator r belongs to */
	struct grb_channel *ch; /* the channel it is a stream of */
	uint32_t ch_index; /* its index there */
	uint32_t src; /* fed traces: its source */
};

/* A fed trace's channel attached from another process. */
struct ctf_source {
	struct grb_channel *ch;
	struct grb_ctf_chan_data cd; /* its events, for the readers' decoding */
	uint32_t first, nr; /* its streams: t->s[first .. first + nr - 1] */
	uint32_t cls; /* its stream class */
	int32_t pid;
	int ended; /* every stream ended; closing packets written */
	int gone; /* its writer is gone: read its open packets in place */
	uint64_t start_ts; /* the clock when it was attached: its streams' start */
	char name[NAME_MAX_LEN + 1];
};

struct grb_ctf_trace {
	const struct grb_config *cfg;
	struct grb_channel *ch;
	struct grb_ctf_chan_data cd;
	const struct grb_ctf_event_desc **events; /* copy of the caller's array */
	char *dir;
	int dirfd;
	uint32_t nr_streams;
	struct ctf_stream *s;
	uint64_t start_ts; /* the clock when the trace was created */
	uint64_t period_ns; /* the longest sleep of the consumer */
	uint32_t subbuf_count;

	pthread_t thread;
	pthread_mutex_t lock; /* stop, and the consumer's sleep */
	pthread_cond_t wake;
	int stopping; /* under lock; also read relaxed by the consumer */
	int stopped;
	int stop_ret;

	/* A fed trace (grb_ctf_trace_create_fed): streams of attached
	 * channels, no channel and no consumer thread of its own. */
	int fed;
	uint32_t event_context;
	uint32_t nr_src, cap_src, cap_streams;
	struct ctf_source **src;
	char **classes; /* each stream class's TSDL, as for id 0 */
	/* each class's events by id, shared by its sources' decoding */
	const struct grb_ctf_event_desc ***class_by_id;
	uint32_t nr_classes;

	/* A fed trace's sink (grb_ctf_trace_set_sink), and the metadata so
	 * far, which it gets first. */
	struct grb_ctf_sink sink;
	int has_sink;
	char *meta;
	size_t meta_len;

	int err; /* first error, negative errno; 0 */
	int failed; /* release-stored after err_msg is complete */
	char err_msg[ERR_MAX];
};

/* [O4]'s fences.  gcc's ThreadSanitizer does not take a thread fence
 * (-Wtsan): its build, which checks the library's own synchronization,
 * keeps only the compiler barrier here, as the core's copy fence does. */
#if defined(__SANITIZE_THREAD__)
#define o4_fence(order) __atomic_signal_fence(order)
#else
#define o4_fence(order) __atomic_thread_fence(order)
#endif

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void add(uint64_t *p, uint64_t v)
{
	/* Single writer (the consumer): a relaxed load and store suffice. */
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

void grb_ctf_trace_attr_init(struct grb_ctf_trace_attr *attr)
{
	if (!attr)
		return;
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	grb_channel_attr_init(&attr->chan);
	attr->chan.subbuf_size = 256 * 1024;
	attr->chan.subbuf_count = 8;
	attr->chan.switch_timer_us = 100000;
	attr->read_period_us = 10000;
	attr->channel_name = "channel0";
}

/* Letters, digits, '_', '-', '.'; not starting with '.' (hidden files are
 * not streams to babeltrace2), so no path separator and no "." or "..". */
static int is_safe_name(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (!n || n > NAME_MAX_LEN || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = (const char *)buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int random_uuid(uint8_t u[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(u + got, 16 - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return 0;
}

/* Replaces the last 12 hex digits of a UUID string with a hash of the
 * UUID and name (FNV-1a), keeping the version and variant digits. */
static void derive_clock_uuid(char *uuid, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t len = strlen(uuid), i;
	const char *p;

	if (len != 36)
		return;
	for (p = uuid; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for (i = 0; i < 12; i++)
		uuid[24 + i] = "0123456789abcdef"[(h >> (4 * i)) & 15];
}

/* This boot's id, as LTTng uses for its monotonic clock; "" if unknown. */
static void read_boot_id(char *buf, size_t size)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	buf[0] = 0;
	if (fd < 0)
		return;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0) {
		buf[0] = 0;
		return;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = 0;
}

/* Epoch time of CLOCK_MONOTONIC's 0: the tightest of a few samples. */
static void monotonic_offset(uint64_t freq, int64_t *offset_s, uint64_t *offset)
{
	uint64_t best_gap = UINT64_MAX, diff = 0;
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t r0 = grb_clock_realtime();
		uint64_t m = grb_clock_monotonic();
		uint64_t r1 = grb_clock_realtime();

		if (r1 >= r0 && r1 - r0 < best_gap) {
			best_gap = r1 - r0;
			diff = r0 + (r1 - r0) / 2 - m;
		}
	}
	*offset_s = (int64_t)(diff / 1000000000u);
	diff %= 1000000000u;
	/* diff * freq / 1e9 without overflow: diff < 1e9. */
	*offset = diff * (freq / 1000000000u) + diff * (freq % 1000000000u) / 1000000000u;
}

static void set_io_error(struct grb_ctf_trace *t, int err, const char *what, const char *file)
{
	if (t->err)
		return;
	t->err = err;
	snprintf(t->err_msg, sizeof(t->err_msg), "%s %s/%s: %s", what, t->dir, file,
		 strerror(-err));
	__atomic_store_n(&t->failed, 1, __ATOMIC_RELEASE);
}

/* Create the stream's file and its index (with the index header). */
static int open_stream(struct grb_ctf_trace *t, struct ctf_stream *s, char *path, size_t size)
{
	unsigned char hdr[CTF_IDX_HEADER_SIZE];
	int ret;

	snprintf(path, size, "%s", s->name);
	s->fd = openat(t->dirfd, s->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->fd < 0)
		return -errno;
	snprintf(path, size, "index/%s.idx", s->name);
	s->idx_fd = openat(t->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->idx_fd < 0)
		return -errno;
	ctf_idx_put_header(hdr);
	ret = write_full(s->idx_fd, hdr, sizeof(hdr), 0);
	if (ret)
		return ret;
	s->idx_size = CTF_IDX_HEADER_SIZE;
	return 0;
}

/* Remove the files of a stream that has no whole packet. */
static void remove_stream_files(struct grb_ctf_trace *t, struct ctf_stream *s)
{
	char path[NAME_MAX_LEN + 32];

	if (s->fd >= 0) {
		close(s->fd);
		unlinkat(t->dirfd, s->name, 0);
	}
	if (s->idx_fd >= 0) {
		close(s->idx_fd);
		snprintf(path, sizeof(path), "index/%s.idx", s->name);
		unlinkat(t->dirfd, path, 0);
	}
	s->fd = s->idx_fd = -1;
	s->size = s->idx_size = 0;
}

static uint64_t hdr64(const char *pkt, size_t off)
{
	uint64_t v;

	memcpy(&v, pkt + off, 8);
	return v;
}

/*
 * Append one packet, given as its header hdr (GRB_CTF_PACKET_HEADER_SIZE
 * bytes, as it goes to disk) and the rest of its len bytes at body, and its
 * index entry.  On failure cut both files back to the last whole packet.
 * Return 0 or a negative errno (the error is recorded).
 */
static int write_packet(struct grb_ctf_trace *t, struct ctf_stream *s, const char *hdr,
			const char *body, uint64_t len, uint64_t records)
{
	char path[NAME_MAX_LEN + 32];
	unsigned char e[CTF_IDX_ENTRY_SIZE];
	struct grb_ctf_index_entry x;
	uint32_t sid;
	int ret;

	if (s->fd < 0) {
		ret = open_stream(t, s, path, sizeof(path));
		if (ret) {
			set_io_error(t, ret, "creating", path);
			remove_stream_files(t, s);
			return ret;
		}
	}
	/* The entry repeats the packet's own header, so both always agree. */
	memcpy(&sid, hdr + GRB_CTF_OFF_STREAM_ID, 4);
	x.offset = s->size;
	x.packet_size = hdr64(hdr, GRB_CTF_OFF_PACKET);
	x.content_size = hdr64(hdr, GRB_CTF_OFF_CONTENT);
	x.timestamp_begin = hdr64(hdr, GRB_CTF_OFF_TS_BEGIN);
	x.timestamp_end = hdr64(hdr, GRB_CTF_OFF_TS_END);
	x.events_discarded = hdr64(hdr, GRB_CTF_OFF_DISCARDED);
	x.stream_id = sid;
	x.stream_instance_id = hdr64(hdr, GRB_CTF_OFF_INSTANCE);
	x.packet_seq_num = hdr64(hdr, GRB_CTF_OFF_SEQ);
	ctf_idx_put_entry(e, &x);

	ret = write_full(s->fd, hdr, GRB_CTF_PACKET_HEADER_SIZE, s->size);
	if (!ret && len > GRB_CTF_PACKET_HEADER_SIZE)
		ret = write_full(s->fd, body, (size_t)(len - GRB_CTF_PACKET_HEADER_SIZE),
				 s->size + GRB_CTF_PACKET_HEADER_SIZE);
	if (ret) {
		snprintf(path, sizeof(path), "%s", s->name);
	} else {
		ret = write_full(s->idx_fd, e, sizeof(e), s->idx_size);
		if (ret)
			snprintf(path, sizeof(path), "index/%s.idx", s->name);
	}
	if (ret) {
		set_io_error(t, ret, "writing", path);
		if (!s->size) {
			remove_stream_files(t, s);
		} else {
			/* Shrinking needs no space: these only fail on a broken
			 * file system, and then nothing better can be done. */
			if (ftruncate(s->fd, (off_t)s->size))
				(void)0;
			if (ftruncate(s->idx_fd, (off_t)s->idx_size))
				(void)0;
		}
		return ret;
	}
	s->size += len;
	s->idx_size += sizeof(e);
	if (t->has_sink)
		t->sink.packet(t->sink.arg, (uint32_t)(s - t->s), hdr, body, len, &x, records);
	s->last_seq = hdr64(hdr, GRB_CTF_OFF_SEQ);
	s->last_ts_end = hdr64(hdr, GRB_CTF_OFF_TS_END);
	s->last_discarded = hdr64(hdr, GRB_CTF_OFF_DISCARDED);
	add(&s->packets, 1);
	add(&s->events, records);
	add(&s->bytes, len);
	return 0;
}

/* When a stream starts: its source's attach (fed), else the trace's creation. */
static uint64_t stream_start(const struct grb_ctf_trace *t, const struct ctf_stream *s)
{
	return t->fed ? t->src[s->src]->start_ts : t->start_ts;
}

/* A fed trace's packets come from channels of their own: the header gets
 * the trace's UUID, the source's stream class and an instance id unique in
 * the trace (the stream's index in it), as babeltrace2 needs. */
static void fed_patch(struct grb_ctf_trace *t, struct ctf_stream *s, char *hdr)
{
	uint32_t cls;
	uint64_t instance = (uint64_t)(s - t->s);

	if (!t->fed)
		return;
	cls = t->src[s->src]->cls;
	memcpy(hdr + GRB_CTF_OFF_UUID, t->cd.uuid, 16);
	memcpy(hdr + GRB_CTF_OFF_STREAM_ID, &cls, 4);
	memcpy(hdr + GRB_CTF_OFF_INSTANCE, &instance, 8);
}

/* The header of an empty packet (header and context only). */
static void empty_packet(struct grb_ctf_trace *t, struct ctf_stream *s, char *hdr, uint64_t seq,
			 uint64_t ts_begin, uint64_t ts_end, uint64_t discarded)
{
	struct grb_packet_info info;

	memset(hdr, 0, GRB_CTF_PACKET_HEADER_SIZE);
	memset(&info, 0, sizeof(info));
	info.seq = seq;
	info.ts_begin = ts_begin;
	info.ts_end = ts_end > ts_begin ? ts_end : ts_begin;
	info.content_size = GRB_CTF_PACKET_HEADER_SIZE;
	info.packet_size = GRB_CTF_PACKET_HEADER_SIZE;
	info.lost = discarded;
	info.stream_id = s->ch_index;
	info.cpu = s->cpu;
	info.client_data = &t->cd;
	/* The same callbacks as the ring's packets. */
	grb_ctf_packet_begin(t->cfg, hdr, &info);
	grb_ctf_packet_end(t->cfg, hdr, &info);
	fed_patch(t, s, hdr);
}

/* Append an empty packet. */
static int write_empty_packet(struct grb_ctf_trace *t, struct ctf_stream *s, uint64_t seq,
			      uint64_t ts_begin, uint64_t ts_end, uint64_t discarded)
{
	char hdr[GRB_CTF_PACKET_HEADER_SIZE];

	empty_packet(t, s, hdr, seq, ts_begin, ts_end, discarded);
	return write_packet(t, s, hdr, NULL, sizeof(hdr), 0);
}

/*
 * A reader learns of losses from the difference of events_discarded, and of
 * lost packets from gaps in packet_seq_num, between consecutive packets, so
 * it cannot count what the first packet of a stream carries.  When the first
 * packet taken from the ring has discarded events or does not start the
 * stream (its predecessors were overwritten), the stream file starts with
 * an empty packet from the trace's start, numbered 0, with nothing
 * discarded; the ring's packets are then numbered one more than in the
 * ring.
 */
static void take_packet(struct grb_ctf_trace *t, struct ctf_stream *s, const struct grb_packet *pkt)
{
	char hdr[GRB_CTF_PACKET_HEADER_SIZE];
	uint64_t seq, off = sizeof(hdr), records = pkt->info.records;

	if (t->err)
		goto drop;
	memcpy(hdr, pkt->data, sizeof(hdr));
	seq = hdr64(hdr, GRB_CTF_OFF_SEQ);
	if (s->early && pkt->info.seq == s->early_seq) {
		/* Its first records went out early: the rest, which begins at
		 * its first record, or at its end if it has none.  Not sooner:
		 * a live beacon may have said since that the stream had
		 * nothing before a time after the last early record. */
		struct grb_packet_cursor cur, next;
		struct grb_record rec;
		uint64_t k, bits, begin = pkt->info.ts_end;

		grb_packet_cursor_init(pkt, &cur);
		for (k = 0; k < s->early_k; k++)
			if (grb_packet_record_next(s->r, pkt, &cur, &rec))
				break;
		off = k == s->early_k ? cur.off : pkt->info.content_size;
		next = cur;
		if (k == s->early_k && !grb_packet_record_next(s->r, pkt, &next, &rec))
			begin = rec.ts;
		records = records > s->early_k ? records - s->early_k : 0;
		memcpy(hdr + GRB_CTF_OFF_TS_BEGIN, &begin, 8);
		bits = (sizeof(hdr) + pkt->info.content_size - off) * 8;
		memcpy(hdr + GRB_CTF_OFF_CONTENT, &bits, 8);
		memcpy(hdr + GRB_CTF_OFF_PACKET, &bits, 8);
	}
	if (s->early && pkt->info.seq >= s->early_seq)
		s->early = 0;
	if (!s->started) {
		s->started = 1;
		if (seq || hdr64(hdr, GRB_CTF_OFF_DISCARDED)) {
			uint64_t begin = hdr64(hdr, GRB_CTF_OFF_TS_BEGIN);
			uint64_t start = stream_start(t, s);

			s->seq_shift = 1;
			if (write_empty_packet(t, s, 0, start < begin ? start : begin, begin, 0))
				goto drop;
		}
	}
	seq += s->seq_shift;
	memcpy(hdr + GRB_CTF_OFF_SEQ, &seq, 8);
	fed_patch(t, s, hdr);
	if (write_packet(t, s, hdr, pkt->data + off, sizeof(hdr) + pkt->info.content_size - off,
			 records))
		goto drop;
	return;
drop:
	add(&s->packets_dropped, 1);
	add(&s->events_dropped, records);
}

/*
 * Events lost after a stream's last packet was closed are in no packet's
 * events_discarded: append an empty packet that carries the final count.
 * A stream that lost events but delivered no packet gets two: one from
 * the trace's start with nothing discarded, then that one.
 */
static void write_closing_packets(struct grb_ctf_trace *t, struct ctf_stream *s)
{
	struct grb_stream_stats ss;
	uint64_t lost = 0;
	int k;

	if (t->err || grb_channel_read_stream_stats(s->ch, s->ch_index, &ss))
		return;
	for (k = 0; k < GRB_LOST_NR; k++)
		if (k != GRB_LOST_OVERWRITTEN)
			lost += ss.lost[k];
	if (!s->started) {
		if (!lost)
			return;
		s->started = 1;
		if (write_empty_packet(t, s, 0, stream_start(t, s), stream_start(t, s), 0))
			return;
	}
	if (lost > s->last_discarded)
		write_empty_packet(t, s, s->last_seq + 1, s->last_ts_end, t->cfg->clock_read(),
				   lost);
}

/*
 * A fed stream whose writer is gone: the records it committed in its open
 * packet, which no writer will deliver, are read in place (the iterator)
 * and written as one last packet, from the first record's time to the
 * last's.  Return the iterator's last code (-ENODATA once all is read).
 */
static int take_tail(struct grb_ctf_trace *t, struct ctf_stream *s, uint32_t *got)
{
	char hdr[GRB_CTF_PACKET_HEADER_SIZE];
	struct grb_packet_info info;
	struct grb_stream_stats ss;
	struct grb_record rec;
	uint64_t len = 0, cap = 0, records = 0, first_ts = 0, last_ts = 0, lost = 0, skipped = 0;
	char *body = NULL;
	int ret, k;

	while ((ret = grb_iter_next(s->it, &rec)) == 0 || ret == -EPROTO) {
		if (ret == -EPROTO) {
			add(&s->bad_packets, 1);
			continue;
		}
		/* Written early already (grb_ctf_trace_stream_take). */
		if (s->early && rec.packet_seq == s->early_seq && skipped < s->early_k) {
			skipped++;
			continue;
		}
		if (len + rec.len > cap) {
			uint64_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			while (ncap < len + rec.len)
				ncap *= 2;
			nb = (char *)realloc(body, (size_t)ncap);
			if (!nb) {
				set_io_error(t, -ENOMEM, "reading", s->name);
				add(&s->events_dropped, 1);
				continue;
			}
			body = nb;
			cap = ncap;
		}
		if (!len)
			first_ts = rec.ts;
		last_ts = rec.ts;
		memcpy(body + len, rec.data, rec.len);
		len += rec.len;
		if (!rec.discarded)
			records++;
	}
	/* The file shrank under the copy: what was copied may be zeros. */
	if (len && ret != -EIO) {
		(*got)++;
		if (!grb_channel_read_stream_stats(s->ch, s->ch_index, &ss))
			for (k = 0; k < GRB_LOST_NR; k++)
				if (k != GRB_LOST_OVERWRITTEN)
					lost += ss.lost[k];
		memset(hdr, 0, sizeof(hdr));
		memset(&info, 0, sizeof(info));
		info.seq = s->started ? s->last_seq + 1 : 0;
		if (!s->started) {
			uint64_t start = stream_start(t, s);

			s->started = 1;
			if (lost &&
			    !write_empty_packet(t, s, 0, start < first_ts ? start : first_ts,
						first_ts, 0))
				info.seq = 1;
		}
		info.ts_begin = first_ts;
		info.ts_end = last_ts;
		info.content_size = sizeof(hdr) + len;
		info.packet_size = info.content_size;
		info.lost = lost;
		info.records = records;
		info.stream_id = s->ch_index;
		info.cpu = s->cpu;
		info.client_data = &t->cd;
		grb_ctf_packet_begin(t->cfg, hdr, &info);
		grb_ctf_packet_end(t->cfg, hdr, &info);
		fed_patch(t, s, hdr);
		if (t->err || write_packet(t, s, hdr, body, info.content_size, records)) {
			add(&s->packets_dropped, 1);
			add(&s->events_dropped, records);
		}
	}
	if (s->early && skipped == s->early_k)
		s->early = 0;
	free(body);
	return ret;
}

/*
 * Take every packet the stream has ready.  *got counts them.  Return 1 if
 * the stream ended (its reader said -ENODATA or -ESHUTDOWN), else 0.
 */
static int drain_stream(struct grb_ctf_trace *t, struct ctf_stream *s, uint32_t *got)
{
	struct grb_packet pkt;
	int ret;

	while ((ret = grb_reader_get_next(s->r, &pkt)) == 0 || ret == -EPROTO) {
		if (ret == -EPROTO) {
			add(&s->bad_packets, 1);
			(*got)++;
			continue;
		}
		take_packet(t, s, &pkt);
		grb_reader_put(s->r, &pkt);
		(*got)++;
	}
	if (ret == -EAGAIN && s->it && t->src[s->src]->gone)
		ret = take_tail(t, s, got);
	/* -EIO: the stream's file shrank under us (grb_channel_lost_memory()):
	 * it ends here. */
	if (ret == -ENODATA || ret == -ESHUTDOWN || ret == -EIO) {
		s->ended = 1;
		return 1;
	}
	return 0;
}

static void *consumer(void *arg)
{
	struct grb_ctf_trace *t = (struct grb_ctf_trace *)arg;
	uint64_t idle_since = 0, sleep_ns = t->period_ns;
	uint32_t most = 0; /* most packets one stream gave since the last sleep */

	for (;;) {
		uint32_t i, ended = 0;
		int progress = 0, stopping;

		/* Read before the round: a round that starts after the stop
		 * sees every stream finalized. */
		stopping = __atomic_load_n(&t->stopping, __ATOMIC_ACQUIRE);
		for (i = 0; i < t->nr_streams; i++) {
			struct ctf_stream *s = &t->s[i];
			uint32_t got = 0;

			if (s->ended) {
				ended++;
				continue;
			}
			ended += (uint32_t)drain_stream(t, s, &got);
			if (got)
				progress = 1;
			if (got > most)
				most = got;
		}
		if (ended == t->nr_streams) {
			for (i = 0; i < t->nr_streams; i++)
				write_closing_packets(t, &t->s[i]);
			break;
		}
		if (progress || !stopping) {
			idle_since = 0;
		} else if (!idle_since) {
			idle_since = grb_clock_monotonic();
		} else if (grb_clock_monotonic() - idle_since > DRAIN_TIMEOUT_NS) {
			if (!t->err) {
				t->err = -ETIMEDOUT;
				snprintf(t->err_msg, sizeof(t->err_msg),
					 "%s: %u stream(s) did not drain after the stop (a writer "
					 "did not commit its record)",
					 t->dir, t->nr_streams - ended);
				__atomic_store_n(&t->failed, 1, __ATOMIC_RELEASE);
			}
			break;
		}
		if (!progress) {
			struct timespec ts;
			uint64_t wake;

			/* A ring that filled by a quarter while we slept: sleep
			 * less, down to 100 us; one that gave little: more, up
			 * to the read period. */
			if (most > t->subbuf_count / 4 && sleep_ns > 200000)
				sleep_ns /= 2;
			else if (most <= 1 && sleep_ns < t->period_ns)
				sleep_ns = sleep_ns <= (t->period_ns - 1) / 2 ? sleep_ns * 2 :
										t->period_ns;
			most = 0;
			wake = grb_clock_monotonic();
			if (stopping)
				wake += 1000000;
			else if (sleep_ns > UINT64_MAX - wake)
				wake = UINT64_MAX; /* past 2^64 ns: until the stop */
			else
				wake += sleep_ns;

			ts.tv_sec = (time_t)(wake / 1000000000u);
			ts.tv_nsec = (long)(wake % 1000000000u);
			pthread_mutex_lock(&t->lock);
			if (t->stopping == stopping)
				pthread_cond_timedwait(&t->wake, &t->lock, &ts);
			pthread_mutex_unlock(&t->lock);
		}
	}
	return NULL;
}

/* Undo a partly created trace; errno is kept. */
static void trace_free(struct grb_ctf_trace *t, int created_dir)
{
	int saved = errno;
	uint32_t i;

	if (!t)
		return;
	for (i = 0; t->s && i < t->nr_streams; i++) {
		if (t->s[i].it)
			grb_iter_destroy(t->s[i].it);
		else if (t->s[i].r)
			grb_reader_destroy(t->s[i].r);
		if (t->s[i].fd >= 0)
			close(t->s[i].fd);
		if (t->s[i].idx_fd >= 0)
			close(t->s[i].idx_fd);
	}
	if (t->ch)
		grb_channel_destroy(t->ch);
	for (i = 0; i < t->nr_src; i++) {
		grb_channel_destroy(t->src[i]->ch);
		free(t->src[i]);
	}
	free(t->src);
	for (i = 0; i < t->nr_classes; i++) {
		free(t->classes[i]);
		free(t->class_by_id[i]);
	}
	free(t->classes);
	free(t->class_by_id);
	free(t->meta);
	if (t->dirfd >= 0) {
		if (created_dir >= 0) {
			/* Everything in the directory is ours: only the files
			 * below can exist before the consumer starts. */
			unlinkat(t->dirfd, "metadata", 0);
			unlinkat(t->dirfd, "index", AT_REMOVEDIR);
		}
		close(t->dirfd);
	}
	if (created_dir > 0)
		rmdir(t->dir);
	free(t->s);
	free(t->cd.by_id);
	free(t->events);
	free(t->dir);
	free(t);
	errno = saved;
}

static struct grb_ctf_trace *fail(struct grb_ctf_trace *t, int created_dir, int err)
{
	errno = err;
	trace_free(t, created_dir);
	return NULL;
}

/* Is the directory open at fd empty (but for "." and "..")?  1, 0, or -errno. */
static int dir_is_empty(int fd)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		int err = errno;

		close(dup_fd);
		return -err;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* mkdir, or take an existing empty directory.  1: created; 0: existed;
 * -errno with the message set. */
static int make_dir(struct grb_ctf_trace *t)
{
	int created = 1, r;

	if (mkdir(t->dir, 0755)) {
		if (errno != EEXIST) {
			r = errno;
			grb_error_set("creating trace directory %s: %s", t->dir, strerror(r));
			return -r;
		}
		created = 0;
	}
	t->dirfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		r = errno;
		if (r == ENOTDIR) {
			grb_error_set("trace directory %s exists and is not empty "
				      "(it is not a directory)",
				      t->dir);
			return -EEXIST;
		}
		grb_error_set("opening trace directory %s: %s", t->dir, strerror(r));
		if (created)
			rmdir(t->dir);
		return -r;
	}
	if (!created) {
		r = dir_is_empty(t->dirfd);
		if (r <= 0) {
			close(t->dirfd);
			t->dirfd = -1;
			if (r < 0) {
				grb_error_set("reading trace directory %s: %s", t->dir,
					      strerror(-r));
				return r;
			}
			grb_error_set("trace directory %s exists and is not empty", t->dir);
			return -EEXIST;
		}
	}
	return created;
}

static int write_metadata(struct grb_ctf_trace *t, const char *text)
{
	int fd = openat(t->dirfd, "metadata", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		grb_error_set("creating %s/metadata: %s", t->dir, strerror(-ret));
		return ret;
	}
	ret = write_full(fd, text, strlen(text), 0);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		grb_error_set("writing %s/metadata: %s", t->dir, strerror(-ret));
	return ret;
}

static int validate(const struct grb_config *cfg, const struct grb_ctf_trace_attr *attr)
{
	if (!attr || attr->size != sizeof(*attr)) {
		grb_error_set("ctf attr.size: call grb_ctf_trace_attr_init");
		return -EINVAL;
	}
	if (!cfg) {
		grb_error_set("ctf cfg: NULL");
		return -EINVAL;
	}
	if (cfg->packet_header_size != GRB_CTF_PACKET_HEADER_SIZE ||
	    (cfg->record_decode != grb_ctf_record_decode &&
	     cfg->record_decode != grb_ctf_record_decode_ids)) {
		grb_error_set("ctf cfg: not a CTF configuration (use GRB_CTF_CONFIG)");
		return -EINVAL;
	}
	if ((attr->event_context & ~GRB_CTF_CONTEXT_IDS) ||
	    !(attr->event_context & GRB_CTF_CONTEXT_IDS) !=
		    (cfg->record_decode != grb_ctf_record_decode_ids)) {
		grb_error_set("ctf attr.event_context %u: GRB_CTF_CONTEXT_IDS goes with "
			      "GRB_CTF_CONFIG_IDS, 0 with the other configurations",
			      attr->event_context);
		return -EINVAL;
	}
	if (!attr->path || !attr->path[0]) {
		grb_error_set("ctf attr.path: NULL or empty");
		return -EINVAL;
	}
	if (!is_safe_name(attr->channel_name)) {
		grb_error_set("ctf attr.channel_name \"%s\": not a file name of 1 to %d "
			      "letters, digits, '_', '-' or '.' not starting with '.'",
			      attr->channel_name ? attr->channel_name : "(null)", NAME_MAX_LEN);
		return -EINVAL;
	}
	return grb_ctf_validate_events(attr->events, attr->nr_events, attr->chan.subbuf_size);
}

static struct grb_ctf_trace *create(const struct grb_config *cfg,
				    const struct grb_ctf_trace_attr *attr, int fed)
{
	struct grb_ctf_trace_attr a;
	struct grb_channel_attr ca;
	struct grb_ctf_trace *t;
	char boot_id[64], host[256];
	sigset_t all, old;
	char *meta;
	uint32_t i;
	int ret, created;

	ret = validate(cfg, attr);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	t = (struct grb_ctf_trace *)calloc(1, sizeof(*t));
	if (!t) {
		grb_error_set("ctf trace: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	t->dirfd = -1;
	t->dir = strdup(attr->path);
	if (t->dir) {
		size_t n = strlen(t->dir);

		while (n > 1 && t->dir[n - 1] == '/')
			t->dir[--n] = 0; /* for the messages */
	}
	t->cd.by_id = (const struct grb_ctf_event_desc **)calloc(GRB_CTF_MAX_EVENT_ID + 1,
								 sizeof(*t->cd.by_id));
	t->events =
		(const struct grb_ctf_event_desc **)calloc(attr->nr_events + 1, sizeof(*t->events));
	if (!t->dir || !t->cd.by_id || !t->events) {
		grb_error_set("ctf trace: out of memory");
		return fail(t, -1, ENOMEM);
	}
	for (i = 0; i < attr->nr_events; i++) {
		t->events[i] = attr->events[i];
		t->cd.by_id[attr->events[i]->id] = attr->events[i];
	}
	t->cd.events = t->events;
	t->cd.nr_events = attr->nr_events;
	ret = random_uuid(t->cd.uuid);
	if (ret) {
		grb_error_set("ctf trace uuid: getrandom: %s", strerror(-ret));
		return fail(t, -1, -ret);
	}
	/* UINT64_MAX (sleep until stopped) when the ns do not fit. */
	if (!attr->read_period_us)
		t->period_ns = 10000 * 1000;
	else if (attr->read_period_us > UINT64_MAX / 1000)
		t->period_ns = UINT64_MAX;
	else
		t->period_ns = attr->read_period_us * 1000;
	t->subbuf_count = attr->chan.subbuf_count;

	/* The attributes with every default filled in. */
	a = *attr;
	if (!a.clock.name)
		a.clock.name = "monotonic";
	if (!a.clock.freq)
		a.clock.freq = 1000000000u;
	if (!a.clock.uuid) {
		read_boot_id(boot_id, sizeof(boot_id));
		/* Readers merge traces whose clocks share a UUID as one clock:
		 * CLOCK_MONOTONIC takes the boot id, as LTTng's does; any other
		 * clock a per-boot UUID of its own, derived from it and from its
		 * name, so traces of the same clock and boot still merge. */
		if (boot_id[0] && a.clock.name && strcmp(a.clock.name, "monotonic"))
			derive_clock_uuid(boot_id, a.clock.name);
		a.clock.uuid = boot_id[0] ? boot_id : NULL;
	}
	if (!a.clock.offset_set) {
		monotonic_offset(a.clock.freq, &a.clock.offset_s, &a.clock.offset);
		a.clock.offset_set = 1;
	}
	if (!a.hostname) {
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		a.hostname = host;
	}
	t->fed = fed;
	t->event_context = attr->event_context;
	meta = fed ? _grb_ctf_meta_prologue(&a, t->cd.uuid) : grb_ctf_metadata(&a, t->cd.uuid);
	if (!meta) {
		ret = errno;
		if (ret == ENOMEM)
			grb_error_set("ctf metadata: out of memory");
		return fail(t, -1, ret);
	}

	ca = attr->chan;
	ca.client_data = &t->cd;
	if (!ca.name)
		ca.name = attr->channel_name;
	t->cfg = cfg;
	t->start_ts = cfg->clock_read ? cfg->clock_read() : 0;
	if (fed) {
		created = make_dir(t);
		if (created < 0) {
			free(meta);
			return fail(t, -1, -created);
		}
		ret = write_metadata(t, meta);
		/* Kept for a sink, which gets it first. */
		t->meta = meta;
		t->meta_len = strlen(meta);
		if (ret)
			return fail(t, created, -ret);
		if (mkdirat(t->dirfd, "index", 0755)) {
			ret = errno;
			grb_error_set("creating %s/index: %s", t->dir, strerror(ret));
			return fail(t, created, ret);
		}
		pthread_mutex_init(&t->lock, NULL);
		pthread_cond_init(&t->wake, NULL);
		return t;
	}
	t->ch = grb_channel_create(cfg, &ca);
	if (!t->ch) {
		free(meta);
		return fail(t, -1, errno);
	}
	t->nr_streams = grb_channel_nr_streams(t->ch);
	t->s = (struct ctf_stream *)calloc(t->nr_streams ? t->nr_streams : 1, sizeof(*t->s));
	if (!t->s) {
		free(meta);
		grb_error_set("ctf trace: out of memory");
		return fail(t, -1, ENOMEM);
	}
	for (i = 0; i < t->nr_streams; i++) {
		struct grb_stream_stats st;
		uint32_t n = i;

		t->s[i].fd = t->s[i].idx_fd = -1;
		t->s[i].cpu = UINT32_MAX;
		t->s[i].ch = t->ch;
		t->s[i].ch_index = i;
		if (!grb_channel_read_stream_stats(t->ch, i, &st) && st.cpu != UINT32_MAX)
			n = t->s[i].cpu = st.cpu;
		snprintf(t->s[i].name, sizeof(t->s[i].name), "%s_%u", attr->channel_name, n);
	}

	created = make_dir(t);
	if (created < 0) {
		free(meta);
		return fail(t, -1, -created);
	}
	ret = write_metadata(t, meta);
	free(meta);
	if (ret)
		return fail(t, created, -ret);
	if (mkdirat(t->dirfd, "index", 0755)) {
		ret = errno;
		grb_error_set("creating %s/index: %s", t->dir, strerror(ret));
		return fail(t, created, ret);
	}
	for (i = 0; i < t->nr_streams; i++) {
		t->s[i].r = grb_reader_create(t->ch, i, 0);
		if (!t->s[i].r)
			return fail(t, created, errno);
	}

	pthread_mutex_init(&t->lock, NULL);
	{
		pthread_condattr_t cattr;

		pthread_condattr_init(&cattr);
		pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
		pthread_cond_init(&t->wake, &cattr);
		pthread_condattr_destroy(&cattr);
	}
	/* The consumer takes no signal meant for the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t->thread, NULL, consumer, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		grb_error_set("ctf trace: starting the consumer thread: %s", strerror(ret));
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		return fail(t, created, ret);
	}
	return t;
}

struct grb_ctf_trace *grb_ctf_trace_create(const struct grb_config *cfg,
					   const struct grb_ctf_trace_attr *attr)
{
	return create(cfg, attr, 0);
}

struct grb_ctf_trace *grb_ctf_trace_create_fed(const struct grb_config *cfg,
					       const struct grb_ctf_trace_attr *attr)
{
	return create(cfg, attr, 1);
}

/* The limits that decoding checks and the TSDL does not say (a sequence's
 * or a string's most elements) are the same in both sets. */
static int same_limits(const struct grb_ctf_event_desc *const *by_id,
		       const struct grb_ctf_event_desc *const *events, uint32_t nr)
{
	uint32_t i, j;

	for (i = 0; i < nr; i++) {
		const struct grb_ctf_event_desc *e = events[i], *c = by_id[e->id];

		if (!c || c->nr_fields != e->nr_fields)
			return 0;
		for (j = 0; j < e->nr_fields; j++)
			if (c->fields[j].len != e->fields[j].len)
				return 0;
	}
	return 1;
}

/* The stream class of a set of events: an existing one with the same
 * description, or a new one appended to the metadata.  Return its id or
 * a negative errno. */
static int stream_class_of(struct grb_ctf_trace *t, const struct grb_ctf_event_desc *const *events,
			   uint32_t nr)
{
	char *canon = _grb_ctf_meta_stream_class(0, t->event_context, events, nr), *text, **cl;
	const struct grb_ctf_event_desc ***cb, **by_id;
	char *meta;
	size_t len;
	uint32_t i;
	int fd, ret;

	if (!canon)
		return -ENOMEM;
	for (i = 0; i < t->nr_classes; i++)
		if (!strcmp(t->classes[i], canon) && same_limits(t->class_by_id[i], events, nr)) {
			free(canon);
			return (int)i;
		}
	cl = (char **)realloc(t->classes, (t->nr_classes + 1) * sizeof(*cl));
	if (cl)
		t->classes = cl;
	cb = (const struct grb_ctf_event_desc ***)realloc(t->class_by_id,
							  (t->nr_classes + 1) * sizeof(*cb));
	if (cb)
		t->class_by_id = cb;
	text = _grb_ctf_meta_stream_class(t->nr_classes, t->event_context, events, nr);
	by_id = (const struct grb_ctf_event_desc **)calloc(GRB_CTF_MAX_EVENT_ID + 1,
							   sizeof(*by_id));
	if (!cl || !cb || !text || !by_id) {
		free(canon);
		free(text);
		free(by_id);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++)
		by_id[events[i]->id] = events[i];
	len = strlen(text);
	meta = (char *)realloc(t->meta, t->meta_len + len + 1);
	if (!meta) {
		free(canon);
		free(text);
		free(by_id);
		return -ENOMEM;
	}
	t->meta = meta;
	fd = openat(t->dirfd, "metadata", O_WRONLY | O_APPEND | O_CLOEXEC);
	ret = fd < 0 ? -errno : write_full(fd, text, len, 0);
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	if (ret) {
		free(text);
		free(canon);
		free(by_id);
		grb_error_set("appending to %s/metadata: %s", t->dir, strerror(-ret));
		return ret;
	}
	memcpy(t->meta + t->meta_len, text, len + 1);
	t->meta_len += len;
	if (t->has_sink)
		t->sink.metadata(t->sink.arg, t->cd.uuid, text, len);
	free(text);
	t->classes[t->nr_classes] = canon;
	t->class_by_id[t->nr_classes] = by_id;
	return (int)t->nr_classes++;
}

/* The trace's readers decode, and its packets are made, with the trace's
 * configuration's callbacks: a source's must be the same record format. */
static int same_format(const struct grb_config *a, const struct grb_config *b)
{
	return a->record_decode == b->record_decode &&
	       a->record_header_size == b->record_header_size &&
	       a->packet_begin == b->packet_begin && a->packet_end == b->packet_end &&
	       a->clock_read == b->clock_read && a->ts_bits == b->ts_bits &&
	       a->packet_header_size == b->packet_header_size &&
	       a->min_record_size == b->min_record_size && a->record_align == b->record_align;
}

int grb_ctf_trace_attach(struct grb_ctf_trace *t, const int *fds, uint32_t nr, const char *name,
			 int32_t pid, const struct grb_ctf_event_desc *const *events,
			 uint32_t nr_events)
{
	return grb_ctf_trace_attach_cfg(t, t ? t->cfg : NULL, fds, nr, name, pid, events,
					nr_events);
}

int grb_ctf_trace_attach_cfg(struct grb_ctf_trace *t, const struct grb_config *cfg, const int *fds,
			     uint32_t nr, const char *name, int32_t pid,
			     const struct grb_ctf_event_desc *const *events, uint32_t nr_events)
{
	struct ctf_source *src, **srcs;
	struct grb_channel *ch;
	uint32_t i, n, same = 0;
	int cls, ret;

	if (!t || !t->fed || t->stopped || !is_safe_name(name) || (nr_events && !events)) {
		grb_error_set("ctf attach: not a fed trace, stopped, or a bad name");
		return -EINVAL;
	}
	if (!cfg || !same_format(cfg, t->cfg)) {
		grb_error_set("ctf attach: the source's configuration is not of the trace's "
			      "record format");
		return -EINVAL;
	}
	ret = grb_ctf_validate_events(events, nr_events, 1u << 30);
	if (ret)
		return ret;
	/* The stream class first: its events decode the source's records. */
	cls = stream_class_of(t, events, nr_events);
	if (cls < 0)
		return cls;
	src = (struct ctf_source *)calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->cd.by_id = t->class_by_id[cls];
	src->cd.events = events;
	src->cd.nr_events = nr_events;
	memcpy(src->cd.uuid, t->cd.uuid, 16);
	ch = grb_channel_attach(cfg, fds, nr, &src->cd);
	if (!ch) {
		ret = -errno;
		free(src);
		return ret;
	}
	n = grb_channel_nr_streams(ch);
	srcs = t->nr_src == t->cap_src ?
		       (struct ctf_source **)realloc(t->src, (t->cap_src * 2 + 4) * sizeof(*srcs)) :
		       t->src;
	if (srcs && srcs != t->src) {
		t->src = srcs;
		t->cap_src = t->cap_src * 2 + 4;
	}
	if (srcs && t->nr_streams + n > t->cap_streams) {
		uint32_t cap = (t->nr_streams + n) * 2;
		struct ctf_stream *ss = (struct ctf_stream *)realloc(t->s, cap * sizeof(*ss));

		if (ss) {
			t->s = ss;
			t->cap_streams = cap;
		}
	}
	if (!srcs || t->nr_streams + n > t->cap_streams) {
		grb_channel_destroy(ch);
		free(src);
		return -ENOMEM;
	}
	src->ch = ch;
	src->cls = (uint32_t)cls;
	src->pid = pid;
	/* Before the caller acknowledges the registration: the source's
	 * writers get the channel after it, so their records come later. */
	src->start_ts = t->cfg->clock_read ? t->cfg->clock_read() : 0;
	src->first = t->nr_streams;
	src->nr = n;
	snprintf(src->name, sizeof(src->name), "%s", name);
	/* The same name and pid again (the program called exec): a suffix. */
	for (i = 0; i < t->nr_src; i++)
		if (t->src[i]->pid == pid && !strcmp(t->src[i]->name, name))
			same++;
	for (i = 0; i < n; i++) {
		struct ctf_stream *s = &t->s[t->nr_streams + i];
		struct grb_stream_stats st;

		memset(s, 0, sizeof(*s));
		s->fd = s->idx_fd = -1;
		s->cpu = UINT32_MAX;
		s->ch = ch;
		s->ch_index = i;
		s->src = t->nr_src;
		if (!grb_channel_read_stream_stats(ch, i, &st) && st.cpu != UINT32_MAX)
			s->cpu = st.cpu;
		if (same)
			snprintf(s->name, sizeof(s->name), "%s_%d.%u_%u", name, (int)pid, same, i);
		else
			snprintf(s->name, sizeof(s->name), "%s_%d_%u", name, (int)pid, i);
		/* An iterator's reader: packets as they are delivered, and the
		 * open packets' records in place once the writer is gone. */
		s->it = grb_iter_create(ch, i, 0);
		s->r = s->it ? grb_iter_reader(s->it) : NULL;
		if (!s->r) {
			ret = -errno;
			while (i--)
				grb_iter_destroy(t->s[t->nr_streams + i].it);
			grb_channel_destroy(ch);
			free(src);
			return ret;
		}
	}
	t->nr_streams += n;
	t->src[t->nr_src] = src;
	t->nr_src++;
	if (t->has_sink)
		for (i = 0; i < n; i++) {
			struct ctf_stream *s = &t->s[src->first + i];
			char hdr[GRB_CTF_PACKET_HEADER_SIZE];

			empty_packet(t, s, hdr, 0, src->start_ts, src->start_ts, 0);
			t->sink.stream(t->sink.arg, src->first + i, s->name, hdr);
		}
	return (int)t->nr_src - 1;
}

struct grb_channel *grb_ctf_trace_source_channel(struct grb_ctf_trace *t, uint32_t src)
{
	return t && t->fed && src < t->nr_src ? t->src[src]->ch : NULL;
}

/* Drain every source once; close the streams of those that ended. */
static int poll_sources(struct grb_ctf_trace *t)
{
	uint32_t i, j, got = 0;

	for (i = 0; i < t->nr_src; i++) {
		struct ctf_source *src = t->src[i];
		uint32_t ended = 0;

		if (src->ended)
			continue;
		for (j = 0; j < src->nr; j++) {
			struct ctf_stream *s = &t->s[src->first + j];

			ended += s->ended ? 1u : (uint32_t)drain_stream(t, s, &got);
		}
		if (ended == src->nr) {
			for (j = 0; j < src->nr; j++)
				write_closing_packets(t, &t->s[src->first + j]);
			src->ended = 1;
		}
	}
	return (int)(got > INT32_MAX ? INT32_MAX : got);
}

int grb_ctf_trace_source_end(struct grb_ctf_trace *t, uint32_t src)
{
	if (!t || !t->fed || src >= t->nr_src)
		return -EINVAL;
	t->src[src]->gone = 1;
	grb_channel_owner_gone(t->src[src]->ch);
	return 0;
}

int grb_ctf_trace_poll(struct grb_ctf_trace *t)
{
	if (!t || !t->fed || t->stopped)
		return -EINVAL;
	return poll_sources(t);
}

int grb_ctf_trace_source_stats(const struct grb_ctf_trace *t, uint32_t src,
			       struct grb_ctf_source_stats *st)
{
	const struct ctf_source *c;
	struct grb_channel_stats cs;
	uint32_t j;
	int k;

	if (!t || !t->fed || !st || src >= t->nr_src)
		return -EINVAL;
	c = t->src[src];
	memset(st, 0, sizeof(*st));
	st->pid = c->pid;
	st->nr_streams = c->nr;
	st->ended = (uint32_t)c->ended;
	for (j = 0; j < c->nr; j++) {
		const struct ctf_stream *s = &t->s[c->first + j];
		struct grb_stream_stats ss;

		st->packets += load(&s->packets);
		st->events += load(&s->events);
		st->bytes += load(&s->bytes);
		st->events_dropped += load(&s->events_dropped);
		if (load(&s->packets))
			st->streams_written++;
		if (!grb_channel_read_stream_stats(c->ch, j, &ss)) {
			st->committed += ss.committed;
			st->corrupt_records += ss.corrupt_records;
		}
	}
	if (!grb_channel_read_stats(c->ch, &cs)) {
		for (k = 0; k < GRB_LOST_NR; k++)
			st->lost[k] = cs.lost[k];
		st->lost_total = cs.lost_total;
	}
	return 0;
}

int grb_ctf_trace_set_sink(struct grb_ctf_trace *t, const struct grb_ctf_sink *sink)
{
	if (!t || !t->fed || t->stopped || !sink || sink->size != sizeof(*sink) ||
	    !sink->metadata || !sink->stream || !sink->packet)
		return -EINVAL;
	if (t->has_sink || t->nr_src)
		return -EBUSY;
	t->sink = *sink;
	t->has_sink = 1;
	t->sink.metadata(t->sink.arg, t->cd.uuid, t->meta, t->meta_len);
	return 0;
}

int grb_ctf_trace_stream_idle(const struct grb_ctf_trace *t, uint32_t stream, uint64_t *reserved)
{
	const struct ctf_stream *s;
	struct grb_stream_stats ss;

	if (!t || !t->fed || stream >= t->nr_streams)
		return -EINVAL;
	s = &t->s[stream];
	if (grb_channel_read_stream_stats(s->ch, s->ch_index, &ss))
		return -EINVAL;
	if (reserved)
		*reserved = ss.write_pos;
	if (t->src[s->src]->ended)
		return 2;
	/* Every packet up to the write position taken: nothing open, nothing
	 * delivered and left in the ring; or the open packet's records all
	 * written early, up to the write position. */
	return ss.consumed_pos == ss.write_pos || (s->early && s->early_end == ss.write_pos);
}

int grb_ctf_trace_stream_take(struct grb_ctf_trace *t, uint32_t stream)
{
	char hdr[GRB_CTF_PACKET_HEADER_SIZE], *body = NULL;
	struct grb_packet_info info;
	struct grb_packet_cursor cur;
	struct grb_record rec;
	struct grb_packet pkt;
	struct grb_reader *snap;
	struct ctf_stream *s;
	uint64_t len = 0, records = 0, skip, k = 0, first_ts = 0, last_ts = 0, end, ring;
	uint32_t got = 0;

	if (!t || !t->fed || t->stopped || stream >= t->nr_streams)
		return -EINVAL;
	s = &t->s[stream];
	/* An overwrite ring may reuse the packet before its delivery. */
	if (s->ended || t->err || t->src[s->src]->gone || t->cfg->mode == GRB_MODE_OVERWRITE)
		return 0;
	/* What is delivered first, as a poll takes it. */
	if (drain_stream(t, s, &got))
		return 0;
	/* A snapshot reads the committed records of the packet at the head
	 * without taking anything: the consuming reader gets the packet
	 * whole when it is delivered, and take_packet() writes it without
	 * the records written here. */
	snap = grb_reader_create(s->ch, s->ch_index, GRB_READER_SNAPSHOT);
	if (!snap)
		return 0;
	if (grb_reader_get_next(snap, &pkt)) {
		grb_reader_destroy(snap);
		return 0;
	}
	skip = s->early && s->early_seq == pkt.info.seq ? s->early_k : 0;
	/* The records fit in what the packet holds. */
	body = (char *)malloc((size_t)pkt.info.content_size);
	grb_packet_cursor_init(&pkt, &cur);
	while (body && grb_packet_record_next(snap, &pkt, &cur, &rec) == 0) {
		if (k++ < skip)
			continue;
		if (len + rec.len > pkt.info.content_size)
			break;
		memcpy(body + len, rec.data, rec.len);
		len += rec.len;
		if (!records)
			first_ts = rec.ts;
		last_ts = rec.ts;
		records++;
	}
	end = pkt.pos + cur.off;
	ring = pkt.info.seq;
	memset(&info, 0, sizeof(info));
	/* A later part begins at its first record, as the rest does in
	 * take_packet(). */
	info.ts_begin = skip ? first_ts : pkt.info.ts_begin;
	grb_reader_put(snap, &pkt);
	grb_reader_destroy(snap);
	if (!records) {
		free(body);
		return 0;
	}
	if (!s->started) {
		/* As take_packet() for a first packet that does not start the
		 * stream. */
		uint64_t start = stream_start(t, s);

		s->started = 1;
		if (ring) {
			s->seq_shift = 1;
			if (write_empty_packet(t, s, 0, start < first_ts ? start : first_ts,
					       first_ts, 0)) {
				free(body);
				return 0;
			}
		}
	}
	if (info.ts_begin < s->last_ts_end)
		info.ts_begin = s->last_ts_end;
	info.seq = ring + s->seq_shift;
	info.ts_end = last_ts;
	info.content_size = sizeof(hdr) + len;
	info.packet_size = info.content_size;
	info.lost = s->last_discarded; /* losses since: in the rest's header */
	info.records = records;
	info.stream_id = s->ch_index;
	info.cpu = s->cpu;
	info.client_data = &t->cd;
	memset(hdr, 0, sizeof(hdr));
	grb_ctf_packet_begin(t->cfg, hdr, &info);
	grb_ctf_packet_end(t->cfg, hdr, &info);
	fed_patch(t, s, hdr);
	if (write_packet(t, s, hdr, body, info.content_size, records)) {
		free(body);
		return 0;
	}
	free(body);
	/* The packet's next part, early or delivered, is numbered one more. */
	s->seq_shift++;
	s->early = 1;
	s->early_seq = ring;
	s->early_k = skip + records;
	s->early_end = end;
	return (int)(records > INT32_MAX ? INT32_MAX : records);
}

/* The caller's clock read completes before the loads that follow: the
 * counter read is not a memory access, which no atomic fence orders. */
static void clock_read_fence(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("lfence" : : : "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("isb" : : : "memory");
#endif
}

int grb_ctf_trace_stream_quiet(const struct grb_ctf_trace *t, uint32_t stream, uint64_t *reserved)
{
	const struct ctf_stream *s;
	struct grb_stream_stats ss;
	int owned = 1, idle;

	if (!t || !t->fed || stream >= t->nr_streams)
		return -EINVAL;
	s = &t->s[stream];
	if (t->cfg->alloc == GRB_ALLOC_PER_THREAD) {
		/*
		 * [O4] the caller's clock read, then a seq_cst fence, then the
		 * owner (a relaxed load in the stats), then an acquire fence
		 * before the positions below.  A thread writes here only after
		 * its [O1] claim, and reads its clock after it: an owner of 0
		 * seen here puts that claim, and so the writer's clock read,
		 * after the caller's.  Read from the last owner's [O2] give-up,
		 * the 0 and the acquire fence order its records, and the
		 * positions that count them, before the loads below.
		 */
		clock_read_fence();
		o4_fence(__ATOMIC_SEQ_CST);
		if (grb_channel_read_stream_stats(s->ch, s->ch_index, &ss))
			return -EINVAL;
		owned = ss.owner_tid != 0;
		o4_fence(__ATOMIC_ACQUIRE);
	}
	idle = grb_ctf_trace_stream_idle(t, stream, reserved);
	return idle == 1 && !owned ? 3 : idle;
}

struct grb_channel *grb_ctf_trace_channel(struct grb_ctf_trace *t)
{
	return t ? t->ch : NULL;
}

int grb_ctf_trace_stop(struct grb_ctf_trace *t)
{
	uint32_t i;

	if (!t)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	if (t->stopped) {
		pthread_mutex_unlock(&t->lock);
		return t->stop_ret;
	}
	if (t->fed) {
		/* What the sources delivered, and what those still running
		 * committed so far in their open packets (read in place). */
		uint32_t k, got = 0;

		while (poll_sources(t) > 0)
			;
		for (k = 0; k < t->nr_src; k++) {
			struct ctf_source *src = t->src[k];

			if (src->ended)
				continue;
			src->gone = 1;
			for (i = 0; i < src->nr; i++) {
				struct ctf_stream *s = &t->s[src->first + i];

				if (!s->ended)
					drain_stream(t, s, &got);
				write_closing_packets(t, s);
			}
			src->ended = 1;
		}
		pthread_mutex_unlock(&t->lock);
	} else {
		grb_channel_finalize(t->ch);
		__atomic_store_n(&t->stopping, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&t->wake);
		pthread_mutex_unlock(&t->lock);

		pthread_join(t->thread, NULL);
	}

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nr_streams; i++) {
		struct ctf_stream *s = &t->s[i];
		char path[NAME_MAX_LEN + 32];

		if (s->it)
			grb_iter_destroy(s->it);
		else
			grb_reader_destroy(s->r);
		s->it = NULL;
		s->r = NULL;
		if (s->fd >= 0 && close(s->fd))
			set_io_error(t, -errno, "closing", s->name);
		if (s->idx_fd >= 0 && close(s->idx_fd)) {
			snprintf(path, sizeof(path), "index/%s.idx", s->name);
			set_io_error(t, -errno, "closing", path);
		}
		s->fd = s->idx_fd = -1;
	}
	if (close(t->dirfd) && !t->err)
		set_io_error(t, -errno, "closing", ".");
	t->dirfd = -1;
	t->stop_ret = t->err;
	t->stopped = 1;
	pthread_mutex_unlock(&t->lock);
	return t->stop_ret;
}

const char *grb_ctf_trace_error(const struct grb_ctf_trace *t)
{
	if (!t || !__atomic_load_n(&t->failed, __ATOMIC_ACQUIRE))
		return "";
	return t->err_msg;
}

int grb_ctf_trace_stream_stats(const struct grb_ctf_trace *t, uint32_t stream,
			       struct grb_ctf_stream_stats *st)
{
	const struct ctf_stream *s;
	struct grb_stream_stats ss;
	int i;

	if (!t || !st || stream >= t->nr_streams)
		return -EINVAL;
	s = &t->s[stream];
	memset(st, 0, sizeof(*st));
	st->packets = load(&s->packets);
	st->events = load(&s->events);
	st->bytes = load(&s->bytes);
	st->packets_dropped = load(&s->packets_dropped);
	st->events_dropped = load(&s->events_dropped);
	if (!grb_channel_read_stream_stats(s->ch, s->ch_index, &ss))
		for (i = 0; i < GRB_LOST_NR; i++)
			st->lost[i] = ss.lost[i];
	return 0;
}

int grb_ctf_trace_destroy(struct grb_ctf_trace *t)
{
	if (!t)
		return -EINVAL;
	grb_ctf_trace_stop(t);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	trace_free(t, -1);
	return 0;
}
