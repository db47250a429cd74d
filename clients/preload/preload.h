// SPDX-License-Identifier: MIT
/*
 * preload.h - what every CTF preload library (libgrb-preload-libc,
 * -pthread, -cyg-profile) shares: the channel it registers with the
 * recording session, the gate its wrappers test, the child's
 * registration after fork and the recursion guard.  The code is in
 * libgrb-preload.so (preload.c), which they all link: one guard per
 * thread for all of them, so that what one preload's own code does (a
 * registration's allocations and mutexes, a stream's claim) is recorded
 * by none.
 *
 * A library declares its events and a struct grb_preload, defines an
 * out-of-line recording function per event with GRB_PRELOAD_DEFINE_TRACE
 * and calls it from its wrappers with GRB_PRELOAD_TRACE; its constructor
 * calls grb_preload_start().
 *
 * The gate of every event: NULL (no session: the one branch an event
 * costs), the channel, or one of two marks: a child after fork that has
 * not registered yet, and a registration under way.
 */
#ifndef GRB_PRELOAD_H
#define GRB_PRELOAD_H

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>

#include <grb/session.h>

#pragma GCC visibility push(default)

/* The recorder chooses (grb record --wakeup): it polls (cfg), or the
 * writer that delivers a sub-buffer wakes it (cfg_wake).  Each event site
 * is compiled for both, so either keeps the constant-folded fast path. */
static const struct grb_config grb_preload_cfg __attribute__((unused)) = GRB_SESSION_CONFIG;
static const struct grb_config grb_preload_cfg_wake
	__attribute__((unused)) = GRB_SESSION_CONFIG_WAKE;

struct grb_preload {
	const char *name; /* the channel's, and in messages */
	const struct grb_ctf_event_desc *const *events;
	uint32_t nr_events;
	struct grb_channel *gate; /* see above */
	int use_wake; /* set before the gate opens ([G1]) */
	/* The library's copies of the configurations (preload.h's statics). */
	const struct grb_config *cfg, *cfg_wake;
	/* The next pthread_create after the library's (dlsym(RTLD_NEXT)). */
	int (*next_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
};

#define GRB_PRELOAD_INIT(chan_name, evs)                                                     \
	{                                                                                    \
		.name = chan_name, .events = evs, .nr_events = sizeof(evs) / sizeof(evs[0]), \
		.cfg = &grb_preload_cfg, .cfg_wake = &grb_preload_cfg_wake,                  \
	}

/* Non-zero while the thread runs grb's code for any preload: its own
 * calls then go to the real functions unrecorded. */
extern __thread int grb_preload_busy __attribute__((tls_model("initial-exec")));

/*
 * grb_preload_start() - from a preload's constructor: without a session,
 * return at once (the gate stays shut); else register the channel (the
 * gate opens on it, or stays shut if the recorder refused) and have a
 * child made by fork register its own at its first event.
 */
void grb_preload_start(struct grb_preload *p);

/*
 * grb_preload_pthread_create() - pthread_create through next; a thread
 * that grb's code creates (a channel's switch timer, while the creator
 * is in grb's code) runs in grb's code all its life: its calls are
 * recorded by no preload.
 */
int grb_preload_pthread_create(int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
					   void *),
			       pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
			       void *arg);

/* A new thread's start routine and argument, which a preload's own start
 * function gets with grb_preload_unwrap(). */
struct grb_preload_start {
	void *(*fn)(void *);
	void *arg;
};

/*
 * grb_preload_create_via() - pthread_create through next, the new thread
 * running start(p) instead of fn(arg): p holds them, for start to take
 * with grb_preload_unwrap() (which frees it).  Return: pthread_create's.
 */
int grb_preload_create_via(int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
				       void *),
			   pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
			   void *arg, void *(*start)(void *));
struct grb_preload_start grb_preload_unwrap(void *p);

/* Whether addr is in grb's own libraries (libgrb, libgrb-ctf,
 * libgrb-preload: their code or static data): a return address there, or
 * a mutex there, is grb's own call, even outside the guard (the
 * registry's mutex in libgrb's thread-exit hook). */
int grb_preload_own(uint64_t addr);

/* The gate's marks: values no channel's address has. */
#define GRB_PRELOAD_GATE_CHILD ((struct grb_channel *)(uintptr_t)1)
#define GRB_PRELOAD_GATE_BUSY ((struct grb_channel *)(uintptr_t)2)

