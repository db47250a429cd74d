/* SPDX-License-Identifier: MIT */
/*
 * shm_pass.h - what the shared-memory tests share: passing a channel's
 * stream descriptors over a UNIX socket (SCM_RIGHTS), as a recording
 * session will, a record that names its writer thread and sequence number,
 * and the consumer's bookkeeping of those records.
 */
#ifndef GRB_TEST_SHM_PASS_H
#define GRB_TEST_SHM_PASS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <grb/grb.h>

#define SHM_MAX_FDS 64

/* The payload of every record: its writer thread and sequence number. */
struct shm_rec {
	uint32_t thread;
	uint32_t magic;
	uint64_t seq;
};

#define SHM_REC_MAGIC 0x5ea1ab1eu

/* Sends n descriptors and the value tag over sock.  0 or -1. */
static inline int shm_send_fds(int sock, const int *fds, uint32_t n, uint64_t tag)
{
	char ctl[CMSG_SPACE(sizeof(int) * SHM_MAX_FDS)];
	struct iovec iov = { &tag, sizeof(tag) };
	struct msghdr msg;
	struct cmsghdr *c;

	if (n > SHM_MAX_FDS)
		return -1;
	memset(&msg, 0, sizeof(msg));
	memset(ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, 0) == (ssize_t)sizeof(tag) ? 0 : -1;
}

/* Receives up to max descriptors and a tag: the count, or -1. */
static inline int shm_recv_fds(int sock, int *fds, uint32_t max, uint64_t *tag)
{
	char ctl[CMSG_SPACE(sizeof(int) * SHM_MAX_FDS)];
	struct iovec iov = { tag, sizeof(*tag) };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t r;
	int n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(*tag))
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	if (n < 0 || (uint32_t)n > max)
		return -1;
	memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)n);
	return n;
}

/* Sends every stream descriptor of ch, the count as the tag.  0 or -1. */
static inline int shm_send_channel(int sock, const struct grb_channel *ch)
{
	int fds[SHM_MAX_FDS];
	uint32_t i, n = grb_channel_nr_streams(ch);
	struct grb_stream_shm d;

	for (i = 0; i < n && i < SHM_MAX_FDS; i++) {
		if (grb_channel_stream_shm(ch, i, &d) || d.stream != i || !d.size)
			return -1;
		fds[i] = d.fd;
	}
	return shm_send_fds(sock, fds, n, n);
}

/*
 * What a consumer saw of each writer thread: the sequence numbers (a bit
 * each), duplicates, and records out of order in their stream.
 */
struct shm_seen {
	uint32_t threads;
	uint64_t max_seq;
	uint8_t *bits; /* threads * max_seq bits */
	uint64_t *last; /* per stream and thread: the last seq + 1, 0 for none */
	uint32_t streams;
	uint64_t records, dups, disorder, bad;
};

static inline int shm_seen_init(struct shm_seen *s, uint32_t threads, uint64_t max_seq,
				uint32_t streams)
{
	memset(s, 0, sizeof(*s));
	s->threads = threads;
	s->max_seq = max_seq;
	s->streams = streams;
	s->bits = (uint8_t *)calloc((size_t)(threads * max_seq + 7) / 8, 1);
	s->last = (uint64_t *)calloc((size_t)streams * threads, sizeof(uint64_t));
	return s->bits && s->last ? 0 : -1;
}

static inline void shm_seen_free(struct shm_seen *s)
{
	free(s->bits);
	free(s->last);
}

static inline void shm_seen_add(struct shm_seen *s, const struct grb_record *rec)
{
	struct shm_rec r;
	uint64_t bit, *last;

	if (rec->payload_len < sizeof(r) || rec->stream_index >= s->streams) {
		s->bad++;
		return;
	}
	memcpy(&r, rec->payload, sizeof(r));
	if (r.magic != SHM_REC_MAGIC || r.thread >= s->threads || r.seq >= s->max_seq) {
		s->bad++;
		return;
	}
	s->records++;
	bit = r.thread * s->max_seq + r.seq;
	if (s->bits[bit / 8] & (1u << (bit % 8)))
		s->dups++;
	s->bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
	last = &s->last[rec->stream_index * s->threads + r.thread];
	if (*last && r.seq + 1 <= *last)
		s->disorder++;
	*last = r.seq + 1;
}

static inline int shm_seen_has(const struct shm_seen *s, uint32_t thread, uint64_t seq)
{
	uint64_t bit = thread * s->max_seq + seq;

	return (s->bits[bit / 8] >> (bit % 8)) & 1;
}

/* How many sequence numbers of thread from 0 on were seen without a gap. */
static inline uint64_t shm_seen_prefix(const struct shm_seen *s, uint32_t thread)
{
	uint64_t n = 0;

	while (n < s->max_seq && shm_seen_has(s, thread, n))
		n++;
	return n;
}

/* How many sequence numbers of thread were seen in all. */
static inline uint64_t shm_seen_count(const struct shm_seen *s, uint32_t thread)
{
	uint64_t n, c = 0;

	for (n = 0; n < s->max_seq; n++)
		c += (uint64_t)shm_seen_has(s, thread, n);
	return c;
}

#endif /* GRB_TEST_SHM_PASS_H */
