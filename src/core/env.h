/* SPDX-License-Identifier: MIT */
/*
 * env.h - the out-of-line half of the environment interface.
 *
 * The core (src/core) reaches memory, clocks, threads, CPU numbers, futexes,
 * timers and errors only through these functions and the inline half that
 * <grb/static/env.h> includes, so that it builds against another
 * environment (a kernel module, or the freestanding test's stub) that
 * provides this interface.  src/env/user/ is the Linux user-space
 * implementation.
 */
#ifndef GRB_CORE_ENV_H
#define GRB_CORE_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <grb/static/env.h>

/* Memory: zeroed, page-aligned mappings; NULL on failure (errno kept). */
void *_grb_env_map(size_t size);
void _grb_env_unmap(void *addr, size_t size);
void *_grb_env_zalloc(size_t size);
void _grb_env_free(void *p);
size_t _grb_env_page_size(void);

/*
 * Shared mappings (doc/design.md, "Sharing streams between processes").
 * map_shared: size zeroed bytes, MAP_SHARED, backed by an anonymous memory
 * file sealed against resizing (dir NULL) or by the new file
 * dir/name_index (created exclusive); *fd its descriptor, kept open.  NULL
 * with *err a negative errno (and the message set) on failure.
 * unmap_shared: unmaps, closes fd and, for a file, removes it.
 */
void *_grb_env_map_shared(size_t size, const char *dir, const char *name, uint32_t index, int *fd,
			  int *err);
void _grb_env_unmap_shared(void *addr, size_t size, int fd, const char *dir, const char *name,
			   uint32_t index);
/*
 * A consumer's side.  fd_open: opens dir/name_index for reading and
 * writing: the descriptor or a negative errno (-ENOENT: no such stream).
 * fd_close closes one.  fd_read: len bytes at off (pread): 0, or a negative
 * errno (-EPROTO when the file ends first).  fd_size: the object's size;
 * *sealed 1 when it is a memory file sealed against shrinking, 0 when it
 * cannot be sealed (a file), -1 when it can be but is not.  map_fd: maps
 * size bytes of fd read-only but for [rw_off, rw_off + rw_len), which it
 * maps writable: the address, or NULL with *err.
 */
int _grb_env_fd_open(const char *dir, const char *name, uint32_t index);
void _grb_env_fd_close(int fd);
int _grb_env_fd_read(int fd, uint64_t off, void *buf, size_t len);
int _grb_env_fd_size(int fd, uint64_t *size, int *sealed);
void *_grb_env_map_fd(int fd, size_t size, size_t rw_off, size_t rw_len, int *err);
/*
 * A mapping of a file that may shrink under it (a file cannot be sealed):
 * guard_add watches [addr, addr + size); an access past the file's end
 * there (SIGBUS) replaces the whole mapping with private zero pages and
 * marks it lost, so the access and every later one read zeros instead of
 * killing the process.  Return a handle (>= 0), or -ENOSPC (too many
 * mappings watched) or another negative errno with the message set.
 * guard_lost: 1 once the mapping was replaced; guard_remove: before the
 * mapping is unmapped.
 */
int _grb_env_guard_add(void *addr, size_t size);
int _grb_env_guard_lost(int guard);
void _grb_env_guard_remove(int guard);

/* Processes: the caller's id and start time (a token that tells a
 * reused id from the process); whether the process with that id and
 * token still runs (1), or is gone (0: exited, a zombie, or the id
 * reused). */
void _grb_env_process_self(uint32_t *pid, uint64_t *start);
int _grb_env_process_alive(uint32_t pid, uint64_t start);

/* CPUs: the bound of possible CPU ids (0 .. n-1): the highest + 1, holes
 * in the possible set included. */
int _grb_env_nr_cpus(void);
/* The calling thread's id (never 0). */
uint32_t _grb_env_thread_id(void);

/* Clocks in ns: CLOCK_MONOTONIC (timeouts) and CLOCK_REALTIME (Unix time,
 * to place a trace's clock on it). */
uint64_t _grb_env_monotonic_ns(void);
uint64_t _grb_env_realtime_ns(void);
void _grb_env_sleep_ns(uint64_t ns);

/* Futex on a 32-bit word, shared between processes when mapped shared.
 * wait returns 0 (woken or value changed) or -ETIMEDOUT. */
