/* SPDX-License-Identifier: MIT */
/*
 * ctf_index.h - the LTTng packet index format (index/<stream>.idx), private
 * to libgrb-ctf: the trace writer (ctf_trace.c) writes it, the index reader
 * (ctf_read.c) reads it, both through these definitions.
 *
 * Big-endian throughout.  A 16-byte header of four u32:
 *
 *	magic 0xC1F1DCC1, major 1, minor 1, entry size 72
 *
 * then one entry per packet of the stream file, in file order: the nine
 * u64 of CTF_IDX_ENTRY_FIELDS, each at 8 times its rank.  Version 1.0 had
 * the first seven only (56 bytes); a later minor version may append fields,
 * which a reader skips (the header's entry size says how many bytes).
 */
#ifndef GRB_CTF_INDEX_H
#define GRB_CTF_INDEX_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include <grb/ctf.h>

#define CTF_IDX_MAGIC 0xC1F1DCC1u
#define CTF_IDX_MAJOR 1u
#define CTF_IDX_MINOR 1u
#define CTF_IDX_HEADER_SIZE 16u
#define CTF_IDX_ENTRY_SIZE 72u /* of version 1.1, what this library writes */
#define CTF_IDX_ENTRY_MAX 4096u /* a reader refuses larger entries */

/* Header fields, u32 each. */
#define CTF_IDX_OFF_MAGIC 0
#define CTF_IDX_OFF_MAJOR 4
#define CTF_IDX_OFF_MINOR 8
#define CTF_IDX_OFF_ENTRY_SIZE 12

/* Entry fields, in order, u64 each: the members of struct
 * grb_ctf_index_entry (<grb/ctf.h>) of the same names. */
#define CTF_IDX_ENTRY_FIELDS(F) \
	F(offset)               \
	F(packet_size)          \
	F(content_size)         \
	F(timestamp_begin)      \
	F(timestamp_end)        \
	F(events_discarded)     \
	F(stream_id)            \
	F(stream_instance_id)   \
	F(packet_seq_num)

#define CTF_IDX_COUNT(f) +8u
_Static_assert(0u CTF_IDX_ENTRY_FIELDS(CTF_IDX_COUNT) == CTF_IDX_ENTRY_SIZE,
	       "the index entry's fields make CTF_IDX_ENTRY_SIZE bytes");
#undef CTF_IDX_COUNT
_Static_assert(sizeof(struct grb_ctf_index_entry) == CTF_IDX_ENTRY_SIZE,
	       "struct grb_ctf_index_entry holds the entry's fields and nothing else");

static inline void ctf_idx_put32(unsigned char *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static inline uint32_t ctf_idx_get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static inline void ctf_idx_put64(unsigned char *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static inline uint64_t ctf_idx_get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* The header of a version 1.1 index of CTF_IDX_ENTRY_SIZE-byte entries. */
static inline void ctf_idx_put_header(unsigned char h[CTF_IDX_HEADER_SIZE])
{
	ctf_idx_put32(h + CTF_IDX_OFF_MAGIC, CTF_IDX_MAGIC);
	ctf_idx_put32(h + CTF_IDX_OFF_MAJOR, CTF_IDX_MAJOR);
	ctf_idx_put32(h + CTF_IDX_OFF_MINOR, CTF_IDX_MINOR);
	ctf_idx_put32(h + CTF_IDX_OFF_ENTRY_SIZE, CTF_IDX_ENTRY_SIZE);
}

/* Encode x into the CTF_IDX_ENTRY_SIZE bytes at e. */
static inline void ctf_idx_put_entry(unsigned char *e, const struct grb_ctf_index_entry *x)
{
	unsigned int off = 0;

#define CTF_IDX_PUT(f)                \
	ctf_idx_put64(e + off, x->f); \
	off += 8;
	CTF_IDX_ENTRY_FIELDS(CTF_IDX_PUT)
#undef CTF_IDX_PUT
}

/* Decode the first CTF_IDX_ENTRY_SIZE bytes at e (of an entry at least
 * that long) into x. */
static inline void ctf_idx_get_entry(const unsigned char *e, struct grb_ctf_index_entry *x)
{
	unsigned int off = 0;

#define CTF_IDX_GET(f)                 \
	x->f = ctf_idx_get64(e + off); \
	off += 8;
	CTF_IDX_ENTRY_FIELDS(CTF_IDX_GET)
#undef CTF_IDX_GET
}

#endif /* GRB_CTF_INDEX_H */
