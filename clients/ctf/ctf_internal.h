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

#endif /* GRB_CTF_INTERNAL_H */
