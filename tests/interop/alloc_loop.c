// SPDX-License-Identifier: MIT
/*
 * alloc_loop.c - the writer of the system-call check of a preloaded
 * program (session_record.sh strace): a thread that allocates and frees
 * N times (2N events with libgrb-preload-libc) between two marks, raw
 * getppid system calls that strace shows, after one warm-up allocation
 * (a thread's first record claims its stream).  Every system call the
 * thread makes between the marks is one the writer made.
 *
 *	alloc_loop N
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long n;

static void *writer(void *arg)
{
	volatile uintptr_t sink = 0;
	unsigned long i;
	void *p;

	(void)arg;
	p = malloc(64); /* warm-up: the stream, the ids */
	free(p);
	syscall(SYS_getppid); /* mark: start */
	for (i = 0; i < n; i++) {
		p = malloc(16 + (i & 255));
		sink += (uintptr_t)p;
		free(p);
	}
	syscall(SYS_getppid); /* mark: end */
	(void)sink;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 2 || !(n = strtoul(argv[1], NULL, 10))) {
		fprintf(stderr, "usage: alloc_loop N\n");
		return 2;
	}
	if (pthread_create(&t, NULL, writer, NULL) || pthread_join(t, NULL))
		return 1;
	printf("alloc_loop: %lu allocations and frees\n", n);
	return 0;
}
