/* SPDX-License-Identifier: MIT */
/*
 * grb/writer.h - the write path: grb_reserve(), grb_write(), grb_commit(),
 * grb_discard(), grb_write_record(), grb_enabled().  All static inline,
 * specialised by the client's constant struct grb_config.
 *
 * Real-time contract:
 *
 * | function        | signal-safe | nestable | progress                     | system calls |
 * |-----------------|-------------|----------|------------------------------|--------------|
 * | grb_reserve     | yes         | yes (1)  | lock-free; wait-free (2)     | (3)          |
 * | grb_write       | yes         | yes      | wait-free                    | no           |
 * | grb_commit      | yes         | yes      | lock-free; wait-free (2)     | (4)          |
 * | grb_discard     | yes         | yes      | lock-free; wait-free (2)     | (4)          |
 * | grb_enabled     | yes         | yes      | wait-free                    | no           |
 *
 * (1) up to cfg->max_nesting reservations held at once by one thread.
 * (2) single-writer sync, outside blocking mode: a CAS or a loop that
 *     raises a shared position fails only for the thread's own signal
 *     handlers (at most max_nesting deep) or for a reader's move, which
 *     cannot pass the writer.  With several writers on a stream (atomic
 *     and rseq syncs) each retry means another writer made progress.
 * (3) blocking mode waits on a futex; per-thread alloc reads the thread's
 *     id (gettid) and registers a thread-exit handler (a thread-specific
 *     value) on the thread's first record on a channel, and, when the
 *     process left the library no thread-specific key (doc/design.md,
 *     "Limits"), sends tgkill(tid, 0) for each owned stream it looks at
 *     when it finds none free; the atomic per-CPU sync reads the CPU
 *     with sched_getcpu (the vDSO or the rseq area); the rseq sync
 *     registers the thread's rseq area on its first record when glibc has
 *     none.
 * (4) with GRB_WAKEUP_WRITER, when a waiting reader must be woken: a
 *     futex wake, and an eventfd write for a reader armed on the
 *     channel's descriptor; with the rseq sync, a commit made on another
 *     CPU than the reservation's (the thread migrated) calls membarrier.
 *
 * The writer never allocates memory, never takes a lock and never logs.
 */
#ifndef GRB_WRITER_H
#define GRB_WRITER_H

#include <grb/config.h>
#include <grb/static/writer.h>

#endif /* GRB_WRITER_H */