int _grb_env_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns);
void _grb_env_futex_wake(uint32_t *addr);
/* Wait on several futexes at once (futex_waitv): the n shared words addrs[i]
 * while they hold vals[i], and the process-private word priv (NULL: none)
 * while it holds priv_val.  n + 1 is at most _GRB_ENV_WAITV_MAX.  Returns 0
 * (woken, or a value differed), -ETIMEDOUT, -EINTR, or -ENOSYS (no
 * futex_waitv: Linux before 5.16). */
#define _GRB_ENV_WAITV_MAX 128u
int _grb_env_futex_waitv(uint32_t *const *addrs, const uint32_t *vals, uint32_t n, uint32_t *priv,
			 uint32_t priv_val, uint64_t timeout_ns);

/*
 * A pollable event (an eventfd in user space): signal makes it readable and
 * is async-signal-safe; wait blocks until it is readable or the timeout
 * (0 or -ETIMEDOUT); clear makes it unreadable again.  create returns the
 * file descriptor or a negative errno.
 */
int _grb_env_event_create(void);
void _grb_env_event_signal(int fd);
int _grb_env_event_wait(int fd, uint64_t timeout_ns);
void _grb_env_event_clear(int fd);
void _grb_env_event_close(int fd);

/*
 * The public boundary of a function that creates an object: with ret 0,
 * returns p; otherwise reports -ret the environment's way (errno in user
 * space) and returns NULL.
 */
void *_grb_env_return_ptr(int ret, void *p);

/* Error reporting for the slow paths: keeps the message for grb_last_error(). */
void _grb_env_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Per-thread exit hook for per-thread streams.  init (not signal-safe)
 * sets fn once per process: 0, or a negative errno when the environment
 * has no hook to offer (then arm is never called).  arm (async-signal-safe,
 * never allocates) makes fn run when the calling thread exits: 0 or a
 * negative errno.
 *
 * thread_exited (async-signal-safe): 1 when the thread tid of this process
 * has exited, every store it made then happening before the return; 0
 * while it may run.  Without the hook, it is how the core finds the
 * streams of exited threads.
 */
int _grb_env_thread_exit_init(void (*fn)(void));
int _grb_env_thread_exit_arm(void);
int _grb_env_thread_exited(uint32_t tid);

/*
 * Restartable sequences.  rseq_area: the calling thread's area (glibc's
 * registration, or the environment's own, registered or not: its cpu_id is
 * then negative); async-signal-safe.  rseq_register: makes sure the calling
 * thread has a
 * registration (glibc's, or the library's own when glibc made none); 0 or a
 * negative errno.  rseq_check: whether per-CPU rseq streams can run in this
 * process (a registration, and membarrier's expedited rseq command with a
 * target CPU); 0, or a negative errno with the reason in why.
 * membarrier_cpu: a memory barrier on, and a restart of the sequence running
 * on, the given CPU (it fails only if something, a seccomp filter say,
 * forbids membarrier after rseq_check succeeded).  yield: give the CPU up (sched_yield).
 */
struct _grb_rseq *_grb_env_rseq_area(void);
int _grb_env_rseq_register(void);
int _grb_env_rseq_check(char *why, size_t len);
int _grb_env_membarrier_cpu(uint32_t cpu); /* 0 or -errno */
void _grb_env_yield(void);

/*
 * on_cpu: runs fn(arg) where a flush of the per-CPU rseq streams of CPU
 * cpu may change their offset (_grb_stream_flush()): user space runs it
 * here, the flush's fence and membarrier guarding the CPU's writers; the
 * kernel runs it on that CPU with its interrupts off (its writers' local
 * atomics are atomic only there).  0, or a negative errno when it could
 * not run fn (never in user space).
 */
int _grb_env_on_cpu(uint32_t cpu, void (*fn)(void *), void *arg);

/*
 * What a channel's creation asks of its environment beyond the core's own
 * checks: 0, or a negative errno with the message set (the kernel refuses
 * what its writers cannot do: sleep, per-thread streams, shared memory).
 */
struct grb_config;
struct grb_channel_attr;
int _grb_env_config_check(const struct grb_config *cfg, const struct grb_channel_attr *attr);

/* Timers: calls fn(arg) every period_ns (UINT64_MAX: never) on a thread of
 * the environment's until stopped; NULL on failure. */
struct grb_timer;
struct grb_timer *_grb_timer_start(uint64_t period_ns, void (*fn)(void *), void *arg);
void _grb_timer_stop(struct grb_timer *t);

/* A mutex for the slow paths (channel registry). */
void _grb_env_registry_lock(void);
int _grb_env_registry_trylock(void); /* 0 when taken; async-signal-safe */
void _grb_env_registry_unlock(void);

#endif /* GRB_CORE_ENV_H */
