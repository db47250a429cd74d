/* SPDX-License-Identifier: MIT */
/*
 * stress_common.h - what the stress tests share: the self-checking record
 * payload (writer id, sequence number, a filler whose length and bytes
 * follow from both, and an FNV-1a checksum over all of it), failure
 * reporting from any thread, and the run size from the environment.
 */
#ifndef GRB_STRESS_COMMON_H
#define GRB_STRESS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Failed checks, from any thread; the first 20 are printed. */
static int failures;
#define FAIL(...)                                                             \
	do {                                                                  \
		if (__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED) <= 20) \
			fprintf(stderr, __VA_ARGS__);                         \
	} while (0)

/* Records for a run: GRB_STRESS_RECORDS (else def) times GRB_STRESS_SCALE,
 * at least min. */
static inline uint64_t stress_size(uint64_t def, uint64_t min)
{
	const char *env = getenv("GRB_STRESS_RECORDS");
	const char *scale = getenv("GRB_STRESS_SCALE");
	uint64_t n = env ? strtoull(env, NULL, 0) : def;

	if (scale)
		n = (uint64_t)((double)n * atof(scale));
	return n < min ? min : n;
}

#define MAX_FILLER 48

struct payload {
	uint32_t writer;
	uint32_t filler_len;
	uint64_t seq;
	uint64_t sum;
	unsigned char filler[MAX_FILLER];
};
#define PAYLOAD_FIXED 24u

static inline uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = (const unsigned char *)p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static inline uint64_t payload_sum(const struct payload *p)
{
	uint64_t h = fnv(p, 16, 0xcbf29ce484222325ull);

	return fnv(p->filler, p->filler_len, h);
}

static inline uint32_t make_payload(struct payload *p, uint32_t writer, uint64_t seq)
{
	uint32_t i;

	p->writer = writer;
	p->seq = seq;
	p->filler_len = (uint32_t)((seq * 7 + writer) % (MAX_FILLER + 1));
	for (i = 0; i < p->filler_len; i++)
		p->filler[i] = (unsigned char)(seq * 31 + writer + i);
	p->sum = payload_sum(p);
	return PAYLOAD_FIXED + p->filler_len;
}

/* Copies and checks a record's payload; returns 0 when intact. */
static inline int payload_check(const void *data, uint32_t len, struct payload *p)
{
	if (len < PAYLOAD_FIXED)
		return -1;
	memcpy(p, data, PAYLOAD_FIXED);
	if (p->filler_len > MAX_FILLER || PAYLOAD_FIXED + p->filler_len > len)
		return -1;
	memcpy(p->filler, (const char *)data + PAYLOAD_FIXED, p->filler_len);
	return payload_sum(p) == p->sum ? 0 : -1;
}

#endif /* GRB_STRESS_COMMON_H */
