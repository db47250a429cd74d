// SPDX-License-Identifier: MIT
/*
 * ftrace_record_prog.c - a program built with -finstrument-functions and
 * without hooks of its own, for `grb ftrace record --preload cyg-profile`
 * to record from outside (libgrb-preload-ftrace.so brings the hooks).
 *
 *	ftrace_record_prog EXPECTED_FILE [THREADS [ROUNDS [PAUSE_US [FORK]]]]
 *
 * Every instrumented function logs its own entry and exit (ENTER/LEAVE:
 * its name and its depth in its thread's call tree), so EXPECTED_FILE
 * holds what the hooks were called with, in the format of
 * ftrace_func_test: a line per entry or exit, each thread's lines in its
 * order, "tid <tab> enter|exit <tab> function <tab> depth".  With THREADS
 * (default 0) that many threads run the same call tree at once beside
 * the main thread, ROUNDS times (default 40; the main thread half as
 * often), pausing PAUSE_US microseconds (default 0) after each round, so
 * that a recording takes pages while the program runs.  With FORK (a
 * number of rounds), the main thread, once its threads are joined, forks
 * a child that runs the call tree FORK times and logs its calls in
 * EXPECTED_FILE.child (its first call is the hooks' first in the child).
 * The program knows nothing of grb.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define NO_INSTR __attribute__((no_instrument_function))
/* Not inlined, and not static: each keeps its own symbol and name. */
#define TRACED __attribute__((noinline))
#define MAX_LOG 8192
#define MAX_THREADS 8

struct call {
	const char *fn;
	int enter;
	int depth;
};

struct thread_log {
	pid_t tid;
	int n, depth, overflow;
	struct call c[MAX_LOG];
};

static struct thread_log logs[MAX_THREADS + 2]; /* the last: a child's */
static __thread struct thread_log *my_log;
static volatile int sink;
static int nr_rounds = 40, pause_us;

static NO_INSTR void log_call(const char *fn, int enter)
{
	struct thread_log *l = my_log;

	if (!enter)
		l->depth--;
	if (l->n < MAX_LOG)
		l->c[l->n++] = (struct call){ fn, enter, l->depth };
	else
		l->overflow = 1;
	if (enter)
		l->depth++;
}

#define ENTER() log_call(__func__, 1)
#define LEAVE() log_call(__func__, 0)

void rec_leaf(int x);
void rec_inner(int x);
void rec_outer(int x);
void rec_recurse(int n);
void rec_tree(int rounds);
void *rec_thread(void *arg);

TRACED void rec_leaf(int x)
{
	ENTER();
	sink += x;
	LEAVE();
}

TRACED void rec_inner(int x)
{
	ENTER();
	rec_leaf(x);
	rec_leaf(x + 1);
	LEAVE();
}

TRACED void rec_outer(int x)
{
	ENTER();
	rec_inner(x);
	sink += x;
	rec_leaf(x);
	LEAVE();
}

TRACED void rec_recurse(int n)
{
	ENTER();
	if (n > 0)
		rec_recurse(n - 1);
	else
		rec_leaf(n);
	LEAVE();
}

TRACED void rec_tree(int rounds)
{
	int i;

	ENTER();
	for (i = 0; i < rounds; i++) {
		rec_outer(i);
		rec_recurse(i % 5);
		rec_leaf(i);
		if (pause_us) {
			struct timespec ts = { 0, pause_us * 1000L };

			nanosleep(&ts, NULL);
		}
	}
	LEAVE();
}

static NO_INSTR void log_init(struct thread_log *l)
{
	l->tid = gettid();
	my_log = l;
}

TRACED void *rec_thread(void *arg)
{
	/* Logged from its first call: the hook ran before this line. */
	log_init((struct thread_log *)arg);
	ENTER();
	rec_tree(nr_rounds);
	LEAVE();
	return NULL;
}

static NO_INSTR int write_logs(const char *path, int first, int nr)
{
	FILE *f = fopen(path, "w");
	int i, j, calls = 0;

	if (!f)
		return -1;
	for (i = first; i < first + nr; i++) {
		if (logs[i].overflow || logs[i].depth) {
			fprintf(stderr, "ftrace_record_prog: thread %d: log overflow or depth %d\n",
				i, logs[i].depth);
			fclose(f);
			return -1;
		}
		for (j = 0; j < logs[i].n; j++)
			fprintf(f, "%d\t%s\t%s\t%d\n", (int)logs[i].tid,
				logs[i].c[j].enter ? "enter" : "exit", logs[i].c[j].fn,
				logs[i].c[j].depth);
		calls += logs[i].n;
	}
	if (fclose(f))
		return -1;
	printf("ftrace_record_prog: %d threads, %d entries and exits logged\n", nr, calls);
	return 0;
}

/* A child that runs the call tree rounds times and logs it in
 * EXPECTED_FILE.child; 0 once it exited 0. */
static NO_INSTR int fork_child(const char *expected, int rounds)
{
	char path[4096];
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s.child", expected);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct thread_log *l = &logs[MAX_THREADS + 1];

		log_init(l);
		rec_tree(rounds);
		_exit(write_logs(path, MAX_THREADS + 1, 1) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status) {
		fprintf(stderr, "ftrace_record_prog: the child failed\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	int nr = argc > 2 ? atoi(argv[2]) : 0, i, ret;

	log_init(&logs[0]);
	ENTER();
	if (argc > 3)
		nr_rounds = atoi(argv[3]);
	if (argc > 4)
		pause_us = atoi(argv[4]);
	if (argc < 2 || nr < 0 || nr > MAX_THREADS || nr_rounds < 0 || nr_rounds > 200 ||
	    pause_us < 0 || pause_us > 100000) {
		fprintf(stderr,
			"usage: %s EXPECTED_FILE [THREADS (0..%d) [ROUNDS (0..200) [PAUSE_US]]]\n",
			argv[0], MAX_THREADS);
		return 2;
	}
	for (i = 0; i < nr; i++)
		if (pthread_create(&th[i], NULL, rec_thread, &logs[i + 1])) {
			perror("pthread_create");
			return 1;
		}
	rec_tree(nr_rounds / 2);
	for (i = 0; i < nr; i++)
		pthread_join(th[i], NULL);
	if (argc > 5 && fork_child(argv[1], atoi(argv[5])))
		return 1;
	LEAVE();
	/* No instrumented call from here on: main's exit is logged. */
	ret = write_logs(argv[1], 0, nr + 1);
	return ret ? 1 : 0;
}
