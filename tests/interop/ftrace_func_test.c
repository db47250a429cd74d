// SPDX-License-Identifier: MIT
/*
 * ftrace_func_test.c - a program built with -finstrument-functions whose
 * entry and exit hooks write ftrace's funcgraph_entry and funcgraph_exit
 * records (grb_ftrace_func_entry/exit), for check_ftrace.py to compare
 * the function graph that `trace-cmd report` and `grb ftrace show
 * --graph` print with the calls the hooks saw.
 *
 *	ftrace_func_test TRACE_DAT EXPECTED_FILE
 *
 * Two threads (pinned to two CPUs when there are two) run a known call
 * tree: nested calls, leaves, a recursion.  EXPECTED_FILE has a line per
 * hook call, in each thread's order: "pid <tab> enter|exit <tab> function
 * <tab> depth".  Functions are named by dladdr(), so the program is
 * linked with -rdynamic and its functions are not static.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/ftrace.h>

#define NO_INSTR __attribute__((no_instrument_function))
/* Exported (the build hides symbols by default), for dladdr. */
#define TRACED __attribute__((noinline, visibility("default")))
#define MAX_LOG 4096

static const struct grb_config cfg =
	GRB_FTRACE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static struct grb_channel *chan;

struct call {
	void *fn;
	int enter;
	uint32_t depth;
};

/* Per thread: what the hooks saw. */
struct thread_log {
	int32_t tid;
	int n;
	struct call c[MAX_LOG];
};

static __thread struct thread_log *my_log;
static struct thread_log logs[2];
static volatile int sink;

void __cyg_profile_func_enter(void *fn, void *site) NO_INSTR;
void __cyg_profile_func_exit(void *fn, void *site) NO_INSTR;

void __cyg_profile_func_enter(void *fn, void *site)
{
	struct thread_log *l = my_log;
	uint32_t depth = _grb_ftrace_graph_tls.depth;

	(void)site;
	if (!chan || !l)
		return;
	if (grb_ftrace_func_entry(&cfg, chan, (uint64_t)(uintptr_t)fn) == 0 && l->n < MAX_LOG)
		l->c[l->n++] = (struct call){ fn, 1, depth };
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	struct thread_log *l = my_log;

	(void)site;
	if (!chan || !l)
		return;
	if (grb_ftrace_func_exit(&cfg, chan, (uint64_t)(uintptr_t)fn) == 0 && l->n < MAX_LOG)
		l->c[l->n++] = (struct call){ fn, 0, _grb_ftrace_graph_tls.depth };
}

/* The call tree (instrumented). */
void ftest_leaf(int x);
void ftest_inner(int x);
void ftest_outer(int x);
void ftest_recurse(int n);
void *ftest_worker(void *arg);

TRACED void ftest_leaf(int x)
{
	sink += x;
}

TRACED void ftest_inner(int x)
{
	ftest_leaf(x);
	ftest_leaf(x + 1);
}

TRACED void ftest_outer(int x)
{
	ftest_inner(x);
	sink += x;
	ftest_leaf(x);
}

TRACED void ftest_recurse(int n)
{
	if (n > 0)
		ftest_recurse(n - 1);
	else
		ftest_leaf(n);
}

static NO_INSTR void pin_to(int cpu)
{
	cpu_set_t cs;

	CPU_ZERO(&cs);
	CPU_SET(cpu, &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
}

static int cpus[2], ncpu;

static NO_INSTR void *thread_start(void *arg)
{
	int i = (int)(intptr_t)arg;

	pin_to(cpus[i % ncpu]);
	pthread_setname_np(pthread_self(), i ? "ftest-b" : "ftest-a");
	logs[i].tid = grb_ftrace_tid();
	my_log = &logs[i];
	return ftest_worker(arg);
}

TRACED void *ftest_worker(void *arg)
{
	int i;

	for (i = 0; i < 3; i++) {
		ftest_outer(i);
		ftest_recurse(3);
		ftest_leaf(i);
	}
	return arg;
}

static NO_INSTR const char *name_of(void *fn)
{
	Dl_info info;

	if (dladdr(fn, &info) && info.dli_sname && info.dli_saddr == fn)
		return info.dli_sname;
	return "?";
}

NO_INSTR int main(int argc, char **argv)
{
	struct grb_channel_attr a;
	struct grb_ftrace_dat_attr da;
	struct grb_ftrace_dat *d;
	pthread_t th[2];
	cpu_set_t cs;
	FILE *exp;
	int i, j, c;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TRACE_DAT EXPECTED\n", argv[0]);
		return 2;
	}
	sched_getaffinity(0, sizeof(cs), &cs);
	for (c = 0; c < CPU_SETSIZE && ncpu < 2; c++)
		if (CPU_ISSET(c, &cs))
			cpus[ncpu++] = c;
	grb_ftrace_channel_attr_init(&a);
	a.subbuf_count = 64;
	chan = grb_channel_create(&cfg, &a);
	if (!chan) {
		fprintf(stderr, "ftrace_func_test: %s\n", grb_last_error());
		return 1;
	}
	/* One thread after the other: each one's calls are contiguous. */
	for (i = 0; i < 2; i++) {
		pthread_create(&th[i], NULL, thread_start, (void *)(intptr_t)i);
		pthread_join(th[i], NULL);
	}
	grb_channel_finalize(chan);
	grb_ftrace_dat_attr_init(&da);
	d = grb_ftrace_dat_create(&da);
	if (!d || grb_ftrace_dat_drain(d, chan) || grb_ftrace_dat_save(d, argv[1])) {
		fprintf(stderr, "ftrace_func_test: %s\n", grb_last_error());
		return 1;
	}
	grb_ftrace_dat_destroy(d);
	grb_channel_destroy(chan);
	exp = fopen(argv[2], "w");
	if (!exp)
		return 1;
	for (i = 0; i < 2; i++)
		for (j = 0; j < logs[i].n; j++)
			fprintf(exp, "%d\t%s\t%s\t%u\n", logs[i].tid,
				logs[i].c[j].enter ? "enter" : "exit", name_of(logs[i].c[j].fn),
				logs[i].c[j].depth);
	if (fclose(exp))
		return 1;
	printf("ftrace_func_test: %d and %d calls logged\n", logs[0].n, logs[1].n);
	return logs[0].n == 0 || logs[0].n == MAX_LOG ? 1 : 0;
}
