// SPDX-License-Identifier: MIT
/*
 * libgrb-preload.so - the plumbing the CTF preload libraries share
 * (preload.h): registration, the gate, fork and the recursion guard.
 *
 * fork: the child of a registered process must not write into its
 * parent's streams.  libgrb-ctf's fork handler disables the child's copy
 * of the parent's channels, and the handler below makes the child
 * register a channel of its own for each preload at that preload's
 * first event (a child that only calls exec never does: the new program
 * registers at its start).
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "preload.h"

__thread int grb_preload_busy __attribute__((tls_model("initial-exec")));

/* The preloads started, for the fork handler.  Written by constructors,
 * which the loader runs one at a time before the program's threads. */
#define MAX_PRELOADS 8
static struct grb_preload *started[MAX_PRELOADS];
static unsigned int nr_started;

/* The address ranges of grb's libraries, found by the first start (a
 * constructor, before any gate opens: [G1] publishes them with it). */
#define MAX_OWN 3
static struct {
	uintptr_t lo, hi;
} own[MAX_OWN];
static unsigned int nr_own;

/* dl_iterate_phdr: the extent of the loaded segments of each library whose
 * base is in bases. */
static int own_range(struct dl_phdr_info *info, size_t size, void *bases)
{
	const uintptr_t *b = (const uintptr_t *)bases;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int i;

	(void)size;
	for (i = 0; i < MAX_OWN; i++)
		if (b[i] && b[i] == (uintptr_t)info->dlpi_addr)
			break;
	if (i == MAX_OWN || nr_own == MAX_OWN)
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (lo < hi) {
		own[nr_own].lo = lo;
		own[nr_own].hi = hi;
		nr_own++;
	}
	return 0;
}

static void find_own(void)
{
	const void *in[MAX_OWN] = { (const void *)(uintptr_t)grb_version,
				    (const void *)(uintptr_t)grb_session_channel,
				    (const void *)(uintptr_t)grb_preload_start };
	uintptr_t bases[MAX_OWN];
	Dl_info di;
	int i;

	for (i = 0; i < MAX_OWN; i++)
		bases[i] = dladdr(in[i], &di) ? (uintptr_t)di.dli_fbase : 0;
	dl_iterate_phdr(own_range, bases);
}

int grb_preload_own(uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < nr_own; i++)
		if (addr - own[i].lo < own[i].hi - own[i].lo)
			return 1;
	return 0;
}

/* Register p's channel; open its gate on it, or keep it shut. */
static void preload_register(struct grb_preload *p)
{
	const struct grb_config *used = p->cfg;
	struct grb_channel *ch;
	int busy = grb_preload_busy;

	grb_preload_busy = 1; /* the registration's own calls */
	ch = grb_session_channel_pick(p->cfg, p->cfg_wake, p->name, p->events, p->nr_events, &used);
	grb_preload_busy = busy;
	p->use_wake = ch && used == p->cfg_wake;
	if (!ch && getenv(GRB_SESSION_ENV))
		fprintf(stderr, "libgrb-preload-%s: not recording: %s\n", p->name,
			grb_last_error());
	/* [G1] release: the channel's creation (and use_wake) before the
	 * pointer that lets other threads write into it. */
	__atomic_store_n(&p->gate, ch, __ATOMIC_RELEASE);
}

struct grb_channel *grb_preload_slow_gate(struct grb_preload *p, struct grb_channel *g)
{
	if (g == GRB_PRELOAD_GATE_BUSY || grb_preload_busy)
		return NULL;
	if (g == GRB_PRELOAD_GATE_CHILD) {
		/* [G3] relaxed CAS: one thread of the child registers; the
		 * channel itself is published by [G1]. */
		if (!__atomic_compare_exchange_n(&p->gate, &g, GRB_PRELOAD_GATE_BUSY, 0,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return NULL;
		preload_register(p);
		/* [G2] acquire, pairs with [G1] (here our own store). */
		g = __atomic_load_n(&p->gate, __ATOMIC_ACQUIRE);
		if (g == GRB_PRELOAD_GATE_BUSY || g == GRB_PRELOAD_GATE_CHILD)
			return NULL;
	}
	return g;
}

int grb_preload_create_via(int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
				       void *),
			   pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
			   void *arg, void *(*start)(void *))
{
	struct grb_preload_start *st = (struct grb_preload_start *)malloc(sizeof(*st));
	int ret;

	if (!st)
		return EAGAIN;
	st->fn = fn;
	st->arg = arg;
	ret = next(thread, attr, start, st);
	if (ret)
		free(st);
	return ret;
}

struct grb_preload_start grb_preload_unwrap(void *p)
{
	struct grb_preload_start st = *(struct grb_preload_start *)p;

	free(p);
	return st;
}

/* The first function of a thread grb's code created. */
static void *grb_thread_start(void *p)
{
	struct grb_preload_start st;

	grb_preload_busy = 1; /* for good: the thread is grb's */
	st = grb_preload_unwrap(p);
	return st.fn(st.arg);
}

int grb_preload_pthread_create(int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
					   void *),
			       pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
			       void *arg)
{
	if (!next)
		return EAGAIN;
	if (!grb_preload_busy)
		return next(thread, attr, fn, arg);
	return grb_preload_create_via(next, thread, attr, fn, arg, grb_thread_start);
}

/* In the child of a fork: each preload registers anew at its first event. */
static void preload_forked(void)
{
	unsigned int i;

	/* relaxed: the child has one thread; [G1] publishes the channel. */
	for (i = 0; i < nr_started; i++)
		if (__atomic_load_n(&started[i]->gate, __ATOMIC_RELAXED))
			__atomic_store_n(&started[i]->gate, GRB_PRELOAD_GATE_CHILD,
					 __ATOMIC_RELAXED);
}

void grb_preload_start(struct grb_preload *p)
{
	if (!getenv(GRB_SESSION_ENV))
		return; /* the gate stays shut: one branch an event */
	if (nr_started == MAX_PRELOADS) {
		fprintf(stderr, "libgrb-preload-%s: not recording: more than %d preloads\n",
			p->name, MAX_PRELOADS);
		return;
	}
	if (!nr_started) {
		find_own();
		pthread_atfork(NULL, NULL, preload_forked);
	}
	started[nr_started++] = p;
	preload_register(p);
}