/* grb_preload_channel() for a mark, or a thread inside grb's code. */
struct grb_channel *grb_preload_slow_gate(struct grb_preload *p, struct grb_channel *g);

/* The channel an event goes to, past a gate g that is not NULL; NULL:
 * none (a registration under way, or a thread inside grb's code).  In a
 * child after fork, the first call registers.  Inline: an open gate and
 * a thread outside grb's code (every event but a few) cost two tests. */
static inline __attribute__((always_inline)) struct grb_channel *
grb_preload_channel(struct grb_preload *p, struct grb_channel *g)
{
	if (__builtin_expect((uintptr_t)g > (uintptr_t)GRB_PRELOAD_GATE_BUSY && !grb_preload_busy,
			     1))
		return g;
	return grb_preload_slow_gate(p, g);
}

#pragma GCC visibility pop

/*
 * The library's constructor: GRB_PRELOAD_CONSTRUCTOR(name, p) { what
 * comes before the registration }.  Every library also defines the
 * pthread_create that keeps grb's own threads unrecorded (a definition in
 * a preloaded library comes before the C library's; libgrb-preload.so
 * comes after it, so each library defines its own).
 */
#define GRB_PRELOAD_CONSTRUCTOR(fname, p)                                                      \
	static void fname##_before(void);                                                      \
	int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), \
			   void *arg)                                                          \
	{                                                                                      \
		/* relaxed: the pointer is all the load needs; every thread \
		 * finds the same one. */                  \
		__typeof__((p)->next_create) next =                                            \
			__atomic_load_n(&(p)->next_create, __ATOMIC_RELAXED);                  \
                                                                                               \
		if (__builtin_expect(!next, 0)) {                                              \
			next = (__typeof__(next))dlsym(RTLD_NEXT, "pthread_create");           \
			/* relaxed: as above */                                                \
			__atomic_store_n(&(p)->next_create, next, __ATOMIC_RELAXED);           \
		}                                                                              \
		return grb_preload_pthread_create(next, thread, attr, fn, arg);                \
	}                                                                                      \
	__attribute__((constructor)) static void fname(void)                                   \
	{                                                                                      \
		fname##_before();                                                              \
		grb_preload_start(p);                                                          \
	}                                                                                      \
	static void fname##_before(void)

/* The gate's value for an event of preload p (a pointer to its struct). */
#define GRB_PRELOAD_GATE(p) (__atomic_load_n(&(p)->gate, __ATOMIC_ACQUIRE))

/*
 * The recording of event ev (declared with GRB_CTF_EVENT) into preload
 * p's channel, out of line: a call whose gate is shut (no session) runs
 * only the load and the branch of GRB_PRELOAD_TRACE, and keeps the
 * wrapper's own frame small.  params: the parameters after the gate, as
 * ", type name" each; the rest: the arguments of ev's write.
 */
#define GRB_PRELOAD_DEFINE_TRACE(p, ev, params, ...)                                         \
	static __attribute__((noinline, cold)) void trace_##ev(struct grb_channel *g params) \
	{                                                                                    \
		struct grb_channel *ch = grb_preload_channel(p, g);                          \
                                                                                             \
		if (ch) {                                                                    \
			grb_preload_busy = 1;                                                \
			if ((p)->use_wake)                                                   \
				ev##_write(&grb_preload_cfg_wake, ch, __VA_ARGS__);          \
			else                                                                 \
				ev##_write(&grb_preload_cfg, ch, __VA_ARGS__);               \
			grb_preload_busy = 0;                                                \
		}                                                                            \
	}

/* One event, unless the gate is shut. */
#define GRB_PRELOAD_TRACE(p, ev, ...)                                        \
	do {                                                                 \
		/* [G2] acquire, pairs with [G1]: the channel is created. */ \
		struct grb_channel *_g = GRB_PRELOAD_GATE(p);                \
		if (__builtin_expect(_g != NULL, 0))                         \
			trace_##ev(_g, __VA_ARGS__);                         \
	} while (0)

#define GRB_PRELOAD_CALLER ((uint64_t)(uintptr_t)__builtin_return_address(0))
#define GRB_PRELOAD_U64(p) ((uint64_t)(uintptr_t)(p))

#endif
