/* SPDX-License-Identifier: MIT */
/*
 * perf_internal.h - what the files of libgrb-perf share; not installed.
 */
#ifndef GRB_PERF_INTERNAL_H
#define GRB_PERF_INTERNAL_H

#include <stdint.h>
#include <grb/perf.h>

/* The calling thread's id and the process's, cached (async-signal-safe). */
uint32_t _grb_perf_tid(void);
uint32_t _grb_perf_pid(void);

/* The time of the perf record at p (header h, checked): a sample's TIME
 * field, or the last word of sample_id_all's trailer.  0 or -EPROTO. */
int _grb_perf_record_time(const unsigned char *p, const struct grb_perf_event_header *h,
			  uint64_t *ts);

/* A thread the sampler armed: its ids and name, for COMM records. */
struct _grb_perf_task {
	uint32_t pid, tid;
	char comm[16];
};

/* The sampler's threads, copied: *n entries, malloc'd (free it). */
int _grb_perf_sampler_tasks(struct grb_perf_sampler *s, struct _grb_perf_task **tasks, uint32_t *n);

/* ELF symbols of one file, for folded stacks and grb_perf_symtab_find()
 * (perf_sym.c). */
/* Loads .symtab, else .dynsym, of path.  NULL if the file has neither. */
struct grb_perf_symtab *_grb_perf_symtab_load(const char *path);
/* The name of the function holding vaddr, an address of the file's own
 * (p_vaddr space), with the symbol's own address in *start (if not
 * NULL); NULL if none. */
const char *_grb_perf_symtab_lookup(const struct grb_perf_symtab *t, uint64_t vaddr,
				    uint64_t *start);
/* File offset to ELF virtual address through the PT_LOAD headers;
 * returns 0 and *vaddr, or -1 if no segment holds the offset. */
int _grb_perf_symtab_vaddr(const struct grb_perf_symtab *t, uint64_t off, uint64_t *vaddr);
void _grb_perf_symtab_free(struct grb_perf_symtab *t);

#endif /* GRB_PERF_INTERNAL_H */
