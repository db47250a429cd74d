/* SPDX-License-Identifier: MIT */
/*
 * ctf_internal.h - what the files of libgrb-ctf share and do not export.
 */
#ifndef GRB_CTF_INTERNAL_H
#define GRB_CTF_INTERNAL_H

#include <stdint.h>
#include <grb/ctf.h>

/* ctf_meta.c: the metadata without a stream class (malloc'd; NULL with
 * errno), and one stream class with its events (malloc'd). */
char *_grb_ctf_meta_prologue(const struct grb_ctf_trace_attr *a, const uint8_t u[16]);
char *_grb_ctf_meta_stream_class(uint32_t sid, uint32_t context,
				 const struct grb_ctf_event_desc *const *events, uint32_t nr);

/* ctf_record.c (built into kernel modules too): a field type's size in
 * bytes (0: not a scalar); the filler chain of a record discarded after
 * reserve, with ctx_len bytes of event context (ids) after each header;
 * the encoding of event descriptions into buf (cap bytes): 0 and *len,
 * or -E2BIG. */
uint32_t _grb_ctf_type_size(enum grb_ctf_type t);
void _grb_ctf_discard(const struct grb_ctx *ctx, uint32_t ctx_len, const void *ids);
int _grb_ctf_events_encode(const struct grb_ctf_event_desc *const *events, uint32_t nr, void *buf,
			   uint32_t cap, uint32_t *len);

#endif /* GRB_CTF_INTERNAL_H */
